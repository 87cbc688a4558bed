//! VER005 kernel-below-cilium-minimum: nodes run a Linux kernel below the
//! minimum of the running (or, with `--target-cilium`, the target) Cilium minor.

use crate::rules::inputs;
use std::collections::BTreeSet;

use super::{family_name, family_of_os_image, group_nodes, nodes, running_cilium, sample_names};
use crate::findings::{Finding, Severity};
use crate::knowledge::AmiFamily;
use crate::model::Node;
use crate::rules::Missing;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};
use crate::version::{KernelVersion, Minor, Version};

pub struct Ver005;

static META: RuleMeta = RuleMeta {
    code: "VER005",
    name: "kernel-below-cilium-minimum",
    severity: Severity::High,
    area: Area::Ver,
    summary: "Nodes run a kernel below the minimum of the running (or target) Cilium minor.",
    what_it_checks: "Compares each node's `status.nodeInfo.kernelVersion` with the minimum Linux \
        kernel of the Cilium minor the agents run (Cilium's system requirements), and with the \
        minimum of the planned minor when `--target-cilium` is given. Nodes are grouped by the \
        managed node group or Karpenter NodePool that owns them.",
    why_it_matters: "Cilium's datapath is eBPF loaded into the node's kernel. Below the minimum \
        the agent fails to load programs or silently runs without features it assumes (the \
        agent may crash-loop, leaving the node without pod networking), and after an upgrade \
        to a minor with a higher minimum the same nodes break during the rollout.",
    how_to_fix: "Replace the nodes with a current EKS-optimised AMI (AL2023, or AL2 up to \
        Kubernetes 1.32, or Bottlerocket): for managed node groups `aws eks \
        update-nodegroup-version`, for Karpenter point the EC2NodeClass at a current AMI and let \
        drift replace the nodes. For a planned Cilium upgrade, replace the nodes first.",
    known_limits: "Cilium states the minimum as e.g. \">= 5.4 or equivalent (e.g., 4.18 on RHEL \
        8.10)\": distributions that backport eBPF features (RHEL 8 kernels 4.18) are supported \
        below the number, and this rule reports them anyway; suppress them with a reason. \
        Kernel versions that cannot be parsed are skipped (listed in the evidence).",
    docs_url: "https://docs.cilium.io/en/stable/operations/system_requirements/",
};

impl Rule for Ver005 {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        evaluate(cx)
    }
}

/// The Cilium minor a node falls short of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Against {
    Running(Minor, KernelVersion),
    Target(Minor, KernelVersion),
}

impl Against {
    fn describe(self) -> String {
        match self {
            Against::Running(m, k) => format!("the {k} minimum of the running Cilium {m}"),
            Against::Target(m, k) => format!("the {k} minimum of the target Cilium {m}"),
        }
    }
    fn minimum(self) -> KernelVersion {
        match self {
            Against::Running(_, k) | Against::Target(_, k) => k,
        }
    }
}

fn evaluate(cx: &Context) -> Result<Vec<Finding>, Missing> {
    let Some(cilium) = running_cilium(cx)? else {
        return Ok(Vec::new());
    };
    let nodes = nodes(cx)?;
    let c = cilium.minor();
    let running = cx
        .knowledge
        .cilium_minor(c)
        .map(|m| Against::Running(c, m.min_kernel));
    let target = cx.options.target_cilium.filter(|t| *t != c).and_then(|t| {
        cx.knowledge
            .cilium_minor(t)
            .map(|m| Against::Target(t, m.min_kernel))
    });
    if running.is_none() && target.is_none() {
        return Err(Missing::new(
            format!("the kernel requirement of Cilium {c}"),
            inputs::KNOWLEDGE,
        ));
    }

    let mut unparsed: Vec<&str> = Vec::new();
    let mut short: Vec<(&Node, (Against, KernelVersion))> = Vec::new();
    for node in nodes {
        let text = node.status.node_info.kernel_version.as_str();
        if text.is_empty() {
            continue;
        }
        let Ok(kernel) = text.parse::<KernelVersion>() else {
            unparsed.push(&node.metadata.name);
            continue;
        };
        let against = [running, target]
            .into_iter()
            .flatten()
            .find(|a| kernel < a.minimum());
        if let Some(a) = against {
            short.push((node, (a, kernel)));
        }
    }

    let kubernetes = cx.cluster.kubernetes_version().map(Version::minor);
    let mut findings = Vec::new();
    for (set, members) in group_nodes(short) {
        // Within a set, report the strictest requirement any node misses.
        let Some(against) = members.iter().map(|(_, (a, _))| *a).min() else {
            continue;
        };
        let kernels: BTreeSet<String> = members.iter().map(|(_, (_, k))| k.to_string()).collect();
        let os_images: BTreeSet<&str> = members
            .iter()
            .map(|(n, _)| n.status.node_info.os_image.as_str())
            .filter(|s| !s.is_empty())
            .collect();
        let count = members.len();
        let mut finding = META
            .finding(
                set.object(),
                format!(
                    "{}: {count} node(s) run kernel {} below {}",
                    capitalize(&set.describe()),
                    kernels.iter().cloned().collect::<Vec<_>>().join(", "),
                    against.describe()
                ),
            )
            .with_evidence(format!(
                "Nodes: {}",
                sample_names(members.iter().map(|(n, _)| n.metadata.name.as_str()), 5)
            ))
            .with_evidence(format!(
                "status.nodeInfo.kernelVersion: {}",
                sample_names(
                    members
                        .iter()
                        .map(|(n, _)| n.status.node_info.kernel_version.as_str())
                        .collect::<BTreeSet<_>>(),
                    5
                )
            ))
            .with_evidence(format!(
                "Cilium {} requires kernel >= {} (system_requirements.rst)",
                match against {
                    Against::Running(m, _) | Against::Target(m, _) => m,
                },
                against.minimum()
            ));
        if !os_images.is_empty() {
            finding = finding.with_evidence(format!(
                "status.nodeInfo.osImage: {}",
                os_images.iter().copied().collect::<Vec<_>>().join(", ")
            ));
        }
        let current_amis = kubernetes.map(|k| amis_meeting(cx, k, against.minimum()));
        if let (Some(k), Some(amis)) = (kubernetes, &current_amis) {
            if !amis.is_empty() {
                finding = finding.with_evidence(format!(
                    "EKS-optimised AMIs for Kubernetes {k} that meet it: {}",
                    amis.join(", ")
                ));
            }
        }
        let family_hint = members
            .iter()
            .find_map(|(n, _)| family_of_os_image(&n.status.node_info.os_image));
        let mut remediation = match family_hint {
            Some(f) => format!(
                "Replace the nodes of {} with a current EKS-optimised AMI (today {}): {}",
                set.describe(),
                family_name(f),
                set.roll_command(cx, kubernetes)
            ),
            None => format!(
                "{} runs {}, not an EKS-optimised AMI: move it to an image with kernel >= {} (e.g. AL2023 or Bottlerocket) through a new launch template version or a new node group, then drain and remove the old nodes",
                capitalize(&set.describe()),
                if os_images.is_empty() {
                    "an unknown image".to_string()
                } else {
                    os_images.iter().copied().collect::<Vec<_>>().join(", ")
                },
                against.minimum()
            ),
        };
        if let Against::Target(t, _) = against {
            remediation.push_str(&format!(
                "\nDo this before upgrading Cilium to {t}; the running Cilium {c} accepts these kernels."
            ));
        }
        if !unparsed.is_empty() {
            finding = finding.with_evidence(format!(
                "Kernel version not parsed on: {}",
                sample_names(unparsed.iter().copied(), 5)
            ));
        }
        findings.push(finding.with_remediation(remediation));
    }
    Ok(findings)
}

/// AMI families whose kernel for Kubernetes `k` is at least `minimum`.
fn amis_meeting(cx: &Context, k: Minor, minimum: KernelVersion) -> Vec<String> {
    [AmiFamily::Al2023, AmiFamily::Bottlerocket, AmiFamily::Al2]
        .into_iter()
        .filter_map(|f| {
            let series = cx.knowledge.ami_kernel(f, k)?;
            let ok = (series.major, series.minor) >= (minimum.major, minimum.minor);
            ok.then(|| format!("{} (kernel {series})", family_name(f)))
        })
        .collect()
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

    #[test]
    fn fires_per_node_group_below_running_minimum() {
        let k = knowledge();
        let c = typed_cluster(vec![
            agent_ds("1.16.5"),
            server_version("v1.30.4"),
            node(
                "ip-10-0-1-10.eu-west-1.compute.internal",
                "v1.30.4-eks-1",
                "4.14.355-275.570.amzn2.x86_64",
                "Amazon Linux 2",
                Some("old"),
            ),
            node(
                "ip-10-0-1-11.eu-west-1.compute.internal",
                "v1.30.4-eks-1",
                "4.14.355-275.570.amzn2.x86_64",
                "Amazon Linux 2",
                Some("old"),
            ),
            node(
                "ip-10-0-2-10.eu-west-1.compute.internal",
                "v1.30.4-eks-1",
                "6.1.115-126.197.amzn2023.x86_64",
                "Amazon Linux 2023.6.20241111",
                Some("new"),
            ),
        ]);
        let f = fired(run(&Ver005, &c, &k, &options("2026-11-26")));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].object.name, "old");
        assert_eq!(
            f[0].message,
            "Node group old: 2 node(s) run kernel 4.14.355 below the 5.4.0 minimum of the running Cilium 1.16"
        );
        assert!(f[0].remediation.contains("aws eks update-nodegroup-version --cluster-name '<cluster-name>' --nodegroup-name old --kubernetes-version 1.30"));
        assert!(f[0]
            .evidence
            .iter()
            .any(|e| e.contains("AL2023 (kernel 6.1)")));
    }

    #[test]
    fn target_minimum_and_boundaries() {
        let k = knowledge();
        let c = typed_cluster(vec![
            agent_ds("1.17.0"),
            // Exactly the 1.17 minimum (5.4.0): fine for 1.17, short for 1.18 (5.10).
            node(
                "n1",
                "v1.31.0",
                "5.4.0-1000-aws",
                "Ubuntu 20.04.6 LTS",
                None,
            ),
            node("n2", "v1.31.0", "5.10.0", "Amazon Linux 2", None),
            node("n3", "v1.31.0", "garbage", "", None),
        ]);
        assert!(fired(run(&Ver005, &c, &k, &options("2026-11-26"))).is_empty());
        let o = CheckOptions {
            target_cilium: Some(m("1.18")),
            ..options("2026-11-26")
        };
        let f = fired(run(&Ver005, &c, &k, &o));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].object.kind, "Node");
        assert_eq!(f[0].object.name, "n1");
        assert!(f[0]
            .message
            .contains("below the 5.10.0 minimum of the target Cilium 1.18"));
        assert!(f[0].remediation.contains("before upgrading Cilium to 1.18"));
        assert!(f[0]
            .evidence
            .iter()
            .any(|e| e.contains("not parsed on: n3")));
    }

    #[test]
    fn missing_inputs() {
        let k = knowledge();
        let c = typed_cluster(vec![agent_ds("1.17.0")]);
        assert!(missing(run(&Ver005, &c, &k, &options("2026-11-26"))).contains("Node"));
        let c = typed_cluster(vec![
            agent_ds("1.17.0"),
            node("n1", "v1.31.0", "5.4.0", "", None),
        ]);
        assert!(
            missing(run(&Ver005, &c, &empty_knowledge(), &options("2026-11-26")))
                .contains("kernel requirement of Cilium 1.17")
        );
    }
}
