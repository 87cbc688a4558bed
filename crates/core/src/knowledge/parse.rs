//! Loading and validating the knowledge data files of `data/`.
//!
//! The files are embedded at build time; `--knowledge DIR` reads any of them
//! from DIR instead (same names, same format). Every error names the file it
//! is about, so a bad override is easy to find.

mod files;
mod formats;
mod suggest;
mod validate;

use std::fmt;
use std::path::Path;

use super::Knowledge;
use files::Files;

pub use suggest::closest_names;

/// A data file that is missing, unreadable, malformed or inconsistent. The
/// message starts with the file's name.
#[derive(Debug)]
pub struct KnowledgeError(pub String);

impl fmt::Display for KnowledgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KnowledgeError {}

pub(super) fn load_embedded() -> Result<Knowledge, KnowledgeError> {
    load(&Files::embedded())
}

pub(super) fn load_dir(dir: &Path) -> Result<Knowledge, KnowledgeError> {
    load(&Files::overridden_by(dir)?)
}

fn load(files: &Files) -> Result<Knowledge, KnowledgeError> {
    let instances = files.get(files::INSTANCES)?;
    let eks = files.get(files::EKS)?;
    let cilium = files.get(files::CILIUM)?;
    let instance_map = validate::instances(&instances.name, formats::instances(&instances)?)?;
    let eks_file = formats::eks(&eks)?;
    let cilium_file = formats::cilium(&cilium)?;
    validate::eks(&eks.name, &eks_file)?;
    validate::cilium(&cilium.name, &cilium_file)?;

    let minors: Vec<_> = cilium_file.minors.iter().map(|c| c.minor).collect();
    let mut helm_keys = std::collections::BTreeMap::new();
    for minor in &minors {
        let file = files.get(&files::helm_keys(*minor))?;
        helm_keys.insert(*minor, formats::helm_keys(&file)?);
    }
    files.reject_unknown_helm_keys(&minors)?;
    validate::removed_keys(&cilium.name, &cilium_file.minors, &helm_keys)?;
    let metrics = files.get(files::METRICS)?;
    let metrics = validate::metrics(&metrics.name, formats::metrics(&metrics)?, &minors)?;
    let cilium_eks = files.get(files::CILIUM_EKS)?;
    let cilium_eks_file = formats::cilium_eks(&cilium_eks)?;
    validate::cilium_eks(&cilium_eks.name, &cilium_eks_file, &helm_keys)?;
    let eks_iam = files.get(files::EKS_IAM)?;
    let eks_iam_file = formats::eks_iam(&eks_iam)?;
    validate::eks_iam(&eks_iam.name, &eks_iam_file)?;
    let dates = files.get(files::KNOWLEDGE_DATES)?;
    let dates_file = formats::knowledge_dates(&dates)?;
    validate::knowledge_dates(&dates.name, &dates_file)?;
    let known = files.get(files::KNOWN_ISSUES)?;
    let known_file = formats::known_issues(&known)?;
    validate::known_issues(&known.name, &known_file)?;

    Ok(Knowledge {
        instances: instance_map,
        eks_versions: eks_file.versions,
        ami_kernels: eks_file.ami_kernels,
        al2_last_kubernetes: eks_file.al2_last_kubernetes,
        cilium: cilium_file.minors,
        helm_keys,
        metrics,
        cilium_eks: cilium_eks_file.into_facts(),
        eks_iam: eks_iam_file.into_facts(),
        control_plane_rollback: eks_file.control_plane_rollback,
        cluster_insights: eks_file.cluster_insights,
        max_pods_settings: eks_file.max_pods_settings,
        dates: dates_file,
        known_issues: super::KnownIssues {
            versioned: known_file.versioned,
            cited: known_file.cited,
        },
    })
}

#[cfg(test)]
mod tests;
