//! OPS004 cilium-agents-not-ready.

use super::common;
use crate::findings::{Finding, Severity};
use crate::model::StatusComponent;
use crate::rules::inputs;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct CiliumAgentsNotReady;

static META: RuleMeta = RuleMeta {
    code: "OPS004",
    name: "cilium-agents-not-ready",
    severity: Severity::Critical,
    area: Area::Ops,
    summary: "Cilium agents are not ready, or `cilium status` reports a failing component",
    what_it_checks: "The agent DaemonSet's `status.numberReady` against \
`status.desiredNumberScheduled`, and every `cilium status` output in the snapshot (e.g. \
a sysdump): a component whose state is `Warning` or `Failure` (the two states Cilium's \
own status client treats as unhealthy), `Controller Status: x/y healthy` with x < y, or \
`Modules Health` with `Degraded(n)`, n > 0. `Disabled`, `Ok` and informational lines \
(IPAM, Routing, Masquerading, …) are not failures; cluster health is OPS006.",
    why_it_matters: "A node whose agent is not ready cannot start pods with networking, \
does not enforce updated policies and may black-hole service traffic; a failing \
component (Kubernetes connectivity, kvstore, health daemon, controllers) is usually the \
reason an agent is not ready or soon will not be.",
    how_to_fix: "Look at the agents that are not ready: their events and logs, and \
`cilium-dbg status --verbose` inside them (`cilium status` before 1.15). Typical causes \
are an unreachable API server (kube-proxy replacement without `k8sServiceHost`), IPAM \
failures, and missing kernel features.",
    known_limits: "The DaemonSet status is a snapshot; an agent rolling out at that \
moment is counted as not ready. Status lines whose state is not one of Cilium's states \
are not interpreted.",
    docs_url: "https://docs.cilium.io/en/stable/operations/troubleshooting/",
};

/// Why a `cilium status` line counts as failing, if it does.
fn failing(c: &StatusComponent) -> Option<String> {
    let state = c.state.trim();
    let text = format!("{} {}", state, c.detail.trim());
    let name = c.name.trim();
    if name.eq_ignore_ascii_case("Cluster health") {
        return None; // OPS006
    }
    if state.eq_ignore_ascii_case("warning") || state.eq_ignore_ascii_case("failure") {
        return Some(format!("{name}: {}", text.trim()));
    }
    if name.eq_ignore_ascii_case("Controller Status") {
        let (ok, total) = text.split_whitespace().next()?.split_once('/')?;
        let (ok, total): (u32, u32) = (ok.parse().ok()?, total.parse().ok()?);
        return (ok < total).then(|| format!("{name}: {ok}/{total} controllers healthy"));
    }
    if name.eq_ignore_ascii_case("Modules Health") {
        let degraded = text.split_whitespace().find_map(|w| {
            w.strip_prefix("Degraded(")?
                .strip_suffix(')')?
                .parse::<u32>()
                .ok()
        })?;
        return (degraded > 0).then(|| format!("{name}: {}", text.trim()));
    }
    None
}

impl Rule for CiliumAgentsNotReady {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        let cli = common::agent_cli(cx);
        let statuses = c.cilium_status.as_deref();
        let ds = c
            .cilium
            .agent_daemonset
            .as_ref()
            .and_then(|k| c.daemonset(&k.namespace, &k.name));
        if statuses.is_none() {
            if c.daemonsets.is_none() {
                return META.missing(
                    "no DaemonSets and no `cilium status` output",
                    inputs::DAEMONSETS,
                );
            }
            if ds.is_none() {
                // DaemonSets provided and none is Cilium's agent.
                return Ok(vec![]);
            }
        }
        let mut findings = Vec::new();
        let mut ds_judged = false;
        if let Some(ds) = ds {
            let st = &ds.status;
            if let (Some(desired), Some(ready)) = (st.desired_number_scheduled, st.number_ready) {
                ds_judged = true;
                if ready < desired {
                    findings.push(not_ready(cx, ready, desired, cli));
                }
            }
        }
        let mut lines = Vec::new();
        let mut agents = 0;
        for report in statuses.unwrap_or_default() {
            let bad: Vec<String> = report.components.iter().filter_map(failing).collect();
            if bad.is_empty() {
                continue;
            }
            agents += 1;
            let source = if report.source.is_empty() {
                "cilium status".to_string()
            } else {
                common::display_source(&report.source)
            };
            for b in bad {
                lines.push(format!("{source}: {b}"));
            }
        }
        if agents > 0 {
            let mut f = META.finding(
                common::agent_object(c),
                format!("`cilium status` of {agents} agent(s) reports failing components"),
            );
            for l in common::capped(lines, 20) {
                f = f.with_evidence(l);
            }
            findings.push(f.with_remediation(format!(
                "kubectl -n kube-system exec ds/cilium -c cilium-agent -- {cli} status --verbose\n\
kubectl -n kube-system logs ds/cilium -c cilium-agent --since=1h | grep -E 'level=(error|warning)'"
            )));
        }
        if !ds_judged && statuses.is_none() {
            return META.missing(
                "the agent DaemonSet has no status (desiredNumberScheduled/numberReady)",
                inputs::DAEMONSETS,
            );
        }
        Ok(findings)
    }
}

fn not_ready(cx: &Context, ready: u32, desired: u32, cli: &str) -> Finding {
    let c = cx.cluster;
    let object = common::agent_object(c);
    let mut f = META
        .finding(
            object.clone(),
            format!("Only {ready} of {desired} Cilium agents are ready"),
        )
        .with_evidence(format!(
            "DaemonSet {}/{}: desiredNumberScheduled {desired}, numberReady {ready}",
            object.namespace.as_deref().unwrap_or(""),
            object.name
        ));
    // The first bad pod, its failing container, whether it restarted, whether it runs.
    let mut first_bad: Option<(String, String, bool, bool)> = None;
    let lines: Vec<String> = cx
        .facts
        .cilium_pods()
        .agents
        .iter()
        .filter(|p| {
            p.status.phase.as_deref() != Some("Running")
                || p.status.container_statuses.is_empty()
                || p.status.container_statuses.iter().any(|s| !s.ready)
        })
        .map(|p| {
            let all = || {
                p.status
                    .init_container_statuses
                    .iter()
                    .chain(&p.status.container_statuses)
            };
            let waiting: Vec<String> = all()
                .filter_map(|s| {
                    let r = s.state.waiting.as_ref()?.reason.as_deref()?;
                    Some(format!("{} {r}", s.name))
                })
                .collect();
            if first_bad.is_none() {
                let culprit = all()
                    .find(|s| {
                        s.state.waiting.as_ref().and_then(|w| w.reason.as_deref())
                            == Some("CrashLoopBackOff")
                    })
                    .or_else(|| all().find(|s| !s.ready && s.state.waiting.is_none()))
                    .map(|s| (s.name.clone(), s.restart_count > 0))
                    .unwrap_or_else(|| ("cilium-agent".into(), false));
                first_bad = Some((
                    p.metadata.name.clone(),
                    culprit.0,
                    culprit.1,
                    p.status.phase.as_deref() == Some("Running"),
                ));
            }
            format!(
                "pod {} on {}: phase {}{}",
                p.metadata.name,
                p.spec.node_name.as_deref().unwrap_or("(unscheduled)"),
                p.status.phase.as_deref().unwrap_or("?"),
                if waiting.is_empty() {
                    String::new()
                } else {
                    format!(", waiting: {}", waiting.join(", "))
                }
            )
        })
        .collect();
    for l in common::capped(lines, 15) {
        f = f.with_evidence(l);
    }
    let (pod, container, restarted, running) =
        first_bad.unwrap_or_else(|| ("CILIUM_POD".into(), "cilium-agent".into(), false, true));
    let mut fix = format!(
        "kubectl -n kube-system get pods -l k8s-app=cilium -o wide | grep -v ' Running '\n\
kubectl -n kube-system describe pod {pod}\n\
kubectl -n kube-system logs {pod} -c {container}{} --tail=100",
        if restarted { " --previous" } else { "" }
    );
    if running {
        fix.push_str(&format!(
            "\nkubectl -n kube-system exec {pod} -c cilium-agent -- {cli} status --verbose"
        ));
    }
    f.with_remediation(fix)
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)]
mod tests {
    use super::*;
    use crate::model::{CiliumStatusReport, Cluster, Workload};
    use crate::rules::testing::outcome;
    use serde_json::json;

    fn comp(name: &str, state: &str, detail: &str) -> StatusComponent {
        StatusComponent {
            name: name.into(),
            state: state.into(),
            detail: detail.into(),
        }
    }

    /// The components of the real EKS sample
    /// (daithang59__…__cilium_status_eks134_eni_kpr.txt), as the loader splits them.
    fn real_sample() -> Vec<StatusComponent> {
        vec![
            comp("KVStore", "Disabled", ""),
            comp(
                "Kubernetes",
                "Ok",
                "1.34 (v1.34.4-eks-f69f56f) [linux/amd64]",
            ),
            comp(
                "Kubernetes APIs",
                "[\"EndpointSliceOrEndpoint\",",
                "\"cilium/v2::CiliumNode\"]",
            ),
            comp(
                "KubeProxyReplacement",
                "True",
                "[ens5 10.0.10.206 (Direct Routing)]",
            ),
            comp("Host firewall", "Disabled", ""),
            comp("CNI Chaining", "none", ""),
            comp(
                "CNI Config file",
                "successfully",
                "wrote CNI configuration file to /host/etc/cni/net.d/05-cilium.conflist",
            ),
            comp("Cilium", "Ok", "1.18.7 (v1.18.7-2adae214)"),
            comp(
                "NodeMonitor",
                "Listening",
                "for events on 2 CPUs with 64x4096 of shared memory",
            ),
            comp("Cilium health daemon", "Ok", ""),
            comp("IPAM", "IPv4:", "6/14 allocated,"),
            comp("Routing", "Network:", "Native Host: BPF"),
            comp("Masquerading", "Disabled", ""),
            comp("Controller Status", "38/38", "healthy"),
            comp(
                "Proxy Status",
                "OK,",
                "ip 10.0.10.45, 0 redirects active on ports 10000-20000, Envoy: external",
            ),
            comp(
                "Hubble",
                "Ok",
                "Current/Max Flows: 4095/4095 (100.00%), Flows/s: 8.09 Metrics: Disabled",
            ),
            comp("Encryption", "Disabled", ""),
            comp("Cluster health", "1/3", "reachable (2026-04-13T11:45:41Z)"),
            comp("Modules Health", "Stopped(12)", "Degraded(0) OK(77)"),
        ]
    }

    #[test]
    fn real_sample_has_no_failing_component() {
        assert_eq!(real_sample().iter().filter_map(failing).count(), 0);
    }

    #[test]
    fn failing_states() {
        assert!(failing(&comp(
            "Kubernetes",
            "Failure",
            "Get \"https://10.100.0.1:443/version\": dial tcp: i/o timeout"
        ))
        .is_some());
        assert!(failing(&comp("Cilium health daemon", "Warning", "")).is_some());
        assert_eq!(
            failing(&comp("Controller Status", "37/38", "healthy")).as_deref(),
            Some("Controller Status: 37/38 controllers healthy")
        );
        assert!(failing(&comp("Modules Health", "Stopped(12)", "Degraded(2) OK(75)")).is_some());
        assert!(failing(&comp("Cluster health", "Warning", "")).is_none());
    }

    fn cluster(desired: u32, ready: u32) -> Cluster {
        let mut c = Cluster::default();
        let mut ds: Workload = serde_json::from_value(json!({
            "metadata":{"name":"cilium","namespace":"kube-system","labels":{"k8s-app":"cilium"}},
            "spec":{"template":{"spec":{"containers":[{"name":"cilium-agent","image":"quay.io/cilium/cilium:v1.18.7"}]}}},
            "status":{"desiredNumberScheduled":desired,"numberReady":ready}}))
        .unwrap();
        ds.kind = "DaemonSet".into();
        c.daemonsets = Some(vec![ds]);
        c.finish();
        c
    }

    #[test]
    fn daemonset_readiness() {
        assert_eq!(outcome(&CiliumAgentsNotReady, &cluster(3, 3)), Ok(vec![]));
        let Ok(f) = outcome(&CiliumAgentsNotReady, &cluster(3, 2)) else {
            panic!()
        };
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].message, "Only 2 of 3 Cilium agents are ready");
        assert!(f[0].remediation.contains("cilium-dbg status --verbose"));
    }

    #[test]
    fn status_reports() {
        let mut c = cluster(3, 3);
        let mut comps = real_sample();
        comps[1] = comp(
            "Kubernetes",
            "Failure",
            "Get \"https://172.20.0.1:443/version\": dial tcp 172.20.0.1:443: i/o timeout",
        );
        c.cilium_status = Some(vec![CiliumStatusReport {
            source: "cilium-sysdump/cilium-status-cilium-4xk2p.txt".into(),
            components: comps,
            cluster_health: Some((1, 3)),
            unreachable_nodes: vec![],
            ..Default::default()
        }]);
        let Ok(f) = outcome(&CiliumAgentsNotReady, &c) else {
            panic!()
        };
        assert_eq!(f.len(), 1);
        assert!(f[0].evidence[0].starts_with("cilium-status-cilium-4xk2p.txt: Kubernetes: Failure"));
    }

    #[test]
    fn missing_and_absent() {
        assert!(outcome(&CiliumAgentsNotReady, &Cluster::default()).is_err());
        let mut c = Cluster::default();
        c.daemonsets = Some(vec![]);
        assert_eq!(outcome(&CiliumAgentsNotReady, &c), Ok(vec![]));
    }
}
