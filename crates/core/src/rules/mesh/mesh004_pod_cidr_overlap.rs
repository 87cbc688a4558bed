//! MESH004: the pod CIDRs of two clusters checked together overlap.

use super::multi::{pair_object, pairs, pod_cidrs};
use crate::findings::Severity;
use crate::rules::{Area, MeshContext, MeshRule, Outcome, RuleMeta};

pub struct PodCidrOverlap;

static META: RuleMeta = RuleMeta {
    code: "MESH004",
    name: "mesh-pod-cidr-overlap",
    severity: Severity::Critical,
    area: Area::Mesh,
    summary: "Across several snapshots, pod CIDRs (overlay pools or ENI-mode VPC CIDRs) overlap.",
    what_it_checks: "For every pair of clusters given to `mesh`, the address ranges their pods \
use must be disjoint: with overlay IPAM the pools (`cluster-pool-ipv4-cidr`, multi-pool pools, \
Helm `ipam.operator.*`, or Node `spec.podCIDR` with kubernetes IPAM); in ENI mode or aws-cni \
chaining the CIDRs of the cluster's VPC, since pods take VPC addresses.",
    why_it_matters: "Cluster mesh routes to remote pods by IP. When two clusters can hand out \
the same pod address, a packet for a remote pod is delivered locally (or to the wrong \
cluster), and policy identities are looked up for the wrong endpoint: connections fail or \
reach the wrong workload. Cilium's cluster mesh requires non-overlapping PodCIDR ranges.",
    how_to_fix: "Give each cluster its own pod range: a different cluster-pool CIDR (set at \
install; changing it needs the nodes replaced), or, in ENI mode, VPCs with disjoint CIDRs \
(a secondary VPC CIDR for pod subnets can be added to one of them).",
    known_limits: "IPv6 ranges are not compared. In ENI mode the whole VPC CIDR counts, even \
where pods only use some subnets.",
    docs_url: "https://docs.cilium.io/en/stable/network/clustermesh/clustermesh/",
};

impl MeshRule for PodCidrOverlap {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &MeshContext) -> Outcome {
        let mut cidrs = Vec::new();
        for c in cx.clusters {
            match pod_cidrs(cx, c) {
                Ok(list) => cidrs.push(list),
                Err(outcome) => return Err(outcome),
            }
        }
        let mut findings = Vec::new();
        for (i, j) in pairs(cx.clusters.len()) {
            let (a, b) = (&cx.clusters[i], &cx.clusters[j]);
            let mut evidence = Vec::new();
            for (sa, ca) in &cidrs[i] {
                for (sb, cb) in &cidrs[j] {
                    if ca.overlaps(*cb) {
                        evidence.push(format!(
                            "{}: {ca} ({sa}) overlaps {}: {cb} ({sb})",
                            a.name, b.name
                        ));
                    }
                }
            }
            if evidence.is_empty() {
                continue;
            }
            let mut finding = META.finding(
                pair_object(a, b),
                format!("The pod address ranges of clusters {} and {} overlap: mesh traffic to remote pods cannot be routed", a.name, b.name),
            );
            for e in evidence {
                finding = finding.with_evidence(e);
            }
            findings.push(finding.with_remediation(format!(
                "Move one cluster (here {}) to a pod range that no other cluster of the mesh uses:\n\
overlay IPAM: a new cluster-pool CIDR (ipam.operator.clusterPoolIPv4PodCIDRList) takes effect for new nodes only; replace the nodes after the change.\n\
ENI mode: pods use VPC addresses; the VPCs of the mesh need disjoint CIDRs.",
                b.name
            )));
        }
        Ok(findings)
    }
}
