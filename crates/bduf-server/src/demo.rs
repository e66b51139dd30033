//! `--demo`: a small, realistic organization — three projects with three- and four-level
//! requirement, component and task trees, analyses, approvals, a review session, a comment
//! thread, notifications and audit entries — so a newcomer's first query returns
//! something meaningful. Loaded in one transaction, and only into a database without
//! organizations.

use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Result;
use bduf_core::Db;
use chrono::{DateTime, FixedOffset, NaiveDate};
use entity::sea_orm_active_enums::{
    AnalysisType, ApprovalStatus, CollaborationRole, ProjectStatus, TaskStatus,
};
use entity::*;
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, Set,
    TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

/// A node of a title tree.
struct Tree {
    title: &'static str,
    children: Vec<Tree>,
}

fn t(title: &'static str, children: Vec<Tree>) -> Tree {
    Tree { title, children }
}

fn leaf(title: &'static str) -> Tree {
    t(title, Vec::new())
}

/// Loads the demo organization unless the database has organizations already.
pub async fn load(db: &Db) -> Result<()> {
    if organizations::Entity::find().count(db.conn()).await? > 0 {
        tracing::info!("demo data skipped: the database already has organizations");
        return Ok(());
    }
    let txn = db.conn().begin().await?;
    seed(&txn).await?;
    txn.commit().await?;
    tracing::info!("demo data loaded: organization `northwind`");
    Ok(())
}

fn day(month: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, month, d).unwrap_or_default()
}

/// The instant the demo takes as now: fixed, like its ids.
fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-11-20T12:00:00+00:00").unwrap_or_default()
}

/// The demo's ids: UUIDv7 at fixed instants one millisecond apart, counted from the
/// start of the load, so that the demo data — and every answer about it — is the same on
/// every load and on both backends.
fn new_id() -> Uuid {
    const EPOCH_MS: u64 = 1_793_523_600_000; // 2026-11-01T09:00:00Z
    let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    uuid::Builder::from_unix_timestamp_millis(EPOCH_MS + n, &[0; 10]).into_uuid()
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// The password of every demo account (`ada@northwind.example` owner,
/// `grace@…` admin, `linus@…` contributor, `margaret@…` viewer): documented in the
/// README, so never use `--demo` on a server others can reach.
pub const DEMO_PASSWORD: &str = "northwind-demo";

async fn seed(txn: &DatabaseTransaction) -> Result<()> {
    NEXT_ID.store(0, Ordering::Relaxed);
    let now = now();
    let people = [
        ("ada", "Ada", "Lovelace"),
        ("grace", "Grace", "Hopper"),
        ("linus", "Linus", "Torvalds"),
        ("margaret", "Margaret", "Hamilton"),
    ];
    let password_hash = bduf_graphql::auth::hash_password(DEMO_PASSWORD.to_owned()).await?;
    let mut users = Vec::new();
    for (name, first, last) in people {
        let user = users::ActiveModel {
            id: Set(new_id()),
            email: Set(format!("{name}@northwind.example")),
            username: Set(name.to_owned()),
            password_hash: Set(password_hash.clone()),
            first_name: Set(Some(first.to_owned())),
            last_name: Set(Some(last.to_owned())),
            timezone: Set(Some("Europe/London".to_owned())),
            last_login_at: Set(Some(now)),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        users.push(user.id);
    }
    let [ada, grace, linus, margaret] = [users[0], users[1], users[2], users[3]];
    let org = new_id();
    // Row-level security (which binds the table owner too) takes rows of the
    // organization the transaction acts in.
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        txn.execute_raw(bduf_core::txn::set_local(&[(
            "app.organization_id",
            org.to_string(),
        )]))
        .await?;
    }
    let org = organizations::ActiveModel {
        id: Set(org),
        name: Set("Northwind Robotics".to_owned()),
        slug: Set("northwind".to_owned()),
        description: Set(Some(
            "Autonomous warehouse robots and the software that runs them".to_owned(),
        )),
        ..Default::default()
    }
    .insert(txn)
    .await?
    .id;
    for (user, role) in [
        (ada, CollaborationRole::Owner),
        (grace, CollaborationRole::Admin),
        (linus, CollaborationRole::Contributor),
        (margaret, CollaborationRole::Viewer),
    ] {
        organization_members::ActiveModel {
            id: Set(new_id()),
            organization_id: Set(org),
            user_id: Set(user),
            role: Set(role),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }

    let picking = project(
        txn,
        org,
        ada,
        "Warehouse Picking Robot",
        ProjectStatus::Active,
        "robotics",
        8,
        1_250_000,
    )
    .await?;
    let portal = project(
        txn,
        org,
        grace,
        "Fleet Management Portal",
        ProjectStatus::Active,
        "web",
        5,
        320_000,
    )
    .await?;
    let battery = project(
        txn,
        org,
        ada,
        "Battery Analytics Pipeline",
        ProjectStatus::Draft,
        "data",
        6,
        180_000,
    )
    .await?;

    let nav = requirements(
        txn,
        org,
        picking,
        None,
        &t(
            "Navigate warehouse aisles autonomously",
            vec![
                t(
                    "Localize within 5 cm",
                    vec![t(
                        "Fuse lidar and wheel odometry",
                        vec![leaf("Calibrate lidar extrinsics")],
                    )],
                ),
                t(
                    "Avoid dynamic obstacles",
                    vec![leaf("Detect people within 3 m")],
                ),
            ],
        ),
        1,
    )
    .await?;
    requirements(
        txn,
        org,
        picking,
        None,
        &t(
            "Pick items from shelves",
            vec![
                leaf("Identify items by barcode"),
                t(
                    "Grasp items up to 5 kg",
                    vec![leaf("Choose a grasp from the item's shape")],
                ),
            ],
        ),
        2,
    )
    .await?;
    requirements(
        txn,
        org,
        picking,
        None,
        &leaf("Report status to the fleet manager"),
        3,
    )
    .await?;
    requirements(
        txn,
        org,
        portal,
        None,
        &t(
            "Show the live fleet on a map",
            vec![
                t(
                    "Update robot positions every second",
                    vec![leaf("Stream positions over WebSockets")],
                ),
                leaf("Filter robots by state"),
            ],
        ),
        1,
    )
    .await?;
    requirements(
        txn,
        org,
        portal,
        None,
        &t(
            "Dispatch missions",
            vec![leaf("Validate missions against the warehouse map")],
        ),
        2,
    )
    .await?;
    requirements(
        txn,
        org,
        battery,
        None,
        &t(
            "Predict battery end of life",
            vec![leaf("Ingest charge cycles nightly")],
        ),
        2,
    )
    .await?;

    components(
        txn,
        org,
        picking,
        None,
        &t(
            "Robot platform",
            vec![
                t(
                    "Navigation stack",
                    vec![leaf("Localization"), leaf("Path planner")],
                ),
                t("Manipulation", vec![leaf("Gripper controller")]),
            ],
        ),
    )
    .await?;
    components(txn, org, picking, None, &leaf("Fleet API gateway")).await?;
    components(
        txn,
        org,
        portal,
        None,
        &t("Web client", vec![leaf("Map view"), leaf("Mission editor")]),
    )
    .await?;
    components(txn, org, portal, None, &leaf("Fleet service")).await?;

    let work = [
        (
            "Build the navigation stack",
            None,
            TaskStatus::InProgress,
            0,
            0,
            None,
        ),
        (
            "Write the lidar driver",
            Some(0),
            TaskStatus::Done,
            40,
            100,
            Some(linus),
        ),
        (
            "Tune the particle filter",
            Some(0),
            TaskStatus::InProgress,
            60,
            50,
            Some(linus),
        ),
        (
            "Plan paths around people",
            Some(0),
            TaskStatus::Pending,
            80,
            0,
            Some(grace),
        ),
        (
            "Build the picking cell",
            None,
            TaskStatus::Pending,
            0,
            0,
            None,
        ),
        (
            "Integrate the gripper",
            Some(4),
            TaskStatus::Review,
            30,
            90,
            Some(margaret),
        ),
        (
            "Scan barcodes on the fly",
            Some(4),
            TaskStatus::Pending,
            20,
            0,
            Some(linus),
        ),
        (
            "Test the gripper with 5 kg loads",
            Some(5),
            TaskStatus::Pending,
            10,
            0,
            Some(margaret),
        ),
    ];
    let mut task_ids: Vec<Uuid> = Vec::new();
    for (i, (title, parent, status, hours, progress, assignee)) in work.into_iter().enumerate() {
        let month = 11 + u32::try_from(i % 2).unwrap_or(0);
        let id = tasks::ActiveModel {
            organization_id: Set(org),
            id: Set(new_id()),
            project_id: Set(picking),
            parent_id: Set(parent.map(|p: usize| task_ids[p])),
            title: Set(title.to_owned()),
            work_type: Set(Some(
                if i % 3 == 0 {
                    "engineering"
                } else {
                    "integration"
                }
                .to_owned(),
            )),
            priority: Set(Some(i32::try_from(1 + i % 5).unwrap_or(3))),
            estimated_hours: Set((hours > 0).then_some(hours)),
            status: Set(Some(status)),
            progress_percentage: Set(Some(progress)),
            assigned_to: Set(assignee),
            planned_start_date: Set(Some(day(month, 1 + u32::try_from(i).unwrap_or(0) * 2))),
            planned_end_date: Set(Some(day(month, 10 + u32::try_from(i).unwrap_or(0) * 2))),
            ..Default::default()
        }
        .insert(txn)
        .await?
        .id;
        task_ids.push(id);
    }
    for (title, status) in [
        ("Design the map view", TaskStatus::Done),
        ("Build the mission editor", TaskStatus::InProgress),
    ] {
        tasks::ActiveModel {
            organization_id: Set(org),
            id: Set(new_id()),
            project_id: Set(portal),
            title: Set(title.to_owned()),
            status: Set(Some(status)),
            estimated_hours: Set(Some(24)),
            progress_percentage: Set(Some(if status == TaskStatus::Done { 100 } else { 40 })),
            assigned_to: Set(Some(grace)),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }

    for (project, kind, title, confidence) in [
        (picking, AnalysisType::Risk, "Early risk review", 55),
        (
            picking,
            AnalysisType::Risk,
            "Risk review after the prototype",
            72,
        ),
        (
            picking,
            AnalysisType::Architecture,
            "Navigation architecture review",
            85,
        ),
        (
            picking,
            AnalysisType::Requirements,
            "Requirements completeness",
            90,
        ),
        (
            portal,
            AnalysisType::Technology,
            "Map rendering options",
            78,
        ),
    ] {
        analyses::ActiveModel {
            organization_id: Set(org),
            id: Set(new_id()),
            project_id: Set(project),
            r#type: Set(kind),
            title: Set(title.to_owned()),
            methodology: Set(Some("expert review".to_owned())),
            findings: Set(Some(json!({"summary": title}))),
            recommendations: Set(Some(json!([
                "prototype early",
                "measure in the real warehouse"
            ]))),
            confidence_score: Set(Some(Decimal::new(confidence, 2))),
            completeness_score: Set(Some(Decimal::new(80, 2))),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }

    let approved = approval(
        txn,
        org,
        picking,
        ada,
        "Approve the navigation requirements",
        nav,
        ApprovalStatus::Approved,
        Some(grace),
    )
    .await?;
    let pending = approval(
        txn,
        org,
        picking,
        linus,
        "Approve the gripper design",
        task_ids[5],
        ApprovalStatus::Pending,
        None,
    )
    .await?;
    for (approval_id, user, response) in [
        (approved, grace, Some(ApprovalStatus::Approved)),
        (pending, grace, None),
        (pending, ada, None),
    ] {
        approval_participants::ActiveModel {
            organization_id: Set(org),
            id: Set(new_id()),
            approval_id: Set(approval_id),
            user_id: Set(user),
            response: Set(response),
            responded_at: Set(response.map(|_| now)),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }

    let session = collaboration_sessions::ActiveModel {
        organization_id: Set(org),
        id: Set(new_id()),
        project_id: Set(picking),
        created_by: Set(grace),
        title: Set("Navigation design review".to_owned()),
        session_type: Set(Some("review".to_owned())),
        current_phase: Set(Some("discussion".to_owned())),
        ..Default::default()
    }
    .insert(txn)
    .await?
    .id;
    for (user, role) in [
        (grace, CollaborationRole::Owner),
        (linus, CollaborationRole::Contributor),
    ] {
        session_participants::ActiveModel {
            organization_id: Set(org),
            id: Set(new_id()),
            session_id: Set(session),
            user_id: Set(user),
            role: Set(Some(role)),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }

    let question = comment(
        txn,
        org,
        nav,
        linus,
        "Is 5 cm enough near the charging docks?",
        None,
    )
    .await?;
    let answer = comment(
        txn,
        org,
        nav,
        grace,
        "Docking uses the fiducials; 5 cm is for the aisles.",
        Some((question, question)),
    )
    .await?;
    comment(
        txn,
        org,
        nav,
        linus,
        "Then let's add a docking requirement.",
        Some((answer, question)),
    )
    .await?;

    notifications::ActiveModel {
        organization_id: Set(org),
        id: Set(new_id()),
        user_id: Set(linus),
        r#type: Set("assignment".to_owned()),
        title: Set("You were assigned \"Tune the particle filter\"".to_owned()),
        target_type: Set(Some("task".to_owned())),
        target_id: Set(Some(task_ids[2])),
        ..Default::default()
    }
    .insert(txn)
    .await?;

    audit_log::ActiveModel {
        organization_id: Set(org),
        id: Set(new_id()),
        table_name: Set("approvals".to_owned()),
        record_id: Set(approved),
        operation: Set("UPDATE".to_owned()),
        user_id: Set(Some(grace)),
        session_id: Set(Some(session)),
        old_values: Set(Some(json!({"status": "pending"}))),
        new_values: Set(Some(json!({"status": "approved"}))),
        changed_fields: Set(Some(json!(["status"]))),
        change_reason: Set(Some("design review passed".to_owned())),
        client_ip: Set(Some("192.0.2.10".parse()?)),
        user_agent: Set(Some("bduf-demo".to_owned())),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn project(
    txn: &DatabaseTransaction,
    org: Uuid,
    creator: Uuid,
    name: &str,
    status: ProjectStatus,
    kind: &str,
    complexity: i32,
    budget: i64,
) -> Result<Uuid> {
    Ok(projects::ActiveModel {
        id: Set(new_id()),
        organization_id: Set(org),
        created_by: Set(creator),
        name: Set(name.to_owned()),
        description: Set(Some(format!("{name}: planned with bduf"))),
        status: Set(Some(status)),
        project_type: Set(Some(kind.to_owned())),
        industry: Set(Some("logistics".to_owned())),
        complexity_score: Set(Some(complexity)),
        estimated_duration_weeks: Set(Some(complexity * 6)),
        estimated_budget: Set(Some(Decimal::new(budget * 100, 2))),
        technology_stack: Set(Some(json!(["rust", "postgresql"]))),
        ..Default::default()
    }
    .insert(txn)
    .await?
    .id)
}

/// Inserts a requirement tree; returns the root's id.
async fn requirements(
    txn: &DatabaseTransaction,
    org: Uuid,
    project: Uuid,
    parent: Option<Uuid>,
    tree: &Tree,
    priority: i32,
) -> Result<Uuid> {
    let mut stack = vec![(tree, parent, 0_i32)];
    let mut root = None;
    while let Some((node, parent, depth)) = stack.pop() {
        let id = requirements::ActiveModel {
            organization_id: Set(org),
            id: Set(new_id()),
            project_id: Set(project),
            parent_id: Set(parent),
            title: Set(node.title.to_owned()),
            priority: Set(Some((priority + depth).min(5))),
            category: Set(Some(
                if depth == 0 {
                    "capability"
                } else {
                    "functional"
                }
                .to_owned(),
            )),
            is_validated: Set(Some(depth < 2)),
            acceptance_criteria: Set(Some(json!([format!(
                "{} is demonstrated on site",
                node.title
            )]))),
            ..Default::default()
        }
        .insert(txn)
        .await?
        .id;
        root.get_or_insert(id);
        stack.extend(node.children.iter().rev().map(|c| (c, Some(id), depth + 1)));
    }
    Ok(root.unwrap_or_default())
}

/// Inserts a component tree.
async fn components(
    txn: &DatabaseTransaction,
    org: Uuid,
    project: Uuid,
    parent: Option<Uuid>,
    tree: &Tree,
) -> Result<()> {
    let mut stack = vec![(tree, parent, 0_usize)];
    let statuses = ["implemented", "in_progress", "planned"];
    while let Some((node, parent, depth)) = stack.pop() {
        let id = architectural_components::ActiveModel {
            organization_id: Set(org),
            id: Set(new_id()),
            project_id: Set(project),
            parent_id: Set(parent),
            name: Set(node.title.to_owned()),
            r#type: Set(Some(
                if node.children.is_empty() {
                    "module"
                } else {
                    "subsystem"
                }
                .to_owned(),
            )),
            technology: Set(Some("rust".to_owned())),
            implementation_status: Set(Some(statuses[depth % statuses.len()].to_owned())),
            ..Default::default()
        }
        .insert(txn)
        .await?
        .id;
        stack.extend(node.children.iter().rev().map(|c| (c, Some(id), depth + 1)));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn approval(
    txn: &DatabaseTransaction,
    org: Uuid,
    project: Uuid,
    requester: Uuid,
    title: &str,
    target: Uuid,
    status: ApprovalStatus,
    approver: Option<Uuid>,
) -> Result<Uuid> {
    Ok(approvals::ActiveModel {
        organization_id: Set(org),
        id: Set(new_id()),
        project_id: Set(project),
        requested_by: Set(requester),
        title: Set(title.to_owned()),
        approval_type: Set(Some("design".to_owned())),
        target_type: Set(Some(
            if status == ApprovalStatus::Approved {
                "requirement"
            } else {
                "task"
            }
            .to_owned(),
        )),
        target_id: Set(target),
        status: Set(Some(status)),
        approved_by: Set(approver),
        resolved_at: Set(approver.map(|_| now())),
        ..Default::default()
    }
    .insert(txn)
    .await?
    .id)
}

/// Inserts a comment on a requirement, replying to `reply_to` (parent, thread) if given.
async fn comment(
    txn: &DatabaseTransaction,
    org: Uuid,
    requirement: Uuid,
    author: Uuid,
    text: &str,
    reply_to: Option<(Uuid, Uuid)>,
) -> Result<Uuid> {
    let id = new_id();
    let (parent, thread) = reply_to.map_or((None, id), |(p, t)| (Some(p), t));
    comments::ActiveModel {
        organization_id: Set(org),
        id: Set(id),
        target_type: Set("requirement".to_owned()),
        target_id: Set(requirement),
        author_id: Set(author),
        content: Set(text.to_owned()),
        content_type: Set(Some("markdown".to_owned())),
        parent_id: Set(parent),
        thread_id: Set(Some(thread)),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(id)
}
