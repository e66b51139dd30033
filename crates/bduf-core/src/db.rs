//! [`Db`]: the connection pool plus the statement counter that `/metrics` and the
//! statement-count tests read.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, QueryResult,
    Statement, Value,
};
use uuid::Uuid;

/// The database of one server or test: a pool and its counters. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Db {
    conn: DatabaseConnection,
    counters: Arc<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    statements: AtomicU64,
    failed: AtomicU64,
}

/// Pool settings; the defaults suit the embedded SQLite file and a small PostgreSQL.
#[derive(Debug, Clone, Copy)]
pub struct PoolOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

impl Db {
    /// Connects to `url` and starts counting every statement sent through the pool.
    pub async fn connect(url: &str, pool: PoolOptions) -> Result<Self, DbErr> {
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(pool.max_connections)
            .acquire_timeout(pool.acquire_timeout)
            .sqlx_logging(false);
        Ok(Self::counting(Database::connect(options).await?))
    }

    /// Wraps an open connection, counting its statements from now on.
    pub fn counting(mut conn: DatabaseConnection) -> Self {
        let counters = Arc::new(Counters::default());
        let seen = Arc::clone(&counters);
        conn.set_metric_callback(move |info| {
            seen.statements.fetch_add(1, Ordering::Relaxed);
            if info.failed {
                seen.failed.fetch_add(1, Ordering::Relaxed);
            }
        });
        Self { conn, counters }
    }

    /// The connection pool.
    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// Which database this is.
    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// Statements sent since connecting.
    pub fn statements(&self) -> u64 {
        self.counters.statements.load(Ordering::Relaxed)
    }

    /// Runs `sql`, whose `{ids}` stands for the bind placeholders of `ids` (an `IN` list).
    pub async fn query_with_ids(&self, sql: &str, ids: &[Uuid]) -> Result<Vec<QueryResult>, DbErr> {
        let backend = self.backend();
        let sql = sql.replace("{ids}", &placeholders(backend, 1, ids.len()));
        let values: Vec<Value> = ids.iter().map(|id| (*id).into()).collect();
        self.conn
            .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
            .await
    }

    /// Statements that failed since connecting.
    pub fn failed_statements(&self) -> u64 {
        self.counters.failed.load(Ordering::Relaxed)
    }
}

/// `n` bind placeholders for `backend`, numbered from `first` on PostgreSQL.
pub fn placeholders(backend: DbBackend, first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| match backend {
            DbBackend::Postgres => format!("${i}"),
            _ => "?".to_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
