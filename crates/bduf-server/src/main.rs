//! `bduf`: serves the GraphQL API. With no configuration it serves the embedded SQLite
//! default on <http://127.0.0.1:8000/graphql>, applying migrations at start.
//! `bduf backup --to FILE` and `bduf restore --from FILE [--force]` back its database up
//! and restore it (`src/backup.rs`); `bduf maintenance` sweeps what is of no further use
//! (`src/maintenance.rs`), which the server also does every `--maintenance-interval-secs`
//! (`src/scheduler.rs`).

mod admission;
mod backup;
mod demo;
mod http;
mod maintenance;
mod scheduler;

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::serve::ListenerExt as _;
use bduf_core::Db;
use bduf_core::db::PoolOptions;
use clap::{Parser, ValueEnum};
use migration::runner::{self, Command};
use migration::{DEFAULT_DATABASE_URL, Migrator};
use tracing_subscriber::EnvFilter;

/// The allocator: mimalloc instead of glibc's malloc, which was about a quarter of the
/// instructions a dashboard request costs (every field and value of an answer is an
/// allocation; docs/benchmarks.md, "The server's own cost").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Serves bduf's GraphQL API.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Config {
    /// Address to listen on.
    #[arg(long, env = "BDUF_LISTEN", default_value = "127.0.0.1:8000")]
    listen: SocketAddr,

    /// The database: `postgres://…` or `sqlite://…`. Unset, the embedded SQLite file
    /// `data/bduf.sqlite3` (created if missing).
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    database_url: String,

    /// Load the demo organization first (only into a database without organizations).
    #[arg(long)]
    demo: bool,

    /// Database connections in the pool: one per running query, one spare for health
    /// checks.
    #[arg(long, env = "BDUF_MAX_CONNECTIONS", default_value_t = admission::DEFAULT_CONNECTIONS)]
    max_connections: u32,

    /// Queries that may run at once (default: one less than the pool).
    #[arg(long, env = "BDUF_MAX_IN_FLIGHT")]
    max_in_flight: Option<usize>,

    /// Most queries that may wait for a turn, whatever their expected wait: a cap for
    /// memory (the wait budget bounds the queue first).
    #[arg(long, env = "BDUF_MAX_QUEUE", default_value_t = admission::DEFAULT_QUEUE)]
    max_queue: usize,

    /// The wait budget, in milliseconds: a query whose expected wait for a turn (the
    /// queue ahead of it times the queries' measured time, over the turns) is longer is
    /// refused with 503 at once; one that waits this long without a turn, too.
    #[arg(long, env = "BDUF_QUEUE_WAIT_MS", default_value_t = admission::DEFAULT_WAIT_MS)]
    queue_wait_ms: u64,

    /// The longest a query may run, in milliseconds.
    #[arg(long, env = "BDUF_REQUEST_TIMEOUT_MS", default_value_t = 10_000)]
    request_timeout_ms: u64,

    /// PostgreSQL's `statement_timeout` for the server's connections, in milliseconds.
    #[arg(long, env = "BDUF_STATEMENT_TIMEOUT_MS", default_value_t = 5_000)]
    statement_timeout_ms: u64,

    /// The largest request body accepted, in bytes.
    #[arg(long, env = "BDUF_MAX_BODY_BYTES", default_value_t = 1 << 20)]
    max_body_bytes: usize,

    /// Most field selections a query document may hold.
    #[arg(long, env = "BDUF_FIELD_LIMIT", default_value_t = 1_000)]
    field_limit: usize,

    /// Deepest selection nesting a query may have.
    #[arg(long, env = "BDUF_DEPTH_LIMIT", default_value_t = 16)]
    depth_limit: usize,

    /// Most nodes a query may ask for: each connection's page size times the pages
    /// above it, summed, as GitHub counts them (see README).
    #[arg(long, env = "BDUF_NODE_LIMIT", default_value_t = bduf_graphql::Limits::DEFAULT.nodes)]
    node_limit: usize,

    /// Most connection and list selections a query may hold, each alias and fragment
    /// spread counted again (see README).
    #[arg(long, env = "BDUF_CONNECTION_LIMIT", default_value_t = bduf_graphql::Limits::DEFAULT.connections)]
    connection_limit: usize,

    /// Turn off introspection, field suggestions and GraphiQL (for production).
    #[arg(long, env = "BDUF_NO_INTROSPECTION")]
    no_introspection: bool,

    /// Seconds between the scheduler's turns (auto-approvals, scheduled notifications);
    /// 0 turns the scheduler off. Servers sharing a database take turns.
    #[arg(long, env = "BDUF_SCHEDULER_INTERVAL_SECS", default_value_t = 60.0)]
    scheduler_interval_secs: f64,

    /// Seconds between the server's maintenance runs (what `bduf maintenance` does, with
    /// the maintenance flags below); 0 turns them off. The first run comes one interval
    /// after start, the next one interval after the previous ended. Servers sharing a
    /// PostgreSQL database take turns.
    #[arg(long, env = "BDUF_MAINTENANCE_INTERVAL_SECS", default_value_t = 3600.0)]
    maintenance_interval_secs: f64,

    /// Log format.
    #[arg(long, env = "BDUF_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,

    /// What the server's maintenance runs keep and remove: the flags of `bduf
    /// maintenance`, under the same names (separate from the subcommand's own). Last, as
    /// its help heading holds for the flags after it.
    #[command(
        flatten,
        next_help_heading = "Maintenance (every --maintenance-interval-secs)"
    )]
    maintenance: maintenance::Args,

    /// Without a subcommand, `bduf` serves.
    #[command(subcommand)]
    command: Option<backup::Cmd>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[tokio::main]
async fn main() -> Result<()> {
    let config = Config::parse();
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    match config.log_format {
        LogFormat::Json => logs.json().init(),
        LogFormat::Text => logs.init(),
    }
    if let Some(command) = config.command {
        if let Err(err) = backup::run(command, &config.database_url).await {
            eprintln!("bduf: {err:#}");
            std::process::exit(1);
        }
        return Ok(());
    }

    // The intervals are checked before anything touches the database, so that a typo
    // fails at once rather than after the migrations.
    let interval = Duration::try_from_secs_f64(config.scheduler_interval_secs)
        .context("--scheduler-interval-secs must be a number of seconds, 0 or more")?;
    let maintenance_interval = Duration::try_from_secs_f64(config.maintenance_interval_secs)
        .context("--maintenance-interval-secs must be a number of seconds, 0 or more")?;

    // Migrations take the migration lock on a connection of their own.
    let migrating = migration::connect(&config.database_url)
        .await
        .with_context(|| format!("connecting to {}", runner::redact(&config.database_url)))?;
    runner::run::<Migrator>(
        &migrating,
        Command::Up {
            steps: None,
            allow_changed: false,
        },
        Duration::from_secs(60),
    )
    .await
    .context("applying migrations")?;
    migrating.close().await.ok();

    let db = Db::connect(
        &config.database_url,
        PoolOptions {
            max_connections: config.max_connections,
            acquire_timeout: Duration::from_secs(2),
            statement_timeout: Some(Duration::from_millis(config.statement_timeout_ms)),
        },
    )
    .await
    .context("opening the connection pool")?;
    if config.demo {
        demo::load(&db).await.context("loading the demo data")?;
    }

    let in_flight = config
        .max_in_flight
        .unwrap_or_else(|| {
            usize::try_from(config.max_connections)
                .unwrap_or(usize::MAX)
                .saturating_sub(1)
        })
        .max(1);
    let settings = http::Settings {
        limits: bduf_graphql::Limits {
            fields: config.field_limit,
            depth: config.depth_limit,
            nodes: config.node_limit,
            connections: config.connection_limit,
            introspection: !config.no_introspection,
        },
        admission: admission::Settings {
            in_flight,
            queue: config.max_queue,
            wait: Duration::from_millis(config.queue_wait_ms),
        },
        max_body_bytes: config.max_body_bytes,
        request_timeout: Duration::from_millis(config.request_timeout_ms),
    };
    let app = http::router(db.clone(), settings)?;
    let _maintenance = scheduler::spawn_maintenance(
        db.clone(),
        maintenance_interval,
        maintenance::Settings::from(config.maintenance),
    );
    let _scheduler = scheduler::spawn(db, interval);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let address = listener.local_addr()?;
    tracing::info!(database = %runner::redact(&config.database_url), "serving GraphQL at http://{address}/graphql");
    println!("bduf: serving GraphQL at http://{address}/graphql");
    // Answers go out as they are written: without TCP_NODELAY the kernel holds an
    // answer's last partial segment until the client acknowledges the ones before it
    // (Nagle's algorithm), which a client's delayed acknowledgement can make milliseconds.
    let listener = listener.tap_io(|stream| {
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(error = %err, "setting TCP_NODELAY on a connection failed");
        }
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM; in-flight requests then finish before the server exits.
async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
