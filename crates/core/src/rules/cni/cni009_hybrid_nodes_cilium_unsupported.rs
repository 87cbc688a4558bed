//! CNI009: EKS Hybrid Nodes run a Cilium minor AWS does not support there.

use crate::findings::{ObjectRef, Severity};
use crate::rules::{inputs, Area, Context, Missing, Outcome, Rule, RuleMeta};

pub struct HybridNodesCiliumUnsupported;

static META: RuleMeta = RuleMeta {
    code: "CNI009",
    name: "hybrid-nodes-cilium-unsupported",
    severity: Severity::Medium,
    area: Area::Cni,
    summary: "EKS Hybrid Nodes run a Cilium minor outside the versions AWS supports on them",
    what_it_checks: "Recognises EKS Hybrid Nodes by the label `eks.amazonaws.com/compute-type: \
hybrid` and compares the running Cilium minor (agent image) with the minors the EKS user guide \
lists as supported on hybrid nodes (`hybrid_nodes_cilium_minors` in `data/cilium-eks.json`).",
    why_it_matters: "Cilium is the CNI AWS supports for hybrid nodes, but only in the versions it \
lists (and in its own build of them): with another minor, AWS support cases about hybrid-node \
networking are out of scope, and the version AWS tests its hybrid-node features with is not \
the one running.",
    how_to_fix: "Move Cilium to a supported minor one minor at a time (`plan upgrade` or the \
Cilium upgrade guide); for AWS support, use AWS's build of Cilium for hybrid nodes (the \
EKS user guide names its chart and images).",
    known_limits: "Whether the image is AWS's build is not checked. The supported list is the \
EKS user guide's as of the knowledge date.",
    docs_url: "https://docs.aws.amazon.com/eks/latest/userguide/hybrid-nodes-cni.html",
};

impl Rule for HybridNodesCiliumUnsupported {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        let nodes = c.nodes.as_deref().ok_or_else(|| {
            Missing::new(
                "no Node objects (needed to see hybrid nodes)",
                inputs::NODES,
            )
        })?;
        let hybrid: Vec<&str> = nodes
            .iter()
            .filter(|n| n.is_hybrid())
            .map(|n| n.metadata.name.as_str())
            .collect();
        if hybrid.is_empty() {
            return Ok(vec![]);
        }
        let Some(version) = c.cilium.version else {
            if c.cilium.presence.installed() {
                return Err(Missing::new(
                    "the Cilium version (agent image tag)",
                    inputs::DAEMONSETS,
                ));
            }
            return Ok(vec![]);
        };
        let supported = &cx.knowledge.cilium_eks.hybrid_nodes_cilium_minors;
        if supported.is_empty() || supported.contains(&version.minor()) {
            return Ok(vec![]);
        }
        let list: Vec<String> = supported.iter().map(|m| format!("{m}.x")).collect();
        let object = match &c.cilium.agent_daemonset {
            Some(a) => ObjectRef::new("DaemonSet", Some(&a.namespace), &a.name),
            None => ObjectRef::new("DaemonSet", Some("kube-system"), "cilium"),
        };
        let target = supported
            .iter()
            .copied()
            .filter(|m| *m > version.minor())
            .min();
        let fix = match target {
            Some(t) => format!(
                "# Upgrade one minor at a time to {t} (see `eks-cilium-doctor plan upgrade`); for AWS support use AWS's build of that minor (EKS user guide):\n\
helm get values cilium --namespace {ns} -o yaml > cilium-values.yaml\n\
helm upgrade cilium cilium/cilium --namespace {ns} --version {chart} -f cilium-values.yaml",
                ns = crate::rules::cni::shared::cilium_namespace(c),
                chart = crate::rules::ver::chart_version(cx.knowledge, t)
            ),
            None => format!(
                "# Cilium {} is newer than the minors AWS lists for hybrid nodes ({}): check the EKS user guide for a newer list before relying on AWS support",
                version.minor(),
                list.join(", ")
            ),
        };
        Ok(vec![META
            .finding(
                object,
                format!(
                    "Cilium {version} runs on EKS Hybrid Nodes, where AWS supports Cilium {} only",
                    list.join(" and ")
                ),
            )
            .with_evidence(format!(
                "Hybrid nodes (eks.amazonaws.com/compute-type=hybrid): {}",
                crate::rules::cni::shared::sample_list(&hybrid, 5)
            ))
            .with_evidence(format!(
                "Cilium agent image: {}",
                c.cilium.agent_images.join(", ")
            ))
            .with_evidence(format!(
                "EKS user guide: Cilium {} supported on hybrid nodes ({})",
                list.join(", "),
                META.docs_url
            ))
            .with_remediation(fix)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{check, load_cluster};
    use serde_json::json;

    fn docs(version: &str, hybrid: bool) -> Vec<serde_json::Value> {
        let mut labels = json!({"kubernetes.io/os": "linux"});
        if hybrid {
            labels["eks.amazonaws.com/compute-type"] = json!("hybrid");
        }
        vec![
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
                "metadata": {"name": "cilium", "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
                "spec": {"template": {"spec": {"containers": [
                    {"name": "cilium-agent", "image": format!("public.ecr.aws/eks/cilium/cilium:v{version}")}]}}}}),
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "mi-0a1b2c3d4e5f60718", "labels": labels}}),
        ]
    }

    #[test]
    fn fires_on_an_unsupported_minor() {
        let f = check(
            &HybridNodesCiliumUnsupported,
            &load_cluster(&docs("1.16.6", true)),
        )
        .unwrap();
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.contains("1.17.x and 1.18.x"),
            "{}",
            f[0].message
        );
        let patch = crate::knowledge::Knowledge::embedded()
            .cilium_minor("1.17".parse().unwrap())
            .unwrap()
            .latest_patch;
        assert!(f[0].remediation.contains(&format!("--version {patch}")));
    }

    #[test]
    fn quiet_on_supported_or_cloud_only() {
        assert!(check(
            &HybridNodesCiliumUnsupported,
            &load_cluster(&docs("1.18.3", true))
        )
        .unwrap()
        .is_empty());
        assert!(check(
            &HybridNodesCiliumUnsupported,
            &load_cluster(&docs("1.16.6", false))
        )
        .unwrap()
        .is_empty());
    }
}
