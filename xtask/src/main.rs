//! `cargo xtask`: the project's build tool. `cargo xtask test` is the test command the
//! README and CI run.

mod postgres;

use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(about = "bduf's build tool")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// The full test suite: makes sure PostgreSQL is up, then runs every test of the
    /// workspace on PostgreSQL and SQLite. Extra arguments go to `cargo test`.
    Test {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        cargo_args: Vec<String>,
    },
    /// Makes sure the test PostgreSQL server is reachable, starting it if it is down.
    Postgres,
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Cmd::Test { cargo_args } => {
            postgres::ensure_running()?;
            cargo(&["test", "--workspace", "--all-targets"], &cargo_args)?;
            cargo(&["test", "--workspace", "--doc"], &[])
        }
        Cmd::Postgres => postgres::ensure_running(),
    }
}

/// Runs `cargo <args> <extra>` in the workspace root and fails if it does.
fn cargo(args: &[&str], extra: &[String]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(&cargo)
        .args(args)
        .args(extra)
        .current_dir(workspace_root())
        .status()
        .with_context(|| format!("running {cargo}"))?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

/// The workspace root: the parent of this crate's folder.
fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_owned()
}
