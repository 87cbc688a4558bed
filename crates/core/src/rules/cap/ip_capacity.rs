//! Pod-IP capacity arithmetic per EC2 instance type. A SMALL private stand-in
//! for the shared `capacity` module (being written in parallel); the lead
//! replaces it at merge time. Formulas, exactly as the sources state them:
//!
//! - Cilium ENI mode: `(ENIs - first-interface-index) * max(IPv4 per ENI - 1, 0)`,
//!   `* 16` when the node is prefix-delegated (`GetMaximumAllocatableIPv4`,
//!   `ENIPDBlockSizeIPv4 = 16`; `/work/shared/data/cilium/eni_iam.json`
//!   `first_interface_index.code_max_allocatable_ipv4`).
//! - EKS default kubelet max pods (the eni-max-pods value):
//!   `ENIs * (IPv4 per ENI - 1) + 2` (`/work/shared/data/aws/max_pods_formula.md` §1).
//! - The 110 / 250 max-pods guidance (≤ 30 vCPUs → 110, else 250;
//!   `max_pods_formula.md` §3, CALC uses `-gt 30`).

use std::borrow::Cow;

use crate::knowledge::{Hypervisor, InstanceType};
use crate::model::Ec2InstanceType;
use crate::rules::Context;
use crate::version::{Minor, Version};

/// Addresses per /28 prefix (`ENIPDBlockSizeIPv4`, eni_iam.json `prefix_delegation`).
pub const IPS_PER_PREFIX: u32 = 16;

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

/// Cilium ENI mode pod IPs of one node.
pub fn cilium_eni_pod_ips(
    it: &InstanceType,
    first_interface_index: u32,
    prefix_delegated: bool,
) -> u32 {
    let enis = it.enis.saturating_sub(first_interface_index);
    let per_eni = it.ipv4_per_eni.saturating_sub(1);
    let ips = enis.saturating_mul(per_eni);
    if prefix_delegated {
        ips.saturating_mul(IPS_PER_PREFIX)
    } else {
        ips
    }
}

/// The formula text behind [`cilium_eni_pod_ips`], for evidence.
pub fn cilium_eni_formula(
    it: &InstanceType,
    first_interface_index: u32,
    prefix_delegated: bool,
) -> String {
    format!(
        "({} ENIs - first-interface-index {}) × ({} IPv4 per ENI - 1){} = {}",
        it.enis,
        first_interface_index,
        it.ipv4_per_eni,
        if prefix_delegated {
            " × 16 (prefix delegation)"
        } else {
            ""
        },
        cilium_eni_pod_ips(it, first_interface_index, prefix_delegated)
    )
}

/// The EKS default kubelet max pods for the type (eni-max-pods value).
pub fn eks_default_max_pods(it: &InstanceType) -> u32 {
    it.enis
        .saturating_mul(it.ipv4_per_eni.saturating_sub(1))
        .saturating_add(2)
}

/// The max-pods ceiling EKS recommends: 110 up to 30 vCPUs, 250 above
/// (max_pods_formula.md §3). Unknown vCPUs → the lower 110.
pub fn recommended_max_pods(it: &InstanceType) -> u32 {
    match it.vcpus {
        Some(v) if v > 30 => 250,
        _ => 110,
    }
}

/// Cilium allocates prefixes only on nitro instances, and from 1.19 also on
/// bare metal (eni_iam.json `prefix_delegation.code_facts`, `IsPrefixDelegated`).
pub fn prefix_delegation_supported(it: &InstanceType, cilium: Option<Version>) -> bool {
    it.hypervisor == Hypervisor::Nitro
        || (it.bare_metal && cilium.is_some_and(|v| v.minor() >= Minor::new(1, 19)))
}

#[cfg(test)]
mod tests {
    use super::*;

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
            ipv4_per_eni: ipv4,
            hypervisor: hv,
            bare_metal: metal,
            vcpus: Some(vcpus),
        }
    }

    #[test]
    fn formulas_match_the_sources() {
        // m5.large: 3 ENIs, 10 IPv4 (instance_limits.csv); eni-max-pods 29.
        let m5 = it("m5.large", 3, 10, Hypervisor::Nitro, false, 2);
        assert_eq!(eks_default_max_pods(&m5), 29);
        assert_eq!(cilium_eni_pod_ips(&m5, 0, false), 27);
        assert_eq!(cilium_eni_pod_ips(&m5, 1, false), 18);
        assert_eq!(cilium_eni_pod_ips(&m5, 1, true), 288);
        assert_eq!(recommended_max_pods(&m5), 110);
        // t3.medium: 3 ENIs, 6 IPv4; eni-max-pods 17.
        let t3 = it("t3.medium", 3, 6, Hypervisor::Nitro, false, 2);
        assert_eq!(eks_default_max_pods(&t3), 17);
        // Edge cases: index beyond the ENIs, one address per ENI.
        assert_eq!(cilium_eni_pod_ips(&m5, 5, true), 0);
        assert_eq!(
            cilium_eni_pod_ips(&it("x", 2, 1, Hypervisor::Nitro, false, 1), 0, false),
            0
        );
        assert_eq!(
            cilium_eni_pod_ips(&it("x", 0, 0, Hypervisor::Nitro, false, 1), 0, false),
            0
        );
        assert_eq!(
            cilium_eni_formula(&m5, 1, false),
            "(3 ENIs - first-interface-index 1) × (10 IPv4 per ENI - 1) = 18"
        );
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
    fn prefix_delegation_support() {
        let v118 = Some(Version::new(1, 18, 7));
        let v119 = Some(Version::new(1, 19, 1));
        let nitro = it("m5.large", 3, 10, Hypervisor::Nitro, false, 2);
        let xen = it("m4.large", 2, 10, Hypervisor::Xen, false, 2);
        let metal = it("m5.metal", 15, 50, Hypervisor::Unknown, true, 96);
        assert!(prefix_delegation_supported(&nitro, v118));
        assert!(!prefix_delegation_supported(&xen, v119));
        assert!(!prefix_delegation_supported(&metal, v118));
        assert!(prefix_delegation_supported(&metal, v119));
        assert!(!prefix_delegation_supported(&metal, None));
    }
}
