//! The Kubernetes Policy WG's PolicyReport (`wgpolicyk8s.io/v1alpha2`, the
//! CRDs Kyverno and Policy Reporter install), so Policy Reporter's UI,
//! metrics and notifications show the doctor's findings next to other
//! engines'.
//!
//! One `v1` `List` that `kubectl apply -f` takes as it is: first a
//! `ClusterPolicyReport` named `eks-cilium-doctor` (always, so applying a
//! clean run clears it) for findings about cluster-scoped and AWS objects
//! and the rules that were not evaluated, then one `PolicyReport` of the
//! same name in each namespace that has findings. Each result:
//!
//! * `policy` `CODE name`, `rule` the code, `category` the rule's area;
//! * `result` `fail` for critical and high, `warn` for medium, low and info
//!   (SARIF's error/warning/note split), `skip` for a suppressed finding
//!   (`properties.suppressed` = the reason) or a rule not evaluated
//!   (`properties.not_evaluated` = the missing input);
//! * `severity` the finding's (the CRD's enum is the doctor's five);
//! * `message`, `source: eks-cilium-doctor`, `resources` the finding's
//!   object, `timestamp` the `--as-of` day at 00:00 UTC (reports are
//!   reproducible; the rules judged the cluster as of that day), and
//!   `properties` evidence, fix and docs.
//!
//! `summary` counts the results; nothing passes (pass entries are not
//! written).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::RenderOptions;
use crate::findings::{Finding, ObjectRef, Report, Severity};
use crate::rules::RuleMeta;
use crate::version::Date;

pub const API_VERSION: &str = "wgpolicyk8s.io/v1alpha2";
/// `metadata.name` of every report, and `source` of every result.
pub const NAME: &str = "eks-cilium-doctor";
/// The label that selects the doctor's reports (`kubectl delete
/// policyreport -A -l app.kubernetes.io/managed-by=eks-cilium-doctor`).
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";

fn result_of(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "fail",
        Severity::Medium | Severity::Low | Severity::Info => "warn",
    }
}

/// The API group/version of the Kubernetes kinds findings name; the
/// doctor's AWS and synthetic objects (IAMRole, Nodegroup, Cluster, …)
/// have none.
fn api_version(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "Node" | "Namespace" | "Pod" | "Service" | "ServiceAccount" | "ConfigMap" => "v1",
        "DaemonSet" | "Deployment" | "StatefulSet" | "ReplicaSet" => "apps/v1",
        "ClusterRole" | "ClusterRoleBinding" | "Role" | "RoleBinding" => {
            "rbac.authorization.k8s.io/v1"
        }
        "CiliumNode"
        | "CiliumEndpoint"
        | "CiliumNetworkPolicy"
        | "CiliumClusterwideNetworkPolicy" => "cilium.io/v2",
        "SecurityGroupPolicy" => "vpcresources.k8s.aws/v1beta1",
        "NodePool" => "karpenter.sh/v1",
        "NetworkPolicy" => "networking.k8s.io/v1",
        "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration" => {
            "admissionregistration.k8s.io/v1"
        }
        "CustomResourceDefinition" => "apiextensions.k8s.io/v1",
        _ => return None,
    })
}

fn resource(object: &ObjectRef) -> Value {
    let mut r = Map::new();
    if let Some(v) = api_version(&object.kind) {
        r.insert("apiVersion".into(), json!(v));
    }
    r.insert("kind".into(), json!(object.kind));
    r.insert("name".into(), json!(object.name));
    if let Some(ns) = &object.namespace {
        r.insert("namespace".into(), json!(ns));
    }
    Value::Object(r)
}

/// What every result of one report shares.
struct Common {
    timestamp: Option<Value>,
}

impl Common {
    fn result(
        &self,
        rule: &RuleMeta,
        severity: Severity,
        outcome: &str,
        message: &str,
    ) -> Map<String, Value> {
        let mut r = Map::new();
        r.insert(
            "policy".into(),
            json!(format!("{} {}", rule.code, rule.name)),
        );
        r.insert("rule".into(), json!(rule.code));
        r.insert("category".into(), json!(rule.area.title()));
        r.insert("result".into(), json!(outcome));
        r.insert("severity".into(), json!(severity.as_str()));
        r.insert("message".into(), json!(message));
        r.insert("source".into(), json!(NAME));
        if let Some(t) = &self.timestamp {
            r.insert("timestamp".into(), t.clone());
        }
        r
    }

    fn finding(&self, f: &Finding) -> Value {
        let mut r = self.result(f.rule, f.severity, result_of(f.severity), &f.message);
        r.insert("resources".into(), json!([resource(&f.object)]));
        let mut properties = Map::new();
        if !f.evidence.is_empty() {
            properties.insert("evidence".into(), json!(f.evidence.join("\n")));
        }
        if !f.remediation.is_empty() {
            properties.insert("fix".into(), json!(f.remediation));
        }
        if !f.docs.is_empty() {
            properties.insert("docs".into(), json!(f.docs));
        }
        if !properties.is_empty() {
            r.insert("properties".into(), Value::Object(properties));
        }
        Value::Object(r)
    }
}

/// `summary` of a report's results.
fn summary(results: &[Value]) -> Value {
    let count = |outcome: &str| results.iter().filter(|r| r["result"] == outcome).count();
    json!({
        "pass": 0,
        "fail": count("fail"),
        "warn": count("warn"),
        "error": 0,
        "skip": count("skip"),
    })
}

fn report_object(
    kind: &str,
    namespace: Option<&str>,
    annotations: &Map<String, Value>,
    results: Vec<Value>,
) -> Value {
    let mut metadata = Map::new();
    metadata.insert("name".into(), json!(NAME));
    if let Some(ns) = namespace {
        metadata.insert("namespace".into(), json!(ns));
    }
    metadata.insert("labels".into(), json!({ MANAGED_BY: NAME }));
    if !annotations.is_empty() {
        metadata.insert("annotations".into(), Value::Object(annotations.clone()));
    }
    json!({
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": metadata,
        "summary": summary(&results),
        "results": results,
    })
}

pub(super) fn render<'r>(report: &'r Report, _opts: &RenderOptions) -> String {
    let timestamp = report
        .as_of
        .parse::<Date>()
        .ok()
        .map(|d| json!({"seconds": d.days_since_epoch() * 86_400, "nanos": 0}));
    let common = Common { timestamp };
    let mut cluster = Vec::new();
    let mut namespaced: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    let mut place = |object: &'r ObjectRef, result: Value| match object.namespace.as_deref() {
        Some(ns) => namespaced.entry(ns).or_default().push(result),
        None => cluster.push(result),
    };
    for f in &report.findings {
        place(&f.object, common.finding(f));
    }
    for s in &report.suppressed {
        let mut r = common.result(s.rule, s.severity, "skip", &s.message);
        r.insert("resources".into(), json!([resource(&s.object)]));
        r.insert("properties".into(), json!({"suppressed": s.reason}));
        place(&s.object, Value::Object(r));
    }
    for n in &report.not_evaluated {
        let mut properties = Map::new();
        properties.insert("not_evaluated".into(), json!(n.missing));
        if let Some(how) = &n.how_to_provide {
            properties.insert("provide".into(), json!(how));
        }
        let message = format!("not evaluated: missing {}", n.missing);
        let mut r = common.result(n.rule, n.rule.severity, "skip", &message);
        r.insert("properties".into(), Value::Object(properties));
        cluster.push(Value::Object(r));
    }

    let mut annotations = Map::new();
    if let Some(name) = &report.cluster.name {
        annotations.insert("eks-cilium-doctor.io/cluster".into(), json!(name));
    }
    if !report.as_of.is_empty() {
        annotations.insert("eks-cilium-doctor.io/as-of".into(), json!(report.as_of));
    }
    if !report.knowledge.date.is_empty() {
        annotations.insert(
            "eks-cilium-doctor.io/knowledge-date".into(),
            json!(report.knowledge.date),
        );
    }
    annotations.insert(
        "eks-cilium-doctor.io/version".into(),
        json!(report.tool.version),
    );

    let mut items = vec![report_object(
        "ClusterPolicyReport",
        None,
        &annotations,
        cluster,
    )];
    for (ns, results) in namespaced {
        items.push(report_object(
            "PolicyReport",
            Some(ns),
            &annotations,
            results,
        ));
    }
    let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
    let mut out = serde_json::to_string_pretty(&list).expect("a JSON value always serialises");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_follow_severity() {
        assert_eq!(result_of(Severity::Critical), "fail");
        assert_eq!(result_of(Severity::High), "fail");
        assert_eq!(result_of(Severity::Medium), "warn");
        assert_eq!(result_of(Severity::Low), "warn");
        assert_eq!(result_of(Severity::Info), "warn");
    }

    #[test]
    fn resources_name_their_api_group_when_kubernetes_has_one() {
        let ds = resource(&ObjectRef::new(
            "DaemonSet",
            Some("kube-system"),
            "aws-node",
        ));
        assert_eq!(
            ds,
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "aws-node", "namespace": "kube-system"})
        );
        let role = resource(&ObjectRef::global("IAMRole", "node"));
        assert_eq!(role, json!({"kind": "IAMRole", "name": "node"}));
    }
}
