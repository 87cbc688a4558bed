//! CAP009 agent-ipam-pool-full.

use super::common::{self, Ipam};
use crate::findings::{ObjectRef, Severity};
use crate::rules::inputs;
use crate::rules::ops::common as ops;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct AgentIpamPoolFull;

/// Owners the agent allocates for itself (not pods).
const OWN: &[&str] = &["router", "health", "ingress"];

static META: RuleMeta = RuleMeta {
    code: "CAP009",
    name: "agent-ipam-pool-full",
    severity: Severity::High,
    area: Area::Cap,
    summary: "A Cilium agent has handed out every address of its IPAM pool (cilium status)",
    what_it_checks: "Each `cilium status` output: `IPAM: IPv4: x/y allocated` with x = y. \
With `--verbose` the `Allocated addresses:` list shows which of them the agent took for \
itself (router, health, ingress); with the node's kubelet max pods known (the node marked \
`(localhost)`, or the agent pod in the file name), the rule also compares max pods with \
the addresses left for pods.",
    why_it_matters: "The next pod on that node gets no address and stays in \
ContainerCreating (`No more IPs available`). Cilium takes addresses from the same pool for \
its own router (cilium_host) and health endpoint, so a node has that many fewer pod \
addresses than the pool: kubelet max pods set from the ENI arithmetic alone schedules \
pods the pool cannot serve (cilium#22054).",
    how_to_fix: "ENI IPAM: the operator should attach more ENIs or addresses to the node; \
if it cannot (the instance's ENI limit, the subnet full, EC2 permissions), lower kubelet \
max pods to the pool minus the agent's own addresses (CAP001 computes it per instance \
type) or enable prefix delegation; check the CiliumNode (CAP006) and the subnets (CAP005). \
cluster-pool IPAM: the node's pod CIDR is full: lower max pods below its size minus the \
agent's own addresses, or give nodes larger pod CIDRs \
(`ipam.operator.clusterPoolIPv4MaskSize`).",
    known_limits: "One moment per agent: a pool the operator is about to grow also fires. \
IPv6 pools are not read. Without `--verbose` the agent's own addresses are not listed.",
    docs_url: "https://docs.cilium.io/en/stable/network/concepts/ipam/",
};

impl Rule for AgentIpamPoolFull {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        let reports: Vec<_> = c
            .cilium_status
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter(|r| r.ipam_ipv4.is_some())
            .collect();
        if reports.is_empty() {
            if ops::cilium_absent(c) {
                return Ok(vec![]);
            }
            return META.missing(
                "no `cilium status` output with an `IPAM:` line",
                inputs::CILIUM_STATUS,
            );
        }
        let ipam = common::ipam_of(c).ok().flatten();
        let mut findings = Vec::new();
        for r in reports {
            let Some((used, total)) = r.ipam_ipv4 else {
                continue;
            };
            if total == 0 || used < total {
                continue;
            }
            let source = ops::status_source(r);
            let node = ops::status_node(cx, r);
            let own: Vec<&(String, String)> = r
                .allocations
                .iter()
                .filter(|(_, owner)| OWN.contains(&owner.as_str()))
                .collect();
            let where_ = node
                .as_deref()
                .map_or_else(|| format!("({source})"), |n| format!("on node {n}"));
            let mut message = format!(
                "The Cilium agent {where_} has allocated all {total} addresses of its IPAM pool"
            );
            if !own.is_empty() {
                let owners: Vec<&str> = own.iter().map(|(_, o)| o.as_str()).collect();
                message.push_str(&format!(
                    ", {} of them for itself ({}): {} are left for pods",
                    own.len(),
                    owners.join(", "),
                    total as usize - own.len()
                ));
            }
            let max_pods = node.as_deref().and_then(|n| {
                c.nodes
                    .as_deref()?
                    .iter()
                    .find(|k| k.metadata.name == n)?
                    .max_pods()
            });
            let for_pods = total.saturating_sub(u32::try_from(own.len()).unwrap_or(0));
            if let Some(max) = max_pods.filter(|m| *m > for_pods) {
                message.push_str(&format!(
                    "; kubelet max pods is {max}, more than the {for_pods} pod addresses"
                ));
            }
            let object = match &node {
                Some(n) => ObjectRef::global("Node", n),
                None => ops::agent_object(c),
            };
            let mut f = META
                .finding(object, message)
                .with_evidence(format!("{source}: IPAM: IPv4: {used}/{total} allocated"));
            for (address, owner) in &own {
                f = f.with_evidence(format!("{source}: {address} ({owner})"));
            }
            if let Some(max) = max_pods {
                f = f.with_evidence(format!("node status.capacity.pods: {max}"));
            }
            let fix = match &ipam {
                Some(Ipam::Overlay(_)) => format!(
                    "# The node's pod CIDR is full. Lower kubelet max pods below {for_pods}, or give nodes\n\
# larger pod CIDRs for new nodes (Helm): ipam.operator.clusterPoolIPv4MaskSize"
                ),
                _ => format!(
                    "kubectl get ciliumnode {node} -o jsonpath='{{.status.ipam.operator-status}}'\n\
kubectl -n kube-system logs deploy/cilium-operator --since=1h | grep -i -E 'eni|deficit|allocat'\n\
# If the pool cannot grow: set kubelet max pods to at most {for_pods} for this instance type (CAP001),\n\
# or enable prefix delegation (Helm): eni.awsEnablePrefixDelegation: true",
                    node = node.as_deref().unwrap_or("NODE")
                ),
            };
            findings.push(f.with_remediation(fix));
        }
        Ok(findings)
    }
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)]
mod tests {
    use super::*;
    use crate::model::{CiliumStatusReport, Cluster};
    use crate::rules::testing::{fired, load_cluster, outcome};
    use serde_json::json;

    fn report(used: u32, total: u32) -> CiliumStatusReport {
        CiliumStatusReport {
            source: "cilium-status-cilium-abcde.txt".into(),
            ipam_ipv4: Some((used, total)),
            allocations: vec![
                ("10.0.145.134".into(), "health".into()),
                ("10.0.145.20".into(), "router".into()),
                ("10.0.145.77".into(), "default/web-1".into()),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn full_pool_names_the_agent_addresses_and_max_pods() {
        // cilium#22054: the pool is full; two of its addresses are the agent's.
        let mut c = load_cluster(&[
            json!({"apiVersion": "v1", "kind": "PodList", "items": [
                {"metadata": {"name": "cilium-abcde", "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
                 "spec": {"nodeName": "ip-10-0-145-10.ec2.internal", "containers": [{"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.12.3"}]}}]}),
            json!({"apiVersion": "v1", "kind": "NodeList", "items": [
                {"metadata": {"name": "ip-10-0-145-10.ec2.internal"}, "status": {"capacity": {"pods": "17"}}}]}),
        ]);
        c.cilium_status = Some(vec![report(14, 14)]);
        let f = fired(outcome(&AgentIpamPoolFull, &c));
        assert_eq!(f.len(), 1);
        let m = &f[0].message;
        assert!(m.contains("on node ip-10-0-145-10.ec2.internal"), "{m}");
        assert!(
            m.contains("2 of them for itself (health, router): 12 are left"),
            "{m}"
        );
        assert!(m.contains("kubelet max pods is 17"), "{m}");
        assert!(f[0]
            .evidence
            .iter()
            .any(|e| e.ends_with("10.0.145.134 (health)")));
    }

    #[test]
    fn room_left_and_missing() {
        let mut c = Cluster::default();
        assert!(outcome(&AgentIpamPoolFull, &c).is_err());
        c.cilium_status = Some(vec![report(6, 14)]);
        assert_eq!(outcome(&AgentIpamPoolFull, &c), Ok(vec![]));
    }
}
