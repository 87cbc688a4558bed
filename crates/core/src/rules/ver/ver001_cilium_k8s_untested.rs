//! VER001 cilium-k8s-untested: the running Cilium minor does not e2e-test
//! the cluster's Kubernetes minor.

use super::{
    agent_object, minor_range, render_path, running_cilium, running_kubernetes, upgrade_path,
};
use crate::findings::{Finding, Severity};
use crate::rules::inputs;
use crate::rules::Missing;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct Ver001;

static META: RuleMeta = RuleMeta {
    code: "VER001",
    name: "cilium-k8s-untested",
    severity: Severity::High,
    area: Area::Ver,
    summary: "The running Cilium minor is not e2e-tested with the cluster's Kubernetes minor.",
    what_it_checks: "Reads the Cilium version from the agent image (DaemonSet kube-system/cilium, \
        else the agent pods) and the Kubernetes minor of the control plane (`kubectl version`, \
        else EKS describe-cluster), and looks the pair up in Cilium's compatibility table: the \
        Kubernetes versions each Cilium minor lists as e2e-tested (Documentation/network/kubernetes/compatibility.rst).",
    why_it_matters: "Cilium follows the Kubernetes API closely (EndpointSlices, CRD versions, \
        node and service fields). A pair outside the tested list is one nobody has run Cilium's \
        e2e suite on: regressions show up as datapath or policy bugs in production, and upstream \
        support will first ask you to move to a tested pair.",
    how_to_fix: "Move to a tested pair, one minor at a time. When Kubernetes is newer than \
        Cilium tests, upgrade Cilium minor by minor (each `helm upgrade` to the next minor's \
        latest patch, with the values you run today) until a minor tests your Kubernetes \
        version. When Kubernetes is older than Cilium tests, upgrade the control plane and \
        node groups. The finding lists the steps; run the Cilium pre-flight check before each \
        Cilium step (see the Cilium upgrade guide).",
    known_limits: "Uses the compatibility table of the newest patch docs of each minor known to \
        the tool; a patch release may add a Kubernetes version the table here does not list yet. \
        The Cilium version is read from the image tag: images pinned by digest only are \
        reported as not evaluated. The Kubernetes versions older Cilium minors (1.12–1.14) do \
        not list may still work through Kubernetes' compatibility guarantees, but are not tested.",
    docs_url: "https://docs.cilium.io/en/stable/network/kubernetes/compatibility/",
};

impl Rule for Ver001 {
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
    let kubernetes = running_kubernetes(cx)?;
    let c = cilium.minor();
    let Some(data) = cx.knowledge.cilium_minor(c) else {
        return Err(Missing::new(
            format!("compatibility data for Cilium {c}"),
            inputs::KNOWLEDGE,
        ));
    };
    if data.k8s_tested.contains(&kubernetes) {
        return Ok(Vec::new());
    }
    let tested = minor_range(&data.k8s_tested);
    let kube_source = match &cx.cluster.server_version {
        Some(sv) => format!("kubectl version: {}", sv.git_version),
        None => "EKS describe-cluster version".to_string(),
    };
    let mut finding = META
        .finding(
            agent_object(cx),
            format!(
                "Cilium {cilium} is not e2e-tested with Kubernetes {kubernetes} (Cilium {c} tests {tested})"
            ),
        )
        .with_evidence(format!(
            "Cilium agent image: {}",
            cx.cluster.cilium.agent_images.join(", ")
        ))
        .with_evidence(format!("Kubernetes {kubernetes} ({kube_source})"))
        .with_evidence(format!(
            "Cilium {c} e2e-tests Kubernetes {tested} (compatibility.rst)"
        ));

    let oldest_tested = data.k8s_tested.first().copied();
    let kube_too_old = oldest_tested.is_some_and(|o| kubernetes < o);
    // Kubernetes older than Cilium tests: move Kubernetes up to the oldest
    // tested minor; otherwise move Cilium up until it tests this Kubernetes.
    let to_kubernetes = match oldest_tested {
        Some(o) if kube_too_old => o,
        _ => kubernetes,
    };
    let remediation = match upgrade_path(cx.knowledge, c, kubernetes, to_kubernetes, None) {
        Ok(path) => {
            finding = finding.with_evidence(if kube_too_old {
                format!(
                    "Kubernetes {kubernetes} is older than every version Cilium {c} tests: the control plane must reach {to_kubernetes}"
                )
            } else {
                format!(
                    "Lowest Cilium minor tested with Kubernetes {kubernetes}: {} ({})",
                    path.cilium_to,
                    super::latest_known(cx.knowledge, path.cilium_to)
                )
            });
            format!(
                "Reach a tested pair one minor at a time:\n{}",
                render_path(cx, (c, kubernetes), &path)
            )
        }
        Err(e) => format!(
            "No upgrade path in the data ({e}). Check the Cilium compatibility table for a minor that tests Kubernetes {kubernetes}."
        ),
    };
    Ok(vec![finding.with_remediation(remediation)])
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::rules::testing::{fired, missing, options, run};

    #[test]
    fn fires_when_kubernetes_is_newer_than_tested() {
        let k = knowledge();
        let c = typed_cluster(vec![
            agent_ds("1.16.5"),
            server_version("v1.32.3-eks-4096722"),
        ]);
        let f = fired(run(&Ver001, &c, &k, &options("2026-11-26")));
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "Cilium 1.16.5 is not e2e-tested with Kubernetes 1.32 (Cilium 1.16 tests 1.27–1.30)"
        );
        assert!(f[0].evidence.iter().any(|e| e.contains(
            "Lowest Cilium minor tested with Kubernetes 1.32: 1.17 (latest known patch 1.17.18 (knowledge of "
        )));
        assert!(f[0].remediation.contains("--version 1.17.18"));
        assert!(!f[0].remediation.contains("update-cluster-version"));
    }

    #[test]
    fn fires_when_kubernetes_is_older_than_tested() {
        let k = knowledge();
        let c = typed_cluster(vec![agent_ds("1.18.4"), server_version("v1.29.10-eks-1")]);
        let f = fired(run(&Ver001, &c, &k, &options("2026-11-26")));
        assert_eq!(f.len(), 1);
        assert!(f[0].remediation.contains("--kubernetes-version 1.30"));
        assert!(f[0]
            .evidence
            .iter()
            .any(|e| e.contains("older than every version")));
    }

    #[test]
    fn quiet_on_a_tested_pair_and_without_cilium() {
        let k = knowledge();
        let c = typed_cluster(vec![agent_ds("1.17.2"), server_version("v1.31.1")]);
        assert!(fired(run(&Ver001, &c, &k, &options("2026-11-26"))).is_empty());
        // DaemonSets provided, no Cilium: does not apply.
        let c = typed_cluster(vec![
            serde_json::json!({"kind": "DaemonSet", "metadata": {"name": "aws-node", "namespace": "kube-system"}}),
            server_version("v1.31.1"),
        ]);
        assert!(fired(run(&Ver001, &c, &k, &options("2026-11-26"))).is_empty());
    }

    #[test]
    fn missing_inputs() {
        let k = knowledge();
        let c = typed_cluster(vec![server_version("v1.31.1")]);
        assert!(missing(run(&Ver001, &c, &k, &options("2026-11-26"))).contains("DaemonSets"));
        let c = typed_cluster(vec![agent_ds("1.17.2")]);
        assert!(
            missing(run(&Ver001, &c, &k, &options("2026-11-26"))).contains("Kubernetes version")
        );
        let c = typed_cluster(vec![agent_ds("1.17.2"), server_version("v1.31.1")]);
        assert!(
            missing(run(&Ver001, &c, &empty_knowledge(), &options("2026-11-26")))
                .contains("compatibility data for Cilium 1.17")
        );
    }
}
