//! VER007 helm-values-removed-keys: the Cilium Helm values set keys that the
//! chart of the running (or target) Cilium minor no longer has.

use crate::rules::inputs;
use std::collections::BTreeMap;

use super::{chart_version, cilium_namespace, running_cilium};
use crate::findings::{Finding, ObjectRef, Severity};
use crate::knowledge::RemovedHelmKey;
use crate::rules::Missing;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};
use crate::version::Minor;

pub struct Ver007;

static META: RuleMeta = RuleMeta {
    code: "VER007",
    name: "helm-values-removed-keys",
    severity: Severity::High,
    area: Area::Ver,
    summary: "The Cilium Helm values set keys the running or target chart no longer knows; the chart fails or ignores them.",
    what_it_checks: "Flattens the Cilium Helm values (`--helm-values`, or the values in a \
        sysdump) to dotted keys and looks each up in the keys every Cilium minor's chart removed \
        (compared with the previous minor's values.yaml), for every minor up to the running one \
        (or up to `--target-cilium`); a key the chart of that minor has again is not reported. \
        Names the replacement where Cilium's upgrade notes give one.",
    why_it_matters: "A removed key is either rejected (the chart's validate.yaml `fail`s and \
        `helm upgrade` aborts, sometimes halfway through a maintenance window) or silently \
        ignored: the setting you think you run with is not applied, e.g. `tunnel: disabled` no \
        longer turns native routing on after 1.15.",
    how_to_fix: "Delete the key from the values file and set its replacement (for `tunnel`: \
        `routingMode` and `tunnelProtocol`), then run `helm upgrade` with the edited values. Do \
        this before upgrading to the minor that removes the key.",
    known_limits: "Compares against the chart's values.yaml key lists: a key that is only read by \
        templates without appearing in values.yaml may be reported as removed when the chart \
        still honours it, and keys set under maps of free-form content (annotations, \
        extraConfig) are never reported. Replacements are only named where the upgrade notes \
        name them.",
    docs_url: "https://docs.cilium.io/en/stable/operations/upgrade/",
};

impl Rule for Ver007 {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        evaluate(cx)
    }
}

/// Dotted keys of every non-null leaf (arrays and non-empty scalars count
/// as leaves; empty maps are not a setting).
pub(crate) fn flatten_values(value: &serde_json::Value) -> BTreeMap<String, serde_json::Value> {
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut BTreeMap<String, serde_json::Value>) {
        match v {
            serde_json::Value::Null => {}
            serde_json::Value::Object(map) => {
                for (k, child) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, child, out);
                }
            }
            other => {
                if !prefix.is_empty() {
                    out.insert(prefix.to_string(), other.clone());
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    walk("", value, &mut out);
    out
}

fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn evaluate(cx: &Context) -> Result<Vec<Finding>, Missing> {
    let Some(values) = cx.cluster.helm_values.as_ref() else {
        return Err(Missing::new("the Cilium Helm values", inputs::HELM_VALUES));
    };
    let running = match running_cilium(cx) {
        Ok(Some(v)) => Some(v.minor()),
        Ok(None) => return Ok(Vec::new()),
        Err(outcome) => {
            if cx.options.target_cilium.is_none() {
                return Err(outcome);
            }
            None
        }
    };
    let limit = match (running, cx.options.target_cilium) {
        (Some(r), Some(t)) => r.max(t),
        (Some(r), None) => r,
        (None, Some(t)) => t,
        (None, None) => return Ok(Vec::new()),
    };
    if !cx.knowledge.cilium.iter().any(|m| m.minor <= limit)
        || cx.knowledge.cilium_minor(limit).is_none()
    {
        return Err(Missing::new(
            format!("the Helm chart data for Cilium {limit}"),
            inputs::KNOWLEDGE,
        ));
    }
    // Latest removal of each key up to the limit.
    let mut removals: BTreeMap<&str, (Minor, &RemovedHelmKey)> = BTreeMap::new();
    for minor in cx.knowledge.cilium.iter().filter(|m| m.minor <= limit) {
        for r in &minor.helm_keys_removed {
            removals.insert(r.key.as_str(), (minor.minor, r));
        }
    }
    let flat = flatten_values(values);
    // Removed key → the user's keys it covers (the key itself or its children).
    let mut hits: BTreeMap<&str, Vec<(&str, &serde_json::Value)>> = BTreeMap::new();
    for (key, value) in &flat {
        let mut candidate: &str = key;
        loop {
            if removals.contains_key(candidate) {
                hits.entry(candidate).or_default().push((key, value));
                break;
            }
            match candidate.rfind('.') {
                Some(i) => candidate = &candidate[..i],
                None => break,
            }
        }
    }

    let ns = cilium_namespace(cx);
    let mut findings = Vec::new();
    for (removed_key, set) in hits {
        let Some(&(removed_in, info)) = removals.get(removed_key) else {
            continue;
        };
        let chart_minor = match running {
            Some(r) if removed_in <= r => r,
            _ => limit,
        };
        // A key a later chart brought back is known again.
        if cx
            .knowledge
            .helm_keys(chart_minor)
            .is_some_and(|keys| keys.contains(removed_key))
        {
            continue;
        }
        let which = if Some(chart_minor) == running {
            format!("the running Cilium {chart_minor} chart")
        } else {
            format!("the target Cilium {chart_minor} chart")
        };
        let effect = if info.chart_fails {
            "fails (validate.yaml) while it is set"
        } else {
            "ignores it"
        };
        let replacement = info
            .replacement
            .as_deref()
            .map(|r| format!("; replacement: {r}"))
            .unwrap_or_default();
        let mut finding = META
            .finding(
                ObjectRef::new("HelmRelease", Some(&ns), "cilium"),
                format!(
                    "Helm value `{removed_key}` was removed in Cilium {removed_in}: {which} {effect}{replacement}"
                ),
            )
            .with_evidence(format!(
                "Set in the Helm values: {}",
                set.iter()
                    .map(|(k, v)| format!("{k}={}", value_text(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .with_evidence(format!(
                "Cilium {removed_in} chart values.yaml no longer has `{removed_key}` (helm_key_changes)"
            ));
        if let Some(t) = cx.options.target_cilium {
            finding = finding.with_evidence(format!("Target Cilium {t} (--target-cilium)"));
        }
        let mut steps = vec![format!("yq -i 'del(.{removed_key})' cilium-values.yaml")];
        if let Some(r) = &info.replacement {
            match tunnel_translation(removed_key, set.first().map(|(_, v)| *v)) {
                Some(sets) => {
                    steps.push(format!("Set the replacement in cilium-values.yaml: {sets}"))
                }
                None => steps.push(format!(
                    "Set the replacement ({r}) in cilium-values.yaml to the value you meant"
                )),
            }
        }
        steps.push(format!(
            "helm upgrade cilium cilium/cilium --namespace {ns} --version {} -f cilium-values.yaml",
            chart_version(cx.knowledge, chart_minor)
        ));
        findings.push(finding.with_remediation(format!(
            "helm get values cilium --namespace {ns} -o yaml > cilium-values.yaml\n{}",
            steps.join("\n")
        )));
    }
    Ok(findings)
}

/// The documented translation of the pre-1.15 `tunnel` value (Cilium 1.14
/// chart: `disabled` → native routing, `vxlan`/`geneve` → tunnel routing
/// with that protocol; /work/shared/data/cilium/eni_iam.json
/// chart_behaviour_eni.routing_mode).
pub(crate) fn tunnel_translation(key: &str, value: Option<&serde_json::Value>) -> Option<String> {
    if key != "tunnel" {
        return None;
    }
    match value.and_then(serde_json::Value::as_str)? {
        "disabled" => Some("routingMode: native".to_string()),
        p @ ("vxlan" | "geneve") => Some(format!("routingMode: tunnel, tunnelProtocol: {p}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::rules::testing::{fired, missing, options, run};
    use crate::rules::CheckOptions;
    use serde_json::json;

    fn with_values(
        items: Vec<serde_json::Value>,
        values: serde_json::Value,
    ) -> crate::model::Cluster {
        let mut c = typed_cluster(items);
        c.helm_values = Some(values);
        c.finish();
        c
    }

    #[test]
    fn flattening() {
        let flat = flatten_values(&json!({
            "tunnel": "disabled", "eni": {"enabled": true, "eniTags": {}, "subnetIDsFilter": ["subnet-1"]},
            "nodePort": null
        }));
        assert_eq!(
            flat.keys().collect::<Vec<_>>(),
            vec!["eni.enabled", "eni.subnetIDsFilter", "tunnel"]
        );
    }

    #[test]
    fn fires_for_running_chart_with_replacement() {
        let k = knowledge();
        let c = with_values(
            vec![agent_ds("1.16.5")],
            json!({"tunnel": "disabled", "eni": {"enabled": true}, "ipam": {"mode": "eni"},
                   "encryption": {"keyFile": "keys"}}),
        );
        let f = fired(run(&Ver007, &c, &k, &options("2026-11-26")));
        assert_eq!(f.len(), 2);
        assert_eq!(
            f[0].message,
            "Helm value `encryption.keyFile` was removed in Cilium 1.16: the running Cilium 1.16 chart fails (validate.yaml) while it is set; replacement: encryption.ipsec.keyFile"
        );
        assert_eq!(
            f[1].message,
            "Helm value `tunnel` was removed in Cilium 1.15: the running Cilium 1.16 chart fails (validate.yaml) while it is set; replacement: routingMode, tunnelProtocol"
        );
        assert!(f[1]
            .remediation
            .contains("yq -i 'del(.tunnel)' cilium-values.yaml"));
        assert!(f[1].remediation.contains("routingMode: native"));
        assert!(f[1].remediation.contains("--version 1.16.19"));
    }

    #[test]
    fn target_and_children_of_removed_keys() {
        let k = knowledge();
        let c = with_values(
            vec![agent_ds("1.17.5")],
            json!({"nodePort": {"enabled": true}, "enableCiliumEndpointSlice": true,
                   "eni": {"updateEC2AdapterLimitViaAPI": true}, "routingMode": "native"}),
        );
        // Running 1.17: none of these are removed yet.
        assert!(fired(run(&Ver007, &c, &k, &options("2026-11-26"))).is_empty());
        let o = CheckOptions {
            target_cilium: Some(m("1.19")),
            ..options("2026-11-26")
        };
        let f = fired(run(&Ver007, &c, &k, &o));
        let keys: Vec<&str> = f
            .iter()
            .map(|f| f.message.split('`').nth(1).unwrap())
            .collect();
        assert_eq!(
            keys,
            vec![
                "enableCiliumEndpointSlice",
                "eni.updateEC2AdapterLimitViaAPI",
                "nodePort.enabled"
            ]
        );
        assert!(f[2].message.contains(
            "the target Cilium 1.19 chart ignores it; replacement: kubeProxyReplacement"
        ));
    }

    #[test]
    fn keys_brought_back_are_known() {
        let mut k = knowledge();
        if let Some(keys) = k.helm_keys.get_mut(&m("1.17")) {
            keys.insert("tunnel".into());
        }
        let c = with_values(vec![agent_ds("1.17.5")], json!({"tunnel": "vxlan"}));
        assert!(fired(run(&Ver007, &c, &k, &options("2026-11-26"))).is_empty());
        let c = with_values(vec![agent_ds("1.16.5")], json!({"tunnel": "vxlan"}));
        let f = fired(run(&Ver007, &c, &k, &options("2026-11-26")));
        assert!(f[0]
            .remediation
            .contains("routingMode: tunnel, tunnelProtocol: vxlan"));
    }

    #[test]
    fn missing_and_not_applicable() {
        let k = knowledge();
        let c = typed_cluster(vec![agent_ds("1.16.5")]);
        assert!(missing(run(&Ver007, &c, &k, &options("2026-11-26"))).contains("Helm values"));
        let c = with_values(vec![agent_ds("1.16.5")], json!({"tunnel": "vxlan"}));
        assert!(
            missing(run(&Ver007, &c, &empty_knowledge(), &options("2026-11-26")))
                .contains("chart data for Cilium 1.16")
        );
        let c = with_values(vec![agent_ds("1.14.5")], json!({"tunnel": "vxlan"}));
        assert!(missing(run(&Ver007, &c, &k, &options("2026-11-26")))
            .contains("chart data for Cilium 1.14"));
    }
}
