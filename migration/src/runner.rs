//! Runs migration commands the safe way: under a migration lock, every step in its own
//! transaction together with its ledger row (each migration's `use_transaction` is
//! `Some(true)`, so this holds on SQLite too).
//!
//! The lock: on PostgreSQL a session-level advisory lock, held on a connection detached
//! from the pool for the whole run, so a crash releases it with the connection; on SQLite
//! an exclusive `flock` on `<database file>.migrate-lock`, which the OS releases when the
//! process ends. Both waits are bounded by the caller's timeout.
//!
//! On a SQLite file the command itself runs on one connection of its own, opened once the
//! lock is held, not on the caller's pool: see [`own_sqlite_connection`] for why.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sea_orm::sqlx::{self, Connection as _};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, RuntimeErr,
    Statement,
};
use sea_orm_migration::{MigrationStatus, MigratorTrait};

/// The advisory-lock key of bduf migrations ("bdufmigr" in ASCII). Advisory locks are
/// scoped to the database, so migrators of different databases never wait on each other.
const PG_LOCK_KEY: i64 = 0x6264_7566_6d69_6772;

/// How often a waiting migrator asks for the lock again.
const LOCK_POLL: Duration = Duration::from_millis(100);

/// A command of the migration CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Apply pending migrations: all, or the first `steps`. Refused when an applied
    /// migration changed since it was applied ([`validate`]), unless `allow_changed`,
    /// which applies them anyway and records the changed checksums as the new ones.
    Up {
        steps: Option<u32>,
        allow_changed: bool,
    },
    /// Roll back the last `steps` applied migrations.
    Down { steps: u32 },
    /// Only report each migration's status.
    Status,
    /// Drop every table and enum type, then apply all migrations.
    Fresh,
    /// Roll back all applied migrations, then apply all migrations.
    Refresh,
    /// Roll back all applied migrations and drop the ledger.
    Reset,
}

/// What went wrong while migrating.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(
        "could not take the migration lock within {waited:?}: another migrator holds it ({holder}). \
         Wait for it to finish, or raise --lock-timeout"
    )]
    LockTimeout { waited: Duration, holder: String },
    #[error("migration lock: {0}")]
    LockConnection(#[from] sqlx::Error),
    #[error("cannot open the migration lock file {path}: {source}")]
    LockFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create the folder of the SQLite database {path}: {source}")]
    DatabaseFolder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "applied migrations changed since they were applied: {}. Restore their source, or \
         if the change is intended (and harmless to databases that ran the old one), run \
         `up --allow-changed` to record the new checksums",
        .0.join(", ")
    )]
    Changed(Vec<String>),
}

/// A migrator whose steps' sources are known, so that the ledger can hold a checksum of
/// each applied one and [`validate`] can tell a step edited after it was applied.
pub trait History: MigratorTrait {
    /// Each step's name and source text, in order. None by default: no checksums.
    fn sources() -> Vec<(&'static str, &'static str)> {
        Vec::new()
    }
}

/// The checksum of a step's source: the SHA-256, in hex, of its text with line ends
/// normalized (a checkout with CRLF line ends gives the same checksums).
pub fn checksum(source: &str) -> String {
    use sha2::{Digest, Sha256};
    use std::fmt::Write as _;
    let digest = Sha256::digest(source.replace("\r\n", "\n").as_bytes());
    digest.iter().fold(String::with_capacity(64), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// What [`validate`] finds in a database's ledger against the migrator's steps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validation {
    /// Applied, and the step's source has changed since.
    pub changed: Vec<String>,
    /// Applied, and the migrator has no such step (renamed, or removed).
    pub missing: Vec<String>,
    /// Not applied yet.
    pub pending: Vec<String>,
    /// Applied before checksums were recorded: the next `up` records them as they are.
    pub unrecorded: Vec<String>,
}

impl Validation {
    /// Whether the database's history is the migrator's, all applied.
    pub fn is_clean(&self) -> bool {
        self.changed.is_empty() && self.missing.is_empty() && self.pending.is_empty()
    }

    /// Every step the report names, with what is said of it, for printing.
    pub fn findings(&self) -> Vec<(&'static str, &str)> {
        [
            ("changed since applied", &self.changed),
            ("applied but missing", &self.missing),
            ("pending", &self.pending),
            (
                "applied before checksums (recorded by the next up)",
                &self.unrecorded,
            ),
        ]
        .into_iter()
        .flat_map(|(what, names)| names.iter().map(move |name| (what, name.as_str())))
        .collect()
    }
}

/// The ledger's name (sea-orm-migration's).
const LEDGER: &str = "seaql_migrations";

/// Whether the ledger exists, and whether it has the `checksum` column.
async fn ledger_shape(db: &DatabaseConnection) -> Result<(bool, bool), DbErr> {
    let columns = match db.get_database_backend() {
        DbBackend::Postgres => {
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = 'seaql_migrations'"
        }
        _ => "SELECT name FROM pragma_table_info('seaql_migrations')",
    };
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), columns))
        .await?;
    let names: Vec<String> = rows
        .iter()
        .map(|row| row.try_get_by_index::<String>(0))
        .collect::<Result<_, _>>()?;
    Ok((!names.is_empty(), names.iter().any(|n| n == "checksum")))
}

/// The ledger's rows: each applied step's name and recorded checksum (none before
/// checksums were recorded).
async fn ledger_rows(db: &DatabaseConnection) -> Result<Vec<(String, Option<String>)>, DbErr> {
    let (exists, with_checksum) = ledger_shape(db).await?;
    if !exists {
        return Ok(Vec::new());
    }
    let sql = if with_checksum {
        format!("SELECT version, checksum FROM {LEDGER} ORDER BY version")
    } else {
        format!("SELECT version, NULL FROM {LEDGER} ORDER BY version")
    };
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?;
    rows.iter()
        .map(|row| Ok((row.try_get_by_index(0)?, row.try_get_by_index(1)?)))
        .collect()
}

/// Compares the ledger of `db` with the steps of `M`, without writing anything.
pub async fn validate<M: History>(db: &DatabaseConnection) -> Result<Validation, MigrateError> {
    let sources = M::sources();
    let applied = ledger_rows(db).await?;
    let mut report = Validation::default();
    for (name, recorded) in &applied {
        match sources.iter().find(|(step, _)| step == name) {
            None => report.missing.push(name.clone()),
            Some((_, source)) => match recorded {
                None => report.unrecorded.push(name.clone()),
                Some(sum) if *sum != checksum(source) => report.changed.push(name.clone()),
                Some(_) => {}
            },
        }
    }
    for migration in M::migrations() {
        let name = migration.name();
        if !applied.iter().any(|(step, _)| step == name) {
            report.pending.push(name.to_owned());
        }
    }
    Ok(report)
}

/// Creates the ledger if missing, with its `checksum` column (added to a ledger made
/// before checksums: an expand-style change, every old row's checksum unset until the
/// next `up` records it).
pub async fn install<M: History>(db: &DatabaseConnection) -> Result<(), MigrateError> {
    M::install(db).await?;
    ensure_checksum_column(db).await?;
    Ok(())
}

async fn ensure_checksum_column(db: &DatabaseConnection) -> Result<(), DbErr> {
    let (exists, with_checksum) = ledger_shape(db).await?;
    if exists && !with_checksum {
        db.execute_unprepared(&format!(
            "ALTER TABLE {LEDGER} ADD COLUMN checksum VARCHAR(64)"
        ))
        .await?;
    }
    Ok(())
}

/// Records the checksum of every applied step of `M` that has none (new, or applied
/// before checksums) — and, with `replace_changed`, of those whose source changed.
async fn record<M: History>(db: &DatabaseConnection, replace_changed: bool) -> Result<(), DbErr> {
    ensure_checksum_column(db).await?;
    let sources = M::sources();
    for (name, recorded) in ledger_rows(db).await? {
        let Some((_, source)) = sources.iter().find(|(step, _)| *step == name) else {
            continue;
        };
        let sum = checksum(source);
        let stale = match &recorded {
            None => true,
            Some(old) => replace_changed && *old != sum,
        };
        if stale {
            let backend = db.get_database_backend();
            let update = sea_orm::sea_query::Query::update()
                .table(LEDGER)
                .value("checksum", sum)
                .and_where(sea_orm::sea_query::ExprTrait::eq(
                    sea_orm::sea_query::Expr::col("version"),
                    name,
                ))
                .to_owned();
            db.execute_raw(backend.build(&update)).await?;
        }
    }
    Ok(())
}

/// One migration and whether the database has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationState {
    pub name: String,
    pub applied: bool,
}

/// Connects to `url`; for a `sqlite://` file URL it first creates the file's folder, so the
/// embedded default works on a fresh checkout.
pub async fn connect(url: &str) -> Result<DatabaseConnection, MigrateError> {
    let path = sqlite_file_path(url);
    if let Some(dir) = path
        .as_deref()
        .and_then(Path::parent)
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|source| MigrateError::DatabaseFolder {
            path: dir.to_owned(),
            source,
        })?;
    }
    let mut options = ConnectOptions::new(url.to_owned());
    // As `bduf_core::db::without_pool_reaper` (migration cannot depend on bduf-core):
    // sqlx 0.9.0's reaper can spin for ever once its idle count wraps.
    options
        .sqlx_logging(false)
        .idle_timeout(None)
        .max_lifetime(None);
    Ok(Database::connect(options).await?)
}

/// Runs `command` with migrator `M` under the migration lock, waiting at most
/// `lock_timeout` for it, and returns every migration's state afterwards. `up` first
/// checks the history ([`validate`]); every command that succeeds records the checksums
/// of the steps it leaves applied.
pub async fn run<M: History>(
    db: &DatabaseConnection,
    command: Command,
    lock_timeout: Duration,
) -> Result<Vec<MigrationState>, MigrateError> {
    if command != Command::Status {
        let lock = MigrationLock::acquire(db, lock_timeout).await?;
        let outcome = execute_locked::<M>(db, &lock, command).await;
        let released = lock.release().await;
        outcome?;
        released?;
    }
    status::<M>(db).await
}

/// Runs `command` while `lock` is held: on a SQLite file on a connection of its own (see
/// [`own_sqlite_connection`]), elsewhere on `db`.
async fn execute_locked<M: History>(
    db: &DatabaseConnection,
    lock: &MigrationLock,
    command: Command,
) -> Result<(), MigrateError> {
    if !matches!(lock.inner, LockInner::File(_)) {
        return checked::<M>(db, command).await;
    }
    let own = own_sqlite_connection(db).await?;
    let outcome = checked::<M>(&own, command).await;
    let closed = own.close().await;
    outcome?;
    Ok(closed?)
}

/// `command` between the checks of the history: `up` refuses a changed history (unless
/// told to allow it); a command that succeeds records the checksums of what it applied.
async fn checked<M: History>(
    db: &DatabaseConnection,
    command: Command,
) -> Result<(), MigrateError> {
    let mut replace_changed = false;
    if let Command::Up { allow_changed, .. } = command {
        let report = validate::<M>(db).await?;
        if !report.changed.is_empty() && !allow_changed {
            return Err(MigrateError::Changed(report.changed));
        }
        replace_changed = allow_changed;
    }
    execute::<M>(db, command).await?;
    // `reset` drops the ledger: nothing to record then.
    if command != Command::Reset {
        record::<M>(db, replace_changed).await?;
    }
    Ok(())
}

/// A pool of exactly one new connection to the SQLite database of `db`, with `db`'s
/// connect options (file, pragmas, busy timeout).
///
/// Every SQLite connection keeps its own copy of the schema, and checks that it is current
/// only when a statement runs, not while it is prepared. DDL is checked against that copy
/// while it is prepared, and SQLite looks again at the real schema only after a
/// "no such …" error, not after a clash: on a connection that has been idle since another
/// one dropped a column, index or table, adding it back fails at once with "duplicate
/// column name" or "… already exists". sea-orm-migration runs every statement (the ledger
/// queries, each step's transaction) on whichever connection of the pool is free, so a
/// `down` committed on one connection and the next `up` could begin its transaction on
/// another that still saw what `down` had dropped. A new connection reads the schema at
/// its first statement, under the lock, where no other migrator can change it, and from
/// then on makes every change itself.
async fn own_sqlite_connection(
    db: &DatabaseConnection,
) -> Result<DatabaseConnection, MigrateError> {
    let options = db.get_sqlite_connection_pool().connect_options();
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .min_connections(0)
        .max_connections(1)
        // No reaper (see `connect`).
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with((*options).clone())
        .await
        .map_err(|err| DbErr::Conn(RuntimeErr::SqlxError(err.into())))?;
    Ok(pool.into())
}

/// Every migration of `M` with its state, without writing to the database.
pub async fn status<M: MigratorTrait>(
    db: &DatabaseConnection,
) -> Result<Vec<MigrationState>, MigrateError> {
    Ok(M::get_migration_with_status_read_only(db)
        .await?
        .iter()
        .map(|m| MigrationState {
            name: m.name().to_owned(),
            applied: m.status() == MigrationStatus::Applied,
        })
        .collect())
}

async fn execute<M: MigratorTrait>(db: &DatabaseConnection, command: Command) -> Result<(), DbErr> {
    match command {
        Command::Up { steps, .. } => M::up(db, steps).await,
        Command::Down { steps } => M::down(db, Some(steps)).await,
        Command::Status => Ok(()),
        // sea-orm-migration's `fresh` turns SQLite's foreign keys off with a PRAGMA on one
        // pooled connection and drops tables on others, where they are still on; it then
        // fails on the first parent table. Dropping children first needs no PRAGMA, so it
        // works on any pool.
        Command::Fresh if db.get_database_backend() == DbBackend::Sqlite => {
            drop_all_sqlite_tables(db).await?;
            M::up(db, None).await
        }
        Command::Fresh => M::fresh(db).await,
        Command::Refresh => M::refresh(db).await,
        Command::Reset => M::reset(db).await,
    }
}

/// Drops every table of a SQLite database, each only once no other table references it,
/// after every trigger: with foreign keys on, `DROP TABLE` deletes the table's rows first,
/// which would fire triggers that name tables already dropped.
async fn drop_all_sqlite_tables(db: &DatabaseConnection) -> Result<(), DbErr> {
    let triggers = db
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT name FROM sqlite_schema WHERE type = 'trigger'",
        ))
        .await?;
    for row in triggers {
        let trigger: String = row.try_get_by_index(0)?;
        db.execute_unprepared(&format!(
            "DROP TRIGGER \"{}\"",
            trigger.replace('"', "\"\"")
        ))
        .await?;
    }
    const UNREFERENCED: &str = "SELECT m.name FROM sqlite_schema m \
        WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND NOT EXISTS ( \
            SELECT 1 FROM sqlite_schema o, pragma_foreign_key_list(o.name) f \
            WHERE o.type = 'table' AND o.name <> m.name AND f.\"table\" = m.name)";
    loop {
        let rows = db
            .query_all_raw(Statement::from_string(DbBackend::Sqlite, UNREFERENCED))
            .await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let table: String = row.try_get_by_index(0)?;
            db.execute_unprepared(&format!("DROP TABLE \"{}\"", table.replace('"', "\"\"")))
                .await?;
        }
    }
    let left = db
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        ))
        .await?;
    if left.is_empty() {
        Ok(())
    } else {
        Err(DbErr::Migration(format!(
            "fresh: {} tables reference each other in a cycle and cannot be dropped",
            left.len()
        )))
    }
}

/// The held migration lock; [`MigrationLock::release`] gives it back.
#[derive(Debug)]
pub struct MigrationLock {
    inner: LockInner,
}

#[derive(Debug)]
enum LockInner {
    Postgres(sqlx::PgConnection),
    File(std::fs::File),
    /// An in-memory SQLite database is private to its connection: nothing to serialize.
    None,
}

impl MigrationLock {
    /// Takes the migration lock of `db`'s database, waiting at most `timeout`.
    pub async fn acquire(db: &DatabaseConnection, timeout: Duration) -> Result<Self, MigrateError> {
        let inner = match db.get_database_backend() {
            DbBackend::Postgres => {
                let pool = db.get_postgres_connection_pool();
                let mut conn = pool.acquire().await?.detach();
                let started = Instant::now();
                loop {
                    let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                        .bind(PG_LOCK_KEY)
                        .fetch_one(&mut conn)
                        .await?;
                    if taken {
                        break LockInner::Postgres(conn);
                    }
                    if started.elapsed() >= timeout {
                        let holder: Option<i32> = sqlx::query_scalar(
                            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted \
                             AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                             AND ((classid::bigint << 32) | objid::bigint) = $1 LIMIT 1",
                        )
                        .bind(PG_LOCK_KEY)
                        .fetch_optional(&mut conn)
                        .await?
                        .flatten();
                        return Err(MigrateError::LockTimeout {
                            waited: started.elapsed(),
                            holder: holder.map_or_else(
                                || "PostgreSQL advisory lock".to_owned(),
                                |pid| format!("PostgreSQL advisory lock held by backend pid {pid}"),
                            ),
                        });
                    }
                    tokio::time::sleep(LOCK_POLL).await;
                }
            }
            DbBackend::Sqlite => match sqlite_main_file(db).await? {
                None => LockInner::None,
                Some(db_file) => {
                    let mut path = db_file.into_os_string();
                    path.push(".migrate-lock");
                    let path = PathBuf::from(path);
                    let file = std::fs::OpenOptions::new()
                        .create(true)
                        .truncate(false)
                        .write(true)
                        .open(&path)
                        .map_err(|source| MigrateError::LockFile {
                            path: path.clone(),
                            source,
                        })?;
                    let started = Instant::now();
                    loop {
                        match file.try_lock() {
                            Ok(()) => break LockInner::File(file),
                            Err(std::fs::TryLockError::WouldBlock) => {}
                            Err(std::fs::TryLockError::Error(source)) => {
                                return Err(MigrateError::LockFile { path, source });
                            }
                        }
                        if started.elapsed() >= timeout {
                            return Err(MigrateError::LockTimeout {
                                waited: started.elapsed(),
                                holder: format!("lock file {}", path.display()),
                            });
                        }
                        tokio::time::sleep(LOCK_POLL).await;
                    }
                }
            },
            _ => LockInner::None,
        };
        Ok(Self { inner })
    }

    /// Gives the lock back.
    pub async fn release(self) -> Result<(), MigrateError> {
        match self.inner {
            LockInner::Postgres(mut conn) => {
                sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(PG_LOCK_KEY)
                    .execute(&mut conn)
                    .await?;
                conn.close().await?;
            }
            // Closing the file releases its lock.
            LockInner::File(file) => drop(file),
            LockInner::None => {}
        }
        Ok(())
    }
}

/// A database URL without its password, for printing and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &creds[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// The file behind a `sqlite:` URL, if it names one (not `:memory:`).
fn sqlite_file_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| PathBuf::from(path))
}

/// The file of the main database of a SQLite connection (`None` when in memory).
async fn sqlite_main_file(db: &DatabaseConnection) -> Result<Option<PathBuf>, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA database_list",
        ))
        .await?;
    for row in rows {
        let name: String = row.try_get("", "name")?;
        if name == "main" {
            let file: String = row.try_get("", "file")?;
            return Ok((!file.is_empty()).then(|| PathBuf::from(file)));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(
            redact("postgres://bduf:secret@db:5432/bduf"),
            "postgres://bduf:***@db:5432/bduf"
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
        assert_eq!(
            redact("sqlite://data/bduf.sqlite3?mode=rwc"),
            "sqlite://data/bduf.sqlite3?mode=rwc"
        );
    }

    #[test]
    fn sqlite_file_path_reads_file_urls_and_skips_memory() {
        assert_eq!(
            sqlite_file_path("sqlite://data/bduf.sqlite3?mode=rwc"),
            Some(PathBuf::from("data/bduf.sqlite3"))
        );
        assert_eq!(
            sqlite_file_path("sqlite:///tmp/x.db"),
            Some(PathBuf::from("/tmp/x.db"))
        );
        assert_eq!(sqlite_file_path("sqlite::memory:"), None);
        assert_eq!(sqlite_file_path("postgres://localhost/x"), None);
    }
}
