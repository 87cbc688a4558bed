//! CNI006: Cilium chains onto the VPC CNI but aws-node is absent or cannot
//! schedule.

use super::shared::{self, CiliumRole};
use crate::findings::{ObjectRef, Severity};
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct ChainingWithoutAwsNode;

static META: RuleMeta = RuleMeta {
    code: "CNI006",
    name: "chaining-without-aws-node",
    severity: Severity::Critical,
    area: Area::Cni,
    summary:
        "cni-chaining-mode is aws-cni but aws-node is absent or cannot schedule: no pod gets an IP",
    what_it_checks: "When cilium-config (or the Helm values) sets `cni-chaining-mode: aws-cni`, \
Cilium only adds policy and observability on top of the VPC CNI, which still assigns every pod \
address. The rule fires when the DaemonSet kube-system/aws-node is missing, or cannot schedule \
pods: `status.desiredNumberScheduled` is 0 and its nodeSelector matches no node (for example \
Cilium's `io.cilium/aws-node-enabled` patch, which belongs to ENI mode, was applied).",
    why_it_matters: "In chaining mode the first plugin of the chain is aws-cni: without ipamd \
running on the node, CNI ADD fails and every new pod hangs in ContainerCreating. Existing pods \
keep running until they are rescheduled, so the outage grows with every deployment, node \
replacement and scale-up.",
    how_to_fix: "Either bring aws-node back (remove the nodeSelector patch, or reinstall the VPC \
CNI as an EKS add-on), or finish the move away from chaining: switch Cilium to ENI mode \
(`eni.enabled=true`, `ipam.mode=eni`, `cni.chainingMode=none`) before aws-node is disabled.",
    known_limits: "Node affinity of aws-node is not evaluated. Without nodes in the snapshot, a \
nodeSelector other than the os/arch labels together with desiredNumberScheduled 0 counts as \
\"cannot schedule\".",
    docs_url: "https://docs.cilium.io/en/stable/installation/cni-chaining-aws-cni/",
};

impl Rule for ChainingWithoutAwsNode {
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
        // Infrastructure code that leaves aws-node's existence open
        // (no cluster in the inputs, a value known only after apply).
        if let Some(why) = c.iac.as_ref().and_then(|i| i.aws_node_unknown.as_ref()) {
            return Err(crate::rules::Missing::new(
                why.clone(),
                "give the infrastructure code that creates the EKS cluster, or plan JSON",
            ));
        }
        let object = ObjectRef::new("DaemonSet", Some("kube-system"), "aws-node");
        let chaining = format!(
            "cni-chaining-mode: {} ({})",
            c.cilium.chaining_mode.as_deref().unwrap_or("aws-cni"),
            if c.cilium.get("cni-chaining-mode").is_some() {
                "cilium-config"
            } else {
                "Helm values cni.chainingMode"
            }
        );
        let name = cx.cluster_name();
        let Some(ds) = c.daemonset("kube-system", "aws-node") else {
            let finding = META
                .finding(
                    object,
                    "Cilium chains onto the VPC CNI (aws-cni) but the aws-node DaemonSet does not exist: new pods get no IP address",
                )
                .with_evidence(chaining)
                .with_evidence("DaemonSet kube-system/aws-node: not in the DaemonSets provided")
                .with_remediation(format!(
                    "# Reinstall the VPC CNI (here as the EKS add-on), or move Cilium out of chaining into ENI mode:\n\
aws eks create-addon --cluster-name {name} --addon-name vpc-cni\n\
kubectl -n kube-system rollout status daemonset aws-node"
                ));
            return Ok(vec![finding]);
        };
        let sched = shared::daemonset_scheduling(ds, c.nodes.as_deref());
        if sched.can_schedule() {
            return Ok(vec![]);
        }
        let mut finding = META
            .finding(
                object,
                "Cilium chains onto the VPC CNI (aws-cni) but aws-node runs on no node: new pods get no IP address",
            )
            .with_evidence(chaining);
        for line in sched.evidence() {
            finding = finding.with_evidence(line);
        }
        // Remove the nodeSelector keys that keep aws-node off the nodes
        // (JSON pointer: `/` in a key is written `~1`).
        let ops: Vec<String> = sched
            .selector
            .keys()
            .map(|k| {
                format!(
                    "{{\"op\":\"remove\",\"path\":\"/spec/template/spec/nodeSelector/{}\"}}",
                    k.replace('~', "~0").replace('/', "~1")
                )
            })
            .collect();
        let fix = if ops.is_empty() {
            "# aws-node has no nodeSelector: check its node affinity and tolerations, then\n\
kubectl -n kube-system describe daemonset aws-node"
                .to_string()
        } else {
            format!(
                "# Let aws-node run on every node again by removing its nodeSelector:\n\
kubectl -n kube-system patch daemonset aws-node --type=json -p='[{}]'\n\
kubectl -n kube-system rollout status daemonset aws-node\n\
# (Or, to leave chaining: switch Cilium to ENI mode before disabling aws-node.)",
                ops.join(",")
            )
        };
        Ok(vec![finding.with_remediation(fix)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{check, load_cluster};
    use serde_json::json;

    fn chained(extra: Vec<serde_json::Value>) -> crate::model::Cluster {
        let mut docs = vec![
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
                "metadata": {"name": "cilium", "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
                "spec": {"template": {"spec": {"containers": [
                    {"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.16.19"}]}}}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "cilium-config", "namespace": "kube-system"},
                "data": {"cni-chaining-mode": "aws-cni", "routing-mode": "native"}}),
        ];
        docs.extend(extra);
        load_cluster(&docs)
    }

    #[test]
    fn fires_when_aws_node_is_missing() {
        let f = check(&ChainingWithoutAwsNode, &chained(vec![])).unwrap();
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("does not exist"));
    }

    #[test]
    fn fires_when_patched_off_every_node() {
        let f = check(
            &ChainingWithoutAwsNode,
            &chained(vec![
                json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
                    "metadata": {"name": "aws-node", "namespace": "kube-system"},
                    "spec": {"template": {"spec": {"nodeSelector": {"io.cilium/aws-node-enabled": "true"}}}},
                    "status": {"desiredNumberScheduled": 0}}),
                json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}),
            ]),
        )
        .unwrap();
        assert_eq!(f.len(), 1);
        assert!(f[0]
            .remediation
            .contains("/spec/template/spec/nodeSelector/io.cilium~1aws-node-enabled"));
    }

    #[test]
    fn quiet_when_aws_node_runs() {
        let f = check(
            &ChainingWithoutAwsNode,
            &chained(vec![json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
                "metadata": {"name": "aws-node", "namespace": "kube-system"},
                "status": {"desiredNumberScheduled": 3, "numberReady": 3}})]),
        )
        .unwrap();
        assert!(f.is_empty());
    }
}
