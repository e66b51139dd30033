//! Work the server does on its own rather than for a request: the scheduler's jobs
//! (`bduf-server`'s `scheduler`). Each run of a job is one [`SystemTxn`]: a transaction
//! that first claims the job for this server — on PostgreSQL a transaction-level
//! advisory lock named after the job (`pg_try_advisory_xact_lock`), so of several servers
//! sharing a database one runs the job at a time and the others skip that turn — and
//! then acts as the scheduler's role (`bduf_scheduler`, migration step 20: it reads the
//! job's tables across organizations and writes in the one it names with
//! [`SystemTxn::act_in`]). The jobs themselves are idempotent (each changes only rows
//! still due, under their row locks), so a run that follows another finds nothing left.
//!
//! SQLite is one process's embedded database with one writer: the transaction is
//! `IMMEDIATE` (it takes the write lock when it begins) and needs no claim.
//!
//! The audit trail names the scheduler through the transaction's `app.user_agent`
//! ([`AGENT`]); no user acts.

use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbBackend, IsolationLevel, SqliteTransactionMode,
    Statement, TransactionOptions, TransactionTrait,
};
use uuid::Uuid;

use crate::txn::set_local;
use crate::{Db, Result};

/// The role the scheduler acts as on PostgreSQL (migration step 20).
pub const SCHEDULER_ROLE: &str = "bduf_scheduler";

/// What the audit trail records as the scheduler's user agent.
pub const AGENT: &str = "bduf scheduler";

/// One run of a job of the server's own, in its transaction.
#[derive(Debug)]
pub struct SystemTxn {
    txn: DatabaseTransaction,
    backend: DbBackend,
}

impl SystemTxn {
    /// Begins a run of job `name`: `None` when another server runs it now (PostgreSQL),
    /// and this server should skip its turn.
    pub async fn lead(db: &Db, name: &str) -> Result<Option<Self>> {
        let backend = db.backend();
        let txn = db
            .conn()
            .begin_with_options(TransactionOptions {
                isolation_level: (backend == DbBackend::Postgres)
                    .then_some(IsolationLevel::ReadCommitted),
                access_mode: None,
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            })
            .await?;
        if backend == DbBackend::Postgres {
            let row = txn
                .query_one_raw(Statement::from_sql_and_values(
                    backend,
                    "SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS led",
                    [format!("bduf job:{name}").into()],
                ))
                .await?;
            let led: bool = row.map_or(Ok(false), |r| r.try_get("", "led"))?;
            if !led {
                txn.rollback().await?;
                return Ok(None);
            }
            txn.execute_raw(set_local(&[
                ("role", SCHEDULER_ROLE.to_owned()),
                ("app.user_agent", AGENT.to_owned()),
            ]))
            .await?;
        }
        Ok(Some(Self { txn, backend }))
    }

    /// The run's transaction.
    pub fn conn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// The database's backend.
    pub fn backend(&self) -> DbBackend {
        self.backend
    }

    /// The statements after this write in `organization` (PostgreSQL: the scheduler
    /// role's write policies, and the audit and integrity triggers, read it).
    pub async fn act_in(&self, organization: Uuid) -> Result<()> {
        if self.backend == DbBackend::Postgres {
            self.txn
                .execute_raw(set_local(&[(
                    "app.organization_id",
                    organization.to_string(),
                )]))
                .await?;
        }
        Ok(())
    }

    /// Commits the run.
    pub async fn commit(self) -> Result<()> {
        Ok(self.txn.commit().await?)
    }

    /// Creates the monthly partitions of `audit_log` missing from this month to
    /// `months_ahead` months on (PostgreSQL, migration step 21); returns how many. SQLite
    /// does not partition.
    pub async fn keep_audit_partitions(&self, months_ahead: i32) -> Result<u64> {
        if self.backend != DbBackend::Postgres {
            return Ok(0);
        }
        let row = self
            .txn
            .query_one_raw(Statement::from_sql_and_values(
                self.backend,
                "SELECT bduf_audit_partitions($1) AS made",
                [months_ahead.into()],
            ))
            .await?;
        let made: i32 = row.map_or(Ok(0), |r| r.try_get("", "made"))?;
        Ok(u64::try_from(made).unwrap_or(0))
    }
}
