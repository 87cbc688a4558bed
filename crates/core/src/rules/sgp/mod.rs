//! SGP rules. One file per rule; list each once in `RULES`, in code order.

use super::Rule;

mod sgp001_security_group_policy_ignored;
mod sgp002_pods_request_branch_eni;

pub static RULES: &[&dyn Rule] = &[
    &sgp001_security_group_policy_ignored::SecurityGroupPolicyIgnored,
    &sgp002_pods_request_branch_eni::PodsRequestBranchEni,
];
