//! Approvals, their approvers, and approvers' responses: delegations to
//! `bduf_governance::commands`.

use async_graphql::{Context, Object, Result};
use bduf_governance::commands::{
    self as governance, ApprovalResponse, ApproverInput, CreateApprovalInput, UpdateApprovalInput,
    UpdateApproverInput,
};
use futures_util::FutureExt as _;
use uuid::Uuid;

use crate::context::command;
use crate::generated::{Approval, ApprovalParticipant};

/// Mutations of approvals and their approvers.
#[derive(Default, Debug)]
pub struct GovernanceMutation;

#[Object]
impl GovernanceMutation {
    /// Requests an approval of a record of a project (admins), requested by the viewer,
    /// with its approvers.
    async fn create_approval(
        &self,
        ctx: &Context<'_>,
        project_id: Uuid,
        input: CreateApprovalInput,
    ) -> Result<Approval> {
        command(ctx, move |tx| {
            governance::create_approval(tx, project_id, input).boxed()
        })
        .await
    }

    /// Changes a pending approval (admins).
    async fn update_approval(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: UpdateApprovalInput,
    ) -> Result<Approval> {
        command(ctx, move |tx| {
            governance::update_approval(tx, id, input).boxed()
        })
        .await
    }

    /// Cancels a pending approval (admins), with an optional rationale.
    async fn cancel_approval(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        rationale: Option<String>,
    ) -> Result<Approval> {
        command(ctx, move |tx| {
            governance::cancel_approval(tx, id, rationale).boxed()
        })
        .await
    }

    /// Deletes an approval and its approvers (admins). Returns its id.
    async fn delete_approval(&self, ctx: &Context<'_>, id: Uuid) -> Result<Uuid> {
        command(ctx, move |tx| governance::delete_approval(tx, id).boxed()).await
    }

    /// Adds an approver to a pending approval (admins).
    async fn add_approval_participant(
        &self,
        ctx: &Context<'_>,
        approval_id: Uuid,
        input: ApproverInput,
    ) -> Result<ApprovalParticipant> {
        command(ctx, move |tx| {
            governance::add_approver(tx, approval_id, input).boxed()
        })
        .await
    }

    /// Changes whether an approver is required, or their weight, while the approval is
    /// pending (admins).
    async fn update_approval_participant(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: UpdateApproverInput,
    ) -> Result<ApprovalParticipant> {
        command(ctx, move |tx| {
            governance::update_approver(tx, id, input).boxed()
        })
        .await
    }

    /// Removes an approver from a pending approval (admins). Returns its id.
    async fn remove_approval_participant(&self, ctx: &Context<'_>, id: Uuid) -> Result<Uuid> {
        command(ctx, move |tx| governance::remove_approver(tx, id).boxed()).await
    }

    /// Answers a pending approval the viewer is an approver of (any member), with
    /// optional notes; the answer may change while the approval is pending. Returns the
    /// approval, decided when this answer decides it.
    async fn respond_to_approval(
        &self,
        ctx: &Context<'_>,
        approval_id: Uuid,
        response: ApprovalResponse,
        notes: Option<String>,
    ) -> Result<Approval> {
        command(ctx, move |tx| {
            governance::respond(tx, approval_id, response, notes).boxed()
        })
        .await
    }
}
