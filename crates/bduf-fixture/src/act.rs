//! Running a context's commands as a member of an organization, each in a request of its
//! own — one transaction, acting for the member, committed when the command succeeds and
//! rolled back when it fails — for the contexts' own tests, which call their commands
//! without GraphQL.

use std::future::Future;
use std::pin::Pin;

use bduf_core::{Access, Db, RequestTxn, Result, Tx, Viewer};
use entity::sea_orm_active_enums::CollaborationRole;
use uuid::Uuid;

/// A signed-in member of `organization` with `role`, acting there. Its session is made up:
/// commands never read it (sign-out aside).
pub fn member(user: Uuid, organization: Uuid, role: CollaborationRole) -> Viewer {
    Viewer {
        user,
        session: Uuid::now_v7(),
        memberships: vec![(organization, role)],
        organization: Some(organization),
    }
}

/// What a command is, as [`act`] takes it: a function of the command's [`Tx`].
pub type Command<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// Runs `work` as `viewer` in a request of its own (see the module's documentation).
pub async fn act<T, F>(db: &Db, viewer: &Viewer, work: F) -> Result<T>
where
    F: for<'a> FnOnce(&'a Tx<'a>) -> Command<'a, T>,
{
    let txn = RequestTxn::begin(db, Access::Write).await?;
    txn.enter(Some(viewer.clone())).await?;
    match txn.command(work).await {
        Ok(value) => {
            txn.commit().await?;
            Ok(value)
        }
        Err(err) => {
            txn.rollback().await;
            Err(err)
        }
    }
}
