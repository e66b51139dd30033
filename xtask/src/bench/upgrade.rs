//! `cargo xtask bench --upgrade`: what each migration step costs on the M dataset — its
//! time, the locks it holds, the tables it rewrites — on a scratch database of the
//! server (created, seeded, dropped; the benchmark database is left alone).
//!
//! The seed data has the final schema, so the database is migrated fully while empty
//! (every step measured there), seeded with M, walked `down` to [`FLOOR`] (each `down`
//! timed, the rows counted after each) and then `up` again one step at a time, each step
//! through the runner as a deploy runs it (`runner::run`, `Command::Up { steps: 1 }`).
//! Steps 1 to [`FLOOR`] create the tables the data lives in: their `down` would drop the
//! rows, so they are measured on the empty database only.
//!
//! Locks: the runner writes a step's ledger row last, in the step's own transaction,
//! which holds every lock the step took until it commits. While a step runs, a second
//! connection holds `seaql_migrations` in SHARE mode and looks every 20 ms for the
//! migrator waiting there to write its row; then it reads all the locks that backend
//! holds (`pg_locks`, the strongest mode per table kept) and its transaction id, and lets
//! it go. The time the step waited at that barrier (from `pg_locks.waitstart`) is taken
//! off its time. Rewrites: a table whose `pg_class.relfilenode` changed (or that was
//! replaced by a new table of the same name) between before and after the step. Rows
//! written: the rows whose `xmin` is the step's transaction, in the tables it held in
//! ROW EXCLUSIVE mode. An online step (`migration::online`: no transaction of its own,
//! each statement committed alone) is only timed, without the barrier, which its
//! `CREATE INDEX CONCURRENTLY` would wait for.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use migration::runner::{self, Command, History};
use migration::{Migrator, MigratorTrait};
use sea_orm::DatabaseConnection;
use sea_orm::sqlx::{self, AssertSqlSafe, Connection as _, PgConnection, PgPool};

use crate::{scratch, seed};

/// The highest step measured only on the empty database: steps 1–6 create the tables, so
/// their `down` drops the seeded rows. Every step above it has a `down` that keeps them
/// (checked: the rows are counted after every `down`).
const FLOOR: usize = 6;

/// How often the watching connection looks for the migrator at the barrier.
const POLL: Duration = Duration::from_millis(20);

/// How long the runner waits for the migration lock (nobody else migrates a scratch
/// database).
const LOCK_WAIT: Duration = Duration::from_secs(60);

/// A table lock mode of PostgreSQL, weakest first: a mode conflicts with more of the
/// others the later it comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    AccessShare,
    RowShare,
    RowExclusive,
    ShareUpdateExclusive,
    Share,
    ShareRowExclusive,
    Exclusive,
    AccessExclusive,
}

impl Mode {
    /// The mode `pg_locks.mode` names (`AccessExclusiveLock`, …).
    fn parse(mode: &str) -> Option<Self> {
        Some(match mode {
            "AccessShareLock" => Mode::AccessShare,
            "RowShareLock" => Mode::RowShare,
            "RowExclusiveLock" => Mode::RowExclusive,
            "ShareUpdateExclusiveLock" => Mode::ShareUpdateExclusive,
            "ShareLock" => Mode::Share,
            "ShareRowExclusiveLock" => Mode::ShareRowExclusive,
            "ExclusiveLock" => Mode::Exclusive,
            "AccessExclusiveLock" => Mode::AccessExclusive,
            _ => return None,
        })
    }

    /// What the server's own statements on the table wait for while the mode is held.
    fn blocks(self) -> Blocks {
        match self {
            Mode::AccessExclusive => Blocks::ReadsAndWrites,
            Mode::Exclusive | Mode::ShareRowExclusive | Mode::Share => Blocks::Writes,
            _ => Blocks::Nothing,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::AccessShare => "ACCESS SHARE",
            Mode::RowShare => "ROW SHARE",
            Mode::RowExclusive => "ROW EXCLUSIVE",
            Mode::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            Mode::Share => "SHARE",
            Mode::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            Mode::Exclusive => "EXCLUSIVE",
            Mode::AccessExclusive => "ACCESS EXCLUSIVE",
        })
    }
}

/// Which of the server's statements on a table a lock makes wait. SELECT takes ACCESS
/// SHARE, INSERT/UPDATE/DELETE ROW EXCLUSIVE (and `SELECT … FOR UPDATE` ROW SHARE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Blocks {
    /// Conflicts with none of them (only with other schema changes and VACUUM, or not
    /// even those).
    Nothing,
    /// Conflicts with ROW EXCLUSIVE: writes wait, reads go on.
    Writes,
    /// Conflicts with ACCESS SHARE: reads wait too.
    ReadsAndWrites,
}

/// The locks one transaction held: every mode per table.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Locks(BTreeMap<String, Vec<Mode>>);

impl Locks {
    fn add(&mut self, table: &str, mode: Mode) {
        let modes = self.0.entry(table.to_owned()).or_default();
        if !modes.contains(&mode) {
            modes.push(mode);
            modes.sort();
        }
    }

    /// Each table's strongest mode.
    fn strongest(&self) -> BTreeMap<&str, Mode> {
        self.0
            .iter()
            .filter_map(|(table, modes)| Some((table.as_str(), *modes.last()?)))
            .collect()
    }

    /// The tables held in ROW EXCLUSIVE mode (those the step wrote rows of).
    fn written(&self) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(|(_, modes)| modes.contains(&Mode::RowExclusive))
            .map(|(table, _)| table.as_str())
    }

    /// `MODE: table, table; MODE: …`, strongest mode first; `–` when none.
    fn describe(&self) -> String {
        let mut by_mode: BTreeMap<std::cmp::Reverse<Mode>, Vec<&str>> = BTreeMap::new();
        for (table, mode) in self.strongest() {
            by_mode
                .entry(std::cmp::Reverse(mode))
                .or_default()
                .push(table);
        }
        if by_mode.is_empty() {
            return "–".into();
        }
        by_mode
            .iter()
            .map(|(mode, tables)| format!("{}: {}", mode.0, tables.join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// What the server waits for while the step runs, in words.
    fn waits(&self, seconds: f64) -> String {
        let mut reads = Vec::new();
        let mut writes = Vec::new();
        for (table, mode) in self.strongest() {
            match mode.blocks() {
                Blocks::ReadsAndWrites => reads.push(table),
                Blocks::Writes => writes.push(table),
                Blocks::Nothing => {}
            }
        }
        let mut parts = Vec::new();
        if !reads.is_empty() {
            parts.push(format!("reads and writes of {}", reads.join(", ")));
        }
        if !writes.is_empty() {
            parts.push(format!("writes of {}", writes.join(", ")));
        }
        if parts.is_empty() {
            "nothing (no existing table locked against reads or writes)".into()
        } else {
            format!("{}, for up to {seconds:.2} s", parts.join("; "))
        }
    }
}

/// What the watching connection saw of one step.
#[derive(Debug, Default)]
struct Seen {
    /// The step's time, without its wait at the barrier.
    seconds: f64,
    locks: Locks,
    /// The transaction ids the migrator held at the barrier (the step's, and any of its
    /// subtransactions).
    xids: Vec<String>,
}

/// One step's figures.
#[derive(Debug)]
struct Figures {
    number: usize,
    name: &'static str,
    summary: String,
    up: Seen,
    /// The `down` before it (`None` below the floor).
    down: Option<f64>,
    /// Rows written per table (`xmin` the step's transaction).
    written: Vec<(String, i64)>,
    rewritten: Vec<String>,
    on_data: bool,
}

/// Measures every step; returns the section of the page.
pub async fn run(machine: &str) -> Result<String> {
    let server = scratch::server_url()?;
    let machine = machine.to_owned();
    scratch::with_database(&server, move |url| async move {
        measure(&url, seed::Scale::M, &machine).await
    })
    .await
}

async fn measure(url: &str, scale: seed::Scale, machine: &str) -> Result<String> {
    let steps = Migrator::sources();
    ensure!(steps.len() > FLOOR, "fewer steps than the floor");
    // An online step runs outside a transaction (`migration::online`): no barrier.
    let online: Vec<bool> = Migrator::migrations()
        .iter()
        .map(|m| m.use_transaction() == Some(false))
        .collect();
    let db = migration::connect(url)
        .await
        .context("connecting the migrator")?;
    let mut watcher = PgConnection::connect(url)
        .await
        .context("connecting the watcher")?;

    // Migrate the empty database, one step at a time (the ledger first: the barrier locks it).
    runner::install::<Migrator>(&db).await?;
    let mut empty = Vec::new();
    for (number, (name, _)) in steps.iter().enumerate().map(|(i, s)| (i + 1, s)) {
        eprintln!("xtask: upgrade: step {number} {name} on the empty database");
        empty.push(apply(&db, &mut watcher, up(), online[number - 1]).await?);
    }

    // Seed the data.
    eprintln!("xtask: upgrade: seeding {scale:?}");
    let mut options = sea_orm::ConnectOptions::new(url.to_owned());
    options.max_connections(2).sqlx_logging(false);
    let seeding = sea_orm::Database::connect(options).await?;
    seed::load(&seeding, scale.sizes(), seed::DEFAULT_SEED, false).await?;
    let pool = seeding.get_postgres_connection_pool().clone();
    vacuum(&pool).await?;
    let dataset = super::dataset(&pool).await?;
    eprintln!("xtask: upgrade: {dataset}");

    // Down to the floor: every `down` must keep the rows.
    let mut downs = BTreeMap::new();
    for number in (FLOOR + 1..=steps.len()).rev() {
        eprintln!("xtask: upgrade: down step {number} {}", steps[number - 1].0);
        let seen = apply(
            &db,
            &mut watcher,
            Command::Down { steps: 1 },
            online[number - 1],
        )
        .await?;
        downs.insert(number, seen.seconds);
        let now = super::dataset(&pool).await?;
        ensure!(
            now == dataset,
            "the down of step {number} lost rows: {now} (before: {dataset})"
        );
    }
    vacuum(&pool).await?;

    // Up again, one step at a time, on the data.
    let mut figures = Vec::new();
    for (number, ((name, source), on_empty)) in steps.iter().zip(empty).enumerate() {
        let number = number + 1;
        let summary = summary(source);
        if number <= FLOOR {
            figures.push(Figures {
                number,
                name,
                summary,
                up: on_empty,
                down: None,
                written: Vec::new(),
                rewritten: Vec::new(),
                on_data: false,
            });
            continue;
        }
        eprintln!("xtask: upgrade: up step {number} {name} on the data");
        let before = files(&pool).await?;
        let seen = apply(&db, &mut watcher, up(), online[number - 1]).await?;
        let after = files(&pool).await?;
        let written = written(&pool, &seen, &before, &after).await?;
        eprintln!(
            "xtask: upgrade:   {:.2} s; {}",
            seen.seconds,
            seen.locks.describe()
        );
        figures.push(Figures {
            number,
            name,
            summary,
            down: downs.get(&number).copied(),
            written,
            rewritten: rewrites(&before, &after),
            up: seen,
            on_data: true,
        });
        vacuum(&pool).await?;
    }
    let now = super::dataset(&pool).await?;
    ensure!(
        now == dataset,
        "the rows changed: {now} (before: {dataset})"
    );
    let report = runner::validate::<Migrator>(&db).await?;
    ensure!(
        report.is_clean(),
        "the history is not clean: {:?}",
        report.findings()
    );
    seeding.close().await.ok();
    db.close().await.ok();
    watcher.close().await.ok();
    Ok(page(&figures, machine, &dataset))
}

fn up() -> Command {
    Command::Up {
        steps: Some(1),
        allow_changed: false,
    }
}

/// `VACUUM ANALYZE` of the database, between steps and outside their time, so that
/// autovacuum (whose locks a step would wait for up to `deadlock_timeout` before
/// PostgreSQL cancels it) has nothing to do while a step runs.
async fn vacuum(pool: &PgPool) -> Result<()> {
    sqlx::query("VACUUM ANALYZE")
        .execute(pool)
        .await
        .context("VACUUM ANALYZE")?;
    Ok(())
}

/// Runs one `command` of one step through the runner while `watcher` holds the ledger in
/// SHARE mode, and reads the migrator's locks when it waits there to write its ledger
/// row, at the end of the step's transaction.
async fn apply(
    db: &DatabaseConnection,
    watcher: &mut PgConnection,
    command: Command,
    online: bool,
) -> Result<Seen> {
    if online {
        // Each statement of an online step commits on its own, so there are no locks held
        // to the end to read. And a barrier transaction would hang it: `CREATE INDEX
        // CONCURRENTLY` waits for every transaction whose snapshot it saw, the barrier's
        // polls included, and the barrier waits for the step's ledger row.
        let started = Instant::now();
        runner::run::<Migrator>(db, command, LOCK_WAIT)
            .await
            .with_context(|| format!("{command:?}"))?;
        return Ok(Seen {
            seconds: started.elapsed().as_secs_f64(),
            locks: Locks::default(),
            xids: Vec::new(),
        });
    }
    let mut barrier = watcher.begin().await?;
    sqlx::query("LOCK TABLE seaql_migrations IN SHARE MODE")
        .execute(&mut *barrier)
        .await
        .context("holding the ledger")?;
    let done = AtomicBool::new(false);
    let started = Instant::now();
    let migrate = async {
        let ran = runner::run::<Migrator>(db, command, LOCK_WAIT).await;
        done.store(true, Ordering::SeqCst);
        ran
    };
    let watch = async {
        loop {
            if done.load(Ordering::SeqCst) {
                barrier.commit().await?;
                return Ok::<_, anyhow::Error>(None);
            }
            let waiting: Option<(i32, Option<f64>)> = sqlx::query_as(
                "SELECT l.pid, extract(epoch FROM clock_timestamp() - l.waitstart)::float8 \
                 FROM pg_locks l \
                 WHERE l.locktype = 'relation' AND NOT l.granted AND l.mode = 'RowExclusiveLock' \
                   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                   AND l.relation = 'seaql_migrations'::regclass \
                 LIMIT 1",
            )
            .fetch_optional(&mut *barrier)
            .await?;
            let Some((pid, waited)) = waiting else {
                tokio::time::sleep(POLL).await;
                continue;
            };
            let since = Instant::now()
                .checked_sub(Duration::from_secs_f64(waited.unwrap_or(0.0).max(0.0)))
                .unwrap_or_else(Instant::now);
            let rows: Vec<(String, String)> = sqlx::query_as(
                "SELECT c.relname::text, l.mode FROM pg_locks l \
                 JOIN pg_class c ON c.oid = l.relation \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE l.pid = $1 AND l.granted AND l.locktype = 'relation' \
                   AND c.relkind IN ('r', 'p', 'm') \
                   AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
                   AND c.relname <> 'seaql_migrations'",
            )
            .bind(pid)
            .fetch_all(&mut *barrier)
            .await?;
            let xids: Vec<String> = sqlx::query_scalar(
                "SELECT transactionid::text FROM pg_locks \
                 WHERE pid = $1 AND granted AND locktype = 'transactionid' AND mode = 'ExclusiveLock'",
            )
            .bind(pid)
            .fetch_all(&mut *barrier)
            .await?;
            barrier.commit().await?;
            let mut locks = Locks::default();
            for (table, mode) in rows {
                if let Some(mode) = Mode::parse(&mode) {
                    locks.add(&table, mode);
                }
            }
            return Ok(Some((locks, xids, since.elapsed())));
        }
    };
    let (ran, watched) = tokio::join!(migrate, watch);
    let wall = started.elapsed();
    ran.with_context(|| format!("{command:?}"))?;
    let Some((locks, xids, held)) = watched? else {
        bail!("{command:?} ended without writing its ledger row");
    };
    eprintln!(
        "xtask: upgrade:   {:.3} s, of which {:.3} s at the barrier",
        wall.as_secs_f64(),
        held.as_secs_f64()
    );
    Ok(Seen {
        seconds: wall.saturating_sub(held).as_secs_f64(),
        locks,
        xids,
    })
}

/// Every table of the schema but partitions (their rows are their parent's): name →
/// (oid, relfilenode).
async fn files(pool: &PgPool) -> Result<BTreeMap<String, (i64, i64)>> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT c.relname::text, c.oid::int8, c.relfilenode::int8 FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'm') \
           AND NOT c.relispartition",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(n, o, f)| (n, (o, f))).collect())
}

/// The tables of `before` that `after` holds in other files, or as another table.
fn rewrites(
    before: &BTreeMap<String, (i64, i64)>,
    after: &BTreeMap<String, (i64, i64)>,
) -> Vec<String> {
    before
        .iter()
        .filter_map(|(table, (oid, file))| {
            let (new_oid, new_file) = after.get(table)?;
            if new_oid != oid {
                Some(format!("{table} (replaced by a new table)"))
            } else if new_file != file {
                Some(table.clone())
            } else {
                None
            }
        })
        .collect()
}

/// The rows the step wrote — those whose `xmin` is one of its transaction ids — per table
/// it held in ROW EXCLUSIVE mode, created, or replaced by a new one of the same name (which
/// the step filled while the old one was the one visible).
async fn written(
    pool: &PgPool,
    seen: &Seen,
    before: &BTreeMap<String, (i64, i64)>,
    after: &BTreeMap<String, (i64, i64)>,
) -> Result<Vec<(String, i64)>> {
    let mut out = Vec::new();
    if seen.xids.is_empty() {
        return Ok(out);
    }
    let mut tables: Vec<&str> = seen.locks.written().collect();
    for (table, (oid, _)) in after {
        if before.get(table).is_none_or(|(old, _)| old != oid) && !tables.contains(&table.as_str())
        {
            tables.push(table);
        }
    }
    tables.sort_unstable();
    for table in tables {
        let exists: Option<String> = sqlx::query_scalar("SELECT to_regclass($1)::text")
            .bind(format!("\"{table}\""))
            .fetch_one(pool)
            .await?;
        if exists.is_none() {
            continue;
        }
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT count(*) FROM \"{}\" WHERE xmin::text = ANY($1)",
            table.replace('"', "\"\"")
        )))
        .bind(&seen.xids)
        .fetch_one(pool)
        .await?;
        if n > 0 {
            out.push((table.to_owned(), n));
        }
    }
    Ok(out)
}

/// The first sentence of a step's module documentation, without its `Step N` label.
fn summary(source: &str) -> String {
    let paragraph: Vec<&str> = source
        .lines()
        .map_while(|l| l.strip_prefix("//!"))
        .map(str::trim)
        .take_while(|l| !l.is_empty())
        .collect();
    let text = paragraph.join(" ");
    let text = match text.strip_prefix("Step ") {
        Some(rest) => rest
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .trim_start_matches(':')
            .trim_start(),
        None => text.as_str(),
    };
    let sentence = match text.find(". ") {
        Some(end) => &text[..=end],
        None => text,
    };
    let short = shorten(sentence, 110);
    let short = if short.len() < sentence.len() {
        format!("{short}…")
    } else {
        short.to_owned()
    };
    short.replace('|', "\\|")
}

/// `text` cut at its last `, `, ` (` or ` — ` within `limit` bytes that is not inside
/// backticks, and `…` added, when it is longer than `limit`.
fn shorten(text: &str, limit: usize) -> &str {
    if text.len() <= limit {
        return text;
    }
    let cut = [", ", " (", " — "]
        .iter()
        .flat_map(|sep| text.match_indices(sep).map(|(i, _)| i))
        .filter(|&i| i > 0 && i <= limit && text[..i].matches('`').count().is_multiple_of(2))
        .max();
    match cut {
        Some(i) => &text[..i],
        None => text,
    }
}

/// The short name of a step: its module name without the date and number.
fn short(name: &str) -> &str {
    name.splitn(3, '_').nth(2).unwrap_or(name)
}

/// `1234567` → `1,234,567`.
fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// The section of the page.
fn page(figures: &[Figures], machine: &str, dataset: &str) -> String {
    let mut out = format!(
        "Measured by `cargo xtask bench --upgrade` on {}: {machine}, on a scratch database \
         of the same server. Dataset (`cargo xtask seed --scale M`, loaded after every step, \
         then walked down to step {FLOOR} and up again): {dataset}. Times are one run's, \
         through the runner as a deploy runs a step (migration lock, history check, the \
         step's transaction, its ledger row), with `VACUUM ANALYZE` between steps.\n\n",
        chrono::Utc::now().format("%Y-%m-%d"),
    );
    out.push_str(
        "| step | what it does | up (s) | down (s) | rows written | strongest lock per table | \
         tables rewritten | what waits while it runs |\n\
         | --- | --- | ---: | ---: | --- | --- | --- | --- |\n",
    );
    let mut total = 0.0;
    for f in figures {
        let time = if f.on_data {
            total += f.up.seconds;
            format!("{:.2}", f.up.seconds)
        } else {
            format!("{:.2} (empty)", f.up.seconds)
        };
        let down = f.down.map_or("–".into(), |s| format!("{s:.2}"));
        let written = if !f.on_data {
            "– (empty database: its down would drop the rows)".into()
        } else if f.written.is_empty() {
            "0".into()
        } else {
            f.written
                .iter()
                .map(|(t, n)| format!("{t} {}", thousands(*n)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let rewritten = if f.rewritten.is_empty() {
            "–".into()
        } else {
            f.rewritten.join(", ")
        };
        let waits = if f.on_data {
            f.up.locks.waits(f.up.seconds)
        } else {
            "nothing (new tables only)".into()
        };
        out.push_str(&format!(
            "| {} `{}` | {} | {time} | {down} | {written} | {} | {rewritten} | {waits} |\n",
            f.number,
            short(f.name),
            f.summary,
            f.up.locks.describe(),
        ));
    }
    out.push_str(&format!(
        "\nSteps {}–{} together: {total:.1} s on the data.\n",
        FLOOR + 1,
        figures.len()
    ));
    out
}

#[cfg(test)]
mod tests {
    use migration::MigratorTrait as _;

    use super::*;

    #[test]
    fn modes_are_ordered_by_strength_and_parsed_from_pg_locks() {
        assert!(Mode::AccessExclusive > Mode::Exclusive);
        assert!(Mode::ShareRowExclusive > Mode::Share);
        assert!(Mode::Share > Mode::ShareUpdateExclusive);
        assert!(Mode::RowExclusive > Mode::RowShare);
        assert_eq!(
            Mode::parse("ShareUpdateExclusiveLock"),
            Some(Mode::ShareUpdateExclusive)
        );
        assert_eq!(
            Mode::parse("AccessExclusiveLock"),
            Some(Mode::AccessExclusive)
        );
        assert_eq!(Mode::parse("SIReadLock"), None);
        assert_eq!(Mode::ShareRowExclusive.to_string(), "SHARE ROW EXCLUSIVE");
    }

    #[test]
    fn a_table_shows_its_strongest_mode_and_what_waits_for_it() {
        let mut locks = Locks::default();
        locks.add("tasks", Mode::RowExclusive);
        locks.add("tasks", Mode::AccessExclusive);
        locks.add("tasks", Mode::Share);
        locks.add("projects", Mode::ShareRowExclusive);
        locks.add("users", Mode::AccessShare);
        locks.add("comments", Mode::ShareUpdateExclusive);
        assert_eq!(locks.strongest()["tasks"], Mode::AccessExclusive);
        assert_eq!(
            locks.describe(),
            "ACCESS EXCLUSIVE: tasks; SHARE ROW EXCLUSIVE: projects; \
             SHARE UPDATE EXCLUSIVE: comments; ACCESS SHARE: users"
        );
        assert_eq!(
            locks.waits(1.5),
            "reads and writes of tasks; writes of projects, for up to 1.50 s"
        );
        assert_eq!(locks.written().collect::<Vec<_>>(), ["tasks"]);
        let mut light = Locks::default();
        light.add("users", Mode::RowShare);
        assert!(light.waits(0.1).starts_with("nothing"));
        assert_eq!(Locks::default().describe(), "–");
    }

    #[test]
    fn rewrites_are_new_files_or_new_tables_of_the_same_name() {
        let before = BTreeMap::from([
            ("tasks".to_owned(), (1, 10)),
            ("audit_log".to_owned(), (2, 20)),
            ("users".to_owned(), (3, 30)),
            ("gone".to_owned(), (4, 40)),
        ]);
        let after = BTreeMap::from([
            ("tasks".to_owned(), (1, 11)),
            ("audit_log".to_owned(), (5, 0)),
            ("users".to_owned(), (3, 30)),
            ("new".to_owned(), (6, 60)),
        ]);
        assert_eq!(
            rewrites(&before, &after),
            ["audit_log (replaced by a new table)", "tasks"]
        );
    }

    #[test]
    fn a_summary_is_the_first_sentence_without_its_label() {
        assert_eq!(
            summary("//! Step 4: work — `tasks`, the work-breakdown tree.\n//!\n//! More.\n"),
            "work — `tasks`, the work-breakdown tree."
        );
        assert_eq!(
            summary("//! Step 11: the tenant key. Every table\n//! gets it.\n"),
            "the tenant key."
        );
        assert_eq!(
            summary("//! Step 9 (SQLite only; nothing on PostgreSQL): one form a|b.\n"),
            "(SQLite only; nothing on PostgreSQL): one form a\\|b."
        );
        assert_eq!(
            short("m20261206_000003_create_task_dependencies"),
            "create_task_dependencies"
        );
        let long = format!(
            "//! Step 7: the strategy, with `a, b` listed in `x.md` (every {}).\n",
            "x".repeat(100)
        );
        assert_eq!(
            summary(&long),
            "the strategy, with `a, b` listed in `x.md`…"
        );
        assert_eq!(shorten("a, `b, c` d", 8), "a");
        assert_eq!(shorten("short", 8), "short");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
    }

    /// Every step's figures on S, on a scratch database of the test server: each up and
    /// down goes through the barrier, and step 19's constraint locks `tasks`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_step_is_measured_on_s() {
        let server = std::env::var("BDUF_TEST_DATABASE_URL")
            .unwrap_or_else(|_| scratch::DEFAULT_SERVER_URL.to_owned());
        let text = scratch::with_database(&server, |url| async move {
            measure(&url, seed::Scale::S, "test machine").await
        })
        .await
        .expect("measuring the steps on S");
        let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("| ")).collect();
        assert_eq!(rows.len(), 2 + Migrator::migrations().len(), "{text}");
        let dependencies = rows
            .iter()
            .find(|r| r.contains("create_task_dependencies"))
            .expect("step 19's row");
        assert!(
            dependencies.contains("ACCESS EXCLUSIVE: tasks")
                || dependencies.contains("SHARE: tasks")
                || dependencies.contains(", tasks"),
            "{dependencies}"
        );
        let tenant = rows
            .iter()
            .find(|r| r.contains("add_tenant_keys"))
            .expect("step 11's row");
        assert!(
            tenant.contains("tasks "),
            "step 11 writes every task: {tenant}"
        );
    }
}
