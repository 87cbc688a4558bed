//! `preflight` on real infrastructure code (`tests/fixtures/iac/`, sources in
//! its README) and on hostile copies of it: the traps the code plans are
//! found at their file and line, unknown values never fire, bad input is a
//! clear error naming the file, and SARIF from `preflight` and `check`
//! passes the 2.1.0 schema and GitHub code scanning's upload requirements.

use std::path::{Path, PathBuf};

use doctor_core::engine::Engine;
use doctor_core::findings::Report;
use doctor_core::iac::{self, IacOptions};
use doctor_core::knowledge::Knowledge;
use doctor_core::load::{load_paths, LoadOptions, Loaded};
use doctor_core::report::{render, Format, RenderOptions};
use doctor_core::rules::CheckOptions;
use doctor_core::suppress::SuppressionConfig;
use doctor_core::version::{Date, Version};
use serde_json::Value;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/iac")
        .join(rel)
}

fn load(files: &[&str], eksctl: Option<Version>) -> Result<Loaded, String> {
    let paths: Vec<PathBuf> = files.iter().map(|f| fixture(f)).collect();
    let options = IacOptions {
        eksctl_version: eksctl,
        ..IacOptions::default()
    };
    iac::load(&paths, &options).map_err(|e| e.to_string())
}

fn evaluate(loaded: &Loaded) -> Report {
    let options = CheckOptions {
        as_of: "2026-12-01".parse::<Date>().unwrap(),
        ..CheckOptions::default()
    };
    let suppressions = SuppressionConfig::default();
    let engine = Engine {
        knowledge: Knowledge::embedded(),
        options: &options,
        suppressions: &suppressions,
    };
    engine.check(loaded, false).report
}

fn preflight(files: &[&str]) -> Report {
    evaluate(&load(files, None).unwrap())
}

fn codes(report: &Report) -> Vec<&'static str> {
    report.findings.iter().map(|f| f.rule.code).collect()
}

fn finding<'r>(report: &'r Report, code: &str) -> &'r doctor_core::findings::Finding {
    report
        .findings
        .iter()
        .find(|f| f.rule.code == code)
        .unwrap_or_else(|| panic!("no {code} in {:?}", codes(report)))
}

const TRIPLEAZE: &str = "TripleAze__Production-Grade-Cloud-Native-DevOps-Platform__infra_plan.json";
const NBIUK: &str = "nbiuk-devops-lab__infrastructure__terraform_tfplan.json";
const LITTLEJO: &str = "littlejo__cilium-eks-cookbook__files_eks-cilium.yaml";

// ------------------------------------------------------------ Terraform plans

#[test]
fn a_module_v21_plan_with_the_vpc_cni_addon_fires_cni002_at_its_address() {
    let r = preflight(&[TRIPLEAZE]);
    let f = finding(&r, "CNI002");
    let at = f.location.as_ref().expect("a location");
    assert!(at.file.ends_with(TRIPLEAZE), "{at}");
    assert_eq!(at.line, 1, "one-line plan JSON");
    assert_eq!(
        at.address.as_deref(),
        Some("module.eks.aws_eks_addon.this[\"vpc-cni\"]")
    );
    // The add-on installs aws-node; nothing patches it off the nodes.
    assert!(codes(&r).contains(&"CNI001"), "{:?}", codes(&r));
    assert_eq!(r.cluster.kubernetes_version.as_deref(), Some("1.35"));
}

#[test]
fn a_raw_cluster_with_the_provider_default_bootstraps_aws_node() {
    let loaded = load(&[NBIUK], None).unwrap();
    let r = evaluate(&loaded);
    // bootstrap_self_managed_addons = true: EKS installs the self-managed aws-node.
    let f = finding(&r, "CNI001");
    assert_eq!(
        f.location.as_ref().and_then(|a| a.address.as_deref()),
        Some("aws_eks_cluster.eks")
    );
    // Its version is not set, so unknown until apply: never a finding,
    // the version rules are not evaluated and a note names the field.
    assert!(
        !codes(&r).iter().any(|c| c.starts_with("VER00")),
        "{:?}",
        codes(&r)
    );
    assert!(r.not_evaluated.iter().any(|n| n.rule.code == "VER001"));
    assert!(
        r.input_notes
            .iter()
            .any(|n| n.note.contains("version is known only after apply")),
        "{:#?}",
        r.input_notes
    );
}

#[test]
fn old_formats_and_encodings_of_real_plans_load() {
    // Format 0.2 in UTF-16LE with a BOM (a Windows redirect), and format 0.1.
    for file in [
        "Anupriya35__aws-kubernetes-cluster__plan.json",
        "bridgecrewio__checkov__tests_terraform_runner_resources_plan_tfplan.json",
    ] {
        let loaded = load(&[file], None).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(loaded.cluster.eks.is_some(), "{file}: the aws_eks_cluster");
        // Pre-attribute providers: the API default (self-managed add-ons) applies.
        assert!(
            loaded
                .cluster
                .daemonset("kube-system", "aws-node")
                .is_some(),
            "{file}"
        );
    }
}

#[test]
fn real_helm_values_in_a_plan_are_evaluated_and_point_at_the_release_line() {
    // csantanapr/terraform-eks-cilium: kubeProxyReplacement without k8sServiceHost.
    let r = preflight(&["cilium-eni/plan.json"]);
    let f = finding(&r, "CFG003");
    let at = f.location.as_ref().unwrap();
    assert!(at.file.ends_with("cilium-eni/main.tf"), "{at}");
    assert_eq!(at.line, 46, "resource \"helm_release\" \"cilium\"");
    assert_eq!(r.cluster.cilium_version.as_deref(), Some("1.15.7"));
    assert_eq!(r.cluster.ipam_mode.as_deref(), Some("eni"));
    // bootstrap_self_managed_addons = false and no vpc-cni add-on.
    assert!(!codes(&r).contains(&"CNI001") && !codes(&r).contains(&"CNI002"));
}

#[test]
fn unknown_values_never_fire() {
    // k8sServiceHost is known only after apply: present, so CFG003 is quiet.
    let r = preflight(&["cilium-range/plan.json"]);
    assert!(!codes(&r).contains(&"CFG003"), "{:?}", codes(&r));
    assert!(codes(&r).contains(&"IAC004"));
    // All the values unknown: no configuration rule fires, IAC005 says why.
    let r = preflight(&["cilium-unknown-values/plan.json"]);
    assert!(
        !codes(&r)
            .iter()
            .any(|c| c.starts_with("CFG") || c.starts_with("CNI")),
        "{:?}",
        codes(&r)
    );
    assert!(codes(&r).contains(&"IAC005"));
    assert!(r.not_evaluated.iter().any(|n| n.rule.code == "CFG003"));
}

#[test]
fn check_reports_never_run_the_iac_rules() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/CNI002/fires");
    let loaded = load_paths(&[dir], &LoadOptions::default()).unwrap();
    let r = evaluate(&loaded);
    assert!(!r.evaluated_rules.iter().any(|r| r.code.starts_with("IAC")));
    assert!(!r
        .not_evaluated
        .iter()
        .any(|n| n.rule.code.starts_with("IAC")));
}

// ------------------------------------------------------------ eksctl

#[test]
fn every_real_eksctl_file_validates_against_the_schema() {
    for file in [
        LITTLEJO,
        "littlejo__cilium-eks-cookbook__files_eks-cilium-prefix.yaml",
        "littlejo__cilium-eks-cookbook__files_eks-cilium-ipv6.yaml",
        "littlejo__cilium-eks-cookbook__files_eks-cilium-argo.yaml",
        "jotak__cilium-eks-setup__eks-config.yaml",
        "eksctl-highopes",
    ] {
        load(&[file], None).unwrap_or_else(|e| panic!("{file}: {e}"));
    }
}

#[test]
fn eksctl_defaults_decide_the_vpc_cni_by_release() {
    // eksctl >= 0.184 installs vpc-cni as a managed add-on: CNI002, at the config.
    let r = preflight(&[LITTLEJO]);
    let f = finding(&r, "CNI002");
    let at = f.location.as_ref().unwrap();
    assert!(at.file.ends_with(LITTLEJO), "{at}");
    assert_eq!(at.line, 5, "metadata.name");
    // The node group's agent-not-ready taint is there: CNI004 is quiet.
    assert!(!codes(&r).contains(&"CNI004"), "{:?}", codes(&r));
    // eksctl 0.183: self-managed aws-node, no add-on.
    let r = evaluate(&load(&[LITTLEJO], Some(Version::new(0, 183, 0))).unwrap());
    assert!(!codes(&r).contains(&"CNI002"), "{:?}", codes(&r));
    assert!(codes(&r).contains(&"CNI001"), "{:?}", codes(&r));
}

#[test]
fn eksctl_max_pods_per_node_is_the_launch_template_eksctl_writes() {
    // littlejo's prefix-delegation cluster: maxPodsPerNode 110 on t3.medium
    // (AL2023 by the schema's default): a NodeConfig maxPods in the node
    // group's launch template.
    let loaded = load(
        &["littlejo__cilium-eks-cookbook__files_eks-cilium-prefix.yaml"],
        None,
    )
    .unwrap();
    let c = &loaded.cluster;
    let group = &c.nodegroups.as_deref().unwrap()[0];
    let template = group.launch_template.as_ref().expect("a launch template");
    let versions = c.launch_template_versions.as_deref().unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].launch_template_name, "eksctl-ng-2");
    assert_eq!(template.name.as_deref(), Some("eksctl-ng-2"));
    let set = versions[0]
        .user_data
        .max_pods
        .as_ref()
        .expect("maxPods read");
    assert_eq!(set.value, 110);
    assert!(set.setting.contains("maxPods"), "{}", set.setting);
    assert_eq!(versions[0].user_data.format.as_str(), "nodeadm NodeConfig");
}

#[test]
fn eksctl_max_pods_per_node_over_cilium_pod_ips_fires_cap001_on_future_nodes() {
    let r = evaluate(&load_with_values(
        "hostile/eksctl-max-pods.yaml",
        "hostile/eni-values.yaml",
    ));
    let fired: Vec<&str> = r
        .findings
        .iter()
        .filter(|f| f.rule.code == "CAP001")
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert!(
        fired[0].contains("ng-2") && fired[0].contains("110"),
        "{}",
        fired[0]
    );
}

#[test]
fn cloudformation_launch_template_user_data_joins_the_node_group() {
    // viethuy99's managed node group: its AWS::EC2::LaunchTemplate (named
    // by !Sub, so by its logical id here) has MIME user data through
    // !Base64 "Fn::Sub" whose shell part sets no max pods.
    let loaded = load(
        &["viethuy99__eks-cloudformation-template__06-eks-managed-nodegroup.yaml"],
        None,
    )
    .unwrap();
    let c = &loaded.cluster;
    let versions = c.launch_template_versions.as_deref().expect("versions");
    assert_eq!(versions.len(), 1);
    let lt = &versions[0];
    let group = &c.nodegroups.as_deref().unwrap()[0];
    assert_eq!(
        group.launch_template.as_ref().unwrap().name.as_deref(),
        Some(lt.launch_template_name.as_str())
    );
    assert_eq!(lt.user_data.format.as_str(), "MIME multipart", "{lt:?}");
    assert!(
        lt.user_data.max_pods.is_none() && lt.image_id.is_none(),
        "{lt:?}"
    );
    assert!(lt.user_data_error.is_none(), "{lt:?}");
}

#[test]
fn cloudformation_launch_template_max_pods_over_cilium_pod_ips_fires_cap001() {
    let r = evaluate(&load_with_values(
        "hostile/cfn-launch-template-max-pods.yaml",
        "hostile/eni-values.yaml",
    ));
    let f = finding(&r, "CAP001");
    assert!(
        f.message.contains("workers")
            && f.message.contains("110")
            && f.message.contains("workers-lt"),
        "{}",
        f.message
    );
}

#[test]
fn eksctl_files_of_one_cluster_merge() {
    // highopes: the cluster (disableDefaultAddons: true, coredns) in one
    // file, its node group in another.
    let loaded = load(&["eksctl-highopes"], None).unwrap();
    let c = &loaded.cluster;
    assert_eq!(c.name.as_deref(), Some("cilium-eks-demo"));
    let groups = c.nodegroups.as_deref().unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].instance_types, ["t3a.large"]);
    assert_eq!(c.addon_names.as_deref(), Some(&["coredns".to_string()][..]));
    let r = evaluate(&loaded);
    assert!(!codes(&r).contains(&"CNI001") && !codes(&r).contains(&"CNI002"));
    // The node group has no agent-not-ready taint: CNI004 at the node group.
    let f = finding(&r, "CNI004");
    let at = f.location.as_ref().unwrap();
    assert!(
        at.file
            .ends_with("highopes__aws-isovalent-demo__nodegroup.yaml"),
        "{at}"
    );
    assert_eq!(at.line, 9);
}

#[test]
fn helm_values_placeholders_are_noted() {
    let options = IacOptions {
        helm_values: vec![fixture(
            "highopes__aws-isovalent-demo__cilium-enterprise-values.yaml",
        )],
        ..IacOptions::default()
    };
    let loaded = iac::load(&[fixture("eksctl-highopes")], &options).unwrap();
    assert!(loaded
        .cluster
        .helm_values
        .as_ref()
        .is_some_and(|v| v.get("eni").is_some()));
}

// ------------------------------------------------------------ hostile input

#[test]
fn hostile_inputs_are_errors_naming_the_file() {
    let cases = [
        ("hostile/truncated.json", "line 1 column 5000"),
        (
            "hostile/format-9.json",
            "format_version \"9.0\" is not supported",
        ),
        (
            "hostile/binary.tfplan",
            "terraform show -json plan.tfplan > plan.json",
        ),
        (
            "hostile/eksctl-taint-typo.yaml",
            "line 15: does not match eksctl's ClusterConfig schema",
        ),
        ("hostile/eksctl-bad-yaml.yaml", "eksctl-bad-yaml.yaml: line"),
    ];
    for (file, want) in cases {
        let err = load(&[file], None).expect_err(file);
        assert!(err.contains(file), "{file}: {err}");
        assert!(err.contains(want), "{file}: {err}");
    }
}

#[test]
fn placeholders_are_unknown_not_errors() {
    let loaded = load(&["hostile/eksctl-placeholder.yaml"], None).unwrap();
    // version: ${K8S_VERSION} is unknown: no version, so no version rule fires.
    assert!(loaded.cluster.kubernetes_version().is_none());
    let r = evaluate(&loaded);
    assert!(!codes(&r).iter().any(|c| c.starts_with("VER00")));
}

#[test]
fn a_plan_streamed_from_a_large_file_keeps_only_what_it_needs() {
    // 120,000 unrelated resources around the cluster: read in one pass.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.json");
    let mut text = String::from(r#"{"format_version":"1.2","resource_changes":["#);
    for i in 0..120_000 {
        text.push_str(&format!(
            r#"{{"address":"aws_s3_object.o[{i}]","mode":"managed","type":"aws_s3_object","name":"o","change":{{"actions":["create"],"after":{{"key":"k{i}","content":"{}"}},"after_unknown":{{}}}}}},"#,
            "x".repeat(200)
        ));
    }
    text.push_str(r#"{"address":"aws_eks_cluster.c","mode":"managed","type":"aws_eks_cluster","name":"c","change":{"actions":["create"],"after":{"name":"big","version":"1.33"},"after_unknown":{}}}]}"#);
    std::fs::write(&path, text).unwrap();
    let loaded = iac::load(&[path], &IacOptions::default()).unwrap();
    assert_eq!(loaded.cluster.name.as_deref(), Some("big"));
}

// ------------------------------------------------------------ SARIF

fn sarif_validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(include_str!("schemas/sarif-2.1.0.json")).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

/// GitHub code scanning's upload requirements: every result has a ruleId
/// listed in `tool.driver.rules`, a message, and a physical location with a
/// relative URI and a start line of at least 1.
fn github_problems(log: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for run in log["runs"].as_array().unwrap() {
        let rules: Vec<&str> = run["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        for (i, r) in run["results"].as_array().unwrap().iter().enumerate() {
            let id = r["ruleId"].as_str().unwrap_or_default();
            if !rules.contains(&id) {
                problems.push(format!(
                    "result {i}: ruleId {id:?} not in tool.driver.rules"
                ));
            }
            if r["message"]["text"].as_str().is_none_or(str::is_empty) {
                problems.push(format!("result {i}: no message"));
            }
            let physical = &r["locations"][0]["physicalLocation"];
            let uri = physical["artifactLocation"]["uri"]
                .as_str()
                .unwrap_or_default();
            if uri.is_empty() || uri.starts_with('/') || uri.contains("://") {
                problems.push(format!("result {i}: uri {uri:?} is not a relative path"));
            }
            if physical["region"]["startLine"].as_u64().unwrap_or(0) < 1 {
                problems.push(format!("result {i}: no startLine >= 1"));
            }
        }
    }
    problems
}

fn sarif_of(mut report: Report) -> Value {
    let base = Path::new(env!("CARGO_MANIFEST_DIR"));
    report.locations_relative_to(base, base);
    serde_json::from_str(&render(&report, Format::Sarif, &RenderOptions::default())).unwrap()
}

#[test]
fn sarif_from_preflight_and_check_meets_the_schema_and_github() {
    let validator = sarif_validator();
    let check_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/CNI002/fires");
    let check = evaluate(&load_paths(&[check_dir], &LoadOptions::default()).unwrap());
    for (what, report) in [
        (
            "preflight plan",
            preflight(&[TRIPLEAZE, "deletes-aws-node/plan.json"]),
        ),
        ("preflight eksctl", preflight(&[LITTLEJO])),
        ("preflight values", preflight(&["cilium-eni/plan.json"])),
        (
            "preflight cloudformation",
            preflight(&[CFN_ADDONS, CFN_CONTROL_PLANE]),
        ),
        ("preflight cdk", preflight(&[CDK_EDISON])),
        ("preflight pulumi", preflight(&[PULUMI_STACK])),
        ("check", check),
    ] {
        assert!(!report.findings.is_empty(), "{what}");
        let log = sarif_of(report);
        let errors: Vec<String> = validator.iter_errors(&log).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{what}: {errors:#?}");
        let problems = github_problems(&log);
        assert!(problems.is_empty(), "{what}: {problems:#?}");
    }
    // The check: the dump file the object came from.
    let check_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/CNI002/fires");
    let log = sarif_of(evaluate(
        &load_paths(&[check_dir], &LoadOptions::default()).unwrap(),
    ));
    let uris: Vec<&str> = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert!(
        uris.iter()
            .all(|u| u.starts_with("tests/fixtures/CNI002/fires/")),
        "{uris:?}"
    );
    // The requirements test is live: a result without a line is caught.
    let mut log = sarif_of(preflight(&[LITTLEJO]));
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        0.into();
    assert!(!github_problems(&log).is_empty());
}

// ------------------------------------------- CloudFormation and CDK synth

const CFN_CONTROL_PLANE: &str = "viethuy99__eks-cloudformation-template__03-eks-control-plane.yaml";
const CFN_ADDONS: &str = "viethuy99__eks-cloudformation-template__05-eks-addons.yaml";
const CFN_NODEGROUP: &str = "viethuy99__eks-cloudformation-template__06-eks-managed-nodegroup.yaml";
const CDK_EDISON: &str = "edison0513__eks-cdk-example__cdk.out_EksStack.template.json";
const CDK_CALICO: &str = "aws-cdk__integ.custom-addons.template.json";
const PULUMI_STACK: &str =
    "pulumi__pulumi-eks__tests_testdata_recorded_TestProviderUpgrade_managed-nodegroups_3.0.0_stack.json";
const PULUMI_PREVIEW: &str =
    "infracost__infracost__examples_pulumi_aws-ts-ebs_preview-existing.json";

fn notes(loaded: &Loaded) -> Vec<String> {
    loaded.notes.iter().map(|n| n.note.clone()).collect()
}

/// The line of the first line of `file` (a fixture) that holds `needle`.
fn line_of(file: &str, needle: &str) -> u32 {
    let text = std::fs::read_to_string(fixture(file)).unwrap();
    let i = text
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in {file}"));
    u32::try_from(i + 1).unwrap()
}

#[test]
fn a_cloudformation_yaml_template_with_short_form_tags_is_read_by_line() {
    // The control plane: `Version: !Ref ClusterVersion` is unknown until
    // deploy (never fires, named in a note with its line); no
    // BootstrapSelfManagedAddons, so EKS bootstraps aws-node (CNI001).
    let loaded = load(&[CFN_CONTROL_PLANE], None).unwrap();
    let n = notes(&loaded);
    let version_line = line_of(CFN_CONTROL_PLANE, "        Ref: ClusterVersion") - 1;
    assert!(
        n.iter().any(|n| n
            == &format!("line {version_line}: EksCluster.Version is Ref ClusterVersion: known only when the stack is deployed; the rules that need it are not evaluated")),
        "{n:#?}"
    );
    let r = evaluate(&loaded);
    let f = finding(&r, "CNI001");
    let at = f.location.as_ref().unwrap();
    assert!(at.file.ends_with(CFN_CONTROL_PLANE), "{at}");
    assert_eq!(at.line, line_of(CFN_CONTROL_PLANE, "  EksCluster:"));
    assert!(
        r.not_evaluated.iter().any(|m| m.rule.code == "VER003"),
        "the version is unknown: VER003 not evaluated"
    );
    // The add-on stack: the managed vpc-cni add-on, at its resource.
    let r = preflight(&[CFN_ADDONS]);
    let f = finding(&r, "CNI002");
    let at = f.location.as_ref().unwrap();
    assert_eq!(at.line, line_of(CFN_ADDONS, "  VpcCni:"), "{at}");
    assert_eq!(at.address.as_deref(), Some("VpcCni"));
    // The node group stack: instance types and AMI type from parameters
    // are unknown; the missing agent-not-ready taint is known (CNI004).
    let loaded = load(&[CFN_NODEGROUP], None).unwrap();
    let n = notes(&loaded);
    assert!(
        n.iter()
            .any(|n| n.contains("EksManagedNodeGroup.InstanceTypes is Ref NodeInstanceTypes")),
        "{n:#?}"
    );
    let r = evaluate(&loaded);
    assert_eq!(
        finding(&r, "CNI004").location.as_ref().unwrap().line,
        line_of(CFN_NODEGROUP, "  EksManagedNodeGroup:")
    );
}

#[test]
fn cdk_synth_output_is_read_like_cloudformation() {
    // CDK v2 L2 cluster (Custom::AWSCDK-EKS-Cluster Config), AWS::EKS::Addon
    // vpc-cni, AWS::EKS::Nodegroup: the same model as a plan.
    let loaded = load(&[CDK_EDISON], None).unwrap();
    assert_eq!(
        loaded.cluster.name.as_deref(),
        Some("tapnow-staging-cluster")
    );
    let r = evaluate(&loaded);
    let f = finding(&r, "CNI002");
    assert_eq!(
        f.location.as_ref().unwrap().line,
        line_of(CDK_EDISON, "\"vpccni\": {")
    );
    // bootstrapSelfManagedAddons false, no add-on: no aws-node, nothing fires.
    let r = preflight(&[CDK_CALICO]);
    for code in ["CNI001", "CNI002"] {
        assert!(!codes(&r).contains(&code), "{:?}", codes(&r));
    }
}

#[test]
fn a_cdk_cilium_helm_chart_gives_its_version_and_values() {
    let file = "cdk-cilium/eks-cilium.template.json";
    let loaded = load(&[file], None).unwrap();
    let values = loaded.cluster.helm_values.as_ref().expect("values");
    assert_eq!(values["ipam"]["mode"], "eni");
    let iac = loaded.cluster.iac.as_ref().unwrap();
    assert_eq!(iac.cilium_releases.len(), 1);
    assert_eq!(
        iac.cilium_releases[0].at.line,
        line_of(file, "\"Cilium5E8A6B3C\": {")
    );
    let r = evaluate(&loaded);
    let c = codes(&r);
    assert!(c.contains(&"CNI002"), "{c:?}");
    assert!(!c.contains(&"IAC004") && !c.contains(&"IAC005"), "{c:?}");
    assert!(
        !c.contains(&"CNI004"),
        "the node group has the taint: {c:?}"
    );
}

#[test]
fn cdk_values_with_tokens_are_not_evaluated_and_placeholders_noted() {
    let r = preflight(&["hostile/cdk-values-token.template.json"]);
    let f = finding(&r, "IAC005");
    assert!(
        f.evidence.iter().any(|e| e.contains("Values is Fn::Join")),
        "{:?}",
        f.evidence
    );
    let loaded = load(&["hostile/cdk-values-placeholder.template.json"], None).unwrap();
    assert!(
        notes(&loaded)
            .iter()
            .any(|n| n.contains("uninterpolated ${...} placeholders")),
        "{:?}",
        notes(&loaded)
    );
}

#[test]
fn hostile_templates_and_states_are_errors_naming_file_and_line() {
    for (file, wanted) in [
        (
            "hostile/cfn-truncated.template.json",
            "cfn-truncated.template.json",
        ),
        ("hostile/cfn-bad-version.yaml", "line 1"),
        ("hostile/cfn-broken.yaml", "cfn-broken.yaml: line"),
        ("hostile/pulumi-version-4.json", "line 2"),
        (
            "hostile/pulumi-preview-truncated.json",
            "pulumi-preview-truncated.json",
        ),
    ] {
        let e = load(&[file], None).unwrap_err();
        assert!(e.contains(wanted), "{file}: {e}");
        assert!(
            e.contains(file.trim_start_matches("hostile/")),
            "{file}: {e}"
        );
    }
    let e = load(&["hostile/cfn-bad-version.yaml"], None).unwrap_err();
    assert!(e.contains("2010-09-09"), "{e}");
}

// ------------------------------------------------------------------ Pulumi

#[test]
fn a_pulumi_stack_export_fills_the_model_and_says_experimental() {
    let loaded = load(&[PULUMI_STACK], None).unwrap();
    // The version is left to the provider in the inputs; the state's
    // outputs record what was deployed.
    assert!(
        notes(&loaded).iter().any(|n| n.contains("experimental")),
        "{:?}",
        notes(&loaded)
    );
    let r = evaluate(&loaded);
    assert_eq!(r.cluster.kubernetes_version.as_deref(), Some("1.31"));
    let f = finding(&r, "CNI002");
    let at = f.location.as_ref().unwrap();
    assert!(
        at.address.as_deref().is_some_and(|a| a.ends_with("aws:eks/addon:Addon::example-managed-nodegroups-vpc-cni")),
        "{at}"
    );
    assert!(at.line > 1);
}

#[test]
fn a_pulumi_preview_with_unknowns_never_fires_on_them() {
    let loaded = load(&[PULUMI_PREVIEW], None).unwrap();
    let iac = loaded.cluster.iac.as_ref().unwrap();
    assert_eq!(iac.files.len(), 1);
    let r = evaluate(&loaded);
    // A raw aws:eks/cluster:Cluster without bootstrapSelfManagedAddons: EKS
    // bootstraps aws-node.
    assert!(codes(&r).contains(&"CNI001"), "{:?}", codes(&r));
    let at = finding(&r, "CNI004").location.clone().unwrap();
    assert_eq!(
        at.address.as_deref(),
        Some("urn:pulumi:dev::aws-ts-ebs::aws:eks/nodeGroup:NodeGroup::example")
    );
}

#[test]
fn pulumi_eks_default_addons_to_remove_is_obsolete_but_honoured() {
    let r = preflight(&["pulumi-default-addons/preview.json"]);
    let c = codes(&r);
    assert!(c.contains(&"IAC002"), "{c:?}");
    // The program removes vpc-cni and kube-proxy at creation: no aws-node.
    assert!(!c.contains(&"CNI001") && !c.contains(&"CNI002"), "{c:?}");
    // The Cilium values are computed in an apply(): not evaluated.
    assert!(c.contains(&"IAC005"), "{c:?}");
    let r = preflight(&["pulumi-v4/preview.json"]);
    let c = codes(&r);
    assert!(!c.contains(&"IAC002") && !c.contains(&"CNI001"), "{c:?}");
}

// -------------------------------------------------- Terraform HCL sources

fn load_with(files: &[&str], by: iac::CiliumInstall) -> Result<Loaded, String> {
    let paths: Vec<PathBuf> = files.iter().map(|f| fixture(f)).collect();
    let options = IacOptions {
        cilium_installed_by: by,
        ..IacOptions::default()
    };
    iac::load(&paths, &options).map_err(|e| e.to_string())
}

fn at_line(r: &Report, code: &str) -> (String, u32) {
    let at = finding(r, code).location.clone().expect("a location");
    let file = at.file.rsplit('/').take(2).collect::<Vec<_>>();
    (format!("{}/{}", file[1], file[0]), at.line)
}

#[test]
fn hcl_resources_are_read_literally_and_point_at_their_lines() {
    // paulofponciano/EKS-Cilium: a raw aws_eks_cluster without
    // bootstrap_self_managed_addons (EKS bootstraps aws-node), the
    // kube-proxy add-on, and a Cilium helm_release with kube-proxy
    // replacement and no API server address.
    let loaded = load(&["hcl-paulofponciano"], None).unwrap();
    let n = notes(&loaded);
    assert!(
        n.iter().any(|n| n.starts_with(
            "line 14: aws_eks_cluster.eks_cluster: version is `var.k8s_version`, not a literal"
        )),
        "{n:#?}"
    );
    let r = evaluate(&loaded);
    assert_eq!(
        at_line(&r, "CNI001"),
        ("hcl-paulofponciano/eks.tf".into(), 11)
    );
    assert_eq!(
        at_line(&r, "CFG004"),
        ("hcl-paulofponciano/eks_addons.tf".into(), 44)
    );
    assert_eq!(
        at_line(&r, "CFG003"),
        ("hcl-paulofponciano/helm_cilium.tf".into(), 1)
    );
    assert!(
        r.not_evaluated.iter().any(|m| m.rule.code == "VER003"),
        "the version is a variable: VER003 not evaluated"
    );
}

#[test]
fn hcl_module_defaults_follow_the_major_version() {
    // v19 (~> 19.13): EKS bootstraps aws-node and the module adds the
    // vpc-cni add-on from cluster_addons: CNI002 at the add-on's key.
    let file = "hcl/mattbrandman__ekstesting__terraform_main.tf";
    let r = preflight(&[file]);
    let f = finding(&r, "CNI002");
    let at = f.location.as_ref().unwrap();
    assert_eq!(at.line, line_of(file, "vpc-cni"), "{at}");
    assert!(codes(&r).contains(&"CNI001"), "{:?}", codes(&r));
    // v19 (~> 19.0) without add-ons: the self-managed aws-node (CNI001) at
    // the module block.
    let file = "hcl/alleaffengaffen__cucumber__eks.tf";
    let r = preflight(&[file]);
    assert_eq!(
        finding(&r, "CNI001").location.as_ref().unwrap().line,
        line_of(file, "module \"eks\"")
    );
}

#[test]
fn hcl_values_files_and_blueprint_addons_are_read() {
    // ovaleanu/cilium-eks: Cilium through aws-ia/eks-blueprints-addon with
    // templatefile() values beside the .tf: `tunnel` on the 1.15 chart
    // (VER007), aws-node and kube-proxy deleted by local-exec (IAC001), and
    // prefix delegation on Xen instance types (CAP007).
    let r = preflight(&["hcl-ovaleanu"]);
    let c = codes(&r);
    assert!(c.contains(&"VER007"), "{c:?}");
    assert_eq!(at_line(&r, "VER007"), ("hcl-ovaleanu/cilium.tf".into(), 74));
    assert_eq!(c.iter().filter(|c| **c == "IAC001").count(), 2, "{c:?}");
    assert!(c.contains(&"CAP007"), "{c:?}");
    assert!(!c.contains(&"CNI001"), "aws-node is deleted: {c:?}");
    // csantanapr: file() values read; the kube-proxy add-on behind a
    // conditional count is not assumed to exist.
    let loaded = load(&["hcl-csantanapr"], None).unwrap();
    assert_eq!(
        loaded.cluster.helm_values.as_ref().unwrap()["ipam"]["mode"],
        "eni"
    );
    let r = evaluate(&loaded);
    assert!(!codes(&r).contains(&"CFG004"), "{:?}", codes(&r));
    assert!(notes(&loaded)
        .iter()
        .any(|n| n.contains("count is `var.remove_kube_proxy ? 0 : 1`")));
}

#[test]
fn hcl_beside_a_plan_is_not_read_twice() {
    let loaded = load(&["cilium-eni"], None).unwrap();
    assert!(
        loaded
            .skipped
            .iter()
            .any(|s| s.path.ends_with("cilium-eni/main.tf")
                && s.reason.contains("beside a plan JSON")),
        "{:?}",
        loaded.skipped
    );
}

#[test]
fn an_unread_patch_or_a_missing_cluster_never_fires_on_aws_node() {
    // littlejo: aws-node patched by local-exec with a patch built from a
    // local: where aws-node runs is unknown.
    let loaded = load(&["hcl/littlejo__terraform-eks-cilium__main.tf"], None).unwrap();
    assert!(
        notes(&loaded)
            .iter()
            .any(|n| n.contains("patch that is not literal")),
        "{:?}",
        notes(&loaded)
    );
    assert!(!codes(&evaluate(&loaded)).contains(&"CNI001"));
    // METR: only the Cilium release (chaining), no cluster: CNI006 is not
    // evaluated rather than claiming aws-node is missing.
    let r = preflight(&["hcl/METR__inspect-action__terraform_modules_eks_main.tf"]);
    assert!(!codes(&r).contains(&"CNI006"), "{:?}", codes(&r));
    assert!(r.not_evaluated.iter().any(|m| m.rule.code == "CNI006"));
}

#[test]
fn hostile_hcl_is_an_error_naming_file_and_line() {
    let e = load(&["hostile/hcl-truncated.tf"], None).unwrap_err();
    assert!(
        e.contains("hcl-truncated.tf") && e.contains("line ") && e.contains("invalid HCL"),
        "{e}"
    );
}

// ------------------------------------------ who installs Cilium (issue #16)

#[test]
fn cilium_installed_by_decides_whether_cilium_rules_apply() {
    // A plan that installs no Cilium: by default Cilium is assumed primary
    // (noted), so the managed vpc-cni add-on is CNI002.
    let r = preflight(&[TRIPLEAZE]);
    assert!(codes(&r).contains(&"CNI002"));
    let loaded = load_with(&[TRIPLEAZE], iac::CiliumInstall::None).unwrap();
    assert!(
        notes(&loaded)
            .iter()
            .any(|n| n.starts_with("--cilium-installed-by none")),
        "{:?}",
        notes(&loaded)
    );
    let r = evaluate(&loaded);
    for code in ["CNI001", "CNI002"] {
        assert!(!codes(&r).contains(&code), "{:?}", codes(&r));
    }
    let loaded = load_with(&[TRIPLEAZE], iac::CiliumInstall::Other).unwrap();
    assert!(codes(&evaluate(&loaded)).contains(&"CNI002"));
    // The cilium Terraform provider installs Cilium: named in the note.
    let loaded = load(&["hcl/tf-cilium__terraform-eks-cilium__main.tf"], None).unwrap();
    assert!(
        notes(&loaded)
            .iter()
            .any(|n| n.contains("cilium.this (the cilium Terraform provider) installs Cilium")),
        "{:?}",
        notes(&loaded)
    );
    // A release found wins over `none`.
    let loaded = load_with(&["cilium-eni/plan.json"], iac::CiliumInstall::None).unwrap();
    assert!(loaded.cluster.helm_values.is_some());
}

// ------------------------------------------------------------ IAM

fn missing<'r>(report: &'r Report, code: &str) -> Option<&'r str> {
    report
        .not_evaluated
        .iter()
        .find(|n| n.rule.code == code)
        .map(|n| n.missing.as_str())
}

#[test]
fn a_planned_irsa_role_is_evaluated_like_check_does() {
    // ovaleanu/cilium-eks: the eks-blueprints-addon module's IRSA role, the
    // policy passed in `role_policies` (followed through the module input
    // and `for_each`), the role ARN set through `set_irsa_names` (known
    // only after apply, followed to module.cilium.aws_iam_role.this[0]).
    let loaded = load(&["cilium-irsa/plan.json"], None).unwrap();
    let roles = loaded.cluster.iam_roles.as_deref().unwrap();
    let role = roles
        .iter()
        .find(|r| r.name == "module.cilium.aws_iam_role.this[0]")
        .unwrap();
    assert_eq!(role.attached_policy_arns.len(), 1, "{role:?}");
    assert!(role.trust_policy.is_some());
    let sa = loaded
        .cluster
        .service_accounts
        .as_deref()
        .unwrap()
        .iter()
        .find(|s| s.metadata.name == "cilium-operator")
        .unwrap();
    assert_eq!(
        sa.metadata
            .annotations
            .get("eks.amazonaws.com/role-arn")
            .map(String::as_str),
        Some("arn:aws:iam::(known after apply):role/module.cilium.aws_iam_role.this[0]")
    );
    let r = evaluate(&loaded);
    // Its policy lacks ec2:DescribeTags, which ENI GC (on by default) needs.
    let f = finding(&r, "IAM001");
    assert!(f.message.contains("ec2:DescribeTags"), "{}", f.message);
    let at = f.location.as_ref().unwrap();
    assert!(at.file.ends_with("cilium-irsa/cilium.tf"), "{at}");
    assert_eq!(
        at.line,
        line_of("cilium-irsa/cilium.tf", "module \"cilium\"")
    );
    // Trust, subject and provider are right: quiet, and evaluated.
    for code in ["IAM002", "IAM003", "IAM004", "IAM005"] {
        assert!(!codes(&r).contains(&code), "{code}: {:?}", codes(&r));
        assert!(
            missing(&r, code).is_none(),
            "{code}: {:?}",
            missing(&r, code)
        );
    }
}

#[test]
fn hostile_irsa_plans_fire_on_what_is_known_and_name_what_is_not() {
    let r = preflight(&["hostile/irsa-wrong-subject.json"]);
    assert!(finding(&r, "IAM004")
        .message
        .contains("system:serviceaccount:kube-system:cilium "));
    // The trust known only after apply: IAM003/004 not evaluated, noted.
    let loaded = load(&["hostile/irsa-trust-unknown.json"], None).unwrap();
    assert!(notes(&loaded).iter().any(|n| n.contains(
        "module.cilium.aws_iam_role.this[0]: the trust policy is known only after apply"
    )));
    let r = evaluate(&loaded);
    for code in ["IAM003", "IAM004"] {
        assert!(!codes(&r).contains(&code));
        assert!(
            missing(&r, code).unwrap().contains("trust policy"),
            "{code}"
        );
    }
    // An attachment whose role cannot be followed: the role's documents
    // are incomplete, IAM001 is not evaluated, naming the attachment.
    let r = preflight(&["hostile/irsa-role-unfollowed.json"]);
    assert!(!codes(&r).contains(&"IAM001"));
    assert!(missing(&r, "IAM001")
        .unwrap()
        .contains("aws_iam_role_policy_attachment.additional[\"cilium_policy\"]"));
}

#[test]
fn real_plans_with_add_on_roles_gain_no_iam_findings() {
    // Real plans hold IRSA roles for other add-ons (EBS CSI, Karpenter, the
    // load balancer controller) and a Pod Identity association: none is the
    // operator's, nothing fires, and their unknowns are not noted.
    for file in [TRIPLEAZE, NBIUK] {
        let loaded = load(&[file], None).unwrap();
        assert!(
            loaded
                .cluster
                .iam_roles
                .as_deref()
                .is_some_and(|r| !r.is_empty()),
            "{file}"
        );
        assert!(
            !notes(&loaded).iter().any(|n| n.contains("trust policy")),
            "{file}: {:?}",
            notes(&loaded)
        );
        let r = evaluate(&loaded);
        assert!(
            !codes(&r).iter().any(|c| c.starts_with("IAM")),
            "{file}: {:?}",
            codes(&r)
        );
    }
}

#[test]
fn the_chart_creates_the_operator_service_account_from_its_values() {
    // csantanapr/terraform-eks-cilium: ENI mode, the ENI policy on the node
    // group role and no IRSA role: the chart's ServiceAccount has no role.
    let r = preflight(&["cilium-eni/plan.json"]);
    let f = finding(&r, "IAM002");
    assert!(f
        .location
        .as_ref()
        .unwrap()
        .file
        .ends_with("cilium-eni/main.tf"));
}

fn load_with_values(file: &str, values: &str) -> Loaded {
    let options = IacOptions {
        helm_values: vec![fixture(values)],
        ..IacOptions::default()
    };
    iac::load(&[fixture(file)], &options).unwrap()
}

#[test]
fn eksctl_service_accounts_and_pod_identity_associations_give_the_operator_its_role() {
    // iam.serviceAccounts: eksctl creates the role (its trust at create)
    // and annotates the ServiceAccount.
    let loaded = load_with_values("hostile/eksctl-irsa.yaml", "hostile/eni-values.yaml");
    let role = &loaded.cluster.iam_roles.as_deref().unwrap()[0];
    assert_eq!(role.name, "iam.serviceAccounts[0]");
    assert_eq!(role.inline_policies.len(), 1);
    assert!(role.trust_policy.is_none());
    let sa = &loaded.cluster.service_accounts.as_deref().unwrap()[0];
    assert_eq!(sa.metadata.name, "cilium-operator");
    assert_eq!(
        sa.metadata
            .annotations
            .get("eks.amazonaws.com/role-arn")
            .map(String::as_str),
        Some(role.arn.as_str())
    );
    let r = evaluate(&loaded);
    assert!(!codes(&r).contains(&"IAM002") && missing(&r, "IAM002").is_none());
    assert!(missing(&r, "IAM003")
        .unwrap()
        .contains("trust policy of IAM role iam.serviceAccounts[0]"));
    // iam.podIdentityAssociations: the association carries the role.
    let loaded = load_with_values(
        "hostile/eksctl-pod-identity.yaml",
        "hostile/eni-values.yaml",
    );
    let association = &loaded.cluster.pod_identity_associations.as_deref().unwrap()[0];
    assert_eq!(association.service_account, "cilium-operator");
    assert_eq!(
        association.role_arn.as_deref(),
        Some("arn:aws:iam::(known after apply):role/cilium-operator")
    );
    let r = evaluate(&loaded);
    assert!(!codes(&r).contains(&"IAM002") && missing(&r, "IAM002").is_none());
}

#[test]
fn a_cloudformation_pod_identity_role_is_evaluated() {
    // AWS::EKS::PodIdentityAssociation naming an AWS::IAM::Role by
    // Fn::GetAtt, its AWS::IAM::ManagedPolicy attached through `Roles`.
    let loaded = load(&["hostile/cfn-pod-identity.template.json"], None).unwrap();
    let association = &loaded.cluster.pod_identity_associations.as_deref().unwrap()[0];
    assert_eq!(
        association.role_arn.as_deref(),
        Some("arn:aws:iam::(known after apply):role/CiliumOperatorRole")
    );
    let r = evaluate(&loaded);
    for code in ["IAM001", "IAM002", "IAM007"] {
        assert!(!codes(&r).contains(&code), "{code}: {:?}", codes(&r));
        assert!(
            missing(&r, code).is_none(),
            "{code}: {:?}",
            missing(&r, code)
        );
    }
    let r = preflight(&["hostile/cfn-pod-identity-lacking.template.json"]);
    let f = finding(&r, "IAM001");
    assert!(
        f.message.contains("EKS Pod Identity role") && f.message.contains("ec2:DescribeTags"),
        "{}",
        f.message
    );
    let at = f.location.as_ref().unwrap();
    assert_eq!(
        at.line,
        line_of(
            "hostile/cfn-pod-identity-lacking.template.json",
            "\"CiliumOperatorRole\": {"
        )
    );
}

// ------------------------------------------------------------ memory

/// Write a plan of about `mb` megabytes, streamed to disk: `resource_changes`
/// of unrelated objects around one cluster, and as large a `prior_state`.
fn write_big_plan(path: &Path, mb: usize) {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let blob = "x".repeat(900);
    let per = 330 + blob.len();
    let n = mb * 1024 * 1024 / 2 / per;
    write!(
        out,
        r#"{{"format_version":"1.2","terraform_version":"1.14.3","resource_changes":["#
    )
    .unwrap();
    for i in 0..n {
        write!(
            out,
            r#"{{"address":"aws_s3_object.o[{i}]","mode":"managed","type":"aws_s3_object","name":"o","index":{i},"change":{{"actions":["create"],"before":null,"after":{{"key":"k{i}","content":"{blob}","tags":{{"a":"b"}}}},"after_unknown":{{"id":true,"etag":true}},"before_sensitive":false,"after_sensitive":{{}}}}}},"#
        )
        .unwrap();
    }
    write!(out, r#"{{"address":"aws_eks_cluster.c","mode":"managed","type":"aws_eks_cluster","name":"c","change":{{"actions":["create"],"after":{{"name":"big","version":"1.33","bootstrap_self_managed_addons":false}},"after_unknown":{{}}}}}}],"prior_state":{{"format_version":"1.0","values":{{"root_module":{{"resources":["#).unwrap();
    for i in 0..n {
        if i > 0 {
            out.write_all(b",").unwrap();
        }
        write!(
            out,
            r#"{{"address":"aws_s3_object.o[{i}]","mode":"managed","type":"aws_s3_object","name":"o","index":{i},"provider_name":"registry.terraform.io/hashicorp/aws","schema_version":0,"values":{{"key":"k{i}","content":"{blob}","bucket":"b","etag":"e{i}","tags":{{"a":"b"}}}},"sensitive_values":{{}}}}"#
        )
        .unwrap();
    }
    write!(out, r#"]}}}}}},"configuration":{{"root_module":{{}}}}}}"#).unwrap();
    out.flush().unwrap();
}

/// Peak resident memory of this process (Linux `VmHWM`), in kB.
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[test]
fn a_large_plan_loads_in_bounded_memory() {
    // The child: load the plan and print this process's peak RSS.
    if let Ok(path) = std::env::var("PREFLIGHT_RSS_CHILD") {
        let loaded = iac::load(&[PathBuf::from(path)], &IacOptions::default()).unwrap();
        assert_eq!(loaded.cluster.name.as_deref(), Some("big"));
        eprintln!("VmHWM-kB={}", peak_rss_kb().unwrap_or(0));
        return;
    }
    if peak_rss_kb().is_none() {
        eprintln!("no /proc/self/status here: peak memory is not measured");
        return;
    }
    // 64 MB in CI (some 10 s in a debug build); PREFLIGHT_BIG_PLAN_MB=500 for the size
    // the issue names.
    let mb: usize = std::env::var("PREFLIGHT_BIG_PLAN_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big-plan.json");
    write_big_plan(&path, mb);
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size > (mb as u64) * 1024 * 1024 * 9 / 10, "{size}");
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_large_plan_loads_in_bounded_memory",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("PREFLIGHT_RSS_CHILD", &path)
        .output()
        .unwrap();
    let stdout = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{stdout}");
    let peak: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM-kB="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak in {stdout}"));
    // Bounded: far below the file, whatever its size (the test binary
    // itself takes some 10-20 MB).
    eprintln!(
        "plan of {} MB: peak RSS {} MB",
        size / 1024 / 1024,
        peak / 1024
    );
    assert!(
        peak < 96 * 1024,
        "peak RSS {peak} kB for a {size} byte plan"
    );
}

// ------------------------------------------------------------ CloudFormation parameters

fn load_cfn(paths: &[PathBuf], parameters: &[(&str, &str)]) -> Loaded {
    let options = IacOptions {
        cfn_parameters: parameters
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..IacOptions::default()
    };
    iac::load(paths, &options).unwrap()
}

#[test]
fn cloudformation_parameters_given_resolve_their_refs() {
    // viethuy99's control plane: ClusterVersion and ClusterName are
    // parameters without a Default: unknown, named; given, they are known.
    let path = fixture(CFN_CONTROL_PLANE);
    let loaded = load_cfn(std::slice::from_ref(&path), &[]);
    assert!(loaded.cluster.kubernetes_version().is_none());
    assert!(notes(&loaded).iter().any(|n| n
        .contains("without a Default and not given (--cfn-parameter KEY=VALUE)")
        && n.contains("ClusterVersion")));
    let loaded = load_cfn(
        std::slice::from_ref(&path),
        &[("ClusterVersion", "1.29"), ("ClusterName", "demo")],
    );
    assert_eq!(loaded.cluster.name.as_deref(), Some("demo"));
    let r = evaluate(&loaded);
    let f = finding(&r, "VER003");
    assert!(f.message.contains("1.29"), "{}", f.message);
}

#[test]
fn nested_stacks_are_read_with_the_parameters_passed_and_conditions_decided() {
    // A parent (as CDK synth writes nested stacks: a local TemplateURL
    // beside it) around viethuy99's add-ons template, whose vpc-cni add-on
    // the parent creates only when its condition holds.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture(CFN_ADDONS),
        dir.path().join("addons.nested.template.yaml"),
    )
    .unwrap();
    let parent = |with_cni: &str| {
        format!(
            r#"{{"AWSTemplateFormatVersion": "2010-09-09",
 "Parameters": {{"WithVpcCni": {{"Type": "String", "Default": "{with_cni}"}}, "Name": {{"Type": "String", "Default": "nested-demo"}}}},
 "Conditions": {{"VpcCni": {{"Fn::Equals": [{{"Ref": "WithVpcCni"}}, "yes"]}}, "NoCni": {{"Fn::Not": [{{"Condition": "VpcCni"}}]}}}},
 "Resources": {{
  "Cluster": {{"Type": "AWS::EKS::Cluster", "Properties": {{"Name": {{"Ref": "Name"}}, "Version": "1.33", "BootstrapSelfManagedAddons": {{"Fn::If": ["NoCni", false, {{"Ref": "AWS::NoValue"}}]}}}}}},
  "Addons": {{"Type": "AWS::CloudFormation::Stack", "Condition": "VpcCni", "Properties": {{"TemplateURL": "addons.nested.template.yaml", "Parameters": {{"ClusterName": "nested-demo", "EksVpcCniRoleArn": "arn:aws:iam::111122223333:role/vpc-cni"}}}}}},
  "Remote": {{"Type": "AWS::CloudFormation::Stack", "Properties": {{"TemplateURL": "https://s3.amazonaws.com/bucket/other.template.json"}}}}
 }}}}"#
        )
    };
    std::fs::write(dir.path().join("parent.template.json"), parent("yes")).unwrap();
    // The directory as given: the nested template is read once, through its parent.
    let loaded = load_cfn(&[dir.path().to_path_buf()], &[]);
    assert_eq!(loaded.cluster.name.as_deref(), Some("nested-demo"));
    let n = notes(&loaded);
    assert!(
        n.iter()
            .any(|n| n.contains("nested stack Addons") && n.contains("2 parameter(s) passed")),
        "{n:?}"
    );
    assert!(
        n.iter()
            .any(|n| n.contains("nested stack Remote") && n.contains("is remote")),
        "{n:?}"
    );
    assert!(
        n.iter().any(|n| n.contains("read through its parent")),
        "{n:?}"
    );
    let r = evaluate(&loaded);
    // The nested stack's vpc-cni add-on, at its line there.
    let f = finding(&r, "CNI002");
    let at = f.location.as_ref().unwrap();
    assert!(at.file.ends_with("addons.nested.template.yaml"), "{at}");
    assert_eq!(codes(&r).iter().filter(|c| **c == "CNI002").count(), 1);
    // The condition false: no nested stack, bootstrap false, no aws-node.
    std::fs::write(dir.path().join("parent.template.json"), parent("no")).unwrap();
    let loaded = load_cfn(&[dir.path().join("parent.template.json")], &[]);
    assert!(notes(&loaded)
        .iter()
        .any(|n| n.contains("not created (their Condition is false): Addons")));
    let r = evaluate(&loaded);
    assert!(
        !codes(&r).contains(&"CNI001") && !codes(&r).contains(&"CNI002"),
        "{:?}",
        codes(&r)
    );
    // --cfn-parameter over the Default.
    let loaded = load_cfn(
        &[dir.path().join("parent.template.json")],
        &[("WithVpcCni", "yes")],
    );
    assert!(codes(&evaluate(&loaded)).contains(&"CNI002"));
}

// ------------------------------------------------------------ HCL: who gets a role

/// hcl-ovaleanu (real) in a temporary directory, `cilium.tf` edited by
/// `edit`, read as HCL.
fn ovaleanu_edited(edit: impl Fn(String) -> String) -> Loaded {
    let dir = tempfile::tempdir().unwrap();
    let from = fixture("hcl-ovaleanu");
    std::fs::create_dir(dir.path().join("helm-values")).unwrap();
    for rel in ["main.tf", "helm-values/cilium-values.yaml"] {
        std::fs::copy(from.join(rel), dir.path().join(rel)).unwrap();
    }
    let cilium = std::fs::read_to_string(from.join("cilium.tf")).unwrap();
    std::fs::write(dir.path().join("cilium.tf"), edit(cilium)).unwrap();
    iac::load(&[dir.path().to_path_buf()], &IacOptions::default()).unwrap()
}

#[test]
fn hcl_blueprint_role_counts_only_when_set_irsa_names_puts_it_in_a_value() {
    // As written, ovaleanu's module.cilium creates an IRSA role for
    // cilium-operator but sets no value to it: the operator keeps the node
    // role (IAM002, true), and a note says why the role is unused.
    let loaded = load(&["hcl-ovaleanu"], None).unwrap();
    assert!(
        notes(&loaded).iter().any(
            |n| n.contains("line 90: module.cilium: creates an IRSA role")
                && n.contains("names no Helm value in set_irsa_names")
        ),
        "{:?}",
        notes(&loaded)
    );
    assert!(codes(&evaluate(&loaded)).contains(&"IAM002"));
    // With set_irsa_names (as the module's docs show) the ServiceAccount is
    // annotated with the role, known only after apply: IAM002 is quiet and
    // the IAM rules on the role are named as not evaluated.
    let irsa = "  role_policies  = { cilium_policy = aws_iam_policy.cilium.arn }\n";
    let loaded = ovaleanu_edited(|t| {
        assert!(t.contains(irsa));
        t.replace(irsa, &format!("{irsa}  set_irsa_names = [\"serviceAccounts.operator.annotations.eks\\\\.amazonaws\\\\.com/role-arn\"]\n"))
    });
    let r = evaluate(&loaded);
    assert!(!codes(&r).contains(&"IAM002"), "{:?}", codes(&r));
    assert!(codes(&r).contains(&"VER007"), "the rest is still read");
    assert!(notes(&loaded)
        .iter()
        .any(|n| n.contains("module.cilium: the operator's IRSA role")
            && n.contains("known only after apply")));
    assert!(!notes(&loaded).iter().any(|n| n.contains("set_irsa_names:")));
    // set_irsa_names from a variable: which values hold the role is not
    // known, so the release's values are not evaluated (never a guess).
    let loaded =
        ovaleanu_edited(|t| t.replace(irsa, &format!("{irsa}  set_irsa_names = var.irsa_names\n")));
    let r = evaluate(&loaded);
    assert!(!codes(&r).contains(&"IAM002"), "{:?}", codes(&r));
    assert!(!codes(&r).contains(&"VER007"), "{:?}", codes(&r));
    let f = finding(&r, "IAC005");
    assert!(
        f.evidence
            .iter()
            .chain(std::iter::once(&f.message))
            .any(|e| e.contains("set_irsa_names is not a literal")),
        "{f:?}"
    );
    // create_role = false: no role, no note.
    let loaded = ovaleanu_edited(|t| t.replace("create_role    = true", "create_role    = false"));
    assert!(!notes(&loaded).iter().any(|n| n.contains("IRSA role")));
}

#[test]
fn hcl_pod_identity_and_annotated_service_accounts_give_the_operator_a_role() {
    // The same real configuration with the operator's role given the other
    // ways Terraform code gives it: a Pod Identity association, or a
    // ServiceAccount the code creates with the IRSA annotation.
    let pod_identity = r#"
resource "aws_eks_pod_identity_association" "cilium_operator" {
  cluster_name    = module.eks.cluster_name
  namespace       = "kube-system"
  service_account = "cilium-operator"
  role_arn        = aws_iam_role.cilium_operator.arn
}
"#;
    let service_account = r#"
resource "kubernetes_service_account_v1" "cilium_operator" {
  metadata {
    name      = "cilium-operator"
    namespace = "kube-system"
    annotations = {
      "eks.amazonaws.com/role-arn" = "arn:aws:iam::111122223333:role/cilium-operator"
    }
  }
}
"#;
    for (what, added) in [
        ("pod identity", pod_identity),
        ("service account", service_account),
    ] {
        let loaded = ovaleanu_edited(|t| t + added);
        let r = evaluate(&loaded);
        assert!(!codes(&r).contains(&"IAM002"), "{what}: {:?}", codes(&r));
    }
    let loaded = ovaleanu_edited(|t| t + pod_identity);
    assert_eq!(
        loaded
            .cluster
            .pod_identity_associations
            .as_ref()
            .map(Vec::len),
        Some(1)
    );
    assert!(notes(&loaded).iter().any(|n| n.contains(
        "aws_eks_pod_identity_association.cilium_operator: the role of the Pod Identity association for kube-system/cilium-operator is known only after apply"
    )), "{:?}", notes(&loaded));
    // An annotation for another ServiceAccount does not count.
    let loaded = ovaleanu_edited(|t| {
        t + &service_account.replace("name      = \"cilium-operator\"", "name      = \"other\"")
    });
    assert!(codes(&evaluate(&loaded)).contains(&"IAM002"));
}

// ------------------------------------------------------------ HCL: launch templates

/// hcl-paulofponciano (real: Cilium 1.15 in ENI mode on an aws_eks_node_group)
/// with the node group's instance type written literally (it is a variable
/// there) and given the launch template `launch_template` declares (none
/// when empty).
fn paulofponciano_with_launch_template(launch_template: &str) -> Loaded {
    let dir = tempfile::tempdir().unwrap();
    let from = fixture("hcl-paulofponciano");
    for f in ["eks_addons.tf", "helm_cilium.tf"] {
        std::fs::copy(from.join(f), dir.path().join(f)).unwrap();
    }
    let eks = std::fs::read_to_string(from.join("eks.tf")).unwrap();
    let types = "  instance_types = var.instance_type\n";
    assert!(eks.contains(types));
    let block = if launch_template.is_empty() {
        ""
    } else {
        "  launch_template {\n    id      = aws_launch_template.nodes.id\n    version = aws_launch_template.nodes.latest_version\n  }\n"
    };
    let eks = eks.replace(
        types,
        &format!("  instance_types = [\"m5.large\"]\n{block}"),
    );
    std::fs::write(dir.path().join("eks.tf"), eks + launch_template).unwrap();
    std::fs::write(dir.path().join("al2023.yaml"), NODE_CONFIG_110).unwrap();
    iac::load(&[dir.path().to_path_buf()], &IacOptions::default()).unwrap()
}

const NODE_CONFIG_110: &str = "---\napiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n    config:\n      maxPods: 110\n";

fn node_config_template(max_pods: u32) -> String {
    format!(
        r#"
resource "aws_launch_template" "nodes" {{
  name = "cilium-nodes"
  user_data = base64encode(<<-EOT
    MIME-Version: 1.0
    Content-Type: multipart/mixed; boundary="BOUNDARY"

    --BOUNDARY
    Content-Type: application/node.eks.aws

    ---
    apiVersion: node.eks.aws/v1alpha1
    kind: NodeConfig
    spec:
      kubelet:
        config:
          maxPods: {max_pods}

    --BOUNDARY--
  EOT
  )
}}
"#
    )
}

#[test]
fn hcl_launch_templates_give_the_node_groups_max_pods() {
    // Without a launch template of its own the group gets EKS's, whose max
    // pods (29 on m5.large) is over what Cilium ENI mode addresses.
    let r = evaluate(&paulofponciano_with_launch_template(""));
    assert!(codes(&r).contains(&"CAP001"), "{:?}", codes(&r));
    // A NodeConfig that caps the kubelet below Cilium's capacity: quiet.
    let r = evaluate(&paulofponciano_with_launch_template(&node_config_template(
        20,
    )));
    assert!(!codes(&r).contains(&"CAP001"), "{:?}", codes(&r));
    assert!(
        missing(&r, "CAP001").is_none(),
        "{:?}",
        missing(&r, "CAP001")
    );
    // One that raises it: fires, naming the template.
    let r = evaluate(&paulofponciano_with_launch_template(&node_config_template(
        110,
    )));
    let f = finding(&r, "CAP001");
    assert!(f.message.contains("cilium-nodes"), "{}", f.message);
    // The same user data from a file beside the .tf.
    let from_file = "\nresource \"aws_launch_template\" \"nodes\" {\n  user_data = filebase64(\"${path.module}/al2023.yaml\")\n}\n";
    let r = evaluate(&paulofponciano_with_launch_template(from_file));
    assert!(codes(&r).contains(&"CAP001"), "{:?}", codes(&r));
    // A file that is not there: noted naming it, CAP001 not evaluated.
    let loaded = paulofponciano_with_launch_template(
        "\nresource \"aws_launch_template\" \"nodes\" {\n  user_data = filebase64(\"missing.yaml\")\n}\n",
    );
    assert!(
        notes(&loaded)
            .iter()
            .any(|n| n.contains("aws_launch_template.nodes: user_data")
                && n.contains("the file missing.yaml is not beside the .tf")),
        "{:?}",
        notes(&loaded)
    );
    let r = evaluate(&loaded);
    assert!(!codes(&r).contains(&"CAP001"), "{:?}", codes(&r));
    assert!(missing(&r, "CAP001").is_some());
    // User data from a variable: noted, and CAP001 not evaluated for it.
    let loaded = paulofponciano_with_launch_template(
        "\nresource \"aws_launch_template\" \"nodes\" {\n  user_data = base64encode(var.user_data)\n}\n",
    );
    assert!(notes(&loaded).iter().any(|n| n.contains(
        "aws_launch_template.nodes: user_data is `base64encode(var.user_data)`, not a literal: the max pods of the node groups that use it is not evaluated"
    )), "{:?}", notes(&loaded));
    let r = evaluate(&loaded);
    assert!(!codes(&r).contains(&"CAP001"), "{:?}", codes(&r));
    assert!(
        missing(&r, "CAP001").is_some_and(|m| m.contains("aws_launch_template.nodes")),
        "{:?}",
        missing(&r, "CAP001")
    );
}
