//! Every file of the real-world corpus (`tests/realworld/`, copied from
//! `shared/data/realworld`, provenance in its README) is loaded on its own:
//! each either fills the model part it holds or is skipped with a reason;
//! only genuinely malformed files fail, with a message naming the file. A
//! snapshot records what each file produced.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use doctor_core::load::{load_paths, LoadError, LoadOptions, Loaded};
use serde_json::{json, Value};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/realworld")
}

fn corpus_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["aws", "cilium", "kubernetes", "metrics"] {
        for entry in std::fs::read_dir(corpus().join(dir)).unwrap() {
            files.push(entry.unwrap().path());
        }
    }
    files.sort();
    files
}

fn relative(path: &Path) -> String {
    path.strip_prefix(corpus()).unwrap().display().to_string()
}

/// Files that are malformed on purpose, and why the load must fail.
const MALFORMED: &[(&str, &str)] = &[
    (
        "kubernetes/AhmadShaaban1__cloud-native-ecommerce__cluster-info_dump_eks_handedited.md",
        "invalid JSON",
    ),
    (
        "kubernetes/yannh__kubeconform__daemonset_duplicate_key.yaml",
        "duplicate mapping key",
    ),
    (
        "metrics/prometheus__common__prom_text_INVALID_bad_le.txt",
        "le",
    ),
    (
        "metrics/prometheus__common__prom_text_INVALID_duplicate_type.txt",
        "second # TYPE",
    ),
];

/// What a load produced: collection sizes, a few identifying values, the
/// skip reasons (paths made relative to the corpus).
fn summary(loaded: &Loaded) -> Value {
    let cluster = serde_json::to_value(&loaded.cluster).unwrap();
    let mut out = BTreeMap::new();
    for (key, value) in cluster.as_object().unwrap() {
        let shown = match (key.as_str(), value) {
            (_, Value::Null) | ("cilium", _) => continue,
            ("objects", Value::Array(a)) | ("kinds_listed", Value::Array(a)) if a.is_empty() => {
                continue
            }
            ("kinds_listed", v) => v.clone(),
            ("server_version", v) => v["git_version"].clone(),
            ("eks", v) => json!({ "name": v["name"] }),
            ("helm_values", Value::Object(m)) => json!(format!("{} top-level keys", m.len())),
            ("name", v) => v.clone(),
            (_, Value::Array(a)) => json!(a.len()),
            (_, v) => v.clone(),
        };
        out.insert(key.clone(), shown);
    }
    let base = format!("{}/", corpus().display());
    let skipped: Vec<Value> = loaded
        .skipped
        .iter()
        .map(|s| json!({"path": s.path.replace(&base, ""), "reason": s.reason.replace(&base, "")}))
        .collect();
    if !skipped.is_empty() {
        out.insert("skipped".into(), Value::Array(skipped));
    }
    json!(out)
}

#[test]
fn every_realworld_file_loads_or_is_skipped_with_a_reason() {
    let files = corpus_files();
    assert_eq!(files.len(), 104, "the corpus has 104 files");
    let mut all = BTreeMap::new();
    for file in &files {
        let name = relative(file);
        // A file nothing of which is recognised is refused (exit 2) with
        // its skip reason: shown as the skip it is.
        let result = match load_paths(std::slice::from_ref(file), &LoadOptions::default()) {
            Err(LoadError::NothingRecognised(skipped)) => Ok(doctor_core::load::Loaded {
                cluster: Default::default(),
                skipped,
                notes: Vec::new(),
            }),
            other => other,
        };
        let expected_error = MALFORMED.iter().find(|(f, _)| *f == name);
        let shown = match (result, expected_error) {
            (Ok(loaded), None) => {
                let s = summary(&loaded);
                let produced = s.as_object().unwrap().keys().any(|k| k != "skipped");
                let own_skip = loaded
                    .skipped
                    .iter()
                    .any(|sk| sk.path.starts_with(&*file.to_string_lossy()));
                assert!(
                    produced || own_skip,
                    "{name}: neither loaded nor skipped with a reason: {s}"
                );
                assert!(
                    loaded.skipped.iter().all(|sk| !sk.reason.is_empty()),
                    "{name}: a skip without a reason"
                );
                s
            }
            (Err(e @ LoadError::Malformed { .. }), Some((_, why))) => {
                let message = e.to_string();
                assert!(
                    message.starts_with(&*file.to_string_lossy()),
                    "{name}: the error must name the file: {message}"
                );
                assert!(message.contains(why), "{name}: {message}");
                json!({"error": message.replace(&format!("{}/", corpus().display()), "")})
            }
            (Ok(loaded), Some(_)) => {
                panic!("{name}: should be malformed, loaded {}", summary(&loaded))
            }
            (Err(e), _) => panic!("{name}: unexpected error: {e}"),
        };
        all.insert(name, shown);
    }
    insta::assert_json_snapshot!("realworld_summary", all);
}

#[test]
fn the_whole_corpus_loads_together_except_the_malformed_files() {
    let files: Vec<PathBuf> = corpus_files()
        .into_iter()
        .filter(|f| !MALFORMED.iter().any(|(m, _)| relative(f) == *m))
        .collect();
    let loaded = load_paths(&files, &LoadOptions::default()).unwrap();
    let c = &loaded.cluster;
    // The hardeneks trio: get-role-policy names the role; the attached
    // policies and the policy version then each have exactly one owner.
    let roles = c.iam_roles.as_deref().unwrap();
    assert!(roles.len() > 10, "authorization details bring many roles");
    assert!(c.managed_policies.as_deref().unwrap().len() > 10);
    assert_eq!(
        c.oidc_providers.as_deref().unwrap(),
        ["arn:aws:iam::644160558196:oidc-provider/accounts.google.com"]
    );
    // With many roles known, the role-less outputs are ambiguous: skipped.
    for f in [
        "aws-samples__hardeneks__iam_list_attached_role_policies_linebreak_redacted.json",
        "aws-samples__hardeneks__iam_get_policy_version.json",
    ] {
        assert!(
            loaded
                .skipped
                .iter()
                .any(|s| s.path.ends_with(f) && s.reason.contains("ambiguous")),
            "{f}"
        );
    }
    assert!(c.metrics.as_deref().unwrap().len() > 500);
    assert!(c.cilium_status.as_deref().unwrap().len() >= 2);
}

#[test]
fn hardeneks_iam_trio_links_up_when_unambiguous() {
    let dir = corpus().join("aws");
    let files: Vec<PathBuf> = [
        "aws-samples__hardeneks__iam_get_role_policy_boto3.json",
        "aws-samples__hardeneks__iam_list_attached_role_policies_linebreak_redacted.json",
        "aws-samples__hardeneks__iam_get_policy_version.json",
    ]
    .iter()
    .map(|f| dir.join(f))
    .collect();
    let loaded = load_paths(&files, &LoadOptions::default()).unwrap();
    assert!(loaded.skipped.is_empty(), "{:?}", loaded.skipped);
    let roles = loaded.cluster.iam_roles.unwrap();
    assert_eq!(roles.len(), 1);
    let role = &roles[0];
    assert_eq!(
        role.name,
        "eksdemo.eks-bp-cli.kube-system.cluster-autoscaler"
    );
    assert_eq!(role.inline_policies.len(), 1);
    assert_eq!(
        role.attached_policy_arns,
        ["arn:aws:iam:::policy/AmazonEKS_EFS_CSI_Driver_Policy"]
    );
    let policies = loaded.cluster.managed_policies.unwrap();
    assert_eq!(policies[0].arn, role.attached_policy_arns[0]);
    assert_eq!(policies[0].name, "AmazonEKS_EFS_CSI_Driver_Policy");
    let doc = policies[0].document.as_ref().unwrap();
    assert_eq!(doc.statements[0].actions, ["autoscaling:Describe*"]);
}

#[test]
fn realworld_helm_values_load_through_the_option() {
    let dir = corpus().join("cilium");
    for (file, key) in [
        (
            "daithang59__NT531_EKS-Cilium-Kubeproxy-Benchmark__helm_values_eks_clusterpool.yaml",
            "ipam",
        ),
        (
            "daithang59__NT531_EKS-Cilium-Kubeproxy-Benchmark__helm_values_eks_eni_kpr.yaml",
            "eni",
        ),
        (
            "funkypenguin__helm-cilium__helm_values_chart_defaults_2021.yaml",
            "eni",
        ),
        (
            "iafboy__oci_cilium__helm_values_chart_defaults_1.13dev.yaml",
            "kubeProxyReplacement",
        ),
        (
            "loafoe__k8s-aws-bootstrap__helm_values_aws_umbrella_nested.yaml",
            "kubeProxyReplacement",
        ),
        (
            "ovaleanu__cilium-eks__helm_values_eks_eni_prefix_templated.yaml",
            "eni",
        ),
    ] {
        let options = LoadOptions {
            helm_values: vec![dir.join(file)],
            ..LoadOptions::default()
        };
        // Any input will do; the values come from the option.
        let input = corpus().join("kubernetes/yannh__kubeconform__service_kompose_nulls.yaml");
        let loaded = load_paths(&[input], &options).unwrap();
        let values = loaded.cluster.helm_values.expect(file);
        assert!(values.get(key).is_some(), "{file}: no {key}");
    }
    // Later files win, like `helm -f a -f b`.
    let options = LoadOptions {
        helm_values: vec![
            dir.join("daithang59__NT531_EKS-Cilium-Kubeproxy-Benchmark__helm_values_eks_eni_kpr.yaml"),
            dir.join("daithang59__NT531_EKS-Cilium-Kubeproxy-Benchmark__helm_values_eks_clusterpool.yaml"),
        ],
        ..LoadOptions::default()
    };
    let input = corpus().join("kubernetes/yannh__kubeconform__service_kompose_nulls.yaml");
    let loaded = load_paths(&[input], &options).unwrap();
    let cilium = &loaded.cluster.cilium;
    assert_eq!(cilium.ipam_mode.as_deref(), Some("cluster-pool"));
    let values = loaded.cluster.helm_values.unwrap();
    assert_eq!(
        values["eni"]["enabled"],
        json!(true),
        "kept from the first file"
    );
}

#[test]
fn the_sysdump_zip_is_read_in_memory() {
    let zip = corpus().join("cilium/g00ntar__Cilium_sysdump_20221110__REPACKED_sysdump.zip");
    let loaded = load_paths(&[zip], &LoadOptions::default()).unwrap();
    let c = &loaded.cluster;
    assert_eq!(
        c.server_version.as_ref().unwrap().git_version,
        "v1.25.3+k3s1"
    );
    assert_eq!(c.nodes.as_deref().unwrap().len(), 1);
    assert!(c.pods.as_deref().unwrap().len() > 5);
    assert_eq!(c.daemonsets.as_deref().unwrap().len(), 1);
    assert_eq!(
        c.cilium.version.map(|v| v.to_string()).as_deref(),
        Some("1.12.3")
    );
    // Members are named archive!member; the failed bugtool commands say so.
    let status = loaded
        .skipped
        .iter()
        .find(|s| s.path.ends_with("cmd/cilium-status---verbose.md"))
        .unwrap();
    assert!(status.path.contains(".zip!cilium-sysdump-20221110-185842/"));
    assert!(
        status.reason.contains("failed command"),
        "{}",
        status.reason
    );
}

#[test]
fn real_cilium_status_outputs_parse() {
    let dir = corpus().join("cilium");
    let files = [
        dir.join(
            "daithang59__NT531_EKS-Cilium-Kubeproxy-Benchmark__cilium_status_eks134_eni_kpr.txt",
        ),
        dir.join(
            "daithang59__NT531_EKS-Cilium-Kubeproxy-Benchmark__cilium_status_eks134_pilot_0of3.txt",
        ),
    ];
    let loaded = load_paths(&files, &LoadOptions::default()).unwrap();
    let reports = loaded.cluster.cilium_status.unwrap();
    assert!(reports[0]
        .source
        .ends_with("cilium_status_eks134_eni_kpr.txt"));
    assert_eq!(reports[0].cluster_health, Some((1, 3)));
    assert_eq!(
        reports[0].unreachable_nodes,
        [
            "ip-10-0-10-244.ap-southeast-1.compute.internal",
            "ip-10-0-10-72.ap-southeast-1.compute.internal"
        ]
    );
    let component = |r: usize, name: &str| {
        reports[r]
            .components
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("{name}"))
            .clone()
    };
    assert_eq!(component(0, "KubeProxyReplacement").state, "True");
    assert_eq!(component(0, "Cilium").detail, "1.18.7 (v1.18.7-2adae214)");
    assert_eq!(component(0, "Routing").detail, "Native   Host: BPF");
    assert_eq!(component(0, "Controller Status").state, "38/38");
    assert_eq!(reports[1].cluster_health, Some((0, 3)));
    assert_eq!(
        reports[1].unreachable_nodes.len(),
        3,
        "localhost too: its endpoint is 0/1"
    );
    assert_eq!(component(1, "Masquerading").state, "IPTables");
}

#[test]
fn real_operator_metrics_parse() {
    let file = corpus().join("metrics/DataDog__integrations-core__cilium_operator_metrics.txt");
    let loaded = load_paths(&[file], &LoadOptions::default()).unwrap();
    let metrics = loaded.cluster.metrics.unwrap();
    let find = |name: &str, label: (&str, &str)| {
        metrics
            .iter()
            .find(|m| m.name == name && m.labels.get(label.0).map(String::as_str) == Some(label.1))
            .unwrap_or_else(|| panic!("{name}"))
    };
    let available = find(
        "cilium_operator_eni_available_ips_per_subnet",
        ("subnetId", "subnet-4ffde32b"),
    );
    assert_eq!(available.value, 11.0);
    assert_eq!(available.labels["availabilityZone"], "us-east-1a");
    let bucket = find(
        "cilium_operator_ec2_api_duration_seconds_bucket",
        ("response_code", "503 Service Unavailable"),
    );
    assert_eq!(bucket.labels["le"], "0.005");
    assert!(metrics
        .iter()
        .all(|m| m.source.ends_with("cilium_operator_metrics.txt")));
}

#[test]
fn real_iam_outputs_parse() {
    let dir = corpus().join("aws");
    let loaded = load_paths(
        &[dir.join("cloud-custodian__cloud-custodian__iam_get_role_placebo.json")],
        &LoadOptions::default(),
    )
    .unwrap();
    let role = &loaded.cluster.iam_roles.unwrap()[0];
    assert_eq!(
        role.arn,
        "arn:aws:iam::644160558196:role/CloudCustodianRole"
    );
    let trust = &role.trust_policy.as_ref().unwrap().statements[0];
    assert_eq!(
        trust.actions,
        ["sts:AssumeRole"],
        "URL-encoded trust policy decoded"
    );
    assert_eq!(trust.principals["Service"].len(), 5);
    assert_eq!(
        trust.principals["AWS"][1],
        "arn:aws:iam::644160558196:user/pratyush.mishra@capitalone.com"
    );

    let loaded = load_paths(
        &[dir.join("duo-labs__cloudmapper__iam_get_account_authorization_details_small.json")],
        &LoadOptions::default(),
    )
    .unwrap();
    let roles = loaded.cluster.iam_roles.unwrap();
    let bad = roles.iter().find(|r| r.name == "bad_role").unwrap();
    assert_eq!(
        bad.attached_policy_arns,
        ["arn:aws:iam::aws:policy/service-role/AmazonEC2RoleforSSM"]
    );
    assert_eq!(bad.inline_policies[0].name, "dostuff");
    assert!(bad.trust_policy.is_some());
    let policies = loaded.cluster.managed_policies.unwrap();
    let ssm = policies
        .iter()
        .find(|p| p.name == "AmazonEC2RoleforSSM")
        .unwrap();
    assert!(!ssm.document.as_ref().unwrap().statements.is_empty());

    // A URL-encoded get-policy-version whose file names its policy.
    let tmp = tempfile::tempdir().unwrap();
    let text =
        std::fs::read_to_string(dir.join(
            "cloud-custodian__cloud-custodian__iam_get_policy_version_urlencoded_placebo.json",
        ))
        .unwrap()
        .replacen(
            "\"PolicyVersion\"",
            "\"PolicyArn\": \"arn:aws:iam::1:policy/Everything\", \"PolicyVersion\"",
            1,
        );
    let named = tmp.path().join("named.json");
    std::fs::write(&named, text).unwrap();
    let loaded = load_paths(&[named], &LoadOptions::default()).unwrap();
    let policy = &loaded.cluster.managed_policies.unwrap()[0];
    assert_eq!(policy.name, "Everything");
    let statement = &policy.document.as_ref().unwrap().statements[0];
    assert_eq!(
        (statement.actions.as_slice(), statement.resources.as_slice()),
        (&["*".to_string()][..], &["*".to_string()][..])
    );
}
