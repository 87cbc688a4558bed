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
    /// CloudFormation parameter values from a JSON file: the list `aws
    /// cloudformation create-stack --parameters file://FILE` takes
    /// (`[{"ParameterKey": …, "ParameterValue": …}]`), or a CodePipeline
    /// template configuration (`{"Parameters": {KEY: VALUE}}`);
    /// `--cfn-parameter` wins over it.
    #[arg(long = "cfn-parameters-file", value_name = "FILE")]
    cfn_parameters_file: Option<PathBuf>,
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

/// `--cfn-parameters-file`: either shape, every value text.
fn parameters_file(
    path: &std::path::Path,
) -> Result<std::collections::BTreeMap<String, String>, CliError> {
    use serde_json::Value;
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| CliError(format!("{shown}: {e}")))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| {
        CliError(format!(
            "{shown}: line {} column {}: not JSON: {e}",
            e.line(),
            e.column()
        ))
    })?;
    let as_text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let mut out = std::collections::BTreeMap::new();
    match &doc {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let key = item.get("ParameterKey").and_then(Value::as_str);
                let value = item.get("ParameterValue").and_then(as_text);
                match (key, value) {
                    (Some(k), Some(v)) => {
                        out.insert(k.to_string(), v);
                    }
                    // UsePreviousValue: the deployed stack's, unknown here.
                    (Some(_), None) if item.get("UsePreviousValue").is_some() => {}
                    _ => {
                        return Err(CliError(format!(
                            "{shown}: entry {i}: expected {{\"ParameterKey\": …, \"ParameterValue\": …}}"
                        )))
                    }
                }
            }
        }
        Value::Object(m) if m.get("Parameters").is_some_and(Value::is_object) => {
            for (k, v) in m["Parameters"].as_object().into_iter().flatten() {
                let v = as_text(v).ok_or_else(|| {
                    CliError(format!("{shown}: Parameters.{k}: expected a string"))
                })?;
                out.insert(k.clone(), v);
            }
        }
        _ => {
            return Err(CliError(format!(
                "{shown}: expected a list of {{\"ParameterKey\", \"ParameterValue\"}} or {{\"Parameters\": {{…}}}}"
            )))
        }
    }
    Ok(out)
}

/// Runs the preflight; returns the process exit code (0 or 1).
pub fn run(args: &PreflightArgs, knowledge: &Knowledge) -> Result<u8, CliError> {
    args.report.destinations()?;
    let suppressions = args.evaluation.suppressions()?;
    let options = IacOptions {
        eksctl_version: args.eksctl_version,
        helm_values: args.evaluation.load_options().helm_values,
        cilium_installed_by: args.cilium_installed_by.unwrap_or_default(),
        cfn_parameters: {
            let mut all = match &args.cfn_parameters_file {
                Some(file) => parameters_file(file)?,
                None => Default::default(),
            };
            all.extend(args.cfn_parameters.iter().cloned());
            all
        },
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
