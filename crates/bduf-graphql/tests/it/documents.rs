//! Documents parsed and validated once per server, and automatic persisted queries: the
//! same answers as a server that parses and validates every request, with fewer parses
//! and validations, and bad values still refused the same way.

use async_graphql::{Request, Variables};
use bduf_testkit::Backend;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::{Plan, Shape, TestApp, on_both_backends};

on_both_backends!(
    a_document_is_parsed_and_validated_once_and_answers_alike,
    a_bad_variable_is_refused_as_without_the_cache,
    the_limits_hold_for_a_validated_operation,
    persisted_queries_follow_the_apollo_protocol
);

const TREE: &str = "query Tree($first: Int, $status: TaskStatus) {
  projects(first: $first) { nodes { name
    tasks(first: 5, filter: {status: $status}) { totalCount nodes { title
      children(first: 5) { nodes { title } } } } } }
}";

fn request(query: &str, variables: Value) -> Request {
    Request::new(query).variables(Variables::from_json(variables))
}

fn hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Runs each request on `app` and on a schema that has seen nothing, over the same
/// database: the answers are identical.
async fn a_document_is_parsed_and_validated_once_and_answers_alike(backend: Backend) {
    let app = TestApp::new(backend).await;
    Plan::build(app.conn(), Shape::SMALL).await;
    let variables = [
        json!({"first": 2}),
        json!({"first": 3, "status": "IN_PROGRESS"}),
        json!({"first": 1, "status": null}),
        json!({}),
    ];
    let before = app.schema().document_stats();
    let mut answers = Vec::new();
    for vars in &variables {
        let answer = app.execute(request(TREE, vars.clone())).await;
        assert!(answer.get("errors").is_none(), "{answer:#}");
        answers.push(answer);
    }
    let after = app.schema().document_stats();
    assert_eq!(after.parsed - before.parsed, 1, "{after:?}");
    assert_eq!(after.validated - before.validated, 1, "{after:?}");
    assert_eq!(after.cached, 1, "{after:?}");
    // Different variables, different answers: the cache holds the document, not answers.
    assert_ne!(answers[0]["data"], answers[1]["data"]);
    // A server that parses and validates each request answers the same, byte for byte.
    for (vars, cached) in variables.iter().zip(&answers) {
        let fresh = bduf_graphql::schema(bduf_graphql::Limits::default());
        let response = app.execute_on(&fresh, request(TREE, vars.clone())).await;
        assert_eq!(&response, cached, "{vars}");
    }
}

/// Once an operation has been validated, a value of the wrong type for a variable is
/// still refused with the error a fresh server gives, and the cache validates it in full.
async fn a_bad_variable_is_refused_as_without_the_cache(backend: Backend) {
    let app = TestApp::new(backend).await;
    Plan::build(app.conn(), Shape::SMALL).await;
    let fine = app.execute(request(TREE, json!({"first": 2}))).await;
    assert!(fine.get("errors").is_none(), "{fine:#}");
    let bad_values = [
        json!({"first": "two"}),
        json!({"first": 1, "status": "NOT_A_STATUS"}),
        json!({"first": 1.5}),
        json!({"first": 1, "status": ["TODO"]}),
    ];
    for vars in bad_values {
        let validated = app.schema().document_stats().validated;
        let cached = app.execute(request(TREE, vars.clone())).await;
        assert_eq!(
            app.schema().document_stats().validated,
            validated + 1,
            "a bad value is validated in full: {vars}"
        );
        let fresh = bduf_graphql::schema(bduf_graphql::Limits::default());
        let response = app.execute_on(&fresh, request(TREE, vars.clone())).await;
        assert_eq!(cached, response, "{vars}");
        assert!(cached["errors"][0]["message"].is_string(), "{cached:#}");
    }
}

/// An operation that passed validation is still priced on every request: a page size in
/// a variable that takes it over the node limit is refused as a fresh schema refuses it.
async fn the_limits_hold_for_a_validated_operation(backend: Backend) {
    let app = TestApp::new(backend).await;
    Plan::build(app.conn(), Shape::SMALL).await;
    let limits = bduf_graphql::Limits {
        nodes: 100,
        ..bduf_graphql::Limits::default()
    };
    let schema = bduf_graphql::schema(limits);
    // 2 projects, 5 tasks each, 5 children each: 2 + 10 + 50 = 62 nodes.
    let fine = app
        .execute_on(&schema, request(TREE, json!({"first": 2})))
        .await;
    assert_eq!(
        fine["extensions"]["cost"]["nodes"]["requested"], 62,
        "{fine:#}"
    );
    let validated = schema.document_stats().validated;
    let fine_again = app
        .execute_on(&schema, request(TREE, json!({"first": 2})))
        .await;
    assert_eq!(fine_again, fine);
    // 4 projects: 124 nodes, over the limit of 100.
    let refused = app
        .execute_on(&schema, request(TREE, json!({"first": 4})))
        .await;
    assert_eq!(
        schema.document_stats().validated,
        validated,
        "the cached validation ran"
    );
    assert_eq!(
        refused["errors"][0]["extensions"],
        json!({"code": "QUERY_TOO_COSTLY", "nodes": 124, "max": 100}),
        "{refused:#}"
    );
    assert_eq!(
        refused,
        app.execute_on(
            &bduf_graphql::schema(limits),
            request(TREE, json!({"first": 4}))
        )
        .await
    );
}

/// Apollo's automatic persisted queries: an unknown hash is asked for, the text with its
/// hash registers it, the hash alone then runs it; a hash that is not the text's, or an
/// unknown version, is refused.
async fn persisted_queries_follow_the_apollo_protocol(backend: Backend) {
    let app = TestApp::new(backend).await;
    Plan::build(app.conn(), Shape::SMALL).await;
    let hash = hex(TREE);
    let persisted = |version: i64, hash: &str| {
        serde_json::from_value::<Request>(json!({
            "query": "",
            "variables": {"first": 2},
            "extensions": {"persistedQuery": {"version": version, "sha256Hash": hash}},
        }))
        .expect("a request")
    };
    let unknown = app.execute(persisted(1, &hash)).await;
    assert_eq!(
        unknown["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_FOUND",
        "{unknown:#}"
    );
    assert_eq!(unknown["errors"][0]["message"], "PersistedQueryNotFound");

    let mut register = persisted(1, &hash);
    register.query = TREE.to_owned();
    let registered = app.execute(register).await;
    assert!(registered.get("errors").is_none(), "{registered:#}");
    let parsed = app.schema().document_stats().parsed;
    let by_hash = app.execute(persisted(1, &hash)).await;
    assert_eq!(by_hash, registered);
    assert_eq!(app.schema().document_stats().parsed, parsed);

    let mut mismatch = persisted(1, &hex("{ projects { totalCount } }"));
    mismatch.query = TREE.to_owned();
    let mismatch = app.execute(mismatch).await;
    assert_eq!(
        mismatch["errors"][0]["extensions"]["code"], "BAD_REQUEST",
        "{mismatch:#}"
    );
    assert!(
        mismatch["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("extensions.persistedQuery.sha256Hash")),
        "{mismatch:#}"
    );
    for (version, hash) in [(2, hash.as_str()), (1, "not hex")] {
        let refused = app.execute(persisted(version, hash)).await;
        assert_eq!(
            refused["errors"][0]["extensions"]["code"], "BAD_REQUEST",
            "{refused:#}"
        );
    }
}
