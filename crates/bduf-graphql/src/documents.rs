//! Documents parsed and validated once, shared across requests, and automatic
//! persisted queries.
//!
//! A dashboard sends the same few documents over and over with different variables.
//! [`Documents`] keeps the last [`CAPACITY`] documents that parsed, keyed by the SHA-256
//! of their text and found by the text itself (`Entries`), so a request for a known
//! document skips the parser and the SHA-256 alike; the response's
//! field order and the names of bad values ([`crate::order`], [`crate::arguments`])
//! come from the same parse.
//!
//! Validation is remembered per operation of a document ([`Remember`]): once an
//! operation has passed async-graphql's rules, a later request for it runs on a second
//! schema that validates only what its execution needs (`ValidationMode::Fast`) and
//! carries no extension — so its fields also skip async-graphql's per-field extension
//! dispatch — when each of its variables' values is valid for the variable's declared
//! type ([`variables_valid`]): that is the one rule whose outcome depends on more than
//! the document and the schema (`ArgumentsOfCorrectType` with the values of
//! variables). Any other request is validated in full, so a bad value is refused with
//! the same error as ever. The depth and cost limits ([`crate::limits`]) are judged on
//! every request: the cost depends on the variables.
//!
//! Automatic persisted queries follow Apollo's protocol: a request whose
//! `extensions.persistedQuery` is `{"version": 1, "sha256Hash": "<hex>"}` and whose
//! `query` is empty runs the cached document with that hash, or is answered
//! `PERSISTED_QUERY_NOT_FOUND`, upon which the client sends the text with the hash, which
//! must match it (else `BAD_REQUEST`). A document known by hash is simply a document in
//! the cache: one that fell out of it is asked for again.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation};
use async_graphql::parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, OperationDefinition, Type,
};
use async_graphql::registry::{MetaType, Registry};
use async_graphql::{ServerError, ValidationResult, Value, Variables};
use lru::LruCache;
use sha2::{Digest, Sha256};

/// How many documents are kept.
pub const CAPACITY: usize = 1_024;

/// A document's key: the SHA-256 of its text.
type Hash = [u8; 32];

/// A document that parsed, and what its operations' validation found.
#[derive(Debug)]
pub(crate) struct Document {
    pub text: Arc<str>,
    pub parsed: ExecutableDocument,
    /// The operations (by name; `None`: the document's only one) that passed validation,
    /// with the result.
    validated: Mutex<Vec<(Option<String>, ValidationResult)>>,
}

impl Document {
    /// What validation found of `operation`, if it passed.
    pub fn validated(&self, operation: Option<&str>) -> Option<ValidationResult> {
        let validated = self.validated.lock().ok()?;
        validated
            .iter()
            .find(|(name, _)| name.as_deref() == operation)
            .map(|(_, result)| *result)
    }

    fn remember(&self, operation: Option<&str>, result: ValidationResult) {
        if let Ok(mut validated) = self.validated.lock()
            && !validated
                .iter()
                .any(|(name, _)| name.as_deref() == operation)
        {
            validated.push((operation.map(str::to_owned), result));
        }
    }
}

/// The cache of documents, shared by every request of a schema.
#[derive(Debug)]
pub(crate) struct Documents {
    entries: Mutex<Entries>,
    parsed: AtomicU64,
    validated: AtomicU64,
}

/// What the document cache has done since the server started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DocumentStats {
    /// Documents held now.
    pub cached: usize,
    /// Documents parsed (a request whose text was not cached).
    pub parsed: u64,
    /// Operations validated in full (a request that could not use an earlier
    /// validation).
    pub validated: u64,
}

impl Default for Documents {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

/// Why a request's document could not be had.
#[derive(Debug)]
pub(crate) enum Missing {
    /// A persisted query's hash that the cache does not hold.
    NotFound,
    /// A persisted query the server cannot read (`version`, `sha256Hash`, or a text that
    /// does not match its hash): the message says which.
    Bad(String),
}

impl Missing {
    /// The error answering it.
    pub fn error(&self) -> ServerError {
        let (message, code) = match self {
            Missing::NotFound => (
                "PersistedQueryNotFound".to_owned(),
                "PERSISTED_QUERY_NOT_FOUND",
            ),
            Missing::Bad(message) => (message.clone(), "BAD_REQUEST"),
        };
        let mut error = ServerError::new(message, None);
        let mut extensions = async_graphql::ErrorExtensionValues::default();
        extensions.set("code", code);
        error.extensions = Some(extensions);
        error
    }
}

/// The documents, by the SHA-256 of their text (what a persisted query names), and the
/// SHA-256 of each one's text, by the text: a request that sends a known text finds its
/// document by a fast hash of the text and one comparison, without computing its
/// SHA-256 (a Q2 dashboard's: about 20,000 instructions). The two hold the same
/// documents: one evicted from the first leaves the second with it.
#[derive(Debug)]
struct Entries {
    documents: LruCache<Hash, Arc<Document>>,
    hashes: bduf_core::Map<Arc<str>, Hash>,
}

impl Entries {
    fn put(&mut self, hash: Hash, document: Arc<Document>) {
        if let Some((_, gone)) = self.documents.push(hash, Arc::clone(&document)) {
            self.hashes.remove(&gone.text);
        }
        self.hashes.insert(Arc::clone(&document.text), hash);
    }
}

impl Documents {
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Self {
            entries: Mutex::new(Entries {
                documents: LruCache::new(capacity),
                hashes: bduf_core::Map::default(),
            }),
            parsed: AtomicU64::new(0),
            validated: AtomicU64::new(0),
        }
    }

    /// What the cache holds and has done.
    pub fn stats(&self) -> DocumentStats {
        DocumentStats {
            cached: self.entries.lock().map_or(0, |e| e.documents.len()),
            parsed: self.parsed.load(Ordering::Relaxed),
            validated: self.validated.load(Ordering::Relaxed),
        }
    }

    fn get(&self, hash: &Hash) -> Option<Arc<Document>> {
        self.entries.lock().ok()?.documents.get(hash).cloned()
    }

    /// The cached document whose text is `text`.
    fn by_text(&self, text: &str) -> Option<Arc<Document>> {
        let mut entries = self.entries.lock().ok()?;
        let hash = *entries.hashes.get(text)?;
        entries.documents.get(&hash).cloned()
    }

    /// The document of `request`: from the cache, or parsed and cached; with a persisted
    /// query's hash and no text, the cached one or [`Missing::NotFound`]. `Ok(None)`: the
    /// text does not parse (left to async-graphql, which names the error). The request's
    /// `query` is set to the document's text.
    pub fn document(
        &self,
        request: &mut async_graphql::Request,
    ) -> Result<Option<Arc<Document>>, Missing> {
        let persisted = persisted_hash(request)?;
        if request.query.is_empty() {
            let Some(hash) = persisted else {
                return Ok(None);
            };
            let document = self.get(&hash).ok_or(Missing::NotFound)?;
            request.query = document.text.to_string();
            return Ok(Some(document));
        }
        if persisted.is_none()
            && let Some(document) = self.by_text(&request.query)
        {
            return Ok(Some(document));
        }
        let hash: Hash = Sha256::digest(request.query.as_bytes()).into();
        if persisted.is_some_and(|p| p != hash) {
            return Err(Missing::Bad(
                "extensions.persistedQuery.sha256Hash: is not the SHA-256 of the query".to_owned(),
            ));
        }
        if let Some(document) = self.get(&hash) {
            return Ok(Some(document));
        }
        self.parsed.fetch_add(1, Ordering::Relaxed);
        let Ok(parsed) = async_graphql::parser::parse_query(&request.query) else {
            return Ok(None);
        };
        let document = Arc::new(Document {
            text: request.query.as_str().into(),
            parsed,
            validated: Mutex::new(Vec::new()),
        });
        if let Ok(mut entries) = self.entries.lock() {
            entries.put(hash, Arc::clone(&document));
        }
        Ok(Some(document))
    }
}

/// The hash of `request`'s persisted query, if it names one.
fn persisted_hash(request: &async_graphql::Request) -> Result<Option<Hash>, Missing> {
    let Some(persisted) = request.extensions.0.get("persistedQuery") else {
        return Ok(None);
    };
    let bad = |what: &str| Missing::Bad(format!("extensions.persistedQuery.{what}"));
    let Value::Object(persisted) = persisted else {
        return Err(bad("version: must be an object {version: 1, sha256Hash}"));
    };
    match persisted.get("version") {
        Some(Value::Number(n)) if n.as_i64() == Some(1) => {}
        _ => return Err(bad("version: only version 1 is supported")),
    }
    let hex = match persisted.get("sha256Hash") {
        Some(Value::String(hex)) => hex,
        _ => return Err(bad("sha256Hash: must be the query's SHA-256 in hex")),
    };
    let mut hash = [0u8; 32];
    if hex.len() != 64 || !hex.is_ascii() {
        return Err(bad("sha256Hash: must be 64 hexadecimal digits"));
    }
    for (i, byte) in hash.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
            .map_err(|_| bad("sha256Hash: must be 64 hexadecimal digits"))?;
    }
    Ok(Some(hash))
}

/// The request's document and operation, for [`Remember`].
#[derive(Debug, Clone)]
pub(crate) struct Known {
    pub documents: Arc<Documents>,
    pub document: Arc<Document>,
    pub operation: Option<String>,
}

/// The extension that remembers which operations passed async-graphql's validation (on
/// the schema that validates in full; it runs inside [`crate::limits::Guard`], so it sees
/// that validation alone).
pub(crate) struct Remember;

impl ExtensionFactory for Remember {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Remember)
    }
}

#[async_trait::async_trait]
impl Extension for Remember {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let known = ctx.data_opt::<Known>();
        if let Some(known) = known {
            known.documents.validated.fetch_add(1, Ordering::Relaxed);
        }
        let result = next.run(ctx).await?;
        if let Some(known) = known {
            known.document.remember(known.operation.as_deref(), result);
        }
        Ok(result)
    }
}

/// The operation `name` of `document` (the only one when no name is given).
pub(crate) fn operation<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a OperationDefinition> {
    match (&document.operations, name) {
        (DocumentOperations::Single(op), _) => Some(&op.node),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| &op.node),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| &op.node)
        }
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// Whether every variable `operation` defines has a value in `variables` (or a default)
/// valid for its declared type — what async-graphql's `ArgumentsOfCorrectType` checks of
/// the values of variables, where a variable stands in an argument of its type.
pub(crate) fn variables_valid(
    registry: &Registry,
    operation: &OperationDefinition,
    variables: &Variables,
) -> bool {
    operation.variable_definitions.iter().all(|definition| {
        let definition = &definition.node;
        let value = variables
            .get(&definition.name.node)
            .or_else(|| definition.default_value());
        match value {
            Some(value) => valid(registry, &definition.var_type.node, value),
            None => definition.var_type.node.nullable,
        }
    })
}

/// Whether `value` is valid input for `ty`, as async-graphql's own check decides it.
fn valid(registry: &Registry, ty: &Type, value: &Value) -> bool {
    if let Value::Null = value {
        return ty.nullable;
    }
    match &ty.base {
        BaseType::List(item) => match value {
            Value::List(items) => items.iter().all(|v| valid(registry, item, v)),
            _ => valid(registry, item, value),
        },
        BaseType::Named(name) => match registry.types.get(name.as_str()) {
            Some(MetaType::Scalar { is_valid, .. }) => is_valid.as_ref().is_none_or(|f| f(value)),
            Some(MetaType::Enum { enum_values, .. }) => match value {
                Value::Enum(v) => enum_values.contains_key(v.as_str()),
                Value::String(v) => enum_values.contains_key(v.as_str()),
                _ => false,
            },
            Some(MetaType::InputObject {
                input_fields,
                oneof,
                ..
            }) => {
                let Value::Object(values) = value else {
                    return false;
                };
                if *oneof && (values.len() != 1 || values.values().any(|v| *v == Value::Null)) {
                    return false;
                }
                let known = values
                    .keys()
                    .all(|key| input_fields.contains_key(key.as_str()));
                known
                    && input_fields
                        .values()
                        .all(|field| match values.get(field.name.as_str()) {
                            Some(v) => {
                                Type::new(&field.ty).is_some_and(|ty| valid(registry, &ty, v))
                            }
                            None => field.default_value.is_some() || !field.ty.ends_with('!'),
                        })
            }
            // Not an input type (validation refuses the document itself). Anything this
            // refuses that async-graphql would accept is only validated in full.
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use async_graphql::{Request, Value};
    use bduf_identity::auth::sha256_hex;

    use super::Documents;

    /// A persisted query: its hash and no text.
    fn persisted(text: &str) -> Request {
        let mut request = Request::new("");
        request.extensions.0.insert(
            "persistedQuery".to_owned(),
            Value::from_json(
                serde_json::json!({ "version": 1, "sha256Hash": sha256_hex(text.as_bytes()) }),
            )
            .expect("a value"),
        );
        request
    }

    /// A text sent again is found by the text, a text evicted is parsed again, the index
    /// of texts holds what the cache holds (not one more), and a document found by its
    /// text is the one its persisted query's hash finds.
    #[test]
    fn a_known_text_finds_its_document_and_an_evicted_one_is_parsed_again() {
        let documents = Documents::with_capacity(2);
        let texts: Vec<String> = (0..3).map(|i| format!("{{ f{i} }}")).collect();
        let fetch = |text: &str| {
            documents
                .document(&mut Request::new(text))
                .expect("a document")
                .expect("it parses")
        };
        let first = fetch(&texts[0]);
        fetch(&texts[1]);
        assert!(Arc::ptr_eq(&first, &fetch(&texts[0])));
        assert_eq!(documents.stats().parsed, 2);
        // The least recently used, texts[1], makes room for texts[2].
        fetch(&texts[2]);
        assert_eq!(documents.stats().parsed, 3);
        assert!(Arc::ptr_eq(&first, &fetch(&texts[0])));
        fetch(&texts[1]);
        assert_eq!(documents.stats().parsed, 4);
        let entries = documents.entries.lock().expect("the lock");
        assert_eq!(entries.documents.len(), 2);
        assert_eq!(entries.hashes.len(), 2);
        for (text, hash) in &entries.hashes {
            assert_eq!(
                entries.documents.peek(hash).map(|d| &*d.text),
                Some(&**text)
            );
        }
        drop(entries);
        // texts[1] came back in place of texts[2]: a persisted query finds the one and
        // not the other.
        let by_hash = documents
            .document(&mut persisted(&texts[1]))
            .expect("cached")
            .expect("a document");
        assert!(Arc::ptr_eq(&by_hash, &fetch(&texts[1])));
        assert!(documents.document(&mut persisted(&texts[2])).is_err());
    }
}
