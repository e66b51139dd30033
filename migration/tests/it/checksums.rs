//! The ledger's checksums, on both backends: every applied step's is recorded; a step
//! edited after it was applied, a step the migrations no longer have, and pending steps
//! are what `validate` reports; `up` refuses a changed history unless `--allow-changed`
//! (which records the new checksum); a ledger from before checksums gets its column and
//! its checksums on the next `up`; and the CLI's `validate` fails when anything differs.

use std::process::Command as Process;
use std::time::Duration;

use bduf_testkit::{Backend, TestDb};
use migration::runner::{self, Command, History, MigrateError};
use migration::{Migrator, MigratorTrait};

use crate::support::{exec, on_both_backends, strings};

on_both_backends!(
    a_changed_history_is_found_and_up_refuses_it,
    validate_fails_from_the_command_line_when_the_history_differs,
);

const WAIT: Duration = Duration::from_secs(10);

fn up(allow_changed: bool) -> Command {
    Command::Up {
        steps: None,
        allow_changed,
    }
}

async fn a_changed_history_is_found_and_up_refuses_it(backend: Backend) {
    let db = TestDb::empty(backend).await;
    let conn = db.conn();
    runner::run::<Migrator>(conn, up(false), WAIT)
        .await
        .expect("up");
    let names: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    // Every step's checksum is its source's.
    let recorded = strings(
        conn,
        "SELECT version || ' ' || checksum FROM seaql_migrations ORDER BY version",
    )
    .await
    .expect("the ledger");
    let expected: Vec<String> = Migrator::sources()
        .iter()
        .map(|(name, source)| format!("{name} {}", runner::checksum(source)))
        .collect();
    assert_eq!(recorded, expected);
    let report = runner::validate::<Migrator>(conn).await.expect("validate");
    assert!(
        report.is_clean() && report.unrecorded.is_empty(),
        "{report:?}"
    );

    // A step edited after it was applied (its recorded checksum no longer its source's).
    let first = &names[0];
    exec(
        conn,
        &format!("UPDATE seaql_migrations SET checksum = 'edited' WHERE version = '{first}'"),
    )
    .await
    .expect("editing the history");
    let report = runner::validate::<Migrator>(conn).await.expect("validate");
    assert_eq!(report.changed, std::slice::from_ref(first));
    assert!(!report.is_clean());
    let refused = runner::run::<Migrator>(conn, up(false), WAIT)
        .await
        .expect_err("up refuses a changed history");
    assert!(
        matches!(&refused, MigrateError::Changed(names) if names.as_slice() == std::slice::from_ref(first)),
        "{refused}"
    );
    assert!(refused.to_string().contains("--allow-changed"), "{refused}");
    runner::run::<Migrator>(conn, up(true), WAIT)
        .await
        .expect("up --allow-changed");
    assert!(
        runner::validate::<Migrator>(conn)
            .await
            .expect("validate")
            .is_clean()
    );

    // A step the migrations do not have, and a pending one.
    exec(
        conn,
        "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m20990101_000001_gone', 0)",
    )
    .await
    .expect("a ledger row of an unknown step");
    let report = runner::validate::<Migrator>(conn).await.expect("validate");
    assert_eq!(report.missing, ["m20990101_000001_gone"]);
    exec(
        conn,
        "DELETE FROM seaql_migrations WHERE version = 'm20990101_000001_gone'",
    )
    .await
    .expect("the row gone");
    runner::run::<Migrator>(conn, Command::Down { steps: 1 }, WAIT)
        .await
        .expect("down");
    let report = runner::validate::<Migrator>(conn).await.expect("validate");
    assert_eq!(report.pending, [names[names.len() - 1].clone()]);

    // A ledger from before checksums: no column. It is added, and every checksum
    // recorded, by the next `up`.
    exec(conn, "ALTER TABLE seaql_migrations DROP COLUMN checksum")
        .await
        .expect("an old ledger");
    let report = runner::validate::<Migrator>(conn).await.expect("validate");
    assert_eq!(report.unrecorded.len(), names.len() - 1, "{report:?}");
    runner::run::<Migrator>(conn, up(false), WAIT)
        .await
        .expect("up");
    let report = runner::validate::<Migrator>(conn).await.expect("validate");
    assert!(
        report.is_clean() && report.unrecorded.is_empty(),
        "{report:?}"
    );
}

async fn validate_fails_from_the_command_line_when_the_history_differs(backend: Backend) {
    let db = TestDb::empty(backend).await;
    let url = db.url().to_owned();
    runner::run::<Migrator>(db.conn(), up(false), WAIT)
        .await
        .expect("up");
    let validate = move || {
        let output = Process::new(env!("CARGO_BIN_EXE_migration"))
            .args(["validate"])
            .env("DATABASE_URL", &url)
            .output()
            .expect("running the migration binary");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };
    let check = validate.clone();
    let (ok, out) = tokio::task::spawn_blocking(check).await.expect("validate");
    assert!(ok, "{out}");
    assert!(out.contains("valid"), "{out}");
    let name = Migrator::migrations()[2].name().to_owned();
    exec(
        db.conn(),
        &format!("UPDATE seaql_migrations SET checksum = 'edited' WHERE version = '{name}'"),
    )
    .await
    .expect("editing the history");
    let (ok, out) = tokio::task::spawn_blocking(validate)
        .await
        .expect("validate");
    assert!(!ok, "validate passes a changed history: {out}");
    assert!(
        out.contains(&format!("changed since applied: {name}")),
        "{out}"
    );
}
