//! CAP014 pool-addresses-not-on-enis.

use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;

use super::cidr::Ipv4Cidr;
use super::common::{self, Ipam};
use crate::findings::{ObjectRef, Severity};
use crate::model::NetworkInterface;
use crate::rules::{inputs, Area, Context, Outcome, Rule, RuleMeta};

pub struct PoolAddressesNotOnEnis;

static META: RuleMeta = RuleMeta {
    code: "CAP014",
    name: "pool-addresses-not-on-enis",
    severity: Severity::High,
    area: Area::Cap,
    summary:
        "ENI IPAM: a CiliumNode's pool holds addresses EC2 does not have on that instance's ENIs",
    what_it_checks: "ENI IPAM: each CiliumNode's `spec.ipam.pool` addresses against the \
ENIs `aws ec2 describe-network-interfaces` shows attached to its instance (their private \
addresses and /28 prefixes), and the ENIs of its `status.eni.enis` against where EC2 says \
they are attached. A node is judged only when the dump holds its instance's primary ENI \
(device index 0), so a dump filtered to Cilium's ENIs does not count as missing addresses.",
    why_it_matters: "A pod given an address that is not on one of its node's ENIs gets no \
traffic: the VPC routes the address to another instance, or nowhere. Reports show pods \
assigned an address attached to no ENI (cilium#13412), and CiliumNodes that gathered the \
ENIs of other instances (cilium#15682; CAP012), failing with `unable to find ifindex for \
interface MAC`.",
    how_to_fix: "Restart the operator so it resynchronises the ENIs from EC2 \
(`kubectl -n kube-system rollout restart deploy/cilium-operator`), then check the \
CiliumNode again; pods already holding an address that is not on the node need to be \
recreated. If a CiliumNode keeps ENIs of other instances, see CAP012 (its instance id).",
    known_limits: "Needs DescribeNetworkInterfaces covering the node's ENIs; addresses being \
attached or released at the moment of the dump count too. IPv6 is not read.",
    docs_url: "https://docs.cilium.io/en/stable/network/concepts/ipam/eni/",
};

/// What EC2 has on one instance: addresses and prefixes of its attached ENIs.
#[derive(Default)]
struct OnInstance<'a> {
    primary_seen: bool,
    addresses: BTreeSet<&'a str>,
    prefixes: Vec<Ipv4Cidr>,
}

impl OnInstance<'_> {
    fn holds(&self, address: &str) -> bool {
        if self.addresses.contains(address) {
            return true;
        }
        let Ok(ip) = address.parse::<Ipv4Addr>() else {
            return false;
        };
        let ip = u32::from(ip);
        self.prefixes
            .iter()
            .any(|p| p.first() <= ip && ip <= p.last())
    }
}

fn attached_to(eni: &NetworkInterface) -> Option<&str> {
    eni.attachment.as_ref()?.instance_id.as_deref()
}

impl Rule for PoolAddressesNotOnEnis {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        if common::ipam(cx)? != Some(Ipam::Eni) {
            return Ok(vec![]);
        }
        let Some(cilium_nodes) = c.cilium_nodes.as_deref() else {
            return META.missing("no CiliumNode objects", inputs::CILIUM_NODES);
        };
        let Some(enis) = c.network_interfaces.as_deref() else {
            return META.missing(
                "no EC2 DescribeNetworkInterfaces output",
                inputs::NETWORK_INTERFACES,
            );
        };
        let mut on: HashMap<&str, OnInstance> = HashMap::new();
        let by_id: HashMap<&str, &NetworkInterface> = enis
            .iter()
            .map(|e| (e.network_interface_id.as_str(), e))
            .collect();
        for eni in enis {
            let Some(instance) = attached_to(eni) else {
                continue;
            };
            let entry = on.entry(instance).or_default();
            if eni.attachment.as_ref().and_then(|a| a.device_index) == Some(0) {
                entry.primary_seen = true;
            }
            entry.addresses.extend(eni.addresses());
            entry.prefixes.extend(
                eni.ipv4_prefixes
                    .iter()
                    .filter_map(|p| p.ipv4_prefix.as_deref()?.parse::<Ipv4Cidr>().ok()),
            );
        }
        let mut findings = Vec::new();
        let mut judged = 0usize;
        for cn in cilium_nodes {
            let Some(id) = cn.instance_id() else {
                continue;
            };
            let Some(ec2) = on.get(id).filter(|o| o.primary_seen) else {
                continue;
            };
            judged += 1;
            let name = cn.metadata.name.as_str();
            let missing: Vec<&String> =
                cn.spec.ipam.pool.iter().filter(|a| !ec2.holds(a)).collect();
            let elsewhere: Vec<String> = cn
                .status
                .eni
                .enis
                .keys()
                .filter_map(|eni_id| {
                    let eni = by_id.get(eni_id.as_str())?;
                    match attached_to(eni) {
                        Some(other) if other != id => {
                            Some(format!("{eni_id} is attached to {other}, not {id}"))
                        }
                        None => Some(format!(
                            "{eni_id} is attached to no instance (status {})",
                            eni.status.as_deref().unwrap_or("unknown")
                        )),
                        _ => None,
                    }
                })
                .collect();
            if missing.is_empty() && elsewhere.is_empty() {
                continue;
            }
            let used: Vec<&&String> = missing
                .iter()
                .filter(|a| cn.status.ipam.used.contains(a))
                .collect();
            let mut message = format!("CiliumNode {name} (instance {id})");
            if !missing.is_empty() {
                message.push_str(&format!(
                    " has {} pool address(es) that are on none of the instance's ENIs",
                    missing.len()
                ));
                if !used.is_empty() {
                    message.push_str(&format!(", {} of them in use by pods", used.len()));
                }
            }
            if !elsewhere.is_empty() {
                message.push_str(if missing.is_empty() {
                    " lists ENIs EC2 has not attached to its instance"
                } else {
                    "; it lists ENIs EC2 has not attached to its instance"
                });
            }
            let mut f = META.finding(ObjectRef::global("CiliumNode", name), message);
            if !missing.is_empty() {
                let shown: Vec<String> = missing.iter().take(10).map(|a| a.to_string()).collect();
                f = f.with_evidence(format!(
                    "spec.ipam.pool not on the ENIs of {id}: {}{}",
                    shown.join(", "),
                    if missing.len() > 10 {
                        format!(" … and {} more", missing.len() - 10)
                    } else {
                        String::new()
                    }
                ));
                f = f.with_evidence(format!(
                    "EC2: {} address(es) and {} prefix(es) on the ENIs attached to {id}",
                    ec2.addresses.len(),
                    ec2.prefixes.len()
                ));
            }
            for l in common::capped(elsewhere, 5) {
                f = f.with_evidence(format!("status.eni.enis: {l}"));
            }
            findings.push(f.with_remediation(format!(
                "aws ec2 describe-network-interfaces --filters Name=attachment.instance-id,Values={id} --query 'NetworkInterfaces[].PrivateIpAddresses[].PrivateIpAddress'\n\
kubectl -n kube-system rollout restart deploy/cilium-operator\n\
kubectl get ciliumnode {name} -o jsonpath='{{.spec.ipam.pool}}'"
            )));
        }
        let with_id = cilium_nodes
            .iter()
            .filter(|n| n.instance_id().is_some())
            .count();
        if judged == 0 && with_id > 0 {
            return META.missing(
                "the DescribeNetworkInterfaces output holds no CiliumNode instance's primary ENI",
                inputs::NETWORK_INTERFACES,
            );
        }
        Ok(findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{fired, load_cluster, missing, outcome};
    use serde_json::{json, Value};

    fn config() -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cilium-config", "namespace": "kube-system"},
            "data": {"ipam": "eni"}})
    }

    fn cilium_node(pool: &[&str], used: &[&str], enis: &[&str]) -> Value {
        let pool: serde_json::Map<String, Value> = pool
            .iter()
            .map(|a| (a.to_string(), json!({"resource": "eni-1"})))
            .collect();
        let used: serde_json::Map<String, Value> = used
            .iter()
            .map(|a| (a.to_string(), json!({"owner": "default/web"})))
            .collect();
        let enis: serde_json::Map<String, Value> = enis
            .iter()
            .map(|e| (e.to_string(), json!({"id": e})))
            .collect();
        json!({"apiVersion": "cilium.io/v2", "kind": "CiliumNodeList", "items": [
            {"metadata": {"name": "ip-10-80-17-191.ec2.internal"},
             "spec": {"instance-id": "i-0node", "ipam": {"pool": pool}},
             "status": {"ipam": {"used": used}, "eni": {"enis": enis}}}]})
    }

    fn enis() -> Value {
        json!({"NetworkInterfaces": [
            {"NetworkInterfaceId": "eni-0", "Status": "in-use", "PrivateIpAddress": "10.80.17.191",
             "Attachment": {"InstanceId": "i-0node", "DeviceIndex": 0},
             "PrivateIpAddresses": [{"PrivateIpAddress": "10.80.17.191"}]},
            {"NetworkInterfaceId": "eni-1", "Status": "in-use", "Description": "Cilium-CNI (i-0node)",
             "Attachment": {"InstanceId": "i-0node", "DeviceIndex": 1},
             "PrivateIpAddresses": [{"PrivateIpAddress": "10.80.17.232"}, {"PrivateIpAddress": "10.80.17.40"}],
             "Ipv4Prefixes": [{"Ipv4Prefix": "10.80.18.16/28"}]},
            {"NetworkInterfaceId": "eni-9", "Status": "in-use",
             "Attachment": {"InstanceId": "i-0other", "DeviceIndex": 1},
             "PrivateIpAddresses": [{"PrivateIpAddress": "10.80.17.39"}]}]})
    }

    #[test]
    fn pool_address_on_another_instance() {
        // cilium#13412: a pod got 10.80.17.39, on none of its node's ENIs.
        let c = load_cluster(&[
            config(),
            cilium_node(
                &["10.80.17.232", "10.80.17.40", "10.80.17.39", "10.80.18.20"],
                &["10.80.17.39"],
                &["eni-1", "eni-9"],
            ),
            enis(),
        ]);
        let f = fired(outcome(&PoolAddressesNotOnEnis, &c));
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.contains(
                "has 1 pool address(es) that are on none of the instance's ENIs, 1 of them in use"
            ),
            "{}",
            f[0].message
        );
        assert!(f[0].evidence[0].ends_with("10.80.17.39"));
        assert!(f[0]
            .evidence
            .iter()
            .any(|e| e == "status.eni.enis: eni-9 is attached to i-0other, not i-0node"));
    }

    #[test]
    fn consistent_and_unjudged() {
        let c = load_cluster(&[
            config(),
            cilium_node(&["10.80.17.232", "10.80.18.31"], &[], &["eni-1"]),
            enis(),
        ]);
        assert_eq!(outcome(&PoolAddressesNotOnEnis, &c), Ok(vec![]));
        // Only Cilium's ENIs in the dump: the node is not judged.
        let only_cilium = json!({"NetworkInterfaces": [
            {"NetworkInterfaceId": "eni-1", "Attachment": {"InstanceId": "i-0node", "DeviceIndex": 1}}]});
        let c = load_cluster(&[
            config(),
            cilium_node(&["10.80.17.5"], &[], &[]),
            only_cilium,
        ]);
        assert!(missing(outcome(&PoolAddressesNotOnEnis, &c)).contains("primary ENI"));
    }
}
