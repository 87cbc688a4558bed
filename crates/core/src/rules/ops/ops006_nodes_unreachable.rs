//! OPS006 nodes-unreachable.

use crate::rules::inputs;
use std::collections::BTreeSet;

use super::common;
use crate::findings::Severity;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct NodesUnreachable;

static META: RuleMeta = RuleMeta {
    code: "OPS006",
    name: "nodes-unreachable",
    severity: Severity::High,
    area: Area::Ops,
    summary: "Cilium's health checks cannot reach some nodes or endpoints",
    what_it_checks: "`cilium status` outputs (`Cluster health: x/y reachable` with x < y, \
and the nodes listed under it), `cilium-health status` outputs (unreachable nodes and \
endpoints), and the agents' `cilium_unreachable_nodes` / \
`cilium_unreachable_health_endpoints` metrics above zero.",
    why_it_matters: "Cilium's health probes use the same paths as pod traffic between \
nodes. An unreachable node or health endpoint means pods on different nodes cannot talk: \
typically security groups that do not allow the health port, ICMP or the tunnel port, or \
a broken agent on the far side.",
    how_to_fix: "From an agent, run `cilium-health status --probe` to see which nodes \
fail and on which path (ICMP or TCP 4240). Allow ICMP and TCP 4240 between the node \
security groups, plus the tunnel port when tunnelling (VXLAN UDP 8472, Geneve UDP 6081), \
and check the agents on the unreachable nodes (OPS004).",
    known_limits: "Needs a sysdump or `cilium status` / `cilium-health status` output, \
or agent metrics; a probe failing at the moment of the snapshot (a node being replaced) \
also fires.",
    docs_url:
        "https://docs.cilium.io/en/stable/operations/troubleshooting/#cluster-connectivity-health",
};

impl Rule for NodesUnreachable {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        let health_metrics: Vec<_> = c
            .metrics
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter(|s| {
                s.name == "cilium_unreachable_nodes"
                    || s.name == "cilium_unreachable_health_endpoints"
            })
            .collect();
        if c.cilium_status.is_none() && c.cilium_health.is_none() && health_metrics.is_empty() {
            if common::cilium_absent(c) {
                return Ok(vec![]);
            }
            return META.missing(
                "no `cilium status` / `cilium-health status` output and no cilium_unreachable_nodes metric",
                inputs::CILIUM_STATUS,
            );
        }
        let mut lines = Vec::new();
        let mut nodes: BTreeSet<String> = BTreeSet::new();
        let mut endpoints = 0usize;
        for r in c.cilium_status.as_deref().unwrap_or_default() {
            let source = if r.source.is_empty() {
                "cilium status".to_string()
            } else {
                common::display_source(&r.source)
            };
            let short = r.cluster_health.filter(|(ok, total)| ok < total);
            if short.is_none() && r.unreachable_nodes.is_empty() {
                continue;
            }
            let mut l = format!("{source}: ");
            if let Some((ok, total)) = r.cluster_health {
                l.push_str(&format!("Cluster health {ok}/{total} reachable"));
            }
            if !r.unreachable_nodes.is_empty() {
                l.push_str(&format!(
                    "; not reachable: {}",
                    r.unreachable_nodes.join(", ")
                ));
                nodes.extend(r.unreachable_nodes.iter().cloned());
            }
            lines.push(l);
        }
        for r in c.cilium_health.as_deref().unwrap_or_default() {
            if r.unreachable_nodes.is_empty() && r.unreachable_endpoints.is_empty() {
                continue;
            }
            let source = if r.source.is_empty() {
                "cilium-health status".to_string()
            } else {
                common::display_source(&r.source)
            };
            nodes.extend(r.unreachable_nodes.iter().cloned());
            endpoints += r.unreachable_endpoints.len();
            let mut parts = Vec::new();
            if !r.unreachable_nodes.is_empty() {
                parts.push(format!(
                    "unreachable nodes {}",
                    r.unreachable_nodes.join(", ")
                ));
            }
            if !r.unreachable_endpoints.is_empty() {
                parts.push(format!(
                    "unreachable endpoints {}",
                    r.unreachable_endpoints.join(", ")
                ));
            }
            lines.push(format!("{source}: {}", parts.join("; ")));
        }
        for s in health_metrics.iter().filter(|s| s.value > 0.0) {
            lines.push(format!(
                "{} = {}{}",
                s.name,
                s.value,
                if s.source.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", common::display_source(&s.source))
                }
            ));
        }
        if lines.is_empty() {
            return Ok(vec![]);
        }
        let what = match (nodes.len(), endpoints) {
            (0, 0) => "Cilium health checks report unreachable nodes or endpoints".to_string(),
            (n, 0) => format!(
                "Cilium health checks cannot reach {n} node(s): {}",
                names(&nodes)
            ),
            (0, e) => format!("Cilium health checks cannot reach {e} health endpoint(s)"),
            (n, e) => format!(
                "Cilium health checks cannot reach {n} node(s) ({}) and {e} health endpoint(s)",
                names(&nodes)
            ),
        };
        let mut f = META.finding(common::agent_object(c), what);
        for l in common::capped(lines, 20) {
            f = f.with_evidence(l);
        }
        let sg = c
            .eks
            .as_ref()
            .and_then(|e| e.resources_vpc_config.cluster_security_group_id.as_deref())
            .unwrap_or("NODE_SECURITY_GROUP_ID");
        let mut fix = format!(
            "kubectl -n kube-system exec ds/cilium -c cilium-agent -- cilium-health status --probe\n\
# Allow Cilium's health checks between the nodes (ICMP and TCP 4240):\n\
aws ec2 authorize-security-group-ingress --group-id {sg} --protocol tcp --port 4240 --source-group {sg}\n\
aws ec2 authorize-security-group-ingress --group-id {sg} --protocol icmp --port -1 --source-group {sg}"
        );
        if c.cilium.routing_mode.as_deref() == Some("tunnel") {
            // rules.md MESH006: VXLAN 8472, Geneve 6081.
            let port = if c.cilium.tunnel_protocol.as_deref() == Some("geneve") {
                6081
            } else {
                8472
            };
            fix.push_str(&format!(
                "\naws ec2 authorize-security-group-ingress --group-id {sg} --protocol udp --port {port} --source-group {sg}"
            ));
        }
        Ok(vec![f.with_remediation(fix)])
    }
}

fn names(nodes: &BTreeSet<String>) -> String {
    common::capped(nodes.iter().cloned().collect(), 5).join(", ")
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)]
mod tests {
    use super::*;
    use crate::model::{CiliumHealthReport, CiliumStatusReport, Cluster, MetricSample};
    use crate::rules::testing::outcome;

    #[test]
    fn real_sample_one_of_three() {
        // daithang59__…__cilium_status_eks134_eni_kpr.txt
        let mut c = Cluster::default();
        c.cilium_status = Some(vec![CiliumStatusReport {
            source: "cilium_status_eks134_eni_kpr.txt".into(),
            components: vec![],
            cluster_health: Some((1, 3)),
            unreachable_nodes: vec![
                "ip-10-0-10-244.ap-southeast-1.compute.internal".into(),
                "ip-10-0-10-72.ap-southeast-1.compute.internal".into(),
            ],
            ..Default::default()
        }]);
        let Ok(f) = outcome(&NodesUnreachable, &c) else {
            panic!()
        };
        assert_eq!(f.len(), 1);
        assert!(f[0]
            .message
            .starts_with("Cilium health checks cannot reach 2 node(s)"));
        assert!(f[0].evidence[0].contains("Cluster health 1/3 reachable"));
        assert!(f[0].remediation.contains("--protocol tcp --port 4240"));
    }

    #[test]
    fn healthy_and_health_reports() {
        let mut c = Cluster::default();
        c.cilium_status = Some(vec![CiliumStatusReport {
            cluster_health: Some((3, 3)),
            ..Default::default()
        }]);
        c.cilium_health = Some(vec![CiliumHealthReport::default()]);
        assert_eq!(outcome(&NodesUnreachable, &c), Ok(vec![]));
        c.cilium_health = Some(vec![CiliumHealthReport {
            source: "cilium-health-status-cilium-x.txt".into(),
            unreachable_nodes: vec![],
            unreachable_endpoints: vec!["10.0.1.77".into()],
        }]);
        let Ok(f) = outcome(&NodesUnreachable, &c) else {
            panic!()
        };
        assert!(f[0].message.contains("1 health endpoint(s)"));
    }

    #[test]
    fn metrics_and_missing() {
        let mut c = Cluster::default();
        assert!(outcome(&NodesUnreachable, &c).is_err());
        c.metrics = Some(vec![MetricSample {
            name: "cilium_unreachable_nodes".into(),
            labels: Default::default(),
            value: 0.0,
            source: "a".into(),
        }]);
        assert_eq!(outcome(&NodesUnreachable, &c), Ok(vec![]));
        c.metrics.as_mut().unwrap()[0].value = 2.0;
        let Ok(f) = outcome(&NodesUnreachable, &c) else {
            panic!()
        };
        assert_eq!(f.len(), 1);
    }
}
