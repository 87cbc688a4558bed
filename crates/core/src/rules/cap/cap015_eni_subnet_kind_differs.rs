//! CAP015 eni-subnet-kind-differs.

use crate::rules::inputs;
use std::collections::HashMap;

use super::common::{self, Ipam};
use crate::findings::{ObjectRef, Severity};
use crate::model::{Cluster, RouteTable};
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct EniSubnetKindDiffers;

static META: RuleMeta = RuleMeta {
    code: "CAP015",
    name: "eni-subnet-kind-differs",
    severity: Severity::Medium,
    area: Area::Cap,
    summary: "ENI IPAM: Cilium attached a pod ENI in a public subnet to a node in a private one (or the reverse)",
    what_it_checks: "ENI IPAM: for each CiliumNode, the subnet of every ENI in \
`status.eni.enis` against the node's own subnet (`spec.eni.node-subnet-id`, else the \
instance's subnet from DescribeInstances), each judged public or private by its route \
table (`aws ec2 describe-route-tables`: a default route to an internet gateway is \
public; a subnet without an explicit association uses the VPC's main table).",
    why_it_matters: "Unless told which subnets to use, the operator puts a node's next ENI in \
the subnet of its VPC and zone with the most free addresses, public or private. Pods on \
an ENI of the other kind have odd connectivity once the node's first ENI is full: in a \
public subnet their traffic to the internet leaves through an internet gateway without a \
public address (no NAT), in a private one the reverse (cilium#20553).",
    how_to_fix: "Pin the subnets pod ENIs may use: Helm `eni.subnetIDsFilter` (subnet ids) or \
`eni.subnetTagsFilter` (a tag only the pod subnets carry); these apply to every node. \
Per node group, the CNI configuration's `eni` section can set `subnet-tags` \
(`cni.customConf` with a CNI ConfigMap, as shown in cilium#18239). Pods already on the \
wrong ENI keep their address until they are recreated.",
    known_limits: "Needs CiliumNodes (their status.eni.enis) and the VPC's route tables with \
their associations; a subnet whose table is not in the dump is not judged. Routes through \
a firewall or a transit gateway are not told apart from private ones.",
    docs_url: "https://docs.cilium.io/en/stable/network/concepts/ipam/eni/",
};

/// Whether a subnet is public: `None` when its route table is unknown.
fn public(
    tables: &[RouteTable],
    vpc_main: &HashMap<&str, &RouteTable>,
    subnet: &str,
    vpc: Option<&str>,
) -> Option<bool> {
    let explicit = tables.iter().find(|t| {
        t.associations
            .iter()
            .any(|a| a.subnet_id.as_deref() == Some(subnet))
    });
    let table = explicit.or_else(|| vpc.and_then(|v| vpc_main.get(v).copied()))?;
    Some(table.routes_to_internet_gateway())
}

fn node_subnet<'a>(c: &'a Cluster, cn: &'a crate::model::CiliumNode) -> Option<&'a str> {
    cn.spec
        .eni
        .node_subnet_id
        .as_deref()
        .filter(|s| !s.is_empty())
        .or_else(|| {
            let id = cn.instance_id()?;
            c.instances
                .as_deref()?
                .iter()
                .find(|i| i.instance_id == id)?
                .subnet_id
                .as_deref()
        })
}

fn kind(public: bool) -> &'static str {
    if public {
        "public"
    } else {
        "private"
    }
}

impl Rule for EniSubnetKindDiffers {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        if common::ipam(cx)? != Some(Ipam::Eni) {
            return Ok(vec![]);
        }
        let Some(cilium_nodes) = c.cilium_nodes.as_deref() else {
            return META.missing("no CiliumNode objects", crate::rules::inputs::CILIUM_NODES);
        };
        let Some(tables) = c.route_tables.as_deref() else {
            return META.missing(
                "no EC2 DescribeRouteTables output (with its subnet associations)",
                inputs::ROUTE_TABLES,
            );
        };
        let vpc_main: HashMap<&str, &RouteTable> = tables
            .iter()
            .filter(|t| t.associations.iter().any(|a| a.main == Some(true)))
            .filter_map(|t| Some((t.vpc_id.as_deref()?, t)))
            .collect();
        let mut findings = Vec::new();
        for cn in cilium_nodes {
            let Some(own) = node_subnet(c, cn) else {
                continue;
            };
            let vpc = cn.spec.eni.vpc_id.as_deref();
            let Some(own_public) = public(tables, &vpc_main, own, vpc) else {
                continue;
            };
            let mut lines = Vec::new();
            for (id, eni) in &cn.status.eni.enis {
                let Some(subnet) = eni.subnet.id.as_deref().filter(|s| *s != own) else {
                    continue;
                };
                if let Some(p) = public(tables, &vpc_main, subnet, vpc).filter(|p| *p != own_public)
                {
                    lines.push(format!(
                        "{id} (interface {}) in {} subnet {subnet}{}",
                        eni.number.map_or("?".to_string(), |n| n.to_string()),
                        kind(p),
                        eni.subnet
                            .cidr
                            .as_deref()
                            .map(|c| format!(" ({c})"))
                            .unwrap_or_default()
                    ));
                }
            }
            if lines.is_empty() {
                continue;
            }
            let name = cn.metadata.name.as_str();
            let mut f = META
                .finding(
                    ObjectRef::global("CiliumNode", name),
                    format!(
                        "CiliumNode {name} sits in {} subnet {own} but Cilium attached {} ENI(s) in {} subnets: pods on them take the other subnet's route out",
                        kind(own_public),
                        lines.len(),
                        kind(!own_public)
                    ),
                )
                .with_evidence(format!("node subnet {own}: {}", kind(own_public)));
            for l in lines {
                f = f.with_evidence(l);
            }
            findings.push(f.with_remediation(format!(
                "# Pin the pod subnets (Helm values), e.g. the {} subnets of the node's zone:\n\
#   eni:\n#     subnetIDsFilter: [subnet-…]      # or subnetTagsFilter: [\"key=value\"]\n\
# Then recreate the pods of {name} that hold addresses of the other ENIs.",
                kind(own_public)
            )));
        }
        Ok(findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{fired, load_cluster, outcome};
    use serde_json::{json, Value};

    fn inputs(eni_subnet: &str) -> Vec<Value> {
        vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "cilium-config", "namespace": "kube-system"}, "data": {"ipam": "eni"}}),
            json!({"apiVersion": "cilium.io/v2", "kind": "CiliumNodeList", "items": [
                {"metadata": {"name": "ip-10-0-1-10.ec2.internal"},
                 "spec": {"instance-id": "i-1", "eni": {"vpc-id": "vpc-1", "node-subnet-id": "subnet-priv"}},
                 "status": {"eni": {"enis": {
                    "eni-0": {"id": "eni-0", "number": 0, "subnet": {"id": "subnet-priv"}},
                    "eni-1": {"id": "eni-1", "number": 1, "subnet": {"id": eni_subnet, "cidr": "10.0.200.0/24"}}}}}}]}),
            json!({"RouteTables": [
                {"RouteTableId": "rtb-main", "VpcId": "vpc-1", "Associations": [{"Main": true, "RouteTableId": "rtb-main"}],
                 "Routes": [{"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local", "State": "active"},
                            {"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1", "State": "active"}]},
                {"RouteTableId": "rtb-pub", "VpcId": "vpc-1", "Associations": [{"Main": false, "SubnetId": "subnet-pub"}],
                 "Routes": [{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1", "State": "active"}]}]}),
        ]
    }

    #[test]
    fn private_node_with_a_public_eni() {
        let f = fired(outcome(
            &EniSubnetKindDiffers,
            &load_cluster(&inputs("subnet-pub")),
        ));
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.contains(
                "sits in private subnet subnet-priv but Cilium attached 1 ENI(s) in public subnets"
            ),
            "{}",
            f[0].message
        );
        assert!(f[0].evidence[1]
            .starts_with("eni-1 (interface 1) in public subnet subnet-pub (10.0.200.0/24)"));
    }

    #[test]
    fn same_kind_is_quiet_and_tables_are_needed() {
        // subnet-priv2 has no explicit association: the main (private) table.
        assert_eq!(
            outcome(
                &EniSubnetKindDiffers,
                &load_cluster(&inputs("subnet-priv2"))
            ),
            Ok(vec![])
        );
        let mut docs = inputs("subnet-pub");
        docs.pop();
        assert!(outcome(&EniSubnetKindDiffers, &load_cluster(&docs)).is_err());
    }
}
