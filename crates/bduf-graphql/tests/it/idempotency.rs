//! Idempotency keys, on both backends: a retried mutation with the same key gets the
//! first answer and writes once — sequentially and when eight retries race; the same
//! key with a different request, or a malformed key, is refused and writes nothing;
//! keys are per user; queries ignore them.

use bduf_testkit::Backend;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{Plan, TestApp, on_both_backends, session_for};
use crate::tenancy::{code, plan_shape, snapshot};

on_both_backends!(
    a_retry_gets_the_first_answer_and_writes_once,
    racing_retries_write_once,
    a_reused_or_malformed_key_is_refused_and_writes_nothing,
);

const CREATE: &str =
    "mutation($name: String!) { createProject(input: { name: $name }) { id name version } }";

fn json_of(response: &async_graphql::Response) -> Value {
    serde_json::to_value(response).expect("a response serializes")
}

fn replayed(response: &async_graphql::Response) -> bool {
    response
        .http_headers
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true")
}

async fn projects_named(app: &TestApp, name: &str) -> usize {
    let data = app
        .data("{ projects(first: 100) { totalCount nodes { name } } }")
        .await;
    assert!(
        data["projects"]["totalCount"].as_i64() < Some(100),
        "{data}"
    );
    data["projects"]["nodes"]
        .as_array()
        .map_or(0, |n| n.iter().filter(|p| p["name"] == name).count())
}

async fn a_retry_gets_the_first_answer_and_writes_once(backend: Backend) {
    let app = TestApp::new(backend).await;
    let plan = Plan::build(app.conn(), plan_shape()).await;
    let org = plan.organization;
    let [owner, admin] = [plan.users[0], plan.users[1]];
    let token = session_for(app.conn(), owner).await;
    app.act_as(owner, org).await;
    let vars = json!({ "name": "Once only" });

    let first = app
        .execute_for(&token, org, Some("create-1"), CREATE, vars.clone())
        .await;
    let again = app
        .execute_for(&token, org, Some("create-1"), CREATE, vars.clone())
        .await;
    assert!(!replayed(&first), "the first answer is not a replay");
    assert!(replayed(&again), "the retry is marked replayed");
    assert_eq!(json_of(&first), json_of(&again));
    assert!(
        json_of(&first)["data"]["createProject"]["id"].is_string(),
        "{}",
        json_of(&first)
    );
    assert_eq!(projects_named(&app, "Once only").await, 1);

    // A new key, or none, is a new request.
    let other = app
        .execute_for(&token, org, Some("create-2"), CREATE, vars.clone())
        .await;
    let none = app
        .execute_for(&token, org, None, CREATE, vars.clone())
        .await;
    assert!(!replayed(&other) && !replayed(&none));
    assert_eq!(projects_named(&app, "Once only").await, 3);

    // Keys are each user's own: another user's same key runs.
    let admin_token = session_for(app.conn(), admin).await;
    let theirs = app
        .execute_for(&admin_token, org, Some("create-1"), CREATE, vars.clone())
        .await;
    assert!(!replayed(&theirs), "{}", json_of(&theirs));
    assert_ne!(
        json_of(&theirs)["data"]["createProject"]["id"],
        json_of(&first)["data"]["createProject"]["id"]
    );
    assert_eq!(projects_named(&app, "Once only").await, 4);

    // A refused mutation's answer is replayed too: the retry does not run it again.
    let bad = json!({ "name": "  " });
    let refused = app
        .execute_for(&token, org, Some("bad-1"), CREATE, bad.clone())
        .await;
    let refused_again = app
        .execute_for(&token, org, Some("bad-1"), CREATE, bad)
        .await;
    assert_eq!(code(&json_of(&refused)), "VALIDATION");
    assert!(replayed(&refused_again));
    assert_eq!(json_of(&refused), json_of(&refused_again));

    // Queries ignore the key.
    let query = "{ projects { totalCount } }";
    let read = app
        .execute_for(&token, org, Some("create-1"), query, Value::Null)
        .await;
    assert!(!replayed(&read));
    assert!(json_of(&read)["data"]["projects"]["totalCount"].is_number());
}

/// Eight copies of one request with one key at once: one runs, seven wait for it and
/// replay its answer (on PostgreSQL they wait on the key's unique index; on SQLite on
/// the one writer).
async fn racing_retries_write_once(backend: Backend) {
    const RETRIES: usize = 8;
    let app = TestApp::new(backend).await;
    let plan = Plan::build(app.conn(), plan_shape()).await;
    let org = plan.organization;
    let token = session_for(app.conn(), plan.users[0]).await;
    app.act_as(plan.users[0], org).await;
    let vars = json!({ "name": "Raced" });
    let answers = futures_util::future::join_all(
        (0..RETRIES).map(|_| app.execute_for(&token, org, Some("race"), CREATE, vars.clone())),
    )
    .await;
    let bodies: Vec<Value> = answers.iter().map(json_of).collect();
    for body in &bodies {
        assert_eq!(body, &bodies[0], "every retry gets the first answer");
    }
    assert!(
        bodies[0]["data"]["createProject"]["id"].is_string(),
        "{}",
        bodies[0]
    );
    assert_eq!(answers.iter().filter(|a| replayed(a)).count(), RETRIES - 1);
    assert_eq!(projects_named(&app, "Raced").await, 1);
}

async fn a_reused_or_malformed_key_is_refused_and_writes_nothing(backend: Backend) {
    let app = TestApp::new(backend).await;
    let plan = Plan::build(app.conn(), plan_shape()).await;
    let org = plan.organization;
    let token = session_for(app.conn(), plan.users[0]).await;
    app.act_as(plan.users[0], org).await;
    let first = app
        .execute_for(&token, org, Some("k"), CREATE, json!({ "name": "First" }))
        .await;
    assert!(first.errors.is_empty(), "{}", json_of(&first));
    let before = snapshot(&app, org).await;
    let long = "k".repeat(256);
    for (key, vars, want) in [
        ("k", json!({ "name": "Second" }), "CONFLICT"),
        (long.as_str(), json!({ "name": "Long" }), "VALIDATION"),
        ("", json!({ "name": "Empty" }), "VALIDATION"),
        ("bad\u{7}key", json!({ "name": "Control" }), "VALIDATION"),
    ] {
        let answer = json_of(&app.execute_for(&token, org, Some(key), CREATE, vars).await);
        assert_eq!(code(&answer), want, "{key:?}: {answer}");
        assert_eq!(
            answer["errors"][0]["extensions"]["field"], "idempotencyKey",
            "{answer}"
        );
    }
    // The same key in another organization is another request, not a replay.
    let created = app
        .run(r#"mutation { createOrganization(input: { name: "Second", slug: "second-org" }) { id } }"#)
        .await;
    let second: Uuid = created["data"]["createOrganization"]["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{created}"));
    let elsewhere = json_of(
        &app.execute_for(
            &token,
            second,
            Some("k"),
            CREATE,
            json!({ "name": "First" }),
        )
        .await,
    );
    assert_eq!(code(&elsewhere), "CONFLICT", "{elsewhere}");
    assert_eq!(
        snapshot(&app, org).await,
        before,
        "a refused key changed rows"
    );
}
