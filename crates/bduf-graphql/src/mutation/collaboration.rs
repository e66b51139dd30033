//! Collaboration sessions and their participants.
//!
//! Who may do what, beyond the organization role each field names:
//! - a session is changed or ended by its creator, an editing participant (`canEdit`)
//!   or an admin, and deleted by its creator or an admin;
//! - participants are managed by the session's creator or an admin; a participant may
//!   always leave;
//! - any member joins an active session that has room: viewers as viewers who cannot
//!   edit, contributors and up as editing contributors;
//! - an ended session is read-only.

use async_graphql::{Context, InputObject, Json, MaybeUndefined, Object, Result};
use bduf_core::{Error, rank};
use bduf_identity::CollaborationRole as Role;
use entity::sea_orm_active_enums::CollaborationRole;
use entity::{collaboration_sessions as sessions, session_participants};
use futures_util::FutureExt as _;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

use super::{Tx, check_name, check_range, check_text, db_error, delete, find, insert, now, patch};
use super::{find_for_update, member_role, update, write};
use crate::generated::{CollaborationSession, SessionParticipant};

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
    pub role: Option<Role>,
    /// Whether they may change the session; true when not given (false for viewers).
    pub can_edit: Option<bool>,
    pub can_approve: Option<bool>,
}

/// Changes to a participant.
#[derive(InputObject, Debug, Default)]
pub struct UpdateParticipantInput {
    pub role: Option<Role>,
    pub can_edit: Option<bool>,
    pub can_approve: Option<bool>,
    pub is_active: Option<bool>,
}

fn check_session_text(
    title: Option<&str>,
    description: Option<&str>,
    session_type: Option<&str>,
    current_phase: Option<&str>,
    max_participants: Option<i32>,
) -> bduf_core::Result<()> {
    if let Some(title) = title {
        check_name("input.title", sessions::Column::Title, title)?;
    }
    check_text(
        "input.description",
        sessions::Column::Description,
        description,
    )?;
    check_text(
        "input.sessionType",
        sessions::Column::SessionType,
        session_type,
    )?;
    check_text(
        "input.currentPhase",
        sessions::Column::CurrentPhase,
        current_phase,
    )?;
    check_range(
        "input.maxParticipants",
        max_participants,
        1,
        MAX_PARTICIPANTS,
    )
}

fn is_admin(tx: &Tx<'_>) -> bool {
    tx.viewer
        .role_in(tx.organization)
        .is_some_and(|r| rank(r) >= rank(CollaborationRole::Admin))
}

fn is_ended(session: &sessions::Model) -> bool {
    session.status.as_deref() == Some("ended")
}

fn still_open(session: &sessions::Model) -> bduf_core::Result<()> {
    if is_ended(session) {
        return Err(Error::validation(
            "id",
            format!("session {} has ended and can no longer change", session.id),
        ));
    }
    Ok(())
}

/// The viewer's participation in `session`, if any.
async fn participation(
    tx: &Tx<'_>,
    session: Uuid,
    user: Uuid,
) -> bduf_core::Result<Option<session_participants::Model>> {
    session_participants::Entity::find()
        .filter(session_participants::Column::SessionId.eq(session))
        .filter(session_participants::Column::UserId.eq(user))
        .one(tx.txn)
        .await
        .map_err(db_error)
}

/// Creator or admin, else `FORBIDDEN` naming `action`.
fn require_manager(tx: &Tx<'_>, session: &sessions::Model, action: &str) -> bduf_core::Result<()> {
    if session.created_by == tx.viewer.user || is_admin(tx) {
        return Ok(());
    }
    Err(Error::Forbidden(format!(
        "{action}: only the session's creator or an admin may"
    )))
}

/// Creator, editing participant or admin.
async fn require_editor(tx: &Tx<'_>, session: &sessions::Model) -> bduf_core::Result<()> {
    if session.created_by == tx.viewer.user || is_admin(tx) {
        return Ok(());
    }
    let editing = participation(tx, session.id, tx.viewer.user)
        .await?
        .is_some_and(|p| p.is_active != Some(false) && p.can_edit == Some(true));
    if editing {
        return Ok(());
    }
    Err(Error::Forbidden(
        "changing a session needs its creator, an editing participant or an admin".into(),
    ))
}

async fn active_participants(tx: &Tx<'_>, session: Uuid) -> bduf_core::Result<u64> {
    session_participants::Entity::find()
        .filter(session_participants::Column::SessionId.eq(session))
        .filter(session_participants::Column::IsActive.eq(true))
        .count(tx.txn)
        .await
        .map_err(db_error)
}

/// Room for one more active participant in `session`, else `VALIDATION`.
async fn check_room(tx: &Tx<'_>, session: &sessions::Model, field: &str) -> bduf_core::Result<()> {
    let max = session.max_participants.unwrap_or(50);
    let active = active_participants(tx, session.id).await?;
    if active >= u64::try_from(max).unwrap_or(0) {
        return Err(Error::validation(
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
fn check_participant_role(
    field: &str,
    role: CollaborationRole,
    in_org: CollaborationRole,
    can_edit: bool,
) -> bduf_core::Result<()> {
    if rank(role) > rank(in_org) {
        return Err(Error::validation(
            field,
            "must not be above the user's role in the organization",
        ));
    }
    if can_edit && in_org == CollaborationRole::Viewer {
        return Err(Error::validation(
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
    role: CollaborationRole,
    can_edit: bool,
    can_approve: bool,
) -> session_participants::ActiveModel {
    let now = now();
    session_participants::ActiveModel {
        id: Set(Uuid::now_v7()),
        session_id: Set(session),
        user_id: Set(user),
        role: Set(Some(role)),
        joined_at: Set(Some(now)),
        last_active_at: Set(Some(now)),
        is_active: Set(Some(true)),
        can_edit: Set(Some(can_edit)),
        can_approve: Set(Some(can_approve)),
        organization_id: Set(tx.organization),
    }
}

/// Mutations of collaboration sessions and their participants.
#[derive(Default, Debug)]
pub struct CollaborationMutation;

#[Object]
impl CollaborationMutation {
    /// Opens a collaboration session on a project (contributors); the viewer is its
    /// creator and first participant, with the role OWNER, editing and approving.
    async fn create_collaboration_session(
        &self,
        ctx: &Context<'_>,
        project_id: Uuid,
        input: CreateSessionInput,
    ) -> Result<CollaborationSession> {
        write(
            ctx,
            CollaborationRole::Contributor,
            "createCollaborationSession",
            move |tx| {
                async move {
                    check_session_text(
                        Some(&input.title),
                        input.description.as_deref(),
                        input.session_type.as_deref(),
                        input.current_phase.as_deref(),
                        input.max_participants,
                    )?;
                    find::<entity::projects::Model>(tx, project_id, "projectId", "project").await?;
                    let now = now();
                    let session: sessions::Model = insert(
                        tx,
                        sessions::ActiveModel {
                            id: Set(Uuid::now_v7()),
                            project_id: Set(project_id),
                            created_by: Set(tx.viewer.user),
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
                            organization_id: Set(tx.organization),
                        },
                    )
                    .await?;
                    let _: session_participants::Model = insert(
                        tx,
                        new_participant(
                            tx,
                            session.id,
                            tx.viewer.user,
                            CollaborationRole::Owner,
                            true,
                            true,
                        ),
                    )
                    .await?;
                    Ok(CollaborationSession::from(session))
                }
                .boxed()
            },
        )
        .await
    }

    /// Changes an active session (its creator, an editing participant, or admins).
    async fn update_collaboration_session(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: UpdateSessionInput,
    ) -> Result<CollaborationSession> {
        write(
            ctx,
            CollaborationRole::Contributor,
            "updateCollaborationSession",
            move |tx| {
                async move {
                    check_session_text(
                        input.title.as_deref(),
                        input.description.value().map(String::as_str),
                        input.session_type.value().map(String::as_str),
                        input.current_phase.value().map(String::as_str),
                        input.max_participants,
                    )?;
                    let old: sessions::Model =
                        find_for_update(tx, id, "id", "collaboration session").await?;
                    still_open(&old)?;
                    require_editor(tx, &old).await?;
                    if let Some(max) = input.max_participants {
                        let active = active_participants(tx, id).await?;
                        if u64::try_from(max).unwrap_or(0) < active {
                            return Err(Error::validation(
                                "input.maxParticipants",
                                format!("must not be below the {active} active participants"),
                            ));
                        }
                    }
                    let mut row: sessions::ActiveModel = old.clone().into();
                    if let Some(v) = input.title {
                        row.title = Set(v);
                    }
                    patch(&mut row.description, input.description);
                    patch(&mut row.session_type, input.session_type);
                    patch(&mut row.current_phase, input.current_phase);
                    if let Some(j) = input.session_data {
                        row.session_data = Set(Some(j.0));
                    }
                    if let Some(v) = input.max_participants {
                        row.max_participants = Set(Some(v));
                    }
                    if let Some(v) = input.requires_approval {
                        row.requires_approval = Set(Some(v));
                    }
                    row.updated_at = Set(Some(now()));
                    Ok(CollaborationSession::from(update(tx, &old, row).await?))
                }
                .boxed()
            },
        )
        .await
    }

    /// Ends an active session (its creator, an editing participant, or admins): its
    /// status becomes `ended`, `endedAt` now, and every participant inactive.
    async fn end_collaboration_session(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> Result<CollaborationSession> {
        write(
            ctx,
            CollaborationRole::Contributor,
            "endCollaborationSession",
            move |tx| {
                async move {
                    let old: sessions::Model =
                        find_for_update(tx, id, "id", "collaboration session").await?;
                    still_open(&old)?;
                    require_editor(tx, &old).await?;
                    let participants = session_participants::Entity::find()
                        .filter(session_participants::Column::SessionId.eq(id))
                        .filter(session_participants::Column::IsActive.eq(true))
                        .all(tx.txn)
                        .await
                        .map_err(db_error)?;
                    for p in participants {
                        let mut row: session_participants::ActiveModel = p.clone().into();
                        row.is_active = Set(Some(false));
                        update(tx, &p, row).await?;
                    }
                    let now = now();
                    let mut row: sessions::ActiveModel = old.clone().into();
                    row.status = Set(Some("ended".to_owned()));
                    row.ended_at = Set(Some(now));
                    row.updated_at = Set(Some(now));
                    Ok(CollaborationSession::from(update(tx, &old, row).await?))
                }
                .boxed()
            },
        )
        .await
    }

    /// Deletes a session and its participants (its creator, or admins). Returns its id.
    async fn delete_collaboration_session(&self, ctx: &Context<'_>, id: Uuid) -> Result<Uuid> {
        write(
            ctx,
            CollaborationRole::Contributor,
            "deleteCollaborationSession",
            move |tx| {
                async move {
                    let old: sessions::Model = find(tx, id, "id", "collaboration session").await?;
                    require_manager(tx, &old, "deleteCollaborationSession")?;
                    delete(tx, &old).await
                }
                .boxed()
            },
        )
        .await
    }

    /// Joins an active session with room (any member): viewers join as viewers who
    /// cannot edit, others as editing contributors. Joining again reactivates.
    async fn join_collaboration_session(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> Result<SessionParticipant> {
        write(
            ctx,
            CollaborationRole::Viewer,
            "joinCollaborationSession",
            move |tx| {
                async move {
                    let session: sessions::Model =
                        find_for_update(tx, id, "id", "collaboration session").await?;
                    still_open(&session)?;
                    let existing = participation(tx, id, tx.viewer.user).await?;
                    if let Some(p) = &existing
                        && p.is_active != Some(false)
                    {
                        return Ok(SessionParticipant::from(p.clone()));
                    }
                    check_room(tx, &session, "id").await?;
                    let now = now();
                    if let Some(p) = existing {
                        let mut row: session_participants::ActiveModel = p.clone().into();
                        row.is_active = Set(Some(true));
                        row.last_active_at = Set(Some(now));
                        return Ok(SessionParticipant::from(update(tx, &p, row).await?));
                    }
                    let viewer_only =
                        tx.viewer.role_in(tx.organization) == Some(CollaborationRole::Viewer);
                    let (role, can_edit) = if viewer_only {
                        (CollaborationRole::Viewer, false)
                    } else {
                        (CollaborationRole::Contributor, true)
                    };
                    let p: session_participants::Model = insert(
                        tx,
                        new_participant(tx, id, tx.viewer.user, role, can_edit, false),
                    )
                    .await?;
                    Ok(SessionParticipant::from(p))
                }
                .boxed()
            },
        )
        .await
    }

    /// Leaves a session (any participant): the participation stays, inactive.
    async fn leave_collaboration_session(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> Result<SessionParticipant> {
        write(
            ctx,
            CollaborationRole::Viewer,
            "leaveCollaborationSession",
            move |tx| {
                async move {
                    let _: sessions::Model = find(tx, id, "id", "collaboration session").await?;
                    let p = participation(tx, id, tx.viewer.user)
                        .await?
                        .ok_or_else(|| {
                            Error::validation("id", format!("you are not in session {id}"))
                        })?;
                    let mut row: session_participants::ActiveModel = p.clone().into();
                    row.is_active = Set(Some(false));
                    row.last_active_at = Set(Some(now()));
                    Ok(SessionParticipant::from(update(tx, &p, row).await?))
                }
                .boxed()
            },
        )
        .await
    }

    /// Adds a member of the organization to an active session with room (the session's
    /// creator, or admins).
    async fn add_session_participant(
        &self,
        ctx: &Context<'_>,
        session_id: Uuid,
        input: AddParticipantInput,
    ) -> Result<SessionParticipant> {
        write(
            ctx,
            CollaborationRole::Contributor,
            "addSessionParticipant",
            move |tx| {
                async move {
                    let session: sessions::Model =
                        find_for_update(tx, session_id, "sessionId", "collaboration session")
                            .await?;
                    require_manager(tx, &session, "addSessionParticipant")?;
                    still_open(&session).map_err(|_| {
                        Error::validation("sessionId", format!("session {session_id} has ended"))
                    })?;
                    let in_org = member_role(tx, input.user_id, "input.userId").await?;
                    let role = input.role.map_or(
                        if in_org == CollaborationRole::Viewer {
                            CollaborationRole::Viewer
                        } else {
                            CollaborationRole::Contributor
                        },
                        CollaborationRole::from,
                    );
                    let can_edit = input
                        .can_edit
                        .unwrap_or(in_org != CollaborationRole::Viewer);
                    check_participant_role("input.role", role, in_org, can_edit)?;
                    if participation(tx, session_id, input.user_id)
                        .await?
                        .is_some()
                    {
                        return Err(Error::conflict(
                            "input.userId",
                            "is already a participant of the session",
                        ));
                    }
                    check_room(tx, &session, "sessionId").await?;
                    let p: session_participants::Model = insert(
                        tx,
                        new_participant(
                            tx,
                            session_id,
                            input.user_id,
                            role,
                            can_edit,
                            input.can_approve.unwrap_or(false),
                        ),
                    )
                    .await?;
                    Ok(SessionParticipant::from(p))
                }
                .boxed()
            },
        )
        .await
    }

    /// Changes a participant's role, rights or activity (the session's creator, or
    /// admins).
    async fn update_session_participant(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: UpdateParticipantInput,
    ) -> Result<SessionParticipant> {
        write(
            ctx,
            CollaborationRole::Contributor,
            "updateSessionParticipant",
            move |tx| {
                async move {
                    let old: session_participants::Model =
                        find(tx, id, "id", "session participant").await?;
                    let session: sessions::Model =
                        find_for_update(tx, old.session_id, "id", "collaboration session").await?;
                    require_manager(tx, &session, "updateSessionParticipant")?;
                    still_open(&session)?;
                    let in_org = member_role(tx, old.user_id, "id").await?;
                    let role = input
                        .role
                        .map(CollaborationRole::from)
                        .or(old.role)
                        .unwrap_or(CollaborationRole::Contributor);
                    let can_edit = input.can_edit.or(old.can_edit).unwrap_or(false);
                    check_participant_role("input.role", role, in_org, can_edit)?;
                    if input.is_active == Some(true) && old.is_active == Some(false) {
                        check_room(tx, &session, "input.isActive").await?;
                    }
                    let mut row: session_participants::ActiveModel = old.clone().into();
                    row.role = Set(Some(role));
                    row.can_edit = Set(Some(can_edit));
                    if let Some(v) = input.can_approve {
                        row.can_approve = Set(Some(v));
                    }
                    if let Some(v) = input.is_active {
                        row.is_active = Set(Some(v));
                    }
                    Ok(SessionParticipant::from(update(tx, &old, row).await?))
                }
                .boxed()
            },
        )
        .await
    }

    /// Removes a participant (the session's creator, or admins). Returns its id.
    async fn remove_session_participant(&self, ctx: &Context<'_>, id: Uuid) -> Result<Uuid> {
        write(
            ctx,
            CollaborationRole::Contributor,
            "removeSessionParticipant",
            move |tx| {
                async move {
                    let old: session_participants::Model =
                        find(tx, id, "id", "session participant").await?;
                    let session: sessions::Model =
                        find(tx, old.session_id, "id", "collaboration session").await?;
                    require_manager(tx, &session, "removeSessionParticipant")?;
                    if old.user_id == session.created_by {
                        return Err(Error::validation(
                            "id",
                            "the session's creator stays a participant; delete the session instead",
                        ));
                    }
                    delete(tx, &old).await
                }
                .boxed()
            },
        )
        .await
    }
}
