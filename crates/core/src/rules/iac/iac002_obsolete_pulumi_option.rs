//! IAC002: a pulumi-eks option that pulumi-eks v4 removed.

use crate::findings::{ObjectRef, Severity};
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct ObsoletePulumiOption;

static META: RuleMeta = RuleMeta {
    code: "IAC002",
    name: "obsolete-pulumi-addon-option",
    severity: Severity::Medium,
    area: Area::Iac,
    summary: "The pulumi-eks Cluster sets `defaultAddonsToRemove`, which pulumi-eks v4 removed",
    what_it_checks: "Each `eks:index:Cluster` (the pulumi-eks component) of a Pulumi preview \
(`pulumi preview --json`) or stack export whose inputs set `defaultAddonsToRemove` (Python \
`default_addons_to_remove`).",
    why_it_matters: "Programs that install Cilium use it to keep EKS from bootstrapping the \
self-managed aws-node, kube-proxy and CoreDNS. pulumi-eks v4 removes the input (\"To create a \
cluster without those addons in v4, set bootstrapSelfManagedAddons to false\", v4 migration \
guide): the program stops working on the upgrade, and dropping the line without the \
replacement brings aws-node back next to Cilium on a new cluster. Like \
`bootstrapSelfManagedAddons`, it only applies when the cluster is created.",
    how_to_fix: "Replace `defaultAddonsToRemove` with `bootstrapSelfManagedAddons: false` on \
new clusters before moving to pulumi-eks v4. On an existing cluster do not change either: \
`bootstrapSelfManagedAddons` forces a new cluster when it changes (pulumi-aws docs); remove \
the option and keep the add-ons handled as they are (aws-node patched off the nodes).",
    known_limits: "Reads Pulumi preview JSON and stack exports, not program sources; a stack \
export records no inputs of components, so there the option is not seen. Which pulumi-eks \
release the program uses is not read: the option is reported on every release.",
    docs_url: "https://www.pulumi.com/registry/packages/eks/guides/v4-migration/",
};

impl Rule for ObsoletePulumiOption {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let facts = super::facts(cx.cluster)?;
        Ok(facts
            .obsolete_options
            .iter()
            .map(|o| {
                let value = o.value.as_deref().unwrap_or("(unknown in this preview)");
                let mut f = META
                    .finding(
                        ObjectRef::global("IacResource", &o.address),
                        format!(
                            "the pulumi-eks Cluster sets {}, which pulumi-eks v4 removed: set bootstrapSelfManagedAddons to false instead",
                            o.option
                        ),
                    )
                    .with_evidence(format!("{}: {} = {value}", o.address, o.option))
                    .with_remediation(
                        "# New clusters (pulumi-eks v4 and later): EKS bootstraps no self-managed add-ons\n\
eks.Cluster(\"cluster\", bootstrap_self_managed_addons=False, ...)\n\
# An existing cluster: do not change bootstrapSelfManagedAddons (it forces a new cluster);\n\
# drop defaultAddonsToRemove and keep aws-node patched off the nodes.",
                    );
                f.location = Some(o.at.clone());
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
    fn fires_on_the_option_at_its_line() {
        let c = preflight(&["pulumi-default-addons/preview.json"]);
        let f = check(&ObsoletePulumiOption, &c).unwrap();
        assert_eq!(f.len(), 1, "{f:#?}");
        let at = f[0].location.as_ref().unwrap();
        assert!(at.line > 1, "{at}");
        assert!(f[0].evidence[0].contains("vpc-cni"), "{:?}", f[0].evidence);
    }

    #[test]
    fn quiet_on_bootstrap_self_managed_addons() {
        let c = preflight(&["pulumi-v4/preview.json"]);
        assert!(check(&ObsoletePulumiOption, &c).unwrap().is_empty());
    }
}
