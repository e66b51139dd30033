//! [`Db`]: the connection pool plus the statement counter that `/metrics` and the
//! statement-count tests read.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, QueryResult,
    Statement,
};

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
    /// Every statement sent, when recording (see [`Db::record`]).
    recorded: std::sync::Mutex<Option<Vec<Statement>>>,
}

/// Pool settings; the defaults suit the embedded SQLite file and a small PostgreSQL.
#[derive(Debug, Clone, Copy)]
pub struct PoolOptions {
    pub max_connections: u32,
    /// How long taking a connection may wait before the request is answered "busy".
    pub acquire_timeout: Duration,
    /// PostgreSQL's `statement_timeout` for every connection: the longest one statement
    /// may run (none: the server's setting).
    pub statement_timeout: Option<Duration>,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: None,
        }
    }
}

/// Turns off sqlx's idle timeout and maximum lifetime of pooled connections, and with
/// them the pool's background reaper. In sqlx 0.9.0 the reaper sweeps `0..num_idle()`
/// idle connections without yielding, and a race between a connection's release and
/// another's acquisition can wrap `num_idle` below zero (sqlx issue #3645, fixed by
/// pull request #4289 after 0.9.0): the sweep then spins a core for ever, and the
/// runtime never shuts down — seen here as a test that finished and then hung. Without
/// the reaper, idle connections stay open until the pool closes (at most
/// `max_connections` of them) and are never recycled by age; a server that must close
/// idle connections can rely on PostgreSQL's `idle_session_timeout`.
pub fn without_pool_reaper(options: &mut ConnectOptions) {
    options.idle_timeout(None).max_lifetime(None);
}

impl Db {
    /// Connects to `url` and starts counting every statement sent through the pool.
    pub async fn connect(url: &str, pool: PoolOptions) -> Result<Self, DbErr> {
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(pool.max_connections)
            .acquire_timeout(pool.acquire_timeout)
            .sqlx_logging(false);
        without_pool_reaper(&mut options);
        if let Some(timeout) = pool.statement_timeout {
            options.statement_timeout(timeout);
        }
        // Every transaction is REPEATABLE READ: a request's levels all see one snapshot,
        // without a `SET TRANSACTION` round trip per request.
        options.map_sqlx_postgres_opts(|o| {
            o.options([("default_transaction_isolation", "repeatable read")])
        });
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
            if let Ok(mut recorded) = seen.recorded.lock()
                && let Some(list) = recorded.as_mut()
            {
                list.push(info.statement.clone());
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

    /// Runs a query and returns its rows.
    pub async fn query(&self, statement: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.conn.query_all_raw(statement).await
    }

    /// Connections the pool holds, and how many of them are idle.
    pub fn pool_status(&self) -> (u32, usize) {
        match self.backend() {
            DbBackend::Postgres => {
                let pool = self.conn.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            DbBackend::Sqlite => {
                let pool = self.conn.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
            _ => (0, 0),
        }
    }

    /// Starts keeping every statement sent (with its values), for tools that examine the
    /// statements a workload issues (the index-use test runs `EXPLAIN` on each).
    pub fn record(&self) {
        if let Ok(mut recorded) = self.counters.recorded.lock() {
            recorded.get_or_insert_with(Vec::new);
        }
    }

    /// The statements kept since [`Db::record`], emptying the list.
    pub fn recorded(&self) -> Vec<Statement> {
        self.counters
            .recorded
            .lock()
            .ok()
            .and_then(|mut r| r.as_mut().map(std::mem::take))
            .unwrap_or_default()
    }

    /// Statements that failed since connecting.
    pub fn failed_statements(&self) -> u64 {
        self.counters.failed.load(Ordering::Relaxed)
    }
}
