//! VER012 known-bad-release: the running Cilium (agent or operator) is a
//! release with a known regression, and the configuration it needs holds.

use super::{agent_object, cilium_namespace, running_cilium};
use crate::findings::{Finding, ObjectRef, Severity};
use crate::knowledge::{KnownCondition, KnownIssue};
use crate::rules::iam::eni_actions::setting;
use crate::rules::{inputs, Area, Context, Missing, Outcome, Rule, RuleMeta};
use crate::version::Version;

pub struct Ver012;

static META: RuleMeta = RuleMeta {
    code: "VER012",
    name: "known-bad-release",
    severity: Severity::High,
    area: Area::Ver,
    summary: "The running Cilium release has a known regression under this cluster's configuration.",
    what_it_checks: "Matches the Cilium version of the agent image (and of the operator image, \
        for issues in the operator) against the known-bad release ranges of `data/known-issues.json` \
        (built from the ground truth's `cilium/known_issues.json`: each range from the Cilium \
        CHANGELOG and the issue threads), and checks the conditions each issue needs besides the \
        version: ENI IPAM, `cni-chaining-mode: aws-cni`, the operator's `instance-tags-filter`.",
    why_it_matters: "These releases fail in ways that look like an EKS or IAM problem: the \
        operator crash-looping on an EC2 error, ENIs created on every resync, agents that never \
        start. The fix is a known later patch, not a configuration change hunted for hours.",
    how_to_fix: "Move to the release that fixes the issue (the same minor's fixed patch, or the \
        minor's latest known patch), or apply the workaround the issue names until then. `plan \
        upgrade` never picks a known-bad release as a step.",
    known_limits: "Only issues whose conditions the snapshot can show are matched (the rest of \
        the known issues are cited by other rules or need logs); pre-release ranges are not \
        matched. Without cilium-config or Helm values the conditions are unknown and the rule is \
        not evaluated.",
    docs_url: "https://github.com/cilium/cilium/blob/main/CHANGELOG.md",
};

impl Rule for Ver012 {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let Some(agent) = running_cilium(cx)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for issue in &cx.knowledge.known_issues.versioned {
            let operator = issue.component.starts_with("operator");
            let (version, image, object) = match (operator, cx.cluster.cilium.operator_version) {
                (true, Some(v)) => (
                    v,
                    cx.cluster.cilium.operator_image.clone().unwrap_or_default(),
                    ObjectRef::new("Deployment", Some(&cilium_namespace(cx)), "cilium-operator"),
                ),
                _ => (
                    agent,
                    cx.cluster.cilium.agent_images.join(", "),
                    agent_object(cx),
                ),
            };
            if !issue.affects(version) {
                continue;
            }
            let Some(held) = conditions(cx, issue)? else {
                continue;
            };
            out.push(finding(cx, issue, version, &image, object, held));
        }
        Ok(out)
    }
}

/// The evidence of each condition, or `None` when one does not hold.
pub(crate) fn conditions(cx: &Context, issue: &KnownIssue) -> Result<Option<Vec<String>>, Missing> {
    let s = &cx.cluster.cilium;
    if !issue.conditions.is_empty() && s.config.is_none() && cx.cluster.helm_values.is_none() {
        return Err(Missing::new(
            "the Cilium configuration (cilium-config or Helm values)",
            inputs::CILIUM_CONFIG,
        ));
    }
    let mut held = Vec::new();
    for c in &issue.conditions {
        match c {
            KnownCondition::IpamEni => {
                if !s.ipam_is_eni() {
                    return Ok(None);
                }
                held.push("ipam: eni".to_string());
            }
            KnownCondition::ChainingAwsCni => {
                if !s.chains_aws_cni() {
                    return Ok(None);
                }
                held.push("cni-chaining-mode: aws-cni".to_string());
            }
            KnownCondition::InstanceTagsFilter => {
                match setting(cx, "instance-tags-filter", "eni.instanceTagsFilter") {
                    Some((v, src)) if !v.is_empty() && v != "{}" && v != "[]" => held.push(src),
                    _ => return Ok(None),
                }
            }
        }
    }
    Ok(Some(held))
}

fn finding(
    cx: &Context,
    issue: &KnownIssue,
    version: Version,
    image: &str,
    object: ObjectRef,
    held: Vec<String>,
) -> Finding {
    let fix = issue.fix_for(version);
    let mut f = META
        .finding(
            object,
            format!(
                "Cilium {version} is a known-bad release here ({}): {}",
                issue.id, issue.title
            ),
        )
        .with_evidence(format!("{} image: {image}", issue.component))
        .with_evidence(format!(
            "Affected releases: {}",
            issue
                .affected
                .iter()
                .map(|r| r.describe())
                .collect::<Vec<_>>()
                .join("; ")
        ));
    for h in held {
        f = f.with_evidence(format!("Condition holds: {h}"));
    }
    f = f
        .with_evidence(format!("Symptom: {}", issue.symptom))
        .with_evidence(format!("Sources: {}", issue.sources.join(", ")));
    let ns = cilium_namespace(cx);
    let mut fix_lines = Vec::new();
    match fix {
        Some(v) => {
            let note = issue
                .release_note
                .as_deref()
                .map(|n| format!(" (release note: \"{n}\")"))
                .unwrap_or_default();
            fix_lines.push(format!("Fixed in Cilium {v}{note}."));
            // What an upgrade step would install (never a known-bad release).
            let chart = super::step_release(cx.knowledge, v.minor())
                .filter(|p| *p >= v)
                .unwrap_or(v);
            fix_lines.push(format!(
                "helm get values cilium --namespace {ns} -o yaml > cilium-values.yaml\n\
helm upgrade cilium cilium/cilium --namespace {ns} --version {chart} -f cilium-values.yaml"
            ));
        }
        None => fix_lines.push("No fixed release is known.".to_string()),
    }
    fix_lines.push(format!("Workaround: {}", issue.workaround));
    f.with_remediation(fix_lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::knowledge::Knowledge;
    use crate::rules::testing::{fired, missing, options, run};
    use serde_json::json;

    fn config(data: serde_json::Value) -> serde_json::Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cilium-config", "namespace": "kube-system"}, "data": data})
    }

    fn operator(version: &str) -> serde_json::Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "cilium-operator", "namespace": "kube-system"},
            "spec": {"template": {"spec": {"containers": [{"name": "cilium-operator",
                "image": format!("quay.io/cilium/operator-aws:v{version}")}]}}}})
    }

    #[test]
    fn fires_on_the_eni_operator_regression_with_a_tags_filter() {
        // UP20 (cilium#39106): 1.17.3, ENI mode, instance-tags-filter set.
        let c = typed_cluster(vec![
            agent_ds("1.17.3"),
            operator("1.17.3"),
            config(json!({"ipam": "eni", "instance-tags-filter": "eks:cluster-name=prod"})),
        ]);
        let f = fired(run(
            &Ver012,
            &c,
            Knowledge::embedded(),
            &options("2026-11-26"),
        ));
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].message.contains("KI001"), "{}", f[0].message);
        assert_eq!(f[0].object.kind, "Deployment");
        assert!(
            f[0].remediation.contains("Fixed in Cilium 1.17.5"),
            "{}",
            f[0].remediation
        );
        assert!(f[0]
            .evidence
            .iter()
            .any(|e| e.contains("instance-tags-filter")));
    }

    #[test]
    fn quiet_without_the_condition_or_outside_the_range() {
        let k = Knowledge::embedded();
        // No tags filter: the subnet-based path is not affected.
        let c = typed_cluster(vec![
            agent_ds("1.17.3"),
            operator("1.17.3"),
            config(json!({"ipam": "eni"})),
        ]);
        assert!(fired(run(&Ver012, &c, k, &options("2026-11-26"))).is_empty());
        // The fixed release.
        let c = typed_cluster(vec![
            agent_ds("1.17.5"),
            operator("1.17.5"),
            config(json!({"ipam": "eni", "instance-tags-filter": "a=b"})),
        ]);
        assert!(fired(run(&Ver012, &c, k, &options("2026-11-26"))).is_empty());
        // No configuration at all: not evaluated.
        let c = typed_cluster(vec![agent_ds("1.17.3"), operator("1.17.3")]);
        assert!(missing(run(&Ver012, &c, k, &options("2026-11-26"))).contains("cilium-config"));
    }

    #[test]
    fn chaining_regression_is_matched_on_the_agent() {
        // KI008: 1.12.0 up to 1.12.3 in aws-cni chaining (UP27).
        let c = typed_cluster(vec![
            agent_ds("1.12.1"),
            config(json!({"cni-chaining-mode": "aws-cni"})),
        ]);
        let f = fired(run(
            &Ver012,
            &c,
            Knowledge::embedded(),
            &options("2026-11-26"),
        ));
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("KI008"));
        assert_eq!(f[0].object.kind, "DaemonSet");
        assert!(f[0].remediation.contains("1.12.3"));
    }

    #[test]
    fn every_latest_patch_is_outside_every_range() {
        // The data's latest patches are what plan upgrade installs.
        let k = Knowledge::embedded();
        for m in &k.cilium {
            let bad: Vec<&str> = k.known_bad(m.latest_patch).map(|i| i.id.as_str()).collect();
            assert!(bad.is_empty(), "{} is known-bad: {bad:?}", m.latest_patch);
        }
    }
}
