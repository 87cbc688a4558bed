//! CNI rules. One file per rule; list each once in `RULES`, in code order.

use super::Rule;

mod cni001_aws_node_active;
mod cni002_vpc_cni_addon_managed;
mod cni003_pods_not_managed_by_cilium;
mod cni004_agent_not_ready_taint_missing;
pub(crate) mod cni005_vpc_cni_leftovers;
mod cni006_chaining_without_aws_node;
mod cni007_chaining_with_eni_ipam;
mod cni008_chaining_aws_node_not_ready;
mod cni009_hybrid_nodes_cilium_unsupported;
mod cni010_chaining_vpc_cni_mtu_type;
mod cni011_chaining_kpr_probe;
pub(super) mod shared;

pub static RULES: &[&dyn Rule] = &[
    &cni001_aws_node_active::AwsNodeActive,
    &cni002_vpc_cni_addon_managed::VpcCniAddonManaged,
    &cni003_pods_not_managed_by_cilium::PodsNotManagedByCilium,
    &cni004_agent_not_ready_taint_missing::AgentNotReadyTaintMissing,
    &cni005_vpc_cni_leftovers::VpcCniLeftovers,
    &cni006_chaining_without_aws_node::ChainingWithoutAwsNode,
    &cni007_chaining_with_eni_ipam::ChainingWithEniIpam,
    &cni008_chaining_aws_node_not_ready::ChainingAwsNodeNotReady,
    &cni009_hybrid_nodes_cilium_unsupported::HybridNodesCiliumUnsupported,
    &cni010_chaining_vpc_cni_mtu_type::ChainingVpcCniMtuType,
    &cni011_chaining_kpr_probe::ChainingKprProbe,
];
