//! CAP005 subnet-ip-exhaustion.

use crate::rules::inputs;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::cidr::Ipv4Cidr;
use super::common::{self, Ipam};
use super::ip_capacity;
use crate::findings::{ObjectRef, Severity};
use crate::knowledge::InstanceType;
use crate::model::{Node, Subnet};
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};
use crate::version::Minor;

pub struct SubnetIpExhaustion;

static META: RuleMeta = RuleMeta {
    code: "CAP005",
    name: "subnet-ip-exhaustion",
    severity: Severity::High,
    area: Area::Cap,
    summary: "A subnet Cilium draws pod IPs from is nearly out of addresses",
    what_it_checks: "In Cilium ENI mode, every subnet the nodes draw pod IPs from — the \
CiliumNodes' `spec.eni.subnet-ids` and the operator's `subnet-ids-filter` when set, else \
the node groups' subnets (and the subnets of nodes outside node groups): its free \
addresses (`AvailableIpAddressCount`) against the addresses the node groups in it can \
claim at maximum size, and against 10% of the subnet's CIDR. A node at full use claims \
its primary address, the secondary addresses (or /28 prefixes) of eth0 when \
first-interface-index is 0, and every further ENI with all its addresses; a node group's \
nodes are spread evenly over its subnets. Addresses the cluster's ENIs already hold \
(from describe-network-interfaces) are subtracted from the claim.",
    why_it_matters: "When the subnet runs dry the operator cannot attach ENIs or \
addresses: new pods hang in ContainerCreating and new nodes may not even get their \
primary address, although the node groups still have room to grow.",
    how_to_fix: "Give Cilium more addresses: add subnets (a secondary VPC CIDR if the VPC \
is full) and let the operator use them (CiliumNode `spec.eni.subnet-ids` / Helm \
`eni.subnetIDsFilter` or `eni.subnetTagsFilter`), lower the node groups' maximum size, or \
release unused addresses (`eni.awsReleaseExcessIPs=true`).",
    known_limits: "The even spread over subnets is what the Auto Scaling group aims for, \
not a guarantee. Without describe-network-interfaces the claim is counted in full (no \
credit for addresses already held). Pre-allocation settings that keep nodes below full \
use are not modelled. Subnets used by other workloads (load balancers, other clusters) \
show up only through their free count.",
    docs_url: "https://docs.cilium.io/en/stable/network/concepts/ipam/eni/",
};

/// Addresses one node claims at full use, split into what lands in the
/// node's own subnet (eth0) and what lands in the pod subnet (further ENIs).
fn node_claim(it: &InstanceType, fii: u32, pd: bool) -> (u64, u64) {
    let per_eni_secondaries = u64::from(it.ipv4_per_eni.saturating_sub(1))
        * if pd {
            u64::from(ip_capacity::IPS_PER_PREFIX)
        } else {
            1
        };
    let eth0 = 1 + if fii == 0 { per_eni_secondaries } else { 0 };
    let other_enis = u64::from(it.enis.saturating_sub(fii.max(1)));
    (eth0, other_enis * (1 + per_eni_secondaries))
}

/// `aws:///eu-west-1a/i-0abc` → `i-0abc`.
fn instance_id(node: &Node) -> Option<&str> {
    node.spec
        .provider_id
        .as_deref()
        .and_then(|p| p.rsplit('/').next())
        .filter(|i| i.starts_with("i-"))
}

#[derive(Default)]
struct SubnetClaim {
    claim: u64,
    lines: Vec<String>,
}

impl Rule for SubnetIpExhaustion {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        match common::ipam(cx)? {
            Some(Ipam::Eni) => {}
            _ => return Ok(vec![]),
        }
        let c = cx.cluster;
        let Some(subnets) = c.subnets.as_deref() else {
            return META.missing("no EC2 subnets (AvailableIpAddressCount)", inputs::SUBNETS);
        };
        let by_id: HashMap<&str, &Subnet> =
            subnets.iter().map(|s| (s.subnet_id.as_str(), s)).collect();
        let nodes = c.nodes.as_deref().unwrap_or_default();
        let cilium_nodes = cx.facts.cilium_nodes_by_name();
        let pd_on = c.cilium.prefix_delegation;

        // Pod subnets configured for Cilium (CiliumNode spec.eni.subnet-ids, operator filter).
        let mut pod_subnets: BTreeSet<String> = c
            .cilium_nodes
            .as_deref()
            .unwrap_or_default()
            .iter()
            .flat_map(|n| n.spec.eni.subnet_ids.iter().flatten())
            .cloned()
            .collect();
        if let Some(filter) = c.cilium.get("subnet-ids-filter") {
            pod_subnets.extend(
                filter
                    .split(|ch: char| ch.is_whitespace() || ch == ',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
        }

        let mut claims: BTreeMap<String, SubnetClaim> = BTreeMap::new();
        let mut watched: BTreeSet<String> = pod_subnets.clone();
        let mut unknown_types: BTreeSet<String> = BTreeSet::new();
        let mut ng_instances: HashSet<&str> = HashSet::new();
        let ng_names: HashSet<&str> = c
            .nodegroups
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|n| n.nodegroup_name.as_str())
            .collect();

        for ng in c.nodegroups.as_deref().unwrap_or_default() {
            let name = ng.nodegroup_name.as_str();
            let members: Vec<&Node> = nodes
                .iter()
                .filter(|n| n.nodegroup() == Some(name))
                .collect();
            ng_instances.extend(members.iter().filter_map(|n| instance_id(n)));
            if pod_subnets.is_empty() {
                watched.extend(ng.subnets.iter().cloned());
            }
            let Some(max) = ng.scaling_config.max_size.filter(|m| *m > 0) else {
                continue;
            };
            if ng.subnets.is_empty() {
                continue;
            }
            let mut types: BTreeSet<String> = ng.instance_types.iter().cloned().collect();
            if types.is_empty() {
                types = members
                    .iter()
                    .filter_map(|n| {
                        common::instance_type(
                            n,
                            cilium_nodes.get(n.metadata.name.as_str()).copied(),
                        )
                    })
                    .map(str::to_string)
                    .collect();
            }
            let fii = members
                .iter()
                .map(|n| {
                    common::first_interface_index(
                        cx,
                        cilium_nodes.get(n.metadata.name.as_str()).copied(),
                    )
                    .0
                })
                .min()
                .unwrap_or_else(|| common::first_interface_index(cx, None).0);
            // The largest claim among the group's types (the subnet must hold it).
            let mut largest: Option<(u64, u64, String)> = None;
            for t in &types {
                let Some(l) = ip_capacity::instance_limits(cx, t) else {
                    unknown_types.insert(t.clone());
                    continue;
                };
                let pd = pd_on && ip_capacity::prefix_delegation_supported(cx, &l.it);
                let (eth0, rest) = node_claim(&l.it, fii, pd);
                if largest.as_ref().is_none_or(|(a, b, _)| eth0 + rest > a + b) {
                    largest = Some((eth0, rest, t.clone()));
                }
            }
            let Some((eth0, rest, itype)) = largest else {
                continue;
            };
            let per_subnet_nodes = u64::from(max).div_ceil(ng.subnets.len() as u64);
            for node_subnet in &ng.subnets {
                let az = by_id
                    .get(node_subnet.as_str())
                    .and_then(|s| s.availability_zone.as_deref());
                if pod_subnets.is_empty() {
                    let total = per_subnet_nodes * (eth0 + rest);
                    let e = claims.entry(node_subnet.clone()).or_default();
                    e.claim += total;
                    e.lines.push(format!(
                        "node group {name}: up to {per_subnet_nodes} of maxSize {max} {itype} nodes here × {} addresses = {total}",
                        eth0 + rest
                    ));
                } else {
                    let e = claims.entry(node_subnet.clone()).or_default();
                    e.claim += per_subnet_nodes * eth0;
                    e.lines.push(format!(
                        "node group {name}: up to {per_subnet_nodes} of maxSize {max} {itype} nodes here × {eth0} eth0 addresses = {}",
                        per_subnet_nodes * eth0
                    ));
                    // Pod ENIs go to the configured pod subnets in the same AZ.
                    let same_az: Vec<&String> = pod_subnets
                        .iter()
                        .filter(|p| {
                            az.is_some()
                                && by_id
                                    .get(p.as_str())
                                    .and_then(|s| s.availability_zone.as_deref())
                                    == az
                        })
                        .collect();
                    let targets: Vec<&String> = if same_az.is_empty() {
                        pod_subnets.iter().collect()
                    } else {
                        same_az
                    };
                    let share = per_subnet_nodes.div_ceil(targets.len() as u64);
                    for p in targets {
                        let e = claims.entry(p.clone()).or_default();
                        e.claim += share * rest;
                        e.lines.push(format!(
                            "node group {name}: up to {share} {itype} nodes × {rest} pod-ENI addresses = {}",
                            share * rest
                        ));
                    }
                }
            }
        }
        // Nodes outside managed node groups: watch their subnets too (10% check).
        if pod_subnets.is_empty() {
            let instance_subnet: HashMap<&str, &str> = c
                .instances
                .as_deref()
                .unwrap_or_default()
                .iter()
                .filter_map(|i| Some((i.instance_id.as_str(), i.subnet_id.as_deref()?)))
                .collect();
            for n in nodes
                .iter()
                .filter(|n| n.nodegroup().is_none_or(|g| !ng_names.contains(g)))
            {
                if let Some(s) = instance_id(n).and_then(|i| instance_subnet.get(i)) {
                    watched.insert(s.to_string());
                }
            }
        }
        if watched.is_empty() {
            return META.missing(
                "which subnets the nodes draw pod IPs from (no node groups, no CiliumNode spec.eni.subnet-ids, no EC2 instances)",
                inputs::NODEGROUPS,
            );
        }

        // Addresses the cluster's ENIs already hold, per subnet.
        let node_instances: HashSet<&str> = nodes
            .iter()
            .filter_map(instance_id)
            .chain(ng_instances)
            .collect();
        let held: Option<HashMap<&str, u64>> = c.network_interfaces.as_deref().map(|enis| {
            let mut h: HashMap<&str, u64> = HashMap::new();
            for e in enis {
                let attached_to_node = e
                    .attachment
                    .as_ref()
                    .and_then(|a| a.instance_id.as_deref())
                    .is_some_and(|i| node_instances.contains(i));
                if let (true, Some(s)) = (attached_to_node, e.subnet_id.as_deref()) {
                    *h.entry(s).or_default() += e.private_ip_addresses.len() as u64
                        + e.ipv4_prefixes.len() as u64 * u64::from(ip_capacity::IPS_PER_PREFIX);
                }
            }
            h
        });

        let mut findings = Vec::new();
        let mut not_found = Vec::new();
        for id in &watched {
            let Some(subnet) = by_id.get(id.as_str()) else {
                not_found.push(id.clone());
                continue;
            };
            let Some(free) = subnet.available_ip_address_count else {
                continue;
            };
            let free = u64::from(free);
            let cidr: Option<Ipv4Cidr> = subnet.cidr_block.as_deref().and_then(|c| c.parse().ok());
            let size = cidr.map(Ipv4Cidr::size);
            let claim = claims.get(id.as_str());
            let held_here = held
                .as_ref()
                .map(|h| h.get(id.as_str()).copied().unwrap_or(0));
            let still_needed = claim.map(|c| c.claim.saturating_sub(held_here.unwrap_or(0)));
            let short = still_needed.is_some_and(|n| free < n);
            // Under 10% of the CIDR free: free × 10 < size.
            let low = size.is_some_and(|s| free * 10 < s);
            if !short && !low {
                continue;
            }
            let place = format!(
                "{}{}",
                cidr.map(|c| c.to_string())
                    .unwrap_or_else(|| "unknown CIDR".into()),
                subnet
                    .availability_zone
                    .as_deref()
                    .map(|a| format!(", {a}"))
                    .unwrap_or_default()
            );
            let mut reasons = Vec::new();
            if let (true, Some(n)) = (short, still_needed) {
                reasons.push(format!(
                    "the node groups in it can still claim {n} at maximum size"
                ));
            }
            if let (true, Some(s)) = (low, size) {
                reasons.push(format!("that is under 10% of its {s} addresses"));
            }
            let mut f = META.finding(
                ObjectRef::global("Subnet", id),
                format!(
                    "Subnet {id} ({place}) has {free} free addresses; {}",
                    reasons.join("; ")
                ),
            );
            f = f.with_evidence(format!("AvailableIpAddressCount {free} (describe-subnets)"));
            if let Some(cl) = claim {
                for l in &cl.lines {
                    f = f.with_evidence(l.clone());
                }
                f = f.with_evidence(match held_here {
                    Some(h) => format!("already held by the cluster's ENIs in this subnet: {h} (describe-network-interfaces)"),
                    None => "addresses already held unknown (no describe-network-interfaces): claim counted in full".to_string(),
                });
            }
            f = f.with_remediation(remediation(cx, subnet));
            findings.push(f);
        }
        if findings.is_empty() && !unknown_types.is_empty() {
            return META.missing(
                format!(
                    "EC2 network limits for instance type(s) {}",
                    unknown_types.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
                inputs::instance_types(&unknown_types),
            );
        }
        if findings.is_empty() && not_found.len() == watched.len() {
            return META.missing(
                format!(
                    "subnets {} are not in the describe-subnets output",
                    not_found.join(", ")
                ),
                format!(
                    "aws ec2 describe-subnets --subnet-ids {} --output json > ec2-subnets.json",
                    not_found.join(" ")
                ),
            );
        }
        Ok(findings)
    }
}

fn remediation(cx: &Context, subnet: &Subnet) -> String {
    let vpc = subnet.vpc_id.as_deref().unwrap_or("VPC_ID");
    let az = subnet.availability_zone.as_deref().unwrap_or("AZ");
    // eni.subnetIDsFilter is a string in the 1.12 chart and a list from 1.13
    // (eni_iam.json helm_values_eni).
    let list_syntax = cx
        .cluster
        .cilium
        .version
        .is_none_or(|v| v.minor() >= Minor::new(1, 13));
    let filter = if list_syntax {
        format!("'{{{},NEW_SUBNET_ID}}'", subnet.subnet_id)
    } else {
        format!("'{} NEW_SUBNET_ID'", subnet.subnet_id)
    };
    let mut fix = format!(
        "# Add address space in {az} (a secondary VPC CIDR if the VPC has none left), then let Cilium use it:\n\
aws ec2 associate-vpc-cidr-block --vpc-id {vpc} --cidr-block NEW_VPC_CIDR\n\
aws ec2 create-subnet --vpc-id {vpc} --availability-zone {az} --cidr-block NEW_SUBNET_CIDR"
    );
    if common::helm_key_exists(cx, "eni.subnetIDsFilter") {
        fix.push_str(&format!(
            "\nhelm upgrade cilium cilium/cilium -n kube-system --reuse-values --set eni.subnetIDsFilter={filter}"
        ));
    }
    if common::helm_key_exists(cx, "eni.awsReleaseExcessIPs") {
        fix.push_str(
            "\n# Also consider releasing addresses pods do not use:\n\
helm upgrade cilium cilium/cilium -n kube-system --reuse-values --set eni.awsReleaseExcessIPs=true",
        );
    }
    fix
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)]
mod tests {
    use super::*;
    use crate::knowledge::Hypervisor;
    use crate::model::{Cluster, Ec2InstanceType};
    use crate::rules::testing::outcome;
    use serde_json::json;

    #[test]
    fn node_claim_split() {
        let m5 = InstanceType {
            name: "m5.large".into(),
            enis: 3,
            enis_all_cards: 3,
            ipv4_per_eni: 10,
            hypervisor: Hypervisor::Nitro,
            bare_metal: false,
            vcpus: Some(2),
        };
        assert_eq!(node_claim(&m5, 0, false), (10, 20));
        assert_eq!(node_claim(&m5, 1, false), (1, 20));
        assert_eq!(node_claim(&m5, 1, true), (1, 2 * (1 + 144)));
        assert_eq!(node_claim(&m5, 2, false), (1, 10));
    }

    fn cluster(free: u32, max: u32) -> Cluster {
        let mut c = Cluster::default();
        c.config_maps = Some(vec![serde_json::from_value(json!({
            "metadata":{"name":"cilium-config","namespace":"kube-system"},
            "data":{"ipam":"eni"}}))
        .unwrap()]);
        c.subnets = Some(vec![serde_json::from_value(json!({
            "SubnetId":"subnet-0a1","VpcId":"vpc-1","CidrBlock":"10.0.1.0/24",
            "AvailableIpAddressCount":free,"AvailabilityZone":"eu-west-1a"}))
        .unwrap()]);
        c.nodegroups = Some(vec![serde_json::from_value(json!({
            "nodegroupName":"ng-1","instanceTypes":["m5.large"],"subnets":["subnet-0a1"],
            "scalingConfig":{"minSize":1,"maxSize":max,"desiredSize":1}}))
        .unwrap()]);
        c.instance_types = Some(vec![Ec2InstanceType {
            instance_type: "m5.large".into(),
            enis: 3,
            enis_all_cards: 3,
            ipv4_per_eni: 10,
            hypervisor: Some("nitro".into()),
            bare_metal: false,
            vcpus: Some(2),
        }]);
        c.finish();
        c
    }

    #[test]
    fn claim_against_free() {
        // 5 nodes × 30 addresses = 150 claim; 200 free (78% of 256): quiet.
        assert_eq!(outcome(&SubnetIpExhaustion, &cluster(200, 5)), Ok(vec![]));
        // 150 claim, 149 free: fires.
        let Ok(f) = outcome(&SubnetIpExhaustion, &cluster(149, 5)) else {
            panic!()
        };
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.contains("can still claim 150"),
            "{}",
            f[0].message
        );
        // Boundary of the 10% rule: 26 free of 256 is over 10%, 25 is under.
        assert_eq!(outcome(&SubnetIpExhaustion, &cluster(26, 0)), Ok(vec![]));
        let Ok(f) = outcome(&SubnetIpExhaustion, &cluster(25, 0)) else {
            panic!()
        };
        assert!(f[0].message.contains("under 10% of its 256"));
    }

    #[test]
    fn held_addresses_are_credited() {
        let mut c = cluster(149, 5);
        c.nodes = Some(vec![serde_json::from_value(json!({
            "metadata":{"name":"ip-10-0-1-5.eu-west-1.compute.internal","labels":{"eks.amazonaws.com/nodegroup":"ng-1"}},
            "spec":{"providerID":"aws:///eu-west-1a/i-0abc"}}))
        .unwrap()]);
        c.network_interfaces = Some(vec![serde_json::from_value(json!({
            "NetworkInterfaceId":"eni-1","SubnetId":"subnet-0a1",
            "Attachment":{"InstanceId":"i-0abc","DeviceIndex":0},
            "PrivateIpAddresses":[{"PrivateIpAddress":"10.0.1.5"},{"PrivateIpAddress":"10.0.1.6"}]}))
        .unwrap()]);
        assert_eq!(outcome(&SubnetIpExhaustion, &c), Ok(vec![]));
    }

    #[test]
    fn not_applicable_and_missing() {
        let mut c = cluster(1, 5);
        c.config_maps.as_mut().unwrap()[0]
            .data
            .insert("ipam".into(), "cluster-pool".into());
        c.finish();
        assert_eq!(outcome(&SubnetIpExhaustion, &c), Ok(vec![]));
        let mut c = cluster(1, 5);
        c.subnets = None;
        assert!(outcome(&SubnetIpExhaustion, &c).is_err());
    }
}
