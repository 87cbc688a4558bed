//! LOG rules: what the agent and operator logs and the Events say, matched
//! against the signature catalogue (`data/log-signatures.json`). One file
//! per rule; list each once in `RULES`, in code order.

use super::Rule;

pub(crate) mod common;
mod log001_eni_allocator_not_started;
mod log002_operator_cannot_reach_ec2;
mod log003_agent_waiting_for_pool_ips;
mod log004_bpf_program_rejected;
mod log005_agent_api_unresponsive;
mod log006_agent_startup_probe_failing;
mod log007_operator_instance_not_found;
mod log008_eni_datapath_setup_failed;
mod log010_known_failure_signature;

pub static RULES: &[&dyn Rule] = &[
    &log001_eni_allocator_not_started::EniAllocatorNotStarted,
    &log002_operator_cannot_reach_ec2::OperatorCannotReachEc2,
    &log003_agent_waiting_for_pool_ips::AgentWaitingForPoolIps,
    &log004_bpf_program_rejected::BpfProgramRejected,
    &log005_agent_api_unresponsive::AgentApiUnresponsive,
    &log006_agent_startup_probe_failing::AgentStartupProbeFailing,
    &log007_operator_instance_not_found::OperatorInstanceNotFound,
    &log008_eni_datapath_setup_failed::EniDatapathSetupFailed,
    &log010_known_failure_signature::KnownFailureSignature,
];

#[cfg(test)]
mod tests;
