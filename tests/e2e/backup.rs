//! `bduf backup` and `bduf restore` on both backends, and point-in-time recovery of a
//! PostgreSQL cluster of the test's own from a base backup and archived WAL
//! (`docs/operations.md`, "Backup and restore").

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use bduf_testkit::{Backend, TestDb};
use migration::Migrator;
use migration::runner;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use super::{Server, check_demo_answers, readme_answers};

bduf_testkit::on_both_backends!(
    a_backup_restores_into_an_empty_database_and_over_data_only_with_force
);

/// The demo data (and a session) backed up, then restored into an empty database: every
/// table has the same rows — `audit_log` too, so the restore fired no trigger — and on
/// PostgreSQL the same policies, grants, triggers and functions; the restored database
/// serves the README's answers. Restoring over a database with data is refused without
/// `--force` and changes nothing, and so does a damaged backup (its first half) even with
/// it; with it the database becomes the backup's (on PostgreSQL this replaces the
/// partitioned `audit_log` too, which `pg_restore --clean` alone cannot). A backup
/// whose migration history is not the binary's restores, but the command fails.
async fn a_backup_restores_into_an_empty_database_and_over_data_only_with_force(backend: Backend) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let (source, _source_db) = database(backend, dir.path(), "source").await;
    {
        let server = Server::start(Some(&source), &[]);
        server.sign_in("ada@northwind.example").await;
        assert!(server.terminate(), "bduf did not shut down cleanly");
    }
    let file = dir.path().join(match backend {
        Backend::Postgres => "bduf.dump",
        Backend::Sqlite => "bduf.backup.sqlite3",
    });
    let out = bduf(
        &source,
        &["backup".as_ref(), "--to".as_ref(), file.as_os_str()],
    );
    assert_exit(&out, 0);
    assert!(text(&out).contains("bduf: wrote "), "{}", text(&out));
    let size = std::fs::metadata(&file).expect("the backup file").len();
    // A backup never overwrites a file.
    let again = bduf(
        &source,
        &["backup".as_ref(), "--to".as_ref(), file.as_os_str()],
    );
    assert_exit(&again, 1);
    assert!(text(&again).contains("exists already"), "{}", text(&again));
    assert_eq!(std::fs::metadata(&file).map(|m| m.len()).ok(), Some(size));

    let original = snapshot(&source).await;
    assert!(
        original.rows["audit_log"].0 > 0,
        "the demo wrote no audit rows"
    );
    assert!(
        original.rows["user_sessions"].0 > 0,
        "the sign-in left no session"
    );

    // Into an empty database.
    let (target, _target_db) = database(backend, dir.path(), "target").await;
    let out = bduf(
        &target,
        &["restore".as_ref(), "--from".as_ref(), file.as_os_str()],
    );
    assert_exit(&out, 0);
    assert!(
        text(&out).contains("validate: every migration applied, none changed"),
        "{}",
        text(&out)
    );
    let restored = snapshot(&target).await;
    assert_eq!(
        restored.rows["audit_log"], original.rows["audit_log"],
        "audit_log rows before and after the restore"
    );
    assert_eq!(restored.rows, original.rows, "rows of every table");
    assert_eq!(
        restored.schema, original.schema,
        "policies, grants, triggers"
    );
    {
        let server = Server::start(Some(&target), &[]);
        check_demo_answers(&readme_answers(&server).await);
        assert!(server.terminate(), "bduf did not shut down cleanly");
    }

    // Over a database with data: refused, nothing changed.
    execute(
        &target,
        "INSERT INTO organizations (id, name, slug) \
         VALUES ('01900000-0000-7000-8000-00000000beef', 'Intruder', 'intruder')",
    )
    .await;
    let full = snapshot(&target).await;
    let out = bduf(
        &target,
        &["restore".as_ref(), "--from".as_ref(), file.as_os_str()],
    );
    assert_exit(&out, 1);
    assert!(
        text(&out).contains("it is not empty") && text(&out).contains("--force"),
        "{}",
        text(&out)
    );
    assert_eq!(
        snapshot(&target).await,
        full,
        "a refused restore changed the database"
    );

    // A damaged backup (its first half), even with --force: refused, nothing changed.
    let bytes = std::fs::read(&file).expect("reading the backup");
    let damaged = dir.path().join("damaged.backup");
    std::fs::write(&damaged, &bytes[..bytes.len() / 2]).expect("writing half the backup");
    let out = bduf(
        &target,
        &[
            "restore".as_ref(),
            "--from".as_ref(),
            damaged.as_os_str(),
            "--force".as_ref(),
        ],
    );
    assert_exit(&out, 1);
    assert_eq!(
        snapshot(&target).await,
        full,
        "a restore of a damaged backup changed the database"
    );

    // With --force it becomes the backup's.
    let out = bduf(
        &target,
        &[
            "restore".as_ref(),
            "--from".as_ref(),
            file.as_os_str(),
            "--force".as_ref(),
        ],
    );
    assert_exit(&out, 0);
    assert!(text(&out).contains("--force: replacing"), "{}", text(&out));
    assert_eq!(snapshot(&target).await, original, "after restore --force");

    // A history this binary does not have: restored, and the command says it fails.
    execute(
        &target,
        "INSERT INTO seaql_migrations (version, applied_at) \
         VALUES ('m29990101_000001_from_the_future', 0)",
    )
    .await;
    let future = dir.path().join("future.backup");
    assert_exit(
        &bduf(
            &target,
            &["backup".as_ref(), "--to".as_ref(), future.as_os_str()],
        ),
        0,
    );
    let out = bduf(
        &source,
        &[
            "restore".as_ref(),
            "--from".as_ref(),
            future.as_os_str(),
            "--force".as_ref(),
        ],
    );
    assert_exit(&out, 1);
    assert!(
        text(&out).contains("applied but missing: m29990101_000001_from_the_future")
            && text(&out).contains("is not this bduf's migrations"),
        "{}",
        text(&out)
    );
}

/// Point-in-time recovery, as `docs/operations.md` describes it: a cluster of the test's
/// own with WAL archiving (`wal_level = replica`, `archive_mode = on`, `archive_command`
/// copying each segment to an archive folder) takes a `bduf restore` of a migrated
/// database (creating the roles `bduf_app` and `bduf_scheduler`, which a new cluster
/// lacks and the dump's grants and policies name) and a base backup
/// (`pg_basebackup -Fp -X stream`); then organization A is written, the time noted, and
/// organization B written a second later. The base backup, copied to a new data folder
/// with `restore_command`, `recovery_target_time` at the noted time,
/// `recovery_target_action = 'promote'` and `recovery.signal`, comes up with A and
/// without B, and its migration history validates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn point_in_time_recovery_keeps_the_write_before_the_target_and_not_the_one_after() {
    // A migrated database's backup, from the shared test server.
    let source = TestDb::empty(Backend::Postgres).await;
    runner::run::<Migrator>(
        source.conn(),
        runner::Command::Up {
            steps: None,
            allow_changed: false,
        },
        Duration::from_secs(60),
    )
    .await
    .expect("migrating the source database");
    let work = tempfile::tempdir().expect("a temporary folder");
    let dump = work.path().join("migrated.dump");
    assert_exit(
        &bduf(
            source.url(),
            &["backup".as_ref(), "--to".as_ref(), dump.as_os_str()],
        ),
        0,
    );

    let mut cluster = Cluster::new();
    let archive = cluster.folder("archive");
    let primary = cluster.path("primary");
    cluster.initdb(&primary);
    let port = free_port();
    cluster.configure(
        &primary,
        &format!(
            "listen_addresses = '127.0.0.1'\n\
             port = {port}\n\
             unix_socket_directories = ''\n\
             wal_level = replica\n\
             archive_mode = on\n\
             archive_command = 'test ! -f {archive}/%f && cp %p {archive}/%f'\n",
            archive = archive.display()
        ),
    );
    cluster.start(&primary);
    let admin = connect(&cluster_url(port, "postgres")).await;
    admin
        .execute_unprepared("CREATE DATABASE bduf")
        .await
        .expect("CREATE DATABASE bduf");
    admin.close().await.ok();
    let url = cluster_url(port, "bduf");
    let out = bduf(
        &url,
        &["restore".as_ref(), "--from".as_ref(), dump.as_os_str()],
    );
    assert_exit(&out, 0);
    for role in ["bduf_app", "bduf_scheduler"] {
        assert!(
            text(&out).contains(&format!("created the role {role} ")),
            "{}",
            text(&out)
        );
    }

    let base = cluster.path("base");
    cluster.run(
        "pg_basebackup",
        &[
            "-h".as_ref(),
            "127.0.0.1".as_ref(),
            "-p".as_ref(),
            port.to_string().as_ref(),
            "-U".as_ref(),
            "postgres".as_ref(),
            "-D".as_ref(),
            base.as_os_str(),
            "-Fp".as_ref(),
            "-X".as_ref(),
            "stream".as_ref(),
            "-c".as_ref(),
            "fast".as_ref(),
        ],
    );

    let db = connect(&url).await;
    insert_organization(&db, "pitr-a").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let target: String = scalar(&db, "SELECT clock_timestamp()::text").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    insert_organization(&db, "pitr-b").await;
    // B's segment is complete; wait until it is in the archive.
    let segment: String = scalar(&db, "SELECT pg_walfile_name(pg_switch_wal())").await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let archived: Option<String> =
            scalar(&db, "SELECT last_archived_wal FROM pg_stat_archiver").await;
        if archived.as_deref() >= Some(segment.as_str()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "WAL segment {segment} not archived within 60 s (last: {archived:?})\n{}",
            cluster.log(&primary)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    db.close().await.ok();
    cluster.stop(&primary);

    // Recover the base backup, in a new data folder, to the noted time.
    let recovered = cluster.path("recovered");
    cluster.run(
        "cp",
        &["-a".as_ref(), base.as_os_str(), recovered.as_os_str()],
    );
    let port = free_port();
    cluster.configure(
        &recovered,
        &format!(
            "port = {port}\n\
             archive_mode = off\n\
             restore_command = 'cp {archive}/%f %p'\n\
             recovery_target_time = '{target}'\n\
             recovery_target_action = 'promote'\n",
            archive = archive.display()
        ),
    );
    cluster.write(&recovered.join("recovery.signal"), "");
    cluster.start(&recovered);
    let db = connect(&cluster_url(port, "bduf")).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while scalar::<bool>(&db, "SELECT pg_is_in_recovery()").await {
        assert!(
            Instant::now() < deadline,
            "recovery did not end within 60 s\n{}",
            cluster.log(&recovered)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let survivors: Option<String> = scalar(
        &db,
        "SELECT string_agg(slug, ',' ORDER BY slug) FROM organizations",
    )
    .await;
    assert_eq!(
        survivors.as_deref(),
        Some("pitr-a"),
        "recovered to {target}\n{}",
        cluster.log(&recovered)
    );
    let recorded: i64 = scalar(
        &db,
        "SELECT count(*) FROM audit_log WHERE table_name = 'organizations'",
    )
    .await;
    assert_eq!(recorded, 1, "the audit row of A, not of B");
    let report = runner::validate::<Migrator>(&db)
        .await
        .expect("validating the recovered database");
    assert!(report.is_clean(), "{report:?}");
    db.close().await.ok();
    cluster.stop(&recovered);
}

/// A new database of `backend` named `name` (SQLite: a file in `dir`, not yet there),
/// its URL and, on PostgreSQL, the guard that drops it.
async fn database(backend: Backend, dir: &Path, name: &str) -> (String, Option<TestDb>) {
    match backend {
        Backend::Postgres => {
            let db = TestDb::empty(backend).await;
            (db.url().to_owned(), Some(db))
        }
        Backend::Sqlite => (
            format!(
                "sqlite://{}?mode=rwc",
                dir.join(format!("{name}.sqlite3")).display()
            ),
            None,
        ),
    }
}

/// Runs `bduf` with `args` against `url` (also `maintenance.rs`'s).
pub(crate) fn bduf<S: AsRef<OsStr>>(url: &str, args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bduf"))
        .args(args)
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("running bduf")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "bduf exited with {}:\n{}",
        out.status,
        text(out)
    );
}

/// What a database holds: each table's row count and a checksum of its rows, and (on
/// PostgreSQL) its policies, grants to `bduf_app`, triggers and functions.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    rows: BTreeMap<String, (i64, String)>,
    schema: String,
}

async fn snapshot(url: &str) -> Snapshot {
    let db = connect(url).await;
    let backend = db.get_database_backend();
    let tables: Vec<String> = rows(
        &db,
        match backend {
            DbBackend::Postgres => {
                "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            }
            _ => {
                "SELECT name FROM sqlite_schema WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' ORDER BY 1"
            }
        },
    )
    .await;
    let mut counts = BTreeMap::new();
    for table in tables {
        let (count, text): (i64, String) = match backend {
            DbBackend::Postgres => {
                let row = one(
                    &db,
                    &format!(
                        "SELECT count(*), coalesce(md5(string_agg(t::text, E'\\n' \
                         ORDER BY t::text)), '') FROM \"{table}\" t"
                    ),
                )
                .await;
                (get(&row, 0), get(&row, 1))
            }
            _ => {
                let columns: Vec<String> = rows(
                    &db,
                    &format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid"),
                )
                .await;
                let line = columns
                    .iter()
                    .map(|c| format!("quote(\"{c}\")"))
                    .collect::<Vec<_>>()
                    .join(" || ',' || ");
                let row = one(
                    &db,
                    &format!(
                        "SELECT count(*), coalesce(group_concat(line, char(10)), '') \
                         FROM (SELECT {line} AS line FROM \"{table}\" ORDER BY 1)"
                    ),
                )
                .await;
                let text: String = get(&row, 1);
                (get(&row, 0), runner::checksum(&text))
            }
        };
        counts.insert(table, (count, text));
    }
    let schema = match backend {
        DbBackend::Postgres => {
            let row = one(
                &db,
                "SELECT \
                   (SELECT string_agg(p, E'\\n' ORDER BY p) FROM (SELECT tablename || '.' || \
                     policyname || ' ' || cmd || ' ' || coalesce(qual, '') || ' ' || \
                     coalesce(with_check, '') AS p FROM pg_policies \
                     WHERE schemaname = 'public') x) || E'\\n' || \
                   (SELECT string_agg(g, ',' ORDER BY g) FROM (SELECT table_name || ':' || \
                     privilege_type AS g FROM information_schema.role_table_grants \
                     WHERE grantee = 'bduf_app') x) || E'\\n' || \
                   (SELECT string_agg(t, ',' ORDER BY t) FROM (SELECT c.relname || '.' || \
                     t.tgname || ':' || t.tgenabled::text AS t FROM pg_trigger t \
                     JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal) x) || E'\\n' || \
                   (SELECT string_agg(f, ',' ORDER BY f) FROM (SELECT p.proname || ':' || \
                     p.prosecdef::text AS f FROM pg_proc p \
                     WHERE p.pronamespace = 'public'::regnamespace) x) || E'\\n' || \
                   (SELECT string_agg(r, ',' ORDER BY r) FROM (SELECT relname || ':' || \
                     relrowsecurity::text || relforcerowsecurity::text AS r FROM pg_class \
                     WHERE relnamespace = 'public'::regnamespace AND relkind = 'r') x)",
            )
            .await;
            get(&row, 0)
        }
        _ => {
            let row = one(
                &db,
                "SELECT group_concat(s, char(10)) FROM (SELECT type || ' ' || name || ' ' || \
                 coalesce(sql, '') AS s FROM sqlite_schema ORDER BY 1)",
            )
            .await;
            get(&row, 0)
        }
    };
    db.close().await.ok();
    Snapshot {
        rows: counts,
        schema,
    }
}

async fn connect(url: &str) -> DatabaseConnection {
    bduf_testkit::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {e}"))
}

async fn execute(url: &str, sql: &str) {
    let db = connect(url).await;
    db.execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    db.close().await.ok();
}

async fn one(db: &DatabaseConnection, sql: &str) -> sea_orm::QueryResult {
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or_else(|| panic!("{sql}: no row"))
}

async fn rows(db: &DatabaseConnection, sql: &str) -> Vec<String> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|row| get(row, 0))
        .collect()
}

async fn scalar<T: sea_orm::TryGetable>(db: &DatabaseConnection, sql: &str) -> T {
    get(&one(db, sql).await, 0)
}

fn get<T: sea_orm::TryGetable>(row: &sea_orm::QueryResult, index: usize) -> T {
    row.try_get_by_index(index)
        .unwrap_or_else(|e| panic!("column {index}: {e}"))
}

async fn insert_organization(db: &DatabaseConnection, slug: &str) {
    db.execute_unprepared(&format!(
        "INSERT INTO organizations (name, slug) VALUES ('Point in time {slug}', '{slug}')"
    ))
    .await
    .unwrap_or_else(|e| panic!("writing {slug}: {e}"));
}

fn cluster_url(port: u16, database: &str) -> String {
    format!("postgres://postgres@127.0.0.1:{port}/{database}")
}

/// A port no one listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// PostgreSQL clusters of the test's own, in a temporary folder: every server started is
/// stopped, and the folder removed, when this is dropped — on failure too. PostgreSQL
/// refuses to run as root, so as root the programs run as `postgres` (else `nobody`)
/// through util-linux's `setpriv`, as `xtask/src/cluster.rs` does.
#[derive(Debug)]
struct Cluster {
    dir: tempfile::TempDir,
    bindir: PathBuf,
    /// The user and group the programs run as, when this process is root.
    owner: Option<(u32, u32)>,
    running: Vec<PathBuf>,
}

impl Cluster {
    fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("bduf-pitr-")
            .tempdir()
            .expect("a temporary folder");
        let owner = is_root().then(|| {
            ["postgres", "nobody"]
                .into_iter()
                .find_map(lookup_user)
                .expect("a `postgres` or `nobody` user to run PostgreSQL as")
        });
        let cluster = Self {
            dir,
            bindir: server_bindir(),
            owner,
            running: Vec::new(),
        };
        cluster.give(cluster.dir.path());
        cluster
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A new folder the cluster's user owns.
    fn folder(&self, name: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::create_dir(&path).expect("creating a folder");
        self.give(&path);
        path
    }

    fn give(&self, path: &Path) {
        if let Some((uid, gid)) = self.owner {
            std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .unwrap_or_else(|e| panic!("giving {} to uid {uid}: {e}", path.display()));
        }
    }

    fn write(&self, path: &Path, text: &str) {
        std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        self.give(path);
    }

    /// Appends `settings` to the cluster's `postgresql.conf` (later lines win).
    fn configure(&self, data: &Path, settings: &str) {
        use std::io::Write as _;
        let conf = data.join("postgresql.conf");
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .unwrap_or_else(|e| panic!("{}: {e}", conf.display()));
        writeln!(
            file,
            "\n# Added by the point-in-time recovery test.\n{settings}"
        )
        .unwrap_or_else(|e| panic!("{}: {e}", conf.display()));
    }

    /// Runs `program` (a PostgreSQL program, or a plain one) as the cluster's user.
    fn run(&self, program: &str, args: &[&OsStr]) -> Output {
        let path = self.bindir.join(program);
        let program = if path.is_file() {
            path.into_os_string()
        } else {
            program.into()
        };
        let mut command = match self.owner {
            Some((uid, gid)) => {
                let mut c = Command::new("setpriv");
                c.arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={gid}"))
                    .args(["--clear-groups", "--"])
                    .arg(&program);
                c
            }
            None => Command::new(&program),
        };
        let out = command
            .args(args)
            .current_dir(self.dir.path())
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", program.to_string_lossy()));
        assert!(
            out.status.success(),
            "{} {args:?} failed ({}):\n{}",
            program.to_string_lossy(),
            out.status,
            text(&out)
        );
        out
    }

    fn initdb(&self, data: &Path) {
        self.run(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "--auth=trust".as_ref(),
                "-U".as_ref(),
                "postgres".as_ref(),
                "--encoding=UTF8".as_ref(),
                "--locale=C".as_ref(),
                "--no-sync".as_ref(),
            ],
        );
    }

    fn log_file(&self, data: &Path) -> PathBuf {
        let mut name = data.as_os_str().to_owned();
        name.push(".log");
        PathBuf::from(name)
    }

    /// The server log of the cluster in `data`.
    fn log(&self, data: &Path) -> String {
        std::fs::read_to_string(self.log_file(data)).unwrap_or_default()
    }

    fn start(&mut self, data: &Path) {
        self.running.push(data.to_owned());
        let log = self.log_file(data);
        let out = self.pg_ctl(&[
            "start".as_ref(),
            "--wait".as_ref(),
            "--timeout=60".as_ref(),
            "-D".as_ref(),
            data.as_os_str(),
            "-l".as_ref(),
            log.as_os_str(),
        ]);
        assert!(
            out.status.success(),
            "pg_ctl start failed:\n{}\n{}",
            text(&out),
            self.log(data)
        );
    }

    fn stop(&mut self, data: &Path) {
        let out = self.pg_ctl(&[
            "stop".as_ref(),
            "--wait".as_ref(),
            "-m".as_ref(),
            "fast".as_ref(),
            "-D".as_ref(),
            data.as_os_str(),
        ]);
        assert!(out.status.success(), "pg_ctl stop failed:\n{}", text(&out));
        self.running.retain(|d| d != data);
    }

    /// `pg_ctl`, whatever its exit status.
    fn pg_ctl(&self, args: &[&OsStr]) -> Output {
        let pg_ctl = self.bindir.join("pg_ctl");
        let mut command = match self.owner {
            Some((uid, gid)) => {
                let mut c = Command::new("setpriv");
                c.arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={gid}"))
                    .args(["--clear-groups", "--"])
                    .arg(&pg_ctl);
                c
            }
            None => Command::new(&pg_ctl),
        };
        command
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            // The server must not hold the test's output pipes open.
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .expect("running pg_ctl")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for data in std::mem::take(&mut self.running) {
            let _ = self.pg_ctl(&[
                "stop".as_ref(),
                "--wait".as_ref(),
                "-m".as_ref(),
                "immediate".as_ref(),
                "-D".as_ref(),
                data.as_os_str(),
            ]);
        }
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The user and group ids of user `name` (`getent passwd`).
fn lookup_user(name: &str) -> Option<(u32, u32)> {
    let out = Command::new("getent")
        .args(["passwd", name])
        .output()
        .ok()?;
    let line = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut fields = line.trim().split(':');
    let uid = fields.nth(2)?.parse().ok()?;
    let gid = fields.next()?.parse().ok()?;
    Some((uid, gid))
}

/// The folder of `initdb`, `pg_ctl` and `pg_basebackup`: the newest
/// `/usr/lib/postgresql/<version>/bin`, else `pg_config --bindir`, else the `PATH`'s.
fn server_bindir() -> PathBuf {
    let complete = |dir: &Path| {
        ["initdb", "pg_ctl", "pg_basebackup", "postgres"]
            .iter()
            .all(|t| dir.join(t).is_file())
    };
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .collect();
    versions.sort();
    let mut candidates: Vec<PathBuf> = versions.into_iter().rev().map(|(_, d)| d).collect();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        candidates.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path));
    }
    candidates
        .into_iter()
        .find(|d| complete(d))
        .expect("the PostgreSQL server programs (initdb, pg_ctl, pg_basebackup) are installed")
}
