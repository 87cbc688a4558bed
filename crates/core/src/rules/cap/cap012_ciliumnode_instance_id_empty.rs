//! CAP012 ciliumnode-instance-id-empty.

use super::common::{self, Ipam};
use crate::findings::{ObjectRef, Severity};
use crate::rules::ops::common as ops;
use crate::rules::{inputs, Area, Context, Outcome, Rule, RuleMeta};

pub struct CiliumNodeInstanceIdEmpty;

static META: RuleMeta = RuleMeta {
    code: "CAP012",
    name: "ciliumnode-instance-id-empty",
    severity: Severity::High,
    area: Area::Cap,
    summary: "ENI IPAM: a CiliumNode has no EC2 instance id, so its ENIs and addresses cannot be tied to its instance",
    what_it_checks: "ENI IPAM: CiliumNodes whose `spec.instance-id` and `spec.eni.instance-id` \
are both absent or empty; the evidence counts the ENIs of `status.eni.enis` and the \
instances their `Cilium-CNI (<instance id>)` descriptions name.",
    why_it_matters: "The agent writes the instance id it reads from the EC2 instance metadata \
service; the metadata service has answered with an empty id (cilium#15682). With no \
instance id the operator can match ENIs of every instance of the VPC to the node: pods \
then get addresses of ENIs attached elsewhere and fail with `unable to find ifindex for \
interface MAC`; or the node never receives addresses.",
    how_to_fix: "Restart the agent on that node so it reads its instance id again, and check \
that `spec.instance-id` is filled: `kubectl -n kube-system delete pod AGENT_POD` then \
`kubectl get ciliumnode NAME -o jsonpath='{.spec.instance-id}'`. If it stays empty, check \
that the node reaches the instance metadata service (169.254.169.254).",
    known_limits: "Reads CiliumNode objects only; the cause (metadata service, a very old \
agent) is not told apart.",
    docs_url: "https://docs.cilium.io/en/stable/network/concepts/ipam/eni/",
};

impl Rule for CiliumNodeInstanceIdEmpty {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        if common::ipam(cx)? != Some(Ipam::Eni) {
            return Ok(vec![]);
        }
        let Some(cilium_nodes) = c.cilium_nodes.as_deref() else {
            return META.missing("no CiliumNode objects", inputs::CILIUM_NODES);
        };
        let mut findings = Vec::new();
        for cn in cilium_nodes.iter().filter(|n| n.instance_id().is_none()) {
            let name = cn.metadata.name.as_str();
            let mut f = META
                .finding(
                    ObjectRef::global("CiliumNode", name),
                    format!(
                        "CiliumNode {name} has no EC2 instance id: the operator cannot tie ENIs and addresses to its instance"
                    ),
                )
                .with_evidence(format!(
                    "CiliumNode {name}: spec.instance-id {:?}, spec.eni.instance-id {:?}",
                    cn.spec.instance_id.as_deref().unwrap_or(""),
                    cn.spec.eni.instance_id.as_deref().unwrap_or("")
                ));
            let enis = &cn.status.eni.enis;
            if !enis.is_empty() {
                let mut owners: Vec<&str> = enis
                    .values()
                    .filter_map(|e| {
                        e.description
                            .as_deref()?
                            .strip_prefix(crate::model::CILIUM_ENI_DESCRIPTION_PREFIX)?
                            .strip_suffix(')')
                    })
                    .filter(|i| !i.is_empty())
                    .collect();
                owners.sort_unstable();
                owners.dedup();
                let mut line = format!("status.eni.enis lists {} ENI(s)", enis.len());
                if owners.len() > 1 {
                    line.push_str(&format!(
                        " created for {} different instances ({})",
                        owners.len(),
                        ops::capped(owners.iter().map(|s| s.to_string()).collect(), 5).join(", ")
                    ));
                }
                f = f.with_evidence(line);
            }
            let agent = cx
                .facts
                .agent_pod_on(name)
                .map_or("CILIUM_AGENT_POD_ON_THE_NODE", |p| p.metadata.name.as_str());
            findings.push(f.with_remediation(format!(
                "kubectl -n kube-system delete pod {agent}\n\
kubectl get ciliumnode {name} -o jsonpath='{{.spec.instance-id}}'"
            )));
        }
        Ok(findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{fired, load_cluster, outcome};
    use serde_json::json;

    #[test]
    fn empty_instance_id_fires_with_the_enis_it_gathered() {
        let c = load_cluster(&[
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "cilium-config", "namespace": "kube-system"},
                "data": {"ipam": "eni"}}),
            json!({"apiVersion": "cilium.io/v2", "kind": "CiliumNodeList", "items": [
                {"metadata": {"name": "ip-10-0-1-10.ec2.internal"}, "spec": {"instance-id": "i-0ok"}},
                {"metadata": {"name": "ip-10-0-1-11.ec2.internal"}, "spec": {"instance-id": "", "eni": {}},
                 "status": {"eni": {"enis": {
                    "eni-1": {"id": "eni-1", "description": "Cilium-CNI (i-0aaa)"},
                    "eni-2": {"id": "eni-2", "description": "Cilium-CNI (i-0bbb)"}}}}}]}),
        ]);
        let f = fired(outcome(&CiliumNodeInstanceIdEmpty, &c));
        assert_eq!(f.len(), 1);
        assert!(f[0]
            .message
            .starts_with("CiliumNode ip-10-0-1-11.ec2.internal has no EC2 instance id"));
        assert!(
            f[0].evidence[1].contains("2 different instances (i-0aaa, i-0bbb)"),
            "{:?}",
            f[0].evidence
        );
    }

    #[test]
    fn other_ipam_is_not_judged() {
        let c = load_cluster(&[
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "cilium-config", "namespace": "kube-system"},
                "data": {"ipam": "cluster-pool"}}),
            json!({"apiVersion": "cilium.io/v2", "kind": "CiliumNodeList", "items": [
                {"metadata": {"name": "n1"}, "spec": {}}]}),
        ]);
        assert_eq!(outcome(&CiliumNodeInstanceIdEmpty, &c), Ok(vec![]));
    }
}
