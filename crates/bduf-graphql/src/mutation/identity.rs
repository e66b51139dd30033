//! Accounts, sessions, organizations and memberships: delegations to
//! `bduf_identity::{auth, commands}`.

use async_graphql::{Context, Object, Result};
use bduf_identity::CollaborationRole as Role;
use bduf_identity::auth::{self, Client, SignUpInput};
use bduf_identity::commands::{
    self as identity, CreateOrganizationInput, ProfileInput, UpdateOrganizationInput,
};
use futures_util::FutureExt as _;
use uuid::Uuid;

use crate::context::{client, command, txn};
use crate::error::OrGql as _;
use crate::generated::{Organization, OrganizationMember, User};
use crate::types::identity::SignedIn;

/// What the client said of itself, for a new session.
fn who(ctx: &Context<'_>) -> Result<Client> {
    let context = client(ctx)?;
    Ok(Client {
        user_agent: context.user_agent.clone(),
        ip: context.ip,
    })
}

/// Mutations of accounts, sessions, organizations and memberships.
#[derive(Default, Debug)]
pub struct IdentityMutation;

#[Object]
impl IdentityMutation {
    /// Creates an account and signs it in.
    async fn sign_up(&self, ctx: &Context<'_>, input: SignUpInput) -> Result<SignedIn> {
        let client = who(ctx)?;
        txn(ctx)?
            .savepoint(move |conn| async move { auth::sign_up(conn, input, &client).await }.boxed())
            .await
            .map(SignedIn::from)
            .or_gql()
    }

    /// Signs in. A wrong email and a wrong password get the same answer; after repeated
    /// failures the email (or the client's address) is refused for a while (`THROTTLED`).
    async fn sign_in(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> Result<SignedIn> {
        let client = who(ctx)?;
        txn(ctx)?
            .savepoint(move |conn| {
                async move { auth::sign_in(conn, &email, password, &client).await }.boxed()
            })
            .await
            .and_then(auth::SignIn::session)
            .map(SignedIn::from)
            .or_gql()
    }

    /// Ends this session (with `everywhere`, every session of the viewer); returns how
    /// many sessions ended.
    async fn sign_out(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] everywhere: bool,
    ) -> Result<u64> {
        command(ctx, move |tx| auth::sign_out(tx, everywhere).boxed()).await
    }

    /// Creates an organization with the viewer as its owner. Later requests act in it
    /// with `X-Organization-Id`; the rest of this request already does.
    async fn create_organization(
        &self,
        ctx: &Context<'_>,
        input: CreateOrganizationInput,
    ) -> Result<Organization> {
        command(ctx, |tx| identity::create_organization(tx, input).boxed()).await
    }

    /// Renames or redescribes the active organization (owners).
    async fn update_organization(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: UpdateOrganizationInput,
    ) -> Result<Organization> {
        command(ctx, move |tx| {
            identity::update_organization(tx, id, input).boxed()
        })
        .await
    }

    /// Deletes the active organization and everything in it (owners). Returns its id.
    async fn delete_organization(&self, ctx: &Context<'_>, id: Uuid) -> Result<Uuid> {
        command(ctx, move |tx| identity::delete_organization(tx, id).boxed()).await
    }

    /// Adds the user with `email` to the active organization (admins; only owners make
    /// owners). `NOT_FOUND` when no account has that email.
    async fn add_member(
        &self,
        ctx: &Context<'_>,
        email: String,
        role: Role,
    ) -> Result<OrganizationMember> {
        command(ctx, move |tx| {
            async move { identity::add_member(tx, &email, role.into()).await }.boxed()
        })
        .await
    }

    /// Changes a member's role (admins; only owners make or unmake owners; the last
    /// owner stays one).
    async fn update_member_role(
        &self,
        ctx: &Context<'_>,
        user_id: Uuid,
        role: Role,
    ) -> Result<OrganizationMember> {
        command(ctx, move |tx| {
            identity::update_member_role(tx, user_id, role.into()).boxed()
        })
        .await
    }

    /// Removes a member from the active organization (admins, or anyone leaving; the
    /// last owner cannot leave). Returns the user's id.
    async fn remove_member(&self, ctx: &Context<'_>, user_id: Uuid) -> Result<Uuid> {
        command(ctx, move |tx| identity::remove_member(tx, user_id).boxed()).await
    }

    /// Updates the viewer's own profile.
    async fn update_me(
        &self,
        ctx: &Context<'_>,
        first_name: Option<String>,
        last_name: Option<String>,
        timezone: Option<String>,
    ) -> Result<User> {
        let input = ProfileInput {
            first_name,
            last_name,
            timezone,
        };
        command(ctx, |tx| identity::update_me(tx, input).boxed()).await
    }
}
