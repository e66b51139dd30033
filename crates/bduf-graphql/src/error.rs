//! The one mapping of domain errors to GraphQL errors: the message, and in `extensions`
//! a stable `code`, the `field` an input error names, and for throttling the seconds to
//! wait. Database details never reach clients: they are logged here.

use async_graphql::ErrorExtensions as _;
use bduf_core::Error;

/// A domain error as a GraphQL error.
pub fn gql(err: Error) -> async_graphql::Error {
    match &err {
        Error::Database(detail) => {
            tracing::error!(error = %detail, "database error while resolving a request");
        }
        Error::Internal(what) => tracing::error!(what, "the server is wired wrong"),
        _ => {}
    }
    async_graphql::Error::new(err.to_string()).extend_with(|_, ext| {
        ext.set("code", err.code());
        if let Some(field) = err.field() {
            ext.set("field", field);
        }
        if let Error::Throttled(seconds) = err {
            ext.set("retryAfterSeconds", seconds);
        }
    })
}

/// Turns a domain result into a GraphQL one (a plain `?` would go through `Display`
/// and drop `extensions`).
pub trait OrGql<T> {
    fn or_gql(self) -> async_graphql::Result<T>;
}

impl<T> OrGql<T> for bduf_core::Result<T> {
    fn or_gql(self) -> async_graphql::Result<T> {
        self.map_err(gql)
    }
}

/// A whole response of one error, for requests refused before they run.
pub fn refusal(err: Error) -> async_graphql::Response {
    async_graphql::Response::from_errors(vec![gql(err).into_server_error(Default::default())])
}

/// Gives every error a stable `extensions.code`. Every error of bduf's resolvers carries
/// its own (the contexts' through [`gql`], a missing piece of the request's context as
/// `INTERNAL_SERVER_ERROR`); the others are async-graphql's: an error without a path
/// was raised before anything ran (the request does not parse or validate), one with a
/// path by coercing an argument's value to its type (`Failed to parse "UUID"`).
pub fn with_codes(response: &mut async_graphql::Response) {
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            let code = if error.path.is_empty() {
                "GRAPHQL_VALIDATION_FAILED"
            } else {
                "BAD_USER_INPUT"
            };
            extensions.set("code", code);
        }
    }
}
