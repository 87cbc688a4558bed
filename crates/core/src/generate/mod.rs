//! Artifacts that fix what `check` finds: the cilium-operator's IAM policy
//! and trust policy, Helm values for a Cilium minor on EKS, Prometheus
//! alerting rules, a Grafana dashboard and the aws-node patch. Each is a pure function of the
//! knowledge and its options that returns text or a serde value; an input
//! that cannot become a correct artifact is refused with a
//! [`GenerateError`] instead.

pub mod alerts;
pub mod aws_node;
pub mod cidr;
pub mod grafana;
pub mod helm_values;
pub mod iam_policy;
pub mod max_pods;
pub mod trust_policy;
mod yaml;

use std::fmt;

use crate::knowledge::{CiliumMinor, Knowledge};
use crate::version::Minor;

// The names the Cilium chart gives its objects (`name`, `serviceAccounts`
// in cilium/helm_values/values-*.yaml; the DaemonSet and Deployment of the
// real sysdump under realworld/cilium) in the namespace it is installed in.
/// The agent DaemonSet.
pub const AGENT_DAEMONSET: &str = "cilium";
/// The agent's container.
pub const AGENT_CONTAINER: &str = "cilium-agent";
/// The operator Deployment, its container and its ServiceAccount.
pub const OPERATOR: &str = "cilium-operator";
/// Where the chart is installed unless told otherwise (the EKS guide's
/// `kubectl -n kube-system`).
pub const DEFAULT_NAMESPACE: &str = "kube-system";

/// Why an artifact cannot be generated; the message says what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateError(pub String);

impl fmt::Display for GenerateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GenerateError {}

/// The knowledge of Cilium `minor`, or an error that lists the known minors.
pub fn cilium_minor(knowledge: &Knowledge, minor: Minor) -> Result<&CiliumMinor, GenerateError> {
    knowledge.cilium_minor(minor).ok_or_else(|| {
        GenerateError(format!(
            "unknown Cilium minor {minor} (known: {})",
            knowledge.cilium_minors_list()
        ))
    })
}
