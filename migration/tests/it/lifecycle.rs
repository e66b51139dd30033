//! `fresh`, `refresh` and `reset` leave exactly the schema they promise, and nothing else.

use std::time::Duration;

use bduf_testkit::{Backend, TestDb};
use migration::Migrator;
use migration::runner::{self, Command};

use crate::support::{assert_same_schema, exec, on_both_backends, snapshot, strings};

on_both_backends!(fresh_refresh_and_reset_leave_nothing_behind);

async fn fresh_refresh_and_reset_leave_nothing_behind(backend: Backend) {
    let db = TestDb::empty(backend).await;
    let conn = db.conn();
    let timeout = Duration::from_secs(10);
    let empty = snapshot(conn).await;

    runner::run::<Migrator>(
        conn,
        Command::Up {
            steps: None,
            allow_changed: false,
        },
        timeout,
    )
    .await
    .expect("up");
    let migrated = snapshot(conn).await;
    assert_ne!(empty, migrated);

    // Data must not survive `fresh`.
    exec(conn, "INSERT INTO organizations (id, name, slug) VALUES ('00000000-0000-7000-8000-000000000001', 'Acme', 'acme')")
        .await
        .expect("inserting an organization");
    runner::run::<Migrator>(conn, Command::Fresh, timeout)
        .await
        .expect("fresh");
    assert_same_schema(&migrated, &snapshot(conn).await, "after fresh");
    assert_eq!(crate::support::count(conn, "organizations").await, 0);

    runner::run::<Migrator>(conn, Command::Refresh, timeout)
        .await
        .expect("refresh");
    assert_same_schema(&migrated, &snapshot(conn).await, "after refresh");

    runner::run::<Migrator>(conn, Command::Reset, timeout)
        .await
        .expect("reset");
    assert_same_schema(&empty, &snapshot(conn).await, "after reset");
    if backend == Backend::Postgres {
        let enums = strings(
            conn,
            "SELECT typname::text FROM pg_type WHERE typtype = 'e'",
        )
        .await
        .expect("enums");
        assert!(enums.is_empty(), "enum types left behind: {enums:?}");
        let extensions = strings(
            conn,
            "SELECT extname::text FROM pg_extension WHERE extname <> 'plpgsql'",
        )
        .await
        .expect("extensions");
        assert!(
            extensions.is_empty(),
            "extensions left behind: {extensions:?}"
        );
    }
}
