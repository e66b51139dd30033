//! The scheduler inside the server, with two servers on one PostgreSQL database: an
//! approval past its `autoApproveAfterHours` is approved once — one audited change, one
//! notification of its requester, one row in the two servers' metrics together — and a
//! notification scheduled for a past instant is delivered.

use std::time::{Duration, Instant};

use bduf_testkit::{Backend, TestDb};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use crate::Server;

/// One number read with `sql` (a single `bigint` column `n`).
async fn number(conn: &DatabaseConnection, sql: &str) -> i64 {
    conn.query_one_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .expect(sql)
        .expect("a row")
        .try_get("", "n")
        .expect("a number")
}

/// The sum of `metric`'s samples on `server`'s `/metrics`.
async fn metric(server: &Server, metric: &str) -> f64 {
    let text = reqwest::get(server.url("/metrics"))
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("a body");
    text.lines()
        .filter(|line| line.starts_with(metric))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn two_servers_auto_approve_once_and_deliver_due_notifications() {
    let db = TestDb::empty(Backend::Postgres).await;
    let tick = ["--scheduler-interval-secs", "0.2"];
    let first = Server::start(Some(db.url()), &tick);
    let second = Server::start(Some(db.url()), &tick);
    let conn = db.conn();
    // Every pending approval of the demo falls due, by plain SQL (audited too).
    let due = number(
        conn,
        "SELECT count(*) AS n FROM approvals WHERE status = 'pending'",
    )
    .await;
    assert!(due > 0, "the demo has pending approvals");
    conn.execute_unprepared(
        "UPDATE approvals SET auto_approve_after_hours = 1, \
         created_at = now() - interval '2 hours' WHERE status = 'pending'; \
         UPDATE notifications SET delivered_at = NULL, delivery_method = 'in-app', \
         scheduled_for = now() - interval '1 minute' \
         WHERE id = (SELECT id FROM notifications ORDER BY id LIMIT 1)",
    )
    .await
    .expect("approvals due, a notification to deliver");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = number(
            conn,
            "SELECT (SELECT count(*) FROM approvals WHERE status = 'pending') + \
                    (SELECT count(*) FROM notifications WHERE delivered_at IS NULL \
                     AND delivery_method = 'in-app' AND scheduled_for <= now()) AS n",
        )
        .await;
        if left == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the scheduler left {left} rows undone in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Let both servers take a few more turns: nothing may happen twice.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let approved = number(
        conn,
        "SELECT count(*) AS n FROM approvals \
         WHERE status = 'approved' AND decision_rationale LIKE 'Approved automatically%'",
    )
    .await;
    assert_eq!(approved, due);
    let changes = number(
        conn,
        "SELECT count(*) AS n FROM audit_log WHERE table_name = 'approvals' \
         AND operation = 'UPDATE' AND changed_fields ? 'status' \
         AND user_agent = 'bduf scheduler'",
    )
    .await;
    assert_eq!(changes, due, "one audited change per approval");
    let told = number(
        conn,
        "SELECT count(*) AS n FROM notifications WHERE type = 'approval_decided'",
    )
    .await;
    assert_eq!(told, due, "one notification per approval");
    let rows = metric(&first, "bduf_scheduler_rows_total{job=\"auto_approve\"}").await
        + metric(&second, "bduf_scheduler_rows_total{job=\"auto_approve\"}").await;
    assert_eq!(
        rows, due as f64,
        "the servers' metrics count each approval once"
    );
    for server in [&first, &second] {
        let turns = metric(server, "bduf_scheduler_runs_total{job=\"auto_approve\"").await;
        assert!(turns >= 2.0, "each server takes turns ({turns})");
    }
    // Each delivery once: the servers' count is the audit trail's.
    let delivered = metric(
        &first,
        "bduf_scheduler_rows_total{job=\"deliver_notifications\"}",
    )
    .await
        + metric(
            &second,
            "bduf_scheduler_rows_total{job=\"deliver_notifications\"}",
        )
        .await;
    let audited = number(
        conn,
        "SELECT count(*) AS n FROM audit_log WHERE table_name = 'notifications' \
         AND operation = 'UPDATE' AND changed_fields ? 'delivered_at' \
         AND user_agent = 'bduf scheduler'",
    )
    .await;
    assert!(delivered >= 1.0, "the notification made due was delivered");
    assert_eq!(delivered, audited as f64);
}
