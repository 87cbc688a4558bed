//! Test helpers for the VER and IAM rules: a small knowledge base with facts
//! copied from /work/shared/data (compatibility.json, eks_versions.json,
//! kernel_requirements.json, eni_iam.json, helm_key_changes.json, amis.json),
//! and a cluster builder from Kubernetes / AWS JSON snippets. Running a rule
//! is `rules::testing`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::knowledge::{
    AmiFamily, AmiKernel, CiliumMinor, ConditionalActions, EksVersion, Knowledge, RemovedHelmKey,
};
use crate::model::{extend, Cluster};
use crate::version::Minor;

pub(crate) fn m(s: &str) -> Minor {
    s.parse().unwrap()
}

fn minors(list: &[&str]) -> Vec<Minor> {
    list.iter().map(|s| m(s)).collect()
}

fn actions(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn removed(key: &str, replacement: Option<&str>, chart_fails: bool) -> RemovedHelmKey {
    RemovedHelmKey {
        key: key.to_string(),
        replacement: replacement.map(str::to_string),
        chart_fails,
    }
}

/// eni_iam.json documented_required_privileges for 1.12–1.17.
const REQUIRED_OLD: &[&str] = &[
    "ec2:AssignPrivateIpAddresses",
    "ec2:AttachNetworkInterface",
    "ec2:CreateNetworkInterface",
    "ec2:CreateTags",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
    "ec2:ModifyNetworkInterfaceAttribute",
];

/// 1.18+: DescribeRouteTables (upgrade notes) and DescribeInstanceTypes (always called).
const REQUIRED_NEW: &[&str] = &[
    "ec2:AssignPrivateIpAddresses",
    "ec2:AttachNetworkInterface",
    "ec2:CreateNetworkInterface",
    "ec2:CreateTags",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
    "ec2:ModifyNetworkInterfaceAttribute",
];

fn conditional(new: bool) -> Vec<ConditionalActions> {
    let c = |feature: &str, condition: &str, acts: &[&str]| ConditionalActions {
        feature: feature.to_string(),
        condition: condition.to_string(),
        actions: actions(acts),
        // cilium.json: ENI GC is on by default; 1.14–1.17 charts default
        // eni.updateEC2AdapterLimitViaAPI to true.
        enabled_by_default: feature == "eni-gc" || feature == "ec2-adapter-limit-via-api",
    };
    let mut v = vec![
        c(
            "eni-gc",
            "If ENI GC is enabled (which is the default), and ``--cluster-name`` and ``--eni-gc-tags`` are not set to custom values",
            &["ec2:DescribeTags"],
        ),
        c(
            "instance-tags-filter",
            "If ``--instance-tags-filter`` is used",
            &["ec2:DescribeInstances"],
        ),
        c(
            "release-excess-ips",
            "If release excess IP enabled",
            &["ec2:UnassignPrivateIpAddresses"],
        ),
    ];
    if new {
        v.push(c(
            "static-ip",
            "If a CiliumNode sets ``spec.ipam.static-ip-tags`` (operator code; not in the documented privileges)",
            &["ec2:AssociateAddress", "ec2:DescribeAddresses"],
        ));
    } else {
        v.insert(
            0,
            c(
                "ec2-adapter-limit-via-api",
                "If ``--update-ec2-adapter-limit-via-api`` is used (Helm ``eni.updateEC2AdapterLimitViaAPI``)",
                &["ec2:DescribeInstanceTypes"],
            ),
        );
    }
    v
}

#[allow(clippy::too_many_arguments)]
fn minor(
    v: &str,
    tested: &[&str],
    patch: &str,
    published: &str,
    kernel: &str,
    new_iam: bool,
    helm_removed: Vec<RemovedHelmKey>,
) -> CiliumMinor {
    CiliumMinor {
        minor: m(v),
        k8s_tested: minors(tested),
        latest_patch: patch.parse().unwrap(),
        latest_patch_published: published.parse().unwrap(),
        min_kernel: kernel.parse().unwrap(),
        eni_required_actions: actions(if new_iam { REQUIRED_NEW } else { REQUIRED_OLD }),
        eni_conditional_actions: conditional(new_iam),
        latest_patch_evidence: crate::knowledge::Evidence::A,
        latest_patch_final: false,
        maintenance_eol: None,
        prefix_delegation_on_bare_metal: m(v) >= m("1.18"),
        // The same in every minor of the data (router, health, ingress).
        ipam_reserved: Knowledge::embedded().newest_cilium().ipam_reserved.clone(),
        helm_keys_removed: helm_removed,
    }
}

fn eks(v: &str, release: &str, standard: &str, extended: &str) -> EksVersion {
    EksVersion {
        version: m(v),
        eks_release: release.parse().unwrap(),
        end_of_standard_support: standard.parse().unwrap(),
        end_of_extended_support: extended.parse().unwrap(),
    }
}

/// Cilium 1.15–1.20, EKS 1.29–1.35, AMI kernels for 1.29–1.36.
pub(crate) fn knowledge() -> Knowledge {
    let cilium = vec![
        minor(
            "1.15",
            &["1.26", "1.27", "1.28", "1.29"],
            "1.15.19",
            "2025-07-16",
            "4.19.57",
            false,
            vec![
                removed("clustermesh.apiserver.tls.ca.cert", None, true),
                removed("enableCnpStatusUpdates", None, true),
                removed("tunnel", Some("routingMode, tunnelProtocol"), true),
            ],
        ),
        minor(
            "1.16",
            &["1.27", "1.28", "1.29", "1.30"],
            "1.16.19",
            "2026-01-13",
            "5.4.0",
            false,
            vec![
                removed(
                    "containerRuntime.integration",
                    Some("bpf.autoMount.enabled"),
                    true,
                ),
                removed("encryption.keyFile", Some("encryption.ipsec.keyFile"), true),
                removed("etcd.annotations", None, false),
            ],
        ),
        minor(
            "1.17",
            &["1.29", "1.30", "1.31", "1.32"],
            "1.17.18",
            "2026-07-16",
            "5.4.0",
            false,
            vec![removed("bgp.enabled", None, false)],
        ),
        minor(
            "1.18",
            &["1.30", "1.31", "1.32", "1.33"],
            "1.18.12",
            "2026-07-16",
            "5.10.0",
            true,
            vec![
                removed(
                    "enableCiliumEndpointSlice",
                    Some("ciliumEndpointSlice.enabled"),
                    true,
                ),
                removed("eni.updateEC2AdapterLimitViaAPI", None, false),
            ],
        ),
        minor(
            "1.19",
            &["1.31", "1.32", "1.33", "1.34"],
            "1.19.6",
            "2026-07-16",
            "5.10.0",
            true,
            vec![removed(
                "nodePort.enabled",
                Some("kubeProxyReplacement"),
                false,
            )],
        ),
        minor(
            "1.20",
            &["1.33", "1.34", "1.35", "1.36"],
            "1.20.0",
            "2026-07-29",
            "5.10.0",
            true,
            vec![removed("clustermesh.enableMCSAPISupport", None, false)],
        ),
    ];
    let eks_versions = vec![
        eks("1.29", "2024-01-23", "2025-03-23", "2026-03-23"),
        eks("1.30", "2024-05-23", "2025-07-23", "2026-07-23"),
        eks("1.31", "2024-09-26", "2025-11-26", "2026-11-26"),
        eks("1.32", "2025-01-23", "2026-03-23", "2027-03-23"),
        eks("1.33", "2025-05-29", "2026-07-29", "2027-07-29"),
        eks("1.34", "2025-10-02", "2026-12-02", "2027-12-02"),
        eks("1.35", "2026-01-27", "2027-03-27", "2028-03-27"),
    ];
    let mut ami_kernels = Vec::new();
    for v in ["1.29", "1.30", "1.31", "1.32"] {
        ami_kernels.push(AmiKernel {
            family: AmiFamily::Al2,
            kubernetes: m(v),
            kernel_series: m("5.10"),
        });
    }
    for (v, k) in [
        ("1.29", "6.1"),
        ("1.30", "6.1"),
        ("1.31", "6.1"),
        ("1.32", "6.1"),
        ("1.33", "6.12"),
        ("1.34", "6.12"),
        ("1.35", "6.12"),
        ("1.36", "6.18"),
    ] {
        ami_kernels.push(AmiKernel {
            family: AmiFamily::Al2023,
            kubernetes: m(v),
            kernel_series: m(k),
        });
    }
    // A few chart keys per minor (data/helm-keys/<minor>.txt): the ones the
    // tests set, minus what each minor removed.
    let base = [
        "cluster.name",
        "eni.enabled",
        "eni.iamRole",
        "extraConfig",
        "ipam.mode",
        "kubeProxyReplacement",
        "routingMode",
        "tunnelProtocol",
        "encryption.ipsec.keyFile",
        "ciliumEndpointSlice.enabled",
    ];
    let mut helm_keys = BTreeMap::new();
    for minor in &cilium {
        let mut keys: BTreeSet<String> = base.iter().map(|s| s.to_string()).collect();
        let v = minor.minor;
        if v < m("1.18") {
            keys.insert("enableCiliumEndpointSlice".into());
            keys.insert("eni.updateEC2AdapterLimitViaAPI".into());
        }
        if v < m("1.19") {
            keys.insert("nodePort.enabled".into());
        }
        if v < m("1.16") {
            keys.insert("encryption.keyFile".into());
            keys.insert("etcd.annotations".into());
        }
        helm_keys.insert(v, keys);
    }
    Knowledge {
        instances: Default::default(),
        eks_versions,
        ami_kernels,
        al2_last_kubernetes: m("1.32"),
        cilium,
        helm_keys,
        // Facts these tests do not vary come from the embedded data.
        ..Knowledge::embedded().clone()
    }
}

pub(crate) fn empty_knowledge() -> Knowledge {
    Knowledge {
        instances: Default::default(),
        eks_versions: Vec::new(),
        ami_kernels: Vec::new(),
        al2_last_kubernetes: m("1.32"),
        cilium: Vec::new(),
        helm_keys: BTreeMap::new(),
        ..Knowledge::embedded().clone()
    }
}

fn parse<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

/// A cluster deserialised directly (no loader) from Kubernetes objects and
/// AWS shapes (`{"cluster": …}`, `{"nodegroup": …}`, `{"serverVersion": …}`),
/// then `finish()`ed.
pub(crate) fn typed_cluster(items: Vec<Value>) -> Cluster {
    let mut c = Cluster::default();
    for item in items {
        if let Some(eks) = item.get("cluster") {
            c.eks = Some(parse(eks.clone()));
            continue;
        }
        if let Some(ng) = item.get("nodegroup") {
            extend(&mut c.nodegroups, [parse(ng.clone())]);
            continue;
        }
        if let Some(sv) = item.get("serverVersion") {
            let git = sv["gitVersion"].as_str().unwrap().to_string();
            c.server_version = Some(crate::model::ServerVersion {
                version: git.parse().unwrap(),
                git_version: git,
            });
            continue;
        }
        match item["kind"].as_str().unwrap_or_default() {
            "Node" => extend(&mut c.nodes, [parse(item)]),
            "Pod" => extend(&mut c.pods, [parse(item)]),
            "DaemonSet" => extend(&mut c.daemonsets, [parse(item)]),
            "Deployment" => extend(&mut c.deployments, [parse(item)]),
            "ServiceAccount" => extend(&mut c.service_accounts, [parse(item)]),
            "ConfigMap" => extend(&mut c.config_maps, [parse(item)]),
            "CiliumNode" => extend(&mut c.cilium_nodes, [parse(item)]),
            other => panic!("testkit: unsupported kind {other:?}"),
        }
    }
    c.finish();
    c
}

pub(crate) fn server_version(v: &str) -> Value {
    json!({"serverVersion": {"gitVersion": v}})
}

pub(crate) fn agent_ds(version: &str) -> Value {
    json!({
        "kind": "DaemonSet",
        "metadata": {"name": "cilium", "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
        "spec": {"template": {"spec": {"containers": [
            {"name": "cilium-agent", "image": format!("quay.io/cilium/cilium:v{version}@sha256:0000000000000000000000000000000000000000000000000000000000000000")}
        ]}}}
    })
}

pub(crate) fn agent_pod(name: &str, node: &str, version: &str) -> Value {
    json!({
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
        "spec": {"nodeName": node, "hostNetwork": true, "containers": [
            {"name": "cilium-agent", "image": format!("quay.io/cilium/cilium:v{version}")}
        ]},
        "status": {"phase": "Running"}
    })
}

pub(crate) fn operator_deploy(image: &str, service_account: &str) -> Value {
    json!({
        "kind": "Deployment",
        "metadata": {"name": "cilium-operator", "namespace": "kube-system", "labels": {"io.cilium/app": "operator"}},
        "spec": {"replicas": 2, "template": {
            "metadata": {"labels": {"io.cilium/app": "operator", "name": "cilium-operator"}},
            "spec": {"serviceAccountName": service_account, "containers": [
                {"name": "cilium-operator", "image": image}
            ]}}}
    })
}

pub(crate) fn config_map(data: Value) -> Value {
    json!({
        "kind": "ConfigMap",
        "metadata": {"name": "cilium-config", "namespace": "kube-system"},
        "data": data
    })
}

pub(crate) fn node(
    name: &str,
    kubelet: &str,
    kernel: &str,
    os_image: &str,
    nodegroup: Option<&str>,
) -> Value {
    let mut labels =
        json!({"kubernetes.io/hostname": name, "node.kubernetes.io/instance-type": "m5.large"});
    if let Some(ng) = nodegroup {
        labels["eks.amazonaws.com/nodegroup"] = json!(ng);
    }
    json!({
        "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "status": {"nodeInfo": {"kubeletVersion": kubelet, "kernelVersion": kernel, "osImage": os_image, "architecture": "amd64"}}
    })
}
