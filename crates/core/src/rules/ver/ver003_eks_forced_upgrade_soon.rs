//! VER003 eks-forced-upgrade-soon: the EKS support of the cluster's
//! Kubernetes version (standard, or extended per `upgradePolicy.supportType`)
//! ends within the warning window or has ended; EKS then upgrades the
//! control plane to the next minor on its own.

use super::{minor_range, render_path, upgrade_path};
use crate::rules::inputs;
use crate::rules::Missing;

use crate::findings::{Finding, ObjectRef, Severity};
use crate::knowledge::CalendarSource;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};
use crate::version::Version;

pub struct Ver003;

static META: RuleMeta = RuleMeta {
    code: "VER003",
    name: "eks-forced-upgrade-soon",
    severity: Severity::High,
    area: Area::Ver,
    summary: "EKS support for the cluster's version ends within the warning window (or has ended): EKS will upgrade the control plane on its own.",
    what_it_checks: "Takes the cluster's Kubernetes version and upgrade policy from `aws eks \
        describe-cluster` (`cluster.upgradePolicy.supportType`; absent means EXTENDED, the AWS \
        default for new and existing clusters) and the EKS support calendar of that version: \
        the dates of `aws eks describe-cluster-versions` in the snapshot (which `collect`, \
        `check --live` and `serve` read when allowed) when it has them, else the calendar \
        embedded in the tool; the evidence names which. With STANDARD the \
        deadline is the end of standard support; with EXTENDED it is the end of extended \
        support. Fires when the deadline is within the warning window (90 days by default) of \
        the evaluation date (`--as-of`, default today) or already past. Also checks whether the \
        running Cilium is e2e-tested with the version EKS will move to.",
    why_it_matters: "At the deadline EKS upgrades the control plane to the next minor by itself, \
        at a time it does not announce, and cannot roll it back. Only the control plane moves: \
        node groups stay behind, and a Cilium minor that does not test the new version keeps \
        running against it. Upgrading yourself, Cilium first, keeps the order under your control.",
    how_to_fix: "Upgrade before the deadline, on your schedule: if the running Cilium does not \
        test the next Kubernetes minor, upgrade Cilium first (run `eks-cilium-doctor check \
        --target-k8s 1.Y` for the path, VER002), then `aws eks update-cluster-version --name \
        CLUSTER --kubernetes-version 1.Y` and the node groups. With the STANDARD policy, while \
        the version is still in standard support, `aws eks update-cluster-config --name CLUSTER \
        --upgrade-policy supportType=EXTENDED` buys up to 12 more months (billed per cluster \
        hour). There is no switch that turns the automatic upgrade off.",
    known_limits: "Needs `aws eks describe-cluster` output. Without DescribeClusterVersions \
        dates for the version (not collected, denied, or an endpoint such as moto that lacks \
        the call) the embedded calendar is used, which is only as new as the tool's knowledge; \
        a version in neither is reported as not evaluated. A DescribeClusterVersions row \
        without both end dates is not used. EKS does not give an exact \
        time for the automatic upgrade: it can happen any time after the deadline. The upgrade \
        policy can only be changed while the version is in standard support. EKS Auto Mode \
        nodes may follow the control plane; managed and self-managed nodes do not.",
    docs_url: "https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html",
};

impl Rule for Ver003 {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        evaluate(cx)
    }
}

fn evaluate(cx: &Context) -> Result<Vec<Finding>, Missing> {
    let Some(eks) = cx.cluster.eks.as_ref() else {
        return Err(Missing::new(
            "EKS describe-cluster (version and upgrade policy)",
            inputs::EKS_CLUSTER,
        ));
    };
    let version = eks
        .version
        .as_deref()
        .and_then(|v| v.parse::<Version>().ok())
        .or_else(|| cx.cluster.kubernetes_version())
        .map(Version::minor)
        .ok_or_else(|| Missing::new("the Kubernetes version", inputs::EKS_CLUSTER))?;
    let Some(calendar) = cx.knowledge.support_calendar(cx.cluster, version) else {
        return Err(Missing::new(
            format!("the EKS support calendar for Kubernetes {version}"),
            format!("{}; or {}", inputs::EKS_CLUSTER_VERSIONS, inputs::KNOWLEDGE),
        ));
    };
    // eks_versions.json upgrade_policy: default EXTENDED; STANDARD = upgraded
    // at the end of standard support, EXTENDED = at the end of extended support.
    let declared = eks
        .upgrade_policy
        .as_ref()
        .and_then(|p| p.support_type.as_deref())
        .map(str::to_ascii_uppercase);
    let standard = declared.as_deref() == Some("STANDARD");
    let (deadline, kind) = if standard {
        (calendar.end_of_standard_support, "standard")
    } else {
        (calendar.end_of_extended_support, "extended")
    };
    let as_of = cx.options.as_of;
    let days = as_of.days_until(deadline);
    if days > cx.options.support_warning_days {
        return Ok(Vec::new());
    }
    let next = version.next();
    let name = cx.cluster_name();
    let when = match days {
        d if d < 0 => format!("ended on {deadline} ({} days ago)", -d),
        0 => format!("ends today ({deadline})"),
        1 => format!("ends on {deadline}, tomorrow"),
        d => format!("ends on {deadline}, in {d} days"),
    };
    let consequence = if days < 0 {
        format!("EKS can upgrade the control plane to {next} at any time")
    } else {
        format!("then EKS upgrades the control plane to {next} on its own")
    };
    let mut finding = META
        .finding(
            ObjectRef::global("Cluster", &name),
            format!("EKS {kind} support for Kubernetes {version} {when}: {consequence}"),
        )
        .with_evidence(format!("Kubernetes {version} (EKS describe-cluster)"))
        .with_evidence(match &declared {
            Some(p) => format!("upgradePolicy.supportType: {p}"),
            None => "upgradePolicy.supportType not set: AWS default EXTENDED".to_string(),
        })
        .with_evidence(format!(
            "EKS support dates for {version} from {}: {}end of standard support {}, end of extended support {}",
            calendar.source,
            calendar
                .eks_release
                .map_or_else(String::new, |d| format!("released {d}, ")),
            calendar.end_of_standard_support,
            calendar.end_of_extended_support
        ))
        .with_evidence(format!(
            "Evaluated as of {as_of} with a {}-day warning window",
            cx.options.support_warning_days
        ))
        .with_evidence(
            "The automatic upgrade moves only the control plane; managed and self-managed node groups stay on their version",
        );
    // Live dates that moved since the tool's knowledge: say what they replaced.
    if calendar.source == CalendarSource::DescribeClusterVersions {
        if let Some(embedded) = cx.knowledge.eks_version(version).filter(|e| {
            (e.end_of_standard_support, e.end_of_extended_support)
                != (
                    calendar.end_of_standard_support,
                    calendar.end_of_extended_support,
                )
        }) {
            finding = finding.with_evidence(format!(
                "The embedded calendar (knowledge of {}) has other dates for {version}: end of standard support {}, end of extended support {}; EKS's own answer is used",
                cx.knowledge.eks_calendar_date(),
                embedded.end_of_standard_support,
                embedded.end_of_extended_support
            ));
        }
    }

    // What the forced upgrade means for Cilium (VER002 for the target).
    let mut steps = None;
    if let (Some(cilium), Some(kube_now)) = (
        cx.cluster.cilium.version,
        cx.cluster.kubernetes_version().map(Version::minor),
    ) {
        let c = cilium.minor();
        if let Some(data) = cx.knowledge.cilium_minor(c) {
            if data.k8s_tested.contains(&next) {
                finding = finding.with_evidence(format!(
                    "Cilium {cilium} e2e-tests Kubernetes {next} (tests {})",
                    minor_range(&data.k8s_tested)
                ));
            } else {
                finding = finding.with_evidence(format!(
                    "Cilium {cilium} is NOT e2e-tested with Kubernetes {next} (tests {}): the forced upgrade would leave Cilium on an untested version; see `eks-cilium-doctor check --target-k8s {next}` (VER002)",
                    minor_range(&data.k8s_tested)
                ));
                if kube_now <= next {
                    steps = upgrade_path(cx.knowledge, c, kube_now, next, None)
                        .ok()
                        .map(|p| render_path(cx, (c, kube_now), &p));
                }
            }
        }
    }

    let mut remediation = vec![if days < 0 {
        format!(
            "Upgrade now, on your own terms, before EKS does it (it may at any time); Cilium first when it does not test {next}:"
        )
    } else {
        format!(
            "Upgrade on your own schedule before {deadline}, Cilium first when it does not test {next}:"
        )
    }];
    match steps {
        Some(s) => remediation.push(s),
        None => remediation.push(format!(
            "aws eks update-cluster-version --name {name} --kubernetes-version {next}\nthen each managed node group: aws eks update-nodegroup-version --cluster-name {name} --nodegroup-name <nodegroup> --kubernetes-version {next}"
        )),
    }
    if standard && as_of < calendar.end_of_standard_support {
        remediation.push(format!(
            "Or, while {version} is still in standard support, switch to extended support (billed per cluster hour) to keep {version} until {}:\naws eks update-cluster-config --name {name} --upgrade-policy supportType=EXTENDED",
            calendar.end_of_extended_support
        ));
    }
    Ok(vec![finding.with_remediation(remediation.join("\n"))])
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::rules::testing::{fired, load_cluster, missing, options, run};
    use serde_json::json;

    fn eks(version: &str, policy: Option<&str>) -> serde_json::Value {
        let mut c = json!({"cluster": {"name": "prod", "version": version, "identity": {"oidc": {"issuer": "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC"}}}});
        if let Some(p) = policy {
            c["cluster"]["upgradePolicy"] = json!({"supportType": p});
        }
        c
    }

    #[test]
    fn extended_default_fires_on_the_deadline_and_combines_with_cilium() {
        let k = knowledge();
        // 1.31 extended support ends 2026-11-26.
        let c = typed_cluster(vec![
            eks("1.31", None),
            agent_ds("1.16.5"),
            server_version("v1.31.4-eks-1"),
        ]);
        let f = fired(run(&Ver003, &c, &k, &options("2026-11-26")));
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "EKS extended support for Kubernetes 1.31 ends today (2026-11-26): then EKS upgrades the control plane to 1.32 on its own"
        );
        assert!(f[0]
            .evidence
            .iter()
            .any(|e| e.contains("AWS default EXTENDED")));
        assert!(f[0]
            .evidence
            .iter()
            .any(|e| e.contains("NOT e2e-tested with Kubernetes 1.32")));
        assert!(f[0].remediation.contains("--version 1.17.18"));
        assert!(f[0].remediation.contains("--kubernetes-version 1.32"));
        assert!(!f[0].remediation.contains("supportType=EXTENDED"));
    }

    #[test]
    fn standard_policy_uses_end_of_standard_and_offers_extended() {
        let k = knowledge();
        // 1.34 standard support ends 2026-12-02: 6 days after 2026-11-26.
        let c = typed_cluster(vec![eks("1.34", Some("STANDARD"))]);
        let f = fired(run(&Ver003, &c, &k, &options("2026-11-26")));
        assert_eq!(f.len(), 1);
        assert!(f[0]
            .message
            .contains("standard support for Kubernetes 1.34 ends on 2026-12-02, in 6 days"));
        assert!(f[0].remediation.contains(
            "aws eks update-cluster-config --name prod --upgrade-policy supportType=EXTENDED"
        ));
        assert!(f[0]
            .remediation
            .contains("aws eks update-cluster-version --name prod --kubernetes-version 1.35"));
        // The same cluster with EXTENDED is a year away.
        let c = typed_cluster(vec![eks("1.34", Some("EXTENDED"))]);
        assert!(fired(run(&Ver003, &c, &k, &options("2026-11-26"))).is_empty());
    }

    #[test]
    fn window_boundaries_and_past_deadline() {
        let k = knowledge();
        let c = typed_cluster(vec![eks("1.32", None)]); // extended ends 2027-03-23
                                                        // 2026-12-23 → 90 days: fires; 2026-12-22 → 91 days: quiet.
        assert_eq!(fired(run(&Ver003, &c, &k, &options("2026-12-23"))).len(), 1);
        assert!(fired(run(&Ver003, &c, &k, &options("2026-12-22"))).is_empty());
        let c = typed_cluster(vec![eks("1.29", None)]); // extended ended 2026-03-23
        let f = fired(run(&Ver003, &c, &k, &options("2026-11-26")));
        assert!(f[0].message.contains("ended on 2026-03-23 (248 days ago): EKS can upgrade the control plane to 1.30 at any time"));
        assert!(f[0]
            .remediation
            .starts_with("Upgrade now, on your own terms"));
    }

    /// `aws eks describe-cluster-versions --include-all` rows as the CLI
    /// prints them: (version, release, end of standard, end of extended).
    fn cluster_versions(rows: &[(&str, &str, &str, &str)]) -> serde_json::Value {
        let rows: Vec<serde_json::Value> = rows
            .iter()
            .map(|(version, release, standard, extended)| {
                json!({
                    "clusterVersion": version,
                    "clusterType": "eks",
                    "defaultPlatformVersion": "eks.9",
                    "defaultVersion": false,
                    "releaseDate": format!("{release}T00:00:00+00:00"),
                    "endOfStandardSupportDate": format!("{standard}T00:00:00+00:00"),
                    "endOfExtendedSupportDate": format!("{extended}T00:00:00+00:00"),
                    "status": "STANDARD_SUPPORT",
                    "versionStatus": "STANDARD_SUPPORT",
                    "kubernetesPatchVersion": format!("{version}.4")
                })
            })
            .collect();
        json!({ "clusterVersions": rows })
    }

    #[test]
    fn the_embedded_calendar_is_named_when_the_snapshot_has_no_live_dates() {
        let k = knowledge();
        let c = typed_cluster(vec![eks("1.31", None)]);
        let f = fired(run(&Ver003, &c, &k, &options("2026-11-26")));
        let date = k.eks_calendar_date();
        let expected = format!(
            "EKS support dates for 1.31 from the embedded calendar (data/eks.json, knowledge of {date}): released 2024-09-26, end of standard support 2025-11-26, end of extended support 2026-11-26"
        );
        assert!(f[0].evidence.contains(&expected), "{:?}", f[0].evidence);
    }

    #[test]
    fn describe_cluster_versions_dates_win_over_the_embedded_calendar() {
        let k = knowledge();
        // EKS now says 1.31's extended support ends three months later than
        // the embedded calendar (2026-11-26): on that day nothing fires.
        let live = cluster_versions(&[
            ("1.31", "2024-09-26", "2025-11-26", "2027-02-26"),
            ("1.32", "2025-01-23", "2026-03-23", "2027-03-23"),
        ]);
        let c = load_cluster(&[eks("1.31", None), live]);
        assert_eq!(c.eks_cluster_versions.as_ref().map(Vec::len), Some(2));
        assert!(fired(run(&Ver003, &c, &k, &options("2026-11-26"))).is_empty());
        let f = fired(run(&Ver003, &c, &k, &options("2027-01-01")));
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message
                .contains("extended support for Kubernetes 1.31 ends on 2027-02-26, in 56 days"),
            "{}",
            f[0].message
        );
        assert!(f[0].evidence.contains(&"EKS support dates for 1.31 from EKS DescribeClusterVersions in the snapshot: released 2024-09-26, end of standard support 2025-11-26, end of extended support 2027-02-26".to_string()), "{:?}", f[0].evidence);
        assert!(
            f[0].evidence
                .iter()
                .any(|e| e.starts_with("The embedded calendar (knowledge of")
                    && e.contains("end of extended support 2026-11-26; EKS's own answer is used")),
            "{:?}",
            f[0].evidence
        );
        assert!(!f[0].evidence.iter().any(|e| e.contains("data/eks.json")));
        // A row of another cluster type, or without its end dates, is not used.
        let outposts = json!({"clusterVersions": [
            {"clusterVersion": "1.31", "clusterType": "eks-local-outposts",
             "endOfStandardSupportDate": "2030-01-01T00:00:00+00:00",
             "endOfExtendedSupportDate": "2031-01-01T00:00:00+00:00"},
            {"clusterVersion": "1.31", "releaseDate": "2024-09-26T00:00:00+00:00"}
        ]});
        let c = load_cluster(&[eks("1.31", None), outposts]);
        let f = fired(run(&Ver003, &c, &k, &options("2026-11-26")));
        assert!(f[0]
            .evidence
            .iter()
            .any(|e| e.contains("embedded calendar")));
    }

    #[test]
    fn a_minor_the_embedded_calendar_lacks_is_evaluated_from_live_dates() {
        let k = knowledge();
        let newest = k.eks_versions.last().unwrap().version;
        let beyond = newest.next().to_string();
        let c = typed_cluster(vec![eks(&beyond, Some("STANDARD"))]);
        assert!(missing(run(&Ver003, &c, &k, &options("2026-11-26")))
            .contains(&format!("calendar for Kubernetes {beyond}")));
        let live = cluster_versions(&[(&beyond, "2026-06-02", "2027-08-02", "2028-08-02")]);
        let c = load_cluster(&[eks(&beyond, Some("STANDARD")), live]);
        assert!(fired(run(&Ver003, &c, &k, &options("2027-05-03"))).is_empty());
        let f = fired(run(&Ver003, &c, &k, &options("2027-05-04")));
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains(&format!(
            "EKS standard support for Kubernetes {beyond} ends on 2027-08-02, in 90 days"
        )));
        assert!(f[0]
            .evidence
            .iter()
            .any(|e| e.contains("from EKS DescribeClusterVersions in the snapshot")));
        // Nothing embedded to compare with.
        assert!(!f[0].evidence.iter().any(|e| e.contains("other dates")));
        assert!(
            f[0].remediation
                .contains(&format!("keep {beyond} until 2028-08-02")),
            "{}",
            f[0].remediation
        );
    }

    #[test]
    fn missing_inputs() {
        let k = knowledge();
        let c = typed_cluster(vec![agent_ds("1.16.5")]);
        assert!(missing(run(&Ver003, &c, &k, &options("2026-11-26"))).contains("describe-cluster"));
        let c = typed_cluster(vec![eks("1.22", None)]);
        assert!(missing(run(&Ver003, &c, &k, &options("2026-11-26")))
            .contains("calendar for Kubernetes 1.22"));
    }
}
