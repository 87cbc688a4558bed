//! The CAP rules' view of pod-IP capacity: where an instance type's limits
//! come from (the snapshot's DescribeInstanceTypes wins over the embedded
//! table), and thin wrappers over the shared [`crate::capacity`] formulas
//! with the running Cilium version's facts filled in.

use std::borrow::Cow;

use crate::capacity::{self, CapacityOptions, Mode, ReservedIp};
use crate::knowledge::{CiliumMinor, Hypervisor, InstanceType, ReservedPurpose};
use crate::model::Ec2InstanceType;
use crate::rules::Context;

pub use crate::capacity::IPS_PER_PREFIX;

/// Where an instance type's limits came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitsSource {
    /// `aws ec2 describe-instance-types` in the snapshot (live truth).
    Ec2Api,
    /// The embedded knowledge (VPC CNI limits table).
    Knowledge,
}

impl LimitsSource {
    pub fn describe(self) -> &'static str {
        match self {
            LimitsSource::Ec2Api => "EC2 DescribeInstanceTypes in the snapshot",
            LimitsSource::Knowledge => "embedded instance limits (VPC CNI table)",
        }
    }
}

/// Network limits of one instance type and where they came from.
#[derive(Debug, Clone)]
pub struct Limits<'a> {
    pub it: Cow<'a, InstanceType>,
    pub source: LimitsSource,
}

fn from_ec2(t: &Ec2InstanceType) -> InstanceType {
    let hypervisor = match t
        .hypervisor
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("nitro") => Hypervisor::Nitro,
        Some("xen") => Hypervisor::Xen,
        _ => Hypervisor::Unknown,
    };
    InstanceType {
        name: t.instance_type.clone(),
        enis: t.enis,
        enis_all_cards: t.enis_all_cards,
        ipv4_per_eni: t.ipv4_per_eni,
        hypervisor,
        bare_metal: t.bare_metal,
        vcpus: t.vcpus,
    }
}

/// The limits of `name`: the snapshot's DescribeInstanceTypes wins (live
/// truth), else the embedded knowledge.
pub fn instance_limits<'a>(cx: &Context<'a>, name: &str) -> Option<Limits<'a>> {
    let live = cx
        .cluster
        .instance_types
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|t| t.instance_type == name && t.enis > 0);
    if let Some(t) = live {
        return Some(Limits {
            it: Cow::Owned(from_ec2(t)),
            source: LimitsSource::Ec2Api,
        });
    }
    cx.knowledge.instance(name).map(|it| Limits {
        it: Cow::Borrowed(it),
        source: LimitsSource::Knowledge,
    })
}

/// Whether the running Cilium minor delegates prefixes on bare metal
/// (knowledge `CiliumMinor::prefix_delegation_on_bare_metal`; a minor newer
/// than the data takes the newest minor's answer, an unknown version: no).
pub fn prefix_delegation_on_bare_metal(cx: &Context) -> bool {
    let Some(running) = cx.cluster.cilium.version.map(|v| v.minor()) else {
        return false;
    };
    match cx.knowledge.cilium_minor(running) {
        Some(m) => m.prefix_delegation_on_bare_metal,
        None => {
            cx.knowledge.cilium.last().is_some_and(|newest| {
                running > newest.minor && newest.prefix_delegation_on_bare_metal
            })
        }
    }
}

/// The knowledge of the running Cilium minor; a minor newer than the data
/// (or an unknown version) takes the newest minor's facts.
fn running_minor<'a>(cx: &Context<'a>) -> &'a CiliumMinor {
    cx.cluster
        .cilium
        .version
        .and_then(|v| cx.knowledge.cilium_minor(v.minor()))
        .unwrap_or_else(|| cx.knowledge.newest_cilium())
}

/// The addresses the agent takes from each node's pool for itself. A
/// verbose `cilium status` in the snapshot shows them (`Allocated
/// addresses:`, owners router/health/ingress); otherwise the cluster's
/// cilium-config decides under the data's rules (`ipam_reserved`).
pub fn reserved_ips(cx: &Context) -> Vec<ReservedIp> {
    let listed = cx
        .cluster
        .cilium_status
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find_map(|r| Some((r.source.as_str(), r.allocation_owners.as_deref()?)));
    if let Some((source, owners)) = listed {
        return [
            ReservedPurpose::Router,
            ReservedPurpose::Health,
            ReservedPurpose::Ingress,
        ]
        .into_iter()
        .filter_map(|purpose| {
            let count = owners.iter().filter(|o| *o == purpose.as_str()).count();
            (count > 0).then(|| ReservedIp {
                purpose,
                count: u32::try_from(count).unwrap_or(u32::MAX),
                setting: format!("listed by cilium status --verbose ({source})"),
            })
        })
        .collect();
    }
    let config = cx.cluster.cilium.config.as_ref();
    capacity::reserved_ips(running_minor(cx), |key| {
        config.and_then(|c| c.get(key)).cloned()
    })
}

/// Cilium's operator delegates prefixes only on nitro instances, and on bare
/// metal from the minor the knowledge names (`IsPrefixDelegated()`).
pub fn prefix_delegation_supported(cx: &Context, it: &InstanceType) -> bool {
    it.hypervisor == Hypervisor::Nitro || (it.bare_metal && prefix_delegation_on_bare_metal(cx))
}

/// What every node's Cilium ENI-mode capacity shares (whether bare metal
/// gets prefixes, the agent's own addresses), worked out once per
/// evaluation rather than once per node.
pub struct EniPools {
    prefix_delegation_on_bare_metal: bool,
    reserved: Vec<ReservedIp>,
}

impl EniPools {
    pub fn of(cx: &Context) -> EniPools {
        EniPools {
            prefix_delegation_on_bare_metal: prefix_delegation_on_bare_metal(cx),
            reserved: reserved_ips(cx),
        }
    }

    /// Capacity of one node: pod IPs, and whether prefixes really apply to
    /// this type (`Capacity::prefix_delegation`).
    pub fn node(
        &self,
        it: &InstanceType,
        first_interface_index: u32,
        prefix_delegation_on: bool,
    ) -> capacity::Capacity {
        let mut o = CapacityOptions::new(Mode::CiliumEni);
        o.prefix_delegation = prefix_delegation_on;
        o.first_interface_index = Some(first_interface_index);
        o.prefix_delegation_on_bare_metal = self.prefix_delegation_on_bare_metal;
        o.reserved = self.reserved.clone();
        capacity::capacity(it, &o)
    }

    /// Pod IPs of one node.
    pub fn pod_ips(
        &self,
        it: &InstanceType,
        first_interface_index: u32,
        prefix_delegation_on: bool,
    ) -> u32 {
        self.node(it, first_interface_index, prefix_delegation_on)
            .pod_ips
            .unwrap_or(0)
    }
}

/// The pod-IP formula with the node's numbers, for evidence: the pool, then
/// the agent's own addresses taken from it.
pub fn cilium_eni_formula(cap: &capacity::Capacity, first_interface_index: u32) -> String {
    let pool = cap.pool_ips.unwrap_or(0);
    let reserved: Vec<String> = cap
        .reserved_ips
        .iter()
        .map(|r| format!("{} {}", r.count, r.purpose.as_str()))
        .collect();
    format!(
        "({} ENIs - first-interface-index {}) × ({} IPv4 per ENI - 1){} = {} pool IPs; \
         {} - {} reserved by the agent ({}) = {}",
        cap.enis,
        first_interface_index,
        cap.ipv4_per_eni,
        if cap.prefix_delegation {
            " × 16 (prefix delegation)"
        } else {
            ""
        },
        pool,
        pool,
        capacity::reserved_total(&cap.reserved_ips),
        if reserved.is_empty() {
            "none".to_string()
        } else {
            reserved.join(", ")
        },
        cap.pod_ips.unwrap_or(0)
    )
}

/// The EKS default kubelet max pods for the type (the eni-max-pods value).
pub fn eks_default_max_pods(it: &InstanceType) -> u32 {
    capacity::eks_default_max_pods(it)
}

/// The max-pods ceiling EKS recommends: 110 up to 30 vCPUs, 250 above;
/// unknown vCPUs → the lower 110.
pub fn recommended_max_pods(it: &InstanceType) -> u32 {
    capacity::max_pods_cap(it.vcpus).unwrap_or(capacity::SMALL_NODE_MAX_PODS)
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)]
mod tests {
    use super::*;
    use crate::knowledge::Knowledge;
    use crate::model::Cluster;
    use crate::rules::testing::context;
    use crate::rules::CheckOptions;

    pub(crate) fn it(
        name: &str,
        enis: u32,
        ipv4: u32,
        hv: Hypervisor,
        metal: bool,
        vcpus: u32,
    ) -> InstanceType {
        InstanceType {
            name: name.into(),
            enis,
            enis_all_cards: enis,
            ipv4_per_eni: ipv4,
            hypervisor: hv,
            bare_metal: metal,
            vcpus: Some(vcpus),
        }
    }

    fn with_version(image: Option<&str>, f: impl FnOnce(&Context)) {
        let mut c = Cluster::default();
        if let Some(image) = image {
            let mut ds: crate::model::Workload = serde_json::from_value(serde_json::json!({
                "metadata":{"name":"cilium","namespace":"kube-system"},
                "spec":{"template":{"spec":{"containers":[{"name":"cilium-agent","image":image}]}}}}))
            .unwrap();
            ds.kind = "DaemonSet".into();
            c.daemonsets = Some(vec![ds]);
        }
        c.finish();
        f(&context(
            &c,
            Knowledge::embedded(),
            &CheckOptions::default(),
        ))
    }

    #[test]
    fn formulas_match_the_sources() {
        with_version(None, |cx| {
            // m5.large: 3 ENIs, 10 IPv4 (instance_limits.csv); eni-max-pods 29.
            let m5 = it("m5.large", 3, 10, Hypervisor::Nitro, false, 2);
            assert_eq!(eks_default_max_pods(&m5), 29);
            // The pool minus the router and health addresses (chart defaults).
            assert_eq!(EniPools::of(cx).pod_ips(&m5, 0, false), 25);
            assert_eq!(EniPools::of(cx).pod_ips(&m5, 1, false), 16);
            assert_eq!(EniPools::of(cx).pod_ips(&m5, 1, true), 286);
            assert_eq!(recommended_max_pods(&m5), 110);
            let t3 = it("t3.medium", 3, 6, Hypervisor::Nitro, false, 2);
            assert_eq!(eks_default_max_pods(&t3), 17);
            // Edge cases: index beyond the ENIs, one address per ENI.
            assert_eq!(EniPools::of(cx).pod_ips(&m5, 5, true), 0);
            let one = it("x", 2, 1, Hypervisor::Nitro, false, 1);
            assert_eq!(EniPools::of(cx).pod_ips(&one, 0, false), 0);
            assert_eq!(
                cilium_eni_formula(&EniPools::of(cx).node(&m5, 1, false), 1),
                "(3 ENIs - first-interface-index 1) × (10 IPv4 per ENI - 1) = 18 pool IPs; \
                 18 - 2 reserved by the agent (1 router, 1 health) = 16"
            );
            // Xen falls back to secondary IPs even with prefix delegation on.
            let m4 = it("m4.large", 2, 10, Hypervisor::Xen, false, 2);
            assert_eq!(EniPools::of(cx).pod_ips(&m4, 0, true), 16);
        });
    }

    #[test]
    fn max_pods_guidance_boundary() {
        assert_eq!(
            recommended_max_pods(&it("a", 8, 30, Hypervisor::Nitro, false, 30)),
            110
        );
        assert_eq!(
            recommended_max_pods(&it("b", 8, 30, Hypervisor::Nitro, false, 32)),
            250
        );
        let mut unknown = it("c", 8, 30, Hypervisor::Nitro, false, 64);
        unknown.vcpus = None;
        assert_eq!(recommended_max_pods(&unknown), 110);
    }

    #[test]
    fn prefix_delegation_on_bare_metal_follows_the_knowledge() {
        let metal = it("m5.metal", 15, 50, Hypervisor::Unknown, true, 96);
        let xen = it("m4.large", 2, 10, Hypervisor::Xen, false, 2);
        // Bare metal from v1.18.0 (eni_iam.json bare_metal_by_minor).
        with_version(Some("quay.io/cilium/cilium:v1.17.13"), |cx| {
            assert!(!prefix_delegation_supported(cx, &metal));
            assert_eq!(EniPools::of(cx).pod_ips(&metal, 0, true), 15 * 49 - 2);
        });
        for version in [
            "quay.io/cilium/cilium:v1.18.7",
            "quay.io/cilium/cilium:v1.19.1",
        ] {
            with_version(Some(version), |cx| {
                assert!(prefix_delegation_supported(cx, &metal));
                assert!(!prefix_delegation_supported(cx, &xen));
                assert_eq!(EniPools::of(cx).pod_ips(&metal, 0, true), 15 * 49 * 16 - 2);
            });
        }
        // A minor newer than the data takes the newest minor's answer.
        with_version(Some("quay.io/cilium/cilium:v1.99.0"), |cx| {
            assert!(prefix_delegation_supported(cx, &metal));
        });
        with_version(None, |cx| assert!(!prefix_delegation_supported(cx, &metal)));
    }
}
