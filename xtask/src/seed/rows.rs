//! The rows of the seed data as `COPY … FROM STDIN` text, table by table in foreign-key
//! order, each table's rows in the plan's insertion order. Free text and JSON columns get
//! realistic sizes (descriptions of a few hundred bytes, small JSON arrays and objects),
//! and every value keeps to its column's rules: lengths, `CHECK` ranges, enum labels.

use std::borrow::Cow;
use std::fmt::Write as _;

use anyhow::{Result, bail};
use bduf_fixture::{
    AnalysisType, ApprovalStatus, CollaborationRole as Role, ProjectStatus, TaskStatus, label,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sea_orm::ActiveEnum;
use sea_orm::sea_query::Enum;
use uuid::Uuid;

use super::format::{self, array, object, strings};
use super::plan::{DAY, END, HOUR, Kind, MINUTE, Micros, Plan, later, v7};
use super::text::{self, capitalize, paragraph, pick, sentence, truncate, weighted};

/// A table and the columns its rows fill, in order.
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [&'static str],
}

/// Some rows of one table, in `COPY` text format.
#[derive(Debug)]
pub struct Chunk {
    pub table: &'static Table,
    pub data: String,
    pub rows: u64,
}

/// Chunks are handed on when they reach about this size.
const CHUNK_BYTES: usize = 1 << 20;

#[rustfmt::skip]
pub const USERS: Table = Table {
    name: "users",
    columns: &[
        "id", "email", "username", "password_hash", "first_name", "last_name", "avatar_url",
        "timezone", "preferences", "is_active", "email_verified", "last_login_at",
        "created_at", "updated_at",
    ],
};
#[rustfmt::skip]
pub const ORGANIZATIONS: Table = Table {
    name: "organizations",
    columns: &[
        "id", "name", "slug", "description", "settings", "is_active", "created_at",
        "updated_at",
    ],
};
#[rustfmt::skip]
pub const ORGANIZATION_MEMBERS: Table = Table {
    name: "organization_members",
    columns: &[
        "id", "organization_id", "user_id", "role", "permissions", "joined_at",
    ],
};
#[rustfmt::skip]
pub const PROJECTS: Table = Table {
    name: "projects",
    columns: &[
        "id", "organization_id", "created_by", "name", "description", "status",
        "project_type", "industry", "complexity_score", "estimated_duration_weeks",
        "estimated_budget", "currency", "technology_stack", "constraints", "assumptions",
        "version", "is_archived", "archived_at", "created_at", "updated_at",
    ],
};
#[rustfmt::skip]
pub const REQUIREMENTS: Table = Table {
    name: "requirements",
    columns: &[
        "id", "project_id", "parent_id", "title", "description", "acceptance_criteria",
        "priority", "category", "complexity_score", "effort_estimate_hours", "dependencies",
        "is_validated", "validation_notes", "created_at", "updated_at",
        "organization_id",
    ],
};
#[rustfmt::skip]
pub const COMPONENTS: Table = Table {
    name: "architectural_components",
    columns: &[
        "id", "project_id", "parent_id", "name", "type", "description", "technology",
        "patterns", "interfaces", "dependencies", "scalability_requirements",
        "performance_requirements", "security_requirements", "implementation_status",
        "created_at", "updated_at",
        "organization_id",
    ],
};
#[rustfmt::skip]
pub const ANALYSES: Table = Table {
    name: "analyses",
    columns: &[
        "id", "project_id", "type", "title", "description", "methodology", "findings",
        "recommendations", "risks", "opportunities", "confidence_score",
        "completeness_score", "processing_time_seconds", "ai_model_used", "context_sources",
        "status", "created_at", "updated_at",
        "organization_id",
    ],
};
#[rustfmt::skip]
pub const TASKS: Table = Table {
    name: "tasks",
    columns: &[
        "id", "project_id", "parent_id", "title", "description", "acceptance_criteria",
        "work_type", "priority", "complexity_score", "estimated_hours", "actual_hours",
        "dependencies", "blockers", "assigned_to", "status", "progress_percentage",
        "planned_start_date", "planned_end_date", "actual_start_date", "actual_end_date",
        "created_at", "updated_at",
        "organization_id",
    ],
};
#[rustfmt::skip]
pub const SESSIONS: Table = Table {
    name: "collaboration_sessions",
    columns: &[
        "id", "project_id", "created_by", "title", "description", "session_type", "status",
        "current_phase", "session_data", "started_at", "ended_at", "max_participants",
        "requires_approval", "created_at", "updated_at",
        "organization_id",
    ],
};
#[rustfmt::skip]
pub const SESSION_PARTICIPANTS: Table = Table {
    name: "session_participants",
    columns: &[
        "id", "session_id", "user_id", "role", "joined_at", "last_active_at", "is_active",
        "can_edit", "can_approve",
        "organization_id",
    ],
};
#[rustfmt::skip]
pub const APPROVALS: Table = Table {
    name: "approvals",
    columns: &[
        "id", "project_id", "requested_by", "title", "description", "approval_type",
        "target_type", "target_id", "status", "decision_rationale", "conditions",
        "requires_unanimous", "required_approver_count", "auto_approve_after_hours",
        "approved_by", "rejected_by", "resolved_at", "created_at", "updated_at",
        "organization_id",
    ],
};
#[rustfmt::skip]
pub const APPROVAL_PARTICIPANTS: Table = Table {
    name: "approval_participants",
    columns: &[
        "id", "approval_id", "user_id", "response", "response_notes", "responded_at",
        "is_required", "weight",
        "organization_id",
    ],
};
#[rustfmt::skip]
pub const COMMENTS: Table = Table {
    name: "comments",
    columns: &[
        "id", "target_type", "target_id", "author_id", "content", "content_type",
        "parent_id", "thread_id", "is_resolved", "resolved_by", "resolved_at", "created_at",
        "updated_at",
        "organization_id",
    ],
};
#[rustfmt::skip]
pub const NOTIFICATIONS: Table = Table {
    name: "notifications",
    columns: &[
        "id", "user_id", "type", "title", "message", "target_type", "target_id", "is_read",
        "read_at", "delivery_method", "scheduled_for", "delivered_at", "created_at",
        "organization_id",
    ],
};
#[rustfmt::skip]
pub const AUDIT_LOG: Table = Table {
    name: "audit_log",
    columns: &[
        "id", "table_name", "record_id", "operation", "user_id", "session_id", "old_values",
        "new_values", "changed_fields", "change_reason", "client_ip", "user_agent",
        "created_at",
        "organization_id", "seq", "request_id", "source",
    ],
};

/// Every table the seed fills, parents before children.
pub const TABLES: [&Table; 15] = [
    &USERS,
    &ORGANIZATIONS,
    &ORGANIZATION_MEMBERS,
    &PROJECTS,
    &REQUIREMENTS,
    &COMPONENTS,
    &ANALYSES,
    &TASKS,
    &SESSIONS,
    &SESSION_PARTICIPANTS,
    &APPROVALS,
    &APPROVAL_PARTICIPANTS,
    &COMMENTS,
    &NOTIFICATIONS,
    &AUDIT_LOG,
];

/// How many rows the plan gives each table of [`TABLES`].
pub fn counts(plan: &Plan) -> [u64; 15] {
    [
        plan.users.len(),
        plan.orgs.len(),
        plan.members.len(),
        plan.projects.len(),
        plan.requirements.rows.len(),
        plan.components.rows.len(),
        plan.analyses.rows.len(),
        plan.tasks.rows.len(),
        plan.sessions.rows.len(),
        plan.session_participants.len(),
        plan.approvals.rows.len(),
        plan.approval_participants.len(),
        plan.comments.rows.len(),
        plan.notifications.len(),
        plan.audit_entries.len(),
    ]
    .map(|n| n as u64)
}

/// Writes the rows of one table.
type Writer = fn(&Plan, &mut ChaCha8Rng, &mut Copy) -> Result<()>;

/// Writes every row of the plan, handing `sink` chunks of at most about a megabyte.
pub fn write(plan: &Plan, sink: &mut dyn FnMut(Chunk) -> Result<()>) -> Result<()> {
    let writers: [Writer; 15] = [
        users,
        organizations,
        organization_members,
        projects,
        requirements,
        components,
        analyses,
        tasks,
        sessions,
        session_participants,
        approvals,
        approval_participants,
        comments,
        notifications,
        audit_log,
    ];
    for (i, (table, writer)) in TABLES.into_iter().zip(writers).enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(plan.seed);
        rng.set_stream(100 + i as u64);
        let mut copy = Copy {
            table,
            buf: String::with_capacity(CHUNK_BYTES + 64 * 1024),
            rows: 0,
            fields: 0,
            sink: &mut *sink,
        };
        writer(plan, &mut rng, &mut copy)?;
        copy.flush()?;
    }
    Ok(())
}

/// The organization of project `project`: every tenant row's `organization_id`.
fn org_id(plan: &Plan, project: u32) -> Uuid {
    plan.orgs[plan.projects[project as usize].org as usize].id
}

/// Builds the rows of one table.
struct Copy<'s> {
    table: &'static Table,
    buf: String,
    rows: u64,
    fields: usize,
    sink: &'s mut dyn FnMut(Chunk) -> Result<()>,
}

// Writing to a `String` cannot fail, hence the ignored `write!` results below.
impl Copy<'_> {
    fn field(&mut self) -> &mut String {
        if self.fields > 0 {
            self.buf.push('\t');
        }
        self.fields += 1;
        &mut self.buf
    }

    fn null(&mut self) -> &mut Self {
        self.field().push_str("\\N");
        self
    }

    fn text(&mut self, value: &str) -> &mut Self {
        escape_into(self.field(), value);
        self
    }

    fn opt_text(&mut self, value: Option<&str>) -> &mut Self {
        match value {
            Some(v) => self.text(v),
            None => self.null(),
        }
    }

    fn uuid(&mut self, id: Uuid) -> &mut Self {
        let mut encoded = Uuid::encode_buffer();
        let text = id.hyphenated().encode_lower(&mut encoded);
        self.field().push_str(text);
        self
    }

    fn opt_uuid(&mut self, id: Option<Uuid>) -> &mut Self {
        match id {
            Some(id) => self.uuid(id),
            None => self.null(),
        }
    }

    fn int(&mut self, value: i64) -> &mut Self {
        let _ = write!(self.field(), "{value}");
        self
    }

    fn opt_int(&mut self, value: Option<i64>) -> &mut Self {
        match value {
            Some(v) => self.int(v),
            None => self.null(),
        }
    }

    fn bool(&mut self, value: bool) -> &mut Self {
        self.field().push(if value { 't' } else { 'f' });
        self
    }

    /// A `NUMERIC(_, 2)` from hundredths.
    fn hundredths(&mut self, value: i64) -> &mut Self {
        let _ = write!(self.field(), "{}.{:02}", value / 100, value % 100);
        self
    }

    fn opt_hundredths(&mut self, value: Option<i64>) -> &mut Self {
        match value {
            Some(v) => self.hundredths(v),
            None => self.null(),
        }
    }

    fn ts(&mut self, at: Micros) -> &mut Self {
        format::push_timestamp(self.field(), at);
        self
    }

    fn opt_ts(&mut self, at: Option<Micros>) -> &mut Self {
        match at {
            Some(at) => self.ts(at),
            None => self.null(),
        }
    }

    fn date(&mut self, at: Micros) -> &mut Self {
        format::push_date(self.field(), at);
        self
    }

    fn opt_date(&mut self, at: Option<Micros>) -> &mut Self {
        match at {
            Some(at) => self.date(at),
            None => self.null(),
        }
    }

    /// A JSON value, given as JSON text.
    fn json(&mut self, text: &str) -> &mut Self {
        escape_into(self.field(), text);
        self
    }

    /// Ends the row, checking it has a value for every column.
    fn end(&mut self) -> Result<()> {
        if self.fields != self.table.columns.len() {
            bail!(
                "a row of {} has {} values for {} columns",
                self.table.name,
                self.fields,
                self.table.columns.len()
            );
        }
        self.buf.push('\n');
        self.fields = 0;
        self.rows += 1;
        if self.buf.len() >= CHUNK_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let data = std::mem::replace(
            &mut self.buf,
            String::with_capacity(CHUNK_BYTES + 64 * 1024),
        );
        let rows = std::mem::take(&mut self.rows);
        (self.sink)(Chunk {
            table: self.table,
            data,
            rows,
        })
    }
}

/// Appends `value` escaped for `COPY`'s text format.
fn escape_into(buf: &mut String, value: &str) {
    if !value.contains(['\\', '\t', '\n', '\r']) {
        buf.push_str(value);
        return;
    }
    for c in value.chars() {
        match c {
            '\\' => buf.push_str("\\\\"),
            '\t' => buf.push_str("\\t"),
            '\n' => buf.push_str("\\n"),
            '\r' => buf.push_str("\\r"),
            c => buf.push(c),
        }
    }
}

/// The labels of one of the schema's enums, each made once: [`label`] builds the enum's
/// type name anew on every call, a cost millions of rows would feel.
struct Labels<E>(Vec<(E, Cow<'static, str>)>);

impl<E: ActiveEnum<Value = Enum> + std::marker::Copy + PartialEq> Labels<E> {
    fn new() -> Self {
        Self(E::iter().map(|value| (value, label(value))).collect())
    }

    /// The label of `value`.
    fn of(&self, value: E) -> &str {
        self.0
            .iter()
            .find(|(v, _)| *v == value)
            .map_or("", |(_, label)| label)
    }
}

/// `value` with the given probability, else `None`.
fn sometimes<T>(
    rng: &mut ChaCha8Rng,
    probability: f64,
    value: impl FnOnce(&mut ChaCha8Rng) -> T,
) -> Option<T> {
    if rng.random_bool(probability) {
        Some(value(rng))
    } else {
        None
    }
}

/// A few distinct items of `items`, as a JSON array of strings.
fn some_of(rng: &mut impl Rng, items: &[&str], n: std::ops::RangeInclusive<usize>) -> String {
    let n = rng.random_range(n).min(items.len());
    let mut chosen: Vec<&str> = Vec::with_capacity(n);
    while chosen.len() < n {
        let item = pick(rng, items);
        if !chosen.contains(&item) {
            chosen.push(item);
        }
    }
    strings(chosen)
}

/// A JSON array of `n` sentences.
fn sentences(rng: &mut impl Rng, n: std::ops::RangeInclusive<u32>) -> String {
    let n = rng.random_range(n);
    strings((0..n).map(|_| sentence(rng)))
}

/// A JSON array of the ids of one to `max` random rows of the same project.
fn sibling_ids(
    rng: &mut impl Rng,
    rows: &[super::plan::Node],
    project: u32,
    per_project: u32,
    max: u32,
) -> String {
    let n = rng.random_range(1..=max);
    strings((0..n).map(|_| {
        let other = project * per_project + rng.random_range(0..per_project);
        rows[other as usize].id.to_string()
    }))
}

fn updated(rng: &mut impl Rng, created: Micros) -> Micros {
    if rng.random_bool(0.3) {
        created
    } else {
        later(created, MINUTE, 90 * DAY, rng)
    }
}

fn users(plan: &Plan, rng: &mut ChaCha8Rng, out: &mut Copy) -> Result<()> {
    const DOMAINS: &[&str] = &["example.com", "example.org", "example.net"];
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (u, user) in plan.users.iter().enumerate() {
        let first = pick(rng, text::FIRST_NAMES);
        let last = pick(rng, text::LAST_NAMES);
        let username = format!(
            "{}.{}{u}",
            first.to_ascii_lowercase(),
            text::slug(last).replace('-', "")
        );
        let hash: String = (0..65)
            .map(|_| char::from(B64[rng.random_range(0..B64.len())]))
            .collect();
        let preferences = object()
            .str("theme", pick(rng, &["light", "dark", "system"]))
            .str(
                "locale",
                pick(rng, &["en-GB", "en-US", "de-DE", "fr-FR", "ja-JP", "pt-BR"]),
            )
            .raw(
                "notifications",
                &object()
                    .bool("email", rng.random_bool(0.7))
                    .str("digest", pick(rng, &["off", "daily", "weekly"]))
                    .end(),
            )
            .raw(
                "dashboard",
                &object()
                    .str("default_view", pick(rng, &["board", "list", "timeline"]))
                    .end(),
            )
            .end();
        let last_login = sometimes(rng, 0.8, |r| {
            later(user.created, HOUR, END - user.created, r)
        });
        out.uuid(user.id)
            .text(&format!("{username}@{}", pick(rng, DOMAINS)))
            .text(&username)
            .text(&format!(
                "$argon2id$v=19$m=19456,t=2,p=1${}${}",
                &hash[..22],
                &hash[22..]
            ))
            .text(first)
            .text(last)
            .opt_text(
                sometimes(rng, 0.7, |_| {
                    format!("https://avatars.example.com/{username}.png")
                })
                .as_deref(),
            )
            .text(pick(rng, text::TIMEZONES))
            .json(&preferences)
            .bool(rng.random_bool(0.95))
            .bool(rng.random_bool(0.85))
            .opt_ts(last_login)
            .ts(user.created)
            .ts(updated(rng, user.created))
            .end()?;
    }
    Ok(())
}

fn organizations(plan: &Plan, rng: &mut ChaCha8Rng, out: &mut Copy) -> Result<()> {
    for (o, org) in plan.orgs.iter().enumerate() {
        let name = format!(
            "{} {}",
            pick(rng, text::ORG_NAMES),
            pick(rng, text::ORG_KINDS)
        );
        let settings = object()
            .str("default_currency", pick(rng, &["USD", "EUR", "GBP"]))
            .raw("working_days", "[1,2,3,4,5]")
            .bool("sso", rng.random_bool(0.4))
            .num("retention_days", pick(rng, &[365, 730, 2555]))
            .raw(
                "approval_policy",
                &object()
                    .num("required_approvers", rng.random_range(1..=3))
                    .bool("unanimous", rng.random_bool(0.2))
                    .end(),
            )
            .end();
        out.uuid(org.id)
            .text(&name)
            .text(&format!("{}-{o}", text::slug(&name)))
            .text(&paragraph(rng, 2..=4))
            .json(&settings)
            .bool(rng.random_bool(0.97))
            .ts(org.created)
            .ts(updated(rng, org.created))
            .end()?;
    }
    Ok(())
}

fn organization_members(plan: &Plan, rng: &mut ChaCha8Rng, out: &mut Copy) -> Result<()> {
    let roles = Labels::<Role>::new();
    for member in &plan.members {
        let permissions = match member.role {
            Role::Owner => r#"["org:admin","projects:write","billing:manage"]"#,
            Role::Admin => r#"["projects:write","members:invite"]"#,
            Role::Viewer => r#"["projects:read"]"#,
            Role::Contributor => r#"["projects:read","tasks:write","comments:write"]"#,
        };
        out.uuid(v7(member.joined, rng))
            .uuid(plan.orgs[member.org as usize].id)
            .uuid(plan.users[member.user as usize].id)
            .text(roles.of(member.role))
            .json(permissions)
            .ts(member.joined)
            .end()?;
    }
    Ok(())
}

fn projects(plan: &Plan, rng: &mut ChaCha8Rng, out: &mut Copy) -> Result<()> {
    let statuses = Labels::<ProjectStatus>::new();
    for &p in &plan.project_order {
        let project = &plan.projects[p as usize];
        let status = weighted(
            rng,
            &[
                (ProjectStatus::Active, 45),
                (ProjectStatus::Draft, 20),
                (ProjectStatus::Completed, 15),
                (ProjectStatus::Archived, 10),
                (ProjectStatus::Cancelled, 10),
            ],
        );
        let archived = status == ProjectStatus::Archived;
        let deadline = later(project.created, 90 * DAY, 720 * DAY, rng);
        let constraints = object()
            .str("deadline", &format::date(deadline))
            .num("budget_cap", rng.random_range(50..5_000) * 1_000)
            .raw(
                "compliance",
                &some_of(
                    rng,
                    &["GDPR", "SOC 2", "HIPAA", "ISO 27001", "PCI DSS"],
                    0..=2,
                ),
            )
            .bool("on_call", rng.random_bool(0.5))
            .end();
        out.uuid(project.id)
            .uuid(plan.orgs[project.org as usize].id)
            .uuid(plan.users[project.creator as usize].id)
            .text(&format!(
                "{} {}",
                pick(rng, text::PROJECT_DOMAINS),
                pick(rng, text::PROJECT_KINDS)
            ))
            .text(&paragraph(rng, 3..=6))
            .text(statuses.of(status))
            .text(pick(rng, text::PROJECT_TYPES))
            .text(pick(rng, text::INDUSTRIES))
            .int(rng.random_range(1..=10))
            .opt_int(sometimes(rng, 0.9, |r| r.random_range(4..=104)))
            .opt_hundredths(sometimes(rng, 0.85, |r| {
                r.random_range(2_000_000..500_000_000)
            }))
            .text(pick(rng, &["USD", "EUR", "GBP"]))
            .json(&some_of(rng, text::TECHNOLOGIES, 2..=6))
            .json(&constraints)
            .json(&sentences(rng, 1..=3))
            .int(rng.random_range(1..=7))
            .bool(archived)
            .opt_ts(archived.then(|| later(project.created, 30 * DAY, 400 * DAY, rng)))
            .ts(project.created)
            .ts(updated(rng, project.created))
            .end()?;
    }
    Ok(())
}

fn requirements(plan: &Plan, rng: &mut ChaCha8Rng, out: &mut Copy) -> Result<()> {
    const CATEGORIES: &[&str] = &[
        "functional",
        "non-functional",
        "security",
        "performance",
        "compliance",
        "usability",
        "capability",
    ];
    let tree = &plan.requirements;
    for &i in &tree.order {
        let node = &tree.rows[i as usize];
        let project = tree.project_of(i);
        let validated = rng.random_bool(0.4);
        let dependencies = if rng.random_bool(0.3) {
            sibling_ids(rng, &tree.rows, project, tree.per_project, 2)
        } else {
            "[]".to_owned()
        };
        out.uuid(node.id)
            .uuid(plan.projects[project as usize].id)
            .opt_uuid(node.parent.map(|up| tree.rows[up as usize].id))
            .text(&truncate(text::requirement_title(rng), 255))
            .text(&paragraph(rng, 2..=5))
            .json(&sentences(rng, 1..=4))
            .opt_int(sometimes(rng, 0.9, |r| r.random_range(1..=5)))
            .text(pick(rng, CATEGORIES))
            .opt_int(sometimes(rng, 0.8, |r| r.random_range(1..=10)))
            .opt_int(sometimes(rng, 0.7, |r| r.random_range(2..=200)))
            .json(&dependencies)
            .bool(validated)
            .opt_text(validated.then(|| sentence(rng)).as_deref())
            .ts(node.created)
            .ts(updated(rng, node.created))
            .uuid(org_id(plan, project))
            .end()?;
    }
    Ok(())
}

fn components(plan: &Plan, rng: &mut ChaCha8Rng, out: &mut Copy) -> Result<()> {
    const PREFIXES: &[&str] = &[
        "Billing",
        "Search",
        "Identity",
        "Catalog",
        "Ledger",
        "Routing",
        "Telemetry",
        "Notification",
        "Reporting",
        "Scheduling",
        "Inventory",
        "Pricing",
        "Media",
        "Audit",
    ];
    const TYPES: &[(&str, &str)] = &[
        ("service", "Service"),
        ("module", "Module"),
        ("database", "Store"),
        ("queue", "Queue"),
        ("gateway", "Gateway"),
        ("library", "Library"),
        ("ui", "Console"),
        ("worker", "Worker"),
    ];
    const PATTERNS: &[&str] = &[
        "CQRS",
        "event sourcing",
        "circuit breaker",
        "outbox",
        "saga",
        "bulkhead",
        "strangler fig",
        "backend for frontend",
        "sidecar",
        "read replica",
    ];
    let tree = &plan.components;
    for &i in &tree.order {
        let node = &tree.rows[i as usize];
        let project = tree.project_of(i);
        let (kind, suffix) = pick(rng, TYPES);
        let prefix = pick(rng, PREFIXES);
        let slug = text::slug(prefix);
        let interfaces = object()
            .str("rest", &format!("/api/v{}/{slug}", rng.random_range(1..=3)))
            .raw(
                "events",
                &strings([format!("{slug}.created"), format!("{slug}.updated")]),
            )
            .bool("grpc", rng.random_bool(0.3))
            .end();
        let scalability = object()
            .num("max_rps", rng.random_range(1..200) * 100)
            .bool("horizontal", rng.random_bool(0.7))
            .end();
        let performance = object()
            .num("p95_ms", rng.random_range(20..800))
            .str("availability", pick(rng, &["99.5", "99.9", "99.95"]))
            .end();
        let security = object()
            .str("auth", pick(rng, &["oauth2", "mtls", "api-key", "none"]))
            .bool("pii", rng.random_bool(0.3))
            .end();
        out.uuid(node.id)
            .uuid(plan.projects[project as usize].id)
            .opt_uuid(node.parent.map(|up| tree.rows[up as usize].id))
            .text(&format!("{prefix} {suffix}"))
            .text(kind)
            .text(&paragraph(rng, 2..=4))
            .text(pick(rng, text::TECHNOLOGIES))
            .json(&some_of(rng, PATTERNS, 0..=3))
            .json(&interfaces)
            .json(&some_of(rng, PREFIXES, 0..=3))
            .json(&scalability)
            .json(&performance)
            .json(&security)
            .text(weighted(
                rng,
                &[
                    ("planned", 40),
                    ("in_progress", 30),
                    ("implemented", 25),
                    ("deprecated", 5),
                ],
            ))
            .ts(node.created)
            .ts(updated(rng, node.created))
            .uuid(org_id(plan, project))
            .end()?;
    }
    Ok(())
}

fn analyses(plan: &Plan, rng: &mut ChaCha8Rng, out: &mut Copy) -> Result<()> {
    const TYPES: &[AnalysisType] = &[
        AnalysisType::Requirements,
        AnalysisType::Architecture,
        AnalysisType::Technology,
        AnalysisType::Risk,
        AnalysisType::Quality,
    ];
    const METHODS: &[&str] = &[
        "expert review",
        "SWOT",
        "ATAM",
        "FMEA",
        "threat modeling",
        "cost-benefit",
        "static analysis",
        "load test",
    ];
    const LEVELS: &[&str] = &["low", "medium", "high"];
    let kinds = Labels::<AnalysisType>::new();
    let table = &plan.analyses;
    for &i in &table.order {
        let row = &table.rows[i as usize];
        let project = table.project_of(i);
        let kind = kinds.of(pick(rng, TYPES));
        let findings = object()
            .str("summary", &sentence(rng))
            .raw("items", &sentences(rng, 2..=4))
            .str("severity", pick(rng, LEVELS))
            .end();
        let risks = array((0..rng.random_range(0..=3)).map(|_| {
            object()
                .str("title", pick(rng, text::RISKS))
                .str("likelihood", pick(rng, LEVELS))
                .str("impact", pick(rng, LEVELS))
                .end()
        }));
        out.uuid(row.id)
            .uuid(plan.projects[project as usize].id)
            .text(kind)
            .text(&format!(
                "{} analysis of {}",
                capitalize(kind),
                text::subject(rng)
            ))
            .text(&paragraph(rng, 2..=5))
            .text(pick(rng, METHODS))
            .json(&findings)
            .json(&sentences(rng, 1..=3))
            .json(&risks)
            .json(&sentences(rng, 0..=2))
            .opt_hundredths(sometimes(rng, 0.95, |r| r.random_range(0..=100)))
            .opt_hundredths(sometimes(rng, 0.95, |r| r.random_range(0..=100)))
            .opt_int(sometimes(rng, 0.9, |r| r.random_range(5..=900)))
            .opt_text(sometimes(rng, 0.8, |r| {
                pick(
                    r,
                    &["gpt-4o", "claude-sonnet", "llama-3-70b", "mistral-large"],
                )
            }))
            .json(&some_of(
                rng,
                &[
                    "requirements",
                    "architecture",
                    "tasks",
                    "approvals",
                    "comments",
                ],
                1..=3,
            ))
            .text(weighted(
                rng,
                &[
                    ("completed", 80),
                    ("running", 8),
                    ("queued", 7),
                    ("failed", 5),
                ],
            ))
            .ts(row.created)
            .ts(updated(rng, row.created))
            .uuid(org_id(plan, project))
            .end()?;
    }
    Ok(())
}

fn tasks(plan: &Plan, rng: &mut ChaCha8Rng, out: &mut Copy) -> Result<()> {
    let statuses = Labels::<TaskStatus>::new();
    const WORK: &[&str] = &[
        "engineering",
        "design",
        "research",
        "testing",
        "documentation",
        "operations",
        "integration",
    ];
    let tree = &plan.tasks;
    for &i in &tree.order {
        let node = &tree.rows[i as usize];
        let project = tree.project_of(i);
        let status = weighted(
            rng,
            &[
                (TaskStatus::Pending, 30),
                (TaskStatus::InProgress, 25),
                (TaskStatus::Review, 8),
                (TaskStatus::Done, 27),
                (TaskStatus::Cancelled, 4),
                (TaskStatus::Deferred, 6),
            ],
        );
        let progress = match status {
            TaskStatus::Pending => 0,
            TaskStatus::InProgress => rng.random_range(5..=95),
            TaskStatus::Review => rng.random_range(80..=99),
            TaskStatus::Done => 100,
            TaskStatus::Cancelled => rng.random_range(0..=60),
            TaskStatus::Deferred => rng.random_range(0..=40),
        };
        let estimated = sometimes(rng, 0.9, |r| r.random_range(1..=80_i64));
        let started = matches!(
            status,
            TaskStatus::InProgress | TaskStatus::Review | TaskStatus::Done
        );
        let actual_hours = match (started, estimated) {
            (true, Some(e)) => Some(e * rng.random_range(50..=150_i64) / 100),
            _ => None,
        };
        let planned_start = later(node.created, DAY, 30 * DAY, rng);
        let planned_end = planned_start + rng.random_range(1..=60) * DAY;
        let actual_start = started.then(|| planned_start + rng.random_range(-3..=7) * DAY);
        let actual_end = match (status, actual_start) {
            (TaskStatus::Done, Some(s)) => Some(s + rng.random_range(1..=70) * DAY),
            _ => None,
        };
        let dependencies = if rng.random_bool(0.25) {
            sibling_ids(rng, &tree.rows, project, tree.per_project, 3)
        } else {
            "[]".to_owned()
        };
        let blockers = if status != TaskStatus::Done && rng.random_bool(0.15) {
            array([object()
                .str("reason", &sentence(rng))
                .str("since", &format::date(planned_start))
                .end()])
        } else {
            "[]".to_owned()
        };
        out.uuid(node.id)
            .uuid(plan.projects[project as usize].id)
            .opt_uuid(node.parent.map(|up| tree.rows[up as usize].id))
            .text(&truncate(text::task_title(rng), 255))
            .text(&paragraph(rng, 2..=5))
            .json(&sentences(rng, 1..=3))
            .text(pick(rng, WORK))
            .opt_int(sometimes(rng, 0.85, |r| r.random_range(1..=5)))
            .opt_int(sometimes(rng, 0.9, |r| r.random_range(1..=10)))
            .opt_int(estimated)
            .opt_int(actual_hours)
            .json(&dependencies)
            .json(&blockers)
            .opt_uuid(
                sometimes(rng, 0.85, |r| plan.member(project, r))
                    .map(|u| plan.users[u as usize].id),
            )
            .text(statuses.of(status))
            .int(progress)
            .date(planned_start)
            .date(planned_end)
            .opt_date(actual_start)
            .opt_date(actual_end)
            .ts(node.created)
            .ts(updated(rng, node.created))
            .uuid(org_id(plan, project))
            .end()?;
    }
    Ok(())
}

fn sessions(plan: &Plan, rng: &mut ChaCha8Rng, out: &mut Copy) -> Result<()> {
    let table = &plan.sessions;
    for &i in &table.order {
        let row = &table.rows[i as usize];
        let project = table.project_of(i);
        let kind = pick(
            rng,
            &[
                "review",
                "workshop",
                "planning",
                "retrospective",
                "brainstorm",
            ],
        );
        let status = weighted(
            rng,
            &[
                ("active", 20),
                ("completed", 60),
                ("paused", 10),
                ("cancelled", 10),
            ],
        );
        let data = object()
            .raw("agenda", &sentences(rng, 2..=4))
            .raw(
                "board",
                &object()
                    .raw("columns", r#"["ideas","discussing","decided"]"#)
                    .num("cards", rng.random_range(0..40))
                    .end(),
            )
            .bool("recording", rng.random_bool(0.2))
            .end();
        out.uuid(row.id)
            .uuid(plan.projects[project as usize].id)
            .uuid(plan.users[row.by as usize].id)
            .text(&format!("{} of {}", capitalize(kind), text::subject(rng)))
            .text(&paragraph(rng, 1..=3))
            .text(kind)
            .text(status)
            .text(pick(
                rng,
                &["discovery", "discussion", "decision", "wrap-up"],
            ))
            .json(&data)
            .ts(row.created)
            .opt_ts((status == "completed").then(|| later(row.created, 30 * MINUTE, 4 * HOUR, rng)))
            .int(rng.random_range(5..=50))
            .bool(rng.random_bool(0.25))
            .ts(row.created)
            .ts(updated(rng, row.created))
            .uuid(org_id(plan, project))
            .end()?;
    }
    Ok(())
}

fn session_participants(plan: &Plan, rng: &mut ChaCha8Rng, out: &mut Copy) -> Result<()> {
    let roles = Labels::<Role>::new();
    for participant in &plan.session_participants {
        let session = &plan.sessions.rows[participant.of as usize];
        let role = if participant.first {
            Role::Owner
        } else {
            weighted(
                rng,
                &[
                    (Role::Admin, 10),
                    (Role::Contributor, 60),
                    (Role::Viewer, 30),
                ],
            )
        };
        let joined = later(session.created, 0, 10 * MINUTE, rng);
        out.uuid(v7(joined, rng))
            .uuid(session.id)
            .uuid(plan.users[participant.user as usize].id)
            .text(roles.of(role))
            .ts(joined)
            .ts(later(joined, MINUTE, 3 * HOUR, rng))
            .bool(rng.random_bool(0.3))
            .bool(role != Role::Viewer)
            .bool(matches!(role, Role::Owner | Role::Admin))
            .uuid(org_id(plan, plan.sessions.project_of(participant.of)))
            .end()?;
    }
    Ok(())
}

/// Approval statuses by weight; participants' responses follow them.
const APPROVAL_STATUSES: &[(ApprovalStatus, u32)] = &[
    (ApprovalStatus::Pending, 35),
    (ApprovalStatus::Approved, 40),
    (ApprovalStatus::Rejected, 15),
    (ApprovalStatus::Cancelled, 10),
];

/// An approval's status: a function of its index, so its participants can agree with it.
fn approval_status(plan: &Plan, approval: u32) -> ApprovalStatus {
    let mut rng = ChaCha8Rng::seed_from_u64(plan.seed ^ u64::from(approval));
    rng.set_stream(99);
    weighted(&mut rng, APPROVAL_STATUSES)
}

fn approvals(plan: &Plan, rng: &mut ChaCha8Rng, out: &mut Copy) -> Result<()> {
    let statuses = Labels::<ApprovalStatus>::new();
    let table = &plan.approvals;
    for &i in &table.order {
        let row = &table.rows[i as usize];
        let project = table.project_of(i);
        let status = approval_status(plan, i);
        let (target_id, _) = plan.target(row.target);
        let resolved =
            (status != ApprovalStatus::Pending).then(|| later(row.created, HOUR, 10 * DAY, rng));
        let decider = plan.users[row.decider as usize].id;
        out.uuid(row.id)
            .uuid(plan.projects[project as usize].id)
            .uuid(plan.users[row.by as usize].id)
            .text(&format!(
                "Approve the {} for {}",
                row.target.kind.label(),
                text::subject(rng)
            ))
            .text(&paragraph(rng, 2..=4))
            .text(pick(
                rng,
                &[
                    "design",
                    "budget",
                    "scope",
                    "release",
                    "security",
                    "architecture",
                ],
            ))
            .text(row.target.kind.label())
            .uuid(target_id)
            .text(statuses.of(status))
            .opt_text(resolved.map(|_| sentence(rng)).as_deref())
            .json(&sentences(rng, 0..=2))
            .bool(rng.random_bool(0.3))
            .int(rng.random_range(1..=2))
            .opt_int(sometimes(rng, 0.3, |r| pick(r, &[24, 48, 72])))
            .opt_uuid((status == ApprovalStatus::Approved).then_some(decider))
            .opt_uuid((status == ApprovalStatus::Rejected).then_some(decider))
            .opt_ts(resolved)
            .ts(row.created)
            .ts(resolved.unwrap_or(row.created))
            .uuid(org_id(plan, project))
            .end()?;
    }
    Ok(())
}

fn approval_participants(plan: &Plan, rng: &mut ChaCha8Rng, out: &mut Copy) -> Result<()> {
    let responses = Labels::<ApprovalStatus>::new();
    for participant in &plan.approval_participants {
        let approval = &plan.approvals.rows[participant.of as usize];
        let status = approval_status(plan, participant.of);
        let response = match (status, participant.first) {
            (ApprovalStatus::Approved | ApprovalStatus::Rejected, true) => Some(status),
            (ApprovalStatus::Pending, _) => {
                rng.random_bool(0.4).then_some(ApprovalStatus::Approved)
            }
            (ApprovalStatus::Cancelled, _) => {
                rng.random_bool(0.3).then_some(ApprovalStatus::Cancelled)
            }
            _ => rng.random_bool(0.7).then(|| {
                weighted(
                    rng,
                    &[(ApprovalStatus::Approved, 3), (ApprovalStatus::Rejected, 1)],
                )
            }),
        };
        let responded = response.map(|_| later(approval.created, 10 * MINUTE, 5 * DAY, rng));
        out.uuid(v7(approval.created, rng))
            .uuid(approval.id)
            .uuid(plan.users[participant.user as usize].id)
            .opt_text(response.map(|r| responses.of(r)))
            .opt_text(
                response
                    .and_then(|_| sometimes(rng, 0.5, sentence))
                    .as_deref(),
            )
            .opt_ts(responded)
            .bool(rng.random_bool(0.8))
            .int(rng.random_range(1..=3))
            .uuid(org_id(plan, plan.approvals.project_of(participant.of)))
            .end()?;
    }
    Ok(())
}

fn comments(plan: &Plan, rng: &mut ChaCha8Rng, out: &mut Copy) -> Result<()> {
    let table = &plan.comments;
    for &i in &table.order {
        let row = &table.rows[i as usize];
        let project = table.project_of(i);
        let (target_id, _) = plan.target(row.target);
        let resolved = row.parent.is_none() && rng.random_bool(0.3);
        let resolved_at = resolved.then(|| later(row.created, HOUR, 20 * DAY, rng));
        out.uuid(row.id)
            .text(row.target.kind.label())
            .uuid(target_id)
            .uuid(plan.users[row.author as usize].id)
            .text(&text::comment(rng))
            .text(pick(rng, &["text", "markdown"]))
            .opt_uuid(row.parent.map(|up| table.rows[up as usize].id))
            .uuid(table.rows[row.thread as usize].id)
            .bool(resolved)
            .opt_uuid(resolved.then(|| plan.users[plan.contributor(project, rng) as usize].id))
            .opt_ts(resolved_at)
            .ts(row.created)
            .ts(updated(rng, row.created))
            .uuid(org_id(plan, project))
            .end()?;
    }
    Ok(())
}

fn notifications(plan: &Plan, rng: &mut ChaCha8Rng, out: &mut Copy) -> Result<()> {
    const KINDS: &[(&str, &str, Kind)] = &[
        ("assignment", "You were assigned a task", Kind::Task),
        ("mention", "You were mentioned in a comment", Kind::Comment),
        (
            "approval_request",
            "Your approval is requested",
            Kind::Approval,
        ),
        ("comment_reply", "New reply to your comment", Kind::Comment),
        (
            "status_change",
            "A requirement changed status",
            Kind::Requirement,
        ),
        ("due_soon", "A task is due soon", Kind::Task),
        ("project_update", "Project update", Kind::Project),
    ];
    let per_org = plan.sizes.projects_per_org;
    for &user in &plan.notifications {
        let org = pick(rng, &plan.user_orgs[user as usize]);
        let project = org * per_org + rng.random_range(0..per_org);
        let (kind, title, target_kind) = pick(rng, KINDS);
        let target = plan.random_target(target_kind, project, rng);
        let (target_id, target_created) = plan.target(target);
        let since = target_created.max(plan.users[user as usize].created);
        let created = later(since, MINUTE, 30 * DAY, rng);
        let read = rng.random_bool(0.6);
        out.uuid(v7(created, rng))
            .uuid(plan.users[user as usize].id)
            .text(kind)
            .text(title)
            .text(&sentence(rng))
            .text(target_kind.label())
            .uuid(target_id)
            .bool(read)
            .opt_ts(read.then(|| later(created, MINUTE, 5 * DAY, rng)))
            .text(weighted(rng, &[("in-app", 70), ("email", 25), ("push", 5)]))
            .ts(created)
            .opt_ts(sometimes(rng, 0.97, |r| later(created, 0, MINUTE, r)))
            .ts(created)
            .uuid(org_id(plan, project))
            .end()?;
    }
    Ok(())
}

fn audit_log(plan: &Plan, rng: &mut ChaCha8Rng, out: &mut Copy) -> Result<()> {
    const CHANGES: &[(&str, &str, &str)] = &[
        ("status", "pending", "in_progress"),
        ("status", "in_progress", "done"),
        ("priority", "3", "1"),
        ("title", "Draft title", "Reviewed title"),
        ("assigned_to", "unassigned", "reassigned"),
    ];
    const AGENTS: &[&str] = &[
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
         Chrome/126.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like \
         Gecko) Version/17.5 Safari/605.1.15",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
        "bduf-cli/0.4.2",
    ];
    let sessions = plan.sessions.per_project;
    // Each organization's change numbers, 1, 2, 3… in the order the entries are written.
    let mut numbers: std::collections::HashMap<Uuid, i64> = std::collections::HashMap::new();
    for &project in &plan.audit_entries {
        let kind = weighted(
            rng,
            &[
                (Kind::Task, 50),
                (Kind::Requirement, 20),
                (Kind::Project, 10),
                (Kind::Approval, 10),
                (Kind::Comment, 10),
            ],
        );
        let target = plan.random_target(kind, project, rng);
        let (record, record_created) = plan.target(target);
        let operation = weighted(rng, &[("INSERT", 40), ("UPDATE", 55), ("DELETE", 5)]);
        let created = if operation == "INSERT" {
            record_created
        } else {
            later(record_created, MINUTE, 60 * DAY, rng)
        };
        let (field, old, new) = pick(rng, CHANGES);
        let session = (sessions > 0 && rng.random_bool(0.4)).then(|| {
            let s = project * sessions + rng.random_range(0..sessions);
            plan.sessions.rows[s as usize].id
        });
        let user = sometimes(rng, 0.95, |r| {
            plan.users[plan.member(project, r) as usize].id
        });
        let row = object().str("id", &record.to_string());
        out.uuid(v7(created, rng))
            .text(kind.table())
            .uuid(record)
            .text(operation)
            .opt_uuid(user)
            .opt_uuid(session);
        match operation {
            "INSERT" => out.null().json(&row.str(field, new).end()).null(),
            "DELETE" => out.json(&row.str(field, old).end()).null().null(),
            _ => out
                .json(&object().str(field, old).end())
                .json(&object().str(field, new).end())
                .json(&strings([field])),
        };
        out.opt_text(sometimes(rng, 0.5, |r| truncate(sentence(r), 255)).as_deref())
            .text(&if rng.random_bool(0.8) {
                format!("198.51.100.{}", rng.random_range(1..=254))
            } else {
                format!("2001:db8::{:x}", rng.random_range(1..=0xffff))
            })
            .text(pick(rng, AGENTS))
            .ts(created);
        let org = org_id(plan, project);
        let seq = numbers.entry(org).or_insert(0);
        *seq += 1;
        out.uuid(org)
            .int(*seq)
            .uuid(v7(created, rng))
            .text("api")
            .end()?;
    }
    Ok(())
}
