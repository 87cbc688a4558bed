//! CAP rules. One file per rule; list each once in `RULES`, in code order.

mod cidr;
mod common;
mod ip_capacity;

mod cap001_max_pods_exceeds_ip_capacity;
mod cap002_pods_stuck_without_ip;
mod cap003_nodegroup_ip_capacity_short;
mod cap004_overlay_max_pods_left_at_eni_default;

use super::Rule;

pub static RULES: &[&dyn Rule] = &[
    &cap001_max_pods_exceeds_ip_capacity::MaxPodsExceedsIpCapacity,
    &cap002_pods_stuck_without_ip::PodsStuckWithoutIp,
    &cap003_nodegroup_ip_capacity_short::NodegroupIpCapacityShort,
    &cap004_overlay_max_pods_left_at_eni_default::OverlayMaxPodsLeftAtEniDefault,
];
