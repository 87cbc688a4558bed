//! IAC rules: traps only infrastructure code shows, before it is applied
//! (`preflight`). They read the model's [`crate::iac::IacFacts`]; outside
//! `preflight` the engine does not run them at all. One file per rule; list
//! each once in `RULES`, in code order.

use super::{Missing, Rule};
use crate::iac::IacFacts;
use crate::model::Cluster;

mod iac001_addon_removal_by_deletion;
mod iac002_obsolete_pulumi_option;
mod iac003_cluster_replacement_planned;
mod iac004_unpinned_cilium_chart;
mod iac005_helm_values_not_evaluable;

pub static RULES: &[&dyn Rule] = &[
    &iac001_addon_removal_by_deletion::AddonRemovalByDeletion,
    &iac002_obsolete_pulumi_option::ObsoletePulumiOption,
    &iac003_cluster_replacement_planned::ClusterReplacementPlanned,
    &iac004_unpinned_cilium_chart::UnpinnedCiliumChart,
    &iac005_helm_values_not_evaluable::HelmValuesNotEvaluable,
];

/// The IaC facts, or not evaluated without infrastructure code.
fn facts(c: &Cluster) -> Result<&IacFacts, Missing> {
    c.iac.as_ref().ok_or_else(|| {
        Missing::new(
            "no infrastructure code (Terraform plan JSON, eksctl ClusterConfig, CloudFormation, Pulumi)",
            "eks-cilium-doctor preflight plan.json cluster.yaml",
        )
    })
}

#[cfg(test)]
pub(crate) mod testkit {
    use std::path::PathBuf;

    use crate::iac::{load, IacOptions};
    use crate::model::Cluster;

    /// The model `preflight` builds from these fixture files
    /// (`crates/core/tests/fixtures/iac/`).
    pub(crate) fn preflight(files: &[&str]) -> Cluster {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/iac");
        let paths: Vec<PathBuf> = files.iter().map(|f| dir.join(f)).collect();
        load(&paths, &IacOptions::default()).unwrap().cluster
    }
}
