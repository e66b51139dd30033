//! End-to-end: the real `bduf` binary, started on a free port with `--demo` against
//! PostgreSQL and against SQLite, answering the README's example queries over HTTP, and
//! its operational endpoints; `bduf backup` and `bduf restore` (`backup.rs`); `bduf
//! maintenance` (`maintenance.rs`).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bduf_testkit::{Backend, TestDb};
use serde_json::{Value, json};
use sha2::Digest as _;

mod admission;
mod backup;
mod maintenance;
mod scheduler;

/// The README's example queries, by file under `docs/queries/`.
const QUERIES: [&str; 3] = [
    "organization-overview",
    "requirement-tree",
    "work-in-flight",
];

/// A running server; killed when dropped.
struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
    /// The session requests are sent with: the demo owner's, signed in on first use.
    token: std::sync::Mutex<Option<String>>,
}

/// The demo accounts' password (see the README).
const DEMO_PASSWORD: &str = "northwind-demo";

impl Server {
    /// Starts `bduf --demo` on a free port against `database_url` (or, with `None`, the
    /// embedded default in a fresh working directory) and waits until it serves.
    fn start(database_url: Option<&str>, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("a working directory");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bduf"));
        cmd.args(["--listen", "127.0.0.1:0", "--demo"])
            .args(extra)
            .current_dir(dir.path())
            .env_remove("DATABASE_URL")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(url) = database_url {
            cmd.env("DATABASE_URL", url);
        }
        let mut child = cmd.spawn().expect("starting bduf");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("bduf: serving GraphQL at ") {
                    let _ = tx.send(url.trim_end_matches("/graphql").to_owned());
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("bduf printed its URL within 60 s");
        Self {
            child,
            base,
            _dir: dir,
            token: std::sync::Mutex::new(None),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn graphql(&self, query: &str) -> Value {
        serde_json::from_str(&self.graphql_text(query).await).expect("a JSON response")
    }

    /// Signs in as `email` with the demo password; returns the bearer token.
    async fn sign_in(&self, email: &str) -> String {
        let answer: Value = serde_json::from_str(
            &self
                .send(
                    None,
                    &format!(
                        r#"mutation {{ signIn(email: "{email}", password: "{DEMO_PASSWORD}") {{ token }} }}"#
                    ),
                )
                .await,
        )
        .expect("a JSON response");
        answer["data"]["signIn"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("signing in as {email}: {answer}"))
            .to_owned()
    }

    /// The response body to `query`, as the server sent it, sent as the demo owner.
    async fn graphql_text(&self, query: &str) -> String {
        let token = self.token.lock().ok().and_then(|t| t.clone());
        let token = match token {
            Some(token) => token,
            None => {
                let token = self.sign_in("ada@northwind.example").await;
                if let Ok(mut slot) = self.token.lock() {
                    *slot = Some(token.clone());
                }
                token
            }
        };
        self.send(Some(&token), query).await
    }

    /// Sends `query` with the bearer `token` (none: anonymously).
    async fn send(&self, token: Option<&str>, query: &str) -> String {
        let mut request = reqwest::Client::new()
            .post(self.url("/graphql"))
            .json(&json!({ "query": query }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request
            .send()
            .await
            .expect("POST /graphql")
            .text()
            .await
            .expect("a response body")
    }

    /// Sends SIGTERM and returns whether the server exited successfully.
    fn terminate(mut self) -> bool {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .is_ok_and(|s| s.success());
        sent && self.child.wait().is_ok_and(|s| s.success())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn query(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/queries")
        .join(format!("{name}.graphql"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs every README query, failing on any error; returns each response body as sent.
async fn readme_answers(server: &Server) -> Vec<String> {
    let mut bodies = Vec::new();
    for name in QUERIES {
        let body = server.graphql_text(&query(name)).await;
        let response: Value = serde_json::from_str(&body).expect("a JSON response");
        assert!(response.get("errors").is_none(), "{name}: {response:#}");
        bodies.push(body);
    }
    bodies
}

/// Checks what the demo organization must answer to the README queries.
fn check_demo_answers(bodies: &[String]) {
    let data: Vec<Value> = bodies
        .iter()
        .map(|b| serde_json::from_str::<Value>(b).expect("JSON")["data"].clone())
        .collect();
    let org = &data[0]["organizations"]["nodes"][0];
    assert_eq!(org["name"], "Northwind Robotics");
    assert_eq!(org["stats"]["members"], 4);
    assert_eq!(org["stats"]["openApprovals"], 1);
    assert_eq!(org["projects"]["totalCount"], 3);
    let picking = &org["projects"]["nodes"][0];
    assert_eq!(picking["name"], "Warehouse Picking Robot");
    assert_eq!(
        picking["stats"]["progress"],
        json!({"percent": 33.3, "leafTasks": 5, "estimatedHours": 210})
    );
    assert_eq!(
        picking["stats"]["requirements"],
        json!({"total": 11, "validated": 7})
    );
    let analyses = &picking["stats"]["latestAnalyses"];
    assert_eq!(analyses.as_array().map(Vec::len), Some(3), "{analyses}");
    // Decimals print at their column's scale on both backends.
    assert!(
        analyses
            .as_array()
            .into_iter()
            .flatten()
            .all(|a| a["confidenceScore"].as_str().is_some_and(|s| s.len() == 4)),
        "{analyses}"
    );

    let project = &data[1]["projects"]["nodes"][0];
    assert_eq!(project["name"], "Warehouse Picking Robot");
    let root = &project["requirements"]["nodes"][0];
    assert_eq!(root["title"], "Navigate warehouse aisles autonomously");
    let depths: Vec<&Value> = root["comments"]["nodes"]
        .as_array()
        .expect("comments")
        .iter()
        .map(|c| &c["depth"])
        .collect();
    assert_eq!(depths, [&json!(0), &json!(1), &json!(2)]);
    let grandchild = &root["children"]["nodes"][0]["children"]["nodes"][0];
    assert_eq!(grandchild["depth"], 2);
    assert_eq!(
        grandchild["ancestors"][0]["title"],
        "Navigate warehouse aisles autonomously"
    );

    assert_eq!(data[2]["tasks"]["totalCount"], 3);
    let approval = &data[2]["approvals"]["nodes"][0];
    assert_eq!(approval["title"], "Approve the gripper design");
    assert_eq!(
        approval["participants"]["nodes"].as_array().map(Vec::len),
        Some(2)
    );
}

/// The README's queries, against the demo data on PostgreSQL and on the embedded
/// default: the answers the README promises, byte for byte the same on both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_queries_answer_alike_on_both_backends() {
    let db = TestDb::empty(Backend::Postgres).await;
    let postgres = Server::start(Some(db.url()), &[]);
    let sqlite = Server::start(None, &[]);
    let on_postgres = readme_answers(&postgres).await;
    let on_sqlite = readme_answers(&sqlite).await;
    check_demo_answers(&on_postgres);
    for ((name, a), b) in QUERIES.iter().zip(&on_postgres).zip(&on_sqlite) {
        assert_eq!(
            a, b,
            "docs/queries/{name}.graphql answers differently on SQLite"
        );
    }
    assert!(
        sqlite.terminate(),
        "bduf did not shut down cleanly on SIGTERM"
    );
    assert!(
        postgres.terminate(),
        "bduf did not shut down cleanly on SIGTERM"
    );
    // A second start applies no migration twice and loads no second demo organization.
    let again = Server::start(Some(db.url()), &[]);
    let response = again.graphql("{ organizations { totalCount } }").await;
    assert_eq!(
        response["data"]["organizations"]["totalCount"], 1,
        "{response:#}"
    );
}

#[test]
fn the_readme_shows_the_queries_the_tests_run() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .expect("README.md");
    for name in QUERIES {
        assert!(
            readme.contains(query(name).trim_end()),
            "README.md does not show docs/queries/{name}.graphql"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operational_endpoints_and_bad_requests() {
    let server = Server::start(None, &["--depth-limit", "6"]);
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(server.url(path)).send();

    let health = get("/healthz").await.expect("GET /healthz");
    assert_eq!(health.status(), 200);
    let ready = get("/readyz").await.expect("GET /readyz");
    assert_eq!(ready.status(), 200);
    let graphiql = get("/graphql").await.expect("GET /graphql");
    assert_eq!(graphiql.status(), 200);
    assert!(graphiql.text().await.expect("a page").contains("graphiql"));

    // Malformed JSON is a 400, malformed GraphQL a GraphQL error, neither a 500.
    let bad_json = http
        .post(server.url("/graphql"))
        .header("content-type", "application/json")
        .body("{\"query\": ")
        .send()
        .await
        .expect("POST bad JSON");
    assert_eq!(bad_json.status(), 400);
    // A header that must be a UUID and is not: a 400 naming it.
    for name in ["X-Organization-Id", "X-Collaboration-Session"] {
        let bad_header = http
            .post(server.url("/graphql"))
            .header(name, "not-a-uuid")
            .json(&json!({ "query": "{ projects { totalCount } }" }))
            .send()
            .await
            .expect("POST with a bad header");
        assert_eq!(bad_header.status(), 400, "{name}");
        let body: Value = bad_header.json().await.expect("a JSON error");
        assert_eq!(
            body["errors"][0]["extensions"],
            json!({ "code": "BAD_USER_INPUT", "field": name }),
            "{body:#}"
        );
    }
    let bad_query = server.graphql("{ projects { ").await;
    assert!(
        bad_query["errors"][0]["message"].is_string(),
        "{bad_query:#}"
    );
    let too_deep = server
        .graphql("{ projects { nodes { organization { projects { nodes { organization { name } } } } } } }")
        .await;
    assert_eq!(
        too_deep["errors"][0]["extensions"],
        json!({"code": "QUERY_TOO_DEEP", "depth": 7, "max": 6}),
        "{too_deep:#}"
    );
    let too_many = server
        .graphql("{ projects(first: 500) { totalCount } }")
        .await;
    assert_eq!(
        too_many["errors"][0]["extensions"]["code"], "VALIDATION",
        "{too_many:#}"
    );

    // A body over the limit is refused before it is read whole.
    let huge = format!(
        r#"{{"query": "{{ projects {{ totalCount }} }}", "x": "{}"}}"#,
        "y".repeat(2 << 20)
    );
    let too_large = http
        .post(server.url("/graphql"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("POST a huge body");
    assert_eq!(too_large.status(), 413);
    let body: Value = too_large.json().await.expect("a JSON error");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "PAYLOAD_TOO_LARGE",
        "{body:#}"
    );

    // 300 aliases of a 100-node page: only 30,000 nodes, but 300 connections; and
    // 100-node pages nested three deep, 1,010,100 nodes. Both refused before anything
    // runs, naming the figure they exceed.
    let aliases: String = (0..300)
        .map(|i| format!("a{i}: tasks(first: 100) {{ nodes {{ title }} }} "))
        .collect();
    let hostile = server.graphql(&format!("{{ {aliases} }}")).await;
    assert_eq!(
        hostile["errors"][0]["extensions"],
        json!({"code": "QUERY_TOO_COSTLY", "connections": 300, "max": 100}),
        "{hostile:#}"
    );
    let nested = server
        .graphql("{ tasks(first: 100) { nodes { children(first: 100) { nodes { children(first: 100) { totalCount } } } } } }")
        .await;
    assert_eq!(
        nested["errors"][0]["extensions"],
        json!({"code": "QUERY_TOO_COSTLY", "nodes": 1_010_100, "max": 500_000}),
        "{nested:#}"
    );
    // A document too big to be worth validating is refused first, by its size.
    let many: String = (0..1_200)
        .map(|i| format!("a{i}: projects {{ totalCount }} "))
        .collect();
    let large = server.graphql(&format!("{{ {many} }}")).await;
    assert_eq!(
        large["errors"][0]["extensions"],
        json!({"code": "QUERY_TOO_LARGE", "fields": 2_400, "max": 1_000}),
        "{large:#}"
    );
    // An accepted query says what it cost.
    let fine = server
        .graphql("{ projects(first: 5) { nodes { name } } }")
        .await;
    assert_eq!(
        fine["extensions"]["cost"],
        json!({
            "nodes": {"requested": 5, "max": 500_000},
            "connections": {"requested": 1, "max": 100},
        }),
        "{fine:#}"
    );

    // Automatic persisted queries over HTTP: the hash alone is asked for its query, the
    // query with its hash is answered, then the hash alone is.
    let token = server.sign_in("ada@northwind.example").await;
    let text = "query Names { projects(first: 2) { nodes { name } } }";
    let hash: String = sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let persisted = |query: &str| {
        json!({
            "query": query,
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": hash}},
        })
    };
    let post = |body: Value| {
        let request = http
            .post(server.url("/graphql"))
            .bearer_auth(&token)
            .json(&body);
        async move {
            let response = request.send().await.expect("POST");
            response.json::<Value>().await.expect("JSON")
        }
    };
    let unknown = post(persisted("")).await;
    assert_eq!(
        unknown["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_FOUND",
        "{unknown:#}"
    );
    let registered = post(persisted(text)).await;
    assert_eq!(
        registered["data"]["projects"]["nodes"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "{registered:#}"
    );
    let by_hash = post(persisted("")).await;
    assert_eq!(by_hash, registered);

    let metrics = get("/metrics")
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics text");
    assert!(metrics.contains("bduf_http_requests_total"), "{metrics}");
    for name in [
        "bduf_graphql_documents_cached",
        "bduf_graphql_documents_parsed_total",
        "bduf_graphql_documents_validated_total",
    ] {
        assert!(metrics.contains(name), "{name} missing: {metrics}");
    }
    assert!(
        metrics.contains("bduf_http_request_duration_seconds"),
        "{metrics}"
    );
    let statements = metrics
        .lines()
        .find_map(|l| l.strip_prefix("bduf_sql_statements_total "))
        .and_then(|n| n.trim().parse::<f64>().ok())
        .expect("a statement count");
    assert!(statements > 0.0, "{metrics}");
    for gauge in [
        "bduf_http_in_flight",
        "bduf_http_queued",
        "bduf_db_pool_connections",
    ] {
        assert!(metrics.contains(gauge), "{gauge} missing: {metrics}");
    }
    assert!(
        server.terminate(),
        "bduf did not shut down cleanly on SIGTERM"
    );
}

/// Waits until `/metrics` shows `n` queries in flight.
async fn wait_for_in_flight(server: &Server, n: u32) {
    let want = format!("bduf_http_in_flight {n}");
    for _ in 0..200 {
        let text = reqwest::get(server.url("/metrics"))
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("metrics text");
        if text.lines().any(|l| l.trim() == want) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("never saw {want}");
}

/// Overload is refused fast, and slow work is stopped: with one query allowed at a time
/// and no queue, a query that waits (on a table another session locked) holds the only
/// turn, the next request gets `503` with `Retry-After` while that query still waits
/// (without waiting for its turn), and the first answers
/// once the lock goes. A statement past `statement_timeout`, or a request past the
/// request timeout, is a `TIMEOUT` error — never a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_is_refused_fast_and_slow_queries_time_out() {
    use sea_orm::{ConnectionTrait, TransactionTrait};

    let db = TestDb::empty(Backend::Postgres).await;
    let locker = db.connect_again().await;
    let query = "{ organizations { totalCount } }";
    // One session for every server of the test: signing in (argon2) on a server with a
    // 300 ms request timeout could itself time out on a busy machine.
    let token;
    {
        let server = Server::start(
            Some(db.url()),
            &["--max-in-flight", "1", "--max-queue", "0"],
        );
        token = server.sign_in("ada@northwind.example").await;
        let lock = locker.begin().await.expect("a transaction");
        lock.execute_unprepared("LOCK TABLE organizations IN ACCESS EXCLUSIVE MODE")
            .await
            .expect("locking");
        let url = server.url("/graphql");
        let slow_token = token.clone();
        let slow = tokio::spawn(async move {
            reqwest::Client::new()
                .post(url)
                .bearer_auth(slow_token)
                .json(&json!({ "query": query }))
                .send()
                .await
                .expect("POST")
        });
        wait_for_in_flight(&server, 1).await;
        let refused = reqwest::Client::new()
            .post(server.url("/graphql"))
            .bearer_auth(&token)
            .json(&json!({ "query": query }))
            .send()
            .await
            .expect("POST");
        assert_eq!(refused.status(), 503);
        // Refused at once, not after the turn it wanted: the only turn is still held by
        // the query waiting on the lock, which nothing has released yet. (Not a timing:
        // how fast refusals are is the benchmark page's overload section.)
        assert!(
            !slow.is_finished(),
            "the refusal waited for the query holding the only turn"
        );
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
        lock.rollback().await.expect("unlocking");
        let answered = slow.await.expect("joined");
        assert_eq!(answered.status(), 200);
        let body: Value = answered.json().await.expect("JSON");
        assert_eq!(body["data"]["organizations"]["totalCount"], 1, "{body:#}");
        let metrics = reqwest::get(server.url("/metrics"))
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("text");
        assert!(
            metrics.contains(r#"bduf_http_refused_total{reason="queue_full"} 1"#),
            "{metrics}"
        );
    }
    for flags in [
        [
            "--statement-timeout-ms",
            "300",
            "--request-timeout-ms",
            "60000",
        ],
        [
            "--statement-timeout-ms",
            "60000",
            "--request-timeout-ms",
            "300",
        ],
    ] {
        let server = Server::start(Some(db.url()), &flags);
        let lock = locker.begin().await.expect("a transaction");
        lock.execute_unprepared("LOCK TABLE organizations IN ACCESS EXCLUSIVE MODE")
            .await
            .expect("locking");
        let response = reqwest::Client::new()
            .post(server.url("/graphql"))
            .bearer_auth(&token)
            .json(&json!({ "query": query }))
            .send()
            .await
            .expect("POST");
        assert_eq!(response.status(), 200, "{flags:?}");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "TIMEOUT",
            "{flags:?}: {body:#}"
        );
        lock.rollback().await.expect("unlocking");
        // The server is fine afterwards.
        let again: Value =
            serde_json::from_str(&server.send(Some(&token), query).await).expect("JSON");
        assert_eq!(again["data"]["organizations"]["totalCount"], 1, "{again:#}");
    }
}

/// The README's walk-through, on both backends: anonymous requests are refused; a
/// contributor signs in, creates a requirement subtree and sees it in a dashboard query;
/// a viewer may read but not write; a wrong password and a signed-out token get nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_write_and_read_on_both_backends() {
    let db = TestDb::empty(Backend::Postgres).await;
    for server in [Server::start(None, &[]), Server::start(Some(db.url()), &[])] {
        let anonymous: Value =
            serde_json::from_str(&server.send(None, "{ projects { totalCount } }").await)
                .expect("JSON");
        assert_eq!(
            anonymous["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{anonymous:#}"
        );
        let wrong: Value = serde_json::from_str(
            &server
                .send(
                    None,
                    r#"mutation { signIn(email: "linus@northwind.example", password: "not-it") { token } }"#,
                )
                .await,
        )
        .expect("JSON");
        let unknown: Value = serde_json::from_str(
            &server
                .send(
                    None,
                    r#"mutation { signIn(email: "nobody@northwind.example", password: "not-it") { token } }"#,
                )
                .await,
        )
        .expect("JSON");
        assert_eq!(wrong["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
        assert_eq!(
            wrong["errors"][0]["message"], unknown["errors"][0]["message"],
            "a wrong password and an unknown email answer alike"
        );

        let linus = server.sign_in("linus@northwind.example").await;
        let projects: Value = serde_json::from_str(
            &server
                .send(Some(&linus), "{ projects(first: 1) { nodes { id } } }")
                .await,
        )
        .expect("JSON");
        let project = projects["data"]["projects"]["nodes"][0]["id"]
            .as_str()
            .expect("a project")
            .to_owned();
        let created: Value = serde_json::from_str(
            &server
                .send(
                    Some(&linus),
                    &format!(
                        r#"mutation {{ createRequirementTree(projectId: "{project}", nodes: [
                             {{ key: "root", fields: {{ title: "Offline mode", priority: 1 }} }},
                             {{ key: "sync", parentKey: "root", fields: {{ title: "Sync on reconnect" }} }}
                           ]) {{ id title parentId }} }}"#
                    ),
                )
                .await,
        )
        .expect("JSON");
        let nodes = created["data"]["createRequirementTree"]
            .as_array()
            .unwrap_or_else(|| panic!("{created:#}"));
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[1]["parentId"], nodes[0]["id"]);
        let root = nodes[0]["id"].as_str().expect("an id").to_owned();
        let dashboard: Value = serde_json::from_str(
            &server
                .send(
                    Some(&linus),
                    &format!(
                        r#"{{ requirement(id: "{root}") {{ title children {{ nodes {{ title }} }} }}
                             auditLog(first: 5) {{ totalCount }} }}"#
                    ),
                )
                .await,
        )
        .expect("JSON");
        assert_eq!(
            dashboard["data"]["requirement"]["children"]["nodes"][0]["title"], "Sync on reconnect",
            "{dashboard:#}"
        );

        // A retry with the same Idempotency-Key gets the first answer, marked replayed,
        // and writes nothing more.
        let mut answers = Vec::new();
        for _ in 0..2 {
            let response = reqwest::Client::new()
                .post(server.url("/graphql"))
                .bearer_auth(&linus)
                .header("Idempotency-Key", "e2e-create-project-1")
                .json(&json!({ "query": r#"mutation { createProject(input: { name: "Retried roadmap" }) { id name } }"# }))
                .send()
                .await
                .expect("POST /graphql");
            let replayed = response
                .headers()
                .get("idempotent-replayed")
                .map(|v| v.to_str().unwrap_or_default().to_owned());
            let body: Value = response.json().await.expect("JSON");
            answers.push((replayed, body));
        }
        assert_eq!(answers[0].0, None, "{answers:?}");
        assert_eq!(answers[1].0.as_deref(), Some("true"), "{answers:?}");
        assert_eq!(answers[0].1, answers[1].1);
        assert!(
            answers[0].1["data"]["createProject"]["id"].is_string(),
            "{answers:?}"
        );
        let retried: Value = serde_json::from_str(
            &server
                .send(
                    Some(&linus),
                    r#"{ projects(filter: { search: "Retried roadmap" }) { totalCount } }"#,
                )
                .await,
        )
        .expect("JSON");
        assert_eq!(retried["data"]["projects"]["totalCount"], 1, "{retried:#}");

        let margaret = server.sign_in("margaret@northwind.example").await;
        let refused: Value = serde_json::from_str(
            &server
                .send(
                    Some(&margaret),
                    &format!(r#"mutation {{ deleteRequirement(id: "{root}") }}"#),
                )
                .await,
        )
        .expect("JSON");
        assert_eq!(
            refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{refused:#}"
        );
        let still: Value = serde_json::from_str(
            &server
                .send(
                    Some(&margaret),
                    &format!(r#"{{ requirement(id: "{root}") {{ id }} }}"#),
                )
                .await,
        )
        .expect("JSON");
        assert_eq!(
            still["data"]["requirement"]["id"],
            root.as_str(),
            "{still:#}"
        );

        let out: Value =
            serde_json::from_str(&server.send(Some(&linus), "mutation { signOut }").await)
                .expect("JSON");
        assert_eq!(out["data"]["signOut"], 1, "{out:#}");
        let after: Value =
            serde_json::from_str(&server.send(Some(&linus), "{ me { id } }").await).expect("JSON");
        assert_eq!(after["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    }
}
