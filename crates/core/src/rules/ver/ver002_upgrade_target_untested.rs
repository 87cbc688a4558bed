//! VER002 upgrade-target-untested: a planned Kubernetes target
//! (`--target-k8s`) is not e2e-tested by the running Cilium minor.
//! Opt-in: without a target the rule evaluates to no finding.

use super::{
    agent_object, minor_range, render_path, running_cilium, running_kubernetes, upgrade_path,
    PathError,
};
use crate::findings::{Finding, Severity};
use crate::rules::inputs;
use crate::rules::Missing;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct Ver002;

static META: RuleMeta = RuleMeta {
    code: "VER002",
    name: "upgrade-target-untested",
    severity: Severity::Critical,
    area: Area::Ver,
    summary: "The running Cilium minor is not e2e-tested with the planned Kubernetes target.",
    what_it_checks: "Only with a planned target (`check --target-k8s 1.Y`, or `plan upgrade --to \
        1.Y`); without one the rule has nothing to check and reports no finding. Looks the \
        running Cilium minor up in Cilium's compatibility table and, when it does not test the \
        target, computes the path to the lowest Cilium minor that does: Cilium and the control \
        plane both move one minor at a time, interleaved so that after every step the running \
        (Cilium, Kubernetes) pair is one Cilium tests.",
    why_it_matters: "Upgrading the control plane past what the running Cilium tests is the \
        classic way to break a cluster's networking during an EKS upgrade: the agents keep \
        running but watch APIs that changed under them. EKS cannot roll the control plane back, \
        so the Cilium side has to be ready before the Kubernetes step.",
    how_to_fix: "Follow the listed steps in order: each Cilium step is a `helm upgrade` to the \
        next minor's latest patch with your current values (save them first with `helm get \
        values`), each Kubernetes step is `aws eks update-cluster-version` followed by the node \
        groups. Run Cilium's pre-flight check before each Cilium step and read that minor's \
        upgrade notes.",
    known_limits: "Cilium only supports upgrading one minor at a time, and EKS moves the control \
        plane one minor at a time: the path never skips. If the cluster already runs an untested \
        pair, the path with the fewest untested pairs is shown and those steps are marked. \
        Compatibility comes from the newest patch docs known to the tool.",
    docs_url: "https://docs.cilium.io/en/stable/operations/upgrade/",
};

impl Rule for Ver002 {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        evaluate(cx)
    }
}

fn evaluate(cx: &Context) -> Result<Vec<Finding>, Missing> {
    // Opt-in: nothing planned, nothing to check.
    let Some(target) = cx.options.target_kubernetes else {
        return Ok(Vec::new());
    };
    let Some(cilium) = running_cilium(cx)? else {
        return Ok(Vec::new());
    };
    let kubernetes = running_kubernetes(cx)?;
    let c = cilium.minor();
    let Some(data) = cx.knowledge.cilium_minor(c) else {
        return Err(Missing::new(
            format!("compatibility data for Cilium {c}"),
            inputs::KNOWLEDGE,
        ));
    };
    if target < kubernetes {
        return Err(Missing::new(
            format!(
                "an upgrade target: --target-k8s {target} is below the running Kubernetes {kubernetes} (an upgrade moves forward; EKS rolls back one minor only, after an in-place upgrade)"
            ),
            "pass a --target-k8s above the running version",
        ));
    }
    if data.k8s_tested.contains(&target) {
        return Ok(Vec::new());
    }
    let tested = minor_range(&data.k8s_tested);
    let mut finding = META
        .finding(
            agent_object(cx),
            format!(
                "Cilium {cilium} is not e2e-tested with the target Kubernetes {target} (Cilium {c} tests {tested})"
            ),
        )
        .with_evidence(format!(
            "Cilium agent image: {}",
            cx.cluster.cilium.agent_images.join(", ")
        ))
        .with_evidence(format!(
            "Kubernetes now {kubernetes}, planned target {target} (--target-k8s)"
        ));
    let remediation = match upgrade_path(cx.knowledge, c, kubernetes, target, None) {
        Ok(path) => {
            finding = finding
                .with_evidence(format!(
                    "Lowest Cilium minor tested with Kubernetes {target}: {} ({}; tests {})",
                    path.cilium_to,
                    super::latest_known(cx.knowledge, path.cilium_to),
                    cx.knowledge
                        .cilium_minor(path.cilium_to)
                        .map(|m| minor_range(&m.k8s_tested))
                        .unwrap_or_default()
                ))
                .with_evidence(format!(
                    "Path: {} step(s) (Cilium through {}), {} through untested pairs",
                    path.steps.len(),
                    {
                        let c: Vec<String> = path.cilium_steps().map(|m| m.to_string()).collect();
                        if c.is_empty() {
                            "no Cilium step".to_string()
                        } else {
                            c.join(", ")
                        }
                    },
                    path.untested_steps()
                ));
            format!(
                "Before moving Kubernetes to {target}, follow these steps in order:\n{}",
                render_path(cx, (c, kubernetes), &path)
            )
        }
        Err(PathError::NoCiliumTestsTarget(_)) => {
            finding = finding.with_evidence(format!(
                "No Cilium minor known to this tool e2e-tests Kubernetes {target}"
            ));
            format!(
                "Do not upgrade to Kubernetes {target} yet: no Cilium release known to this tool tests it. Wait for a Cilium minor that lists {target} in its compatibility table."
            )
        }
        Err(e) => format!("No upgrade path in the data ({e})."),
    };
    Ok(vec![finding.with_remediation(remediation)])
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::rules::testing::{fired, missing, options, run};
    use crate::rules::CheckOptions;

    fn with_target(t: &str) -> CheckOptions {
        CheckOptions {
            target_kubernetes: Some(m(t)),
            ..options("2026-11-26")
        }
    }

    #[test]
    fn opt_in_without_target() {
        let k = knowledge();
        let c = typed_cluster(vec![agent_ds("1.16.5"), server_version("v1.30.3")]);
        assert!(fired(run(&Ver002, &c, &k, &options("2026-11-26"))).is_empty());
        // No target: no inputs are even needed.
        let c = typed_cluster(vec![]);
        assert!(fired(run(&Ver002, &c, &k, &options("2026-11-26"))).is_empty());
    }

    #[test]
    fn fires_with_path() {
        let k = knowledge();
        let c = typed_cluster(vec![agent_ds("1.16.5"), server_version("v1.30.3")]);
        let f = fired(run(&Ver002, &c, &k, &with_target("1.33")));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Critical);
        assert!(f[0].evidence.iter().any(|e| e.starts_with(
            "Lowest Cilium minor tested with Kubernetes 1.33: 1.18 (latest known patch 1.18.12 (knowledge of "
        )));
        let r = &f[0].remediation;
        let p17 = r.find("--version 1.17.18").unwrap();
        let p18 = r.find("--version 1.18.12").unwrap();
        let k31 = r.find("--kubernetes-version 1.31").unwrap();
        let k33 = r.find("--kubernetes-version 1.33").unwrap();
        assert!(p17 < p18 && p18 < k31 && k31 < k33, "{r}");
        assert!(r.contains("helm get values cilium --namespace kube-system -o yaml"));
    }

    #[test]
    fn quiet_when_target_tested_and_errors() {
        let k = knowledge();
        let c = typed_cluster(vec![agent_ds("1.18.1"), server_version("v1.31.3")]);
        assert!(fired(run(&Ver002, &c, &k, &with_target("1.33"))).is_empty());
        assert!(missing(run(&Ver002, &c, &k, &with_target("1.30")))
            .contains("an upgrade moves forward"));
        let f = fired(run(&Ver002, &c, &k, &with_target("1.40")));
        assert!(f[0]
            .remediation
            .starts_with("Do not upgrade to Kubernetes 1.40 yet"));
    }
}
