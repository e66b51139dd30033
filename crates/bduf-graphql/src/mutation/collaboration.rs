//! Collaboration sessions and their participants: delegations to
//! `bduf_collaboration::commands`.

use async_graphql::{Context, Object, Result};
use bduf_collaboration::commands::{
    self as collaboration, AddParticipantInput, CreateSessionInput, UpdateParticipantInput,
    UpdateSessionInput,
};
use futures_util::FutureExt as _;
use uuid::Uuid;

use crate::context::command;
use crate::generated::{CollaborationSession, SessionParticipant};

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
        command(ctx, move |tx| {
            collaboration::create_session(tx, project_id, input).boxed()
        })
        .await
    }

    /// Changes an active session (its creator, an editing participant, or admins).
    async fn update_collaboration_session(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: UpdateSessionInput,
    ) -> Result<CollaborationSession> {
        command(ctx, move |tx| {
            collaboration::update_session(tx, id, input).boxed()
        })
        .await
    }

    /// Ends an active session (its creator, an editing participant, or admins): its
    /// status becomes `ended`, `endedAt` now, and every participant inactive.
    async fn end_collaboration_session(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> Result<CollaborationSession> {
        command(ctx, move |tx| collaboration::end_session(tx, id).boxed()).await
    }

    /// Deletes a session and its participants (its creator, or admins). Returns its id.
    async fn delete_collaboration_session(&self, ctx: &Context<'_>, id: Uuid) -> Result<Uuid> {
        command(ctx, move |tx| collaboration::delete_session(tx, id).boxed()).await
    }

    /// Joins an active session with room (any member): viewers join as viewers who
    /// cannot edit, others as editing contributors. Joining again reactivates.
    async fn join_collaboration_session(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> Result<SessionParticipant> {
        command(ctx, move |tx| collaboration::join_session(tx, id).boxed()).await
    }

    /// Leaves a session (any participant): the participation stays, inactive.
    async fn leave_collaboration_session(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> Result<SessionParticipant> {
        command(ctx, move |tx| collaboration::leave_session(tx, id).boxed()).await
    }

    /// Adds a member of the organization to an active session with room (the session's
    /// creator, or admins).
    async fn add_session_participant(
        &self,
        ctx: &Context<'_>,
        session_id: Uuid,
        input: AddParticipantInput,
    ) -> Result<SessionParticipant> {
        command(ctx, move |tx| {
            collaboration::add_participant(tx, session_id, input).boxed()
        })
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
        command(ctx, move |tx| {
            collaboration::update_participant(tx, id, input).boxed()
        })
        .await
    }

    /// Removes a participant (the session's creator, or admins). Returns its id.
    async fn remove_session_participant(&self, ctx: &Context<'_>, id: Uuid) -> Result<Uuid> {
        command(ctx, move |tx| {
            collaboration::remove_participant(tx, id).boxed()
        })
        .await
    }
}
