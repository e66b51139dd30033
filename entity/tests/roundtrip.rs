//! Every generated entity writes and reads back a full row on PostgreSQL and on SQLite:
//! enum, JSON, UUID, decimal, date, timestamp and INET columns included.
//!
//! Rows are built as whole `Model` literals, so a column added to the schema (and thus to
//! the generated entity) fails to compile here until the test covers it.

use bduf_testkit::{Backend, TestDb};
use chrono::{NaiveDate, SubsecRound, Utc};
use entity::sea_orm_active_enums::{
    AnalysisType, ApprovalStatus, CollaborationRole, ProjectStatus, TaskStatus,
};
use entity::*;
use migration::Migrator;
use rust_decimal::Decimal;
use sea_orm::entity::prelude::*;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, IntoActiveModel, QueryFilter,
    QuerySelect,
};
use serde_json::json;

/// Inserts `model` through its active model, reads it back by id, and checks both equal it.
macro_rules! round_trip {
    ($db:expr, $module:ident, $model:expr) => {{
        let model: $module::Model = $model;
        let inserted = model
            .clone()
            .into_active_model()
            .insert($db)
            .await
            .unwrap_or_else(|e| panic!("inserting into {}: {e}", stringify!($module)));
        assert_eq!(
            inserted,
            model,
            "{} as returned by insert",
            stringify!($module)
        );
        // By id: `audit_log`'s key also holds its partition key, `created_at`.
        let found = $module::Entity::find()
            .filter($module::Column::Id.eq(model.id))
            .one($db)
            .await
            .unwrap_or_else(|e| panic!("reading {}: {e}", stringify!($module)))
            .unwrap_or_else(|| panic!("{} row not found", stringify!($module)));
        assert_eq!(found, model, "{} as read back", stringify!($module));
        model
    }};
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_entity_round_trips_on_postgres() {
    let db = TestDb::migrated::<Migrator>(Backend::Postgres).await;
    every_entity_round_trips(db.conn()).await;
    // The address is stored as a real `inet`, not as text.
    let row = db
        .conn()
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT host(client_ip) AS host, family(client_ip) AS family FROM audit_log \
             WHERE client_ip IS NOT NULL",
        ))
        .await
        .expect("querying the address")
        .expect("one audit row");
    assert_eq!(
        row.try_get::<String>("", "host").expect("host"),
        "192.0.2.10"
    );
    assert_eq!(row.try_get::<i32>("", "family").expect("family"), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_entity_round_trips_on_sqlite() {
    let db = TestDb::migrated::<Migrator>(Backend::Sqlite).await;
    every_entity_round_trips(db.conn()).await;
}

async fn every_entity_round_trips(db: &DatabaseConnection) {
    // Both backends keep microseconds; the application writes UTC.
    let now: DateTimeWithTimeZone = Utc::now().trunc_subsecs(6).fixed_offset();
    let day = |d: u32| NaiveDate::from_ymd_opt(2026, 11, d).expect("a valid date");
    let id = Uuid::now_v7;

    let user = round_trip!(
        db,
        users,
        users::Model {
            id: id(),
            email: "ada@example.com".into(),
            username: "ada".into(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            avatar_url: Some("https://example.com/ada.png".into()),
            timezone: Some("Europe/London".into()),
            preferences: Some(json!({"theme": "dark", "digest": ["daily"]})),
            is_active: Some(true),
            email_verified: Some(false),
            last_login_at: Some(now),
            created_at: Some(now),
            updated_at: Some(now),
        }
    );
    let org = round_trip!(
        db,
        organizations,
        organizations::Model {
            id: id(),
            name: "Analytical Engines Ltd".into(),
            slug: "analytical-engines".into(),
            description: Some("Difference and analytical engines".into()),
            settings: Some(json!({"sso": false})),
            is_active: Some(true),
            created_at: Some(now),
            updated_at: Some(now),
        }
    );
    round_trip!(
        db,
        organization_members,
        organization_members::Model {
            id: id(),
            organization_id: org.id,
            user_id: user.id,
            role: CollaborationRole::Owner,
            permissions: Some(json!(["projects:write"])),
            joined_at: Some(now),
        }
    );
    let project = round_trip!(
        db,
        projects,
        projects::Model {
            id: id(),
            organization_id: org.id,
            created_by: user.id,
            name: "Analytical Engine".into(),
            description: Some("A general-purpose mechanical computer".into()),
            status: Some(ProjectStatus::Active),
            project_type: Some("hardware".into()),
            industry: Some("computing".into()),
            complexity_score: Some(9),
            estimated_duration_weeks: Some(520),
            estimated_budget: Some(Decimal::new(1_700_050, 2)),
            currency: Some("GBP".into()),
            technology_stack: Some(json!(["brass", "steam"])),
            constraints: Some(json!({"budget": "parliament"})),
            assumptions: Some(json!(["punched cards"])),
            version: Some(1),
            is_archived: Some(false),
            archived_at: None,
            created_at: Some(now),
            updated_at: Some(now),
        }
    );
    let requirement = round_trip!(
        db,
        requirements,
        requirements::Model {
            organization_id: org.id,
            id: id(),
            project_id: project.id,
            parent_id: None,
            title: "Store 1,000 numbers of 50 digits".into(),
            description: Some("The store".into()),
            acceptance_criteria: Some(json!(["1000 x 50 digits"])),
            priority: Some(1),
            category: Some("functional".into()),
            complexity_score: Some(8),
            effort_estimate_hours: Some(4000),
            dependencies: Some(json!([])),
            is_validated: Some(true),
            validation_notes: Some("Reviewed by Babbage".into()),
            created_at: Some(now),
            updated_at: Some(now),
        }
    );
    round_trip!(
        db,
        requirements,
        requirements::Model {
            id: id(),
            parent_id: Some(requirement.id),
            title: "Carry propagation".into(),
            ..requirement.clone()
        }
    );
    let component = round_trip!(
        db,
        architectural_components,
        architectural_components::Model {
            organization_id: org.id,
            id: id(),
            project_id: project.id,
            parent_id: None,
            name: "Mill".into(),
            r#type: Some("processor".into()),
            description: Some("Arithmetic unit".into()),
            technology: Some("gears".into()),
            patterns: Some(json!(["pipeline"])),
            interfaces: Some(json!({"store": "rack"})),
            dependencies: Some(json!(["store"])),
            scalability_requirements: Some(json!({})),
            performance_requirements: Some(json!({"add": "1s"})),
            security_requirements: Some(json!({})),
            implementation_status: Some("planned".into()),
            created_at: Some(now),
            updated_at: Some(now),
        }
    );
    round_trip!(
        db,
        architectural_components,
        architectural_components::Model {
            id: id(),
            parent_id: Some(component.id),
            name: "Anticipating carriage".into(),
            ..component.clone()
        }
    );
    round_trip!(
        db,
        analyses,
        analyses::Model {
            organization_id: org.id,
            id: id(),
            project_id: project.id,
            r#type: AnalysisType::Risk,
            title: "Funding risk".into(),
            description: Some("Parliament may stop funding".into()),
            methodology: Some("expert judgement".into()),
            findings: Some(json!({"likelihood": "high"})),
            recommendations: Some(json!(["build a prototype"])),
            risks: Some(json!([{"name": "funding", "score": 0.9}])),
            opportunities: Some(json!([])),
            confidence_score: Some(Decimal::new(85, 2)),
            completeness_score: Some(Decimal::new(1, 0)),
            processing_time_seconds: Some(42),
            ai_model_used: Some("none".into()),
            context_sources: Some(json!(["letters"])),
            status: Some("completed".into()),
            created_at: Some(now),
            updated_at: Some(now),
        }
    );
    let task = round_trip!(
        db,
        tasks,
        tasks::Model {
            organization_id: org.id,
            id: id(),
            project_id: project.id,
            parent_id: None,
            title: "Cast the gears".into(),
            description: Some("Brass".into()),
            acceptance_criteria: Some(json!(["tolerance 0.1mm"])),
            work_type: Some("manufacturing".into()),
            priority: Some(2),
            complexity_score: Some(5),
            estimated_hours: Some(300),
            actual_hours: Some(120),
            dependencies: Some(json!([])),
            blockers: Some(json!(["foundry"])),
            assigned_to: Some(user.id),
            status: Some(TaskStatus::InProgress),
            progress_percentage: Some(40),
            planned_start_date: Some(day(1)),
            planned_end_date: Some(day(30)),
            actual_start_date: Some(day(2)),
            actual_end_date: None,
            created_at: Some(now),
            updated_at: Some(now),
        }
    );
    round_trip!(
        db,
        tasks,
        tasks::Model {
            id: id(),
            parent_id: Some(task.id),
            title: "Polish the gears".into(),
            status: Some(TaskStatus::Pending),
            ..task.clone()
        }
    );
    let session = round_trip!(
        db,
        collaboration_sessions,
        collaboration_sessions::Model {
            organization_id: org.id,
            id: id(),
            project_id: project.id,
            created_by: user.id,
            title: "Design review".into(),
            description: Some("Review the mill".into()),
            session_type: Some("review".into()),
            status: Some("active".into()),
            current_phase: Some("discussion".into()),
            session_data: Some(json!({"agenda": ["mill", "store"]})),
            started_at: Some(now),
            ended_at: None,
            max_participants: Some(12),
            requires_approval: Some(true),
            created_at: Some(now),
            updated_at: Some(now),
        }
    );
    round_trip!(
        db,
        session_participants,
        session_participants::Model {
            organization_id: org.id,
            id: id(),
            session_id: session.id,
            user_id: user.id,
            role: Some(CollaborationRole::Contributor),
            joined_at: Some(now),
            last_active_at: Some(now),
            is_active: Some(true),
            can_edit: Some(true),
            can_approve: Some(false),
        }
    );
    let comment = round_trip!(
        db,
        comments,
        comments::Model {
            organization_id: org.id,
            id: id(),
            target_type: "requirement".into(),
            target_id: requirement.id,
            author_id: user.id,
            content: "Is 50 digits enough?".into(),
            content_type: Some("markdown".into()),
            parent_id: None,
            thread_id: None,
            is_resolved: Some(true),
            resolved_by: Some(user.id),
            resolved_at: Some(now),
            created_at: Some(now),
            updated_at: Some(now),
        }
    );
    round_trip!(
        db,
        comments,
        comments::Model {
            id: id(),
            parent_id: Some(comment.id),
            thread_id: Some(comment.id),
            content: "Yes.".into(),
            ..comment.clone()
        }
    );
    round_trip!(
        db,
        notifications,
        notifications::Model {
            organization_id: org.id,
            id: id(),
            user_id: user.id,
            r#type: "mention".into(),
            title: "You were mentioned".into(),
            message: Some("in Design review".into()),
            target_type: Some("comment".into()),
            target_id: Some(comment.id),
            is_read: Some(false),
            read_at: None,
            delivery_method: Some("in-app".into()),
            scheduled_for: Some(now),
            delivered_at: Some(now),
            created_at: Some(now),
        }
    );
    let approval = round_trip!(
        db,
        approvals,
        approvals::Model {
            organization_id: org.id,
            id: id(),
            project_id: project.id,
            requested_by: user.id,
            title: "Approve the store design".into(),
            description: Some("1,000 numbers".into()),
            approval_type: Some("design".into()),
            target_type: Some("requirement".into()),
            target_id: requirement.id,
            status: Some(ApprovalStatus::Approved),
            decision_rationale: Some("Sound".into()),
            conditions: Some(json!(["prototype first"])),
            requires_unanimous: Some(false),
            required_approver_count: Some(1),
            auto_approve_after_hours: Some(72),
            approved_by: Some(user.id),
            rejected_by: None,
            resolved_at: Some(now),
            created_at: Some(now),
            updated_at: Some(now),
        }
    );
    round_trip!(
        db,
        approval_participants,
        approval_participants::Model {
            organization_id: org.id,
            id: id(),
            approval_id: approval.id,
            user_id: user.id,
            response: Some(ApprovalStatus::Approved),
            response_notes: Some("Agreed".into()),
            responded_at: Some(now),
            is_required: Some(true),
            weight: Some(2),
        }
    );
    let audit = round_trip!(
        db,
        audit_log,
        audit_log::Model {
            organization_id: org.id,
            id: id(),
            table_name: "approvals".into(),
            record_id: approval.id,
            operation: "UPDATE".into(),
            user_id: Some(user.id),
            session_id: Some(session.id),
            old_values: Some(json!({"status": "pending"})),
            new_values: Some(json!({"status": "approved"})),
            changed_fields: Some(json!(["status"])),
            change_reason: Some("review passed".into()),
            client_ip: Some("192.0.2.10/32".parse().expect("an address")),
            user_agent: Some("bduf-tests".into()),
            created_at: now,
            // Past the numbers the triggers gave this test's other rows.
            seq: 1_000_000,
            request_id: Some(id()),
            source: "api".into(),
        }
    );

    // INET columns filter by value too.
    let by_ip = audit_log::Entity::find()
        .filter(audit_log::Column::ClientIp.eq(audit.client_ip.expect("set above")))
        .all(db)
        .await
        .expect("filtering by client_ip");
    assert_eq!(by_ip, vec![audit]);

    // The hand-written children link walks the self-reference downwards.
    let children = requirement
        .find_linked(links::RequirementChildren)
        .all(db)
        .await
        .expect("loading children");
    assert_eq!(children.len(), 1);
    assert_eq!(children[0].parent_id, Some(requirement.id));
    // The renamed multi-FK relations join on the right column.
    let approvers = users::Entity::find()
        .join(
            sea_orm::JoinType::InnerJoin,
            approvals::Relation::ApprovedBy.def().rev(),
        )
        .all(db)
        .await
        .expect("joining approvers");
    assert_eq!(
        approvers.iter().map(|u| u.id).collect::<Vec<_>>(),
        [user.id]
    );
    let rejecters = users::Entity::find()
        .join(
            sea_orm::JoinType::InnerJoin,
            approvals::Relation::RejectedBy.def().rev(),
        )
        .all(db)
        .await
        .expect("joining rejecters");
    assert!(rejecters.is_empty());
}
