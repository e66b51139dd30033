//! `cargo xtask migration-lint`: the PostgreSQL statements each migration step runs,
//! checked by squawk and by the project's own rules; every finding is fixed or justified
//! in `migration/lint-allow.txt`.
//!
//! The statements are what the steps really send: a scratch database is migrated one step
//! at a time through a relay in front of PostgreSQL that records the SQL text of every
//! message its clients send (simple `Query` and extended `Parse`), whether the step built
//! it with sea-query or wrote it by hand. The migration runner's own statements — the
//! lock, the ledger `seaql_migrations` and its checksums, `BEGIN`/`COMMIT` — are left
//! out. Each step's statements go to `target/migration-lint/<step>.sql`, which squawk
//! reads as one transaction — every step runs in one, except an online step
//! (`migration::online`, `use_transaction` `Some(false)`), whose statements squawk reads
//! as each its own.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use migration::runner::{self, Command as MigrateCommand};
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::postgres::{PgConnectOptions, PgSslMode};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

use crate::{postgres, scratch, workspace_root};

/// Where the accepted findings are listed, one a line.
pub const ALLOW_LIST: &str = "migration/lint-allow.txt";

/// The PostgreSQL major version squawk checks against: the one the project runs on
/// (`docs/benchmarks.md`).
const PG_VERSION: &str = "15";

/// squawk's rules that do not apply to this project, with the reason: the schema's
/// column types are seed 000's, and its `VARCHAR(n)` lengths are the input rules the API
/// checks (`entity::rules`), so these would only restate the seed.
const EXCLUDED_SQUAWK_RULES: [(&str, &str); 3] = [
    (
        "prefer-bigint-over-int",
        "integer columns are the seed's, bounded by CHECKs",
    ),
    (
        "prefer-bigint-over-smallint",
        "integer columns are the seed's, bounded by CHECKs",
    ),
    (
        "prefer-text-field",
        "VARCHAR(n) lengths are the API's input rules",
    ),
];

/// Tables with enough rows that rewriting all of them in a step's one transaction holds
/// their row locks for long: the ones with 50,000 rows or more in the M dataset of
/// `cargo xtask seed` (`docs/benchmarks.md`).
pub const BIG_TABLES: [&str; 6] = [
    "requirements",
    "architectural_components",
    "tasks",
    "comments",
    "notifications",
    "audit_log",
];

/// Lints every step, or with `since` only the steps whose files were added since that git
/// ref; fails naming every finding that is not in the allow-list and every line of the
/// allow-list that matches nothing.
pub async fn run(since: Option<&str>) -> Result<()> {
    let root = workspace_root();
    let squawk = Squawk::find()?;
    let allow_path = root.join(ALLOW_LIST);
    let allow_text =
        std::fs::read_to_string(&allow_path).with_context(|| format!("reading {ALLOW_LIST}"))?;
    let allowances = parse_allow_list(&allow_text)?;
    let migrations = Migrator::migrations();
    let steps: Vec<String> = migrations.iter().map(|m| m.name().to_owned()).collect();
    let online: BTreeSet<&str> = migrations
        .iter()
        .filter(|m| m.use_transaction() == Some(false))
        .map(|m| m.name())
        .collect();
    let linted: Vec<String> = match since {
        None => steps.clone(),
        Some(reference) => steps_added_since(&root, reference, &steps)?,
    };
    // Checked before PostgreSQL is started: squawk, the allow-list and the git ref.
    let _server = postgres::for_generators()?;
    eprintln!(
        "xtask: applying {} migration steps one at a time on a scratch database, recording \
         their statements",
        steps.len()
    );
    let rendered = render(&steps).await?;
    let out_dir = root.join("target/migration-lint");
    if out_dir.exists() {
        std::fs::remove_dir_all(&out_dir)
            .with_context(|| format!("emptying {}", out_dir.display()))?;
    }
    std::fs::create_dir_all(&out_dir)?;
    let mut files = Vec::new();
    for (step, statements) in steps.iter().zip(&rendered) {
        if !linted.contains(step) {
            continue;
        }
        let file = StepFile::new(step, statements, !online.contains(step.as_str()));
        std::fs::write(out_dir.join(format!("{step}.sql")), &file.text)?;
        files.push(file);
    }
    let mut findings = if files.is_empty() {
        Vec::new()
    } else {
        squawk.check(&out_dir, &files)?
    };
    for file in &files {
        for (index, sql) in file.statements.iter().enumerate() {
            for (rule, message) in own_rules(sql) {
                findings.push(Finding {
                    step: file.step.clone(),
                    rule: rule.to_owned(),
                    message,
                    help: String::new(),
                    statement: index,
                    line: file.lines[index],
                });
            }
        }
    }
    findings.sort_by(|a, b| (&a.step, a.line, &a.rule).cmp(&(&b.step, b.line, &b.rule)));
    let verdict = judge(&findings, &allowances, &linted, &steps);
    for finding in &verdict.refused {
        let file = files
            .iter()
            .find(|f| f.step == finding.step)
            .expect("findings come from the linted files");
        eprintln!(
            "error: {} {}: {}\n  --> target/migration-lint/{}.sql:{}\n  statement: {}",
            finding.step,
            finding.rule,
            finding.message,
            finding.step,
            finding.line + 1,
            excerpt(&file.statements[finding.statement], 160),
        );
        if !finding.help.is_empty() {
            eprintln!("  help: {}", finding.help);
        }
    }
    for stale in &verdict.stale {
        eprintln!(
            "error: {ALLOW_LIST}:{}: `{} {}` matches no finding: remove the line",
            stale.line, stale.step, stale.rule
        );
    }
    let statements: usize = files.iter().map(|f| f.statements.len()).sum();
    println!(
        "migration-lint: {} of {} steps linted{}, {statements} statements, {} findings: {} \
         allowed by {ALLOW_LIST}, {} not allowed; {} stale allow-list lines",
        files.len(),
        steps.len(),
        since.map_or_else(String::new, |r| format!(" (added since {r})")),
        findings.len(),
        verdict.allowed,
        verdict.refused.len(),
        verdict.stale.len(),
    );
    if !verdict.refused.is_empty() || !verdict.stale.is_empty() {
        bail!(
            "migration lint failed: fix each finding above, or justify it with a line \
             `<step> <rule> — <why>` in {ALLOW_LIST} (see migration/README.md, \
             \"Migration lint\"); remove stale lines"
        );
    }
    Ok(())
}

/// A problem in one statement of a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub step: String,
    pub rule: String,
    pub message: String,
    pub help: String,
    /// The statement's index in its step.
    pub statement: usize,
    /// The line of `target/migration-lint/<step>.sql` the finding is on, from 0.
    pub line: usize,
}

/// One line of the allow-list: `<step> <rule> — <justification>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowance {
    pub step: String,
    pub rule: String,
    pub justification: String,
    /// Its line in the file, from 1.
    pub line: usize,
}

/// The allow-list's lines; blank lines and lines starting with `#` are skipped. A line
/// without a justification, or listed twice, is an error naming its line.
pub fn parse_allow_list(text: &str) -> Result<Vec<Allowance>> {
    let mut allowances: Vec<Allowance> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut words = trimmed.splitn(3, char::is_whitespace);
        let (Some(step), Some(rule), Some(rest)) = (words.next(), words.next(), words.next())
        else {
            bail!("{ALLOW_LIST}:{line}: expected `<step> <rule> — <justification>`");
        };
        let justification = rest
            .trim_start()
            .strip_prefix('—')
            .or_else(|| rest.trim_start().strip_prefix("--"))
            .map(str::trim)
            .unwrap_or_default();
        if justification.is_empty() {
            bail!(
                "{ALLOW_LIST}:{line}: `{step} {rule}` needs a justification after an em dash: \
                 `{step} {rule} — <why the finding is acceptable>`"
            );
        }
        if let Some(earlier) = allowances.iter().find(|a| a.step == step && a.rule == rule) {
            bail!(
                "{ALLOW_LIST}:{line}: `{step} {rule}` is already allowed on line {}",
                earlier.line
            );
        }
        allowances.push(Allowance {
            step: step.to_owned(),
            rule: rule.to_owned(),
            justification: justification.to_owned(),
            line,
        });
    }
    Ok(allowances)
}

/// What the allow-list makes of the findings.
#[derive(Debug)]
pub struct Verdict<'a> {
    /// Findings an allow-list line accepts.
    pub allowed: usize,
    /// Findings no line accepts.
    pub refused: Vec<&'a Finding>,
    /// Lines that accept nothing: of a linted step with no such finding, or of a step
    /// the migrations do not have.
    pub stale: Vec<&'a Allowance>,
}

/// Matches `findings` (of the steps `linted`) against `allowances`; `steps` are all the
/// migrations' steps. A line of a step that exists but was not linted is neither used
/// nor stale.
pub fn judge<'a>(
    findings: &'a [Finding],
    allowances: &'a [Allowance],
    linted: &[String],
    steps: &[String],
) -> Verdict<'a> {
    let accepts = |a: &Allowance, f: &Finding| a.step == f.step && a.rule == f.rule;
    let (allowed, refused): (Vec<&Finding>, Vec<&Finding>) = findings
        .iter()
        .partition(|f| allowances.iter().any(|a| accepts(a, f)));
    let stale = allowances
        .iter()
        .filter(|a| {
            !steps.contains(&a.step)
                || (linted.contains(&a.step) && !findings.iter().any(|f| accepts(a, f)))
        })
        .collect();
    Verdict {
        allowed: allowed.len(),
        refused,
        stale,
    }
}

/// The project's own findings in one statement: `(rule, message)`.
pub fn own_rules(sql: &str) -> Vec<(&'static str, String)> {
    let tokens = tokens(sql);
    let words: Vec<String> = tokens
        .iter()
        .take(2)
        .filter_map(|t| match t.kind {
            Kind::Word => Some(t.text.to_ascii_lowercase()),
            _ => None,
        })
        .collect();
    let mut found = Vec::new();
    match words.first().map(String::as_str) {
        Some("update" | "delete") => {
            if let Some(table) = written_table(&tokens)
                && BIG_TABLES.contains(&table.as_str())
                && !bounded(&tokens)
            {
                found.push((
                    "big-table-backfill",
                    format!(
                        "{} of every row of `{table}`, a big table, in the step's one \
                         transaction (no WHERE, or one that compares no value): each row \
                         stays locked until the step commits. Backfill in batches outside \
                         the migration, or justify it with the time the step takes on the M \
                         dataset",
                        words[0].to_ascii_uppercase()
                    ),
                ));
            }
        }
        Some("set") => {
            let second = words.get(1).map(String::as_str);
            if !matches!(second, Some("local" | "transaction" | "constraints")) {
                found.push((
                    "session-setting",
                    "SET without LOCAL keeps the setting on the connection after the step \
                     commits, for whatever the pool runs on it next: use SET LOCAL"
                        .to_owned(),
                ));
            }
        }
        _ => {}
    }
    found
}

/// The table an `UPDATE [ONLY] t` or `DELETE FROM [ONLY] t` statement writes, without
/// its schema, lowercased unless quoted.
fn written_table(tokens: &[Token<'_>]) -> Option<String> {
    let mut rest = tokens.iter().skip(1).peekable();
    let mut name = rest.by_ref().find(|t| {
        !(t.kind == Kind::Word
            && (t.text.eq_ignore_ascii_case("from") || t.text.eq_ignore_ascii_case("only")))
    })?;
    while rest.next_if(|t| t.text == ".").is_some() {
        name = rest.next()?;
    }
    match name.kind {
        Kind::Word => Some(name.text.to_ascii_lowercase()),
        Kind::QuotedIdent => Some(name.text.trim_matches('"').replace("\"\"", "\"")),
        _ => None,
    }
}

/// Whether an UPDATE or DELETE picks its rows by a value: its top-level `WHERE` compares
/// something with a constant or a parameter (`id = ANY($1)`, `created_at < '…'`, a
/// batch's `LIMIT 1000`). A `WHERE` that only joins (`a.id = n.id`) or tests for NULL
/// reaches every row, as no `WHERE` does.
fn bounded(tokens: &[Token<'_>]) -> bool {
    let mut depth = 0usize;
    let Some(start) = tokens.iter().position(|t| {
        match t.text {
            "(" => depth += 1,
            ")" => depth = depth.saturating_sub(1),
            _ => {}
        }
        depth == 0 && t.kind == Kind::Word && t.text.eq_ignore_ascii_case("where")
    }) else {
        return false;
    };
    tokens[start..].iter().any(|t| {
        matches!(t.kind, Kind::Literal | Kind::Number)
            || (t.kind == Kind::Word
                && ["true", "false"].contains(&t.text.to_ascii_lowercase().as_str()))
    })
}

/// Splits SQL text into its statements, without the `;` between them or comments around
/// them. Semicolons in strings, quoted names, dollar-quoted bodies and comments do not
/// split.
pub fn split_statements(sql: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut span: Option<(usize, usize)> = None;
    for token in tokens(sql) {
        if token.text == ";" && token.kind == Kind::Punct {
            if let Some((start, end)) = span.take() {
                out.push(&sql[start..end]);
            }
            continue;
        }
        let end = token.start + token.text.len();
        span = Some(span.map_or((token.start, end), |(start, _)| (start, end)));
    }
    if let Some((start, end)) = span {
        out.push(&sql[start..end]);
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Word,
    QuotedIdent,
    /// A string constant or a dollar-quoted body.
    Literal,
    /// A number or a parameter (`$1`).
    Number,
    Punct,
}

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    kind: Kind,
    text: &'a str,
    start: usize,
}

/// PostgreSQL's lexical tokens of `sql`, comments and whitespace left out. Good enough to
/// split statements and read their first words: strings (`'…'`, `E'…'`), quoted names,
/// dollar quotes and nested block comments are each one token or skipped whole.
fn tokens(sql: &str) -> Vec<Token<'_>> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let word_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80;
    while i < bytes.len() {
        let start = i;
        let b = bytes[i];
        let kind = if b.is_ascii_whitespace() {
            i += 1;
            continue;
        } else if bytes[i..].starts_with(b"--") {
            i = sql[i..].find('\n').map_or(bytes.len(), |n| i + n + 1);
            continue;
        } else if bytes[i..].starts_with(b"/*") {
            let mut depth = 0usize;
            while i < bytes.len() {
                if bytes[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if bytes[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            continue;
        } else if b == b'\'' || ((b == b'e' || b == b'E') && bytes.get(i + 1) == Some(&b'\'')) {
            let escapes = b != b'\'';
            i += if escapes { 2 } else { 1 };
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' if escapes => i += 2,
                    b'\'' if bytes.get(i + 1) == Some(&b'\'') => i += 2,
                    b'\'' => {
                        i += 1;
                        break;
                    }
                    _ => i += 1,
                }
            }
            Kind::Literal
        } else if b == b'"' {
            i += 1;
            while i < bytes.len() {
                if bytes[i] == b'"' {
                    if bytes.get(i + 1) == Some(&b'"') {
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                i += 1;
            }
            Kind::QuotedIdent
        } else if b == b'$' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            Kind::Number
        } else if b == b'$' {
            let tag_end = sql[i + 1..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .map(|n| i + 1 + n);
            match tag_end {
                Some(end) if bytes[end] == b'$' => {
                    let tag = &sql[i..=end];
                    i = sql[end + 1..]
                        .find(tag)
                        .map_or(bytes.len(), |n| end + 1 + n + tag.len());
                    Kind::Literal
                }
                _ => {
                    i += 1;
                    Kind::Punct
                }
            }
        } else if b.is_ascii_digit() {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.') {
                i += 1;
            }
            Kind::Number
        } else if word_byte(b) {
            while i < bytes.len() && word_byte(bytes[i]) {
                i += 1;
            }
            Kind::Word
        } else {
            i += 1;
            Kind::Punct
        };
        let end = i.min(bytes.len());
        out.push(Token {
            kind,
            text: &sql[start..end],
            start,
        });
    }
    out
}

/// A step's statements as written for squawk, with the line each starts on.
#[derive(Debug)]
struct StepFile {
    step: String,
    statements: Vec<String>,
    /// The line (from 0) of `text` each statement starts on.
    lines: Vec<usize>,
    text: String,
    /// Whether the step runs in one transaction (all but the online steps).
    in_transaction: bool,
}

impl StepFile {
    fn new(step: &str, statements: &[String], in_transaction: bool) -> Self {
        let how = if in_transaction {
            "in one transaction"
        } else {
            "each in a transaction of its own: an online step"
        };
        let mut text = format!(
            "-- Written by `cargo xtask migration-lint`: the PostgreSQL statements of {step}, \
             in the order it runs them ({how}).\n"
        );
        let mut lines = Vec::new();
        for sql in statements {
            lines.push(text.matches('\n').count());
            let _ = writeln!(text, "{sql};");
        }
        Self {
            step: step.to_owned(),
            statements: statements.to_vec(),
            lines,
            text,
            in_transaction,
        }
    }

    /// The statement a line belongs to.
    fn statement_at(&self, line: usize) -> usize {
        self.lines
            .iter()
            .rposition(|&start| start <= line)
            .unwrap_or(0)
    }
}

/// The installed squawk and the options it knows.
#[derive(Debug)]
struct Squawk {
    path: PathBuf,
    help: String,
}

impl Squawk {
    fn find() -> Result<Self> {
        let path = std::env::var_os("PATH")
            .into_iter()
            .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
            .map(|dir| dir.join("squawk"))
            .find(|p| p.is_file())
            .ok_or_else(|| {
                anyhow!(
                    "squawk is not on PATH: install it with `pip install squawk-cli` \
                     (or `python3 -m pip install squawk-cli`)"
                )
            })?;
        let output = Command::new(&path)
            .arg("--help")
            .output()
            .with_context(|| format!("running {} --help", path.display()))?;
        let help = String::from_utf8_lossy(&output.stdout).into_owned();
        if !help.contains("--reporter") || !help.contains("json") {
            bail!(
                "{} has no `--reporter json`: upgrade it with `pip install --upgrade squawk-cli`",
                path.display()
            );
        }
        Ok(Self { path, help })
    }

    /// squawk's findings in `files` (written in `dir`): those of steps that run in one
    /// transaction read as such, those of online steps as statements each on its own.
    fn check(&self, dir: &Path, files: &[StepFile]) -> Result<Vec<Finding>> {
        let mut findings = Vec::new();
        for in_transaction in [true, false] {
            let group: Vec<&StepFile> = files
                .iter()
                .filter(|f| f.in_transaction == in_transaction)
                .collect();
            if !group.is_empty() {
                findings.extend(self.check_group(dir, &group, in_transaction)?);
            }
        }
        Ok(findings)
    }

    /// squawk's findings in `files`, read as one transaction each or not.
    fn check_group(
        &self,
        dir: &Path,
        files: &[&StepFile],
        in_transaction: bool,
    ) -> Result<Vec<Finding>> {
        let mut command = Command::new(&self.path);
        command.current_dir(dir).args(["--reporter", "json"]);
        if self.help.contains("--pg-version") {
            command.arg(format!("--pg-version={PG_VERSION}"));
        }
        if in_transaction && self.help.contains("--assume-in-transaction") {
            command.arg("--assume-in-transaction");
        }
        let excluded: Vec<&str> = EXCLUDED_SQUAWK_RULES.iter().map(|(r, _)| *r).collect();
        command.arg(format!("--exclude={}", excluded.join(",")));
        command.args(files.iter().map(|f| format!("{}.sql", f.step)));
        let output = command
            .output()
            .with_context(|| format!("running {}", self.path.display()))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let reported: serde_json::Value = serde_json::from_str(stdout.trim()).map_err(|e| {
            anyhow!(
                "squawk ({}) gave no JSON report ({e}): {}{}",
                output.status,
                stdout.trim(),
                String::from_utf8_lossy(&output.stderr).trim()
            )
        })?;
        let field = |v: &serde_json::Value, name: &str| {
            v.get(name)
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let mut findings = Vec::new();
        for item in reported.as_array().into_iter().flatten() {
            let file_name = field(item, "file");
            let step = Path::new(&file_name)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let file = files
                .iter()
                .find(|f| f.step == step)
                .ok_or_else(|| anyhow!("squawk reported on an unknown file {file_name}"))?;
            let line = item
                .get("line")
                .and_then(serde_json::Value::as_u64)
                .and_then(|l| usize::try_from(l).ok())
                .unwrap_or(0);
            findings.push(Finding {
                step,
                rule: field(item, "rule_name"),
                message: field(item, "message"),
                help: field(item, "help"),
                statement: file.statement_at(line),
                line,
            });
        }
        Ok(findings)
    }
}

/// The steps of `steps` whose files were added since the git ref `reference` (committed
/// since, or not committed yet).
fn steps_added_since(root: &Path, reference: &str, steps: &[String]) -> Result<Vec<String>> {
    let git = |args: &[&str]| -> Result<String> {
        let output = Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .context("running git")?;
        if !output.status.success() {
            bail!(
                "`git {}` failed: {} (is {reference} a tag or commit? `git tag` lists the tags)",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let added = git(&[
        "diff",
        "--name-only",
        "--diff-filter=A",
        reference,
        "--",
        "migration/src",
    ])?;
    let untracked = git(&[
        "ls-files",
        "--others",
        "--exclude-standard",
        "--",
        "migration/src",
    ])?;
    let names: BTreeSet<String> = added
        .lines()
        .chain(untracked.lines())
        .filter_map(|path| path.strip_prefix("migration/src/")?.strip_suffix(".rs"))
        .map(str::to_owned)
        .collect();
    Ok(steps
        .iter()
        .filter(|s| names.contains(*s))
        .cloned()
        .collect())
}

/// Applies `steps` one at a time to a new database on the scratch server, through the
/// recording relay, and returns each step's statements; the database is dropped
/// afterwards, whatever happens.
async fn render(steps: &[String]) -> Result<Vec<Vec<String>>> {
    let server_url = scratch::server_url()?;
    let upstream = PgConnectOptions::from_str(&server_url)
        .with_context(|| format!("reading the PostgreSQL URL {server_url}"))?;
    if upstream.get_socket().is_some() || upstream.get_host().starts_with('/') {
        bail!(
            "migration-lint records statements over TCP, but {server_url} names a Unix socket: \
             give DATABASE_URL a host and port"
        );
    }
    let relay = Relay::start(upstream.get_host(), upstream.get_port())?;
    let relay_addr = relay.addr;
    let recorded = Arc::clone(&relay.recorded);
    let steps = steps.to_vec();
    let rendered = scratch::with_database(&server_url, move |url| async move {
        let mut options = ConnectOptions::new(url);
        // Every statement is prepared anew (no statement cache), so a text a step sends
        // twice is recorded twice; TLS is off so the relay can read the messages.
        options.map_sqlx_postgres_opts(move |o| {
            o.host(&relay_addr.ip().to_string())
                .port(relay_addr.port())
                .ssl_mode(PgSslMode::Disable)
                .statement_cache_capacity(0)
        });
        let db = connect(options)
            .await
            .context("connecting to the scratch database through the relay")?;
        let outcome = apply_recording(&db, &steps, &recorded).await;
        db.close().await.ok();
        outcome
    })
    .await;
    drop(relay);
    rendered
}

async fn connect(mut options: ConnectOptions) -> Result<DatabaseConnection, sea_orm::DbErr> {
    options.max_connections(2).sqlx_logging(false);
    Database::connect(options).await
}

/// Applies each of `steps` with the migration runner, one step a command, and returns
/// the statements recorded while each ran, without the runner's own.
async fn apply_recording(
    db: &DatabaseConnection,
    steps: &[String],
    recorded: &Mutex<Vec<String>>,
) -> Result<Vec<Vec<String>>> {
    let take = || std::mem::take(&mut *recorded.lock().expect("the relay never panics"));
    let bar = ProgressBar::new(steps.len() as u64).with_style(
        ProgressStyle::with_template(
            "{spinner} {elapsed_precise} [{wide_bar}] {pos}/{len} steps {msg}",
        )
        .context("the progress bar template")?,
    );
    let mut rendered = Vec::new();
    for (index, step) in steps.iter().enumerate() {
        bar.set_message(step.clone());
        take();
        let states = runner::run::<Migrator>(
            db,
            MigrateCommand::Up {
                steps: Some(1),
                allow_changed: false,
            },
            Duration::from_secs(60),
        )
        .await
        .with_context(|| format!("applying {step}"))?;
        let applied = states.iter().take_while(|s| s.applied).count();
        if applied != index + 1 || states[index].name != *step {
            bail!("applying {step} one step at a time applied {applied} steps");
        }
        let sent = take();
        let statements =
            own_statements(&sent).with_context(|| format!("finding the statements of {step}"))?;
        rendered.push(statements);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(rendered)
}

/// The statements of one step among everything a runner command sent: those between
/// the runner's last statement before the step (the ledger read, the `BEGIN` of the
/// step's transaction) and the ledger row it inserts after the step.
fn own_statements(sent: &[String]) -> Result<Vec<String>> {
    let statements: Vec<&str> = sent.iter().flat_map(|sql| split_statements(sql)).collect();
    let ledger_row = statements
        .iter()
        .position(|sql| {
            let lower = sql.to_ascii_lowercase();
            lower.starts_with("insert") && lower.contains("seaql_migrations")
        })
        .ok_or_else(|| anyhow!("the runner inserted no ledger row"))?;
    let start = statements[..ledger_row]
        .iter()
        .rposition(|sql| is_bookkeeping(sql))
        .map_or(0, |i| i + 1);
    Ok(statements[start..ledger_row]
        .iter()
        .map(|sql| (*sql).to_owned())
        .collect())
}

/// Whether a statement is the runner's: the ledger and its checksums, the migration
/// lock, transaction control.
fn is_bookkeeping(sql: &str) -> bool {
    let lower = sql.to_ascii_lowercase();
    let first = lower.split_whitespace().next().unwrap_or_default();
    lower.contains("seaql_migrations")
        || lower.contains("advisory_lock")
        || lower.contains("advisory_unlock")
        || matches!(
            first,
            "begin" | "start" | "commit" | "end" | "rollback" | "savepoint" | "release"
        )
}

/// The start of a statement on one line, at most `max` characters.
fn excerpt(sql: &str, max: usize) -> String {
    let flat = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}

/// A TCP relay in front of PostgreSQL that records the SQL text of every query its
/// clients send: `Query` messages (simple protocol) and `Parse` messages (extended).
/// It runs on threads of its own until dropped.
#[derive(Debug)]
struct Relay {
    addr: SocketAddr,
    recorded: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

/// The startup codes of the untyped requests a client may send before its startup
/// message: `SSLRequest` and `GSSENCRequest`.
const ENCRYPTION_REQUESTS: [i32; 2] = [80_877_103, 80_877_104];

impl Relay {
    fn start(host: &str, port: u16) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").context("starting the lint relay")?;
        let addr = listener.local_addr()?;
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let upstream = (host.to_owned(), port);
        let (seen, stopping) = (Arc::clone(&recorded), Arc::clone(&stop));
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect((upstream.0.as_str(), upstream.1)) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                let seen = Arc::clone(&seen);
                std::thread::spawn(move || relay_connection(client, server, &seen));
            }
        });
        Ok(Self {
            addr,
            recorded,
            stop,
        })
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accepting thread, which then sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// Carries one connection both ways, recording the queries going to the server.
fn relay_connection(client: TcpStream, server: TcpStream, recorded: &Mutex<Vec<String>>) {
    let (Ok(mut client_out), Ok(mut server_in)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let back = std::thread::spawn(move || {
        let _ = std::io::copy(&mut server_in, &mut client_out);
        let _ = client_out.shutdown(Shutdown::Both);
    });
    let _ = forward_recording(&client, &server, recorded);
    let _ = server.shutdown(Shutdown::Write);
    let _ = back.join();
}

/// Copies the client's messages to the server, recording the SQL of each query.
fn forward_recording(
    mut client: &TcpStream,
    mut server: &TcpStream,
    recorded: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    // Untyped messages first: encryption requests (answered by the server alone), then
    // the startup message.
    loop {
        let mut length = [0u8; 4];
        client.read_exact(&mut length)?;
        let mut body = vec![0u8; body_length(length)];
        client.read_exact(&mut body)?;
        server.write_all(&length)?;
        server.write_all(&body)?;
        let code = body
            .get(..4)
            .map_or(0, |c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]));
        if !ENCRYPTION_REQUESTS.contains(&code) {
            break;
        }
    }
    loop {
        let mut head = [0u8; 5];
        client.read_exact(&mut head)?;
        let mut body = vec![0u8; body_length([head[1], head[2], head[3], head[4]])];
        client.read_exact(&mut body)?;
        let mut strings = body.split(|&b| b == 0);
        let sql = match head[0] {
            b'Q' => strings.next(),
            b'P' => strings.nth(1),
            _ => None,
        };
        if let Some(sql) = sql {
            recorded
                .lock()
                .expect("the relay never panics")
                .push(String::from_utf8_lossy(sql).into_owned());
        }
        server.write_all(&head)?;
        server.write_all(&body)?;
    }
}

/// The length of a message's body, from the length field that counts itself.
fn body_length(field: [u8; 4]) -> usize {
    usize::try_from(i32::from_be_bytes(field))
        .unwrap_or(0)
        .saturating_sub(4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(step: &str, rule: &str) -> Finding {
        Finding {
            step: step.to_owned(),
            rule: rule.to_owned(),
            message: String::new(),
            help: String::new(),
            statement: 0,
            line: 1,
        }
    }

    #[test]
    fn lint_allow_list_lines_are_parsed_and_bad_ones_named() {
        let list = parse_allow_list(
            "# comment\n\n\
             m1_a require-lock-timeout — the table was created in the same step\n\
             m2_b big-table-backfill -- ran in 75 s on the M dataset\n",
        )
        .expect("a good list");
        assert_eq!(
            list,
            vec![
                Allowance {
                    step: "m1_a".to_owned(),
                    rule: "require-lock-timeout".to_owned(),
                    justification: "the table was created in the same step".to_owned(),
                    line: 3,
                },
                Allowance {
                    step: "m2_b".to_owned(),
                    rule: "big-table-backfill".to_owned(),
                    justification: "ran in 75 s on the M dataset".to_owned(),
                    line: 4,
                },
            ]
        );
        let missing = parse_allow_list("m1_a require-lock-timeout —  \n").unwrap_err();
        assert!(
            missing.to_string().contains(":1:") && missing.to_string().contains("justification"),
            "{missing}"
        );
        let short = parse_allow_list("\nm1_a\n").unwrap_err();
        assert!(short.to_string().contains(":2:"), "{short}");
        let twice = parse_allow_list("a r — x\na r — y\n").unwrap_err();
        assert!(
            twice.to_string().contains("already allowed on line 1"),
            "{twice}"
        );
    }

    #[test]
    fn lint_findings_need_a_line_and_lines_need_a_finding() {
        let steps = ["m1".to_owned(), "m2".to_owned(), "m3".to_owned()];
        let findings = [
            finding("m1", "require-lock-timeout"),
            finding("m1", "require-lock-timeout"),
            finding("m2", "ban-drop-column"),
        ];
        let allow = parse_allow_list(
            "m1 require-lock-timeout — ok\n\
             m2 changing-column-type — stale\n\
             m3 ban-drop-column — not linted: neither used nor stale\n\
             m9 ban-drop-column — no such step\n",
        )
        .expect("a good list");
        let verdict = judge(&findings, &allow, &steps[..2], &steps);
        assert_eq!(verdict.allowed, 2);
        assert_eq!(verdict.refused, vec![&findings[2]]);
        let stale: Vec<&str> = verdict.stale.iter().map(|a| a.step.as_str()).collect();
        assert_eq!(stale, ["m2", "m9"]);
    }

    #[test]
    fn lint_own_rules_flag_whole_table_backfills_of_big_tables() {
        let rules = |sql: &str| {
            own_rules(sql)
                .into_iter()
                .map(|(r, _)| r)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            rules(
                "UPDATE tasks SET organization_id = (SELECT p.organization_id FROM projects p \
                 WHERE p.id = tasks.project_id)"
            ),
            ["big-table-backfill"]
        );
        assert_eq!(
            rules("update ONLY public.\"audit_log\" set x = 1"),
            ["big-table-backfill"]
        );
        assert_eq!(rules("DELETE FROM comments"), ["big-table-backfill"]);
        assert_eq!(
            rules(
                "UPDATE audit_log a SET seq = n.seq FROM (SELECT id, row_number() OVER () AS seq \
                 FROM audit_log WHERE x = 1) n WHERE a.id = n.id"
            ),
            ["big-table-backfill"],
            "a WHERE that only joins reaches every row"
        );
        assert_eq!(
            rules("UPDATE comments SET o = (SELECT 1) WHERE o IS NULL"),
            ["big-table-backfill"]
        );
        assert!(rules("UPDATE tasks SET x = 1 WHERE id = ANY($1)").is_empty());
        assert!(
            rules(
                "UPDATE tasks SET x = 1 WHERE id IN (SELECT id FROM tasks WHERE x IS NULL \
                 LIMIT 1000)"
            )
            .is_empty(),
            "a batch"
        );
        assert!(
            rules("UPDATE projects SET x = 1").is_empty(),
            "not a big table"
        );
        assert!(
            rules(
                "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                 UPDATE tasks SET x = 1; RETURN NULL; END $$"
            )
            .is_empty(),
            "a function body is not run by the step"
        );
        assert!(
            rules("CREATE TRIGGER t AFTER UPDATE ON tasks FOR EACH ROW EXECUTE FUNCTION f()")
                .is_empty()
        );
    }

    #[test]
    fn lint_own_rules_flag_settings_that_outlive_the_step() {
        let rules = |sql: &str| {
            own_rules(sql)
                .into_iter()
                .map(|(r, _)| r)
                .collect::<Vec<_>>()
        };
        assert_eq!(rules("SET lock_timeout = '5s'"), ["session-setting"]);
        assert_eq!(
            rules("set session statement_timeout to 0"),
            ["session-setting"]
        );
        assert!(rules("SET LOCAL lock_timeout = '5s'").is_empty());
        assert!(rules("SET CONSTRAINTS ALL DEFERRED").is_empty());
        assert!(rules("SELECT set_config('app.user_id', '', true)").is_empty());
    }

    #[test]
    fn lint_statements_split_only_outside_strings_bodies_and_comments() {
        let sql = "CREATE FUNCTION f() RETURNS trigger AS $body$ BEGIN PERFORM 1; RETURN NULL; \
                   END $body$ LANGUAGE plpgsql; -- a comment; still a comment\n\
                   COMMENT ON TABLE t IS 'a; b''c'; /* x; /* nested; */ y; */ \
                   SELECT E'\\'; still the string', \"a;b\", $1;;";
        assert_eq!(
            split_statements(sql),
            [
                "CREATE FUNCTION f() RETURNS trigger AS $body$ BEGIN PERFORM 1; RETURN NULL; \
                 END $body$ LANGUAGE plpgsql",
                "COMMENT ON TABLE t IS 'a; b''c'",
                "SELECT E'\\'; still the string', \"a;b\", $1",
            ]
        );
        let sent = [
            "SELECT pg_try_advisory_lock($1)".to_owned(),
            "SELECT \"version\" FROM \"seaql_migrations\"".to_owned(),
            "BEGIN".to_owned(),
            "CREATE TABLE t (id uuid); CREATE INDEX i ON t (id)".to_owned(),
            "INSERT INTO \"seaql_migrations\" (\"version\") VALUES ($1)".to_owned(),
            "COMMIT".to_owned(),
            "SELECT COUNT(*) > 0 AS \"has_table\" FROM x WHERE name = $1".to_owned(),
        ];
        assert_eq!(
            own_statements(&sent).expect("a step"),
            ["CREATE TABLE t (id uuid)", "CREATE INDEX i ON t (id)"]
        );
        assert!(own_statements(&sent[..4]).is_err(), "no ledger row");
        assert!(is_bookkeeping("BEGIN"));
        assert!(is_bookkeeping(
            "INSERT INTO \"seaql_migrations\" (\"version\", \"applied_at\") VALUES ($1, $2)"
        ));
        assert!(is_bookkeeping("SELECT pg_try_advisory_lock($1)"));
        assert!(!is_bookkeeping("CREATE TABLE t (id uuid)"));
    }

    #[test]
    fn lint_step_files_know_which_statement_a_line_is_in() {
        let file = StepFile::new(
            "m1",
            &[
                "CREATE TABLE t (\n  id uuid\n)".to_owned(),
                "DROP TABLE u".to_owned(),
            ],
            true,
        );
        assert_eq!(file.lines, [1, 4]);
        assert_eq!(file.text.lines().nth(4), Some("DROP TABLE u;"));
        assert_eq!(
            [1, 2, 3, 4].map(|line| file.statement_at(line)),
            [0, 0, 0, 1]
        );
    }
}
