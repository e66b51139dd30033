//! Comments that act: a reply tells the author of the comment it answers, an @mention
//! tells a member of the organization (once, and only for names new to an edited
//! comment); nobody is told of their own comment, nor anyone outside the organization.
//! Notifications scheduled for later are delivered by the scheduler's run when their
//! time comes, in-app ones only.

use bduf_collaboration::commands as collaboration;
use bduf_core::notify::deliver_due;
use bduf_core::system::SystemTxn;
use bduf_core::{TargetType, now};
use bduf_fixture::act::{act, member};
use bduf_fixture::{CollaborationRole as Role, Fixture};
use bduf_testkit::{Backend, on_both_backends};
use chrono::Duration;
use entity::notifications;
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::World;

on_both_backends!(
    replies_and_mentions_tell_members_once,
    scheduled_notifications_are_delivered_when_due
);

/// `(recipient, kind, target)` of every notification, in order of writing.
async fn told(conn: &DatabaseConnection) -> Vec<(Uuid, String, Uuid)> {
    notifications::Entity::find()
        .order_by_asc(notifications::Column::Id)
        .all(conn)
        .await
        .expect("notifications")
        .into_iter()
        .map(|n| (n.user_id, n.r#type, n.target_id.expect("a target")))
        .collect()
}

async fn replies_and_mentions_tell_members_once(backend: Backend) {
    let w = World::new(backend).await;
    let [owner, admin, ann, bob] = w.users;
    let stranger = {
        // The other organization's owner: a user, not a member here.
        let row = entity::organization_members::Entity::find()
            .filter(entity::organization_members::Column::OrganizationId.ne(w.org))
            .one(w.db.conn())
            .await
            .expect("a read")
            .expect("the stranger's membership");
        row.user_id
    };
    let as_ann = member(ann, w.org, Role::Contributor);
    let as_bob = member(bob, w.org, Role::Contributor);
    let (kind, target) = (TargetType::Requirement, w.requirement);
    // Ann mentions Bob, herself and a stranger: only Bob is told.
    let first = act(&w.core, &as_ann, |tx| {
        Box::pin(collaboration::create_comment(
            tx,
            kind,
            target,
            format!("@{bob} can you check? cc @{ann} @{stranger} @nobody."),
            None,
        ))
    })
    .await
    .expect("a comment");
    assert_eq!(
        told(w.db.conn()).await,
        [(bob, "mention".to_owned(), first.id)]
    );
    // Bob replies: Ann is told of the reply. A reply that also mentions her tells her
    // once, as a mention; the admin he mentions too.
    let reply = act(&w.core, &as_bob, |tx| {
        Box::pin(collaboration::create_comment(
            tx,
            kind,
            target,
            "Done".to_owned(),
            Some(first.id),
        ))
    })
    .await
    .expect("a reply");
    let again = act(&w.core, &as_bob, |tx| {
        Box::pin(collaboration::create_comment(
            tx,
            kind,
            target,
            format!("@{ann} and @{admin}: see above"),
            Some(first.id),
        ))
    })
    .await
    .expect("a second reply");
    let after_replies = told(w.db.conn()).await;
    assert_eq!(after_replies.len(), 4, "{after_replies:?}");
    assert_eq!(
        after_replies[1],
        (ann, "comment_reply".to_owned(), reply.id)
    );
    let mut last_two = after_replies[2..].to_vec();
    last_two.sort();
    let mut expected = vec![
        (ann, "mention".to_owned(), again.id),
        (admin, "mention".to_owned(), again.id),
    ];
    expected.sort();
    assert_eq!(last_two, expected);
    // Ann edits her comment: the owner, newly mentioned, is told; Bob, mentioned before,
    // is not told again.
    act(&w.core, &as_ann, |tx| {
        Box::pin(collaboration::update_comment(
            tx,
            first.id,
            format!("@{bob} can you check? And @{owner}"),
        ))
    })
    .await
    .expect("an edit");
    let all = told(w.db.conn()).await;
    assert_eq!(all.len(), 5);
    assert_eq!(all[4], (owner, "mention".to_owned(), first.id));
    let row = notifications::Entity::find()
        .filter(notifications::Column::UserId.eq(owner))
        .one(w.db.conn())
        .await
        .expect("a read")
        .expect("the owner's notification");
    assert!(
        row.title.starts_with("You were mentioned: @"),
        "{}",
        row.title
    );
    assert_eq!(row.target_type.as_deref(), Some("comment"));
}

async fn scheduled_notifications_are_delivered_when_due(backend: Backend) {
    let w = World::new(backend).await;
    let [_, _, ann, bob] = w.users;
    let mut f = Fixture::new(w.db.conn());
    let past = now() - Duration::minutes(5);
    let later = now() + Duration::hours(1);
    let due = f.notification(w.org, ann, "reminder", "Due", |n| {
        n.scheduled_for = Set(Some(past));
    });
    let not_yet = f.notification(w.org, bob, "reminder", "Later", |n| {
        n.scheduled_for = Set(Some(later));
    });
    let by_mail = f.notification(w.org, bob, "reminder", "By mail", |n| {
        n.scheduled_for = Set(Some(past));
        n.delivery_method = Set(Some("email".to_owned()));
    });
    f.insert().await.expect("the notifications");
    let delivered_at = |id: Uuid| {
        let conn = w.db.conn().clone();
        async move {
            notifications::Entity::find_by_id(id)
                .one(&conn)
                .await
                .expect("a read")
                .expect("the notification")
                .delivered_at
        }
    };
    for turn in 0..2 {
        let run = SystemTxn::lead(&w.core, "deliver_notifications")
            .await
            .expect("a run")
            .expect("the job is free");
        let delivered = deliver_due(&run, now()).await.expect("delivery");
        run.commit().await.expect("committed");
        assert_eq!(delivered, if turn == 0 { 1 } else { 0 }, "turn {turn}");
    }
    assert!(delivered_at(due).await.is_some());
    assert!(delivered_at(not_yet).await.is_none());
    assert!(
        delivered_at(by_mail).await.is_none(),
        "no mail channel exists"
    );
}
