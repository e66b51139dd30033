//! The schema's rules hold on both backends: CHECK ranges, enum labels, UNIQUE pairs, and
//! the declared ON DELETE actions. Every rejected statement must also change nothing.

use bduf_testkit::{Backend, TestDb};
use migration::Migrator;
use sea_orm::DatabaseConnection;

use crate::support::{count, exec, new_id, on_both_backends};

on_both_backends!(
    check_constraints_reject_out_of_range_values,
    unknown_enum_labels_are_rejected,
    unique_constraints_reject_duplicates,
    deleting_a_project_cascades_to_its_plan,
    deleting_a_parent_removes_its_subtree,
    deleting_a_referenced_user_is_refused_or_cascades_as_declared,
);

/// A user, an organization with that user as owner, and a project.
struct Fixture {
    user: String,
    org: String,
    project: String,
}

impl Fixture {
    async fn new(db: &DatabaseConnection) -> Self {
        let (user, org, project) = (new_id(), new_id(), new_id());
        insert_user(db, &user).await;
        exec(
            db,
            &format!(
                "INSERT INTO organizations (id, name, slug) VALUES ('{org}', 'Acme', 'acme-{org}')"
            ),
        )
        .await
        .expect("organization");
        exec(
            db,
            &format!("INSERT INTO organization_members (id, organization_id, user_id, role) VALUES ('{}', '{org}', '{user}', 'owner')", new_id()),
        )
        .await
        .expect("membership");
        let fixture = Self { user, org, project };
        fixture.insert_project(db, &fixture.project).await;
        fixture
    }

    async fn insert_project(&self, db: &DatabaseConnection, id: &str) {
        exec(
            db,
            &format!(
                "INSERT INTO projects (id, organization_id, created_by, name) VALUES ('{id}', '{}', '{}', 'Apollo')",
                self.org, self.user
            ),
        )
        .await
        .expect("project");
    }
}

async fn insert_user(db: &DatabaseConnection, id: &str) {
    exec(
        db,
        &format!("INSERT INTO users (id, email, username, password_hash) VALUES ('{id}', '{id}@example.com', 'u{id}', 'x')"),
    )
    .await
    .expect("user");
}

/// Asserts `sql` fails with an error mentioning `rule`, and leaves `table` as it was.
async fn assert_rejected(db: &DatabaseConnection, table: &str, sql: &str, rule: &str) {
    let before = count(db, table).await;
    let err = exec(db, sql).await.expect_err(&format!("accepted: {sql}"));
    let message = err.to_string().to_lowercase();
    assert!(
        message.contains(rule),
        "{sql}\nfailed with {message:?}, expected it to mention {rule:?}"
    );
    assert_eq!(count(db, table).await, before, "{sql} changed {table}");
}

/// The word both backends use for a violated rule of each kind.
fn rule_word(backend: Backend, kind: &str) -> &'static str {
    match (backend, kind) {
        (_, "check") => "check constraint",
        (Backend::Postgres, "unique") => "duplicate key",
        (Backend::Sqlite, "unique") => "unique constraint",
        (Backend::Postgres, "enum") => "invalid input value for enum",
        (Backend::Sqlite, "enum") => "check constraint",
        (_, "fk") => "foreign key",
        _ => unreachable!("unknown rule kind {kind}"),
    }
}

async fn check_constraints_reject_out_of_range_values(backend: Backend) {
    let db = TestDb::migrated::<Migrator>(backend).await;
    let conn = db.conn();
    let f = Fixture::new(conn).await;
    let o = &f.org;
    let p = &f.project;
    let cases = [
        (
            "requirements",
            format!(
                "INSERT INTO requirements (organization_id, id, project_id, title, priority) VALUES ('{o}', '{}', '{p}', 'r', 0)",
                new_id()
            ),
        ),
        (
            "requirements",
            format!(
                "INSERT INTO requirements (organization_id, id, project_id, title, priority) VALUES ('{o}', '{}', '{p}', 'r', 6)",
                new_id()
            ),
        ),
        (
            "requirements",
            format!(
                "INSERT INTO requirements (organization_id, id, project_id, title, complexity_score) VALUES ('{o}', '{}', '{p}', 'r', 11)",
                new_id()
            ),
        ),
        (
            "projects",
            format!(
                "INSERT INTO projects (id, organization_id, created_by, name, complexity_score) VALUES ('{}', '{}', '{}', 'p', 11)",
                new_id(),
                f.org,
                f.user
            ),
        ),
        (
            "projects",
            format!(
                "INSERT INTO projects (id, organization_id, created_by, name, complexity_score) VALUES ('{}', '{}', '{}', 'p', 0)",
                new_id(),
                f.org,
                f.user
            ),
        ),
        (
            "tasks",
            format!(
                "INSERT INTO tasks (organization_id, id, project_id, title, progress_percentage) VALUES ('{o}', '{}', '{p}', 't', 101)",
                new_id()
            ),
        ),
        (
            "tasks",
            format!(
                "INSERT INTO tasks (organization_id, id, project_id, title, progress_percentage) VALUES ('{o}', '{}', '{p}', 't', -1)",
                new_id()
            ),
        ),
        (
            "tasks",
            format!(
                "INSERT INTO tasks (organization_id, id, project_id, title, priority) VALUES ('{o}', '{}', '{p}', 't', 6)",
                new_id()
            ),
        ),
        (
            "tasks",
            format!(
                "INSERT INTO tasks (organization_id, id, project_id, title, complexity_score) VALUES ('{o}', '{}', '{p}', 't', 11)",
                new_id()
            ),
        ),
        (
            "analyses",
            format!(
                "INSERT INTO analyses (organization_id, id, project_id, type, title, confidence_score) VALUES ('{o}', '{}', '{p}', 'risk', 'a', 1.5)",
                new_id()
            ),
        ),
        (
            "analyses",
            format!(
                "INSERT INTO analyses (organization_id, id, project_id, type, title, confidence_score) VALUES ('{o}', '{}', '{p}', 'risk', 'a', -0.01)",
                new_id()
            ),
        ),
        (
            "analyses",
            format!(
                "INSERT INTO analyses (organization_id, id, project_id, type, title, completeness_score) VALUES ('{o}', '{}', '{p}', 'risk', 'a', 1.01)",
                new_id()
            ),
        ),
    ];
    for (table, sql) in &cases {
        assert_rejected(conn, table, sql, rule_word(backend, "check")).await;
    }
    // The bounds themselves are allowed.
    for sql in [
        format!(
            "INSERT INTO requirements (organization_id, id, project_id, title, priority, complexity_score) VALUES ('{o}', '{}', '{p}', 'r', 1, 10)",
            new_id()
        ),
        format!(
            "INSERT INTO requirements (organization_id, id, project_id, title, priority, complexity_score) VALUES ('{o}', '{}', '{p}', 'r', 5, 1)",
            new_id()
        ),
        format!(
            "INSERT INTO tasks (organization_id, id, project_id, title, progress_percentage) VALUES ('{o}', '{}', '{p}', 't', 100)",
            new_id()
        ),
        format!(
            "INSERT INTO analyses (organization_id, id, project_id, type, title, confidence_score, completeness_score) VALUES ('{o}', '{}', '{p}', 'risk', 'a', 1, 0)",
            new_id()
        ),
    ] {
        exec(conn, &sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

async fn unknown_enum_labels_are_rejected(backend: Backend) {
    let db = TestDb::migrated::<Migrator>(backend).await;
    let conn = db.conn();
    let f = Fixture::new(conn).await;
    let o = &f.org;
    let p = &f.project;
    let approval = new_id();
    exec(conn, &format!("INSERT INTO approvals (organization_id, id, project_id, requested_by, title, target_id) VALUES ('{o}', '{approval}', '{p}', '{}', 'Sign-off', '{p}')", f.user))
        .await
        .expect("approval");
    let cases = [
        (
            "projects",
            format!(
                "INSERT INTO projects (id, organization_id, created_by, name, status) VALUES ('{}', '{}', '{}', 'p', 'paused')",
                new_id(),
                f.org,
                f.user
            ),
        ),
        (
            "tasks",
            format!(
                "INSERT INTO tasks (organization_id, id, project_id, title, status) VALUES ('{o}', '{}', '{p}', 't', 'blocked')",
                new_id()
            ),
        ),
        (
            "analyses",
            format!(
                "INSERT INTO analyses (organization_id, id, project_id, type, title) VALUES ('{o}', '{}', '{p}', 'astrology', 'a')",
                new_id()
            ),
        ),
        (
            "organization_members",
            format!(
                "INSERT INTO organization_members (id, organization_id, user_id, role) VALUES ('{}', '{}', '{}', 'superuser')",
                new_id(),
                f.org,
                f.user
            ),
        ),
        (
            "approvals",
            format!(
                "INSERT INTO approvals (organization_id, id, project_id, requested_by, title, target_id, status) VALUES ('{o}', '{}', '{p}', '{}', 'x', '{p}', 'maybe')",
                new_id(),
                f.user
            ),
        ),
        (
            "approval_participants",
            format!(
                "INSERT INTO approval_participants (organization_id, id, approval_id, user_id, response) VALUES ('{o}', '{}', '{approval}', '{}', 'perhaps')",
                new_id(),
                f.user
            ),
        ),
    ];
    for (table, sql) in &cases {
        assert_rejected(conn, table, sql, rule_word(backend, "enum")).await;
    }
    // Labels are case-sensitive, as PostgreSQL enums are.
    assert_rejected(
        conn,
        "tasks",
        &format!(
            "INSERT INTO tasks (organization_id, id, project_id, title, status) VALUES ('{o}', '{}', '{p}', 't', 'DONE')",
            new_id()
        ),
        rule_word(backend, "enum"),
    )
    .await;
    // Defaults are valid labels.
    let task = new_id();
    exec(
        conn,
        &format!("INSERT INTO tasks (organization_id, id, project_id, title) VALUES ('{o}', '{task}', '{p}', 't')"),
    )
    .await
    .expect("task with the default status");
}

async fn unique_constraints_reject_duplicates(backend: Backend) {
    let db = TestDb::migrated::<Migrator>(backend).await;
    let conn = db.conn();
    let f = Fixture::new(conn).await;
    let o = &f.org;
    let session = new_id();
    exec(conn, &format!("INSERT INTO collaboration_sessions (organization_id, id, project_id, created_by, title) VALUES ('{o}', '{session}', '{}', '{}', 's')", f.project, f.user))
        .await
        .expect("session");
    exec(conn, &format!("INSERT INTO session_participants (organization_id, id, session_id, user_id) VALUES ('{o}', '{}', '{session}', '{}')", new_id(), f.user))
        .await
        .expect("participant");
    let approval = new_id();
    exec(conn, &format!("INSERT INTO approvals (organization_id, id, project_id, requested_by, title, target_id) VALUES ('{o}', '{approval}', '{}', '{}', 'a', '{}')", f.project, f.user, f.project))
        .await
        .expect("approval");
    exec(conn, &format!("INSERT INTO approval_participants (organization_id, id, approval_id, user_id) VALUES ('{o}', '{}', '{approval}', '{}')", new_id(), f.user))
        .await
        .expect("approver");
    let u = &f.user;
    let cases = [
        (
            "users",
            format!(
                "INSERT INTO users (id, email, username, password_hash) VALUES ('{}', '{u}@example.com', 'other', 'x')",
                new_id()
            ),
        ),
        (
            "users",
            format!(
                "INSERT INTO users (id, email, username, password_hash) VALUES ('{}', 'other@example.com', 'u{u}', 'x')",
                new_id()
            ),
        ),
        (
            "organizations",
            format!(
                "INSERT INTO organizations (id, name, slug) VALUES ('{}', 'Other', 'acme-{}')",
                new_id(),
                f.org
            ),
        ),
        (
            "organization_members",
            format!(
                "INSERT INTO organization_members (id, organization_id, user_id) VALUES ('{}', '{}', '{u}')",
                new_id(),
                f.org
            ),
        ),
        (
            "session_participants",
            format!(
                "INSERT INTO session_participants (organization_id, id, session_id, user_id) VALUES ('{o}', '{}', '{session}', '{u}')",
                new_id()
            ),
        ),
        (
            "approval_participants",
            format!(
                "INSERT INTO approval_participants (organization_id, id, approval_id, user_id) VALUES ('{o}', '{}', '{approval}', '{u}')",
                new_id()
            ),
        ),
    ];
    for (table, sql) in &cases {
        assert_rejected(conn, table, sql, rule_word(backend, "unique")).await;
    }
    // The pairs are unique, not their halves: the same user in another organization is fine.
    let other_org = new_id();
    exec(
        conn,
        &format!(
            "INSERT INTO organizations (id, name, slug) VALUES ('{other_org}', 'Other', 'other')"
        ),
    )
    .await
    .expect("second organization");
    exec(conn, &format!("INSERT INTO organization_members (id, organization_id, user_id) VALUES ('{}', '{other_org}', '{u}')", new_id()))
        .await
        .expect("same user, other organization");
}

/// The tables holding a project's plan, with the rows one [`plan`] call adds to each.
const PLAN_TABLES: [(&str, i64); 8] = [
    ("requirements", 3),
    ("architectural_components", 2),
    ("tasks", 2),
    ("analyses", 1),
    ("approvals", 1),
    ("approval_participants", 1),
    ("collaboration_sessions", 1),
    ("session_participants", 1),
];

/// Fills `project` with a small plan: a requirement tree, components, tasks, an analysis,
/// an approval with an approver, a session with a participant.
async fn plan(db: &DatabaseConnection, f: &Fixture, project: &str) {
    let o = &f.org;
    let (r1, r2, c1, t1, a1, s1) = (new_id(), new_id(), new_id(), new_id(), new_id(), new_id());
    let u = &f.user;
    for sql in [
        format!(
            "INSERT INTO requirements (organization_id, id, project_id, title) VALUES ('{o}', '{r1}', '{project}', 'root')"
        ),
        format!(
            "INSERT INTO requirements (organization_id, id, project_id, parent_id, title) VALUES ('{o}', '{r2}', '{project}', '{r1}', 'child')"
        ),
        format!(
            "INSERT INTO requirements (organization_id, id, project_id, parent_id, title) VALUES ('{o}', '{}', '{project}', '{r2}', 'grandchild')",
            new_id()
        ),
        format!(
            "INSERT INTO architectural_components (organization_id, id, project_id, name) VALUES ('{o}', '{c1}', '{project}', 'api')"
        ),
        format!(
            "INSERT INTO architectural_components (organization_id, id, project_id, parent_id, name) VALUES ('{o}', '{}', '{project}', '{c1}', 'db')",
            new_id()
        ),
        format!(
            "INSERT INTO tasks (organization_id, id, project_id, title, assigned_to) VALUES ('{o}', '{t1}', '{project}', 'build', '{u}')"
        ),
        format!(
            "INSERT INTO tasks (organization_id, id, project_id, parent_id, title) VALUES ('{o}', '{}', '{project}', '{t1}', 'test')",
            new_id()
        ),
        format!(
            "INSERT INTO analyses (organization_id, id, project_id, type, title) VALUES ('{o}', '{}', '{project}', 'risk', 'risks')",
            new_id()
        ),
        format!(
            "INSERT INTO approvals (organization_id, id, project_id, requested_by, title, target_id) VALUES ('{o}', '{a1}', '{project}', '{u}', 'sign-off', '{r1}')"
        ),
        format!(
            "INSERT INTO approval_participants (organization_id, id, approval_id, user_id) VALUES ('{o}', '{}', '{a1}', '{u}')",
            new_id()
        ),
        format!(
            "INSERT INTO collaboration_sessions (organization_id, id, project_id, created_by, title) VALUES ('{o}', '{s1}', '{project}', '{u}', 'review')"
        ),
        format!(
            "INSERT INTO session_participants (organization_id, id, session_id, user_id) VALUES ('{o}', '{}', '{s1}', '{u}')",
            new_id()
        ),
    ] {
        exec(db, &sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

async fn deleting_a_project_cascades_to_its_plan(backend: Backend) {
    let db = TestDb::migrated::<Migrator>(backend).await;
    let conn = db.conn();
    let f = Fixture::new(conn).await;
    let other = new_id();
    f.insert_project(conn, &other).await;
    plan(conn, &f, &f.project).await;
    plan(conn, &f, &other).await;
    for (table, per_plan) in PLAN_TABLES {
        assert_eq!(count(conn, table).await, 2 * per_plan, "{table} before");
    }
    exec(
        conn,
        &format!("DELETE FROM projects WHERE id = '{}'", f.project),
    )
    .await
    .expect("deleting the project");
    for (table, per_plan) in PLAN_TABLES {
        assert_eq!(
            count(conn, table).await,
            per_plan,
            "{table}: only the other project's rows remain"
        );
    }
    assert_eq!(count(conn, "projects").await, 1);
    assert_eq!(
        count(conn, "users").await,
        1,
        "users are not part of a project"
    );
}

async fn deleting_a_parent_removes_its_subtree(backend: Backend) {
    let db = TestDb::migrated::<Migrator>(backend).await;
    let conn = db.conn();
    let f = Fixture::new(conn).await;
    let o = &f.org;
    let p = &f.project;
    for (table, title) in [
        ("requirements", "title"),
        ("tasks", "title"),
        ("architectural_components", "name"),
    ] {
        let (root, child, grandchild, sibling) = (new_id(), new_id(), new_id(), new_id());
        for (id, parent) in [
            (&root, None),
            (&child, Some(&root)),
            (&grandchild, Some(&child)),
            (&sibling, None),
        ] {
            let parent = parent.map_or("NULL".to_owned(), |p| format!("'{p}'"));
            exec(conn, &format!("INSERT INTO {table} (organization_id, id, project_id, parent_id, {title}) VALUES ('{}', '{id}', '{p}', {parent}, 'n')", f.org))
                .await
                .unwrap_or_else(|e| panic!("{table}: {e}"));
        }
        exec(conn, &format!("DELETE FROM {table} WHERE id = '{root}'"))
            .await
            .expect("delete root");
        assert_eq!(
            count(conn, table).await,
            1,
            "{table}: only the sibling survives"
        );
    }
    // Comment threads cascade the same way.
    let (root, reply) = (new_id(), new_id());
    for (id, parent) in [(&root, "NULL".to_owned()), (&reply, format!("'{root}'"))] {
        exec(conn, &format!("INSERT INTO comments (organization_id, id, target_type, target_id, author_id, content, parent_id) VALUES ('{o}', '{id}', 'project', '{p}', '{}', 'hi', {parent})", f.user))
            .await
            .expect("comment");
    }
    exec(conn, &format!("DELETE FROM comments WHERE id = '{root}'"))
        .await
        .expect("delete comment");
    assert_eq!(count(conn, "comments").await, 0);
}

async fn deleting_a_referenced_user_is_refused_or_cascades_as_declared(backend: Backend) {
    let db = TestDb::migrated::<Migrator>(backend).await;
    let conn = db.conn();
    let f = Fixture::new(conn).await;
    let o = &f.org;
    // projects.created_by has no ON DELETE action: the creator cannot be deleted.
    assert_rejected(
        conn,
        "users",
        &format!("DELETE FROM users WHERE id = '{}'", f.user),
        rule_word(backend, "fk"),
    )
    .await;
    assert_eq!(
        count(conn, "organization_members").await,
        1,
        "the refused delete cascaded nothing"
    );

    // A user referenced only through ON DELETE CASCADE keys takes those rows along.
    let member = new_id();
    insert_user(conn, &member).await;
    exec(conn, &format!("INSERT INTO organization_members (id, organization_id, user_id) VALUES ('{}', '{}', '{member}')", new_id(), f.org))
        .await
        .expect("membership");
    exec(conn, &format!("INSERT INTO notifications (organization_id, id, user_id, type, title) VALUES ('{o}', '{}', '{member}', 'mention', 'hi')", new_id()))
        .await
        .expect("notification");
    exec(conn, &format!("DELETE FROM users WHERE id = '{member}'"))
        .await
        .expect("deleting the member");
    assert_eq!(count(conn, "organization_members").await, 1);
    assert_eq!(count(conn, "notifications").await, 0);

    // A dangling reference is refused.
    assert_rejected(
        conn,
        "tasks",
        &format!(
            "INSERT INTO tasks (organization_id, id, project_id, title, assigned_to) VALUES ('{o}', '{}', '{}', 't', '{}')",
            new_id(),
            f.project,
            new_id()
        ),
        rule_word(backend, "fk"),
    )
    .await;
}
