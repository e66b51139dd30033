//! The migration CLI as users run it: `up`, `status`, `down -n 1000`, `up`, against both
//! backends, and the embedded default when `DATABASE_URL` is unset.

use std::path::Path;
use std::process::Command;

use bduf_testkit::{Backend, TestDb};
use migration::{Migrator, MigratorTrait};

use crate::support::on_both_backends;

on_both_backends!(up_down_all_up_and_status);

/// Runs the CLI with `args` in `dir` and returns its standard output; fails if it does.
fn migrate(dir: &Path, url: Option<&str>, args: &[&str]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_migration"));
    cmd.args(args).current_dir(dir).env_remove("DATABASE_URL");
    if let Some(url) = url {
        cmd.env("DATABASE_URL", url);
    }
    let output = cmd.output().expect("running the migration binary");
    assert!(
        output.status.success(),
        "migration {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

/// How many migrations `status` output lists with the given mark.
fn listed(output: &str, mark: &str) -> usize {
    let names: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    output
        .lines()
        .filter(|line| {
            line.trim_start().starts_with(mark) && names.iter().any(|n| line.ends_with(n.as_str()))
        })
        .count()
}

async fn up_down_all_up_and_status(backend: Backend) {
    let db = TestDb::empty(backend).await;
    let url = db.url().to_owned();
    let total = Migrator::migrations().len();
    tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().expect("temporary folder");
        let status = migrate(dir.path(), Some(&url), &["status"]);
        assert_eq!(listed(&status, "pending"), total, "{status}");
        migrate(dir.path(), Some(&url), &["up"]);
        let status = migrate(dir.path(), Some(&url), &["status"]);
        assert_eq!(listed(&status, "applied"), total, "{status}");
        migrate(dir.path(), Some(&url), &["down"]);
        let status = migrate(dir.path(), Some(&url), &["status"]);
        assert_eq!(listed(&status, "applied"), total - 1, "{status}");
        migrate(dir.path(), Some(&url), &["down", "-n", "1000"]);
        let status = migrate(dir.path(), Some(&url), &["status"]);
        assert_eq!(listed(&status, "pending"), total, "{status}");
        migrate(dir.path(), Some(&url), &["up", "-n", "2"]);
        let status = migrate(dir.path(), Some(&url), &["status"]);
        assert_eq!(listed(&status, "applied"), 2, "{status}");
        let status = migrate(dir.path(), Some(&url), &["up"]);
        assert_eq!(listed(&status, "applied"), total, "{status}");
    })
    .await
    .expect("the CLI run");
}

#[test]
fn without_database_url_the_embedded_default_is_created() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let total = Migrator::migrations().len();
    let out = migrate(dir.path(), None, &["up"]);
    assert_eq!(listed(&out, "applied"), total, "{out}");
    assert!(
        dir.path().join("data/bduf.sqlite3").is_file(),
        "the default database file is missing"
    );
    let status = migrate(dir.path(), None, &["status"]);
    assert_eq!(listed(&status, "applied"), total, "{status}");
    migrate(dir.path(), None, &["down", "-n", "1000"]);
    let status = migrate(dir.path(), None, &["status"]);
    assert_eq!(listed(&status, "pending"), total, "{status}");
}
