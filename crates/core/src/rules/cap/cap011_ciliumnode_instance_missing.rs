//! CAP011 ciliumnode-instance-missing.

use std::collections::HashMap;

use super::common::{self, Ipam};
use crate::findings::{ObjectRef, Severity};
use crate::model::Ec2Instance;
use crate::rules::{inputs, Area, Context, Outcome, Rule, RuleMeta};

pub struct CiliumNodeInstanceMissing;

static META: RuleMeta = RuleMeta {
    code: "CAP011",
    name: "ciliumnode-instance-missing",
    severity: Severity::Medium,
    area: Area::Cap,
    summary: "A CiliumNode names an EC2 instance that no longer exists (or is terminated)",
    what_it_checks: "ENI IPAM: each CiliumNode's `spec.instance-id` (or `spec.eni.instance-id`) \
against `aws ec2 describe-instances`: absent from the output, or in state `terminated` / \
`shutting-down`. Evaluated only when the output holds at least one CiliumNode's instance \
(an output of other instances says nothing).",
    why_it_matters: "The operator keeps trying to fill the stale CiliumNode's address \
deficit: it creates ENIs and fails to attach them (`InvalidInstanceID.NotFound: The \
instance ID '…' does not exist`, cilium#9533), burning EC2 API calls and leaving detached \
ENIs behind (CAP010); its log repeats `Instance not found! Please delete corresponding \
ciliumnode if instance has already been deleted.`",
    how_to_fix: "Delete the stale CiliumNode (and the Kubernetes Node if it is left too): \
`kubectl delete ciliumnode NAME`. Then find why it stayed: nodes removed without draining \
them through Kubernetes, or an operator that was not running when the node left.",
    known_limits: "Needs DescribeInstances covering the cluster's instances (a dump filtered \
to one node group makes the others look missing: the rule only judges when the dump holds \
at least one CiliumNode's instance). Other IPAM modes are not judged.",
    docs_url: "https://docs.cilium.io/en/stable/network/concepts/ipam/eni/",
};

impl Rule for CiliumNodeInstanceMissing {
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
        let Some(instances) = c.instances.as_deref() else {
            return META.missing("no EC2 DescribeInstances output", inputs::INSTANCES);
        };
        let by_id: HashMap<&str, &Ec2Instance> = instances
            .iter()
            .map(|i| (i.instance_id.as_str(), i))
            .collect();
        let with_id: Vec<_> = cilium_nodes
            .iter()
            .filter_map(|n| Some((n, n.instance_id()?)))
            .collect();
        if !with_id.is_empty() && !with_id.iter().any(|(_, id)| by_id.contains_key(id)) {
            return META.missing(
                "the DescribeInstances output holds none of the CiliumNodes' instances",
                inputs::INSTANCES,
            );
        }
        let nodes: Option<Vec<&str>> = c
            .nodes
            .as_deref()
            .map(|n| n.iter().map(|n| n.metadata.name.as_str()).collect());
        let mut findings = Vec::new();
        for (cn, id) in with_id {
            let state = match by_id.get(id) {
                None => "does not exist in the DescribeInstances output".to_string(),
                Some(i) => match i.state_name() {
                    Some(s @ ("terminated" | "shutting-down")) => format!("is {s}"),
                    _ => continue,
                },
            };
            let name = cn.metadata.name.as_str();
            let node_left = nodes.as_ref().map(|n| n.contains(&name));
            let mut f = META
                .finding(
                    ObjectRef::global("CiliumNode", name),
                    format!(
                        "CiliumNode {name} names EC2 instance {id}, which {state}: the operator keeps trying to attach ENIs to it"
                    ),
                )
                .with_evidence(format!("CiliumNode {name}: spec.instance-id {id}"));
            match by_id.get(id).and_then(|i| i.state_name()) {
                Some(s) => f = f.with_evidence(format!("EC2 {id}: State.Name {s}")),
                None => {
                    f = f.with_evidence(format!(
                        "EC2 DescribeInstances: {} instance(s), none is {id}",
                        instances.len()
                    ))
                }
            }
            let mut fix = format!("kubectl delete ciliumnode {name}");
            match node_left {
                Some(true) => {
                    f = f.with_evidence(format!("the Kubernetes Node {name} still exists"));
                    fix.push_str(&format!(
                        "\n# The Node object is left too: drain it if it still runs pods, then\nkubectl delete node {name}"
                    ));
                }
                Some(false) => {
                    f = f.with_evidence(format!("no Kubernetes Node {name}"));
                }
                None => {}
            }
            fix.push_str(
                "\nkubectl -n kube-system logs deploy/cilium-operator --since=1h | grep -E 'Instance not found|InvalidInstanceID.NotFound'",
            );
            findings.push(f.with_remediation(fix));
        }
        Ok(findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{fired, load_cluster, missing, outcome};
    use serde_json::{json, Value};

    fn config() -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cilium-config", "namespace": "kube-system"},
            "data": {"ipam": "eni"}})
    }

    fn cilium_nodes() -> Value {
        json!({"apiVersion": "cilium.io/v2", "kind": "CiliumNodeList", "items": [
            {"metadata": {"name": "ip-10-0-1-10.ec2.internal"}, "spec": {"instance-id": "i-0live"}},
            {"metadata": {"name": "ip-10-0-1-11.ec2.internal"}, "spec": {"eni": {"instance-id": "i-0gone"}}},
            {"metadata": {"name": "ip-10-0-1-12.ec2.internal"}, "spec": {"instance-id": "i-0term"}}]})
    }

    fn instances(ids: &[(&str, &str)]) -> Value {
        json!({"Reservations": [{"Instances": ids.iter().map(|(id, state)|
            json!({"InstanceId": id, "State": {"Code": 16, "Name": state}})).collect::<Vec<_>>()}]})
    }

    #[test]
    fn gone_and_terminated_instances() {
        let c = load_cluster(&[
            config(),
            cilium_nodes(),
            json!({"apiVersion": "v1", "kind": "NodeList", "items": [
                {"metadata": {"name": "ip-10-0-1-11.ec2.internal"}}]}),
            instances(&[("i-0live", "running"), ("i-0term", "terminated")]),
        ]);
        let f = fired(outcome(&CiliumNodeInstanceMissing, &c));
        assert_eq!(f.len(), 2);
        assert!(
            f[0].message.contains("i-0gone, which does not exist"),
            "{}",
            f[0].message
        );
        assert!(f[0]
            .remediation
            .contains("kubectl delete node ip-10-0-1-11.ec2.internal"));
        assert!(f[1].message.contains("i-0term, which is terminated"));
        assert!(f[1]
            .evidence
            .iter()
            .any(|e| e == "no Kubernetes Node ip-10-0-1-12.ec2.internal"));
    }

    #[test]
    fn unrelated_dump_and_missing() {
        let c = load_cluster(&[
            config(),
            cilium_nodes(),
            instances(&[("i-0else", "running")]),
        ]);
        assert!(
            missing(outcome(&CiliumNodeInstanceMissing, &c)).contains("none of the CiliumNodes")
        );
        let c = load_cluster(&[config(), cilium_nodes()]);
        assert!(missing(outcome(&CiliumNodeInstanceMissing, &c)).contains("DescribeInstances"));
        let c = load_cluster(&[
            config(),
            cilium_nodes(),
            instances(&[
                ("i-0live", "running"),
                ("i-0gone", "running"),
                ("i-0term", "stopped"),
            ]),
        ]);
        assert_eq!(outcome(&CiliumNodeInstanceMissing, &c), Ok(vec![]));
    }
}
