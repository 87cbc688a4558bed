//! `serve --policy-report`: the reports of `check --format policyreport`
//! (a `ClusterPolicyReport` and a `PolicyReport` per namespace with
//! findings, all named `eks-cilium-doctor` and labelled
//! `app.kubernetes.io/managed-by=eks-cilium-doctor`) kept current in the
//! cluster. The only writes the doctor makes, with exactly the verbs of
//! [`WRITE_VERBS`]: `list` (by that label) to find the doctor's reports,
//! `create` for a missing one, and a JSON merge `patch` for one whose
//! content changed (the result list is replaced whole; an annotation or
//! top-level field the new report drops is removed). A namespace's report
//! whose findings are gone is emptied, as `kubectl apply` of a clean run
//! clears the cluster one. Nothing is written when nothing changed.

use std::collections::BTreeMap;
use std::sync::Arc;

use kube::api::{Api, ApiResource, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::Client;
use serde_json::{json, Map, Value};

use doctor_core::report::policyreport::{MANAGED_BY, NAME};

use crate::calls::{KubeWrite, POLICY_REPORT_KINDS};
use crate::deadline::{kube_call, short_kube, CallError, Calls, Timeouts};
use crate::Quiet;

/// What a sync wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    pub created: usize,
    pub patched: usize,
    pub unchanged: usize,
}

impl Written {
    pub fn writes(&self) -> usize {
        self.created + self.patched
    }
}

/// A write that failed: the call and one line saying why and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteError {
    pub call: String,
    pub message: String,
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.call, self.message)
    }
}

/// Keeps the doctor's PolicyReports equal to the last evaluation.
pub struct ReportWriter {
    client: Client,
    calls: Arc<Calls>,
    /// The reports last written in full (or found equal): a new evaluation
    /// with the same reports makes no call at all.
    last: Option<Vec<Value>>,
}

fn resource(kind: &KubeWrite) -> ApiResource {
    ApiResource {
        group: kind.group.to_string(),
        version: kind.version.to_string(),
        api_version: kind.api_version(),
        kind: kind.kind.to_string(),
        plural: kind.plural.to_string(),
    }
}

/// What a report says, for "did it change": labels, the doctor's
/// annotations, and every top-level field but the object's identity.
fn content(object: &Value) -> Value {
    let mut out = Map::new();
    if let Some(fields) = object.as_object() {
        for (key, value) in fields {
            if !["apiVersion", "kind", "metadata", "status"].contains(&key.as_str()) {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    let meta = &object["metadata"];
    out.insert("label".into(), meta["labels"][MANAGED_BY].clone());
    let ours: Map<String, Value> = meta["annotations"]
        .as_object()
        .map(|a| {
            a.iter()
                .filter(|(k, _)| k.starts_with("eks-cilium-doctor.io/"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    out.insert("annotations".into(), Value::Object(ours));
    Value::Object(out)
}

/// The merge patch that turns `current` into `desired`: `desired` whole,
/// and `null` for the doctor's annotations and the top-level fields that
/// `desired` no longer has.
fn merge_patch(current: &Value, desired: &Value) -> Value {
    let mut patch = desired.clone();
    if let (Some(now), Some(out)) = (current.as_object(), patch.as_object_mut()) {
        for key in now.keys() {
            if !["apiVersion", "kind", "metadata", "status"].contains(&key.as_str())
                && !out.contains_key(key)
            {
                out.insert(key.clone(), Value::Null);
            }
        }
    }
    if let Some(annotations) = current["metadata"]["annotations"].as_object() {
        for key in annotations
            .keys()
            .filter(|k| k.starts_with("eks-cilium-doctor.io/"))
        {
            if desired["metadata"]["annotations"].get(key).is_none() {
                patch["metadata"]["annotations"][key] = Value::Null;
            }
        }
    }
    patch
}

/// An emptied report: what a namespace whose findings are gone gets.
fn emptied(current: &Value) -> Value {
    let mut out = current.clone();
    out["results"] = json!([]);
    out["summary"] = json!({"pass": 0, "fail": 0, "warn": 0, "error": 0, "skip": 0});
    out
}

/// `namespace/name` or `name`.
fn shown(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    }
}

impl ReportWriter {
    pub fn new(client: Client, timeouts: Timeouts) -> ReportWriter {
        ReportWriter {
            client,
            calls: Calls::new(timeouts, Arc::new(Quiet)),
            last: None,
        }
    }

    /// Make the cluster's reports those of `rendered` (the output of
    /// `check --format policyreport`: a `List`). The first failing call
    /// stops this sync; the next evaluation tries again.
    pub async fn sync(&mut self, rendered: &str) -> Result<Written, WriteError> {
        let list: Value = serde_json::from_str(rendered).map_err(|e| WriteError {
            call: "render policyreport".into(),
            message: e.to_string(),
        })?;
        let desired: Vec<Value> = list["items"].as_array().cloned().unwrap_or_default();
        if self.last.as_ref() == Some(&desired) {
            return Ok(Written {
                unchanged: desired.len(),
                ..Written::default()
            });
        }
        let mut written = Written::default();
        for kind in POLICY_REPORT_KINDS {
            let wanted: Vec<&Value> = desired.iter().filter(|d| d["kind"] == kind.kind).collect();
            self.sync_kind(kind, &wanted, &mut written).await?;
        }
        self.last = Some(desired);
        Ok(written)
    }

    async fn sync_kind(
        &self,
        kind: &KubeWrite,
        wanted: &[&Value],
        written: &mut Written,
    ) -> Result<(), WriteError> {
        let all: Api<DynamicObject> = Api::all_with(self.client.clone(), &resource(kind));
        let call = format!("list {}.{}", kind.plural, kind.group);
        let params = ListParams::default().labels(&format!("{MANAGED_BY}={NAME}"));
        let found = kube_call(&self.calls, &call, || all.list(&params))
            .await
            .map_err(|e| failed(&call, kind, "list", e))?;
        // The doctor's reports now, by namespace (a server may ignore the
        // selector: the name and label are checked here too).
        let mut current: BTreeMap<Option<String>, Value> = BTreeMap::new();
        for object in found.items {
            let value = serde_json::to_value(&object).unwrap_or(Value::Null);
            if value["metadata"]["name"] == NAME && value["metadata"]["labels"][MANAGED_BY] == NAME
            {
                current.insert(object.metadata.namespace.clone(), value);
            }
        }
        for desired in wanted {
            let namespace = desired["metadata"]["namespace"]
                .as_str()
                .map(str::to_string);
            match current.remove(&namespace) {
                Some(now) if content(&now) == content(desired) => written.unchanged += 1,
                Some(now) => {
                    self.patch(kind, namespace.as_deref(), &merge_patch(&now, desired))
                        .await?;
                    written.patched += 1;
                }
                None => {
                    self.create(kind, namespace.as_deref(), desired).await?;
                    written.created += 1;
                }
            }
        }
        // The doctor's reports in namespaces without findings now.
        for (namespace, now) in current {
            if now["results"].as_array().is_some_and(|r| r.is_empty()) {
                written.unchanged += 1;
                continue;
            }
            let cleared = emptied(&now);
            self.patch(kind, namespace.as_deref(), &merge_patch(&now, &cleared))
                .await?;
            written.patched += 1;
        }
        Ok(())
    }

    fn api(&self, kind: &KubeWrite, namespace: Option<&str>) -> Api<DynamicObject> {
        match namespace {
            Some(ns) if kind.namespaced => {
                Api::namespaced_with(self.client.clone(), ns, &resource(kind))
            }
            _ => Api::all_with(self.client.clone(), &resource(kind)),
        }
    }

    async fn create(
        &self,
        kind: &KubeWrite,
        namespace: Option<&str>,
        desired: &Value,
    ) -> Result<(), WriteError> {
        let call = format!(
            "create {}.{} ({})",
            kind.plural,
            kind.group,
            shown(namespace, NAME)
        );
        let object: DynamicObject =
            serde_json::from_value(desired.clone()).map_err(|e| WriteError {
                call: call.clone(),
                message: e.to_string(),
            })?;
        let api = self.api(kind, namespace);
        let params = PostParams::default();
        kube_call(&self.calls, &call, || api.create(&params, &object))
            .await
            .map_err(|e| failed(&call, kind, "create", e))?;
        Ok(())
    }

    async fn patch(
        &self,
        kind: &KubeWrite,
        namespace: Option<&str>,
        patch: &Value,
    ) -> Result<(), WriteError> {
        let call = format!(
            "patch {}.{} ({})",
            kind.plural,
            kind.group,
            shown(namespace, NAME)
        );
        let api = self.api(kind, namespace);
        let params = PatchParams::default();
        let patch = Patch::Merge(patch);
        kube_call(&self.calls, &call, || api.patch(NAME, &params, &patch))
            .await
            .map_err(|e| failed(&call, kind, "patch", e))?;
        Ok(())
    }
}

/// One line: what the API said and what to do about it.
fn failed(call: &str, kind: &KubeWrite, verb: &str, error: CallError) -> WriteError {
    let message = match &error {
        CallError::Timeout(after) => format!(
            "no answer within {} (--request-timeout); the report is written again after \
             the next evaluation",
            crate::deadline::seconds(*after)
        ),
        CallError::Kube(kube::Error::Api(status), _) if status.code == 403 => format!(
            "{}; grant {} (the chart's policyReport.enabled, or deploy/rbac-policyreport.yaml)",
            short_kube(&kube::Error::Api(status.clone())),
            kind.permission(verb)
        ),
        CallError::Kube(kube::Error::Api(status), _) if status.code == 404 => format!(
            "{}; the {} CRD ({}) is not installed: install the wgpolicyk8s.io CRDs \
             (Kyverno and Policy Reporter ship them) or turn --policy-report off",
            short_kube(&kube::Error::Api(status.clone())),
            kind.kind,
            kind.api_version()
        ),
        CallError::Kube(e, _) => short_kube(e),
    };
    WriteError {
        call: call.to_string(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_removes_what_the_new_report_drops() {
        let now = json!({
            "kind": "PolicyReport",
            "metadata": {"name": NAME, "annotations": {
                "eks-cilium-doctor.io/cluster": "a", "other.io/x": "kept"}},
            "scope": {"kind": "Namespace"},
            "results": [{"rule": "CNI001"}],
            "summary": {"fail": 1},
        });
        let desired = json!({
            "kind": "PolicyReport",
            "metadata": {"name": NAME, "annotations": {}},
            "results": [],
            "summary": {"fail": 0},
        });
        let patch = merge_patch(&now, &desired);
        assert_eq!(patch["scope"], Value::Null);
        assert!(patch.as_object().unwrap().contains_key("scope"));
        assert_eq!(
            patch["metadata"]["annotations"],
            json!({"eks-cilium-doctor.io/cluster": null})
        );
        assert_eq!(patch["results"], json!([]));
        assert_ne!(content(&now), content(&desired));
        // Other tools' annotations and the server's metadata do not count.
        let mut same = now.clone();
        same["metadata"]["annotations"]["other.io/x"] = json!("changed");
        same["metadata"]["resourceVersion"] = json!("42");
        assert_eq!(content(&now), content(&same));
    }
}
