//! The PostgreSQL server an xtask command works against: the one an environment variable
//! names (`BDUF_TEST_DATABASE_URL` for the tests, `DATABASE_URL` for the generators, seed
//! data and benchmarks), or else the managed throwaway cluster of [`crate::cluster`],
//! started for the command and stopped after it. The tests never skip PostgreSQL.

use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::cluster::{self, Cluster};

/// The variable naming the tests' server.
pub const TEST_URL_VAR: &str = "BDUF_TEST_DATABASE_URL";

/// The variable naming the server of the generators, seed data and benchmarks.
pub const DATABASE_URL_VAR: &str = "DATABASE_URL";

/// A PostgreSQL server for one xtask command. When it is the managed cluster, the cluster
/// runs as long as this value lives.
#[derive(Debug)]
pub struct Server {
    url: String,
    cluster: Option<Cluster>,
}

impl Server {
    /// The server's URL; for the managed cluster, its maintenance database `postgres`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether this is the managed cluster (rather than a server named by a variable).
    pub fn is_managed(&self) -> bool {
        self.cluster.is_some()
    }
}

/// The tests' server: `BDUF_TEST_DATABASE_URL` (started first if it is a local Debian
/// cluster that is down), else the managed cluster.
pub fn for_tests() -> Result<Server> {
    match std::env::var(TEST_URL_VAR) {
        Ok(url) => {
            ensure_running(&url)?;
            Ok(Server { url, cluster: None })
        }
        Err(_) => managed(),
    }
}

/// The server of the generators, seed data and benchmarks: `DATABASE_URL` as given, else
/// the managed cluster.
pub fn for_database_url() -> Result<Server> {
    match std::env::var(DATABASE_URL_VAR) {
        Ok(url) => Ok(Server { url, cluster: None }),
        Err(_) => managed(),
    }
}

/// [`for_database_url`], registered as the server `codegen` and `erd` create their
/// scratch databases on.
pub fn for_generators() -> Result<Server> {
    let server = for_database_url()?;
    if server.is_managed() {
        crate::scratch::MANAGED_SERVER_URL
            .set(server.url.clone())
            .ok();
    }
    Ok(server)
}

fn managed() -> Result<Server> {
    let cluster = cluster::start()?;
    eprintln!(
        "xtask: PostgreSQL is up at {} (managed cluster in {})",
        cluster.url(),
        cluster.root().display()
    );
    Ok(Server {
        url: cluster.url().to_owned(),
        cluster: Some(cluster),
    })
}

/// `cargo xtask postgres`: starts the managed cluster and keeps it running until Ctrl-C;
/// with a command, runs that command against it instead and stops it afterwards. With
/// `BDUF_TEST_DATABASE_URL` set it only makes sure that server is up, as the tests do.
pub async fn run(stop: bool, command: &[String]) -> Result<()> {
    if stop {
        return cluster::stop_now();
    }
    let server = for_tests()?;
    let url = server.url().to_owned();
    if let Some((program, args)) = command.split_first() {
        let mut child = Command::new(program);
        child.args(args).env(TEST_URL_VAR, &url);
        if let Some(cluster) = &server.cluster {
            child
                .env("PGHOST", "127.0.0.1")
                .env("PGPORT", cluster.port().to_string())
                .env("PGUSER", cluster::SUPERUSER)
                .env("PGDATABASE", "postgres");
        }
        let status = child
            .status()
            .with_context(|| format!("running {program}"))?;
        drop(server);
        if !status.success() {
            bail!("`{}` failed ({status})", command.join(" "));
        }
        return Ok(());
    }
    if !server.is_managed() {
        return Ok(());
    }
    println!("{url}");
    eprintln!(
        "xtask: for example `psql {url}`, or in another shell \
         `export {TEST_URL_VAR}={url}` before `cargo test`. Ctrl-C stops it."
    );
    wait_for_stop_signal().await
}

/// Waits for Ctrl-C or SIGTERM.
async fn wait_for_stop_signal() -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    tokio::select! {
        interrupted = tokio::signal::ctrl_c() => interrupted.context("listening for Ctrl-C")?,
        _ = term.recv() => {}
    }
    Ok(())
}

/// Checks that the server at `url` (from `BDUF_TEST_DATABASE_URL`) accepts connections,
/// starting the local Debian cluster if it is installed but down.
fn ensure_running(url: &str) -> Result<()> {
    let addr = host_port(url).with_context(|| format!("reading host and port from {url}"))?;
    if reachable(&addr) {
        eprintln!("xtask: PostgreSQL is up at {addr}");
        return Ok(());
    }
    let local = addr.starts_with("127.0.0.1:") || addr.starts_with("localhost:");
    if !local {
        bail!("PostgreSQL at {addr} (from {TEST_URL_VAR}) is not reachable; start it");
    }
    let clusters = Path::new("/etc/postgresql");
    let versions: Vec<String> = std::fs::read_dir(clusters)
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let Some(version) = versions.iter().max() else {
        bail!(
            "no PostgreSQL server is reachable at {addr} (from {TEST_URL_VAR}). Start it, or \
             unset {TEST_URL_VAR} to let xtask run its own throwaway cluster."
        );
    };
    eprintln!("xtask: PostgreSQL is down at {addr}; starting cluster {version}/main");
    let status = Command::new("pg_ctlcluster")
        .args(["--skip-systemctl-redirect", version, "main", "start"])
        .status()
        .context("running pg_ctlcluster (Debian's postgresql-common)")?;
    if !status.success() {
        bail!("pg_ctlcluster {version} main start failed ({status})");
    }
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if reachable(&addr) {
            eprintln!("xtask: PostgreSQL is up at {addr}");
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("started PostgreSQL {version}/main, but {addr} still refuses connections after 30 s")
}

/// `host:port` of a `postgres://user@host:port/db` URL (port 5432 when absent).
fn host_port(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    if host_port.is_empty() {
        return None;
    }
    Some(if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    })
}

fn reachable(addr: &str) -> bool {
    addr.to_socket_addrs()
        .ok()
        .into_iter()
        .flatten()
        .any(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok())
}

#[cfg(test)]
mod tests {
    use super::host_port;

    #[test]
    fn host_port_reads_urls() {
        assert_eq!(
            host_port("postgres://postgres@127.0.0.1:5432/postgres").as_deref(),
            Some("127.0.0.1:5432")
        );
        assert_eq!(
            host_port("postgres://u:p@db.example/x?sslmode=disable").as_deref(),
            Some("db.example:5432")
        );
        assert_eq!(host_port("postgres:///x"), None);
    }
}
