//! The server's own work, on timers: the scheduler's jobs ([`spawn`]) and maintenance
//! ([`spawn_maintenance`]), each in a tokio task of its own.
//!
//! **The scheduler.** Every `--scheduler-interval-secs` (60 by default; 0 turns it off)
//! it runs each job of [`bduf_graphql::jobs::JOBS`] once, in a transaction of its own,
//! the first turn at start. Several servers may share a database: on PostgreSQL each turn
//! of a job is claimed with a transaction-level advisory lock, so one server runs it and
//! the others skip that turn; and the jobs are idempotent, so a turn that follows
//! another's finds nothing left to do. A failed turn is logged and counted, and the
//! next tick tries again. Metrics (`/metrics`): `bduf_scheduler_runs_total{job, outcome}`
//! (`ran`, `skipped`, `failed`), `bduf_scheduler_rows_total{job}` (rows changed),
//! `bduf_scheduler_last_run_timestamp_seconds{job}` (the end of the last turn this
//! server ran) and `bduf_scheduler_run_duration_seconds{job}`.
//!
//! **Maintenance.** Every `--maintenance-interval-secs` (3600 by default; 0 turns it
//! off) the server runs what `bduf maintenance` runs ([`crate::maintenance::run`]), with
//! the settings of the same flags given to the server. The first run comes one interval
//! after start, not at start, so that a server restarted often does not sweep each time
//! (and a test's short-lived server never does); each next run comes one interval after
//! the previous one ended, so runs of one server never overlap. On PostgreSQL a run is
//! claimed first ([`SystemTxn::lead`] on the name `maintenance`: a transaction-level
//! advisory lock): of several servers sharing a database one runs it and the others skip
//! that turn (logged at `debug`). The claiming transaction stays open, idle, while the
//! sweeps run on other connections of the pool, and ends after them, which releases the
//! lock; so a run holds one more connection than its sweeps. On SQLite nothing is
//! claimed: the database is one process's, and [`SystemTxn`]'s transaction there is
//! `IMMEDIATE` — it would hold the write lock the sweeps need. A run logs its own line
//! and records the `bduf_maintenance_*` metrics (see `src/maintenance.rs`), not the
//! scheduler's: `bduf_maintenance_runs_total{outcome}` counts the runs this server made
//! (`ok`, `failed`; a claim that failed counts as `failed`), and a turn skipped for
//! another server counts nowhere; `bduf_maintenance_last_run_timestamp_seconds` is the
//! end of this server's last successful run.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use bduf_core::Db;
use bduf_core::system::SystemTxn;
use bduf_graphql::jobs::{JOBS, Turn};
use sea_orm::DbBackend;
use tokio::task::JoinHandle;

use crate::maintenance;

/// The name maintenance runs are claimed under on PostgreSQL (the advisory lock's key).
const MAINTENANCE: &str = "maintenance";

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

/// Starts maintenance on `db`: a run with `settings` every `interval`, the first one
/// interval from now; none when `interval` is zero.
pub fn spawn_maintenance(
    db: Db,
    interval: Duration,
    settings: maintenance::Settings,
) -> Option<JoinHandle<()>> {
    if interval.is_zero() {
        tracing::info!("maintenance off");
        return None;
    }
    Some(tokio::spawn(async move {
        // A sleep, not an `Interval`: an interval's first tick is at once, and the first
        // run must wait a whole interval; and sleeping after each run keeps one
        // interval of rest between runs however long one takes.
        loop {
            tokio::time::sleep(interval).await;
            maintain(&db, &settings).await;
        }
    }))
}

/// One maintenance turn: on PostgreSQL, claimed for this server first (skipped when
/// another server holds the claim); on SQLite, run at once.
async fn maintain(db: &Db, settings: &maintenance::Settings) {
    if db.backend() != DbBackend::Postgres {
        // `maintenance::run` logs the outcome and records it in the metrics; nothing is
        // left to do with it here.
        let _ = maintenance::run(db.conn(), settings).await;
        return;
    }
    let lead = match SystemTxn::lead(db, MAINTENANCE)
        .await
        .context("claiming the maintenance run")
    {
        Ok(Some(lead)) => lead,
        Ok(None) => {
            tracing::debug!("maintenance: another server runs it");
            return;
        }
        Err(err) => {
            // No run started, so `maintenance::run` neither logged nor counted it: a
            // database that cannot be reached must still show as failed runs.
            tracing::warn!(error = format!("{err:#}"), "maintenance: run failed");
            maintenance::record(&Err(err));
            return;
        }
    };
    // The claim's transaction only holds the advisory lock (READ COMMITTED, no write, so
    // no snapshot or transaction id that would hold back vacuum) while the sweeps run on
    // other connections; it ends after them whatever their outcome, which releases it.
    let _ = maintenance::run(db.conn(), settings).await;
    if let Err(err) = lead.commit().await {
        // The run itself is over and counted; a claim that could not be ended cleanly
        // (its connection lost, say) is released by the database with that connection.
        tracing::warn!(error = %err, "maintenance: ending the run's claim failed");
    }
}
