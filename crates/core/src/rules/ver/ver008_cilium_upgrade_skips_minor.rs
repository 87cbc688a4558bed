//! VER008 cilium-upgrade-skips-minor: a planned Cilium upgrade
//! (`--target-cilium`) jumps more than one minor.

use super::{
    agent_object, cilium_namespace, helm_upgrade, helm_values_backup, minor_range, running_cilium,
};
use crate::findings::{Finding, Severity};
use crate::rules::Missing;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};
use crate::version::{Minor, Version};

pub struct Ver008;

static META: RuleMeta = RuleMeta {
    code: "VER008",
    name: "cilium-upgrade-skips-minor",
    severity: Severity::High,
    area: Area::Ver,
    summary: "A planned Cilium upgrade jumps more than one minor.",
    what_it_checks: "Only with a planned Cilium target (`--target-cilium 1.Y`); without one the \
        rule reports nothing. Compares the target minor with the minor the agents run and fires \
        when the upgrade would skip one or more minors.",
    why_it_matters: "Cilium supports upgrades to the next minor only: migrations of \
        configuration, CRDs and BPF map formats are written for one step, and removed options \
        are deprecated one minor ahead. Skipping a minor can leave the agents unable to read \
        state the previous version wrote, which shows up as dropped connections during the \
        rollout.",
    how_to_fix: "Upgrade through every minor in between, each to its latest patch, with the \
        pre-flight check and the upgrade notes of that minor. Check at each step that the minor \
        tests your Kubernetes version (VER001).",
    known_limits: "Patch upgrades within a minor and downgrades are not checked. Latest patches \
        come from the data shipped with the tool.",
    docs_url: "https://docs.cilium.io/en/stable/operations/upgrade/",
};

impl Rule for Ver008 {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        evaluate(cx)
    }
}

fn evaluate(cx: &Context) -> Result<Vec<Finding>, Missing> {
    let Some(target) = cx.options.target_cilium else {
        return Ok(Vec::new());
    };
    let Some(cilium) = running_cilium(cx)? else {
        return Ok(Vec::new());
    };
    let c = cilium.minor();
    let jump = target.minors_after(c);
    if jump <= 1 {
        return Ok(Vec::new());
    }
    // Minors in between (same major; a major jump lists none).
    let mut between: Vec<Minor> = Vec::new();
    if target.major == c.major {
        let mut m = c.next();
        while m < target {
            between.push(m);
            m = m.next();
        }
    }
    let between_text = between
        .iter()
        .map(Minor::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let kubernetes = cx.cluster.kubernetes_version().map(Version::minor);
    let mut finding = META
        .finding(
            agent_object(cx),
            if between.is_empty() {
                format!(
                    "The planned Cilium upgrade {c} → {target} is not a step to the next minor: Cilium upgrades one minor at a time"
                )
            } else {
                format!(
                    "The planned Cilium upgrade {c} → {target} skips {} minor(s) ({between_text}): Cilium upgrades one minor at a time",
                    between.len()
                )
            },
        )
        .with_evidence(format!(
            "Running Cilium {cilium} (agent image {})",
            cx.cluster.cilium.agent_images.join(", ")
        ))
        .with_evidence(format!("Target Cilium {target} (--target-cilium)"));
    let ns = cilium_namespace(cx);
    let mut steps = vec![helm_values_backup(&ns)];
    for step in between.iter().copied().chain(std::iter::once(target)) {
        let tested = cx.knowledge.cilium_minor(step).map(|d| &d.k8s_tested);
        let mut line = helm_upgrade(cx.knowledge, &ns, step);
        if let Some(list) = tested {
            line.push_str(&format!(
                "   # {step} tests Kubernetes {}",
                minor_range(list)
            ));
            if let Some(k) = kubernetes {
                if !list.contains(&k) {
                    line.push_str(&format!(" (not {k}: see VER001/VER002)"));
                    finding = finding.with_evidence(format!(
                        "Cilium {step} is not e2e-tested with the running Kubernetes {k}"
                    ));
                }
            }
        }
        steps.push(line);
    }
    Ok(vec![finding.with_remediation(format!(
        "Upgrade one minor at a time (pre-flight check and upgrade notes before each step):\n{}",
        steps.join("\n")
    ))])
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::rules::testing::{fired, missing, options, run};
    use crate::rules::CheckOptions;

    fn target(t: &str) -> CheckOptions {
        CheckOptions {
            target_cilium: Some(m(t)),
            ..options("2026-11-26")
        }
    }

    #[test]
    fn fires_on_a_skip() {
        let k = knowledge();
        let c = typed_cluster(vec![agent_ds("1.15.7"), server_version("v1.29.3")]);
        let f = fired(run(&Ver008, &c, &k, &target("1.18")));
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "The planned Cilium upgrade 1.15 → 1.18 skips 2 minor(s) (1.16, 1.17): Cilium upgrades one minor at a time"
        );
        let r = &f[0].remediation;
        assert!(r.find("--version 1.16.19").unwrap() < r.find("--version 1.17.18").unwrap());
        assert!(r.contains(
            "--version 1.18.12 -f cilium-values.yaml   # 1.18 tests Kubernetes 1.30–1.33 (not 1.29"
        ));
    }

    #[test]
    fn quiet_on_one_step_or_no_target() {
        let k = knowledge();
        let c = typed_cluster(vec![agent_ds("1.15.7")]);
        assert!(fired(run(&Ver008, &c, &k, &target("1.16"))).is_empty());
        assert!(fired(run(&Ver008, &c, &k, &target("1.15"))).is_empty());
        assert!(fired(run(&Ver008, &c, &k, &target("1.14"))).is_empty());
        assert!(fired(run(&Ver008, &c, &k, &options("2026-11-26"))).is_empty());
        // A major jump fires without listing minors.
        assert_eq!(fired(run(&Ver008, &c, &k, &target("2.0"))).len(), 1);
        let c = typed_cluster(vec![]);
        assert!(missing(run(&Ver008, &c, &k, &target("1.18"))).contains("DaemonSets"));
    }
}
