//! Retention sweeps: what `bduf maintenance` (and the server's scheduler) removes once it
//! is of no further use — ended sessions, spent idempotency keys, expired sign-in
//! throttle windows, read notifications — and the audit rows past a retention, which are
//! written to an archive file before they are deleted, never deleted otherwise.
//!
//! Every sweep deletes in batches of at most [`BATCH`] rows, each batch its own short
//! transaction, walking the table's key (keyset: each batch starts where the last ended,
//! so a sweep reads each row once whatever its size and never holds one huge lock). A
//! batch deletes only rows that still match when it deletes them: a notification marked
//! unread meanwhile stays. Sweeps are idempotent: a second run finds nothing.
//!
//! **Who sweeps.** The database's owner (the `DATABASE_URL` role, which migrated it), not
//! `bduf_app`. On PostgreSQL row-level security binds an owner only on tables with
//! `FORCE ROW LEVEL SECURITY`; of the swept tables `user_sessions`, `sign_in_failures`
//! and `audit_log` are not forced (steps 12, 16 and 17), `idempotency_keys` (its user's
//! rows) and `notifications` (its recipient's rows in the active organization) are. So:
//!
//! - a superuser or a role with `BYPASSRLS` ([`Reach::Everything`]) sweeps every table in
//!   one walk, with `row_security = off` set in each batch's transaction — should the
//!   role lose its bypass, the statement fails instead of silently seeing nothing;
//! - any other owner ([`Reach::Scoped`]) sweeps the unforced tables the same way and the
//!   forced ones scope by scope, setting what their policies read with `set_config(…,
//!   true)` as a request does: `app.user_id` for each user (idempotency keys) and
//!   `app.organization_id` with `app.user_id` for each membership (notifications).
//!   That costs a few statements per user and per membership, and a notification whose
//!   recipient has left its organization stays (no membership names it); grant the
//!   owner `BYPASSRLS` to sweep in one walk.
//!
//! SQLite has no row-level security; each batch is an `IMMEDIATE` transaction (it takes
//! the write lock when it begins).
//!
//! **Audit archive.** [`archive_audit`] reads the rows older than the retention in batches
//! ordered by `(organization_id, seq)`, the change feed's order, appends each batch as
//! NDJSON — one JSON object per row, every column, as `entity::audit_log::Model`
//! serializes it — to one new file per run in the archive folder, `fsync`s the file and
//! only then deletes exactly those rows, by id, in the transaction that read them
//! (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so two runs at once archive disjoint rows). A
//! run that fails between the `fsync` and the commit leaves the batch both in the file
//! and in the table: the next run archives it again (a row may appear in two files,
//! never in none). Two runs at once may both write a whole month (below); the second's
//! `DETACH` then fails on a month already gone, which it reports — the server's scheduler
//! lets one server at a time run maintenance, so only two hand-started runs can meet.
//!
//! The change feed stays whole: `seq` numbers come from `audit_feed`, which archival never
//! touches, so no number is given twice; a reader asking for `seq > N` gets every row
//! still kept after `N`. A reader that fell behind the retention sees the first number
//! it gets jump past `N + 1` — the numbers are gap-free, so the jump says exactly which
//! rows are in the archive.
//!
//! **Whole months.** On PostgreSQL `audit_log` is range-partitioned by month (migration
//! step 21). A month that ends at or before the retention's cutoff is archived whole:
//! its rows are read in the same batches and order and appended to the file, which is
//! `fsync`ed; then one transaction detaches the partition (`DETACH PARTITION`, which
//! waits at most `lock_timeout` = 5 s for the table's writers), counts the detached
//! table's rows — by then nothing can write to it — and drops it only when the count is
//! what was archived (else it rolls back, leaving the month attached: a later run
//! archives it again). No row is deleted one by one, so no dead rows, no index churn and
//! little WAL. The rest — the month the cutoff falls in, and rows that sit in the DEFAULT
//! partition — goes row batch by row batch as above. [`Archived::months`] counts the
//! months dropped.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use entity::{
    audit_log, idempotency_keys, notifications, organization_members, sign_in_failures,
    user_sessions, users,
};
use sea_orm::sea_query::{LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select, SqliteTransactionMode,
    Statement, TransactionOptions, TransactionTrait, TryGetableMany, Value,
};
use uuid::Uuid;

use crate::txn::set_local;

/// Most rows one statement deletes.
pub const BATCH: u64 = 5_000;

/// How old an idempotency key is when it is swept: past its lifetime (a day,
/// `bduf_identity::idempotency::KEY_LIFETIME`), a key is used afresh anyway.
pub const IDEMPOTENCY_KEY_AGE: Duration = Duration::from_secs(24 * 3600);

/// How long after its window began a `sign_in_failures` row is swept: at least the
/// throttle's window (15 minutes, `bduf_identity::auth::THROTTLE_WINDOW`), after which
/// the row counts for nothing and the next failure starts afresh.
pub const SIGN_IN_FAILURE_AGE: Duration = Duration::from_secs(3600);

/// What the audit trail records as the user agent of a sweep's changes (PostgreSQL: the
/// notifications it deletes are recorded like any change, `source` `sql:<role>`).
pub const AGENT: &str = "bduf maintenance";

/// Users or memberships read per statement when a scoped sweep walks them.
const SCOPES_PER_PAGE: u64 = 1_000;

/// What a maintenance error is.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A statement failed.
    #[error("the database failed: {0}")]
    Database(#[from] DbErr),
    /// The archive could not be written; nothing of the batch was deleted.
    #[error("writing the audit archive {}: {source}", path.display())]
    Archive {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A batch deleted other rows than it archived (someone deleted audit rows meanwhile);
    /// the batch was rolled back.
    #[error("archived {archived} audit rows but {deleted} were deleted; rolled back")]
    Mismatch { archived: u64, deleted: u64 },
    /// A month held other rows when it was detached than were archived (someone wrote
    /// or deleted audit rows of a past month meanwhile); it was attached again.
    #[error(
        "archived {archived} audit rows of {month} but it held {held} when detached; \
         left in place"
    )]
    MonthChanged {
        month: String,
        archived: u64,
        held: u64,
    },
}

/// What the role running maintenance can see past row-level security.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Every row of every table: SQLite, or a PostgreSQL superuser or `BYPASSRLS` role.
    Everything,
    /// A PostgreSQL owner bound by forced row-level security: forced tables are swept per
    /// user and per membership.
    Scoped,
}

/// What the connection's role can see (module documentation, "Who sweeps").
pub async fn reach(db: &DatabaseConnection) -> Result<Reach, Error> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(Reach::Everything);
    }
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT rolsuper OR rolbypassrls AS bypass FROM pg_roles WHERE rolname = current_user",
        ))
        .await?;
    let bypass: bool = row.map_or(Ok(false), |r| r.try_get("", "bypass"))?;
    Ok(if bypass {
        Reach::Everything
    } else {
        Reach::Scoped
    })
}

/// Deletes sessions that ended before `before`: expired (`expires_at`) or revoked
/// (`revoked_at`). A session idle past its idle lifetime is refused already and goes
/// when it expires. Returns how many were deleted.
pub async fn sweep_sessions(
    db: &DatabaseConnection,
    before: DateTime<FixedOffset>,
) -> Result<u64, Error> {
    let ended = Condition::any()
        .add(user_sessions::Column::ExpiresAt.lt(before))
        .add(user_sessions::Column::RevokedAt.lt(before));
    sweep::<user_sessions::Entity, Uuid>(db, user_sessions::Column::Id, ended, &unforced(db)).await
}

/// Deletes idempotency keys created before `before`. Returns how many were deleted.
pub async fn sweep_idempotency_keys(
    db: &DatabaseConnection,
    before: DateTime<FixedOffset>,
    reach: Reach,
) -> Result<u64, Error> {
    let old = Condition::all().add(idempotency_keys::Column::CreatedAt.lt(before));
    let id = idempotency_keys::Column::Id;
    if reach == Reach::Everything {
        return sweep::<idempotency_keys::Entity, Uuid>(db, id, old, &unforced(db)).await;
    }
    let mut deleted = 0;
    let mut after = None;
    loop {
        let mut page = users::Entity::find()
            .select_only()
            .column(users::Column::Id)
            .order_by_asc(users::Column::Id)
            .limit(SCOPES_PER_PAGE);
        if let Some(last) = after {
            page = page.filter(users::Column::Id.gt(last));
        }
        let page: Vec<Uuid> = page.into_tuple().all(db).await?;
        for user in &page {
            let scope = [("app.user_id", user.to_string())];
            deleted += sweep::<idempotency_keys::Entity, Uuid>(db, id, old.clone(), &scope).await?;
        }
        if (page.len() as u64) < SCOPES_PER_PAGE {
            return Ok(deleted);
        }
        after = page.last().copied();
    }
}

/// Deletes `sign_in_failures` rows whose window began before `before` (pass a time at
/// least the throttle's window ago: [`SIGN_IN_FAILURE_AGE`]). Returns how many were
/// deleted.
pub async fn sweep_sign_in_failures(
    db: &DatabaseConnection,
    before: DateTime<FixedOffset>,
) -> Result<u64, Error> {
    let expired = Condition::all().add(sign_in_failures::Column::FirstFailedAt.lt(before));
    sweep::<sign_in_failures::Entity, String>(
        db,
        sign_in_failures::Column::Key,
        expired,
        &unforced(db),
    )
    .await
}

/// Deletes read notifications read before `before` (or, read with no `read_at`, created
/// before it); unread ones stay whatever their age. Returns how many were deleted.
pub async fn sweep_read_notifications(
    db: &DatabaseConnection,
    before: DateTime<FixedOffset>,
    reach: Reach,
) -> Result<u64, Error> {
    let read = Condition::all()
        .add(notifications::Column::IsRead.eq(true))
        .add(
            Condition::any()
                .add(notifications::Column::ReadAt.lt(before))
                .add(
                    Condition::all()
                        .add(notifications::Column::ReadAt.is_null())
                        .add(notifications::Column::CreatedAt.lt(before)),
                ),
        );
    let id = notifications::Column::Id;
    if reach == Reach::Everything {
        return sweep::<notifications::Entity, Uuid>(db, id, read, &unforced(db)).await;
    }
    let mut deleted = 0;
    let mut after = None;
    loop {
        let mut page = organization_members::Entity::find()
            .select_only()
            .columns([
                organization_members::Column::Id,
                organization_members::Column::OrganizationId,
                organization_members::Column::UserId,
            ])
            .order_by_asc(organization_members::Column::Id)
            .limit(SCOPES_PER_PAGE);
        if let Some(last) = after {
            page = page.filter(organization_members::Column::Id.gt(last));
        }
        let page: Vec<(Uuid, Uuid, Uuid)> = page.into_tuple().all(db).await?;
        for (_, organization, user) in &page {
            let scope = [
                ("app.organization_id", organization.to_string()),
                ("app.user_id", user.to_string()),
            ];
            deleted += sweep::<notifications::Entity, Uuid>(db, id, read.clone(), &scope).await?;
        }
        if (page.len() as u64) < SCOPES_PER_PAGE {
            return Ok(deleted);
        }
        after = page.last().map(|(id, ..)| *id);
    }
}

/// What [`archive_audit`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Archived {
    /// Audit rows written to the archive and deleted.
    pub rows: u64,
    /// The archive file written, when there was anything to archive.
    pub file: Option<PathBuf>,
    /// Monthly partitions of `audit_log` archived whole, then detached and dropped
    /// (PostgreSQL); their rows are counted in `rows` too.
    pub months: u64,
}

/// The archive file of one run: created with its first rows, so a run with nothing to
/// archive writes no file.
struct Sink<'a> {
    dir: &'a Path,
    file: Option<(std::fs::File, PathBuf)>,
}

impl Sink<'_> {
    /// Appends `rows` as NDJSON and `fsync`s the file.
    fn write(&mut self, rows: &[audit_log::Model]) -> Result<(), Error> {
        let mut lines = Vec::new();
        for row in rows {
            serde_json::to_writer(&mut lines, row).map_err(|err| Error::Archive {
                path: self.dir.to_owned(),
                source: err.into(),
            })?;
            lines.push(b'\n');
        }
        let (out, path) = match &mut self.file {
            Some(file) => file,
            None => self.file.insert(create_archive(self.dir)?),
        };
        out.write_all(&lines)
            .and_then(|()| out.sync_data())
            .map_err(|source| Error::Archive {
                path: path.clone(),
                source,
            })
    }

    fn path(self) -> Option<PathBuf> {
        self.file.map(|(_, path)| path)
    }
}

/// A monthly partition of `audit_log` and the range it holds.
struct Month {
    name: String,
    from: DateTime<FixedOffset>,
    to: DateTime<FixedOffset>,
}

/// The monthly partitions of `audit_log` that end at or before `before`, oldest first;
/// none on SQLite or while `audit_log` is not partitioned.
async fn months_before(
    db: &DatabaseConnection,
    before: DateTime<FixedOffset>,
) -> Result<Vec<Month>, Error> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(Vec::new());
    }
    // A range partition's bound reads `FOR VALUES FROM ('…') TO ('…')`; the DEFAULT
    // partition's reads `DEFAULT` and is left out.
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT name, lower, upper FROM ( \
               SELECT c.relname::text AS name, \
                      substring(b.bound FROM 'FROM \\(''([^'']+)''\\)')::timestamptz AS lower, \
                      substring(b.bound FROM 'TO \\(''([^'']+)''\\)')::timestamptz AS upper \
                 FROM pg_inherits i \
                 JOIN pg_class c ON c.oid = i.inhrelid \
                 CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS bound) b \
                WHERE i.inhparent = to_regclass('audit_log')) m \
             WHERE upper IS NOT NULL AND upper <= $1 ORDER BY upper",
            [before.into()],
        ))
        .await?;
    rows.iter()
        .map(|row| {
            Ok(Month {
                name: row.try_get("", "name")?,
                from: row.try_get("", "lower")?,
                to: row.try_get("", "upper")?,
            })
        })
        .collect()
}

/// Archives `month` whole into `sink`, then detaches and drops its partition (module
/// documentation, "Whole months"). Returns its rows.
async fn archive_month(
    db: &DatabaseConnection,
    month: &Month,
    sink: &mut Sink<'_>,
) -> Result<u64, Error> {
    let mut archived = 0;
    let mut after: Option<(Uuid, i64)> = None;
    loop {
        let txn = begin(db, &unforced(db)).await?;
        let rows = feed_batch(
            Condition::all()
                .add(audit_log::Column::CreatedAt.gte(month.from))
                .add(audit_log::Column::CreatedAt.lt(month.to)),
            after,
        )
        .all(&txn)
        .await?;
        txn.rollback().await?;
        if let Some(last) = rows.last() {
            after = Some((last.organization_id, last.seq));
            sink.write(&rows)?;
            archived += rows.len() as u64;
        }
        if (rows.len() as u64) < BATCH {
            break;
        }
    }
    let txn = begin(db, &unforced(db)).await?;
    let name = &month.name;
    txn.execute_unprepared(&format!(
        "SET LOCAL lock_timeout = '5s'; ALTER TABLE audit_log DETACH PARTITION \"{name}\""
    ))
    .await?;
    let row = txn
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT count(*) AS n FROM \"{name}\""),
        ))
        .await?;
    let held: i64 = row.map_or(Ok(0), |r| r.try_get("", "n"))?;
    let held = u64::try_from(held).unwrap_or_default();
    if held != archived {
        txn.rollback().await?;
        return Err(Error::MonthChanged {
            month: name.clone(),
            archived,
            held,
        });
    }
    txn.execute_unprepared(&format!("DROP TABLE \"{name}\""))
        .await?;
    txn.commit().await?;
    Ok(archived)
}

/// The next [`BATCH`] audit rows matching `condition` in the change feed's order
/// `(organization_id, seq)`, after the key `after` (the last row of the batch before).
fn feed_batch(condition: Condition, after: Option<(Uuid, i64)>) -> Select<audit_log::Entity> {
    let mut batch = audit_log::Entity::find()
        .filter(condition)
        .order_by_asc(audit_log::Column::OrganizationId)
        .order_by_asc(audit_log::Column::Seq)
        .limit(BATCH);
    if let Some((organization, seq)) = after {
        batch = batch.filter(
            Condition::any()
                .add(audit_log::Column::OrganizationId.gt(organization))
                .add(
                    Condition::all()
                        .add(audit_log::Column::OrganizationId.eq(organization))
                        .add(audit_log::Column::Seq.gt(seq)),
                ),
        );
    }
    batch
}

/// Moves the audit rows created before `before` to a new NDJSON file in `dir` (module
/// documentation, "Audit archive" and "Whole months"): the months that end by `before`
/// written whole and their partitions dropped, then the rest written batch by batch and
/// each batch deleted in the transaction that read it — always `fsync`ed first. Writes
/// no file when nothing is that old.
pub async fn archive_audit(
    db: &DatabaseConnection,
    before: DateTime<FixedOffset>,
    dir: &Path,
) -> Result<Archived, Error> {
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    let mut archived = Archived::default();
    let mut sink = Sink { dir, file: None };
    let outcome = async {
        for month in months_before(db, before).await? {
            archived.rows += archive_month(db, &month, &mut sink).await?;
            archived.months += 1;
        }
        let mut after: Option<(Uuid, i64)> = None;
        loop {
            let txn = begin(db, &unforced(db)).await?;
            let mut batch = feed_batch(
                Condition::all().add(audit_log::Column::CreatedAt.lt(before)),
                after,
            );
            if postgres {
                batch = batch.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
            }
            let rows = batch.all(&txn).await?;
            let Some(last) = rows.last() else {
                txn.rollback().await?;
                return Ok(());
            };
            after = Some((last.organization_id, last.seq));
            sink.write(&rows)?;
            let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
            // `created_at` too, which prunes the months of a partitioned `audit_log`.
            let deleted = audit_log::Entity::delete_many()
                .filter(audit_log::Column::Id.is_in(ids))
                .filter(audit_log::Column::CreatedAt.lt(before))
                .exec(&txn)
                .await?
                .rows_affected;
            if deleted != rows.len() as u64 {
                txn.rollback().await?;
                return Err(Error::Mismatch {
                    archived: rows.len() as u64,
                    deleted,
                });
            }
            txn.commit().await?;
            archived.rows += deleted;
            if (rows.len() as u64) < BATCH {
                return Ok(());
            }
        }
    }
    .await;
    archived.file = sink.path();
    outcome.map(|()| archived)
}

/// A new archive file in `dir` (created if missing), named by the time of the run and a
/// fresh id so no run ever appends to another's: `audit-YYYYMMDDTHHMMSSZ-<id>.ndjson`.
/// The folder is `fsync`ed so the file's name survives a crash too.
fn create_archive(dir: &Path) -> Result<(std::fs::File, PathBuf), Error> {
    let failed = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Archive { path, source }
    };
    std::fs::create_dir_all(dir).map_err(failed(dir))?;
    let name = format!(
        "audit-{}-{}.ndjson",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ"),
        Uuid::now_v7().simple()
    );
    let path = dir.join(name);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(failed(&path))?;
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(failed(dir))?;
    Ok((file, path))
}

/// The settings of a batch on a table the owner is not bound on (or of a role that
/// bypasses row-level security): `row_security = off`, so a role that turns out to be
/// bound fails instead of seeing nothing. None on SQLite.
fn unforced(db: &DatabaseConnection) -> Vec<(&'static str, String)> {
    if db.get_database_backend() == DbBackend::Postgres {
        vec![("row_security", "off".to_owned())]
    } else {
        Vec::new()
    }
}

/// A batch's transaction, with `settings` and the user agent [`AGENT`] set in it
/// (PostgreSQL).
async fn begin(
    db: &DatabaseConnection,
    settings: &[(&str, String)],
) -> Result<DatabaseTransaction, DbErr> {
    let txn = db
        .begin_with_options(TransactionOptions {
            isolation_level: None,
            access_mode: None,
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        })
        .await?;
    if db.get_database_backend() == DbBackend::Postgres {
        let mut settings = settings.to_vec();
        settings.push(("app.user_agent", AGENT.to_owned()));
        txn.execute_raw(set_local(&settings)).await?;
    }
    Ok(txn)
}

/// Deletes the rows of `E` matching `condition`, walking its key `key` in batches of
/// [`BATCH`], each its own transaction with `settings`. Returns how many were deleted.
async fn sweep<E, K>(
    db: &DatabaseConnection,
    key: E::Column,
    condition: Condition,
    settings: &[(&str, String)],
) -> Result<u64, Error>
where
    E: EntityTrait,
    K: TryGetableMany + Into<Value> + Clone + Send + Sync,
{
    let mut deleted = 0;
    let mut after: Option<K> = None;
    loop {
        let txn = begin(db, settings).await?;
        let mut batch = E::find()
            .select_only()
            .column(key)
            .filter(condition.clone())
            .order_by_asc(key)
            .limit(BATCH);
        if let Some(last) = after.clone() {
            batch = batch.filter(key.gt(last));
        }
        let keys: Vec<K> = batch.into_tuple().all(&txn).await?;
        let found = keys.len() as u64;
        after = keys.last().cloned();
        if found > 0 {
            deleted += E::delete_many()
                .filter(key.is_in(keys))
                .filter(condition.clone())
                .exec(&txn)
                .await?
                .rows_affected;
        }
        txn.commit().await?;
        if found < BATCH {
            return Ok(deleted);
        }
    }
}
