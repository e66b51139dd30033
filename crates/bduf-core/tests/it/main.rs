//! The shared kernel's integration tests, on real databases of both backends: the
//! retention sweeps and the audit archive of `bduf maintenance` (`maintenance.rs`).

mod maintenance;
