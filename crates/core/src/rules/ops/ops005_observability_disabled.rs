//! OPS005 observability-disabled.

use super::common;
use crate::findings::{ObjectRef, Severity};
use crate::rules::inputs;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct ObservabilityDisabled;

static META: RuleMeta = RuleMeta {
    code: "OPS005",
    name: "observability-disabled",
    severity: Severity::Medium,
    area: Area::Ops,
    summary: "Cilium agent or operator metrics, or Hubble, are switched off",
    what_it_checks: "The running `cilium-config` ConfigMap: agent metrics need \
`prometheus-serve-addr` (the agent serves nothing when it is empty or absent; the chart \
writes it with `prometheus.enabled`); operator metrics need `enable-metrics: \"true\"` (the \
operator's default is false; the chart writes it with `operator-prometheus-serve-addr` \
when `operator.prometheus.enabled`), and an empty `operator-prometheus-serve-addr` turns \
them off; Hubble needs `enable-hubble: \"true\"`.",
    why_it_matters: "Without agent metrics, map pressure (OPS001/OPS002), drops, endpoint \
regeneration failures and unreachable nodes cannot be alerted on; without operator \
metrics ENI/IPAM exhaustion shows up only when pods stop starting; without Hubble there \
is no flow log to tell policy drops from network faults.",
    how_to_fix: "Turn them on with Helm (`prometheus.enabled`, \
`operator.prometheus.enabled`, `hubble.enabled`; the chart defaults are off, off before \
1.15 / on from 1.15, and on) and scrape ports 9962 (agent) and 9963 (operator).",
    known_limits: "Reads what the ConfigMap says, not whether anything scrapes the \
endpoints. Options passed as command-line arguments instead of through the ConfigMap are \
not seen.",
    docs_url: "https://docs.cilium.io/en/stable/observability/metrics/",
};

impl Rule for ObservabilityDisabled {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        let s = &c.cilium;
        if s.config.is_none() {
            if common::cilium_absent(c) {
                return Ok(vec![]);
            }
            return META.missing("no cilium-config ConfigMap", inputs::CILIUM_CONFIG);
        }
        let is_true = |k: &str| {
            s.get(k)
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        };
        let mut off: Vec<(&str, String, &str)> = Vec::new();
        match s.get("prometheus-serve-addr").map(str::trim) {
            Some(a) if !a.is_empty() => {}
            Some(_) => off.push((
                "agent metrics",
                "prometheus-serve-addr is empty".into(),
                "prometheus.enabled",
            )),
            None => off.push((
                "agent metrics",
                "prometheus-serve-addr is not set".into(),
                "prometheus.enabled",
            )),
        }
        let op_addr = s.get("operator-prometheus-serve-addr").map(str::trim);
        if op_addr == Some("") {
            off.push((
                "operator metrics",
                "operator-prometheus-serve-addr is empty".into(),
                "operator.prometheus.enabled",
            ));
        } else if !is_true("enable-metrics") {
            off.push((
                "operator metrics",
                match s.get("enable-metrics") {
                    Some(v) => format!("enable-metrics is {v:?}"),
                    None => "enable-metrics is not set (operator default false)".into(),
                },
                "operator.prometheus.enabled",
            ));
        }
        if !is_true("enable-hubble") {
            off.push((
                "Hubble",
                match s.get("enable-hubble") {
                    Some(v) => format!("enable-hubble is {v:?}"),
                    None => "enable-hubble is not set".into(),
                },
                "hubble.enabled",
            ));
        }
        if off.is_empty() {
            return Ok(vec![]);
        }
        let what: Vec<&str> = off.iter().map(|(w, _, _)| *w).collect();
        let mut f = META.finding(
            ObjectRef::new("ConfigMap", Some("kube-system"), "cilium-config"),
            format!("Cilium observability is switched off: {}", what.join(", ")),
        );
        for (w, why, _) in &off {
            f = f.with_evidence(format!("{w}: {why} (cilium-config)"));
        }
        let sets: Vec<String> = off
            .iter()
            .filter(|(_, _, k)| common::helm_key_exists(cx, k))
            .map(|(_, _, k)| format!("--set {k}=true"))
            .collect();
        // The agents read prometheus-serve-addr and enable-hubble, the operator its metrics options.
        let mut restart = Vec::new();
        if off.iter().any(|(w, _, _)| *w != "operator metrics") {
            restart.push("daemonset/cilium");
        }
        if off.iter().any(|(w, _, _)| *w == "operator metrics") {
            restart.push("deployment/cilium-operator");
        }
        let mut fix = if sets.is_empty() {
            "# The chart of this Cilium version has none of the usual keys: set prometheus-serve-addr, enable-metrics and enable-hubble in cilium-config.\n".to_string()
        } else {
            format!(
                "helm upgrade cilium cilium/cilium -n kube-system --reuse-values {}\n",
                sets.join(" ")
            )
        };
        fix.push_str(&format!(
            "kubectl -n kube-system rollout restart {}",
            restart.join(" ")
        ));
        if off.iter().any(|(w, _, _)| w.ends_with("metrics")) {
            fix.push_str("\n# Then scrape the agents on port 9962 and the operator on port 9963");
            if common::helm_key_exists(cx, "prometheus.serviceMonitor.enabled") {
                fix.push_str(" (e.g. --set prometheus.serviceMonitor.enabled=true with the Prometheus operator)");
            }
            fix.push('.');
        }
        Ok(vec![f.with_remediation(fix)])
    }
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)]
mod tests {
    use super::*;
    use crate::model::Cluster;
    use crate::rules::testing::outcome;
    use serde_json::json;

    fn cluster(data: serde_json::Value) -> Cluster {
        let mut c = Cluster::default();
        c.config_maps = Some(vec![serde_json::from_value(json!({
            "metadata":{"name":"cilium-config","namespace":"kube-system"},"data":data}))
        .unwrap()]);
        c.finish();
        c
    }

    #[test]
    fn all_on_is_quiet() {
        let c = cluster(
            json!({"prometheus-serve-addr":":9962","operator-prometheus-serve-addr":":9963",
            "enable-metrics":"true","enable-hubble":"true"}),
        );
        assert_eq!(outcome(&ObservabilityDisabled, &c), Ok(vec![]));
    }

    #[test]
    fn chart_defaults_before_1_15() {
        // 1.14 chart defaults: prometheus off, operator.prometheus off, hubble on.
        let c = cluster(json!({"enable-hubble":"true","ipam":"eni"}));
        let Ok(f) = outcome(&ObservabilityDisabled, &c) else {
            panic!()
        };
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "Cilium observability is switched off: agent metrics, operator metrics"
        );
        assert!(f[0]
            .remediation
            .contains("--set prometheus.enabled=true --set operator.prometheus.enabled=true"));
        assert!(!f[0].remediation.contains("hubble.enabled"));
    }

    #[test]
    fn empty_addresses_and_hubble_off() {
        let c = cluster(
            json!({"prometheus-serve-addr":"","operator-prometheus-serve-addr":"",
            "enable-metrics":"true","enable-hubble":"false"}),
        );
        let Ok(f) = outcome(&ObservabilityDisabled, &c) else {
            panic!()
        };
        assert_eq!(f[0].evidence.len(), 3);
        assert!(f[0].evidence[2].contains("enable-hubble is \"false\""));
    }

    #[test]
    fn missing_and_absent() {
        assert!(outcome(&ObservabilityDisabled, &Cluster::default()).is_err());
        let mut c = Cluster::default();
        c.daemonsets = Some(vec![]);
        // The facts (Cilium absent) are derived when the model is finished.
        c.finish();
        assert_eq!(outcome(&ObservabilityDisabled, &c), Ok(vec![]));
    }
}
