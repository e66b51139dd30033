//! Response fields in the order of the query, as the GraphQL specification says objects
//! are serialized ("ordered by the order in which they appear in the query").
//!
//! async-graphql 7 resolves an object's fields concurrently and inserts each into the
//! response as it completes, so the order of the fields in the JSON follows the timing of
//! the database (fixed upstream in async-graphql 8, #1806). The same query then printed
//! differently from run to run and from backend to backend. This puts every object of a
//! response back into the order of its selection set, fragments included.

use async_graphql::parser::Positioned;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql::{Name, Value};
use std::collections::HashMap;

/// The deepest fragment nesting followed; validation has refused cycles already.
const MAX_FRAGMENT_DEPTH: usize = 64;

type Fragments = HashMap<Name, Positioned<FragmentDefinition>>;

/// Reorders the fields of `data`, the answer to operation `operation` of `document`.
pub fn in_query_order(data: &mut Value, document: &ExecutableDocument, operation: Option<&str>) {
    let Some(set) = operation_set(document, operation) else {
        return;
    };
    reorder(data, &[set], &document.fragments);
}

fn operation_set<'a>(
    document: &'a ExecutableDocument,
    operation: Option<&str>,
) -> Option<&'a SelectionSet> {
    match &document.operations {
        DocumentOperations::Single(op) => Some(&op.node.selection_set.node),
        DocumentOperations::Multiple(ops) => {
            let op = match operation {
                Some(name) => ops.get(name),
                None if ops.len() == 1 => ops.values().next(),
                None => None,
            }?;
            Some(&op.node.selection_set.node)
        }
    }
}

/// The response keys selected by `sets`, in order of first appearance, each with the
/// selection sets of the fields answering to it.
fn keys<'a>(
    sets: &[&'a SelectionSet],
    fragments: &'a Fragments,
    depth: usize,
    out: &mut Vec<(Name, Vec<&'a SelectionSet>)>,
) {
    if depth > MAX_FRAGMENT_DEPTH {
        return;
    }
    for set in sets {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let key = field
                        .node
                        .alias
                        .as_ref()
                        .map_or(&field.node.name.node, |a| &a.node);
                    let sub = &field.node.selection_set.node;
                    match out.iter_mut().find(|(k, _)| k == key) {
                        Some((_, subs)) => subs.push(sub),
                        None => out.push((key.clone(), vec![sub])),
                    }
                }
                Selection::InlineFragment(fragment) => {
                    keys(
                        &[&fragment.node.selection_set.node],
                        fragments,
                        depth + 1,
                        out,
                    );
                }
                Selection::FragmentSpread(spread) => {
                    if let Some(definition) = fragments.get(&spread.node.fragment_name.node) {
                        keys(
                            &[&definition.node.selection_set.node],
                            fragments,
                            depth + 1,
                            out,
                        );
                    }
                }
            }
        }
    }
}

/// Reorders `value`, answering to the fields of `sets`: the order of their keys is worked
/// out once for the value, however many objects a list of it holds.
fn reorder(value: &mut Value, sets: &[&SelectionSet], fragments: &Fragments) {
    if matches!(value, Value::List(_) | Value::Object(_)) {
        let mut order = Vec::new();
        keys(sets, fragments, 0, &mut order);
        apply(value, &order, fragments);
    }
}

/// Puts the objects of `value` in `order`, then their fields' values in theirs.
fn apply(value: &mut Value, order: &[(Name, Vec<&SelectionSet>)], fragments: &Fragments) {
    match value {
        Value::List(items) => {
            for item in items {
                apply(item, order, fragments);
            }
        }
        Value::Object(map) => {
            // Most objects come in order already (a level's scalars are answered as they
            // are selected): rebuild only those that do not.
            let mut named = order.iter().filter(|(key, _)| map.contains_key(key));
            let in_order = map
                .keys()
                .all(|key| named.next().is_some_and(|(k, _)| k == key));
            if !in_order {
                let mut old = std::mem::take(map);
                for (key, _) in order {
                    if let Some(field) = old.shift_remove(key) {
                        map.insert(key.clone(), field);
                    }
                }
                // Anything the query does not name (nothing, today) keeps its place at the
                // end.
                map.extend(old);
            }
            for (key, subs) in order {
                if let Some(field) = map.get_mut(key) {
                    reorder(field, subs, fragments);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{Name, Value};

    use super::in_query_order;

    #[test]
    fn fields_follow_the_query_through_aliases_lists_and_fragments() {
        let query = "{ b a: x { ...F d } c } fragment F on T { e ... on T { f } }";
        let mut data: Value = serde_json::from_str::<serde_json::Value>(
            r#"{"c": 1, "a": [{"d": 1, "f": 2, "e": 3}, {"e": 3, "f": 2, "d": 1}, {"e": 3, "d": 1, "f": 2}], "b": 2}"#,
        )
        .and_then(serde_json::from_value)
        .expect("a value");
        let document = async_graphql::parser::parse_query(query).expect("a query");
        in_query_order(&mut data, &document, None);
        let Value::Object(top) = &data else {
            panic!("an object")
        };
        let keys: Vec<&Name> = top.keys().collect();
        assert_eq!(keys, ["b", "a", "c"]);
        let Value::List(items) = &top["a"] else {
            panic!("a list")
        };
        // Out of order, in order already, out of order: each object of the list in order.
        assert_eq!(items.len(), 3);
        for item in items {
            let Value::Object(item) = item else {
                panic!("an object")
            };
            assert_eq!(item.keys().collect::<Vec<_>>(), ["e", "f", "d"]);
        }
    }
}
