//! Shared logic of OPS001 (conntrack) and OPS002 (NAT): BPF map pressure
//! and the drop reason that means "the table is full".
//!
//! Facts (`/work/shared/data/cilium/metrics.json`, `conntrack.json`):
//! - `cilium_bpf_map_pressure{map_name}` — CT and NAT maps report it with
//!   threshold 0.0 (always), `map_name` without the `cilium_` prefix:
//!   `ct4_global`, `ct_any4_global`, `ct6_global`, `ct_any6_global`,
//!   `snat_v4_external`, `snat_v6_external`; >= 1.0 means full.
//! - `cilium_drop_count_total{reason, direction}`, reason is the text of
//!   `pkg/monitor/api/drop.go`: 155 "CT: Map insertion failed"; 167 "No
//!   mapping for NAT masquerade" is what the datapath returns when a NAT
//!   entry cannot be created (`snat_v4_new_mapping`: map update failed or no
//!   free port after the retries).
//! - Helm keys `bpf.ctTcpMax`, `bpf.ctAnyMax`, `bpf.natMax`,
//!   `bpf.mapDynamicSizeRatio` (checked against the running minor's chart in
//!   the knowledge before they are named); config keys
//!   `bpf-ct-global-tcp-max`, `bpf-ct-global-any-max`, `bpf-nat-global-max`,
//!   `bpf-map-dynamic-size-ratio` (`conntrack.json` chart_defaults).
//! - Ratio default 0.0025; LimitTableMax 1 << 24 = 16777216 entries
//!   (`conntrack.json` code_constants / chart_defaults).

use crate::findings::Finding;
use crate::model::MetricSample;
use crate::rules::inputs;
use crate::rules::{Context, Outcome, RuleMeta};

use super::common;

/// Pressure at or above this fires (rules.md OPS001/OPS002).
pub const PRESSURE_THRESHOLD: f64 = 0.9;
const PRESSURE_METRIC: &str = "cilium_bpf_map_pressure";
const DROP_METRIC: &str = "cilium_drop_count_total";
/// conntrack.json code_constants LimitTableMax.
const LIMIT_TABLE_MAX: u64 = 1 << 24;
/// conntrack.json chart_defaults: the chart's default bpf-map-dynamic-size-ratio.
const DEFAULT_DYNAMIC_RATIO: f64 = 0.0025;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Conntrack,
    Nat,
}

impl Table {
    fn label(self) -> &'static str {
        match self {
            Table::Conntrack => "connection tracking",
            Table::Nat => "NAT (SNAT)",
        }
    }

    fn drop_reason(self) -> &'static str {
        match self {
            Table::Conntrack => "CT: Map insertion failed",
            Table::Nat => "No mapping for NAT masquerade",
        }
    }

    /// Whether a `map_name` label value names one of this table's maps.
    pub fn owns_map(self, map_name: &str) -> bool {
        let n = map_name.strip_prefix("cilium_").unwrap_or(map_name);
        match self {
            Table::Conntrack => ["ct4_", "ct6_", "ct_any4_", "ct_any6_"]
                .iter()
                .any(|p| n.starts_with(p)),
            Table::Nat => n.contains("snat_v4_") || n.contains("snat_v6_"),
        }
    }
}

fn sample_line(s: &MetricSample) -> String {
    let labels: Vec<String> = s
        .labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect();
    let source = if s.source.is_empty() {
        String::new()
    } else {
        format!(" [{}]", common::display_source(&s.source))
    };
    format!("{}{{{}}} = {}{source}", s.name, labels.join(","), s.value)
}

fn config_u64(cx: &Context, key: &str) -> Option<u64> {
    cx.cluster
        .cilium
        .get(key)
        .and_then(|v| v.trim().parse().ok())
        .filter(|v| *v > 0)
}

fn double(v: u64) -> u64 {
    v.saturating_mul(2).min(LIMIT_TABLE_MAX)
}

fn remediation(cx: &Context, table: Table) -> String {
    let tcp = config_u64(cx, "bpf-ct-global-tcp-max");
    let any = config_u64(cx, "bpf-ct-global-any-max");
    let nat = config_u64(cx, "bpf-nat-global-max");
    let ratio = cx
        .cluster
        .cilium
        .get("bpf-map-dynamic-size-ratio")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|r| *r > 0.0 && r.is_finite());
    let mut sets: Vec<(String, String)> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    match table {
        Table::Conntrack if tcp.is_some() || any.is_some() => {
            if let Some(t) = tcp {
                sets.push(("bpf.ctTcpMax".into(), double(t).to_string()));
                notes.push(format!("bpf-ct-global-tcp-max is {t}"));
            }
            if let Some(a) = any {
                sets.push(("bpf.ctAnyMax".into(), double(a).to_string()));
                notes.push(format!("bpf-ct-global-any-max is {a}"));
            }
        }
        Table::Nat if nat.is_some() => {
            let n = nat.unwrap_or_default();
            let mut new_nat = double(n);
            notes.push(format!("bpf-nat-global-max is {n}"));
            // The NAT table must not exceed 2/3 of CT TCP + CT any when those are set.
            if let (Some(t), Some(a)) = (tcp, any) {
                let cap = (t + a) * 2 / 3;
                if new_nat > cap {
                    sets.push(("bpf.ctTcpMax".into(), double(t).to_string()));
                    sets.push(("bpf.ctAnyMax".into(), double(a).to_string()));
                    new_nat = new_nat.min((double(t) + double(a)) * 2 / 3);
                    notes.push(
                        "the NAT table may not exceed 2/3 of the CT tables, so they grow too"
                            .into(),
                    );
                }
            }
            sets.push(("bpf.natMax".into(), new_nat.to_string()));
        }
        _ => {
            let current = ratio.unwrap_or(DEFAULT_DYNAMIC_RATIO);
            notes.push(format!(
                "map sizes follow bpf-map-dynamic-size-ratio {}{}",
                current,
                if ratio.is_none() {
                    " (chart default)"
                } else {
                    ""
                }
            ));
            sets.push((
                "bpf.mapDynamicSizeRatio".into(),
                format!("{}", current * 2.0),
            ));
        }
    }
    let removed: Vec<String> = sets
        .iter()
        .filter(|(k, _)| !common::helm_key_exists(cx, k))
        .map(|(k, _)| k.clone())
        .collect();
    if !removed.is_empty() {
        return format!(
            "The Helm keys that size the {} maps ({}) are not in the chart of the running Cilium version; set the agent options bpf-ct-global-tcp-max / bpf-ct-global-any-max / bpf-nat-global-max / bpf-map-dynamic-size-ratio in cilium-config instead.",
            table.label(),
            removed.join(", ")
        );
    }
    let set_args: Vec<String> = sets.iter().map(|(k, v)| format!("--set {k}={v}")).collect();
    format!(
        "# Now: {}. Double it; changing map sizes disrupts tracked connections at the next agent restart (cilium-config comment), so roll the agents in a quiet window.\n\
helm upgrade cilium cilium/cilium -n kube-system --reuse-values {}\n\
kubectl -n kube-system rollout restart daemonset/cilium",
        notes.join("; "),
        set_args.join(" ")
    )
}

/// The whole check for one table.
pub fn check(cx: &Context, meta: &'static RuleMeta, table: Table) -> Outcome {
    let c = cx.cluster;
    let Some(metrics) = c.metrics.as_deref() else {
        if common::cilium_absent(c) {
            return Ok(vec![]);
        }
        return meta.missing(
            "no Prometheus metrics from the Cilium agents",
            inputs::AGENT_METRICS,
        );
    };
    let mut seen = false;
    let mut pressure = Vec::new();
    let mut drops = Vec::new();
    for s in metrics {
        if s.name == PRESSURE_METRIC && s.labels.get("map_name").is_some_and(|m| table.owns_map(m))
        {
            seen = true;
            if s.value >= PRESSURE_THRESHOLD {
                pressure.push(s);
            }
        } else if s.name == DROP_METRIC {
            seen = true;
            if s.labels.get("reason").map(String::as_str) == Some(table.drop_reason())
                && s.value > 0.0
            {
                drops.push(s);
            }
        }
    }
    if !seen {
        return meta.missing(
            format!(
                "no {PRESSURE_METRIC} for the {} maps and no {DROP_METRIC} in the metrics (agent metrics not included?)",
                table.label()
            ),
            inputs::AGENT_METRICS,
        );
    }
    if pressure.is_empty() && drops.is_empty() {
        return Ok(vec![]);
    }
    let max = pressure.iter().map(|s| s.value).fold(f64::NAN, f64::max);
    let total_drops: f64 = drops.iter().map(|s| s.value).sum();
    let mut parts = Vec::new();
    if !pressure.is_empty() {
        parts.push(format!(
            "{} map(s) at {:.0}% or more of their size (highest {:.0}%)",
            pressure.len(),
            PRESSURE_THRESHOLD * 100.0,
            max * 100.0
        ));
    }
    if !drops.is_empty() {
        parts.push(format!(
            "{total_drops} packets dropped with \"{}\"",
            table.drop_reason()
        ));
    }
    let mut f: Finding = meta.finding(
        common::agent_object(c),
        format!(
            "The {} table is (nearly) full: {}",
            table.label(),
            parts.join("; ")
        ),
    );
    let lines: Vec<String> = pressure
        .iter()
        .chain(&drops)
        .map(|s| sample_line(s))
        .collect();
    for l in common::capped(lines, 20) {
        f = f.with_evidence(l);
    }
    Ok(vec![f.with_remediation(remediation(cx, table))])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_names() {
        for n in [
            "ct4_global",
            "ct_any4_global",
            "ct6_global",
            "ct_any6_global",
            "cilium_ct4_global",
        ] {
            assert!(Table::Conntrack.owns_map(n), "{n}");
            assert!(!Table::Nat.owns_map(n), "{n}");
        }
        for n in [
            "snat_v4_external",
            "snat_v6_external",
            "per_cluster_snat_v4_external",
        ] {
            assert!(Table::Nat.owns_map(n), "{n}");
            assert!(!Table::Conntrack.owns_map(n), "{n}");
        }
        for n in ["policy_00123", "lb4_services_v2", "ipcache"] {
            assert!(
                !Table::Nat.owns_map(n) && !Table::Conntrack.owns_map(n),
                "{n}"
            );
        }
    }
}
