//! CAP010 cilium-enis-leaked.

use std::collections::BTreeMap;

use super::common;
use crate::findings::{ObjectRef, Severity};
use crate::model::CILIUM_ENI_CLUSTER_TAG;
use crate::rules::{inputs, Area, Context, Outcome, Rule, RuleMeta};

pub struct CiliumEnisLeaked;

static META: RuleMeta = RuleMeta {
    code: "CAP010",
    name: "cilium-enis-leaked",
    severity: Severity::Medium,
    area: Area::Cap,
    summary: "ENIs Cilium's operator created sit detached (`available`), holding subnet addresses",
    what_it_checks: "`aws ec2 describe-network-interfaces`: network interfaces Cilium's \
operator created (tag `io.cilium/cilium-managed`, or description `Cilium-CNI (<instance \
id>)`) whose status is `available`, i.e. attached to no instance. ENIs tagged \
`io.cilium/cluster-name` with another cluster's name are left out.",
    why_it_matters: "A detached ENI still holds its private addresses in the subnet: leaked \
ENIs shrink the subnet for every node and pod until new ENIs cannot be created \
(`InsufficientFreeAddressesInSubnet`), and count against the account's ENI quota. They \
pile up when the operator creates ENIs it fails to attach (an instance gone, cilium#9533) \
or keeps creating new ones (cilium#15877), or when nodes are terminated without \
delete-on-termination set on Cilium's ENIs.",
    how_to_fix: "Delete the detached ENIs once you have checked they belong to this cluster \
(the finding lists them). Keep the operator's garbage collection of unattached ENIs on \
(Helm `eni.gcInterval`, default 5m; it removes ENIs carrying `eni.gcTags`), and find why \
they leaked: the operator log (`Unable to attach ENI`, `No more IPs available, creating \
new ENI`), stale CiliumNodes (CAP011).",
    known_limits: "Needs a DescribeNetworkInterfaces dump of the VPC. An ENI detached for a \
moment while being attached also counts. ENIs created before Cilium tagged them are \
recognised by their description only.",
    docs_url: "https://docs.cilium.io/en/stable/network/concepts/ipam/eni/",
};

impl Rule for CiliumEnisLeaked {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        if common::ipam(cx)?.is_none() {
            return Ok(vec![]);
        }
        let Some(enis) = c.network_interfaces.as_deref() else {
            return META.missing(
                "no EC2 DescribeNetworkInterfaces output",
                inputs::NETWORK_INTERFACES,
            );
        };
        let cluster = c.name.as_deref();
        // Subnet → the detached ENIs in it.
        let mut by_subnet: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        let mut addresses = 0usize;
        let mut ids = Vec::new();
        for eni in enis {
            if !eni.created_by_cilium() || eni.status.as_deref() != Some("available") {
                continue;
            }
            if let (Some(tagged), Some(name)) = (eni.tag(CILIUM_ENI_CLUSTER_TAG), cluster) {
                if tagged != name {
                    continue;
                }
            }
            let held = eni
                .addresses()
                .collect::<std::collections::BTreeSet<_>>()
                .len()
                + 16 * eni.ipv4_prefixes.len();
            addresses += held;
            ids.push(eni.network_interface_id.clone());
            by_subnet
                .entry(eni.subnet_id.as_deref().unwrap_or("(subnet unknown)"))
                .or_default()
                .push(format!(
                    "{} status available, {held} address(es){}",
                    eni.network_interface_id,
                    eni.description
                        .as_deref()
                        .map(|d| format!(", description {d:?}"))
                        .unwrap_or_default()
                ));
        }
        if ids.is_empty() {
            return Ok(vec![]);
        }
        // Instances (from `Cilium-CNI (i-…)`) with several detached ENIs:
        // the operator kept creating ENIs for them.
        let mut per_instance: BTreeMap<&str, usize> = BTreeMap::new();
        for eni in enis
            .iter()
            .filter(|e| ids.contains(&e.network_interface_id))
        {
            if let Some(i) = eni.cilium_description_instance().filter(|i| !i.is_empty()) {
                *per_instance.entry(i).or_default() += 1;
            }
        }
        let repeated: Vec<String> = per_instance
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(i, n)| format!("{n} for {i}"))
            .collect();
        let mut findings = Vec::new();
        for (subnet, lines) in by_subnet {
            let mut message = format!(
                "{} ENI(s) created by Cilium's operator are detached (available) in subnet {subnet}, holding addresses no pod can use",
                lines.len()
            );
            if !repeated.is_empty() {
                message.push_str(&format!(
                    "; the operator keeps creating ENIs it does not attach ({})",
                    common::capped(repeated.clone(), 3).join(", ")
                ));
            }
            let mut f = META.finding(ObjectRef::global("Subnet", subnet), message);
            for l in common::capped(lines, 10) {
                f = f.with_evidence(l);
            }
            findings.push(f);
        }
        let mut fix =
            String::from("# Check each ENI first (attachment history, tags), then delete it:\n");
        for id in ids.iter().take(20) {
            fix.push_str(&format!(
                "aws ec2 delete-network-interface --network-interface-id {id}\n"
            ));
        }
        if ids.len() > 20 {
            fix.push_str(&format!("# … and {} more\n", ids.len() - 20));
        }
        fix.push_str(
            "# Keep the operator's ENI garbage collection on (Helm): eni.gcInterval: 5m, eni.gcTags\n\
# Why the operator created them (an instance gone: CAP011; an operator that keeps creating\n\
# ENIs, as in cilium#15877, needs an operator release with the fix):\n\
kubectl -n kube-system logs deploy/cilium-operator --since=24h | grep -E 'Unable to attach ENI|creating new ENI|Resolving IP deficit'",
        );
        let total = findings.len();
        Ok(findings
            .into_iter()
            .enumerate()
            .map(|(i, f)| {
                let f = if i == 0 && total > 1 {
                    f.with_evidence(format!(
                        "{} detached Cilium ENI(s) in all, {addresses} address(es)",
                        ids.len()
                    ))
                } else {
                    f
                };
                f.with_remediation(fix.clone())
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{fired, load_cluster, outcome};
    use serde_json::{json, Value};

    fn config() -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cilium-config", "namespace": "kube-system"},
            "data": {"ipam": "eni", "cluster-name": "prod"}})
    }

    fn eni(id: &str, status: &str, tags: Value, description: &str) -> Value {
        json!({"NetworkInterfaceId": id, "Status": status, "SubnetId": "subnet-0aa1",
               "Description": description, "TagSet": tags,
               "PrivateIpAddress": "10.0.1.50",
               "PrivateIpAddresses": [{"Primary": true, "PrivateIpAddress": "10.0.1.50"},
                                      {"Primary": false, "PrivateIpAddress": "10.0.1.51"}]})
    }

    #[test]
    fn detached_cilium_enis_fire() {
        let c = load_cluster(&[
            config(),
            json!({"NetworkInterfaces": [
                eni("eni-leak1", "available",
                    json!([{"Key": "io.cilium/cilium-managed", "Value": "true"},
                           {"Key": "io.cilium/cluster-name", "Value": "prod"}]),
                    "Cilium-CNI (i-0abc)"),
                eni("eni-leak2", "available", json!([]), "Cilium-CNI (i-0def)"),
                eni("eni-other", "available",
                    json!([{"Key": "io.cilium/cilium-managed", "Value": "true"},
                           {"Key": "io.cilium/cluster-name", "Value": "staging"}]),
                    "Cilium-CNI (i-0123)"),
                eni("eni-inuse", "in-use", json!([]), "Cilium-CNI (i-0abc)"),
                eni("eni-efs", "available", json!([]), "EFS mount target"),
            ]}),
        ]);
        let f = fired(outcome(&CiliumEnisLeaked, &c));
        assert_eq!(f.len(), 1);
        assert!(f[0].message.starts_with("2 ENI(s)"), "{}", f[0].message);
        assert!(!f[0].message.contains("keeps creating"));
        assert!(f[0].evidence[0].contains("eni-leak1 status available, 2 address(es)"));
        assert!(f[0]
            .remediation
            .contains("--network-interface-id eni-leak2"));
        assert!(!f[0].remediation.contains("eni-other"));
    }

    #[test]
    fn several_for_one_instance_say_the_operator_keeps_creating_them() {
        let c = load_cluster(&[
            config(),
            json!({"NetworkInterfaces": [
                eni("eni-a", "available", json!([]), "Cilium-CNI (i-0abc)"),
                eni("eni-b", "available", json!([]), "Cilium-CNI (i-0abc)"),
                eni("eni-c", "available", json!([]), "Cilium-CNI (i-0abc)"),
            ]}),
        ]);
        let f = fired(outcome(&CiliumEnisLeaked, &c));
        assert!(
            f[0].message
                .contains("keeps creating ENIs it does not attach (3 for i-0abc)"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn attached_only_and_missing() {
        let c = load_cluster(&[config()]);
        assert!(outcome(&CiliumEnisLeaked, &c).is_err());
        let c = load_cluster(&[
            config(),
            json!({"NetworkInterfaces": [eni("eni-1", "in-use", json!([]), "Cilium-CNI (i-1)")]}),
        ]);
        assert_eq!(outcome(&CiliumEnisLeaked, &c), Ok(vec![]));
    }
}
