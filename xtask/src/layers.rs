//! The architecture invariant on crate dependencies, checked over `cargo metadata`:
//! domain crates depend only upstream, and none of them knows about HTTP.

/// bduf's crates from upstream to downstream; a crate may depend only on crates of a
/// lower layer. Collaboration and governance share a layer: neither depends on the other.
pub const LAYERS: [(&str, u8); 8] = [
    ("bduf-core", 0),
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

/// The violations among `edges` (`from` depends on `to`, normal dependencies only).
pub fn violations(edges: &[(String, String)]) -> Vec<String> {
    let layer = |name: &str| LAYERS.iter().find(|(n, _)| *n == name).map(|(_, l)| *l);
    let mut found = Vec::new();
    for (from, to) in edges {
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

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::{LAYERS, violations};

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
}
