//! CFG010: the agent's `config` init container crash-loops, and the
//! snapshot shows why: the API server reached through the kubernetes
//! Service (no k8s-service-host), or a Bottlerocket release with the
//! config-init bug.

use crate::findings::{ObjectRef, Severity};
use crate::knowledge::AmiFamily;
use crate::model::{Cluster, ContainerStatus, Pod};
use crate::rules::ops::common::cilium_absent;
use crate::rules::ver::family_of_os_image;
use crate::rules::{inputs, Area, Context, Missing, Outcome, Rule, RuleMeta};
use crate::version::Version;

pub struct AgentConfigInitCrashloop;

/// The known issue of the Bottlerocket cause (`data/known-issues.json`).
const ISSUE: &str = "KI016";

/// The agent's first init container: it reads cilium-config from the API server.
const CONFIG_INIT: &str = "config";

static META: RuleMeta = RuleMeta {
    code: "CFG010",
    name: "agent-config-init-crashloop",
    severity: Severity::High,
    area: Area::Cfg,
    summary: "The Cilium agent's config init container crash-loops: API server reached through the kubernetes Service, or Bottlerocket before the config-init fix",
    what_it_checks: "Reads the Cilium agent pods: it fires for each whose `config` init container \
is in CrashLoopBackOff (or has restarted after failing), and names the cause the snapshot shows: \
`k8s-service-host` unset in cilium-config (and no `KUBERNETES_SERVICE_HOST` on the agent), so \
the init container reaches the API server through the `kubernetes` Service; or the pod's node \
runs a Bottlerocket release older than the one the known issue names as fixed.",
    why_it_matters: "The `config` init container is the first thing the agent runs; while it \
crash-loops the node keeps the `node.cilium.io/agent-not-ready` taint (or, without it, pods \
start without networking) and the node stays NotReady. Without `k8sServiceHost` the container \
needs the kubernetes Service, that is kube-proxy's `KUBE-SVC-…` rules on that node, which were \
missing on the broken nodes of cilium#29094. On Karpenter Bottlerocket nodes the same \
crash-loop came from a Bottlerocket bug (bottlerocket#3143), fixed for the reporter by a newer \
Bottlerocket; since the node looks Ready, Karpenter adds no capacity.",
    how_to_fix: "Without k8s-service-host: set `k8sServiceHost` to the EKS API endpoint's host \
name (`aws eks describe-cluster --query cluster.endpoint`, without `https://`) and \
`k8sServicePort: 443`, then restart the agents. On Bottlerocket: move the nodes to the fixed \
Bottlerocket release (Karpenter: pin the EC2NodeClass `amiSelectorTerms` or let drift replace \
the nodes) and delete the stuck nodes.",
    known_limits: "The init container's log (the exact error) is not read from the pod list; a \
crash-loop with another cause and neither condition is left to OPS003. The Bottlerocket cause \
rests on the reporter's word (low confidence in the shared data).",
    docs_url: "https://docs.cilium.io/en/stable/network/kubernetes/kubeproxy-free/",
};

/// Whether the `config` init container is crash-looping.
fn crash_looping(s: &ContainerStatus) -> bool {
    let waiting = s.state.waiting.as_ref().and_then(|w| w.reason.as_deref());
    let failed_before = s
        .last_state
        .terminated
        .as_ref()
        .is_some_and(|t| t.exit_code.is_some_and(|c| c != 0));
    waiting == Some("CrashLoopBackOff") || (s.restart_count > 0 && failed_before && !s.ready)
}

/// The Bottlerocket release in an osImage (`Bottlerocket OS 1.13.3 (aws-k8s-1.24)`).
fn bottlerocket_release(os_image: &str) -> Option<Version> {
    let rest = os_image.trim().strip_prefix("Bottlerocket OS ")?;
    rest.split_whitespace().next()?.parse().ok()
}

/// The node a pod runs on, with its osImage.
fn node_os<'a>(c: &'a Cluster, pod: &Pod) -> Option<(&'a str, &'a str)> {
    let name = pod.spec.node_name.as_deref()?;
    let node = c
        .nodes
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|n| n.metadata.name == name)?;
    Some((
        node.metadata.name.as_str(),
        node.status.node_info.os_image.as_str(),
    ))
}

impl Rule for AgentConfigInitCrashloop {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        if cilium_absent(c) {
            return Ok(vec![]);
        }
        if c.pods.is_none() {
            return Err(Missing::new("the Cilium agent pods", inputs::PODS));
        }
        let stuck: Vec<(&Pod, &ContainerStatus)> = cx
            .facts
            .cilium_pods()
            .agents
            .iter()
            .filter_map(|&p| {
                p.status
                    .init_container_statuses
                    .iter()
                    .find(|s| s.name == CONFIG_INIT && crash_looping(s))
                    .map(|s| (p, s))
            })
            .collect();
        if stuck.is_empty() {
            return Ok(vec![]);
        }
        let via_service = c.cilium.config.is_some() && c.cilium.k8s_service_host.is_none();
        let bottlerocket_fix = cx.knowledge.cited_issue(ISSUE).and_then(|i| {
            i.platform
                .as_ref()?
                .os_fixed
                .as_deref()?
                .parse::<Version>()
                .ok()
                .map(|v| (i, v))
        });
        let mut findings = Vec::new();
        for (pod, status) in stuck {
            let node = node_os(c, pod);
            let old_bottlerocket = match (node, &bottlerocket_fix) {
                (Some((_, os)), Some((_, fixed))) => {
                    family_of_os_image(os) == Some(AmiFamily::Bottlerocket)
                        && bottlerocket_release(os).is_some_and(|v| v < *fixed)
                }
                _ => false,
            };
            if !via_service && !old_bottlerocket {
                continue;
            }
            let waiting = status
                .state
                .waiting
                .as_ref()
                .and_then(|w| w.reason.as_deref())
                .unwrap_or("restarting");
            let node_name = pod.spec.node_name.as_deref().unwrap_or("?");
            let mut causes = Vec::new();
            if via_service {
                causes.push("without k8s-service-host it reaches the API server through the kubernetes Service, which needs kube-proxy's rules on that node".to_string());
            }
            if let (true, Some((_, fixed))) = (old_bottlerocket, &bottlerocket_fix) {
                causes.push(format!(
                    "the node runs {} (before Bottlerocket {fixed}, bottlerocket#3143)",
                    node.map(|n| n.1).unwrap_or("Bottlerocket")
                ));
            }
            let mut f = META
                .finding(
                    ObjectRef::new("Pod", Some(pod.metadata.namespace()), &pod.metadata.name),
                    format!(
                        "Cilium agent {} on {node_name}: init container config is {waiting} ({} restarts): {}",
                        pod.metadata.name,
                        status.restart_count,
                        causes.join("; and ")
                    ),
                )
                .with_evidence(format!(
                    "Pod {}/{} initContainerStatuses[config]: {waiting}, restartCount {}",
                    pod.metadata.namespace(),
                    pod.metadata.name,
                    status.restart_count
                ));
            if let Some(t) = status.last_state.terminated.as_ref() {
                f = f.with_evidence(format!(
                    "last run: {} (exit code {})",
                    t.reason.as_deref().unwrap_or("terminated"),
                    t.exit_code.map_or("?".to_string(), |c| c.to_string())
                ));
            }
            if let Some((name, os)) = node {
                f = f.with_evidence(format!("Node {name}: osImage {os}"));
            }
            let mut fix = Vec::new();
            if via_service {
                f = f.with_evidence(
                    "cilium-config: no k8s-service-host (and no KUBERNETES_SERVICE_HOST on the agent)",
                );
                fix.push(format!(
                    "# point the agent at the EKS endpoint instead of the kubernetes Service:\n\
ENDPOINT=$(aws eks describe-cluster --name {} --query cluster.endpoint --output text | sed 's|https://||')\n{}",
                    cx.cluster_name(),
                    crate::rules::cni::shared::helm_upgrade(
                        c,
                        &["--set k8sServiceHost=$ENDPOINT", "--set k8sServicePort=443"]
                    )
                ));
            }
            if let (true, Some((issue, fixed))) = (old_bottlerocket, &bottlerocket_fix) {
                f = f.with_evidence(format!("{}: {}", issue.reference(), issue.symptom));
                fix.push(format!(
                    "# {}\n# move the node to Bottlerocket {fixed} or later and remove the stuck node:\nkubectl delete node {node_name}",
                    issue.workaround
                ));
            }
            findings.push(f.with_remediation(fix.join("\n")));
        }
        Ok(findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{check, load_cluster};
    use serde_json::{json, Value};

    fn cluster(config: Value, os_image: &str, init_state: Value) -> Cluster {
        load_cluster(&[
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
                "metadata": {"name": "cilium", "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
                "spec": {"template": {"spec": {"containers": [
                    {"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.14.5"}]}}}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "cilium-config", "namespace": "kube-system"}, "data": config}),
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "ip-10-0-3-7.ec2.internal"},
                "status": {"nodeInfo": {"osImage": os_image, "kernelVersion": "5.15.102"}}}),
            json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "cilium-x2v9q", "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
                "spec": {"nodeName": "ip-10-0-3-7.ec2.internal", "containers": [{"name": "cilium-agent", "image": "x"}]},
                "status": {"phase": "Pending", "initContainerStatuses": [init_state]}}),
        ])
    }

    fn crashing() -> Value {
        json!({"name": "config", "ready": false, "restartCount": 9,
            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {"reason": "Error", "exitCode": 1}}})
    }

    #[test]
    fn names_the_service_path_without_k8s_service_host() {
        let c = cluster(json!({"ipam": "eni"}), "Amazon Linux 2", crashing());
        let f = check(&AgentConfigInitCrashloop, &c).unwrap();
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("kubernetes Service"));
        assert!(f[0].remediation.contains("k8sServiceHost"));
    }

    #[test]
    fn names_old_bottlerocket() {
        let c = cluster(
            json!({"ipam": "eni", "k8s-service-host": "ABC.gr7.us-east-1.eks.amazonaws.com"}),
            "Bottlerocket OS 1.13.3 (aws-k8s-1.24)",
            crashing(),
        );
        let f = check(&AgentConfigInitCrashloop, &c).unwrap();
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("Bottlerocket 1.14.2"));
        assert!(!f[0].message.contains("kubernetes Service"));
    }

    #[test]
    fn quiet_when_running_or_no_cause() {
        let running = json!({"name": "config", "ready": true, "restartCount": 0,
            "state": {"terminated": {"reason": "Completed", "exitCode": 0}}});
        let c = cluster(json!({"ipam": "eni"}), "Amazon Linux 2", running);
        assert!(check(&AgentConfigInitCrashloop, &c).unwrap().is_empty());
        let c = cluster(
            json!({"ipam": "eni", "k8s-service-host": "ABC.gr7.us-east-1.eks.amazonaws.com"}),
            "Bottlerocket OS 1.14.2 (aws-k8s-1.24)",
            crashing(),
        );
        assert!(check(&AgentConfigInitCrashloop, &c).unwrap().is_empty());
    }
}
