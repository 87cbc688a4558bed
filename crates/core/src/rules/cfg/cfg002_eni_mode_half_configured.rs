//! CFG002: ENI IPAM without the settings the chart writes with
//! `eni.enabled`.

use crate::findings::{ObjectRef, Severity};
use crate::model::cilium::helm_get;
use crate::rules::cni::shared;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct EniModeHalfConfigured;

/// What the chart writes into cilium-config when `eni.enabled=true`
/// (/work/shared/data/cilium/eni_iam.json
/// `chart_behaviour_eni.configmap_when_eni_enabled`; also the agent options
/// of eks.json `eni_datapath_config.agent_options`).
const ENI_KEYS: &[&str] = &["enable-endpoint-routes", "auto-create-cilium-node-resource"];

static META: RuleMeta = RuleMeta {
    code: "CFG002",
    name: "eni-mode-half-configured",
    severity: Severity::High,
    area: Area::Cfg,
    summary: "IPAM is eni but the settings the chart writes with eni.enabled are missing",
    what_it_checks: "With `ipam: eni` in cilium-config, the chart's `eni.enabled=true` also \
writes `enable-endpoint-routes: \"true\"` and `auto-create-cilium-node-resource: \"true\"`; the \
rule fires when either is missing or not \"true\". It also fires when the Helm values set \
`ipam.mode: eni` without `eni.enabled: true`.",
    why_it_matters: "`ipam.mode=eni` alone switches the agents to ENI IPAM but leaves out the \
rest of ENI mode: no per-endpoint routes (the ENI datapath routes pod traffic out of the ENI the \
address belongs to), no ENI settings for the operator (tags, subnet filters, prefix \
delegation), and the chart picks the generic operator image instead of the AWS one (see CFG005). \
Pods then get addresses but traffic to and from them is misrouted or dropped. The 1.20 chart \
refuses `ipam.mode=eni` without `eni.enabled=true`; older charts install this half-configured \
ENI mode silently.",
    how_to_fix: "Set `eni.enabled=true` (keeping `ipam.mode=eni`) in the Helm values and upgrade \
the release; then restart the operator and the agents so they read the new config.",
    known_limits: "Installs that do not use the Helm chart (hand-written cilium-config) may set \
equivalent options differently; the rule asks for the chart's keys.",
    docs_url: "https://docs.cilium.io/en/stable/network/concepts/ipam/eni/",
};

impl Rule for EniModeHalfConfigured {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        if !shared::cilium_config_known(c)? {
            return Ok(vec![]);
        }
        let mut problems = Vec::new();
        let mut evidence = Vec::new();
        if c.cilium.get("ipam") == Some("eni") {
            evidence.push("cilium-config ipam: eni".to_string());
            for key in ENI_KEYS {
                match c.cilium.get(key) {
                    Some("true") => evidence.push(format!("cilium-config {key}: \"true\"")),
                    Some(other) => {
                        evidence.push(format!("cilium-config {key}: \"{other}\""));
                        problems.push(format!("{key} is \"{other}\""));
                    }
                    None => {
                        evidence.push(format!("cilium-config {key}: absent"));
                        problems.push(format!("{key} is missing"));
                    }
                }
            }
        }
        if let Some(helm) = &c.helm_values {
            let mode = helm_get(helm, "ipam.mode").and_then(serde_json::Value::as_str);
            let enabled = helm_get(helm, "eni.enabled");
            let enabled_true = enabled.and_then(serde_json::Value::as_bool) == Some(true)
                || enabled.and_then(serde_json::Value::as_str) == Some("true");
            if mode == Some("eni") && !enabled_true {
                evidence.push(format!(
                    "Helm values ipam.mode: eni, eni.enabled: {}",
                    enabled.map_or("unset".to_string(), |v| v.to_string())
                ));
                problems.push("the Helm values set ipam.mode=eni without eni.enabled=true".into());
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
        let mut finding = META.finding(
            object,
            format!(
                "ENI IPAM is half configured (eni.enabled was not set): {}",
                problems.join("; ")
            ),
        );
        for line in evidence {
            finding = finding.with_evidence(line);
        }
        if let Some(image) = &c.cilium.operator_image {
            finding = finding.with_evidence(format!("operator image: {image}"));
        }
        let fix = format!(
            "{}\nkubectl -n {ns} rollout restart deployment/cilium-operator daemonset/cilium\n\
kubectl -n {ns} get configmap cilium-config -o jsonpath='{{.data.enable-endpoint-routes}} {{.data.auto-create-cilium-node-resource}}'",
            shared::helm_upgrade(c, &["--set eni.enabled=true", "--set ipam.mode=eni"]),
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

    fn config(data: serde_json::Value) -> Vec<serde_json::Value> {
        vec![json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cilium-config", "namespace": "kube-system"}, "data": data})]
    }

    #[test]
    fn configmap_keys() {
        let full = json!({"ipam": "eni", "enable-endpoint-routes": "true", "auto-create-cilium-node-resource": "true"});
        assert!(check(&EniModeHalfConfigured, &load_cluster(&config(full)))
            .unwrap()
            .is_empty());
        let half = check(
            &EniModeHalfConfigured,
            &load_cluster(&config(json!({"ipam": "eni"}))),
        )
        .unwrap();
        assert_eq!(half.len(), 1);
        assert!(half[0]
            .message
            .contains("enable-endpoint-routes is missing"));
        let off = json!({"ipam": "eni", "enable-endpoint-routes": "true", "auto-create-cilium-node-resource": "false"});
        assert!(
            check(&EniModeHalfConfigured, &load_cluster(&config(off))).unwrap()[0]
                .message
                .contains("\"false\"")
        );
        assert!(check(
            &EniModeHalfConfigured,
            &load_cluster(&config(json!({"ipam": "cluster-pool"})))
        )
        .unwrap()
        .is_empty());
    }

    #[test]
    fn helm_values() {
        let half = load_cluster_with_helm(&[], json!({"ipam": {"mode": "eni"}}));
        assert_eq!(check(&EniModeHalfConfigured, &half).unwrap().len(), 1);
        let full = load_cluster_with_helm(
            &[],
            json!({"ipam": {"mode": "eni"}, "eni": {"enabled": true}}),
        );
        assert!(check(&EniModeHalfConfigured, &full).unwrap().is_empty());
    }
}
