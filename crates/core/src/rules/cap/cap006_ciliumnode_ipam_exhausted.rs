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
whose addresses are all listed in `status.ipam.used`.",
    why_it_matters: "An exhausted pool means the next pod scheduled to that node gets no \
IP and hangs in ContainerCreating; an operator error usually means the operator cannot \
attach ENIs or addresses (instance ENI limit, subnet full, missing EC2 permission) and \
the pool will not grow.",
    how_to_fix: "Read the operator status and log for the node, then fix the cause: the \
instance's ENI limit (CAP001: lower max pods or enable prefix delegation), the subnet's \
free addresses (CAP005), or the operator's EC2 permissions (IAM001).",
    known_limits: "A snapshot shows one moment: a pool that is full while the operator is \
about to add addresses also fires. Pools that are empty are not judged (a new node may \
not have received addresses yet) unless the operator reports an error.",
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
    fn missing_ciliumnodes() {
        let mut c = cluster("eni", json!({}));
        c.cilium_nodes = None;
        assert!(outcome(&CiliumNodeIpamExhausted, &c).is_err());
    }
}
