//! SeaORM entities of the bduf schema, generated from the live PostgreSQL schema by
//! `cargo xtask codegen`. Empty until the generator lands; never edit by hand.
