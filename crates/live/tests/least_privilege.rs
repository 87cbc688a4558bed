//! `deploy/iam-policy.json` and `deploy/rbac.yaml` grant exactly what the
//! collector uses: every AWS operation the source calls is in the call
//! table and the policy, every Kubernetes read is in the ClusterRole, and
//! neither grants anything more (nor Secrets, nor wildcards).

use std::collections::BTreeSet;
use std::path::Path;

use doctor_live::calls::{
    aws, Read, KUBE_KINDS, KUBE_VERSION_PATH, POD_LOGS, POD_LOGS_GRANT, POLICY_REPORT_KINDS,
    WRITE_VERBS,
};
use serde::Deserialize;

fn repo_file(path: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn policy_actions() -> BTreeSet<String> {
    let policy: serde_json::Value =
        serde_json::from_str(&repo_file("deploy/iam-policy.json")).unwrap();
    let mut actions = BTreeSet::new();
    for statement in policy["Statement"].as_array().unwrap() {
        assert_eq!(statement["Effect"], "Allow");
        for action in statement["Action"].as_array().unwrap() {
            let action = action.as_str().unwrap();
            assert!(!action.contains('*'), "no wildcard actions: {action}");
            actions.insert(action.to_string());
        }
    }
    actions
}

#[test]
fn iam_policy_allows_exactly_the_call_table() {
    let table: BTreeSet<String> = aws::ALL.iter().map(|a| a.to_string()).collect();
    assert_eq!(policy_actions(), table);
    for action in aws::ALL {
        let verb = action.split(':').nth(1).unwrap();
        assert!(
            ["Describe", "List", "Get"]
                .iter()
                .any(|p| verb.starts_with(p)),
            "read-only actions only: {action}"
        );
    }
}

/// The text of README.md between `<!-- NAME:start -->` and `<!-- NAME:end -->`.
fn readme_section(name: &str) -> String {
    let readme = repo_file("README.md");
    let start = format!("<!-- {name}:start -->");
    let end = format!("<!-- {name}:end -->");
    let from = readme
        .find(&start)
        .unwrap_or_else(|| panic!("README.md has {start}"))
        + start.len();
    let to = readme
        .find(&end)
        .unwrap_or_else(|| panic!("README.md has {end}"));
    readme[from..to].to_string()
}

#[test]
fn readme_call_table_and_policy_are_the_call_table_and_the_policy() {
    // The first column of the table, in the order of calls.rs.
    let listed: Vec<String> = readme_section("aws-calls")
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`'))
        .map(|(action, _)| action.to_string())
        .collect();
    let table: Vec<String> = aws::ALL.iter().map(|a| a.to_string()).collect();
    assert_eq!(listed, table, "README.md's AWS call table");
    let shown = readme_section("iam-policy");
    let json = shown
        .trim()
        .strip_prefix("```json")
        .and_then(|t| t.strip_suffix("```"))
        .expect("the README policy is one ```json block");
    let shown: serde_json::Value = serde_json::from_str(json).unwrap();
    let file: serde_json::Value =
        serde_json::from_str(&repo_file("deploy/iam-policy.json")).unwrap();
    assert_eq!(shown, file, "README.md shows deploy/iam-policy.json");
}

/// `list_open_id_connect_providers` → `listopenidconnectproviders`.
fn squash(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

#[test]
fn every_sdk_operation_in_the_source_is_in_the_call_table() {
    let allowed: BTreeSet<String> = aws::ALL
        .iter()
        .map(|a| {
            let (service, op) = a.split_once(':').unwrap();
            format!("{service}:{}", squash(op))
        })
        .collect();
    let mut seen = BTreeSet::new();
    for file in ["ec2", "eks", "iam"] {
        // Without whitespace: rustfmt splits `self.ec2.describe_x()` over lines.
        let source: String = repo_file(&format!("crates/live/src/aws/{file}.rs"))
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        for service in ["eks", "ec2", "iam"] {
            let needle = format!("self.{service}.");
            for (at, _) in source.match_indices(&needle) {
                let rest = &source[at + needle.len()..];
                let op: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                seen.insert(format!("{service}:{}", squash(&op)));
            }
        }
    }
    assert!(seen.len() >= 18, "the scan found the SDK calls: {seen:?}");
    let missing: Vec<&String> = seen.difference(&allowed).collect();
    assert!(
        missing.is_empty(),
        "SDK calls missing from calls.rs/the IAM policy: {missing:?}"
    );
    let unused: Vec<&String> = allowed.difference(&seen).collect();
    assert!(
        unused.is_empty(),
        "actions granted but never called: {unused:?}"
    );
}

#[derive(Deserialize)]
struct ClusterRole {
    kind: String,
    rules: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    #[serde(default)]
    api_groups: Vec<String>,
    #[serde(default)]
    resources: Vec<String>,
    #[serde(default)]
    resource_names: Vec<String>,
    #[serde(default, rename = "nonResourceURLs")]
    non_resource_urls: Vec<String>,
    verbs: Vec<String>,
}

/// (group, resource, verb, resource name or "") for every grant.
fn grants(rules: &[Rule]) -> BTreeSet<(String, String, String, String)> {
    let mut out = BTreeSet::new();
    for rule in rules {
        for group in &rule.api_groups {
            for resource in &rule.resources {
                for verb in &rule.verbs {
                    let names = if rule.resource_names.is_empty() {
                        vec![String::new()]
                    } else {
                        rule.resource_names.clone()
                    };
                    for name in names {
                        out.insert((group.clone(), resource.clone(), verb.clone(), name));
                    }
                }
            }
        }
    }
    out
}

#[test]
fn cluster_role_grants_exactly_the_kinds_read() {
    let role: ClusterRole = serde_saphyr::from_str(&repo_file("deploy/rbac.yaml")).unwrap();
    assert_eq!(role.kind, "ClusterRole");
    let granted = grants(&role.rules);
    let mut needed = BTreeSet::new();
    for kind in KUBE_KINDS {
        let names: Vec<&str> = match kind.read {
            Read::List => vec![""],
            Read::Get(names) => names.iter().map(|(_, n)| *n).collect(),
        };
        for name in names {
            for verb in kind.read.verbs() {
                needed.insert((
                    kind.group.to_string(),
                    kind.plural.to_string(),
                    verb.to_string(),
                    name.to_string(),
                ));
            }
        }
    }
    // The log tails (crates/live/src/logs.rs).
    let (group, resource, verb) = POD_LOGS_GRANT;
    assert_eq!(POD_LOGS, format!("{verb} {resource}"));
    needed.insert((
        group.to_string(),
        resource.to_string(),
        verb.to_string(),
        String::new(),
    ));
    assert_eq!(
        granted, needed,
        "rbac.yaml must match calls::KUBE_KINDS and POD_LOGS exactly"
    );
    for (group, resource, verb, _) in &granted {
        assert!(
            resource != "secrets" && resource != "*" && group != "*",
            "{group}/{resource}"
        );
        assert!(
            ["get", "list", "watch"].contains(&verb.as_str()),
            "read-only verbs only: {verb}"
        );
    }
    let urls: Vec<&Rule> = role
        .rules
        .iter()
        .filter(|r| !r.non_resource_urls.is_empty())
        .collect();
    assert_eq!(urls.len(), 1);
    assert_eq!(urls[0].non_resource_urls, [KUBE_VERSION_PATH]);
    assert_eq!(urls[0].verbs, ["get"]);
}

/// The source of `file` without whitespace (rustfmt splits calls over lines).
fn squashed_source(file: &str) -> String {
    repo_file(file)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// The kube-rs `Api` methods `source` calls (`api.NAME(` / `all.NAME(`).
fn api_methods(source: &str, receivers: &[&str]) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for receiver in receivers {
        let needle = format!("{receiver}.");
        for (at, _) in source.match_indices(&needle) {
            let whole_word = source[..at]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_ascii_alphanumeric() && c != '_');
            if !whole_word {
                continue;
            }
            let rest = &source[at + needle.len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if rest[name.len()..].starts_with('(') {
                seen.insert(name);
            }
        }
    }
    seen
}

#[test]
fn the_policy_report_writer_calls_exactly_the_granted_verbs() {
    let source = squashed_source("crates/live/src/policyreport.rs");
    let called = api_methods(&source, &["api", "all"]);
    let verbs: BTreeSet<String> = WRITE_VERBS.iter().map(|v| v.to_string()).collect();
    assert_eq!(called, verbs, "kube-rs Api calls of policyreport.rs");

    let role: ClusterRole =
        serde_saphyr::from_str(&repo_file("deploy/rbac-policyreport.yaml")).unwrap();
    assert_eq!(role.kind, "ClusterRole");
    let mut needed = BTreeSet::new();
    for kind in POLICY_REPORT_KINDS {
        assert_eq!(kind.group, "wgpolicyk8s.io");
        for verb in WRITE_VERBS {
            needed.insert((
                kind.group.to_string(),
                kind.plural.to_string(),
                verb.to_string(),
                String::new(),
            ));
        }
    }
    assert_eq!(grants(&role.rules), needed, "rbac-policyreport.yaml");
    assert!(role.rules.iter().all(|r| r.non_resource_urls.is_empty()));
}

#[test]
fn the_log_tails_read_pods_log_only() {
    let source = squashed_source("crates/live/src/logs.rs");
    assert_eq!(
        api_methods(&source, &["api"]),
        BTreeSet::from(["log_stream".to_string()]),
        "kube-rs Api calls of logs.rs: the pods/log subresource only"
    );
}
