//! OPS002 nat-table-pressure.

use super::map_pressure::{self, Table};
use crate::findings::Severity;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct NatTablePressure;

static META: RuleMeta = RuleMeta {
    code: "OPS002",
    name: "nat-table-pressure",
    severity: Severity::High,
    area: Area::Ops,
    summary: "Cilium's NAT (SNAT) maps are (nearly) full",
    what_it_checks: "The agents' Prometheus metrics: `cilium_bpf_map_pressure` of the NAT \
maps (`map_name` snat_v4_external, snat_v6_external) at or above 0.9, or \
`cilium_drop_count_total{reason=\"No mapping for NAT masquerade\"}` above zero — the drop \
the datapath reports when it cannot create a NAT entry.",
    why_it_matters: "Masqueraded and NodePort/LoadBalancer traffic needs a NAT entry per \
connection. When the NAT map is full new connections are dropped, typically traffic from \
pods to the internet or to AWS services through the node address.",
    how_to_fix: "Give the NAT map more entries: raise `bpf.natMax` when it is set \
explicitly (it may not exceed 2/3 of `bpf.ctTcpMax + bpf.ctAnyMax`), else \
`bpf.mapDynamicSizeRatio`. Map size changes take effect when the agents restart, which \
disrupts tracked connections.",
    known_limits: "\"No mapping for NAT masquerade\" is also returned when no free source \
port is left for a destination (port exhaustion towards one endpoint); then \
`cilium_nat_endpoint_max_connection` is the metric to look at and a bigger map does not \
help. Drop counters are cumulative since the agent started.",
    docs_url: "https://docs.cilium.io/en/stable/network/ebpf/maps/",
};

impl Rule for NatTablePressure {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        map_pressure::check(cx, &META, Table::Nat)
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
            source: "agent.txt".into(),
        }
    }

    #[test]
    fn nat_pressure_and_drops() {
        let mut c = Cluster::default();
        c.metrics = Some(vec![
            sample(
                "cilium_bpf_map_pressure",
                ("map_name", "snat_v4_external"),
                0.95,
            ),
            sample("cilium_bpf_map_pressure", ("map_name", "ct4_global"), 0.99),
        ]);
        let Ok(f) = outcome(&NatTablePressure, &c) else {
            panic!()
        };
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].evidence.len(), 1);
        assert!(f[0].message.contains("highest 95%"));

        c.metrics = Some(vec![sample(
            "cilium_drop_count_total",
            ("reason", "No mapping for NAT masquerade"),
            7.0,
        )]);
        let Ok(f) = outcome(&NatTablePressure, &c) else {
            panic!()
        };
        assert_eq!(f.len(), 1);

        c.metrics = Some(vec![sample(
            "cilium_bpf_map_pressure",
            ("map_name", "snat_v4_external"),
            0.5,
        )]);
        assert_eq!(outcome(&NatTablePressure, &c), Ok(vec![]));
    }

    #[test]
    fn explicit_nat_size_respects_two_thirds_of_ct() {
        let mut c = Cluster::default();
        c.metrics = Some(vec![sample(
            "cilium_bpf_map_pressure",
            ("map_name", "snat_v4_external"),
            1.0,
        )]);
        c.config_maps = Some(vec![serde_json::from_value(serde_json::json!({
            "metadata":{"name":"cilium-config","namespace":"kube-system"},
            "data":{"bpf-nat-global-max":"524288","bpf-ct-global-tcp-max":"524288","bpf-ct-global-any-max":"262144"}}))
        .unwrap()]);
        c.finish();
        let Ok(f) = outcome(&NatTablePressure, &c) else {
            panic!()
        };
        // 2 × 524288 > 2/3 × (524288 + 262144): the CT tables grow too.
        assert!(
            f[0].remediation.contains(
                "--set bpf.ctTcpMax=1048576 --set bpf.ctAnyMax=524288 --set bpf.natMax=1048576"
            ),
            "{}",
            f[0].remediation
        );
    }
}
