//! Notifications the other commands create, in their own transaction: a task assigned,
//! an approval requested of its approvers or decided for its requester, a reply to a
//! comment, an @mention. Written in batches of [`BATCH`] rows, whatever the fan-out (an
//! approval of 1,000 approvers, a 5,000-task subtree assigned in one call); never to the
//! user who acts, and at most one per recipient and target per call.
//!
//! In-app delivery is immediate: a notification written here is delivered
//! (`delivered_at`) when it is written. Notifications scheduled for later
//! (`scheduled_for` in the future, `delivered_at` unset: written by plain SQL or a future
//! reminder) are delivered by the server's scheduler ([`deliver_due`]): in-app ones only;
//! no e-mail or SMS channel exists yet, so those stay undelivered.

use std::collections::HashSet;

use crate::system::SystemTxn;
use crate::write::BATCH;
use crate::{Result, Tx, now};
use chrono::{DateTime, FixedOffset};
use entity::{notifications, organization_members, users};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QuerySelect,
};
use uuid::Uuid;

/// Most distinct users one comment may notify by mentioning them.
pub const MAX_MENTIONS: usize = 50;

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A task was assigned to the recipient (target: the task).
    TaskAssigned,
    /// The recipient is asked to approve (target: the approval).
    ApprovalRequested,
    /// An approval the recipient requested was decided (target: the approval).
    ApprovalDecided,
    /// Someone replied to the recipient's comment (target: the reply).
    CommentReply,
    /// The recipient was @mentioned in a comment (target: the comment).
    Mention,
}

impl Kind {
    /// The label stored in `notifications.type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::TaskAssigned => "task_assigned",
            Kind::ApprovalRequested => "approval_requested",
            Kind::ApprovalDecided => "approval_decided",
            Kind::CommentReply => "comment_reply",
            Kind::Mention => "mention",
        }
    }
}

/// A notification to write.
#[derive(Debug, Clone)]
pub struct Notice {
    pub user: Uuid,
    pub kind: Kind,
    pub title: String,
    pub message: Option<String>,
    /// `target_type` label: `task`, `approval`, `comment`, …
    pub target_type: &'static str,
    pub target_id: Uuid,
}

/// The longest title a notification keeps (`notifications.title` is `VARCHAR(255)`):
/// longer ones are cut, on a character boundary, with an ellipsis.
const TITLE_CHARS: usize = 255;

fn title(text: &str) -> String {
    if text.chars().count() <= TITLE_CHARS {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(TITLE_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// Writes `notices` in the command's transaction, as delivered now: none to the user
/// who acts, one per recipient, kind and target. Returns how many were written.
pub async fn notify(tx: &Tx<'_>, notices: Vec<Notice>) -> Result<usize> {
    write(tx.txn, tx.organization(), Some(tx.user()), notices).await
}

/// [`notify`] on any connection: `notices` of `organization`, none to `actor`.
pub async fn write(
    conn: &impl ConnectionTrait,
    organization: Uuid,
    actor: Option<Uuid>,
    notices: Vec<Notice>,
) -> Result<usize> {
    let now = now();
    let mut seen = HashSet::new();
    let rows: Vec<notifications::ActiveModel> = notices
        .into_iter()
        .filter(|n| Some(n.user) != actor && seen.insert((n.user, n.kind, n.target_id)))
        .map(|n| notifications::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(n.user),
            r#type: Set(n.kind.as_str().to_owned()),
            title: Set(title(&n.title)),
            message: Set(n.message),
            target_type: Set(Some(n.target_type.to_owned())),
            target_id: Set(Some(n.target_id)),
            is_read: Set(Some(false)),
            read_at: Set(None),
            delivery_method: Set(Some("in-app".to_owned())),
            scheduled_for: Set(Some(now)),
            delivered_at: Set(Some(now)),
            created_at: Set(Some(now)),
            organization_id: Set(organization),
        })
        .collect();
    let written = rows.len();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(BATCH).collect();
        notifications::Entity::insert_many(chunk)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(written)
}

/// The usernames `@mentioned` in `text`, in order of first mention, each once, at most
/// [`MAX_MENTIONS`]. A mention is `@` at the start or after a character that is not part
/// of a name (so `ann@example.com` mentions no one), then letters, digits, `_`, `-` or
/// `.`; a trailing `.` ends the sentence, not the name.
pub fn mentions(text: &str) -> Vec<String> {
    let name_char = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.');
    let mut found: Vec<String> = Vec::new();
    let mut previous: Option<char> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '@' && !previous.is_some_and(name_char) {
            let start = i + 1;
            let mut end = start;
            while let Some(&(j, d)) = chars.peek() {
                if !name_char(d) {
                    break;
                }
                end = j + d.len_utf8();
                chars.next();
            }
            let name = text[start..end].trim_end_matches('.');
            if !name.is_empty() && !found.iter().any(|f| f == name) {
                found.push(name.to_owned());
                if found.len() == MAX_MENTIONS {
                    break;
                }
            }
            previous = text[..end].chars().next_back();
            continue;
        }
        previous = Some(c);
    }
    found
}

/// The members of the active organization among `usernames`.
pub async fn members_named(tx: &Tx<'_>, usernames: &[String]) -> Result<Vec<Uuid>> {
    if usernames.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .inner_join(organization_members::Entity)
        .filter(organization_members::Column::OrganizationId.eq(tx.organization()))
        .filter(users::Column::Username.is_in(usernames.iter().cloned()))
        .into_tuple()
        .all(tx.txn)
        .await?;
    Ok(ids)
}

/// Delivers the in-app notifications whose time has come (`scheduled_for` at or before
/// `now`, not yet delivered), organization by organization, in the scheduler's run.
/// Returns how many.
pub async fn deliver_due(run: &SystemTxn, now: DateTime<FixedOffset>) -> Result<u64> {
    let due = || {
        Condition::all()
            .add(notifications::Column::DeliveredAt.is_null())
            .add(notifications::Column::ScheduledFor.lte(now))
            .add(
                Condition::any()
                    .add(notifications::Column::DeliveryMethod.is_null())
                    .add(notifications::Column::DeliveryMethod.eq("in-app")),
            )
    };
    let organizations: Vec<Uuid> = notifications::Entity::find()
        .select_only()
        .column(notifications::Column::OrganizationId)
        .distinct()
        .filter(due())
        .into_tuple()
        .all(run.conn())
        .await?;
    let mut delivered = 0;
    for organization in organizations {
        run.act_in(organization).await?;
        delivered += notifications::Entity::update_many()
            .col_expr(notifications::Column::DeliveredAt, Expr::value(now))
            .filter(due())
            .filter(notifications::Column::OrganizationId.eq(organization))
            .exec(run.conn())
            .await?
            .rows_affected;
    }
    Ok(delivered)
}

#[cfg(test)]
mod tests {
    use super::{MAX_MENTIONS, mentions, title};

    #[test]
    fn mentions_are_names_after_an_at_sign() {
        assert_eq!(
            mentions("@ann please ask @bob.k. and @ann again; mail ann@example.com, @ alone"),
            ["ann", "bob.k"]
        );
        assert_eq!(mentions("(@zoë), @x_y-z!"), ["zoë", "x_y-z"]);
        assert!(mentions("no one here").is_empty());
        let many: String = (0..200).map(|i| format!("@u{i} ")).collect();
        let found = mentions(&many);
        assert_eq!(found.len(), MAX_MENTIONS);
        assert_eq!(found[MAX_MENTIONS - 1], format!("u{}", MAX_MENTIONS - 1));
    }

    #[test]
    fn a_long_title_is_cut_to_its_column() {
        let long = "é".repeat(400);
        let cut = title(&long);
        assert_eq!(cut.chars().count(), 255);
        assert!(cut.ends_with('…'));
        assert_eq!(title("short"), "short");
    }
}
