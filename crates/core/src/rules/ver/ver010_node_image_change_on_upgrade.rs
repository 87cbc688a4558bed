//! VER010 node-image-change-on-upgrade: upgrading to the target Kubernetes
//! version moves node groups to another AMI family (AL2 ends) or another
//! kernel series. Opt-in: needs `--target-k8s`.

use std::collections::BTreeMap;

use super::{family_name, family_of_ami_type, family_of_os_image, sample_names, NodeSet};
use crate::findings::{Finding, Severity};
use crate::knowledge::AmiFamily;
use crate::model::{Node, Nodegroup};
use crate::rules::Missing;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};
use crate::version::{KernelVersion, Minor, Version};

pub struct Ver010;

static META: RuleMeta = RuleMeta {
    code: "VER010",
    name: "node-image-change-on-upgrade",
    severity: Severity::Info,
    area: Area::Ver,
    summary: "Upgrading to the target Kubernetes version moves node AMIs to another kernel series or AMI family.",
    what_it_checks: "Only with a planned target (`--target-k8s 1.Y`); without one the rule \
        reports nothing. For each managed node group (`amiType` from describe-nodegroup) and \
        each other set of nodes (`status.nodeInfo.osImage`), compares the AMI family and kernel \
        series it runs today with what the EKS-optimised AMIs ship for the target: AL2 AMIs end \
        with Kubernetes 1.32, and AL2023 changes kernel series between Kubernetes versions \
        (e.g. 6.1 to 6.12 at 1.33).",
    why_it_matters: "Cilium's datapath runs in the node kernel: a new kernel series changes the \
        eBPF verifier, helpers and offloads under Cilium, and a family change from AL2 to \
        AL2023 also changes cgroup version, the bootstrap (nodeadm instead of bootstrap.sh) and \
        custom user data. Both deserve a canary node group before the fleet moves.",
    how_to_fix: "For AL2 node groups, create AL2023 (or Bottlerocket) node groups before the \
        upgrade, move workloads, then delete the AL2 groups. For a kernel series change, roll \
        one node group first and watch `cilium status`, agent restarts and drops before rolling \
        the rest.",
    known_limits: "Kernel series per Kubernetes version are the newest the EKS AMI release \
        notes show for each version; a node group pinned to an older AMI release may run \
        another series today (the nodes' kernels are used when Node objects are given). Custom \
        AMIs (`amiType: CUSTOM`) and Windows nodes are only judged by their osImage.",
    docs_url: "https://docs.aws.amazon.com/eks/latest/userguide/eks-optimized-ami.html",
};

impl Rule for Ver010 {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        evaluate(cx)
    }
}

struct Group<'a> {
    set: NodeSet,
    nodegroup: Option<&'a Nodegroup>,
    nodes: Vec<&'a Node>,
}

fn most_common<T: Ord + Copy>(items: impl IntoIterator<Item = T>) -> Option<T> {
    let mut counts: BTreeMap<T, usize> = BTreeMap::new();
    for i in items {
        *counts.entry(i).or_default() += 1;
    }
    counts.into_iter().max_by_key(|(_, n)| *n).map(|(t, _)| t)
}

/// `AL2_x86_64` → `AL2023_x86_64_STANDARD` and friends (AMI types in
/// /work/shared/data/aws/amis.json).
fn al2023_ami_type(al2: Option<&str>) -> &'static str {
    match al2 {
        Some("AL2_ARM_64") => "AL2023_ARM_64_STANDARD",
        Some("AL2_x86_64_GPU") => "AL2023_x86_64_NVIDIA",
        _ => "AL2023_x86_64_STANDARD",
    }
}

/// `aws eks create-nodegroup` for the AL2023 replacement of an AL2 managed
/// node group, with the old group's role, subnets, instance types and scaling.
pub(crate) fn al2023_nodegroup_command(cluster: &str, ng: &Nodegroup) -> String {
    let mut create = format!(
        "aws eks create-nodegroup --cluster-name {cluster} --nodegroup-name {}-al2023 --ami-type {} --node-role {} --subnets {}",
        ng.nodegroup_name,
        al2023_ami_type(ng.ami_type.as_deref()),
        ng.node_role.as_deref().unwrap_or("<node-role-arn>"),
        if ng.subnets.is_empty() {
            "<subnet-ids>".to_string()
        } else {
            ng.subnets.join(" ")
        }
    );
    if !ng.instance_types.is_empty() {
        create.push_str(&format!(
            " --instance-types {}",
            ng.instance_types.join(" ")
        ));
    }
    let s = &ng.scaling_config;
    if let (Some(min), Some(max), Some(desired)) = (s.min_size, s.max_size, s.desired_size) {
        create.push_str(&format!(
            " --scaling-config minSize={min},maxSize={max},desiredSize={desired}"
        ));
    }
    create
}

fn evaluate(cx: &Context) -> Result<Vec<Finding>, Missing> {
    let Some(target) = cx.options.target_kubernetes else {
        return Ok(Vec::new());
    };
    let c = cx.cluster;
    if c.nodegroups.is_none() && c.nodes.is_none() {
        return Err(Missing::new(
            "node groups or Node objects",
            "aws eks describe-nodegroup --cluster-name CLUSTER --nodegroup-name NAME > nodegroup.json, or kubectl get nodes -o json > nodes.json",
        ));
    }
    let cluster_version = c.kubernetes_version().map(Version::minor);

    let mut groups: BTreeMap<NodeSet, Group> = BTreeMap::new();
    for ng in c.nodegroups.as_deref().unwrap_or_default() {
        let set = NodeSet::Nodegroup(ng.nodegroup_name.clone());
        groups.insert(
            set.clone(),
            Group {
                set,
                nodegroup: Some(ng),
                nodes: Vec::new(),
            },
        );
    }
    for node in c.nodes.as_deref().unwrap_or_default() {
        let set = NodeSet::of(node);
        groups
            .entry(set.clone())
            .or_insert_with(|| Group {
                set,
                nodegroup: None,
                nodes: Vec::new(),
            })
            .nodes
            .push(node);
    }

    let name = cx.cluster_name();
    let mut findings = Vec::new();
    for g in groups.values() {
        let ami_type = g.nodegroup.and_then(|n| n.ami_type.as_deref());
        let family = ami_type.and_then(family_of_ami_type).or_else(|| {
            most_common(
                g.nodes
                    .iter()
                    .filter_map(|n| family_of_os_image(&n.status.node_info.os_image)),
            )
        });
        let Some(family) = family else {
            continue;
        };
        let version = g
            .nodegroup
            .and_then(|n| n.version.as_deref())
            .and_then(|v| v.parse::<Minor>().ok())
            .or_else(|| {
                g.nodes
                    .iter()
                    .filter_map(|n| n.status.node_info.kubelet_version.parse::<Version>().ok())
                    .map(Version::minor)
                    .min()
            })
            .or(cluster_version);
        let Some(version) = version else {
            continue;
        };
        if version >= target {
            continue;
        }
        let running_series = most_common(g.nodes.iter().filter_map(|n| {
            n.status
                .node_info
                .kernel_version
                .parse::<KernelVersion>()
                .ok()
                .map(|k| Minor::new(k.major, k.minor))
        }))
        .or_else(|| cx.knowledge.ami_kernel(family, version));
        let label = match ami_type {
            Some(t) => format!("{} ({t})", g.set.describe()),
            None => format!("{} ({})", g.set.describe(), family_name(family)),
        };
        let mut evidence = vec![format!(
            "{label} runs Kubernetes {version}{}",
            match running_series {
                Some(s) => format!(", kernel {s}"),
                None => String::new(),
            }
        )];
        if !g.nodes.is_empty() {
            evidence.push(format!(
                "Nodes: {}",
                sample_names(g.nodes.iter().map(|n| n.metadata.name.as_str()), 5)
            ));
        }
        evidence.push(format!("Target Kubernetes {target} (--target-k8s)"));

        let al2_last = cx.knowledge.al2_last_kubernetes;
        let finding = if family == AmiFamily::Al2 && target > al2_last {
            let al2023_kernel = cx.knowledge.ami_kernel(AmiFamily::Al2023, target);
            evidence.push(format!(
                "EKS-optimised AL2 AMIs end with Kubernetes {al2_last}"
            ));
            if let Some(k) = al2023_kernel {
                evidence.push(format!("AL2023 AMIs for {target} ship kernel {k}"));
            }
            let message = format!(
                "{}: EKS has no AL2 AMIs after Kubernetes {al2_last}; upgrading to {target} means moving to AL2023{}",
                capitalize(&label),
                al2023_kernel
                    .map(|k| format!(" (kernel {k})"))
                    .unwrap_or_default()
            );
            let remediation = match (&g.set, g.nodegroup) {
                (NodeSet::Nodegroup(ng_name), Some(ng)) => {
                    let create = al2023_nodegroup_command(&name, ng);
                    format!(
                        "Before upgrading past {al2_last}, replace the AL2 group with an AL2023 one (custom bootstrap.sh user data must be rewritten for nodeadm; copy labels and taints such as node.cilium.io/agent-not-ready):\n{create}\nthen drain the old nodes and delete the AL2 group: aws eks delete-nodegroup --cluster-name {name} --nodegroup-name {ng_name}"
                    )
                }
                (set, _) => format!(
                    "Before upgrading past {al2_last}, move {} to AL2023 or Bottlerocket: {}",
                    set.describe(),
                    set.roll_command(cx, Some(target))
                ),
            };
            META.finding(g.set.object(), message)
                .with_remediation(remediation)
        } else {
            let Some(to) = cx.knowledge.ami_kernel(family, target) else {
                continue;
            };
            let Some(from) = running_series else {
                continue;
            };
            if from == to {
                continue;
            }
            evidence.push(format!(
                "EKS-optimised {} AMIs for {target} ship kernel {to}",
                family_name(family)
            ));
            let message = format!(
                "{}: upgrading to Kubernetes {target} moves the nodes from kernel {from} to {to}",
                capitalize(&label)
            );
            META.finding(g.set.object(), message).with_remediation(format!(
                "Roll a canary first and watch Cilium on the new kernel (cilium status, agent restarts, drops) before the rest: {}",
                g.set.roll_command(cx, Some(target))
            ))
        };
        findings.push(evidence.into_iter().fold(finding, Finding::with_evidence));
    }
    Ok(findings)
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::rules::testing::{fired, missing, options, run};
    use crate::rules::CheckOptions;
    use serde_json::json;

    fn target(t: &str) -> CheckOptions {
        CheckOptions {
            target_kubernetes: Some(m(t)),
            ..options("2026-11-26")
        }
    }

    fn ng(name: &str, ami: &str, version: &str) -> serde_json::Value {
        json!({"nodegroup": {
            "nodegroupName": name, "clusterName": "prod", "version": version, "amiType": ami,
            "instanceTypes": ["m5.large"], "subnets": ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"],
            "scalingConfig": {"minSize": 2, "maxSize": 6, "desiredSize": 3},
            "nodeRole": "arn:aws:iam::111122223333:role/prod-node"
        }})
    }

    #[test]
    fn al2_end_and_kernel_series_change() {
        let k = knowledge();
        let mut c = typed_cluster(vec![
            ng("legacy", "AL2_x86_64", "1.32"),
            ng("general", "AL2023_x86_64_STANDARD", "1.32"),
            ng("bottle", "BOTTLEROCKET_x86_64", "1.32"),
            node(
                "n1",
                "v1.32.9-eks-1",
                "6.1.150-174.273.amzn2023.x86_64",
                "Amazon Linux 2023.8.20250915",
                Some("general"),
            ),
        ]);
        c.name = Some("prod".into());
        let f = fired(run(&Ver010, &c, &k, &target("1.33")));
        assert_eq!(f.len(), 2, "{f:#?}");
        assert_eq!(
            f[0].message,
            "Node group general (AL2023_x86_64_STANDARD): upgrading to Kubernetes 1.33 moves the nodes from kernel 6.1 to 6.12"
        );
        assert_eq!(
            f[1].message,
            "Node group legacy (AL2_x86_64): EKS has no AL2 AMIs after Kubernetes 1.32; upgrading to 1.33 means moving to AL2023 (kernel 6.12)"
        );
        assert!(f[1].remediation.contains("aws eks create-nodegroup --cluster-name prod --nodegroup-name legacy-al2023 --ami-type AL2023_x86_64_STANDARD --node-role arn:aws:iam::111122223333:role/prod-node --subnets subnet-0a1b2c3d4e5f60001 subnet-0a1b2c3d4e5f60002 --instance-types m5.large --scaling-config minSize=2,maxSize=6,desiredSize=3"));
    }

    #[test]
    fn quiet_cases() {
        let k = knowledge();
        let c = typed_cluster(vec![ng("general", "AL2023_x86_64_STANDARD", "1.31")]);
        // 1.31 → 1.32 stays on 6.1.
        assert!(fired(run(&Ver010, &c, &k, &target("1.32"))).is_empty());
        // No target: opt-in.
        assert!(fired(run(&Ver010, &c, &k, &options("2026-11-26"))).is_empty());
        // Nodes from the os image only; AL2 at 1.31 → 1.32 is still AL2 5.10.
        let c = typed_cluster(vec![node(
            "n1",
            "v1.31.2-eks-1",
            "5.10.228-219.884.amzn2.x86_64",
            "Amazon Linux 2",
            None,
        )]);
        assert!(fired(run(&Ver010, &c, &k, &target("1.32"))).is_empty());
        let f = fired(run(&Ver010, &c, &k, &target("1.33")));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].object.kind, "Node");
        assert!(
            missing(run(&Ver010, &typed_cluster(vec![]), &k, &target("1.33")))
                .contains("node groups")
        );
    }
}
