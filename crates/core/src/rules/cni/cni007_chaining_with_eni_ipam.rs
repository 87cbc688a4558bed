//! CNI007: aws-cni chaining combined with Cilium's ENI IPAM.

use super::shared::{self, CiliumRole};
use crate::findings::{ObjectRef, Severity};
use crate::model::cilium::helm_get;
use crate::rules::{inputs, Area, Context, Missing, Outcome, Rule, RuleMeta};

pub struct ChainingWithEniIpam;

/// The known issue this rule is about (`data/known-issues.json`).
const ISSUE: &str = "KI023";

static META: RuleMeta = RuleMeta {
    code: "CNI007",
    name: "chaining-with-eni-ipam",
    severity: Severity::Critical,
    area: Area::Cni,
    summary: "cni-chaining-mode is aws-cni and Cilium's ENI IPAM is on too: the two contradict",
    what_it_checks: "Fires when cilium-config (or the Helm values) chains Cilium onto the VPC CNI \
(`cni-chaining-mode: aws-cni`, Helm `cni.chainingMode`) and at the same time turns on Cilium's \
ENI IPAM (`ipam: eni`, Helm `ipam.mode: eni` or `eni.enabled: true`).",
    why_it_matters:
        "In chaining the VPC CNI assigns every pod address; Cilium's ENI IPAM waits for \
addresses in its own CRD-backed pool that nothing fills, so the agents never become ready \
(\"Waiting for IPs to become available in CRD-backed allocation pool\" available=0). Cilium's own \
CI hit the mix: pods then get an egress rule pointing to a route table that does not exist.",
    how_to_fix:
        "Choose one mode. To keep chaining: `eni.enabled=false` and `ipam.mode=cluster-pool` \
(the chart default; the VPC CNI still assigns the addresses). To make Cilium the CNI instead: \
`cni.chainingMode=none` with ENI mode, and take aws-node off the nodes.",
    known_limits: "Reads the configuration only; agent logs showing the empty pool are not needed \
and not read.",
    docs_url: "https://docs.cilium.io/en/stable/installation/cni-chaining-aws-cni/",
};

impl Rule for ChainingWithEniIpam {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        match shared::cilium_role(c)? {
            CiliumRole::Chaining => {}
            CiliumRole::Absent | CiliumRole::Primary => return Ok(vec![]),
        }
        let s = &c.cilium;
        let helm = c.helm_values.as_ref();
        let helm_eni = helm
            .and_then(|h| helm_get(h, "eni.enabled"))
            .and_then(serde_json::Value::as_bool)
            == Some(true);
        if !s.ipam_is_eni() && !helm_eni {
            return Ok(vec![]);
        }
        let issue = cx
            .knowledge
            .cited_issue(ISSUE)
            .ok_or_else(|| Missing::new(format!("known issue {ISSUE}"), inputs::KNOWLEDGE))?;
        let chaining = match s.get("cni-chaining-mode") {
            Some(v) => format!("cilium-config cni-chaining-mode: {v}"),
            None => "Helm cni.chainingMode: aws-cni".to_string(),
        };
        let mut ipam = Vec::new();
        if let Some(v) = s.get("ipam") {
            ipam.push(format!("cilium-config ipam: {v}"));
        } else if let Some(v) = helm.and_then(|h| helm_get(h, "ipam.mode")) {
            ipam.push(format!("Helm ipam.mode: {v}"));
        }
        if helm_eni {
            ipam.push("Helm eni.enabled: true".to_string());
        }
        let object = match &s.agent_daemonset {
            Some(k) => ObjectRef::new("DaemonSet", Some(&k.namespace), &k.name),
            None => ObjectRef::new("ConfigMap", Some("kube-system"), "cilium-config"),
        };
        let mut f = META
            .finding(
                object,
                "Cilium chains onto the VPC CNI (aws-cni) and runs its own ENI IPAM at the same time: the agents wait for an IP pool nothing fills",
            )
            .with_evidence(chaining);
        for line in ipam {
            f = f.with_evidence(line);
        }
        f = f
            .with_evidence(format!("{}: {}", issue.reference(), issue.symptom))
            .with_remediation(format!(
                "# {}\n{}\n# (Or leave chaining: cni.chainingMode=none with ENI mode, and take aws-node off the nodes.)",
                issue.workaround,
                shared::helm_upgrade(c, &["--set eni.enabled=false", "--set ipam.mode=cluster-pool"])
            ));
        Ok(vec![f])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{check, load_cluster, load_cluster_with_helm};
    use serde_json::json;

    fn agent() -> serde_json::Value {
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "cilium", "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
            "spec": {"template": {"spec": {"containers": [
                {"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.12.2"}]}}}})
    }

    fn config(data: serde_json::Value) -> serde_json::Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cilium-config", "namespace": "kube-system"}, "data": data})
    }

    #[test]
    fn fires_on_chaining_with_eni_ipam() {
        // UP24 (cilium#21752): chainingMode aws-cni with ipam.mode eni.
        let c = load_cluster(&[
            agent(),
            config(json!({"cni-chaining-mode": "aws-cni", "ipam": "eni"})),
        ]);
        let f = check(&ChainingWithEniIpam, &c).unwrap();
        assert_eq!(f.len(), 1);
        assert!(f[0].evidence.iter().any(|e| e == "cilium-config ipam: eni"));
        assert!(f[0].remediation.contains("ipam.mode=cluster-pool"));
        assert!(f[0].evidence.iter().any(|e| e.contains("KI023")));
    }

    #[test]
    fn fires_on_helm_eni_enabled() {
        let c = load_cluster_with_helm(
            &[agent()],
            json!({"cni": {"chainingMode": "aws-cni"}, "eni": {"enabled": true}}),
        );
        let f = check(&ChainingWithEniIpam, &c).unwrap();
        assert_eq!(f.len(), 1);
        assert!(f[0].evidence.iter().any(|e| e == "Helm eni.enabled: true"));
    }

    #[test]
    fn quiet_on_plain_chaining_and_on_eni_mode() {
        let c = load_cluster(&[
            agent(),
            config(json!({"cni-chaining-mode": "aws-cni", "ipam": "cluster-pool"})),
        ]);
        assert!(check(&ChainingWithEniIpam, &c).unwrap().is_empty());
        let c = load_cluster(&[agent(), config(json!({"ipam": "eni"}))]);
        assert!(check(&ChainingWithEniIpam, &c).unwrap().is_empty());
    }
}
