//! CAP013 eniconfig-ignored.

use super::common::{self, Ipam};
use crate::findings::{ObjectRef, Severity};
use crate::rules::{inputs, Area, Context, Outcome, Rule, RuleMeta};

pub struct EniConfigIgnored;

const ENICONFIG_CRD: &str = "eniconfigs.crd.k8s.amazonaws.com";

static META: RuleMeta = RuleMeta {
    code: "CAP013",
    name: "eniconfig-ignored",
    severity: Severity::Medium,
    area: Area::Cap,
    summary: "ENIConfig objects (VPC CNI custom networking) exist while Cilium does the IPAM: Cilium ignores them",
    what_it_checks: "Cilium as the primary CNI (not chained onto the VPC CNI) and \
ENIConfig objects (`crd.k8s.amazonaws.com/v1alpha1`) in the cluster.",
    why_it_matters: "ENIConfig is the VPC CNI's custom networking: which subnet and security \
groups the secondary ENIs of each zone get (pods in a secondary CIDR, say). Cilium's \
operator never reads them: with Cilium's IPAM pods get addresses from the subnets Cilium \
picks (the node's subnet, or the least-full subnet of its VPC and zone), so a custom \
networking setup kept from the VPC CNI silently stops applying: pods land in the node \
subnets, the secondary CIDR stays unused and the node subnets fill up.",
    how_to_fix: "Tell Cilium which subnets to use for pod ENIs: Helm `eni.subnetIDsFilter` \
(subnet ids) or `eni.subnetTagsFilter` (tags the pod subnets carry). Then delete the ENIConfig objects \
(and, once no VPC CNI is left, their CRD: CNI005) so nobody mistakes them for the setup \
in force.",
    known_limits: "Presence only: the subnets the ENIConfigs name are not compared with \
those Cilium uses. With the VPC CNI chained (`cni.chainingMode=aws-cni`) ENIConfigs \
apply and the rule is quiet.",
    docs_url: "https://docs.cilium.io/en/stable/network/concepts/ipam/eni/",
};

impl Rule for EniConfigIgnored {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        match common::ipam(cx)? {
            None | Some(Ipam::ChainedVpcCni) => return Ok(vec![]),
            Some(_) => {}
        }
        let configs: Vec<&str> = c
            .objects
            .iter()
            .filter(|k| k.kind == "ENIConfig")
            .map(|k| k.name.as_str())
            .collect();
        if configs.is_empty() {
            let listed = c.kinds_listed.contains("ENIConfig");
            let crd_absent = c.kinds_listed.contains("CustomResourceDefinition")
                && !c.has_object("CustomResourceDefinition", "", ENICONFIG_CRD);
            if listed || crd_absent {
                return Ok(vec![]);
            }
            return META.missing("no ENIConfig list (nor the CRDs)", inputs::ENI_CONFIGS);
        }
        let mode = c.cilium.ipam_mode.as_deref().unwrap_or("cluster-pool");
        let mut f = META.finding(
            ObjectRef::global("ENIConfig", configs[0]),
            format!(
                "{} ENIConfig object(s) ({}) describe VPC CNI custom networking, but Cilium does the IPAM ({mode}) and ignores them",
                configs.len(),
                common::capped(configs.iter().map(|s| s.to_string()).collect(), 6).join(", ")
            ),
        );
        f = f.with_evidence(format!("Cilium IPAM mode: {mode}"));
        for name in configs.iter().take(10) {
            f = f.with_evidence(format!("ENIConfig {name} (crd.k8s.amazonaws.com/v1alpha1)"));
        }
        let fix = if mode == "eni" {
            "kubectl get eniconfigs -o custom-columns=NAME:.metadata.name,SUBNET:.spec.subnet,SGS:.spec.securityGroups\n\
# Give Cilium the pod subnets instead (Helm values), then delete the ENIConfigs:\n\
#   eni:\n#     subnetIDsFilter: [subnet-…, subnet-…]     # or subnetTagsFilter: [\"key=value\"]\n\
kubectl delete eniconfigs --all"
        } else {
            "# Cilium's overlay IPAM gives pods addresses from its own pool; the ENIConfigs do nothing:\n\
kubectl delete eniconfigs --all"
        };
        Ok(vec![f.with_remediation(fix)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{fired, load_cluster, outcome};
    use serde_json::{json, Value};

    fn config(data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cilium-config", "namespace": "kube-system"}, "data": data})
    }

    fn eniconfigs() -> Value {
        json!({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "crd.k8s.amazonaws.com/v1alpha1", "kind": "ENIConfig",
             "metadata": {"name": "eu-west-1a"}, "spec": {"subnet": "subnet-0pods1a", "securityGroups": ["sg-1"]}},
            {"apiVersion": "crd.k8s.amazonaws.com/v1alpha1", "kind": "ENIConfig",
             "metadata": {"name": "eu-west-1b"}, "spec": {"subnet": "subnet-0pods1b"}}]})
    }

    #[test]
    fn eniconfigs_with_cilium_eni_ipam() {
        let c = load_cluster(&[config(json!({"ipam": "eni"})), eniconfigs()]);
        let f = fired(outcome(&EniConfigIgnored, &c));
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message
                .starts_with("2 ENIConfig object(s) (eu-west-1a, eu-west-1b)"),
            "{}",
            f[0].message
        );
        assert!(f[0].remediation.contains("subnetIDsFilter"));
    }

    #[test]
    fn chained_quiet_and_missing() {
        let c = load_cluster(&[
            config(json!({"cni-chaining-mode": "aws-cni", "ipam": "cluster-pool"})),
            eniconfigs(),
        ]);
        assert_eq!(outcome(&EniConfigIgnored, &c), Ok(vec![]));
        let c = load_cluster(&[config(json!({"ipam": "eni"}))]);
        assert!(outcome(&EniConfigIgnored, &c).is_err());
        let c = load_cluster(&[
            config(json!({"ipam": "eni"})),
            json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinitionList", "items": []}),
        ]);
        assert_eq!(outcome(&EniConfigIgnored, &c), Ok(vec![]));
    }
}
