//! How the object types over tables are resolved: each is its generated scalar fields
//! (`crate::generated`, one per column) and its hand-written edges (`crate::types`), and
//! [`object!`] declares it as the one GraphQL object that merges both — the schema is the
//! one `#[derive(MergedObject)]` gives — with [`resolve`] to answer a selection of it.
//!
//! async-graphql's own resolution of an object (`resolve_container`) makes every
//! selected field a boxed future the size of the object's largest resolver — a scalar's
//! as large as a connection's, moved into its box — polled in a `FuturesUnordered`, and
//! inserts the answers as they complete, out of the query's order. A scalar field is a
//! column of a row already read: [`resolve`] answers those at once, by the same
//! generated resolvers, and awaits only the edges, together, then inserts every answer
//! in the order of the selection (so `crate::order` finds the object in order). Like
//! async-graphql on the `fast` schema (`crate::documents`), it passes no field through
//! an extension's resolve hook: no extension of the API has one (`crate::limits`'s
//! guard hooks parsing, validation and the request).

use async_graphql::Positioned;
use async_graphql::indexmap::IndexMap;
use async_graphql::indexmap::map::Entry;
use async_graphql::parser::types::{Field, Selection};
use async_graphql::resolver_utils::{ContainerType, resolve_container};
use async_graphql::{ContextSelectionSet, Name, ServerResult, Value};
use futures_util::FutureExt as _;

/// Answers the selection `ctx` of `root`, an object of the scalar fields `scalars` and
/// the edges `edges`: the same answer as async-graphql's `resolve_container` (the same
/// fields' values, errors and merging of a response key selected twice), in the order
/// of the selection. A selection with fragments or directives on its fields is left to
/// `resolve_container`.
pub async fn resolve<'a, T, S, E>(
    ctx: &ContextSelectionSet<'a>,
    root: &'a T,
    scalars: &'a S,
    edges: &'a E,
) -> ServerResult<Value>
where
    T: ContainerType,
    S: ContainerType,
    E: ContainerType,
{
    let items = &ctx.item.node.items;
    if !items.iter().all(|selection| plain(selection).is_some()) {
        return resolve_container(ctx, root).await;
    }
    // Each field with its answer: known now (a scalar, `__typename`), or `None`, an
    // edge's, awaited below.
    let mut fields = Vec::with_capacity(items.len());
    for field in items.iter().filter_map(plain) {
        let field = ctx.with_field(field);
        let answer = if field.item.node.name.node == "__typename" {
            let name = root.introspection_type_name().into_owned();
            Some(Ok(Value::String(name)))
        } else {
            match scalars.resolve_field(&field).now_or_never() {
                Some(Ok(Some(value))) => Some(Ok(value)),
                Some(Ok(None)) => None,
                Some(Err(err)) => Some(Err(err)),
                // A scalar resolver that waits: none does, but then nothing is assumed.
                None => return resolve_container(ctx, root).await,
            }
        };
        fields.push((field, answer));
    }
    let waiting = fields
        .iter()
        .filter(|(_, answer)| answer.is_none())
        // Boxed: an edge's answer holds objects resolved the same way, and an unboxed
        // future would contain itself.
        .map(|(field, _)| edges.resolve_field(field).boxed());
    let mut edged = futures_util::future::join_all(waiting).await.into_iter();
    let mut object = IndexMap::with_capacity(fields.len());
    for (field, answer) in fields {
        // An edge's answer comes in the order its field was asked; a field unknown to
        // both halves (validation refuses it first) is null, as async-graphql answers.
        let answer = answer.unwrap_or_else(|| {
            edged
                .next()
                .unwrap_or(Ok(None))
                .map(Option::unwrap_or_default)
        });
        match answer {
            Ok(value) => insert(
                &mut object,
                field.item.node.response_key().node.clone(),
                value,
            ),
            Err(err) => ctx.add_error(err),
        }
    }
    Ok(if object.is_empty() {
        Value::Null
    } else {
        Value::Object(object)
    })
}

/// The field `selection` is, if it is one without directives.
fn plain(selection: &Positioned<Selection>) -> Option<&Positioned<Field>> {
    match &selection.node {
        Selection::Field(field) if field.node.directives.is_empty() => Some(field),
        _ => None,
    }
}

/// Adds `value` under `name`, merging it into an object or list already there: a key
/// selected twice, as async-graphql's `insert_value` does. The key is hashed once (an `Entry`), not once to look and again to insert.
fn insert(target: &mut IndexMap<Name, Value>, name: Name, value: Value) {
    let previous = match target.entry(name) {
        Entry::Vacant(vacant) => {
            vacant.insert(value);
            return;
        }
        Entry::Occupied(occupied) => occupied.into_mut(),
    };
    match (previous, value) {
        (Value::Object(into), Value::Object(from)) => {
            for (key, value) in from {
                insert(into, key, value);
            }
        }
        (Value::List(into), Value::List(from)) => {
            for (into, from) in into.iter_mut().zip(from) {
                if let (Value::Object(into), Value::Object(from)) = (into, from) {
                    for (key, value) in from {
                        insert(into, key, value);
                    }
                }
            }
        }
        _ => {}
    }
}

/// Declares `$ty`, a tuple struct of its scalar fields `$fields` and its edges `$edges`
/// (generated: `crate::generated`), as the GraphQL object `$ty` described by `$doc`,
/// resolved by [`resolve`]. Its type in the schema is what `#[derive(MergedObject)]`
/// gives: the fields of `$fields`, then those of `$edges`.
macro_rules! object {
    ($ty:ident($fields:ty, $edges:ty), $doc:literal) => {
        impl $crate::support::ReadAhead for $ty {
            fn ahead(
                batcher: &bduf_core::Batcher,
                field: async_graphql::SelectionField<'_>,
                id: uuid::Uuid,
            ) -> Option<$crate::support::Ahead> {
                <$edges as $crate::support::ReadAhead>::ahead(batcher, field, id)
            }
        }

        impl async_graphql::resolver_utils::ContainerType for $ty {
            async fn resolve_field(
                &self,
                ctx: &async_graphql::Context<'_>,
            ) -> async_graphql::ServerResult<Option<async_graphql::Value>> {
                match self.0.resolve_field(ctx).await {
                    Ok(None) => self.1.resolve_field(ctx).await,
                    answer => answer,
                }
            }
        }

        impl async_graphql::OutputType for $ty {
            fn type_name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($ty))
            }

            fn create_type_info(registry: &mut async_graphql::registry::Registry) -> String {
                use async_graphql::registry::{MetaType, MetaTypeId};
                use async_graphql::{MergedObject, MergedObjectTail};
                registry.create_output_type::<Self, _>(MetaTypeId::Object, |registry| {
                    let merged = registry.create_fake_output_type::<
                                MergedObject<$edges, MergedObject<$fields, MergedObjectTail>>,
                            >();
                    let (fields, cache_control) = match merged {
                        MetaType::Object {
                            fields,
                            cache_control,
                            ..
                        } => (fields, cache_control),
                        _ => Default::default(),
                    };
                    MetaType::Object {
                        name: stringify!($ty).to_owned(),
                        description: Some($doc.to_owned()),
                        fields,
                        cache_control,
                        extends: false,
                        shareable: false,
                        resolvable: true,
                        inaccessible: false,
                        interface_object: false,
                        tags: Vec::new(),
                        keys: None,
                        visible: None,
                        is_subscription: false,
                        rust_typename: Some(std::any::type_name::<Self>()),
                        directive_invocations: Vec::new(),
                        requires_scopes: Vec::new(),
                    }
                })
            }

            async fn resolve(
                &self,
                ctx: &async_graphql::ContextSelectionSet<'_>,
                _field: &async_graphql::Positioned<async_graphql::parser::types::Field>,
            ) -> async_graphql::ServerResult<async_graphql::Value> {
                $crate::object::resolve(ctx, self, &self.0, &self.1).await
            }
        }

        impl async_graphql::ObjectType for $ty {}
    };
}
pub(crate) use object;
