//! OPS003 cilium-pods-restarting.

use super::common;
use crate::findings::{ObjectRef, Severity};
use crate::model::{ContainerStatus, Pod};
use crate::rules::inputs;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct CiliumPodsRestarting;

static META: RuleMeta = RuleMeta {
    code: "OPS003",
    name: "cilium-pods-restarting",
    severity: Severity::High,
    area: Area::Ops,
    summary: "Cilium agent or operator containers restart repeatedly or crash-loop",
    what_it_checks: "Cilium agent pods (label `k8s-app=cilium`) and operator pods (label \
`io.cilium/app=operator`, or named `cilium-operator-…`): any container or init container \
whose `restartCount` is above the threshold (default 3, `--restart-threshold`) or that is \
waiting in `CrashLoopBackOff`.",
    why_it_matters: "While an agent restarts, its node cannot set up new pods and its \
policy and service state is being rebuilt; a crash-looping agent leaves the node without \
working networking for new pods. A crash-looping operator stops IP allocation in ENI mode \
and identity/CiliumNode garbage collection.",
    how_to_fix: "Read why the container stopped (`kubectl logs --previous`, \
`lastState.terminated`): OOMKilled means the memory limit is too low for the cluster's \
size; errors at start usually point at configuration (IPAM, API server reachability, \
kernel features). Fix the cause, then watch the restart count stay flat.",
    known_limits: "restartCount is cumulative over the pod's life: an old, resolved \
incident keeps counting until the pod is recreated. Cilium has no restart metric of its \
own (metrics.json), so only pod status is read.",
    docs_url: "https://docs.cilium.io/en/stable/operations/troubleshooting/",
};

struct Bad {
    pod: String,
    node: Option<String>,
    line: String,
}

fn bad_containers(pod: &Pod, threshold: u32) -> Vec<String> {
    let check = |c: &ContainerStatus, init: bool| -> Option<String> {
        let waiting = c.state.waiting.as_ref().and_then(|w| w.reason.as_deref());
        let crash = waiting == Some("CrashLoopBackOff");
        if c.restart_count <= threshold && !crash {
            return None;
        }
        let mut line = format!(
            "{}container {}: {} restarts",
            if init { "init " } else { "" },
            c.name,
            c.restart_count
        );
        if let Some(w) = waiting {
            line.push_str(&format!(", waiting {w}"));
        }
        if let Some(t) = &c.last_state.terminated {
            line.push_str(&format!(
                ", last exit {}{}",
                t.reason.as_deref().unwrap_or("?"),
                t.exit_code
                    .map(|e| format!(" (code {e})"))
                    .unwrap_or_default()
            ));
        }
        Some(line)
    };
    pod.status
        .init_container_statuses
        .iter()
        .filter_map(|c| check(c, true))
        .chain(
            pod.status
                .container_statuses
                .iter()
                .filter_map(|c| check(c, false)),
        )
        .collect()
}

impl Rule for CiliumPodsRestarting {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        if c.pods.is_none() {
            if common::cilium_absent(c) {
                return Ok(vec![]);
            }
            return META.missing("no Pod objects", inputs::KUBE_SYSTEM_PODS);
        }
        let threshold = cx.options.restart_threshold;
        let bad = |pods: &[&Pod]| -> Vec<Bad> {
            pods.iter()
                .flat_map(|p| {
                    bad_containers(p, threshold).into_iter().map(|line| Bad {
                        pod: format!("{}/{}", p.metadata.namespace(), p.metadata.name),
                        node: p.spec.node_name.clone(),
                        line,
                    })
                })
                .collect()
        };
        let cilium_pods = cx.facts.cilium_pods();
        let agents = bad(&cilium_pods.agents);
        let operators = bad(&cilium_pods.operators);
        let mut findings = Vec::new();
        let cli = common::agent_cli(cx);
        if !agents.is_empty() {
            findings.push(finding(
                common::agent_object(c),
                "agent",
                &agents,
                threshold,
                format!(
                    "kubectl -n kube-system logs {} -c cilium-agent --previous --tail=100\n\
kubectl -n kube-system describe pod {}\n\
# While the agent is up between restarts:\n\
kubectl -n kube-system exec {} -c cilium-agent -- {cli} status --verbose",
                    pod_name(&agents[0].pod),
                    pod_name(&agents[0].pod),
                    pod_name(&agents[0].pod),
                ),
            ));
        }
        if !operators.is_empty() {
            let ns = operators[0].pod.split('/').next().unwrap_or("kube-system");
            // The operator Deployment when the snapshot has it, else its usual name.
            let deployment = c
                .deployments
                .as_deref()
                .unwrap_or_default()
                .iter()
                .find(|d| {
                    d.kind == "Deployment"
                        && d.metadata.namespace() == ns
                        && (d.metadata.name == "cilium-operator"
                            || d.metadata.labels.get("io.cilium/app").map(String::as_str)
                                == Some("operator"))
                })
                .map_or("cilium-operator", |d| d.metadata.name.as_str());
            findings.push(finding(
                ObjectRef::new("Deployment", Some(ns), deployment),
                "operator",
                &operators,
                threshold,
                format!(
                    "kubectl -n {ns} logs {} --previous --tail=100\n\
kubectl -n {ns} describe pod {}",
                    pod_name(&operators[0].pod),
                    pod_name(&operators[0].pod),
                ),
            ));
        }
        Ok(findings)
    }
}

fn pod_name(key: &str) -> &str {
    key.split_once('/').map_or(key, |(_, n)| n)
}

fn finding(
    object: ObjectRef,
    what: &str,
    bad: &[Bad],
    threshold: u32,
    fix: String,
) -> crate::findings::Finding {
    let mut pods: Vec<&str> = bad.iter().map(|b| b.pod.as_str()).collect();
    pods.dedup();
    let oom = bad.iter().any(|b| b.line.contains("OOMKilled"));
    let mut f = META.finding(
        object,
        format!(
            "{} Cilium {what} pod(s) restart repeatedly (more than {threshold} restarts or CrashLoopBackOff)",
            pods.len()
        ),
    );
    let lines: Vec<String> = bad
        .iter()
        .map(|b| match &b.node {
            Some(n) => format!("{} on {n}: {}", b.pod, b.line),
            None => format!("{}: {}", b.pod, b.line),
        })
        .collect();
    for l in common::capped(lines, 15) {
        f = f.with_evidence(l);
    }
    let mut fix = fix;
    if oom {
        fix.push_str("\n# OOMKilled: raise the container's memory limit (Helm `resources` for the agent, `operator.resources` for the operator) to what the cluster's size needs.");
    }
    f.with_remediation(fix)
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)]
mod tests {
    use super::*;
    use crate::model::Cluster;
    use crate::rules::testing::outcome;
    use serde_json::json;

    fn pod(name: &str, labels: serde_json::Value, restarts: u32, waiting: Option<&str>) -> Pod {
        serde_json::from_value(json!({
            "metadata":{"name":name,"namespace":"kube-system","labels":labels},
            "spec":{"nodeName":"ip-10-0-1-23.eu-west-1.compute.internal"},
            "status":{"phase":"Running","containerStatuses":[{"name":"cilium-agent","restartCount":restarts,
                "state": waiting.map_or(json!({"running":{}}), |w| json!({"waiting":{"reason":w}})),
                "lastState":{"terminated":{"reason":"OOMKilled","exitCode":137}}}]}}))
        .unwrap()
    }

    #[test]
    fn threshold_and_crashloop() {
        let mut c = Cluster::default();
        c.pods = Some(vec![pod("cilium-x1", json!({"k8s-app":"cilium"}), 3, None)]);
        assert_eq!(outcome(&CiliumPodsRestarting, &c), Ok(vec![]));
        c.pods = Some(vec![
            pod("cilium-x1", json!({"k8s-app":"cilium"}), 4, None),
            pod(
                "cilium-operator-5d9c-abcde",
                json!({"io.cilium/app":"operator"}),
                0,
                Some("CrashLoopBackOff"),
            ),
            pod(
                "coredns-1",
                json!({"k8s-app":"kube-dns"}),
                50,
                Some("CrashLoopBackOff"),
            ),
        ]);
        let Ok(f) = outcome(&CiliumPodsRestarting, &c) else {
            panic!()
        };
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].object.kind, "DaemonSet");
        assert!(f[0].evidence[0].contains("4 restarts, last exit OOMKilled (code 137)"));
        assert!(f[0].remediation.contains("OOMKilled"));
        assert_eq!(f[1].object.name, "cilium-operator");
        assert!(f[1].evidence[0].contains("waiting CrashLoopBackOff"));
    }

    #[test]
    fn missing_pods() {
        assert!(outcome(&CiliumPodsRestarting, &Cluster::default()).is_err());
    }
}
