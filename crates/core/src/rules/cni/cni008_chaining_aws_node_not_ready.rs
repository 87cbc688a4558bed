//! CNI008: Cilium chains onto the VPC CNI while aws-node runs but is not Ready.

use super::shared::{self, CiliumRole};
use crate::findings::{ObjectRef, Severity};
use crate::rules::{inputs, Area, Context, Missing, Outcome, Rule, RuleMeta};

pub struct ChainingAwsNodeNotReady;

/// The known issue this rule is about (`data/known-issues.json`).
const ISSUE: &str = "KI008";

static META: RuleMeta = RuleMeta {
    code: "CNI008",
    name: "chaining-aws-node-not-ready",
    severity: Severity::High,
    area: Area::Cni,
    summary: "cni-chaining-mode is aws-cni and aws-node pods are scheduled but not Ready: Cilium waits for 10-aws.conflist",
    what_it_checks: "When Cilium chains onto the VPC CNI (`cni-chaining-mode: aws-cni`), reads the \
DaemonSet kube-system/aws-node: it fires when aws-node is scheduled on nodes \
(`status.desiredNumberScheduled` > 0) but fewer of its pods are Ready (`status.numberReady`), and \
names the aws-node pods whose containers are not Ready. aws-node missing or scheduled nowhere is \
CNI006.",
    why_it_matters: "In chaining the VPC CNI writes `/etc/cni/net.d/10-aws.conflist` once ipamd is \
up, and Cilium builds its chained configuration from it: Cilium 1.12 waits for that file before \
it starts, so on a node whose aws-node is not Ready the Cilium pod stays in Init and every new \
pod stays Pending or ContainerCreating.",
    how_to_fix: "Make aws-node Ready first: read its logs (`kubectl -n kube-system logs ds/aws-node \
-c aws-node`, the aws-vpc-cni-init container), fix what it reports (IAM of the node role or the \
IRSA role, subnet addresses, the add-on version), then restart the Cilium agents on those nodes. \
On Cilium 1.12.0–1.12.2, upgrade to the fixed patch.",
    known_limits: "DaemonSet status is a point in time: during a rollout aws-node is briefly not \
Ready on some nodes. Without aws-node pods in the snapshot only the counts are quoted.",
    docs_url: "https://docs.cilium.io/en/stable/installation/cni-chaining-aws-cni/",
};

impl Rule for ChainingAwsNodeNotReady {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        match shared::cilium_role(c)? {
            CiliumRole::Chaining => {}
            CiliumRole::Absent | CiliumRole::Primary => return Ok(vec![]),
        }
        shared::need_daemonsets(c)?;
        let Some(ds) = c.daemonset("kube-system", "aws-node") else {
            return Ok(vec![]); // CNI006
        };
        let desired = ds.status.desired_number_scheduled.unwrap_or(0);
        let Some(ready) = ds.status.number_ready else {
            return Err(Missing::new(
                "the status of DaemonSet kube-system/aws-node (numberReady)",
                inputs::DAEMONSETS,
            ));
        };
        if desired == 0 || ready >= desired {
            return Ok(vec![]);
        }
        let issue = cx
            .knowledge
            .cited_issue(ISSUE)
            .ok_or_else(|| Missing::new(format!("known issue {ISSUE}"), inputs::KNOWLEDGE))?;
        let not_ready: Vec<String> = c
            .pods
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter(|p| {
                p.metadata.namespace() == "kube-system"
                    && p.metadata.labels.get("k8s-app").map(String::as_str) == Some("aws-node")
            })
            .filter(|p| {
                p.status.container_statuses.is_empty()
                    || p.status.container_statuses.iter().any(|s| !s.ready)
            })
            .map(|p| {
                let node = p.spec.node_name.as_deref().unwrap_or("?");
                let ready = p
                    .status
                    .container_statuses
                    .iter()
                    .filter(|s| s.ready)
                    .count();
                format!(
                    "{} on {node}: {ready}/{} containers ready",
                    p.metadata.name,
                    p.status.container_statuses.len()
                )
            })
            .collect();
        let mut f = META
            .finding(
                ObjectRef::new("DaemonSet", Some("kube-system"), "aws-node"),
                format!(
                    "Cilium chains onto the VPC CNI but only {ready} of {desired} aws-node pods are Ready: on the other nodes no 10-aws.conflist is written and Cilium cannot set up pod networking"
                ),
            )
            .with_evidence(format!(
                "cni-chaining-mode: {}",
                c.cilium.chaining_mode.as_deref().unwrap_or("aws-cni")
            ))
            .with_evidence(format!(
                "DaemonSet kube-system/aws-node: desiredNumberScheduled {desired}, numberReady {ready}"
            ));
        if !not_ready.is_empty() {
            f = f.with_evidence(format!("Not Ready: {}", shared::sample_list(&not_ready, 5)));
        }
        f = f.with_evidence(format!("{}: {}", issue.reference(), issue.symptom));
        Ok(vec![f.with_remediation(format!(
            "# {}\n\
kubectl -n kube-system logs ds/aws-node -c aws-node --tail=100\n\
kubectl -n kube-system logs ds/aws-node -c aws-vpc-cni-init\n\
# once aws-node is Ready on every node, restart Cilium so it re-reads 10-aws.conflist:\n\
kubectl -n {} rollout restart daemonset/cilium",
            issue.workaround,
            shared::cilium_namespace(c)
        ))])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{check, load_cluster};
    use serde_json::json;

    fn chained(
        aws_node: serde_json::Value,
        extra: Vec<serde_json::Value>,
    ) -> crate::model::Cluster {
        let mut docs = vec![
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
                "metadata": {"name": "cilium", "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
                "spec": {"template": {"spec": {"containers": [
                    {"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.12.1"}]}}}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "cilium-config", "namespace": "kube-system"},
                "data": {"cni-chaining-mode": "aws-cni"}}),
            aws_node,
        ];
        docs.extend(extra);
        load_cluster(&docs)
    }

    fn aws_node(desired: u32, ready: u32) -> serde_json::Value {
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "aws-node", "namespace": "kube-system"},
            "status": {"desiredNumberScheduled": desired, "currentNumberScheduled": desired,
                "numberReady": ready, "numberAvailable": ready}})
    }

    #[test]
    fn fires_when_aws_node_pods_are_not_ready() {
        // UP27 (cilium#21243): aws-node 0/1 on every node, Cilium stuck in Init.
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "aws-node-7xkqp", "namespace": "kube-system", "labels": {"k8s-app": "aws-node"}},
            "spec": {"nodeName": "ip-10-0-1-12.ec2.internal", "containers": [{"name": "aws-node", "image": "x"}]},
            "status": {"phase": "Running", "containerStatuses": [{"name": "aws-node", "ready": false, "restartCount": 4}]}});
        let f = check(
            &ChainingAwsNodeNotReady,
            &chained(aws_node(3, 0), vec![pod]),
        )
        .unwrap();
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("only 0 of 3"));
        assert!(f[0]
            .evidence
            .iter()
            .any(|e| e.contains("aws-node-7xkqp on ip-10-0-1-12.ec2.internal: 0/1")));
        assert!(f[0].evidence.iter().any(|e| e.contains("KI008")));
    }

    #[test]
    fn quiet_when_ready_or_not_scheduled() {
        assert!(
            check(&ChainingAwsNodeNotReady, &chained(aws_node(3, 3), vec![]))
                .unwrap()
                .is_empty()
        );
        // Scheduled nowhere is CNI006's.
        assert!(
            check(&ChainingAwsNodeNotReady, &chained(aws_node(0, 0), vec![]))
                .unwrap()
                .is_empty()
        );
    }
}
