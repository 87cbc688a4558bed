//! VER011 knowledge-stale: the facts the rules compare against are older
//! than their family's threshold, or the cluster runs something newer than
//! they know.

use std::collections::BTreeSet;

use crate::findings::{Finding, ObjectRef, Severity};
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct Ver011;

static META: RuleMeta = RuleMeta {
    code: "VER011",
    name: "knowledge-stale",
    severity: Severity::Low,
    area: Area::Ver,
    summary: "The tool's facts are older than their threshold, or the cluster runs something newer than they know",
    what_it_checks: "The date of the newest source of each fact family (`data/knowledge-dates.json`) \
        against the evaluation date (`--as-of`): Cilium releases older than 60 days, the EKS \
        calendar older than 120 days or EC2 limits older than 90 days (`--knowledge-max-age \
        FAMILY=DAYS` changes a threshold). And what the snapshot shows against the facts: a Cilium \
        patch above the latest known patch of its minor, a Cilium minor above the newest known, a \
        Kubernetes minor without an EKS calendar row, node instance types the limits table lacks.",
    why_it_matters: "Every version, limit and date the report states comes from these facts. \
        When they are old, \"latest patch\" is only the latest the tool knew of, new instance types \
        fall back to snapshot data or are skipped, and support dates of a new Kubernetes minor are \
        unknown: the report can be quietly wrong or incomplete.",
    how_to_fix: "Use a newer eks-cilium-doctor release, or refresh the facts and pass them with \
        `--knowledge DIR`: rebuild the ground truth (`scripts/refresh-knowledge.py`), then \
        `python3 scripts/build-knowledge.py GROUND_TRUTH` writes the files `--knowledge` reads.",
    known_limits: "A family's date is the commit date of its newest source, not the date it was \
        read; releases published since then are unknown to the tool by definition, so the age is a \
        proxy. Instance types whose limits the snapshot's DescribeInstanceTypes supplies are still \
        listed, because the embedded table lacks them; so is a Kubernetes minor whose support \
        dates the snapshot's DescribeClusterVersions supplies (the finding says so, and VER003 \
        uses those dates).",
    docs_url: "https://docs.cilium.io/en/stable/network/kubernetes/compatibility/",
};

/// The default age thresholds per family, in days.
pub const DEFAULT_MAX_AGE_DAYS: [(&str, u32); 3] = [
    ("cilium_releases", 60),
    ("eks_calendar", 120),
    ("ec2_limits", 90),
];

impl Rule for Ver011 {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let mut findings: Vec<Finding> = Vec::new();
        findings.extend(aged_families(cx));
        findings.extend(newer_cilium(cx));
        findings.extend(newer_kubernetes(cx));
        findings.extend(unknown_instance_types(cx));
        Ok(findings)
    }
}

fn knowledge_object() -> ObjectRef {
    ObjectRef::global("Knowledge", "eks-cilium-doctor")
}

const REFRESH: &str = "Use a newer eks-cilium-doctor release, or pass refreshed facts: \
    python3 scripts/refresh-knowledge.py ... (see the README), then \
    python3 scripts/build-knowledge.py GROUND_TRUTH, then run with --knowledge data/";

fn aged_families(cx: &Context) -> Option<Finding> {
    let as_of = cx.options.as_of;
    let stale: Vec<(String, i64, u32)> = cx
        .options
        .knowledge_max_age_days
        .iter()
        .filter_map(|(family, max)| {
            let date = cx.knowledge.dates.family(family)?;
            let age = date.days_until(as_of);
            (age > i64::from(*max)).then(|| (family.clone(), age, *max))
        })
        .collect();
    if stale.is_empty() {
        return None;
    }
    let names: Vec<&str> = stale.iter().map(|(f, _, _)| f.as_str()).collect();
    let mut f = META.finding(
        knowledge_object(),
        format!(
            "The tool's facts are old for {as_of}: {} (knowledge of {})",
            names.join(", "),
            cx.knowledge.dates.date()
        ),
    );
    for (family, age, max) in &stale {
        let newest = &cx.knowledge.dates.families[family.as_str()];
        f = f.with_evidence(format!(
            "{family}: newest source of {} is {age} days before {as_of} (threshold {max} days): {}",
            newest.date, newest.newest_source
        ));
    }
    Some(f.with_remediation(REFRESH))
}

fn newer_cilium(cx: &Context) -> Option<Finding> {
    let running = cx.cluster.cilium.version?;
    let newest = cx.knowledge.newest_cilium();
    let dates = &cx.knowledge.dates;
    let releases = dates
        .family("cilium_releases")
        .map_or_else(|| dates.date().to_string(), |d| d.to_string());
    let message = match cx.knowledge.cilium_minor(running.minor()) {
        Some(minor) if running > minor.latest_patch => format!(
            "Cilium {running} runs here, newer than the latest known patch {} of {} \
             (knowledge of {releases})",
            minor.latest_patch, minor.minor
        ),
        None if running.minor() > newest.minor => format!(
            "Cilium {running} runs here, a minor newer than the newest known ({}, \
             knowledge of {releases}): its tested Kubernetes versions, kernels, IAM actions and \
             Helm keys are unknown",
            newest.minor
        ),
        _ => return None,
    };
    Some(
        META.finding(super::agent_object(cx), message)
            .with_evidence(format!(
                "Cilium agent image: {}",
                cx.cluster.cilium.agent_images.join(", ")
            ))
            .with_remediation(REFRESH),
    )
}

fn newer_kubernetes(cx: &Context) -> Option<Finding> {
    let running = cx.cluster.kubernetes_version()?.minor();
    if cx.knowledge.eks_version(running).is_some() {
        return None;
    }
    let newest = cx.knowledge.eks_versions.last()?;
    if running <= newest.version {
        // Older than the calendar: not a question of freshness.
        return None;
    }
    let calendar = cx
        .knowledge
        .dates
        .family("eks_calendar")
        .map_or_else(String::new, |d| format!(" (knowledge of {d})"));
    // DescribeClusterVersions in the snapshot may still give the dates.
    let dates = match cx.knowledge.support_calendar(cx.cluster, running) {
        Some(live) => format!(
            "its support dates come from {} only; the tool's other facts about it may be missing too",
            live.source
        ),
        None => "its support dates are unknown".to_string(),
    };
    Some(
        META.finding(
            ObjectRef::global("Cluster", cx.cluster.name.as_deref().unwrap_or("cluster")),
            format!(
                "Kubernetes {running} runs here, but the EKS calendar the tool knows ends at {}{calendar}: {dates}",
                newest.version
            ),
        )
        .with_remediation(REFRESH),
    )
}

fn unknown_instance_types(cx: &Context) -> Option<Finding> {
    let types: BTreeSet<&str> = cx
        .cluster
        .nodes
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter_map(|n| n.instance_type())
        .filter(|t| !t.is_empty() && cx.knowledge.instance(t).is_none())
        .collect();
    if types.is_empty() {
        return None;
    }
    let from_snapshot: BTreeSet<&str> = cx
        .cluster
        .instance_types
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|t| t.instance_type.as_str())
        .collect();
    let limits = cx
        .knowledge
        .dates
        .family("ec2_limits")
        .map_or_else(String::new, |d| format!(" (knowledge of {d})"));
    let mut f = META.finding(
        ObjectRef::global("InstanceType", types.iter().next().copied().unwrap_or("")),
        format!(
            "Nodes run instance type(s) the EC2 limits table lacks{limits}: {}",
            types.iter().copied().collect::<Vec<_>>().join(", ")
        ),
    );
    for t in &types {
        f = f.with_evidence(if from_snapshot.contains(t) {
            format!("{t}: limits from the snapshot's DescribeInstanceTypes")
        } else {
            format!(
                "{t}: no limits (aws ec2 describe-instance-types --instance-types {t} > instance-types.json)"
            )
        });
    }
    Some(f.with_remediation(REFRESH))
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)]
mod tests {
    use super::*;
    use crate::knowledge::Knowledge;
    use crate::model::Cluster;
    use crate::rules::testing::context;
    use crate::rules::CheckOptions;
    use serde_json::json;

    fn run(cluster: &Cluster, as_of: &str) -> Vec<Finding> {
        let options = CheckOptions {
            as_of: as_of.parse().unwrap(),
            ..CheckOptions::default()
        };
        match Ver011.check(&context(cluster, Knowledge::embedded(), &options)) {
            Ok(f) => f,
            other => panic!("{other:?}"),
        }
    }

    /// The agent DaemonSet of `image`'s version, through the real loader.
    fn with_cilium(image: &str) -> Cluster {
        let version = image.rsplit(":v").next().unwrap();
        crate::rules::ver::testkit::typed_cluster(vec![crate::rules::ver::testkit::agent_ds(
            version,
        )])
    }

    #[test]
    fn age_fires_past_the_thresholds_and_names_the_families() {
        let dates = &Knowledge::embedded().dates;
        let releases = dates.family("cilium_releases").unwrap();
        // The day of the newest source: nothing is old.
        assert!(run(&Cluster::default(), &releases.to_string()).is_empty());
        let f = run(&Cluster::default(), "2027-06-01");
        assert_eq!(f.len(), 1);
        for family in ["cilium_releases", "eks_calendar", "ec2_limits"] {
            assert!(f[0].message.contains(family), "{}", f[0].message);
        }
        assert!(f[0].remediation.contains("--knowledge"));
        // Just past the 60-day threshold of Cilium releases only.
        let f = run(&Cluster::default(), &releases.add_days(61).to_string());
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("cilium_releases"));
        assert!(!f[0].message.contains("eks_calendar"));
    }

    #[test]
    fn newer_cilium_than_known() {
        let k = Knowledge::embedded();
        let today = k.dates.date().to_string();
        let newest = k.newest_cilium();
        let above = format!(
            "quay.io/cilium/cilium:v{}.{}.{}",
            newest.latest_patch.major,
            newest.latest_patch.minor,
            newest.latest_patch.patch + 1
        );
        let f = run(&with_cilium(&above), &today);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].message.contains("newer than the latest known patch"));
        let at = format!("quay.io/cilium/cilium:v{}", newest.latest_patch);
        assert!(run(&with_cilium(&at), &today).is_empty());
        let next_minor = format!(
            "quay.io/cilium/cilium:v{}.{}.0",
            newest.minor.major,
            newest.minor.minor + 1
        );
        let f = run(&with_cilium(&next_minor), &today);
        assert!(f[0].message.contains("a minor newer than the newest known"));
    }

    #[test]
    fn kubernetes_without_calendar_row_and_unknown_instance_types() {
        let k = Knowledge::embedded();
        let today = k.dates.date().to_string();
        let newest = k.eks_versions.last().unwrap().version;
        let mut c: Cluster = Cluster::default();
        c.nodes = Some(vec![
            serde_json::from_value(json!({"metadata":{"name":"n1","labels":{
                "node.kubernetes.io/instance-type":"zz9.mega"}},
                "status":{"nodeInfo":{"kubeletVersion":"v1.30.0"}}}))
            .unwrap(),
            serde_json::from_value(json!({"metadata":{"name":"n2","labels":{
                "node.kubernetes.io/instance-type":"m5.large"}}}))
            .unwrap(),
        ]);
        c.server_version = Some(crate::model::ServerVersion {
            git_version: format!("v{}.{}.1-eks", newest.major, newest.minor + 1),
            version: format!("{}.{}.1", newest.major, newest.minor + 1)
                .parse()
                .unwrap(),
        });
        c.finish();
        let f = run(&c, &today);
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(f
            .iter()
            .any(|f| f.message.contains("EKS calendar the tool knows ends at")));
        assert!(f
            .iter()
            .any(|f| f.message.contains("zz9.mega") && !f.message.contains("m5.large")));
    }
}
