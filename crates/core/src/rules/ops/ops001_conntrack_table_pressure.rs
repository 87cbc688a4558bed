//! OPS001 conntrack-table-pressure.

use super::map_pressure::{self, Table};
use crate::findings::Severity;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct ConntrackTablePressure;

static META: RuleMeta = RuleMeta {
    code: "OPS001",
    name: "conntrack-table-pressure",
    severity: Severity::High,
    area: Area::Ops,
    summary: "Cilium's connection-tracking maps are (nearly) full",
    what_it_checks: "The agents' Prometheus metrics: `cilium_bpf_map_pressure` of the \
conntrack maps (`map_name` ct4_global, ct_any4_global, ct6_global, ct_any6_global) at or \
above 0.9, or `cilium_drop_count_total{reason=\"CT: Map insertion failed\"}` above zero.",
    why_it_matters: "Map pressure is the used share of the configured map size; at 1.0 \
the map is full. New connections then cannot be tracked and their packets are dropped \
(`CT: Map insertion failed`): intermittent timeouts that look like network or \
application faults, worst on busy nodes.",
    how_to_fix: "Give the conntrack maps more entries: raise `bpf.ctTcpMax` / \
`bpf.ctAnyMax` when they are set explicitly, else `bpf.mapDynamicSizeRatio` (share of \
node memory for the large BPF maps, default 0.0025). Cilium's troubleshooting guide also \
suggests a shorter `--conntrack-gc-interval` when garbage collection cannot keep up. Map \
size changes take effect when the agents restart, which disrupts tracked connections.",
    known_limits: "Reads the metrics in the snapshot, one scrape per agent: a map that \
filled and drained between scrapes is only visible through the drop counter. Drop \
counters are cumulative since the agent started.",
    docs_url: "https://docs.cilium.io/en/stable/operations/troubleshooting/#handling-drop-ct-map-insertion-failed",
};

impl Rule for ConntrackTablePressure {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        map_pressure::check(cx, &META, Table::Conntrack)
    }
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)]
mod tests {
    use super::*;
    use crate::model::{Cluster, MetricSample};
    use crate::rules::testing::outcome;

    fn sample(name: &str, label: (&str, &str), value: f64) -> MetricSample {
        MetricSample {
            name: name.into(),
            labels: [(label.0.to_string(), label.1.to_string())].into(),
            value,
            source: "/tmp/dump/sysdump.zip!cilium-sysdump-20261126/cilium-abcde-metrics.txt".into(),
        }
    }

    fn cluster(samples: Vec<MetricSample>, config: &[(&str, &str)]) -> Cluster {
        let mut c = Cluster::default();
        c.metrics = Some(samples);
        let cm = serde_json::json!({"metadata":{"name":"cilium-config","namespace":"kube-system"},
            "data": config.iter().map(|(k, v)| (k.to_string(), serde_json::json!(v))).collect::<serde_json::Map<_, _>>()});
        c.config_maps = Some(vec![serde_json::from_value(cm).unwrap()]);
        c.finish();
        c
    }

    #[test]
    fn threshold_boundary() {
        let p = |v| sample("cilium_bpf_map_pressure", ("map_name", "ct4_global"), v);
        assert_eq!(
            outcome(&ConntrackTablePressure, &cluster(vec![p(0.89)], &[])),
            Ok(vec![])
        );
        let Ok(f) = outcome(&ConntrackTablePressure, &cluster(vec![p(0.9)], &[])) else {
            panic!()
        };
        assert_eq!(f.len(), 1);
        assert!(f[0].evidence[0].contains("map_name=\"ct4_global\"} = 0.9 [sysdump.zip!cilium-sysdump-20261126/cilium-abcde-metrics.txt]"));
        // Dynamic sizing in force: double the ratio.
        assert!(
            f[0].remediation
                .contains("--set bpf.mapDynamicSizeRatio=0.005"),
            "{}",
            f[0].remediation
        );
        // NAT pressure does not fire the conntrack rule.
        let nat = sample(
            "cilium_bpf_map_pressure",
            ("map_name", "snat_v4_external"),
            1.0,
        );
        let ct = sample(
            "cilium_bpf_map_pressure",
            ("map_name", "ct_any4_global"),
            0.2,
        );
        assert_eq!(
            outcome(&ConntrackTablePressure, &cluster(vec![nat, ct], &[])),
            Ok(vec![])
        );
    }

    #[test]
    fn insertion_failures_fire_and_explicit_sizes_double() {
        let d = sample(
            "cilium_drop_count_total",
            ("reason", "CT: Map insertion failed"),
            1532.0,
        );
        let Ok(f) = outcome(
            &ConntrackTablePressure,
            &cluster(
                vec![d],
                &[
                    ("bpf-ct-global-tcp-max", "524288"),
                    ("bpf-ct-global-any-max", "262144"),
                ],
            ),
        ) else {
            panic!()
        };
        assert!(f[0].message.contains("1532 packets dropped"));
        assert!(f[0]
            .remediation
            .contains("--set bpf.ctTcpMax=1048576 --set bpf.ctAnyMax=524288"));
        let other = sample("cilium_drop_count_total", ("reason", "Policy denied"), 10.0);
        assert_eq!(
            outcome(&ConntrackTablePressure, &cluster(vec![other], &[])),
            Ok(vec![])
        );
    }

    #[test]
    fn missing_metrics() {
        let mut c = cluster(vec![], &[]);
        assert!(outcome(&ConntrackTablePressure, &c).is_err());
        c.metrics = None;
        assert!(outcome(&ConntrackTablePressure, &c).is_err());
        // Only operator metrics: not evaluated either.
        c.metrics = Some(vec![sample(
            "cilium_operator_ipam_available_ips",
            ("target_node", "n1"),
            3.0,
        )]);
        assert!(outcome(&ConntrackTablePressure, &c).is_err());
    }
}
