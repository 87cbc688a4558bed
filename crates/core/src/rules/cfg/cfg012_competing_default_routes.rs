//! CFG012: in ENI mode a node's main table has default routes through
//! several interfaces with the same metric (systemd-networkd configured a
//! Cilium-attached ENI, as on Amazon Linux 2023).

use std::collections::BTreeMap;

use super::os_nodes::{capture_os, capture_place};
use crate::findings::Severity;
use crate::model::IpRoute;
use crate::rules::ops::common::agent_object;
use crate::rules::{inputs, Area, Context, Missing, Outcome, Rule, RuleMeta};

pub struct CompetingDefaultRoutes;

/// The known issue this rule is about (`data/known-issues.json`).
const ISSUE: &str = "KI030";

static META: RuleMeta = RuleMeta {
    code: "CFG012",
    name: "competing-default-routes",
    severity: Severity::High,
    area: Area::Cfg,
    summary: "ENI mode: a node has default routes through several ENIs with the same metric (AL2023 networkd RouteMetric): pod traffic leaves through the wrong interface",
    what_it_checks: "With Cilium's ENI IPAM, reads each node's `ip route` capture of a sysdump \
(bugtool `cmd/ip--4-r.md`) and fires when the main table holds two or more `default` routes \
through different devices with the same metric (an unprinted metric counts as 0).",
    why_it_matters: "On Amazon Linux 2023 systemd-networkd (its `80-ec2.network`, through \
amazon-ec2-net-utils) configures every ENI by DHCP with the same route metric, so an ENI \
Cilium attaches for pod addresses gets a default route as good as the \
primary interface's. Traffic then leaves through either, the agent can fail to start in ENI mode, \
and pods whose addresses sit on Cilium's ENIs cannot reach destinations outside the cluster.",
    how_to_fix: "Keep networkd off Cilium's ENIs: use an EKS AL2023 AMI from v20240329 (which \
leaves secondary ENIs alone), or on self-managed images add a networkd file for the primary \
interface (e.g. `/etc/systemd/network/05-ens5.network` with `[Match] Name=ens5` and a \
`[DHCP] RouteMetric=` below the others) and make networkd ignore the rest \
(`ManageForeignRoutes=no`, `ManageForeignRoutingPolicyRules=no` in networkd.conf), then \
restart the node's agent.",
    known_limits: "Only IPv4 default routes of the main table are compared (IPv6 routes and \
Cilium's per-ENI tables of `ip route show table all` are not). Nodes without a sysdump capture are not judged.",
    docs_url: "https://docs.cilium.io/en/stable/network/concepts/ipam/eni/",
};

impl Rule for CompetingDefaultRoutes {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        if c.cilium.config.is_none() && c.helm_values.is_none() {
            return Err(Missing::new("cilium-config", inputs::CILIUM_CONFIG));
        }
        if !c.cilium.ipam_is_eni() {
            return Ok(vec![]);
        }
        let Some(lists) = c.ip_routes.as_deref() else {
            return Err(Missing::new(
                "the nodes' routes (ip -4 r)",
                "cilium sysdump (its bugtool archives hold cmd/ip--4-r.md)",
            ));
        };
        let issue = cx
            .knowledge
            .cited_issue(ISSUE)
            .ok_or_else(|| Missing::new(format!("known issue {ISSUE}"), inputs::KNOWLEDGE))?;
        let mut findings = Vec::new();
        for list in lists {
            let mut by_metric: BTreeMap<u32, Vec<&IpRoute>> = BTreeMap::new();
            // IPv4 only: an `ip -6 r` capture's router-advertised defaults
            // (`via fe80::1`) share a metric by design.
            let ipv4 = |r: &&IpRoute| !r.via.as_deref().is_some_and(|v| v.contains(':'));
            for r in list
                .routes
                .iter()
                .filter(|r| r.destination == "default")
                .filter(|r| r.table.as_deref().is_none_or(|t| t == "main"))
                .filter(ipv4)
            {
                by_metric.entry(r.metric.unwrap_or(0)).or_default().push(r);
            }
            for (metric, routes) in by_metric {
                let mut devices: Vec<&str> =
                    routes.iter().filter_map(|r| r.dev.as_deref()).collect();
                devices.sort_unstable();
                devices.dedup();
                if devices.len() < 2 {
                    continue;
                }
                let place = capture_place(cx, &list.source);
                let mut f = META
                    .finding(
                        agent_object(c),
                        format!(
                            "{place}: default routes through {} share metric {metric}: a Cilium-attached ENI got its own DHCP default route (systemd-networkd's RouteMetric is the same for every interface), so traffic leaves through the wrong ENI",
                            devices.join(" and ")
                        ),
                    );
                for r in &routes {
                    f = f.with_evidence(format!("ip route: {}", r.line));
                }
                if let Some(os) = capture_os(cx, &list.source) {
                    f = f.with_evidence(format!("osImage: {os}"));
                }
                let primary = devices[0];
                f = f.with_evidence(format!("{}: {}", issue.reference(), issue.symptom));
                findings.push(f.with_remediation(format!(
                    "# {}\n\
# self-managed images: pin the primary interface's metric and keep networkd off Cilium's ENIs\n\
cat > /etc/systemd/network/05-{primary}.network <<'EOF'\n\
[Match]\n\
Name={primary}\n\
[Network]\n\
DHCP=yes\n\
[DHCP]\n\
RouteMetric=<below {metric}>\n\
EOF\n\
# /etc/systemd/networkd.conf [Network]: ManageForeignRoutes=no, ManageForeignRoutingPolicyRules=no\n\
systemctl restart systemd-networkd",
                    issue.workaround
                )));
            }
        }
        Ok(findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{check, load_cluster};
    use serde_json::json;

    fn cluster(routes: &str) -> crate::model::Cluster {
        let mut c = load_cluster(&[json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "cilium-config", "namespace": "kube-system"},
                "data": {"ipam": "eni", "routing-mode": "native"}})]);
        c.ip_routes = Some(vec![crate::model::IpRouteList {
            source: "cilium-bugtool-cilium-7xk2p-20240212-101500/cmd/ip--4-r.md".into(),
            routes: routes
                .lines()
                .filter_map(|l| {
                    let w: Vec<&str> = l.split_whitespace().collect();
                    Some(IpRoute {
                        destination: w.first()?.to_string(),
                        via: w
                            .iter()
                            .position(|x| *x == "via")
                            .map(|i| w[i + 1].to_string()),
                        table: w
                            .iter()
                            .position(|x| *x == "table")
                            .map(|i| w[i + 1].to_string()),
                        dev: w
                            .iter()
                            .position(|x| *x == "dev")
                            .map(|i| w[i + 1].to_string()),
                        metric: w
                            .iter()
                            .position(|x| *x == "metric")
                            .and_then(|i| w[i + 1].parse().ok()),
                        line: l.to_string(),
                        ..IpRoute::default()
                    })
                })
                .collect(),
        }]);
        c
    }

    #[test]
    fn fires_on_equal_metric_defaults() {
        let f = check(
            &CompetingDefaultRoutes,
            &cluster("default via 10.0.0.1 dev ens5 proto dhcp src 10.0.1.12 metric 1024\ndefault via 10.0.0.1 dev ens6 proto dhcp src 10.0.1.200 metric 1024"),
        )
        .unwrap();
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("ens5 and ens6 share metric 1024"));
        assert!(f[0].remediation.contains("RouteMetric"));
    }

    #[test]
    fn quiet_on_one_default_or_distinct_metrics() {
        assert!(check(
            &CompetingDefaultRoutes,
            &cluster("default via 10.0.0.1 dev ens5 metric 512\ndefault via 10.0.0.1 dev ens6 metric 1024")
        )
        .unwrap()
        .is_empty());
        assert!(check(
            &CompetingDefaultRoutes,
            &cluster("default via 10.0.0.1 dev eth0")
        )
        .unwrap()
        .is_empty());
        assert!(check(
            &CompetingDefaultRoutes,
            &cluster("default via fe80::1 dev ens5 proto ra metric 1024\ndefault via fe80::1 dev ens6 proto ra metric 1024")
        )
        .unwrap()
        .is_empty());
        // Cilium's per-ENI tables each hold a default route: not the main table.
        assert!(check(
            &CompetingDefaultRoutes,
            &cluster("default via 10.0.0.1 dev ens5\ndefault via 10.0.0.1 dev ens6 table 11 proto kernel")
        )
        .unwrap()
        .is_empty());
    }
}
