//! Accounts and sessions: password hashing (argon2id), opaque bearer tokens, sign-up,
//! sign-in with throttling, sign-out, and [`authenticate`], which turns a request's token
//! into a [`Viewer`].
//!
//! - Passwords are hashed with argon2id at OWASP's minimum (19 MiB, t = 2, p = 1) in a
//!   PHC string with its own random salt; they are never stored, returned or logged.
//! - A token is 256 random bits from the OS, sent as `bduf_` and 64 hex digits; the
//!   database keeps only its SHA-256, so a copy of `user_sessions` signs nobody in.
//! - A session ends [`SESSION_LIFETIME`] after sign-in, after [`SESSION_IDLE`] without
//!   use, or when revoked (sign-out). Its `last_used_at` is refreshed at most once per
//!   [`TOUCH_EVERY`], so a busy client does not write on every request.
//! - Sign-in answers an unknown email and a wrong password alike, after the same work (a
//!   password is checked against a dummy hash when there is no account), and refuses
//!   further attempts for a while after [`MAX_FAILURES`] failures for one email or
//!   [`MAX_FAILURES_PER_IP`] from one address, counted in the database
//!   (`sign_in_failures`), so every server counts alike and a restart forgets nothing.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::{LazyLock, OnceLock};
use std::time::Duration;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use async_graphql::InputObject;
use bduf_core::txn::acting_for;
use bduf_core::write::as_owner;
use bduf_core::{Error, RequestTxn, Result, Tx, Viewer, check, now, utc};
use chrono::{DateTime, FixedOffset, Utc};
use entity::sea_orm_active_enums::CollaborationRole;
use entity::{organization_members, sign_in_failures, user_sessions, users};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LockBehavior, LockType, OnConflict, Order, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, DbBackend, EntityTrait,
    QueryFilter, Statement,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// How long a session lasts after sign-in, however often it is used.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);
/// How long a session lasts unused.
pub const SESSION_IDLE: Duration = Duration::from_secs(7 * 24 * 3600);
/// How stale `last_used_at` may get before a request refreshes it.
pub const TOUCH_EVERY: Duration = Duration::from_secs(60);
/// Failed sign-ins for one email within [`THROTTLE_WINDOW`] before it is refused.
pub const MAX_FAILURES: u32 = 5;
/// Failed sign-ins from one address within [`THROTTLE_WINDOW`] before it is refused.
pub const MAX_FAILURES_PER_IP: u32 = 50;
/// How long failures are remembered.
pub const THROTTLE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The shortest and longest password accepted, in characters.
pub const PASSWORD_CHARS: (usize, usize) = (8, 128);

/// The one answer to a failed sign-in, whatever failed.
const WRONG: &str = "the email or the password is wrong";

/// The argon2id hasher at OWASP's parameters.
fn argon() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A hash that matches no password, checked when there is no account so that a
/// sign-in takes as long either way.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_now("an unguessable dummy password").unwrap_or_default());

fn hash_now(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::forbidden(format!("the password cannot be hashed: {e}")))
}

fn verify_now(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            argon()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Hashes `password` (off the async threads: it takes tens of milliseconds on purpose).
pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .map_err(|_| Error::Cancelled)?
}

/// Whether `password` matches `hash` (a dummy hash when `hash` is none).
pub async fn verify_password(hash: Option<String>, password: String) -> bool {
    tokio::task::spawn_blocking(move || {
        let found = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.clone());
        verify_now(&hash, &password) && found
    })
    .await
    .unwrap_or(false)
}

/// A new token and the hash stored for it.
pub fn new_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let mut token = String::from("bduf_");
    for b in bytes {
        let _ = write!(token, "{b:02x}");
    }
    let hash = token_hash(&token);
    (token, hash)
}

/// The SHA-256 of a token, in hex: what `user_sessions.token_hash` holds.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// The SHA-256 of `bytes`, as 64 lower-case hex digits.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn ago(d: Duration) -> DateTime<FixedOffset> {
    utc((Utc::now() - chrono::Duration::from_std(d).unwrap_or_default()).fixed_offset())
}

/// Finds the viewer of a request from its bearer `token`, acting in `organization` (if
/// given: one they are a member of) or their earliest organization, and makes the
/// request act for them ([`RequestTxn::entered`]). It runs first in the request's own
/// transaction, before the request acts for anyone — as the database's owner: `users`,
/// `user_sessions` and `organization_members` show the owner every row (migration steps
/// 12 and 15). `UNAUTHENTICATED` for a token that is unknown, expired, idle too long or
/// revoked, or whose user is deactivated; `FORBIDDEN` for an organization the user is
/// not a member of (whether or not it exists). Either way the request then acts for
/// nobody until [`RequestTxn::enter`] says otherwise.
///
/// One statement, which on PostgreSQL also switches the transaction to `bduf_app` with
/// the user and the organization set (`bduf_core::txn::acting_for`). A session last used
/// more than [`TOUCH_EVERY`] ago is touched after it, in a savepoint of its own, so a
/// concurrent request's touch (which holds the row) or a newer snapshot's makes it give
/// up instead of failing the request.
pub async fn authenticate(
    txn: &RequestTxn,
    token: &str,
    organization: Option<Uuid>,
) -> Result<Viewer> {
    let expired =
        || Error::Unauthenticated("the session is unknown, expired or revoked; sign in again");
    let rows = txn
        .query(session_lookup(txn.backend(), token, organization))
        .await?;
    let first = rows.first().ok_or_else(expired)?;
    let session: Uuid = first.try_get("", "session")?;
    let user: Uuid = first.try_get("", "user")?;
    let last_used: Option<DateTime<FixedOffset>> = first.try_get("", "last_used_at")?;
    let mut memberships = Vec::new();
    for row in &rows {
        let org: Option<Uuid> = row.try_get("", "organization")?;
        let role: Option<CollaborationRole> = row.try_get("", "role")?;
        if let (Some(org), Some(role)) = (org, role) {
            memberships.push((org, role));
        }
    }
    let active = match organization {
        Some(org) if memberships.iter().any(|(id, _)| *id == org) => Some(org),
        Some(org) => {
            return Err(Error::forbidden(format!(
                "X-Organization-Id: you are not a member of organization {org}"
            )));
        }
        None => memberships.first().map(|(id, _)| *id),
    };
    let viewer = Viewer {
        user,
        session,
        memberships,
        organization: active,
    };
    txn.entered(viewer.clone());
    if last_used.is_none_or(|t| t < ago(TOUCH_EVERY)) {
        touch(txn, session).await;
    }
    Ok(viewer)
}

/// The statement that finds a session's viewer ([`authenticate`]) for `token` at this
/// moment. Its text depends only on the backend and whether an organization is asked
/// for, so it is rendered once for each ([`Template`]) and only its values change: the
/// token's hash, the time, the last use that is still recent enough, and the
/// organization.
fn session_lookup(backend: DbBackend, token: &str, organization: Option<Uuid>) -> Statement {
    let hash = token_hash(token);
    let (at, idle_since) = (now(), ago(SESSION_IDLE));
    static TEMPLATES: [OnceLock<Option<Template>>; 4] = [const { OnceLock::new() }; 4];
    let slot =
        usize::from(backend == DbBackend::Postgres) * 2 + usize::from(organization.is_some());
    let template = TEMPLATES[slot].get_or_init(|| Template::of(backend, organization.is_some()));
    match template {
        Some(template) => template.with([
            Some(hash.into()),
            Some(at.into()),
            Some(idle_since.into()),
            organization.map(Into::into),
        ]),
        None => session_statement(backend, hash, at, idle_since, organization),
    }
}

/// [`session_lookup`]'s statement rendered once, with where each of its four changing
/// values goes among its parameters.
struct Template {
    statement: Statement,
    /// The parameter of the token's hash, the time, the idle limit, the organization.
    slots: [Option<usize>; 4],
}

impl Template {
    /// Rendered with stand-ins, each found among the parameters exactly once (the
    /// organization: once or, on SQLite, where the statement does not name it, never); a
    /// stand-in found elsewhere leaves the statement rendered anew every time (`None`).
    fn of(backend: DbBackend, organization: bool) -> Option<Self> {
        let time = |seconds| DateTime::from_timestamp(seconds, 0).map(|t| t.fixed_offset());
        let (hash, at, idle_since) = (
            "\u{0}token hash".to_owned(),
            time(-2_000_000_001)?,
            time(-2_000_000_002)?,
        );
        let org = Uuid::from_u128(0x5e55_1011);
        let stand_ins: [sea_orm::Value; 4] = [
            hash.clone().into(),
            at.into(),
            idle_since.into(),
            org.into(),
        ];
        let statement =
            session_statement(backend, hash, at, idle_since, organization.then_some(org));
        let values = &statement.values.as_ref()?.0;
        let mut slots = [None; 4];
        for (slot, stand_in) in slots.iter_mut().zip(&stand_ins) {
            let mut found = values.iter().enumerate().filter(|(_, v)| *v == stand_in);
            *slot = found.next().map(|(i, _)| i);
            if found.next().is_some() {
                return None;
            }
        }
        let named = slots[..3].iter().all(Option::is_some)
            && (slots[3].is_some() || !organization || backend != DbBackend::Postgres);
        named.then_some(Self { statement, slots })
    }

    /// The statement with `values` in their places.
    fn with(&self, values: [Option<sea_orm::Value>; 4]) -> Statement {
        let mut statement = self.statement.clone();
        if let Some(params) = statement.values.as_mut() {
            for (slot, value) in self.slots.iter().zip(values) {
                if let (Some(i), Some(value)) = (slot, value) {
                    params.0[*i] = value;
                }
            }
        }
        statement
    }
}

/// [`session_lookup`]'s statement, rendered.
fn session_statement(
    backend: DbBackend,
    hash: String,
    at: DateTime<FixedOffset>,
    idle_since: DateTime<FixedOffset>,
    organization: Option<Uuid>,
) -> Statement {
    use organization_members as members;
    use user_sessions as sessions;
    let mut select = Query::select();
    select
        .expr_as(sessions::Column::Id.into_expr(), "session")
        .expr_as(sessions::Column::UserId.into_expr(), "user")
        .expr_as(sessions::Column::LastUsedAt.into_expr(), "last_used_at")
        .expr_as(members::Column::OrganizationId.into_expr(), "organization")
        .expr_as(
            members::Column::Role.select_as(members::Column::Role.into_expr()),
            "role",
        )
        .from(sessions::Entity)
        .inner_join(
            users::Entity,
            users::Column::Id
                .into_expr()
                .equals(sessions::Column::UserId.as_column_ref()),
        )
        .left_join(
            members::Entity,
            members::Column::UserId
                .into_expr()
                .equals(sessions::Column::UserId.as_column_ref()),
        )
        .and_where(sessions::Column::TokenHash.into_expr().eq(hash))
        .and_where(sessions::Column::RevokedAt.into_expr().is_null())
        .and_where(sessions::Column::ExpiresAt.into_expr().gt(at))
        .and_where(
            sessions::Column::LastUsedAt
                .into_expr()
                .is_null()
                .or(sessions::Column::LastUsedAt.into_expr().gt(idle_since)),
        )
        .and_where(
            users::Column::IsActive
                .into_expr()
                .is_null()
                .or(users::Column::IsActive.into_expr().eq(true)),
        )
        .order_by((members::Entity, members::Column::JoinedAt), Order::Asc)
        .order_by((members::Entity, members::Column::Id), Order::Asc);
    if backend == DbBackend::Postgres {
        // The organization the request acts in, of the session's user: the one asked
        // for if a member (else none, and the request is refused below), or the earliest.
        let mut chosen = Query::select();
        chosen
            .expr(Expr::col(("_m", members::Column::OrganizationId)))
            .from_as(members::Entity, "_m")
            .and_where(
                Expr::col(("_m", members::Column::UserId))
                    .equals((sessions::Entity, sessions::Column::UserId)),
            );
        match organization {
            Some(org) => {
                chosen.and_where(Expr::col(("_m", members::Column::OrganizationId)).eq(org));
            }
            None => {
                chosen
                    .order_by(("_m", members::Column::JoinedAt), Order::Asc)
                    .order_by(("_m", members::Column::Id), Order::Asc)
                    .limit(1);
            }
        }
        let text = |expr: Expr| Expr::from(Func::cast_as(expr, "text"));
        let org = Expr::from(Func::coalesce([
            text(Expr::SubQuery(None, Box::new(chosen.into()))),
            Expr::val(""),
        ]));
        for setting in acting_for(text(sessions::Column::UserId.into_expr()), org) {
            select.expr(setting);
        }
    }
    backend.build(&select)
}

/// Refreshes a session's `last_used_at` unless another request holds its row: in a
/// savepoint, so that failing (a concurrent touch, SQLite's writer busy) changes nothing
/// else of the request. The next request tries again.
async fn touch(txn: &RequestTxn, session: Uuid) {
    use user_sessions as sessions;
    let backend = txn.backend();
    let touched = txn
        .savepoint(|conn| {
            Box::pin(async move {
                let mut held = Query::select();
                held.column(sessions::Column::Id)
                    .from(sessions::Entity)
                    .and_where(sessions::Column::Id.eq(session))
                    .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
                sessions::Entity::update_many()
                    .col_expr(sessions::Column::LastUsedAt, Expr::val(now()))
                    .filter(sessions::Column::Id.in_subquery(held))
                    .exec(conn)
                    .await?;
                Ok(())
            })
        })
        .await;
    if let Err(err) = touched {
        tracing::debug!(error = %err, ?backend, "a session's last use was not recorded this time");
    }
}

/// What a client tells about itself when it signs in.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub user_agent: Option<String>,
    pub ip: Option<IpAddr>,
}

/// A new session: its token (shown once) and when it ends.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub session: user_sessions::Model,
    pub user: users::Model,
}

/// Starts a session for `user`.
async fn start_session(
    conn: &DatabaseTransaction,
    user: users::Model,
    client: &Client,
) -> Result<NewSession> {
    let (token, hash) = new_token();
    let now = now();
    let max_agent = check::max_len(user_sessions::Column::UserAgent).unwrap_or(500);
    let session = user_sessions::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user.id),
        token_hash: Set(hash),
        created_at: Set(Some(now)),
        expires_at: Set(utc(
            now + chrono::Duration::from_std(SESSION_LIFETIME).unwrap_or_default()
        )),
        last_used_at: Set(Some(now)),
        revoked_at: Set(None),
        user_agent: Set(client
            .user_agent
            .as_ref()
            .map(|a| a.chars().take(max_agent).collect())),
        ip_address: Set(client
            .ip
            .map(|ip| entity::inet::Inet(sea_orm::prelude::IpNetwork::from(ip)))),
    }
    .insert(conn)
    .await?;
    users::Entity::update_many()
        .col_expr(users::Column::LastLoginAt, Expr::val(now))
        .filter(users::Column::Id.eq(user.id))
        .exec(conn)
        .await?;
    Ok(NewSession {
        token,
        session,
        user,
    })
}

// What signing up needs.
#[derive(InputObject, Debug, Clone)]
pub struct SignUpInput {
    pub email: String,
    pub username: String,
    /// 8 to 128 characters.
    pub password: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// Normalizes an email for lookup and uniqueness: trimmed and lower-cased.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

fn check_password(password: &str) -> Result<()> {
    let n = password.chars().count();
    let (low, high) = PASSWORD_CHARS;
    if n < low || n > high {
        return Err(Error::invalid(
            "password",
            format!("must be {low} to {high} characters long, got {n}"),
        ));
    }
    Ok(())
}

fn check_email(email: &str) -> Result<()> {
    check::text("email", users::Column::Email, Some(email))?;
    let valid = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
    }) && !email.chars().any(char::is_whitespace);
    if !valid {
        return Err(Error::invalid(
            "email",
            "must be an email address (name@domain.tld)",
        ));
    }
    Ok(())
}

/// A person's first and last name fit their columns.
pub(crate) fn check_names(first: Option<&str>, last: Option<&str>) -> Result<()> {
    check::text("firstName", users::Column::FirstName, first)?;
    check::text("lastName", users::Column::LastName, last)
}

fn check_username(username: &str) -> Result<()> {
    let n = username.chars().count();
    let max = check::max_len(users::Column::Username).unwrap_or(100);
    if n < 3 || n > max {
        return Err(Error::invalid(
            "username",
            format!("must be 3 to {max} characters long, got {n}"),
        ));
    }
    if !username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(Error::invalid(
            "username",
            "may hold only letters, digits, '_', '-' and '.'",
        ));
    }
    Ok(())
}

/// Creates an account and signs it in, in `conn` (a savepoint of the request).
/// `CONFLICT` (on `email` or `username`) when either is taken.
pub async fn sign_up(
    conn: &DatabaseTransaction,
    input: SignUpInput,
    client: &Client,
) -> Result<NewSession> {
    let email = normalize_email(&input.email);
    check_email(&email)?;
    check_username(&input.username)?;
    check_password(&input.password)?;
    check_names(input.first_name.as_deref(), input.last_name.as_deref())?;
    let hash = hash_password(input.password).await?;
    as_owner(conn, || async move {
        for (field, column, value) in [
            ("email", users::Column::Email, &email),
            ("username", users::Column::Username, &input.username),
        ] {
            let taken = users::Entity::find()
                .filter(column.eq(value.as_str()))
                .one(conn)
                .await?;
            if taken.is_some() {
                return Err(Error::conflict(field, "is already taken"));
            }
        }
        let now = now();
        let user = users::ActiveModel {
            id: Set(Uuid::now_v7()),
            email: Set(email),
            username: Set(input.username),
            password_hash: Set(hash),
            first_name: Set(input.first_name),
            last_name: Set(input.last_name),
            created_at: Set(Some(now)),
            updated_at: Set(Some(now)),
            ..Default::default()
        }
        .insert(conn)
        .await?;
        start_session(conn, user, client).await
    })
    .await
}
/// The keys a sign-in counts against: its email, with [`MAX_FAILURES`], and its
/// client's address, with [`MAX_FAILURES_PER_IP`].
fn throttle_keys(email: &str, ip: Option<IpAddr>) -> Vec<(String, u32)> {
    let mut keys = vec![(format!("email:{email}"), MAX_FAILURES)];
    if let Some(ip) = ip {
        keys.push((format!("ip:{ip}"), MAX_FAILURES_PER_IP));
    }
    keys
}

/// `THROTTLED`, with the seconds to wait, when a key of this sign-in has failed too often
/// within [`THROTTLE_WINDOW`] (counted in `sign_in_failures`, so every server of the
/// database counts alike, and a restart forgets nothing).
async fn throttled(conn: &DatabaseTransaction, email: &str, ip: Option<IpAddr>) -> Result<()> {
    use sign_in_failures as failures;
    let keys = throttle_keys(email, ip);
    let since = ago(THROTTLE_WINDOW);
    let rows = failures::Entity::find()
        .filter(failures::Column::Key.is_in(keys.iter().map(|(key, _)| key.clone())))
        .filter(failures::Column::FirstFailedAt.gt(since))
        .all(conn)
        .await?;
    for row in rows {
        let max = keys
            .iter()
            .find(|(key, _)| *key == row.key)
            .map_or(u32::MAX, |(_, max)| *max);
        if u32::try_from(row.failures).unwrap_or(0) >= max {
            let wait = (row.first_failed_at - since).num_seconds();
            return Err(Error::Throttled(std::cmp::max(
                u64::try_from(wait).unwrap_or(0),
                1,
            )));
        }
    }
    Ok(())
}

/// Counts a failed sign-in against its keys: one statement per key, a window older than
/// [`THROTTLE_WINDOW`] starting afresh.
async fn failed(conn: &DatabaseTransaction, email: &str, ip: Option<IpAddr>) -> Result<()> {
    use sign_in_failures as failures;
    let now = now();
    let stale = failures::Column::FirstFailedAt
        .into_expr()
        .lte(ago(THROTTLE_WINDOW));
    for (key, _) in throttle_keys(email, ip) {
        let row = failures::ActiveModel {
            key: Set(key),
            failures: Set(1),
            first_failed_at: Set(now),
            last_failed_at: Set(now),
        };
        let on_conflict = OnConflict::column(failures::Column::Key)
            .value(
                failures::Column::Failures,
                Expr::case(stale.clone(), 1).finally(failures::Column::Failures.into_expr().add(1)),
            )
            .value(
                failures::Column::FirstFailedAt,
                Expr::case(stale.clone(), Expr::val(now))
                    .finally(failures::Column::FirstFailedAt.into_expr()),
            )
            .value(failures::Column::LastFailedAt, Expr::val(now))
            .to_owned();
        failures::Entity::insert(row)
            .on_conflict(on_conflict)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// How a sign-in came out: a session, or refused (wrong email or password, or an
/// inactive account) — which is not an error of the statement that records it, so the
/// failure is kept when the request ends.
#[derive(Debug)]
pub enum SignIn {
    Session(Box<NewSession>),
    Refused,
}

impl SignIn {
    /// The session, or the one answer to every failed sign-in.
    pub fn session(self) -> Result<NewSession> {
        match self {
            SignIn::Session(session) => Ok(*session),
            SignIn::Refused => Err(Error::Unauthenticated(WRONG)),
        }
    }
}

/// Signs in with an email and a password, in `conn` (a savepoint of the request). Every
/// failure is the same answer after the same work ([`SignIn::session`] makes it the one
/// `UNAUTHENTICATED` error), counted against the email and the client's address; too
/// many within [`THROTTLE_WINDOW`] are `THROTTLED`; a success forgives the email.
pub async fn sign_in(
    conn: &DatabaseTransaction,
    email: &str,
    password: String,
    client: &Client,
) -> Result<SignIn> {
    let email = normalize_email(email);
    as_owner(conn, || async move {
        throttled(conn, &email, client.ip).await?;
        let user = users::Entity::find()
            .filter(users::Column::Email.eq(email.as_str()))
            .one(conn)
            .await?;
        let active = user.as_ref().is_some_and(|u| u.is_active.unwrap_or(true));
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        let matches = verify_password(hash, password).await;
        match user {
            Some(user) if matches && active => {
                sign_in_failures::Entity::delete_by_id(format!("email:{email}"))
                    .exec(conn)
                    .await?;
                let session = start_session(conn, user, client).await?;
                Ok(SignIn::Session(Box::new(session)))
            }
            _ => {
                failed(conn, &email, client.ip).await?;
                Ok(SignIn::Refused)
            }
        }
    })
    .await
}

/// Ends the viewer's session of the request (and, with `everywhere`, every session of
/// theirs): the tokens stop working at once. Returns how many sessions ended.
pub async fn sign_out(tx: &Tx<'_>, everywhere: bool) -> Result<u64> {
    let viewer = tx.viewer();
    let mut update = user_sessions::Entity::update_many()
        .col_expr(user_sessions::Column::RevokedAt, Expr::val(now()))
        .filter(user_sessions::Column::UserId.eq(viewer.user))
        .filter(user_sessions::Column::RevokedAt.is_null());
    if !everywhere {
        update = update.filter(user_sessions::Column::Id.eq(viewer.session));
    }
    Ok(update.exec(tx.txn).await?.rows_affected)
}

#[cfg(test)]
mod tests {
    use sea_orm::DbBackend;
    use uuid::Uuid;

    use super::{
        SESSION_IDLE, Template, ago, check_email, check_password, check_username, session_lookup,
        session_statement, token_hash,
    };

    /// The session look-up rendered once and given each request's values is the statement
    /// rendered anew with them, on both backends, with and without an organization, for
    /// any token and organization (not only the template's stand-ins).
    #[test]
    fn the_session_lookup_rendered_once_is_the_one_rendered_each_time() {
        for backend in [DbBackend::Postgres, DbBackend::Sqlite] {
            for organization in [None, Some(Uuid::now_v7())] {
                let template = Template::of(backend, organization.is_some())
                    .expect("every stand-in found once");
                assert!(template.slots[..3].iter().all(Option::is_some));
                assert_eq!(
                    template.slots[3].is_some(),
                    organization.is_some() && backend == DbBackend::Postgres
                );
                for token in ["bduf_0123", "bduf_4567", "'; DROP TABLE users; --"] {
                    let found = session_lookup(backend, token, organization);
                    // The time in the statement is the moment it was made: read it back
                    // and render the statement anew with it.
                    let values = &found.values.as_ref().expect("values").0;
                    let at = |slot: usize| match &values[template.slots[slot].expect("slot")] {
                        sea_orm::Value::ChronoDateTimeWithTimeZone(Some(t)) => *t,
                        other => panic!("a time, not {other:?}"),
                    };
                    let (now, idle_since) = (at(1), at(2));
                    assert!(idle_since < now && ago(SESSION_IDLE) >= idle_since);
                    let anew = session_statement(
                        backend,
                        token_hash(token),
                        now,
                        idle_since,
                        organization,
                    );
                    assert_eq!(found.sql, anew.sql, "{backend:?}");
                    assert_eq!(found.values, anew.values, "{backend:?} {token}");
                    assert_eq!(found.db_backend, anew.db_backend);
                }
            }
        }
    }

    #[test]
    fn accounts_need_an_address_a_name_and_a_long_enough_password() {
        assert!(check_email("ada@northwind.example").is_ok());
        for bad in ["ada", "ada@", "@x.io", "ada@x", "a da@x.io", "ada@.io"] {
            assert_eq!(check_email(bad).expect_err(bad).field(), Some("email"));
        }
        assert!(check_username("ada.l_1").is_ok());
        for bad in ["ad", "ada lovelace", &"a".repeat(101)] {
            assert_eq!(
                check_username(bad).expect_err(bad).field(),
                Some("username")
            );
        }
        assert!(check_password("eight ch").is_ok());
        for bad in ["seven c", &"p".repeat(129)] {
            assert_eq!(
                check_password(bad).expect_err(bad).field(),
                Some("password")
            );
        }
    }
}
