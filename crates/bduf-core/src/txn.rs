//! [`RequestTxn`]: the one transaction of a request, on the one connection it holds from
//! its first statement to its commit — authentication, every read of every level, every
//! command — and who the request acts for.
//!
//! A request's life: [`RequestTxn::begin`] takes a connection and opens the transaction
//! (as the database owner); authentication (`bduf_identity::auth::authenticate`) reads the
//! session there; [`RequestTxn::enter`] then, on PostgreSQL, switches the transaction to
//! the role `bduf_app` — subject to row-level security — and tells it the user and the
//! organization, all with `set_config(…, true)` in one statement, so nothing outlives the
//! transaction on the pooled connection. Reads go through the batcher
//! ([`crate::batch`]), commands through [`RequestTxn::command`], each in a savepoint of
//! its own; [`RequestTxn::commit`] ends it.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use entity::sea_orm_active_enums::CollaborationRole;
use futures_util::future::BoxFuture;
use sea_orm::sea_query::{Condition, Expr, Func, Query};
use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, IsolationLevel, QueryResult,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use uuid::Uuid;

use crate::Db;
use crate::error::{Error, Result};
use crate::record::Record;
use crate::ride::{Ride, Riders, Tallies, carry};
use crate::scope::{Scope, Viewer};
use crate::write::Tx;

/// What a request's transaction is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Queries: REPEATABLE READ on PostgreSQL (one snapshot for every level).
    Read,
    /// Mutations: READ COMMITTED on PostgreSQL (a row lock waits for the holder and then
    /// sees its commit, instead of failing with a serialization error), and on SQLite
    /// `BEGIN IMMEDIATE` (the write lock up front, so two writers queue on the busy
    /// timeout instead of deadlocking on the upgrade from a read lock).
    Write,
}

/// A request's transaction and who it acts for. Cheap to clone; every clone is the same
/// transaction.
#[derive(Clone)]
pub struct RequestTxn {
    backend: DbBackend,
    access: Access,
    transaction: Arc<DatabaseTransaction>,
    who: Arc<Mutex<Who>>,
    client: Arc<Client>,
    /// Whether the database has been told [`Client`] (the first change does it).
    told: Arc<AtomicBool>,
    /// Whether a savepoint or a command has run: something may have been written.
    changed: Arc<AtomicBool>,
    /// Answers read ahead of their keys (`crate::prefetch`), by key type: a
    /// `Map<K, Option<V>>` each. Forgotten by every change and every change of who the
    /// request acts for, so a read never answers from before a write.
    primed: Arc<Mutex<HashMap<TypeId, Box<dyn Any + Send>>>>,
    /// The wave's aggregates and reads of one row, waiting to ride on the wave's next
    /// read (PostgreSQL; see `crate::ride`).
    riders: Arc<Mutex<Riders>>,
}

/// Who sent a request, as the audit trail records it: the request's id, and the
/// client's address and `User-Agent`. The database's audit triggers read it, with the
/// user, from what the request's first change tells the transaction
/// ([`RequestTxn::command`]; migration step 17).
#[derive(Debug, Clone)]
pub struct Client {
    /// This request's id (UUIDv7), in every audit row it causes.
    pub request_id: Uuid,
    /// The client's address.
    pub ip: Option<std::net::IpAddr>,
    /// The client's `User-Agent`.
    pub user_agent: Option<String>,
    /// The collaboration session the request says it works in: checked to be one of the
    /// active organization's before the first change, then named by every audit row of
    /// the request's changes in that organization (migration step 22).
    pub collaboration_session: Option<Uuid>,
}

impl Default for Client {
    fn default() -> Self {
        Self {
            request_id: Uuid::now_v7(),
            ip: None,
            user_agent: None,
            collaboration_session: None,
        }
    }
}

/// The request header naming the collaboration session, as errors name it.
pub const SESSION_HEADER: &str = "X-Collaboration-Session";

/// Who a request acts for: nobody before sign-in.
#[derive(Debug, Clone)]
struct Who {
    viewer: Option<Viewer>,
    scope: Scope,
}

impl std::fmt::Debug for RequestTxn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestTxn")
            .field("backend", &self.backend)
            .field("who", &*self.who())
            .finish_non_exhaustive()
    }
}

/// The role requests run as on PostgreSQL: subject to row-level security (migration
/// step 12).
pub const APP_ROLE: &str = "bduf_app";

/// `SELECT set_config(name, value, true), …` (PostgreSQL): settings local to the
/// transaction — or to the savepoint, when it is rolled back — in one statement.
pub fn set_local(settings: &[(&str, String)]) -> Statement {
    let mut select = Query::select();
    for (name, value) in settings {
        select.expr(
            Func::cust("set_config")
                .arg(Expr::val(*name))
                .arg(Expr::val(value.as_str()))
                .arg(Expr::val(true)),
        );
    }
    DbBackend::Postgres.build(&select)
}

/// The expressions that make a transaction act for a user in an organization, for the
/// SELECT list of the statement that finds them (PostgreSQL): `app.user_id` and
/// `app.organization_id` (as text; `''` for none), the role `bduf_app` and
/// [`PLAN_CACHE_MODE`], each `set_config(…, true)`. Row-level security is planned with
/// the statement, so the role it switches to binds the statements after it, not itself.
pub fn acting_for(user: Expr, organization: Expr) -> [Expr; 4] {
    let set = |name: &str, value: Expr| -> Expr {
        Func::cust("set_config")
            .arg(Expr::val(name))
            .arg(value)
            .arg(Expr::val(true))
            .into()
    };
    [
        set("app.user_id", user),
        set("app.organization_id", organization),
        set("role", Expr::val(APP_ROLE)),
        set("plan_cache_mode", Expr::val(PLAN_CACHE_MODE)),
    ]
}

/// How PostgreSQL plans a request's statements after the one that begins it:
/// `force_generic_plan`, one plan per statement text and connection, made on its first
/// execution and reused (the driver prepares every statement and keeps it per
/// connection). Under the default (`auto`) PostgreSQL plans each execution anew with its
/// values for at least five executions, and for the statements of the batcher forever:
/// a generic plan's estimate for an array of keys is of ten keys or a hundred rows, which
/// never looks cheaper than the custom plan for the one key a request often has. But
/// every statement of the API carries the row-level-security conditions of each table it
/// reads, and planning one of them costs more than executing it (on M, a project
/// overview's statement with its riding aggregates: 5.3 ms to plan, 6.0 ms to run). The
/// API's statements find their rows through an index on the key they are given (a
/// parent's, an owner's, an id), and such a plan does not depend on the values: the
/// generic plan is the custom one without its planning (`docs/benchmarks.md`, "Generic
/// plans"; `xtask` `bench::explain` checks the generic plans of the suite's statements).
/// Transaction-local like the rest, so nothing else on the pooled connection is
/// affected.
pub const PLAN_CACHE_MODE: &str = "force_generic_plan";

/// The scope of a request without a viewer: it sees no tenant rows.
const NOBODY: Scope = Scope {
    user: Uuid::nil(),
    organization: None,
};

impl RequestTxn {
    /// Takes a connection and opens the request's transaction, acting for nobody yet.
    /// Taking the connection is the only wait; when the pool has none within its acquire
    /// timeout the answer is [`Error::Busy`].
    pub async fn begin(db: &Db, access: Access) -> Result<Self> {
        let options = match access {
            Access::Read => TransactionOptions::default(),
            Access::Write => TransactionOptions {
                isolation_level: (db.backend() == DbBackend::Postgres)
                    .then_some(IsolationLevel::ReadCommitted),
                access_mode: None,
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            },
        };
        let transaction = db.conn().begin_with_options(options).await?;
        Ok(Self {
            backend: db.backend(),
            access,
            transaction: Arc::new(transaction),
            who: Arc::new(Mutex::new(Who {
                viewer: None,
                scope: NOBODY,
            })),
            client: Arc::new(Client::default()),
            told: Arc::new(AtomicBool::new(false)),
            changed: Arc::new(AtomicBool::new(false)),
            primed: Arc::default(),
            riders: Arc::default(),
        })
    }

    /// The request comes from `client` (before the transaction is cloned: the clones
    /// made earlier keep the anonymous client [`RequestTxn::begin`] gave).
    pub fn from_client(mut self, client: Client) -> Self {
        self.client = Arc::new(client);
        self
    }

    /// This request's id.
    pub fn request_id(&self) -> Uuid {
        self.client.request_id
    }

    /// Tells the database, once per request and before its first change, who is
    /// changing things, for the audit triggers: on PostgreSQL the transaction-local
    /// settings `app.request_id`, `app.client_ip`, `app.user_agent` and `app.session_id`
    /// (the user is `app.user_id`, set by authentication); on SQLite the one row of
    /// `audit_context`, which [`RequestTxn::commit`] deletes again, so committed it is
    /// always empty. A collaboration session that is not one of the active
    /// organization's is refused first, naming [`SESSION_HEADER`]; nothing has changed
    /// then.
    async fn tell_audit(&self) -> Result<()> {
        if self.access != Access::Write || self.told.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let client = &*self.client;
        if let Some(session) = client.collaboration_session {
            self.check_session(session).await?;
        }
        let ip = client.ip.map(|ip| ip.to_string());
        let statement = match self.backend {
            DbBackend::Postgres => set_local(&[
                ("app.request_id", client.request_id.to_string()),
                ("app.client_ip", ip.unwrap_or_default()),
                (
                    "app.user_agent",
                    client.user_agent.clone().unwrap_or_default(),
                ),
                (
                    "app.session_id",
                    client
                        .collaboration_session
                        .map(|s| s.to_string())
                        .unwrap_or_default(),
                ),
            ]),
            _ => Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "INSERT OR REPLACE INTO audit_context \
                 (id, user_id, request_id, client_ip, user_agent, session_id) \
                 VALUES (1, ?, ?, ?, ?, ?)",
                [
                    self.with_viewer(|v| v.user).into(),
                    client.request_id.into(),
                    ip.into(),
                    client.user_agent.clone().into(),
                    client.collaboration_session.into(),
                ],
            ),
        };
        self.transaction.execute_raw(statement).await?;
        Ok(())
    }

    /// `session` is a collaboration session of the organization the request acts in;
    /// else `VALIDATION` naming [`SESSION_HEADER`].
    async fn check_session(&self, session: Uuid) -> Result<()> {
        use entity::collaboration_sessions as sessions;
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

        let organization = self.scope().organization.unwrap_or_default();
        let found = sessions::Entity::find_by_id(session)
            .filter(sessions::Column::OrganizationId.eq(organization))
            .count(&*self.transaction)
            .await?;
        if found == 0 {
            return Err(Error::invalid(
                SESSION_HEADER,
                format!(
                    "no collaboration session {session} in the organization the request \
                     acts in"
                ),
            ));
        }
        Ok(())
    }

    /// Acts for `viewer` (none: nobody) from now on. On PostgreSQL the transaction
    /// becomes the role `bduf_app`, under row-level security, with `app.user_id` and
    /// `app.organization_id` set: one statement, all of it transaction-local.
    /// (Authentication does the same in the statement that finds the viewer:
    /// [`acting_for`], [`RequestTxn::entered`].)
    pub async fn enter(&self, viewer: Option<Viewer>) -> Result<()> {
        let scope = viewer.as_ref().map_or(NOBODY, Viewer::scope);
        if self.backend == DbBackend::Postgres {
            let text =
                |id: Option<Uuid>| Expr::val(id.map(|id| id.to_string()).unwrap_or_default());
            let mut select = Query::select();
            select.exprs(acting_for(
                text(viewer.as_ref().map(|v| v.user)),
                text(scope.organization),
            ));
            self.transaction
                .execute_raw(DbBackend::Postgres.build(&select))
                .await?;
        }
        self.forget_primed();
        *self.who() = Who { viewer, scope };
        Ok(())
    }

    /// Acts for `viewer` from now on, the statement that found the viewer having made the
    /// transaction act for them already (its SELECT list held [`acting_for`]).
    pub fn entered(&self, viewer: Viewer) {
        let scope = viewer.scope();
        self.forget_primed();
        *self.who() = Who {
            viewer: Some(viewer),
            scope,
        };
    }

    fn who(&self) -> MutexGuard<'_, Who> {
        // Nothing panics while holding the lock; a poisoned one still holds a whole value.
        self.who
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The signed-in viewer, or `UNAUTHENTICATED`.
    pub fn viewer(&self) -> Result<Viewer> {
        self.who().viewer.clone().ok_or(Error::Unauthenticated(
            "sign in first: send Authorization: Bearer <token>",
        ))
    }

    /// What `f` says of the viewer, if there is one.
    pub fn with_viewer<T>(&self, f: impl FnOnce(&Viewer) -> T) -> Option<T> {
        self.who().viewer.as_ref().map(f)
    }

    /// The user and organization the request acts for.
    pub fn scope(&self) -> Scope {
        self.who().scope
    }

    /// The condition that keeps the rows of `M` this request may see.
    pub fn visible<M: Record>(&self) -> Condition {
        M::visible(&self.scope())
    }

    /// Which database this is.
    pub fn backend(&self) -> DbBackend {
        self.backend
    }

    /// The transaction, for statements of the request's own (authentication,
    /// idempotency keys).
    pub fn conn(&self) -> &DatabaseTransaction {
        &self.transaction
    }

    /// Records the answers to keys `K` read ahead of them: a later `Batcher::load` of
    /// such a key takes its answer instead of fetching.
    pub fn prime_all<K, V>(&self, answers: impl IntoIterator<Item = (K, Option<V>)>)
    where
        K: Eq + Hash + Send + 'static,
        V: Send + 'static,
    {
        let mut primed = self.primed_lock();
        if let Some(map) = primed
            .entry(TypeId::of::<K>())
            .or_insert_with(|| Box::new(crate::Map::<K, Option<V>>::default()))
            .downcast_mut::<crate::Map<K, Option<V>>>()
        {
            map.extend(answers);
        }
    }

    /// The answer to `key` read ahead of it, if there is one.
    pub fn primed<K, V>(&self, key: &K) -> Option<Option<V>>
    where
        K: Eq + Hash + 'static,
        V: Clone + 'static,
    {
        self.primed_lock()
            .get(&TypeId::of::<K>())?
            .downcast_ref::<crate::Map<K, Option<V>>>()?
            .get(key)
            .cloned()
    }

    /// Forgets every answer read ahead: the data or the scope is about to change.
    fn forget_primed(&self) {
        self.primed_lock().clear();
    }

    fn primed_lock(&self) -> MutexGuard<'_, HashMap<TypeId, Box<dyn Any + Send>>> {
        // Nothing panics while holding the lock; a poisoned one still holds whole maps.
        self.primed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs a query and returns its rows. The first read of a wave whose aggregates or
    /// reads of one row wait to ride (`crate::batch`, `crate::ride`) carries them, and
    /// answers them too.
    pub async fn query(&self, statement: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let carried = {
            let mut riders = self.riders_lock();
            if riders.is_empty() {
                None
            } else {
                carry(&statement, &riders).map(|carried| (carried, riders.take()))
            }
        };
        let Some((carried, riders)) = carried else {
            return self.transaction.query_all_raw(statement).await;
        };
        riders.answer(self.transaction.query_all_raw(carried).await)
    }

    /// Lets the wave's aggregates ride on its next read.
    pub(crate) fn ride_tallies(&self, tallies: Tallies) {
        self.riders_lock().tallies = Some(tallies);
    }

    /// Takes back aggregates no read carried.
    pub(crate) fn unride_tallies(&self) -> Option<Tallies> {
        self.riders_lock().tallies.take()
    }

    /// Lets a read of one row ride on the wave's next read; its answer goes to `reply`.
    /// Returns the rider's id.
    pub(crate) fn ride_row<K, V>(
        &self,
        ride: Ride<K, V>,
        reply: futures_channel::oneshot::Sender<Result<crate::Map<K, V>>>,
    ) -> usize
    where
        K: Send + 'static,
        V: Send + 'static,
    {
        self.riders_lock().add(ride, reply)
    }

    /// Takes back read of one row `id` if no read carried it.
    pub(crate) fn unride_row(&self, id: usize) {
        self.riders_lock().remove(id);
    }

    fn riders_lock(&self) -> MutexGuard<'_, Riders> {
        self.riders
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `work` in a savepoint of the transaction: released when `work` succeeds,
    /// rolled back when it fails, so a failed part of a request changes nothing.
    pub async fn savepoint<T, F>(&self, work: F) -> Result<T>
    where
        F: for<'a> FnOnce(&'a DatabaseTransaction) -> BoxFuture<'a, Result<T>>,
    {
        let savepoint = self.change().await?;
        let outcome = work(&savepoint).await;
        close(savepoint, outcome).await
    }

    /// Runs a command as the signed-in viewer, in a savepoint ([`RequestTxn::savepoint`]).
    /// A command that moved the request into another organization ([`Tx::act_in`])
    /// leaves the rest of the request acting there — the database's settings and the
    /// application's scope alike.
    pub async fn command<T, F>(&self, work: F) -> Result<T>
    where
        F: for<'a> FnOnce(&'a Tx<'a>) -> BoxFuture<'a, Result<T>>,
    {
        let viewer = self.viewer()?;
        let savepoint = self.change().await?;
        let tx = Tx::new(&savepoint, &viewer);
        let outcome = work(&tx).await;
        let moved = tx.moved();
        let value = close(savepoint, outcome).await?;
        if let Some((organization, role)) = moved {
            self.moved_to(organization, role);
        }
        Ok(value)
    }

    /// Opens the savepoint of a change: the answers read ahead are forgotten, the
    /// transaction is marked as one that may have written ([`RequestTxn::commit`]), and
    /// the database is told who changes things ([`RequestTxn::tell_audit`]).
    async fn change(&self) -> Result<DatabaseTransaction> {
        self.forget_primed();
        self.changed.store(true, Ordering::SeqCst);
        self.tell_audit().await?;
        Ok(self.transaction.begin().await?)
    }

    /// The request acts in `organization`, where the viewer now has `role`.
    fn moved_to(&self, organization: Uuid, role: CollaborationRole) {
        self.forget_primed();
        let mut who = self.who();
        if let Some(viewer) = who.viewer.as_mut() {
            if viewer.role_in(organization).is_none() {
                viewer.memberships.push((organization, role));
            }
            viewer.organization = Some(organization);
            who.scope = viewer.scope();
        }
    }

    /// Ends the transaction, keeping what it wrote. Every clone (the batcher's) must be
    /// gone by then.
    ///
    /// A query's transaction on PostgreSQL that wrote nothing — no savepoint ran, so not
    /// even a session's touch — has nothing to keep, and is not waited for: it is dropped,
    /// which queues its `ROLLBACK` on the connection, and the pool sends it with the
    /// check it makes of every connection it takes back, in a task of its own (sqlx's
    /// `PoolConnection` release). The answer then leaves without the round trip of a
    /// `COMMIT`, and the connection is not handed out again before the `ROLLBACK` is
    /// answered. Everything else commits, and waits for it.
    pub async fn commit(self) -> Result<()> {
        if self.backend == DbBackend::Postgres
            && self.access == Access::Read
            && !self.changed.load(Ordering::SeqCst)
        {
            return Ok(());
        }
        if self.backend == DbBackend::Sqlite && self.told.load(Ordering::SeqCst) {
            self.transaction
                .execute_unprepared("DELETE FROM audit_context")
                .await?;
        }
        if let Ok(transaction) = Arc::try_unwrap(self.transaction) {
            transaction.commit().await?;
        }
        Ok(())
    }

    /// Ends the transaction, keeping nothing.
    pub async fn rollback(self) {
        if let Ok(transaction) = Arc::try_unwrap(self.transaction)
            && let Err(err) = transaction.rollback().await
        {
            tracing::warn!(error = %err, "rolling back a request failed");
        }
    }
}

/// Releases `savepoint` when `outcome` is a success, rolls it back otherwise.
async fn close<T>(savepoint: DatabaseTransaction, outcome: Result<T>) -> Result<T> {
    match outcome {
        Ok(value) => {
            savepoint.commit().await?;
            Ok(value)
        }
        Err(err) => {
            if let Err(rollback) = savepoint.rollback().await {
                tracing::error!(error = %rollback, "rolling back a failed command failed");
            }
            Err(err)
        }
    }
}
