//! CFG001: ENI IPAM with a tunnelling datapath.

use crate::findings::{ObjectRef, Severity};
use crate::rules::cni::shared;
use crate::rules::inputs;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct EniModeNeedsNativeRouting;

static META: RuleMeta = RuleMeta {
    code: "CFG001",
    name: "eni-mode-needs-native-routing",
    severity: Severity::High,
    area: Area::Cfg,
    summary: "IPAM is eni but the datapath tunnels (routing-mode tunnel, or tunnel not disabled)",
    what_it_checks: "With `ipam: eni`, cilium-config must route natively: `routing-mode: \
native` (Cilium 1.14 and later) or `tunnel: disabled` (before 1.15). The rule fires when \
`routing-mode` is `tunnel`, when the old `tunnel` key names a protocol (vxlan, geneve), or when \
cilium-config sets neither, because the agent then uses its default, tunnel mode \
(`--routing-mode` default \"tunnel\", `--tunnel` default \"vxlan\").",
    why_it_matters: "In ENI mode every pod has a VPC address on one of the node's ENIs, and the \
VPC routes it. Cilium's documented EKS/ENI setup is direct routing (`routingMode=native`, \
`tunnel=disabled` on older versions). Tunnelling on top of it encapsulates pod-to-pod traffic \
in VXLAN/Geneve between nodes: extra MTU overhead and CPU, node security groups must allow the \
tunnel port, and traffic to VPC destinations follows a different path than traffic between \
pods, which makes failures hard to reason about.",
    how_to_fix: "Set native routing in the Helm values (`routingMode=native`; `tunnel=disabled` \
on charts before 1.14) and restart the agents. Changing the routing mode of a running cluster \
interrupts pod-to-pod traffic between nodes while the agents roll: do it in a maintenance \
window, one node group at a time if you can.",
    known_limits: "When only Helm values are given and they do not set the routing mode, the \
chart default depends on the chart version and the rule is not evaluated.",
    docs_url: "https://docs.cilium.io/en/stable/network/concepts/routing/",
};

impl Rule for EniModeNeedsNativeRouting {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        if !shared::cilium_config_known(c)? {
            return Ok(vec![]);
        }
        if !c.cilium.ipam_is_eni() {
            return Ok(vec![]);
        }
        let config = c.cilium.config.is_some();
        let (routing, source) = match c.cilium.routing_mode.as_deref() {
            Some(mode) => {
                let source = if let Some(v) = c.cilium.get("routing-mode") {
                    format!("cilium-config routing-mode: {v}")
                } else if let Some(v) = c.cilium.get("tunnel") {
                    format!("cilium-config tunnel: {v}")
                } else {
                    format!("Helm values: routing {mode}")
                };
                (mode.to_string(), source)
            }
            None if config => (
                "tunnel".to_string(),
                "cilium-config sets neither routing-mode nor tunnel: the agent default is tunnel"
                    .to_string(),
            ),
            None => {
                return META.missing(
                    "the Helm values do not set the routing mode and no cilium-config was given",
                    inputs::CILIUM_CONFIG,
                )
            }
        };
        if routing != "tunnel" {
            return Ok(vec![]);
        }
        // Which Helm key the running chart knows: the knowledge's chart keys
        // for the running minor, else the era the running config shows.
        let keys = c
            .cilium
            .version
            .and_then(|v| cx.knowledge.helm_keys(v.minor()));
        let old_chart = match keys {
            Some(keys) => !keys.contains("routingMode") && keys.contains("tunnel"),
            None => c.cilium.get("tunnel").is_some() && c.cilium.get("routing-mode").is_none(),
        };
        let set = if old_chart {
            "--set tunnel=disabled"
        } else {
            "--set routingMode=native"
        };
        let object = if config {
            ObjectRef::new(
                "ConfigMap",
                Some(shared::cilium_namespace(c)),
                "cilium-config",
            )
        } else {
            ObjectRef::global("HelmRelease", "cilium")
        };
        let mut finding = META
            .finding(
                object,
                "IPAM is eni but the datapath tunnels: pods have VPC addresses and should be routed natively",
            )
            .with_evidence(format!(
                "ipam: eni ({})",
                if c.cilium.get("ipam").is_some() {
                    "cilium-config"
                } else {
                    "Helm values"
                }
            ))
            .with_evidence(source);
        if let Some(proto) = &c.cilium.tunnel_protocol {
            finding = finding.with_evidence(format!("tunnel protocol: {proto}"));
        }
        let fix = format!(
            "{}\nkubectl -n {ns} rollout restart daemonset/cilium\nkubectl -n {ns} rollout status daemonset/cilium\n\
# Pod-to-pod traffic between nodes is interrupted while the agents roll: use a maintenance window.",
            shared::helm_upgrade(c, &[set]),
            ns = shared::cilium_namespace(c),
        );
        Ok(vec![finding.with_remediation(fix)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{check, load_cluster, load_cluster_with_helm};
    use serde_json::json;

    fn config(data: serde_json::Value) -> Vec<serde_json::Value> {
        vec![json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cilium-config", "namespace": "kube-system"}, "data": data})]
    }

    #[test]
    fn fires_on_tunnel_and_unset() {
        let f = check(
            &EniModeNeedsNativeRouting,
            &load_cluster(&config(
                json!({"ipam": "eni", "routing-mode": "tunnel", "tunnel-protocol": "vxlan"}),
            )),
        )
        .unwrap();
        assert_eq!(f.len(), 1);
        assert!(f[0].remediation.contains("routingMode=native"));
        let old = check(
            &EniModeNeedsNativeRouting,
            &load_cluster(&config(json!({"ipam": "eni", "tunnel": "vxlan"}))),
        )
        .unwrap();
        assert!(old[0].remediation.contains("tunnel=disabled"));
        // A 1.13 agent: the 1.13 chart has `tunnel` and no `routingMode`.
        let mut docs = config(json!({"ipam": "eni", "tunnel": "vxlan"}));
        docs.push(json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "cilium", "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
            "spec": {"template": {"spec": {"containers": [
                {"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.13.18"}]}}}}));
        let f = check(&EniModeNeedsNativeRouting, &load_cluster(&docs)).unwrap();
        assert!(f[0].remediation.contains("--version 1.13.18"));
        assert!(f[0].remediation.contains("tunnel=disabled"));
        // A 1.16 agent whose config still has the old key: the 1.16 chart only knows routingMode.
        let mut docs = config(json!({"ipam": "eni", "tunnel": "vxlan"}));
        docs.push(json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "cilium", "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
            "spec": {"template": {"spec": {"containers": [
                {"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.16.19"}]}}}}));
        let f = check(&EniModeNeedsNativeRouting, &load_cluster(&docs)).unwrap();
        assert!(f[0].remediation.contains("routingMode=native"));
        let unset = check(
            &EniModeNeedsNativeRouting,
            &load_cluster(&config(json!({"ipam": "eni"}))),
        )
        .unwrap();
        assert_eq!(unset.len(), 1);
    }

    #[test]
    fn quiet_on_native_or_overlay_ipam() {
        assert!(check(
            &EniModeNeedsNativeRouting,
            &load_cluster(&config(json!({"ipam": "eni", "routing-mode": "native"})))
        )
        .unwrap()
        .is_empty());
        assert!(check(
            &EniModeNeedsNativeRouting,
            &load_cluster(&config(json!({"ipam": "eni", "tunnel": "disabled"})))
        )
        .unwrap()
        .is_empty());
        assert!(check(
            &EniModeNeedsNativeRouting,
            &load_cluster(&config(
                json!({"ipam": "cluster-pool", "routing-mode": "tunnel"})
            ))
        )
        .unwrap()
        .is_empty());
    }

    #[test]
    fn helm_only_without_routing_is_not_evaluated() {
        let c = load_cluster_with_helm(
            &[],
            json!({"eni": {"enabled": true}, "ipam": {"mode": "eni"}}),
        );
        assert!(check(&EniModeNeedsNativeRouting, &c).is_err());
    }
}
