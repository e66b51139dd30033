//! Paging walks: every root connection × every `orderBy` field (read from the schema
//! itself, so a new ordering is walked without anyone listing it) × both directions,
//! `first: 2` forwards and `last: 2` backwards, plus the nested connections of a parent,
//! on both backends over the same rows. No row twice, none skipped, the walk ends, the
//! order is the ordering's (NULL after every value), and both backends walk alike.
//! Also: cursors that are forged, truncated or from elsewhere are refused, naming the
//! argument.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashSet};

use async_graphql::connection::{CursorType, OpaqueCursor};
use bduf_testkit::Backend;
use chrono::DateTime;
use serde_json::{Value, json};

use crate::support::{Catalog, TestApp, nodes, on_both_backends, strings};

/// A connection to walk: a root field, or a nested one under `parent`.
struct Walk {
    /// The GraphQL selection around the connection: `{}` stands for the connection's
    /// arguments, `[]` for its selection.
    template: String,
    /// Where the connection is in the answer.
    path: Vec<String>,
}

/// `ORDER_FIELD` → `orderField`.
fn camel(screaming: &str) -> String {
    let mut out = String::new();
    for (i, part) in screaming.split('_').enumerate() {
        let lower = part.to_lowercase();
        if i == 0 {
            out.push_str(&lower);
        } else {
            let mut chars = lower.chars();
            if let Some(first) = chars.next() {
                out.extend(first.to_uppercase());
                out.push_str(chars.as_str());
            }
        }
    }
    out
}

/// The root connections and the values of their `orderBy.field` enum, from introspection.
async fn orderings(app: &TestApp) -> Vec<(String, Vec<String>)> {
    let schema = app
        .data(
            r#"{ __schema { queryType { fields { name args { name type { name } } } } }
                 __types: __schema { types { name kind enumValues { name } inputFields { name type { name kind ofType { name } } } } } }"#,
        )
        .await;
    let types = schema["__types"]["types"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let find = |name: &str| types.iter().find(|t| t["name"] == name).cloned();
    let mut out = Vec::new();
    for field in schema["__schema"]["queryType"]["fields"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let Some(order) = field["args"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["name"] == "orderBy")
        else {
            continue;
        };
        let input = find(order["type"]["name"].as_str().unwrap_or_default()).expect("input");
        let enum_name = input["inputFields"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["name"] == "field")
            .and_then(|f| f["type"]["ofType"]["name"].as_str().map(str::to_owned))
            .expect("an orderBy.field enum");
        let values = find(&enum_name).expect("enum")["enumValues"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v["name"].as_str().map(str::to_owned))
            .collect();
        out.push((
            field["name"].as_str().unwrap_or_default().to_owned(),
            values,
        ));
    }
    out
}

/// Compares two sort values of a field as the API orders them, NULL last.
fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Greater,
        (_, Value::Null) => Ordering::Less,
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::String(x), Value::String(y)) => {
            if let (Ok(x), Ok(y)) = (
                DateTime::parse_from_rfc3339(x),
                DateTime::parse_from_rfc3339(y),
            ) {
                return x.cmp(&y);
            }
            if let (Ok(x), Ok(y)) = (x.parse::<f64>(), y.parse::<f64>()) {
                return x.partial_cmp(&y).unwrap_or(Ordering::Equal);
            }
            x.as_bytes().cmp(y.as_bytes())
        }
        _ => Ordering::Equal,
    }
}

/// Walks one connection under one ordering both ways; checks the walk and returns the
/// ids in order.
async fn walk(app: &TestApp, walk: &Walk, field: &str, descending: bool) -> Vec<String> {
    let direction = if descending { "DESC" } else { "ASC" };
    let sort = camel(field);
    let selection = format!(
        "totalCount pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} nodes {{ id {sort} }}"
    );
    let order = format!("orderBy: {{field: {field}, direction: {direction}}}");
    let page = |args: String| {
        let query = walk
            .template
            .replacen("{}", &format!("({order}, {args})"), 1)
            .replacen("[]", &format!("{{ {selection} }}"), 1);
        async move {
            let data = app.data(&query).await;
            walk.path
                .iter()
                .fold(data, |v, key| v[key.as_str()].clone())
        }
    };
    let what = format!("{} by {field} {direction}", walk.path.join("."));

    let mut forward: Vec<Value> = Vec::new();
    let mut args = "first: 2".to_owned();
    let mut total = None;
    for step in 0.. {
        assert!(step < 100, "{what}: the forward walk does not end");
        let conn = page(args.clone()).await;
        total = conn["totalCount"].as_u64();
        forward.extend(nodes(&conn));
        if conn["pageInfo"]["hasNextPage"] != true {
            break;
        }
        args = format!(
            r#"first: 2, after: "{}""#,
            conn["pageInfo"]["endCursor"].as_str().expect("cursor")
        );
    }
    let mut backward: Vec<Value> = Vec::new();
    let mut args = "last: 2".to_owned();
    for step in 0.. {
        assert!(step < 100, "{what}: the backward walk does not end");
        let conn = page(args.clone()).await;
        let mut chunk = nodes(&conn);
        chunk.extend(backward);
        backward = chunk;
        if conn["pageInfo"]["hasPreviousPage"] != true {
            break;
        }
        args = format!(
            r#"last: 2, before: "{}""#,
            conn["pageInfo"]["startCursor"].as_str().expect("cursor")
        );
    }

    let ids = strings(&forward, "id");
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "{what}: a row came twice: {ids:?}");
    assert_eq!(
        Some(ids.len() as u64),
        total,
        "{what}: rows skipped: {ids:?}"
    );
    assert!(
        ids.len() >= 4,
        "{what}: too few rows to walk ({})",
        ids.len()
    );
    assert_eq!(
        strings(&backward, "id"),
        ids,
        "{what}: backward walk differs"
    );
    for pair in forward.windows(2) {
        let (a, b) = (&pair[0][&sort], &pair[1][&sort]);
        let mut by_value = compare(a, b);
        if descending {
            by_value = by_value.reverse();
        }
        let by_id = pair[0]["id"].as_str().cmp(&pair[1]["id"].as_str());
        let by_id = if descending { by_id.reverse() } else { by_id };
        assert!(
            by_value == Ordering::Less || (by_value == Ordering::Equal && by_id == Ordering::Less),
            "{what}: out of order: {} then {}",
            pair[0],
            pair[1]
        );
    }
    ids
}

/// Walks every connection under every ordering; the ids in order, by walk.
async fn walk_everything(app: &TestApp, catalog: &Catalog) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let mut walks: Vec<(Walk, Vec<String>)> = orderings(app)
        .await
        .into_iter()
        .map(|(root, fields)| {
            (
                Walk {
                    template: format!("{{ {root}{{}} [] }}"),
                    path: vec![root],
                },
                fields,
            )
        })
        .collect();
    let by_root = orderings(app).await;
    let fields_of = |root: &str| {
        by_root
            .iter()
            .find(|(r, _)| r == root)
            .map(|(_, f)| f.clone())
            .unwrap_or_default()
    };
    // Nested connections: windowed per parent by another statement than root ones.
    walks.push((
        Walk {
            template: format!(
                r#"{{ organization(id: "{}") {{ projects{{}} [] }} }}"#,
                catalog.organization
            ),
            path: vec!["organization".into(), "projects".into()],
        },
        fields_of("projects"),
    ));
    walks.push((
        Walk {
            template: format!(
                r#"{{ project(id: "{}") {{ tasks{{}} [] }} }}"#,
                catalog.project
            ),
            path: vec!["project".into(), "tasks".into()],
        },
        fields_of("tasks"),
    ));
    walks.push((
        Walk {
            template: format!(
                r#"{{ user(id: "{}") {{ assignedTasks{{}} [] }} }}"#,
                catalog.assignee
            ),
            path: vec!["user".into(), "assignedTasks".into()],
        },
        fields_of("tasks"),
    ));
    assert!(walks.len() >= 18, "{} connections", walks.len());
    for (w, fields) in &walks {
        assert!(!fields.is_empty(), "{}: no orderings", w.path.join("."));
        for field in fields {
            for descending in [false, true] {
                let ids = walk(app, w, field, descending).await;
                out.insert(format!("{} {field} {descending}", w.path.join(".")), ids);
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_connection_walks_alike_on_both_backends() {
    let mut walks = Vec::new();
    for backend in Backend::ALL {
        let app = TestApp::new(backend).await;
        let catalog = Catalog::build(app.conn()).await;
        app.act_as(catalog.member, catalog.organization).await;
        walks.push(walk_everything(&app, &catalog).await);
    }
    assert_eq!(walks[0].len(), walks[1].len());
    for (key, ids) in &walks[0] {
        // Audit rows are written by each database's triggers, with ids of its own
        // (`gen_random_uuid()`, `randomblob(16)`): their walks are checked on each backend
        // (complete, in order, backward as forward) but their ids cannot agree.
        if key.starts_with("auditLog ") {
            continue;
        }
        assert_eq!(
            Some(ids),
            walks[1].get(key),
            "{key}: PostgreSQL and SQLite differ"
        );
    }
}

on_both_backends!(bad_cursors_are_refused_naming_the_argument);

async fn bad_cursors_are_refused_naming_the_argument(backend: Backend) {
    let app = TestApp::new(backend).await;
    let catalog = Catalog::build(app.conn()).await;
    app.act_as(catalog.member, catalog.organization).await;
    let cursor = |query: &str| {
        let query = query.to_owned();
        let app = &app;
        async move {
            let data = app.data(&query).await;
            let conn = data
                .as_object()
                .and_then(|o| o.values().next())
                .cloned()
                .unwrap_or_default();
            conn["pageInfo"]["endCursor"]
                .as_str()
                .expect("a cursor")
                .to_owned()
        }
    };
    let by_complexity = cursor(
        "{ projects(first: 1, orderBy: {field: COMPLEXITY_SCORE}) { pageInfo { endCursor } } }",
    )
    .await;
    let of_tasks = cursor("{ tasks(first: 1) { pageInfo { endCursor } } }").await;
    let descendants = app
        .data(&format!(
            r#"{{ task(id: "{}") {{ descendants(first: 1) {{ pageInfo {{ endCursor }} }} }} }}"#,
            catalog.root_task
        ))
        .await["task"]["descendants"]["pageInfo"]["endCursor"]
        .as_str()
        .expect("a cursor")
        .to_owned();
    let forged = |key: Value| {
        OpaqueCursor(
            json!({"c": "projects", "o": "complexity_score", "k": key, "id": catalog.project}),
        )
        .encode_cursor()
    };
    for (query, argument, rule) in [
        (
            format!(
                r#"{{ projects(after: "{}") {{ totalCount }} }}"#,
                &by_complexity[..by_complexity.len() / 2]
            ),
            "after",
            "not a cursor",
        ),
        (
            format!(r#"{{ projects(before: "{by_complexity}x!") {{ totalCount }} }}"#),
            "before",
            "not a cursor",
        ),
        (
            format!(
                r#"{{ projects(after: "{by_complexity}", orderBy: {{field: CREATED_AT}}) {{ totalCount }} }}"#
            ),
            "after",
            "another orderBy",
        ),
        (
            format!(
                r#"{{ projects(after: "{by_complexity}", orderBy: {{field: COMPLEXITY_SCORE, direction: DESC}}) {{ totalCount }} }}"#
            ),
            "after",
            "another orderBy",
        ),
        (
            format!(r#"{{ projects(last: 1, before: "{of_tasks}") {{ totalCount }} }}"#),
            "before",
            "another connection",
        ),
        (
            format!(
                r#"{{ task(id: "{}") {{ children(after: "{descendants}") {{ totalCount }} }} }}"#,
                catalog.root_task
            ),
            "after",
            "another connection",
        ),
        (
            format!(
                r#"{{ projects(after: "{}", orderBy: {{field: COMPLEXITY_SCORE}}) {{ totalCount }} }}"#,
                forged(json!({"t": "Text", "v": "'; drop table projects; --"}))
            ),
            "after",
            "not a cursor",
        ),
        (
            format!(
                r#"{{ projects(after: "{}", orderBy: {{field: COMPLEXITY_SCORE}}) {{ totalCount }} }}"#,
                forged(json!({"t": "Int", "v": 99_999_999_999_i64}))
            ),
            "after",
            "not a cursor",
        ),
        (
            format!(
                r#"{{ projects(after: "{}", orderBy: {{field: COMPLEXITY_SCORE}}) {{ totalCount }} }}"#,
                forged(json!({"t": "Planet", "v": 1}))
            ),
            "after",
            "not a cursor",
        ),
    ] {
        let response = app.run(&query).await;
        let error = &response["errors"][0];
        assert_eq!(
            error["extensions"]["code"], "VALIDATION",
            "{query}: {response:#}"
        );
        assert_eq!(
            error["extensions"]["field"], argument,
            "{query}: {response:#}"
        );
        let message = error["message"].as_str().unwrap_or_default();
        assert!(message.contains(rule), "{query}: {message}");
    }
    // A well-formed cursor of the same connection and ordering still works, from a root
    // connection to a nested one of the same table.
    let nested = app
        .run(&format!(
            r#"{{ project(id: "{}") {{ tasks(after: "{of_tasks}") {{ totalCount }} }} }}"#,
            catalog.project
        ))
        .await;
    assert!(nested.get("errors").is_none(), "{nested:#}");
}
