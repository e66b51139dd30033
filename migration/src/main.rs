//! `cargo run -p migration -- up | down [-n N] | status | fresh | refresh | reset`:
//! the migration CLI, running every command under the migration lock.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use migration::runner::{self, Command};
use migration::{DEFAULT_DATABASE_URL, Migrator};
use tracing_subscriber::EnvFilter;

/// Applies and rolls back the bduf schema migrations.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// The database: `postgres://…` or `sqlite://…`. Unset, the embedded default
    /// (the SQLite file the server uses) is created if missing.
    #[arg(short = 'u', long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    database_url: String,

    /// How long to wait for another migrator to finish, in seconds.
    #[arg(long, default_value_t = 60, global = true)]
    lock_timeout: u64,

    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Apply pending migrations (the default command).
    Up {
        /// Apply only the first N pending migrations.
        #[arg(short = 'n', long)]
        num: Option<u32>,
    },
    /// Roll back applied migrations, newest first.
    Down {
        /// How many to roll back.
        #[arg(short = 'n', long, default_value_t = 1)]
        num: u32,
    },
    /// List every migration and whether it is applied.
    Status,
    /// Drop every table and enum type, then apply all migrations.
    Fresh,
    /// Roll back all applied migrations, then apply all migrations.
    Refresh,
    /// Roll back all applied migrations.
    Reset,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("sea_orm_migration=info,migration=info")),
        )
        .with_target(false)
        .without_time()
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let command = match cli.command.unwrap_or(Cmd::Up { num: None }) {
        Cmd::Up { num } => Command::Up { steps: num },
        Cmd::Down { num } => Command::Down { steps: num },
        Cmd::Status => Command::Status,
        Cmd::Fresh => Command::Fresh,
        Cmd::Refresh => Command::Refresh,
        Cmd::Reset => Command::Reset,
    };
    let outcome: Result<_, migration::MigrateError> = async {
        let db = migration::connect(&cli.database_url).await?;
        let states =
            runner::run::<Migrator>(&db, command, Duration::from_secs(cli.lock_timeout)).await;
        db.close().await?;
        states
    }
    .await;
    match outcome {
        Ok(states) => {
            println!("{}", runner::redact(&cli.database_url));
            for state in states {
                let mark = if state.applied { "applied" } else { "pending" };
                println!("  {mark:<8} {}", state.name);
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
