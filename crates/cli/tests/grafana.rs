//! `generate grafana-dashboard`: Grafana's dashboard model with a
//! Prometheus data source variable, and every metric its PromQL names is
//! one `serve` exports (read from a real `/metrics` of `serve --from
//! examples/demo`) or one the Cilium minor exports (`data/metrics.json`);
//! promtool parses every expression.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command as Process;
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::{available, examples, here, serve, success, temp_dir};

/// (minor, agent and operator metric names) of `data/metrics.json`.
fn cilium_metrics() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(here("../../data/metrics.json")).unwrap();
    let data: Value = serde_json::from_str(&text).unwrap();
    data["minors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let names = ["agent", "operator"]
                .iter()
                .flat_map(|side| m[*side].as_array().unwrap())
                .map(|n| n.as_str().unwrap().to_string())
                .collect();
            (m["minor"].as_str().unwrap().to_string(), names)
        })
        .collect()
}

fn dashboard(minor: &str) -> Value {
    let out = success(&["generate", "grafana-dashboard", "--cilium", minor]);
    serde_json::from_str(&out).unwrap()
}

/// Every PromQL expression of the dashboard, with its panel's title.
fn expressions(dashboard: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            out.push((
                panel["title"].as_str().unwrap().to_string(),
                target["expr"].as_str().unwrap().to_string(),
            ));
        }
    }
    out
}

/// PromQL words that are not metric names.
const KEYWORDS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "count",
    "group",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
    "limitk",
    "limit_ratio",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "atan2",
];

/// The metric names a PromQL expression selects: identifiers outside
/// strings, label matchers, ranges and grouping lists that are neither
/// functions, operators nor keywords.
fn metric_names(expr: &str) -> BTreeSet<String> {
    // Blank out "strings", {matchers} and [ranges].
    let mut plain = String::new();
    let (mut braces, mut brackets, mut quote) = (0, 0, None);
    for c in expr.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '{') => braces += 1,
            (None, '}') => braces -= 1,
            (None, '[') => brackets += 1,
            (None, ']') => brackets -= 1,
            (None, c) if braces == 0 && brackets == 0 => {
                plain.push(c);
                continue;
            }
            _ => {}
        }
        plain.push(' ');
    }
    let chars: Vec<char> = plain.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    let mut skip_list = false;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let next = chars[i..].iter().find(|c| !c.is_whitespace());
            if KEYWORDS.contains(&word.as_str()) {
                // by (...), without (...), on (...): label lists follow.
                skip_list = matches!(
                    word.as_str(),
                    "by" | "without" | "on" | "ignoring" | "group_left" | "group_right"
                );
            } else if next != Some(&'(') {
                names.insert(word);
            }
            continue;
        }
        if c == '(' && skip_list {
            while i < chars.len() && chars[i] != ')' {
                i += 1;
            }
            skip_list = false;
        } else if c.is_ascii_digit() {
            // A number (with an exponent or unit letters): not a name.
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            continue;
        }
        i += 1;
    }
    names
}

#[test]
fn metric_names_are_read_from_promql() {
    let cases = [
        ("sum by (severity) (eks_cilium_doctor_findings)", vec!["eks_cilium_doctor_findings"]),
        ("time() - max(a_b_seconds)", vec!["a_b_seconds"]),
        (
            "sum by (instance, reason) (rate(cilium_drop_count_total{reason=~\"CT: Map insertion failed|x\"}[$__rate_interval]))",
            vec!["cilium_drop_count_total"],
        ),
        ("max(x{category=\"at-capacity\"}) > 0.9 and on (instance) y", vec!["x", "y"]),
        ("count(a) / 1e3", vec!["a"]),
    ];
    for (expr, want) in cases {
        let got: Vec<String> = metric_names(expr).into_iter().collect();
        assert_eq!(got, want, "{expr}");
    }
}

/// The metric families of a real `/metrics` of `serve --from examples/demo`.
fn serve_families() -> BTreeSet<String> {
    let server = serve(&["--from", &examples("demo")]);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = agent
            .get(&format!("{}/readyz", server.url))
            .call()
            .unwrap()
            .status();
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "serve was not ready within 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    let body = agent
        .get(&format!("{}/metrics", server.url))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let families: BTreeSet<String> = body
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    // The exposition is the evaluated one: the findings family has samples.
    assert!(
        body.contains("eks_cilium_doctor_finding{rule=\"CNI001\""),
        "{body}"
    );
    families
}

#[test]
fn every_expression_names_metrics_serve_or_cilium_export() {
    let served = serve_families();
    assert!(
        served.contains("eks_cilium_doctor_knowledge_age_seconds"),
        "{served:?}"
    );
    for (minor, exported) in cilium_metrics() {
        let d = dashboard(&minor);
        let mut used = BTreeSet::new();
        for (title, expr) in expressions(&d) {
            let names = metric_names(&expr);
            assert!(!names.is_empty(), "{minor} {title}: no metric in {expr}");
            for name in names {
                if name.starts_with("eks_cilium_doctor_") {
                    assert!(
                        served.contains(&name),
                        "{minor} {title}: serve exports no {name}"
                    );
                } else {
                    assert!(
                        exported.contains(&name),
                        "{minor} {title}: Cilium {minor} exports no {name} (data/metrics.json)"
                    );
                }
                used.insert(name);
            }
        }
        // What the dashboard is for is on it.
        for needed in [
            "eks_cilium_doctor_findings",
            "eks_cilium_doctor_finding",
            "eks_cilium_doctor_source_stale",
            "eks_cilium_doctor_last_evaluation_duration_seconds",
            "eks_cilium_doctor_knowledge_age_seconds",
            "cilium_bpf_map_pressure",
            "cilium_drop_count_total",
            "cilium_ip_addresses",
        ] {
            assert!(used.contains(needed), "{minor}: no panel uses {needed}");
        }
        assert!(
            used.iter().any(|n| n.starts_with("cilium_operator_ipam_")),
            "{minor}: no operator IPAM panel"
        );
    }
}

#[test]
fn the_dashboard_follows_grafanas_model() {
    let d = dashboard("1.16");
    assert!(d["id"].is_null(), "import needs a null id");
    assert_eq!(d["uid"], "eks-cilium-doctor");
    assert_eq!(d["schemaVersion"], 41);
    let variables = d["templating"]["list"].as_array().unwrap();
    let ds = variables
        .iter()
        .find(|v| v["name"] == "datasource")
        .unwrap();
    assert_eq!(ds["type"], "datasource");
    assert_eq!(ds["query"], "prometheus");
    let mut ids = BTreeSet::new();
    for panel in d["panels"].as_array().unwrap() {
        assert!(
            ids.insert(panel["id"].as_u64().unwrap()),
            "duplicate panel id"
        );
        let kind = panel["type"].as_str().unwrap();
        assert!(
            ["row", "stat", "timeseries", "table"].contains(&kind),
            "{kind}"
        );
        for key in ["h", "w", "x", "y"] {
            assert!(panel["gridPos"][key].is_u64(), "{}", panel["title"]);
        }
        if kind == "row" {
            continue;
        }
        assert_eq!(
            panel["datasource"]["uid"], "${datasource}",
            "{}",
            panel["title"]
        );
        assert_eq!(panel["datasource"]["type"], "prometheus");
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty());
        for t in targets {
            assert_eq!(t["datasource"]["uid"], "${datasource}");
            assert!(t["refId"].is_string());
        }
        assert!(panel["fieldConfig"]["defaults"]["unit"].is_string());
    }
    let text = serde_json::to_string(&d).unwrap();
    assert!(
        text.contains("Cilium 1.16"),
        "the Cilium row names the minor"
    );
}

#[test]
fn promtool_parses_every_expression() {
    if !available("promtool", &["--version"]) {
        return;
    }
    let dir = temp_dir("grafana-promtool");
    let mut files = Vec::new();
    for minor in cilium_metrics().keys() {
        let mut rules = String::from("groups:\n");
        rules.push_str(&format!("  - name: dashboard-{minor}\n    rules:\n"));
        for (i, (_, expr)) in expressions(&dashboard(minor)).into_iter().enumerate() {
            // Grafana's interval macro as a range promtool knows.
            let expr = expr.replace("$__rate_interval", "5m");
            rules.push_str(&format!(
                "      - record: eks_cilium_doctor_dashboard:expr_{i}\n        expr: {}\n",
                serde_json::to_string(&expr).unwrap()
            ));
        }
        let path = dir.path().join(format!("dashboard-{minor}.yaml"));
        std::fs::write(&path, rules).unwrap();
        files.push(path);
    }
    let out = Process::new("promtool")
        .arg("check")
        .arg("rules")
        .args(&files)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool check rules:\n{text}");
    assert_eq!(text.matches("SUCCESS").count(), files.len(), "{text}");
}

#[test]
fn an_unknown_minor_is_one_error_line() {
    let stderr = common::usage_error(&["generate", "grafana-dashboard", "--cilium", "1.99"]);
    assert!(
        stderr.contains("no metric names for Cilium 1.99"),
        "{stderr}"
    );
}
