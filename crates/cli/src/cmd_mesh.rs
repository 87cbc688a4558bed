//! `mesh`: load each snapshot into its own cluster, run the multi-cluster
//! MESH rules over all of them through the engine, and report like `check`.

use std::path::{Path, PathBuf};

use clap::Args;
use doctor_core::engine::{Engine, MeshMember};
use doctor_core::knowledge::Knowledge;
use doctor_core::load::{load_paths, LoadOptions};
use doctor_core::rules::CheckOptions;
use doctor_core::suppress::SuppressionConfig;

use crate::error::CliError;
use crate::report_args::ReportArgs;

#[derive(Debug, Args)]
pub struct MeshArgs {
    /// One snapshot per cluster (a directory, .zip sysdump or .tar.gz);
    /// at least two.
    #[arg(value_name = "SNAPSHOT", required = true, num_args = 2..)]
    snapshots: Vec<PathBuf>,
    /// Cilium Helm values of one snapshot's cluster, as SNAPSHOT=FILE
    /// (repeatable; later files of a snapshot win like `helm -f`).
    #[arg(long, value_name = "SNAPSHOT=FILE", value_parser = snapshot_file)]
    helm_values: Vec<(PathBuf, PathBuf)>,
    /// Suppression file; default `.eks-cilium-doctor.yaml` in the working
    /// directory when it exists.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    report: ReportArgs,
}

/// `SNAPSHOT=FILE` of `--helm-values`.
fn snapshot_file(text: &str) -> Result<(PathBuf, PathBuf), String> {
    match text.split_once('=') {
        Some((snapshot, file)) if !snapshot.is_empty() && !file.is_empty() => {
            Ok((PathBuf::from(snapshot), PathBuf::from(file)))
        }
        _ => Err(format!(
            "want SNAPSHOT=FILE (the snapshot as given, then its Helm values), not {text:?}"
        )),
    }
}

/// Runs the mesh check; returns the process exit code (0 or 1).
pub fn run(args: &MeshArgs, knowledge: &Knowledge) -> Result<u8, CliError> {
    args.report.destinations()?;
    let cwd = std::env::current_dir().map_err(|e| CliError(format!("working directory: {e}")))?;
    let suppressions = SuppressionConfig::discover(args.config.as_deref(), &cwd)
        .map_err(|e| CliError(e.to_string()))?;
    if let Some((snapshot, _)) = args
        .helm_values
        .iter()
        .find(|(snapshot, _)| !args.snapshots.contains(snapshot))
    {
        return Err(CliError(format!(
            "--helm-values {}=...: {} is not one of the snapshots given",
            snapshot.display(),
            snapshot.display()
        )));
    }
    let mut members = Vec::new();
    for path in &args.snapshots {
        let options = LoadOptions {
            helm_values: helm_values_of(&args.helm_values, path),
            ..LoadOptions::default()
        };
        let loaded = load_paths(std::slice::from_ref(path), &options)
            .map_err(|e| CliError(e.to_string()))?;
        members.push(MeshMember {
            path: path.display().to_string(),
            loaded,
        });
    }
    let options = CheckOptions {
        as_of: args.report.as_of(),
        ..CheckOptions::default()
    };
    let engine = Engine {
        knowledge,
        options: &options,
        suppressions: &suppressions,
    };
    let report = engine.mesh(members).map_err(CliError)?;
    args.report.write(&report, None)
}

fn helm_values_of(all: &[(PathBuf, PathBuf)], snapshot: &Path) -> Vec<PathBuf> {
    all.iter()
        .filter(|(s, _)| s == snapshot)
        .map(|(_, file)| file.clone())
        .collect()
}
