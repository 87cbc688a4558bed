//! MESH006: the node security groups of a cluster do not let another
//! cluster's nodes reach the cluster-mesh ports.

use super::multi::{ordered_pairs, vpc_cidrs};
use crate::findings::{ObjectRef, Severity};
use crate::model::{Cluster, IpPermission};
use crate::rules::cap::cidr::Ipv4Cidr;
use crate::rules::inputs;
use crate::rules::{Area, MeshContext, MeshRule, Outcome, RuleMeta};

pub struct PortsClosed;

/// Ports from Cilium's cluster-mesh / firewall requirements.
const APISERVER_PORT: u32 = 2379;
const HEALTH_PORT: u32 = 4240;
const VXLAN_PORT: u32 = 8472;
const GENEVE_PORT: u32 = 6081;

static META: RuleMeta = RuleMeta {
    code: "MESH006",
    name: "mesh-ports-closed",
    severity: Severity::Medium,
    area: Area::Mesh,
    summary: "Node security groups do not allow the cluster-mesh ports between the clusters (clustermesh-apiserver 2379 / its service port, health 4240, and the tunnel port when tunnelling: VXLAN 8472 or Geneve 6081).",
    what_it_checks: "For every ordered pair of clusters, the inbound rules of the receiving \
cluster's node security groups (the groups of its EC2 instances and the EKS cluster security \
group) must allow, from the other cluster's nodes (a CIDR overlapping its VPC, or one of its \
node security groups): TCP 4240 (health), the clustermesh-apiserver's Service port (2379 by \
default) when the receiving cluster runs a clustermesh-apiserver, and with `routing-mode: \
tunnel` UDP 8472 (VXLAN) or 6081 (Geneve).",
    why_it_matters: "The agents of every cluster connect to the other clusters' \
clustermesh-apiserver to learn their endpoints and identities, probe the remote nodes on the \
health port, and in tunnel mode send pod traffic encapsulated to the remote nodes. A closed \
port shows up as a mesh that never syncs, nodes reported unreachable, or cross-cluster \
traffic that is silently dropped.",
    how_to_fix: "Add inbound rules to the node security group for each missing port from the \
other cluster's VPC CIDR (or its node security group, across a peering connection in the same \
region): `aws ec2 authorize-security-group-ingress --group-id SG --protocol tcp --port 4240 \
--cidr REMOTE_VPC_CIDR`.",
    known_limits: "Network ACLs, load balancer security groups and the load balancer's own \
listener port are not read. Without an explicit `routing-mode: tunnel` the tunnel port is \
not required.",
    docs_url: "https://docs.cilium.io/en/stable/operations/system_requirements/",
};

/// (port, protocol, purpose)
type Port = (u32, &'static str, String);

impl MeshRule for PortsClosed {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &MeshContext) -> Outcome {
        let mut findings = Vec::new();
        for (i, j) in ordered_pairs(cx.clusters.len()) {
            let (a, b) = (&cx.clusters[i], &cx.clusters[j]);
            let groups = node_groups(&a.cluster);
            if groups.is_empty() || a.cluster.security_groups.is_none() {
                return META.missing(
                    format!("{}: the node security groups", a.name),
                    inputs::MESH_SECURITY_GROUPS,
                );
            }
            let sources = vpc_cidrs(&b.cluster);
            if sources.is_empty() {
                return META.missing(
                    format!("{}: the VPC CIDRs", b.name),
                    inputs::MESH_SECURITY_GROUPS,
                );
            }
            let source_groups = node_groups(&b.cluster);
            let rules: Vec<&IpPermission> = a
                .cluster
                .security_groups
                .as_deref()
                .unwrap_or_default()
                .iter()
                .filter(|g| groups.contains(&g.group_id))
                .flat_map(|g| &g.ip_permissions)
                .collect();
            let closed: Vec<Port> = required_ports(&a.cluster)
                .into_iter()
                .filter(|(port, proto, _)| {
                    !rules
                        .iter()
                        .any(|r| allows(r, *port, proto) && from(r, &sources, &source_groups))
                })
                .collect();
            if closed.is_empty() {
                continue;
            }
            let list: Vec<String> = closed
                .iter()
                .map(|(p, proto, what)| format!("{proto}/{p} ({what})"))
                .collect();
            let cidrs: Vec<String> = sources.iter().map(Ipv4Cidr::to_string).collect();
            let group_list: Vec<&str> = groups.iter().map(String::as_str).collect();
            let fix: Vec<String> = closed
                .iter()
                .map(|(p, proto, _)| {
                    format!(
                        "aws ec2 authorize-security-group-ingress --group-id {} --protocol {proto} --port {p} --cidr {}",
                        group_list[0], cidrs[0]
                    )
                })
                .collect();
            findings.push(
                META.finding(
                    ObjectRef::global("ClusterPair", &format!("{} → {}", b.name, a.name)),
                    format!(
                        "The node security groups of cluster {} do not let cluster {}'s nodes reach {}",
                        a.name,
                        b.name,
                        list.join(", ")
                    ),
                )
                .with_evidence(format!("{} node security groups: {}", a.name, group_list.join(", ")))
                .with_evidence(format!("{} nodes: VPC CIDRs {}", b.name, cidrs.join(", ")))
                .with_remediation(format!(
                    "# On {}'s node security group, allow the mesh ports from {}:\n{}",
                    a.name,
                    b.name,
                    fix.join("\n")
                )),
            );
        }
        Ok(findings)
    }
}

/// Security groups of the cluster's nodes: those on its EC2 instances,
/// then the EKS cluster security group (EKS attaches it to managed nodes).
fn node_groups(c: &Cluster) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let instance_groups = c
        .instances
        .as_deref()
        .unwrap_or_default()
        .iter()
        .flat_map(|i| &i.security_groups)
        .filter_map(|g| g.group_id.clone());
    let cluster_group = c
        .eks
        .as_ref()
        .and_then(|e| e.resources_vpc_config.cluster_security_group_id.clone());
    for g in instance_groups.chain(cluster_group) {
        if !out.contains(&g) {
            out.push(g);
        }
    }
    out
}

fn required_ports(c: &Cluster) -> Vec<Port> {
    let mut ports = vec![(HEALTH_PORT, "tcp", "cilium-health".to_string())];
    let service = c
        .services
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|s| s.metadata.name == "clustermesh-apiserver");
    let deployed = c
        .deployments
        .as_deref()
        .unwrap_or_default()
        .iter()
        .any(|d| d.metadata.name == "clustermesh-apiserver");
    match service.and_then(|s| s.spec.ports.first()) {
        Some(p) => ports.push((p.port, "tcp", "clustermesh-apiserver Service port".into())),
        None if deployed => ports.push((APISERVER_PORT, "tcp", "clustermesh-apiserver".into())),
        None => {}
    }
    if c.cilium.routing_mode.as_deref() == Some("tunnel") {
        match c.cilium.tunnel_protocol.as_deref() {
            Some("geneve") => ports.push((GENEVE_PORT, "udp", "Geneve tunnel".into())),
            _ => ports.push((VXLAN_PORT, "udp", "VXLAN tunnel".into())),
        }
    }
    ports
}

/// Whether the rule's protocol and port range admit `port`/`proto`.
fn allows(r: &IpPermission, port: u32, proto: &str) -> bool {
    let number = if proto == "tcp" { "6" } else { "17" };
    match r.ip_protocol.as_deref() {
        Some("-1") => true,
        Some(p) if p == proto || p == number => {
            let from = r.from_port.and_then(|p| u32::try_from(p).ok()).unwrap_or(0);
            let to = r
                .to_port
                .and_then(|p| u32::try_from(p).ok())
                .unwrap_or(u32::MAX);
            from <= port && port <= to
        }
        _ => false,
    }
}

/// Whether the rule's sources include the other cluster's nodes.
fn from(r: &IpPermission, cidrs: &[Ipv4Cidr], groups: &[String]) -> bool {
    r.ip_ranges
        .iter()
        .filter_map(|ip| ip.cidr_ip.as_deref()?.parse::<Ipv4Cidr>().ok())
        .any(|range| cidrs.iter().any(|c| c.overlaps(range)))
        || r.user_id_group_pairs
            .iter()
            .filter_map(|g| g.group_id.as_deref())
            .any(|g| groups.iter().any(|x| x == g))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{IpRange, UserIdGroupPair};

    fn rule(proto: &str, from_port: Option<i32>, to_port: Option<i32>) -> IpPermission {
        IpPermission {
            ip_protocol: Some(proto.into()),
            from_port,
            to_port,
            ip_ranges: vec![IpRange {
                cidr_ip: Some("10.1.0.0/24".into()),
            }],
            user_id_group_pairs: vec![UserIdGroupPair {
                group_id: Some("sg-remote".into()),
            }],
        }
    }

    #[test]
    fn protocols_ranges_and_sources() {
        assert!(allows(&rule("-1", None, None), 8472, "udp"));
        assert!(allows(&rule("tcp", Some(4000), Some(4300)), 4240, "tcp"));
        assert!(allows(&rule("6", Some(4240), Some(4240)), 4240, "tcp"));
        assert!(!allows(&rule("tcp", Some(2379), Some(2379)), 4240, "tcp"));
        assert!(!allows(&rule("udp", Some(4240), Some(4240)), 4240, "tcp"));
        let vpc: Vec<Ipv4Cidr> = vec!["10.1.0.0/16".parse().unwrap()];
        assert!(from(&rule("-1", None, None), &vpc, &[]));
        assert!(from(
            &rule("-1", None, None),
            &[],
            &["sg-remote".to_string()]
        ));
        let other: Vec<Ipv4Cidr> = vec!["10.2.0.0/16".parse().unwrap()];
        assert!(!from(
            &rule("-1", None, None),
            &other,
            &["sg-x".to_string()]
        ));
    }
}
