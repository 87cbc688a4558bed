//! Helpers shared by the CNI, SGP, MESH and CFG rules: whether and how
//! Cilium runs, DaemonSet scheduling, pod owners, policy selection and the
//! command lines the remediations print.

use crate::rules::inputs;
use std::collections::HashSet;

use crate::model::cilium::CiliumPresence;
use crate::model::{self, Cluster, LabelSelector, NetworkPolicy, Node, Pod, StringMap, Workload};
use crate::rules::Missing;

/// How Cilium runs in the cluster, as far as the CNI rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CiliumRole {
    /// No Cilium agent DaemonSet among the DaemonSets provided.
    Absent,
    /// Cilium is the primary CNI (no `cni-chaining-mode: aws-cni`).
    Primary,
    /// Cilium chains onto the VPC CNI (`cni-chaining-mode: aws-cni`).
    Chaining,
}

/// Whether Cilium is absent, primary or chained, from the model's facts
/// (`CiliumSettings::presence` and `role`): an agent must be seen (agent
/// DaemonSet or agent pods) and the configuration known (cilium-config or
/// Helm values) to tell chaining from primary mode; else not evaluated.
pub(crate) fn cilium_role(c: &Cluster) -> Result<CiliumRole, Missing> {
    match c.cilium.presence {
        CiliumPresence::Absent | CiliumPresence::ConfigOnly => Ok(CiliumRole::Absent),
        CiliumPresence::Unknown | CiliumPresence::Configured => Err(Missing::new(
            "no DaemonSets or Pods (needed to see whether the Cilium agent runs)",
            inputs::DAEMONSETS,
        )),
        CiliumPresence::Running => match c.cilium.role {
            Some(model::cilium::CiliumRole::Primary) => Ok(CiliumRole::Primary),
            Some(model::cilium::CiliumRole::ChainedAwsCni) => Ok(CiliumRole::Chaining),
            None => Err(Missing::new(
                "no cilium-config ConfigMap or Cilium Helm values (needed to tell chaining from primary mode)",
                inputs::CILIUM_CONFIG,
            )),
        },
    }
}

/// The rules about aws-node read the DaemonSets themselves: without them
/// "aws-node is absent" cannot be told from "not dumped".
pub(crate) fn need_daemonsets(c: &Cluster) -> Result<(), Missing> {
    match c.daemonsets {
        Some(_) => Ok(()),
        None => Err(Missing::new(
            "no DaemonSets (needed to see aws-node)",
            inputs::DAEMONSETS,
        )),
    }
}

/// Whether Cilium is installed at all (`CiliumPresence::installed`).
pub(crate) fn cilium_installed(c: &Cluster) -> Result<bool, Missing> {
    match c.cilium.presence {
        CiliumPresence::Unknown => Err(Missing::new(
            "no DaemonSets, Pods or Cilium configuration (needed to see whether Cilium runs)",
            inputs::DAEMONSETS,
        )),
        presence => Ok(presence.installed()),
    }
}

/// For configuration rules: `Ok(true)` when the Cilium configuration is
/// known (cilium-config or Helm values), `Ok(false)` when the snapshot
/// proves Cilium is not installed, else not evaluated.
pub(crate) fn cilium_config_known(c: &Cluster) -> Result<bool, Missing> {
    if c.cilium.role.is_some() {
        return Ok(true);
    }
    if c.cilium.presence == CiliumPresence::Absent {
        return Ok(false);
    }
    Err(Missing::new(
        "no cilium-config ConfigMap or Cilium Helm values",
        inputs::CILIUM_CONFIG,
    ))
}

/// The namespace Cilium runs in (the agent DaemonSet's), default kube-system.
pub(crate) fn cilium_namespace(c: &Cluster) -> &str {
    c.cilium
        .agent_daemonset
        .as_ref()
        .map(|k| k.namespace.as_str())
        .filter(|ns| !ns.is_empty())
        .unwrap_or("kube-system")
}

/// `helm upgrade` of the Cilium release keeping its values, pinned to the
/// running version when known.
pub(crate) fn helm_upgrade(c: &Cluster, sets: &[&str]) -> String {
    let mut cmd = format!(
        "helm upgrade cilium cilium/cilium --namespace {} --reuse-values",
        cilium_namespace(c)
    );
    if let Some(v) = c.cilium.version {
        cmd.push_str(&format!(" --version {v}"));
    }
    for s in sets {
        cmd.push_str(&format!(" \\\n  {s}"));
    }
    cmd
}

/// `a, b, c and 7 more` (at most `max` names).
pub(crate) fn sample_list<S: AsRef<str>>(items: &[S], max: usize) -> String {
    let shown: Vec<&str> = items.iter().take(max).map(AsRef::as_ref).collect();
    let mut text = shown.join(", ");
    if items.len() > max {
        text.push_str(&format!(" and {} more", items.len() - max));
    }
    text
}

/// `k=v,k2=v2`, or `(none)`.
pub(crate) fn format_labels(map: &StringMap) -> String {
    if map.is_empty() {
        return "(none)".to_string();
    }
    map.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// A `nodeSelector` (all pairs must be labels of the node).
pub(crate) fn node_selector_matches(selector: &StringMap, labels: &StringMap) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Labels every Linux EKS node carries: a selector made only of these does
/// not keep a DaemonSet off the nodes.
const GENERIC_NODE_LABELS: &[&str] = &[
    "kubernetes.io/os",
    "beta.kubernetes.io/os",
    "kubernetes.io/arch",
    "beta.kubernetes.io/arch",
];

/// Where a DaemonSet can run, from its status, nodeSelector and the nodes.
#[derive(Debug, Clone)]
pub(crate) struct Scheduling<'a> {
    pub desired: Option<u32>,
    pub ready: Option<u32>,
    pub selector: &'a StringMap,
    /// Names of the nodes the selector matches, when nodes were provided.
    pub matching_nodes: Option<Vec<&'a str>>,
    pub total_nodes: Option<usize>,
}

impl Scheduling<'_> {
    /// The DaemonSet has pods or will get them: `desiredNumberScheduled`
    /// above 0, or its nodeSelector matches a node (nodes known), or it has
    /// no selector that could keep it off the nodes (nodes unknown).
    pub fn can_schedule(&self) -> bool {
        if self.desired.is_some_and(|d| d > 0) {
            return true;
        }
        match (&self.matching_nodes, self.total_nodes) {
            (Some(matching), Some(total)) if total > 0 => !matching.is_empty(),
            _ => self
                .selector
                .keys()
                .all(|k| GENERIC_NODE_LABELS.contains(&k.as_str())),
        }
    }

    pub fn evidence(&self) -> Vec<String> {
        let mut lines = Vec::new();
        match self.desired {
            Some(d) => lines.push(format!(
                "status.desiredNumberScheduled: {d}, numberReady: {}",
                self.ready.map_or("unknown".to_string(), |r| r.to_string())
            )),
            None => lines.push("status.desiredNumberScheduled: not in the snapshot".to_string()),
        }
        lines.push(format!(
            "spec.template.spec.nodeSelector: {}",
            format_labels(self.selector)
        ));
        match (&self.matching_nodes, self.total_nodes) {
            (Some(matching), Some(total)) => {
                if matching.is_empty() {
                    lines.push(format!(
                        "the nodeSelector matches none of the {total} nodes"
                    ));
                } else {
                    lines.push(format!(
                        "the nodeSelector matches {} of {total} nodes: {}",
                        matching.len(),
                        sample_list(matching, 5)
                    ));
                }
            }
            _ => lines.push("nodes not provided: node matching not checked".to_string()),
        }
        lines
    }
}

pub(crate) fn daemonset_scheduling<'a>(
    ds: &'a Workload,
    nodes: Option<&'a [Node]>,
) -> Scheduling<'a> {
    let selector = &ds.spec.template.spec.node_selector;
    let matching_nodes = nodes.map(|nodes| {
        nodes
            .iter()
            .filter(|n| node_selector_matches(selector, &n.metadata.labels))
            .map(|n| n.metadata.name.as_str())
            .collect()
    });
    Scheduling {
        desired: ds.status.desired_number_scheduled,
        ready: ds.status.number_ready,
        selector,
        matching_nodes,
        total_nodes: nodes.map(<[Node]>::len),
    }
}

/// The image of a container of a workload (by name, else the first).
pub(crate) fn container_image<'a>(w: &'a Workload, name: &str) -> Option<&'a str> {
    let containers = &w.spec.template.spec.containers;
    containers
        .iter()
        .find(|c| c.name == name)
        .or_else(|| containers.first())
        .map(|c| c.image.as_str())
}

/// The command that recreates the pods of one owner.
pub(crate) fn restart_command(namespace: &str, kind: &str, name: &str, pods: &[&str]) -> String {
    use crate::hygiene::shell_quote;
    let namespace = shell_quote(namespace);
    let name = shell_quote(name);
    let pods: Vec<_> = pods.iter().map(|p| shell_quote(p)).collect();
    match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" => format!(
            "kubectl -n {namespace} rollout restart {}/{name}",
            kind.to_ascii_lowercase()
        ),
        _ => format!("kubectl -n {namespace} delete pod {}", pods.join(" ")),
    }
}

/// The ServiceAccount a pod runs as (`default` when unset).
pub(crate) fn pod_service_account(pod: &Pod) -> &str {
    pod.spec
        .service_account_name
        .as_deref()
        .filter(|s| !s.is_empty())
        .unwrap_or("default")
}

/// A Cilium selector key without its source prefix (`k8s:app` → `app`).
fn strip_cilium_source(key: &str) -> &str {
    key.strip_prefix("k8s:")
        .or_else(|| key.strip_prefix("any:"))
        .unwrap_or(key)
}

/// Does a NetworkPolicy / CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy
/// select this pod? Namespaced kinds select pods of their own namespace only;
/// Cilium selectors may carry `k8s:`/`any:` prefixes and the
/// `io.kubernetes.pod.namespace` / `io.cilium.k8s.policy.serviceaccount` labels.
pub(crate) fn policy_selects(policy: &NetworkPolicy, pod: &Pod) -> bool {
    let namespaced = policy.kind != "CiliumClusterwideNetworkPolicy";
    if namespaced && policy.metadata.namespace() != pod.metadata.namespace() {
        return false;
    }
    if policy.kind == "NetworkPolicy" {
        return policy.selector.matches(&pod.metadata.labels);
    }
    let selector = LabelSelector {
        match_labels: policy
            .selector
            .match_labels
            .iter()
            .map(|(k, v)| (strip_cilium_source(k).to_string(), v.clone()))
            .collect(),
        match_expressions: policy
            .selector
            .match_expressions
            .iter()
            .map(|e| {
                let mut e = e.clone();
                e.key = strip_cilium_source(&e.key).to_string();
                e
            })
            .collect(),
    };
    let mut labels = pod.metadata.labels.clone();
    labels.insert(
        "io.kubernetes.pod.namespace".to_string(),
        pod.metadata.namespace().to_string(),
    );
    labels.insert(
        "io.cilium.k8s.policy.serviceaccount".to_string(),
        pod_service_account(pod).to_string(),
    );
    selector.matches(&labels)
}

/// `app=db,tier In (a,b)`, or `(empty: all pods)`.
pub(crate) fn format_selector(selector: &LabelSelector) -> String {
    let mut parts: Vec<String> = selector
        .match_labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for e in &selector.match_expressions {
        if e.values.is_empty() {
            parts.push(format!("{} {}", e.key, e.operator));
        } else {
            parts.push(format!("{} {} ({})", e.key, e.operator, e.values.join(",")));
        }
    }
    if parts.is_empty() {
        "(empty: matches every pod)".to_string()
    } else {
        parts.join(",")
    }
}

/// A pod on a node where Cilium does not run: EKS Fargate (`fargate-…`
/// nodes), EKS Auto Mode, or Windows nodes (they keep the VPC CNI).
pub(crate) fn on_node_without_cilium(pod: &Pod, nodes: &HashSet<&str>) -> bool {
    pod.spec
        .node_name
        .as_deref()
        .is_some_and(|n| n.starts_with("fargate-") || nodes.contains(n))
}

/// Nodes labelled `eks.amazonaws.com/compute-type: fargate|auto` or
/// `kubernetes.io/os: windows`.
pub(crate) fn nodes_without_cilium(c: &Cluster) -> HashSet<&str> {
    c.nodes
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter(|n| {
            let l = &n.metadata.labels;
            l.get("eks.amazonaws.com/compute-type")
                .is_some_and(|t| t == "fargate" || t == "auto")
                || l.get("kubernetes.io/os").is_some_and(|os| os == "windows")
        })
        .map(|n| n.metadata.name.as_str())
        .collect()
}

/// The EKS Hybrid Nodes design AWS supports: Cilium on the hybrid nodes,
/// the VPC CNI (aws-node) on the cloud nodes with node affinity that keeps
/// it off the hybrid ones (`eks.amazonaws.com/compute-type NotIn [hybrid]`).
/// Returns the evidence when the snapshot shows it: hybrid nodes exist,
/// aws-node's affinity excludes every one of them, and the Cilium agent's
/// nodeSelector/affinity admits no cloud node.
pub(crate) fn hybrid_split(c: &Cluster) -> Option<String> {
    let nodes = c.nodes.as_deref()?;
    let (hybrid, cloud): (Vec<&model::Node>, Vec<&model::Node>) =
        nodes.iter().partition(|n| n.is_hybrid());
    if hybrid.is_empty() {
        return None;
    }
    let aws_node = c.daemonset("kube-system", "aws-node")?;
    let agent_key = c.cilium.agent_daemonset.as_ref()?;
    let agent = c.daemonset(&agent_key.namespace, &agent_key.name)?;
    let admits = |w: &Workload, n: &model::Node| {
        let spec = &w.spec.template.spec;
        node_selector_matches(&spec.node_selector, &n.metadata.labels)
            && spec.node_affinity_allows(&n.metadata.labels)
    };
    if hybrid.iter().any(|n| admits(aws_node, n)) || cloud.iter().any(|n| admits(agent, n)) {
        return None;
    }
    Some(format!(
        "EKS Hybrid Nodes: {} hybrid node(s) ({}={}) run Cilium, aws-node's node affinity keeps it on the {} cloud node(s) only: the design AWS supports",
        hybrid.len(),
        model::COMPUTE_TYPE_LABEL,
        model::HYBRID_COMPUTE_TYPE,
        cloud.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(v: serde_json::Value) -> Pod {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn cilium_policy_selectors_and_scoping() {
        let p = pod(
            json!({"metadata": {"name": "db-0", "namespace": "shop", "labels": {"app": "db"}},
            "spec": {"serviceAccountName": "db"}}),
        );
        let sel = |v: serde_json::Value| -> LabelSelector { serde_json::from_value(v).unwrap() };
        let policy = |kind: &str, ns: Option<&str>, s: LabelSelector| NetworkPolicy {
            egress: None,
            kind: kind.to_string(),
            metadata: crate::model::Meta {
                name: "p".into(),
                namespace: ns.map(str::to_string),
                ..Default::default()
            },
            selector: s,
        };
        assert!(policy_selects(
            &policy(
                "CiliumNetworkPolicy",
                Some("shop"),
                sel(json!({"matchLabels": {"k8s:app": "db"}}))
            ),
            &p
        ));
        assert!(!policy_selects(
            &policy("CiliumNetworkPolicy", Some("other"), sel(json!({}))),
            &p
        ));
        assert!(policy_selects(
            &policy(
                "CiliumClusterwideNetworkPolicy",
                None,
                sel(json!({"matchLabels": {"k8s:io.kubernetes.pod.namespace": "shop"}}))
            ),
            &p
        ));
        assert!(policy_selects(
            &policy("NetworkPolicy", Some("shop"), sel(json!({}))),
            &p
        ));
        assert!(!policy_selects(
            &policy(
                "NetworkPolicy",
                Some("shop"),
                sel(json!({"matchLabels": {"app": "web"}}))
            ),
            &p
        ));
    }

    #[test]
    fn scheduling_rules() {
        let ds: Workload = serde_json::from_value(json!({
            "spec": {"template": {"spec": {"nodeSelector": {"io.cilium/aws-node-enabled": "true"}}}},
            "status": {"desiredNumberScheduled": 0}})).unwrap();
        let s = daemonset_scheduling(&ds, None);
        assert!(!s.can_schedule());
        let generic: Workload = serde_json::from_value(json!({
            "spec": {"template": {"spec": {"nodeSelector": {"kubernetes.io/os": "linux"}}}}}))
        .unwrap();
        assert!(daemonset_scheduling(&generic, None).can_schedule());
        let nodes: Vec<Node> = vec![serde_json::from_value(json!({"metadata": {"name": "n1",
            "labels": {"io.cilium/aws-node-enabled": "true"}}}))
        .unwrap()];
        assert!(daemonset_scheduling(&ds, Some(&nodes)).can_schedule());
    }

    #[test]
    fn samples() {
        assert_eq!(sample_list(&["a", "b", "c"], 2), "a, b and 1 more");
        assert_eq!(sample_list(&["a"], 2), "a");
    }
}
