//! The architecture invariants on crate dependencies, checked over `cargo metadata`:
//! domain crates depend only upstream, none of them knows about HTTP, and no crate of the
//! workspace declares a dependency its code never uses (so the layering the manifests
//! show is the layering the code has).

/// bduf's crates from upstream to downstream; a crate may depend only on crates of a
/// lower layer. Collaboration and governance share a layer: neither depends on the other.
pub const LAYERS: [(&str, u8); 9] = [
    ("bduf-core", 0),
    ("bduf-fixture", 1),
    ("bduf-identity", 1),
    ("bduf-planning", 2),
    ("bduf-work", 3),
    ("bduf-collaboration", 4),
    ("bduf-governance", 4),
    ("bduf-graphql", 5),
    ("bduf-server", 6),
];

/// What only the server may use: the HTTP stack and the metrics exporter.
pub const SERVER_ONLY: [&str; 4] = [
    "axum",
    "async-graphql-axum",
    "tower-http",
    "metrics-exporter-prometheus",
];

/// Dependencies that must not exist, whatever the layers: migrations name tables without
/// the generated entities; entities carry no GraphQL; the schema builds no SQL (the
/// contexts do); the server reaches the domain only through the schema.
pub const FORBIDDEN: [(&str, &str); 10] = [
    ("migration", "entity"),
    ("entity", "async-graphql"),
    ("bduf-graphql", "sea-orm"),
    ("bduf-graphql", "sea-query"),
    ("bduf-graphql", "sqlx"),
    ("bduf-server", "bduf-identity"),
    ("bduf-server", "bduf-planning"),
    ("bduf-server", "bduf-work"),
    ("bduf-server", "bduf-collaboration"),
    ("bduf-server", "bduf-governance"),
];

/// The violations among `edges` (`from` depends on `to`, normal dependencies only).
pub fn violations(edges: &[(String, String)]) -> Vec<String> {
    let layer = |name: &str| LAYERS.iter().find(|(n, _)| *n == name).map(|(_, l)| *l);
    let mut found = Vec::new();
    for (from, to) in edges {
        if FORBIDDEN.contains(&(from.as_str(), to.as_str())) {
            found.push(format!("{from} depends on {to}, which it must not"));
        }
        let Some(from_layer) = layer(from) else {
            continue;
        };
        if let Some(to_layer) = layer(to)
            && to_layer >= from_layer
        {
            found.push(format!(
                "{from} depends on {to}, which is not upstream of it"
            ));
        }
        if from != "bduf-server" && SERVER_ONLY.contains(&to.as_str()) {
            found.push(format!(
                "{from} depends on {to}: only bduf-server may know about HTTP"
            ));
        }
    }
    found
}

/// The declared dependencies of a package that its code never names, given the text of
/// its sources: a dependency `foo-bar` counts as used where `foo_bar::` or `use foo_bar`
/// appears.
pub fn unused<'a>(dependencies: &[&'a str], sources: &str) -> Vec<&'a str> {
    dependencies
        .iter()
        .filter(|dep| {
            let name = dep.replace('-', "_");
            !(sources.contains(&format!("{name}::")) || sources.contains(&format!("use {name}")))
        })
        .copied()
        .collect()
}

/// What only a context may write, by the words that write it: a rule of the domain (a
/// role check, a refusal of an input or an action) or SQL. `bduf-graphql` delegates every
/// field to a context; its own errors are the request's (no connection, no session) and
/// the mapping of the contexts'.
pub const DOMAIN_ONLY: [&str; 14] = [
    ".require(",
    "rank(",
    "Error::invalid",
    "Error::Invalid",
    "Error::forbidden",
    "Error::Forbidden",
    "Error::not_found",
    "Error::conflict",
    "Statement",
    "SELECT ",
    "INSERT ",
    "UPDATE ",
    "DELETE ",
    "Query::select",
];

/// The lines of `sources` (comments aside) that hold any of [`DOMAIN_ONLY`].
pub fn domain_lines(sources: &str) -> Vec<&str> {
    sources
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with("//"))
        .filter(|line| DOMAIN_ONLY.iter().any(|word| line.contains(word)))
        .collect()
}

/// The text of every `.rs` file under `dir`.
#[cfg(test)]
fn sources(dir: &std::path::Path) -> String {
    let mut text = String::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return text;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            text.push_str(&sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            text.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::{LAYERS, domain_lines, unused, violations};

    #[test]
    fn violations_are_found() {
        let edges = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect::<Vec<_>>()
        };
        assert!(
            violations(&edges(&[
                ("bduf-work", "bduf-planning"),
                ("bduf-server", "axum")
            ]))
            .is_empty()
        );
        assert_eq!(
            violations(&edges(&[("bduf-planning", "bduf-work")])).len(),
            1
        );
        assert_eq!(
            violations(&edges(&[("bduf-governance", "bduf-collaboration")])).len(),
            1
        );
        assert_eq!(violations(&edges(&[("bduf-graphql", "axum")])).len(), 1);
        assert_eq!(violations(&edges(&[("migration", "entity")])).len(), 1);
        assert_eq!(violations(&edges(&[("bduf-graphql", "sea-orm")])).len(), 1);
        assert_eq!(violations(&edges(&[("bduf-server", "bduf-work")])).len(), 1);
    }

    #[test]
    fn domain_rules_and_sql_are_found() {
        let code = "// SELECT in a comment\nlet org = tx.require(role, \"x\")?;\nok(ctx).await";
        assert_eq!(domain_lines(code), ["let org = tx.require(role, \"x\")?;"]);
    }

    /// `bduf-graphql` holds no SQL and no rule of the domain: its hand-written code (the
    /// generated scalar fields aside) only delegates to the contexts. Together with
    /// `FORBIDDEN` (no `sea-orm` for it), this is the invariant "a mutation field is one
    /// delegation".
    #[test]
    fn the_schema_holds_no_sql_and_no_domain_rule() {
        let src = crate::workspace_root().join("crates/bduf-graphql/src");
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&src)
            .expect("the schema's sources")
            .flatten()
        {
            let path = entry.path();
            if path.file_name().is_some_and(|n| n == "generated") {
                continue;
            }
            let text = if path.is_dir() {
                super::sources(&path)
            } else {
                std::fs::read_to_string(&path).unwrap_or_default()
            };
            found.extend(
                domain_lines(&text)
                    .into_iter()
                    .map(|line| format!("{}: {line}", path.display())),
            );
        }
        assert!(found.is_empty(), "rules or SQL in bduf-graphql: {found:#?}");
    }

    #[test]
    fn unused_dependencies_are_found() {
        let sources = "use sea_orm::Condition;\nfn f() -> bduf_core::Result<()> { Ok(()) }";
        assert_eq!(
            unused(&["sea-orm", "bduf-core", "bduf-planning"], sources),
            ["bduf-planning"]
        );
    }

    /// The invariant on the workspace as it is.
    #[test]
    fn crates_depend_only_upstream() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let output = Command::new(cargo)
            .args([
                "metadata",
                "--format-version",
                "1",
                "--no-deps",
                "--offline",
            ])
            .current_dir(crate::workspace_root())
            .output()
            .expect("running cargo metadata");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let metadata: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("metadata JSON");
        let mut edges = Vec::new();
        let mut seen = Vec::new();
        for package in metadata["packages"].as_array().expect("packages") {
            let name = package["name"].as_str().unwrap_or_default().to_owned();
            seen.push(name.clone());
            for dep in package["dependencies"].as_array().into_iter().flatten() {
                if dep["kind"].is_null() {
                    edges.push((
                        name.clone(),
                        dep["name"].as_str().unwrap_or_default().to_owned(),
                    ));
                }
            }
        }
        for (name, _) in LAYERS {
            assert!(
                seen.iter().any(|s| s == name),
                "{name} is not in the workspace"
            );
        }
        let found = violations(&edges);
        assert!(found.is_empty(), "{found:#?}");
    }

    /// Every dependency a workspace crate declares (normal ones; dev-dependencies are the
    /// tests') is used by its code.
    #[test]
    fn crates_use_every_dependency_they_declare() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let output = Command::new(cargo)
            .args([
                "metadata",
                "--format-version",
                "1",
                "--no-deps",
                "--offline",
            ])
            .current_dir(crate::workspace_root())
            .output()
            .expect("running cargo metadata");
        let metadata: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("metadata JSON");
        let mut found = Vec::new();
        for package in metadata["packages"].as_array().expect("packages") {
            let name = package["name"].as_str().unwrap_or_default();
            let manifest =
                std::path::Path::new(package["manifest_path"].as_str().unwrap_or_default());
            let dir = manifest.parent().expect("a package folder");
            // The code the package builds: its library and binaries, not its tests.
            let code = super::sources(&dir.join("src"));
            let deps: Vec<&str> = package["dependencies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| d["kind"].is_null())
                .filter_map(|d| d["rename"].as_str().or(d["name"].as_str()))
                .collect();
            for dep in unused(&deps, &code) {
                found.push(format!("{name} declares {dep} but never uses it"));
            }
        }
        assert!(found.is_empty(), "{found:#?}");
    }
}
