//! A scratch PostgreSQL database with every migration applied, created for one generator
//! run and always dropped afterwards: on success, on error, on panic and on Ctrl-C.

use std::future::Future;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};

/// The local PostgreSQL server: where the generators' tests create scratch databases
/// unless `BDUF_TEST_DATABASE_URL` names another (`cargo xtask test` sets it to the
/// managed cluster), and where generators do when nothing else is configured.
pub const DEFAULT_SERVER_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The managed cluster's URL, once `main` has started it for a generator
/// (`postgres::for_generators`).
pub static MANAGED_SERVER_URL: OnceLock<String> = OnceLock::new();

/// The PostgreSQL server to create scratch databases on: `DATABASE_URL`, else the managed
/// cluster, else the default.
pub fn server_url() -> Result<String> {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        MANAGED_SERVER_URL
            .get()
            .cloned()
            .unwrap_or_else(|| DEFAULT_SERVER_URL.to_owned())
    });
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        bail!(
            "generators read the live PostgreSQL schema, but DATABASE_URL is {url}; \
             unset it or point it at a PostgreSQL server"
        );
    }
    Ok(url)
}

/// Creates a uniquely named database on `server_url`, migrates it, runs `work` on it and
/// drops it, whatever `work` does.
pub async fn with_migrated_database<T, F, Fut>(server_url: &str, work: F) -> Result<T>
where
    F: FnOnce(DatabaseConnection) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T>> + Send,
    T: Send + 'static,
{
    with_database(server_url, move |url| async move {
        let db = connect(&url)
            .await
            .context("connecting to the scratch database")?;
        Migrator::up(&db, None)
            .await
            .context("migrating the scratch database")?;
        let outcome = work(db.clone()).await;
        db.close().await.ok();
        outcome
    })
    .await
}

/// Creates a uniquely named, empty database on `server_url`, runs `work` with its URL and
/// drops it, whatever `work` does (Ctrl-C included).
pub async fn with_database<T, F, Fut>(server_url: &str, work: F) -> Result<T>
where
    F: FnOnce(String) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let admin = connect(server_url)
        .await
        .with_context(|| format!("connecting to PostgreSQL at {server_url}"))?;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    // Tests create scratch databases concurrently from one process: the counter keeps
    // their names apart even when the clock does not.
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let serial = NEXT.fetch_add(1, Ordering::Relaxed);
    let name = format!("bduf_scratch_{}_{serial}_{nanos}", std::process::id());
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .with_context(|| format!("creating the scratch database {name}"))?;
    let job = tokio::spawn(work(database_url(server_url, &name)));
    let outcome = tokio::select! {
        joined = job => joined.unwrap_or_else(|e| Err(anyhow!("the work on the scratch database panicked: {e}"))),
        _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
    };
    let dropped = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await
        .with_context(|| format!("dropping the scratch database {name}"));
    admin.close().await.ok();
    let value = outcome?;
    dropped?;
    Ok(value)
}

async fn connect(url: &str) -> Result<DatabaseConnection, sea_orm::DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options.max_connections(4).sqlx_logging(false);
    Database::connect(options).await
}

/// `server_url` with its database replaced by `name`.
pub fn database_url(server_url: &str, name: &str) -> String {
    let (base, query) = match server_url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (server_url, String::new()),
    };
    let authority_end = base
        .find("://")
        .map(|i| i + 3)
        .and_then(|start| base[start..].find('/').map(|j| start + j))
        .unwrap_or(base.len());
    format!("{}/{name}{query}", &base[..authority_end])
}

#[cfg(test)]
mod tests {
    use super::database_url;

    #[test]
    fn database_url_swaps_the_database() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(database_url("postgres://h:1", "x"), "postgres://h:1/x");
        assert_eq!(
            database_url("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
    }
}
