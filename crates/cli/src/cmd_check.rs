//! `check`: load dumps → model → rules → suppressions → a report in the
//! chosen format, on stdout or atomically in `--output FILE`.

use std::path::PathBuf;

use clap::Args;
use doctor_core::engine::Engine;
use doctor_core::knowledge::Knowledge;
use doctor_core::load::load_paths;
use doctor_core::report::Format;

use crate::error::CliError;
use crate::evaluation_args::EvaluationArgs;
use crate::live::LiveArgs;
use crate::report_args::ReportArgs;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files, directories (walked), .zip sysdumps, .tar.gz snapshots, or `-`
    /// for standard input. Every file is recognised by its content. Without
    /// a path, the cluster of the kubeconfig context is read live.
    #[arg(value_name = "PATH", conflicts_with = "live")]
    paths: Vec<PathBuf>,
    /// Read the cluster and its AWS account live instead of files (what
    /// `collect` would write, loaded in memory); the default without PATH
    /// when a kubeconfig context exists.
    #[arg(long)]
    live: bool,
    #[command(flatten)]
    live_args: LiveArgs,
    #[command(flatten)]
    evaluation: EvaluationArgs,
    #[command(flatten)]
    report: ReportArgs,
}

/// Runs the check; returns the process exit code (0 or 1).
pub fn run(args: &CheckArgs, knowledge: &Knowledge) -> Result<u8, CliError> {
    // Read the reports asked for and the suppressions first: a typo there
    // should fail before any work.
    args.report.destinations()?;
    let suppressions = args.evaluation.suppressions()?;
    let load_options = args.evaluation.load_options();
    let live = args.live || args.paths.is_empty();
    if !live && args.live_args != LiveArgs::default() {
        return Err(CliError(
            "--cluster, --profile, --region, --context, --kubeconfig, --skip-*, --quiet, \
             --request-timeout and --deadline need --live"
                .into(),
        ));
    }
    if !args.live && args.paths.is_empty() && args.live_args.kubeconfig_context().is_none() {
        return Err(CliError(
            "nothing to check: give files, directories, archives or `-` for standard input, \
             or --live (no kubeconfig context was found to read the cluster live)"
                .into(),
        ));
    }
    // `EKS_CILIUM_DOCTOR_TIMINGS=1`: phase timings on stderr (scripts/bench.sh).
    let timings = std::env::var_os("EKS_CILIUM_DOCTOR_TIMINGS").is_some();
    let started = std::time::Instant::now();
    let loaded = if live {
        // The same snapshot `collect` writes, through the same loaders.
        args.live_args.collect()?.load(&load_options)
    } else {
        load_paths(&args.paths, &load_options)
    };
    let loaded = loaded.map_err(|e| CliError(e.to_string()))?;
    // The process ends right after the report: freeing a 150,000-pod model
    // object by object would only add a fifth to the run time.
    let loaded = std::mem::ManuallyDrop::new(loaded);
    let loaded_at = started.elapsed();

    let options = args.evaluation.check_options(args.report.as_of());
    let engine = Engine {
        knowledge,
        options: &options,
        suppressions: &suppressions,
    };
    // One evaluation for every report asked for; the page's overview only
    // when one of them is the HTML page.
    let evaluation = engine.check(&loaded, args.report.wants(Format::Html));
    if timings {
        eprintln!(
            "timings: load {:.3} s, rules {:.3} s",
            loaded_at.as_secs_f64(),
            (started.elapsed() - loaded_at).as_secs_f64()
        );
    }
    args.report
        .write(&evaluation.report, evaluation.overview.as_ref())
}
