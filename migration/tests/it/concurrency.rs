//! Two migrator processes started at the same moment: each migration is applied exactly
//! once and both exit successfully.

use std::process::{Command, Output, Stdio};

use bduf_testkit::{Backend, TestDb};
use migration::{Migrator, MigratorTrait};

use crate::support::{ledger, on_both_backends};

on_both_backends!(two_migrators_at_once_apply_each_migration_once);

fn spawn_up(url: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_migration"))
        .args(["up", "--lock-timeout", "120"])
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "sea_orm_migration=info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the migration binary")
}

async fn two_migrators_at_once_apply_each_migration_once(backend: Backend) {
    let db = TestDb::empty(backend).await;
    let url = db.url().to_owned();
    let outputs: Vec<Output> = tokio::task::spawn_blocking(move || {
        let children = [spawn_up(&url), spawn_up(&url)];
        children.map(|c| c.wait_with_output().expect("waiting for a migrator"))
    })
    .await
    .expect("joining the migrators")
    .into();

    let mut logs = String::new();
    for output in &outputs {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "a migrator failed: {stderr}");
        logs.push_str(&stderr);
    }
    for migration in Migrator::migrations() {
        let applied = format!("Applying migration '{}'", migration.name());
        assert_eq!(
            logs.matches(&applied).count(),
            1,
            "{applied} not exactly once in:\n{logs}"
        );
    }
    let names: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    assert_eq!(ledger(db.conn()).await, names);
}
