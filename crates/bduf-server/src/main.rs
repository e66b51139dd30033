//! `bduf`: serves the GraphQL API. With no configuration it serves the embedded SQLite
//! default on <http://127.0.0.1:8000/graphql>, applying migrations at start.

mod demo;
mod http;

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use bduf_core::Db;
use bduf_core::db::PoolOptions;
use clap::{Parser, ValueEnum};
use migration::runner::{self, Command};
use migration::{DEFAULT_DATABASE_URL, Migrator};
use tracing_subscriber::EnvFilter;

/// Serves bduf's GraphQL API.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Config {
    /// Address to listen on.
    #[arg(long, env = "BDUF_LISTEN", default_value = "127.0.0.1:8000")]
    listen: SocketAddr,

    /// The database: `postgres://…` or `sqlite://…`. Unset, the embedded SQLite file
    /// `data/bduf.sqlite3` (created if missing).
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    database_url: String,

    /// Load the demo organization first (only into a database without organizations).
    #[arg(long)]
    demo: bool,

    /// Database connections in the pool.
    #[arg(long, env = "BDUF_MAX_CONNECTIONS", default_value_t = 16)]
    max_connections: u32,

    /// Deepest selection nesting a query may have.
    #[arg(long, env = "BDUF_DEPTH_LIMIT", default_value_t = 16)]
    depth_limit: usize,

    /// Most fields a query may select (each field counts 1).
    #[arg(long, env = "BDUF_COMPLEXITY_LIMIT", default_value_t = 20_000)]
    complexity_limit: usize,

    /// Turn off introspection, field suggestions and GraphiQL (for production).
    #[arg(long, env = "BDUF_NO_INTROSPECTION")]
    no_introspection: bool,

    /// Log format.
    #[arg(long, env = "BDUF_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
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

    // Migrations take the migration lock on a connection of their own.
    let migrating = migration::connect(&config.database_url)
        .await
        .with_context(|| format!("connecting to {}", runner::redact(&config.database_url)))?;
    runner::run::<Migrator>(
        &migrating,
        Command::Up { steps: None },
        Duration::from_secs(60),
    )
    .await
    .context("applying migrations")?;
    migrating.close().await.ok();

    let db = Db::connect(
        &config.database_url,
        PoolOptions {
            max_connections: config.max_connections,
            ..PoolOptions::default()
        },
    )
    .await
    .context("opening the connection pool")?;
    if config.demo {
        demo::load(&db).await.context("loading the demo data")?;
    }

    let limits = bduf_graphql::Limits {
        depth: config.depth_limit,
        complexity: config.complexity_limit,
        introspection: !config.no_introspection,
    };
    let app = http::router(db, limits)?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let address = listener.local_addr()?;
    tracing::info!(database = %runner::redact(&config.database_url), "serving GraphQL at http://{address}/graphql");
    println!("bduf: serving GraphQL at http://{address}/graphql");
    axum::serve(listener, app)
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
