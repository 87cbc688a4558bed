//! IAC005: the Cilium release's Helm values cannot be evaluated before apply.

use crate::findings::{ObjectRef, Severity};
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct HelmValuesNotEvaluable;

static META: RuleMeta = RuleMeta {
    code: "IAC005",
    name: "helm-values-not-evaluable",
    severity: Severity::Medium,
    area: Area::Iac,
    summary:
        "The Cilium Helm values are known only after apply, so no configuration rule can check them",
    what_it_checks: "The Cilium `helm_release` of the plan: every `values` document and every \
`set`, `set_list` and `set_sensitive` entry must be known at plan time and parse as YAML. The \
rule fires, once per part, when one is `after_unknown` (computed from a resource not yet \
created), is not valid YAML, or has a `--set` name Helm could not parse.",
    why_it_matters: "The configuration and version rules (CFG, VER, CNI) need the merged values. \
When they are unknown, `preflight` cannot say whether the release runs ENI mode with native \
routing, replaces kube-proxy with an API server host, or keeps keys the chart removed: every \
one of those rules is *not evaluated* and the plan looks cleaner than it is.",
    how_to_fix: "Keep the Cilium values literal (a `values = [file(\"cilium-values.yaml\")]` or \
`templatefile()` whose variables are known at plan time) and set only the truly computed values \
(the API server host) with `set`; an unknown `set` value is kept as present and does not hide \
the rest.",
    known_limits: "An unknown `set` value alone does not fire: the key is kept as present with \
its value unknown. Values built outside Terraform (a Pulumi `apply()`, a CDK token) are not read \
yet.",
    docs_url: "https://developer.hashicorp.com/terraform/internals/json-format",
};

impl Rule for HelmValuesNotEvaluable {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let facts = super::facts(cx.cluster)?;
        Ok(facts
            .unevaluable_values
            .iter()
            .map(|u| {
                let mut f = META
                    .finding(
                        ObjectRef::global("IacResource", &u.address),
                        format!("Cilium Helm values cannot be evaluated before apply: {}", u.detail),
                    )
                    .with_evidence(format!("{}: {}", u.address, u.detail))
                    .with_remediation(
                        "# Keep the values literal and set only computed values with `set`:\n\
values = [file(\"${path.module}/cilium-values.yaml\")]\n\
set {\n  name  = \"k8sServiceHost\"\n  value = replace(module.eks.cluster_endpoint, \"https://\", \"\")\n}",
                    );
                f.location = Some(u.at.clone());
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
    fn fires_on_unknown_values() {
        let c = preflight(&["cilium-unknown-values/plan.json"]);
        let f = check(&HelmValuesNotEvaluable, &c).unwrap();
        assert_eq!(f.len(), 1, "{f:#?}");
        assert!(
            f[0].message.contains("known only after apply"),
            "{}",
            f[0].message
        );
        // Unknown values never fire a configuration rule: they are not evaluated.
        assert!(c.helm_values.is_none());
    }

    #[test]
    fn quiet_on_known_values() {
        let c = preflight(&["cilium-eni/plan.json"]);
        assert!(check(&HelmValuesNotEvaluable, &c).unwrap().is_empty());
    }
}
