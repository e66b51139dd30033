//! Makes sure the PostgreSQL server the tests use is reachable: starts a local cluster
//! that is installed but down, and otherwise fails saying how to get one. The tests never
//! skip PostgreSQL.

use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Checks that the test server accepts connections, starting a local one if needed.
pub fn ensure_running() -> Result<()> {
    let url = std::env::var("BDUF_TEST_DATABASE_URL")
        .unwrap_or_else(|_| crate::scratch::DEFAULT_SERVER_URL.to_owned());
    let addr = host_port(&url).with_context(|| format!("reading host and port from {url}"))?;
    if reachable(&addr) {
        eprintln!("xtask: PostgreSQL is up at {addr}");
        return Ok(());
    }
    let local = addr.starts_with("127.0.0.1:") || addr.starts_with("localhost:");
    if !local {
        bail!("PostgreSQL at {addr} (from BDUF_TEST_DATABASE_URL) is not reachable; start it");
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
            "no PostgreSQL server is reachable at {addr} and none is installed.\n\
             Install one (Debian/Ubuntu: `apt-get install postgresql`, then allow trust auth for \
             127.0.0.1 or set BDUF_TEST_DATABASE_URL=postgres://user:password@host:port/postgres) \
             and run the tests again. The PostgreSQL tests are never skipped."
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
