//! Identity's commands and authentication on their own, without GraphQL, on both
//! backends: a request authenticates in its own transaction and acts in an organization
//! its user belongs to; organizations and members follow their roles (only owners make
//! owners, the last owner stays); an account outside the organization is found by email
//! to be added — past row-level security on PostgreSQL — and nothing else of it shows.

use bduf_core::{Access, Db, Error, RequestTxn};
use bduf_fixture::act::{act, member};
use bduf_fixture::{CollaborationRole as Role, Fixture};
use bduf_identity::auth::{self, Client, MAX_FAILURES, SignIn, SignUpInput};
use bduf_identity::commands::{self as identity, CreateOrganizationInput};
use bduf_testkit::{Backend, TestDb, on_both_backends};
use entity::organization_members;
use migration::Migrator;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, Statement,
};
use uuid::Uuid;

mod maintenance;

on_both_backends!(
    a_session_authenticates_in_the_requests_transaction,
    members_follow_their_roles,
    sign_in_throttling_is_shared_by_every_server_and_survives_restarts,
);

/// Signs `email` up in a request of its own; returns the new session.
async fn sign_up(core: &Db, email: &str) -> auth::NewSession {
    let txn = RequestTxn::begin(core, Access::Write)
        .await
        .expect("a request");
    txn.enter(None).await.expect("nobody yet");
    let input = SignUpInput {
        email: email.to_owned(),
        username: email.split('@').next().unwrap_or("user").to_owned(),
        password: "correct horse".to_owned(),
        first_name: None,
        last_name: None,
    };
    let session = txn
        .savepoint(move |conn| {
            Box::pin(async move { auth::sign_up(conn, input, &Client::default()).await })
        })
        .await
        .expect("a sign-up");
    txn.commit().await.expect("commit");
    session
}

/// On PostgreSQL the statement that authenticates also makes the rest of the
/// transaction act for the user — the role `bduf_app`, `app.user_id`, generic plans
/// (`bduf_core::txn::PLAN_CACHE_MODE`) — and none of it outlives the transaction on the
/// pooled connection.
async fn acting_for_her_is_transaction_local(core: &Db, ada: &auth::NewSession) {
    let settings = "SELECT current_user::text AS role, \
                    current_setting('app.user_id', true) AS user_id, \
                    current_setting('plan_cache_mode') AS plans";
    let read = |row: sea_orm::QueryResult| -> (String, Option<String>, String) {
        (
            row.try_get("", "role").expect("role"),
            row.try_get("", "user_id").expect("user"),
            row.try_get("", "plans").expect("plans"),
        )
    };
    let statement = || Statement::from_string(DbBackend::Postgres, settings);
    let txn = RequestTxn::begin(core, Access::Read)
        .await
        .expect("a request");
    auth::authenticate(&txn, &ada.token, None)
        .await
        .expect("a viewer");
    let inside = txn
        .conn()
        .query_one_raw(statement())
        .await
        .expect("the settings")
        .expect("a row");
    assert_eq!(
        read(inside),
        (
            "bduf_app".to_owned(),
            Some(ada.user.id.to_string()),
            bduf_core::txn::PLAN_CACHE_MODE.to_owned()
        )
    );
    txn.commit().await.expect("commit");
    // Every connection of the pool (the test's pool holds a few) is back to its own.
    for _ in 0..4 {
        let (role, user, plans) = read(
            core.conn()
                .query_one_raw(statement())
                .await
                .expect("the settings")
                .expect("a row"),
        );
        assert_ne!(role, "bduf_app");
        assert!(user.unwrap_or_default().is_empty(), "no user is left set");
        assert_eq!(plans, "auto");
    }
}

/// Authenticates `token` in a request of its own, asking for `organization`.
async fn authenticate(
    core: &Db,
    token: &str,
    organization: Option<Uuid>,
) -> Result<bduf_core::Viewer, Error> {
    let txn = RequestTxn::begin(core, Access::Read).await?;
    let viewer = auth::authenticate(&txn, token, organization).await;
    txn.commit().await?;
    viewer
}

async fn a_session_authenticates_in_the_requests_transaction(backend: Backend) {
    let db = TestDb::migrated::<Migrator>(backend).await;
    let core = Db::counting(db.connect_again().await);
    let ada = sign_up(&core, "ada@northwind.example").await;
    // Signed up, a member of nothing yet.
    let viewer = authenticate(&core, &ada.token, None)
        .await
        .expect("a viewer");
    assert_eq!((viewer.user, viewer.organization), (ada.user.id, None));
    if backend == Backend::Postgres {
        acting_for_her_is_transaction_local(&core, &ada).await;
    }
    // Creating an organization makes her its owner, and the rest of the request acts in
    // it (the next command finds the organization).
    let txn = RequestTxn::begin(&core, Access::Write)
        .await
        .expect("a request");
    txn.enter(Some(viewer.clone()))
        .await
        .expect("acting for Ada");
    let org = txn
        .command(|tx| {
            Box::pin(identity::create_organization(
                tx,
                CreateOrganizationInput {
                    name: "Northwind".to_owned(),
                    slug: "northwind".to_owned(),
                    description: None,
                },
            ))
        })
        .await
        .expect("an organization");
    assert_eq!(txn.scope().organization, Some(org.id));
    let renamed = txn
        .command(|tx| {
            Box::pin(identity::update_organization(
                tx,
                org.id,
                identity::UpdateOrganizationInput {
                    name: Some("Northwind Robotics".to_owned()),
                    description: None,
                },
            ))
        })
        .await
        .expect("renamed in the same request");
    assert_eq!(renamed.name, "Northwind Robotics");
    txn.commit().await.expect("commit");
    let viewer = authenticate(&core, &ada.token, None)
        .await
        .expect("a viewer");
    assert_eq!(viewer.organization, Some(org.id));
    assert_eq!(viewer.memberships, [(org.id, Role::Owner)]);
    // Asking for an organization she does not belong to is refused.
    let elsewhere = authenticate(&core, &ada.token, Some(Uuid::now_v7()))
        .await
        .expect_err("not a member");
    assert_eq!(elsewhere.code(), "FORBIDDEN");
    // Signed out, the token signs nobody in.
    act(&core, &viewer, |tx| Box::pin(auth::sign_out(tx, false)))
        .await
        .expect("signed out");
    let gone = authenticate(&core, &ada.token, None)
        .await
        .expect_err("revoked");
    assert_eq!(gone.code(), "UNAUTHENTICATED");
    let unknown = authenticate(&core, "bduf_nothing", None)
        .await
        .expect_err("unknown");
    assert_eq!(unknown.code(), "UNAUTHENTICATED");
}

async fn members_follow_their_roles(backend: Backend) {
    let db = TestDb::migrated::<Migrator>(backend).await;
    let core = Db::counting(db.connect_again().await);
    let mut f = Fixture::new(db.conn());
    let org = f.organization(|_| {});
    let [owner, admin, contributor] = f.members(org, [Role::Owner, Role::Admin, Role::Contributor]);
    // Someone outside the organization, and another organization of theirs.
    let outsider = f.user(|row| row.email = sea_orm::Set("vera@example.com".to_owned()));
    let theirs = f.organization(|_| {});
    f.member(theirs, outsider, Role::Owner, |_| {});
    f.insert().await.expect("the fixture");
    let as_admin = member(admin, org, Role::Admin);
    // A contributor adds nobody; an admin adds by email — the account is outside the
    // organization, so it is looked up past row-level security — but makes no owner.
    let refused = act(&core, &member(contributor, org, Role::Contributor), |tx| {
        Box::pin(async move { identity::add_member(tx, "vera@example.com", Role::Viewer).await })
    })
    .await
    .expect_err("a contributor adds no member");
    assert_eq!(refused.code(), "FORBIDDEN");
    let no_owner = act(&core, &as_admin, |tx| {
        Box::pin(async move { identity::add_member(tx, "vera@example.com", Role::Owner).await })
    })
    .await
    .expect_err("an admin makes no owner");
    assert_eq!(no_owner.code(), "FORBIDDEN");
    let added = act(&core, &as_admin, |tx| {
        Box::pin(async move { identity::add_member(tx, " Vera@Example.com ", Role::Viewer).await })
    })
    .await
    .expect("an admin adds a viewer, the email normalized");
    assert_eq!((added.user_id, added.organization_id), (outsider, org));
    let again = act(&core, &as_admin, |tx| {
        Box::pin(async move { identity::add_member(tx, "vera@example.com", Role::Viewer).await })
    })
    .await
    .expect_err("already a member");
    assert_eq!((again.code(), again.field()), ("CONFLICT", Some("email")));
    let nobody = act(&core, &as_admin, |tx| {
        Box::pin(async move { identity::add_member(tx, "nobody@example.com", Role::Viewer).await })
    })
    .await
    .expect_err("no such account");
    assert_eq!(nobody.code(), "NOT_FOUND");
    // The last owner stays an owner and cannot leave.
    let as_owner = member(owner, org, Role::Owner);
    let demoted = act(&core, &as_owner, |tx| {
        Box::pin(identity::update_member_role(tx, owner, Role::Admin))
    })
    .await
    .expect_err("the last owner");
    assert_eq!(demoted.field(), Some("role"));
    let left = act(&core, &as_owner, |tx| {
        Box::pin(identity::remove_member(tx, owner))
    })
    .await
    .expect_err("the last owner leaves not");
    assert_eq!(left.field(), Some("userId"));
    // Anyone leaves; an admin removes others.
    act(&core, &member(outsider, org, Role::Viewer), |tx| {
        Box::pin(identity::remove_member(tx, outsider))
    })
    .await
    .expect("Vera leaves");
    act(&core, &as_admin, |tx| {
        Box::pin(identity::remove_member(tx, contributor))
    })
    .await
    .expect("the admin removes the contributor");
    let members = organization_members::Entity::find()
        .filter(organization_members::Column::OrganizationId.eq(org))
        .count(db.conn())
        .await
        .expect("a count");
    assert_eq!(members, 2);
    // Vera's own organization is untouched, and not theirs to change from here.
    let not_active = act(&core, &as_owner, |tx| {
        Box::pin(identity::delete_organization(tx, theirs))
    })
    .await
    .expect_err("another organization");
    assert_eq!(not_active.code(), "NOT_FOUND");
}

/// Signs in as `email` in a request of its own on `core`, from `ip`.
async fn sign_in(core: &Db, email: &str, password: &str, ip: [u8; 4]) -> Result<SignIn, Error> {
    let txn = RequestTxn::begin(core, Access::Write).await?;
    txn.enter(None).await?;
    let (email, password) = (email.to_owned(), password.to_owned());
    let client = Client {
        user_agent: None,
        ip: Some(std::net::IpAddr::from(ip)),
    };
    let outcome = txn
        .savepoint(move |conn| {
            Box::pin(async move { auth::sign_in(conn, &email, password, &client).await })
        })
        .await;
    txn.commit().await?;
    outcome
}

async fn sign_in_throttling_is_shared_by_every_server_and_survives_restarts(backend: Backend) {
    let db = TestDb::migrated::<Migrator>(backend).await;
    // Two servers of one database.
    let [one, two] = [
        Db::counting(db.connect_again().await),
        Db::counting(db.connect_again().await),
    ];
    sign_up(&one, "ada@northwind.example").await;
    // Failures on either server count together.
    for i in 0..MAX_FAILURES {
        let server = if i % 2 == 0 { &one } else { &two };
        let answer = sign_in(
            server,
            "ada@northwind.example",
            "wrong password",
            [10, 0, 0, 1],
        )
        .await
        .expect("a refusal, not an error");
        assert!(matches!(answer, SignIn::Refused));
    }
    // Now even the right password is refused, on both, and on a server started afresh.
    let restarted = Db::counting(db.connect_again().await);
    for server in [&one, &two, &restarted] {
        let err = sign_in(
            server,
            "Ada@Northwind.example",
            "correct horse",
            [10, 0, 0, 2],
        )
        .await
        .expect_err("throttled");
        assert_eq!(err.code(), "THROTTLED", "{err}");
    }
    // Another email from the same address is not throttled yet (the address's limit is
    // higher), and its success forgives only itself.
    let grace = sign_up(&one, "grace@northwind.example").await;
    let signed = sign_in(
        &two,
        "grace@northwind.example",
        "correct horse",
        [10, 0, 0, 1],
    )
    .await
    .expect("a sign-in")
    .session()
    .expect("a session");
    assert_eq!(signed.user.id, grace.user.id);
    // The window passes: the email may try again, and its success forgives it.
    let rewind = match backend {
        Backend::Postgres => {
            "UPDATE sign_in_failures SET first_failed_at = first_failed_at - interval '16 minutes'"
        }
        Backend::Sqlite => {
            "UPDATE sign_in_failures SET first_failed_at = '2020-01-01T00:00:00+00:00'"
        }
    };
    ConnectionTrait::execute_unprepared(db.conn(), rewind)
        .await
        .expect("the window passes");
    let signed = sign_in(
        &restarted,
        "ada@northwind.example",
        "correct horse",
        [10, 0, 0, 3],
    )
    .await
    .expect("a sign-in")
    .session()
    .expect("a session after the window");
    assert_eq!(signed.user.email, "ada@northwind.example");
    let left = entity::sign_in_failures::Entity::find()
        .filter(entity::sign_in_failures::Column::Key.eq("email:ada@northwind.example"))
        .count(db.conn())
        .await
        .expect("a count");
    assert_eq!(left, 0, "a success forgives the email");
}
