//! The commands of collaboration: comments (write, edit, resolve, delete), the viewer's
//! notifications (mark read), and collaboration sessions with their participants.
//!
//! Who may do what, beyond the organization role each command names:
//! - a comment is edited by its author alone, and deleted by its author or an admin;
//! - a notification is its recipient's alone;
//! - a session is changed or ended by its creator, an editing participant (`canEdit`)
//!   or an admin, and deleted by its creator or an admin;
//! - participants are managed by the session's creator or an admin; a participant may
//!   always leave;
//! - any member joins an active session that has room: viewers as viewers who cannot
//!   edit, contributors and up as editing contributors;
//! - an ended session is read-only.
//!
//! A comment tells, in its transaction, the author of the comment it answers and the
//! members it `@mentions` (an edit: only the names it adds), never its own author
//! ([`bduf_core::notify`]).

use std::collections::HashSet;

use async_graphql::{InputObject, Json, MaybeUndefined};
use bduf_core::write::{
    delete, find, find_for_update, insert, member_role, patch, set, target_project, update,
};
use bduf_core::{Error, Result, TargetType, Tx, check, now, rank};
use bduf_identity::CollaborationRole as RoleInput;
use entity::sea_orm_active_enums::CollaborationRole as Role;
use entity::{
    collaboration_sessions as sessions, comments, notifications,
    session_participants as participants,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
};
use uuid::Uuid;

use bduf_core::notify::{Kind, Notice, members_named, mentions, notify};

/// Comments on a record of the active organization (contributors), as the viewer; with
/// `parent`, a reply in that comment's thread.
pub async fn create_comment(
    tx: &Tx<'_>,
    target_type: TargetType,
    target_id: Uuid,
    content: String,
    parent: Option<Uuid>,
) -> Result<comments::Model> {
    let organization = tx.require(Role::Contributor, "createComment")?;
    check::name("content", comments::Column::Content, &content)?;
    if target_project(tx, target_type, target_id).await?.is_none() {
        return Err(Error::invalid(
            "targetId",
            format!("no {} with id {target_id}", target_type.as_str()),
        ));
    }
    let answered = match parent {
        Some(parent) => {
            let parent: comments::Model = find(tx, parent, "parentId", "comment").await?;
            if parent.target_id != target_id || parent.target_type != target_type.as_str() {
                return Err(Error::invalid(
                    "parentId",
                    "must be a comment on the same target",
                ));
            }
            Some(parent)
        }
        None => None,
    };
    let thread = answered.as_ref().map(|p| p.thread_id.unwrap_or(p.id));
    let now = now();
    let comment: comments::Model = insert(
        tx,
        comments::ActiveModel {
            id: Set(Uuid::now_v7()),
            target_type: Set(target_type.as_str().to_owned()),
            target_id: Set(target_id),
            author_id: Set(tx.user()),
            content: Set(content),
            content_type: Set(Some("text".to_owned())),
            parent_id: Set(parent),
            thread_id: Set(thread),
            is_resolved: Set(Some(false)),
            resolved_by: Set(None),
            resolved_at: Set(None),
            created_at: Set(Some(now)),
            updated_at: Set(Some(now)),
            organization_id: Set(organization),
        },
    )
    .await?;
    let mut notices = mention_notices(tx, &comment, &[]).await?;
    if let Some(parent) = answered {
        notices.push(Notice {
            user: parent.author_id,
            kind: Kind::CommentReply,
            title: format!("New reply to your comment: {}", comment.content),
            message: None,
            target_type: "comment",
            target_id: comment.id,
        });
    }
    // A reply that also mentions its parent's author tells them once, as a mention.
    let mentioned: HashSet<Uuid> = notices
        .iter()
        .filter(|n| n.kind == Kind::Mention)
        .map(|n| n.user)
        .collect();
    notices.retain(|n| n.kind == Kind::Mention || !mentioned.contains(&n.user));
    notify(tx, notices).await?;
    Ok(comment)
}

/// Notifications of the users `comment` mentions that `before` (its earlier text's
/// mentions) did not.
async fn mention_notices(
    tx: &Tx<'_>,
    comment: &comments::Model,
    before: &[String],
) -> Result<Vec<Notice>> {
    let names: Vec<String> = mentions(&comment.content)
        .into_iter()
        .filter(|name| !before.contains(name))
        .collect();
    Ok(members_named(tx, &names)
        .await?
        .into_iter()
        .map(|user| Notice {
            user,
            kind: Kind::Mention,
            title: format!("You were mentioned: {}", comment.content),
            message: None,
            target_type: "comment",
            target_id: comment.id,
        })
        .collect())
}

/// Edits a comment (its author only). Users it newly mentions are notified.
pub async fn update_comment(tx: &Tx<'_>, id: Uuid, content: String) -> Result<comments::Model> {
    tx.require(Role::Contributor, "updateComment")?;
    check::name("content", comments::Column::Content, &content)?;
    let old: comments::Model = find(tx, id, "id", "comment").await?;
    if old.author_id != tx.user() {
        return Err(Error::forbidden("only its author edits a comment"));
    }
    let before = mentions(&old.content);
    let mut row: comments::ActiveModel = old.clone().into();
    row.content = Set(content);
    let comment: comments::Model = update(tx, row).await?;
    let notices = mention_notices(tx, &comment, &before).await?;
    notify(tx, notices).await?;
    Ok(comment)
}

/// Resolves (or reopens) a comment thread (contributors).
pub async fn resolve_comment(tx: &Tx<'_>, id: Uuid, resolved: bool) -> Result<comments::Model> {
    tx.require(Role::Contributor, "resolveComment")?;
    let old: comments::Model = find(tx, id, "id", "comment").await?;
    let mut row: comments::ActiveModel = old.clone().into();
    row.is_resolved = Set(Some(resolved));
    row.resolved_by = Set(resolved.then_some(tx.user()));
    row.resolved_at = Set(resolved.then(now));
    update(tx, row).await
}

/// Deletes a comment and its replies (its author, or admins). Returns its id.
pub async fn delete_comment(tx: &Tx<'_>, id: Uuid) -> Result<Uuid> {
    tx.require(Role::Contributor, "deleteComment")?;
    let old: comments::Model = find(tx, id, "id", "comment").await?;
    if old.author_id != tx.user() {
        tx.require(Role::Admin, "deleting another's comment")?;
    }
    delete(tx, &old).await
}

/// Marks one of the viewer's notifications read (or unread).
pub async fn mark_notification_read(
    tx: &Tx<'_>,
    id: Uuid,
    read: bool,
) -> Result<notifications::Model> {
    tx.require(Role::Viewer, "markNotificationRead")?;
    let old = notifications::Entity::find_by_id(id)
        .filter(notifications::Column::OrganizationId.eq(tx.organization()))
        .filter(notifications::Column::UserId.eq(tx.user()))
        .one(tx.txn)
        .await?
        .ok_or_else(|| Error::not_found("notification", id))?;
    let mut row: notifications::ActiveModel = old.into();
    row.is_read = Set(Some(read));
    row.read_at = Set(read.then(now));
    Ok(row.update(tx.txn).await?)
}

/// The most participants a session may be configured for.
pub const MAX_PARTICIPANTS: i32 = 1000;

/// A new collaboration session.
#[derive(InputObject, Debug)]
pub struct CreateSessionInput {
    pub title: String,
    pub description: Option<String>,
    /// review, planning, brainstorming, …
    pub session_type: Option<String>,
    pub current_phase: Option<String>,
    pub session_data: Option<Json<serde_json::Value>>,
    /// 1 to 1000; 50 when not given.
    pub max_participants: Option<i32>,
    pub requires_approval: Option<bool>,
}

/// Changes to a session: a field left out stays, `null` clears it.
#[derive(InputObject, Debug, Default)]
pub struct UpdateSessionInput {
    pub title: Option<String>,
    pub description: MaybeUndefined<String>,
    pub session_type: MaybeUndefined<String>,
    pub current_phase: MaybeUndefined<String>,
    pub session_data: Option<Json<serde_json::Value>>,
    /// 1 to 1000, and not below the number of active participants.
    pub max_participants: Option<i32>,
    pub requires_approval: Option<bool>,
}

/// A participant added to a session by its creator or an admin.
#[derive(InputObject, Debug)]
pub struct AddParticipantInput {
    pub user_id: Uuid,
    /// CONTRIBUTOR when not given; never above the user's role in the organization.
    pub role: Option<RoleInput>,
    /// Whether they may change the session; true when not given (false for viewers).
    pub can_edit: Option<bool>,
    pub can_approve: Option<bool>,
}

/// Changes to a participant.
#[derive(InputObject, Debug, Default)]
pub struct UpdateParticipantInput {
    pub role: Option<RoleInput>,
    pub can_edit: Option<bool>,
    pub can_approve: Option<bool>,
    pub is_active: Option<bool>,
}

fn check_session(
    title: Option<&str>,
    description: Option<&str>,
    session_type: Option<&str>,
    current_phase: Option<&str>,
    max_participants: Option<i32>,
) -> Result<()> {
    use sessions::Column as C;
    if let Some(title) = title {
        check::name("input.title", C::Title, title)?;
    }
    for (field, column, value) in [
        ("input.description", C::Description, description),
        ("input.sessionType", C::SessionType, session_type),
        ("input.currentPhase", C::CurrentPhase, current_phase),
    ] {
        check::text(field, column, value)?;
    }
    check::range(
        "input.maxParticipants",
        max_participants,
        1,
        MAX_PARTICIPANTS,
    )
}

fn is_ended(session: &sessions::Model) -> bool {
    session.status.as_deref() == Some("ended")
}

fn still_open(session: &sessions::Model) -> Result<()> {
    if is_ended(session) {
        return Err(Error::invalid(
            "id",
            format!("session {} has ended and can no longer change", session.id),
        ));
    }
    Ok(())
}

/// `user`'s participation in `session`, if any.
async fn participation(
    tx: &Tx<'_>,
    session: Uuid,
    user: Uuid,
) -> Result<Option<participants::Model>> {
    Ok(participants::Entity::find()
        .filter(participants::Column::SessionId.eq(session))
        .filter(participants::Column::UserId.eq(user))
        .one(tx.txn)
        .await?)
}

/// Creator or admin, else `FORBIDDEN` naming `action`.
fn require_manager(tx: &Tx<'_>, session: &sessions::Model, action: &str) -> Result<()> {
    if session.created_by == tx.user() || tx.has(Role::Admin) {
        return Ok(());
    }
    Err(Error::forbidden(format!(
        "{action}: only the session's creator or an admin may"
    )))
}

/// Creator, editing participant or admin.
async fn require_editor(tx: &Tx<'_>, session: &sessions::Model) -> Result<()> {
    if session.created_by == tx.user() || tx.has(Role::Admin) {
        return Ok(());
    }
    let editing = participation(tx, session.id, tx.user())
        .await?
        .is_some_and(|p| p.is_active != Some(false) && p.can_edit == Some(true));
    if editing {
        return Ok(());
    }
    Err(Error::forbidden(
        "changing a session needs its creator, an editing participant or an admin",
    ))
}

async fn active_participants(tx: &Tx<'_>, session: Uuid) -> Result<u64> {
    Ok(participants::Entity::find()
        .filter(participants::Column::SessionId.eq(session))
        .filter(participants::Column::IsActive.eq(true))
        .count(tx.txn)
        .await?)
}

/// Room for one more active participant in `session`, else `VALIDATION` on `field`.
async fn check_room(tx: &Tx<'_>, session: &sessions::Model, field: &str) -> Result<()> {
    let max = session.max_participants.unwrap_or(50);
    let active = active_participants(tx, session.id).await?;
    if active >= u64::try_from(max).unwrap_or(0) {
        return Err(Error::invalid(
            field,
            format!(
                "session {} is full: {active} of {max} participants",
                session.id
            ),
        ));
    }
    Ok(())
}

/// A role for a participant no higher than their role in the organization.
fn check_participant_role(field: &str, role: Role, in_org: Role, can_edit: bool) -> Result<()> {
    if rank(role) > rank(in_org) {
        return Err(Error::invalid(
            field,
            "must not be above the user's role in the organization",
        ));
    }
    if can_edit && in_org == Role::Viewer {
        return Err(Error::invalid(
            "input.canEdit",
            "a viewer of the organization cannot edit a session",
        ));
    }
    Ok(())
}

fn new_participant(
    tx: &Tx<'_>,
    session: Uuid,
    user: Uuid,
    role: Role,
    can_edit: bool,
    can_approve: bool,
) -> participants::ActiveModel {
    let now = now();
    participants::ActiveModel {
        id: Set(Uuid::now_v7()),
        session_id: Set(session),
        user_id: Set(user),
        role: Set(Some(role)),
        joined_at: Set(Some(now)),
        last_active_at: Set(Some(now)),
        is_active: Set(Some(true)),
        can_edit: Set(Some(can_edit)),
        can_approve: Set(Some(can_approve)),
        organization_id: Set(tx.organization()),
    }
}

/// Opens a collaboration session on a project (contributors); the viewer is its creator
/// and first participant, with the role OWNER, editing and approving.
pub async fn create_session(
    tx: &Tx<'_>,
    project: Uuid,
    input: CreateSessionInput,
) -> Result<sessions::Model> {
    let organization = tx.require(Role::Contributor, "createCollaborationSession")?;
    check_session(
        Some(&input.title),
        input.description.as_deref(),
        input.session_type.as_deref(),
        input.current_phase.as_deref(),
        input.max_participants,
    )?;
    let _: entity::projects::Model = find(tx, project, "projectId", "project").await?;
    let now = now();
    let session: sessions::Model = insert(
        tx,
        sessions::ActiveModel {
            id: Set(Uuid::now_v7()),
            project_id: Set(project),
            created_by: Set(tx.user()),
            title: Set(input.title),
            description: Set(input.description),
            session_type: Set(input.session_type),
            status: Set(Some("active".to_owned())),
            current_phase: Set(input.current_phase),
            session_data: Set(Some(
                input.session_data.map_or(serde_json::json!({}), |j| j.0),
            )),
            started_at: Set(Some(now)),
            ended_at: Set(None),
            max_participants: Set(Some(input.max_participants.unwrap_or(50))),
            requires_approval: Set(Some(input.requires_approval.unwrap_or(false))),
            created_at: Set(Some(now)),
            updated_at: Set(Some(now)),
            organization_id: Set(organization),
        },
    )
    .await?;
    let _: participants::Model = insert(
        tx,
        new_participant(tx, session.id, tx.user(), Role::Owner, true, true),
    )
    .await?;
    Ok(session)
}

/// Changes an active session (its creator, an editing participant, or admins).
pub async fn update_session(
    tx: &Tx<'_>,
    id: Uuid,
    input: UpdateSessionInput,
) -> Result<sessions::Model> {
    tx.require(Role::Contributor, "updateCollaborationSession")?;
    check_session(
        input.title.as_deref(),
        input.description.value().map(String::as_str),
        input.session_type.value().map(String::as_str),
        input.current_phase.value().map(String::as_str),
        input.max_participants,
    )?;
    let old: sessions::Model = find_for_update(tx, id, "id", "collaboration session").await?;
    still_open(&old)?;
    require_editor(tx, &old).await?;
    if let Some(max) = input.max_participants {
        let active = active_participants(tx, id).await?;
        if u64::try_from(max).unwrap_or(0) < active {
            return Err(Error::invalid(
                "input.maxParticipants",
                format!("must not be below the {active} active participants"),
            ));
        }
    }
    let mut row: sessions::ActiveModel = old.clone().into();
    set(&mut row.title, input.title);
    patch(&mut row.description, input.description);
    patch(&mut row.session_type, input.session_type);
    patch(&mut row.current_phase, input.current_phase);
    set(&mut row.session_data, input.session_data.map(|j| Some(j.0)));
    set(&mut row.max_participants, input.max_participants.map(Some));
    set(
        &mut row.requires_approval,
        input.requires_approval.map(Some),
    );
    update(tx, row).await
}

/// Ends an active session (its creator, an editing participant, or admins): its status
/// becomes `ended`, `endedAt` now, and every participant inactive.
pub async fn end_session(tx: &Tx<'_>, id: Uuid) -> Result<sessions::Model> {
    tx.require(Role::Contributor, "endCollaborationSession")?;
    let old: sessions::Model = find_for_update(tx, id, "id", "collaboration session").await?;
    still_open(&old)?;
    require_editor(tx, &old).await?;
    // Every active participant leaves: one statement, however many there are (the
    // database records each change).
    participants::Entity::update_many()
        .col_expr(participants::Column::IsActive, Expr::value(false))
        .filter(participants::Column::SessionId.eq(id))
        .filter(participants::Column::IsActive.eq(true))
        .exec(tx.txn)
        .await?;
    let now = now();
    let mut row: sessions::ActiveModel = old.clone().into();
    row.status = Set(Some("ended".to_owned()));
    row.ended_at = Set(Some(now));
    update(tx, row).await
}

/// Deletes a session and its participants (its creator, or admins). Returns its id.
pub async fn delete_session(tx: &Tx<'_>, id: Uuid) -> Result<Uuid> {
    tx.require(Role::Contributor, "deleteCollaborationSession")?;
    let old: sessions::Model = find(tx, id, "id", "collaboration session").await?;
    require_manager(tx, &old, "deleteCollaborationSession")?;
    delete(tx, &old).await
}

/// Joins an active session with room (any member): viewers join as viewers who cannot
/// edit, others as editing contributors. Joining again reactivates.
pub async fn join_session(tx: &Tx<'_>, id: Uuid) -> Result<participants::Model> {
    tx.require(Role::Viewer, "joinCollaborationSession")?;
    let session: sessions::Model = find_for_update(tx, id, "id", "collaboration session").await?;
    still_open(&session)?;
    let existing = participation(tx, id, tx.user()).await?;
    if let Some(p) = &existing
        && p.is_active != Some(false)
    {
        return Ok(p.clone());
    }
    check_room(tx, &session, "id").await?;
    if let Some(p) = existing {
        let mut row: participants::ActiveModel = p.clone().into();
        row.is_active = Set(Some(true));
        row.last_active_at = Set(Some(now()));
        return update(tx, row).await;
    }
    let (role, can_edit) = if tx.role() == Some(Role::Viewer) {
        (Role::Viewer, false)
    } else {
        (Role::Contributor, true)
    };
    insert(
        tx,
        new_participant(tx, id, tx.user(), role, can_edit, false),
    )
    .await
}

/// Leaves a session (any participant): the participation stays, inactive.
pub async fn leave_session(tx: &Tx<'_>, id: Uuid) -> Result<participants::Model> {
    tx.require(Role::Viewer, "leaveCollaborationSession")?;
    let _: sessions::Model = find(tx, id, "id", "collaboration session").await?;
    let p = participation(tx, id, tx.user())
        .await?
        .ok_or_else(|| Error::invalid("id", format!("you are not in session {id}")))?;
    let mut row: participants::ActiveModel = p.clone().into();
    row.is_active = Set(Some(false));
    row.last_active_at = Set(Some(now()));
    update(tx, row).await
}

/// Adds a member of the organization to an active session with room (the session's
/// creator, or admins).
pub async fn add_participant(
    tx: &Tx<'_>,
    session: Uuid,
    input: AddParticipantInput,
) -> Result<participants::Model> {
    tx.require(Role::Contributor, "addSessionParticipant")?;
    let found: sessions::Model =
        find_for_update(tx, session, "sessionId", "collaboration session").await?;
    require_manager(tx, &found, "addSessionParticipant")?;
    if is_ended(&found) {
        return Err(Error::invalid(
            "sessionId",
            format!("session {session} has ended"),
        ));
    }
    let in_org = member_role(tx, input.user_id, "input.userId").await?;
    let role = input.role.map_or(
        if in_org == Role::Viewer {
            Role::Viewer
        } else {
            Role::Contributor
        },
        Role::from,
    );
    let can_edit = input.can_edit.unwrap_or(in_org != Role::Viewer);
    check_participant_role("input.role", role, in_org, can_edit)?;
    if participation(tx, session, input.user_id).await?.is_some() {
        return Err(Error::conflict(
            "input.userId",
            "is already a participant of the session",
        ));
    }
    check_room(tx, &found, "sessionId").await?;
    insert(
        tx,
        new_participant(
            tx,
            session,
            input.user_id,
            role,
            can_edit,
            input.can_approve.unwrap_or(false),
        ),
    )
    .await
}

/// Changes a participant's role, rights or activity (the session's creator, or admins).
pub async fn update_participant(
    tx: &Tx<'_>,
    id: Uuid,
    input: UpdateParticipantInput,
) -> Result<participants::Model> {
    tx.require(Role::Contributor, "updateSessionParticipant")?;
    let old: participants::Model = find(tx, id, "id", "session participant").await?;
    let session: sessions::Model =
        find_for_update(tx, old.session_id, "id", "collaboration session").await?;
    require_manager(tx, &session, "updateSessionParticipant")?;
    still_open(&session)?;
    let in_org = member_role(tx, old.user_id, "id").await?;
    let role = input
        .role
        .map(Role::from)
        .or(old.role)
        .unwrap_or(Role::Contributor);
    let can_edit = input.can_edit.or(old.can_edit).unwrap_or(false);
    check_participant_role("input.role", role, in_org, can_edit)?;
    if input.is_active == Some(true) && old.is_active == Some(false) {
        check_room(tx, &session, "input.isActive").await?;
    }
    let mut row: participants::ActiveModel = old.clone().into();
    row.role = Set(Some(role));
    row.can_edit = Set(Some(can_edit));
    set(&mut row.can_approve, input.can_approve.map(Some));
    set(&mut row.is_active, input.is_active.map(Some));
    update(tx, row).await
}

/// Removes a participant (the session's creator, or admins). Returns its id.
pub async fn remove_participant(tx: &Tx<'_>, id: Uuid) -> Result<Uuid> {
    tx.require(Role::Contributor, "removeSessionParticipant")?;
    let old: participants::Model = find(tx, id, "id", "session participant").await?;
    let session: sessions::Model = find(tx, old.session_id, "id", "collaboration session").await?;
    require_manager(tx, &session, "removeSessionParticipant")?;
    if old.user_id == session.created_by {
        return Err(Error::invalid(
            "id",
            "the session's creator stays a participant; delete the session instead",
        ));
    }
    delete(tx, &old).await
}

#[cfg(test)]
mod tests {
    use entity::sea_orm_active_enums::CollaborationRole as Role;

    use super::{MAX_PARTICIPANTS, check_participant_role, check_session};

    #[test]
    fn a_participant_is_never_above_their_role_and_viewers_do_not_edit() {
        assert!(check_participant_role("input.role", Role::Admin, Role::Admin, true).is_ok());
        let err = check_participant_role("input.role", Role::Owner, Role::Admin, true)
            .expect_err("above the organization role");
        assert_eq!(err.field(), Some("input.role"));
        let err = check_participant_role("input.role", Role::Viewer, Role::Viewer, true)
            .expect_err("a viewer editing");
        assert_eq!(err.field(), Some("input.canEdit"));
        assert!(check_participant_role("input.role", Role::Viewer, Role::Viewer, false).is_ok());
    }

    #[test]
    fn a_session_holds_one_to_a_thousand() {
        assert!(check_session(Some("t"), None, None, None, Some(MAX_PARTICIPANTS)).is_ok());
        for bad in [0, MAX_PARTICIPANTS + 1] {
            let err =
                check_session(Some("t"), None, None, None, Some(bad)).expect_err("out of range");
            assert_eq!(err.field(), Some("input.maxParticipants"));
        }
        assert!(
            check_session(Some(" "), None, None, None, None).is_err(),
            "blank title"
        );
    }
}
