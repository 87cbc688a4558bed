//! CAP002 pods-stuck-without-ip.

use crate::rules::inputs;
use std::collections::{BTreeMap, HashMap};

use super::common;
use crate::findings::{Finding, ObjectRef, Severity};
use crate::model::Pod;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct PodsStuckWithoutIp;

/// (namespace, name) of a pod and the lines that show its IP failure.
type PodEvidence<'a> = ((&'a str, &'a str), Vec<String>);

static META: RuleMeta = RuleMeta {
    code: "CAP002",
    name: "pods-stuck-without-ip",
    severity: Severity::Critical,
    area: Area::Cap,
    summary: "Pods are stuck Pending/ContainerCreating because no pod IP could be allocated",
    what_it_checks: "Pods in phase Pending (including ContainerCreating) whose events \
(e.g. FailedCreatePodSandBox), conditions or container waiting messages say IP allocation \
failed. Matched case-insensitively: Cilium's CNI plugin `unable to allocate IP via local \
cilium agent`, its allocators' `no IPs currently available on the node` (ENI/CRD), `all \
CIDR ranges are exhausted` (multi-pool) and `range is full` (cluster-pool), the VPC CNI's \
`failed to assign an IP address to container`, and the generic `no available IP` / `No \
more IPs available`. Pods are reported per node.",
    why_it_matters: "These pods never start: the sandbox is retried forever while the \
node looks healthy and the scheduler keeps counting it as capacity. Deployments roll out \
partially, DaemonSets never complete, Helm `--wait` times out.",
    how_to_fix: "Find why the node has no address left: in ENI mode the node's \
CiliumNode (`status.ipam.operator-status`), the operator log, the instance's ENI limit \
(CAP001) and the subnet's free addresses (CAP005); in cluster-pool mode the node's pod CIDR \
is full (max pods above the per-node CIDR size) or the cluster pool has no CIDR left. \
Free or add capacity, then delete the stuck pods so they are recreated.",
    known_limits: "Needs the Events of the snapshot (they expire after an hour by \
default); without events only pod conditions and waiting messages are read. Messages in \
other wordings are not recognised.",
    docs_url: "https://docs.cilium.io/en/stable/network/concepts/ipam/",
};

/// Lower-case fragments of IP-allocation failures. Sources: Cilium
/// `plugins/cilium-cni` ("unable to allocate IP via local cilium agent"),
/// `pkg/ipam/crd.go` ("no IPs currently available on the node, allocation
/// will be retried once Cilium Operator allocates more IPs"),
/// `pkg/ipam/multipool.go` ("all CIDR ranges are exhausted"), the
/// cluster-pool range allocator ("range is full"), the VPC CNI ("add cmd:
/// failed to assign an IP address to container"), and rules.md CAP002
/// examples ("no available IP", "No more IPs available", "unable to allocate IP").
const IP_FAILURE_PATTERNS: &[&str] = &[
    "unable to allocate ip",
    "no ips currently available on the node",
    "all cidr ranges are exhausted",
    "range is full",
    "failed to assign an ip address to container",
    "no available ip",
    "no more ips available",
];

/// Whether `text` says IP allocation failed.
pub(crate) fn says_ip_allocation_failed(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    IP_FAILURE_PATTERNS.iter().any(|p| lower.contains(p))
}

fn is_stuck(pod: &Pod) -> bool {
    pod.status.phase.as_deref() == Some("Pending")
        || pod.status.container_statuses.iter().any(|c| {
            c.state.waiting.as_ref().and_then(|w| w.reason.as_deref()) == Some("ContainerCreating")
        })
}

/// The message on one line, at most ~300 characters, keeping the part that
/// says why the allocation failed.
fn short(text: &str) -> String {
    const MAX: usize = 300;
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= MAX {
        return one_line;
    }
    // ASCII lower-casing keeps byte offsets, so the match position is valid here.
    let lower = one_line.to_ascii_lowercase();
    let hit = IP_FAILURE_PATTERNS
        .iter()
        .filter_map(|p| lower.find(p))
        .min()
        .unwrap_or(0);
    let mut start = hit.saturating_sub(60);
    while !one_line.is_char_boundary(start) {
        start -= 1;
    }
    let tail: String = one_line[start..].chars().take(MAX).collect();
    let more = if one_line[start..].chars().count() > MAX {
        "…"
    } else {
        ""
    };
    if start == 0 {
        format!("{tail}{more}")
    } else {
        format!("…{tail}{more}")
    }
}

impl Rule for PodsStuckWithoutIp {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let outcome = self.evaluate_rule(cx);
        crate::rules::log::common::with_signature_evidence(
            cx,
            &META,
            outcome,
            &[crate::logs::Stream::Log],
        )
    }
}

impl PodsStuckWithoutIp {
    fn evaluate_rule(&self, cx: &Context) -> Outcome {
        let Some(pods) = cx.cluster.pods.as_deref() else {
            return META.missing("no Pod objects", inputs::PODS);
        };
        let stuck: HashMap<(&str, &str), &Pod> = pods
            .iter()
            .filter(|p| is_stuck(p))
            .map(|p| ((p.metadata.namespace(), p.metadata.name.as_str()), p))
            .collect();

        // pod key → evidence
        let mut evidence: BTreeMap<(&str, &str), Vec<String>> = BTreeMap::new();
        for (key, pod) in &stuck {
            for c in &pod.status.conditions {
                if let Some(m) = c
                    .message
                    .as_deref()
                    .filter(|m| says_ip_allocation_failed(m))
                {
                    evidence.entry(*key).or_default().push(format!(
                        "condition {}: {}",
                        c.type_,
                        short(m)
                    ));
                }
            }
            for c in pod
                .status
                .container_statuses
                .iter()
                .chain(&pod.status.init_container_statuses)
            {
                if let Some(m) = c
                    .state
                    .waiting
                    .as_ref()
                    .and_then(|w| w.message.as_deref())
                    .filter(|m| says_ip_allocation_failed(m))
                {
                    evidence.entry(*key).or_default().push(format!(
                        "container {} waiting: {}",
                        c.name,
                        short(m)
                    ));
                }
            }
        }
        if let Some(events) = cx.cluster.events.as_deref() {
            for e in events {
                let obj = e.object();
                if obj.kind.as_deref().is_some_and(|k| k != "Pod") {
                    continue;
                }
                let ns = obj
                    .namespace
                    .as_deref()
                    .or(e.metadata.namespace.as_deref())
                    .unwrap_or("");
                let Some(name) = obj.name.as_deref() else {
                    continue;
                };
                let Some((key, _)) = stuck.get_key_value(&(ns, name)) else {
                    continue;
                };
                if !says_ip_allocation_failed(e.text()) {
                    continue;
                }
                let count = e.count.map(|n| format!(" ×{n}")).unwrap_or_default();
                evidence.entry(*key).or_default().push(format!(
                    "event {}{count}: {}",
                    e.reason.as_deref().unwrap_or("(no reason)"),
                    short(e.text())
                ));
            }
        } else if evidence.is_empty() {
            return META.missing(
                "no Event objects (FailedCreatePodSandBox events carry the IP errors)",
                inputs::EVENTS,
            );
        }

        // Group per node (the node ran out of addresses), unscheduled pods alone.
        let mut per_node: BTreeMap<Option<&str>, Vec<PodEvidence>> = BTreeMap::new();
        for (key, lines) in evidence {
            let node = stuck.get(&key).and_then(|p| p.spec.node_name.as_deref());
            per_node.entry(node).or_default().push((key, lines));
        }
        let eni = cx.cluster.cilium.ipam_is_eni();
        let mut findings = Vec::new();
        for (node, pods) in per_node {
            let names: Vec<String> = pods
                .iter()
                .map(|((ns, n), _)| format!("{ns}/{n}"))
                .collect();
            let (object, message) = match node {
                Some(node) => (
                    ObjectRef::global("Node", node),
                    format!(
                        "{} pod(s) on node {node} are stuck without an IP address: {}",
                        pods.len(),
                        common::capped(names.clone(), 5).join(", ")
                    ),
                ),
                None => {
                    let ((ns, n), _) = pods[0];
                    (
                        ObjectRef::new("Pod", Some(ns), n),
                        format!("Pod {ns}/{n} is stuck without an IP address"),
                    )
                }
            };
            let mut f: Finding = META.finding(object, message);
            let mut lines = Vec::new();
            for ((ns, n), ev) in &pods {
                for e in ev.iter().take(3) {
                    lines.push(format!("{ns}/{n}: {e}"));
                }
            }
            for l in common::capped(lines, 15) {
                f = f.with_evidence(l);
            }
            f = f.with_remediation(remediation(node, eni, &names));
            findings.push(f);
        }
        Ok(findings)
    }
}

fn remediation(node: Option<&str>, eni: bool, pods: &[String]) -> String {
    let node = node.unwrap_or("NODE");
    let mut out = String::new();
    if eni {
        out.push_str(&format!(
            "# Why has the node no address left? Operator status of its CiliumNode, the operator log:\n\
kubectl get ciliumnode {node} -o jsonpath='{{.status.ipam.operator-status}}{{\"\\n\"}}'\n\
kubectl -n kube-system logs deployment/cilium-operator --since=1h | grep -i -E 'eni|subnet|limit|error'\n\
# Then fix the cause (see CAP001 instance limits, CAP005 subnet free addresses, CAP006 CiliumNode pool).\n"
        ));
    } else {
        out.push_str(&format!(
            "# Why has the node no address left? Its CNI agent log:\n\
kubectl -n kube-system logs $(kubectl -n kube-system get pods -l k8s-app=cilium --field-selector spec.nodeName={node} -o name) -c cilium-agent --since=1h | grep -i ipam\n"
        ));
    }
    out.push_str("# Once addresses are available, recreate the stuck pods:\n");
    use crate::hygiene::shell_quote;
    for p in pods.iter().take(10) {
        if let Some((ns, n)) = p.split_once('/') {
            let (ns, n) = (shell_quote(ns), shell_quote(n));
            out.push_str(&format!("kubectl -n {ns} delete pod {n}\n"));
        }
    }
    out.trim_end().to_string()
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)]
mod tests {
    use super::*;
    use crate::model::Cluster;
    use crate::rules::testing::outcome;
    use serde_json::json;

    fn pod(name: &str, phase: &str) -> Pod {
        serde_json::from_value(json!({
            "metadata":{"name":name,"namespace":"shop"},
            "spec":{"nodeName":"ip-10-0-1-23.eu-west-1.compute.internal"},
            "status":{"phase":phase}}))
        .unwrap()
    }

    #[test]
    fn matches_real_messages_case_insensitively() {
        for m in [
            "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox \"1c\": plugin type=\"cilium-cni\" failed (add): unable to allocate IP via local cilium agent: [POST /ipam][502] postIpamFailure  range is full",
            "unable to allocate IP via local cilium agent: [POST /ipam][502] postIpamFailure \"no IPs currently available on the node, allocation will be retried once Cilium Operator allocates more IPs\"",
            "postIpamFailure \"all CIDR ranges are exhausted\"",
            "plugin type=\"aws-cni\" name=\"aws-cni\" failed (add): add cmd: failed to assign an IP address to container",
            "NO MORE IPS AVAILABLE",
        ] {
            assert!(says_ip_allocation_failed(m), "{m}");
        }
        assert!(!says_ip_allocation_failed(
            "Back-off pulling image \"nginx\""
        ));
        assert!(!says_ip_allocation_failed(
            "0/3 nodes are available: 3 Insufficient cpu."
        ));
    }

    #[test]
    fn event_on_pending_pod_fires_running_pod_does_not() {
        let mut c = Cluster::default();
        c.pods = Some(vec![pod("web-1", "Pending"), pod("web-2", "Running")]);
        let ev = |name: &str| {
            serde_json::from_value(json!({
                "metadata":{"name":format!("{name}.1"),"namespace":"shop"},
                "involvedObject":{"kind":"Pod","namespace":"shop","name":name},
                "reason":"FailedCreatePodSandBox","type":"Warning","count":12,
                "message":"plugin type=\"cilium-cni\" failed (add): unable to allocate IP via local cilium agent: no IPs currently available on the node"}))
            .unwrap()
        };
        c.events = Some(vec![ev("web-1"), ev("web-2")]);
        let Ok(f) = outcome(&PodsStuckWithoutIp, &c) else {
            panic!()
        };
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("shop/web-1"));
        assert!(!f[0].message.contains("web-2"));
        assert!(f[0].evidence[0].contains("FailedCreatePodSandBox ×12"));
    }

    #[test]
    fn long_messages_keep_the_reason() {
        let long = format!(
            "Failed to create pod sandbox: {} plugin type=\"cilium-cni\" failed (add): unable to allocate IP via local cilium agent: [POST /ipam][502] postIpamFailure \"no IPs currently available on the node\"",
            "x".repeat(400)
        );
        let s = short(&long);
        assert!(s.starts_with('…'));
        assert!(s.contains("no IPs currently available on the node"), "{s}");
        assert!(s.chars().count() <= 302);
        assert_eq!(short("a\n  b"), "a b");
        // Multi-byte text before the match stays valid.
        let uni = format!("{} unable to allocate IP", "é".repeat(300));
        assert!(short(&uni).contains("unable to allocate IP"));
    }

    #[test]
    fn missing_inputs() {
        let c = Cluster::default();
        assert!(outcome(&PodsStuckWithoutIp, &c).is_err());
        let mut c = Cluster::default();
        c.pods = Some(vec![pod("web-1", "Pending")]);
        assert!(outcome(&PodsStuckWithoutIp, &c).is_err());
        c.events = Some(vec![]);
        assert_eq!(outcome(&PodsStuckWithoutIp, &c), Ok(vec![]));
    }
}
