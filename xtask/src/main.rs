//! `cargo xtask`: the project's build tool. `test` is the test command the README and CI
//! run; `codegen` and `erd` regenerate committed files from the live schema, and with
//! `--check` fail when those files are stale; `seed` fills a database with benchmark data,
//! `bench` measures the server on it (`--writes`: the triggers, `--upgrade`: each migration
//! step on M, both on a scratch database);
//! `migration-lint` checks the SQL of every migration step with squawk.
//!
//! Every command that needs PostgreSQL uses the server its variable names
//! (`BDUF_TEST_DATABASE_URL` for `test`, `DATABASE_URL` for the others) or, when that is
//! unset, a throwaway cluster xtask runs itself in `target/pg` for the length of the
//! command (`cluster`); `postgres` starts that cluster on its own.

mod api;
mod bench;
mod cluster;
mod codegen;
mod erd;
#[cfg(test)]
mod layers;
mod lint;
mod postgres;
mod rules;
mod scratch;
mod seed;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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
    /// The full test suite: runs the managed PostgreSQL cluster (unless
    /// BDUF_TEST_DATABASE_URL names a server), then every test of the workspace on
    /// PostgreSQL and SQLite. Extra arguments go to `cargo test`.
    Test {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        cargo_args: Vec<String>,
    },
    /// Starts the managed PostgreSQL cluster (target/pg) and prints its URL; it runs until
    /// Ctrl-C. With a command, runs it with BDUF_TEST_DATABASE_URL and PG* set to the
    /// cluster, then stops. With BDUF_TEST_DATABASE_URL set, only checks that server.
    Postgres {
        /// Stop the managed cluster now, whichever command started it.
        #[arg(long, conflicts_with = "command")]
        stop: bool,
        /// A command to run against the cluster (`-- cargo test -p xtask`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// Regenerates `entity/` from the live PostgreSQL schema (server: DATABASE_URL, else
    /// the managed cluster).
    Codegen {
        /// Change nothing; fail with a diff if `entity/` is stale.
        #[arg(long)]
        check: bool,
    },
    /// Regenerates `docs/schema.md`, the ER diagram and table reference.
    Erd {
        /// Change nothing; fail with a diff if `docs/schema.md` is stale.
        #[arg(long)]
        check: bool,
    },
    /// Fills a PostgreSQL database with deterministic benchmark data (DATABASE_URL, else
    /// the database bduf_bench of the managed cluster), after applying the migrations.
    Seed {
        /// S ≈ 12k rows, M ≈ 1.1M rows, L ≈ 11M rows.
        #[arg(long, value_enum, ignore_case = true)]
        scale: seed::Scale,
        /// Empty every table first (without it, the database must have no rows).
        #[arg(long)]
        reset: bool,
        /// The random seed: the same scale and seed give the same data.
        #[arg(long, default_value_t = seed::DEFAULT_SEED)]
        seed: u64,
    },
    /// Runs the dashboard suite against the release server and as hand-written SQL on the
    /// seeded database (DATABASE_URL, else the managed cluster's bduf_bench) and writes
    /// docs/benchmarks.md.
    Bench {
        /// Seconds each loaded run lasts (runs alone last half as long).
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Concurrent clients of the loaded runs.
        #[arg(long, default_value_t = 32)]
        clients: usize,
        /// Also run 1,000 concurrent clients for 60 s against the default admission
        /// settings.
        #[arg(long)]
        load: bool,
        /// Run only these queries (Q1, Q2, …) and print, without writing the page.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// Only measure writes — the triggers' overhead, the dependency cycle check, the
        /// critical path — on a scratch database, and write that section of the page.
        #[arg(long)]
        writes: bool,
        /// Only count the release server's instructions per request of each query with
        /// callgrind (valgrind), repeatable where timings are not, and write that section
        /// of the page (BDUF_BENCH_BINARY: count another build, print only).
        #[arg(long)]
        instructions: bool,
        /// Only measure each migration step on M — its time, the locks it holds, the
        /// tables it rewrites — on a scratch database, and write that section of the page.
        #[arg(long)]
        upgrade: bool,
    },
    /// Lints the PostgreSQL statements of every migration step (rendered on a scratch
    /// database: DATABASE_URL, else the managed cluster) with squawk and the project's own
    /// rules; findings not justified in migration/lint-allow.txt fail it.
    MigrationLint {
        /// Lint only the steps whose files were added since this git tag or ref.
        #[arg(long)]
        since: Option<String>,
    },
}

/// Whether a generator writes its files or only compares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Write,
    Check,
}

impl Mode {
    fn from_check(check: bool) -> Self {
        if check { Mode::Check } else { Mode::Write }
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse().command {
        Cmd::Test { cargo_args } => {
            let server = postgres::for_tests()?;
            let env = [(postgres::TEST_URL_VAR, server.url())];
            let mut tally = Tally::default();
            let outcome = cargo_test(
                &["--workspace", "--all-targets"],
                &cargo_args,
                &env,
                &mut tally,
            )
            .and_then(|()| cargo_test(&["--workspace", "--doc"], &[], &env, &mut tally));
            println!(
                "\nxtask: all test binaries together:\n{} passed, {} failed",
                tally.passed, tally.failed
            );
            outcome
        }
        Cmd::Postgres { stop, command } => postgres::run(stop, &command).await,
        Cmd::Codegen { check } => {
            let _server = postgres::for_generators()?;
            codegen::run(Mode::from_check(check)).await
        }
        Cmd::Erd { check } => {
            let _server = postgres::for_generators()?;
            erd::run(Mode::from_check(check)).await
        }
        Cmd::Seed { scale, reset, seed } => seed::run(scale, reset, seed).await,
        Cmd::Bench {
            seconds,
            clients,
            load,
            only,
            writes,
            instructions,
            upgrade,
        } => {
            bench::run(bench::Options {
                seconds,
                clients,
                load,
                only: Vec::leak(only),
                writes,
                instructions,
                upgrade,
            })
            .await
        }
        Cmd::MigrationLint { since } => lint::run(since.as_deref()).await,
    }
}

/// Test counts summed over every `test result:` line cargo prints.
#[derive(Debug, Default)]
struct Tally {
    passed: u64,
    failed: u64,
}

impl Tally {
    /// Adds the counts of a line like `test result: ok. 27 passed; 0 failed; …`.
    fn add_line(&mut self, line: &str) {
        let Some(rest) = line.strip_prefix("test result: ") else {
            return;
        };
        for part in rest.split([';', '.']) {
            let mut words = part.split_whitespace();
            if let (Some(n), Some(what)) = (words.next(), words.next()) {
                match (n.parse::<u64>(), what) {
                    (Ok(n), "passed") => self.passed += n,
                    (Ok(n), "failed") => self.failed += n,
                    _ => {}
                }
            }
        }
    }
}

/// Runs `cargo test <args> <extra>` in the workspace root with `env` added, echoing its
/// output and counting its results; fails if it does.
fn cargo_test(
    args: &[&str],
    extra: &[String],
    env: &[(&str, &str)],
    tally: &mut Tally,
) -> Result<()> {
    use std::io::BufRead as _;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut child = Command::new(&cargo)
        .arg("test")
        .args(args)
        .args(extra)
        .envs(env.iter().copied())
        .current_dir(workspace_root())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {cargo}"))?;
    let stdout = child.stdout.take().expect("piped stdout");
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line?;
        println!("{line}");
        tally.add_line(&line);
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("`cargo test {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

/// The workspace root: the parent of this crate's folder.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_owned()
}

/// Makes `path` hold `contents` (writing mode) or reports whether it does, printing a
/// unified diff when it does not (checking mode). Returns whether it already did.
pub fn ensure_contents(path: &Path, contents: &str, mode: Mode) -> Result<bool> {
    let current = std::fs::read_to_string(path).unwrap_or_default();
    if current == contents {
        return Ok(true);
    }
    let shown = path
        .strip_prefix(workspace_root())
        .unwrap_or(path)
        .display()
        .to_string();
    match mode {
        Mode::Write => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(path, contents).with_context(|| format!("writing {shown}"))?;
            eprintln!("xtask: updated {shown}");
        }
        Mode::Check => {
            let diff = similar::TextDiff::from_lines(current.as_str(), contents);
            eprint!(
                "{}",
                diff.unified_diff()
                    .context_radius(3)
                    .header(&format!("a/{shown}"), &format!("b/{shown} (generated)"))
            );
        }
    }
    Ok(false)
}

/// Formats Rust source with rustfmt (edition 2024), in memory.
pub fn rustfmt(source: &str) -> Result<String> {
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2024", "--emit", "stdout"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running rustfmt (rustup component add rustfmt)")?;
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(source.as_bytes())?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "rustfmt failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8(output.stdout)?)
}

#[cfg(test)]
mod tests {
    use super::{Mode, Tally, ensure_contents};

    #[test]
    fn check_mode_reports_a_hand_edit_and_write_mode_repairs_it() {
        let path = std::env::temp_dir().join(format!("xtask-ensure-{}.rs", std::process::id()));
        std::fs::write(&path, "generated\n// hand edit\n").expect("writing");
        assert!(!ensure_contents(&path, "generated\n", Mode::Check).expect("checking"));
        assert_eq!(
            std::fs::read_to_string(&path).expect("reading"),
            "generated\n// hand edit\n",
            "check changed the file"
        );
        assert!(!ensure_contents(&path, "generated\n", Mode::Write).expect("writing"));
        assert!(ensure_contents(&path, "generated\n", Mode::Check).expect("checking again"));
        std::fs::remove_file(&path).expect("cleaning up");
    }

    #[test]
    fn tally_sums_test_result_lines() {
        let mut tally = Tally::default();
        tally.add_line("test result: ok. 27 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 16.65s");
        tally.add_line(
            "test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out",
        );
        tally.add_line("running 5 tests");
        assert_eq!((tally.passed, tally.failed), (30, 2));
    }
}
