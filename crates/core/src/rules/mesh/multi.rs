//! What the multi-cluster MESH rules share: pairs of clusters, each
//! cluster's mesh identity, VPC and pod CIDRs.

use crate::findings::ObjectRef;
use crate::model::cilium::helm_get;
use crate::model::Cluster;
use crate::rules::cap::cap008_pod_cidr_overlaps_vpc::pod_cidr_sources;
use crate::rules::cap::cidr::{parse_list, Ipv4Cidr};
use crate::rules::cap::common::{ipam, Ipam};
use crate::rules::inputs;
use crate::rules::Missing;
use crate::rules::{Context, MeshContext, NamedCluster};

/// Every unordered pair of cluster indices (i < j).
pub(super) fn pairs(n: usize) -> Vec<(usize, usize)> {
    (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
        .collect()
}

/// Every ordered pair (a, b), a != b: for rules where a receives from b.
pub(super) fn ordered_pairs(n: usize) -> Vec<(usize, usize)> {
    (0..n)
        .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
        .collect()
}

/// The finding object of a pair: both cluster names.
pub(super) fn pair_object(a: &NamedCluster, b: &NamedCluster) -> ObjectRef {
    ObjectRef::global("ClusterPair", &format!("{} ↔ {}", a.name, b.name))
}

pub(super) fn context<'a>(mcx: &'a MeshContext, c: &'a NamedCluster) -> Context<'a> {
    Context::new(&c.cluster, mcx.knowledge, mcx.options)
}

/// A Cilium setting from cilium-config, else the Helm values, with its source.
pub(super) fn setting(c: &Cluster, key: &str, helm_path: &str) -> Option<(String, String)> {
    if let Some(v) = c.cilium.get(key) {
        return Some((v.to_string(), format!("cilium-config {key}")));
    }
    let v = helm_get(c.helm_values.as_ref()?, helm_path)?;
    let text = match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => return None,
    };
    Some((text, format!("Helm values {helm_path}")))
}

/// The cluster's mesh identity: (id, name), each with its source; the
/// agent defaults (0, `default`) when unset. `None` when neither
/// cilium-config nor Helm values were provided.
pub(super) struct Identity {
    pub id: String,
    pub id_source: String,
    pub name: String,
    pub name_source: String,
}

pub(super) fn identity(c: &Cluster) -> Option<Identity> {
    if c.cilium.config.is_none() && c.helm_values.is_none() {
        return None;
    }
    let (id, id_source) = setting(c, "cluster-id", "cluster.id")
        .unwrap_or_else(|| ("0".into(), "unset, default 0".into()));
    let (name, name_source) = setting(c, "cluster-name", "cluster.name")
        .unwrap_or_else(|| ("default".into(), "unset, default \"default\"".into()));
    Some(Identity {
        id: id.trim().to_string(),
        id_source,
        name,
        name_source,
    })
}

/// The cluster's VPC: the EKS VPC id, else the only VPC of the snapshot.
pub(super) fn vpc_id(c: &Cluster) -> Option<String> {
    c.eks
        .as_ref()
        .and_then(|e| e.resources_vpc_config.vpc_id.clone())
        .or_else(|| match c.vpcs.as_deref() {
            Some([only]) => Some(only.vpc_id.clone()),
            _ => None,
        })
}

/// The IPv4 CIDRs of the cluster's VPC.
pub(super) fn vpc_cidrs(c: &Cluster) -> Vec<Ipv4Cidr> {
    let id = vpc_id(c);
    c.vpcs
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter(|v| id.as_deref().is_none_or(|id| id == v.vpc_id))
        .flat_map(|v| v.cidrs())
        .filter_map(|t| t.parse().ok())
        .collect()
}

/// Where the cluster's pod IPs come from: (source, CIDR). In ENI mode (and
/// aws-cni chaining) pods get VPC addresses, so the VPC CIDRs; with overlay
/// IPAM the configured pools. `Err`: the rule cannot be evaluated.
pub(super) fn pod_cidrs(
    mcx: &MeshContext,
    c: &NamedCluster,
) -> Result<Vec<(String, Ipv4Cidr)>, Missing> {
    let cx = context(mcx, c);
    let vpc = || {
        let cidrs = vpc_cidrs(&c.cluster);
        if cidrs.is_empty() {
            return Err(Missing::new(
                format!("{}: the VPC CIDRs", c.name),
                inputs::MESH_VPC,
            ));
        }
        let id = vpc_id(&c.cluster).unwrap_or_else(|| "VPC".into());
        Ok(cidrs
            .into_iter()
            .map(|cidr| (format!("{id} CIDR, pod addresses in ENI mode"), cidr))
            .collect())
    };
    match ipam(&cx)? {
        Some(Ipam::Eni | Ipam::ChainedVpcCni) => vpc(),
        Some(Ipam::Overlay(mode)) => {
            let mut out = Vec::new();
            for (source, text) in pod_cidr_sources(&cx, &mode) {
                out.extend(parse_list(&text).0.into_iter().map(|c| (source.clone(), c)));
            }
            if out.is_empty() {
                return Err(Missing::new(
                    format!("{}: the {mode} pod CIDRs", c.name),
                    inputs::MESH_CILIUM_CONFIG,
                ));
            }
            Ok(out)
        }
        Some(Ipam::Other(mode)) => Err(Missing::new(
            format!("{}: the pod CIDRs of IPAM mode {mode}", c.name),
            "",
        )),
        None => Err(Missing::new(
            format!("{}: Cilium is not installed", c.name),
            "",
        )),
    }
}

/// Whether `outer` contains all of `inner`.
pub(super) fn covers(outer: Ipv4Cidr, inner: Ipv4Cidr) -> bool {
    outer.first() <= inner.first() && inner.last() <= outer.last()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_orders() {
        assert_eq!(pairs(3), vec![(0, 1), (0, 2), (1, 2)]);
        assert_eq!(ordered_pairs(2), vec![(0, 1), (1, 0)]);
        assert!(pairs(1).is_empty());
    }

    #[test]
    fn coverage() {
        let c = |s: &str| s.parse::<Ipv4Cidr>().unwrap();
        assert!(covers(c("10.0.0.0/8"), c("10.1.0.0/16")));
        assert!(covers(c("10.1.0.0/16"), c("10.1.0.0/16")));
        assert!(!covers(c("10.1.0.0/17"), c("10.1.0.0/16")));
        assert!(!covers(c("10.2.0.0/16"), c("10.1.0.0/16")));
    }
}
