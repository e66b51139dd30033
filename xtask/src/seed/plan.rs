//! The shape of the seed data, decided before any row is written: how many rows each
//! table gets, which row points at which (trees, memberships, participants, targets),
//! every row's id and creation time, and the order rows are inserted in.
//!
//! Rows of one project never sit together: each table is inserted level by level (roots,
//! then their children, …) across all projects, each level shuffled, as a live system's
//! writes would have left them. Parents always come before their children.
//!
//! Everything is a function of the sizes and the seed: one ChaCha8 stream per stage.

use bduf_fixture::{CollaborationRole as Role, TargetType};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use super::text::weighted;

/// Microseconds since the Unix epoch.
pub type Micros = i64;

/// The data's time window starts on 2024-01-01 (UTC)…
pub const START: Micros = 1_704_067_200_000_000;
/// …and ends before 2026-06-30.
pub const END: Micros = 1_782_777_600_000_000;
pub const MINUTE: Micros = 60_000_000;
pub const HOUR: Micros = 60 * MINUTE;
pub const DAY: Micros = 24 * HOUR;

/// How many rows of each kind: per organization, per project or per user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    pub organizations: u32,
    pub users: u32,
    pub projects_per_org: u32,
    pub requirements_per_project: u32,
    pub components_per_project: u32,
    pub tasks_per_project: u32,
    pub analyses_per_project: u32,
    pub approvals_per_project: u32,
    pub sessions_per_project: u32,
    pub comments_per_project: u32,
    pub audit_entries_per_project: u32,
    pub notifications_per_user: u32,
}

impl Sizes {
    /// ≈ 1.1M rows: 100 organizations, 2,000 users, 2,000 projects, 500k tasks.
    pub const M: Sizes = Sizes {
        organizations: 100,
        users: 2_000,
        projects_per_org: 20,
        requirements_per_project: 50,
        components_per_project: 25,
        tasks_per_project: 250,
        analyses_per_project: 8,
        approvals_per_project: 10,
        sessions_per_project: 5,
        comments_per_project: 60,
        audit_entries_per_project: 50,
        notifications_per_user: 50,
    };

    /// ≈ 12k rows: M's projects, for 2 organizations with 10 projects each.
    pub const S: Sizes = Sizes {
        organizations: 2,
        users: 40,
        projects_per_org: 10,
        ..Sizes::M
    };

    /// ≈ 11M rows: ten times M's organizations, users and projects.
    pub const L: Sizes = Sizes {
        organizations: 1_000,
        users: 20_000,
        ..Sizes::M
    };

    pub fn projects(&self) -> u32 {
        self.organizations * self.projects_per_org
    }
}

/// A row with only an id and a creation time to remember.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamped {
    pub id: Uuid,
    pub created: Micros,
}

/// A membership of a user in an organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub org: u32,
    pub user: u32,
    pub role: Role,
    pub joined: Micros,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: Uuid,
    pub org: u32,
    pub creator: u32,
    pub created: Micros,
}

/// A node of a requirement, component or task tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub id: Uuid,
    pub parent: Option<u32>,
    pub level: u8,
    pub created: Micros,
}

/// The rows of a per-project table: project `p` owns indexes
/// `p * per_project .. (p + 1) * per_project`; `order` is the insertion order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerProject<T> {
    pub per_project: u32,
    pub rows: Vec<T>,
    pub order: Vec<u32>,
}

/// A row owned by a project's member (sessions, approvals).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owned {
    pub id: Uuid,
    pub by: u32,
    pub created: Micros,
}

/// An approval: its requester, target and decider (the first participant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub id: Uuid,
    pub by: u32,
    pub target: Target,
    pub decider: u32,
    pub created: Micros,
}

/// A user taking part in a session or an approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub of: u32,
    pub user: u32,
    /// The session's creator, or the approval's decider.
    pub first: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: Uuid,
    pub target: Target,
    pub author: u32,
    pub parent: Option<u32>,
    pub thread: u32,
    pub level: u8,
    pub created: Micros,
}

/// What a comment, approval, notification or audit entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub kind: Kind,
    pub index: u32,
}

/// The kinds of records that can be targets: `bduf_core::TargetType`'s, and comments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Project,
    Requirement,
    Component,
    Task,
    Analysis,
    Approval,
    Comment,
}

impl Kind {
    /// The `target_type` label: the API's for the records it lets comments, approvals and
    /// notifications target, and `comment` for comments, which only seed data targets.
    pub fn label(self) -> &'static str {
        let target = match self {
            Kind::Project => TargetType::Project,
            Kind::Requirement => TargetType::Requirement,
            Kind::Component => TargetType::Component,
            Kind::Task => TargetType::Task,
            Kind::Analysis => TargetType::Analysis,
            Kind::Approval => TargetType::Approval,
            Kind::Comment => return "comment",
        };
        target.as_str()
    }

    /// The table of records of this kind.
    pub fn table(self) -> &'static str {
        match self {
            Kind::Project => "projects",
            Kind::Requirement => "requirements",
            Kind::Component => "architectural_components",
            Kind::Task => "tasks",
            Kind::Analysis => "analyses",
            Kind::Approval => "approvals",
            Kind::Comment => "comments",
        }
    }
}

/// The shape of the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub seed: u64,
    pub sizes: Sizes,
    pub users: Vec<Stamped>,
    pub orgs: Vec<Stamped>,
    /// Per organization, its members' user indexes and roles; the owner first.
    pub org_members: Vec<Vec<(u32, Role)>>,
    /// Per user, the organizations they belong to.
    pub user_orgs: Vec<Vec<u32>>,
    /// In insertion order.
    pub members: Vec<Member>,
    /// Organization `o` owns projects `o * projects_per_org ..`.
    pub projects: Vec<Project>,
    pub project_order: Vec<u32>,
    pub requirements: PerProject<Node>,
    pub components: PerProject<Node>,
    pub tasks: PerProject<Node>,
    pub analyses: PerProject<Stamped>,
    pub sessions: PerProject<Owned>,
    /// In insertion order.
    pub session_participants: Vec<Participant>,
    pub approvals: PerProject<Approval>,
    /// In insertion order.
    pub approval_participants: Vec<Participant>,
    pub comments: PerProject<Comment>,
    /// The recipient of each notification, in insertion order.
    pub notifications: Vec<u32>,
    /// The project of each audit entry, in insertion order.
    pub audit_entries: Vec<u32>,
}

/// Requirement trees: 5 levels (depths 0 to 4).
const REQUIREMENT_TREES: Shape = Shape {
    roots_per_100: 12,
    depths: &[(1, 35), (2, 30), (3, 20), (4, 15)],
};
/// Component trees: 4 levels.
const COMPONENT_TREES: Shape = Shape {
    roots_per_100: 14,
    depths: &[(1, 45), (2, 35), (3, 20)],
};
/// Task trees: 6 levels.
const TASK_TREES: Shape = Shape {
    roots_per_100: 7,
    depths: &[(1, 22), (2, 24), (3, 22), (4, 18), (5, 14)],
};
/// Comment threads: a third of the comments start one, replies nest 4 deep.
const COMMENT_THREADS: Shape = Shape {
    roots_per_100: 34,
    depths: &[(1, 45), (2, 30), (3, 15), (4, 10)],
};

/// The shape of a forest: how many of its nodes are roots, and how the others spread
/// over the depths below (`(depth, weight)`).
#[derive(Debug, Clone, Copy)]
struct Shape {
    roots_per_100: u32,
    depths: &'static [(u8, u32)],
}

impl Shape {
    fn roots(&self, nodes: u32) -> usize {
        (nodes * self.roots_per_100).div_ceil(100).max(1) as usize
    }
}

/// The nodes of one project's forest by depth, to choose where new nodes hang.
#[derive(Debug)]
struct Depths(Vec<Vec<usize>>);

impl Depths {
    fn new(shape: Shape) -> Self {
        let deepest = shape.depths.iter().map(|&(d, _)| d).max().unwrap_or(0);
        Depths(vec![Vec::new(); usize::from(deepest) + 1])
    }

    fn add(&mut self, depth: u8, index: usize) {
        self.0[usize::from(depth)].push(index);
    }

    /// A parent for a new node at a depth drawn from `shape` (shallower when that level
    /// is still empty): the newest node one level up half the time, else any node there.
    fn parent(&self, shape: Shape, rng: &mut impl Rng) -> usize {
        let mut depth = usize::from(weighted(rng, shape.depths)).max(1);
        while depth > 1 && self.0[depth - 1].is_empty() {
            depth -= 1;
        }
        let level = &self.0[depth - 1];
        if rng.random_bool(0.5) {
            level[level.len() - 1]
        } else {
            level[rng.random_range(0..level.len())]
        }
    }
}

impl Plan {
    pub fn new(sizes: Sizes, seed: u64) -> Plan {
        let rng = |stream: u64| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(stream);
            rng
        };
        let Identity {
            users,
            orgs,
            org_members,
            user_orgs,
            members,
        } = identity(&sizes, &mut rng(1));
        let (projects, project_order) = projects(&sizes, &orgs, &org_members, &mut rng(2));
        let created: Vec<Micros> = projects.iter().map(|p| p.created).collect();
        let requirements = tree(
            &created,
            sizes.requirements_per_project,
            REQUIREMENT_TREES,
            &mut rng(3),
        );
        let components = tree(
            &created,
            sizes.components_per_project,
            COMPONENT_TREES,
            &mut rng(4),
        );
        let tasks = tree(&created, sizes.tasks_per_project, TASK_TREES, &mut rng(5));
        let analyses = flat(
            &created,
            sizes.analyses_per_project,
            &mut rng(6),
            |rng, c| Stamped {
                id: v7(c, rng),
                created: c,
            },
        );
        let mut plan = Plan {
            seed,
            sizes,
            users,
            orgs,
            org_members,
            user_orgs,
            members,
            projects,
            project_order,
            requirements,
            components,
            tasks,
            analyses,
            sessions: PerProject::empty(sizes.sessions_per_project),
            session_participants: Vec::new(),
            approvals: PerProject::empty(sizes.approvals_per_project),
            approval_participants: Vec::new(),
            comments: PerProject::empty(sizes.comments_per_project),
            notifications: Vec::new(),
            audit_entries: Vec::new(),
        };
        plan.sessions_and_participants(&mut rng(7));
        plan.approvals_and_participants(&mut rng(8));
        plan.comment_threads(&mut rng(9));
        let mut rng = rng(10);
        plan.notifications = (0..sizes.users)
            .flat_map(|u| std::iter::repeat_n(u, sizes.notifications_per_user as usize))
            .collect();
        plan.notifications.shuffle(&mut rng);
        plan.audit_entries = (0..sizes.projects())
            .flat_map(|p| std::iter::repeat_n(p, sizes.audit_entries_per_project as usize))
            .collect();
        plan.audit_entries.shuffle(&mut rng);
        plan
    }

    /// The members of project `p`'s organization.
    pub fn members_of(&self, project: u32) -> &[(u32, Role)] {
        &self.org_members[self.projects[project as usize].org as usize]
    }

    /// A random member of project `p`'s organization who is not a viewer.
    pub fn contributor(&self, project: u32, rng: &mut impl Rng) -> u32 {
        let members = self.members_of(project);
        loop {
            let (user, role) = members[rng.random_range(0..members.len())];
            if role != Role::Viewer {
                return user;
            }
        }
    }

    /// A random member of project `p`'s organization.
    pub fn member(&self, project: u32, rng: &mut impl Rng) -> u32 {
        let members = self.members_of(project);
        members[rng.random_range(0..members.len())].0
    }

    /// A random record of `kind` in project `p`.
    pub fn random_target(&self, kind: Kind, project: u32, rng: &mut impl Rng) -> Target {
        let per_project = match kind {
            Kind::Project => {
                return Target {
                    kind,
                    index: project,
                };
            }
            Kind::Requirement => self.requirements.per_project,
            Kind::Component => self.components.per_project,
            Kind::Task => self.tasks.per_project,
            Kind::Analysis => self.analyses.per_project,
            Kind::Approval => self.approvals.per_project,
            Kind::Comment => self.comments.per_project,
        };
        Target {
            kind,
            index: project * per_project + rng.random_range(0..per_project),
        }
    }

    /// The id and creation time of a target.
    pub fn target(&self, target: Target) -> (Uuid, Micros) {
        let i = target.index as usize;
        match target.kind {
            Kind::Project => (self.projects[i].id, self.projects[i].created),
            Kind::Requirement => node(&self.requirements.rows[i]),
            Kind::Component => node(&self.components.rows[i]),
            Kind::Task => node(&self.tasks.rows[i]),
            Kind::Analysis => (self.analyses.rows[i].id, self.analyses.rows[i].created),
            Kind::Approval => (self.approvals.rows[i].id, self.approvals.rows[i].created),
            Kind::Comment => (self.comments.rows[i].id, self.comments.rows[i].created),
        }
    }

    fn sessions_and_participants(&mut self, rng: &mut ChaCha8Rng) {
        let per_project = self.sizes.sessions_per_project;
        let mut rows = Vec::new();
        for p in 0..self.sizes.projects() {
            let start = self.projects[p as usize].created;
            for _ in 0..per_project {
                let created = later(start, DAY, 240 * DAY, rng);
                let by = self.contributor(p, rng);
                rows.push(Owned {
                    id: v7(created, rng),
                    by,
                    created,
                });
            }
        }
        let mut participants = Vec::new();
        for (s, session) in rows.iter().enumerate() {
            let project = s as u32 / per_project;
            let others = self.distinct_members(project, session.by, rng.random_range(1..=5), rng);
            participants.push(Participant {
                of: s as u32,
                user: session.by,
                first: true,
            });
            participants.extend(others.into_iter().map(|user| Participant {
                of: s as u32,
                user,
                first: false,
            }));
        }
        participants.shuffle(rng);
        self.sessions = PerProject::shuffled(per_project, rows, rng);
        self.session_participants = participants;
    }

    fn approvals_and_participants(&mut self, rng: &mut ChaCha8Rng) {
        let per_project = self.sizes.approvals_per_project;
        let mut rows = Vec::new();
        let mut participants = Vec::new();
        for p in 0..self.sizes.projects() {
            for _ in 0..per_project {
                let kind = weighted(
                    rng,
                    &[
                        (Kind::Project, 15),
                        (Kind::Requirement, 35),
                        (Kind::Analysis, 20),
                        (Kind::Task, 30),
                    ],
                );
                let target = self.random_target(kind, p, rng);
                let created = later(self.target(target).1, HOUR, 10 * DAY, rng);
                let by = self.contributor(p, rng);
                let voters = self.distinct_members(p, by, rng.random_range(2..=4), rng);
                let index = rows.len() as u32;
                participants.extend(voters.iter().enumerate().map(|(i, &user)| Participant {
                    of: index,
                    user,
                    first: i == 0,
                }));
                rows.push(Approval {
                    id: v7(created, rng),
                    by,
                    target,
                    decider: voters.first().copied().unwrap_or(by),
                    created,
                });
            }
        }
        participants.shuffle(rng);
        self.approvals = PerProject::shuffled(per_project, rows, rng);
        self.approval_participants = participants;
    }

    /// Threads of comments per project: the first third start threads on a record of the
    /// project, the rest reply to an earlier comment of the project ([`COMMENT_THREADS`]).
    fn comment_threads(&mut self, rng: &mut ChaCha8Rng) {
        let per_project = self.sizes.comments_per_project;
        let roots = COMMENT_THREADS.roots(per_project);
        let mut rows: Vec<Comment> = Vec::new();
        for p in 0..self.sizes.projects() {
            let base = rows.len();
            let mut depths = Depths::new(COMMENT_THREADS);
            for k in 0..per_project as usize {
                let author = self.member(p, rng);
                if k < roots {
                    let kind = weighted(
                        rng,
                        &[
                            (Kind::Task, 40),
                            (Kind::Requirement, 25),
                            (Kind::Component, 10),
                            (Kind::Project, 10),
                            (Kind::Analysis, 5),
                            (Kind::Approval, 10),
                        ],
                    );
                    let target = self.random_target(kind, p, rng);
                    let created = later(self.target(target).1, HOUR, 14 * DAY, rng);
                    rows.push(Comment {
                        id: v7(created, rng),
                        target,
                        author,
                        parent: None,
                        thread: (base + k) as u32,
                        level: 0,
                        created,
                    });
                    depths.add(0, base + k);
                    continue;
                }
                let parent = depths.parent(COMMENT_THREADS, rng);
                depths.add(rows[parent].level + 1, base + k);
                let up = &rows[parent];
                let created = later(up.created, 10 * MINUTE, 3 * DAY, rng);
                rows.push(Comment {
                    id: v7(created, rng),
                    target: up.target,
                    author,
                    parent: Some(parent as u32),
                    thread: up.thread,
                    level: up.level + 1,
                    created,
                });
            }
        }
        let levels: Vec<u8> = rows.iter().map(|c| c.level).collect();
        let order = level_order(&levels, rng);
        self.comments = PerProject {
            per_project,
            rows,
            order,
        };
    }

    /// `n` distinct members of project `p`'s organization other than `except`.
    fn distinct_members(
        &self,
        project: u32,
        except: u32,
        n: usize,
        rng: &mut impl Rng,
    ) -> Vec<u32> {
        let mut users: Vec<u32> = self
            .members_of(project)
            .iter()
            .map(|&(u, _)| u)
            .filter(|&u| u != except)
            .collect();
        users.shuffle(rng);
        users.truncate(n);
        users
    }
}

impl<T> PerProject<T> {
    fn empty(per_project: u32) -> Self {
        PerProject {
            per_project,
            rows: Vec::new(),
            order: Vec::new(),
        }
    }

    /// Rows of one level, inserted in a random order.
    fn shuffled(per_project: u32, rows: Vec<T>, rng: &mut impl Rng) -> Self {
        let mut order: Vec<u32> = (0..rows.len() as u32).collect();
        order.shuffle(rng);
        PerProject {
            per_project,
            rows,
            order,
        }
    }

    /// The project owning row `i`.
    pub fn project_of(&self, i: u32) -> u32 {
        i / self.per_project
    }
}

/// Users, organizations and memberships. User `u`'s home organization is `u % orgs`
/// (whose first home user owns it); half the users also belong to one or two others.
fn identity(sizes: &Sizes, rng: &mut ChaCha8Rng) -> Identity {
    let users: Vec<Stamped> = (0..sizes.users)
        .map(|_| {
            let created = later(START, 0, 540 * DAY, rng);
            Stamped {
                id: v7(created, rng),
                created,
            }
        })
        .collect();
    let orgs: Vec<Stamped> = (0..sizes.organizations)
        .map(|_| {
            let created = later(START, 0, 180 * DAY, rng);
            Stamped {
                id: v7(created, rng),
                created,
            }
        })
        .collect();
    let n_orgs = sizes.organizations;
    let mut org_members: Vec<Vec<(u32, Role)>> = vec![Vec::new(); n_orgs as usize];
    let mut user_orgs: Vec<Vec<u32>> = vec![Vec::new(); sizes.users as usize];
    let mut members = Vec::new();
    for u in 0..sizes.users {
        let home = u % n_orgs;
        let mut orgs_of = vec![home];
        let extra = weighted(rng, &[(0, 50), (1, 30), (2, 20)]).min(n_orgs - 1);
        while orgs_of.len() < 1 + extra as usize {
            let o = rng.random_range(0..n_orgs);
            if !orgs_of.contains(&o) {
                orgs_of.push(o);
            }
        }
        for (i, &o) in orgs_of.iter().enumerate() {
            let role = if i == 0 && u < n_orgs {
                Role::Owner
            } else if i == 0 {
                weighted(
                    rng,
                    &[
                        (Role::Admin, 10),
                        (Role::Contributor, 55),
                        (Role::Viewer, 35),
                    ],
                )
            } else {
                weighted(
                    rng,
                    &[
                        (Role::Admin, 5),
                        (Role::Contributor, 45),
                        (Role::Viewer, 50),
                    ],
                )
            };
            let since = users[u as usize].created.max(orgs[o as usize].created);
            members.push(Member {
                org: o,
                user: u,
                role,
                joined: later(since, HOUR, 30 * DAY, rng),
            });
            org_members[o as usize].push((u, role));
        }
        user_orgs[u as usize] = orgs_of;
    }
    members.shuffle(rng);
    Identity {
        users,
        orgs,
        org_members,
        user_orgs,
        members,
    }
}

/// The users, organizations and memberships, as [`Plan`] keeps them.
struct Identity {
    users: Vec<Stamped>,
    orgs: Vec<Stamped>,
    org_members: Vec<Vec<(u32, Role)>>,
    user_orgs: Vec<Vec<u32>>,
    members: Vec<Member>,
}

fn projects(
    sizes: &Sizes,
    orgs: &[Stamped],
    org_members: &[Vec<(u32, Role)>],
    rng: &mut ChaCha8Rng,
) -> (Vec<Project>, Vec<u32>) {
    let mut projects = Vec::new();
    for (o, org) in orgs.iter().enumerate() {
        let creators: Vec<u32> = org_members[o]
            .iter()
            .filter(|&&(_, role)| role != Role::Viewer)
            .map(|&(u, _)| u)
            .collect();
        for _ in 0..sizes.projects_per_org {
            let created = later(org.created, DAY, 540 * DAY, rng);
            projects.push(Project {
                id: v7(created, rng),
                org: o as u32,
                creator: creators[rng.random_range(0..creators.len())],
                created,
            });
        }
    }
    let mut order: Vec<u32> = (0..projects.len() as u32).collect();
    order.shuffle(rng);
    (projects, order)
}

/// A forest of `per_project` nodes per project, shaped by `shape`, inserted level by
/// level across projects.
fn tree(
    project_created: &[Micros],
    per_project: u32,
    shape: Shape,
    rng: &mut ChaCha8Rng,
) -> PerProject<Node> {
    let roots = shape.roots(per_project);
    let mut rows: Vec<Node> = Vec::with_capacity(project_created.len() * per_project as usize);
    for &start in project_created {
        let base = rows.len();
        let mut depths = Depths::new(shape);
        for k in 0..per_project as usize {
            if k < roots {
                let created = later(start, HOUR, 30 * DAY, rng);
                rows.push(Node {
                    id: v7(created, rng),
                    parent: None,
                    level: 0,
                    created,
                });
                depths.add(0, base + k);
                continue;
            }
            let parent = depths.parent(shape, rng);
            depths.add(rows[parent].level + 1, base + k);
            let created = later(rows[parent].created, HOUR, 20 * DAY, rng);
            rows.push(Node {
                id: v7(created, rng),
                parent: Some(parent as u32),
                level: rows[parent].level + 1,
                created,
            });
        }
    }
    let levels: Vec<u8> = rows.iter().map(|n| n.level).collect();
    let order = level_order(&levels, rng);
    PerProject {
        per_project,
        rows,
        order,
    }
}

/// `per_project` rows per project made by `make(rng, created)`, inserted shuffled.
fn flat<T>(
    project_created: &[Micros],
    per_project: u32,
    rng: &mut ChaCha8Rng,
    make: impl Fn(&mut ChaCha8Rng, Micros) -> T,
) -> PerProject<T> {
    let mut rows = Vec::with_capacity(project_created.len() * per_project as usize);
    for &start in project_created {
        for _ in 0..per_project {
            let created = later(start, DAY, 240 * DAY, rng);
            rows.push(make(rng, created));
        }
    }
    PerProject::shuffled(per_project, rows, rng)
}

/// Indexes by level, each level shuffled: the insertion order of a forest.
fn level_order(levels: &[u8], rng: &mut impl Rng) -> Vec<u32> {
    let max = levels.iter().copied().max().unwrap_or(0);
    let mut order = Vec::with_capacity(levels.len());
    for level in 0..=max {
        let start = order.len();
        order.extend((0..levels.len() as u32).filter(|&i| levels[i as usize] == level));
        order[start..].shuffle(rng);
    }
    order
}

/// A time `min..max` after `after`, before [`END`].
pub fn later(after: Micros, min: Micros, max: Micros, rng: &mut impl Rng) -> Micros {
    (after + rng.random_range(min..max.max(min + 1))).min(END - 1)
}

/// A UUIDv7 for a row created at `created`: its timestamp, then 74 random bits.
pub fn v7(created: Micros, rng: &mut impl Rng) -> Uuid {
    let mut bytes = [0_u8; 10];
    rng.fill(&mut bytes);
    let millis = u64::try_from(created / 1000).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &bytes).into_uuid()
}

fn node(n: &Node) -> (Uuid, Micros) {
    (n.id, n.created)
}
