//! `preflight`: infrastructure code (Terraform plan JSON or HCL, eksctl
//! ClusterConfig, CloudFormation/CDK, Pulumi) → the cluster model it plans → the same engine, rules,
//! suppressions and reports as `check`, before anything is applied.

use std::path::PathBuf;

use clap::Args;
use doctor_core::engine::Engine;
use doctor_core::iac::{self, CiliumInstall, IacOptions};
use doctor_core::knowledge::Knowledge;
use doctor_core::load::LoadOptions;
use doctor_core::report::Format;
use doctor_core::version::Version;

use crate::error::CliError;
use crate::evaluation_args::EvaluationArgs;
use crate::report_args::ReportArgs;

#[derive(Debug, Args)]
pub struct PreflightArgs {
    /// Terraform/OpenTofu plan JSON (`terraform show -json plan.tfplan >
    /// plan.json`), Terraform HCL sources where no plan exists (literal
    /// values only), eksctl ClusterConfig files, CloudFormation templates
    /// (CDK synth output too) and Pulumi `preview --json` / `stack export`
    /// (experimental), or directories of them (walked); recognised by
    /// content. Files of one eksctl cluster are merged.
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<PathBuf>,
    /// The eksctl release that will run the ClusterConfig files: its
    /// defaults decide the add-ons (managed add-ons from 0.184.0).
    /// Default: the newest behaviour documented.
    #[arg(long, value_name = "X.Y.Z", value_parser = str::parse::<Version>)]
    eksctl_version: Option<Version>,
    /// Who installs Cilium when the inputs hold no Cilium Helm release:
    /// `other` (ArgoCD, Flux, the cilium CLI, another pipeline: evaluated
    /// as the primary CNI with the chart's defaults and --helm-values) or
    /// `none` (this cluster runs no Cilium). Default: a release in the
    /// inputs; without one Cilium is assumed primary, and a note says so.
    #[arg(long, value_name = "other|none", value_parser = str::parse::<CiliumInstall>)]
    cilium_installed_by: Option<CiliumInstall>,
    /// A CloudFormation parameter value, over the template's `Default`, as
    /// `aws cloudformation deploy --parameter-overrides KEY=VALUE` takes it;
    /// repeatable. A parameter with neither is unknown (never fires).
    #[arg(long = "cfn-parameter", value_name = "KEY=VALUE", value_parser = parse_parameter)]
    cfn_parameters: Vec<(String, String)>,
    /// Report file paths (SARIF `artifactLocation.uri`) relative to DIR,
    /// the repository root code scanning resolves them against. Default:
    /// the working directory.
    #[arg(long, value_name = "DIR")]
    base_dir: Option<PathBuf>,
    #[command(flatten)]
    evaluation: EvaluationArgs,
    #[command(flatten)]
    report: ReportArgs,
}

fn parse_parameter(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("{text:?}: expected KEY=VALUE")),
    }
}

/// Runs the preflight; returns the process exit code (0 or 1).
pub fn run(args: &PreflightArgs, knowledge: &Knowledge) -> Result<u8, CliError> {
    args.report.destinations()?;
    let suppressions = args.evaluation.suppressions()?;
    let options = IacOptions {
        eksctl_version: args.eksctl_version,
        helm_values: args.evaluation.load_options().helm_values,
        cilium_installed_by: args.cilium_installed_by.unwrap_or_default(),
        cfn_parameters: args.cfn_parameters.iter().cloned().collect(),
        load: LoadOptions::default(),
    };
    let loaded = iac::load(&args.paths, &options).map_err(|e| CliError(e.to_string()))?;
    let check_options = args.evaluation.check_options(args.report.as_of());
    let engine = Engine {
        knowledge,
        options: &check_options,
        suppressions: &suppressions,
    };
    let mut evaluation = engine.check(&loaded, args.report.wants(Format::Html));
    let cwd = std::env::current_dir().map_err(|e| CliError(format!("working directory: {e}")))?;
    let base = args.base_dir.clone().unwrap_or_else(|| cwd.clone());
    evaluation.report.locations_relative_to(&base, &cwd);
    args.report
        .write(&evaluation.report, evaluation.overview.as_ref())
}
