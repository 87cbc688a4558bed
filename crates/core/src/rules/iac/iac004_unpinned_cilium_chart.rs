//! IAC004: the Cilium chart version is not pinned to one release.

use crate::findings::{ObjectRef, Severity};
use crate::iac::Fact;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct UnpinnedCiliumChart;

static META: RuleMeta = RuleMeta {
    code: "IAC004",
    name: "unpinned-cilium-chart",
    severity: Severity::Medium,
    area: Area::Iac,
    summary: "The Cilium Helm release does not pin one chart version",
    what_it_checks: "The Cilium `helm_release` of the plan: its `version` must be one exact \
release (`1.16.5`). The rule fires when it is unset or a range (`1.12.x`, `>= 1.15`).",
    why_it_matters: "Without a pin each apply installs whatever the chart repository holds that \
day: a new minor can remove Helm keys the values still set (the chart's validation then aborts \
`helm install`), change defaults, or need a newer kernel, and an unrelated `terraform apply` \
becomes a Cilium upgrade that skips the upgrade notes. The version rules also cannot say which \
Cilium the plan installs.",
    how_to_fix: "Set `version` on the `helm_release` to the exact chart release you tested (the \
latest patch of your minor), and upgrade it on purpose, one minor at a time.",
    known_limits: "A version that is known only after apply (from another resource) is not \
judged. Releases through other tools (ArgoCD, Flux, the `cilium` provider) are not read.",
    docs_url:
        "https://registry.terraform.io/providers/hashicorp/helm/latest/docs/resources/release",
};

/// One exact release: `1.16.5` or `v1.16.5` (pre-releases too).
fn exact(version: &str) -> bool {
    let v = version.trim().trim_start_matches('v');
    let core = v.split(['-', '+']).next().unwrap_or(v);
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

impl Rule for UnpinnedCiliumChart {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let facts = super::facts(cx.cluster)?;
        let mut out = Vec::new();
        for release in &facts.cilium_releases {
            let written = match &release.version {
                Fact::Known(v) if exact(v) => continue,
                Fact::Unknown => continue,
                Fact::Known(v) => format!("version {v:?} is a range"),
                Fact::Absent => "no version: the newest chart of the repository".to_string(),
            };
            let mut f = META
                .finding(
                    ObjectRef::global("IacResource", &release.address),
                    format!("the Cilium chart is not pinned ({written}): each apply may install another Cilium"),
                )
                .with_evidence(format!("{}: chart {}, {written}", release.address, release.chart))
                .with_remediation(format!(
                    "# Pin the chart to the release you tested, e.g.:\n\
resource \"helm_release\" \"cilium\" {{\n  chart   = \"{}\"\n  version = \"<X.Y.Z>\"\n}}",
                    release.chart
                ));
            f.location = Some(release.at.clone());
            out.push(f);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::iac::testkit::preflight;
    use crate::rules::testing::check;

    #[test]
    fn exact_releases_only() {
        assert!(exact("1.16.5") && exact("v1.18.1") && exact("1.19.0-pre.1"));
        assert!(!exact("1.12.x") && !exact(">= 1.15") && !exact("1.16") && !exact(""));
    }

    #[test]
    fn fires_on_a_range_and_on_no_version() {
        let c = preflight(&["cilium-range/plan.json"]);
        let f = check(&UnpinnedCiliumChart, &c).unwrap();
        assert_eq!(f.len(), 1, "{f:#?}");
        assert!(f[0].message.contains("1.12.x"), "{}", f[0].message);
    }

    #[test]
    fn quiet_on_a_pinned_chart() {
        let c = preflight(&["cilium-eni/plan.json"]);
        assert!(check(&UnpinnedCiliumChart, &c).unwrap().is_empty());
    }
}
