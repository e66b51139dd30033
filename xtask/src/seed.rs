//! `cargo xtask seed --scale S|M|L [--reset] [--seed N]`: fills a PostgreSQL database with
//! realistic, deterministic data for the benchmarks.
//!
//! The database is `DATABASE_URL` as given, else `bduf_bench` in the managed cluster
//! (created when missing). The migrations are applied first, in-process and under the
//! migration lock. A database that already has rows is refused unless `--reset` empties
//! it (`TRUNCATE … CASCADE`). The rows (shaped by [`plan`], written by [`rows`]) go in
//! through `COPY … FROM STDIN`, all in one transaction, generated on another thread while
//! PostgreSQL ingests the previous chunk; then `VACUUM ANALYZE`. The same scale and seed
//! always give the same rows, ids and timestamps included.

mod format;
mod plan;
mod rows;
mod text;

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use migration::Migrator;
use migration::runner::{self, Command};
// The dynamic SQL below only names the tables and columns of `rows`, quoted.
use sea_orm::sqlx::{self, AssertSqlSafe, PgConnection};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

use crate::{postgres, scratch};
use plan::{Plan, Sizes};
use rows::{Chunk, TABLES};

/// The sizes `--scale` chooses from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scale {
    /// ≈ 12k rows: 2 organizations, 40 users, 20 projects.
    S,
    /// ≈ 1.1M rows: 100 organizations, 2,000 users, 2,000 projects, 500k tasks.
    M,
    /// ≈ 11M rows: 1,000 organizations, 20,000 users, 20,000 projects, 5M tasks.
    L,
}

impl Scale {
    pub(crate) fn sizes(self) -> Sizes {
        match self {
            Scale::S => Sizes::S,
            Scale::M => Sizes::M,
            Scale::L => Sizes::L,
        }
    }
}

/// The seed of the random generator unless `--seed` names another.
pub const DEFAULT_SEED: u64 = 1;

/// The managed cluster's database for seed data and benchmarks.
pub const BENCH_DATABASE: &str = "bduf_bench";

/// What a load did.
#[derive(Debug)]
pub(crate) struct Loaded {
    tables: Vec<Copied>,
    elapsed: Duration,
}

/// What the `COPY` into one table did.
#[derive(Debug)]
struct Copied {
    table: &'static str,
    /// As `COPY` reported them.
    rows: u64,
    took: Duration,
}

/// Seeds `DATABASE_URL`, or the managed cluster's `bduf_bench`.
pub async fn run(scale: Scale, reset: bool, seed: u64) -> Result<()> {
    let server = postgres::for_database_url()?;
    let url = if server.is_managed() {
        ensure_database(server.url(), BENCH_DATABASE).await?;
        scratch::database_url(server.url(), BENCH_DATABASE)
    } else {
        server.url().to_owned()
    };
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        bail!(
            "seed data goes through PostgreSQL's COPY, but DATABASE_URL is {}; unset it (the \
             managed cluster's {BENCH_DATABASE} is used) or point it at a PostgreSQL database",
            runner::redact(&url)
        );
    }
    let shown = runner::redact(&url);
    let migrating = migration::connect(&url)
        .await
        .with_context(|| format!("connecting to {shown}"))?;
    runner::run::<Migrator>(
        &migrating,
        Command::Up {
            steps: None,
            allow_changed: false,
        },
        Duration::from_secs(60),
    )
    .await
    .context("applying migrations")?;
    migrating.close().await.ok();

    let mut options = ConnectOptions::new(url.clone());
    options.max_connections(2).sqlx_logging(false);
    let db = Database::connect(options)
        .await
        .with_context(|| format!("connecting to {shown}"))?;
    eprintln!("xtask: seeding scale {scale:?} (seed {seed}) into {shown}");
    let loaded = tokio::select! {
        loaded = load(&db, scale.sizes(), seed, reset) => loaded,
        _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted; nothing was written")),
    };
    let loaded = match loaded {
        Ok(loaded) => loaded,
        Err(e) => {
            db.close().await.ok();
            return Err(e);
        }
    };
    let vacuum = Instant::now();
    let tables: Vec<String> = TABLES.iter().map(|t| quoted(t.name)).collect();
    sqlx::query(AssertSqlSafe(format!(
        "VACUUM ANALYZE {}",
        tables.join(", ")
    )))
    .execute(db.get_postgres_connection_pool())
    .await
    .context("VACUUM ANALYZE")?;
    let vacuumed = vacuum.elapsed();
    db.close().await.ok();

    let total: u64 = loaded.tables.iter().map(|t| t.rows).sum();
    let seconds = loaded.elapsed.as_secs_f64();
    println!(
        "xtask: seeded scale {scale:?} (seed {seed}) into {shown}: {} rows in {seconds:.1} s \
         ({} rows/s), then VACUUM ANALYZE in {:.1} s",
        thousands(total),
        thousands((total as f64 / seconds.max(0.001)) as u64),
        vacuumed.as_secs_f64()
    );
    for copied in &loaded.tables {
        println!(
            "  {:<26} {:>12} rows {:>7.1} s",
            copied.table,
            thousands(copied.rows),
            copied.took.as_secs_f64()
        );
    }
    if server.is_managed() {
        println!(
            "xtask: the managed cluster keeps {BENCH_DATABASE}; to serve it, run `cargo xtask \
             postgres` and then `DATABASE_URL={url} cargo run --release`"
        );
    }
    Ok(())
}

/// Creates database `name` on the server unless it exists.
async fn ensure_database(server_url: &str, name: &str) -> Result<()> {
    let pool = sqlx::PgPool::connect(server_url)
        .await
        .with_context(|| format!("connecting to {}", runner::redact(server_url)))?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&pool)
            .await
            .context("looking for the benchmark database")?;
    if !exists {
        eprintln!("xtask: creating the database {name}");
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {}", quoted(name))))
            .execute(&pool)
            .await
            .with_context(|| format!("creating the database {name}"))?;
    }
    pool.close().await;
    Ok(())
}

/// Plans the data and copies it into the database in one transaction.
pub(crate) async fn load(
    db: &DatabaseConnection,
    sizes: Sizes,
    seed: u64,
    reset: bool,
) -> Result<Loaded> {
    let started = Instant::now();
    let mut tx = db
        .get_postgres_connection_pool()
        .begin()
        .await
        .context("starting the seed transaction")?;
    // The seed writes a made-up audit history of its own, numbered as the triggers
    // number theirs; the triggers (and the foreign keys' checks, which the generator
    // satisfies by construction) are off while it loads, as for a restore.
    sqlx::query("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .context("turning the triggers off for the load (this needs a superuser)")?;
    let mut filled = Vec::new();
    for table in TABLES {
        let has_rows: bool = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT EXISTS (SELECT 1 FROM {})",
            quoted(table.name)
        )))
        .fetch_one(&mut *tx)
        .await
        .with_context(|| format!("looking into {}", table.name))?;
        if has_rows {
            filled.push(table.name);
        }
    }
    if !filled.is_empty() {
        if !reset {
            bail!(
                "the database already has data (in {}); pass --reset to empty every table first",
                filled.join(", ")
            );
        }
        let tables: Vec<String> = TABLES.iter().map(|t| quoted(t.name)).collect();
        sqlx::query(AssertSqlSafe(format!(
            "TRUNCATE TABLE {} CASCADE",
            tables.join(", ")
        )))
        .execute(&mut *tx)
        .await
        .context("emptying the tables (--reset)")?;
    }

    let plan = tokio::task::spawn_blocking(move || Plan::new(sizes, seed))
        .await
        .context("planning the data")?;
    let total: u64 = rows::counts(&plan).iter().sum();
    let bar = ProgressBar::new(total).with_style(
        ProgressStyle::with_template(
            "{spinner} {elapsed_precise} [{wide_bar}] {human_pos}/{human_len} rows \
             ({per_sec}, {eta} left) {msg}",
        )
        .context("the progress bar template")?,
    );
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Chunk>(4);
    let producer = tokio::task::spawn_blocking(move || {
        rows::write(&plan, &mut |chunk| {
            sender
                .blocking_send(chunk)
                .map_err(|_| anyhow!("the database side stopped"))
        })
    });
    let copied = copy_chunks(&mut tx, &mut receiver, &bar).await;
    drop(receiver);
    let produced = producer.await.context("the row generator panicked")?;
    let tables = copied?;
    produced?;
    sqlx::query(
        "INSERT INTO audit_feed (organization_id, last_seq) \
         SELECT organization_id, max(seq) FROM audit_log GROUP BY organization_id",
    )
    .execute(&mut *tx)
    .await
    .context("numbering the change feeds")?;
    tx.commit().await.context("committing the seed data")?;
    bar.finish_and_clear();
    Ok(Loaded {
        tables,
        elapsed: started.elapsed(),
    })
}

/// Copies the chunks as they come, one `COPY` per table. Without a terminal for the
/// progress bar, prints a line per table instead.
async fn copy_chunks(
    conn: &mut PgConnection,
    receiver: &mut tokio::sync::mpsc::Receiver<Chunk>,
    bar: &ProgressBar,
) -> Result<Vec<Copied>> {
    let mut tables = Vec::new();
    let mut next = receiver.recv().await;
    while let Some(first) = next {
        let started = Instant::now();
        let table = first.table;
        bar.set_message(table.name);
        let columns: Vec<String> = table.columns.iter().map(|c| quoted(c)).collect();
        let statement = format!(
            "COPY {} ({}) FROM STDIN",
            quoted(table.name),
            columns.join(", ")
        );
        let mut copy = conn
            .copy_in_raw(&statement)
            .await
            .with_context(|| format!("starting COPY into {}", table.name))?;
        let mut chunk = first;
        next = loop {
            bar.inc(chunk.rows);
            copy.send(chunk.data.as_bytes())
                .await
                .with_context(|| format!("copying into {}", table.name))?;
            match receiver.recv().await {
                Some(more) if std::ptr::eq(more.table, table) => chunk = more,
                other => break other,
            }
        };
        let rows = copy
            .finish()
            .await
            .with_context(|| format!("copying into {}", table.name))?;
        let took = started.elapsed();
        if bar.is_hidden() {
            eprintln!(
                "xtask: copied {} rows into {} in {:.1} s",
                thousands(rows),
                table.name,
                took.as_secs_f64()
            );
        }
        tables.push(Copied {
            table: table.name,
            rows,
            took,
        });
    }
    Ok(tables)
}

/// `name` as a quoted SQL identifier.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `1234567` → `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use anyhow::Result;

    use super::plan::{Plan, Sizes};
    use super::rows::{self, TABLES};

    /// Every table's `COPY` text for a plan, in order.
    fn render(sizes: Sizes, seed: u64) -> Vec<(&'static str, String)> {
        let plan = Plan::new(sizes, seed);
        let mut out: Vec<(&'static str, String)> = Vec::new();
        rows::write(&plan, &mut |chunk| -> Result<()> {
            match out.last_mut() {
                Some((name, text)) if *name == chunk.table.name => text.push_str(&chunk.data),
                _ => out.push((chunk.table.name, chunk.data)),
            }
            Ok(())
        })
        .expect("writing the rows");
        out
    }

    #[test]
    fn the_same_seed_gives_the_same_rows_and_another_seed_other_rows() {
        let first = render(Sizes::S, 1);
        assert_eq!(first, render(Sizes::S, 1));
        let other = render(Sizes::S, 2);
        assert_eq!(first.len(), other.len());
        for ((table, a), (_, b)) in first.iter().zip(&other) {
            assert_ne!(a, b, "{table} does not depend on the seed");
        }
    }

    #[test]
    fn scales_have_the_documented_sizes() {
        let s: u64 = rows::counts(&Plan::new(Sizes::S, 1)).iter().sum();
        assert!((10_000..15_000).contains(&s), "S has {s} rows");
        let m = rows::counts(&Plan::new(Sizes::M, 1));
        let total: u64 = m.iter().sum();
        assert!(
            (1_000_000..1_250_000).contains(&total),
            "M has {total} rows"
        );
        assert_eq!(m[7], 500_000, "M has 500k tasks");
        assert_eq!(Sizes::L.projects(), 10 * Sizes::M.projects());
    }

    /// Every row has a value per column; every foreign key and polymorphic target points
    /// at a row inserted before it, so `COPY` in this order satisfies the constraints.
    #[test]
    fn rows_are_complete_and_point_only_at_rows_inserted_before_them() {
        let references: HashMap<&str, &str> = [
            ("organization_id", "organizations"),
            ("user_id", "users"),
            ("created_by", "users"),
            ("project_id", "projects"),
            ("assigned_to", "users"),
            ("session_id", "collaboration_sessions"),
            ("approval_id", "approvals"),
            ("author_id", "users"),
            ("requested_by", "users"),
            ("approved_by", "users"),
            ("rejected_by", "users"),
            ("resolved_by", "users"),
            ("thread_id", "comments"),
        ]
        .into();
        let kinds: HashMap<&str, &str> = [
            ("project", "projects"),
            ("requirement", "requirements"),
            ("component", "architectural_components"),
            ("task", "tasks"),
            ("analysis", "analyses"),
            ("approval", "approvals"),
            ("comment", "comments"),
        ]
        .into();
        let mut ids: HashMap<&str, HashSet<String>> = HashMap::new();
        let mut depth: HashMap<String, usize> = HashMap::new();
        let mut deepest: HashMap<&str, usize> = HashMap::new();
        let mut task_depths = [0_usize; 6];
        let rendered = render(Sizes::S, 7);
        assert_eq!(
            rendered.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
            TABLES.iter().map(|t| t.name).collect::<Vec<_>>()
        );
        for ((name, text), table) in rendered.iter().zip(TABLES) {
            for line in text.lines() {
                let values: Vec<&str> = line.split('\t').collect();
                assert_eq!(values.len(), table.columns.len(), "{name}: {line}");
                let row: HashMap<&str, &str> = table
                    .columns
                    .iter()
                    .copied()
                    .zip(values.iter().copied())
                    .collect();
                for (column, value) in &row {
                    if *value == "\\N" {
                        continue;
                    }
                    let target = match *column {
                        "parent_id" => Some(*name),
                        "record_id" => Some(row["table_name"]),
                        "target_id" => Some(kinds[row["target_type"]]),
                        c => references.get(c).copied(),
                    };
                    if let Some(target) = target
                        && !(*column == "thread_id" && *value == row["id"])
                    {
                        assert!(
                            ids.get(target).is_some_and(|s| s.contains(*value)),
                            "{name}.{column} = {value} is not an earlier row of {target}"
                        );
                    }
                }
                let level = match row.get("parent_id") {
                    Some(&parent) if parent != "\\N" => depth[parent] + 1,
                    _ => 0,
                };
                depth.insert(row["id"].to_owned(), level);
                if *name == "tasks" {
                    task_depths[level] += 1;
                }
                let d = deepest.entry(name).or_default();
                *d = (*d).max(level);
                assert!(
                    ids.entry(name).or_default().insert(row["id"].to_owned()),
                    "{name} repeats id {}",
                    row["id"]
                );
            }
        }
        assert_eq!(
            deepest["requirements"], 4,
            "requirement trees have 5 levels"
        );
        assert_eq!(deepest["architectural_components"], 3);
        assert_eq!(deepest["tasks"], 5, "task trees have 6 levels");
        assert!(deepest["comments"] >= 3, "comment threads nest");
        // A pyramid with a waist, not a few chains: every depth holds 5 to 30% of tasks.
        let tasks: usize = task_depths.iter().sum();
        for (d, n) in task_depths.iter().enumerate() {
            assert!(
                (tasks / 20..tasks * 3 / 10).contains(n),
                "{n} of {tasks} tasks at depth {d}: {task_depths:?}"
            );
        }
    }

    #[test]
    fn rows_arrive_interleaved_across_projects() {
        let plan = Plan::new(Sizes::S, 1);
        let projects: Vec<u32> = plan.tasks.order[..20]
            .iter()
            .map(|&i| plan.tasks.project_of(i))
            .collect();
        let distinct: HashSet<u32> = projects.iter().copied().collect();
        assert!(distinct.len() > 5, "the first tasks come from {projects:?}");
        // Level by level: no task before its parent.
        let position: HashMap<u32, usize> = plan
            .tasks
            .order
            .iter()
            .enumerate()
            .map(|(p, &i)| (i, p))
            .collect();
        for (i, node) in plan.tasks.rows.iter().enumerate() {
            if let Some(parent) = node.parent {
                assert!(position[&parent] < position[&(i as u32)]);
            }
        }
    }

    #[test]
    fn numbers_read_as_sql() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(1_234_567), "1,234,567");
        assert_eq!(super::quoted("a\"b"), "\"a\"\"b\"");
    }

    /// Loads S into a freshly migrated database of the test server: PostgreSQL checks
    /// every constraint, enum label and length the rows must keep to.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn s_loads_into_a_migrated_database() {
        let server = std::env::var("BDUF_TEST_DATABASE_URL")
            .unwrap_or_else(|_| crate::scratch::DEFAULT_SERVER_URL.to_owned());
        let (loaded, tasks, again) =
            crate::scratch::with_migrated_database(&server, |db| async move {
                let loaded = super::load(&db, Sizes::S, 1, false).await?;
                let tasks: i64 = sea_orm::sqlx::query_scalar("SELECT count(*) FROM tasks")
                    .fetch_one(db.get_postgres_connection_pool())
                    .await?;
                let again = super::load(&db, Sizes::S, 1, false).await;
                let reset = super::load(&db, Sizes::S, 2, true).await?;
                assert_eq!(reset.tables.len(), 15);
                Ok((loaded, tasks, again))
            })
            .await
            .expect("seeding S");
        let expected = rows::counts(&Plan::new(Sizes::S, 1));
        let counts: Vec<u64> = loaded.tables.iter().map(|t| t.rows).collect();
        assert_eq!(counts, expected);
        assert_eq!(tasks, expected[7] as i64);
        let refused = again.expect_err("a second load without --reset must be refused");
        assert!(refused.to_string().contains("--reset"), "{refused:#}");
    }
}
