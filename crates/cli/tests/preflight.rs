//! `preflight` through the real binary: exit codes as `check` (0 clean, 1
//! findings at or above --fail-on, 2 unreadable input), the binary-plan
//! refusal, SARIF URIs relative to --base-dir, and --eksctl-version.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/fixtures/iac")
}

fn preflight(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("eks-cilium-doctor")
        .unwrap()
        .current_dir(cwd)
        .arg("preflight")
        .args(args)
        .args(["--as-of", "2026-12-01"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

const LITTLEJO: &str = "littlejo__cilium-eks-cookbook__files_eks-cilium.yaml";

#[test]
fn findings_exit_1_and_name_their_line() {
    let (code, out, err) = preflight(&fixtures(), &[LITTLEJO]);
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("CNI002 vpc-cni-addon-managed"), "{out}");
    assert!(
        out.contains(&format!("At: {LITTLEJO}:5 (eksctl default add-on vpc-cni)")),
        "{out}"
    );
    // --fail-on none never fails; an older eksctl has no managed add-on.
    let (code, _, _) = preflight(&fixtures(), &[LITTLEJO, "--fail-on", "none"]);
    assert_eq!(code, 0);
    let (_, out, _) = preflight(&fixtures(), &[LITTLEJO, "--eksctl-version", "0.183.0"]);
    assert!(!out.contains("CNI002"), "{out}");
}

#[test]
fn bad_input_exits_2_naming_the_file() {
    for (file, want) in [
        (
            "hostile/binary.tfplan",
            "run `terraform show -json plan.tfplan > plan.json`",
        ),
        (
            "hostile/truncated.json",
            "hostile/truncated.json: line 1 column 5000",
        ),
        (
            "hostile/eksctl-taint-typo.yaml",
            "line 15: does not match eksctl's ClusterConfig schema",
        ),
        (
            "hostile/hcl-truncated.tf",
            "hostile/hcl-truncated.tf: line 66 column 25: invalid HCL",
        ),
        (
            "hostile/cfn-bad-version.yaml",
            "hostile/cfn-bad-version.yaml: line 1: AWSTemplateFormatVersion",
        ),
        ("hostile/cfn-broken.yaml", "hostile/cfn-broken.yaml: line"),
        (
            "hostile/pulumi-version-4.json",
            "hostile/pulumi-version-4.json: line 2: Pulumi stack export version 4 is not supported",
        ),
    ] {
        let (code, out, err) = preflight(&fixtures(), &[file]);
        assert_eq!(code, 2, "{file}: {out}{err}");
        assert!(err.contains(want), "{file}: {err}");
        assert!(!err.contains("panicked"), "{file}: {err}");
    }
}

#[test]
fn cilium_installed_by_none_quiets_the_cilium_rules() {
    let plan = "TripleAze__Production-Grade-Cloud-Native-DevOps-Platform__infra_plan.json";
    let (_, out, _) = preflight(&fixtures(), &[plan]);
    assert!(out.contains("CNI002"), "{out}");
    let (_, out, err) = preflight(&fixtures(), &[plan, "--cilium-installed-by", "none"]);
    assert!(
        !out.contains("CNI002") && out.contains("--cilium-installed-by none"),
        "{out}{err}"
    );
    let (code, _, err) = preflight(&fixtures(), &[plan, "--cilium-installed-by", "argo"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("expected `other` or `none`"), "{err}");
}

#[test]
fn sarif_uris_are_relative_to_the_base_dir() {
    let root = fixtures().join("../../../../..");
    let plan = fixtures().join("cilium-eni/plan.json");
    let (code, out, err) = preflight(
        &std::env::temp_dir(),
        &[
            plan.to_str().unwrap(),
            "--base-dir",
            root.to_str().unwrap(),
            "--format",
            "sarif",
        ],
    );
    assert_eq!(code, 1, "{err}");
    let log: Value = serde_json::from_str(&out).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        let physical = &r["locations"][0]["physicalLocation"];
        let uri = physical["artifactLocation"]["uri"].as_str().unwrap();
        assert!(
            uri.starts_with("crates/core/tests/fixtures/iac/cilium-eni/"),
            "{uri}"
        );
        assert!(physical["region"]["startLine"].as_u64().unwrap() >= 1);
    }
    let cfg003 = results.iter().find(|r| r["ruleId"] == "CFG003").unwrap();
    assert_eq!(
        cfg003["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "crates/core/tests/fixtures/iac/cilium-eni/main.tf"
    );
    assert_eq!(
        cfg003["locations"][0]["physicalLocation"]["region"]["startLine"],
        46
    );
}

#[test]
fn cloudformation_parameters_from_flags_and_files() {
    // viethuy99's control plane: ClusterVersion has no Default.
    let template = "viethuy99__eks-cloudformation-template__03-eks-control-plane.yaml";
    let (_, out, err) = preflight(&fixtures(), &[template, "--format", "json"]);
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {err}"));
    assert!(
        report["cluster"]["kubernetes_version"].is_null(),
        "{}",
        report["cluster"]
    );
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("params.json");
    std::fs::write(
        &list,
        r#"[{"ParameterKey": "ClusterVersion", "ParameterValue": "1.29"}, {"ParameterKey": "ClusterName", "UsePreviousValue": true}]"#,
    )
    .unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(&config, r#"{"Parameters": {"ClusterVersion": "1.31"}}"#).unwrap();
    for (args, want) in [
        (vec!["--cfn-parameter", "ClusterVersion=1.30"], "1.30"),
        (
            vec!["--cfn-parameters-file", list.to_str().unwrap()],
            "1.29",
        ),
        (
            vec!["--cfn-parameters-file", config.to_str().unwrap()],
            "1.31",
        ),
        (
            vec![
                "--cfn-parameters-file",
                list.to_str().unwrap(),
                "--cfn-parameter",
                "ClusterVersion=1.32",
            ],
            "1.32",
        ),
    ] {
        let mut all = vec![template, "--format", "json"];
        all.extend(args.iter().copied());
        let (_, out, err) = preflight(&fixtures(), &all);
        let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {err}"));
        assert_eq!(report["cluster"]["kubernetes_version"], want, "{args:?}");
    }
    // A bad file or flag: exit 2 naming it.
    std::fs::write(&list, r#"[{"Key": "x"}]"#).unwrap();
    let (code, _, err) = preflight(
        &fixtures(),
        &[template, "--cfn-parameters-file", list.to_str().unwrap()],
    );
    assert_eq!(code, 2);
    assert!(err.contains("params.json: entry 0"), "{err}");
    let (code, _, err) = preflight(&fixtures(), &[template, "--cfn-parameter", "novalue"]);
    assert_eq!(code, 2);
    assert!(err.contains("expected KEY=VALUE"), "{err}");
}

/// JohnMonteir0/eks-with-cilium: the Cilium release (ENI mode, prefix
/// delegation) and the Karpenter template, copied from realworld/iac, and
/// that template rendered with t2/t3 types: the template is skipped with
/// the reason, the rendered NodePool's xen type gets no prefixes and its
/// Karpenter default max pods exceeds Cilium's pod IPs.
#[test]
fn karpenter_manifests_fill_the_future_nodes() {
    let dir = fixtures().join("hcl-johnmonteir0-karpenter");
    let (code, out, err) = preflight(&dir, &["helm.tf", "karpenter.tpl.yaml", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let skipped = report["skipped_inputs"].to_string();
    assert!(
        skipped.contains("a Karpenter manifest template (${disk_gi}"),
        "{skipped}"
    );
    let (code, out, err) = preflight(&dir, &["helm.tf", "karpenter-rendered.yaml"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        out.contains("CAP001 max-pods-exceeds-ip-capacity — NodePool bottlerocket"),
        "{out}"
    );
    assert!(
        out.contains("New t2.medium nodes of Karpenter NodePool bottlerocket will accept 17 pods"),
        "{out}"
    );
    // t3.medium is nitro: prefix delegation gives it room.
    assert!(!out.contains("t3.medium: max pods"), "{out}");
    assert!(out.contains("# In EC2NodeClass bottlerocket"), "{out}");
}

/// A plan whose node group runs on its own launch template (AL2023 user
/// data, maxPods 110) and whose Karpenter objects are manifest resources:
/// both sources of future nodes are judged before anything is applied.
#[test]
fn plan_launch_templates_and_karpenter_manifests() {
    let dir = fixtures().join("karpenter-launch-template");
    let (code, out, err) = preflight(&dir, &["plan.json"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        out.contains("New m5.large nodes of node group batch will accept 110 pods"),
        "{out}"
    );
    assert!(
        out.contains("(launch template ng-batch version 1)"),
        "{out}"
    );
    assert!(
        out.contains("New c5.large nodes of Karpenter NodePool general will accept 110 pods"),
        "{out}"
    );
    assert!(out.contains("(EC2NodeClass general spec.kubelet)"), "{out}");
}
