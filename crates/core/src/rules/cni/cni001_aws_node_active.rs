//! CNI001: the VPC CNI's aws-node DaemonSet can still schedule pods while
//! Cilium is the primary CNI.

use super::shared::{self, CiliumRole};
use crate::findings::{ObjectRef, Severity};
use crate::model::cilium::image_tag;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct AwsNodeActive;

/// Cilium's documented way to disable aws-node (k8s-install-helm.rst, EKS
/// tab, 1.12-1.20; /work/shared/data/cilium/eks.json
/// `aws_node_handling.helm_install_guide.command`).
pub(crate) const AWS_NODE_PATCH: &str = "kubectl -n kube-system patch daemonset aws-node --type='strategic' -p='{\"spec\":{\"template\":{\"spec\":{\"nodeSelector\":{\"io.cilium/aws-node-enabled\":\"true\"}}}}}'";

static META: RuleMeta = RuleMeta {
    code: "CNI001",
    name: "aws-node-active",
    severity: Severity::Critical,
    area: Area::Cni,
    summary:
        "The VPC CNI's aws-node DaemonSet still schedules pods while Cilium is the primary CNI",
    what_it_checks: "When Cilium is the primary CNI (a Cilium agent DaemonSet exists and \
cilium-config does not set `cni-chaining-mode: aws-cni`), the DaemonSet kube-system/aws-node \
must not run anywhere. The rule fires when aws-node can still schedule pods: its \
`status.desiredNumberScheduled` is above 0, or its nodeSelector matches at least one node \
(when nodes are provided), or it has no nodeSelector that could keep it off the nodes.",
    why_it_matters: "Two CNIs on one node fight over the same job. aws-node (ipamd) attaches \
ENIs and assigns VPC addresses, writes its own CNI config `10-aws.conflist` into \
/etc/cni/net.d and programs routes and iptables rules; Cilium in ENI mode manages ENIs too. \
Pods may get their address from the wrong plugin, ENIs and addresses are allocated twice, and \
Cilium's docs warn that aws-node flushes Linux routing tables, which breaks connectivity until \
the affected pods are restarted.",
    how_to_fix: "Apply Cilium's documented patch: it gives aws-node a nodeSelector \
(`io.cilium/aws-node-enabled: \"true\"`) that no node carries, so aws-node stops everywhere but \
stays installed as a rollback path. Do not delete it unless you are sure you will never roll \
back. If the EKS managed add-on `vpc-cni` is installed, an add-on update can undo the patch: \
see CNI002. Pods that got their address from the VPC CNI keep it until restarted: see CNI003.",
    known_limits: "EKS Hybrid Nodes: when aws-node's required node affinity keeps it off every \
hybrid node (`eks.amazonaws.com/compute-type NotIn [hybrid]`) and Cilium's admits no cloud node, \
the split is the design AWS supports and the rule stays quiet. Otherwise node affinity and \
tolerations of aws-node are not evaluated, only its nodeSelector and status. Without nodes in the snapshot, a nodeSelector other than the \
os/arch labels is taken to keep aws-node off every node unless the status says otherwise.",
    docs_url: "https://docs.cilium.io/en/stable/installation/k8s-install-helm/",
};

impl Rule for AwsNodeActive {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        match shared::cilium_role(c)? {
            CiliumRole::Primary => {}
            CiliumRole::Absent | CiliumRole::Chaining => return Ok(vec![]),
        }
        shared::need_daemonsets(c)?;
        let Some(ds) = c.daemonset("kube-system", "aws-node") else {
            return Ok(vec![]);
        };
        // Hybrid Nodes: aws-node on the cloud nodes is the supported design.
        if shared::hybrid_split(c).is_some() {
            return Ok(vec![]);
        }
        let sched = shared::daemonset_scheduling(ds, c.nodes.as_deref());
        if !sched.can_schedule() {
            return Ok(vec![]);
        }
        let image = shared::container_image(ds, "aws-node");
        let version = image.and_then(image_tag).unwrap_or("unknown");
        let mut finding = META.finding(
            ObjectRef::new("DaemonSet", Some("kube-system"), "aws-node"),
            format!(
                "aws-node (VPC CNI {version}) can still schedule pods while Cilium is the primary CNI"
            ),
        );
        for line in sched.evidence() {
            finding = finding.with_evidence(line);
        }
        if let Some(image) = image {
            finding = finding.with_evidence(format!("aws-node image: {image}"));
        }
        if let Some(agent) = &c.cilium.agent_daemonset {
            finding = finding.with_evidence(format!(
                "Cilium agent DaemonSet {}/{} runs{}; cni-chaining-mode: {}",
                agent.namespace,
                agent.name,
                c.cilium
                    .version
                    .map(|v| format!(" Cilium {v}"))
                    .unwrap_or_default(),
                c.cilium.chaining_mode.as_deref().unwrap_or("(unset)")
            ));
        }
        let managed = c
            .addon_names
            .as_deref()
            .unwrap_or_default()
            .iter()
            .any(|a| a == "vpc-cni");
        let mut fix = format!(
            "# Keep aws-node installed but scheduled on no node (Cilium's documented patch):\n{AWS_NODE_PATCH}\n\
# Check that no aws-node pod is left:\nkubectl -n kube-system get daemonset aws-node"
        );
        if managed {
            fix.push_str(
                "\n# The EKS add-on vpc-cni is installed: an add-on update would undo the patch (see CNI002).",
            );
        }
        fix.push_str("\n# Then restart pods that still have a VPC CNI address (see CNI003).");
        Ok(vec![finding.with_remediation(fix)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{check, load_cluster};
    use serde_json::json;

    fn cilium_ds() -> serde_json::Value {
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "cilium", "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
            "spec": {"template": {"spec": {"containers": [
                {"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.16.19"}]}}}})
    }

    fn config(data: serde_json::Value) -> serde_json::Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cilium-config", "namespace": "kube-system"}, "data": data})
    }

    fn aws_node(selector: serde_json::Value, desired: u32) -> serde_json::Value {
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "aws-node", "namespace": "kube-system"},
            "spec": {"template": {"spec": {"nodeSelector": selector, "containers": [
                {"name": "aws-node", "image": "602401143452.dkr.ecr.eu-west-1.amazonaws.com/amazon-k8s-cni:v1.19.2-eksbuild.1"}]}}},
            "status": {"desiredNumberScheduled": desired, "numberReady": desired}})
    }

    #[test]
    fn hybrid_nodes_split_is_the_supported_design() {
        // EKS Hybrid Nodes: aws-node on cloud nodes (NotIn hybrid), Cilium on hybrid ones.
        let affinity = |op: &str| {
            json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "eks.amazonaws.com/compute-type", "operator": op, "values": ["hybrid"]}]}]}}})
        };
        let mut aws = aws_node(json!({}), 2);
        aws["spec"]["template"]["spec"]["affinity"] = affinity("NotIn");
        let mut agent = cilium_ds();
        agent["spec"]["template"]["spec"]["affinity"] = affinity("In");
        let node = |name: &str, hybrid: bool| {
            let mut labels = json!({"kubernetes.io/os": "linux"});
            if hybrid {
                labels["eks.amazonaws.com/compute-type"] = json!("hybrid");
            }
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}})
        };
        let docs = vec![
            agent.clone(),
            config(json!({"ipam": "cluster-pool"})),
            aws.clone(),
            node("ip-10-0-1-5.ec2.internal", false),
            node("mi-0123456789abcdef0", true),
        ];
        assert!(check(&AwsNodeActive, &load_cluster(&docs))
            .unwrap()
            .is_empty());
        // Cilium also on the cloud nodes: two CNIs there, CNI001 fires.
        let docs = vec![
            cilium_ds(),
            config(json!({"ipam": "cluster-pool"})),
            aws,
            node("ip-10-0-1-5.ec2.internal", false),
            node("mi-0123456789abcdef0", true),
        ];
        assert_eq!(
            check(&AwsNodeActive, &load_cluster(&docs)).unwrap().len(),
            1
        );
    }

    #[test]
    fn fires_when_desired_above_zero() {
        let c = load_cluster(&[
            cilium_ds(),
            config(json!({"ipam": "eni"})),
            aws_node(json!({}), 3),
        ]);
        let f = check(&AwsNodeActive, &c).unwrap();
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("v1.19.2-eksbuild.1"));
    }

    #[test]
    fn quiet_when_patched_and_no_node_matches() {
        let c = load_cluster(&[
            cilium_ds(),
            config(json!({"ipam": "eni"})),
            aws_node(json!({"io.cilium/aws-node-enabled": "true"}), 0),
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "ip-10-0-1-23.eu-west-1.compute.internal"}}),
        ]);
        assert!(check(&AwsNodeActive, &c).unwrap().is_empty());
    }

    #[test]
    fn fires_when_a_node_carries_the_opt_in_label() {
        let c = load_cluster(&[
            cilium_ds(),
            config(json!({"ipam": "eni"})),
            aws_node(json!({"io.cilium/aws-node-enabled": "true"}), 0),
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1",
                "labels": {"io.cilium/aws-node-enabled": "true"}}}),
        ]);
        assert_eq!(check(&AwsNodeActive, &c).unwrap().len(), 1);
    }

    #[test]
    fn chaining_and_absent_cilium_do_not_apply() {
        let chained = load_cluster(&[
            cilium_ds(),
            config(json!({"cni-chaining-mode": "aws-cni"})),
            aws_node(json!({}), 3),
        ]);
        assert!(check(&AwsNodeActive, &chained).unwrap().is_empty());
        let no_cilium = load_cluster(&[aws_node(json!({}), 3)]);
        assert!(check(&AwsNodeActive, &no_cilium).unwrap().is_empty());
    }

    #[test]
    fn missing_inputs() {
        let nothing = load_cluster(&[
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}),
        ]);
        assert!(check(&AwsNodeActive, &nothing).is_err());
        let no_config = load_cluster(&[cilium_ds(), aws_node(json!({}), 3)]);
        assert!(check(&AwsNodeActive, &no_config).is_err());
    }
}
