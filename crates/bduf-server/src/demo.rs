//! `--demo`: a small, realistic organization — three projects with three- and four-level
//! requirement, component and task trees, analyses, approvals, a review session, a comment
//! thread, notifications, and the audit log the database wrote of them — so a newcomer's
//! first query returns something meaningful. Built with `bduf_fixture` (every column the demo does not set
//! has the API's default) and loaded in one transaction, only into a database without
//! organizations.

use anyhow::Result;
use bduf_core::Db;
use bduf_fixture::{Fixture, TargetType};
use chrono::{DateTime, FixedOffset, NaiveDate};
use entity::organizations;
use entity::sea_orm_active_enums::{
    AnalysisType, ApprovalStatus, CollaborationRole, ProjectStatus, TaskStatus,
};
use rust_decimal::Decimal;
use sea_orm::ActiveValue::Set;
use sea_orm::{DatabaseTransaction, EntityTrait, PaginatorTrait, TransactionTrait};
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
fn ids() -> impl FnMut() -> Uuid + Send + 'static {
    let mut at_ms: u64 = 1_793_523_600_000; // 2026-11-01T09:00:00Z
    move || {
        let id = uuid::Builder::from_unix_timestamp_millis(at_ms, &[0; 10]).into_uuid();
        at_ms += 1;
        id
    }
}

/// The password of every demo account (`ada@northwind.example` owner,
/// `grace@…` admin, `linus@…` contributor, `margaret@…` viewer): documented in the
/// README, so never use `--demo` on a server others can reach.
pub const DEMO_PASSWORD: &str = "northwind-demo";

async fn seed(txn: &DatabaseTransaction) -> Result<()> {
    let now = now();
    let password_hash = bduf_graphql::auth::hash_password(DEMO_PASSWORD.to_owned()).await?;
    let mut f = Fixture::with_ids(txn, ids());
    let [ada, grace, linus, margaret] = [
        ("ada", "Ada", "Lovelace"),
        ("grace", "Grace", "Hopper"),
        ("linus", "Linus", "Torvalds"),
        ("margaret", "Margaret", "Hamilton"),
    ]
    .map(|(name, first, last)| {
        f.user(|u| {
            u.email = Set(format!("{name}@northwind.example"));
            u.username = Set(name.to_owned());
            u.password_hash = Set(password_hash.clone());
            u.first_name = Set(Some(first.to_owned()));
            u.last_name = Set(Some(last.to_owned()));
            u.timezone = Set(Some("Europe/London".to_owned()));
            u.last_login_at = Set(Some(now));
        })
    });
    let org = f.organization(|o| {
        o.name = Set("Northwind Robotics".to_owned());
        o.slug = Set("northwind".to_owned());
        o.description = Set(Some(
            "Autonomous warehouse robots and the software that runs them".to_owned(),
        ));
    });
    for (user, role) in [
        (ada, CollaborationRole::Owner),
        (grace, CollaborationRole::Admin),
        (linus, CollaborationRole::Contributor),
        (margaret, CollaborationRole::Viewer),
    ] {
        f.member(org, user, role, |_| {});
    }

    let mut project = |creator, name: &str, status, kind: &str, complexity: i32, budget: i64| {
        f.project(org, creator, name, |p| {
            p.description = Set(Some(format!("{name}: planned with bduf")));
            p.status = Set(Some(status));
            p.project_type = Set(Some(kind.to_owned()));
            p.industry = Set(Some("logistics".to_owned()));
            p.complexity_score = Set(Some(complexity));
            p.estimated_duration_weeks = Set(Some(complexity * 6));
            p.estimated_budget = Set(Some(Decimal::new(budget * 100, 2)));
            p.technology_stack = Set(Some(json!(["rust", "postgresql"])));
        })
    };
    let picking = project(
        ada,
        "Warehouse Picking Robot",
        ProjectStatus::Active,
        "robotics",
        8,
        1_250_000,
    );
    let portal = project(
        grace,
        "Fleet Management Portal",
        ProjectStatus::Active,
        "web",
        5,
        320_000,
    );
    let battery = project(
        ada,
        "Battery Analytics Pipeline",
        ProjectStatus::Draft,
        "data",
        6,
        180_000,
    );

    let nav = requirements(
        &mut f,
        picking,
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
    );
    let more = [
        (
            picking,
            t(
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
        ),
        (picking, leaf("Report status to the fleet manager"), 3),
        (
            portal,
            t(
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
        ),
        (
            portal,
            t(
                "Dispatch missions",
                vec![leaf("Validate missions against the warehouse map")],
            ),
            2,
        ),
        (
            battery,
            t(
                "Predict battery end of life",
                vec![leaf("Ingest charge cycles nightly")],
            ),
            2,
        ),
    ];
    for (project, tree, priority) in &more {
        requirements(&mut f, *project, tree, *priority);
    }

    for (project, tree) in [
        (
            picking,
            t(
                "Robot platform",
                vec![
                    t(
                        "Navigation stack",
                        vec![leaf("Localization"), leaf("Path planner")],
                    ),
                    t("Manipulation", vec![leaf("Gripper controller")]),
                ],
            ),
        ),
        (picking, leaf("Fleet API gateway")),
        (
            portal,
            t("Web client", vec![leaf("Map view"), leaf("Mission editor")]),
        ),
        (portal, leaf("Fleet service")),
    ] {
        components(&mut f, project, &tree);
    }

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
        let n = u32::try_from(i).unwrap_or(0);
        let parent = parent.map(|p: usize| task_ids[p]);
        let id = f.task(picking, parent, title, |t| {
            t.work_type = Set(Some(
                if i % 3 == 0 {
                    "engineering"
                } else {
                    "integration"
                }
                .to_owned(),
            ));
            t.priority = Set(Some(i32::try_from(1 + i % 5).unwrap_or(3)));
            t.estimated_hours = Set((hours > 0).then_some(hours));
            t.status = Set(Some(status));
            t.progress_percentage = Set(Some(progress));
            t.assigned_to = Set(assignee);
            t.planned_start_date = Set(Some(day(month, 1 + n * 2)));
            t.planned_end_date = Set(Some(day(month, 10 + n * 2)));
        });
        task_ids.push(id);
    }
    for (title, status) in [
        ("Design the map view", TaskStatus::Done),
        ("Build the mission editor", TaskStatus::InProgress),
    ] {
        f.task(portal, None, title, |t| {
            t.status = Set(Some(status));
            t.estimated_hours = Set(Some(24));
            t.progress_percentage = Set(Some(if status == TaskStatus::Done { 100 } else { 40 }));
            t.assigned_to = Set(Some(grace));
        });
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
        f.analysis(project, kind, title, |a| {
            a.methodology = Set(Some("expert review".to_owned()));
            a.findings = Set(Some(json!({"summary": title})));
            a.recommendations = Set(Some(json!([
                "prototype early",
                "measure in the real warehouse"
            ])));
            a.confidence_score = Set(Some(Decimal::new(confidence, 2)));
            a.completeness_score = Set(Some(Decimal::new(80, 2)));
        });
    }

    let mut approval = |requester, title: &str, target, approver: Option<Uuid>| {
        f.approval(picking, requester, target, title, |a| {
            a.approval_type = Set(Some("design".to_owned()));
            if let Some(approver) = approver {
                a.status = Set(Some(ApprovalStatus::Approved));
                a.approved_by = Set(Some(approver));
                a.resolved_at = Set(Some(now));
            }
        })
    };
    let approved = approval(
        ada,
        "Approve the navigation requirements",
        (TargetType::Requirement, nav),
        Some(grace),
    );
    let pending = approval(
        linus,
        "Approve the gripper design",
        (TargetType::Task, task_ids[5]),
        None,
    );
    for (approval, user, response) in [
        (approved, grace, Some(ApprovalStatus::Approved)),
        (pending, grace, None),
        (pending, ada, None),
    ] {
        f.approver(approval, user, |a| {
            a.response = Set(response);
            a.responded_at = Set(response.map(|_| now));
        });
    }

    let session = f.session(picking, grace, "Navigation design review", |s| {
        s.session_type = Set(Some("review".to_owned()));
        s.current_phase = Set(Some("discussion".to_owned()));
    });
    f.participant(session, grace, CollaborationRole::Owner, |_| {});
    f.participant(session, linus, CollaborationRole::Contributor, |_| {});

    let markdown = |c: &mut entity::comments::ActiveModel| {
        c.content_type = Set(Some("markdown".to_owned()));
    };
    let question = f.comment(
        (TargetType::Requirement, nav),
        linus,
        "Is 5 cm enough near the charging docks?",
        |c| {
            markdown(c);
            // The thread a comment starts is its own (the API leaves it unset).
            c.thread_id = Set(c.id.try_as_ref().copied());
        },
    );
    let answer = f.reply(
        question,
        grace,
        "Docking uses the fiducials; 5 cm is for the aisles.",
        markdown,
    );
    f.reply(
        answer,
        linus,
        "Then let's add a docking requirement.",
        markdown,
    );

    f.notification(
        org,
        linus,
        "assignment",
        "You were assigned \"Tune the particle filter\"",
        |n| {
            n.target_type = Set(Some(TargetType::Task.as_str().to_owned()));
            n.target_id = Set(Some(task_ids[2]));
        },
    );

    f.insert().await?;
    Ok(())
}

/// Adds a requirement tree to `project`, depth first; returns the root's id. A node's
/// priority is the tree's `priority` plus its depth (at most 5).
fn requirements(
    f: &mut Fixture<'_, DatabaseTransaction>,
    project: Uuid,
    tree: &Tree,
    priority: i32,
) -> Uuid {
    let mut stack = vec![(tree, None, 0_i32)];
    let mut root = None;
    while let Some((node, parent, depth)) = stack.pop() {
        let id = f.requirement(project, parent, node.title, |r| {
            r.priority = Set(Some((priority + depth).min(5)));
            r.category = Set(Some(
                if depth == 0 {
                    "capability"
                } else {
                    "functional"
                }
                .to_owned(),
            ));
            r.is_validated = Set(Some(depth < 2));
            r.acceptance_criteria = Set(Some(json!([format!(
                "{} is demonstrated on site",
                node.title
            )])));
        });
        root.get_or_insert(id);
        stack.extend(node.children.iter().rev().map(|c| (c, Some(id), depth + 1)));
    }
    root.unwrap_or_default()
}

/// Adds a component tree to `project`, depth first: subsystems over modules, each level
/// further from done.
fn components(f: &mut Fixture<'_, DatabaseTransaction>, project: Uuid, tree: &Tree) {
    let mut stack = vec![(tree, None, 0_usize)];
    let statuses = ["implemented", "in_progress", "planned"];
    while let Some((node, parent, depth)) = stack.pop() {
        let id = f.component(project, parent, node.title, |c| {
            c.r#type = Set(Some(
                if node.children.is_empty() {
                    "module"
                } else {
                    "subsystem"
                }
                .to_owned(),
            ));
            c.technology = Set(Some("rust".to_owned()));
            c.implementation_status = Set(Some(statuses[depth % statuses.len()].to_owned()));
        });
        stack.extend(node.children.iter().rev().map(|c| (c, Some(id), depth + 1)));
    }
}
