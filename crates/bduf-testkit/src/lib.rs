//! Test databases for bduf's tests, on both backends, each private to one test.
//!
//! PostgreSQL: every test gets its own database. [`TestDb::migrated`] clones it from a
//! template that is migrated once per test process (`CREATE DATABASE … TEMPLATE …`), so a
//! test never shares mutable state with another and never pays for the migrations. The
//! server is named by `BDUF_TEST_DATABASE_URL` (default [`DEFAULT_ADMIN_URL`]); the test
//! command (`cargo xtask test`) makes sure it is running. Databases are dropped when the
//! [`TestDb`] is; ones left by a killed test process are dropped by the next one.
//!
//! SQLite: every test gets a fresh file in its own temporary folder.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr};
use sea_orm_migration::MigratorTrait;
use tokio::sync::OnceCell;

/// The PostgreSQL server tests use unless `BDUF_TEST_DATABASE_URL` names another; the
/// database in it is only used to create and drop the per-test databases.
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Prefix of every database the test kit creates: `bdufkit_<kind>_<pid>_<n>`.
const PREFIX: &str = "bdufkit";

/// A database backend under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    /// Both backends, for tests that run on each.
    pub const ALL: [Backend; 2] = [Backend::Postgres, Backend::Sqlite];

    /// SeaORM's name for the backend.
    pub fn db_backend(self) -> DbBackend {
        match self {
            Backend::Postgres => DbBackend::Postgres,
            Backend::Sqlite => DbBackend::Sqlite,
        }
    }
}

/// The URL of the PostgreSQL maintenance database tests create their databases from.
pub fn admin_url() -> String {
    std::env::var("BDUF_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// A database private to one test, dropped with it.
#[derive(Debug)]
pub struct TestDb {
    backend: Backend,
    url: String,
    conn: DatabaseConnection,
    guard: Guard,
}

#[derive(Debug)]
enum Guard {
    Postgres { name: String },
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
}

impl TestDb {
    /// A new, empty database.
    pub async fn empty(backend: Backend) -> Self {
        match backend {
            Backend::Postgres => Self::postgres(None).await,
            Backend::Sqlite => Self::sqlite().await,
        }
    }

    /// A new database with every migration of `M` applied.
    pub async fn migrated<M: MigratorTrait>(backend: Backend) -> Self {
        match backend {
            Backend::Postgres => {
                let template = template::<M>().await;
                Self::postgres(Some(&template)).await
            }
            Backend::Sqlite => {
                let db = Self::sqlite().await;
                // On one connection of its own, as the migration runner does: a pooled
                // SQLite connection idle since another one changed the schema can refuse
                // to create again what was dropped ("… already exists").
                let mut options = ConnectOptions::new(db.url.clone());
                options
                    .max_connections(1)
                    .sqlx_logging(false)
                    .idle_timeout(None)
                    .max_lifetime(None);
                let migrating = Database::connect(options)
                    .await
                    .expect("opening the SQLite test database to migrate it");
                M::up(&migrating, None)
                    .await
                    .expect("migrating the SQLite test database");
                migrating
                    .close()
                    .await
                    .expect("closing the migrating connection");
                db
            }
        }
    }

    /// The connection pool of this database.
    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// The URL of this database, for handing to another process.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The backend this database runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A second, independent connection pool to the same database.
    pub async fn connect_again(&self) -> DatabaseConnection {
        connect(&self.url)
            .await
            .expect("connecting to the test database")
    }

    async fn postgres(template: Option<&str>) -> Self {
        sweep_stale_databases().await;
        let name = unique_name("test");
        let sql = match template {
            Some(template) => format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""),
            None => format!("CREATE DATABASE \"{name}\""),
        };
        admin_execute(&sql).await;
        let url = database_url(&name);
        let conn = connect(&url)
            .await
            .expect("connecting to the test database");
        Self {
            backend: Backend::Postgres,
            url,
            conn,
            guard: Guard::Postgres { name },
        }
    }

    async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("creating a temporary folder");
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("test.sqlite3").display()
        );
        let conn = connect(&url)
            .await
            .expect("opening the SQLite test database");
        Self {
            backend: Backend::Sqlite,
            url,
            conn,
            guard: Guard::Sqlite(dir),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Guard::Postgres { name } = &self.guard {
            // Drop runs outside any async context we may block, so use a thread of its own.
            let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
            let _ = std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map(|rt| rt.block_on(admin_execute(&sql)))
            })
            .join();
        }
    }
}

/// Connects with a small pool and no statement logging.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    connect_with(url, 5).await
}

/// Connects with a pool of at most `connections` and no statement logging.
pub async fn connect_with(url: &str, connections: u32) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    // No idle timeout or maximum lifetime, so no pool reaper: sqlx 0.9.0's can spin for
    // ever once its idle count wraps, hanging a finished test (see
    // `bduf_core::db::without_pool_reaper`).
    options
        .max_connections(connections)
        .sqlx_logging(false)
        .idle_timeout(None)
        .max_lifetime(None);
    Database::connect(options).await
}

/// The URL of database `name` on the test server.
fn database_url(name: &str) -> String {
    let admin = admin_url();
    let base = admin.split('?').next().unwrap_or(&admin);
    let (server, _) = base
        .rsplit_once('/')
        .expect("BDUF_TEST_DATABASE_URL names a database");
    format!("{server}/{name}")
}

/// Runs one statement on the maintenance database, panicking with a hint when the server
/// is unreachable.
async fn admin_execute(sql: &str) {
    let url = admin_url();
    let admin = connect(&url).await.unwrap_or_else(|err| {
        panic!(
            "cannot reach the test PostgreSQL at {url}: {err}. Run the tests with `cargo xtask test`, \
             which starts it, or point BDUF_TEST_DATABASE_URL at a server"
        )
    });
    admin
        .execute_unprepared(sql)
        .await
        .unwrap_or_else(|err| panic!("{sql}: {err}"));
    let _ = admin.close().await;
}

fn unique_name(kind: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{PREFIX}_{kind}_{}_{n}", std::process::id())
}

/// The name of the migrated template database of migrator `M`, created on first use.
async fn template<M: MigratorTrait>() -> String {
    type Cells = HashMap<&'static str, Arc<OnceCell<String>>>;
    static TEMPLATES: LazyLock<Mutex<Cells>> = LazyLock::new(Default::default);
    let cell = TEMPLATES
        .lock()
        .expect("template registry")
        .entry(std::any::type_name::<M>())
        .or_default()
        .clone();
    cell.get_or_init(|| async {
        sweep_stale_databases().await;
        let name = unique_name("tmpl");
        admin_execute(&format!("CREATE DATABASE \"{name}\"")).await;
        let conn = connect(&database_url(&name))
            .await
            .expect("connecting to the template database");
        M::up(&conn, None)
            .await
            .expect("migrating the template database");
        // CREATE DATABASE … TEMPLATE needs the template to have no connections.
        conn.close().await.expect("closing the template connection");
        name
    })
    .await
    .clone()
}

/// Drops the databases left behind by test processes that no longer run, once per process.
async fn sweep_stale_databases() {
    static SWEPT: OnceCell<()> = OnceCell::const_new();
    SWEPT
        .get_or_init(|| async {
            // Liveness is read from /proc; elsewhere nothing is swept.
            if !std::path::Path::new("/proc/self").exists() {
                return;
            }
            let url = admin_url();
            let Ok(admin) = connect(&url).await else {
                return;
            };
            let rows = admin
                .query_all_raw(sea_orm::Statement::from_string(
                    DbBackend::Postgres,
                    format!("SELECT datname FROM pg_database WHERE datname LIKE '{PREFIX}\\_%'"),
                ))
                .await
                .unwrap_or_default();
            for row in rows {
                let Ok(name) = row.try_get::<String>("", "datname") else {
                    continue;
                };
                let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
                let alive =
                    pid.is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
                if !alive {
                    let _ = admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .await;
                }
            }
            let _ = admin.close().await;
        })
        .await;
}

/// Declares, for each `async fn name(backend: Backend)` listed, a module `name` with the
/// tests `postgres` and `sqlite` that run it on that backend.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::Backend::Postgres).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::Backend::Sqlite).await
                }
            }
        )*
    };
}
