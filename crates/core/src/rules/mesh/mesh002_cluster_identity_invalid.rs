//! MESH002: cluster mesh is enabled but the cluster's identity (id, name)
//! is unset, default, or in a range the chart refuses in ENI mode.

use crate::findings::{ObjectRef, Severity};
use crate::model::cilium::helm_get;
use crate::model::Cluster;
use crate::rules::cni::shared;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};
use crate::version::Minor;

pub struct ClusterIdentityInvalid;

/// The chart's cluster-id guard (/work/shared/data/cilium/eni_iam.json
/// `chart_behaviour_eni.cluster_id_guard`, cilium/cilium#21330): from the
/// 1.16 chart, ids 128-255 (and 384-511 with maxConnectedClusters=511) are
/// refused with ENI IPAM or aws-cni chaining unless
/// `allow-unsafe-policy-skb-usage` is true.
const GUARD_FROM: Minor = Minor::new(1, 16);
const UNSAFE_OVERRIDE: &str = "allow-unsafe-policy-skb-usage";
/// Agent defaults when cilium-config does not set them (values.yaml
/// `cluster.name: default`, `cluster.id: 0`, `clustermesh.maxConnectedClusters: 255`).
const DEFAULT_NAME: &str = "default";
/// The known issue of the ENI-mode range (`data/known-issues.json`).
const KNOWN_ISSUE: &str = "KI018";

static META: RuleMeta = RuleMeta {
    code: "MESH002",
    name: "cluster-identity-invalid",
    severity: Severity::High,
    area: Area::Mesh,
    summary: "cluster-id is in the range that drops policy traffic in ENI mode or aws-cni chaining, or cluster mesh is enabled with cluster-id 0/unset or cluster-name default",
    what_it_checks: "When cluster mesh is enabled (a clustermesh-apiserver Deployment or \
Service exists, cilium-config sets `clustermesh-config`, or the Helm values set \
`clustermesh.useAPIServer` or `clustermesh.config.enabled`), cilium-config's `cluster-id` must \
be set and non-zero, `cluster-name` must not be `default`, and with ENI IPAM or aws-cni chaining \
the id must lie outside 128-255 (and 384-511 when `max-connected-clusters` is 511), the range \
the chart refuses from 1.16 (cilium/cilium#21330). That range is checked with cluster mesh off \
too: the bug drops policy-matched traffic in a single cluster.",
    why_it_matters: "Identities and the datapath encode the cluster id: two clusters with id 0 \
or the same name cannot be told apart, so remote endpoints, global services and policies that \
select other clusters break. In ENI mode and aws-cni chaining, ids with bit 7 set collide with \
other uses of the packet mark and traffic matched by network policies is dropped; the 1.16+ \
chart refuses to render such a configuration, so a `helm upgrade` fails.",
    how_to_fix: "Give every cluster of the mesh a unique name and a unique id (1-127 is safe in \
ENI mode) with `cluster.name` and `cluster.id`. Changing them on a running cluster changes the \
identities of all its endpoints: roll out the agents and then restart the workloads in a \
maintenance window, and re-run `cilium clustermesh connect` for the peers.",
    known_limits: "The rule sees one cluster; duplicated ids or names across clusters are \
MESH003. Without cluster mesh, id 0 and the name `default` are fine and not reported. An `allow-unsafe-policy-skb-usage: \"true\"` override silences the ENI range check, \
as it does for the chart.",
    docs_url: "https://docs.cilium.io/en/stable/network/clustermesh/clustermesh/",
};

/// Why cluster mesh counts as enabled, if it does.
fn mesh_enabled(c: &Cluster) -> Option<String> {
    let deployments = c.deployments.as_deref().unwrap_or_default();
    if let Some(d) = deployments.iter().find(|d| {
        d.kind == "Deployment"
            && (d.metadata.name == "clustermesh-apiserver"
                || d.metadata.labels.get("k8s-app").map(String::as_str)
                    == Some("clustermesh-apiserver"))
    }) {
        return Some(format!(
            "Deployment {}/{} exists",
            d.metadata.namespace(),
            d.metadata.name
        ));
    }
    if let Some(s) = c
        .services
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|s| s.metadata.name == "clustermesh-apiserver")
    {
        return Some(format!(
            "Service {}/{} exists",
            s.metadata.namespace(),
            s.metadata.name
        ));
    }
    if let Some(dir) = c.cilium.get("clustermesh-config").filter(|d| !d.is_empty()) {
        return Some(format!("cilium-config clustermesh-config: {dir}"));
    }
    let helm = c.helm_values.as_ref()?;
    for key in ["clustermesh.useAPIServer", "clustermesh.config.enabled"] {
        if helm_get(helm, key).and_then(serde_json::Value::as_bool) == Some(true) {
            return Some(format!("Helm values {key}: true"));
        }
    }
    None
}

fn helm_text(c: &Cluster, path: &str) -> Option<String> {
    let v = helm_get(c.helm_values.as_ref()?, path)?;
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A setting from cilium-config, else the Helm values, with where it came from.
fn setting(c: &Cluster, key: &str, helm_path: &str) -> Option<(String, String)> {
    c.cilium
        .get(key)
        .map(|v| (v.to_string(), format!("cilium-config {key}")))
        .or_else(|| helm_text(c, helm_path).map(|v| (v, format!("Helm values {helm_path}"))))
}

/// The chart's constraint on `cluster.name` (values.yaml comment): at most
/// 32 characters, lower-case alphanumerics and dashes, alphanumeric at both ends.
fn valid_cluster_name(n: &str) -> bool {
    let ok_end = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    !n.is_empty()
        && n.len() <= 32
        && n.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && ok_end(n.chars().next())
        && ok_end(n.chars().last())
}

impl Rule for ClusterIdentityInvalid {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        if !shared::cilium_config_known(c)? {
            return Ok(vec![]);
        }
        // Outside cluster mesh only the ENI-mode range matters: it drops
        // policy-matched traffic in a single cluster too (KI018).
        let mesh = mesh_enabled(c);
        let (id_text, id_source) = setting(c, "cluster-id", "cluster.id")
            .unwrap_or_else(|| ("0".to_string(), "cluster-id unset (default 0)".to_string()));
        let (name, name_source) = setting(c, "cluster-name", "cluster.name").unwrap_or_else(|| {
            (
                DEFAULT_NAME.to_string(),
                "cluster-name unset (default \"default\")".to_string(),
            )
        });
        let max_connected: u32 = setting(
            c,
            "max-connected-clusters",
            "clustermesh.maxConnectedClusters",
        )
        .and_then(|(v, _)| v.parse().ok())
        .unwrap_or(255);
        let id: Option<u32> = id_text.trim().parse().ok();

        let mut problems = Vec::new();
        if mesh.is_some() {
            match id {
                Some(0) => problems.push("cluster-id is 0 (unset)".to_string()),
                None => problems.push(format!("cluster-id {id_text:?} is not a number")),
                Some(_) => {}
            }
            if name == DEFAULT_NAME {
                problems.push("cluster-name is \"default\"".to_string());
            }
        }
        let eni_like = c.cilium.ipam_is_eni() || c.cilium.chains_aws_cni();
        let unsafe_override = c.cilium.get(UNSAFE_OVERRIDE) == Some("true");
        let mut guarded = false;
        if let Some(id) = id {
            let refused =
                (128..=255).contains(&id) || (max_connected == 511 && (384..=511).contains(&id));
            if eni_like && refused && !unsafe_override {
                guarded = true;
                let mode = if c.cilium.ipam_is_eni() {
                    "ENI IPAM"
                } else {
                    "aws-cni chaining"
                };
                let chart = match c.cilium.version.map(|v| v.minor()) {
                    Some(m) if m >= GUARD_FROM => format!(
                        "the {m} chart refuses it (helm upgrade fails)"
                    ),
                    Some(m) => format!(
                        "Cilium {m} accepts it but is affected by the policy-drop bug; the chart refuses it from {GUARD_FROM}"
                    ),
                    None => format!("the chart refuses it from {GUARD_FROM}"),
                };
                problems.push(format!(
                    "cluster-id {id} is in the range refused with {mode} (128-255{}): {chart}",
                    if max_connected == 511 {
                        ", 384-511"
                    } else {
                        ""
                    }
                ));
            }
        }
        if problems.is_empty() {
            return Ok(vec![]);
        }
        let object = if c.cilium.config.is_some() {
            ObjectRef::new(
                "ConfigMap",
                Some(shared::cilium_namespace(c)),
                "cilium-config",
            )
        } else {
            ObjectRef::global("HelmRelease", "cilium")
        };
        let (message, mesh_line) = match &mesh {
            Some(why) => (
                format!("Cluster mesh is enabled but {}", problems.join("; ")),
                format!("cluster mesh enabled: {why}"),
            ),
            None => (
                format!(
                    "{}: policy-matched traffic is dropped even in a single cluster",
                    problems.join("; ")
                ),
                "cluster mesh: not enabled (the id range matters without it too)".to_string(),
            ),
        };
        let mut finding = META
            .finding(object, message)
            .with_evidence(mesh_line)
            .with_evidence(format!("cluster-id: {id_text} ({id_source})"))
            .with_evidence(format!("cluster-name: {name} ({name_source})"))
            .with_evidence(format!(
                "IPAM {}, cni-chaining-mode {}, max-connected-clusters {max_connected}",
                c.cilium.ipam_mode.as_deref().unwrap_or("unknown"),
                c.cilium.chaining_mode.as_deref().unwrap_or("(unset)")
            ));
        if guarded {
            finding = finding.with_evidence(format!("{UNSAFE_OVERRIDE}: not set"));
            if let Some(issue) = cx.knowledge.cited_issue(KNOWN_ISSUE) {
                finding =
                    finding.with_evidence(format!("{}: {}", issue.reference(), issue.symptom));
            }
        }
        let mut sets = Vec::new();
        if mesh.is_some() && name == DEFAULT_NAME {
            let suggested = c
                .eks
                .as_ref()
                .map(|e| e.name.to_ascii_lowercase())
                .filter(|n| n != DEFAULT_NAME && valid_cluster_name(n))
                .unwrap_or_else(|| "'<unique-name>'".to_string());
            sets.push(format!("--set cluster.name={suggested}"));
        }
        let id_ok = matches!(id, Some(n) if n != 0) && !guarded;
        if !id_ok {
            sets.push("--set 'cluster.id=<1-127, unique in the mesh>'".to_string());
        }
        let set_refs: Vec<&str> = sets.iter().map(String::as_str).collect();
        let fix = format!(
            "# Pick values unique across the mesh (ids 1-127 avoid the ENI-mode range):\n{}\n\
# New identities take effect after the agents and operator restart; restart workloads in a maintenance window:\n\
kubectl -n {ns} rollout restart daemonset/cilium deployment/cilium-operator\n\
# Re-connect the peers afterwards, e.g. cilium clustermesh connect --destination-context PEER_CONTEXT",
            shared::helm_upgrade(c, &set_refs),
            ns = shared::cilium_namespace(c),
        );
        Ok(vec![finding.with_remediation(fix)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{check, load_cluster, load_cluster_with_helm};
    use serde_json::json;

    fn docs(data: serde_json::Value, apiserver: bool) -> Vec<serde_json::Value> {
        let mut d = vec![
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
                "metadata": {"name": "cilium", "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
                "spec": {"template": {"spec": {"containers": [
                    {"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.16.19"}]}}}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "cilium-config", "namespace": "kube-system"}, "data": data}),
        ];
        if apiserver {
            d.push(json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "clustermesh-apiserver", "namespace": "kube-system",
                    "labels": {"k8s-app": "clustermesh-apiserver"}}}));
        }
        d
    }

    #[test]
    fn defaults_fire_when_mesh_is_on() {
        let f = check(
            &ClusterIdentityInvalid,
            &load_cluster(&docs(json!({"ipam": "eni"}), true)),
        )
        .unwrap();
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("cluster-id is 0"));
        assert!(f[0].message.contains("cluster-name is \"default\""));
    }

    #[test]
    fn eni_range_boundaries() {
        let fires = |id: &str, max: &str| {
            let data = json!({"ipam": "eni", "cluster-id": id, "cluster-name": "prod-eu",
                "max-connected-clusters": max});
            !check(&ClusterIdentityInvalid, &load_cluster(&docs(data, true)))
                .unwrap()
                .is_empty()
        };
        assert!(!fires("127", "255"));
        assert!(fires("128", "255"));
        assert!(fires("255", "255"));
        assert!(!fires("383", "511"));
        assert!(fires("384", "511"));
        assert!(fires("511", "511"));
        // Not in ENI mode: any id is fine.
        let data = json!({"ipam": "cluster-pool", "cluster-id": "200", "cluster-name": "prod-eu"});
        assert!(
            check(&ClusterIdentityInvalid, &load_cluster(&docs(data, true)))
                .unwrap()
                .is_empty()
        );
        // The override silences the range check.
        let data = json!({"ipam": "eni", "cluster-id": "200", "cluster-name": "prod-eu",
            "allow-unsafe-policy-skb-usage": "true"});
        assert!(
            check(&ClusterIdentityInvalid, &load_cluster(&docs(data, true)))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn mesh_off_or_unknown() {
        assert!(check(
            &ClusterIdentityInvalid,
            &load_cluster(&docs(json!({"ipam": "eni"}), false))
        )
        .unwrap()
        .is_empty());
        // UP31 (cilium#21330): a single cluster in aws-cni chaining with id 200.
        let data = json!({"cni-chaining-mode": "aws-cni", "cluster-id": "200"});
        let f = check(&ClusterIdentityInvalid, &load_cluster(&docs(data, false))).unwrap();
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.contains("even in a single cluster"),
            "{}",
            f[0].message
        );
        assert!(!f[0].message.contains("default"));
        assert!(f[0].evidence.iter().any(|e| e.contains("KI018")));
        let data = json!({"cni-chaining-mode": "aws-cni", "cluster-id": "100"});
        assert!(
            check(&ClusterIdentityInvalid, &load_cluster(&docs(data, false)))
                .unwrap()
                .is_empty()
        );
        let helm = load_cluster_with_helm(
            &docs(json!({"ipam": "eni"}), false),
            json!({"clustermesh": {"useAPIServer": true}}),
        );
        assert_eq!(check(&ClusterIdentityInvalid, &helm).unwrap().len(), 1);
        let nothing = load_cluster(&[
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}),
        ]);
        assert!(check(&ClusterIdentityInvalid, &nothing).is_err());
    }
}
