//! CNI002: the EKS managed add-on `vpc-cni` is installed while Cilium is
//! the primary CNI.

use super::shared::{self, CiliumRole};
use crate::findings::{ObjectRef, Severity};
use crate::rules::inputs;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct VpcCniAddonManaged;

/// The EKS add-on name of the VPC CNI (/work/shared/data/aws/addons.json
/// `managed_addon_names.names.vpc-cni`).
const VPC_CNI_ADDON: &str = "vpc-cni";

static META: RuleMeta = RuleMeta {
    code: "CNI002",
    name: "vpc-cni-addon-managed",
    severity: Severity::High,
    area: Area::Cni,
    summary: "The EKS managed add-on vpc-cni is installed while Cilium is the primary CNI",
    what_it_checks: "When Cilium is the primary CNI, the EKS add-on list (`aws eks list-addons`, \
or `describe-addon`) must not contain `vpc-cni`. The rule fires when it does.",
    why_it_matters: "A managed add-on is owned by EKS: an add-on update (`aws eks update-addon`, \
the console, or infrastructure code that pins an add-on version) re-applies the add-on's \
manifests, and conflict resolution `OVERWRITE` sets every field EKS manages back to the EKS \
default. That removes Cilium's `io.cilium/aws-node-enabled` nodeSelector patch and brings \
aws-node back on every node, where it fights Cilium for ENIs, addresses and routes.",
    how_to_fix: "Stop EKS from managing the add-on but keep its objects in the cluster: \
`aws eks delete-addon --preserve` removes the add-on from EKS management without deleting \
aws-node. Then make sure aws-node is patched off the nodes (CNI001). Remove the add-on from \
infrastructure code (eksctl `addons:`, Terraform `aws_eks_addon`, CloudFormation) too, or the \
next apply re-creates it.",
    known_limits: "Quiet on the EKS Hybrid Nodes split AWS supports (aws-node kept off the hybrid \
nodes by node affinity, Cilium only on them), where the add-on is wanted. Needs the add-on list of the cluster (`aws eks list-addons` or \
`describe-addon`); self-managed VPC CNI installs are CNI001's concern.",
    docs_url: "https://docs.aws.amazon.com/eks/latest/userguide/eks-add-ons.html",
};

impl Rule for VpcCniAddonManaged {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        if c.addon_names.is_none() && c.addons.is_none() {
            return META.missing("no EKS add-on list", inputs::ADDONS);
        }
        match shared::cilium_role(c)? {
            CiliumRole::Primary => {}
            CiliumRole::Absent | CiliumRole::Chaining => return Ok(vec![]),
        }
        let listed = c
            .addon_names
            .as_deref()
            .unwrap_or_default()
            .iter()
            .any(|a| a == VPC_CNI_ADDON);
        let described = c
            .addons
            .as_deref()
            .unwrap_or_default()
            .iter()
            .find(|a| a.addon_name == VPC_CNI_ADDON);
        if !listed && described.is_none() {
            return Ok(vec![]);
        }
        // Hybrid Nodes: aws-node on the cloud nodes is the supported design.
        if shared::hybrid_split(c).is_some() {
            return Ok(vec![]);
        }
        let name = cx.cluster_name();
        let mut finding = META.finding(
            ObjectRef::global("EksAddon", VPC_CNI_ADDON),
            "EKS manages the vpc-cni add-on: an add-on update or OVERWRITE conflict resolution \
re-patches aws-node back onto the nodes",
        );
        if listed {
            finding = finding.with_evidence(format!(
                "aws eks list-addons --cluster-name {name}: includes \"{VPC_CNI_ADDON}\""
            ));
        }
        if let Some(addon) = described {
            finding = finding.with_evidence(format!(
                "describe-addon: version {}, status {}",
                addon.addon_version.as_deref().unwrap_or("unknown"),
                addon.status.as_deref().unwrap_or("unknown")
            ));
            if let Some(config) = addon
                .configuration_values
                .as_deref()
                .filter(|v| !v.is_empty())
            {
                finding = finding.with_evidence(format!("configurationValues: {config}"));
            }
        }
        if let Some(agent) = &c.cilium.agent_daemonset {
            finding = finding.with_evidence(format!(
                "Cilium is the primary CNI (agent DaemonSet {}/{}, no cni-chaining-mode aws-cni)",
                agent.namespace, agent.name
            ));
        }
        if let Some(ds) = c.daemonset("kube-system", "aws-node") {
            finding = finding.with_evidence(format!(
                "aws-node nodeSelector today: {}",
                shared::format_labels(&ds.spec.template.spec.node_selector)
            ));
        }
        let fix = format!(
            "# Take the add-on out of EKS management; --preserve keeps aws-node and its objects in the cluster:\n\
aws eks delete-addon --cluster-name {name} --addon-name {VPC_CNI_ADDON} --preserve\n\
# Confirm it is gone from the add-on list:\n\
aws eks list-addons --cluster-name {name}\n\
# Keep aws-node off the nodes (Cilium's documented patch, see CNI001):\n{}\n\
# Remove vpc-cni from eksctl/Terraform/CloudFormation add-on definitions so the next apply does not re-create it.",
            super::cni001_aws_node_active::AWS_NODE_PATCH
        );
        Ok(vec![finding.with_remediation(fix)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{check, load_cluster};
    use serde_json::json;

    fn cilium(chaining: Option<&str>) -> Vec<serde_json::Value> {
        let mut data = json!({"ipam": "eni"});
        if let Some(mode) = chaining {
            data["cni-chaining-mode"] = json!(mode);
        }
        vec![
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
                "metadata": {"name": "cilium", "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
                "spec": {"template": {"spec": {"containers": [
                    {"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.16.19"}]}}}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "cilium-config", "namespace": "kube-system"}, "data": data}),
        ]
    }

    #[test]
    fn fires_on_listed_addon() {
        let mut docs = cilium(None);
        docs.push(json!({"addons": ["coredns", "kube-proxy", "vpc-cni"]}));
        let f = check(&VpcCniAddonManaged, &load_cluster(&docs)).unwrap();
        assert_eq!(f.len(), 1);
        assert!(f[0].remediation.contains("--preserve"));
    }

    #[test]
    fn quiet_without_the_addon_or_in_chaining() {
        let mut docs = cilium(None);
        docs.push(json!({"addons": ["coredns"]}));
        assert!(check(&VpcCniAddonManaged, &load_cluster(&docs))
            .unwrap()
            .is_empty());
        let mut chained = cilium(Some("aws-cni"));
        chained.push(json!({"addons": ["vpc-cni"]}));
        assert!(check(&VpcCniAddonManaged, &load_cluster(&chained))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn not_evaluated_without_addon_list() {
        assert!(check(&VpcCniAddonManaged, &load_cluster(&cilium(None))).is_err());
    }
}
