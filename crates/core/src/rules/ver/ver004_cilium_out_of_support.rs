//! VER004 cilium-out-of-support: the running Cilium minor is older than the
//! three newest minors in the data.

use super::{
    agent_object, cilium_namespace, helm_upgrade, helm_values_backup, render_path, running_cilium,
    upgrade_path, MAINTAINED_MINORS,
};
use crate::findings::{Finding, Severity};
use crate::rules::inputs;
use crate::rules::Missing;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};
use crate::version::Version;

pub struct Ver004;

static META: RuleMeta = RuleMeta {
    code: "VER004",
    name: "cilium-out-of-support",
    severity: Severity::Medium,
    area: Area::Ver,
    summary: "The running Cilium minor is older than the three newest minors.",
    what_it_checks: "Compares the Cilium minor of the agent image with the newest Cilium minors \
        known to the tool (from cilium/charts releases): a minor older than the three newest is \
        outside the releases the Cilium project maintains with patch releases.",
    why_it_matters: "Security and bug fixes are only backported to the three newest minors. An \
        older minor keeps its known CVEs and datapath bugs, and each minor left behind adds an \
        upgrade step later, since Cilium upgrades one minor at a time.",
    how_to_fix: "Upgrade one minor at a time to at least the oldest maintained minor: save the \
        values (`helm get values`), run the pre-flight check, then `helm upgrade` to the next \
        minor's latest patch, and repeat. Where a newer minor does not test your Kubernetes \
        version, the steps include the control-plane upgrades in between.",
    known_limits: "\"Newest\" means newest in the data shipped with the tool (or `--knowledge`): \
        an old build of the tool will not know of newer Cilium releases. Vendor-supported \
        distributions of Cilium (e.g. with longer support) are not recognised.",
    docs_url: "https://docs.cilium.io/en/stable/operations/upgrade/",
};

impl Rule for Ver004 {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        evaluate(cx)
    }
}

fn evaluate(cx: &Context) -> Result<Vec<Finding>, Missing> {
    let Some(cilium) = running_cilium(cx)? else {
        return Ok(Vec::new());
    };
    let all = &cx.knowledge.cilium;
    if all.is_empty() {
        return Err(Missing::new("Cilium release data", inputs::KNOWLEDGE));
    }
    let maintained = &all[all.len().saturating_sub(MAINTAINED_MINORS)..];
    let Some(oldest) = maintained.first().map(|m| m.minor) else {
        return Ok(Vec::new());
    };
    let c = cilium.minor();
    if c >= oldest {
        return Ok(Vec::new());
    }
    let newest: Vec<String> = maintained
        .iter()
        .rev()
        .map(|m| {
            format!(
                "{} ({}, published {})",
                m.minor,
                cx.knowledge.latest_known_patch(m),
                m.latest_patch_published
            )
        })
        .collect();
    let mut finding = META
        .finding(
            agent_object(cx),
            format!(
                "Cilium {cilium} is older than the {MAINTAINED_MINORS} newest minors ({}): it no longer gets patch releases",
                maintained
                    .iter()
                    .rev()
                    .map(|m| m.minor.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .with_evidence(format!(
            "Cilium agent image: {}",
            cx.cluster.cilium.agent_images.join(", ")
        ))
        .with_evidence(format!("Newest minors: {}", newest.join("; ")))
        .with_evidence(format!("{} minor(s) behind {oldest}", oldest.minors_after(c)));
    if let Some(own) = cx.knowledge.cilium_minor(c) {
        finding = finding.with_evidence(format!(
            "Last patch of {c}: {} published {}",
            own.latest_patch, own.latest_patch_published
        ));
    }

    let kubernetes = cx.cluster.kubernetes_version().map(Version::minor);
    let path = kubernetes.and_then(|k| {
        // Reach the oldest maintained minor; if it does not test today's
        // Kubernetes yet, the control plane moves to its oldest tested one.
        let floor = cx
            .knowledge
            .cilium_minor(oldest)
            .and_then(|m| m.k8s_tested.first().copied())
            .unwrap_or(k);
        let to_kubernetes = if floor > k { floor } else { k };
        upgrade_path(cx.knowledge, c, k, to_kubernetes, Some(oldest))
            .ok()
            .map(|p| render_path(cx, (c, k), &p))
    });
    let remediation = match path {
        Some(steps) => format!("Upgrade one minor at a time to at least {oldest}:\n{steps}"),
        None => {
            let ns = cilium_namespace(cx);
            let mut lines = vec![
                format!("Upgrade one minor at a time to at least {oldest} (check each minor's Kubernetes compatibility first):"),
                helm_values_backup(&ns),
            ];
            let mut m = c.next();
            while m <= oldest {
                lines.push(helm_upgrade(cx.knowledge, &ns, m));
                m = m.next();
            }
            lines.join("\n")
        }
    };
    Ok(vec![finding.with_remediation(remediation)])
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::rules::testing::{fired, missing, options, run};

    #[test]
    fn fires_below_the_three_newest() {
        let k = knowledge(); // 1.15–1.20: maintained 1.18, 1.19, 1.20
        let c = typed_cluster(vec![agent_ds("1.17.3"), server_version("v1.31.2")]);
        let f = fired(run(&Ver004, &c, &k, &options("2026-11-26")));
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "Cilium 1.17.3 is older than the 3 newest minors (1.20, 1.19, 1.18): it no longer gets patch releases"
        );
        assert!(f[0].remediation.contains("--version 1.18.12"));
        assert!(f[0]
            .evidence
            .iter()
            .any(|e| e == "Last patch of 1.17: 1.17.18 published 2026-07-16"));
    }

    #[test]
    fn path_moves_kubernetes_when_needed() {
        let k = knowledge();
        // 1.16 on 1.29: 1.18 tests 1.30+, so the control plane moves to 1.30 first.
        let c = typed_cluster(vec![agent_ds("1.16.1"), server_version("v1.29.2")]);
        let f = fired(run(&Ver004, &c, &k, &options("2026-11-26")));
        let r = &f[0].remediation;
        assert!(r.contains("--kubernetes-version 1.30"), "{r}");
        assert!(r.find("--version 1.17.18").unwrap() < r.find("--version 1.18.12").unwrap());
        // Without a Kubernetes version: plain Helm steps.
        let c = typed_cluster(vec![agent_ds("1.16.1")]);
        let f = fired(run(&Ver004, &c, &k, &options("2026-11-26")));
        assert!(f[0].remediation.contains("--version 1.17.18"));
        assert!(f[0].remediation.contains("--version 1.18.12"));
    }

    #[test]
    fn quiet_on_maintained_and_missing_data() {
        let k = knowledge();
        let c = typed_cluster(vec![agent_ds("1.18.0")]);
        assert!(fired(run(&Ver004, &c, &k, &options("2026-11-26"))).is_empty());
        let c = typed_cluster(vec![agent_ds("1.21.0")]);
        assert!(fired(run(&Ver004, &c, &k, &options("2026-11-26"))).is_empty());
        let c = typed_cluster(vec![agent_ds("1.16.0")]);
        assert!(
            missing(run(&Ver004, &c, &empty_knowledge(), &options("2026-11-26")))
                .contains("Cilium release data")
        );
    }
}
