//! CFG013: a node's policy routing lost `from all lookup local` (and with
//! it Cilium's own rules): amazon-ec2-net-utils / systemd-networkd removing
//! rules it did not create.

use super::os_nodes::{capture_os, capture_place};
use crate::findings::Severity;
use crate::rules::ops::common::{agent_object, cilium_absent};
use crate::rules::{inputs, Area, Context, Missing, Outcome, Rule, RuleMeta};

pub struct LocalRuleMissing;

/// The known issue this rule is about (`data/known-issues.json`).
const ISSUE: &str = "KI030";

/// The priorities of Cilium's per-endpoint rules in ENI mode (ingress 20,
/// egress 111; 110 before the v2 scheme).
const CILIUM_PRIORITIES: [u32; 3] = [20, 110, 111];

static META: RuleMeta = RuleMeta {
    code: "CFG013",
    name: "local-rule-missing",
    severity: Severity::Critical,
    area: Area::Cfg,
    summary: "A node's ip rules lack `from all lookup local`: something (amazon-ec2-net-utils on AL2023) removes rules it did not create, Cilium's included",
    what_it_checks: "Reads each node's `ip rule` capture of a sysdump (bugtool `cmd/ip-rule.md` \
or `cmd/ip--d-rule.md`) and fires when no rule looks up the `local` table. In ENI mode it also \
says whether Cilium's per-endpoint rules (priorities 20 and 111) are there.",
    why_it_matters: "The kernel installs `0: from all lookup local` at boot; without it the \
node cannot deliver packets to its own addresses, so loopback and every local socket break. On \
self-managed Amazon Linux 2023 nodes amazon-ec2-net-utils v2 (through systemd-networkd) \
periodically removes ip rules it did not create: Cilium's ENI rules disappear and even the \
local-table rule goes.",
    how_to_fix: "Stop networkd from managing foreign rules: remove amazon-ec2-net-utils and give \
the primary interface a static systemd-networkd configuration, or set \
`ManageForeignRoutingPolicyRules=no` (and `ManageForeignRoutes=no`) in networkd.conf; EKS AL2023 \
AMIs from v20240329 ship this. Put the local rule back at once with `ip rule add from all lookup \
local pref 0` and restart the node's Cilium agent so it reinstalls its rules.",
    known_limits: "Only IPv4 rule captures are read. A capture taken while networkd was \
reconfiguring may miss Cilium's rules briefly; the missing local rule is never transient.",
    docs_url: "https://docs.cilium.io/en/stable/network/concepts/ipam/eni/",
};

impl Rule for LocalRuleMissing {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        if cilium_absent(c) {
            return Ok(vec![]);
        }
        let Some(lists) = c.ip_rules.as_deref() else {
            return Err(Missing::new(
                "the nodes' ip rules (ip rule)",
                "cilium sysdump (its bugtool archives hold cmd/ip-rule.md or cmd/ip--d-rule.md)",
            ));
        };
        let issue = cx
            .knowledge
            .cited_issue(ISSUE)
            .ok_or_else(|| Missing::new(format!("known issue {ISSUE}"), inputs::KNOWLEDGE))?;
        let mut findings = Vec::new();
        for list in lists.iter().filter(|l| !l.rules.is_empty()) {
            if list
                .rules
                .iter()
                .any(|r| r.table.as_deref() == Some("local") && !r.not)
            {
                continue;
            }
            let place = capture_place(cx, &list.source);
            let cilium_rules = list
                .rules
                .iter()
                .filter(|r| CILIUM_PRIORITIES.contains(&r.priority))
                .count();
            let mut f = META
                .finding(
                    agent_object(c),
                    format!(
                        "{place}: no `from all lookup local` rule{}: rules the node did not create are being removed (amazon-ec2-net-utils / systemd-networkd), which breaks loopback and local delivery",
                        if c.cilium.ipam_is_eni() {
                            if cilium_rules == 0 {
                                " and none of Cilium's ENI rules (priorities 20/111)".to_string()
                            } else {
                                format!(" ({cilium_rules} Cilium ENI rules left)")
                            }
                        } else {
                            String::new()
                        }
                    ),
                )
                .with_evidence(format!(
                    "ip rule ({} rules): {}",
                    list.rules.len(),
                    list.rules
                        .iter()
                        .take(4)
                        .map(|r| r.line.as_str())
                        .collect::<Vec<_>>()
                        .join(" | ")
                ));
            if let Some(os) = capture_os(cx, &list.source) {
                f = f.with_evidence(format!("osImage: {os}"));
            }
            f = f.with_evidence(format!("{}: {}", issue.reference(), issue.symptom));
            findings.push(f.with_remediation(format!(
                "# {}\n\
# on the node, now:\n\
ip rule add from all lookup local pref 0\n\
# then stop networkd from removing foreign rules (or remove amazon-ec2-net-utils):\n\
# /etc/systemd/networkd.conf [Network]: ManageForeignRoutingPolicyRules=no, ManageForeignRoutes=no\n\
systemctl restart systemd-networkd\n\
kubectl -n {} delete pod -l k8s-app=cilium --field-selector spec.nodeName=<node>",
                issue.workaround,
                crate::rules::cni::shared::cilium_namespace(c)
            )));
        }
        Ok(findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{IpRule, IpRuleList};
    use crate::rules::testing::{check, load_cluster};
    use serde_json::json;

    fn cluster(rules: &[(u32, &str, Option<&str>, &str)]) -> crate::model::Cluster {
        let mut c = load_cluster(&[json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "cilium-config", "namespace": "kube-system"},
                "data": {"ipam": "eni"}})]);
        c.ip_rules = Some(vec![IpRuleList {
            source: "cilium-bugtool-cilium-9dd2k-20240301-081500/cmd/ip--d-rule.md".into(),
            rules: rules
                .iter()
                .map(|(p, from, to, table)| IpRule {
                    priority: *p,
                    not: false,
                    from: from.to_string(),
                    to: to.map(str::to_string),
                    table: Some(table.to_string()),
                    line: format!("{p}:\tfrom {from} lookup {table}"),
                })
                .collect(),
        }]);
        c
    }

    #[test]
    fn fires_without_the_local_rule() {
        let f = check(
            &LocalRuleMissing,
            &cluster(&[
                (32766, "all", None, "main"),
                (32767, "all", None, "default"),
            ]),
        )
        .unwrap();
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("none of Cilium's ENI rules"));
        assert!(f[0].message.contains("amazon-ec2-net-utils"));
    }

    #[test]
    fn quiet_with_the_local_rule() {
        assert!(check(
            &LocalRuleMissing,
            &cluster(&[(0, "all", None, "local"), (32766, "all", None, "main")])
        )
        .unwrap()
        .is_empty());
    }
}
