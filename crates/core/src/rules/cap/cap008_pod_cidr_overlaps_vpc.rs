//! CAP008 pod-cidr-overlaps-vpc.

use super::cidr::{self, Ipv4Cidr};
use super::common::{self, Ipam};
use crate::findings::{ObjectRef, Severity};
use crate::model::cilium::helm_get;
use crate::rules::inputs;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct PodCidrOverlapsVpc;

static META: RuleMeta = RuleMeta {
    code: "CAP008",
    name: "pod-cidr-overlaps-vpc",
    severity: Severity::High,
    area: Area::Cap,
    summary: "An overlay pod CIDR overlaps the VPC or the cluster's service CIDR",
    what_it_checks: "With Cilium overlay IPAM, the pod CIDRs — `cluster-pool-ipv4-cidr` \
(several CIDRs may be listed), the multi-pool `auto-create-cilium-pod-ip-pools` CIDRs, \
Helm `ipam.operator.clusterPoolIPv4PodCIDRList` / `clusterPoolIPv4PodCIDR` / \
`autoCreateCiliumPodIPPools.*.ipv4.cidrs` when the ConfigMap does not say, and the nodes' \
`spec.podCIDR` in kubernetes IPAM — against every IPv4 CIDR associated with the cluster's \
VPC and the EKS service CIDR (`kubernetesNetworkConfig.serviceIpv4Cidr`).",
    why_it_matters: "Overlapping ranges make addresses ambiguous: traffic from pods to \
VPC hosts (RDS, other nodes, load balancers) or to Services in the overlapping range is \
routed to the wrong place. The chart's default pool 10.0.0.0/8 overlaps most EKS VPCs.",
    how_to_fix: "Choose a pod range that overlaps neither the VPC nor the service CIDR \
and move the nodes to it: pod CIDRs already handed to nodes do not change, so set the new \
list and replace (drain and recreate) the nodes.",
    known_limits: "CiliumPodIPPool objects created by hand (multi-pool) are not read; \
peered VPCs and on-premises ranges are not checked here (see MESH004/MESH005 for clusters \
in a mesh).",
    docs_url: "https://docs.cilium.io/en/stable/network/concepts/ipam/cluster-pool/",
};

/// CIDRs of the multi-pool operator option, e.g.
/// `default=ipv4-cidrs:10.10.0.0/16;ipv4-mask-size:24`.
fn multi_pool_cidrs(text: &str) -> String {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("ipv4-cidrs:") {
        rest = &rest[i + "ipv4-cidrs:".len()..];
        let end = rest.find([';', ' ', '\t', '\n']).unwrap_or(rest.len());
        out.push(rest[..end].replace(',', " "));
        rest = &rest[end..];
    }
    out.join(" ")
}

fn json_list_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// (where it came from, the CIDR text list)
pub(crate) fn pod_cidr_sources(cx: &Context, mode: &str) -> Vec<(String, String)> {
    let c = cx.cluster;
    let s = &c.cilium;
    let mut out = Vec::new();
    if mode == "kubernetes" {
        for n in c.nodes.as_deref().unwrap_or_default() {
            if let Some(p) = n.spec.pod_cidr.as_deref().filter(|p| !p.is_empty()) {
                out.push((
                    format!("Node {} spec.podCIDR", n.metadata.name),
                    p.to_string(),
                ));
            }
        }
        return out;
    }
    if let Some(v) = s
        .get("cluster-pool-ipv4-cidr")
        .filter(|v| !v.trim().is_empty())
    {
        out.push(("cilium-config cluster-pool-ipv4-cidr".into(), v.to_string()));
    }
    if let Some(v) = s.get("auto-create-cilium-pod-ip-pools") {
        let cidrs = multi_pool_cidrs(v);
        if !cidrs.is_empty() {
            out.push((
                "cilium-config auto-create-cilium-pod-ip-pools".into(),
                cidrs,
            ));
        }
    }
    if !out.is_empty() {
        return out;
    }
    if let Some(h) = c.helm_values.as_ref() {
        for key in [
            "ipam.operator.clusterPoolIPv4PodCIDRList",
            "ipam.operator.clusterPoolIPv4PodCIDR",
        ] {
            if let Some(v) = helm_get(h, key) {
                let text = json_list_text(v);
                if !text.trim().is_empty() {
                    out.push((format!("Helm {key}"), text));
                    break;
                }
            }
        }
        if let Some(pools) =
            helm_get(h, "ipam.operator.autoCreateCiliumPodIPPools").and_then(|p| p.as_object())
        {
            for (name, pool) in pools {
                if let Some(v) = helm_get(pool, "ipv4.cidrs") {
                    out.push((
                        format!("Helm ipam.operator.autoCreateCiliumPodIPPools.{name}.ipv4.cidrs"),
                        json_list_text(v),
                    ));
                }
            }
        }
    }
    out
}

impl Rule for PodCidrOverlapsVpc {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let Some(Ipam::Overlay(mode)) = common::ipam(cx)? else {
            return Ok(vec![]);
        };
        let c = cx.cluster;
        let vpc_id = c
            .eks
            .as_ref()
            .and_then(|e| e.resources_vpc_config.vpc_id.as_deref());
        let mut others: Vec<(String, Ipv4Cidr)> = Vec::new();
        for v in c.vpcs.as_deref().unwrap_or_default() {
            if vpc_id.is_some_and(|id| id != v.vpc_id) {
                continue;
            }
            for text in v.cidrs() {
                if let Ok(cidr) = text.parse::<Ipv4Cidr>() {
                    others.push((format!("VPC {} CIDR", v.vpc_id), cidr));
                }
            }
        }
        if let Some(svc) = c
            .eks
            .as_ref()
            .and_then(|e| e.kubernetes_network_config.service_ipv4_cidr.as_deref())
            .and_then(|t| t.parse::<Ipv4Cidr>().ok())
        {
            others.push(("EKS service CIDR".into(), svc));
        }
        if others.is_empty() {
            return META.missing(
                "the VPC CIDRs (describe-vpcs) and the EKS service CIDR (describe-cluster)",
                "aws ec2 describe-vpcs --vpc-ids VPC_ID --output json > ec2-vpcs.json; aws eks describe-cluster --name CLUSTER --output json > eks-cluster.json",
            );
        }
        let sources = pod_cidr_sources(cx, &mode);
        if sources.is_empty() {
            return META.missing(
                format!("the {mode} pod CIDRs (cilium-config cluster-pool-ipv4-cidr, Helm ipam.operator.*, or Node spec.podCIDR)"),
                inputs::CILIUM_CONFIG,
            );
        }
        let mut findings = Vec::new();
        for (source, text) in sources {
            let (pods, _ipv6_or_bad) = cidr::parse_list(&text);
            for pod in pods {
                let hits: Vec<&(String, Ipv4Cidr)> =
                    others.iter().filter(|(_, o)| pod.overlaps(*o)).collect();
                if hits.is_empty() {
                    continue;
                }
                let object = match source.strip_prefix("Node ").and_then(|s| s.split_once(' ')) {
                    Some((node, _)) => ObjectRef::global("Node", node),
                    None => ObjectRef::new("ConfigMap", Some("kube-system"), "cilium-config"),
                };
                let names: Vec<String> = hits.iter().map(|(w, o)| format!("{w} {o}")).collect();
                let mut f = META
                    .finding(
                        object,
                        format!("Pod CIDR {pod} ({source}) overlaps {}", names.join(" and ")),
                    )
                    .with_evidence(format!("{source}: {}", text.trim()));
                for (what, o) in &hits {
                    f = f.with_evidence(format!("{what}: {o}"));
                }
                f = f.with_remediation(remediation(cx, &mode, &others));
                findings.push(f);
            }
        }
        Ok(findings)
    }
}

/// A replacement range that overlaps nothing known, from the shared address
/// space RFC 6598 sets aside (100.64.0.0/10) or the RFC 1918 blocks.
fn suggestion(others: &[(String, Ipv4Cidr)]) -> Option<Ipv4Cidr> {
    [
        "100.64.0.0/10",
        "100.64.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "10.0.0.0/8",
    ]
    .iter()
    .filter_map(|c| c.parse::<Ipv4Cidr>().ok())
    .find(|c| others.iter().all(|(_, o)| !c.overlaps(*o)))
}

fn remediation(cx: &Context, mode: &str, others: &[(String, Ipv4Cidr)]) -> String {
    let new =
        suggestion(others).map_or_else(|| "NON_OVERLAPPING_CIDR".to_string(), |c| c.to_string());
    if mode == "kubernetes" {
        return format!(
            "Node pod CIDRs come from the kube-controller-manager's --cluster-cidr; choose a range such as {new} that overlaps neither the VPC nor the service CIDR, or move to cluster-pool IPAM with that range, then replace the nodes."
        );
    }
    let (key, parent) = if mode == "multi-pool" {
        (
            "ipam.operator.autoCreateCiliumPodIPPools.default.ipv4.cidrs",
            "ipam.operator.autoCreateCiliumPodIPPools",
        )
    } else {
        (
            "ipam.operator.clusterPoolIPv4PodCIDRList",
            "ipam.operator.clusterPoolIPv4PodCIDRList",
        )
    };
    if !common::helm_key_exists(cx, parent) {
        return format!(
            "Set the {mode} pod CIDRs in cilium-config to a range such as {new} that overlaps neither the VPC nor the service CIDR, restart the operator, then drain and replace the nodes."
        );
    }
    format!(
        "# Pod CIDRs already handed to nodes do not change: set a non-overlapping range, then drain and replace the nodes.\n\
helm upgrade cilium cilium/cilium -n kube-system --reuse-values --set {key}='{{{new}}}'\n\
kubectl -n kube-system rollout restart deployment/cilium-operator"
    )
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)]
mod tests {
    use super::*;
    use crate::model::Cluster;
    use crate::rules::testing::outcome;
    use serde_json::json;

    fn cluster(data: serde_json::Value) -> Cluster {
        let mut c = Cluster::default();
        c.config_maps = Some(vec![serde_json::from_value(json!({
            "metadata":{"name":"cilium-config","namespace":"kube-system"},"data":data}))
        .unwrap()]);
        c.eks = Some(
            serde_json::from_value(json!({"name":"prod",
            "resourcesVpcConfig":{"vpcId":"vpc-1"},
            "kubernetesNetworkConfig":{"serviceIpv4Cidr":"172.20.0.0/16","ipFamily":"ipv4"}}))
            .unwrap(),
        );
        c.vpcs = Some(vec![
            serde_json::from_value(json!({"VpcId":"vpc-1","CidrBlock":"10.0.0.0/16",
                "CidrBlockAssociationSet":[{"CidrBlock":"10.0.0.0/16"},{"CidrBlock":"100.64.0.0/16"}]}))
            .unwrap(),
            serde_json::from_value(json!({"VpcId":"vpc-other","CidrBlock":"192.168.0.0/16"})).unwrap(),
        ]);
        c.finish();
        c
    }

    #[test]
    fn default_pool_overlaps_vpc() {
        let Ok(f) = outcome(
            &PodCidrOverlapsVpc,
            &cluster(json!({"ipam":"cluster-pool","cluster-pool-ipv4-cidr":"10.0.0.0/8"})),
        ) else {
            panic!()
        };
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("VPC vpc-1 CIDR 10.0.0.0/16"));
        // The suggestion avoids the VPC's 100.64.0.0/16 and the service CIDR.
        assert!(
            f[0].remediation.contains("'{192.168.0.0/16}'"),
            "{}",
            f[0].remediation
        );
    }

    #[test]
    fn several_cidrs_secondary_association_and_service() {
        let Ok(f) = outcome(
            &PodCidrOverlapsVpc,
            &cluster(json!({"ipam":"cluster-pool",
            "cluster-pool-ipv4-cidr":"192.168.0.0/17 100.65.128.0/17 172.20.0.0/20 fd00::/104"})),
        ) else {
            panic!()
        };
        // 192.168/17 only overlaps the other VPC (ignored); 100.65.128/17 does not
        // overlap 100.64.0.0/16; 172.20.0.0/20 overlaps the service CIDR.
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("EKS service CIDR 172.20.0.0/16"));
        let Ok(f) = outcome(
            &PodCidrOverlapsVpc,
            &cluster(json!({"ipam":"multi-pool",
            "auto-create-cilium-pod-ip-pools":"default=ipv4-cidrs:100.64.0.0/18,10.200.0.0/16;ipv4-mask-size:24"})),
        ) else {
            panic!()
        };
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("100.64.0.0/18"));
    }

    #[test]
    fn quiet_and_not_applicable() {
        assert_eq!(
            outcome(
                &PodCidrOverlapsVpc,
                &cluster(json!({"ipam":"cluster-pool","cluster-pool-ipv4-cidr":"100.65.0.0/16"}))
            ),
            Ok(vec![])
        );
        assert_eq!(
            outcome(
                &PodCidrOverlapsVpc,
                &cluster(json!({"ipam":"eni","cluster-pool-ipv4-cidr":"10.0.0.0/8"}))
            ),
            Ok(vec![])
        );
        let mut c = cluster(json!({"ipam":"cluster-pool"}));
        assert!(outcome(&PodCidrOverlapsVpc, &c).is_err());
        c.eks = None;
        c.vpcs = None;
        assert!(outcome(&PodCidrOverlapsVpc, &c).is_err());
    }

    #[test]
    fn multi_pool_parsing() {
        assert_eq!(
            multi_pool_cidrs("default=ipv4-cidrs:10.10.0.0/16,10.20.0.0/16;ipv4-mask-size:24 other=ipv4-cidrs:10.30.0.0/16"),
            "10.10.0.0/16 10.20.0.0/16 10.30.0.0/16"
        );
        assert_eq!(multi_pool_cidrs(""), "");
    }
}
