//! Word banks and the sentences built from them: titles, names and descriptions that read
//! like a real planning tool's, a few hundred bytes where the schema has free text.

use rand::Rng;

/// One item of a non-empty list.
pub fn pick<T: Copy>(rng: &mut impl Rng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

/// One item of a list of `(item, weight)`, by weight.
pub fn weighted<T: Copy>(rng: &mut impl Rng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut roll = rng.random_range(0..total);
    for &(item, weight) in items {
        if roll < weight {
            return item;
        }
        roll -= weight;
    }
    items[items.len() - 1].0
}

#[rustfmt::skip]
pub const FIRST_NAMES: &[&str] = &[
    "Ada", "Grace", "Linus", "Margaret", "Alan", "Barbara", "Dennis", "Frances", "Ken",
    "Radia", "Edsger", "Hedy", "Tim", "Katherine", "John", "Shafi", "Donald", "Sophie",
    "Bjarne", "Anita", "Niklaus", "Karen", "Guido", "Lynn", "Yukihiro", "Adele", "Leslie",
    "Mary", "Vint", "Evelyn", "Ole", "Jean", "Rasmus", "Carol", "James", "Joan", "Ward",
    "Ivan", "Amara", "Chen", "Priya", "Mateo", "Fatima", "Kenji", "Ingrid", "Tomasz",
];

#[rustfmt::skip]
pub const LAST_NAMES: &[&str] = &[
    "Lovelace", "Hopper", "Torvalds", "Hamilton", "Turing", "Liskov", "Ritchie", "Allen",
    "Thompson", "Perlman", "Dijkstra", "Lamarr", "Berners-Lee", "Johnson", "McCarthy",
    "Goldwasser", "Knuth", "Wilson", "Stroustrup", "Borg", "Wirth", "Jones", "van Rossum",
    "Conway", "Matsumoto", "Goldberg", "Lamport", "Keller", "Cerf", "Boyd", "Dahl",
    "Sammet", "Lerdorf", "Shaw", "Gosling", "Clarke", "Cunningham", "Sutherland", "Okafor",
    "Wei", "Raman", "Garcia", "Haddad", "Sato", "Larsen", "Nowak",
];

#[rustfmt::skip]
pub const TIMEZONES: &[&str] = &[
    "UTC", "Europe/London", "Europe/Berlin", "Europe/Paris", "America/New_York",
    "America/Chicago", "America/Los_Angeles", "America/Sao_Paulo", "Asia/Tokyo",
    "Asia/Kolkata", "Asia/Singapore", "Australia/Sydney", "Africa/Lagos",
];

#[rustfmt::skip]
pub const ORG_NAMES: &[&str] = &[
    "Northwind", "Contoso", "Fabrikam", "Tailspin", "Wingtip", "Adventure Works", "Litware",
    "Proseware", "Lucerne", "Alpine Ski", "Coho", "Woodgrove", "Fourth Coffee", "Humongous",
    "Blue Yonder", "Trey", "Wide World", "Graphic Design", "Relecloud", "Southridge",
];

#[rustfmt::skip]
pub const ORG_KINDS: &[&str] = &[
    "Robotics", "Logistics", "Health", "Bank", "Insurance", "Energy", "Media", "Labs",
    "Retail", "Systems", "Foods", "Airlines", "Telecom", "Learning", "Mobility",
];

#[rustfmt::skip]
pub const PROJECT_DOMAINS: &[&str] = &[
    "Claims", "Fleet", "Billing", "Inventory", "Patient", "Trading", "Loyalty", "Booking",
    "Warehouse", "Payroll", "Campaign", "Sensor", "Catalog", "Ticketing", "Onboarding",
    "Compliance", "Pricing", "Routing", "Metering", "Learning",
];

#[rustfmt::skip]
pub const PROJECT_KINDS: &[&str] = &[
    "Platform", "Portal", "Pipeline", "Mobile App", "Gateway", "Modernization",
    "Data Warehouse", "Marketplace", "Assistant", "Control Tower", "API", "Migration",
];

#[rustfmt::skip]
pub const PROJECT_TYPES: &[&str] = &[
    "web", "mobile", "data", "platform", "embedded", "integration", "ml",
];

#[rustfmt::skip]
pub const INDUSTRIES: &[&str] = &[
    "logistics", "healthcare", "finance", "retail", "manufacturing", "energy",
    "public sector", "education", "telecom", "media",
];

#[rustfmt::skip]
pub const TECHNOLOGIES: &[&str] = &[
    "Rust", "PostgreSQL", "Redis", "Kafka", "React", "TypeScript", "gRPC", "Kubernetes",
    "NATS", "S3", "Terraform", "GraphQL", "Python", "Go", "Kotlin", "Swift",
    "Elasticsearch", "ClickHouse", "RabbitMQ", "Envoy",
];

#[rustfmt::skip]
const VERBS: &[&str] = &[
    "Implement", "Design", "Refactor", "Test", "Document", "Migrate", "Benchmark", "Review",
    "Integrate", "Harden", "Automate", "Profile", "Deploy", "Validate", "Prototype",
    "Instrument", "Secure", "Optimize", "Split", "Replace",
];

#[rustfmt::skip]
const ADJECTIVES: &[&str] = &[
    "resilient", "cached", "streaming", "multi-tenant", "versioned", "encrypted", "batched",
    "real-time", "offline-first", "audited", "idempotent", "paginated", "sharded",
    "read-only", "accessible", "localized", "rate-limited", "incremental",
];

#[rustfmt::skip]
pub const NOUNS: &[&str] = &[
    "billing service", "search index", "login flow", "export pipeline", "rate limiter",
    "event bus", "schema migration", "report builder", "notification center",
    "permission model", "telemetry agent", "map renderer", "checkout page",
    "inventory sync", "payment gateway", "audit trail", "onboarding wizard",
    "file uploader", "session store", "recommendation engine", "scheduling API",
    "dashboard widgets", "backup job", "feature flags", "CSV importer",
    "webhook dispatcher", "image resizer", "access review", "retention policy",
    "approval workflow",
];

#[rustfmt::skip]
const QUALIFIERS: &[&str] = &[
    " for enterprise tenants", " in the EU region", " behind a feature flag",
    " for the mobile app", " with zero downtime", " under peak load", " for the public API",
    " before the Q3 release", " across all warehouses", " for the accessibility review", "",
    "", "",
];

#[rustfmt::skip]
const MUSTS: &[&str] = &[
    "respond within 200 ms at the 95th percentile", "retain records for seven years",
    "support 10,000 concurrent users", "encrypt personal data at rest and in transit",
    "log every administrative action", "recover from a zone outage within 15 minutes",
    "expose metrics in the Prometheus format", "validate every input field on the server",
    "keep working offline for 24 hours", "support single sign-on through SAML and OIDC",
    "export data as CSV and JSON", "localize dates, numbers and currencies",
    "degrade gracefully when a dependency fails",
    "process the nightly batch in under an hour",
];

#[rustfmt::skip]
const CONDITIONS: &[&str] = &[
    "even when the upstream provider is unavailable", "for every tenant in the region",
    "without blocking the user interface", "within the agreed error budget",
    "while keeping the audit trail complete", "during the monthly maintenance window",
    "for both the web and the mobile clients", "without manual intervention by operations",
];

#[rustfmt::skip]
const GERUNDS: &[&str] = &[
    "designing", "implementing", "testing", "documenting", "migrating", "monitoring",
    "securing", "load-testing", "reviewing", "simplifying",
];

#[rustfmt::skip]
const TEAMS: &[&str] = &[
    "operations", "finance", "customer success", "security", "the platform team", "legal",
    "data science", "support", "sales engineering", "the design system team",
];

#[rustfmt::skip]
const OUTCOMES: &[&str] = &[
    "a measurable drop in support tickets", "a faster month-end close",
    "fewer manual hand-offs", "a clear audit trail for every change",
    "predictable release dates", "lower infrastructure cost per tenant",
    "shorter onboarding for new customers", "better visibility into delivery risks",
];

#[rustfmt::skip]
const DEADLINES: &[&str] = &[
    "the end of the quarter", "the next release train", "the pilot launch",
    "the annual audit", "the migration freeze", "the customer advisory board",
];

#[rustfmt::skip]
pub const RISKS: &[&str] = &[
    "vendor lock-in", "unclear ownership of the data", "a tight release window",
    "legacy clients on old protocols", "missing test environments",
    "the rate limits of the partner API", "key people on leave during the rollout",
    "an unproven library in the critical path",
];

#[rustfmt::skip]
const MITIGATIONS: &[&str] = &[
    "the team addresses with a staged rollout", "is tracked in the weekly risk review",
    "a documented fallback path covers", "is contained behind feature flags",
    "needs a sign-off from security before launch",
];

#[rustfmt::skip]
const METRICS: &[&str] = &[
    "p95 latency under 200 ms in the load test", "zero data loss in failover drills",
    "a task success rate above 95 percent in usability tests",
    "error rates below 0.1 percent over a week",
    "full coverage of the acceptance criteria by automated tests",
    "a clean report from the external penetration test",
];

#[rustfmt::skip]
const OPENERS: &[&str] = &[
    "I think", "Agreed:", "Good point, but", "Quick question:", "From the ops side,",
    "Heads up:", "Looks good to me, although", "Before we merge this,",
];

/// A task title: "Harden the streaming rate limiter for the public API".
pub fn task_title(rng: &mut impl Rng) -> String {
    format!(
        "{} the {} {}{}",
        pick(rng, VERBS),
        pick(rng, ADJECTIVES),
        pick(rng, NOUNS),
        pick(rng, QUALIFIERS)
    )
}

/// A requirement title: "The audited export pipeline shall export data as CSV and JSON".
pub fn requirement_title(rng: &mut impl Rng) -> String {
    format!(
        "The {} {} shall {}",
        pick(rng, ADJECTIVES),
        pick(rng, NOUNS),
        pick(rng, MUSTS)
    )
}

/// A short noun phrase: "the versioned search index".
pub fn subject(rng: &mut impl Rng) -> String {
    format!("the {} {}", pick(rng, ADJECTIVES), pick(rng, NOUNS))
}

/// One sentence of a description, 60 to 140 bytes.
pub fn sentence(rng: &mut impl Rng) -> String {
    match rng.random_range(0..6) {
        0 => format!(
            "{} must {} {}.",
            capitalize(&subject(rng)),
            pick(rng, MUSTS),
            pick(rng, CONDITIONS)
        ),
        1 => format!(
            "This covers {} {} and {} {}.",
            pick(rng, GERUNDS),
            subject(rng),
            pick(rng, GERUNDS),
            subject(rng)
        ),
        2 => format!(
            "Stakeholders in {} expect {} by {}.",
            pick(rng, TEAMS),
            pick(rng, OUTCOMES),
            pick(rng, DEADLINES)
        ),
        3 => format!(
            "A known risk is {}, which {}.",
            pick(rng, RISKS),
            pick(rng, MITIGATIONS)
        ),
        4 => format!("Acceptance is measured by {}.", pick(rng, METRICS)),
        _ => format!(
            "It depends on {} owned by {}.",
            subject(rng),
            pick(rng, TEAMS)
        ),
    }
}

/// `sentences` sentences, space-separated.
pub fn paragraph(rng: &mut impl Rng, sentences: std::ops::RangeInclusive<u32>) -> String {
    let n = rng.random_range(sentences);
    let mut text = String::with_capacity(n as usize * 100);
    for i in 0..n {
        if i > 0 {
            text.push(' ');
        }
        text.push_str(&sentence(rng));
    }
    text
}

/// A comment: an opener and one to three sentences.
pub fn comment(rng: &mut impl Rng) -> String {
    let opener = pick(rng, OPENERS);
    let body = paragraph(rng, 1..=3);
    let mut chars = body.chars();
    let first = chars.next().map(|c| c.to_ascii_lowercase()).unwrap_or(' ');
    format!("{opener} {first}{}", chars.as_str())
}

/// `text` with its first letter upper case.
pub fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// `text` cut to at most `max` bytes, on a character boundary.
pub fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// `Fleet Portal` → `fleet-portal`.
pub fn slug(text: &str) -> String {
    let mut slug = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_matches('-').to_owned()
}
