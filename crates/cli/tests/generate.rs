//! `generate` through the real binary: each subcommand's output, and bad
//! input ending in exit 2 with one clear `error:` line.

use serde_json::Value;

mod common;
use common::{success, usage_error};

const ISSUER: &str = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

fn yaml(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

#[test]
fn iam_policy_follows_the_feature_flags() {
    let policy: Value =
        serde_json::from_str(&success(&["generate", "iam-policy", "--cilium", "1.18"])).unwrap();
    let actions = policy["Statement"][0]["Action"].as_array().unwrap();
    assert!(actions.contains(&"ec2:DescribeRouteTables".into()));
    assert!(actions.contains(&"ec2:DescribeTags".into()));
    assert_eq!(policy["Statement"][0]["Resource"], "*");
    let policy: Value = serde_json::from_str(&success(&[
        "generate",
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
    let err = usage_error(&["generate", "iam-policy", "--cilium", "1.99"]);
    assert_eq!(
        err,
        "error: unknown Cilium minor 1.99 (known: 1.12, 1.13, 1.14, 1.15, 1.16, 1.17, 1.18, 1.19, 1.20)\n"
    );
    let err = usage_error(&["generate", "iam-policy", "--cilium", "1.16", "--static-ip"]);
    assert!(
        err.contains("Cilium 1.16 has no conditional ENI feature static-ip"),
        "{err}"
    );
    let err = usage_error(&["generate", "iam-policy", "--cilium", "one"]);
    assert!(err.contains("--cilium"), "{err}");
    usage_error(&[
        "generate",
        "iam-policy",
        "--cilium",
        "1.16",
        "--eni-gc",
        "--no-eni-gc",
    ]);
}

#[test]
fn trust_policy_irsa_and_pod_identity() {
    let irsa: Value = serde_json::from_str(&success(&[
        "generate",
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
    let pod: Value =
        serde_json::from_str(&success(&["generate", "trust-policy", "--pod-identity"])).unwrap();
    assert_eq!(
        pod["Statement"][0]["Principal"]["Service"],
        "pods.eks.amazonaws.com"
    );
    let commands = success(&[
        "generate",
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
        "generate",
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
        "generate",
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
    let err = usage_error(&["generate", "trust-policy", "--cluster-oidc-issuer", ISSUER]);
    assert!(err.contains("--account"), "{err}");
    let err = usage_error(&["generate", "trust-policy", "--pod-identity", "--commands"]);
    assert!(err.contains("needs --cluster-name"), "{err}");
    usage_error(&[
        "generate",
        "trust-policy",
        "--pod-identity",
        "--cluster-oidc-issuer",
        ISSUER,
    ]);
}

#[test]
fn helm_values_for_both_modes() {
    let eni = yaml(&success(&[
        "generate",
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
        "generate",
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
    // (arguments after `generate helm-values`, what the error says)
    let cases = [
        ("--cilium 1.9 --mode eni", "unknown Cilium minor 1.9"),
        ("--cilium 1.17 --mode overlay", "needs --vpc-cidr"),
        (
            "--cilium 1.17 --mode overlay --vpc-cidr 10.0.0.1/16",
            "host bits",
        ),
        (
            "--cilium 1.17 --mode overlay --vpc-cidr 10.0.0.0/16 --pod-cidr 10.0.0.0/8",
            "overlaps the VPC CIDR 10.0.0.0/16",
        ),
        (
            "--cilium 1.20 --mode eni --kube-proxy-replacement",
            "--api-server-host",
        ),
        (
            "--cilium 1.20 --mode eni --egress-masquerade-interfaces ens+",
            "sets no egressMasqueradeInterfaces",
        ),
    ];
    for (args, expected) in cases {
        let args: Vec<&str> = ["generate", "helm-values"]
            .into_iter()
            .chain(args.split(' '))
            .collect();
        let err = usage_error(&args);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
}

#[test]
fn alerts_in_both_formats() {
    let object = yaml(&success(&[
        "generate",
        "alerts",
        "--namespace",
        "observability",
    ]));
    assert_eq!(object["kind"], "PrometheusRule");
    assert_eq!(object["metadata"]["namespace"], "observability");
    let plain = yaml(&success(&[
        "generate", "alerts", "--cilium", "1.12", "--format", "rules",
    ]));
    let text = serde_json::to_string(&plain).unwrap();
    assert!(text.contains("cilium_policy_import_errors_total"));
    assert!(!text.contains("cilium_operator_ipam_needed_ips"));
    let err = usage_error(&["generate", "alerts", "--cilium", "2.0"]);
    assert!(err.contains("unknown Cilium minor 2.0"), "{err}");
    usage_error(&["generate", "alerts", "--format", "grafana"]);
}

#[test]
fn disable_aws_node_prints_the_guide_patch() {
    let text = success(&["generate", "disable-aws-node", "--cluster-name", "prod"]);
    assert!(text.contains(
        "kubectl -n kube-system patch daemonset aws-node --type='strategic' -p='{\"spec\":{\"template\":{\"spec\":{\"nodeSelector\":{\"io.cilium/aws-node-enabled\":\"true\"}}}}}'"
    ));
    assert!(
        text.contains("aws eks delete-addon --cluster-name prod --addon-name vpc-cni --preserve")
    );
    let err = usage_error(&["generate", "disable-aws-node", "--cluster-name", "bad name"]);
    assert!(err.contains("--cluster-name"), "{err}");
}

#[test]
fn max_pods_for_every_provisioning_path() {
    // m5.large, first-interface-index 1: (3 - 1) × 9 = 18 pool IPs, less
    // router and health = 16 pod IPs, + 2 host-network pods = 18.
    let base = [
        "generate",
        "max-pods",
        "--instance-type",
        "m5.large",
        "--first-interface-index",
        "1",
        "--for",
    ];
    let run = |target: &str| {
        let mut args = base.to_vec();
        args.push(target);
        success(&args)
    };
    let nodeadm = run("nodeadm");
    assert!(nodeadm.starts_with("MIME-Version: 1.0\n"), "{nodeadm}");
    assert!(nodeadm.contains("Content-Type: application/node.eks.aws\n"));
    assert!(
        nodeadm.contains("    config:\n      maxPods: 18\n"),
        "{nodeadm}"
    );
    assert!(nodeadm.trim_end().ends_with("--BOUNDARY--"));

    let karpenter: Value = yaml(&run("karpenter"));
    assert_eq!(karpenter["kind"], "EC2NodeClass");
    assert_eq!(karpenter["apiVersion"], "karpenter.k8s.aws/v1");
    assert_eq!(karpenter["spec"]["kubelet"]["maxPods"], 18);

    let al2 = run("al2");
    assert!(al2.starts_with("#!/bin/bash\n"), "{al2}");
    assert!(
        al2.contains("/etc/eks/bootstrap.sh CLUSTER_NAME --use-max-pods false --kubelet-extra-args '--max-pods=18'\n"),
        "{al2}"
    );
    assert!(
        al2.contains("latest/ug/nodes/launch-templates.adoc"),
        "{al2}"
    );

    let br = run("bottlerocket");
    assert!(
        br.contains("[settings.kubernetes]\nmax-pods = 18\n"),
        "{br}"
    );

    let eksctl: Value = yaml(&run("eksctl"));
    assert_eq!(eksctl["managedNodeGroups"][0]["maxPodsPerNode"], 18);
    assert_eq!(eksctl["managedNodeGroups"][0]["instanceType"], "m5.large");

    let tf = run("terraform");
    assert!(
        tf.contains("content_type = \"application/node.eks.aws\""),
        "{tf}"
    );
    assert!(tf.contains("instance_types = [\"m5.large\"]"));
    assert!(tf.contains("                maxPods: 18\n"), "{tf}");
}

#[test]
fn max_pods_follows_the_cilium_flags() {
    let value = |extra: &[&str]| -> u64 {
        let mut args = vec!["generate", "max-pods", "--for", "karpenter"];
        args.extend_from_slice(extra);
        let v: Value = yaml(&success(&args));
        v["spec"]["kubelet"]["maxPods"].as_u64().unwrap()
    };
    // m5.large, first-interface-index 0: 27 pool IPs - 2 + 2 host-network pods.
    assert_eq!(value(&["--instance-type", "m5.large"]), 27);
    // No health address: one more pod; Envoy's ingress address: one fewer.
    assert_eq!(
        value(&[
            "--instance-type",
            "m5.large",
            "--no-endpoint-health-checking"
        ]),
        28
    );
    assert_eq!(
        value(&["--instance-type", "m5.large", "--envoy-config"]),
        26
    );
    assert_eq!(
        value(&["--instance-type", "m5.large", "--host-network-pods", "4"]),
        29
    );
    // The tightest of several types; prefix delegation up to the 110 guidance.
    assert_eq!(
        value(&[
            "--instance-type",
            "c5.4xlarge",
            "--instance-type",
            "m5.large"
        ]),
        27
    );
    assert_eq!(
        value(&["--instance-type", "m5.large", "--prefix-delegation"]),
        110
    );
}

#[test]
fn max_pods_refuses_bad_input() {
    let err = usage_error(&[
        "generate",
        "max-pods",
        "--for",
        "nodeadm",
        "--instance-type",
        "m5.lage",
    ]);
    assert!(err.contains("unknown instance type \"m5.lage\""), "{err}");
    assert!(err.contains("m5.large"), "{err}");
    let err = usage_error(&["generate", "max-pods", "--for", "nodeadm"]);
    assert!(err.contains("--instance-type"), "{err}");
    let err = usage_error(&[
        "generate",
        "max-pods",
        "--for",
        "ansible",
        "--instance-type",
        "m5.large",
    ]);
    assert!(err.contains("ansible"), "{err}");
    let err = usage_error(&[
        "generate",
        "max-pods",
        "--for",
        "nodeadm",
        "--instance-type",
        "m5.large",
        "--cilium-version",
        "1.99",
    ]);
    assert!(err.contains("unknown Cilium minor 1.99"), "{err}");
}
