//! CFG011: a Cilium release on a node kernel that a known issue reports as
//! a BPF complexity (verifier) failure.

use crate::findings::Severity;
use crate::knowledge::{AmiFamily, CitedIssue};
use crate::rules::ops::common::{agent_object, cilium_absent};
use crate::rules::ver::family_of_os_image;
use crate::rules::{inputs, Area, Context, Missing, Outcome, Rule, RuleMeta};
use crate::version::Version;

pub struct KernelCiliumComplexity;

/// The known issues of this rule (`data/known-issues.json`, with a platform).
const ISSUES: [&str; 1] = ["KI017"];

/// What cilium-cni reports when the agent cannot finish the endpoint (its
/// programs are not loaded in time): signature LS014 in the shared catalogue.
const SYMPTOM: &str = "Cilium API client timeout exceeded";

static META: RuleMeta = RuleMeta {
    code: "CFG011",
    name: "kernel-cilium-complexity",
    severity: Severity::High,
    area: Area::Cfg,
    summary: "Nodes run the kernel (and OS release) on which this Cilium minor hit BPF complexity errors: pods stick in ContainerCreating",
    what_it_checks: "Matches each node's `status.nodeInfo.kernelVersion` and osImage against the \
known issues that name a kernel (today KI017: kernel 5.15.102 of Bottlerocket 1.13.3 with Cilium \
1.11.5) and the running Cilium version against the issue's Cilium minor (the reported release \
or later in that minor). It fires high when FailedCreatePodSandBox Events show `Unable to create \
endpoint: Cilium API client timeout exceeded` (the agent does not finish endpoints), medium on \
the combination alone.",
    why_it_matters: "A new kernel's verifier can reject or time out on programs an older Cilium \
compiles (the thread is labelled kind/complexity-issue): the agent then cannot regenerate \
endpoints, cilium-cni's API calls time out, and many pods stay in ContainerCreating or \
crash-loop after a node OS update although nothing in Cilium's configuration changed.",
    how_to_fix: "Move the affected nodes back to the previous OS release (pin the AMI) and upgrade \
Cilium to a supported minor before moving the nodes to the new kernel; confirm with the agent log \
(`datapath-loader` errors) on one affected node.",
    known_limits: "Only the kernel and Cilium releases a report names are matched (confidence \
low in the shared data: the thread went stale without a fix); LOG004 reads the verifier's own \
log lines when agent logs are given.",
    docs_url: "https://docs.cilium.io/en/stable/operations/system_requirements/",
};

/// The issue's Cilium minor and lowest reported release.
fn cilium_matches(issue: &CitedIssue, running: Version) -> bool {
    let Some(introduced) = issue
        .platform
        .as_ref()
        .and_then(|p| p.cilium_introduced.as_deref())
        .and_then(|v| v.parse::<Version>().ok())
    else {
        return false;
    };
    running.minor() == introduced.minor() && running >= introduced
}

impl Rule for KernelCiliumComplexity {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        if cilium_absent(c) {
            return Ok(vec![]);
        }
        let Some(running) = c.cilium.version else {
            return Err(Missing::new(
                "the Cilium version (the agent DaemonSet image)",
                inputs::DAEMONSETS,
            ));
        };
        let Some(nodes) = c.nodes.as_deref() else {
            return Err(Missing::new("the nodes' kernels", inputs::NODES));
        };
        let mut findings = Vec::new();
        for id in ISSUES {
            let issue = cx
                .knowledge
                .cited_issue(id)
                .ok_or_else(|| Missing::new(format!("known issue {id}"), inputs::KNOWLEDGE))?;
            let Some(platform) = issue.platform.as_ref() else {
                continue;
            };
            let Some(kernel) = platform.kernel.as_deref() else {
                continue;
            };
            if !cilium_matches(issue, running) {
                continue;
            }
            let affected: Vec<String> = nodes
                .iter()
                .filter(|n| {
                    let k = n.status.node_info.kernel_version.trim();
                    k == kernel || k.starts_with(&format!("{kernel}-"))
                })
                .filter(|n| {
                    platform.os != "Bottlerocket"
                        || family_of_os_image(&n.status.node_info.os_image)
                            == Some(AmiFamily::Bottlerocket)
                })
                .map(|n| {
                    format!(
                        "{} (kernel {}, {})",
                        n.metadata.name,
                        n.status.node_info.kernel_version,
                        n.status.node_info.os_image
                    )
                })
                .collect();
            if affected.is_empty() {
                continue;
            }
            let timeouts: Vec<&str> = c
                .events
                .as_deref()
                .unwrap_or_default()
                .iter()
                .filter(|e| e.reason.as_deref() == Some("FailedCreatePodSandBox"))
                .map(|e| e.text())
                .filter(|t| t.contains(SYMPTOM))
                .collect();
            let mut f = META
                .finding(
                    agent_object(c),
                    format!(
                        "Cilium {running} runs on {} node(s) with kernel {kernel}{}: the combination {id} reports as BPF complexity errors{}",
                        affected.len(),
                        platform
                            .os_version
                            .as_deref()
                            .map(|v| format!(" ({} {v})", platform.os))
                            .unwrap_or_default(),
                        if timeouts.is_empty() {
                            String::new()
                        } else {
                            format!(
                                ", and {} sandbox creation(s) fail with \"{SYMPTOM}\"",
                                timeouts.len()
                            )
                        }
                    ),
                )
                .with_evidence(format!(
                    "Nodes: {}",
                    crate::rules::cni::shared::sample_list(&affected, 5)
                ))
                .with_evidence(format!("Cilium version: {running}"));
            if let Some(t) = timeouts.first() {
                let quoted: String = t.chars().take(300).collect();
                f = f.with_evidence(format!("Event FailedCreatePodSandBox: {quoted}"));
            } else {
                f.severity = Severity::Medium;
            }
            f = f.with_evidence(format!("{}: {}", issue.reference(), issue.symptom));
            findings.push(f.with_remediation(format!(
                "# {}\n\
# confirm on one node: the agent's datapath-loader errors\n\
kubectl -n {ns} logs ds/cilium -c cilium-agent | grep -i -E 'verifier|complexity|datapath-loader'\n\
# pin the node image to the previous release, then upgrade Cilium to a supported minor:\n{}",
                issue.workaround,
                crate::rules::cni::shared::helm_upgrade(c, &[]),
                ns = crate::rules::cni::shared::cilium_namespace(c),
            )));
        }
        Ok(findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{check, load_cluster};
    use serde_json::json;

    fn cluster(cilium: &str, kernel: &str, with_event: bool) -> crate::model::Cluster {
        let mut docs = vec![
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
                "metadata": {"name": "cilium", "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
                "spec": {"template": {"spec": {"containers": [
                    {"name": "cilium-agent", "image": format!("quay.io/cilium/cilium:v{cilium}")}]}}}}),
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "ip-10-1-4-20.ec2.internal"},
                "status": {"nodeInfo": {"osImage": "Bottlerocket OS 1.13.3 (aws-k8s-1.24)", "kernelVersion": kernel}}}),
        ];
        if with_event {
            docs.push(json!({"apiVersion": "v1", "kind": "Event",
                "metadata": {"name": "api-7c9.1", "namespace": "default"},
                "involvedObject": {"kind": "Pod", "namespace": "default", "name": "api-7c9"},
                "reason": "FailedCreatePodSandBox", "type": "Warning",
                "message": "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox \"9f1\": plugin type=\"cilium-cni\" name=\"cilium\" failed (add): Unable to create endpoint: Cilium API client timeout exceeded"}));
        }
        load_cluster(&docs)
    }

    #[test]
    fn fires_high_with_timeouts_medium_without() {
        let f = check(
            &KernelCiliumComplexity,
            &cluster("1.11.5", "5.15.102", true),
        )
        .unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::High);
        assert!(f[0].message.contains("kernel 5.15.102"));
        let f = check(
            &KernelCiliumComplexity,
            &cluster("1.11.5", "5.15.102", false),
        )
        .unwrap();
        assert_eq!(f[0].severity, Severity::Medium);
    }

    #[test]
    fn quiet_on_other_kernels_or_minors() {
        assert!(check(
            &KernelCiliumComplexity,
            &cluster("1.11.5", "5.15.108", true)
        )
        .unwrap()
        .is_empty());
        assert!(check(
            &KernelCiliumComplexity,
            &cluster("1.13.3", "5.15.102", true)
        )
        .unwrap()
        .is_empty());
    }
}
