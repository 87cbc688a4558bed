//! CFG007: egress-masquerade-interfaces names eth* interfaces while nodes
//! run Amazon Linux 2023, whose interfaces are named ens*.

use super::os_nodes;
use crate::findings::{ObjectRef, Severity};
use crate::knowledge::AmiFamily;
use crate::rules::cni::shared;
use crate::rules::iam::eni_actions::setting;
use crate::rules::{inputs, Area, Context, Missing, Outcome, Rule, RuleMeta};

pub struct Al2023MasqueradeInterfacesEth;

/// The known issue this rule is about (`data/known-issues.json`).
const ISSUE: &str = "KI029";

static META: RuleMeta = RuleMeta {
    code: "CFG007",
    name: "al2023-masquerade-interfaces-eth",
    severity: Severity::High,
    area: Area::Cfg,
    summary: "egress-masquerade-interfaces names eth* on Amazon Linux 2023 nodes, whose interfaces are ens*: it matches nothing",
    what_it_checks: "When cilium-config `egress-masquerade-interfaces` (Helm \
`egressMasqueradeInterfaces`) is set and every one of its interface selectors starts with `eth` \
(`eth0`, `eth+`, as Cilium's EKS install guide set up to 1.17), while nodes run Amazon Linux \
2023 (Node `status.nodeInfo.osImage`, or a node group's `amiType`) and iptables masquerading is \
on (`enable-ipv4-masquerade` not false, `enable-bpf-masquerade` not true).",
    why_it_matters: "AL2023 names its interfaces with systemd's predictable names (`ens5`, \
`ens6`, …) where AL2 had `eth0`. Cilium writes its masquerade rules with `-o <interfaces>`, so \
a selector that names eth* matches no packet: pod traffic leaving the node is not masqueraded, \
and in overlay with kube-proxy replacement CoreDNS and hubble-relay cannot reach Services \
(\"CoreDNS is unable to reach default \\\"kubernetes\\\" service.\").",
    how_to_fix: "Set the selector to the names AL2023 uses (`en+`/`ens+`), which also match on \
AL2, or unset it and rely on `ipv4-native-routing-cidr`. Roll the agents afterwards.",
    known_limits: "Interface names are inferred from the OS image, not read from the node; \
custom AMIs that rename interfaces back to eth* will be reported wrongly. Selectors mixing eth* \
with other names are not reported.",
    docs_url: "https://docs.cilium.io/en/stable/network/concepts/masquerading/",
};

impl Rule for Al2023MasqueradeInterfacesEth {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        if !shared::cilium_config_known(c)? {
            return Ok(vec![]);
        }
        let Some((value, source)) = setting(
            cx,
            "egress-masquerade-interfaces",
            "egressMasqueradeInterfaces",
        ) else {
            return Ok(vec![]);
        };
        let selectors: Vec<&str> = value
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if selectors.is_empty() || !selectors.iter().all(|s| s.starts_with("eth")) {
            return Ok(vec![]);
        }
        if c.cilium.get("enable-ipv4-masquerade") == Some("false")
            || c.cilium.get("enable-bpf-masquerade") == Some("true")
        {
            return Ok(vec![]);
        }
        if !os_nodes::known(c) {
            return Err(Missing::new(
                "no Nodes or node groups (needed to see the node OS)",
                inputs::NODES,
            ));
        }
        let al2023 = os_nodes::of_family(c, AmiFamily::Al2023);
        if al2023.is_empty() {
            return Ok(vec![]);
        }
        let issue = cx
            .knowledge
            .cited_issue(ISSUE)
            .ok_or_else(|| Missing::new(format!("known issue {ISSUE}"), inputs::KNOWLEDGE))?;
        // What Cilium's EKS guide names for AL2023: the running minor's, else
        // the newest guide that names one.
        let guide = c
            .cilium
            .version
            .and_then(|v| cx.knowledge.cilium_eks(v.minor()))
            .and_then(|m| {
                m.al2023_egress_masquerade_interfaces
                    .clone()
                    .map(|i| (m.minor, i))
            })
            .or_else(|| {
                cx.knowledge.cilium_eks.minors.iter().rev().find_map(|m| {
                    m.al2023_egress_masquerade_interfaces
                        .clone()
                        .map(|i| (m.minor, i))
                })
            });
        let object = match &c.cilium.agent_daemonset {
            Some(a) => ObjectRef::new("DaemonSet", Some(&a.namespace), &a.name),
            None => ObjectRef::new("ConfigMap", Some("kube-system"), "cilium-config"),
        };
        let mut f = META
            .finding(
                object,
                format!(
                    "egress-masquerade-interfaces {value} matches no interface on the Amazon Linux 2023 nodes (they are named ens*): their pod traffic is not masqueraded"
                ),
            )
            .with_evidence(source)
            .with_evidence(format!(
                "Amazon Linux 2023: {}",
                shared::sample_list(&al2023, 5)
            ));
        if let Some((minor, iface)) = &guide {
            f = f.with_evidence(format!(
                "Cilium {minor}'s EKS install guide names {iface} for Amazon Linux 2023"
            ));
        }
        f = f.with_evidence(format!("{}: {}", issue.reference(), issue.symptom));
        let iface = guide.map(|(_, i)| i).unwrap_or_else(|| "'<ens+>'".into());
        Ok(vec![f.with_remediation(format!(
            "# {}\n{}\nkubectl -n {} rollout restart daemonset/cilium",
            issue.workaround,
            shared::helm_upgrade(c, &[&format!("--set egressMasqueradeInterfaces={iface}")]),
            shared::cilium_namespace(c)
        ))])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{check, load_cluster};
    use serde_json::json;

    fn docs(data: serde_json::Value, os: &str) -> Vec<serde_json::Value> {
        vec![
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
                "metadata": {"name": "cilium", "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
                "spec": {"template": {"spec": {"containers": [
                    {"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.16.4"}]}}}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "cilium-config", "namespace": "kube-system"}, "data": data}),
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "ip-192-168-10-4.ec2.internal"},
                "status": {"nodeInfo": {"osImage": os, "kernelVersion": "6.1.115-126.197.amzn2023.x86_64"}}}),
        ]
    }

    #[test]
    fn fires_on_al2023_with_eth0() {
        // UP39 (cilium#37492): Cilium 1.16.4, EKS 1.31 AL2023, egressMasqueradeInterfaces=eth0.
        let c = load_cluster(&docs(
            json!({"egress-masquerade-interfaces": "eth0", "enable-ipv4-masquerade": "true"}),
            "Amazon Linux 2023.6.20241121",
        ));
        let f = check(&Al2023MasqueradeInterfacesEth, &c).unwrap();
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("eth0"));
        assert!(f[0]
            .evidence
            .iter()
            .any(|e| e.contains("Amazon Linux 2023.6.20241121")));
        assert!(f[0].remediation.contains("egressMasqueradeInterfaces=ens+"));
    }

    #[test]
    fn quiet_on_al2_en_plus_or_bpf_masquerade() {
        let c = load_cluster(&docs(
            json!({"egress-masquerade-interfaces": "eth0"}),
            "Amazon Linux 2",
        ));
        assert!(check(&Al2023MasqueradeInterfacesEth, &c)
            .unwrap()
            .is_empty());
        let c = load_cluster(&docs(
            json!({"egress-masquerade-interfaces": "en+"}),
            "Amazon Linux 2023.6.20241121",
        ));
        assert!(check(&Al2023MasqueradeInterfacesEth, &c)
            .unwrap()
            .is_empty());
        let c = load_cluster(&docs(
            json!({"egress-masquerade-interfaces": "eth0", "enable-bpf-masquerade": "true"}),
            "Amazon Linux 2023.6.20241121",
        ));
        assert!(check(&Al2023MasqueradeInterfacesEth, &c)
            .unwrap()
            .is_empty());
    }
}
