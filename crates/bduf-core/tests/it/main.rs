//! The shared kernel's integration tests, on real databases of both backends: the
//! retention sweeps and the audit archive of `bduf maintenance` (`maintenance.rs`); rows
//! read by position against rows read by name (`positions.rs`).

mod maintenance;
mod positions;
