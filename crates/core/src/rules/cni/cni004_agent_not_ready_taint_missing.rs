//! CNI004: node groups and Karpenter NodePools without Cilium's
//! agent-not-ready taint.

use serde_json::json;

use super::shared;
use crate::findings::{ObjectRef, Severity};
use crate::model::Taint;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct AgentNotReadyTaintMissing;

/// The taint Cilium's EKS requirements ask for
/// (/work/shared/data/cilium/eks.json `requirements_eks.node_taint`,
/// `taints.default_key`); the key can be changed with the agent option
/// `agent-not-ready-taint-key` (eks.json `taints.custom_key`).
const DEFAULT_TAINT_KEY: &str = "node.cilium.io/agent-not-ready";
const TAINT_VALUE: &str = "true";
/// EKS API spelling (describe-nodegroup) and Kubernetes spelling (NodePool).
const EKS_NO_EXECUTE: &str = "NO_EXECUTE";
const K8S_NO_EXECUTE: &str = "NoExecute";

static META: RuleMeta = RuleMeta {
    code: "CNI004",
    name: "agent-not-ready-taint-missing",
    severity: Severity::Medium,
    area: Area::Cni,
    summary: "Node groups or Karpenter NodePools lack the node.cilium.io/agent-not-ready=true:NoExecute taint",
    what_it_checks: "Where Cilium runs, every EKS managed node group (`aws eks \
describe-nodegroup` → `taints`) must carry `node.cilium.io/agent-not-ready=true` with effect \
`NO_EXECUTE`, and every Karpenter NodePool (`spec.template.spec.startupTaints`) the same taint \
with effect `NoExecute`. Only the key is matched: Cilium removes the taint by key, so any value \
and either effect (NoSchedule or NoExecute, a documented trade-off) count. The rule fires for each \
node group or NodePool without it, or (Karpenter) with the taint under `taints` instead of \
`startupTaints`. A custom key set with `agent-not-ready-taint-key` in cilium-config is honoured.",
    why_it_matters: "A new node accepts pods as soon as the kubelet is ready, before the Cilium \
agent has started. Pods scheduled in that window are set up by whatever CNI config is on the \
node (the VPC CNI's on EKS AMIs) or fail, and stay unmanaged by Cilium until restarted. The \
taint keeps pods off the node until Cilium removes it. NoSchedule is not enough: pods already \
bound to the node (e.g. after a reboot) still start; NoExecute also evicts them whenever the \
taint is re-added. For Karpenter, a taint under `taints` is permanent in its scheduling \
simulation, so pods without a toleration never get a node; `startupTaints` is the field for \
taints a daemon removes.",
    how_to_fix: "Add the taint to the node group with `aws eks update-nodegroup-config \
--taints` (effect `NO_EXECUTE`), and to Karpenter NodePools under \
`spec.template.spec.startupTaints` (effect `NoExecute`). Keep the same change in eksctl, \
Terraform or CloudFormation definitions. The Cilium operator removes the taint from nodes \
where the agent is ready (`operator.removeNodeTaints`, on by default).",
    known_limits: "Self-managed node groups (Auto Scaling groups without an EKS node group) and \
Karpenter's older Provisioner API are not checked. The taint value and effect are not compared: \
Cilium removes the taint by key. Bootstrap exception: a node group or NodePool that hosts what \
Cilium's own installation depends on (the GitOps controller that installs Cilium, cert-manager \
with a post-install hook) must not carry the taint, or nothing ever removes it and the first \
apply times out (cztack#926); annotate that NodePool `eks-cilium-doctor.io/ignore-CNI004: \"bootstrap pool\"` (or add \
an `ignore` entry with objects `NodePool/NAME`) and keep the taint on every other pool.",
    docs_url: "https://docs.cilium.io/en/stable/installation/taints/",
};

impl Rule for AgentNotReadyTaintMissing {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        if c.nodegroups.is_none() && c.node_pools.is_none() {
            return META.missing(
                "no EKS node groups or Karpenter NodePools",
                "aws eks describe-nodegroup --cluster-name CLUSTER_NAME --nodegroup-name NODEGROUP --output json > nodegroup-NODEGROUP.json (each node group); kubectl get nodepools.karpenter.sh -o json > nodepools.json",
            );
        }
        if !shared::cilium_installed(c)? {
            return Ok(vec![]);
        }
        let key = c
            .cilium
            .get("agent-not-ready-taint-key")
            .filter(|k| !k.is_empty())
            .unwrap_or(DEFAULT_TAINT_KEY);
        let cluster = cx.cluster_name();
        let mut findings = Vec::new();

        for ng in c.nodegroups.as_deref().unwrap_or_default() {
            // Cilium removes the taint by key: any value and effect serve.
            if ng.taints.iter().any(|t| t.key == key) {
                continue;
            }
            let message = format!(
                "node group {} lacks the {key}={TAINT_VALUE}:NoExecute taint: pods can start on its new nodes before Cilium is ready",
                ng.nodegroup_name
            );
            let taints: Vec<String> = ng
                .taints
                .iter()
                .map(|t| {
                    format!(
                        "{}={}:{}",
                        t.key,
                        t.value.as_deref().unwrap_or(""),
                        t.effect
                    )
                })
                .collect();
            let add = json!({"addOrUpdateTaints": [
                {"key": key, "value": TAINT_VALUE, "effect": EKS_NO_EXECUTE}
            ]});
            let ng_name = &ng.nodegroup_name;
            let update = |payload: &serde_json::Value| {
                format!(
                    "aws eks update-nodegroup-config --cluster-name {cluster} --nodegroup-name {ng_name} \\\n  --taints '{payload}'"
                )
            };
            let mut fix = update(&add);
            fix.push_str(
                "\n# Add the same taint (effect NoExecute) to the node group in eksctl/Terraform/CloudFormation so the next apply keeps it.",
            );
            let finding = META
                .finding(ObjectRef::global("Nodegroup", &ng.nodegroup_name), message)
                .with_evidence(format!(
                    "aws eks describe-nodegroup {}: taints {}",
                    ng.nodegroup_name,
                    if taints.is_empty() {
                        "(none)".to_string()
                    } else {
                        taints.join(", ")
                    }
                ))
                .with_evidence(format!(
                    "instance types {}, scaling min {} / max {}",
                    if ng.instance_types.is_empty() {
                        "(from launch template)".to_string()
                    } else {
                        ng.instance_types.join(", ")
                    },
                    ng.scaling_config
                        .min_size
                        .map_or("?".to_string(), |n| n.to_string()),
                    ng.scaling_config
                        .max_size
                        .map_or("?".to_string(), |n| n.to_string())
                ))
                .with_remediation(fix);
            findings.push(finding);
        }

        for pool in c.node_pools.as_deref().unwrap_or_default() {
            let spec = &pool.spec.template.spec;
            let startup: Vec<&Taint> = spec
                .startup_taints
                .iter()
                .filter(|t| t.key == key)
                .collect();
            if !startup.is_empty() {
                continue;
            }
            let permanent = spec.taints.iter().find(|t| t.key == key);
            let name = &pool.metadata.name;
            let message = match permanent {
                Some(_) => format!(
                    "NodePool {name} has {key} under taints, not startupTaints: Karpenter treats it as permanent"
                ),
                None => format!(
                    "NodePool {name} lacks the startup taint {key}={TAINT_VALUE}:NoExecute: pods can start on its new nodes before Cilium is ready"
                ),
            };
            let render = |ts: &[Taint]| -> String {
                if ts.is_empty() {
                    return "(none)".to_string();
                }
                ts.iter()
                    .map(|t| {
                        format!(
                            "{}={}:{}",
                            t.key,
                            t.value.as_deref().unwrap_or(""),
                            t.effect
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            // A merge patch replaces the whole list: keep the other startup taints.
            let mut new_startup: Vec<serde_json::Value> = spec
                .startup_taints
                .iter()
                .filter(|t| t.key != key)
                .map(|t| {
                    let mut v = json!({"key": t.key, "effect": t.effect});
                    if let Some(value) = &t.value {
                        v["value"] = json!(value);
                    }
                    v
                })
                .collect();
            new_startup.push(json!({"key": key, "value": TAINT_VALUE, "effect": K8S_NO_EXECUTE}));
            let mut patch_spec = json!({"startupTaints": new_startup});
            if permanent.is_some() {
                let kept: Vec<serde_json::Value> = spec
                    .taints
                    .iter()
                    .filter(|t| t.key != key)
                    .map(|t| {
                        let mut v = json!({"key": t.key, "effect": t.effect});
                        if let Some(value) = &t.value {
                            v["value"] = json!(value);
                        }
                        v
                    })
                    .collect();
                patch_spec["taints"] = json!(kept);
            }
            let patch = json!({"spec": {"template": {"spec": patch_spec}}});
            let finding = META
                .finding(ObjectRef::global("NodePool", name), message)
                .with_evidence(format!(
                    "spec.template.spec.startupTaints: {}",
                    render(&spec.startup_taints)
                ))
                .with_evidence(format!(
                    "spec.template.spec.taints: {}",
                    render(&spec.taints)
                ))
                .with_remediation(format!(
                    "kubectl patch nodepools.karpenter.sh {name} --type=merge -p '{patch}'\n\
# Keep the NodePool manifest in Git in step with this change."
                ));
            findings.push(finding);
        }
        Ok(findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{check, load_cluster};

    fn cilium() -> serde_json::Value {
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "cilium", "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
            "spec": {"template": {"spec": {"containers": [
                {"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.16.19"}]}}}})
    }

    fn nodegroup(name: &str, taints: serde_json::Value) -> serde_json::Value {
        json!({"nodegroup": {"nodegroupName": name, "clusterName": "prod",
            "instanceTypes": ["m5.large"], "scalingConfig": {"minSize": 2, "maxSize": 6, "desiredSize": 3},
            "taints": taints}})
    }

    #[test]
    fn node_groups() {
        let docs = vec![
            cilium(),
            nodegroup(
                "good",
                json!([{"key": "node.cilium.io/agent-not-ready", "value": "true", "effect": "NO_EXECUTE"}]),
            ),
            nodegroup("none", json!([])),
            nodegroup(
                "soft",
                json!([{"key": "node.cilium.io/agent-not-ready", "value": "true", "effect": "NO_SCHEDULE"}]),
            ),
        ];
        let f = check(&AgentNotReadyTaintMissing, &load_cluster(&docs)).unwrap();
        // NO_SCHEDULE with the key counts: Cilium removes the taint by key.
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("node group none lacks"));
    }

    #[test]
    fn node_pools() {
        let pool = |name: &str, spec: serde_json::Value| {
            json!({"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": name},
                "spec": {"template": {"spec": spec}}})
        };
        let docs = vec![
            cilium(),
            pool(
                "ok",
                json!({"startupTaints": [{"key": "node.cilium.io/agent-not-ready", "value": "true", "effect": "NoExecute"}]}),
            ),
            pool(
                "permanent",
                json!({"taints": [{"key": "node.cilium.io/agent-not-ready", "value": "true", "effect": "NoExecute"}]}),
            ),
            pool(
                "soft",
                json!({"startupTaints": [{"key": "node.cilium.io/agent-not-ready", "value": "yes", "effect": "NoSchedule"}]}),
            ),
            pool(
                "bare",
                json!({"startupTaints": [{"key": "example.com/init", "effect": "NoSchedule"}]}),
            ),
        ];
        let f = check(&AgentNotReadyTaintMissing, &load_cluster(&docs)).unwrap();
        assert_eq!(f.len(), 2);
        assert!(f[0].message.contains("under taints"));
        assert!(f[1].message.contains("NodePool bare lacks"));
        assert!(f[1].remediation.contains("example.com/init"));
    }

    #[test]
    fn custom_key_and_missing_inputs() {
        let docs = vec![
            cilium(),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cilium-config", "namespace": "kube-system"},
                "data": {"agent-not-ready-taint-key": "ignore-taint.cluster-autoscaler.kubernetes.io/cilium-agent-not-ready"}}),
            nodegroup(
                "ca",
                json!([{"key": "ignore-taint.cluster-autoscaler.kubernetes.io/cilium-agent-not-ready", "value": "true", "effect": "NO_EXECUTE"}]),
            ),
        ];
        assert!(check(&AgentNotReadyTaintMissing, &load_cluster(&docs))
            .unwrap()
            .is_empty());
        assert!(check(&AgentNotReadyTaintMissing, &load_cluster(&[cilium()])).is_err());
        let no_cilium = vec![
            json!({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "kube-proxy", "namespace": "kube-system"}}]}),
            nodegroup("none", json!([])),
        ];
        assert!(check(&AgentNotReadyTaintMissing, &load_cluster(&no_cilium))
            .unwrap()
            .is_empty());
    }
}
