//! End-to-end: the real `bduf` binary, started on a free port with `--demo` against
//! PostgreSQL and against SQLite, answering the README's example queries over HTTP, and
//! its operational endpoints.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bduf_testkit::{Backend, TestDb};
use serde_json::{Value, json};

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
}

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
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn graphql(&self, query: &str) -> Value {
        reqwest::Client::new()
            .post(self.url("/graphql"))
            .json(&json!({ "query": query }))
            .send()
            .await
            .expect("POST /graphql")
            .json()
            .await
            .expect("a JSON response")
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

/// Runs every README query and checks what the demo organization must answer.
async fn readme_queries_answer(server: &Server) {
    let mut data = Vec::new();
    for name in QUERIES {
        let response = server.graphql(&query(name)).await;
        assert!(response.get("errors").is_none(), "{name}: {response:#}");
        data.push(response["data"].clone());
    }
    let org = &data[0]["organizations"]["edges"][0]["node"];
    assert_eq!(org["name"], "Northwind Robotics");
    assert_eq!(org["stats"]["members"], 4);
    assert_eq!(org["stats"]["openApprovals"], 1);
    assert_eq!(org["projects"]["totalCount"], 3);
    let picking = &org["projects"]["edges"][0]["node"];
    assert_eq!(picking["name"], "Warehouse Picking Robot");
    assert_eq!(
        picking["stats"]["progress"],
        json!({"percent": 33.3, "leafTasks": 5, "estimatedHours": 210})
    );
    assert_eq!(
        picking["stats"]["requirements"],
        json!({"total": 11, "validated": 7})
    );
    assert_eq!(
        picking["stats"]["latestAnalyses"].as_array().map(Vec::len),
        Some(3)
    );

    let project = &data[1]["projects"]["edges"][0]["node"];
    assert_eq!(project["name"], "Warehouse Picking Robot");
    let root = &project["requirements"]["edges"][0]["node"];
    assert_eq!(root["title"], "Navigate warehouse aisles autonomously");
    let depths: Vec<&Value> = root["comments"]
        .as_array()
        .expect("comments")
        .iter()
        .map(|c| &c["depth"])
        .collect();
    assert_eq!(depths, [&json!(0), &json!(1), &json!(2)]);
    let grandchild = &root["children"][0]["children"][0];
    assert_eq!(grandchild["depth"], 2);
    assert_eq!(
        grandchild["ancestors"][0]["title"],
        "Navigate warehouse aisles autonomously"
    );

    assert_eq!(data[2]["tasks"]["totalCount"], 3);
    let approval = &data[2]["approvals"]["edges"][0]["node"];
    assert_eq!(approval["title"], "Approve the gripper design");
    assert_eq!(approval["participants"].as_array().map(Vec::len), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_queries_on_the_embedded_default() {
    let server = Server::start(None, &[]);
    readme_queries_answer(&server).await;
    assert!(
        server.terminate(),
        "bduf did not shut down cleanly on SIGTERM"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_queries_on_postgres() {
    let db = TestDb::empty(Backend::Postgres).await;
    let server = Server::start(Some(db.url()), &[]);
    readme_queries_answer(&server).await;
    // A second start applies no migration twice and loads no second demo organization.
    assert!(
        server.terminate(),
        "bduf did not shut down cleanly on SIGTERM"
    );
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
    let bad_query = server.graphql("{ projects { ").await;
    assert!(
        bad_query["errors"][0]["message"].is_string(),
        "{bad_query:#}"
    );
    let too_deep = server
        .graphql("{ projects { edges { node { organization { projects { edges { node { name } } } } } } } }")
        .await;
    assert!(
        too_deep["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("too deep"),
        "{too_deep:#}"
    );
    let too_many = server
        .graphql("{ projects(first: 500) { totalCount } }")
        .await;
    assert_eq!(
        too_many["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{too_many:#}"
    );

    let metrics = get("/metrics")
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics text");
    assert!(metrics.contains("bduf_http_requests_total"), "{metrics}");
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
    assert!(
        server.terminate(),
        "bduf did not shut down cleanly on SIGTERM"
    );
}
