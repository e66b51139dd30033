//! Resolver behaviour on both backends: lookups, connections and paging, filters and
//! orderings, hierarchies, and the dashboard numbers.

use bduf_testkit::Backend;
use serde_json::{Value, json};

use bduf_core::read::MAX_ANCESTORS;
use entity::tasks;
use sea_orm::ActiveValue::Set;
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use uuid::Uuid;

use crate::support::{
    Breadth, Plan, Shape, TestApp, insert_all, nodes, on_both_backends, setup, strings,
};

on_both_backends!(
    lookups_by_id_find_rows_and_null_for_unknown_ids,
    root_connections_page_forward_and_backward_without_gaps,
    ordering_by_a_nullable_column_sorts_nulls_after_values_across_pages,
    filters_select_the_matching_rows,
    hierarchies_walk_up_and_down,
    a_chain_thousands_deep_is_walked_within_its_caps,
    a_walk_down_stops_at_its_start_on_a_cycle,
    project_stats_add_up,
    a_selection_answers_alike_with_fragments_directives_and_repeats,
);

async fn lookups_by_id_find_rows_and_null_for_unknown_ids(backend: Backend) {
    let app = TestApp::new(backend).await;
    let plan = Plan::build(
        app.conn(),
        Shape {
            projects: 1,
            roots: 1,
            breadth: 1,
            comments: 1,
        },
    )
    .await;
    let data = app
        .data(&format!(
            r#"{{ project(id: "{p}") {{ name status organization {{ id }} createdBy {{ id }} estimatedBudget }}
                 requirement(id: "{r}") {{ title project {{ id }} }}
                 task(id: "{t}") {{ title assignee {{ id }} status }}
                 missing: project(id: "{missing}") {{ name }} }}"#,
            p = plan.projects[0],
            r = plan.roots[0][0],
            t = plan.tasks[0],
            missing = Uuid::now_v7(),
        ))
        .await;
    assert_eq!(data["project"]["name"], "Project 0");
    assert_eq!(data["project"]["status"], "ACTIVE");
    assert_eq!(
        data["project"]["organization"]["id"],
        plan.organization.to_string()
    );
    assert_eq!(
        data["project"]["createdBy"]["id"],
        plan.users[0].to_string()
    );
    assert_eq!(
        data["requirement"]["project"]["id"],
        plan.projects[0].to_string()
    );
    assert_eq!(data["task"]["assignee"]["id"], plan.users[0].to_string());
    assert_eq!(data["task"]["status"], "IN_PROGRESS");
    assert_eq!(data["missing"], Value::Null);
}

async fn root_connections_page_forward_and_backward_without_gaps(backend: Backend) {
    let app = TestApp::new(backend).await;
    let plan = Plan::build(
        app.conn(),
        Shape {
            projects: 5,
            roots: 1,
            breadth: 0,
            comments: 0,
        },
    )
    .await;
    let page = |args: &str| {
        format!(
            r#"{{ projects({args}) {{ totalCount pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} edges {{ cursor node {{ id }} }} }} }}"#
        )
    };
    let first = app.data(&page("first: 2")).await["projects"].clone();
    assert_eq!(first["totalCount"], 5);
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let mut seen = strings(&nodes(&first), "id");
    let mut cursor = first["pageInfo"]["endCursor"]
        .as_str()
        .expect("a cursor")
        .to_owned();
    loop {
        let next = app
            .data(&page(&format!(r#"first: 2, after: "{cursor}""#)))
            .await["projects"]
            .clone();
        seen.extend(strings(&nodes(&next), "id"));
        assert_eq!(next["pageInfo"]["hasPreviousPage"], true);
        if next["pageInfo"]["hasNextPage"] == false {
            break;
        }
        cursor = next["pageInfo"]["endCursor"]
            .as_str()
            .expect("a cursor")
            .to_owned();
    }
    let expected: Vec<String> = plan.projects.iter().map(ToString::to_string).collect();
    assert_eq!(
        seen, expected,
        "forward pages in id order, no gaps, no repeats"
    );

    let last = app.data(&page("last: 2")).await["projects"].clone();
    assert_eq!(strings(&nodes(&last), "id"), expected[3..]);
    assert_eq!(last["pageInfo"]["hasPreviousPage"], true);
    let before = last["pageInfo"]["startCursor"].as_str().expect("a cursor");
    let earlier = app
        .data(&page(&format!(r#"last: 2, before: "{before}""#)))
        .await["projects"]
        .clone();
    assert_eq!(strings(&nodes(&earlier), "id"), expected[1..3]);
    assert_eq!(earlier["pageInfo"]["hasNextPage"], true);
}

async fn ordering_by_a_nullable_column_sorts_nulls_after_values_across_pages(backend: Backend) {
    let app = TestApp::new(backend).await;
    // Complexity scores of projects 0..7: 1, 2, null, 4, 5, null, 7.
    Plan::build(
        app.conn(),
        Shape {
            projects: 7,
            roots: 0,
            breadth: 0,
            comments: 0,
        },
    )
    .await;
    for (direction, expected) in [
        (
            "ASC",
            vec![
                json!(1),
                json!(2),
                json!(4),
                json!(5),
                json!(7),
                Value::Null,
                Value::Null,
            ],
        ),
        (
            // NULL sorts after every value: first when descending.
            "DESC",
            vec![
                Value::Null,
                Value::Null,
                json!(7),
                json!(5),
                json!(4),
                json!(2),
                json!(1),
            ],
        ),
    ] {
        let mut scores = Vec::new();
        let mut after = String::new();
        loop {
            let data = app
                .data(&format!(
                    r#"{{ projects(first: 3, {after} orderBy: {{field: COMPLEXITY_SCORE, direction: {direction}}}) {{
                        pageInfo {{ hasNextPage endCursor }} edges {{ node {{ complexityScore }} }} }} }}"#
                ))
                .await;
            scores.extend(
                nodes(&data["projects"])
                    .iter()
                    .map(|n| n["complexityScore"].clone()),
            );
            if data["projects"]["pageInfo"]["hasNextPage"] == false {
                break;
            }
            after = format!(
                r#"after: "{}","#,
                data["projects"]["pageInfo"]["endCursor"]
                    .as_str()
                    .expect("cursor")
            );
        }
        assert_eq!(scores, expected, "{direction}");
    }
}

async fn filters_select_the_matching_rows(backend: Backend) {
    let app = TestApp::new(backend).await;
    let plan = Plan::build(
        app.conn(),
        Shape {
            projects: 4,
            roots: 2,
            breadth: 2,
            comments: 1,
        },
    )
    .await;
    let data = app
        .data(&format!(
            r#"{{ active: projects(filter: {{status: ACTIVE}}) {{ totalCount }}
                 complex: projects(filter: {{complexityMin: 2, complexityMax: 4}}) {{ edges {{ node {{ complexityScore }} }} }}
                 roots: requirements(filter: {{projectId: "{p}", rootsOnly: true}}) {{ totalCount }}
                 validated: requirements(filter: {{projectId: "{p}", isValidated: true}}) {{ totalCount }}
                 done: tasks(filter: {{status: DONE}}) {{ totalCount }}
                 mine: tasks(filter: {{assignedTo: "{u}"}}) {{ totalCount }}
                 onLeaf: comments(filter: {{targetType: REQUIREMENT, targetId: "{leaf}"}}) {{ totalCount }} }}"#,
            p = plan.projects[0],
            u = plan.users[1],
            leaf = plan.leaves[0],
        ))
        .await;
    assert_eq!(data["active"]["totalCount"], 2);
    let scores: Vec<i64> = nodes(&data["complex"])
        .iter()
        .filter_map(|n| n["complexityScore"].as_i64())
        .collect();
    assert_eq!(scores, [2, 4]);
    assert_eq!(data["roots"]["totalCount"], 2);
    // Roots and the first child of each root are validated.
    assert_eq!(data["validated"]["totalCount"], 4);
    assert_eq!(data["done"]["totalCount"], 4);
    assert_eq!(data["mine"]["totalCount"], 4);
    assert_eq!(data["onLeaf"]["totalCount"], 1);
}

async fn hierarchies_walk_up_and_down(backend: Backend) {
    let app = TestApp::new(backend).await;
    let plan = Plan::build(
        app.conn(),
        Shape {
            projects: 1,
            roots: 1,
            breadth: 2,
            comments: 0,
        },
    )
    .await;
    let leaf = plan.leaves[3];
    let data = app
        .data(&format!(
            r#"{{ leaf: requirement(id: "{leaf}") {{ title depth parent {{ title }} ancestors {{ title depth }} }}
                 root: requirement(id: "{root}") {{ depth children {{ nodes {{ title }} }}
                   all: descendants {{ totalCount nodes {{ title }} }}
                   near: descendants(maxDepth: 1) {{ nodes {{ title }} }} }}
                 project(id: "{p}") {{ roots: requirements(filter: {{rootsOnly: true}}) {{ totalCount }}
                   all: requirements {{ totalCount }}
                   tasks(filter: {{rootsOnly: true}}) {{ nodes {{ title descendants {{ nodes {{ title }} }} }} }} }} }}"#,
            root = plan.roots[0][0],
            p = plan.projects[0],
        ))
        .await;
    assert_eq!(data["leaf"]["title"], "R0.0.1.1");
    assert_eq!(data["leaf"]["depth"], 2);
    assert_eq!(data["leaf"]["parent"]["title"], "R0.0.1");
    assert_eq!(
        data["leaf"]["ancestors"],
        json!([{"title": "R0.0", "depth": 0}, {"title": "R0.0.1", "depth": 1}])
    );
    assert_eq!(data["root"]["depth"], 0);
    assert_eq!(
        strings(&nodes(&data["root"]["children"]), "title"),
        ["R0.0.0", "R0.0.1"]
    );
    assert_eq!(
        strings(&nodes(&data["root"]["all"]), "title"),
        [
            "R0.0.0", "R0.0.1", "R0.0.0.0", "R0.0.0.1", "R0.0.1.0", "R0.0.1.1"
        ],
        "breadth first"
    );
    assert_eq!(
        strings(&nodes(&data["root"]["near"]), "title"),
        ["R0.0.0", "R0.0.1"]
    );
    assert_eq!(data["root"]["all"]["totalCount"], 6);
    assert_eq!(data["project"]["roots"]["totalCount"], 1);
    assert_eq!(data["project"]["all"]["totalCount"], 7);
    let tasks = nodes(&data["project"]["tasks"]);
    assert_eq!(strings(&tasks, "title"), ["Build"]);
    assert_eq!(
        strings(&nodes(&tasks[0]["descendants"]), "title"),
        ["Part", "Sub", "Leaf"]
    );
}

async fn project_stats_add_up(backend: Backend) {
    let app = TestApp::new(backend).await;
    let plan = Plan::build(
        app.conn(),
        Shape {
            projects: 2,
            roots: 1,
            breadth: 2,
            comments: 0,
        },
    )
    .await;
    let data = app
        .data(&format!(
            r#"{{ project(id: "{p}") {{ stats {{
                 tasksByStatus {{ status count }} progress {{ percent leafTasks estimatedHours }}
                 requirements {{ total validated }} openApprovals latestAnalyses {{ type }} }} }}
               organization(id: "{o}") {{ stats {{ projectsByStatus {{ status count }} members tasksByStatus {{ status count }} }} }} }}"#,
            p = plan.projects[0],
            o = plan.organization,
        ))
        .await;
    let stats = &data["project"]["stats"];
    assert_eq!(
        stats["tasksByStatus"],
        json!([{"status": "PENDING", "count": 1}, {"status": "IN_PROGRESS", "count": 2}, {"status": "DONE", "count": 1}]),
        "in the order of the statuses"
    );
    // Leaves: Part (done, 30 h) and Leaf (0 %, unestimated: weight 1): 3000 / 31.
    assert_eq!(
        stats["progress"],
        json!({"percent": 96.8, "leafTasks": 2, "estimatedHours": 30})
    );
    assert_eq!(stats["requirements"], json!({"total": 7, "validated": 2}));
    assert_eq!(stats["openApprovals"], 0);
    assert_eq!(stats["latestAnalyses"], json!([]));
    let org = &data["organization"]["stats"];
    assert_eq!(
        org["projectsByStatus"],
        json!([{"status": "DRAFT", "count": 1}, {"status": "ACTIVE", "count": 1}])
    );
    // The plan's three users: owner, admin, contributor.
    assert_eq!(org["members"], 3);
    assert_eq!(
        org["tasksByStatus"][0],
        json!({"status": "PENDING", "count": 2})
    );

    // Asked for alone, or under aliases and a fragment, each number is the same:
    // `tasksByStatus` and `progress` share one statement only when both are selected.
    for (query, statements) in [
        ("tasksByStatus { status count }", 2),
        ("progress { percent leafTasks estimatedHours }", 2),
        (
            "a: tasksByStatus { status count } ...on ProjectStats { b: progress { percent leafTasks estimatedHours } }",
            2,
        ),
    ] {
        let (counted, alone) = app
            .counted(&format!(
                r#"{{ project(id: "{p}") {{ stats {{ {query} }} }} }}"#,
                p = plan.projects[0],
            ))
            .await;
        let alone = &alone["project"]["stats"];
        for (key, field) in [
            ("tasksByStatus", "tasksByStatus"),
            ("a", "tasksByStatus"),
            ("progress", "progress"),
            ("b", "progress"),
        ] {
            if !alone[key].is_null() {
                assert_eq!(alone[key], stats[field], "{query}");
            }
        }
        assert_eq!(
            counted,
            setup(backend) + statements,
            "{query}: the project, then one for the tasks"
        );
    }
}

on_both_backends!(search_finds_words_in_titles_and_descriptions);

async fn search_finds_words_in_titles_and_descriptions(backend: Backend) {
    let app = TestApp::new(backend).await;
    let plan = Plan::build(
        app.conn(),
        Shape {
            projects: 2,
            roots: 2,
            breadth: 1,
            comments: 0,
        },
    )
    .await;
    let data = app
        .data(&format!(
            r#"{{ tasks(filter: {{search: "build"}}) {{ totalCount nodes {{ title }} }}
                 none: tasks(filter: {{search: "rocket"}}) {{ totalCount }}
                 scoped: tasks(filter: {{search: "sub", projectId: "{p}"}}) {{ totalCount }}
                 projects(filter: {{search: "project"}}) {{ totalCount }}
                 odd: requirements(filter: {{search: "50%_off\\"}}) {{ totalCount }} }}"#,
            p = plan.projects[0],
        ))
        .await;
    // Every project has one task titled "Build"; the words match whatever the case.
    assert_eq!(data["tasks"]["totalCount"], 2, "{data}");
    assert_eq!(strings(&nodes(&data["tasks"]), "title"), ["Build", "Build"]);
    assert_eq!(data["none"]["totalCount"], 0);
    assert_eq!(data["scoped"]["totalCount"], 1);
    assert_eq!(data["projects"]["totalCount"], 2);
    // Wildcards and quotes in the text are text, not patterns.
    assert_eq!(data["odd"]["totalCount"], 0);
    let long = "x".repeat(201);
    let response = app
        .run(&format!(
            r#"{{ tasks(filter: {{search: "{long}"}}) {{ totalCount }} }}"#
        ))
        .await;
    assert_eq!(
        response["errors"][0]["extensions"]["field"], "filter.search",
        "{response:#}"
    );
}

/// A chain of `length` tasks in one project, each under the one before, titled
/// `{prefix}{level}`, root first.
async fn task_chain(app: &TestApp, length: usize, prefix: &str) -> Vec<Uuid> {
    let base = Breadth::build(app.conn(), 1).await;
    let chain: Vec<Uuid> = (0..length).map(|_| Uuid::now_v7()).collect();
    insert_all(
        app.conn(),
        chain
            .iter()
            .enumerate()
            .map(|(level, id)| tasks::ActiveModel {
                id: Set(*id),
                organization_id: Set(base.organizations[0]),
                project_id: Set(base.projects[0]),
                parent_id: Set(level.checked_sub(1).map(|up| chain[up])),
                title: Set(format!("{prefix}{level}")),
                ..Default::default()
            })
            .collect(),
    )
    .await;
    chain
}

/// A task chain 2,000 deep: `depth` counts every level, `ancestors` returns the nearest
/// [`MAX_ANCESTORS`] root first, and `descendants` walks down as far as `maxDepth` says.
async fn a_chain_thousands_deep_is_walked_within_its_caps(backend: Backend) {
    const DEEP: usize = 2_000;
    let app = TestApp::new(backend).await;
    let chain = task_chain(&app, DEEP, "D").await;
    let data = app
        .data(&format!(
            r#"{{ leaf: task(id: "{leaf}") {{ depth ancestors {{ title }} }}
                 root: task(id: "{root}") {{ depth
                   down: descendants(maxDepth: 1000, first: 3) {{ totalCount nodes {{ title }} }} }} }}"#,
            leaf = chain[DEEP - 1],
            root = chain[0],
        ))
        .await;
    assert_eq!(data["leaf"]["depth"], DEEP - 1, "{data:#}");
    let cap = usize::try_from(MAX_ANCESTORS).expect("a small cap");
    let nearest: Vec<String> = (DEEP - 1 - cap..DEEP - 1)
        .map(|l| format!("D{l}"))
        .collect();
    let ancestors = data["leaf"]["ancestors"]
        .as_array()
        .expect("a list of ancestors");
    assert_eq!(strings(ancestors, "title"), nearest, "{data:#}");
    assert_eq!(data["root"]["depth"], 0);
    assert_eq!(data["root"]["down"]["totalCount"], 1_000, "{data:#}");
    assert_eq!(
        strings(&nodes(&data["root"]["down"]), "title"),
        ["D1", "D2", "D3"]
    );
}

/// A cycle of tasks, as rows written before migration step 18 (which refuses new ones)
/// may hold: walking down from any task of it lists every other task of the cycle once,
/// at its distance, and not the start itself — with or without a filter (the two take
/// different statements), and the count agrees with the nodes.
async fn a_walk_down_stops_at_its_start_on_a_cycle(backend: Backend) {
    const LENGTH: usize = 4;
    let app = TestApp::new(backend).await;
    let cycle = task_chain(&app, LENGTH, "C").await;
    // Close the cycle past the rules: the first task under the last.
    let conn = app.conn();
    let backend = conn.get_database_backend();
    let close = Statement::from_sql_and_values(
        backend,
        if backend == DbBackend::Postgres {
            "UPDATE tasks SET parent_id = $1 WHERE id = $2"
        } else {
            "UPDATE tasks SET parent_id = ? WHERE id = ?"
        },
        [cycle[LENGTH - 1].into(), cycle[0].into()],
    );
    if backend == DbBackend::Postgres {
        let txn = conn.begin().await.expect("a transaction");
        txn.execute_unprepared("SET LOCAL session_replication_role = replica")
            .await
            .expect("triggers off");
        let closed = txn.execute_raw(close).await.expect("the cycle closed");
        assert_eq!(closed.rows_affected(), 1);
        txn.commit().await.expect("committed");
    } else {
        conn.execute_unprepared("DROP TRIGGER tree_update_tasks")
            .await
            .expect("the rule dropped");
        let closed = conn.execute_raw(close).await.expect("the cycle closed");
        assert_eq!(closed.rows_affected(), 1);
    }
    for (start, at) in [(cycle[0], 0), (cycle[2], 2)] {
        let data = app
            .data(&format!(
                r#"{{ task(id: "{start}") {{
                     all: descendants(maxDepth: 10) {{ totalCount nodes {{ title }} }}
                     todo: descendants(maxDepth: 10, filter: {{ status: PENDING }}) {{ totalCount nodes {{ title }} }} }} }}"#
            ))
            .await;
        let others: Vec<String> = (1..LENGTH)
            .map(|step| format!("C{}", (at + step) % LENGTH))
            .collect();
        for field in ["all", "todo"] {
            let walked = &data["task"][field];
            assert_eq!(
                strings(&nodes(walked), "title"),
                others,
                "{field}: {data:#}"
            );
            assert_eq!(walked["totalCount"], LENGTH - 1, "{field}: {data:#}");
        }
    }
}

/// A task's selection answers the same whether its fields are plain (answered by
/// `bduf_graphql`'s own object resolution, scalars at once), in fragments or under
/// directives (left to async-graphql's), with aliases, `__typename` and response keys
/// selected twice merged — over 100 tasks of 1,200, each with its assignee, project and
/// sub-tasks.
async fn a_selection_answers_alike_with_fragments_directives_and_repeats(backend: Backend) {
    let app = TestApp::new(backend).await;
    Breadth::build(app.conn(), 400).await;
    let plain = app
        .data(
            r#"{ tasks(first: 100) { nodes {
                __typename id t: title title
                assignee { username } assignee { id __typename }
                project { name } p: project { id }
                children(first: 5) { totalCount nodes { title } }
                children(first: 5) { nodes { id } }
            } } }"#,
        )
        .await;
    let fragments = app
        .data(
            r#"{ tasks(first: 100) { nodes {
                ...Some
                ... on Task { assignee { id __typename } children(first: 5) { nodes { id } } }
                p: project { id }
            } } }
            fragment Some on Task {
                __typename id t: title title assignee { username } project { name }
                children(first: 5) { totalCount nodes { title } }
            }"#,
        )
        .await;
    let directives = app
        .data(
            r#"{ tasks(first: 100) { nodes {
                __typename id t: title @include(if: true) title
                assignee @skip(if: false) { username } assignee { id __typename }
                project { name } p: project { id } skipped: title @skip(if: true)
                children(first: 5) { totalCount nodes { title } }
                children(first: 5) { nodes { id } }
            } } }"#,
        )
        .await;
    assert_eq!(plain, fragments);
    assert_eq!(plain, directives);
    let tasks = nodes(&plain["tasks"]);
    assert_eq!(tasks.len(), 100);
    let mut assigned = 0;
    for task in &tasks {
        assert_eq!(task["__typename"], "Task", "{task:#}");
        assert!(task["title"].is_string(), "{task:#}");
        assert_eq!(task["t"], task["title"], "{task:#}");
        assert_eq!(task["p"]["id"].as_str().map(str::len), Some(36), "{task:#}");
        assert!(task["project"]["name"].is_string(), "{task:#}");
        if !task["assignee"].is_null() {
            assigned += 1;
            assert_eq!(task["assignee"]["__typename"], "User", "{task:#}");
            assert!(task["assignee"]["username"].is_string(), "{task:#}");
            assert!(task["assignee"]["id"].is_string(), "{task:#}");
        }
        let children = &task["children"];
        let count = children["totalCount"].as_u64().expect("a count");
        let kids = nodes(children);
        assert_eq!(kids.len() as u64, count.min(5), "{task:#}");
        for kid in &kids {
            assert!(kid["title"].is_string() && kid["id"].is_string(), "{kid:#}");
        }
    }
    assert!(assigned > 0, "some of the tasks have an assignee");
}
