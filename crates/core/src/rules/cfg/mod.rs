//! CFG rules. One file per rule; list each once in `RULES`, in code order.

use super::Rule;

mod cfg001_eni_mode_needs_native_routing;
mod cfg002_eni_mode_half_configured;
mod cfg003_kpr_without_api_server_host;
mod cfg004_kpr_with_kube_proxy;
mod cfg005_eni_needs_aws_operator;
mod cfg006_overlay_webhooks_unreachable;
mod cfg007_al2023_masquerade_interfaces_eth;
mod cfg008_nodeinit_on_bottlerocket;
mod cfg009_hybrid_pool_outside_remote_pod_networks;
mod cfg010_agent_config_init_crashloop;
mod cfg011_kernel_cilium_complexity;
mod cfg012_competing_default_routes;
mod cfg013_local_rule_missing;
mod cfg014_eni_egress_rules_vpc_only;
mod os_nodes;

pub static RULES: &[&dyn Rule] = &[
    &cfg001_eni_mode_needs_native_routing::EniModeNeedsNativeRouting,
    &cfg002_eni_mode_half_configured::EniModeHalfConfigured,
    &cfg003_kpr_without_api_server_host::KprWithoutApiServerHost,
    &cfg004_kpr_with_kube_proxy::KprWithKubeProxy,
    &cfg005_eni_needs_aws_operator::EniNeedsAwsOperator,
    &cfg006_overlay_webhooks_unreachable::OverlayWebhooksUnreachable,
    &cfg007_al2023_masquerade_interfaces_eth::Al2023MasqueradeInterfacesEth,
    &cfg008_nodeinit_on_bottlerocket::NodeinitOnBottlerocket,
    &cfg009_hybrid_pool_outside_remote_pod_networks::HybridPoolOutsideRemotePodNetworks,
    &cfg010_agent_config_init_crashloop::AgentConfigInitCrashloop,
    &cfg011_kernel_cilium_complexity::KernelCiliumComplexity,
    &cfg012_competing_default_routes::CompetingDefaultRoutes,
    &cfg013_local_rule_missing::LocalRuleMissing,
    &cfg014_eni_egress_rules_vpc_only::EniEgressRulesVpcOnly,
];
