//! CAP006 ciliumnode-ipam-exhausted.

use super::common::{self, Ipam};
use crate::findings::{ObjectRef, Severity};
use crate::rules::inputs;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct CiliumNodeIpamExhausted;

static META: RuleMeta = RuleMeta {
    code: "CAP006",
    name: "ciliumnode-ipam-exhausted",
    severity: Severity::High,
    area: Area::Cap,
    summary: "A CiliumNode has no free address left, or the operator reports an IPAM error for it",
    what_it_checks: "Every CiliumNode: `status.ipam.operator-status.error` set (any IPAM \
mode), and, in the IPAM modes that fill `spec.ipam.pool` (ENI and CRD), a non-empty pool \
whose addresses are all listed in `status.ipam.used`. In cluster-pool IPAM an \
`allocator full` error is set against the pool's room: the node CIDRs \
`cluster-pool-ipv4-cidr` holds at `cluster-pool-ipv4-mask-size` and those the CiliumNodes' \
`spec.ipam.podCIDRs` hold; with room left the operator's allocator state is stale.",
    why_it_matters: "An exhausted pool means the next pod scheduled to that node gets no \
IP and hangs in ContainerCreating; an operator error usually means the operator cannot \
attach ENIs or addresses (instance ENI limit, subnet full, missing EC2 permission) and \
the pool will not grow. An `allocator full` while the cluster pool has free node CIDRs \
leaves new nodes without a CIDR until the operator rebuilds its state.",
    how_to_fix: "Read the operator status and log for the node, then fix the cause: the \
instance's ENI limit (CAP001: lower max pods or enable prefix delegation), the subnet's \
free addresses (CAP005), or the operator's EC2 permissions (IAM001). A stale cluster-pool \
allocator: restart the operator (cilium#46608); a pool that is really full needs another CIDR \
in `clusterPoolIPv4PodCIDRList`.",
    known_limits: "A snapshot shows one moment: a pool that is full while the operator is \
about to add addresses also fires. Pools that are empty are not judged (a new node may \
not have received addresses yet) unless the operator reports an error. The stale-allocator \
reading needs every CiliumNode in the snapshot (a partial list undercounts the CIDRs held).",
    docs_url: "https://docs.cilium.io/en/stable/network/concepts/ipam/eni/",
};

impl Rule for CiliumNodeIpamExhausted {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        // The agents' exhausted-pool lines (the CAP002 signatures) as evidence.
        let findings = self.evaluate_rule(cx)?;
        let seen = crate::rules::log::common::log_sightings(cx, "CAP002");
        Ok(crate::rules::log::common::append_evidence(findings, &seen))
    }
}

impl CiliumNodeIpamExhausted {
    fn evaluate_rule(&self, cx: &Context) -> Outcome {
        let Some(ipam) = common::ipam(cx)? else {
            return Ok(vec![]);
        };
        let Some(cilium_nodes) = cx.cluster.cilium_nodes.as_deref() else {
            return META.missing("no CiliumNode objects", inputs::CILIUM_NODES);
        };
        // Modes whose per-node addresses live in spec.ipam.pool.
        let pool_mode = matches!(&ipam, Ipam::Eni) || matches!(&ipam, Ipam::Other(m) if m == "crd");
        let room = cluster_pool_room(cx, &ipam, cilium_nodes);
        let mut findings = Vec::new();
        for cn in cilium_nodes {
            let name = cn.metadata.name.as_str();
            let pool = &cn.spec.ipam.pool;
            let used = &cn.status.ipam.used;
            let free = pool.iter().filter(|ip| !used.contains(ip)).count();
            let error = cn
                .status
                .ipam
                .operator_status
                .as_ref()
                .and_then(|s| s.error.as_deref())
                .filter(|e| !e.trim().is_empty());
            let exhausted = pool_mode && !pool.is_empty() && free == 0;
            if !exhausted && error.is_none() {
                continue;
            }
            let message = match (exhausted, error) {
                (true, Some(_)) => format!(
                    "CiliumNode {name} has no free pod IP ({} in the pool, all used) and the operator reports an error",
                    pool.len()
                ),
                (true, None) => format!(
                    "CiliumNode {name} has no free pod IP: all {} addresses of its pool are used",
                    pool.len()
                ),
                _ => format!("The operator reports an IPAM error for CiliumNode {name}"),
            };
            let mut f = META
                .finding(ObjectRef::global("CiliumNode", name), message)
                .with_evidence(format!(
                    "spec.ipam.pool: {} addresses; status.ipam.used: {}; free: {free}",
                    pool.len(),
                    used.len()
                ));
            if let Some(limit) = cn.spec.ipam.max_allocate {
                f = f.with_evidence(format!("spec.ipam.max-allocate: {limit}"));
            }
            if let Some(e) = error {
                f = f.with_evidence(format!("status.ipam.operator-status.error: {e}"));
            }
            let stale = error.is_some_and(|e| e.contains(ALLOCATOR_FULL))
                && room.as_ref().is_some_and(|r| r.allocated < r.capacity);
            if let (true, Some(r)) = (stale, &room) {
                let issue = cx.knowledge.cited_issue(STALE_ISSUE).ok_or_else(|| {
                    crate::rules::Missing::new(
                        format!("known issue {STALE_ISSUE}"),
                        crate::rules::inputs::KNOWLEDGE,
                    )
                })?;
                f.message = format!(
                    "The operator reports \"allocator full\" for CiliumNode {name}, but the cluster pool has room ({} of {} node CIDRs allocated): its allocator state is stale",
                    r.allocated, r.capacity
                );
                f = f
                    .with_evidence(format!(
                        "cluster-pool-ipv4-cidr {} with mask size {}: {} node CIDRs; CiliumNodes hold {}",
                        r.cidrs, r.mask, r.capacity, r.allocated
                    ))
                    .with_evidence(format!("{}: {}", issue.reference(), issue.title));
                findings.push(f.with_remediation(format!(
                    "# {}\n\
kubectl -n {} rollout restart deployment/cilium-operator\n\
kubectl get ciliumnode {name} -o jsonpath='{{.spec.ipam.podCIDRs}}{{\"\\n\"}}'",
                    issue.workaround,
                    crate::rules::cni::shared::cilium_namespace(cx.cluster)
                )));
                continue;
            }
            f = f.with_remediation(format!(
                "kubectl get ciliumnode {name} -o jsonpath='{{.status.ipam.operator-status}}{{\"\\n\"}}'\n\
kubectl -n kube-system logs deployment/cilium-operator --since=1h | grep {name}\n\
# Then fix the cause: instance ENI limit (CAP001), subnet free addresses (CAP005), operator EC2 permissions (IAM001)."
            ));
            findings.push(f);
        }
        Ok(findings)
    }
}

/// The error of the cluster-pool node-CIDR allocator when it has no CIDR
/// to give (signature LS033 of the shared catalogue).
const ALLOCATOR_FULL: &str = "allocator full";

/// The known issue of a stale allocator (`data/known-issues.json`, from
/// `scripts/knowledge/known-issues.json`).
const STALE_ISSUE: &str = "KP002";

/// The cluster pool's size in node CIDRs and how many the CiliumNodes hold.
struct PoolRoom {
    cidrs: String,
    mask: u32,
    capacity: u64,
    allocated: u64,
}

/// In cluster-pool IPAM with `cluster-pool-ipv4-cidr` and
/// `cluster-pool-ipv4-mask-size` set: the pool's room.
fn cluster_pool_room(
    cx: &Context,
    ipam: &Ipam,
    nodes: &[crate::model::CiliumNode],
) -> Option<PoolRoom> {
    if !matches!(ipam, Ipam::Overlay(mode) if mode == "cluster-pool") {
        return None;
    }
    let s = &cx.cluster.cilium;
    let cidrs = s.get("cluster-pool-ipv4-cidr")?;
    let mask: u32 = s.get("cluster-pool-ipv4-mask-size")?.trim().parse().ok()?;
    if !(1..=32).contains(&mask) {
        return None;
    }
    let (pools, _) = super::cidr::parse_list(cidrs);
    let per_node = 1u64 << (32 - mask);
    let capacity: u64 = pools.iter().map(|p| p.size() / per_node).sum();
    if capacity == 0 {
        return None;
    }
    let allocated = nodes
        .iter()
        .flat_map(|n| &n.spec.ipam.pod_cidrs)
        .filter(|c| c.parse::<super::cidr::Ipv4Cidr>().is_ok())
        .count() as u64;
    Some(PoolRoom {
        cidrs: cidrs.to_string(),
        mask,
        capacity,
        allocated,
    })
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)]
mod tests {
    use super::*;
    use crate::model::Cluster;
    use crate::rules::testing::outcome;
    use serde_json::json;

    fn cluster(ipam: &str, cn: serde_json::Value) -> Cluster {
        let mut c = Cluster::default();
        c.config_maps = Some(vec![serde_json::from_value(json!({
            "metadata":{"name":"cilium-config","namespace":"kube-system"},
            "data":{"ipam":ipam}}))
        .unwrap()]);
        c.cilium_nodes = Some(vec![serde_json::from_value(cn).unwrap()]);
        c.finish();
        c
    }

    #[test]
    fn full_pool_fires_one_free_does_not() {
        let full = json!({"metadata":{"name":"n1"},
            "spec":{"ipam":{"pool":{"10.0.1.10":{"resource":"eni-1"},"10.0.1.11":{"resource":"eni-1"}}}},
            "status":{"ipam":{"used":{"10.0.1.10":{"owner":"a/b"},"10.0.1.11":{"owner":"a/c"}}}}});
        let Ok(f) = outcome(&CiliumNodeIpamExhausted, &cluster("eni", full.clone())) else {
            panic!()
        };
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("all 2 addresses"));
        // Same CiliumNode in cluster-pool mode: the pool is not how IPs are handed out.
        assert_eq!(
            outcome(&CiliumNodeIpamExhausted, &cluster("cluster-pool", full)),
            Ok(vec![])
        );
        let one_free = json!({"metadata":{"name":"n1"},
            "spec":{"ipam":{"pool":{"10.0.1.10":{},"10.0.1.11":{}}}},
            "status":{"ipam":{"used":{"10.0.1.10":{}}}}});
        assert_eq!(
            outcome(&CiliumNodeIpamExhausted, &cluster("eni", one_free)),
            Ok(vec![])
        );
        let empty = json!({"metadata":{"name":"n1"}});
        assert_eq!(
            outcome(&CiliumNodeIpamExhausted, &cluster("eni", empty)),
            Ok(vec![])
        );
    }

    #[test]
    fn operator_error_fires_in_any_mode() {
        let err = json!({"metadata":{"name":"n1"},
            "status":{"ipam":{"operator-status":{"error":"unable to create ENI: InsufficientFreeAddressesInSubnet"}}}});
        let Ok(f) = outcome(&CiliumNodeIpamExhausted, &cluster("cluster-pool", err)) else {
            panic!()
        };
        assert_eq!(f.len(), 1);
        assert!(f[0]
            .evidence
            .iter()
            .any(|e| e.contains("InsufficientFreeAddressesInSubnet")));
    }

    #[test]
    fn allocator_full_with_room_is_stale() {
        // UP08 (cilium#46608): "Error:  allocator full" with a /16 pool of /24s.
        let mut c = Cluster::default();
        c.config_maps = Some(vec![serde_json::from_value(json!({
            "metadata":{"name":"cilium-config","namespace":"kube-system"},
            "data":{"ipam":"cluster-pool","cluster-pool-ipv4-cidr":"100.64.0.0/16",
                "cluster-pool-ipv4-mask-size":"24"}}))
        .unwrap()]);
        let node = |name: &str, cidrs: serde_json::Value, error: Option<&str>| {
            let mut n = json!({"metadata":{"name":name},"spec":{"ipam":{"podCIDRs":cidrs}}});
            if let Some(e) = error {
                n["status"] = json!({"ipam":{"operator-status":{"error":e}}});
            }
            serde_json::from_value(n).unwrap()
        };
        c.cilium_nodes = Some(vec![
            node("n1", json!([]), Some("Error:  allocator full")),
            node("n2", json!(["100.64.3.0/24"]), None),
        ]);
        c.finish();
        let Ok(f) = outcome(&CiliumNodeIpamExhausted, &c) else {
            panic!()
        };
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("1 of 256 node CIDRs"));
        assert!(f[0]
            .remediation
            .contains("rollout restart deployment/cilium-operator"));
    }

    #[test]
    fn missing_ciliumnodes() {
        let mut c = cluster("eni", json!({}));
        c.cilium_nodes = None;
        assert!(outcome(&CiliumNodeIpamExhausted, &c).is_err());
    }
}
