//! The Helm chart (deploy/chart) and the plain manifests rendered from it:
//! Helm's own engine lints and renders it (scripts/chart.py, through the
//! PyPI package helm-python-sdk), kubernetes-validate checks every built-in
//! object against the Kubernetes schemas, promtool checks the
//! PrometheusRule, and the tests below hold the security settings, the
//! RBAC (equal to deploy/rbac.yaml) and the alerts (equal to `generate
//! alerts`). `UPDATE_MANIFESTS=1` rewrites deploy/manifests.yaml.

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;
use serde_json::{json, Value};

mod common;
use common::available;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn helm_available() -> bool {
    available("python3", &["-c", "import helm_python"])
}

fn chart(args: &[&str]) -> (bool, String) {
    let out = Process::new("python3")
        .arg(root().join("scripts/chart.py"))
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success() || args[0] == "lint",
        "chart.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn template(values: &Value) -> String {
    let chart_dir = root().join("deploy/chart");
    chart(&[
        "template",
        chart_dir.to_str().unwrap(),
        "--values",
        &values.to_string(),
    ])
    .1
}

/// Every option on: IRSA, AWS, ServiceMonitor, PrometheusRule, PolicyReports.
fn everything() -> Value {
    json!({
        "clusterName": "shop-prod",
        "aws": { "region": "eu-west-1" },
        "serviceAccount": { "roleArn": "arn:aws:iam::111122223333:role/eks-cilium-doctor" },
        "serviceMonitor": { "enabled": true },
        "prometheusRule": { "enabled": true },
        "policyReport": { "enabled": true },
    })
}

/// The objects of a manifest stream.
fn objects(stream: &str) -> Vec<Value> {
    stream
        .split("\n---\n")
        .map(|d| d.trim_start_matches("---\n"))
        .filter(|d| {
            d.lines()
                .any(|l| !l.trim().is_empty() && !l.starts_with('#'))
        })
        .map(|d| serde_saphyr::from_str::<Value>(d).unwrap_or_else(|e| panic!("{e}:\n{d}")))
        .collect()
}

fn find<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind}"))
}

const HEADER: &str = "\
# eks-cilium-doctor serve: deploy/chart rendered with its default values by
# `python3 scripts/chart.py template deploy/chart` (Helm's engine; see the README).
# AWS is not read with these defaults (--skip-aws): use the chart to set the
# cluster name and the IRSA role. Apply with:
#   kubectl create namespace eks-cilium-doctor
#   kubectl apply -f deploy/manifests.yaml
";

#[test]
fn the_chart_lints_and_manifests_yaml_is_its_default_rendering() {
    if !helm_available() {
        return;
    }
    let chart_dir = root().join("deploy/chart");
    let (clean, messages) = chart(&["lint", chart_dir.to_str().unwrap()]);
    assert!(clean, "helm lint:\n{messages}");
    let rendered = format!("{HEADER}{}", template(&json!({})));
    let path = root().join("deploy/manifests.yaml");
    if std::env::var_os("UPDATE_MANIFESTS").is_some() {
        std::fs::write(&path, &rendered).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap();
    assert!(
        committed == rendered,
        "deploy/manifests.yaml is not the chart's rendering: UPDATE_MANIFESTS=1 cargo test \
         -p eks-cilium-doctor --test deploy"
    );
}

#[test]
fn rendered_objects_pass_the_kubernetes_schemas() {
    if !helm_available() || !available("kubernetes-validate", &["--version"]) {
        return;
    }
    let objects = objects(&template(&everything()));
    let kinds: Vec<&str> = objects.iter().filter_map(|o| o["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "ServiceAccount",
            "ClusterRole",
            "ClusterRoleBinding",
            "Service",
            "Deployment",
            "PrometheusRule",
            "ServiceMonitor"
        ]
    );
    let dir = std::env::temp_dir().join(format!("doctor-chart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The Prometheus Operator's kinds are not in the Kubernetes schemas:
    // promtool checks the rules, the test below the ServiceMonitor.
    let mut files = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        if object["apiVersion"] == "monitoring.coreos.com/v1" {
            continue;
        }
        let file = dir.join(format!("{i}.json"));
        std::fs::write(&file, object.to_string()).unwrap();
        files.push(file);
    }
    let out = Process::new("kubernetes-validate")
        .args(["--strict", "--kubernetes-version", "1.33.0"])
        .args(&files)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && report.matches(" passed ").count() == files.len(),
        "kubernetes-validate:\n{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_deployment_runs_non_root_on_a_read_only_root_filesystem() {
    if !helm_available() {
        return;
    }
    for values in [json!({}), everything()] {
        let objects = objects(&template(&values));
        let deployment = find(&objects, "Deployment");
        assert_eq!(deployment["spec"]["replicas"], 1);
        let pod = &deployment["spec"]["template"]["spec"];
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
        assert_ne!(pod["securityContext"]["runAsUser"], 0);
        let containers = pod["containers"].as_array().unwrap();
        assert_eq!(containers.len(), 1);
        let container = &containers[0];
        let security = &container["securityContext"];
        assert_eq!(security["runAsNonRoot"], true);
        assert_eq!(security["readOnlyRootFilesystem"], true);
        assert_eq!(security["allowPrivilegeEscalation"], false);
        assert_eq!(security["capabilities"]["drop"], json!(["ALL"]));
        assert_eq!(security["seccompProfile"]["type"], "RuntimeDefault");
        assert!(container["resources"]["requests"]["cpu"].is_string());
        assert!(container["resources"]["requests"]["memory"].is_string());
        assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
        assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
        let args: Vec<&str> = container["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(args[0], "serve");
        // The binary accepts exactly these arguments.
        let mut parse = args.clone();
        parse.push("--help");
        Command::cargo_bin("eks-cilium-doctor")
            .unwrap()
            .args(&parse)
            .assert()
            .success();
        let account = find(&objects, "ServiceAccount");
        assert_eq!(pod["serviceAccountName"], account["metadata"]["name"]);
        assert_eq!(
            args.contains(&"--policy-report"),
            values == everything(),
            "--policy-report only with policyReport.enabled: {args:?}"
        );
        if values == everything() {
            assert!(args.contains(&"--cluster=shop-prod"), "{args:?}");
            assert_eq!(
                account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
                "arn:aws:iam::111122223333:role/eks-cilium-doctor"
            );
        } else {
            assert!(args.contains(&"--skip-aws"), "{args:?}");
            assert!(account["metadata"]["annotations"].is_null());
        }
    }
}

#[test]
fn the_cluster_role_is_deploy_rbac_yaml() {
    if !helm_available() {
        return;
    }
    let objects = objects(&template(&json!({})));
    let role = find(&objects, "ClusterRole");
    let text = std::fs::read_to_string(root().join("deploy/rbac.yaml")).unwrap();
    let rbac: Value = serde_saphyr::from_str(&text).unwrap();
    assert_eq!(role["rules"], rbac["rules"]);
    let binding = find(&objects, "ClusterRoleBinding");
    assert_eq!(binding["roleRef"]["name"], role["metadata"]["name"]);
    assert_eq!(binding["subjects"][0]["kind"], "ServiceAccount");
}

/// `policyReport.enabled` adds the rules of deploy/rbac-policyreport.yaml
/// (list, create, patch on the two wgpolicyk8s.io kinds) and nothing else;
/// off (the default), no rule names wgpolicyk8s.io.
#[test]
fn the_policy_report_rules_are_granted_only_when_enabled() {
    if !helm_available() {
        return;
    }
    let read = |path: &str| -> Value {
        let text = std::fs::read_to_string(root().join(path)).unwrap();
        serde_saphyr::from_str(&text).unwrap()
    };
    let rbac = read("deploy/rbac.yaml");
    let writes = read("deploy/rbac-policyreport.yaml");
    let rules_with = |values: Value| -> Value {
        let objects = objects(&template(&values));
        find(&objects, "ClusterRole")["rules"].clone()
    };
    let off = rules_with(json!({}));
    assert_eq!(off, rbac["rules"]);
    assert!(!off.to_string().contains("wgpolicyk8s.io"), "{off}");
    let on = rules_with(json!({ "policyReport": { "enabled": true } }));
    let mut expected = rbac["rules"].as_array().unwrap().clone();
    expected.extend(writes["rules"].as_array().unwrap().iter().cloned());
    assert_eq!(on, Value::Array(expected));
    assert_eq!(
        writes["rules"],
        json!([{
            "apiGroups": ["wgpolicyk8s.io"],
            "resources": ["clusterpolicyreports", "policyreports"],
            "verbs": ["list", "create", "patch"],
        }])
    );
}

#[test]
fn the_prometheus_rule_holds_the_generated_alerts_and_passes_promtool() {
    let generated = Command::cargo_bin("eks-cilium-doctor")
        .unwrap()
        .args(["generate", "alerts", "--format", "rules"])
        .output()
        .unwrap();
    assert!(generated.status.success());
    let file = std::fs::read(root().join("deploy/chart/files/alerts.yaml")).unwrap();
    assert!(
        file == generated.stdout,
        "deploy/chart/files/alerts.yaml is not `eks-cilium-doctor generate alerts --format rules`"
    );
    if !helm_available() {
        return;
    }
    let objects = objects(&template(&everything()));
    let rule = find(&objects, "PrometheusRule");
    let expected: Value = serde_saphyr::from_slice(&generated.stdout).unwrap();
    assert_eq!(rule["spec"], expected, "the rule is the file, whole");
    let monitor = find(&objects, "ServiceMonitor");
    let service = find(&objects, "Service");
    assert_eq!(
        monitor["spec"]["endpoints"][0]["port"],
        service["spec"]["ports"][0]["name"]
    );
    assert_eq!(monitor["spec"]["endpoints"][0]["path"], "/metrics");
    assert_eq!(
        monitor["spec"]["selector"]["matchLabels"],
        service["spec"]["selector"]
    );
    if !available("promtool", &["--version"]) {
        return;
    }
    let file = std::env::temp_dir().join(format!("doctor-rule-{}.json", std::process::id()));
    std::fs::write(&file, rule["spec"].to_string()).unwrap();
    let out = Process::new("promtool")
        .args(["check", "rules"])
        .arg(&file)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "promtool check rules:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
