//! CFG008: Cilium's node-init DaemonSet targets Bottlerocket nodes, which
//! have no bash for its host script.

use crate::findings::{ObjectRef, Severity};
use crate::knowledge::AmiFamily;
use crate::model::cilium::helm_get;
use crate::model::Workload;
use crate::rules::cni::shared;
use crate::rules::ver::family_of_os_image;
use crate::rules::{inputs, Area, Context, Missing, Outcome, Rule, RuleMeta};

pub struct NodeinitOnBottlerocket;

/// The known issue this rule is about (`data/known-issues.json`).
const ISSUE: &str = "KI015";

static META: RuleMeta = RuleMeta {
    code: "CFG008",
    name: "nodeinit-on-bottlerocket",
    severity: Severity::High,
    area: Area::Cfg,
    summary: "cilium-node-init runs on Bottlerocket nodes, which have no bash: it crash-loops",
    what_it_checks: "Fires when the cilium-node-init DaemonSet (Helm `nodeinit.enabled=true`) \
exists and its nodeSelector matches nodes whose `status.nodeInfo.osImage` is Bottlerocket.",
    why_it_matters: "node-init runs a bash script in the host's mount namespace (`nsenter … \
bash`). Bottlerocket ships no bash, so the container fails with \"nsenter: failed to execute \
bash: No such file or directory\" and stays in CrashLoopBackOff on every Bottlerocket node; the \
host preparation it exists for never happens.",
    how_to_fix: "Disable node-init for Bottlerocket (`nodeinit.enabled=false`), or keep it off \
those nodes with a nodeSelector/affinity on the OS; Bottlerocket's settings API covers what \
node-init would change.",
    known_limits: "Node affinity of the DaemonSet is not evaluated, only its nodeSelector.",
    docs_url: "https://github.com/bottlerocket-os/bottlerocket/issues/1405",
};

fn nodeinit(c: &crate::model::Cluster) -> Option<&Workload> {
    c.daemonsets.as_deref()?.iter().find(|d| {
        d.metadata.name == "cilium-node-init"
            || d.metadata.labels.get("app").map(String::as_str) == Some("cilium-node-init")
    })
}

impl Rule for NodeinitOnBottlerocket {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        shared::need_daemonsets(c)?;
        let Some(ds) = nodeinit(c) else {
            return Ok(vec![]);
        };
        let nodes = c.nodes.as_deref().ok_or_else(|| {
            Missing::new("no Node objects (needed to see the node OS)", inputs::NODES)
        })?;
        let selector = &ds.spec.template.spec.node_selector;
        let hit: Vec<String> = nodes
            .iter()
            .filter(|n| {
                family_of_os_image(&n.status.node_info.os_image) == Some(AmiFamily::Bottlerocket)
            })
            .filter(|n| shared::node_selector_matches(selector, &n.metadata.labels))
            .map(|n| format!("{} ({})", n.metadata.name, n.status.node_info.os_image))
            .collect();
        if hit.is_empty() {
            return Ok(vec![]);
        }
        let issue = cx
            .knowledge
            .cited_issue(ISSUE)
            .ok_or_else(|| Missing::new(format!("known issue {ISSUE}"), inputs::KNOWLEDGE))?;
        let mut f = META
            .finding(
                ObjectRef::new("DaemonSet", Some(ds.metadata.namespace()), &ds.metadata.name),
                format!(
                    "cilium-node-init runs on {} Bottlerocket node(s), which have no bash for its host script: it crash-loops there",
                    hit.len()
                ),
            )
            .with_evidence(format!(
                "DaemonSet {}/{}: nodeSelector {}",
                ds.metadata.namespace(),
                ds.metadata.name,
                shared::format_labels(selector)
            ))
            .with_evidence(format!("Bottlerocket: {}", shared::sample_list(&hit, 5)));
        if let Some(v) = c
            .helm_values
            .as_ref()
            .and_then(|h| helm_get(h, "nodeinit.enabled"))
        {
            f = f.with_evidence(format!("Helm nodeinit.enabled: {v}"));
        }
        f = f.with_evidence(format!("{}: {}", issue.reference(), issue.symptom));
        Ok(vec![f.with_remediation(format!(
            "# {}\n{}",
            issue.workaround,
            shared::helm_upgrade(c, &["--set nodeinit.enabled=false"])
        ))])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{check, load_cluster};
    use serde_json::json;

    fn docs(os: &str, selector: serde_json::Value) -> Vec<serde_json::Value> {
        vec![
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
                "metadata": {"name": "cilium-node-init", "namespace": "kube-system", "labels": {"app": "cilium-node-init"}},
                "spec": {"template": {"spec": {"nodeSelector": selector, "containers": [
                    {"name": "node-init", "image": "quay.io/cilium/startup-script:62bfbe88c17778aad7bef9fa57ff9e2d4a9ba0d8"}]}}}}),
            json!({"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": "ip-10-0-3-7.ec2.internal", "labels": {"kubernetes.io/os": "linux"}},
                "status": {"nodeInfo": {"osImage": os}}}),
        ]
    }

    #[test]
    fn fires_on_bottlerocket() {
        // UP45 (cilium#15393): node-init on bottlerocket-aws-k8s-1.18 v1.0.7.
        let c = load_cluster(&docs(
            "Bottlerocket OS 1.0.7",
            json!({"kubernetes.io/os": "linux"}),
        ));
        let f = check(&NodeinitOnBottlerocket, &c).unwrap();
        assert_eq!(f.len(), 1);
        assert!(f[0].remediation.contains("nodeinit.enabled=false"));
        assert!(f[0].evidence.iter().any(|e| e.contains("KI015")));
    }

    #[test]
    fn quiet_on_al2_or_when_kept_off() {
        let c = load_cluster(&docs("Amazon Linux 2", json!({})));
        assert!(check(&NodeinitOnBottlerocket, &c).unwrap().is_empty());
        let c = load_cluster(&docs("Bottlerocket OS 1.0.7", json!({"os": "al2"})));
        assert!(check(&NodeinitOnBottlerocket, &c).unwrap().is_empty());
    }
}
