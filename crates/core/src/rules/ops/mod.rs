//! OPS rules. One file per rule; list each once in `RULES`, in code order.

pub(crate) mod common;
mod map_pressure;

mod ops001_conntrack_table_pressure;
mod ops002_nat_table_pressure;
mod ops003_cilium_pods_restarting;
mod ops004_cilium_agents_not_ready;
mod ops005_observability_disabled;
mod ops006_nodes_unreachable;
mod ops007_controllers_failing;
mod ops008_pod_identity_link_as_device;
mod ops009_pod_identity_egress_blocked;

use super::Rule;

pub static RULES: &[&dyn Rule] = &[
    &ops001_conntrack_table_pressure::ConntrackTablePressure,
    &ops002_nat_table_pressure::NatTablePressure,
    &ops003_cilium_pods_restarting::CiliumPodsRestarting,
    &ops004_cilium_agents_not_ready::CiliumAgentsNotReady,
    &ops005_observability_disabled::ObservabilityDisabled,
    &ops006_nodes_unreachable::NodesUnreachable,
    &ops007_controllers_failing::ControllersFailing,
    &ops008_pod_identity_link_as_device::PodIdentityLinkAsDevice,
    &ops009_pod_identity_egress_blocked::PodIdentityEgressBlocked,
];
