//! Row-level security on PostgreSQL: raw SQL under the application role, with no filter
//! of its own, neither reads nor writes another organization's rows — and without a
//! tenant setting it reads nothing at all.

use bduf_testkit::{Backend, TestDb};
use migration::Migrator;
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};

use crate::support::{count, exec, new_id, strings};

/// An organization with one user and one row in every tenant table; returns
/// `(organization, user, project, requirement)`.
async fn tenant(db: &DatabaseConnection, slug: &str) -> (String, String, String, String) {
    let (o, u, p, r) = (new_id(), new_id(), new_id(), new_id());
    let (s, a) = (new_id(), new_id());
    let statements = [
        format!(
            "INSERT INTO users (id, email, username, password_hash) VALUES ('{u}', '{slug}@example.com', '{slug}', 'x')"
        ),
        format!("INSERT INTO organizations (id, name, slug) VALUES ('{o}', '{slug}', '{slug}')"),
        format!(
            "INSERT INTO organization_members (id, organization_id, user_id, role) VALUES ('{}', '{o}', '{u}', 'owner')",
            new_id()
        ),
        format!(
            "INSERT INTO projects (id, organization_id, created_by, name) VALUES ('{p}', '{o}', '{u}', 'p')"
        ),
        format!(
            "INSERT INTO requirements (organization_id, id, project_id, title) VALUES ('{o}', '{r}', '{p}', 'r')"
        ),
        format!(
            "INSERT INTO architectural_components (organization_id, id, project_id, name) VALUES ('{o}', '{}', '{p}', 'c')",
            new_id()
        ),
        format!(
            "INSERT INTO analyses (organization_id, id, project_id, type, title) VALUES ('{o}', '{}', '{p}', 'risk', 'a')",
            new_id()
        ),
        format!(
            "INSERT INTO tasks (organization_id, id, project_id, title) VALUES ('{o}', '{}', '{p}', 't')",
            new_id()
        ),
        format!(
            "INSERT INTO collaboration_sessions (organization_id, id, project_id, created_by, title) VALUES ('{o}', '{s}', '{p}', '{u}', 's')"
        ),
        format!(
            "INSERT INTO session_participants (organization_id, id, session_id, user_id) VALUES ('{o}', '{}', '{s}', '{u}')",
            new_id()
        ),
        format!(
            "INSERT INTO approvals (organization_id, id, project_id, requested_by, title, target_id) VALUES ('{o}', '{a}', '{p}', '{u}', 'a', '{p}')"
        ),
        format!(
            "INSERT INTO approval_participants (organization_id, id, approval_id, user_id) VALUES ('{o}', '{}', '{a}', '{u}')",
            new_id()
        ),
        format!(
            "INSERT INTO comments (organization_id, id, target_type, target_id, author_id, content) VALUES ('{o}', '{}', 'project', '{p}', '{u}', 'hi')",
            new_id()
        ),
        format!(
            "INSERT INTO notifications (organization_id, id, user_id, type, title) VALUES ('{o}', '{}', '{u}', 'mention', 'n')",
            new_id()
        ),
        format!(
            "INSERT INTO audit_log (organization_id, id, table_name, record_id, operation, user_id, seq) VALUES ('{o}', '{}', 'projects', '{p}', 'INSERT', '{u}', 1000)",
            new_id()
        ),
    ];
    for sql in statements {
        exec(db, &sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    (o, u, p, r)
}

/// Runs `statements` in one transaction as the application role acting for `user` in
/// `organization` (either may be unset), returning the first column of the last one.
async fn as_app(
    db: &DatabaseConnection,
    user: Option<&str>,
    organization: Option<&str>,
    statements: &[String],
) -> Result<Vec<String>, sea_orm::DbErr> {
    let txn = db.begin().await?;
    txn.execute_unprepared("SET LOCAL ROLE bduf_app").await?;
    if let Some(user) = user {
        txn.execute_unprepared(&format!("SELECT set_config('app.user_id', '{user}', true)"))
            .await?;
    }
    if let Some(org) = organization {
        txn.execute_unprepared(&format!(
            "SELECT set_config('app.organization_id', '{org}', true)"
        ))
        .await?;
    }
    let mut last = Vec::new();
    for sql in statements {
        let rows = txn
            .query_all_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                sql.clone(),
            ))
            .await?;
        last = rows
            .iter()
            .map(|row| row.try_get_by_index::<String>(0).unwrap_or_default())
            .collect();
    }
    txn.commit().await?;
    Ok(last)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_application_role_sees_and_writes_only_its_organization() {
    let db = TestDb::migrated::<Migrator>(Backend::Postgres).await;
    let conn = db.conn();
    let (a, alice, _, a_req) = tenant(conn, "a").await;
    let (b, bob, b_project, b_req) = tenant(conn, "b").await;

    // Every tenant table is forced, and shows A's rows only — no WHERE of ours
    // (`organization_members` is not: authentication reads it as the owner, step 15;
    // nor `audit_log`: the audit triggers write it as the owner, step 17).
    let forced = strings(
        conn,
        "SELECT relname::text FROM pg_class WHERE relnamespace = 'public'::regnamespace \
         AND relkind = 'r' AND relrowsecurity AND relforcerowsecurity ORDER BY 1",
    )
    .await
    .expect("listing forced tables");
    // `projects` and the tables step 11 gave the key: every table whose rows belong to
    // one organization.
    for table in std::iter::once("projects").chain(migration::TENANT_TABLES) {
        assert_eq!(
            forced.contains(&table.to_owned()),
            table != "audit_log",
            "{table}: forced?"
        );
        let seen = as_app(
            conn,
            Some(&alice),
            Some(&a),
            &[format!("SELECT organization_id::text FROM {table}")],
        )
        .await
        .expect(table);
        // One row each, and the audit trail's entries of A's rows.
        assert!(
            !seen.is_empty() && seen.iter().all(|org| org == &a),
            "{table} as A: {seen:?}"
        );
        let unset = as_app(
            conn,
            Some(&alice),
            None,
            &[format!("SELECT id::text FROM {table}")],
        )
        .await
        .expect(table);
        assert!(unset.is_empty(), "{table} without a tenant shows {unset:?}");
        let empty = as_app(
            conn,
            Some(&alice),
            Some(""),
            &[format!("SELECT id::text FROM {table}")],
        )
        .await
        .expect(table);
        assert!(
            empty.is_empty(),
            "{table} with an empty tenant shows {empty:?}"
        );
    }

    // Writing B's rows as A touches nothing, and claiming B's organization is refused.
    let updated = as_app(
        conn,
        Some(&alice),
        Some(&a),
        &[format!(
            "WITH u AS (UPDATE requirements SET title = 'stolen' WHERE id IN ('{a_req}', '{b_req}') \
             RETURNING id) SELECT count(*)::text FROM u"
        )],
    )
    .await
    .expect("update");
    assert_eq!(updated, ["1"], "only A's requirement is updated");
    let deleted = as_app(
        conn,
        Some(&alice),
        Some(&a),
        &[format!(
            "WITH d AS (DELETE FROM projects WHERE id = '{b_project}' RETURNING id) \
             SELECT count(*)::text FROM d"
        )],
    )
    .await
    .expect("delete");
    assert_eq!(deleted, ["0"]);
    let claimed = as_app(
        conn,
        Some(&alice),
        Some(&a),
        &[format!(
            "INSERT INTO requirements (organization_id, id, project_id, title) \
             VALUES ('{b}', '{}', '{b_project}', 'planted')",
            new_id()
        )],
    )
    .await;
    let err = claimed.expect_err("a row of B written as A").to_string();
    assert!(err.contains("row-level security"), "{err}");
    // A row of A's under B's project: the composite key refuses it.
    let mixed = as_app(
        conn,
        Some(&alice),
        Some(&a),
        &[format!(
            "INSERT INTO requirements (organization_id, id, project_id, title) \
             VALUES ('{a}', '{}', '{b_project}', 'planted')",
            new_id()
        )],
    )
    .await;
    let err = mixed.expect_err("a row of A under B's project").to_string();
    assert!(err.contains("foreign key"), "{err}");

    // Identity: A's user sees A's organization and members, not Bob or B.
    let orgs = as_app(
        conn,
        Some(&alice),
        Some(&a),
        &["SELECT id::text FROM organizations".to_owned()],
    )
    .await
    .expect("organizations");
    assert_eq!(orgs, std::slice::from_ref(&a));
    let users = as_app(
        conn,
        Some(&alice),
        Some(&a),
        &["SELECT id::text FROM users".to_owned()],
    )
    .await
    .expect("users");
    assert_eq!(users, std::slice::from_ref(&alice));
    let members = as_app(
        conn,
        Some(&alice),
        Some(&a),
        &[format!(
            "SELECT user_id::text FROM organization_members WHERE user_id = '{bob}'"
        )],
    )
    .await
    .expect("members");
    assert!(members.is_empty());

    // A notification is its recipient's: Alice does not see one for Bob in A, though
    // she may notify him.
    exec(
        conn,
        &format!(
            "INSERT INTO notifications (organization_id, id, user_id, type, title) \
             VALUES ('{a}', '{}', '{bob}', 'mention', 'for bob')",
            new_id()
        ),
    )
    .await
    .expect("a notification for Bob");
    let seen = as_app(
        conn,
        Some(&alice),
        Some(&a),
        &["SELECT title FROM notifications".to_owned()],
    )
    .await
    .expect("notifications");
    assert_eq!(seen, ["n"], "only Alice's own notification");
    let notified = as_app(
        conn,
        Some(&alice),
        Some(&a),
        &[
            format!(
                "INSERT INTO notifications (organization_id, id, user_id, type, title) \
                 VALUES ('{a}', '{}', '{bob}', 'mention', 'from alice')",
                new_id()
            ),
            format!(
                "WITH u AS (UPDATE notifications SET is_read = true WHERE user_id = '{bob}' \
                 RETURNING id) SELECT count(*)::text FROM u"
            ),
        ],
    )
    .await
    .expect("notifying Bob");
    assert_eq!(
        notified,
        ["0"],
        "Alice cannot mark Bob's notifications read"
    );

    // Idempotency keys are each user's own: Alice sees and writes only hers.
    for (user, org, key) in [(&alice, &a, "alice-key"), (&bob, &b, "bob-key")] {
        exec(
            conn,
            &format!(
                "INSERT INTO idempotency_keys (id, user_id, organization_id, key, fingerprint) \
                 VALUES ('{}', '{user}', '{org}', '{key}', 'f')",
                new_id()
            ),
        )
        .await
        .expect("a key");
    }
    assert!(forced.contains(&"idempotency_keys".to_owned()));
    let keys = as_app(
        conn,
        Some(&alice),
        Some(&a),
        &["SELECT key FROM idempotency_keys".to_owned()],
    )
    .await
    .expect("keys");
    assert_eq!(keys, ["alice-key"]);
    let planted = as_app(
        conn,
        Some(&alice),
        Some(&a),
        &[format!(
            "INSERT INTO idempotency_keys (id, user_id, key, fingerprint) \
             VALUES ('{}', '{bob}', 'planted', 'f')",
            new_id()
        )],
    )
    .await;
    let err = planted
        .expect_err("a key of Bob written as Alice")
        .to_string();
    assert!(err.contains("row-level security"), "{err}");
    let keyless = as_app(
        conn,
        None,
        Some(&a),
        &["SELECT key FROM idempotency_keys".to_owned()],
    )
    .await
    .expect("keys without a user");
    assert!(keyless.is_empty(), "{keyless:?}");

    // Nothing of B changed.
    let titles = strings(
        conn,
        &format!("SELECT title FROM requirements WHERE id = '{b_req}'"),
    )
    .await
    .expect("B's requirement");
    assert_eq!(titles, ["r"]);
    assert_eq!(count(conn, "requirements").await, 2);
    assert_eq!(count(conn, "projects").await, 2);
}

/// A server connecting as the tables' owner — not a superuser — authenticates before it
/// acts for anyone: it reads a user's memberships without `app.user_id` (step 15), and
/// still reads no tenant rows (forced RLS binds the owner).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_that_is_no_superuser_reads_memberships_and_no_tenant_rows() {
    let db = TestDb::migrated::<Migrator>(Backend::Postgres).await;
    let conn = db.conn();
    let (_, alice, _, _) = tenant(conn, "a").await;
    let owner = format!("bduf_owner_{}", new_id().replace('-', ""));
    let tables = strings(
        conn,
        "SELECT relname::text FROM pg_class WHERE relnamespace = 'public'::regnamespace \
         AND relkind = 'r' ORDER BY 1",
    )
    .await
    .expect("tables");
    exec(
        conn,
        &format!("CREATE ROLE {owner} NOSUPERUSER NOBYPASSRLS"),
    )
    .await
    .expect("an owner role");
    for table in &tables {
        exec(conn, &format!("ALTER TABLE {table} OWNER TO {owner}"))
            .await
            .expect("ownership");
    }
    let as_owner = |sql: String| {
        let owner = owner.clone();
        async move {
            let txn = conn.begin().await.expect("a transaction");
            txn.execute_unprepared(&format!("SET LOCAL ROLE {owner}"))
                .await
                .expect("the owner role");
            let rows = txn
                .query_all_raw(sea_orm::Statement::from_string(
                    sea_orm::DbBackend::Postgres,
                    sql,
                ))
                .await
                .expect("a query");
            txn.rollback().await.expect("rollback");
            rows.len()
        }
    };
    let memberships = as_owner(format!(
        "SELECT organization_id FROM organization_members WHERE user_id = '{alice}'"
    ))
    .await;
    assert_eq!(memberships, 1, "the owner reads the user's memberships");
    assert_eq!(as_owner("SELECT id FROM projects".to_owned()).await, 0);
    assert_eq!(as_owner("SELECT id FROM organizations".to_owned()).await, 0);
    // Ownership goes back, so the database drops as it was made.
    for table in &tables {
        exec(conn, &format!("ALTER TABLE {table} OWNER TO CURRENT_USER"))
            .await
            .expect("ownership back");
    }
    exec(conn, &format!("DROP ROLE {owner}"))
        .await
        .expect("drop the role");
}
