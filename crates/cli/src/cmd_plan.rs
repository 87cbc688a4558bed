//! `plan upgrade` and `plan rollback`: load one snapshot, build the typed
//! plan in the core, print it as a Markdown runbook or JSON.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use doctor_core::knowledge::Knowledge;
use doctor_core::load::{load_paths, LoadOptions};
use doctor_core::model::Cluster;
use doctor_core::plan::render::{self, PlanFormat};
use doctor_core::plan::rollback::plan_rollback;
use doctor_core::plan::upgrade::{plan_upgrade, UpgradeRequest};
use doctor_core::suppress::SuppressionConfig;
use doctor_core::version::{Date, Minor};

use crate::error::CliError;
use crate::output;

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// A runbook to Kubernetes X.Y: Cilium and EKS one minor at a time, each
    /// step e2e-tested, with Helm value migrations, checks and rollbacks.
    Upgrade(UpgradeArgs),
    /// A runbook back to the Amazon VPC CNI: restore aws-node, remove
    /// Cilium, restart pods, verify.
    Rollback(RollbackArgs),
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The cluster snapshot: files, directories, .zip sysdumps, .tar.gz.
    #[arg(value_name = "SNAPSHOT", required = true)]
    paths: Vec<PathBuf>,
    /// markdown or json.
    #[arg(long, short = 'f', default_value = "markdown", value_parser = parse_format)]
    format: PlanFormat,
}

#[derive(Debug, Args)]
pub struct UpgradeArgs {
    /// The Kubernetes version to reach (X.Y).
    #[arg(long, value_name = "X.Y", value_parser = parse_minor)]
    to: Minor,
    /// The cluster snapshot: files, directories, .zip sysdumps, .tar.gz.
    #[arg(value_name = "SNAPSHOT", required = true)]
    paths: Vec<PathBuf>,
    /// markdown or json.
    #[arg(long, short = 'f', default_value = "markdown", value_parser = parse_format)]
    format: PlanFormat,
    /// Evaluate support windows as of this day, YYYY-MM-DD. Default: today (UTC).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    as_of: Option<Date>,
    /// Cilium Helm values (`helm get values cilium -n kube-system -o yaml`);
    /// repeatable, later files win like `helm -f`.
    #[arg(long, value_name = "FILE")]
    helm_values: Vec<PathBuf>,
    /// Suppression file; default `.eks-cilium-doctor.yaml` in the working
    /// directory when it exists. Suppressed findings stay out of the plan.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

fn parse_minor(s: &str) -> Result<Minor, String> {
    s.parse()
}
fn parse_date(s: &str) -> Result<Date, String> {
    s.parse()
}
fn parse_format(s: &str) -> Result<PlanFormat, String> {
    s.parse()
}

pub fn run(command: &PlanCommand, knowledge: &Knowledge) -> Result<(), CliError> {
    match command {
        PlanCommand::Upgrade(args) => upgrade(args, knowledge),
        PlanCommand::Rollback(args) => rollback(args),
    }
}

fn load(paths: &[PathBuf], helm_values: &[PathBuf]) -> Result<Cluster, CliError> {
    let options = LoadOptions {
        helm_values: helm_values.to_vec(),
        ..LoadOptions::default()
    };
    load_paths(paths, &options)
        .map(|l| l.cluster)
        .map_err(|e| CliError(e.to_string()))
}

fn upgrade(args: &UpgradeArgs, knowledge: &Knowledge) -> Result<(), CliError> {
    let cluster = load(&args.paths, &args.helm_values)?;
    let cwd = std::env::current_dir().map_err(|e| CliError(format!("working directory: {e}")))?;
    let suppressions = SuppressionConfig::discover(args.config.as_deref(), &cwd)
        .map_err(|e| CliError(e.to_string()))?;
    let request = UpgradeRequest {
        target_kubernetes: args.to,
        as_of: args.as_of.unwrap_or_else(Date::today),
        suppressions,
    };
    let plan = plan_upgrade(&cluster, knowledge, &request).map_err(|e| CliError(e.to_string()))?;
    output::emit(&match args.format {
        PlanFormat::Markdown => render::upgrade_markdown(&plan),
        PlanFormat::Json => render::json(&plan),
    })
}

fn rollback(args: &RollbackArgs) -> Result<(), CliError> {
    let cluster = load(&args.paths, &[])?;
    let plan = plan_rollback(&cluster).map_err(|e| CliError(e.to_string()))?;
    output::emit(&match args.format {
        PlanFormat::Markdown => render::rollback_markdown(&plan),
        PlanFormat::Json => render::json(&plan),
    })
}
