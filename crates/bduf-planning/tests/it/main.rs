//! Planning's commands on their own, without GraphQL, on both backends: who may change
//! a project, what its inputs must satisfy, and the requirement and component trees at
//! the sizes users have — a subtree of 1,200 nodes in one call, written and audited in
//! batches; a move under one's own descendant refused; a deep subtree deleted whole.

use async_graphql::MaybeUndefined;
use bduf_core::{Db, Error};
use bduf_fixture::act::{act, member};
use bduf_fixture::{CollaborationRole as Role, Fixture};
use bduf_planning::AnalysisType;
use bduf_planning::commands::{
    self as planning, ComponentInput, CreateAnalysisInput, CreateProjectInput, RequirementInput,
    RequirementNodeInput, UpdateProjectInput,
};
use bduf_testkit::{Backend, TestDb, on_both_backends};
use entity::{audit_log, projects, requirements};
use migration::Migrator;
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

on_both_backends!(
    projects_keep_to_their_rules,
    a_subtree_of_thousands_is_written_and_audited_in_batches,
    trees_stay_trees_within_their_project,
    analyses_keep_their_scores_in_range,
);

/// One organization with a member of each role and a project, and another organization
/// with a project of its own.
struct World {
    db: TestDb,
    core: Db,
    org: Uuid,
    /// The members: owner, admin, contributor, viewer.
    users: [Uuid; 4],
    project: Uuid,
    other_project: Uuid,
}

impl World {
    async fn new(backend: Backend) -> Self {
        let db = TestDb::migrated::<Migrator>(backend).await;
        let core = Db::counting(db.connect_again().await);
        let mut f = Fixture::new(db.conn());
        let org = f.organization(|_| {});
        let users = f.members(
            org,
            [Role::Owner, Role::Admin, Role::Contributor, Role::Viewer],
        );
        let project = f.project(org, users[0], "Plan", |_| {});
        let other = f.organization(|_| {});
        let stranger = f.user(|_| {});
        f.member(other, stranger, Role::Owner, |_| {});
        let other_project = f.project(other, stranger, "Theirs", |_| {});
        f.insert().await.expect("the fixture");
        Self {
            db,
            core,
            org,
            users,
            project,
            other_project,
        }
    }

    fn as_role(&self, role: Role) -> bduf_core::Viewer {
        let user = match role {
            Role::Owner => self.users[0],
            Role::Admin => self.users[1],
            Role::Contributor => self.users[2],
            Role::Viewer => self.users[3],
        };
        member(user, self.org, role)
    }

    async fn count<E>(&self) -> u64
    where
        E: EntityTrait,
        E::Model: Sync,
    {
        E::find().count(self.db.conn()).await.expect("a count")
    }
}

fn project_input(name: &str) -> CreateProjectInput {
    CreateProjectInput {
        name: name.to_owned(),
        description: Some("what it is".to_owned()),
        status: None,
        project_type: None,
        industry: None,
        complexity_score: Some(4),
        estimated_duration_weeks: None,
        estimated_budget: None,
        currency: None,
        technology_stack: None,
    }
}

async fn projects_keep_to_their_rules(backend: Backend) {
    let w = World::new(backend).await;
    let viewer = w.as_role(Role::Viewer);
    let contributor = w.as_role(Role::Contributor);
    let refused = act(&w.core, &viewer, |tx| {
        Box::pin(planning::create_project(tx, project_input("No")))
    })
    .await
    .expect_err("a viewer creates no project");
    assert_eq!(refused.code(), "FORBIDDEN", "{refused}");
    let made = act(&w.core, &contributor, |tx| {
        Box::pin(planning::create_project(tx, project_input("Yes")))
    })
    .await
    .expect("a contributor creates one");
    assert_eq!((made.organization_id, made.created_by), (w.org, w.users[2]));
    assert_eq!(made.version, Some(1));
    // An update goes up a version; null clears, a missing field stays.
    let changed = act(&w.core, &contributor, |tx| {
        Box::pin(planning::update_project(
            tx,
            made.id,
            UpdateProjectInput {
                description: MaybeUndefined::Null,
                ..Default::default()
            },
        ))
    })
    .await
    .expect("an update");
    assert_eq!(changed.version, Some(2));
    assert_eq!(changed.description, None);
    assert_eq!(changed.complexity_score, Some(4));
    // Bad input is named and writes nothing.
    let before = w.count::<projects::Entity>().await;
    let bad = act(&w.core, &contributor, |tx| {
        Box::pin(planning::create_project(
            tx,
            CreateProjectInput {
                complexity_score: Some(11),
                ..project_input("Too complex")
            },
        ))
    })
    .await
    .expect_err("above the CHECK");
    assert_eq!(bad.field(), Some("input.complexityScore"));
    assert_eq!(w.count::<projects::Entity>().await, before);
    // Another organization's project is not found, and stays.
    let theirs = act(&w.core, &w.as_role(Role::Owner), |tx| {
        Box::pin(planning::delete_project(tx, w.other_project))
    })
    .await
    .expect_err("another organization's project");
    assert_eq!(theirs.code(), "NOT_FOUND");
    // Only admins delete, and what is deleted is gone, with an audit entry.
    let refused = act(&w.core, &contributor, |tx| {
        Box::pin(planning::delete_project(tx, made.id))
    })
    .await
    .expect_err("a contributor deletes no project");
    assert_eq!(refused.code(), "FORBIDDEN");
    act(&w.core, &w.as_role(Role::Admin), |tx| {
        Box::pin(planning::delete_project(tx, made.id))
    })
    .await
    .expect("an admin deletes it");
    assert!(
        projects::Entity::find_by_id(made.id)
            .one(w.db.conn())
            .await
            .expect("a lookup")
            .is_none()
    );
    let deletions = audit_log::Entity::find()
        .filter(audit_log::Column::RecordId.eq(made.id))
        .filter(audit_log::Column::Operation.eq("DELETE"))
        .count(w.db.conn())
        .await
        .expect("audit entries");
    assert_eq!(deletions, 1);
}

/// A subtree of `n` nodes: one root and its chain of descendants, given leaf first.
fn chain(n: usize) -> Vec<RequirementNodeInput> {
    (0..n)
        .rev()
        .map(|i| RequirementNodeInput {
            key: format!("n{i}"),
            parent_key: (i > 0).then(|| format!("n{}", i - 1)),
            fields: RequirementInput {
                title: Some(format!("N{i}")),
                ..Default::default()
            },
        })
        .collect()
}

async fn a_subtree_of_thousands_is_written_and_audited_in_batches(backend: Backend) {
    let w = World::new(backend).await;
    let contributor = w.as_role(Role::Contributor);
    let statements = |n: usize| {
        let w = &w;
        let contributor = contributor.clone();
        async move {
            let before = w.core.statements();
            let made = act(&w.core, &contributor, |tx| {
                Box::pin(planning::create_requirement_tree(
                    tx,
                    w.project,
                    None,
                    chain(n),
                ))
            })
            .await
            .expect("a subtree");
            assert_eq!(made.len(), n);
            (w.core.statements() - before, made)
        }
    };
    let (small, _) = statements(2).await;
    let (large, made) = statements(1_200).await;
    // 1,200 rows are three INSERTs of 500 where two rows take one: two statements
    // more, whatever else the call does (the database records each row itself).
    assert_eq!(
        large,
        small + 2,
        "statements for 2 nodes: {small}, for 1,200: {large}"
    );
    // Every node is there, in the order given, under the parent its key named.
    assert_eq!(made[0].title, "N1199");
    assert_eq!(made[1_199].parent_id, None);
    assert_eq!(made[0].parent_id, Some(made[1].id));
    let audited = audit_log::Entity::find()
        .filter(audit_log::Column::TableName.eq("requirements"))
        .filter(audit_log::Column::Operation.eq("INSERT"))
        .count(w.db.conn())
        .await
        .expect("audit entries");
    assert_eq!(audited, 1_202);
    // Deleting the root takes the whole chain, 1,200 deep, in one command.
    let root = made[1_199].id;
    act(&w.core, &contributor, |tx| {
        Box::pin(planning::delete_requirement(tx, root))
    })
    .await
    .expect("the chain deleted");
    let left = requirements::Entity::find()
        .filter(requirements::Column::Title.starts_with("N"))
        .count(w.db.conn())
        .await
        .expect("a count");
    assert_eq!(left, 2, "only the small subtree is left");
}

async fn trees_stay_trees_within_their_project(backend: Backend) {
    let w = World::new(backend).await;
    let contributor = w.as_role(Role::Contributor);
    let made = act(&w.core, &contributor, |tx| {
        Box::pin(planning::create_requirement_tree(
            tx,
            w.project,
            None,
            chain(3),
        ))
    })
    .await
    .expect("a chain of three");
    let (leaf, root) = (made[0].id, made[2].id);
    // Under its own descendant: refused, naming the field.
    let cycle = act(&w.core, &contributor, |tx| {
        Box::pin(planning::move_requirement(tx, root, Some(leaf)))
    })
    .await
    .expect_err("a cycle");
    assert_eq!(cycle.field(), Some("parentId"));
    let unchanged = requirements::Entity::find_by_id(root)
        .one(w.db.conn())
        .await
        .expect("a lookup")
        .expect("the root");
    assert_eq!(unchanged.parent_id, None);
    // A parent key that names no node, and a cycle of keys, are refused before anything
    // is written.
    let before = w.count::<requirements::Entity>().await;
    let mut nodes = chain(2);
    nodes[0].parent_key = Some("nowhere".to_owned());
    let orphan = act(&w.core, &contributor, |tx| {
        Box::pin(planning::create_requirement_tree(
            tx, w.project, None, nodes,
        ))
    })
    .await
    .expect_err("an unknown parent key");
    assert_eq!(orphan.field(), Some("nodes[0].parentKey"));
    assert_eq!(w.count::<requirements::Entity>().await, before);
    // A component's parent must be a component of the same project.
    let theirs = act(&w.core, &contributor, |tx| {
        Box::pin(planning::create_component(
            tx,
            w.other_project,
            None,
            ComponentInput {
                name: Some("Gateway".to_owned()),
                ..Default::default()
            },
        ))
    })
    .await
    .expect_err("another organization's project");
    assert!(
        matches!(&theirs, Error::Invalid { field, .. } if field == "projectId"),
        "{theirs:?}"
    );
}

async fn analyses_keep_their_scores_in_range(backend: Backend) {
    let w = World::new(backend).await;
    let contributor = w.as_role(Role::Contributor);
    let input = |score: Decimal| CreateAnalysisInput {
        r#type: AnalysisType::Risk,
        title: "Risks".to_owned(),
        description: None,
        methodology: None,
        findings: None,
        recommendations: None,
        risks: None,
        confidence_score: Some(score),
        completeness_score: None,
        ai_model_used: None,
    };
    let bad = act(&w.core, &contributor, |tx| {
        Box::pin(planning::create_analysis(
            tx,
            w.project,
            input(Decimal::new(15, 1)),
        ))
    })
    .await
    .expect_err("1.5 is above 1");
    assert_eq!(bad.field(), Some("input.confidenceScore"));
    let made = act(&w.core, &contributor, |tx| {
        Box::pin(planning::create_analysis(
            tx,
            w.project,
            input(Decimal::new(85, 2)),
        ))
    })
    .await
    .expect("an analysis");
    assert_eq!(made.status.as_deref(), Some("completed"));
    let viewer = w.as_role(Role::Viewer);
    let refused = act(&w.core, &viewer, |tx| {
        Box::pin(planning::delete_analysis(tx, made.id))
    })
    .await
    .expect_err("a viewer deletes nothing");
    assert_eq!(refused.code(), "FORBIDDEN");
}
