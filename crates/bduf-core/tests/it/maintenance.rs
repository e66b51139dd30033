//! `bduf_core::maintenance` on both backends at the sizes a busy database reaches: more
//! than [`BATCH`] rows of each sweep, so every sweep loops; what ended is removed, what
//! is live or recent stays, the archive holds exactly the audit rows deleted, and a
//! second run removes nothing. On PostgreSQL also as an owner bound by forced row-level
//! security (no superuser, no `BYPASSRLS`), which sweeps scope by scope.

use std::collections::BTreeSet;
use std::time::Duration;

use bduf_core::maintenance::{
    self as m, Archived, BATCH, IDEMPOTENCY_KEY_AGE, Reach, SIGN_IN_FAILURE_AGE,
};
use bduf_core::now;
use bduf_fixture::{CollaborationRole as Role, Fixture, insert_all};
use bduf_testkit::{Backend, TestDb, on_both_backends};
use chrono::{DateTime, FixedOffset};
use entity::{audit_log, idempotency_keys, notifications, sign_in_failures, user_sessions};
use migration::Migrator;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{
    ColumnTrait, ConnectionTrait, Database, DatabaseConnection, DbBackend, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder,
};
use serde_json::json;
use uuid::Uuid;

on_both_backends!(sweeps_remove_what_ended_keep_the_rest_and_a_second_run_nothing);

/// Rows past their cutoff of each kind, beyond one batch.
const MANY: usize = BATCH as usize + 1_000;

/// The session grace, notification age and audit retention of these tests.
const GRACE: Duration = Duration::from_secs(7 * 24 * 3600);
const NOTIFICATION_AGE: Duration = Duration::from_secs(30 * 24 * 3600);
const RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);

fn ago(d: Duration) -> DateTime<FixedOffset> {
    now() - chrono::Duration::from_std(d).expect("a duration")
}

fn hours(n: u64) -> Duration {
    Duration::from_secs(n * 3600)
}

fn days(n: u64) -> Duration {
    hours(n * 24)
}

/// What the tests wrote: two organizations, three members, and the ids of what must stay.
struct World {
    orgs: [Uuid; 2],
    users: [Uuid; 3],
    kept_sessions: BTreeSet<Uuid>,
    kept_keys: BTreeSet<Uuid>,
    kept_notifications: BTreeSet<Uuid>,
    kept_failures: BTreeSet<String>,
}

/// Writes the world: of each table `swept` rows past their cutoff (in several scopes) and
/// rows on every side of it that must stay.
async fn world(conn: &DatabaseConnection, swept: usize) -> World {
    let mut f = Fixture::new(conn);
    let orgs = [f.organization(|_| {}), f.organization(|_| {})];
    let a = f.user(|_| {});
    let b = f.user(|_| {});
    let c = f.user(|_| {});
    f.member(orgs[0], a, Role::Owner, |_| {});
    f.member(orgs[0], b, Role::Contributor, |_| {});
    f.member(orgs[1], b, Role::Owner, |_| {});
    f.member(orgs[1], c, Role::Owner, |_| {});
    // Notifications: read long ago (most to `a` in the first organization, some to `b`
    // in the second), read with no `read_at` but old; kept: unread however old, read
    // recently.
    let mut kept_notifications = BTreeSet::new();
    let notice = |f: &mut Fixture<'_, DatabaseConnection>,
                  org: Uuid,
                  user: Uuid,
                  read: Option<Option<DateTime<FixedOffset>>>,
                  created: DateTime<FixedOffset>| {
        f.notification(org, user, "mention", "You were mentioned", |n| {
            n.created_at = Set(Some(created));
            if let Some(read_at) = read {
                n.is_read = Set(Some(true));
                n.read_at = Set(read_at);
            }
        })
    };
    for i in 0..swept {
        let (org, user) = if i % 10 == 0 {
            (orgs[1], b)
        } else {
            (orgs[0], a)
        };
        notice(&mut f, org, user, Some(Some(ago(days(40)))), ago(days(41)));
    }
    for _ in 0..20 {
        notice(&mut f, orgs[0], b, Some(None), ago(days(60)));
    }
    for _ in 0..30 {
        kept_notifications.insert(notice(&mut f, orgs[0], a, None, ago(days(400))));
        kept_notifications.insert(notice(
            &mut f,
            orgs[1],
            c,
            Some(Some(ago(days(2)))),
            ago(days(41)),
        ));
    }
    f.insert().await.expect("the fixture");

    // Sessions: expired or revoked before the grace; kept: live, and ended within it.
    let session =
        |user: Uuid, expires: DateTime<FixedOffset>, revoked: Option<DateTime<FixedOffset>>| {
            let id = Uuid::now_v7();
            (
                id,
                user_sessions::ActiveModel {
                    id: Set(id),
                    user_id: Set(user),
                    token_hash: Set(format!("{:0>64}", id.simple())),
                    created_at: NotSet,
                    expires_at: Set(expires),
                    last_used_at: Set(None),
                    revoked_at: Set(revoked),
                    user_agent: Set(Some("test".to_owned())),
                    ip_address: Set(None),
                },
            )
        };
    let later = now() + chrono::Duration::days(20);
    let mut sessions = Vec::new();
    let mut kept_sessions = BTreeSet::new();
    for i in 0..swept {
        let user = [a, b, c][i % 3];
        sessions.push(session(user, ago(days(8)), None).1);
    }
    for _ in 0..50 {
        sessions.push(session(a, later, Some(ago(days(10)))).1);
        for (id, row) in [
            session(a, later, None),
            session(b, ago(hours(2)), None),
            session(c, later, Some(ago(hours(2)))),
        ] {
            kept_sessions.insert(id);
            sessions.push(row);
        }
    }
    insert_all(conn, sessions).await.expect("sessions");

    // Idempotency keys: older than a day (of two users); kept: younger.
    let key = |user: Uuid, n: usize, created: DateTime<FixedOffset>| {
        let id = Uuid::now_v7();
        (
            id,
            idempotency_keys::ActiveModel {
                id: Set(id),
                user_id: Set(user),
                organization_id: Set(None),
                key: Set(format!("key-{n}")),
                fingerprint: Set("0".repeat(64)),
                response: Set(Some(json!({"data": {"ok": n}}))),
                created_at: Set(created),
            },
        )
    };
    let mut keys = Vec::new();
    let mut kept_keys = BTreeSet::new();
    for n in 0..swept {
        let user = if n % 10 == 0 { c } else { a };
        keys.push(key(user, n, ago(hours(25))).1);
    }
    for n in 0..40 {
        let (id, row) = key(b, n, ago(hours(23)));
        kept_keys.insert(id);
        keys.push(row);
    }
    insert_all(conn, keys).await.expect("idempotency keys");

    // Sign-in failures: windows long past; kept: windows that are not.
    let failure = |k: String, first: DateTime<FixedOffset>| sign_in_failures::ActiveModel {
        key: Set(k),
        failures: Set(3),
        first_failed_at: Set(first),
        last_failed_at: Set(first),
    };
    let mut failures = Vec::new();
    let mut kept_failures = BTreeSet::new();
    for n in 0..swept {
        failures.push(failure(
            format!("ip:10.0.{}.{}", n / 250, n % 250),
            ago(hours(2)),
        ));
    }
    for n in 0..25 {
        let k = format!("email:user{n}@example.com");
        kept_failures.insert(k.clone());
        failures.push(failure(k, ago(Duration::from_secs(60))));
    }
    insert_all(conn, failures).await.expect("sign-in failures");

    World {
        orgs,
        users: [a, b, c],
        kept_sessions,
        kept_keys,
        kept_notifications,
        kept_failures,
    }
}

/// Writes `n` audit rows of `org` created `age` ago, numbered after the organization's
/// last change (as the triggers number them), with a value in every column.
#[allow(clippy::useless_conversion)]
async fn old_audit_rows(conn: &DatabaseConnection, org: Uuid, n: usize, age: Duration) {
    let last: i64 = audit_log::Entity::find()
        .filter(audit_log::Column::OrganizationId.eq(org))
        .order_by_desc(audit_log::Column::Seq)
        .one(conn)
        .await
        .expect("the last change")
        .map_or(0, |row| row.seq);
    let created = ago(age);
    let rows: Vec<audit_log::ActiveModel> = (1..=n as i64)
        .map(|i| audit_log::ActiveModel {
            id: Set(Uuid::new_v4()),
            table_name: Set("tasks".to_owned()),
            record_id: Set(Uuid::new_v4()),
            operation: Set("UPDATE".to_owned()),
            user_id: Set(None),
            session_id: Set(None),
            old_values: Set(Some(json!({"title": format!("old {i}")}))),
            new_values: Set(Some(json!({"title": format!("new {i}"), "n": i}))),
            changed_fields: Set(Some(json!(["title"]))),
            change_reason: Set(Some("renamed".to_owned())),
            client_ip: Set(Some("192.0.2.7".parse().expect("an address"))),
            user_agent: Set(Some("curl/8".to_owned())),
            // `.into()`: NOT NULL once `audit_log` is partitioned (step 21), optional before.
            created_at: Set((created + chrono::Duration::seconds(i)).into()),
            organization_id: Set(org),
            seq: Set(last + i),
            request_id: Set(Some(Uuid::new_v4())),
            source: Set("api".to_owned()),
        })
        .collect();
    insert_all(conn, rows).await.expect("old audit rows");
    // The feed's counter goes on after them, as after any change.
    let backend = conn.get_database_backend();
    conn.execute_raw(sea_orm::Statement::from_sql_and_values(
        backend,
        match backend {
            DbBackend::Postgres => {
                "UPDATE audit_feed SET last_seq = last_seq + $1 WHERE organization_id = $2"
            }
            _ => "UPDATE audit_feed SET last_seq = last_seq + ? WHERE organization_id = ?",
        },
        [(n as i64).into(), org.into()],
    ))
    .await
    .expect("the feed's counter");
}

async fn ids<E, K>(conn: &DatabaseConnection, key: E::Column) -> BTreeSet<K>
where
    E: EntityTrait,
    K: sea_orm::TryGetable + Ord,
{
    use sea_orm::QuerySelect;
    E::find()
        .select_only()
        .column(key)
        .into_tuple::<K>()
        .all(conn)
        .await
        .expect("the keys")
        .into_iter()
        .collect()
}

/// Every sweep, as `bduf maintenance` runs them.
async fn run(conn: &DatabaseConnection, dir: &std::path::Path) -> ([u64; 4], Archived) {
    let reach = m::reach(conn).await.expect("the reach");
    let counts = [
        m::sweep_sessions(conn, ago(GRACE)).await.expect("sessions"),
        m::sweep_idempotency_keys(conn, ago(IDEMPOTENCY_KEY_AGE), reach)
            .await
            .expect("idempotency keys"),
        m::sweep_sign_in_failures(conn, ago(SIGN_IN_FAILURE_AGE))
            .await
            .expect("sign-in failures"),
        m::sweep_read_notifications(conn, ago(NOTIFICATION_AGE), reach)
            .await
            .expect("notifications"),
    ];
    let archived = m::archive_audit(conn, ago(RETENTION), dir)
        .await
        .expect("the audit archive");
    (counts, archived)
}

/// The rows of an archive file.
fn archive_rows(file: &std::path::Path) -> Vec<audit_log::Model> {
    std::fs::read_to_string(file)
        .expect("the archive file")
        .lines()
        .map(|line| serde_json::from_str(line).expect("an audit row per line"))
        .collect()
}

/// Everything ended goes and everything live stays, in loops of batches; the archive
/// holds exactly the audit rows deleted, each with every column; a second run changes
/// nothing and writes no file.
async fn sweeps_remove_what_ended_keep_the_rest_and_a_second_run_nothing(backend: Backend) {
    let db = TestDb::migrated::<Migrator>(backend).await;
    let conn = db.conn();
    let w = world(conn, MANY).await;
    old_audit_rows(conn, w.orgs[0], MANY, days(100)).await;
    old_audit_rows(conn, w.orgs[1], 30, days(91)).await;
    let cutoff = ago(RETENTION);
    let audit = |old: bool| async move {
        let column = audit_log::Column::CreatedAt;
        audit_log::Entity::find()
            .filter(if old {
                column.lt(cutoff)
            } else {
                column.gte(cutoff)
            })
            .order_by_asc(audit_log::Column::Id)
            .all(conn)
            .await
            .expect("the audit rows")
    };
    let (old, recent) = (audit(true).await, audit(false).await);
    assert_eq!(old.len(), MANY + 30);
    assert!(!recent.is_empty(), "the fixture's changes are recorded");

    let dir = tempfile::tempdir().expect("an archive folder");
    assert_eq!(m::reach(conn).await.expect("the reach"), Reach::Everything);
    let (counts, archived) = run(conn, dir.path()).await;
    assert_eq!(
        counts,
        [MANY as u64 + 50, MANY as u64, MANY as u64, MANY as u64 + 20]
    );
    assert_eq!(archived.rows, old.len() as u64);

    assert_eq!(
        ids::<user_sessions::Entity, Uuid>(conn, user_sessions::Column::Id).await,
        w.kept_sessions
    );
    assert_eq!(
        ids::<idempotency_keys::Entity, Uuid>(conn, idempotency_keys::Column::Id).await,
        w.kept_keys
    );
    assert_eq!(
        ids::<sign_in_failures::Entity, String>(conn, sign_in_failures::Column::Key).await,
        w.kept_failures
    );
    assert_eq!(
        ids::<notifications::Entity, Uuid>(conn, notifications::Column::Id).await,
        w.kept_notifications
    );

    // The archive is exactly the old rows, every column as it was; the recent rows stay.
    let file = archived.file.expect("an archive file");
    let mut written = archive_rows(&file);
    written.sort_by_key(|row| row.id);
    assert_eq!(written, old);
    let kept = ids::<audit_log::Entity, Uuid>(conn, audit_log::Column::Id).await;
    assert!(old.iter().all(|row| !kept.contains(&row.id)));
    assert!(recent.iter().all(|row| kept.contains(&row.id)));
    // Archival leaves the feed's numbering alone: the next change takes the next number.
    let feed_last = |org: Uuid| async move {
        audit_log::Entity::find()
            .filter(audit_log::Column::OrganizationId.eq(org))
            .order_by_desc(audit_log::Column::Seq)
            .one(conn)
            .await
            .expect("the feed")
            .map(|row| row.seq)
    };
    let before = feed_last(w.orgs[1]).await.expect("a change");
    let mut f = Fixture::new(conn);
    f.project(w.orgs[1], w.users[2], "After archival", |_| {});
    f.insert().await.expect("a change after archival");
    assert_eq!(feed_last(w.orgs[1]).await, Some(before + 1));

    // A second run finds nothing, deletes nothing and writes no file.
    let audit_rows = audit_log::Entity::find().count(conn).await.expect("count");
    let (counts, archived) = run(conn, dir.path()).await;
    assert_eq!(counts, [0, 0, 0, 0]);
    assert_eq!(archived, Archived::default());
    assert_eq!(
        audit_log::Entity::find().count(conn).await.expect("count"),
        audit_rows
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("the folder").count(),
        1
    );
}

/// An owner that is neither a superuser nor `BYPASSRLS` is bound by the forced policies of
/// `idempotency_keys` and `notifications`: it sweeps them user by user and membership by
/// membership, with the same result; the unforced tables in one walk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_bound_by_row_level_security_sweeps_scope_by_scope() {
    let db = TestDb::migrated::<Migrator>(Backend::Postgres).await;
    let conn = db.conn();
    let w = world(conn, 300).await;
    old_audit_rows(conn, w.orgs[0], 40, days(100)).await;

    let owner = format!("bduf_owner_{}", Uuid::new_v4().simple());
    let tables: Vec<String> = conn
        .query_all_raw(sea_orm::Statement::from_string(
            DbBackend::Postgres,
            "SELECT relname::text FROM pg_class WHERE relnamespace = 'public'::regnamespace \
             AND relkind IN ('r', 'p')",
        ))
        .await
        .expect("the tables")
        .iter()
        .map(|row| row.try_get_by_index(0).expect("a name"))
        .collect();
    let exec = |sql: String| async move {
        conn.execute_unprepared(&sql).await.expect(&sql);
    };
    exec(format!("CREATE ROLE {owner} LOGIN NOSUPERUSER NOBYPASSRLS")).await;
    for table in &tables {
        exec(format!("ALTER TABLE {table} OWNER TO {owner}")).await;
    }
    let url = db
        .url()
        .replacen("://postgres@", &format!("://{owner}@"), 1);
    assert_ne!(url, db.url(), "the test database's URL names its user");
    let as_owner = Database::connect(&url)
        .await
        .expect("connecting as the owner");

    let dir = tempfile::tempdir().expect("an archive folder");
    assert_eq!(m::reach(&as_owner).await.expect("the reach"), Reach::Scoped);
    let (counts, archived) = run(&as_owner, dir.path()).await;
    assert_eq!(counts, [350, 300, 300, 320]);
    assert_eq!(archived.rows, 40);
    assert_eq!(
        ids::<idempotency_keys::Entity, Uuid>(conn, idempotency_keys::Column::Id).await,
        w.kept_keys
    );
    assert_eq!(
        ids::<notifications::Entity, Uuid>(conn, notifications::Column::Id).await,
        w.kept_notifications
    );
    let (counts, archived) = run(&as_owner, dir.path()).await;
    assert_eq!((counts, archived), ([0, 0, 0, 0], Archived::default()));

    as_owner.close().await.ok();
    // Ownership goes back, so the database drops as it was made.
    for table in &tables {
        exec(format!("ALTER TABLE {table} OWNER TO CURRENT_USER")).await;
    }
    exec(format!("DROP ROLE {owner}")).await;
}

/// The months of a partitioned `audit_log` (PostgreSQL, migration step 21) that end by
/// the retention's cutoff are archived whole and their partitions dropped, several
/// batches' worth in one of them; the month the cutoff falls in loses only its rows
/// before the cutoff, and rows in the DEFAULT partition go row by row. The archive holds
/// exactly the rows that went; a second run finds nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn months_past_the_retention_are_archived_whole_and_dropped() {
    use chrono::{Datelike, Months, TimeZone, Utc};

    let db = TestDb::migrated::<Migrator>(Backend::Postgres).await;
    let conn = db.conn();
    let mut f = Fixture::new(conn);
    let org = f.organization(|_| {});
    f.insert().await.expect("an organization");

    let cutoff = ago(RETENTION).with_timezone(&Utc);
    let month = |back: u32| {
        Utc.with_ymd_and_hms(cutoff.year(), cutoff.month(), 1, 0, 0, 0)
            .single()
            .expect("a month's start")
            - Months::new(back)
    };
    let name = |start: DateTime<Utc>| start.format("audit_log_y%Ym%m").to_string();
    let exists = |table: String| async move {
        conn.query_one_raw(sea_orm::Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT to_regclass('{table}') IS NOT NULL AS present"),
        ))
        .await
        .expect("a lookup")
        .expect("a row")
        .try_get::<bool>("", "present")
        .expect("a flag")
    };
    // The three months before the cutoff's, and the cutoff's own; the sixth month back
    // has no partition, so its rows land in DEFAULT.
    for back in 0..=3 {
        let (from, to) = (month(back), month(back) + Months::new(1));
        if !exists(name(from)).await {
            conn.execute_unprepared(&format!(
                "CREATE TABLE {} PARTITION OF audit_log FOR VALUES FROM ('{}') TO ('{}')",
                name(from),
                from.to_rfc3339(),
                to.to_rfc3339()
            ))
            .await
            .expect("a month's partition");
        }
    }
    let age = |at: DateTime<Utc>| (Utc::now() - at).to_std().expect("a past instant");
    let full = [(3, BATCH as usize + 10), (2, 30), (1, 30)];
    for (back, n) in full {
        old_audit_rows(conn, org, n, age(month(back) + chrono::Duration::days(1))).await;
    }
    old_audit_rows(conn, org, 10, age(cutoff - chrono::Duration::hours(1))).await;
    old_audit_rows(conn, org, 10, age(cutoff + chrono::Duration::minutes(10))).await;
    old_audit_rows(conn, org, 15, age(month(6) + chrono::Duration::days(1))).await;
    let before: Vec<audit_log::Model> = audit_log::Entity::find()
        .filter(audit_log::Column::CreatedAt.lt(ago(RETENTION)))
        .order_by_asc(audit_log::Column::Id)
        .all(conn)
        .await
        .expect("the old rows");
    let expected = BATCH as usize + 10 + 30 + 30 + 10 + 15;
    assert_eq!(before.len(), expected);

    let dir = tempfile::tempdir().expect("an archive folder");
    let archived = m::archive_audit(conn, ago(RETENTION), dir.path())
        .await
        .expect("the archive");
    assert_eq!((archived.rows, archived.months), (expected as u64, 3));
    for back in 1..=3 {
        assert!(
            !exists(name(month(back))).await,
            "{} stays",
            name(month(back))
        );
    }
    assert!(
        exists(name(month(0))).await,
        "the cutoff's month was dropped"
    );
    assert!(exists("audit_log_default".to_owned()).await);
    let mut written = archive_rows(&archived.file.expect("an archive file"));
    written.sort_by_key(|row| row.id);
    assert_eq!(written, before, "the archive is exactly the old rows");
    let left = audit_log::Entity::find()
        .filter(audit_log::Column::OrganizationId.eq(org))
        .filter(audit_log::Column::TableName.eq("tasks"))
        .count(conn)
        .await
        .expect("count");
    assert_eq!(left, 10, "the rows after the cutoff stay");

    let again = m::archive_audit(conn, ago(RETENTION), dir.path())
        .await
        .expect("the second archive");
    assert_eq!(again, Archived::default());
}
