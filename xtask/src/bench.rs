//! `cargo xtask bench [--load]`: the dashboard suite (`bench/suite.rs`) against the
//! release server with its default settings over HTTP, each query also as one
//! hand-written SQL statement over a pool of a connection per client, in the same run on
//! the same seeded database (`cargo xtask seed`). Every GraphQL answer is checked: the
//! first against the SQL statement's data, every later one byte for byte against the
//! first; a `503` is counted and asked again. Writes the figures into
//! `docs/benchmarks.md` between its `bench` markers (and `load` markers with `--load`),
//! leaving the page's prose alone.

#[cfg(test)]
mod explain;
mod instructions;
mod measure;
mod suite;
mod upgrade;
mod writes;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use sea_orm::sqlx::postgres::PgPoolOptions;
use sea_orm::sqlx::{self, Executor as _, PgPool};
use serde_json::Value;

use crate::{postgres, scratch, seed, workspace_root};

use measure::Run;
use suite::Case;

/// What `cargo xtask bench` was asked.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Seconds each 32-client run lasts (1-client runs last half as long).
    pub seconds: u64,
    /// Concurrent clients of the loaded runs.
    pub clients: usize,
    /// Whether to run the 1,000-client overload test too.
    pub load: bool,
    /// Only these queries (`Q1`, …); all when empty. The page is not written then.
    pub only: &'static [String],
    /// Only the write benchmarks (`writes`), on a scratch database.
    pub writes: bool,
    /// Only the instructions per request, counted by callgrind (`instructions`).
    pub instructions: bool,
    /// Only each migration step's time, locks and rewrites on M, on a scratch database
    /// (`upgrade`).
    pub upgrade: bool,
}

/// One query's figures.
#[derive(Debug)]
struct Outcome {
    case: Case,
    statements: f64,
    graphql: [Run; 2],
    /// `503`s the server answered in the loaded GraphQL run (each retried after its
    /// `Retry-After`, the wait counted in the request's latency).
    refused: u64,
    sql: Option<[Run; 2]>,
    rss_kib: u64,
}

/// A running release server; killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `target/release/bduf` (or `BDUF_BENCH_BINARY`, to measure another build)
    /// on a free port against `url` with `flags`.
    fn start(url: &str, flags: &[String], log: &Path) -> Result<Self> {
        Self::start_under(&[], url, flags, log)
    }

    /// [`Server::start`] run by the program and arguments of `wrapper` (`valgrind …`).
    fn start_under(wrapper: &[String], url: &str, flags: &[String], log: &Path) -> Result<Self> {
        let binary = std::env::var_os("BDUF_BENCH_BINARY").map_or_else(
            || workspace_root().join("target/release/bduf"),
            PathBuf::from,
        );
        let log = std::fs::File::create(log).context("creating the server log")?;
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(&binary);
                command
            }
            None => Command::new(&binary),
        };
        // The server's own jobs stay off: its first scheduler turn approves the seeded
        // approvals past their hours, which changes the answers the suite checks (Q1's
        // `openApprovals`) between a query's first request and the next.
        let mut child = command
            .args(["--listen", "127.0.0.1:0"])
            .args([
                "--scheduler-interval-secs",
                "0",
                "--maintenance-interval-secs",
                "0",
            ])
            .args(flags)
            .env("DATABASE_URL", url)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let stdout = child.stdout.take().context("the server's stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead as _;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(url) = line.strip_prefix("bduf: serving GraphQL at ") {
                    let _ = tx.send(url.trim_end_matches("/graphql").to_owned());
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(120))
            .map_err(|_| anyhow!("the server did not start within 2 minutes"))?;
        Ok(Self { child, base })
    }

    fn graphql(&self) -> String {
        format!("{}/graphql", self.base)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's resident memory, in KiB.
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// The server's `/metrics` text.
    async fn metrics(&self, http: &reqwest::Client) -> Result<String> {
        Ok(http
            .get(format!("{}/metrics", self.base))
            .send()
            .await?
            .text()
            .await?)
    }

    /// `bduf_sql_statements_total` now.
    async fn statements(&self, http: &reqwest::Client) -> Result<f64> {
        metric(&self.metrics(http).await?, "bduf_sql_statements_total")
    }

    /// The admission settings the server runs with, in words, from its gauges.
    async fn admission(&self, http: &reqwest::Client) -> Result<String> {
        let text = self.metrics(http).await?;
        Ok(format!(
            "{} queries in flight, the rest queued while their expected wait fits a budget \
             of {:.0} ms (at most {})",
            metric(&text, "bduf_http_in_flight_max")?,
            metric(&text, "bduf_http_queue_wait_budget_seconds")? * 1000.0,
            metric(&text, "bduf_http_queue_max")?,
        ))
    }

    /// `503`s by reason so far: `reason count` pairs, joined.
    async fn refusals(&self, http: &reqwest::Client) -> Result<String> {
        let text = self.metrics(http).await?;
        let reasons: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("bduf_http_refused_total{reason=\""))
            .filter_map(|l| l.split_once("\"} "))
            .map(|(reason, n)| format!("`{reason}` {}", n.trim()))
            .collect();
        Ok(if reasons.is_empty() {
            "none".into()
        } else {
            reasons.join(", ")
        })
    }
}

/// The value of the metric `name` (without labels) in a `/metrics` text.
fn metric(text: &str, name: &str) -> Result<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|n| n.trim().parse().ok())
        .with_context(|| format!("no {name} in /metrics"))
}

/// The headers every benchmark request carries: the session of the suite's user and the
/// organization it acts in.
fn viewer_headers(args: &suite::Args) -> Result<reqwest::header::HeaderMap> {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {}", args.token).parse()?,
    );
    headers.insert("x-organization-id", args.organization.to_string().parse()?);
    Ok(headers)
}

/// Sends one GraphQL request; returns status and body.
async fn post(http: &reqwest::Client, url: &str, body: &[u8]) -> Result<(u16, Vec<u8>)> {
    let response = http
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await?;
    Ok((response.status().as_u16(), response.bytes().await?.to_vec()))
}

/// Whether two answers hold the same data: objects with the same keys, numbers equal as
/// numbers, timestamps equal as instants, everything else equal.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same(v, w))
        }
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::String(x), Value::String(y)) => {
            x == y
                || matches!(
                    (chrono::DateTime::parse_from_rfc3339(x), chrono::DateTime::parse_from_rfc3339(y)),
                    (Ok(s), Ok(t)) if s == t
                )
        }
        _ => a == b,
    }
}

/// The database the bench reads: `DATABASE_URL`, else the managed cluster's `bduf_bench`.
fn bench_url(server: &postgres::Server) -> String {
    if server.is_managed() {
        scratch::database_url(server.url(), seed::BENCH_DATABASE)
    } else {
        server.url().to_owned()
    }
}

/// The machine line of the scratch server's measurements (`--writes`, `--upgrade`).
async fn scratch_machine() -> Result<String> {
    let server = scratch::server_url()?;
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(&server)
        .await
        .with_context(|| format!("connecting to {}", migration::runner::redact(&server)))?;
    let machine = machine(&pool).await?;
    pool.close().await;
    Ok(machine)
}

/// Writes `text` between the `marker` lines of `docs/benchmarks.md`, and prints it.
fn write_section(marker: &str, text: &str) -> Result<()> {
    let page = workspace_root().join("docs/benchmarks.md");
    write_between(&page, marker, text)?;
    println!("{text}");
    eprintln!("xtask: wrote {}", page.display());
    Ok(())
}

/// Runs the suite, and the overload test with `--load`; writes `docs/benchmarks.md`.
pub async fn run(options: Options) -> Result<()> {
    if options.upgrade {
        let machine = scratch_machine().await?;
        eprintln!("xtask: measuring the migration steps on a scratch database");
        return write_section("upgrade", &upgrade::run(&machine).await?);
    }
    if options.writes {
        let machine = scratch_machine().await?;
        eprintln!("xtask: measuring writes on a scratch database");
        return write_section("writes", &writes::run(&machine).await?);
    }
    let server = postgres::for_database_url()?;
    let url = bench_url(&server);
    let shown = migration::runner::redact(&url);
    let pool = PgPoolOptions::new()
        .max_connections(u32::try_from(options.clients).unwrap_or(32))
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute("SET TIME ZONE 'UTC'").await?;
                Ok(())
            })
        })
        .connect(&url)
        .await
        .with_context(|| format!("connecting to {shown}"))?;
    let machine = machine(&pool).await?;
    let dataset = dataset(&pool).await?;
    let args = suite::Args::pick(&pool).await?;
    eprintln!("xtask: benchmarking on {shown} ({dataset})");
    if options.instructions {
        build_release()?;
        let logs = workspace_root().join("target/bench");
        std::fs::create_dir_all(&logs)?;
        let counts = instructions::run(&url, &args, &logs, options.only).await?;
        let text = instructions::report(&counts, &machine);
        println!("{text}");
        if options.only.is_empty() && std::env::var_os("BDUF_BENCH_BINARY").is_none() {
            let page = workspace_root().join("docs/benchmarks.md");
            write_between(&page, "instructions", &text)?;
            eprintln!("xtask: wrote {}", page.display());
        }
        pool.close().await;
        return Ok(());
    }

    build_release()?;
    let logs = workspace_root().join("target/bench");
    std::fs::create_dir_all(&logs)?;

    // The server's default settings: the page shows what they serve.
    let bduf = Server::start(&url, &[], &logs.join("server.log"))?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(options.clients * 2)
        .default_headers(viewer_headers(&args)?)
        .build()?;
    let admission = bduf.admission(&http).await?;
    let (_, page) = post(
        &http,
        &bduf.graphql(),
        &serde_json::to_vec(&suite::first_page(&args))?,
    )
    .await?;
    let page: Value = serde_json::from_slice(&page)?;
    let after = page["data"]["user"]["assignedTasks"]["pageInfo"]["endCursor"]
        .as_str()
        .context("no first page of tasks")?
        .to_owned();

    let seconds = Duration::from_secs(options.seconds);
    let mut outcomes = Vec::new();
    for case in suite::cases(&args, &after) {
        if !options.only.is_empty() && !options.only.iter().any(|q| q == case.id) {
            continue;
        }
        eprintln!("xtask: {} {}", case.id, case.name);
        outcomes.push(
            measure_case(&case, &bduf, &http, &pool, options.clients, seconds)
                .await
                .with_context(|| format!("{}: {}", case.id, case.name))?,
        );
    }
    drop(bduf);

    let load = if options.load {
        Some(overload(&url, &suite::cases(&args, &after)[0], &args, &logs).await?)
    } else {
        None
    };

    let page = workspace_root().join("docs/benchmarks.md");
    let command = if options.load {
        "cargo xtask bench --load"
    } else {
        "cargo xtask bench"
    };
    let table = report(&outcomes, &machine, &dataset, &admission, command, options);
    if !options.only.is_empty() {
        println!("{table}");
        pool.close().await;
        return Ok(());
    }
    write_between(&page, "bench", &table)?;
    if let Some(load) = load {
        write_between(&page, "load", &load)?;
    }
    println!("{table}");
    eprintln!("xtask: wrote {}", page.display());
    pool.close().await;
    Ok(())
}

/// Builds the release server.
fn build_release() -> Result<()> {
    if std::env::var_os("BDUF_BENCH_BINARY").is_some() {
        return Ok(());
    }
    eprintln!("xtask: building the release server");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "--quiet", "-p", "bduf-server"])
        .current_dir(workspace_root())
        .status()
        .context("running cargo build")?;
    ensure!(status.success(), "building the release server failed");
    Ok(())
}

/// Measures one case: checks its answer, counts its statements, runs it at 1 and at
/// `clients` clients over GraphQL and as SQL.
async fn measure_case(
    case: &Case,
    bduf: &Server,
    http: &reqwest::Client,
    pool: &PgPool,
    clients: usize,
    seconds: Duration,
) -> Result<Outcome> {
    let body = Arc::new(serde_json::to_vec(&case.body)?);
    let url = Arc::new(bduf.graphql());
    let (status, expected) = post(http, &url, &body).await?;
    let answer: Value = serde_json::from_slice(&expected)?;
    if case.refused {
        let code = &answer["errors"][0]["extensions"]["code"];
        ensure!(
            status == 200 && code == "QUERY_TOO_COSTLY",
            "expected a refusal, got {status}: {answer}"
        );
    } else {
        ensure!(
            status == 200 && answer.get("errors").is_none(),
            "the server answered {status}: {answer}"
        );
    }
    let sql_answer = match &case.sql {
        Some((sql, args)) => {
            let text = suite::answer(pool, sql, args)
                .await
                .context("running the SQL statement")?;
            let data: Value = serde_json::from_str(&text)?;
            if !same(&data, &answer["data"]) {
                let dir = workspace_root().join("target/bench");
                std::fs::write(
                    dir.join(format!("{}.graphql.json", case.id)),
                    serde_json::to_string_pretty(&answer["data"])?,
                )?;
                std::fs::write(
                    dir.join(format!("{}.sql.json", case.id)),
                    serde_json::to_string_pretty(&data)?,
                )?;
                bail!(
                    "GraphQL and SQL answer differently (see target/bench/{}.*.json)",
                    case.id
                );
            }
            Some(text)
        }
        None => None,
    };

    let before = bduf.statements(http).await?;
    for _ in 0..20 {
        post(http, &url, &body).await?;
    }
    let statements = (bduf.statements(http).await? - before) / 20.0;
    if !case.refused && (statements - f64::from(case.statements)).abs() > 0.01 {
        bail!(
            "{} took {statements} statements a request, its case declares {}",
            case.id,
            case.statements
        );
    }

    let expected = Arc::new(expected);
    // A `503` is counted and asked again after its `Retry-After` second, as a client
    // would; the request's latency includes the wait.
    let graphql = |n: usize, duration: Duration, refused: &Arc<AtomicU64>| {
        let (http, url, body, expected, refused) = (
            http.clone(),
            Arc::clone(&url),
            Arc::clone(&body),
            Arc::clone(&expected),
            Arc::clone(refused),
        );
        measure::run(n, Duration::from_secs(1), duration, move || {
            let (http, url, body, expected, refused) = (
                http.clone(),
                Arc::clone(&url),
                Arc::clone(&body),
                Arc::clone(&expected),
                Arc::clone(&refused),
            );
            async move {
                loop {
                    let (status, got) = post(&http, &url, &body).await?;
                    if status == 503 {
                        refused.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                    ensure!(
                        status == 200 && got == *expected,
                        "a different answer ({status}): {}",
                        String::from_utf8_lossy(&got)
                    );
                    return Ok(());
                }
            }
        })
    };
    let alone = graphql(1, seconds / 2, &Arc::new(AtomicU64::new(0))).await?;
    let refused = Arc::new(AtomicU64::new(0));
    let loaded = graphql(clients, seconds, &refused).await?;
    let refused = refused.load(Ordering::Relaxed);
    let rss_kib = bduf.rss_kib();

    let sql = match (&case.sql, sql_answer) {
        (Some((sql, args)), Some(expected)) => {
            let expected = Arc::new(expected);
            let args = Arc::new(args.clone());
            let sql: &'static str = sql;
            let run = |n: usize, duration: Duration| {
                let (pool, expected, args) =
                    (pool.clone(), Arc::clone(&expected), Arc::clone(&args));
                measure::run(n, Duration::from_secs(1), duration, move || {
                    let (pool, expected, args) =
                        (pool.clone(), Arc::clone(&expected), Arc::clone(&args));
                    async move {
                        let text = suite::answer(&pool, sql, &args).await?;
                        ensure!(text == *expected, "SQL answered differently");
                        Ok(())
                    }
                })
            };
            Some([run(1, seconds / 2).await?, run(clients, seconds).await?])
        }
        _ => None,
    };
    Ok(Outcome {
        case: case.clone(),
        statements,
        graphql: [alone, loaded],
        refused,
        sql,
        rss_kib,
    })
}

/// 1,000 clients for 60 s against a server with its default admission settings: how
/// many are served, how many refused with 503 (each then waits its `Retry-After`), at what
/// latency, and whether anything else goes wrong.
async fn overload(url: &str, case: &Case, args: &suite::Args, logs: &Path) -> Result<String> {
    const CLIENTS: usize = 1_000;
    const SECONDS: u64 = 60;
    eprintln!(
        "xtask: overload: {CLIENTS} clients for {SECONDS} s on {}",
        case.id
    );
    let bduf = Server::start(url, &[], &logs.join("server-load.log"))?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .timeout(Duration::from_secs(30))
        .default_headers(viewer_headers(args)?)
        .build()?;
    let admission = bduf.admission(&http).await?;
    let body = Arc::new(serde_json::to_vec(&case.body)?);
    let target = Arc::new(bduf.graphql());
    let (_, expected) = post(&http, &target, &body).await?;
    let expected = Arc::new(expected);
    let served = Arc::new(tokio::sync::Mutex::new(Vec::<u32>::new()));
    let refused = Arc::new(tokio::sync::Mutex::new(Vec::<u32>::new()));
    let errors = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(tokio::sync::Mutex::new(None::<String>));
    let end = Instant::now() + Duration::from_secs(SECONDS);
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (http, target, body, expected) = (
            http.clone(),
            Arc::clone(&target),
            Arc::clone(&body),
            Arc::clone(&expected),
        );
        let (served, refused, errors, first_error) = (
            Arc::clone(&served),
            Arc::clone(&refused),
            Arc::clone(&errors),
            Arc::clone(&first_error),
        );
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut busy) = (Vec::new(), Vec::new());
            while Instant::now() < end {
                let sent = Instant::now();
                let result = http
                    .post(target.as_str())
                    .header("content-type", "application/json")
                    .body(body.to_vec())
                    .send()
                    .await;
                let took = u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX);
                match result {
                    Ok(response) if response.status() == 503 => {
                        let retry = response.headers().get("retry-after").is_some();
                        if retry {
                            busy.push(took);
                        } else {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    Ok(response) => {
                        let status = response.status();
                        match response.bytes().await {
                            Ok(got) if status == 200 && got.as_ref() == expected.as_slice() => {
                                ok.push(took)
                            }
                            other => {
                                errors.fetch_add(1, Ordering::Relaxed);
                                first_error
                                    .lock()
                                    .await
                                    .get_or_insert_with(|| format!("{status}: {other:?}"));
                            }
                        }
                    }
                    Err(err) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        first_error
                            .lock()
                            .await
                            .get_or_insert_with(|| err.to_string());
                    }
                }
            }
            served.lock().await.extend(ok);
            refused.lock().await.extend(busy);
        }));
    }
    for task in tasks {
        task.await?;
    }
    let mut served = std::mem::take(&mut *served.lock().await);
    let mut refused = std::mem::take(&mut *refused.lock().await);
    served.sort_unstable();
    refused.sort_unstable();
    let errors = errors.load(Ordering::Relaxed);
    let rss = bduf.rss_kib();
    let reasons = bduf.refusals(&http).await?;
    let mut out = String::new();
    out.push_str(&format!(
        "`{}` ({}) from {CLIENTS} concurrent clients for {SECONDS} s against the server's default \
         admission settings ({admission}); a refused client waits the `Retry-After` second \
         before it asks again.\n\n",
        case.id, case.name
    ));
    out.push_str("| | requests | per second | p50 ms | p95 ms | p99 ms |\n| --- | ---: | ---: | ---: | ---: | ---: |\n");
    for (what, list) in [
        ("served (200, answer checked)", &served),
        ("refused (503 + Retry-After)", &refused),
    ] {
        out.push_str(&format!(
            "| {what} | {} | {:.0} | {:.1} | {:.1} | {:.1} |\n",
            list.len(),
            list.len() as f64 / SECONDS as f64,
            measure::quantile(list, 0.5),
            measure::quantile(list, 0.95),
            measure::quantile(list, 0.99),
        ));
    }
    out.push_str(&format!(
        "\nRefusals by reason (`bduf_http_refused_total`): {reasons}. Other errors: {errors}{}. \
         Server RSS at the end: {} MiB.\n",
        first_error
            .lock()
            .await
            .as_ref()
            .map(|e| format!(" (first: {e})"))
            .unwrap_or_default(),
        rss / 1024
    ));
    Ok(out)
}

/// The machine: CPU, memory, PostgreSQL.
async fn machine(pool: &PgPool) -> Result<String> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let memory_kib: u64 = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(pool)
        .await?;
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    Ok(format!(
        "{cores} vCPU ({cpu}), {} GiB RAM, PostgreSQL {version} on the same machine",
        memory_kib / 1024 / 1024
    ))
}

/// The dataset: rows per table.
async fn dataset(pool: &PgPool) -> Result<String> {
    let mut parts = Vec::new();
    let mut total = 0_i64;
    for table in [
        "organizations",
        "users",
        "projects",
        "requirements",
        "architectural_components",
        "tasks",
        "comments",
        "analyses",
        "approvals",
        "notifications",
        "audit_log",
    ] {
        let n: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
                .fetch_one(pool)
                .await?;
        total += n;
        parts.push(format!("{table} {n}"));
    }
    ensure!(
        total > 0,
        "the database is empty: run `cargo xtask seed --scale M` first"
    );
    Ok(format!(
        "{total} rows in the main tables: {}",
        parts.join(", ")
    ))
}

/// The results table and the facts around it.
fn report(
    outcomes: &[Outcome],
    machine: &str,
    dataset: &str,
    admission: &str,
    command: &str,
    options: Options,
) -> String {
    let clients = options.clients;
    let mut out = format!(
        "Measured by `{command}` on {}: {machine}. Dataset (`cargo xtask seed --scale M`): {dataset}. \
         Each query runs {} s alone and {} s from {clients} clients, over HTTP against the release \
         server with its default settings ({admission}; its scheduler and maintenance off, so \
         that no job changes the data the answers are checked against) and as its SQL \
         statement over a pool of {clients} connections, after a 1 s warm-up. Every answer was checked; a `503` is counted \
         and asked again after its `Retry-After` second, the wait counted in the latency.\n\n",
        chrono::Utc::now().format("%Y-%m-%d"),
        options.seconds / 2,
        options.seconds,
    );
    out.push_str(&format!(
        "| query | statements (levels) | GraphQL p50 / p95 / p99 ms, 1 client | SQL p50 ms, 1 client | GraphQL p50 / p95 / p99 ms, {clients} clients | 503s, {clients} clients | GraphQL req/s | SQL req/s | GraphQL ÷ SQL | server RSS MiB |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    ));
    for o in outcomes {
        let [alone, loaded] = &o.graphql;
        let (sql_p50, sql_rate, ratio) = match &o.sql {
            Some([sql_alone, sql_loaded]) => (
                format!("{:.2}", sql_alone.quantile_ms(0.5)),
                format!("{:.0}", sql_loaded.rate()),
                format!("{:.2}", loaded.rate() / sql_loaded.rate().max(1e-9)),
            ),
            None => ("–".into(), "–".into(), "–".into()),
        };
        out.push_str(&format!(
            "| {} {} | {:.0} ({}) | {:.2} / {:.2} / {:.2} | {sql_p50} | {:.2} / {:.2} / {:.2} | {} | {:.0} | {sql_rate} | {ratio} | {} |\n",
            o.case.id,
            o.case.name,
            o.statements,
            o.case.levels,
            alone.quantile_ms(0.5),
            alone.quantile_ms(0.95),
            alone.quantile_ms(0.99),
            loaded.quantile_ms(0.5),
            loaded.quantile_ms(0.95),
            loaded.quantile_ms(0.99),
            o.refused,
            loaded.rate(),
            o.rss_kib / 1024,
        ));
    }
    out
}

/// Replaces the text between `<!-- {marker}:begin -->` and `<!-- {marker}:end -->` in
/// `page` with `text`.
fn write_between(page: &PathBuf, marker: &str, text: &str) -> Result<()> {
    let current =
        std::fs::read_to_string(page).with_context(|| format!("reading {}", page.display()))?;
    let begin = format!("<!-- {marker}:begin -->");
    let end = format!("<!-- {marker}:end -->");
    let (Some(a), Some(b)) = (current.find(&begin), current.find(&end)) else {
        bail!("{} has no {begin} … {end} markers", page.display());
    };
    let updated = format!("{}{begin}\n{text}\n{}", &current[..a], &current[b..]);
    std::fs::write(page, updated)?;
    Ok(())
}
