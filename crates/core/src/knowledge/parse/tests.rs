//! The embedded data loads, and broken copies fail with the file named.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{json, Value};

use super::files::{self, Files};
use super::{load_dir, load_embedded};
use crate::knowledge::{AmiFamily, Hypervisor};
use crate::version::Minor;

#[test]
fn embedded_knowledge_loads_and_holds_the_known_facts() {
    let k = load_embedded().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(k.instances.len(), 1391);
    let m5 = &k.instances["m5.large"];
    assert_eq!((m5.enis, m5.ipv4_per_eni, m5.vcpus), (3, 10, Some(2)));
    assert_eq!(m5.hypervisor, Hypervisor::Nitro);
    assert_eq!(
        k.instances.values().filter(|i| i.vcpus.is_none()).count(),
        14
    );
    assert_eq!(k.al2_last_kubernetes, Minor::new(1, 32));
    assert_eq!(
        k.ami_kernel(AmiFamily::Al2023, Minor::new(1, 33)),
        Some(Minor::new(6, 12))
    );
    assert_eq!(k.cilium.first().map(|c| c.minor), Some(Minor::new(1, 12)));
    assert_eq!(k.newest_cilium().minor, Minor::new(1, 20));
    let c115 = k.cilium_minor(Minor::new(1, 15)).unwrap();
    let tunnel = c115
        .helm_keys_removed
        .iter()
        .find(|r| r.key == "tunnel")
        .unwrap();
    assert!(tunnel.chart_fails);
    assert_eq!(
        tunnel.replacement.as_deref(),
        Some("routingMode, tunnelProtocol")
    );
    for c in &k.cilium {
        let keys = k.helm_keys(c.minor).unwrap();
        assert!(keys.contains("ipam.mode"), "{}", c.minor);
    }
}

#[test]
fn embedded_helm_key_files_follow_the_cilium_minors() {
    let k = load_embedded().unwrap();
    let minors: Vec<String> = k
        .cilium
        .iter()
        .map(|c| format!("{}.txt", c.minor))
        .collect();
    assert_eq!(files::embedded_helm_key_files(), minors);
}

/// A scratch directory removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "eks-cilium-doctor-knowledge-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn write(&self, rel: &str, text: &str) -> &Path {
        let path = self.0.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn embedded(rel: &str) -> String {
    Files::embedded().get(rel).unwrap().text.into_owned()
}

fn embedded_json(rel: &str) -> Value {
    serde_json::from_str(&embedded(rel)).unwrap()
}

/// Loads DIR holding one file and returns the error message.
fn error_with(rel: &str, text: &str) -> String {
    let scratch = Scratch::new();
    match load_dir(scratch.write(rel, text)) {
        Ok(_) => panic!("{rel}: broken copy accepted"),
        Err(e) => e.to_string(),
    }
}

fn error_with_json(rel: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut doc = embedded_json(rel);
    edit(&mut doc);
    error_with(rel, &serde_json::to_string_pretty(&doc).unwrap())
}

fn assert_names(message: &str, file: &str, words: &[&str]) {
    assert!(message.contains(file), "{message:?} does not name {file}");
    for word in words {
        assert!(message.contains(word), "{message:?} lacks {word:?}");
    }
}

#[test]
fn unsorted_versions_are_refused() {
    let msg = error_with_json("eks.json", |d| {
        d["versions"].as_array_mut().unwrap().swap(0, 1);
    });
    assert_names(
        &msg,
        "eks.json",
        &["versions", "1.23 comes after 1.24", "sorted"],
    );
    let msg = error_with_json("cilium.json", |d| {
        d["minors"][2]["k8s_tested"]
            .as_array_mut()
            .unwrap()
            .reverse();
    });
    assert_names(&msg, "cilium.json", &["1.14: k8s_tested", "sorted"]);
}

#[test]
fn empty_lists_are_refused() {
    let msg = error_with_json("cilium.json", |d| d["minors"][0]["k8s_tested"] = json!([]));
    assert_names(&msg, "cilium.json", &["1.12: k8s_tested: empty list"]);
    let msg = error_with_json("cilium.json", |d| {
        d["minors"][8]["eni_required_actions"] = json!([])
    });
    assert_names(
        &msg,
        "cilium.json",
        &["1.20: eni_required_actions: empty list"],
    );
    let msg = error_with_json("eks.json", |d| d["versions"] = json!([]));
    assert_names(&msg, "eks.json", &["versions: empty list"]);
    let msg = error_with("helm-keys/1.16.txt", "");
    assert_names(&msg, "helm-keys/1.16.txt", &["no keys"]);
}

#[test]
fn unknown_fields_are_refused() {
    let msg = error_with_json("eks.json", |d| {
        d["versions"][0]["eol"] = json!("2030-01-01")
    });
    assert_names(&msg, "eks.json", &["unknown field `eol`"]);
    let msg = error_with_json("cilium.json", |d| d["extra"] = json!(1));
    assert_names(&msg, "cilium.json", &["unknown field `extra`"]);
}

#[test]
fn duplicate_and_unsorted_instance_types_are_refused() {
    let text = embedded("instances.csv");
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(2, lines[1]);
    let msg = error_with("instances.csv", &lines.join("\n"));
    assert_names(
        &msg,
        "instances.csv",
        &["line 3", "duplicate instance type a1.2xlarge"],
    );
    lines.remove(2);
    lines.swap(1, 2);
    let msg = error_with("instances.csv", &lines.join("\n"));
    assert_names(&msg, "instances.csv", &["line 3", "sorted"]);
}

#[test]
fn bad_instance_rows_are_refused() {
    let header = super::formats::INSTANCE_HEADER;
    let msg = error_with(
        "instances.csv",
        &format!("{header}\nm5.large,0,10,nitro,false,2,3\n"),
    );
    assert_names(&msg, "instances.csv", &["line 2", "must be > 0"]);
    let msg = error_with(
        "instances.csv",
        &format!("{header}\nm5.large,3,10,kvm,false,2,3\n"),
    );
    assert_names(&msg, "instances.csv", &["line 2", "hypervisor"]);
    let msg = error_with(
        "instances.csv",
        &format!("{header}\nm5.large,3,ten,nitro,false,2,3\n"),
    );
    assert_names(&msg, "instances.csv", &["line 2", "ipv4_per_eni"]);
    let msg = error_with("instances.csv", "type,enis\n");
    assert_names(&msg, "instances.csv", &["line 1", "header"]);
}

#[test]
fn unordered_dates_are_refused() {
    let msg = error_with_json("eks.json", |d| {
        d["versions"][3]["end_of_extended_support"] = json!("2020-01-01")
    });
    assert_names(
        &msg,
        "eks.json",
        &["1.26", "eks_release < end_of_standard_support"],
    );
}

#[test]
fn malformed_actions_and_inconsistent_references_are_refused() {
    let msg = error_with_json("cilium.json", |d| {
        d["minors"][0]["eni_required_actions"][0] = json!("AssignPrivateIpAddresses")
    });
    assert_names(&msg, "cilium.json", &["1.12", "not an `ec2:Name` action"]);
    let msg = error_with_json("cilium.json", |d| {
        d["minors"][3]["helm_keys_removed"][0]["key"] = json!("aaa.notAKey")
    });
    assert_names(
        &msg,
        "cilium.json",
        &["1.15", "aaa.notAKey", "not a key of the 1.14 chart"],
    );
    let msg = error_with_json("cilium.json", |d| {
        d["minors"][3]["helm_keys_removed"][16]["replacement"] = json!("routingMode, noSuchKey")
    });
    assert_names(&msg, "cilium.json", &["tunnel", "noSuchKey"]);
    let msg = error_with_json("eks.json", |d| d["al2_last_kubernetes"] = json!("1.33"));
    assert_names(&msg, "eks.json", &["al2_last_kubernetes is 1.33", "1.32"]);
}

#[test]
fn helm_key_files_must_match_the_minors() {
    let msg = error_with("helm-keys/1.99.txt", "a\nb\n");
    assert_names(&msg, "helm-keys/1.99.txt", &["no Cilium minor 1.99"]);
    let msg = error_with("helm-keys/1.12.txt", "b\na\n");
    assert_names(&msg, "helm-keys/1.12.txt", &["line 2", "sorted"]);
}

#[test]
fn a_directory_overrides_only_the_files_it_holds() {
    let scratch = Scratch::new();
    let header = super::formats::INSTANCE_HEADER;
    let dir = scratch.write(
        "instances.csv",
        &format!("{header}\nm5.large,3,10,nitro,false,2,3\nt3.medium,3,6,nitro,false,2,3\n"),
    );
    let k = load_dir(dir).unwrap();
    assert_eq!(k.instances.len(), 2);
    assert_eq!(k.cilium.len(), load_embedded().unwrap().cilium.len());
}

#[test]
fn bad_directories_are_named() {
    let msg = load_dir(Path::new("/no/such/knowledge"))
        .unwrap_err()
        .to_string();
    assert_names(&msg, "/no/such/knowledge", &["no such directory"]);
    let scratch = Scratch::new();
    let dir = scratch.write("notes.txt", "nothing");
    let msg = load_dir(dir).unwrap_err().to_string();
    assert_names(
        &msg,
        &dir.display().to_string(),
        &["none of the knowledge files"],
    );
}

#[test]
fn a_refused_key_cannot_be_a_chart_key() {
    let text = embedded("helm-keys/1.15.txt");
    let mut keys: Vec<&str> = text.lines().collect();
    keys.push("tunnel");
    keys.sort_unstable();
    let msg = error_with("helm-keys/1.15.txt", &keys.join("\n"));
    assert_names(
        &msg,
        "cilium.json",
        &["1.15", "tunnel", "refuses it yet lists it"],
    );
}

#[test]
fn embedded_metrics_and_eks_install_facts_load() {
    let k = load_embedded().unwrap();
    let m112 = k.metrics(Minor::new(1, 12)).unwrap();
    assert!(m112.has("cilium_policy_import_errors_total"));
    assert!(!m112.has("cilium_operator_ipam_needed_ips"));
    assert!(m112.disabled_by_default.contains("cilium_bpf_map_pressure"));
    let m120 = k.metrics(Minor::new(1, 20)).unwrap();
    assert!(m120.has("cilium_operator_ipam_needed_ips"));
    assert!(!m120.has("cilium_policy_import_errors_total"));
    assert_eq!(
        k.drop_reason(Minor::new(1, 12), 155),
        Some("CT: Map insertion failed")
    );
    assert_eq!(k.drop_reason(Minor::new(1, 13), 190), None);
    assert_eq!(
        k.drop_reason(Minor::new(1, 14), 190),
        Some("No conntrack map found")
    );
    assert!(k
        .metrics
        .pressure_maps
        .conntrack
        .contains(&"ct4_global".to_string()));
    let e113 = k.cilium_eks(Minor::new(1, 13)).unwrap();
    assert!(e113.eni_helm_flags.contains(&"tunnel=disabled".to_string()));
    assert_eq!(e113.kube_proxy_replacement_full, "strict");
    let e120 = k.cilium_eks(Minor::new(1, 20)).unwrap();
    assert_eq!(e120.eni_helm_flags, ["eni.enabled=true"]);
    assert_eq!(e120.kube_proxy_replacement_full, "true");
    assert_eq!(
        k.cilium_eks.aws_node_patch.node_selector_key,
        "io.cilium/aws-node-enabled"
    );
}

#[test]
fn bad_metrics_files_are_refused() {
    let msg = error_with_json("metrics.json", |d| {
        d["minors"].as_array_mut().unwrap().pop();
    });
    assert_names(&msg, "metrics.json", &["minors", "want the Cilium minors"]);
    let msg = error_with_json("metrics.json", |d| {
        d["minors"][0]["operator"][0] = json!("cilium_ipam_ips")
    });
    assert_names(
        &msg,
        "metrics.json",
        &["1.12: operator", "cilium_operator_*"],
    );
    let msg = error_with_json("metrics.json", |d| {
        d["minors"][0]["disabled_by_default"] = json!(["cilium_nope"])
    });
    assert_names(
        &msg,
        "metrics.json",
        &["cilium_nope", "not a metric of 1.12"],
    );
    let msg = error_with_json("metrics.json", |d| {
        d["drop_reasons"].as_array_mut().unwrap().reverse()
    });
    assert_names(&msg, "metrics.json", &["drop_reasons", "sorted"]);
    let msg = error_with_json("metrics.json", |d| {
        d["drop_reasons"][0]["since"] = json!("1.9")
    });
    assert_names(&msg, "metrics.json", &["drop_reasons 155", "since"]);
}

#[test]
fn bad_cilium_eks_files_are_refused() {
    let msg = error_with_json("cilium-eks.json", |d| {
        d["minors"][0]["eni_helm_flags"][0] = json!("eni.nope=true")
    });
    assert_names(
        &msg,
        "cilium-eks.json",
        &["1.12: eni_helm_flags", "eni.nope=true", "1.12 chart"],
    );
    // `tunnel` is no key of the 1.15 chart.
    let msg = error_with_json("cilium-eks.json", |d| {
        d["minors"][3]["eni_helm_flags"][3] = json!("tunnel=disabled")
    });
    assert_names(&msg, "cilium-eks.json", &["1.15", "tunnel=disabled"]);
    let msg = error_with_json("cilium-eks.json", |d| {
        d["aws_node_patch"]["node_selector_value"] = json!("false")
    });
    assert_names(&msg, "cilium-eks.json", &["aws_node_patch", "does not set"]);
    let msg = error_with_json("cilium-eks.json", |d| {
        d["agent_not_ready_taint"] = json!("node.cilium.io/agent-not-ready")
    });
    assert_names(&msg, "cilium-eks.json", &["agent_not_ready_taint"]);
}

#[test]
fn bad_eks_iam_files_are_refused() {
    let msg = error_with_json("eks-iam.json", |d| {
        d["irsa_trust_policy_template"]["Statement"][0]["Condition"]["StringEquals"] = json!({})
    });
    assert_names(&msg, "eks-iam.json", &["no $namespace placeholder"]);
    let msg = error_with_json("eks-iam.json", |d| {
        d["pod_identity_trust_policy"] = json!({})
    });
    assert_names(
        &msg,
        "eks-iam.json",
        &["pod_identity_trust_policy", "Statement"],
    );
}
