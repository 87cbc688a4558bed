//! CNI005: aws-node is gone but objects the VPC CNI installs remain.

use super::shared::{self, CiliumRole};
use crate::findings::{ObjectRef, Severity};
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct VpcCniLeftovers;

/// What the VPC CNI chart installs besides the DaemonSet
/// (/work/shared/data/aws/addons.json `vpc_cni_objects.objects`):
/// (kind, namespace, name, how to list that kind).
const LEFTOVERS: &[(&str, &str, &str, &str)] = &[
    (
        "ServiceAccount",
        "kube-system",
        "aws-node",
        "kubectl -n kube-system get serviceaccounts -o json > serviceaccounts.json",
    ),
    (
        "ClusterRole",
        "",
        "aws-node",
        "kubectl get clusterroles -o json > clusterroles.json",
    ),
    (
        "ClusterRoleBinding",
        "",
        "aws-node",
        "kubectl get clusterrolebindings -o json > clusterrolebindings.json",
    ),
    (
        "ConfigMap",
        "kube-system",
        "amazon-vpc-cni",
        "kubectl -n kube-system get configmaps -o json > configmaps.json",
    ),
    (
        "CustomResourceDefinition",
        "",
        "eniconfigs.crd.k8s.amazonaws.com",
        "kubectl get customresourcedefinitions -o json > crds.json",
    ),
];

static META: RuleMeta = RuleMeta {
    code: "CNI005",
    name: "vpc-cni-leftovers",
    severity: Severity::Info,
    area: Area::Cni,
    summary: "aws-node is gone but other VPC CNI objects remain",
    what_it_checks: "When Cilium is the primary CNI and the DaemonSet kube-system/aws-node no \
longer exists, the rule lists the other objects the VPC CNI installs that are still there: \
ServiceAccount kube-system/aws-node, ClusterRole and ClusterRoleBinding aws-node, ConfigMap \
kube-system/amazon-vpc-cni and the CRD eniconfigs.crd.k8s.amazonaws.com. One finding per \
object; only kinds whose lists are in the snapshot are judged.",
    why_it_matters: "Leftovers are harmless to Cilium but confuse: tools and people read them as \
\"the VPC CNI is installed\", the ClusterRole still grants read access to pods and nodes, and \
ENIConfig objects keep describing a custom networking setup nothing uses. They are also the \
rollback path: re-creating aws-node with its ServiceAccount, RBAC and ConfigMap in place is how \
you go back to the VPC CNI.",
    how_to_fix: "Decide first whether you may roll back to the VPC CNI (`eks-cilium-doctor \
plan rollback`). While you might, keep the objects. Once you will not, back each one up and \
delete it. Deleting the ENIConfig CRD deletes every ENIConfig object with it.",
    known_limits: "Objects are matched by the names the upstream VPC CNI manifest uses; renamed \
installs are not found. Informational only.",
    docs_url: "https://github.com/aws/amazon-vpc-cni-k8s/tree/master/charts/aws-vpc-cni",
};

/// The VPC CNI objects that remain once aws-node is gone (kind, namespace,
/// name), among the kinds the snapshot lists: what CNI005 reports and what
/// `plan rollback` counts on.
pub(crate) fn present_leftovers(
    c: &crate::model::Cluster,
) -> Vec<(&'static str, &'static str, &'static str)> {
    if c.daemonset("kube-system", "aws-node").is_some() {
        return Vec::new();
    }
    LEFTOVERS
        .iter()
        .filter(|(kind, ns, name, _)| {
            c.kinds_listed.contains(*kind) && c.has_object(kind, ns, name)
        })
        .map(|(kind, ns, name, _)| (*kind, *ns, *name))
        .collect()
}

fn plural(kind: &str) -> &'static str {
    match kind {
        "ServiceAccount" => "serviceaccount",
        "ClusterRole" => "clusterrole",
        "ClusterRoleBinding" => "clusterrolebinding",
        "ConfigMap" => "configmap",
        _ => "customresourcedefinition",
    }
}

impl Rule for VpcCniLeftovers {
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
        if c.daemonset("kube-system", "aws-node").is_some() {
            return Ok(vec![]);
        }
        let listed: Vec<_> = LEFTOVERS
            .iter()
            .filter(|(kind, ..)| c.kinds_listed.contains(*kind))
            .collect();
        if listed.is_empty() {
            let how: Vec<&str> = LEFTOVERS.iter().map(|(.., how)| *how).collect();
            return META.missing(
                "no ServiceAccount, ClusterRole, ClusterRoleBinding, ConfigMap or CustomResourceDefinition lists",
                how.join("; "),
            );
        }
        let mut findings = Vec::new();
        for (kind, ns, name, _) in listed {
            if !c.has_object(kind, ns, name) {
                continue;
            }
            let ns_opt = (!ns.is_empty()).then_some(*ns);
            let ns_flag = ns_opt.map(|n| format!("-n {n} ")).unwrap_or_default();
            let shown = match ns_opt {
                Some(n) => format!("{kind} {n}/{name}"),
                None => format!("{kind} {name}"),
            };
            let mut fix = String::from(
                "# These objects are the rollback path to the VPC CNI: run `eks-cilium-doctor plan rollback` and keep them while a rollback is possible.\n\
# When you are sure, back up and delete:\n",
            );
            if *kind == "CustomResourceDefinition" {
                fix.push_str(
                    "# Deleting the CRD deletes every ENIConfig with it; back them up too:\n\
kubectl get eniconfigs.crd.k8s.amazonaws.com -o yaml > eniconfigs.yaml\n",
                );
            }
            fix.push_str(&format!(
                "kubectl {ns_flag}get {kind_l} {name} -o yaml > {file}.yaml\n\
kubectl {ns_flag}delete {kind_l} {name}",
                kind_l = plural(kind),
                file = plural(kind).to_string() + "-" + name,
            ));
            findings.push(
                META.finding(
                    ObjectRef::new(kind, ns_opt, name),
                    format!("aws-node is gone but the VPC CNI's {shown} remains"),
                )
                .with_evidence("DaemonSet kube-system/aws-node: not in the DaemonSets provided")
                .with_evidence(format!("{shown}: present"))
                .with_remediation(fix),
            );
        }
        Ok(findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{check, load_cluster, load_cluster_with_helm};
    use serde_json::json;

    fn cilium() -> Vec<serde_json::Value> {
        vec![
            json!({"apiVersion": "apps/v1", "kind": "DaemonSetList", "items": [
                {"metadata": {"name": "cilium", "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
                 "spec": {"template": {"spec": {"containers": [
                    {"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.16.19"}]}}}}]}),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "cilium-config", "namespace": "kube-system"}, "data": {"ipam": "eni"}}),
        ]
    }

    #[test]
    fn lists_each_leftover() {
        let mut docs = cilium();
        docs.push(json!({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "aws-node", "namespace": "kube-system"}},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "aws-node"}},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "cilium"}}]}));
        let f = check(&VpcCniLeftovers, &load_cluster(&docs)).unwrap();
        assert_eq!(f.len(), 2);
        assert!(f.iter().all(|f| f.remediation.contains("plan rollback")));
    }

    #[test]
    fn quiet_while_aws_node_exists_and_not_evaluated_without_lists() {
        let mut docs = cilium();
        docs.push(json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "aws-node", "namespace": "kube-system"}}));
        docs.push(json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "aws-node", "namespace": "kube-system"}}));
        assert!(check(&VpcCniLeftovers, &load_cluster(&docs))
            .unwrap()
            .is_empty());
        // Only the cilium-config ConfigMap: ConfigMaps were provided, nothing left over.
        assert!(check(&VpcCniLeftovers, &load_cluster(&cilium()))
            .unwrap()
            .is_empty());
        // Helm values instead of cilium-config: no list of any leftover kind.
        let helm_only = load_cluster_with_helm(&cilium()[..1], json!({"eni": {"enabled": true}}));
        assert!(check(&VpcCniLeftovers, &helm_only).is_err());
    }
}
