//! VER013 eks-insight-not-passing: an EKS cluster insight (upgrade
//! readiness, configuration or rollback readiness) that is not PASSING, with
//! its status, reason, recommendation and details as EKS returns them.

use crate::findings::{Finding, ObjectRef, Severity};
use crate::model::{EksInsight, EksInsightStatus};
use crate::rules::{inputs, Area, Context, Missing, Outcome, Rule, RuleMeta};

pub struct Ver013;

static META: RuleMeta = RuleMeta {
    code: "VER013",
    name: "eks-insight-not-passing",
    severity: Severity::High,
    area: Area::Ver,
    summary: "An EKS cluster insight (upgrade readiness, configuration, rollback readiness) is ERROR, WARNING or UNKNOWN.",
    what_it_checks: "Reads the EKS cluster insights of the snapshot (`aws eks list-insights`, and \
        `aws eks describe-insight` for the details; `collect` and `check --live` make both \
        calls) and reports each insight whose status is not PASSING, one finding per insight, \
        as eksup does: the insight's name, category, Kubernetes version, status and reason, \
        and, when describe-insight is in the snapshot, AWS's recommendation, the deprecated \
        APIs still called (usage, replacement, the versions that stop and start serving them, \
        and each client's user agent, request count over 30 days and last request), the \
        add-on compatibility details, the affected resources and the links AWS gives. \
        Severity follows the status: ERROR is high, WARNING medium, UNKNOWN (and any status \
        EKS adds later) low. PASSING insights give no finding.",
    why_it_matters: "Each insight names something EKS found that breaks on the version it \
        checks: a deprecated API still called by a controller, kubelet or kube-proxy skew, AL2 \
        nodes on a version without AL2 AMIs, an EKS add-on without a build for that version. \
        EKS refuses `update-cluster-version` while upgrade insights report blocking issues \
        (unless `--force` is passed, which leaves the breakage in place), and \
        rollback-readiness insights that are ERROR or UNKNOWN block a control-plane rollback.",
    how_to_fix: "Follow the insight's recommendation (quoted in the fix): move each client \
        named in the deprecation details to the replacement API, roll node groups, update the \
        EKS add-ons. EKS refreshes insights about once a day; after the fix, refresh them \
        (`aws eks start-insights-refresh`) and read the insight again before upgrading. \
        `plan upgrade` lists the insights that block its target version.",
    known_limits: "Insights are EKS's view as of their last refresh (the finding gives its \
        date), not a check this tool makes. Without describe-insight only the list row is \
        known (status, reason, description): the finding says how to get the rest. ERROR is \
        high rather than critical because a blocked upgrade fails safely (EKS refuses it) \
        until someone forces it; UNKNOWN is low, not info, because EKS could not evaluate \
        the check and a rollback treats it as blocking. EKS's add-on compatibility insight \
        judges EKS add-ons, not a Helm-installed Cilium: VER001 and VER002 do that.",
    docs_url: "https://docs.aws.amazon.com/eks/latest/userguide/view-cluster-insights.html",
};

/// Lists in the evidence are cut at this many entries ("and N more").
const SHOWN: usize = 10;
/// Client user agents shown per deprecated API.
const CLIENTS_SHOWN: usize = 5;

impl Rule for Ver013 {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let insights = cx.cluster.eks_insights().ok_or_else(|| {
            Missing::new(
                "EKS cluster insights (aws eks list-insights)",
                inputs::EKS_INSIGHTS,
            )
        })?;
        Ok(insights
            .into_iter()
            .filter_map(|insight| {
                let status = insight.status()?;
                let severity = severity_of(&status)?;
                Some(finding(cx, insight, &status, severity))
            })
            .collect())
    }
}

/// ERROR high, WARNING medium, UNKNOWN and unlisted statuses low; PASSING none.
pub(crate) fn severity_of(status: &str) -> Option<Severity> {
    match status {
        "PASSING" => None,
        "ERROR" => Some(Severity::High),
        "WARNING" => Some(Severity::Medium),
        _ => Some(Severity::Low),
    }
}

/// "upgrade insight", "configuration insight", … by category.
pub(crate) fn kind_of(insight: &EksInsight) -> String {
    match insight
        .category
        .as_deref()
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        Some("UPGRADE_READINESS") => "upgrade insight".to_string(),
        Some("MISCONFIGURATION") => "configuration insight".to_string(),
        Some("ROLLBACK_READINESS") => "rollback readiness insight".to_string(),
        Some(other) => format!("insight (category {other})"),
        None => "insight".to_string(),
    }
}

/// The insight's name, else its id.
pub(crate) fn label(insight: &EksInsight) -> &str {
    insight
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .unwrap_or(&insight.id)
}

fn status_text(status: &EksInsightStatus) -> String {
    let value = status.status.as_deref().unwrap_or("(no status)");
    match status.reason.as_deref().filter(|r| !r.is_empty()) {
        Some(reason) => format!("{value}: {reason}"),
        None => value.to_string(),
    }
}

fn more(total: usize, shown: usize) -> Option<String> {
    (total > shown).then(|| format!("and {} more", total - shown))
}

fn finding(cx: &Context, insight: &EksInsight, status: &str, severity: Severity) -> Finding {
    let cluster = cx.cluster_name();
    let facts = &cx.knowledge.cluster_insights;
    let name = label(insight);
    let kind = kind_of(insight);
    let version = insight
        .kubernetes_version
        .as_deref()
        .map(|v| format!(" for Kubernetes {v}"))
        .unwrap_or_default();
    let reason = insight
        .insight_status
        .as_ref()
        .and_then(|s| s.reason.as_deref())
        .filter(|r| !r.is_empty());
    let message = match reason {
        Some(r) => format!("EKS {kind} \"{name}\"{version} is {status}: {r}"),
        None => format!("EKS {kind} \"{name}\"{version} is {status}"),
    };
    let mut f = META.finding(ObjectRef::global("EksInsight", name), message);
    f.severity = severity;
    let source = if insight.described {
        "aws eks describe-insight"
    } else {
        "aws eks list-insights"
    };
    f = f.with_evidence(format!(
        "{source}: id {}, category {}, Kubernetes version {}",
        insight.id,
        insight.category.as_deref().unwrap_or("(none)"),
        insight.kubernetes_version.as_deref().unwrap_or("(none)")
    ));
    if let Some(s) = &insight.insight_status {
        f = f.with_evidence(format!("insightStatus {}", status_text(s)));
    }
    match (insight.last_refresh_time, insight.last_transition_time) {
        (Some(r), Some(t)) => {
            f = f.with_evidence(format!("last refreshed {r}; status unchanged since {t}"))
        }
        (Some(r), None) => f = f.with_evidence(format!("last refreshed {r}")),
        (None, Some(t)) => f = f.with_evidence(format!("status unchanged since {t}")),
        (None, None) => {}
    }
    if let Some(d) = insight
        .description
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        f = f.with_evidence(format!("description: {d}"));
    }
    let summary = insight.category_specific_summary.as_ref();
    let deprecations = summary
        .map(|s| s.deprecation_details.as_slice())
        .unwrap_or_default();
    for d in deprecations.iter().take(SHOWN) {
        let mut line = format!(
            "deprecated API {}",
            d.usage.as_deref().unwrap_or("(usage not given)")
        );
        if let Some(r) = d.replaced_with.as_deref() {
            line.push_str(&format!(" → {r}"));
        }
        let mut versions = Vec::new();
        if let Some(v) = d.stop_serving_version.as_deref() {
            versions.push(format!("no longer served from Kubernetes {v}"));
        }
        if let Some(v) = d.start_serving_replacement_version.as_deref() {
            versions.push(format!("replacement served since {v}"));
        }
        if !versions.is_empty() {
            line.push_str(&format!(" ({})", versions.join("; ")));
        }
        if d.client_stats.is_empty() {
            line.push_str("; no client called it in the last 30 days");
        }
        f = f.with_evidence(line);
        for c in d.client_stats.iter().take(CLIENTS_SHOWN) {
            let mut line = format!(
                "  called by {}",
                c.user_agent.as_deref().unwrap_or("(no user agent)")
            );
            if let Some(n) = c.number_of_requests_last30_days {
                line.push_str(&format!(": {n} requests in the last 30 days"));
            }
            if let Some(t) = c.last_request_time {
                line.push_str(&format!(", last on {t}"));
            }
            f = f.with_evidence(line);
        }
        if let Some(m) = more(d.client_stats.len(), CLIENTS_SHOWN) {
            f = f.with_evidence(format!("  {m} clients"));
        }
    }
    if let Some(m) = more(deprecations.len(), SHOWN) {
        f = f.with_evidence(format!("{m} deprecated APIs"));
    }
    let addons = summary
        .map(|s| s.addon_compatibility_details.as_slice())
        .unwrap_or_default();
    for a in addons.iter().take(SHOWN) {
        f = f.with_evidence(format!(
            "EKS add-on {}: compatible versions {}",
            a.name.as_deref().unwrap_or("(unnamed)"),
            if a.compatible_versions.is_empty() {
                "none listed".to_string()
            } else {
                a.compatible_versions.join(", ")
            }
        ));
    }
    if let Some(m) = more(addons.len(), SHOWN) {
        f = f.with_evidence(format!("{m} add-ons"));
    }
    for r in insight.resources.iter().take(SHOWN) {
        let what = r
            .kubernetes_resource_uri
            .as_deref()
            .or(r.arn.as_deref())
            .unwrap_or("(resource not named)");
        let line = match &r.insight_status {
            Some(s) => format!("resource {what}: {}", status_text(s)),
            None => format!("resource {what}"),
        };
        f = f.with_evidence(line);
    }
    if let Some(m) = more(insight.resources.len(), SHOWN) {
        f = f.with_evidence(format!("{m} resources"));
    }
    for (title, url) in &insight.additional_info {
        f = f.with_evidence(format!("see {title}: {url}"));
    }
    let category = insight.category.as_deref().map(str::to_ascii_uppercase);
    let upgrade = category.as_deref() == Some("UPGRADE_READINESS");
    let rollback = category.as_deref() == Some("ROLLBACK_READINESS");
    if upgrade && status == "ERROR" {
        f = f.with_evidence(format!(
            "while upgrade insights report blocking issues, aws eks update-cluster-version{} fails: \"{}\"",
            insight
                .kubernetes_version
                .as_deref()
                .map(|v| format!(" to {v}"))
                .unwrap_or_default(),
            facts.upgrade_blocked_message
        ));
    }
    if rollback && facts.rollback_blocking_statuses.iter().any(|s| s == status) {
        f = f.with_evidence(format!(
            "a rollback-readiness insight that is {} blocks a control-plane rollback",
            facts.rollback_blocking_statuses.join(" or ")
        ));
    }
    if !insight.described {
        f = f.with_evidence(format!(
            "only the list-insights row is in the snapshot: the recommendation, the deprecated API calls and the affected resources come with aws eks describe-insight --cluster-name {cluster} --id {}",
            insight.id
        ));
    }

    let mut fix = Vec::new();
    match insight.recommendation.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => fix.push(format!("AWS's recommendation: {r}")),
        None => fix.push(format!(
            "Read AWS's recommendation and the affected resources:\naws eks describe-insight --cluster-name {cluster} --id {}",
            insight.id
        )),
    }
    let called: Vec<&str> = deprecations
        .iter()
        .filter(|d| !d.client_stats.is_empty())
        .filter_map(|d| d.usage.as_deref())
        .collect();
    if !called.is_empty() {
        fix.push(format!(
            "Move every client named in the evidence off {} to the replacement API (update the controller, operator or manifest that calls it)",
            called.join(", ")
        ));
    }
    if upgrade && status == "ERROR" {
        fix.push(
            "Fix this before aws eks update-cluster-version rather than passing --force: the insight names what breaks on that version".to_string(),
        );
    }
    fix.push(format!(
        "EKS refreshes insights every {} hours; after the fix, refresh now and read the insight again:\naws eks start-insights-refresh --cluster-name {cluster}\naws eks describe-insight --cluster-name {cluster} --id {}",
        facts.refresh_hours, insight.id
    ));
    f.with_remediation(fix.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{fired, load_cluster, missing, options, run};
    use crate::rules::ver::testkit::knowledge;
    use serde_json::json;

    /// `describe-insight` in the API's shape (EKS API reference,
    /// DescribeInsight response syntax), with the values of the EKS user
    /// guide's example and a client that still calls the deprecated API.
    fn described(status: &str, clients: serde_json::Value) -> serde_json::Value {
        json!({"insight": {
            "id": "f6a11fe4-77f7-48c6-8326-9a13f022ecb3",
            "name": "Deprecated APIs removed in Kubernetes v1.29",
            "category": "UPGRADE_READINESS",
            "kubernetesVersion": "1.29",
            "lastRefreshTime": 1700157422.0,
            "lastTransitionTime": 1698774710.0,
            "description": "Checks for usage of deprecated APIs that are scheduled for removal in Kubernetes v1.29. Upgrading your cluster before migrating to the updated APIs supported by v1.29 could cause application impact.",
            "insightStatus": {"status": status, "reason": "Deprecated API usage detected within last 30 days and your cluster is on Kubernetes v1.28."},
            "recommendation": "Update manifests and API clients to use newer Kubernetes APIs if applicable before upgrading to Kubernetes v1.29.",
            "additionalInfo": {
                "EKS update cluster documentation": "https://docs.aws.amazon.com/eks/latest/userguide/update-cluster.html"
            },
            "resources": [],
            "categorySpecificSummary": {"deprecationDetails": [{
                "usage": "/apis/flowcontrol.apiserver.k8s.io/v1beta2/flowschemas",
                "replacedWith": "/apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas",
                "stopServingVersion": "1.29",
                "startServingReplacementVersion": "1.26",
                "clientStats": clients
            }]}
        }})
    }

    fn eks() -> serde_json::Value {
        json!({"cluster": {"name": "prod", "version": "1.28"}})
    }

    #[test]
    fn a_described_warning_names_the_deprecated_api_its_clients_and_the_recommendation() {
        let k = knowledge();
        let clients = json!([{
            "userAgent": "kube-state-metrics/v2.6.0 (linux/amd64) kube-state-metrics/",
            "numberOfRequestsLast30Days": 17280,
            "lastRequestTime": "2023-11-16T17:50:00+00:00"
        }]);
        let c = load_cluster(&[eks(), described("WARNING", clients)]);
        let f = fired(run(&Ver013, &c, &k, &options("2026-11-26")));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Medium);
        assert_eq!(
            f[0].object,
            ObjectRef::global("EksInsight", "Deprecated APIs removed in Kubernetes v1.29")
        );
        assert!(f[0].message.starts_with("EKS upgrade insight \"Deprecated APIs removed in Kubernetes v1.29\" for Kubernetes 1.29 is WARNING: Deprecated API usage detected"), "{}", f[0].message);
        let evidence = f[0].evidence.join("\n");
        assert!(evidence.contains("aws eks describe-insight: id f6a11fe4-77f7-48c6-8326-9a13f022ecb3, category UPGRADE_READINESS, Kubernetes version 1.29"), "{evidence}");
        assert!(
            evidence.contains("last refreshed 2023-11-16; status unchanged since 2023-10-31"),
            "{evidence}"
        );
        assert!(evidence.contains("deprecated API /apis/flowcontrol.apiserver.k8s.io/v1beta2/flowschemas → /apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas (no longer served from Kubernetes 1.29; replacement served since 1.26)"), "{evidence}");
        assert!(evidence.contains("  called by kube-state-metrics/v2.6.0 (linux/amd64) kube-state-metrics/: 17280 requests in the last 30 days, last on 2023-11-16"), "{evidence}");
        assert!(evidence.contains("see EKS update cluster documentation: https://docs.aws.amazon.com/eks/latest/userguide/update-cluster.html"));
        // WARNING does not claim the upgrade is refused.
        assert!(!evidence.contains("fails:"));
        assert!(f[0]
            .remediation
            .starts_with("AWS's recommendation: Update manifests and API clients"));
        assert!(f[0]
            .remediation
            .contains("off /apis/flowcontrol.apiserver.k8s.io/v1beta2/flowschemas"));
        assert!(f[0]
            .remediation
            .contains("aws eks start-insights-refresh --cluster-name prod"));
        assert!(f[0].remediation.contains("every 24 hours"));
    }

    #[test]
    fn error_is_high_and_says_the_upgrade_is_refused_unknown_is_low_passing_is_quiet() {
        let k = knowledge();
        let c = load_cluster(&[eks(), described("ERROR", json!([]))]);
        let f = fired(run(&Ver013, &c, &k, &options("2026-11-26")));
        assert_eq!(f[0].severity, Severity::High);
        assert!(f[0].evidence.iter().any(|e| e.contains("aws eks update-cluster-version to 1.29 fails: \"Amazon EKS detected upgrade readiness issues.")), "{:?}", f[0].evidence);
        assert!(f[0]
            .evidence
            .iter()
            .any(|e| e.ends_with("no client called it in the last 30 days")));
        assert!(f[0].remediation.contains("rather than passing --force"));
        let c = load_cluster(&[eks(), described("UNKNOWN", json!([]))]);
        let f = fired(run(&Ver013, &c, &k, &options("2026-11-26")));
        assert_eq!(f[0].severity, Severity::Low);
        assert!(!f[0].remediation.contains("--force"));
        let c = load_cluster(&[eks(), described("PASSING", json!([]))]);
        assert!(fired(run(&Ver013, &c, &k, &options("2026-11-26"))).is_empty());
    }

    #[test]
    fn describe_insight_wins_over_the_list_row_and_a_list_row_alone_says_how_to_get_more() {
        let k = knowledge();
        let list = json!({"insights": [{
            "id": "f6a11fe4-77f7-48c6-8326-9a13f022ecb3",
            "name": "Deprecated APIs removed in Kubernetes v1.29",
            "category": "UPGRADE_READINESS",
            "kubernetesVersion": "1.29",
            "insightStatus": {"status": "ERROR", "reason": "Deprecated API usage detected within last 30 days and your cluster is on Kubernetes v1.28."}
        }]});
        let c = load_cluster(&[eks(), list.clone()]);
        let f = fired(run(&Ver013, &c, &k, &options("2026-11-26")));
        assert_eq!(f.len(), 1);
        assert!(f[0].evidence[0].starts_with("aws eks list-insights: "));
        assert!(f[0].evidence.iter().any(|e| e.contains("come with aws eks describe-insight --cluster-name prod --id f6a11fe4-77f7-48c6-8326-9a13f022ecb3")));
        assert!(f[0].remediation.starts_with("Read AWS's recommendation"));
        // Either order: the described insight is the one reported, once.
        for inputs in [
            vec![eks(), list.clone(), described("ERROR", json!([]))],
            vec![eks(), described("ERROR", json!([])), list.clone()],
        ] {
            let c = load_cluster(&inputs);
            let f = fired(run(&Ver013, &c, &k, &options("2026-11-26")));
            assert_eq!(f.len(), 1);
            assert!(f[0].evidence[0].starts_with("aws eks describe-insight: "));
            assert!(f[0].remediation.starts_with("AWS's recommendation"));
        }
    }

    #[test]
    fn rollback_and_configuration_insights_are_named_for_what_they_are() {
        let k = knowledge();
        let list = json!({"insights": [
            {"id": "a", "name": "Add-on version compatibility", "category": "ROLLBACK_READINESS",
             "kubernetesVersion": "1.32", "insightStatus": {"status": "UNKNOWN"}},
            {"id": "b", "name": "Hybrid nodes remote pod network", "category": "MISCONFIGURATION",
             "insightStatus": {"status": "ERROR", "reason": "x"}},
            {"id": "c", "insightStatus": {"status": "PASSING"}},
            {"id": "d", "name": "no status"}
        ]});
        let c = load_cluster(&[eks(), list]);
        let f = fired(run(&Ver013, &c, &k, &options("2026-11-26")));
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].message, "EKS rollback readiness insight \"Add-on version compatibility\" for Kubernetes 1.32 is UNKNOWN");
        assert!(f[0].evidence.iter().any(|e| e == "a rollback-readiness insight that is ERROR or UNKNOWN blocks a control-plane rollback"));
        assert_eq!(
            f[1].message,
            "EKS configuration insight \"Hybrid nodes remote pod network\" is ERROR: x"
        );
        assert!(!f[1]
            .evidence
            .iter()
            .any(|e| e.contains("update-cluster-version")));
    }

    #[test]
    fn long_lists_are_cut() {
        let k = knowledge();
        let clients: Vec<_> = (0..7)
            .map(|i| json!({"userAgent": format!("client-{i}"), "numberOfRequestsLast30Days": i}))
            .collect();
        let c = load_cluster(&[eks(), described("ERROR", json!(clients))]);
        let f = fired(run(&Ver013, &c, &k, &options("2026-11-26")));
        let called = f[0]
            .evidence
            .iter()
            .filter(|e| e.starts_with("  called by"))
            .count();
        assert_eq!(called, CLIENTS_SHOWN);
        assert!(f[0].evidence.iter().any(|e| e == "  and 2 more clients"));
    }

    #[test]
    fn without_insights_it_is_not_evaluated() {
        let k = knowledge();
        let c = load_cluster(&[eks()]);
        let why = missing(run(&Ver013, &c, &k, &options("2026-11-26")));
        assert!(why.contains("list-insights"), "{why}");
        // An empty list is an answer: nothing to report.
        let c = load_cluster(&[eks(), json!({"insights": []})]);
        assert!(fired(run(&Ver013, &c, &k, &options("2026-11-26"))).is_empty());
    }
}
