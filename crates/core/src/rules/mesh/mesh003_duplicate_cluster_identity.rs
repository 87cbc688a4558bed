//! MESH003: two clusters checked together share a cluster id or name.

use super::multi::{identity, pair_object, pairs};
use crate::findings::Severity;
use crate::rules::inputs;
use crate::rules::{Area, MeshContext, MeshRule, Outcome, RuleMeta};

pub struct DuplicateClusterIdentity;

static META: RuleMeta = RuleMeta {
    code: "MESH003",
    name: "mesh-duplicate-cluster-identity",
    severity: Severity::Critical,
    area: Area::Mesh,
    summary: "Across several snapshots checked together, two clusters share a cluster id or name.",
    what_it_checks: "`mesh` loads each snapshot as its own cluster and compares every pair: \
cilium-config's `cluster-id` and `cluster-name` (else the Helm values `cluster.id` and \
`cluster.name`; unset means the agent defaults 0 and `default`) must differ between any two clusters.",
    why_it_matters: "Cilium encodes the cluster id in security identities and uses the name to \
key each cluster's state in the mesh. Two clusters with the same id allocate colliding \
identities, so policies allow or drop the wrong peers; with the same name the \
clustermesh-apiserver state of one overwrites the other's, and remote endpoints and global \
services flap.",
    how_to_fix: "Give each cluster a unique `cluster.name` and a unique `cluster.id` (1-255, or \
1-127 in ENI mode, see MESH002) in its Helm values and `helm upgrade`; changing them changes \
every endpoint identity, so restart workloads in a maintenance window and re-connect the mesh \
(`cilium clustermesh connect`).",
    known_limits: "Only the snapshots given are compared; a cluster of the mesh that is not \
among them is not checked.",
    docs_url: "https://docs.cilium.io/en/stable/network/clustermesh/clustermesh/",
};

impl MeshRule for DuplicateClusterIdentity {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &MeshContext) -> Outcome {
        let mut ids = Vec::new();
        for c in cx.clusters {
            match identity(&c.cluster) {
                Some(i) => ids.push(i),
                None => {
                    return META.missing(
                        format!("{}: no cilium-config and no Helm values", c.name),
                        inputs::MESH_CILIUM_CONFIG,
                    )
                }
            }
        }
        let mut findings = Vec::new();
        for (i, j) in pairs(cx.clusters.len()) {
            let (a, b) = (&cx.clusters[i], &cx.clusters[j]);
            let (ia, ib) = (&ids[i], &ids[j]);
            let mut shared = Vec::new();
            if ia.id == ib.id {
                shared.push(format!("cluster id {}", ia.id));
            }
            if ia.name == ib.name {
                shared.push(format!("cluster name \"{}\"", ia.name));
            }
            if shared.is_empty() {
                continue;
            }
            findings.push(
                META.finding(
                    pair_object(a, b),
                    format!("Clusters {} and {} share the {}", a.name, b.name, shared.join(" and the ")),
                )
                .with_evidence(format!("{}: cluster-id {} ({}), cluster-name {} ({})", a.name, ia.id, ia.id_source, ia.name, ia.name_source))
                .with_evidence(format!("{}: cluster-id {} ({}), cluster-name {} ({})", b.name, ib.id, ib.id_source, ib.name, ib.name_source))
                .with_remediation(format!(
                    "# On one of the two clusters (here {b}), pick an id and a name no other cluster of the mesh uses:\n\
helm upgrade cilium cilium/cilium --namespace kube-system --reuse-values --set cluster.name=NEW_NAME --set cluster.id=NEW_ID\n\
kubectl -n kube-system rollout restart daemonset/cilium deployment/cilium-operator\n\
# Restart workloads in a maintenance window, then re-connect: cilium clustermesh connect --destination-context PEER_CONTEXT",
                    b = b.name
                )),
            );
        }
        Ok(findings)
    }
}
