//! Names the argument behind a value that did not parse.
//!
//! When an argument's value does not parse as its type (`project(id: "nope")`, or a
//! `projectId` inside a `filter`), async-graphql 7 answers `Failed to parse "UUID": …`
//! located at the value, without naming the argument or the input field. This finds the
//! argument whose value starts at that location, follows the value (a literal, or a
//! variable's JSON) down to the input field that holds the bad scalar, and puts its path
//! at the head of the message and into `extensions.field` (`filter.projectId`), as bduf's
//! own input errors do.

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Name, Pos, ServerError, Value, Variables};

/// Rewrites the value-parse errors of `errors`, raised for `document` run with
/// `variables` (after [`crate::error::with_codes`] gave them their code). The scalar a
/// value failed to parse as is read from async-graphql's message, the one place it says
/// it.
pub fn name_bad_values(
    errors: &mut [ServerError],
    document: &ExecutableDocument,
    variables: &Variables,
) {
    // async-graphql's coercion errors: `BAD_USER_INPUT` (given by `with_codes`, which
    // runs first) without the field bduf's own input errors name.
    let unparsed = |e: &ServerError| {
        e.extensions.as_ref().is_some_and(|x| {
            x.get("code") == Some(&Value::from("BAD_USER_INPUT")) && x.get("field").is_none()
        })
    };
    for error in errors.iter_mut().filter(|e| unparsed(e)) {
        let Some(&at) = error.locations.first() else {
            continue;
        };
        let Some((name, value)) = argument_at(document, at, variables) else {
            continue;
        };
        let mut path = vec![name.to_string()];
        if let Some(scalar) = scalar_of(&error.message).filter(|s| KNOWN.contains(s)) {
            bad_field(&value, scalar, &mut path);
        }
        let path = path.join(".");
        error.message = format!("{path}: {}", error.message);
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("field", path);
    }
}

/// The argument of a field of `document` whose value starts at `at`: its name, and its
/// value with `variables` in place of variables.
fn argument_at(
    document: &ExecutableDocument,
    at: Pos,
    variables: &Variables,
) -> Option<(Name, Value)> {
    let sets = document
        .operations
        .iter()
        .map(|(_, operation)| &operation.node.selection_set.node)
        .chain(
            document
                .fragments
                .values()
                .map(|fragment| &fragment.node.selection_set.node),
        );
    for set in sets {
        if let Some(found) = find(set, at, variables) {
            return Some(found);
        }
    }
    None
}

fn find(set: &SelectionSet, at: Pos, variables: &Variables) -> Option<(Name, Value)> {
    set.items
        .iter()
        .find_map(|selection| match &selection.node {
            Selection::Field(field) => field
                .node
                .arguments
                .iter()
                .find(|(_, value)| value.pos == at)
                .map(|(name, value)| {
                    let value = value
                        .node
                        .clone()
                        .into_const_with(|var| variables.get(&var).cloned().ok_or(()))
                        .unwrap_or(Value::Null);
                    (name.node.clone(), value)
                })
                .or_else(|| find(&field.node.selection_set.node, at, variables)),
            Selection::InlineFragment(fragment) => {
                find(&fragment.node.selection_set.node, at, variables)
            }
            Selection::FragmentSpread(_) => None,
        })
}

/// The scalar a parse error names: `UUID` in `Failed to parse "UUID": …`.
fn scalar_of(message: &str) -> Option<&str> {
    message
        .strip_prefix("Failed to parse \"")?
        .split_once('"')
        .map(|(scalar, _)| scalar)
}

/// The scalars whose bad values are followed into input objects; for others the error
/// names the argument alone.
const KNOWN: [&str; 1] = ["UUID"];

/// Whether `text` parses as `scalar`, one of [`KNOWN`].
fn parses(scalar: &str, text: &str) -> bool {
    match scalar {
        "UUID" => uuid::Uuid::parse_str(text).is_ok(),
        _ => false,
    }
}

/// Appends to `path` the input fields leading from `value` to the first string that does
/// not parse as `scalar`; true when one was found.
fn bad_field(value: &Value, scalar: &str, path: &mut Vec<String>) -> bool {
    match value {
        Value::String(text) => !parses(scalar, text),
        Value::List(items) => items.iter().any(|item| bad_field(item, scalar, path)),
        Value::Object(fields) => fields.iter().any(|(name, value)| {
            path.push(name.to_string());
            let found = bad_field(value, scalar, path);
            if !found {
                path.pop();
            }
            found
        }),
        _ => false,
    }
}
