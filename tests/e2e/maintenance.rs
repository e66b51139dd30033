//! `bduf maintenance` on both backends: the command sweeps ended sessions, spent
//! idempotency keys, expired sign-in throttle rows and old read notifications, prints
//! what it removed, touches no audit row without `--audit-retention-days`, archives
//! exactly the old ones with it, and changes nothing when run again. The server runs the
//! same sweeps every `--maintenance-interval-secs`, the first one interval after start,
//! and counts them in `/metrics`. (The sweeps themselves, at sizes that loop over
//! batches, are `bduf-core`'s `tests/it/maintenance.rs`.)

use std::path::Path;
use std::time::{Duration as Wait, Instant};

use bduf_fixture::{CollaborationRole as Role, Fixture, insert_all};
use bduf_testkit::{Backend, TestDb};
use chrono::{DateTime, Duration, FixedOffset, Utc};
use entity::{audit_log, notifications, sign_in_failures, user_sessions};
use migration::Migrator;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

use crate::Server;
use crate::backup::bduf;

bduf_testkit::on_both_backends!(
    maintenance_sweeps_archives_only_when_asked_and_repeats_as_a_no_op,
    the_server_sweeps_after_one_interval_and_counts_its_runs,
);

fn ago(d: Duration) -> DateTime<FixedOffset> {
    (Utc::now() - d).fixed_offset()
}

/// The command's output, checked for its exit code.
fn run(url: &str, args: &[&str], code: i32) -> String {
    let out = bduf(url, args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(code), "bduf {args:?}:\n{text}");
    text
}

/// The count the report prints for `sweep`.
fn count(report: &str, sweep: &str) -> String {
    let prefix = format!("bduf: maintenance: {sweep}: ");
    report
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {sweep} in:\n{report}"))
        .to_owned()
}

async fn audit_rows(conn: &DatabaseConnection) -> u64 {
    audit_log::Entity::find().count(conn).await.expect("count")
}

/// Writes a member's plan-less organization and, of each swept kind, rows past their
/// cutoff and rows within it; `old_audit` audit rows 100 days old.
// `created_at` of `audit_log` is NOT NULL once the table is partitioned (migration step
// 21) and optional before: `.into()` fits both.
#[allow(clippy::useless_conversion)]
async fn fill(conn: &DatabaseConnection, old_audit: usize) {
    let mut f = Fixture::new(conn);
    let org = f.organization(|_| {});
    let [user] = f.members(org, [Role::Owner]);
    for (read_at, is_read) in [(Some(ago(Duration::days(40))), true), (None, false)] {
        for _ in 0..3 {
            f.notification(org, user, "mention", "Hello", |n| {
                n.is_read = Set(Some(is_read));
                n.read_at = Set(read_at);
            });
        }
    }
    f.insert().await.expect("the fixture");
    let sessions: Vec<_> = [
        (ago(Duration::days(10)), None),
        (ago(Duration::days(-10)), Some(ago(Duration::days(9)))),
        (ago(Duration::days(-10)), None),
    ]
    .into_iter()
    .map(|(expires, revoked)| user_sessions::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user),
        token_hash: Set(format!("{:0>64}", Uuid::now_v7().simple())),
        created_at: NotSet,
        expires_at: Set(expires),
        last_used_at: Set(None),
        revoked_at: Set(revoked),
        user_agent: Set(None),
        ip_address: Set(None),
    })
    .collect();
    insert_all(conn, sessions).await.expect("sessions");
    let failures: Vec<_> = [("ip:192.0.2.1", 2), ("ip:192.0.2.2", 0)]
        .into_iter()
        .map(|(key, hours)| sign_in_failures::ActiveModel {
            key: Set(key.to_owned()),
            failures: Set(1),
            first_failed_at: Set(ago(Duration::hours(hours))),
            last_failed_at: Set(ago(Duration::hours(hours))),
        })
        .collect();
    insert_all(conn, failures).await.expect("sign-in failures");
    // Old audit rows, numbered after the organization's changes so far.
    let last = audit_log::Entity::find()
        .filter(audit_log::Column::OrganizationId.eq(org))
        .count(conn)
        .await
        .expect("count");
    let old: Vec<_> = (1..=old_audit as i64)
        .map(|i| audit_log::ActiveModel {
            id: Set(Uuid::new_v4()),
            table_name: Set("projects".to_owned()),
            record_id: Set(Uuid::new_v4()),
            operation: Set("INSERT".to_owned()),
            user_id: Set(Some(user)),
            session_id: Set(None),
            old_values: Set(None),
            new_values: Set(Some(serde_json::json!({"name": format!("p{i}")}))),
            changed_fields: Set(None),
            change_reason: Set(None),
            client_ip: Set(None),
            user_agent: Set(None),
            created_at: Set(ago(Duration::days(100)).into()),
            organization_id: Set(org),
            seq: Set(1_000 + i64::try_from(last).expect("a count") + i),
            request_id: Set(None),
            source: Set("api".to_owned()),
        })
        .collect();
    insert_all(conn, old).await.expect("old audit rows");
}

/// Without a retention the command sweeps and leaves every audit row (it adds the record
/// of the notifications it deleted); with one it archives exactly the old rows to a file
/// in the folder; a second run removes nothing and writes no file. A retention without a
/// folder is refused before anything runs.
async fn maintenance_sweeps_archives_only_when_asked_and_repeats_as_a_no_op(backend: Backend) {
    let db = TestDb::migrated::<Migrator>(backend).await;
    let conn = db.conn();
    fill(conn, 25).await;
    let url = db.url();

    let refused = run(url, &["maintenance", "--audit-retention-days", "90"], 2);
    assert!(refused.contains("--audit-archive-dir"), "{refused}");

    let before = audit_rows(conn).await;
    let report = run(url, &["maintenance"], 0);
    assert_eq!(count(&report, "sessions"), "2");
    assert_eq!(count(&report, "sign_in_failures"), "1");
    assert_eq!(count(&report, "notifications"), "3");
    assert_eq!(count(&report, "idempotency_keys"), "0");
    assert_eq!(
        count(&report, "audit_archived"),
        "off (no --audit-retention-days)"
    );
    assert_eq!(audit_rows(conn).await, before + 3, "one DELETE record each");
    assert_eq!(
        user_sessions::Entity::find().count(conn).await.expect("n"),
        1
    );

    let dir = tempfile::tempdir().expect("an archive folder");
    let archive_dir = dir.path().join("audit");
    let folder = archive_dir.to_str().expect("a UTF-8 path");
    let args = [
        "maintenance",
        "--audit-retention-days",
        "90",
        "--audit-archive-dir",
        folder,
    ];
    let report = run(url, &args, 0);
    let archived = count(&report, "audit_archived");
    assert!(archived.starts_with("25 (to "), "{report}");
    assert_eq!(count(&report, "sessions"), "0");
    let files = files(&archive_dir);
    assert_eq!(files.len(), 1);
    let lines = std::fs::read_to_string(&files[0]).expect("the archive");
    assert_eq!(lines.lines().count(), 25);
    assert_eq!(audit_rows(conn).await, before + 3 - 25);

    let report = run(url, &args, 0);
    for sweep in [
        "sessions",
        "idempotency_keys",
        "sign_in_failures",
        "notifications",
        "audit_archived",
    ] {
        assert_eq!(count(&report, sweep), "0", "{report}");
    }
    assert_eq!(self::files(&archive_dir).len(), 1);
    assert_eq!(audit_rows(conn).await, before + 3 - 25);
}

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .expect("the archive folder")
        .map(|entry| entry.expect("an entry").path())
        .collect()
}

/// The sessions and the notifications in the database: what the server's runs sweep.
async fn swept_tables(conn: &DatabaseConnection) -> (u64, u64) {
    let sessions = user_sessions::Entity::find()
        .count(conn)
        .await
        .expect("count sessions");
    let notifications = notifications::Entity::find()
        .count(conn)
        .await
        .expect("count notifications");
    (sessions, notifications)
}

/// `server`'s `/metrics` text.
async fn metrics_text(server: &Server) -> String {
    let response = reqwest::get(server.url("/metrics"))
        .await
        .expect("GET /metrics");
    assert!(response.status().is_success(), "GET /metrics: {response:?}");
    response.text().await.expect("a body")
}

/// The value of the sample `sample` (a metric's name and labels, as `/metrics` writes
/// them) in `text`, if it is there.
fn sample(text: &str, sample: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(sample)?.strip_prefix(' ')?.parse().ok())
}

/// A server with the default flags has run no maintenance once it answers: the first run
/// waits a whole interval (an hour). One started with `--maintenance-interval-secs 0.5`
/// sweeps the two ended sessions and the three old read notifications on its own — the
/// database is polled until they are gone, up to a deadline that only bounds a hung test
/// — and its `/metrics` then counts a successful run.
async fn the_server_sweeps_after_one_interval_and_counts_its_runs(backend: Backend) {
    let db = TestDb::migrated::<Migrator>(backend).await;
    let conn = db.conn();
    // The organization `fill` writes keeps `--demo` (which `Server::start` passes) from
    // loading the demo, so the tables hold only the rows counted here.
    fill(conn, 0).await;
    let (sessions, notifications) = swept_tables(conn).await;
    assert!(
        sessions >= 3 && notifications >= 6,
        "{sessions}, {notifications}"
    );
    let swept = (sessions - 2, notifications - 3);

    let idle = Server::start(Some(db.url()), &[]);
    let text = metrics_text(&idle).await;
    assert_eq!(
        swept_tables(conn).await,
        (sessions, notifications),
        "no run at start"
    );
    assert_eq!(
        sample(&text, r#"bduf_maintenance_runs_total{outcome="ok"}"#),
        None,
        "no run counted at start:\n{text}"
    );
    drop(idle);

    let server = Server::start(
        Some(db.url()),
        &[
            "--maintenance-interval-secs",
            "0.5",
            "--scheduler-interval-secs",
            "0",
        ],
    );
    let deadline = Instant::now() + Wait::from_secs(30);
    loop {
        let left = swept_tables(conn).await;
        if left == swept {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "after 30 s the server's maintenance left (sessions, notifications) {left:?}, \
             expected {swept:?}"
        );
        tokio::time::sleep(Wait::from_millis(100)).await;
    }
    let text = metrics_text(&server).await;
    let runs = sample(&text, r#"bduf_maintenance_runs_total{outcome="ok"}"#)
        .unwrap_or_else(|| panic!("no successful run counted:\n{text}"));
    assert!(runs >= 1.0, "{runs}");
    assert_eq!(
        sample(&text, r#"bduf_maintenance_runs_total{outcome="failed"}"#),
        None,
        "no failed run:\n{text}"
    );
    // Later runs find nothing left, and the row within each cutoff stays.
    tokio::time::sleep(Wait::from_secs(1)).await;
    assert_eq!(swept_tables(conn).await, swept);
}
