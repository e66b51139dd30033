//! The jobs of the server's scheduler, as the server sees them (it reaches the domain
//! through this crate only): each a name and one run over a [`SystemTxn`] — claimed for
//! this server, or skipped when another server of the same database runs it now — that
//! answers how many rows it changed. The rules are the contexts': approvals that approve
//! themselves past `autoApproveAfterHours` (`bduf_governance::schedule`), notifications
//! delivered when their `scheduled_for` comes (`bduf_core::notify::deliver_due`), and
//! `audit_log`'s monthly partitions kept [`AUDIT_MONTHS_AHEAD`] months ahead.

use bduf_core::system::SystemTxn;
use bduf_core::{Db, Result, now};
use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;

/// A job of the scheduler.
#[derive(Clone, Copy)]
pub struct Job {
    /// Its name, in logs and metrics (`bduf_scheduler_*{job="…"}`).
    pub name: &'static str,
    work: for<'a> fn(&'a SystemTxn) -> BoxFuture<'a, Result<u64>>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("name", &self.name).finish()
    }
}

/// What one turn of a job did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// This server ran it, changing this many rows.
    Ran(u64),
    /// Another server was running it: this one skipped its turn.
    Skipped,
}

impl Job {
    /// Runs one turn of the job in a transaction of its own, committed when it succeeds.
    pub async fn run(&self, db: &Db) -> Result<Turn> {
        let Some(run) = SystemTxn::lead(db, self.name).await? else {
            return Ok(Turn::Skipped);
        };
        let changed = (self.work)(&run).await?;
        run.commit().await?;
        Ok(Turn::Ran(changed))
    }
}

/// Every job of the scheduler, in the order a tick runs them.
pub const JOBS: [Job; 3] = [
    Job {
        name: "auto_approve",
        work: |run| {
            async move {
                let approved = bduf_governance::schedule::auto_approve(run, now()).await?;
                Ok(approved.len() as u64)
            }
            .boxed()
        },
    },
    Job {
        name: "deliver_notifications",
        work: |run| bduf_core::notify::deliver_due(run, now()).boxed(),
    },
    Job {
        name: "audit_partitions",
        work: |run| run.keep_audit_partitions(AUDIT_MONTHS_AHEAD).boxed(),
    },
];

/// How many months ahead `audit_log` has its partitions (PostgreSQL).
pub const AUDIT_MONTHS_AHEAD: i32 = 3;
