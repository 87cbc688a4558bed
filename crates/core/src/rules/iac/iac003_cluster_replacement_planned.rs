//! IAC003: the plan replaces (destroys and re-creates) the EKS cluster.

use crate::findings::{ObjectRef, Severity};
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct ClusterReplacementPlanned;

static META: RuleMeta = RuleMeta {
    code: "IAC003",
    name: "cluster-replacement-planned",
    severity: Severity::Critical,
    area: Area::Iac,
    summary: "The Terraform plan destroys and re-creates the EKS cluster",
    what_it_checks: "Each `aws_eks_cluster` in the plan's `resource_changes` whose \
`change.actions` hold both `delete` and `create` (a replacement). The evidence lists \
`replace_paths`, the attributes that force it.",
    why_it_matters: "Replacing an EKS cluster deletes the control plane with every Kubernetes \
object in it, and the node groups with it. Moving a Cilium install onto \
`bootstrap_self_managed_addons = false` is the usual cause: the attribute forces a new cluster \
(ForceNew in the AWS provider; terraform-aws-modules/eks v21 hard-codes it false and ignores \
changes to it for exactly this reason).",
    how_to_fix: "Do not apply this plan. Put the attribute back to the value the cluster was \
created with, or add it to `lifecycle { ignore_changes = [bootstrap_self_managed_addons] }` \
and handle aws-node by patching it off the nodes; only replace the cluster on purpose, with \
its workloads moved elsewhere first.",
    known_limits: "Needs plan JSON (`terraform show -json`); eksctl files plan no replacements. \
Replacements of node groups are not reported.",
    docs_url: "https://developer.hashicorp.com/terraform/internals/json-format",
};

impl Rule for ClusterReplacementPlanned {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let facts = super::facts(cx.cluster)?;
        Ok(facts
            .cluster_replacements
            .iter()
            .map(|r| {
                let mut f = META
                    .finding(
                        ObjectRef::global("IacResource", &r.address),
                        "the plan destroys and re-creates the EKS cluster, with every workload in it",
                    )
                    .with_evidence(format!("{}: {}", r.address, r.detail))
                    .with_remediation(
                        "# Do not apply. Restore the attribute that forces the replacement, or ignore it:\n\
# lifecycle { ignore_changes = [bootstrap_self_managed_addons] }\n\
terraform plan -out=plan.tfplan && terraform show -json plan.tfplan > plan.json",
                    );
                f.location = Some(r.at.clone());
                f
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::iac::testkit::preflight;
    use crate::rules::testing::check;

    #[test]
    fn fires_on_a_replaced_cluster() {
        let c = preflight(&["replace-cluster/plan.json"]);
        let f = check(&ClusterReplacementPlanned, &c).unwrap();
        assert_eq!(f.len(), 1, "{f:#?}");
        assert!(
            f[0].evidence[0].contains("bootstrap_self_managed_addons"),
            "{:?}",
            f[0].evidence
        );
    }

    #[test]
    fn quiet_when_the_cluster_is_created_or_kept() {
        for plan in [
            "TripleAze__Production-Grade-Cloud-Native-DevOps-Platform__infra_plan.json",
            "nbiuk-devops-lab__infrastructure__terraform_tfplan.json",
        ] {
            let c = preflight(&[plan]);
            assert!(
                check(&ClusterReplacementPlanned, &c).unwrap().is_empty(),
                "{plan}"
            );
        }
    }
}
