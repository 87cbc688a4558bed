//! VER006 kubelet-version-skew: kubelets are older than the control plane
//! by more than the Kubernetes version skew policy allows, or by exactly the
//! limit, so that the next control-plane upgrade breaks the policy.

use std::collections::BTreeSet;

use super::{group_nodes, nodes, running_kubernetes, sample_names};
use crate::findings::{Finding, Severity};
use crate::model::Node;
use crate::rules::Missing;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};
use crate::version::{Minor, Version};

pub struct Ver006;

static META: RuleMeta = RuleMeta {
    code: "VER006",
    name: "kubelet-version-skew",
    severity: Severity::Medium,
    area: Area::Ver,
    summary: "Kubelets are older than the control plane by more than Kubernetes allows, or by as much as one more upgrade step allows.",
    what_it_checks: "Compares each node's kubelet minor (`status.nodeInfo.kubeletVersion`) with \
        the control-plane minor. The Kubernetes version skew policy: the kubelet must not be \
        newer than kube-apiserver and may be up to three minor versions older (kubelets older \
        than 1.25 only two; the three-minor skew exists since Kubernetes 1.28). Fires for \
        kubelets outside that skew, and for kubelets exactly at the limit: the next \
        control-plane upgrade (one minor, as EKS does it, also automatically at the end of \
        support) puts them outside.",
    why_it_matters: "Outside the supported skew the kubelet talks to an API server that may \
        have removed the APIs it uses: nodes can go NotReady or misreport pods, and EKS refuses \
        control-plane updates while managed node groups lag behind. Kubelets at the limit turn \
        the next control-plane upgrade (planned, or the automatic one at the end of support) \
        into an outage.",
    how_to_fix: "Upgrade the nodes to the control plane's version: `aws eks \
        update-nodegroup-version` for managed node groups, a current AMI in the EC2NodeClass for \
        Karpenter, or replace self-managed nodes. Do it before the next control-plane upgrade.",
    known_limits: "Policy from the Kubernetes version skew policy page \
        (https://kubernetes.io/releases/version-skew-policy/): it is not part of the tool's data \
        files, so the two rules (three minors for kubelet 1.25 and newer, two before) are \
        encoded in this rule. Nodes whose kubelet version cannot be parsed (e.g. Fargate \
        virtual nodes with unusual versions) are skipped. Only the kubelet is checked, not \
        kube-proxy.",
    docs_url: "https://kubernetes.io/releases/version-skew-policy/",
};

impl Rule for Ver006 {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        evaluate(cx)
    }
}

/// The largest number of minors a kubelet may lag kube-apiserver, per the
/// Kubernetes version skew policy: three, except kubelets older than 1.25
/// (two).
pub(crate) fn max_kubelet_skew(kubelet: Minor) -> i64 {
    if kubelet >= Minor::new(1, 25) {
        3
    } else {
        2
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Skew {
    /// Outside the policy now (too old).
    TooOld,
    /// Newer than the control plane.
    Newer,
    /// At the limit: the next control-plane minor breaks it.
    AtLimit,
}

fn classify(control_plane: Minor, kubelet: Minor) -> Option<Skew> {
    let behind = control_plane.minors_after(kubelet);
    let max = max_kubelet_skew(kubelet);
    if behind < 0 {
        Some(Skew::Newer)
    } else if behind > max {
        Some(Skew::TooOld)
    } else if behind + 1 > max {
        Some(Skew::AtLimit)
    } else {
        None
    }
}

fn evaluate(cx: &Context) -> Result<Vec<Finding>, Missing> {
    let nodes = nodes(cx)?;
    let cp = running_kubernetes(cx)?;
    let mut flagged: Vec<(&Node, (Skew, Minor))> = Vec::new();
    for node in nodes {
        let Ok(kubelet) = node.status.node_info.kubelet_version.parse::<Version>() else {
            continue;
        };
        let kubelet = kubelet.minor();
        if let Some(skew) = classify(cp, kubelet) {
            flagged.push((node, (skew, kubelet)));
        }
    }
    let mut findings = Vec::new();
    for (set, members) in group_nodes(flagged) {
        // Most serious classification of the set first.
        let Some(skew) = members.iter().map(|(_, (s, _))| *s).min() else {
            continue;
        };
        let members: Vec<_> = members
            .into_iter()
            .filter(|(_, (s, _))| *s == skew)
            .collect();
        let kubelets: BTreeSet<Minor> = members.iter().map(|(_, (_, k))| *k).collect();
        let Some(oldest) = kubelets.iter().next().copied() else {
            continue;
        };
        let kubelet_list = kubelets
            .iter()
            .map(Minor::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let count = members.len();
        let behind = cp.minors_after(oldest);
        let what = match skew {
            Skew::TooOld => format!(
                "{count} kubelet(s) at {kubelet_list} are {behind} minors behind the control plane {cp}; the skew policy allows {} for kubelet {oldest}",
                max_kubelet_skew(oldest)
            ),
            Skew::Newer => format!(
                "{count} kubelet(s) at {kubelet_list} are newer than the control plane {cp}; a kubelet must not be newer than kube-apiserver"
            ),
            Skew::AtLimit => format!(
                "{count} kubelet(s) at {kubelet_list} are {behind} minors behind the control plane {cp}, the most the skew policy allows: the next control-plane upgrade to {} puts them outside it",
                cp.next()
            ),
        };
        let describe = set.describe();
        let mut chars = describe.chars();
        let title = match chars.next() {
            Some(f) => f.to_uppercase().chain(chars).collect::<String>(),
            None => String::new(),
        };
        let finding = META
            .finding(set.object(), format!("{title}: {what}"))
            .with_evidence(format!(
                "Nodes: {}",
                sample_names(members.iter().map(|(n, _)| n.metadata.name.as_str()), 5)
            ))
            .with_evidence(format!(
                "status.nodeInfo.kubeletVersion: {}",
                sample_names(
                    members
                        .iter()
                        .map(|(n, _)| n.status.node_info.kubelet_version.as_str())
                        .collect::<BTreeSet<_>>(),
                    5
                )
            ))
            .with_evidence(format!("Control plane: Kubernetes {cp}"))
            .with_evidence(
                "Kubernetes version skew policy: kubelet must not be newer than kube-apiserver; up to 3 minors older (kubelet < 1.25: 2)",
            );
        let remediation = match skew {
            Skew::Newer => format!(
                "Upgrade the control plane to at least {}, or replace the nodes of {describe} with nodes of version {cp}: {}",
                kubelets.iter().next_back().copied().unwrap_or(cp),
                set.roll_command(cx, Some(cp))
            ),
            _ => format!(
                "Upgrade {describe} to the control plane's version {cp} before any control-plane upgrade: {}",
                set.roll_command(cx, Some(cp))
            ),
        };
        findings.push(finding.with_remediation(remediation));
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::rules::testing::{fired, missing, options, run};

    #[test]
    fn policy() {
        assert_eq!(classify(m("1.31"), m("1.31")), None);
        assert_eq!(classify(m("1.31"), m("1.29")), None);
        assert_eq!(classify(m("1.31"), m("1.28")), Some(Skew::AtLimit));
        assert_eq!(classify(m("1.31"), m("1.27")), Some(Skew::TooOld));
        assert_eq!(classify(m("1.31"), m("1.32")), Some(Skew::Newer));
        // Before 1.25 kubelets: two minors.
        assert_eq!(classify(m("1.26"), m("1.24")), Some(Skew::AtLimit));
        assert_eq!(classify(m("1.27"), m("1.24")), Some(Skew::TooOld));
        // 1.27 control plane, 1.25 kubelet: 2 behind, 3 allowed for the next step.
        assert_eq!(classify(m("1.27"), m("1.25")), None);
        assert_eq!(classify(m("1.28"), m("1.25")), Some(Skew::AtLimit));
    }

    #[test]
    fn fires_per_group() {
        let k = knowledge();
        let c = typed_cluster(vec![
            server_version("v1.31.4-eks-2d5f260"),
            node(
                "a1",
                "v1.28.15-eks-aeac579",
                "5.10.1",
                "Amazon Linux 2",
                Some("legacy"),
            ),
            node(
                "a2",
                "v1.28.15-eks-aeac579",
                "5.10.1",
                "Amazon Linux 2",
                Some("legacy"),
            ),
            node("b1", "v1.27.16-eks-1", "5.10.1", "Amazon Linux 2", None),
            node(
                "c1",
                "v1.31.4-eks-1",
                "6.1.1",
                "Amazon Linux 2023",
                Some("current"),
            ),
        ]);
        let f = fired(run(&Ver006, &c, &k, &options("2026-11-26")));
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].object.name, "legacy");
        assert!(f[0].message.starts_with("Node group legacy: 2 kubelet(s) at 1.28 are 3 minors behind the control plane 1.31, the most"));
        assert!(f[0]
            .remediation
            .contains("--nodegroup-name legacy --kubernetes-version 1.31"));
        assert_eq!(f[1].object.name, "b1");
        assert!(f[1].message.contains("4 minors behind"));
    }

    #[test]
    fn quiet_and_missing() {
        let k = knowledge();
        let c = typed_cluster(vec![
            server_version("v1.31.4"),
            node("c1", "v1.30.4", "6.1.1", "", None),
        ]);
        assert!(fired(run(&Ver006, &c, &k, &options("2026-11-26"))).is_empty());
        let c = typed_cluster(vec![node("c1", "v1.30.4", "6.1.1", "", None)]);
        assert!(
            missing(run(&Ver006, &c, &k, &options("2026-11-26"))).contains("Kubernetes version")
        );
        let c = typed_cluster(vec![server_version("v1.31.4")]);
        assert!(missing(run(&Ver006, &c, &k, &options("2026-11-26"))).contains("Node"));
    }
}
