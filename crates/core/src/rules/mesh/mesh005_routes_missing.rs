//! MESH005: in native routing, a cluster's VPC has no route to another
//! cluster's pod CIDR, or the peering connection it uses is not active.

use super::multi::{covers, ordered_pairs, pod_cidrs, vpc_id};
use crate::findings::{ObjectRef, Severity};
use crate::model::{Cluster, Route};
use crate::rules::cap::cidr::Ipv4Cidr;
use crate::rules::inputs;
use crate::rules::{Area, MeshContext, MeshRule, NamedCluster, Outcome, RuleMeta};

pub struct RoutesMissing;

static META: RuleMeta = RuleMeta {
    code: "MESH005",
    name: "mesh-routes-missing",
    severity: Severity::High,
    area: Area::Mesh,
    summary: "Across several snapshots in native routing, a VPC's route tables have no route (peering or transit gateway) to another cluster's pod CIDR, or a peering connection is not `active`.",
    what_it_checks: "For every ordered pair of clusters in different VPCs where the sending \
cluster routes natively (`routing-mode: native`, or ENI IPAM), every route table of the \
sender's VPC must have a route whose destination covers each pod CIDR of the other cluster \
(see MESH004 for where pod CIDRs come from) through a VPC peering connection or a transit \
gateway, not in state `blackhole`; a peering connection such a route uses must have status \
`active` when the snapshots describe it.",
    why_it_matters: "In native routing Cilium hands packets for remote pods to the VPC as they \
are, addressed to the remote pod IP. Without a VPC route to that range the packets are \
dropped by the VPC router: cross-cluster connections time out while `cilium clustermesh \
status` still shows the clusters connected (the control plane talks to the \
clustermesh-apiserver's load balancer, not to pod IPs).",
    how_to_fix: "Add a route for each remote pod CIDR to every route table of the node subnets, \
targeting the peering connection (`aws ec2 create-route --route-table-id RTB \
--destination-cidr-block CIDR --vpc-peering-connection-id PCX`) or the transit gateway \
(`--transit-gateway-id TGW`), on both sides; accept a pending peering connection.",
    known_limits: "Route-table associations are not read, so every route table of the VPC is \
held to the rule, including ones of subnets without nodes. Transit gateway route tables and \
security of the peering (DNS, MTU) are not checked.",
    docs_url: "https://docs.cilium.io/en/stable/network/clustermesh/clustermesh/",
};

impl MeshRule for RoutesMissing {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &MeshContext) -> Outcome {
        let mut findings = Vec::new();
        for (i, j) in ordered_pairs(cx.clusters.len()) {
            let (a, b) = (&cx.clusters[i], &cx.clusters[j]);
            if a.cluster.cilium.config.is_none() && a.cluster.helm_values.is_none() {
                return META.missing(
                    format!(
                        "{}: the routing mode (no cilium-config, no Helm values)",
                        a.name
                    ),
                    inputs::MESH_CILIUM_CONFIG,
                );
            }
            if !native(&a.cluster) {
                continue;
            }
            let (Some(va), Some(vb)) = (vpc_id(&a.cluster), vpc_id(&b.cluster)) else {
                return META.missing(
                    format!("{} and {}: the VPC ids", a.name, b.name),
                    inputs::MESH_VPC,
                );
            };
            if va == vb {
                continue;
            }
            let Some(tables) = a.cluster.route_tables.as_deref() else {
                return META.missing(format!("{}: the route tables", a.name), inputs::MESH_ROUTES);
            };
            let remote = pod_cidrs(cx, b)?;
            let mut problems = Vec::new();
            for t in tables
                .iter()
                .filter(|t| t.vpc_id.as_deref() == Some(va.as_str()))
            {
                for (source, cidr) in &remote {
                    match route_to(&t.routes, *cidr) {
                        None => problems.push(format!(
                            "{} route table {}: no peering or transit gateway route covers {cidr} ({}: {source})",
                            a.name, t.route_table_id, b.name
                        )),
                        Some(r) => {
                            if let Some(pcx) = r.vpc_peering_connection_id.as_deref() {
                                if let Some(status) = peering_status(cx.clusters, pcx) {
                                    if status != "active" {
                                        problems.push(format!(
                                            "{} route table {}: {cidr} goes through peering connection {pcx}, whose status is {status}",
                                            a.name, t.route_table_id
                                        ));
                                    }
                                }
                            }
                        }
                    }
                }
            }
            if problems.is_empty() {
                continue;
            }
            let mut finding = META.finding(
                ObjectRef::global("ClusterPair", &format!("{} → {}", a.name, b.name)),
                format!(
                    "Cluster {} ({va}, native routing) has no working VPC route to the pods of cluster {} ({vb})",
                    a.name, b.name
                ),
            );
            for p in &problems {
                finding = finding.with_evidence(p.clone());
            }
            findings.push(finding.with_remediation(remediation(a, &remote, tables, &va)));
        }
        Ok(findings)
    }
}

/// Native routing: the routing mode says so, or ENI IPAM (which requires it).
fn native(c: &Cluster) -> bool {
    c.cilium.routing_mode.as_deref() == Some("native") || c.cilium.ipam_is_eni()
}

/// A usable peering / transit-gateway route covering `cidr`.
fn route_to(routes: &[Route], cidr: Ipv4Cidr) -> Option<&Route> {
    routes.iter().find(|r| {
        (r.vpc_peering_connection_id.is_some() || r.transit_gateway_id.is_some())
            && r.state.as_deref() != Some("blackhole")
            && r.destination_cidr_block
                .as_deref()
                .and_then(|d| d.parse::<Ipv4Cidr>().ok())
                .is_some_and(|d| covers(d, cidr))
    })
}

/// The status code of a peering connection as any snapshot describes it.
fn peering_status<'a>(clusters: &'a [NamedCluster], pcx: &str) -> Option<&'a str> {
    clusters
        .iter()
        .flat_map(|c| c.cluster.peering_connections.as_deref().unwrap_or_default())
        .find(|p| p.vpc_peering_connection_id == pcx)
        .and_then(|p| p.status.code.as_deref())
}

fn remediation(
    a: &NamedCluster,
    remote: &[(String, Ipv4Cidr)],
    tables: &[crate::model::RouteTable],
    vpc: &str,
) -> String {
    let mut lines = vec![format!(
        "# In {}'s VPC, route each remote pod CIDR through the peering connection (or --transit-gateway-id TGW); do the same in the other direction:",
        a.name
    )];
    for t in tables.iter().filter(|t| t.vpc_id.as_deref() == Some(vpc)) {
        for (_, cidr) in remote {
            lines.push(format!(
                "aws ec2 create-route --route-table-id {} --destination-cidr-block {cidr} --vpc-peering-connection-id PCX_ID",
                t.route_table_id
            ));
        }
    }
    lines.push("# A pending peering connection must be accepted: aws ec2 accept-vpc-peering-connection --vpc-peering-connection-id PCX_ID".into());
    lines.join("\n")
}
