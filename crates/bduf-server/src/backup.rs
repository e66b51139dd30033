//! `bduf backup` and `bduf restore`: a whole database to one file and back, on the
//! database the server serves (`--database-url` / `DATABASE_URL`).
//!
//! - PostgreSQL: `pg_dump -Fc --no-owner` (one consistent snapshot; it takes only
//!   `ACCESS SHARE` locks, so the server keeps reading and writing) and `pg_restore
//!   --no-owner --clean --if-exists` as a script that `psql` runs in one transaction,
//!   committed only when the whole script ran (all of it or nothing; see
//!   [`restore_script`] for why not `pg_restore --single-transaction` itself: `--clean`
//!   cannot drop a partitioned table piece by piece). The binaries are the newest of
//!   those in `/usr/lib/postgresql/*/bin` and on the `PATH`. A full restore never fires a trigger: `pg_dump` puts triggers, like
//!   foreign keys, indexes and row-level security, after the data, so `audit_log` comes
//!   back exactly as it was dumped and nothing is recorded twice (no `--disable-triggers`,
//!   which would need a superuser). Roles belong to the cluster, not to a dump: the
//!   roles `bduf_app` and `bduf_scheduler` are created before the restore when missing
//!   (`NOLOGIN`, as migration steps 12 and 20 do), so the dump's grants and policies apply.
//! - SQLite: `VACUUM INTO` (online and consistent: one read transaction) for the backup;
//!   the restore replaces the database file with a checked copy of the backup. The server
//!   must not be running then: it would keep the old file open.
//!
//! A database is *empty* when no table but the migration ledger (`seaql_migrations`) has
//! a row; a restore over one that is not is refused unless `--force`. Every restore holds
//! the migration lock (a server starting meanwhile waits for it) and ends with the
//! ledger's `validate`: a history that is not this binary's migrations fails the command.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use migration::Migrator;
use migration::runner::{self, MigrationLock, Validation};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait};

/// The application role of row-level security (migration step 12).
const APP_ROLE: &str = "bduf_app";

/// The roles the schema grants to and names in its policies: the application's (step 12)
/// and the scheduler's (step 20). Roles belong to the cluster, so a dump holds their
/// grants and policies but not the roles; a restore into a cluster that lacks one creates
/// it as its migration step does (`NOLOGIN NOINHERIT NOBYPASSRLS`, granted to the
/// restoring user), or `pg_restore` stops at the first policy naming it.
const CLUSTER_ROLES: [&str; 2] = [APP_ROLE, migration::SCHEDULER_ROLE];

/// The migration ledger, the one table an empty database may have rows in.
const LEDGER: &str = "seaql_migrations";

/// How long a restore waits for a running migrator (the migration lock).
const LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// The first bytes of a `pg_dump -Fc` archive.
const PG_MAGIC: &[u8] = b"PGDMP";
/// The first bytes of a SQLite database file.
const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";

/// The subcommands of `bduf`; without one, `bduf` serves.
#[derive(Debug, clap::Subcommand)]
pub enum Cmd {
    /// Back up the database to a file: `pg_dump -Fc` on PostgreSQL (a consistent
    /// snapshot, taken while the server runs), `VACUUM INTO` on SQLite (the same).
    Backup {
        /// The backup file to write; it must not exist yet.
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
    /// Restore the database from a backup of the same backend, then check its migration
    /// history (`validate`).
    ///
    /// Stop the server first. On SQLite the database file is replaced, and a running
    /// server would keep serving (and writing to) the old one; on PostgreSQL the restore
    /// is one transaction, which would hold a running server's requests until it commits.
    /// The PostgreSQL database must exist (`createdb`); the role `bduf_app` is created if
    /// the cluster lacks it. Run it as the database's owner or a superuser.
    Restore {
        /// The backup file, written by `bduf backup`.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        /// Replace a database that holds data (any row in a table other than the
        /// migration ledger). Without it such a restore is refused and changes nothing.
        #[arg(long)]
        force: bool,
    },
    /// Sweep what is of no further use: ended sessions past a grace period, idempotency
    /// keys older than a day, expired sign-in throttle rows, read notifications past an
    /// age; with --audit-retention-days, move older audit rows to an archive file first
    /// (`src/maintenance.rs`). Safe while the server runs, and to repeat.
    Maintenance(crate::maintenance::Args),
}

/// Runs `command` against the database at `url`. An error (a refusal, a failed tool, a
/// history that does not validate) makes `bduf` exit with code 1.
pub async fn run(command: Cmd, url: &str) -> Result<()> {
    let backend = backend_of(url)?;
    match command {
        Cmd::Backup { to } => backup(backend, url, &to).await,
        Cmd::Restore { from, force } => restore(backend, url, &from, force).await,
        Cmd::Maintenance(args) => crate::maintenance::command(args, url).await,
    }
}

fn backend_of(url: &str) -> Result<DbBackend> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(DbBackend::Postgres)
    } else if url.starts_with("sqlite:") {
        Ok(DbBackend::Sqlite)
    } else {
        bail!(
            "--database-url must start with postgres:// or sqlite:, got {}",
            runner::redact(url)
        )
    }
}

async fn backup(backend: DbBackend, url: &str, to: &Path) -> Result<()> {
    if to.exists() {
        bail!(
            "{} exists already; remove it or choose another name (a backup never \
             overwrites a file)",
            to.display()
        );
    }
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    // Written beside the target and renamed once complete, so a failed backup leaves no
    // file that looks like one.
    let partial = with_suffix(to, ".partial");
    remove_if_exists(&partial)?;
    let started = Instant::now();
    let outcome = match backend {
        DbBackend::Postgres => backup_postgres(url, &partial).await,
        _ => backup_sqlite(url, &partial).await,
    };
    if let Err(err) = outcome {
        let _ = std::fs::remove_file(&partial);
        return Err(err);
    }
    std::fs::rename(&partial, to)
        .with_context(|| format!("renaming {} to {}", partial.display(), to.display()))?;
    let bytes = std::fs::metadata(to).map(|m| m.len()).unwrap_or_default();
    println!(
        "bduf: wrote {} ({}, {:.1} s)",
        to.display(),
        human_bytes(bytes),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn backup_postgres(url: &str, partial: &Path) -> Result<()> {
    let tools = PgTools::find()?;
    println!(
        "bduf: backing up {} with pg_dump {} (custom format, one snapshot)",
        runner::redact(url),
        tools.version
    );
    let target = Connection::from_url(url);
    let mut args: Vec<OsString> = ["--format=custom", "--no-owner"]
        .map(OsString::from)
        .to_vec();
    args.push(format!("--dbname={}", target.url).into());
    args.push("--file".into());
    args.push(partial.into());
    let pg_dump = tools.bindir.join("pg_dump");
    tokio::task::spawn_blocking(move || run_tool(&pg_dump, &args, &target)).await??;
    Ok(())
}

async fn backup_sqlite(url: &str, partial: &Path) -> Result<()> {
    let file = sqlite_path(url)?;
    if !file.is_file() {
        bail!("there is no SQLite database at {}", file.display());
    }
    println!(
        "bduf: backing up {} with VACUUM INTO (one read transaction)",
        file.display()
    );
    let db = connect(url).await?;
    let into = partial.to_str().with_context(|| {
        format!(
            "{} is not valid UTF-8, which VACUUM INTO needs",
            partial.display()
        )
    })?;
    let outcome = db
        .execute_unprepared(&format!("VACUUM INTO '{}'", into.replace('\'', "''")))
        .await
        .context("VACUUM INTO");
    db.close().await.ok();
    outcome.map(drop)
}

async fn restore(backend: DbBackend, url: &str, from: &Path, force: bool) -> Result<()> {
    check_backup_kind(backend, from)?;
    let started = Instant::now();
    let target = match backend {
        DbBackend::Postgres => {
            let db = connect(url).await?;
            let outcome = restore_postgres(&db, url, from, force).await;
            db.close().await.ok();
            outcome?;
            runner::redact(url)
        }
        _ => {
            restore_sqlite(url, from, force).await?;
            sqlite_path(url)?.display().to_string()
        }
    };
    println!(
        "bduf: restored {} into {target} ({:.1} s)",
        from.display(),
        started.elapsed().as_secs_f64()
    );
    let db = connect(url).await?;
    let report = runner::validate::<Migrator>(&db).await;
    db.close().await.ok();
    let report = report.context("validating the restored migration history")?;
    print_validation(&report);
    if !report.is_clean() {
        bail!(
            "the restored database's migration history is not this bduf's migrations (above); \
             the data is restored, but the server may not run on it{}",
            if report.changed.is_empty() && report.missing.is_empty() {
                ": start bduf (or run `cargo run -p migration -- up`) to apply the pending ones"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// Fails unless `from` is a backup of `backend`'s kind.
fn check_backup_kind(backend: DbBackend, from: &Path) -> Result<()> {
    let mut head = [0u8; 16];
    let mut file =
        std::fs::File::open(from).with_context(|| format!("opening {}", from.display()))?;
    let read = file
        .read(&mut head)
        .with_context(|| format!("reading {}", from.display()))?;
    let head = &head[..read];
    let found = if head.starts_with(PG_MAGIC) {
        "a PostgreSQL backup (pg_dump custom format)"
    } else if head.starts_with(SQLITE_MAGIC) {
        "a SQLite database"
    } else {
        "neither a PostgreSQL backup (pg_dump custom format) nor a SQLite database"
    };
    let fits = match backend {
        DbBackend::Postgres => head.starts_with(PG_MAGIC),
        _ => head.starts_with(SQLITE_MAGIC),
    };
    if !fits {
        let wanted = match backend {
            DbBackend::Postgres => "PostgreSQL",
            _ => "SQLite",
        };
        bail!(
            "{} is {found}, not a backup a {wanted} database can be restored from \
             (a backup restores only into its own backend)",
            from.display()
        );
    }
    Ok(())
}

async fn restore_postgres(
    db: &DatabaseConnection,
    url: &str,
    from: &Path,
    force: bool,
) -> Result<()> {
    let tools = PgTools::find()?;
    let lock = MigrationLock::acquire(db, LOCK_TIMEOUT).await?;
    let outcome = async {
        refuse_unless_empty(db, url, force).await?;
        println!(
            "bduf: restoring {} into {} with pg_restore {} (one transaction)",
            from.display(),
            runner::redact(url),
            tools.version
        );
        // The dump grants privileges to the roles and names them in policies: they must
        // exist first.
        for role in CLUSTER_ROLES {
            if ensure_role(db, role).await? {
                println!("bduf: created the role {role} (NOLOGIN), which this cluster lacked");
            }
        }
        let target = Connection::from_url(url);
        let (bindir, from) = (tools.bindir.clone(), from.to_owned());
        tokio::task::spawn_blocking(move || restore_script(&bindir, &from, &target)).await??;
        // As migration steps 12 and 20: the restoring user may act as the roles.
        for role in CLUSTER_ROLES {
            db.execute_unprepared(&format!(
                "DO $$ BEGIN \
                   IF NOT pg_has_role(CURRENT_USER, '{role}', 'MEMBER') THEN \
                     EXECUTE format('GRANT {role} TO %I', CURRENT_USER); \
                   END IF; \
                 END $$"
            ))
            .await
            .with_context(|| format!("granting {role} to the restoring user"))?;
        }
        // pg_restore leaves the planner without statistics until autovacuum comes by.
        db.execute_unprepared("ANALYZE")
            .await
            .context("ANALYZE after the restore")?;
        report_security(db).await
    }
    .await;
    let released = lock.release().await;
    outcome?;
    released?;
    Ok(())
}

/// Creates `role` when the cluster lacks it, as its migration step does; returns whether
/// it did.
async fn ensure_role(db: &DatabaseConnection, role: &str) -> Result<bool> {
    if role_exists(db, role).await? {
        return Ok(false);
    }
    db.execute_unprepared(&format!(
        "DO $$ BEGIN \
           IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN \
             CREATE ROLE {role} NOLOGIN NOINHERIT NOBYPASSRLS; \
           END IF; \
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; \
         END $$"
    ))
    .await
    .with_context(|| format!("creating the role {role} (the restoring user needs CREATEROLE)"))?;
    role_exists(db, role).await
}

async fn role_exists(db: &DatabaseConnection, role: &str) -> Result<bool> {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}')"),
        ))
        .await?
        .with_context(|| format!("looking up the role {role}"))?;
    Ok(row.try_get_by_index(0)?)
}

/// Prints what the restore brought back of row-level security, failing when the role
/// or its grants are missing.
async fn report_security(db: &DatabaseConnection) -> Result<()> {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            format!(
                "SELECT \
                   (SELECT count(*) FROM pg_policies WHERE schemaname = current_schema()), \
                   (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') \
                       AND c.relrowsecurity), \
                   (SELECT count(DISTINCT table_name) FROM information_schema.role_table_grants \
                     WHERE grantee = '{APP_ROLE}' AND table_schema = current_schema())"
            ),
        ))
        .await?
        .context("reading the restored policies")?;
    let policies: i64 = row.try_get_by_index(0)?;
    let secured: i64 = row.try_get_by_index(1)?;
    let granted: i64 = row.try_get_by_index(2)?;
    println!(
        "bduf: row-level security: {policies} policies on {secured} tables; {APP_ROLE} \
         granted on {granted} tables"
    );
    Ok(())
}

async fn restore_sqlite(url: &str, from: &Path, force: bool) -> Result<()> {
    let file = sqlite_path(url)?;
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    if !file.exists() {
        // An empty file is an empty database.
        std::fs::File::create(&file).with_context(|| format!("creating {}", file.display()))?;
    }
    let db = connect(url).await?;
    let lock = match MigrationLock::acquire(&db, LOCK_TIMEOUT).await {
        Ok(lock) => lock,
        Err(err) => {
            db.close().await.ok();
            return Err(err.into());
        }
    };
    // The file is replaced, not written through a connection: none stays open.
    let checked = refuse_unless_empty(&db, url, force).await;
    db.close().await.ok();
    let outcome = async {
        checked?;
        println!(
            "bduf: restoring {} into {} (the file is replaced; the server must not be running)",
            from.display(),
            file.display()
        );
        replace_sqlite_file(&file, from).await
    }
    .await;
    let released = lock.release().await;
    outcome?;
    released?;
    Ok(())
}

/// Copies `from` beside `file`, checks the copy, and renames it over `file`.
async fn replace_sqlite_file(file: &Path, from: &Path) -> Result<()> {
    let copy = with_suffix(file, ".restoring");
    remove_if_exists(&copy)?;
    let outcome = async {
        std::fs::copy(from, &copy)
            .with_context(|| format!("copying {} to {}", from.display(), copy.display()))?;
        let copy_url = format!("sqlite://{}?mode=rw", copy.display());
        let db = connect(&copy_url).await?;
        let check = db
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA quick_check",
            ))
            .await;
        db.close().await.ok();
        let verdict: String = check?
            .context("PRAGMA quick_check gave no answer")?
            .try_get_by_index(0)?;
        if verdict != "ok" {
            bail!(
                "{} is damaged: PRAGMA quick_check says {verdict}",
                from.display()
            );
        }
        std::fs::File::open(&copy)
            .and_then(|f| f.sync_all())
            .with_context(|| format!("syncing {}", copy.display()))?;
        // The old file's journals must not be applied to the new one.
        for suffix in ["-journal", "-wal", "-shm"] {
            remove_if_exists(&with_suffix(file, suffix))?;
        }
        std::fs::rename(&copy, file)
            .with_context(|| format!("renaming {} to {}", copy.display(), file.display()))
    }
    .await;
    if outcome.is_err() {
        let _ = std::fs::remove_file(&copy);
    }
    outcome
}

/// Fails, naming the tables with rows, unless the database is empty or `force` is set.
async fn refuse_unless_empty(db: &DatabaseConnection, url: &str, force: bool) -> Result<()> {
    let filled = tables_with_rows(db)
        .await
        .context("finding out whether the database is empty")?;
    if filled.is_empty() {
        return Ok(());
    }
    if force {
        println!(
            "bduf: --force: replacing a database with data ({} tables with rows)",
            filled.len()
        );
        return Ok(());
    }
    let mut names = filled
        .iter()
        .take(5)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if filled.len() > 5 {
        let _ = write!(names, " and {} more", filled.len() - 5);
    }
    bail!(
        "refusing to restore over {}: it is not empty ({names} have rows). Nothing was \
         changed; add --force to replace it",
        runner::redact(url)
    )
}

/// The tables, other than the migration ledger, that have at least one row.
async fn tables_with_rows(db: &DatabaseConnection) -> Result<Vec<String>> {
    let backend = db.get_database_backend();
    let list = match backend {
        DbBackend::Postgres => format!(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') \
               AND c.relname <> '{LEDGER}' ORDER BY 1"
        ),
        _ => format!(
            "SELECT name FROM sqlite_schema WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name <> '{LEDGER}' ORDER BY 1"
        ),
    };
    // Row-level security would hide rows from an owner that is not a superuser: with it
    // off, such a count fails instead of finding nothing.
    let txn = db.begin().await?;
    if backend == DbBackend::Postgres {
        txn.execute_unprepared("SET LOCAL row_security = off")
            .await?;
    }
    let tables: Vec<String> = txn
        .query_all_raw(Statement::from_string(backend, list))
        .await?
        .iter()
        .map(|row| row.try_get_by_index(0))
        .collect::<Result<_, _>>()?;
    let mut filled = Vec::new();
    for table in tables {
        let quoted = format!("\"{}\"", table.replace('"', "\"\""));
        let any = txn
            .query_one_raw(Statement::from_string(
                backend,
                format!("SELECT 1 FROM {quoted} LIMIT 1"),
            ))
            .await
            .with_context(|| format!("reading {quoted}"))?;
        if any.is_some() {
            filled.push(table);
        }
    }
    txn.rollback().await?;
    Ok(filled)
}

fn print_validation(report: &Validation) {
    for (what, name) in report.findings() {
        println!("bduf: validate: {what}: {name}");
    }
    if report.is_clean() {
        println!("bduf: validate: every migration applied, none changed");
    }
}

async fn connect(url: &str) -> Result<DatabaseConnection> {
    migration::connect(url)
        .await
        .with_context(|| format!("connecting to {}", runner::redact(url)))
}

/// The file of a `sqlite:` URL.
fn sqlite_path(url: &str) -> Result<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.starts_with(":memory:") {
        bail!("{url} is an in-memory database: there is nothing to back up or restore");
    }
    Ok(PathBuf::from(path))
}

/// `path` with `suffix` appended to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn remove_if_exists(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            Err(err).with_context(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}

fn human_bytes(bytes: u64) -> String {
    match bytes {
        0..1_024 => format!("{bytes} B"),
        1_024..1_048_576 => format!("{:.1} KiB", bytes as f64 / 1_024.0),
        _ => format!("{:.1} MiB", bytes as f64 / 1_048_576.0),
    }
}

/// A PostgreSQL URL as handed to a libpq tool: the password moves to `PGPASSWORD`, so it
/// never shows in the process list.
#[derive(Debug, Clone)]
struct Connection {
    url: String,
    password: Option<String>,
}

impl Connection {
    fn from_url(url: &str) -> Self {
        let Some(scheme) = url.find("://") else {
            return Self {
                url: url.to_owned(),
                password: None,
            };
        };
        let authority_end = url[scheme + 3..]
            .find(['/', '?'])
            .map_or(url.len(), |i| scheme + 3 + i);
        let authority = &url[scheme + 3..authority_end];
        let Some(at) = authority.rfind('@') else {
            return Self {
                url: url.to_owned(),
                password: None,
            };
        };
        let Some(colon) = authority[..at].find(':') else {
            return Self {
                url: url.to_owned(),
                password: None,
            };
        };
        let password = percent_decode(&authority[colon + 1..at]);
        Self {
            url: format!(
                "{}{}{}",
                &url[..scheme + 3],
                &authority[..colon],
                &url[scheme + 3 + at..]
            ),
            password: Some(password),
        }
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match decoded {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Drops the schema's partitioned tables (their partitions go with them), the first
/// statement of a restore's transaction. `pg_restore --clean` drops a partition's primary
/// key before its table, which PostgreSQL refuses for a key inherited from the parent
/// (`cannot drop inherited constraint`); dropped whole beforehand, the script's
/// `IF EXISTS` drops of the parts find nothing, and its `CREATE`s bring them back.
const DROP_PARTITIONED: &str = "\
DO $$ DECLARE parted regclass; BEGIN
  FOR parted IN SELECT c.oid::regclass FROM pg_class c
                  JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = current_schema() AND c.relkind = 'p' AND NOT c.relispartition
  LOOP
    EXECUTE format('DROP TABLE %s', parted);
  END LOOP;
END $$;
";

/// Restores `from` into `target` in one transaction: `pg_restore --clean --if-exists
/// --no-owner` writes the backup as a script (dropping what the backup holds before
/// creating it, so a migrated database, or with `--force` one holding data, is replaced),
/// and `psql` runs `BEGIN`, [`DROP_PARTITIONED`] and that script, stopping at the first
/// error. `COMMIT` is sent only once `pg_restore` has ended well: a script cut short by
/// a damaged backup ends the session without it, and nothing changes.
fn restore_script(bindir: &Path, from: &Path, target: &Connection) -> Result<()> {
    let pg_restore = bindir.join("pg_restore");
    let psql = bindir.join("psql");
    let mut script = Command::new(&pg_restore)
        .args(["--clean", "--if-exists", "--no-owner", "--file=-"])
        .arg(from)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {}", pg_restore.display()))?;
    let mut runner = Command::new(&psql);
    runner
        .args(["--no-psqlrc", "--quiet", "--file=-"])
        .args(["--variable=ON_ERROR_STOP=1"])
        .arg(format!("--dbname={}", target.url))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(password) = &target.password {
        runner.env("PGPASSWORD", password);
    }
    let mut runner = runner
        .spawn()
        .with_context(|| format!("running {}", psql.display()))?;
    let mut input = runner.stdin.take().context("psql's input")?;
    let mut output = script.stdout.take().context("pg_restore's output")?;
    let (mut script_err, mut runner_err) = (
        script.stderr.take().context("pg_restore's errors")?,
        runner.stderr.take().context("psql's errors")?,
    );
    // Both error streams are drained while the script flows, so neither tool blocks on a
    // full pipe; psql's input closes when the copy ends (or fails: psql stopped early).
    let (fed, script_status, script_errors, runner_errors) = std::thread::scope(|scope| {
        let script_errors = scope.spawn(move || drain(&mut script_err));
        let runner_errors = scope.spawn(move || drain(&mut runner_err));
        let mut fed = std::io::Write::write_all(&mut input, b"BEGIN;\n")
            .and_then(|()| std::io::Write::write_all(&mut input, DROP_PARTITIONED.as_bytes()))
            .and_then(|()| std::io::copy(&mut output, &mut input).map(drop));
        drop(output);
        let script_status = script.wait();
        if fed.is_ok() && script_status.as_ref().is_ok_and(|s| s.success()) {
            fed = std::io::Write::write_all(&mut input, b"COMMIT;\n");
        }
        drop(input);
        (
            fed,
            script_status,
            script_errors.join().unwrap_or_default(),
            runner_errors.join().unwrap_or_default(),
        )
    });
    let script_status = script_status.context("waiting for pg_restore")?;
    let runner_status = runner.wait().context("waiting for psql")?;
    if !runner_status.success() {
        bail!(
            "{} failed ({runner_status}); nothing was restored:\n{}",
            psql.display(),
            runner_errors.trim_end()
        );
    }
    if !script_status.success() {
        bail!(
            "{} failed ({script_status}):\n{}",
            pg_restore.display(),
            script_errors.trim_end()
        );
    }
    fed.with_context(|| format!("feeding the backup to {}", psql.display()))?;
    Ok(())
}

/// Everything a tool writes to a pipe, as text.
fn drain(pipe: &mut impl std::io::Read) -> String {
    let mut text = Vec::new();
    pipe.read_to_end(&mut text).ok();
    String::from_utf8_lossy(&text).into_owned()
}

/// Runs a PostgreSQL client tool to completion, failing with its error output.
fn run_tool(program: &Path, args: &[OsString], target: &Connection) -> Result<()> {
    let mut command = Command::new(program);
    command.args(args).stdin(Stdio::null());
    if let Some(password) = &target.password {
        command.env("PGPASSWORD", password);
    }
    let Output { status, stderr, .. } = command
        .output()
        .with_context(|| format!("running {}", program.display()))?;
    if !status.success() {
        bail!(
            "{} failed ({status}):\n{}",
            program.display(),
            String::from_utf8_lossy(&stderr).trim_end()
        );
    }
    Ok(())
}

/// The PostgreSQL client tools: the newest `pg_dump`, `pg_restore` and `psql` found together.
#[derive(Debug)]
struct PgTools {
    bindir: PathBuf,
    version: String,
}

impl PgTools {
    /// The newest of `/usr/lib/postgresql/*/bin` (Debian, Ubuntu) and the `PATH`'s
    /// directory holding `pg_dump` and `pg_restore`.
    fn find() -> Result<Self> {
        let mut dirs = Vec::new();
        if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
            dirs.extend(entries.filter_map(|e| e.ok()).map(|e| e.path().join("bin")));
        }
        if let Some(path) = std::env::var_os("PATH") {
            dirs.extend(std::env::split_paths(&path));
        }
        let mut best: Option<(Vec<u32>, Self)> = None;
        for dir in dirs {
            if !["pg_dump", "pg_restore", "psql"]
                .iter()
                .all(|tool| dir.join(tool).is_file())
            {
                continue;
            }
            let Some(version) = tool_version(&dir.join("pg_dump")) else {
                continue;
            };
            let key: Vec<u32> = version.split('.').filter_map(|p| p.parse().ok()).collect();
            if best.as_ref().is_none_or(|(k, _)| key > *k) {
                best = Some((
                    key,
                    Self {
                        bindir: dir,
                        version,
                    },
                ));
            }
        }
        best.map(|(_, tools)| tools).context(
            "pg_dump, pg_restore and psql were not found together on the PATH nor in \
             /usr/lib/postgresql/*/bin; \
             install the PostgreSQL client (Debian, Ubuntu: apt-get install postgresql-client)",
        )
    }
}

/// The version in `<tool> --version`: `pg_dump (PostgreSQL) 15.20 (Debian …)` → `15.20`.
fn tool_version(tool: &Path) -> Option<String> {
    let output = Command::new(tool).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let rest = text.split("(PostgreSQL) ").nth(1)?;
    let version: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    (!version.is_empty()).then_some(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_leave_the_url_for_the_environment() {
        let c = Connection::from_url("postgres://app:s%40cret@db:5432/bduf?sslmode=require");
        assert_eq!(c.url, "postgres://app@db:5432/bduf?sslmode=require");
        assert_eq!(c.password.as_deref(), Some("s@cret"));
        let c = Connection::from_url("postgres://postgres@127.0.0.1:5432/x");
        assert_eq!(c.url, "postgres://postgres@127.0.0.1:5432/x");
        assert_eq!(c.password, None);
        // An `@` in the path or query is not the authority's.
        let c = Connection::from_url("postgres://h/db?options=a@b");
        assert_eq!(c.url, "postgres://h/db?options=a@b");
    }

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(
            sqlite_path("sqlite://data/bduf.sqlite3?mode=rwc").ok(),
            Some(PathBuf::from("data/bduf.sqlite3"))
        );
        assert_eq!(
            sqlite_path("sqlite:///tmp/x.db").ok(),
            Some(PathBuf::from("/tmp/x.db"))
        );
        assert!(sqlite_path("sqlite::memory:").is_err());
        assert!(backend_of("mysql://x").is_err());
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(173_897), "169.8 KiB");
        assert_eq!(human_bytes(3 << 20), "3.0 MiB");
    }
}
