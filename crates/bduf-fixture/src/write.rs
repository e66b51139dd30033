//! How queued rows reach the database: runs of rows of one table in multi-row `INSERT`s,
//! in the order they were made, each organization's with `app.organization_id` set on
//! PostgreSQL.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;

use bduf_core::txn::set_local;
use bduf_core::write::BATCH;
use sea_orm::sea_query::{ValueTuple, ValueType};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbBackend, DbErr, EntityName, EntityTrait, Iterable,
};
use uuid::Uuid;

use crate::Fixture;

/// Rows made one after another in one table, with the same columns set, in one
/// organization (none: users): what one `INSERT` (or a few, of [`BATCH`] rows) writes.
pub(crate) struct Run<C> {
    /// Whether each column of the table is set, in the entity's column order.
    set: Vec<bool>,
    organization: Option<Uuid>,
    /// A `Vec` of the table's active models.
    rows: Box<dyn Any + Send>,
    /// Writes `rows` (the function for their type).
    write: WriteRows<C>,
}

type WriteRows<C> = for<'a> fn(&'a C, Box<dyn Any + Send>) -> Written<'a>;

type Written<'a> = Pin<Box<dyn Future<Output = Result<(), DbErr>> + Send + 'a>>;

/// Which columns of `row` are set, in the entity's column order.
fn columns_set<A: ActiveModelTrait>(row: &A) -> Vec<bool> {
    <A::Entity as EntityTrait>::Column::iter()
        .map(|column| !row.is_not_set(column))
        .collect()
}

impl<C: ConnectionTrait> Fixture<'_, C> {
    /// Queues `row`, a row of `organization` (none: a user), and returns its id,
    /// remembering its organization for the rows that will hang off it.
    pub(crate) fn queue<A>(&mut self, organization: Option<Uuid>, row: A) -> Uuid
    where
        A: ActiveModelTrait + Send + 'static,
    {
        let id = match row.get_primary_key_value() {
            Some(ValueTuple::One(value)) => <Uuid as ValueType>::try_from(value).ok(),
            _ => None,
        };
        let Some(id) = id else {
            self.problems.push(format!(
                "a row of {} was left without an id",
                A::Entity::default().table_name()
            ));
            return Uuid::nil();
        };
        if let Some(organization) = organization {
            self.owners.insert(id, organization);
        }
        self.push(organization, row);
        id
    }

    /// Queues `row` of `organization`, in the current run if it is one of the same table,
    /// columns and organization.
    fn push<A>(&mut self, organization: Option<Uuid>, row: A)
    where
        A: ActiveModelTrait + Send + 'static,
    {
        let set = columns_set(&row);
        if let Some(run) = self.runs.last_mut()
            && run.set == set
            && run.organization == organization
            && let Some(rows) = run.rows.downcast_mut::<Vec<A>>()
        {
            rows.push(row);
            return;
        }
        self.runs.push(Run {
            set,
            organization,
            rows: Box::new(vec![row]),
            write: write_rows::<C, A>,
        });
    }

    /// Writes every row made, in the order they were made; nothing when a method was given
    /// a parent this fixture did not make. Runs in the caller's transaction, if `conn` is
    /// one: a fixture written outside of one may be left half written by an error.
    pub async fn insert(self) -> Result<(), DbErr> {
        if !self.problems.is_empty() {
            return Err(DbErr::Custom(format!(
                "the fixture was not written: {}",
                self.problems.join("; ")
            )));
        }
        let postgres = self.conn.get_database_backend() == DbBackend::Postgres;
        let mut acting_in = None;
        for run in self.runs {
            // Row-level security binds even the tables' owner (unless a superuser): rows
            // go in for the organization the transaction acts in.
            if let Some(organization) = run.organization
                && postgres
                && acting_in != Some(organization)
            {
                let setting = ("app.organization_id", organization.to_string());
                self.conn.execute_raw(set_local(&[setting])).await?;
                acting_in = Some(organization);
            }
            (run.write)(self.conn, run.rows).await?;
        }
        Ok(())
    }
}

/// Writes a run's rows, of type `Vec<A>`.
fn write_rows<C, A>(conn: &C, rows: Box<dyn Any + Send>) -> Written<'_>
where
    C: ConnectionTrait,
    A: ActiveModelTrait + Send + 'static,
{
    Box::pin(async move {
        let rows = rows
            .downcast::<Vec<A>>()
            .map_err(|_| DbErr::Custom("a fixture run holds rows of another table".into()))?;
        insert_all(conn, *rows).await
    })
}

/// Inserts `rows` of one table in their order, in as few statements as the backends'
/// limits on bind parameters allow: one per run of rows with the same columns set (a
/// column left unset in one row of a multi-row `INSERT` would be NULL, not its default),
/// of at most [`BATCH`] rows. Returns nothing (no `RETURNING`, which row-level security
/// would check against the read policies).
pub async fn insert_all<C, A>(conn: &C, rows: Vec<A>) -> Result<(), DbErr>
where
    C: ConnectionTrait,
    A: ActiveModelTrait + Send,
{
    let mut rows = rows.into_iter().peekable();
    while let Some(first) = rows.next() {
        let set = columns_set(&first);
        let mut statement = vec![first];
        while statement.len() < BATCH
            && let Some(next) = rows.next_if(|row| columns_set(row) == set)
        {
            statement.push(next);
        }
        <A::Entity as EntityTrait>::insert_many(statement)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}
