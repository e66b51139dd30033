//! Response fields in the order of the query, as the GraphQL specification says objects
//! are serialized ("ordered by the order in which they appear in the query").
//!
//! async-graphql 7 resolves an object's fields concurrently and inserts each into the
//! response as it completes, so the order of the fields in the JSON follows the timing of
//! the database (fixed upstream in async-graphql 8, #1806). The same query then printed
//! differently from run to run and from backend to backend. This puts every object of a
//! response back into the order of its selection set, fragments included.

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::Positioned;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql::{Name, Value};
use std::cell::OnceCell;
use std::collections::HashMap;

/// The deepest fragment nesting followed; validation has refused cycles already.
const MAX_FRAGMENT_DEPTH: usize = 64;

type Fragments = HashMap<Name, Positioned<FragmentDefinition>>;

/// Reorders the fields of `data`, the answer to operation `operation` of `document`.
pub fn in_query_order(data: &mut Value, document: &ExecutableDocument, operation: Option<&str>) {
    let Some(set) = operation_set(document, operation) else {
        return;
    };
    if matches!(data, Value::List(_) | Value::Object(_)) {
        let fragments = &document.fragments;
        apply(data, &Plan::of(&[set], fragments), fragments);
    }
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

/// The order of the keys of an object answering to some selection sets, and the plan of
/// each key's own value — worked out once per response on first use (lazily, so a field
/// that is null or absent costs nothing), however many objects answer to it.
struct Plan<'a> {
    keys: Vec<Key<'a>>,
}

struct Key<'a> {
    name: Name,
    sets: Vec<&'a SelectionSet>,
    plan: OnceCell<Plan<'a>>,
}

impl<'a> Plan<'a> {
    fn of(sets: &[&'a SelectionSet], fragments: &'a Fragments) -> Self {
        let mut order = Vec::new();
        keys(sets, fragments, 0, &mut order);
        Self {
            keys: order
                .into_iter()
                .map(|(name, sets)| Key {
                    name,
                    sets,
                    plan: OnceCell::new(),
                })
                .collect(),
        }
    }

    /// Whether `map` holds exactly this plan's keys, in order: compared by position, no
    /// hashing (the common case).
    fn matches(&self, map: &IndexMap<Name, Value>) -> bool {
        map.len() == self.keys.len() && map.keys().zip(&self.keys).all(|(a, b)| *a == b.name)
    }
}

impl<'a> Key<'a> {
    fn plan(&self, fragments: &'a Fragments) -> &Plan<'a> {
        self.plan.get_or_init(|| Plan::of(&self.sets, fragments))
    }
}

/// Puts the objects of `value` in `plan`'s order, then their fields' values in theirs.
fn apply<'a>(value: &mut Value, plan: &Plan<'a>, fragments: &'a Fragments) {
    match value {
        Value::List(items) => {
            for item in items {
                apply(item, plan, fragments);
            }
        }
        Value::Object(map) => {
            // Most objects come in order already, with every key selected (a level's
            // scalars are answered as they are selected): those are checked by position.
            if plan.matches(map) {
                for (field, key) in map.values_mut().zip(&plan.keys) {
                    if matches!(field, Value::List(_) | Value::Object(_)) {
                        apply(field, key.plan(fragments), fragments);
                    }
                }
                return;
            }
            let mut named = plan.keys.iter().filter(|key| map.contains_key(&key.name));
            let in_order = map
                .keys()
                .all(|name| named.next().is_some_and(|key| key.name == *name));
            if !in_order {
                let mut old = std::mem::take(map);
                for key in &plan.keys {
                    if let Some(field) = old.shift_remove(&key.name) {
                        map.insert(key.name.clone(), field);
                    }
                }
                // Anything the query does not name (nothing, today) keeps its place at the
                // end.
                map.extend(old);
            }
            for key in &plan.keys {
                if let Some(field) = map.get_mut(&key.name)
                    && matches!(field, Value::List(_) | Value::Object(_))
                {
                    apply(field, key.plan(fragments), fragments);
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

    /// An object in order with every key checked by position still has its values put in
    /// order; one without some of its keys (`@skip`) is put in order by name.
    #[test]
    fn nested_values_follow_the_query_whether_their_parent_was_in_order_or_not() {
        let query = "{ a { x { p q } y } b { x { p q } y @skip(if: true) z } }";
        let mut data: Value = serde_json::from_str::<serde_json::Value>(
            r#"{"a": {"x": {"q": 1, "p": 2}, "y": 3}, "b": {"z": 4, "x": [{"q": 1, "p": 2}, null]}}"#,
        )
        .and_then(serde_json::from_value)
        .expect("a value");
        let document = async_graphql::parser::parse_query(query).expect("a query");
        in_query_order(&mut data, &document, None);
        let printed = serde_json::to_string(&data).expect("JSON");
        assert_eq!(
            printed,
            r#"{"a":{"x":{"p":2,"q":1},"y":3},"b":{"x":[{"p":2,"q":1},null],"z":4}}"#
        );
    }
}
