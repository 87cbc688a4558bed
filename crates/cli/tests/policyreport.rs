//! `check --format policyreport`: a `List` of `wgpolicyk8s.io/v1alpha2`
//! reports, each valid against the CRD's own schema (the vendored CRDs of
//! tests/schemas/), holding exactly the findings of the JSON report.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

mod common;
use common::{doctor, examples, temp_dir};

const AS_OF: &str = "2026-11-26";
/// 2026-11-26T00:00:00Z (`date -u -d 2026-11-26 +%s`).
const AS_OF_SECONDS: i64 = 1_795_651_200;

/// The `v1alpha2` openAPIV3Schema of a vendored CRD, closed against
/// unknown fields as strict field validation is.
fn crd_schema(file: &str) -> Value {
    let path = common::here("tests/schemas").join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let crd: Value = serde_saphyr::from_str(&text).unwrap();
    assert_eq!(crd["kind"], "CustomResourceDefinition");
    assert_eq!(crd["spec"]["group"], "wgpolicyk8s.io");
    let version = crd["spec"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "v1alpha2")
        .expect("the CRD serves v1alpha2");
    let mut schema = version["schema"]["openAPIV3Schema"].clone();
    close(&mut schema);
    schema
}

fn close(schema: &mut Value) {
    if let Some(object) = schema.as_object_mut() {
        if object.contains_key("properties") && !object.contains_key("additionalProperties") {
            object.insert("additionalProperties".into(), json!(false));
        }
        for value in object.values_mut() {
            close(value);
        }
    } else if let Some(items) = schema.as_array_mut() {
        items.iter_mut().for_each(close);
    }
}

struct Validators {
    namespaced: jsonschema::Validator,
    cluster: jsonschema::Validator,
}

impl Validators {
    fn new() -> Validators {
        let build =
            |file| jsonschema::validator_for(&crd_schema(file)).expect("the CRD schema compiles");
        Validators {
            namespaced: build("wgpolicyk8s.io_policyreports.yaml"),
            cluster: build("wgpolicyk8s.io_clusterpolicyreports.yaml"),
        }
    }

    /// Schema errors of one report, and of the ObjectMeta the schema leaves
    /// open (names the API server would refuse).
    fn errors(&self, item: &Value) -> Vec<String> {
        let (validator, namespaced) = match item["kind"].as_str() {
            Some("PolicyReport") => (&self.namespaced, true),
            Some("ClusterPolicyReport") => (&self.cluster, false),
            other => return vec![format!("unexpected kind {other:?}")],
        };
        let mut errors: Vec<String> = validator
            .iter_errors(item)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        if item["apiVersion"] != "wgpolicyk8s.io/v1alpha2" {
            errors.push(format!("apiVersion {}", item["apiVersion"]));
        }
        let meta = &item["metadata"];
        if !meta["name"].as_str().is_some_and(dns_subdomain) {
            errors.push(format!("metadata.name {}", meta["name"]));
        }
        match (namespaced, meta["namespace"].as_str()) {
            (true, Some(ns)) if dns_label(ns) => {}
            (false, None) => {}
            (_, ns) => errors.push(format!("metadata.namespace {ns:?} on {}", item["kind"])),
        }
        for map in ["labels", "annotations"] {
            for (key, value) in meta[map].as_object().into_iter().flatten() {
                if !qualified_name(key) || !value.is_string() {
                    errors.push(format!("metadata.{map}.{key}"));
                }
            }
        }
        errors
    }
}

fn dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(dns_label)
}

/// `prefix/name` of a label or annotation key.
fn qualified_name(key: &str) -> bool {
    let (prefix, name) = key
        .rsplit_once('/')
        .map_or((None, key), |(p, n)| (Some(p), n));
    prefix.is_none_or(dns_subdomain)
        && !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn check_in(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = assert_cmd::Command::cargo_bin("eks-cilium-doctor")
        .unwrap()
        .current_dir(dir)
        .arg("check")
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn policy_reports(snapshot: &str, extra: &[&str]) -> (Value, Value) {
    let dir = temp_dir("policyreport");
    let run = |format: &str| {
        let mut args = vec![snapshot, "--as-of", AS_OF, "--format", format];
        args.extend(extra);
        let (code, stdout, stderr) = check_in(dir.path(), &args);
        assert!(code == 0 || code == 1, "{stderr}");
        serde_json::from_str::<Value>(&stdout).unwrap()
    };
    (run("policyreport"), run("json"))
}

/// (namespace, kind, name, rule) of each result with a resource.
type Key = (Option<String>, String, String, String);

fn key_of(object: &Value, rule: &Value) -> Key {
    (
        object["namespace"].as_str().map(str::to_string),
        object["kind"].as_str().unwrap().to_string(),
        object["name"].as_str().unwrap().to_string(),
        rule.as_str().unwrap().to_string(),
    )
}

#[test]
fn the_demo_is_a_list_of_valid_reports_holding_every_finding() {
    let (list, report) = policy_reports(&examples("demo"), &[]);
    assert_eq!(list["apiVersion"], "v1");
    assert_eq!(list["kind"], "List");
    let items = list["items"].as_array().unwrap();
    let validators = Validators::new();
    for item in items {
        let errors = validators.errors(item);
        assert!(errors.is_empty(), "{}: {errors:#?}", item["metadata"]);
    }
    // The ClusterPolicyReport first, then one PolicyReport per namespace
    // that has findings, in name order.
    assert_eq!(items[0]["kind"], "ClusterPolicyReport");
    let namespaces: Vec<&str> = items[1..]
        .iter()
        .map(|i| i["metadata"]["namespace"].as_str().unwrap())
        .collect();
    let want: BTreeSet<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["object"]["namespace"].as_str())
        .collect();
    assert_eq!(namespaces, want.into_iter().collect::<Vec<_>>());
    assert_eq!(namespaces, ["kube-system", "payments"]);

    // Every finding is one fail/warn result in the report of its scope.
    let mut results: BTreeMap<Key, &Value> = BTreeMap::new();
    for item in items {
        let namespace = item["metadata"]["namespace"].as_str();
        for r in item["results"].as_array().unwrap() {
            assert_eq!(r["source"], "eks-cilium-doctor");
            assert_eq!(
                r["timestamp"],
                json!({"seconds": AS_OF_SECONDS, "nanos": 0})
            );
            let Some(resource) = r["resources"].get(0) else {
                continue;
            };
            assert_eq!(resource["namespace"].as_str(), namespace, "{r}");
            assert!(results.insert(key_of(resource, &r["rule"]), r).is_none());
        }
        // The summary counts the results.
        let count = |outcome: &str| {
            item["results"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["result"] == outcome)
                .count()
        };
        for outcome in ["pass", "fail", "warn", "error", "skip"] {
            assert_eq!(item["summary"][outcome], count(outcome), "{outcome}");
        }
    }
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(results.len(), findings.len());
    for f in findings {
        let r = results[&key_of(&f["object"], &f["rule"])];
        assert_eq!(
            r["policy"],
            format!(
                "{} {}",
                f["rule"].as_str().unwrap(),
                f["name"].as_str().unwrap()
            )
        );
        assert_eq!(r["severity"], f["severity"]);
        assert_eq!(r["message"], f["message"]);
        let want = match f["severity"].as_str().unwrap() {
            "critical" | "high" => "fail",
            _ => "warn",
        };
        assert_eq!(r["result"], want, "{r}");
        assert_eq!(r["properties"]["fix"], f["remediation"]);
    }
    let aws_node = results[&(
        Some("kube-system".into()),
        "DaemonSet".into(),
        "aws-node".into(),
        "CNI001".into(),
    )];
    assert_eq!(aws_node["resources"][0]["apiVersion"], "apps/v1");
    assert_eq!(aws_node["category"], "The VPC CNI next to Cilium");

    // The rules that were not evaluated are skip results of the cluster
    // report: the demo has no Helm values (VER007), no agent/operator logs
    // (the LOG rules that read only them), no `cilium status` text, no EC2
    // ENI/instance dumps, no route tables nor ENIConfig list, no nodes'
    // `ip rule`/`ip route` captures (CFG012-CFG014), and no
    // connectivity-test JUnit.
    let skipped: Vec<&Value> = items[0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["result"] == "skip")
        .collect();
    let mut codes: Vec<&str> = skipped
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    codes.sort_unstable();
    assert_eq!(
        codes,
        [
            "CAP009", "CAP010", "CAP011", "CAP013", "CAP014", "CAP015", "CFG012", "CFG013",
            "CFG014", "CONN001", "LOG001", "LOG002", "LOG003", "LOG004", "LOG007", "OPS007",
            "OPS008", "VER007"
        ]
    );
    let ver007 = skipped.iter().find(|r| r["rule"] == "VER007").unwrap();
    assert!(skipped
        .iter()
        .filter(|r| r["rule"].as_str().unwrap().starts_with("LOG"))
        .all(|r| r["properties"]["not_evaluated"]
            .as_str()
            .unwrap()
            .contains("no Cilium agent/operator logs")));
    assert!(ver007["properties"]["not_evaluated"]
        .as_str()
        .unwrap()
        .contains("Helm values"));
}

#[test]
fn suppressed_findings_are_skip_results_with_the_reason() {
    let dir = temp_dir("policyreport-suppress");
    let config = dir.path().join("doctor.yaml");
    std::fs::write(
        &config,
        "ignore:\n  - rule: CNI001\n    reason: kept for the rollback until Q3\n",
    )
    .unwrap();
    let (list, _) = policy_reports(&examples("demo"), &["--config", config.to_str().unwrap()]);
    let kube_system = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["metadata"]["namespace"] == "kube-system")
        .unwrap();
    assert!(Validators::new().errors(kube_system).is_empty());
    let cni001: Vec<&Value> = kube_system["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["rule"] == "CNI001")
        .collect();
    assert_eq!(cni001.len(), 1);
    assert_eq!(cni001[0]["result"], "skip");
    assert_eq!(cni001[0]["severity"], "critical");
    assert_eq!(cni001[0]["policy"], "CNI001 aws-node-active");
    assert_eq!(
        cni001[0]["properties"]["suppressed"],
        "kept for the rollback until Q3"
    );
    assert_eq!(kube_system["summary"]["skip"], 1);
}

#[test]
fn a_clean_cluster_still_writes_its_cluster_report() {
    let (list, _) = policy_reports(
        &examples("healthy"),
        &[
            "--knowledge-max-age",
            "cilium_releases=365",
            "--knowledge-max-age",
            "ec2_limits=365",
        ],
    );
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(items[0]["kind"], "ClusterPolicyReport");
    assert!(Validators::new().errors(&items[0]).is_empty());
    assert_eq!(items[0]["summary"]["fail"], 0);
    assert_eq!(items[0]["summary"]["warn"], 0);
}

#[test]
fn the_validation_is_live() {
    let (list, _) = policy_reports(&examples("demo"), &[]);
    let validators = Validators::new();
    let good = &list["items"][1];
    for (pointer, value) in [
        ("/results/0/severity", json!("warning")),
        ("/results/0/result", json!("failed")),
        ("/results/0/timestamp", json!({"seconds": 1})),
        ("/results/0/resources/0/owner", json!("x")),
        ("/summary/fail", json!("1")),
        ("/metadata/namespace", json!("Not_A_Namespace")),
    ] {
        let mut bad = good.clone();
        match bad.pointer_mut(pointer) {
            Some(slot) => *slot = value,
            None => {
                let (parent, field) = pointer.rsplit_once('/').unwrap();
                bad.pointer_mut(parent).unwrap()[field] = value;
            }
        }
        assert!(!validators.errors(&bad).is_empty(), "{pointer} passed");
    }
    let mut spec = good.clone();
    spec["spec"] = json!({});
    assert!(!validators.errors(&spec).is_empty(), "a spec field passed");
}

#[test]
fn the_format_is_named_in_the_help_and_errors() {
    let (code, _, stderr) = doctor(&["check", "--format", "policy"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("policyreport"), "{stderr}");
}
