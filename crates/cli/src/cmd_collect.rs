//! `collect`: read the cluster and its AWS account live, write everything
//! as one `.tar.gz` snapshot that `check` reads (atomically: a failure
//! leaves no file behind).

use std::path::PathBuf;

use clap::Args;

use crate::error::CliError;
use crate::live::LiveArgs;

#[derive(Debug, Args)]
pub struct CollectArgs {
    #[command(flatten)]
    live: LiveArgs,
    /// The snapshot to write (default: eks-cilium-snapshot-<UTC time>.tar.gz).
    #[arg(long, short = 'o', value_name = "FILE.tar.gz")]
    output: Option<PathBuf>,
}

pub fn run(args: &CollectArgs) -> Result<(), CliError> {
    let snapshot = args.live.collect()?;
    let bytes = snapshot
        .to_tar_gz()
        .map_err(|e| CliError(format!("building the snapshot: {e}")))?;
    let path = args.output.clone().unwrap_or_else(|| {
        let stamp: String = snapshot
            .manifest
            .collected_at
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        PathBuf::from(format!("eks-cilium-snapshot-{stamp}.tar.gz"))
    });
    // The snapshot is the cluster's state: readable by its owner only.
    crate::output::write_file(&path, &bytes, doctor_core::output::PRIVATE_MODE)?;
    let m = &snapshot.manifest;
    eprintln!(
        "wrote {}: {} files, {} calls denied or unsupported, {} kinds absent",
        path.display(),
        m.files.len(),
        m.gaps.len(),
        m.absent.len()
    );
    for gap in &m.gaps {
        eprintln!("  not collected: {}", gap.describe());
    }
    eprintln!(
        "next: {} check {}",
        crate::invocation::name(),
        path.display()
    );
    Ok(())
}
