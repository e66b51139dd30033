//! `bduf maintenance`, and the same run for the server, every
//! `--maintenance-interval-secs` (`src/scheduler.rs`, [`run`]): removes
//! what is of no further use — sessions ended (expired or revoked) more than a grace
//! period ago, idempotency keys older than a day, sign-in throttle rows whose window has
//! passed, notifications read more than an age ago — and, only when a retention is
//! given, moves audit rows older than it to an NDJSON archive file (written and
//! `fsync`ed before the rows are deleted; never deleted otherwise). The sweeps are
//! `bduf_core::maintenance`'s: batches of 5,000 rows, each its own transaction, run by
//! the database's owner (the `DATABASE_URL` role), with what that means under row-level
//! security documented there. A run is idempotent: the next finds nothing left.
//!
//! Each run logs one structured line (`maintenance: run finished`, a field per count)
//! and records itself in the metrics `/metrics` serves:
//! `bduf_maintenance_runs_total{outcome}` (`ok`, `failed`),
//! `bduf_maintenance_rows_total{sweep}` (rows removed, summed over runs),
//! `bduf_maintenance_last_run_rows{sweep}`, `bduf_maintenance_last_run_timestamp_seconds`
//! and `bduf_maintenance_last_run_duration_seconds` (the last successful run).

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use bduf_core::maintenance::{self as sweeps, IDEMPOTENCY_KEY_AGE, SIGN_IN_FAILURE_AGE};
use bduf_core::now;
use sea_orm::DatabaseConnection;

/// Hours after a session ended (expired or revoked) before it is deleted, by default.
pub const DEFAULT_SESSION_GRACE_HOURS: u64 = 7 * 24;

/// Days after a notification was read before it is deleted, by default.
pub const DEFAULT_NOTIFICATION_AGE_DAYS: u64 = 30;

/// What a run keeps and removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// How long an ended session is kept (to show recent sign-outs and expiries).
    pub session_grace: Duration,
    /// How long a read notification is kept after it was read.
    pub notification_age: Duration,
    /// Audit rows older than this are archived and deleted; `None` (the default) keeps
    /// every audit row.
    pub audit_retention: Option<Duration>,
    /// Where archive files go; required with `audit_retention`.
    pub audit_archive_dir: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            session_grace: hours(DEFAULT_SESSION_GRACE_HOURS),
            notification_age: days(DEFAULT_NOTIFICATION_AGE_DAYS),
            audit_retention: None,
            audit_archive_dir: None,
        }
    }
}

/// What a run removed, and how long it took.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Ended sessions deleted.
    pub sessions: u64,
    /// Idempotency keys deleted.
    pub idempotency_keys: u64,
    /// `sign_in_failures` rows deleted.
    pub sign_in_failures: u64,
    /// Read notifications deleted.
    pub notifications: u64,
    /// Audit rows archived, then deleted.
    pub audit_archived: u64,
    /// The archive file this run wrote, when it archived anything.
    pub audit_file: Option<PathBuf>,
    /// Whether audit archival was on (a retention was given).
    pub audit_archival: bool,
    /// How long the run took.
    pub elapsed: Duration,
}

impl Report {
    /// Each sweep's name (the `sweep` label of the metrics) and its count.
    pub fn counts(&self) -> [(&'static str, u64); 5] {
        [
            ("sessions", self.sessions),
            ("idempotency_keys", self.idempotency_keys),
            ("sign_in_failures", self.sign_in_failures),
            ("notifications", self.notifications),
            ("audit_archived", self.audit_archived),
        ]
    }
}

/// The flags of `bduf maintenance`, and the same flags of the server for its own runs
/// (flattened into its configuration: a flag of the server and one of the subcommand are
/// separate, as neither is `global`). Each reads the same environment variable in both,
/// so one deployment's settings apply to either way of running it.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Hours an ended (expired or revoked) session is kept before it is deleted.
    #[arg(
        long,
        value_name = "N",
        env = "BDUF_SESSION_GRACE_HOURS",
        default_value_t = DEFAULT_SESSION_GRACE_HOURS
    )]
    session_grace_hours: u64,
    /// Days a read notification is kept after it was read.
    #[arg(
        long,
        value_name = "N",
        env = "BDUF_NOTIFICATION_AGE_DAYS",
        default_value_t = DEFAULT_NOTIFICATION_AGE_DAYS
    )]
    notification_age_days: u64,
    /// Archive, then delete, audit rows older than N days (with --audit-archive-dir).
    /// Without it no audit row is touched.
    #[arg(
        long,
        value_name = "N",
        env = "BDUF_AUDIT_RETENTION_DAYS",
        requires = "audit_archive_dir"
    )]
    audit_retention_days: Option<u64>,
    /// The folder the audit archive files (NDJSON, one per run) are written to.
    #[arg(
        long,
        value_name = "DIR",
        env = "BDUF_AUDIT_ARCHIVE_DIR",
        requires = "audit_retention_days"
    )]
    audit_archive_dir: Option<PathBuf>,
}

impl From<Args> for Settings {
    fn from(args: Args) -> Self {
        Self {
            session_grace: hours(args.session_grace_hours),
            notification_age: days(args.notification_age_days),
            audit_retention: args.audit_retention_days.map(days),
            audit_archive_dir: args.audit_archive_dir,
        }
    }
}

/// `bduf maintenance`: one run against the database at `url`, its report printed.
pub async fn command(args: Args, url: &str) -> Result<()> {
    let db = migration::connect(url)
        .await
        .with_context(|| format!("connecting to {}", migration::runner::redact(url)))?;
    let report = run(&db, &Settings::from(args)).await;
    db.close().await.ok();
    let report = report?;
    for (sweep, rows) in report.counts() {
        match sweep {
            "audit_archived" if !report.audit_archival => {
                println!("bduf: maintenance: audit_archived: off (no --audit-retention-days)");
            }
            "audit_archived" => match &report.audit_file {
                Some(file) => println!(
                    "bduf: maintenance: audit_archived: {rows} (to {})",
                    file.display()
                ),
                None => println!("bduf: maintenance: audit_archived: {rows}"),
            },
            _ => println!("bduf: maintenance: {sweep}: {rows}"),
        }
    }
    println!(
        "bduf: maintenance: done in {:.1} s",
        report.elapsed.as_secs_f64()
    );
    Ok(())
}

/// One maintenance run on `db` (a connection as the database's owner): every sweep, in
/// turn, then the audit archive when `settings` give a retention. Logs the outcome and
/// records it in the metrics.
pub async fn run(db: &DatabaseConnection, settings: &Settings) -> Result<Report> {
    let started = Instant::now();
    let outcome = sweep_all(db, settings, started).await;
    match &outcome {
        Ok(report) => tracing::info!(
            sessions = report.sessions,
            idempotency_keys = report.idempotency_keys,
            sign_in_failures = report.sign_in_failures,
            notifications = report.notifications,
            audit_archived = report.audit_archived,
            audit_file = report.audit_file.as_ref().map(|f| f.display().to_string()),
            elapsed_ms = u64::try_from(report.elapsed.as_millis()).unwrap_or(u64::MAX),
            "maintenance: run finished"
        ),
        Err(err) => tracing::warn!(error = format!("{err:#}"), "maintenance: run failed"),
    }
    record(&outcome);
    outcome
}

async fn sweep_all(
    db: &DatabaseConnection,
    settings: &Settings,
    started: Instant,
) -> Result<Report> {
    let archive = match (settings.audit_retention, &settings.audit_archive_dir) {
        (Some(retention), Some(dir)) => Some((retention, dir)),
        (None, _) => None,
        (Some(_), None) => bail!("an audit retention needs an archive folder"),
    };
    let now = now();
    let ago = |d: Duration| -> Result<_> {
        let d = chrono::Duration::from_std(d).context("a duration too long")?;
        now.checked_sub_signed(d)
            .context("a duration reaching before the calendar")
    };
    let reach = sweeps::reach(db).await?;
    let mut report = Report {
        sessions: sweeps::sweep_sessions(db, ago(settings.session_grace)?)
            .await
            .context("sweeping sessions")?,
        idempotency_keys: sweeps::sweep_idempotency_keys(db, ago(IDEMPOTENCY_KEY_AGE)?, reach)
            .await
            .context("sweeping idempotency keys")?,
        sign_in_failures: sweeps::sweep_sign_in_failures(db, ago(SIGN_IN_FAILURE_AGE)?)
            .await
            .context("sweeping sign-in failures")?,
        notifications: sweeps::sweep_read_notifications(db, ago(settings.notification_age)?, reach)
            .await
            .context("sweeping read notifications")?,
        audit_archival: archive.is_some(),
        ..Report::default()
    };
    if let Some((retention, dir)) = archive {
        let archived = sweeps::archive_audit(db, ago(retention)?, dir)
            .await
            .context("archiving audit rows")?;
        report.audit_archived = archived.rows;
        report.audit_file = archived.file;
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Records a run's outcome in the metrics (no-ops where no recorder is installed, as in
/// `bduf maintenance`). [`run`] records its own; the server's scheduler records, as a
/// failed run, one it could not claim (`src/scheduler.rs`).
pub(crate) fn record(outcome: &Result<Report>) {
    let Ok(report) = outcome else {
        metrics::counter!("bduf_maintenance_runs_total", "outcome" => "failed").increment(1);
        return;
    };
    metrics::counter!("bduf_maintenance_runs_total", "outcome" => "ok").increment(1);
    for (sweep, rows) in report.counts() {
        metrics::counter!("bduf_maintenance_rows_total", "sweep" => sweep).increment(rows);
        metrics::gauge!("bduf_maintenance_last_run_rows", "sweep" => sweep).set(rows as f64);
    }
    metrics::gauge!("bduf_maintenance_last_run_timestamp_seconds").set(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64(),
    );
    metrics::gauge!("bduf_maintenance_last_run_duration_seconds").set(report.elapsed.as_secs_f64());
}

fn hours(n: u64) -> Duration {
    Duration::from_secs(n.saturating_mul(3600))
}

fn days(n: u64) -> Duration {
    hours(n.saturating_mul(24))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use metrics_exporter_prometheus::PrometheusBuilder;

    use super::{Report, record};

    /// `/metrics` shows the last run: when it ended, how long it took and what each sweep
    /// removed, besides the totals; a failed run is counted as one.
    #[test]
    fn the_last_run_shows_in_the_metrics() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let report = Report {
            sessions: 6_050,
            notifications: 3,
            elapsed: Duration::from_millis(1_500),
            ..Report::default()
        };
        metrics::with_local_recorder(&recorder, || {
            record(&Ok(report));
            record(&Err(anyhow::anyhow!("the database went away")));
        });
        let text = handle.render();
        for line in [
            r#"bduf_maintenance_runs_total{outcome="ok"} 1"#,
            r#"bduf_maintenance_runs_total{outcome="failed"} 1"#,
            r#"bduf_maintenance_rows_total{sweep="sessions"} 6050"#,
            r#"bduf_maintenance_last_run_rows{sweep="notifications"} 3"#,
            r#"bduf_maintenance_last_run_rows{sweep="audit_archived"} 0"#,
            "bduf_maintenance_last_run_duration_seconds 1.5",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from:\n{text}"
            );
        }
        let stamp: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("bduf_maintenance_last_run_timestamp_seconds "))
            .and_then(|v| v.parse().ok())
            .expect("the last run's time");
        assert!(stamp > 1.7e9, "{stamp}");
    }
}
