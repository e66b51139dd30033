//! `cargo run -p migration -- up | down [-n N] | status | validate | fresh | refresh |
//! reset`: the migration CLI, running every command under the migration lock.

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
    /// Apply pending migrations (the default command). Refused when an applied migration
    /// changed since it was applied (see `validate`).
    Up {
        /// Apply only the first N pending migrations.
        #[arg(short = 'n', long)]
        num: Option<u32>,
        /// Apply even though applied migrations changed, and record their new checksums:
        /// the repair once a change is known to be harmless.
        #[arg(long)]
        allow_changed: bool,
    },
    /// Roll back applied migrations, newest first.
    Down {
        /// How many to roll back.
        #[arg(short = 'n', long, default_value_t = 1)]
        num: u32,
    },
    /// List every migration: applied (and whether it changed since), or pending.
    Status,
    /// Check the database's history against the migrations: applied-but-changed,
    /// applied-but-missing and pending ones make it fail (exit code 1).
    Validate,
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
    let command = match cli.command.unwrap_or(Cmd::Up {
        num: None,
        allow_changed: false,
    }) {
        Cmd::Validate => return validate(&cli.database_url).await,
        Cmd::Up { num, allow_changed } => Command::Up {
            steps: num,
            allow_changed,
        },
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
        let report = runner::validate::<Migrator>(&db).await;
        db.close().await?;
        Ok((states?, report?))
    }
    .await;
    match outcome {
        Ok((states, report)) => {
            println!("{}", runner::redact(&cli.database_url));
            for state in states {
                let mark = if report.changed.contains(&state.name) {
                    "changed"
                } else if state.applied {
                    "applied"
                } else {
                    "pending"
                };
                println!("  {mark:<8} {}", state.name);
            }
            for name in &report.missing {
                println!("  {:<8} {name}", "missing");
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// `validate`: prints what differs between the database's history and the migrations,
/// and fails when anything does.
async fn validate(url: &str) -> ExitCode {
    let outcome: Result<_, migration::MigrateError> = async {
        let db = migration::connect(url).await?;
        let report = runner::validate::<Migrator>(&db).await;
        db.close().await?;
        report
    }
    .await;
    match outcome {
        Ok(report) => {
            println!("{}", runner::redact(url));
            for (what, name) in report.findings() {
                println!("  {what}: {name}");
            }
            if report.is_clean() {
                println!("  valid: every migration applied, none changed");
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
