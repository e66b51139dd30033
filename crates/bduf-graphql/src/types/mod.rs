//! The hand-written half of the object types: their edges, one module per context. The
//! scalar fields are generated (`crate::generated`); each edge here is one call into
//! `crate::support` with a read key of a context.

pub mod collaboration;
pub mod governance;
pub mod identity;
pub mod planning;
pub mod work;
