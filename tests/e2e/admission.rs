//! Admission over real HTTP: the default settings serve an ordinary load of 32 clients
//! without a single `503`, and a queue whose expected wait exceeds the budget refuses a
//! newcomer at once (`crates/bduf-server/src/admission.rs`).

use std::sync::Arc;
use std::time::Duration;

use bduf_testkit::{Backend, TestDb};
use serde_json::{Value, json};

use super::{QUERIES, Server, query, wait_for_in_flight};

/// Concurrent clients, and the rounds each sends every README query in.
const CLIENTS: usize = 32;
const ROUNDS: usize = 2;

/// The value of the metric line that starts with `name` followed by a space.
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

async fn metrics(server: &Server) -> String {
    reqwest::get(server.url("/metrics"))
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics text")
}

/// 32 clients send the README's queries in rounds, all of a round at the same instant,
/// to a server with its default admission settings (15 running, the rest queued): every
/// request is served, with the answer one client alone gets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_clients_are_served_with_the_defaults() {
    let db = TestDb::empty(Backend::Postgres).await;
    let server = Server::start(Some(db.url()), &[]);
    let token = server.sign_in("ada@northwind.example").await;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .expect("an HTTP client");
    let mut expected = Vec::new();
    for name in QUERIES {
        let body = server.send(Some(&token), &query(name)).await;
        let answer: Value = serde_json::from_str(&body).expect("a JSON response");
        assert!(answer.get("errors").is_none(), "{name}: {answer:#}");
        expected.push((query(name), body));
    }
    let expected = Arc::new(expected);
    let url = Arc::new(server.url("/graphql"));
    let start = Arc::new(tokio::sync::Barrier::new(CLIENTS));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (http, url, token, expected, start) = (
                http.clone(),
                Arc::clone(&url),
                token.clone(),
                Arc::clone(&expected),
                Arc::clone(&start),
            );
            tokio::spawn(async move {
                let mut wrong = Vec::new();
                for _ in 0..ROUNDS {
                    for (query, answer) in expected.iter() {
                        start.wait().await;
                        // A failure is recorded, not raised: the others wait for this
                        // client at the next round's start.
                        let sent = http
                            .post(url.as_str())
                            .bearer_auth(&token)
                            .json(&json!({ "query": query }))
                            .send()
                            .await;
                        let (status, body) = match sent {
                            Ok(response) => {
                                let status = response.status().as_u16();
                                (status, response.text().await.unwrap_or_default())
                            }
                            Err(err) => (0, err.to_string()),
                        };
                        if status != 200 || body != *answer {
                            wrong.push((status, body));
                        }
                    }
                }
                wrong
            })
        })
        .collect();
    let mut wrong = Vec::new();
    for client in clients {
        wrong.extend(client.await.expect("joined"));
    }
    let busy = wrong.iter().filter(|(status, _)| *status == 503).count();
    assert!(
        wrong.is_empty(),
        "{} of {} requests went wrong, {busy} of them 503; the first: {:?}",
        wrong.len(),
        CLIENTS * ROUNDS * QUERIES.len(),
        wrong.first()
    );

    let text = metrics(&server).await;
    assert!(!text.contains("bduf_http_refused_total"), "{text}");
    assert_eq!(
        metric(&text, "bduf_http_in_flight_max"),
        Some(15.0),
        "{text}"
    );
    assert_eq!(metric(&text, "bduf_http_queue_max"), Some(1024.0), "{text}");
    assert_eq!(
        metric(&text, "bduf_http_queue_wait_budget_seconds"),
        Some(1.0),
        "{text}"
    );
    assert!(
        metric(&text, "bduf_http_service_seconds").is_some_and(|s| s > 0.0),
        "{text}"
    );
}

/// With one turn, a budget of 10 ms and a measured service time far beyond it (a query
/// held 500 ms by a lock weighs 1/16 of the average, so at least 31 ms), a request that
/// finds the turn taken is refused at once with `expected_wait`, not after waiting; the
/// one running is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_longer_than_the_budget_refuses_at_once() {
    use sea_orm::{ConnectionTrait, TransactionTrait};

    let db = TestDb::empty(Backend::Postgres).await;
    let locker = db.connect_again().await;
    let server = Server::start(
        Some(db.url()),
        &["--max-in-flight", "1", "--queue-wait-ms", "10"],
    );
    let token = server.sign_in("ada@northwind.example").await;
    let held = |token: String| {
        let url = server.url("/graphql");
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .json(&json!({ "query": "{ organizations { totalCount } }" }))
                .send()
                .await
                .expect("POST /graphql")
        })
    };
    let locker = &locker;
    let lock = || async move {
        let lock = locker.begin().await.expect("a transaction");
        lock.execute_unprepared("LOCK TABLE organizations IN ACCESS EXCLUSIVE MODE")
            .await
            .expect("locking");
        lock
    };

    let first = lock().await;
    let slow = held(token.clone());
    wait_for_in_flight(&server, 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    first.rollback().await.expect("unlocking");
    assert_eq!(slow.await.expect("joined").status(), 200);
    let text = metrics(&server).await;
    assert!(
        metric(&text, "bduf_http_service_seconds").is_some_and(|s| s >= 0.031),
        "{text}"
    );

    let second = lock().await;
    let running = held(token.clone());
    wait_for_in_flight(&server, 1).await;
    let refused = reqwest::Client::new()
        .post(server.url("/graphql"))
        .bearer_auth(&token)
        .json(&json!({ "query": "{ organizations { totalCount } }" }))
        .send()
        .await
        .expect("POST /graphql");
    assert_eq!(refused.status(), 503);
    assert_eq!(
        refused
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let body: Value = refused.json().await.expect("a JSON error");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "SERVER_BUSY",
        "{body:#}"
    );
    second.rollback().await.expect("unlocking");
    let answered = running.await.expect("joined");
    assert_eq!(answered.status(), 200);
    let body: Value = answered.json().await.expect("JSON");
    assert_eq!(body["data"]["organizations"]["totalCount"], 1, "{body:#}");
    let text = metrics(&server).await;
    assert!(
        text.contains(r#"bduf_http_refused_total{reason="expected_wait"} 1"#),
        "{text}"
    );
    assert!(!text.contains(r#"reason="waited""#), "{text}");
}
