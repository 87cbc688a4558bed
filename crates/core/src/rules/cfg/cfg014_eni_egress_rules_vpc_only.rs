//! CFG014: ENI mode with masquerading installs per-endpoint egress rules
//! for the VPC CIDR only; pods on secondary ENIs send external traffic
//! through the main table's interface.

use std::collections::BTreeMap;

use super::os_nodes::capture_place;
use crate::findings::Severity;
use crate::model::IpRule;
use crate::rules::ops::common::agent_object;
use crate::rules::{inputs, Area, Context, Missing, Outcome, Rule, RuleMeta};

pub struct EniEgressRulesVpcOnly;

/// The known issue this rule is about (`data/known-issues.json`).
const ISSUE: &str = "KI019";

/// Cilium's per-endpoint egress rule priority in ENI mode (v2 scheme).
const EGRESS_PRIORITY: u32 = 111;

static META: RuleMeta = RuleMeta {
    code: "CFG014",
    name: "eni-egress-rules-vpc-only",
    severity: Severity::High,
    area: Area::Cfg,
    summary: "ENI mode with masquerading: pods on several ENIs have egress rules for the VPC CIDR only, so external traffic of pods on secondary ENIs leaves through the wrong interface",
    what_it_checks: "With Cilium's ENI IPAM, reads each node's `ip rule` capture of a sysdump \
and Cilium's per-endpoint egress rules (priority 111, `from <pod IP> to <VPC CIDR> lookup \
<10 + ENI number>`). It fires when the pods of a node sit on two or more ENI tables and their \
egress rules all carry a `to` (the shape Cilium installs when masquerading is on) with no \
`from <pod IP> lookup <table>` for all destinations.",
    why_it_matters: "With masquerading, Cilium installed only `from <IP> to <VPC CIDR>` rules: \
traffic from a pod to the internet matches none and falls to the main table, whose default \
route leaves through another ENI; AWS drops packets whose source address does not belong to the \
ENI they leave from. So some pods reach external targets and others, on the secondary ENIs, do \
not (cilium#45137, cilium#18179).",
    how_to_fix: "Upgrade Cilium to a release with cilium/cilium#47008 (per-ENI rules for all \
traffic) once one is published; until then the reporter's workaround is to set the masquerade \
interface index to 1, and from 1.18 the chart turns IPv4 masquerading off in ENI mode (pods keep \
their VPC addresses and route through their own ENI).",
    known_limits: "The release that ships the fix is not identified in the data, so the running \
version is not compared. Only IPv4 rule captures are read; nodes without a capture are not \
judged.",
    docs_url: "https://docs.cilium.io/en/stable/network/concepts/ipam/eni/",
};

impl Rule for EniEgressRulesVpcOnly {
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
        let Some(lists) = c.ip_rules.as_deref() else {
            return Err(Missing::new(
                "the nodes' ip rules (ip -d rule)",
                "cilium sysdump (its bugtool archives hold cmd/ip-rule.md or cmd/ip--d-rule.md)",
            ));
        };
        let issue = cx
            .knowledge
            .cited_issue(ISSUE)
            .ok_or_else(|| Missing::new(format!("known issue {ISSUE}"), inputs::KNOWLEDGE))?;
        let mut findings = Vec::new();
        for list in lists {
            let egress: Vec<&IpRule> = list
                .rules
                .iter()
                .filter(|r| r.priority == EGRESS_PRIORITY && r.from != "all" && !r.not)
                .collect();
            if egress.is_empty() || egress.iter().any(|r| r.to.is_none()) {
                continue;
            }
            let mut by_table: BTreeMap<u32, Vec<&IpRule>> = BTreeMap::new();
            for r in &egress {
                if let Some(t) = r.table.as_deref().and_then(|t| t.parse::<u32>().ok()) {
                    by_table.entry(t).or_default().push(r);
                }
            }
            if by_table.len() < 2 {
                continue;
            }
            let first_table = *by_table.keys().next().unwrap_or(&0);
            let secondary: Vec<String> = by_table
                .iter()
                .filter(|(t, _)| **t != first_table)
                .map(|(t, rules)| format!("table {t}: {} pod(s)", rules.len()))
                .collect();
            let place = capture_place(cx, &list.source);
            let mut f = META
                .finding(
                    agent_object(c),
                    format!(
                        "{place}: pods on {} ENI tables have egress rules only `to` the VPC CIDR (masquerading on): external traffic of the pods on the later ENIs ({}) falls to the main table and leaves through the wrong interface",
                        by_table.len(),
                        secondary.join(", ")
                    ),
                );
            for rules in by_table.values() {
                f = f.with_evidence(format!("ip rule: {}", rules[0].line));
            }
            f = f.with_evidence(format!("{}: {}", issue.reference(), issue.title));
            findings.push(f.with_remediation(format!(
                "# {}\n\
# the fix: cilium/cilium#47008 (per-ENI rules for all traffic); check the release notes of the next patch of your minor\n\
{}",
                issue.workaround,
                crate::rules::cni::shared::helm_upgrade(c, &[])
            )));
        }
        Ok(findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::IpRuleList;
    use crate::rules::testing::{check, load_cluster};
    use serde_json::json;

    fn rule(p: u32, from: &str, to: Option<&str>, table: &str) -> IpRule {
        IpRule {
            priority: p,
            not: false,
            from: from.into(),
            to: to.map(str::to_string),
            table: Some(table.into()),
            line: match to {
                Some(to) => format!("{p}:\tfrom {from} to {to} lookup {table}"),
                None => format!("{p}:\tfrom {from} lookup {table}"),
            },
        }
    }

    fn cluster(rules: Vec<IpRule>) -> crate::model::Cluster {
        let mut c = load_cluster(&[json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "cilium-config", "namespace": "kube-system"},
                "data": {"ipam": "eni", "enable-ipv4-masquerade": "true"}})]);
        c.ip_rules = Some(vec![IpRuleList {
            source: "ip--d-rule.md".into(),
            rules,
        }]);
        c
    }

    #[test]
    fn fires_on_vpc_only_rules_across_enis() {
        let f = check(
            &EniEgressRulesVpcOnly,
            &cluster(vec![
                rule(111, "10.0.1.45", Some("10.0.0.0/16"), "11"),
                rule(111, "10.0.2.17", Some("10.0.0.0/16"), "12"),
            ]),
        )
        .unwrap();
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("table 12: 1 pod(s)"));
        assert!(f[0].remediation.contains("47008"));
    }

    #[test]
    fn quiet_with_one_eni_or_catch_all_rules() {
        assert!(check(
            &EniEgressRulesVpcOnly,
            &cluster(vec![rule(111, "10.0.1.45", Some("10.0.0.0/16"), "11")])
        )
        .unwrap()
        .is_empty());
        assert!(check(
            &EniEgressRulesVpcOnly,
            &cluster(vec![
                rule(111, "10.0.1.45", None, "11"),
                rule(111, "10.0.2.17", None, "12"),
            ])
        )
        .unwrap()
        .is_empty());
    }
}
