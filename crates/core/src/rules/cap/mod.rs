//! CAP rules. One file per rule; list each once in `RULES`, in code order.

pub(crate) mod cidr;
pub(crate) mod common;
pub(crate) mod future_nodes;
pub(crate) mod ip_capacity;

mod cap001_max_pods_exceeds_ip_capacity;
mod cap002_pods_stuck_without_ip;
mod cap003_nodegroup_ip_capacity_short;
mod cap004_overlay_max_pods_left_at_eni_default;
mod cap005_subnet_ip_exhaustion;
mod cap006_ciliumnode_ipam_exhausted;
mod cap007_prefix_delegation_unsupported_instance;
pub(crate) mod cap008_pod_cidr_overlaps_vpc;
mod cap009_agent_ipam_pool_full;
mod cap010_cilium_enis_leaked;
mod cap011_ciliumnode_instance_missing;
mod cap012_ciliumnode_instance_id_empty;
mod cap013_eniconfig_ignored;
mod cap014_pool_addresses_not_on_enis;
mod cap015_eni_subnet_kind_differs;

use super::Rule;

pub static RULES: &[&dyn Rule] = &[
    &cap001_max_pods_exceeds_ip_capacity::MaxPodsExceedsIpCapacity,
    &cap002_pods_stuck_without_ip::PodsStuckWithoutIp,
    &cap003_nodegroup_ip_capacity_short::NodegroupIpCapacityShort,
    &cap004_overlay_max_pods_left_at_eni_default::OverlayMaxPodsLeftAtEniDefault,
    &cap005_subnet_ip_exhaustion::SubnetIpExhaustion,
    &cap006_ciliumnode_ipam_exhausted::CiliumNodeIpamExhausted,
    &cap007_prefix_delegation_unsupported_instance::PrefixDelegationUnsupportedInstance,
    &cap008_pod_cidr_overlaps_vpc::PodCidrOverlapsVpc,
    &cap009_agent_ipam_pool_full::AgentIpamPoolFull,
    &cap010_cilium_enis_leaked::CiliumEnisLeaked,
    &cap011_ciliumnode_instance_missing::CiliumNodeInstanceMissing,
    &cap012_ciliumnode_instance_id_empty::CiliumNodeInstanceIdEmpty,
    &cap013_eniconfig_ignored::EniConfigIgnored,
    &cap014_pool_addresses_not_on_enis::PoolAddressesNotOnEnis,
    &cap015_eni_subnet_kind_differs::EniSubnetKindDiffers,
];
