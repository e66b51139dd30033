//! Idempotent mutations: a signed-in client may send `Idempotency-Key: <key>` with a
//! mutation request; the first request with that key runs and its answer is stored in
//! `idempotency_keys` in the same transaction as its changes; a later request from the
//! same user with the same key and the same request gets the stored answer back and
//! writes nothing.
//!
//! - The key is the user's: `UNIQUE (user_id, key)`, 1 to 255 characters.
//! - The same key with a different request (document, operation name, variables or
//!   organization) is `CONFLICT` on `idempotencyKey`, never a replay of another answer.
//! - A retry that arrives while the first request still runs waits for it: the first
//!   holds the key's row from its insert to its commit (PostgreSQL's unique index
//!   makes the second insert wait; SQLite has one writer), then replays its answer. If
//!   the first request's transaction rolled back, the key was never stored and the retry
//!   runs.
//! - Keys last [`KEY_LIFETIME`]; an older key is used afresh.

use std::time::Duration;

use bduf_core::{Error, RequestTxn, Result, check, now};
use entity::idempotency_keys as keys;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::auth::sha256_hex;

/// How long a stored answer is replayed.
pub const KEY_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// What a request with a key does.
#[derive(Debug)]
pub enum Claim {
    /// Run it; then [`store`] its answer under this row.
    Run(Uuid),
    /// Answer with this, the first request's answer (as JSON).
    Replay(serde_json::Value),
}

/// A key as sent: non-empty, printable, at most as long as the column takes.
pub fn check_key(key: &str) -> Result<()> {
    let max = check::max_len(keys::Column::Key).unwrap_or(255);
    let n = key.chars().count();
    if n == 0 || n > max || key.chars().any(char::is_control) {
        return Err(Error::invalid(
            "idempotencyKey",
            format!("the Idempotency-Key header must be 1 to {max} printable characters"),
        ));
    }
    Ok(())
}

/// The SHA-256 of what makes two requests the same one.
pub fn fingerprint(
    query: &str,
    operation: Option<&str>,
    variables: &serde_json::Value,
    organization: Option<Uuid>,
) -> String {
    let text = serde_json::json!([query, operation, variables, organization]).to_string();
    sha256_hex(text.as_bytes())
}

/// Takes `key` for the viewer's request with `fingerprint`, or finds the answer of the
/// request that took it.
pub async fn claim(txn: &RequestTxn, key: &str, fingerprint: &str) -> Result<Claim> {
    check_key(key)?;
    let viewer = txn.viewer()?;
    if let Some(id) = insert(txn, &viewer, key, fingerprint).await? {
        return Ok(Claim::Run(id));
    }
    let existing = keys::Entity::find()
        .filter(keys::Column::UserId.eq(viewer.user))
        .filter(keys::Column::Key.eq(key))
        .one(txn.conn())
        .await?;
    let existing = match existing {
        Some(row) if !stale(&row) => row,
        gone_or_stale => {
            // Gone since the insert found it, older than a day, or never answered: take
            // it afresh.
            if let Some(row) = gone_or_stale {
                keys::Entity::delete_by_id(row.id).exec(txn.conn()).await?;
            }
            return insert(txn, &viewer, key, fingerprint)
                .await?
                .map(Claim::Run)
                .ok_or_else(|| Error::conflict("idempotencyKey", "is in use by another request"));
        }
    };
    if existing.fingerprint != fingerprint {
        return Err(Error::conflict(
            "idempotencyKey",
            "was sent before with a different request; use a new key for a new request",
        ));
    }
    Ok(Claim::Replay(existing.response.unwrap_or_default()))
}

/// A stored key that no longer replays: unanswered, or older than [`KEY_LIFETIME`].
fn stale(row: &keys::Model) -> bool {
    let age = now().signed_duration_since(row.created_at);
    row.response.is_none() || age.to_std().is_ok_and(|age| age > KEY_LIFETIME)
}

/// Inserts the key's row unless it exists (then waits for its holder to commit).
async fn insert(
    txn: &RequestTxn,
    viewer: &bduf_core::Viewer,
    key: &str,
    fingerprint: &str,
) -> Result<Option<Uuid>> {
    let id = Uuid::now_v7();
    let row = keys::ActiveModel {
        id: Set(id),
        user_id: Set(viewer.user),
        organization_id: Set(viewer.organization),
        key: Set(key.to_owned()),
        fingerprint: Set(fingerprint.to_owned()),
        response: Set(None),
        created_at: Set(now()),
    };
    let inserted = keys::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([keys::Column::UserId, keys::Column::Key])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(txn.conn())
        .await?;
    Ok((inserted > 0).then_some(id))
}

/// What a replay answers when the stored answer no longer reads as one (written by
/// another version of the server).
pub fn unreplayable() -> Error {
    Error::conflict("idempotencyKey", "has an answer that cannot be replayed")
}

/// Stores `answer`, the answer of the request that claimed row `id`.
pub async fn store(txn: &RequestTxn, id: Uuid, answer: serde_json::Value) -> Result<()> {
    keys::Entity::update_many()
        .col_expr(keys::Column::Response, Expr::value(answer))
        .filter(keys::Column::Id.eq(id))
        .exec(txn.conn())
        .await?;
    Ok(())
}
