//! IAC001: the code deletes aws-node (or kube-proxy) with a provisioner,
//! Job or command instead of disabling it.

use crate::findings::{ObjectRef, Severity};
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct AddonRemovalByDeletion;

static META: RuleMeta = RuleMeta {
    code: "IAC001",
    name: "addon-removal-by-deletion",
    severity: Severity::Low,
    area: Area::Iac,
    summary: "The infrastructure code deletes aws-node or kube-proxy instead of disabling it",
    what_it_checks: "Terraform `local-exec` provisioners (null_resource, terraform_data), \
`kubernetes_job` containers and Kubernetes manifests in the plan whose command deletes the \
`aws-node` or `kube-proxy` DaemonSet (`kubectl delete ... aws-node`). The rule fires once per \
such resource, at the line that declares it.",
    why_it_matters: "A deleted DaemonSet leaves no rollback path: going back to the VPC CNI \
means re-installing it by hand, with the right version and its ConfigMap. And the deletion does \
not last: a managed add-on update, `eksctl utils update-aws-node` or EKS itself re-creates the \
objects it owns, so aws-node comes back on every node at the next upgrade and fights Cilium for \
ENIs and routes. Patching aws-node off the nodes, or creating the cluster without the \
self-managed add-ons, keeps it absent and reversible.",
    how_to_fix: "Create the cluster without the default networking add-ons \
(`bootstrap_self_managed_addons = false` on `aws_eks_cluster`, eksctl \
`addonsConfig.disableDefaultAddons: true`) and do not add the vpc-cni add-on; or keep aws-node \
and patch it off the nodes with Cilium's documented nodeSelector \
(`io.cilium/aws-node-enabled: \"true\"`), and kube-proxy (once Cilium's kube-proxy \
replacement is on) with a nodeSelector no node carries; then drop the delete command.",
    known_limits: "Reads commands written literally in the configuration (`constant_value`) or in \
the planned resource; a command built from variables or kept in a script file is not seen. A \
delete that only runs on destroy is reported too.",
    docs_url: "https://docs.cilium.io/en/stable/installation/k8s-install-helm/",
};

impl Rule for AddonRemovalByDeletion {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let facts = super::facts(cx.cluster)?;
        Ok(facts
            .addon_deletions
            .iter()
            .map(|d| {
                let p = &d.planned;
                let mut f = META
                    .finding(
                        ObjectRef::global("IacResource", &p.address),
                        format!("{}: deleted objects come back with the next add-on update and leave no rollback", p.detail),
                    )
                    .with_evidence(format!("{} ({})", p.detail, p.address))
                    .with_remediation(remediation(d.daemonset));
                f.location = Some(p.at.clone());
                f
            })
            .collect())
    }
}

/// Keep the DaemonSet off the nodes instead: aws-node with the
/// nodeSelector Cilium's EKS guide gives, kube-proxy with one no node
/// carries (as the cilium Terraform provider's `cilium_kubeproxy_free`
/// does).
fn remediation(daemonset: &str) -> String {
    let selector = if daemonset == "aws-node" {
        r#"{"io.cilium/aws-node-enabled":"true"}"#
    } else {
        r#"{"non-existing":"true"}"#
    };
    format!(
        "# Instead of deleting {daemonset}, create the cluster without it (Terraform):\n\
#   bootstrap_self_managed_addons = false\n\
# or keep it and patch it off the nodes:\n\
kubectl -n kube-system patch daemonset {daemonset} --type strategic \\\n  \
-p '{{\"spec\":{{\"template\":{{\"spec\":{{\"nodeSelector\":{selector}}}}}}}}}'"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::iac::testkit::preflight;
    use crate::rules::testing::check;

    #[test]
    fn fires_on_a_job_that_deletes_aws_node() {
        let c = preflight(&["deletes-aws-node/plan.json"]);
        let f = check(&AddonRemovalByDeletion, &c).unwrap();
        // lassizci's Job deletes kube-proxy and aws-node in one command.
        assert_eq!(f.len(), 2, "{f:#?}");
        assert!(f.iter().any(|f| f.message.contains("deletes aws-node")));
        assert!(f.iter().any(|f| f.message.contains("deletes kube-proxy")));
        // Each fix patches the DaemonSet that is deleted.
        for f in &f {
            let ds = if f.message.contains("aws-node") {
                "aws-node"
            } else {
                "kube-proxy"
            };
            let fix = &f.remediation;
            assert!(fix.contains(&format!("patch daemonset {ds} ")), "{fix}");
            assert!(fix.contains(&format!("Instead of deleting {ds},")), "{fix}");
        }
        let at = f[0].location.as_ref().unwrap();
        assert!(at.file.ends_with("deletes-aws-node/main.tf"), "{at}");
        // The `resource "kubernetes_job" "this"` line of main.tf.
        assert_eq!(at.line, 42, "{at}");
    }

    #[test]
    fn quiet_on_a_plan_without_deletion() {
        let c = preflight(&[
            "TripleAze__Production-Grade-Cloud-Native-DevOps-Platform__infra_plan.json",
        ]);
        assert!(check(&AddonRemovalByDeletion, &c).unwrap().is_empty());
    }

    #[test]
    fn not_evaluated_without_iac() {
        let c = crate::rules::testing::load_cluster(&[]);
        assert!(check(&AddonRemovalByDeletion, &c).is_err());
    }
}
