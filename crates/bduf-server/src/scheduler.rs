//! The scheduler inside the server: every `--scheduler-interval-secs` (60 by default; 0
//! turns it off) it runs each job of [`bduf_graphql::jobs::JOBS`] once, in a
//! transaction of its own. Several servers may share a database: on PostgreSQL each turn
//! of a job is claimed with a transaction-level advisory lock, so one server runs it and
//! the others skip that turn; and the jobs are idempotent, so a turn that follows
//! another's finds nothing left to do. A failed turn is logged and counted, and the
//! next tick tries again.
//!
//! Metrics (`/metrics`): `bduf_scheduler_runs_total{job, outcome}` (`ran`, `skipped`,
//! `failed`), `bduf_scheduler_rows_total{job}` (rows changed),
//! `bduf_scheduler_last_run_timestamp_seconds{job}` (the end of the last turn this
//! server ran) and `bduf_scheduler_run_duration_seconds{job}`.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bduf_core::Db;
use bduf_graphql::jobs::{JOBS, Turn};
use tokio::task::JoinHandle;

/// Starts the scheduler on `db`, ticking every `interval` (the first tick at once); none
/// when `interval` is zero.
pub fn spawn(db: Db, interval: Duration) -> Option<JoinHandle<()>> {
    if interval.is_zero() {
        tracing::info!("scheduler off");
        return None;
    }
    Some(tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            tick(&db).await;
        }
    }))
}

/// Runs every job once.
async fn tick(db: &Db) {
    for job in &JOBS {
        let started = Instant::now();
        let outcome = match job.run(db).await {
            Ok(Turn::Ran(rows)) => {
                metrics::counter!("bduf_scheduler_rows_total", "job" => job.name).increment(rows);
                metrics::gauge!("bduf_scheduler_last_run_timestamp_seconds", "job" => job.name)
                    .set(
                        SystemTime::now()
                            .duration_since(UNIX_EPOCH)
                            .unwrap_or_default()
                            .as_secs_f64(),
                    );
                metrics::histogram!("bduf_scheduler_run_duration_seconds", "job" => job.name)
                    .record(started.elapsed().as_secs_f64());
                if rows > 0 {
                    tracing::info!(job = job.name, rows, "scheduler: job ran");
                }
                "ran"
            }
            Ok(Turn::Skipped) => {
                tracing::debug!(job = job.name, "scheduler: another server runs the job");
                "skipped"
            }
            Err(err) => {
                tracing::warn!(job = job.name, error = %err, "scheduler: job failed");
                "failed"
            }
        };
        metrics::counter!("bduf_scheduler_runs_total", "job" => job.name, "outcome" => outcome)
            .increment(1);
    }
}
