//! `mesh`: load each snapshot into its own cluster, run the multi-cluster
//! MESH rules over all of them, and report like `check`.

use std::path::{Path, PathBuf};

use clap::Args;
use doctor_core::knowledge::Knowledge;
use doctor_core::load::{load_paths, LoadOptions};
use doctor_core::rules::{evaluate_mesh, CheckOptions, MeshContext, NamedCluster};

use crate::error::CliError;
use crate::report_args::ReportArgs;

#[derive(Debug, Args)]
pub struct MeshArgs {
    /// One snapshot per cluster (a directory, .zip sysdump or .tar.gz);
    /// at least two.
    #[arg(value_name = "SNAPSHOT", required = true, num_args = 2..)]
    snapshots: Vec<PathBuf>,
    #[command(flatten)]
    report: ReportArgs,
}

/// The EKS name of the cluster, else the snapshot's file name.
fn cluster_name(cluster: &doctor_core::model::Cluster, path: &Path) -> String {
    cluster
        .eks
        .as_ref()
        .map(|e| e.name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| {
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string())
        })
}

/// Runs the mesh check; returns the process exit code (0 or 1).
pub fn run(args: &MeshArgs, knowledge: &Knowledge) -> Result<u8, CliError> {
    let mut clusters = Vec::new();
    for path in &args.snapshots {
        let loaded = load_paths(std::slice::from_ref(path), &LoadOptions::default())
            .map_err(|e| CliError(e.to_string()))?;
        let name = cluster_name(&loaded.cluster, path);
        if clusters.iter().any(|c: &NamedCluster| c.name == name) {
            return Err(CliError(format!(
                "two snapshots are named {name:?}: give each cluster its own snapshot"
            )));
        }
        clusters.push(NamedCluster {
            name,
            cluster: loaded.cluster,
        });
    }
    let options = CheckOptions {
        as_of: args.report.as_of(),
        ..CheckOptions::default()
    };
    let report = evaluate_mesh(&MeshContext {
        clusters: &clusters,
        knowledge,
        options: &options,
    });
    args.report.write(&report)
}
