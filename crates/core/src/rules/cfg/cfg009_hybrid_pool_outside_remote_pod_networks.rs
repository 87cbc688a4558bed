//! CFG009: with EKS Hybrid Nodes, Cilium's cluster-pool CIDRs are not the
//! cluster's remote pod networks.

use crate::findings::{ObjectRef, Severity};
use crate::model::cilium::helm_get;
use crate::rules::cap::cidr::{parse_list, Ipv4Cidr};
use crate::rules::cni::shared;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct HybridPoolOutsideRemotePodNetworks;

static META: RuleMeta = RuleMeta {
    code: "CFG009",
    name: "hybrid-pool-outside-remote-pod-networks",
    severity: Severity::High,
    area: Area::Cfg,
    summary:
        "Hybrid Nodes: a Cilium cluster-pool CIDR lies outside the cluster's remotePodNetworks",
    what_it_checks:
        "When `aws eks describe-cluster` shows `remoteNetworkConfig.remotePodNetworks` \
(EKS Hybrid Nodes) and Cilium allocates pod addresses from a cluster pool (cilium-config \
`cluster-pool-ipv4-cidr`, Helm `ipam.operator.clusterPoolIPv4PodCIDRList`), every pool CIDR must \
lie inside one of the remote pod networks.",
    why_it_matters: "The EKS control plane routes to hybrid-node pods only through the remote pod \
networks it was given: webhooks on hybrid nodes, `kubectl logs`/`exec` through the API server and \
traffic from the VPC to pods from a pool CIDR outside them find no route. The EKS user guide asks \
for the same pod CIDRs in `clusterPoolIPv4PodCIDRList` as in the remote pod networks, and not to \
change the pool after deploying Cilium.",
    how_to_fix: "Add the pool CIDRs to the cluster's remote pod networks (`aws eks \
update-cluster-config --remote-network-config`), and advertise them on premises (BGP or static \
routes). Changing Cilium's pool on a running cluster instead re-addresses every pod.",
    known_limits: "IPv4 only. Multi-pool IPAM (CiliumPodIPPool objects) is not read.",
    docs_url: "https://docs.aws.amazon.com/eks/latest/userguide/hybrid-nodes-cni.html",
};

fn inside(inner: Ipv4Cidr, outer: Ipv4Cidr) -> bool {
    outer.first() <= inner.first() && inner.last() <= outer.last()
}

impl Rule for HybridPoolOutsideRemotePodNetworks {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        let Some(remote) = c
            .eks
            .as_ref()
            .and_then(|e| e.remote_network_config.as_ref())
        else {
            return Ok(vec![]);
        };
        let remote_text: Vec<&str> = remote
            .remote_pod_networks
            .iter()
            .flat_map(|n| n.cidrs.iter().map(String::as_str))
            .collect();
        if remote_text.is_empty() || !shared::cilium_config_known(c)? {
            return Ok(vec![]);
        }
        let (pool_text, source) = match c.cilium.get("cluster-pool-ipv4-cidr") {
            Some(v) => (
                v.to_string(),
                "cilium-config cluster-pool-ipv4-cidr".to_string(),
            ),
            None => match c
                .helm_values
                .as_ref()
                .and_then(|h| helm_get(h, "ipam.operator.clusterPoolIPv4PodCIDRList"))
            {
                Some(v) => (
                    v.to_string(),
                    "Helm ipam.operator.clusterPoolIPv4PodCIDRList".to_string(),
                ),
                None => return Ok(vec![]),
            },
        };
        if !matches!(c.cilium.ipam_mode.as_deref(), None | Some("cluster-pool")) {
            return Ok(vec![]);
        }
        let (pools, _) = parse_list(&pool_text);
        let (remotes, _) = parse_list(&remote_text.join(" "));
        let outside: Vec<String> = pools
            .iter()
            .filter(|p| !remotes.iter().any(|r| inside(**p, *r)))
            .map(|p| p.to_string())
            .collect();
        if outside.is_empty() {
            return Ok(vec![]);
        }
        let name = cx.cluster_name();
        let mut all: Vec<String> = remote_text.iter().map(|s| s.to_string()).collect();
        all.extend(outside.iter().cloned());
        let nodes_cidrs: Vec<&str> = remote
            .remote_node_networks
            .iter()
            .flat_map(|n| n.cidrs.iter().map(String::as_str))
            .collect();
        let config = format!(
            "remoteNodeNetworks=[{{cidrs=[{}]}}],remotePodNetworks=[{{cidrs=[{}]}}]",
            nodes_cidrs.join(","),
            all.join(",")
        );
        Ok(vec![META
            .finding(
                ObjectRef::new("ConfigMap", Some(shared::cilium_namespace(c)), "cilium-config"),
                format!(
                    "Cilium's pod pool {} lies outside the cluster's remote pod networks ({}): the control plane has no route to those hybrid-node pods",
                    outside.join(", "),
                    remote_text.join(", ")
                ),
            )
            .with_evidence(format!("{source}: {pool_text}"))
            .with_evidence(format!(
                "aws eks describe-cluster remoteNetworkConfig.remotePodNetworks: {}",
                remote_text.join(", ")
            ))
            .with_remediation(format!(
                "aws eks update-cluster-config --name {name} --remote-network-config '{config}'\n\
# and advertise the pod CIDRs on premises (Cilium BGP control plane or static routes)"
            ))])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{check, load_cluster};
    use serde_json::json;

    fn docs(pool: &str) -> Vec<serde_json::Value> {
        vec![
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
                "metadata": {"name": "cilium", "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
                "spec": {"template": {"spec": {"containers": [
                    {"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.18.3"}]}}}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "cilium-config", "namespace": "kube-system"},
                "data": {"ipam": "cluster-pool", "cluster-pool-ipv4-cidr": pool}}),
            json!({"cluster": {"name": "hybrid", "remoteNetworkConfig": {
                "remoteNodeNetworks": [{"cidrs": ["10.80.0.0/16"]}],
                "remotePodNetworks": [{"cidrs": ["10.85.0.0/16"]}]}}}),
        ]
    }

    #[test]
    fn fires_when_a_pool_is_outside() {
        let f = check(
            &HybridPoolOutsideRemotePodNetworks,
            &load_cluster(&docs("10.85.0.0/16 10.86.0.0/16")),
        )
        .unwrap();
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("10.86.0.0/16"));
        assert!(!f[0].message.starts_with("Cilium's pod pool 10.85"));
        assert!(f[0]
            .remediation
            .contains("remotePodNetworks=[{cidrs=[10.85.0.0/16,10.86.0.0/16]}]"));
    }

    #[test]
    fn quiet_inside_or_without_remote_networks() {
        assert!(check(
            &HybridPoolOutsideRemotePodNetworks,
            &load_cluster(&docs("10.85.0.0/17"))
        )
        .unwrap()
        .is_empty());
        let mut d = docs("10.99.0.0/16");
        d.pop();
        assert!(
            check(&HybridPoolOutsideRemotePodNetworks, &load_cluster(&d))
                .unwrap()
                .is_empty()
        );
    }
}
