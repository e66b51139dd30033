//! Reads that ride on another read of their wave (PostgreSQL): a statement less each.
//!
//! Two kinds ride ([`crate::batch`] decides which, when it takes a wave):
//! - the wave's aggregates ([`Tallies`]: every aggregate key of the wave, one grouped
//!   select, `crate::aggregate::merged`), as one JSON column `_rider`;
//! - a read of one row by id ([`RowRider`], from a key type's [`Ride`]: a root found by
//!   id rides on its first nested level's read, which the root resolver starts with it),
//!   as that row's columns, named `_b{n}_{column}`.
//!
//! The first read of the wave ([`crate::RequestTxn::query`]) carries them all
//! ([`carry`]): its rows come back as they were, the riders' values on the first row
//! only, and one row with `_ord` NULL when the read has none. A rider that no read
//! carried — its wave's reads all ended without sending one — runs alone after them.

use futures_channel::oneshot;
use sea_orm::sea_query::{Expr, PostgresQueryBuilder, Query, SelectStatement};
use sea_orm::{DbBackend, DbErr, QueryResult, Statement};
use uuid::Uuid;

use crate::Map;
use crate::aggregate::TallyRow;
use crate::error::{Error, Result};

/// A wave's aggregates riding on another statement of the wave: the merged select, and
/// where its rows go.
#[derive(Debug)]
pub struct Tallies {
    pub select: SelectStatement,
    pub reply: oneshot::Sender<Result<Carried>>,
}

/// The rows of a wave's aggregates, each with its part (`_m`).
pub type Carried = Vec<(usize, TallyRow)>;

/// Makes a row rider's select, its columns named with the prefix it is given, and
/// returns it with their names in order, each with whether it is read for real (not a
/// placeholder constant).
pub type RideSelect = Box<dyn FnOnce(&str) -> (SelectStatement, Vec<(String, bool)>) + Send>;

/// Answers a row rider's keys from the first row of the statement that carried it (the
/// rider's columns named with the prefix given).
pub type RideAnswer<K, V> = Box<dyn FnOnce(&QueryResult, &str) -> Result<Map<K, V>> + Send>;

/// How a key type's read of one row can ride on another read (`crate::Fetch::rider`).
pub struct Ride<K, V> {
    pub select: RideSelect,
    pub answer: RideAnswer<K, V>,
}

impl<K, V> std::fmt::Debug for Ride<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ride").finish_non_exhaustive()
    }
}

/// A read of one row waiting to ride: its select and what answers its keys.
pub struct RowRider {
    /// Which rider of the request this is (its columns are `_b{id}_…`).
    pub id: usize,
    pub select: SelectStatement,
    /// Its columns' names, each with whether it is read for real.
    pub names: Vec<(String, bool)>,
    pub answer: Answer,
}

/// Answers a row rider from the first row of the statement that carried it, or the
/// statement's error.
pub type Answer = Box<dyn FnOnce(Result<&QueryResult>) + Send>;

impl std::fmt::Debug for RowRider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowRider")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The riders waiting for the wave's next read.
#[derive(Debug, Default)]
pub struct Riders {
    pub tallies: Option<Tallies>,
    pub rows: Vec<RowRider>,
    /// The id of the next row rider.
    next: usize,
}

impl Riders {
    /// Whether nothing waits to ride.
    pub fn is_empty(&self) -> bool {
        self.tallies.is_none() && self.rows.is_empty()
    }

    /// Adds `ride`, whose answer goes to `reply`; returns its id.
    pub fn add<K, V>(
        &mut self,
        ride: Ride<K, V>,
        reply: oneshot::Sender<Result<Map<K, V>>>,
    ) -> usize
    where
        K: Send + 'static,
        V: Send + 'static,
    {
        let id = self.next;
        self.next += 1;
        let prefix = format!("_b{id}_");
        let (select, names) = (ride.select)(&prefix);
        let answer = ride.answer;
        self.rows.push(RowRider {
            id,
            select,
            names,
            answer: Box::new(move |first: Result<&QueryResult>| {
                let _ = reply.send(first.and_then(|row| answer(row, &prefix)));
            }),
        });
        id
    }

    /// Takes back row rider `id` if no read has carried it.
    pub fn remove(&mut self, id: usize) -> Option<RowRider> {
        let at = self.rows.iter().position(|r| r.id == id)?;
        Some(self.rows.remove(at))
    }

    /// Takes every rider, leaving none (the id counter stays).
    pub fn take(&mut self) -> Riders {
        Riders {
            tallies: self.tallies.take(),
            rows: std::mem::take(&mut self.rows),
            next: self.next,
        }
    }

    /// Answers every rider from the rows of the statement that carried them
    /// ([`carry`]), and returns the host's own rows.
    pub fn answer(
        self,
        outcome: std::result::Result<Vec<QueryResult>, DbErr>,
    ) -> std::result::Result<Vec<QueryResult>, DbErr> {
        let rows = match outcome {
            Ok(rows) => rows,
            Err(err) => {
                for rider in self.rows {
                    (rider.answer)(Err(Error::from(err.clone())));
                }
                if let Some(tallies) = self.tallies {
                    let _ = tallies.reply.send(Err(Error::from(err.clone())));
                }
                return Err(err);
            }
        };
        for rider in self.rows {
            (rider.answer)(rows.first().ok_or_else(|| {
                Error::from(DbErr::Custom("a carrying statement returned no row".into()))
            }));
        }
        match uncarry(rows, self.tallies.is_some()) {
            Ok((host, carried)) => {
                if let Some(tallies) = self.tallies {
                    let _ = tallies.reply.send(Ok(carried));
                }
                Ok(host)
            }
            Err(err) => {
                if let Some(tallies) = self.tallies {
                    let _ = tallies.reply.send(Err(err.clone()));
                }
                Err(DbErr::Custom(err.to_string()))
            }
        }
    }
}

/// `host` carrying `riders` (PostgreSQL): the host's rows, each with `_ord` (its
/// position, from 1), and the riders' values on the first row only —
///
/// `SELECT CASE WHEN <first> THEN _r._rider END AS _rider, CASE WHEN <first> THEN
/// _b0."_b0_id" END AS "_b0_id", … (a placeholder column as it is), _h.* FROM (SELECT (aggregates as JSON) AS _rider) AS
/// _r LEFT JOIN (row by id) AS _b0 ON TRUE … LEFT JOIN (SELECT row_number() OVER () AS
/// _ord, _s.* FROM (host) AS _s) AS _h ON TRUE`, where `<first>` is `_h._ord IS NULL OR
/// _h._ord = 1` —
///
/// and one row with `_ord` NULL when the host has none. The riders' side is at most one
/// row and the outer side of the joins (a left join on TRUE is a nested loop), so each
/// rider is read once and the host's rows keep their order. `None` when `host` is not a
/// read (a `SELECT` or `WITH`), or nothing rides.
pub fn carry(host: &Statement, riders: &Riders) -> Option<Statement> {
    let sql = host.sql.trim_start();
    let reads = ["SELECT", "WITH"].iter().any(|word| {
        sql.get(..word.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(word))
    });
    if host.db_backend != DbBackend::Postgres || !reads || riders.is_empty() {
        return None;
    }
    let mut values = host
        .values
        .as_ref()
        .map(|v| v.0.clone())
        .unwrap_or_default();
    let first = "_h._ord IS NULL OR _h._ord = 1";
    let mut list = String::new();
    let mut from = match &riders.tallies {
        Some(tallies) => {
            let mut json = Query::select();
            json.expr(Expr::cust(
                "COALESCE(json_agg(json_build_array(_t._m, _t.owner, _t.label, _t.n, _t.v1, \
                 _t.v2, _t.v3, _t.v4)), '[]')::text",
            ))
            .from_subquery(tallies.select.clone(), "_t");
            let (rider_sql, rider_values) = json.build(PostgresQueryBuilder);
            let rider_sql = renumbered(&rider_sql, values.len());
            values.extend(rider_values.0);
            list.push_str(&format!("CASE WHEN {first} THEN _r._rider END AS _rider, "));
            format!("(SELECT ({rider_sql}) AS _rider) AS _r")
        }
        None => "(SELECT 1 AS _one) AS _r".to_owned(),
    };
    for rider in &riders.rows {
        let (rider_sql, rider_values) = rider.select.build(PostgresQueryBuilder);
        let rider_sql = renumbered(&rider_sql, values.len());
        values.extend(rider_values.0);
        let alias = format!("_b{}", rider.id);
        from.push_str(&format!(" LEFT JOIN ({rider_sql}) AS {alias} ON TRUE"));
        for (name, real) in &rider.names {
            // A placeholder is a constant: the same on every row, and cheaper so.
            list.push_str(&if *real {
                format!("CASE WHEN {first} THEN {alias}.\"{name}\" END AS \"{name}\", ")
            } else {
                format!("{alias}.\"{name}\", ")
            });
        }
    }
    let sql = format!(
        "SELECT {list}_h.* FROM {from} \
         LEFT JOIN (SELECT row_number() OVER () AS _ord, _s.* FROM ({sql}) AS _s) AS _h ON TRUE"
    );
    Some(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        values,
    ))
}

/// `sql` with every placeholder `$n` made `$(n + by)`. Only for a rider's SQL, which
/// sea-query writes with every value a placeholder and no `$` in its literals.
fn renumbered(sql: &str, by: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c != '$' {
            continue;
        }
        let mut digits = String::new();
        while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
            digits.push(d);
            chars.next();
        }
        match digits.parse::<usize>() {
            Ok(n) => out.push_str(&(n + by).to_string()),
            Err(_) => out.push_str(&digits),
        }
    }
    out
}

/// An aggregates rider's row as its JSON has it: `[_m, owner, label, n, v1, v2, v3, v4]`.
type TallyJson = (
    usize,
    Uuid,
    Option<String>,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

/// Splits the rows of a statement made by [`carry`]: the host's rows, and the
/// aggregates' (when `tallies` rode).
fn uncarry(rows: Vec<QueryResult>, tallies: bool) -> Result<(Vec<QueryResult>, Carried)> {
    let mut rider = Vec::new();
    let mut host = Vec::with_capacity(rows.len());
    for (i, row) in rows.into_iter().enumerate() {
        if i == 0 && tallies {
            let text: String = row.try_get("", "_rider")?;
            let parsed: Vec<TallyJson> = serde_json::from_str(&text)
                .map_err(|e| DbErr::Type(format!("the aggregates riding on a statement: {e}")))?;
            rider = parsed
                .into_iter()
                .map(|(m, owner, label, n, v1, v2, v3, v4)| {
                    let values = [v1, v2, v3, v4];
                    (
                        m,
                        TallyRow {
                            owner,
                            label,
                            n,
                            values,
                        },
                    )
                })
                .collect();
        }
        if row.try_get::<Option<i64>>("", "_ord")?.is_some() {
            host.push(row);
        }
    }
    Ok((host, rider))
}
