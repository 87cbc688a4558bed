//! The options `check` and `serve` share: extra inputs, suppressions and
//! what the rules evaluate against.

use std::path::PathBuf;

use clap::Args;
use doctor_core::load::LoadOptions;
use doctor_core::rules::CheckOptions;
use doctor_core::suppress::SuppressionConfig;
use doctor_core::version::{Date, Minor};

use crate::error::CliError;

#[derive(Debug, Args)]
pub struct EvaluationArgs {
    /// Cilium Helm values (`helm get values cilium -n kube-system -o yaml`);
    /// repeatable, later files win like `helm -f`.
    #[arg(long, value_name = "FILE")]
    helm_values: Vec<PathBuf>,
    /// A planned Kubernetes version (X.Y): check Cilium, kernels and node
    /// images against it (VER002, VER010).
    #[arg(long = "target-k8s", value_name = "X.Y", value_parser = str::parse::<Minor>)]
    target_kubernetes: Option<Minor>,
    /// A planned Cilium version (X.Y): check the upgrade path (VER008) and kernels.
    #[arg(long, value_name = "X.Y", value_parser = str::parse::<Minor>)]
    target_cilium: Option<Minor>,
    /// Suppression file; default `.eks-cilium-doctor.yaml` in the working
    /// directory when it exists.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Container restarts above this count fire OPS003.
    #[arg(long, default_value_t = 3, value_name = "N")]
    restart_threshold: u32,
    /// Warn this many days before EKS support ends (VER003).
    #[arg(long, default_value_t = 90, value_name = "DAYS")]
    support_warning_days: i64,
    /// VER011: a fact family is stale when its newest source is older than
    /// DAYS (repeatable; defaults cilium_releases=60, eks_calendar=120,
    /// ec2_limits=90; families: cilium_releases, cilium_docs, eks_calendar,
    /// ec2_limits, ami_kernels, helm_charts, metrics).
    #[arg(long, value_name = "FAMILY=DAYS", value_parser = family_days)]
    knowledge_max_age: Vec<(String, u32)>,
}

/// `FAMILY=DAYS` of `--knowledge-max-age`.
fn family_days(text: &str) -> Result<(String, u32), String> {
    let (family, days) = text
        .split_once('=')
        .ok_or_else(|| format!("want FAMILY=DAYS, not {text:?}"))?;
    let known = &doctor_core::knowledge::Knowledge::embedded().dates.families;
    if !known.contains_key(family) {
        let names: Vec<&str> = known.keys().map(String::as_str).collect();
        return Err(format!(
            "unknown fact family {family:?} (known: {})",
            names.join(", ")
        ));
    }
    let days = days
        .parse()
        .map_err(|_| format!("{family}: DAYS must be a whole number, not {days:?}"))?;
    Ok((family.to_string(), days))
}

impl EvaluationArgs {
    /// The suppression file (`--config`, else the working directory's).
    pub fn suppressions(&self) -> Result<SuppressionConfig, CliError> {
        let cwd =
            std::env::current_dir().map_err(|e| CliError(format!("working directory: {e}")))?;
        SuppressionConfig::discover(self.config.as_deref(), &cwd)
            .map_err(|e| CliError(e.to_string()))
    }

    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            helm_values: self.helm_values.clone(),
            ..LoadOptions::default()
        }
    }

    pub fn check_options(&self, as_of: Date) -> CheckOptions {
        CheckOptions {
            as_of,
            target_kubernetes: self.target_kubernetes,
            target_cilium: self.target_cilium,
            restart_threshold: self.restart_threshold,
            support_warning_days: self.support_warning_days,
            knowledge_max_age_days: {
                let mut ages = doctor_core::rules::default_knowledge_max_age();
                ages.extend(self.knowledge_max_age.iter().cloned());
                ages
            },
        }
    }
}
