//! CNI003: running pods (not hostNetwork) without a CiliumEndpoint.

use crate::rules::inputs;
use std::collections::BTreeMap;

use super::shared::{self, CiliumRole};
use crate::findings::{ObjectRef, Severity};
use crate::model::Pod;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct PodsNotManagedByCilium;

/// Owners listed per finding (evidence and commands); the rest are counted.
const MAX_OWNERS: usize = 10;
/// Pods named per owner.
const MAX_PODS_PER_OWNER: usize = 3;

static META: RuleMeta = RuleMeta {
    code: "CNI003",
    name: "pods-not-managed-by-cilium",
    severity: Severity::High,
    area: Area::Cni,
    summary: "Running pods have no CiliumEndpoint: another CNI gave them their address",
    what_it_checks: "When Cilium is the primary CNI, every running pod that is not \
hostNetwork should have a CiliumEndpoint of the same namespace and name. The rule lists the \
running, non-hostNetwork pods without one. Pods on nodes where Cilium does not run are skipped: \
EKS Fargate (nodes named `fargate-…` or labelled `eks.amazonaws.com/compute-type: fargate`), \
EKS Auto Mode (`compute-type: auto`) and Windows nodes (`kubernetes.io/os: windows`). \
One finding per namespace, with the pods grouped by the Deployment, StatefulSet, DaemonSet or \
other owner that would have to be restarted, so a large cluster gives a short report.",
    why_it_matters: "A pod without a CiliumEndpoint got its network from another CNI (usually \
the VPC CNI, before Cilium was installed or while aws-node still ran). Cilium does not manage \
it: network policies do not apply to it, its traffic bypasses Cilium's datapath, Hubble does \
not see it, and its address was assigned by ipamd, which Cilium does not know about. Cilium's \
docs say such pods must be restarted after Cilium takes over.",
    how_to_fix: "Restart the affected workloads so their pods are recreated with Cilium \
(`kubectl rollout restart` for Deployments, StatefulSets and DaemonSets; delete bare pods and \
Job pods). Make sure aws-node no longer runs first (CNI001), or the new pods may again get a \
VPC CNI address.",
    known_limits: "A pod created seconds before the snapshot may not have its CiliumEndpoint \
yet. With `disable-endpoint-crd: \"true\"` the agents write no CiliumEndpoints and the rule is \
not evaluated. Pods on nodes where no Cilium agent runs are reported too (they are not managed \
by Cilium either).",
    docs_url: "https://docs.cilium.io/en/stable/network/kubernetes/concepts/",
};

/// One unmanaged pod, for evidence.
struct Unmanaged<'a> {
    pod: &'a Pod,
}

impl Unmanaged<'_> {
    fn describe(&self) -> String {
        let p = self.pod;
        format!(
            "{} (node {}, IP {})",
            p.metadata.name,
            p.spec.node_name.as_deref().unwrap_or("?"),
            p.status.pod_ip.as_deref().unwrap_or("?")
        )
    }
}

impl Rule for PodsNotManagedByCilium {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        match shared::cilium_role(c)? {
            CiliumRole::Primary => {}
            CiliumRole::Absent | CiliumRole::Chaining => return Ok(vec![]),
        }
        let Some(pods) = c.pods.as_deref() else {
            return META.missing("no Pod objects", inputs::PODS);
        };
        if c.cilium.get("disable-endpoint-crd") == Some("true") {
            return META.missing(
                "cilium-config sets disable-endpoint-crd: \"true\", so there are no CiliumEndpoints to compare pods with",
                "",
            );
        }
        let Some(with_endpoint) = cx.facts.pods_with_endpoint() else {
            return META.missing("no CiliumEndpoint objects", inputs::CILIUM_ENDPOINTS);
        };
        let skipped_nodes = shared::nodes_without_cilium(c);
        let owners_index = cx.facts.owners();

        // namespace -> (running pod-network pods, owner -> unmanaged pods)
        type Owners<'a> = BTreeMap<(String, String), Vec<Unmanaged<'a>>>;
        let mut by_namespace: BTreeMap<&str, (usize, Owners)> = BTreeMap::new();
        for pod in pods {
            if pod.status.phase.as_deref() != Some("Running")
                || pod.spec.host_network
                || shared::on_node_without_cilium(pod, &skipped_nodes)
            {
                continue;
            }
            let ns = pod.metadata.namespace();
            let entry = by_namespace.entry(ns).or_default();
            entry.0 += 1;
            if !with_endpoint.contains(&(ns, pod.metadata.name.as_str())) {
                entry
                    .1
                    .entry(owners_index.owner_of(pod))
                    .or_default()
                    .push(Unmanaged { pod });
            }
        }

        let mut findings = Vec::new();
        for (ns, (running, owners)) in by_namespace {
            if owners.is_empty() {
                continue;
            }
            let unmanaged: usize = owners.values().map(Vec::len).sum();
            let mut nodes: Vec<&str> = owners
                .values()
                .flatten()
                .filter_map(|u| u.pod.spec.node_name.as_deref())
                .collect();
            nodes.sort_unstable();
            nodes.dedup();
            let mut finding = META
                .finding(
                    ObjectRef::global("Namespace", ns),
                    format!(
                        "{unmanaged} running pod{} in namespace {ns} ha{} no CiliumEndpoint: {} not managed by Cilium and must be restarted",
                        if unmanaged == 1 { "" } else { "s" },
                        if unmanaged == 1 { "s" } else { "ve" },
                        if unmanaged == 1 { "it is" } else { "they are" },
                    ),
                )
                .with_evidence(format!(
                    "{unmanaged} of {running} running non-hostNetwork pods in {ns} have no CiliumEndpoint {ns}/<pod name>"
                ))
                .with_evidence(format!(
                    "on {} node{}: {}",
                    nodes.len(),
                    if nodes.len() == 1 { "" } else { "s" },
                    shared::sample_list(&nodes, 5)
                ));
            let mut commands = Vec::new();
            for ((kind, name), pods) in owners.iter().take(MAX_OWNERS) {
                let described: Vec<String> = pods.iter().map(Unmanaged::describe).collect();
                finding = finding.with_evidence(format!(
                    "{kind} {name}: {} pod{} without CiliumEndpoint: {}",
                    pods.len(),
                    if pods.len() == 1 { "" } else { "s" },
                    shared::sample_list(&described, MAX_PODS_PER_OWNER)
                ));
                let names: Vec<&str> = pods.iter().map(|u| u.pod.metadata.name.as_str()).collect();
                commands.push(shared::restart_command(ns, kind, name, &names));
            }
            if owners.len() > MAX_OWNERS {
                finding =
                    finding.with_evidence(format!("and {} more owners", owners.len() - MAX_OWNERS));
            }
            let mut fix = String::from(
                "# First make sure aws-node no longer runs (CNI001), then recreate the pods so Cilium gives them their address:\n",
            );
            fix.push_str(&commands.join("\n"));
            if owners.len() > MAX_OWNERS {
                fix.push_str(&format!(
                    "\n# ... and the {} other owners listed by: kubectl -n {ns} get pods -o wide",
                    owners.len() - MAX_OWNERS
                ));
            }
            fix.push_str(&format!(
                "\n# Check: every running pod has an endpoint now\nkubectl -n {ns} get ciliumendpoints"
            ));
            findings.push(finding.with_remediation(fix));
        }
        Ok(findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{check, load_cluster};
    use serde_json::json;

    fn base() -> Vec<serde_json::Value> {
        vec![
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
                "metadata": {"name": "cilium", "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
                "spec": {"template": {"spec": {"containers": [
                    {"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.16.19"}]}}}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "cilium-config", "namespace": "kube-system"}, "data": {"ipam": "eni"}}),
        ]
    }

    fn pod(ns: &str, name: &str, phase: &str, host: bool, node: &str) -> serde_json::Value {
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": {"pod-template-hash": "7d9c8"},
                "ownerReferences": [{"kind": "ReplicaSet", "name": "web-7d9c8"}]},
            "spec": {"nodeName": node, "hostNetwork": host},
            "status": {"phase": phase, "podIP": "10.0.1.7"}})
    }

    fn cep(ns: &str, name: &str) -> serde_json::Value {
        json!({"apiVersion": "cilium.io/v2", "kind": "CiliumEndpoint",
            "metadata": {"name": name, "namespace": ns}})
    }

    #[test]
    fn groups_unmanaged_pods_per_namespace_and_owner() {
        let mut docs = base();
        docs.push(pod("shop", "web-7d9c8-a", "Running", false, "n1"));
        docs.push(pod("shop", "web-7d9c8-b", "Running", false, "n2"));
        docs.push(pod("shop", "web-7d9c8-c", "Running", false, "n2"));
        docs.push(cep("shop", "web-7d9c8-c"));
        // skipped: hostNetwork, not running, Fargate
        docs.push(pod("shop", "web-7d9c8-d", "Running", true, "n1"));
        docs.push(pod("shop", "web-7d9c8-e", "Pending", false, "n1"));
        docs.push(pod(
            "shop",
            "web-7d9c8-f",
            "Running",
            false,
            "fargate-ip-10-0-3-4.eu-west-1.compute.internal",
        ));
        let f = check(&PodsNotManagedByCilium, &load_cluster(&docs)).unwrap();
        assert_eq!(f.len(), 1);
        assert!(f[0].message.starts_with("2 running pods in namespace shop"));
        assert!(f[0]
            .remediation
            .contains("kubectl -n shop rollout restart deployment/web"));
    }

    #[test]
    fn skips_windows_and_auto_mode_nodes() {
        let mut docs = base();
        docs.push(json!({"apiVersion": "v1", "kind": "NodeList", "items": [
            {"metadata": {"name": "win-1", "labels": {"kubernetes.io/os": "windows"}}},
            {"metadata": {"name": "auto-1", "labels": {"eks.amazonaws.com/compute-type": "auto"}}}]}));
        docs.push(pod("shop", "web-7d9c8-a", "Running", false, "win-1"));
        docs.push(pod("shop", "web-7d9c8-b", "Running", false, "auto-1"));
        docs.push(json!({"apiVersion": "cilium.io/v2", "kind": "CiliumEndpointList", "items": []}));
        assert!(check(&PodsNotManagedByCilium, &load_cluster(&docs))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn quiet_when_every_pod_has_an_endpoint() {
        let mut docs = base();
        docs.push(pod("shop", "web-7d9c8-a", "Running", false, "n1"));
        docs.push(cep("shop", "web-7d9c8-a"));
        assert!(check(&PodsNotManagedByCilium, &load_cluster(&docs))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn missing_endpoints_or_endpoint_crd_disabled() {
        let mut docs = base();
        docs.push(pod("shop", "web-7d9c8-a", "Running", false, "n1"));
        assert!(check(&PodsNotManagedByCilium, &load_cluster(&docs)).is_err());
        let mut disabled = docs.clone();
        disabled[1]["data"]["disable-endpoint-crd"] = json!("true");
        disabled.push(json!({"apiVersion": "v1", "kind": "List", "items": []}));
        let n = check(&PodsNotManagedByCilium, &load_cluster(&disabled)).unwrap_err();
        assert!(n.missing.contains("disable-endpoint-crd"));
    }
}
