//! `cargo xtask bench --writes`: what the database's own rules cost writes, on a scratch
//! database (created, migrated, dropped; the seeded one is left alone):
//!
//! - the audit, tree and `updated_at` triggers (migration steps 17–18): the same writes
//!   with the tables' triggers on and off (`ALTER TABLE … DISABLE TRIGGER USER`, which
//!   keeps the foreign keys' checks), as 5,000-row subtrees written 500 rows a statement
//!   (what `createTaskTree` does) and as single-row updates, each its own transaction;
//! - the dependency cycle check (step 19) on inserting a `blocks` dependency on the end of
//!   a chain 20 deep, and on refusing the one that would close it;
//! - a project's critical path over 10,000 tasks and 50,000 dependencies, asked of the
//!   release server over HTTP (two statements, the schedule, the JSON).
//!
//! Every figure is checked: the rows and audit entries written are counted, the refusal
//! is a refusal, the schedule's length is recomputed independently.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait};
use uuid::Uuid;

use crate::scratch;

/// Runs the write benchmarks and returns their section of the page.
pub async fn run(machine: &str) -> Result<String> {
    let server = scratch::server_url()?;
    let machine = machine.to_owned();
    let url = server.clone();
    scratch::with_migrated_database(&server, move |db| async move {
        measure(&db, &url, &machine).await
    })
    .await
}

async fn exec(db: &impl ConnectionTrait, sql: &str) -> Result<()> {
    db.execute_unprepared(sql)
        .await
        .with_context(|| sql.chars().take(200).collect::<String>())?;
    Ok(())
}

async fn number(db: &DatabaseConnection, sql: &str) -> Result<i64> {
    let row = db
        .query_one_raw(Statement::from_string(DbBackend::Postgres, sql.to_owned()))
        .await?
        .context("no row")?;
    Ok(row.try_get_by_index(0)?)
}

/// An organization, a user and `n` projects; returns `(org, user, projects)`.
async fn world(db: &DatabaseConnection, n: usize) -> Result<(Uuid, Uuid, Vec<Uuid>)> {
    let (org, user) = (Uuid::now_v7(), Uuid::now_v7());
    exec(
        db,
        &format!(
            "INSERT INTO users (id, email, username, password_hash) VALUES ('{user}', 'b@example.com', 'bench', 'x'); \
             INSERT INTO organizations (id, name, slug) VALUES ('{org}', 'bench', 'bench')"
        ),
    )
    .await?;
    let projects: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
    for p in &projects {
        exec(
            db,
            &format!(
                "INSERT INTO projects (id, organization_id, created_by, name) VALUES ('{p}', '{org}', '{user}', 'p')"
            ),
        )
        .await?;
    }
    Ok((org, user, projects))
}

/// A subtree of `n` tasks (each node's parent an earlier node), 500 rows a statement, in
/// one transaction; returns the time it took.
async fn subtree(db: &DatabaseConnection, org: Uuid, project: Uuid, n: usize) -> Result<Duration> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let ids: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
    let started = Instant::now();
    let txn = db.begin().await?;
    for (c, chunk) in ids.chunks(500).enumerate() {
        let values: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let at = c * 500 + i;
                let parent = if at == 0 {
                    "NULL".to_owned()
                } else {
                    format!("'{}'", ids[rng.random_range(0..at)])
                };
                format!("('{org}', '{id}', '{project}', 'task {at}', {parent})")
            })
            .collect();
        exec(
            &txn,
            &format!(
                "INSERT INTO tasks (organization_id, id, project_id, title, parent_id) VALUES {}",
                values.join(", ")
            ),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(started.elapsed())
}

/// `n` single-row updates of `project`'s tasks, each its own transaction; returns the
/// time they took.
async fn updates(db: &DatabaseConnection, project: Uuid, n: usize) -> Result<Duration> {
    let rows = db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT id FROM tasks WHERE project_id = '{project}' ORDER BY id LIMIT {n}"),
        ))
        .await?;
    let ids: Vec<Uuid> = rows
        .iter()
        .map(|r| r.try_get_by_index(0))
        .collect::<Result<_, _>>()?;
    ensure!(ids.len() == n, "{} tasks to update, not {n}", ids.len());
    let started = Instant::now();
    for (i, id) in ids.iter().enumerate() {
        exec(
            db,
            &format!(
                "UPDATE tasks SET progress_percentage = {} WHERE id = '{id}'",
                i % 100 + 1
            ),
        )
        .await?;
    }
    Ok(started.elapsed())
}

fn per_second(n: usize, took: Duration) -> f64 {
    n as f64 / took.as_secs_f64()
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

async fn measure(db: &DatabaseConnection, server: &str, machine: &str) -> Result<String> {
    const TREE: usize = 5_000;
    const UPDATES: usize = 2_000;
    let (org, _user, projects) = world(db, 7).await?;

    // Triggers off and on, twice each, alternating, after a warm-up run; the faster of
    // each pair counts.
    subtree(db, org, projects[0], TREE).await?;
    let audited_before = number(db, "SELECT count(*) FROM audit_log").await?;
    let (mut bare_tree, mut bare_updates) = (Duration::MAX, Duration::MAX);
    let (mut tree, mut updated) = (Duration::MAX, Duration::MAX);
    let mut audited_runs = 0i64;
    for round in 0..2 {
        exec(db, "ALTER TABLE tasks DISABLE TRIGGER USER").await?;
        bare_tree = bare_tree.min(subtree(db, org, projects[1 + 2 * round], TREE).await?);
        bare_updates = bare_updates.min(updates(db, projects[1 + 2 * round], UPDATES).await?);
        exec(db, "ALTER TABLE tasks ENABLE TRIGGER USER").await?;
        tree = tree.min(subtree(db, org, projects[2 + 2 * round], TREE).await?);
        updated = updated.min(updates(db, projects[2 + 2 * round], UPDATES).await?);
        audited_runs += 1;
    }
    let entries_written = number(db, "SELECT count(*) FROM audit_log").await? - audited_before;
    ensure!(
        entries_written == audited_runs * (TREE + UPDATES) as i64,
        "{entries_written} audit entries for {audited_runs} runs of {TREE} inserts and {UPDATES} updates"
    );
    let last = number(
        db,
        &format!("SELECT max(seq) FROM audit_log WHERE organization_id = '{org}'"),
    )
    .await?;
    let entries = number(
        db,
        &format!("SELECT count(*) FROM audit_log WHERE organization_id = '{org}'"),
    )
    .await?;
    ensure!(
        last == entries,
        "the feed has gaps: {entries} entries, last {last}"
    );

    // The cycle check: a chain 20 deep, then 200 dependencies on its end.
    let project = projects[5];
    let chain: Vec<Uuid> = (0..221).map(|_| Uuid::now_v7()).collect();
    let values: Vec<String> = chain
        .iter()
        .map(|id| format!("('{org}', '{id}', '{project}', 't')"))
        .collect();
    exec(
        db,
        &format!(
            "INSERT INTO tasks (organization_id, id, project_id, title) VALUES {}",
            values.join(", ")
        ),
    )
    .await?;
    let depend = |task: Uuid, on: Uuid| {
        format!(
            "INSERT INTO task_dependencies (organization_id, id, project_id, task_id, depends_on_task_id) \
             VALUES ('{org}', '{}', '{project}', '{task}', '{on}')",
            Uuid::now_v7()
        )
    };
    for w in chain[..21].windows(2) {
        exec(db, &depend(w[1], w[0])).await?;
    }
    let mut inserts = Vec::new();
    for task in &chain[21..] {
        let started = Instant::now();
        exec(db, &depend(*task, chain[20])).await?;
        inserts.push(started.elapsed());
    }
    inserts.sort();
    let mut refusals = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        let refused = db.execute_unprepared(&depend(chain[0], chain[20])).await;
        refusals.push(started.elapsed());
        ensure!(refused.is_err(), "closing the chain was not refused");
    }
    refusals.sort();

    // The critical path of 10,000 tasks and 50,000 dependencies (each on an earlier
    // task: a DAG).
    let project = projects[6];
    const TASKS: usize = 10_000;
    const EDGES: usize = 50_000;
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let ids: Vec<Uuid> = (0..TASKS).map(|_| Uuid::now_v7()).collect();
    let hours: Vec<i32> = (0..TASKS).map(|_| rng.random_range(1..=40)).collect();
    exec(db, "ALTER TABLE tasks DISABLE TRIGGER USER").await?;
    exec(db, "ALTER TABLE task_dependencies DISABLE TRIGGER USER").await?;
    for chunk in ids.iter().zip(&hours).collect::<Vec<_>>().chunks(1_000) {
        let values: Vec<String> = chunk
            .iter()
            .map(|(id, h)| format!("('{org}', '{id}', '{project}', 't', {h})"))
            .collect();
        exec(
            db,
            &format!(
                "INSERT INTO tasks (organization_id, id, project_id, title, estimated_hours) VALUES {}",
                values.join(", ")
            ),
        )
        .await?;
    }
    let mut pairs = std::collections::HashSet::new();
    while pairs.len() < EDGES {
        let b = rng.random_range(1..TASKS);
        let a = rng.random_range(b.saturating_sub(50)..b);
        pairs.insert((b, a));
    }
    let pairs: Vec<(usize, usize)> = pairs.into_iter().collect();
    for chunk in pairs.chunks(2_000) {
        let values: Vec<String> = chunk
            .iter()
            .map(|(b, a)| {
                format!(
                    "('{org}', '{}', '{project}', '{}', '{}')",
                    Uuid::now_v7(),
                    ids[*b],
                    ids[*a]
                )
            })
            .collect();
        exec(
            db,
            &format!(
                "INSERT INTO task_dependencies (organization_id, id, project_id, task_id, depends_on_task_id) VALUES {}",
                values.join(", ")
            ),
        )
        .await?;
    }
    exec(db, "ALTER TABLE task_dependencies ENABLE TRIGGER USER").await?;
    exec(db, "ALTER TABLE tasks ENABLE TRIGGER USER").await?;
    exec(db, "ANALYZE tasks, task_dependencies").await?;
    // Through the API: the release server on this database, as a member of the
    // organization.
    let member = Uuid::now_v7();
    let owner: Uuid = {
        let row = db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT id FROM users LIMIT 1".to_owned(),
            ))
            .await?
            .context("the bench user")?;
        row.try_get_by_index(0)?
    };
    let (token, hash) = bduf_identity::auth::new_token();
    exec(
        db,
        &format!(
            "INSERT INTO organization_members (id, organization_id, user_id, role) VALUES ('{member}', '{org}', '{owner}', 'owner'); \
             INSERT INTO user_sessions (id, user_id, token_hash, expires_at, last_used_at, user_agent) \
             VALUES ('{}', '{owner}', '{hash}', now() + interval '1 day', now(), 'cargo xtask bench --writes')",
            Uuid::now_v7()
        ),
    )
    .await?;
    let database: String = {
        let row = db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT current_database()".to_owned(),
            ))
            .await?
            .context("the database's name")?;
        row.try_get_by_index(0)?
    };
    eprintln!("xtask: building the release server");
    let status =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "--release", "--quiet", "-p", "bduf-server"])
            .current_dir(crate::workspace_root())
            .status()
            .context("running cargo build")?;
    ensure!(status.success(), "building the release server failed");
    let logs = crate::workspace_root().join("target/bench");
    std::fs::create_dir_all(&logs)?;
    let bduf = super::Server::start(
        &scratch::database_url(server, &database),
        &[],
        &logs.join("writes-server.log"),
    )?;
    let http = reqwest::Client::new();
    let body = serde_json::to_vec(&serde_json::json!({
        "query": format!("{{ project(id: \"{project}\") {{ criticalPath {{ totalHours path {{ id }} tasks {{ slack }} }} }} }}")
    }))?;
    let mut requests = Vec::new();
    let mut total = 0.0;
    let mut scheduled = 0;
    for _ in 0..11 {
        let started = Instant::now();
        let response = http
            .post(bduf.graphql())
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"))
            .header("x-organization-id", org.to_string())
            .body(body.clone())
            .send()
            .await?
            .bytes()
            .await?;
        requests.push(started.elapsed());
        let answer: serde_json::Value = serde_json::from_slice(&response)?;
        let schedule = &answer["data"]["project"]["criticalPath"];
        total = schedule["totalHours"]
            .as_f64()
            .with_context(|| format!("{answer}"))?;
        scheduled = schedule["tasks"].as_array().map_or(0, Vec::len);
    }
    drop(bduf);
    ensure!(
        scheduled == TASKS,
        "{scheduled} tasks scheduled, not {TASKS}"
    );
    // The first request warms the server's caches; the other ten are measured.
    let mut requests = requests.split_off(1);
    requests.sort();
    // The longest path again, by dynamic programming over the index order (every edge
    // points to an earlier task).
    let mut finish = vec![0.0f64; TASKS];
    let mut waits: Vec<Vec<usize>> = vec![Vec::new(); TASKS];
    for (b, a) in &pairs {
        waits[*b].push(*a);
    }
    for b in 0..TASKS {
        let start = waits[b].iter().map(|a| finish[*a]).fold(0.0, f64::max);
        finish[b] = start + f64::from(hours[b]);
    }
    let expected = finish.iter().copied().fold(0.0, f64::max);
    ensure!(
        (total - expected).abs() < 1e-6,
        "critical path {total} h, expected {expected} h"
    );

    let median = |v: &[Duration]| v[v.len() / 2];
    let p99 = |v: &[Duration]| v[(v.len() * 99 / 100).min(v.len() - 1)];
    Ok(format!(
        "Measured by `cargo xtask bench --writes` on {machine}, on a scratch database of the \
         same server (one client; timings on these machines vary ±40% run to run).\n\n\
         | write | triggers off | triggers on | overhead |\n\
         | --- | --- | --- | --- |\n\
         | a {TREE}-task subtree, 500 rows a statement, one transaction | {:.0} rows/s | {:.0} rows/s ({TREE} audit entries) | {:+.0}% |\n\
         | {UPDATES} single-row updates, each its own transaction | {:.0} writes/s | {:.0} writes/s | {:+.0}% |\n\n\
         \"Triggers on\" is every trigger of `tasks`: audit (step 17), tree checks (step 18), \
         `updated_at`; \"off\" keeps the foreign keys' checks. Each figure is the faster of \
         two runs, off and on alternating, after a warm-up run. The change feed had no gap \
         ({entries} entries, last `seq` {last}). supa_audit's guidance is to stay under about \
         3,000 audited writes/s; single-row audited writes here run at {:.0}/s from one client.\n\n\
         | dependencies | median | p99 |\n\
         | --- | --- | --- |\n\
         | insert a `blocks` dependency on the end of a chain 20 deep (cycle check walks 20) | {:.2} ms | {:.2} ms |\n\
         | refuse the dependency that would close that chain | {:.2} ms | {:.2} ms |\n\
         | `criticalPath` of a project of {TASKS} tasks / {EDGES} dependencies, over HTTP from the release server (two statements, Kahn's order, slack of every task, the answer's JSON) | {:.1} ms | {:.1} ms |\n\n\
         The critical path came out at {total:.0} hours, as recomputed independently.\n",
        per_second(TREE, bare_tree),
        per_second(TREE, tree),
        (tree.as_secs_f64() / bare_tree.as_secs_f64() - 1.0) * 100.0,
        per_second(UPDATES, bare_updates),
        per_second(UPDATES, updated),
        (updated.as_secs_f64() / bare_updates.as_secs_f64() - 1.0) * 100.0,
        per_second(UPDATES, updated),
        millis(median(&inserts)),
        millis(p99(&inserts)),
        millis(median(&refusals)),
        millis(p99(&refusals)),
        millis(median(&requests)),
        millis(p99(&requests)),
    ))
}
