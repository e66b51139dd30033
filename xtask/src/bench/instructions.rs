//! `cargo xtask bench --instructions`: the server's own cost of each suite query, in
//! instructions per request counted by callgrind — the same count from run to run, where
//! timings on a shared 2-core machine move by ±40%.
//!
//! The release server runs under `valgrind --tool=callgrind` with instrumentation off; for
//! each query, after warm-up requests (so the document cache and the connection pool are
//! what a running server has), instrumentation is switched on for [`REQUESTS`] requests
//! sent one at a time, then off, and the counts are dumped. Everything the server process
//! executes for those requests counts — HTTP, JSON, GraphQL, the driver, tokio — and
//! nothing the database does. Every answer is checked against the first.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, ensure};

use super::suite::{self, Case};
use super::{Server, post, viewer_headers};

/// Requests counted per query.
pub const REQUESTS: u64 = 50;

/// Warm-up requests per query before counting.
const WARM_UP: usize = 5;

/// One query's count.
#[derive(Debug)]
pub struct Count {
    pub id: &'static str,
    pub name: &'static str,
    pub per_request: u64,
}

/// Counts the instructions per request of every case of the suite on `url`.
pub async fn run(
    url: &str,
    args: &suite::Args,
    logs: &Path,
    only: &[String],
) -> Result<Vec<Count>> {
    ensure!(
        Command::new("valgrind").arg("--version").output().is_ok(),
        "valgrind is not installed (apt-get install valgrind)"
    );
    let dumps = logs.join("callgrind");
    let _ = std::fs::remove_dir_all(&dumps);
    std::fs::create_dir_all(&dumps)?;
    let out_file = dumps.join("callgrind.out");
    let wrapper = [
        "valgrind".to_owned(),
        "--tool=callgrind".to_owned(),
        "--instr-atstart=no".to_owned(),
        format!("--callgrind-out-file={}", out_file.display()),
    ];
    let bduf = Server::start_under(&wrapper, url, &[], &logs.join("server-callgrind.log"))?;
    let pid = bduf.pid().to_string();
    let http = reqwest::Client::builder()
        .default_headers(viewer_headers(args)?)
        .timeout(std::time::Duration::from_secs(120))
        .build()?;
    let (_, page) = post(
        &http,
        &bduf.graphql(),
        &serde_json::to_vec(&suite::first_page(args))?,
    )
    .await?;
    let page: serde_json::Value = serde_json::from_slice(&page)?;
    let after = page["data"]["user"]["assignedTasks"]["pageInfo"]["endCursor"]
        .as_str()
        .context("no first page of tasks")?
        .to_owned();
    let mut counts = Vec::new();
    for case in suite::cases(args, &after) {
        if case.refused || (!only.is_empty() && !only.iter().any(|q| q == case.id)) {
            continue;
        }
        eprintln!("xtask: counting instructions of {} {}", case.id, case.name);
        let per_request = count_case(&case, &bduf, &http, &pid, &dumps)
            .await
            .with_context(|| format!("{}: {}", case.id, case.name))?;
        counts.push(Count {
            id: case.id,
            name: case.name,
            per_request,
        });
    }
    Ok(counts)
}

async fn count_case(
    case: &Case,
    bduf: &Server,
    http: &reqwest::Client,
    pid: &str,
    dumps: &Path,
) -> Result<u64> {
    let body = serde_json::to_vec(&case.body)?;
    let url = bduf.graphql();
    let (status, expected) = post(http, &url, &body).await?;
    ensure!(
        status == 200 && !String::from_utf8_lossy(&expected).contains("\"errors\""),
        "the server answered {status}: {}",
        String::from_utf8_lossy(&expected)
    );
    for _ in 0..WARM_UP {
        post(http, &url, &body).await?;
    }
    control(pid, &["--instr=on"])?;
    for _ in 0..REQUESTS {
        let (status, got) = post(http, &url, &body).await?;
        ensure!(
            status == 200 && got == expected,
            "an answer differed from the first ({status})"
        );
    }
    control(pid, &["--instr=off"])?;
    let before = dump_files(dumps)?;
    control(pid, &[&format!("--dump={}", case.id)])?;
    let dump = wait_for_new_dump(dumps, &before)?;
    let total = totals(&dump)?;
    ensure!(total > 0, "callgrind counted nothing ({})", dump.display());
    Ok(total / REQUESTS)
}

/// Runs `callgrind_control` with `flags` on the server.
fn control(pid: &str, flags: &[&str]) -> Result<()> {
    let status = Command::new("callgrind_control")
        .args(flags)
        .arg(pid)
        .stdout(std::process::Stdio::null())
        .status()
        .context("running callgrind_control")?;
    ensure!(status.success(), "callgrind_control {flags:?} failed");
    Ok(())
}

fn dump_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        files.push(entry?.path());
    }
    Ok(files)
}

/// The dump written after `before` was listed (callgrind writes it asynchronously).
fn wait_for_new_dump(dir: &Path, before: &[PathBuf]) -> Result<PathBuf> {
    for _ in 0..600 {
        let now = dump_files(dir)?;
        if let Some(new) = now.into_iter().find(|f| !before.contains(f)) {
            // Wait until the file is complete: its totals line is written last.
            if totals(&new).is_ok() {
                return Ok(new);
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    anyhow::bail!("callgrind wrote no dump in {}", dir.display())
}

/// The `totals:` (or `summary:`) count of a callgrind dump: instructions executed.
fn totals(file: &Path) -> Result<u64> {
    let text = std::fs::read_to_string(file)?;
    text.lines()
        .rev()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .and_then(|n| n.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("no totals in {}", file.display()))
}

/// The page's table of counts.
pub fn report(counts: &[Count], machine: &str) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "Counted by `cargo xtask bench --instructions` on {}: {machine}, on the seeded \
         database. Instructions the release server executes per request (callgrind, instrumentation on for \
         {REQUESTS} requests of each query sent one at a time after {WARM_UP} warm-up ones; \
         HTTP, JSON, GraphQL, the driver and tokio included, the database not).\n\n",
        chrono::Utc::now().format("%Y-%m-%d"),
    ));
    out.push_str("| query | instructions per request |\n| --- | ---: |\n");
    for count in counts {
        out.push_str(&format!(
            "| {} {} | {} |\n",
            count.id,
            count.name,
            thousands(count.per_request)
        ));
    }
    out
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
