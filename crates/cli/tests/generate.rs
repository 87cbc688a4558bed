//! `generate` through the real binary: each subcommand's output, and bad
//! input ending in exit 2 with one clear `error:` line.

use assert_cmd::Command;
use serde_json::Value;

const ISSUER: &str = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

/// Runs the binary and returns (exit code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("eks-cilium-doctor")
        .unwrap()
        .arg("generate")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn success(args: &[&str]) -> String {
    let (code, stdout, stderr) = run(args);
    assert_eq!(code, 0, "{args:?} failed: {stderr}");
    assert!(stderr.is_empty(), "{args:?}: {stderr}");
    stdout
}

/// Exit 2, one `error: ...` line, no panic; returns stderr.
fn usage_error(args: &[&str]) -> String {
    let (code, stdout, stderr) = run(args);
    assert_eq!(code, 2, "{args:?}: {stdout}{stderr}");
    assert!(stdout.is_empty(), "{args:?}: {stdout}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

fn yaml(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

#[test]
fn iam_policy_follows_the_feature_flags() {
    let policy: Value =
        serde_json::from_str(&success(&["iam-policy", "--cilium", "1.18"])).unwrap();
    let actions = policy["Statement"][0]["Action"].as_array().unwrap();
    assert!(actions.contains(&"ec2:DescribeRouteTables".into()));
    assert!(actions.contains(&"ec2:DescribeTags".into()));
    assert_eq!(policy["Statement"][0]["Resource"], "*");
    let policy: Value = serde_json::from_str(&success(&[
        "iam-policy",
        "--cilium",
        "1.18",
        "--no-eni-gc",
        "--static-ip",
        "--release-excess-ips",
    ]))
    .unwrap();
    let actions = policy["Statement"][0]["Action"].as_array().unwrap();
    assert!(!actions.contains(&"ec2:DescribeTags".into()));
    assert!(actions.contains(&"ec2:AssociateAddress".into()));
    assert!(actions.contains(&"ec2:UnassignPrivateIpAddresses".into()));
}

#[test]
fn iam_policy_refuses_unknown_minors_and_features() {
    let err = usage_error(&["iam-policy", "--cilium", "1.99"]);
    assert_eq!(
        err,
        "error: unknown Cilium minor 1.99 (known: 1.12, 1.13, 1.14, 1.15, 1.16, 1.17, 1.18, 1.19, 1.20)\n"
    );
    let err = usage_error(&["iam-policy", "--cilium", "1.16", "--static-ip"]);
    assert!(
        err.contains("Cilium 1.16 has no conditional ENI feature static-ip"),
        "{err}"
    );
    let err = usage_error(&["iam-policy", "--cilium", "one"]);
    assert!(err.contains("--cilium"), "{err}");
    usage_error(&["iam-policy", "--cilium", "1.16", "--eni-gc", "--no-eni-gc"]);
}

#[test]
fn trust_policy_irsa_and_pod_identity() {
    let irsa: Value = serde_json::from_str(&success(&[
        "trust-policy",
        "--cluster-oidc-issuer",
        ISSUER,
        "--account",
        "111122223333",
        "--namespace",
        "cilium",
    ]))
    .unwrap();
    let conditions = &irsa["Statement"][0]["Condition"]["StringEquals"];
    let provider = ISSUER.trim_start_matches("https://");
    assert_eq!(conditions[format!("{provider}:aud")], "sts.amazonaws.com");
    assert_eq!(
        conditions[format!("{provider}:sub")],
        "system:serviceaccount:cilium:cilium-operator"
    );
    let pod: Value = serde_json::from_str(&success(&["trust-policy", "--pod-identity"])).unwrap();
    assert_eq!(
        pod["Statement"][0]["Principal"]["Service"],
        "pods.eks.amazonaws.com"
    );
    let commands = success(&[
        "trust-policy",
        "--pod-identity",
        "--commands",
        "--cluster-name",
        "prod",
    ]);
    assert!(commands.contains("aws eks create-pod-identity-association --cluster-name prod"));
}

#[test]
fn trust_policy_refuses_bad_issuers_and_accounts() {
    let err = usage_error(&[
        "trust-policy",
        "--cluster-oidc-issuer",
        "oidc.eks.us-west-2.amazonaws.com/id/X",
        "--account",
        "111122223333",
    ]);
    assert!(
        err.starts_with("error: --cluster-oidc-issuer") && err.contains("https://"),
        "{err}"
    );
    let err = usage_error(&[
        "trust-policy",
        "--cluster-oidc-issuer",
        ISSUER,
        "--account",
        "1234",
    ]);
    assert_eq!(
        err,
        "error: --account \"1234\": an AWS account id is 12 digits\n"
    );
    let err = usage_error(&["trust-policy", "--cluster-oidc-issuer", ISSUER]);
    assert!(err.contains("--account"), "{err}");
    let err = usage_error(&["trust-policy", "--pod-identity", "--commands"]);
    assert!(err.contains("needs --cluster-name"), "{err}");
    usage_error(&[
        "trust-policy",
        "--pod-identity",
        "--cluster-oidc-issuer",
        ISSUER,
    ]);
}

#[test]
fn helm_values_for_both_modes() {
    let eni = yaml(&success(&[
        "helm-values",
        "--cilium",
        "1.13",
        "--mode",
        "eni",
        "--kube-proxy-replacement",
        "--api-server-host",
        "ABC.gr7.us-west-2.eks.amazonaws.com",
    ]));
    assert_eq!(eni["tunnel"], "disabled");
    assert_eq!(eni["kubeProxyReplacement"], "strict");
    assert_eq!(eni["k8sServicePort"], 443);
    let overlay = yaml(&success(&[
        "helm-values",
        "--cilium",
        "1.17",
        "--mode",
        "overlay",
        "--vpc-cidr",
        "100.64.0.0/10",
        "--vpc-cidr",
        "10.0.0.0/16",
    ]));
    assert_eq!(overlay["ipam"]["mode"], "cluster-pool");
    assert_eq!(
        overlay["ipam"]["operator"]["clusterPoolIPv4PodCIDRList"],
        serde_json::json!(["10.1.0.0/16"])
    );
}

#[test]
fn helm_values_refuses_what_the_chart_or_the_mode_cannot_take() {
    let err = usage_error(&["helm-values", "--cilium", "1.9", "--mode", "eni"]);
    assert!(err.contains("unknown Cilium minor 1.9"), "{err}");
    let err = usage_error(&["helm-values", "--cilium", "1.17", "--mode", "overlay"]);
    assert!(err.contains("needs --vpc-cidr"), "{err}");
    let err = usage_error(&[
        "helm-values",
        "--cilium",
        "1.17",
        "--mode",
        "overlay",
        "--vpc-cidr",
        "10.0.0.1/16",
    ]);
    assert!(err.contains("host bits"), "{err}");
    let err = usage_error(&[
        "helm-values",
        "--cilium",
        "1.17",
        "--mode",
        "overlay",
        "--vpc-cidr",
        "10.0.0.0/16",
        "--pod-cidr",
        "10.0.0.0/8",
    ]);
    assert!(err.contains("overlaps the VPC CIDR 10.0.0.0/16"), "{err}");
    let err = usage_error(&[
        "helm-values",
        "--cilium",
        "1.20",
        "--mode",
        "eni",
        "--kube-proxy-replacement",
    ]);
    assert!(err.contains("--api-server-host"), "{err}");
    let err = usage_error(&[
        "helm-values",
        "--cilium",
        "1.20",
        "--mode",
        "eni",
        "--egress-masquerade-interfaces",
        "ens+",
    ]);
    assert!(err.contains("sets no egressMasqueradeInterfaces"), "{err}");
}

#[test]
fn alerts_in_both_formats() {
    let object = yaml(&success(&["alerts", "--namespace", "observability"]));
    assert_eq!(object["kind"], "PrometheusRule");
    assert_eq!(object["metadata"]["namespace"], "observability");
    let plain = yaml(&success(&[
        "alerts", "--cilium", "1.12", "--format", "rules",
    ]));
    let text = serde_json::to_string(&plain).unwrap();
    assert!(text.contains("cilium_policy_import_errors_total"));
    assert!(!text.contains("cilium_operator_ipam_needed_ips"));
    let err = usage_error(&["alerts", "--cilium", "2.0"]);
    assert!(err.contains("unknown Cilium minor 2.0"), "{err}");
    usage_error(&["alerts", "--format", "grafana"]);
}

#[test]
fn disable_aws_node_prints_the_guide_patch() {
    let text = success(&["disable-aws-node", "--cluster-name", "prod"]);
    assert!(text.contains(
        "kubectl -n kube-system patch daemonset aws-node --type='strategic' -p='{\"spec\":{\"template\":{\"spec\":{\"nodeSelector\":{\"io.cilium/aws-node-enabled\":\"true\"}}}}}'"
    ));
    assert!(
        text.contains("aws eks delete-addon --cluster-name prod --addon-name vpc-cni --preserve")
    );
    let err = usage_error(&["disable-aws-node", "--cluster-name", "bad name"]);
    assert!(err.contains("--cluster-name"), "{err}");
}
