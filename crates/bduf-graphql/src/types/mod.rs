//! The object types, one module per context. Each wraps an entity model and resolves
//! every edge through the request's loaders.

pub mod collaboration;
pub mod governance;
pub mod identity;
pub mod planning;
pub mod work;

use async_graphql::Json;

/// A JSONB column as the `JSON` scalar.
pub(crate) fn json(value: &Option<serde_json::Value>) -> Option<Json<serde_json::Value>> {
    value.clone().map(Json)
}
