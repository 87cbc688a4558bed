//! The `eks-cilium-doctor` command line: argument parsing and wiring only.

mod cmd_capacity;
mod cmd_check;
mod cmd_collect;
mod cmd_generate;
mod cmd_mesh;
mod cmd_plan;
mod cmd_preflight;
mod cmd_rules;
mod cmd_serve;
mod error;
mod evaluation_args;
mod invocation;
mod live;
mod output;
mod report_args;

use std::borrow::Cow;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use clap_complete::Shell;
use doctor_core::knowledge::Knowledge;

use error::CliError;

/// Find the traps of running Cilium as the CNI on Amazon EKS, explain each
/// with its fix, and plan upgrades and rollbacks.
#[derive(Debug, Parser)]
#[command(name = "eks-cilium-doctor", version = version_text(), about, long_about = None)]
struct Cli {
    /// Read the knowledge data files (instances.csv, eks.json, cilium.json,
    /// metrics.json, cilium-eks.json, eks-iam.json, knowledge-dates.json,
    /// helm-keys/<minor>.txt) from DIR instead of the built-in copies; files
    /// missing there stay built in.
    #[arg(long, global = true, value_name = "DIR")]
    knowledge: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

/// `0.1.0 (knowledge of 2026-08-22: cilium_releases 2026-08-22, ...)`: the
/// version and how old the built-in facts are. Built once; clap keeps it.
fn version_text() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        let dates = &Knowledge::embedded().dates;
        let families: Vec<String> = dates
            .families
            .iter()
            .map(|(name, f)| format!("{name} {}", f.date))
            .collect();
        format!(
            "{} (knowledge of {}: {})",
            env!("CARGO_PKG_VERSION"),
            dates.date(),
            families.join(", ")
        )
    })
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check cluster dumps (kubectl/AWS CLI JSON or YAML, Helm values,
    /// metrics, cilium sysdumps) for every known trap, each with its fix.
    Check(cmd_check::CheckArgs),
    /// Check infrastructure code before apply (Terraform plan JSON or HCL,
    /// eksctl ClusterConfig, CloudFormation/CDK, Pulumi) with the same
    /// rules, each finding at its file and line.
    Preflight(cmd_preflight::PreflightArgs),
    /// Read the cluster (Kubernetes API) and its AWS account live,
    /// read-only, into one .tar.gz snapshot that `check` reads.
    Collect(cmd_collect::CollectArgs),
    /// Pods per node for EC2 instance types: VPC CNI, Cilium ENI or overlay
    /// IPAM, and whether the EKS default max pods over-schedules.
    Capacity(cmd_capacity::CapacityArgs),
    /// Check several clusters of a cluster mesh together (one snapshot per
    /// cluster): identities, pod CIDRs, routes and ports between them.
    Mesh(cmd_mesh::MeshArgs),
    /// Runbooks for this cluster: an upgrade to a Kubernetes version, or a
    /// rollback to the VPC CNI.
    #[command(subcommand)]
    Plan(cmd_plan::PlanCommand),
    /// List the rules the doctor checks.
    Rules(cmd_rules::RulesArgs),
    /// Explain a rule: what it checks, why it matters, how to fix it, known limits.
    Explain(cmd_rules::ExplainArgs),
    /// Generate fixes: the operator's IAM and trust policies, Helm values,
    /// alerting rules, the aws-node patch, a Grafana dashboard.
    Generate(cmd_generate::GenerateArgs),
    /// Audit continuously: keep a live cluster (or files) evaluated and
    /// serve /metrics (Prometheus), /report (HTML), /api/v1/report (JSON),
    /// /healthz and /readyz.
    Serve(cmd_serve::ServeArgs),
    /// Print a shell completion script.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: Shell,
    },
}

fn main() -> ExitCode {
    let plugin = std::env::args_os()
        .next()
        .is_some_and(|argv0| invocation::is_kubectl_plugin(&argv0));
    invocation::set(plugin);
    match run(parse(plugin)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // Nothing more to do if even stderr is gone.
            let _ = writeln!(std::io::stderr(), "error: {e}");
            ExitCode::from(2)
        }
    }
}

/// The command line, as `Cli::parse` reads it; as the kubectl plugin,
/// usage, help and clap's errors name `kubectl cilium-doctor` (clap would
/// otherwise show argv[0]'s file name, `kubectl-cilium_doctor`).
fn parse(plugin: bool) -> Cli {
    let mut command = Cli::command();
    if plugin {
        command = command.bin_name(invocation::PLUGIN_COMMAND);
    }
    let mut matches = command.clone().get_matches();
    Cli::from_arg_matches_mut(&mut matches).unwrap_or_else(|e| e.format(&mut command).exit())
}

/// Runs the command; the exit code on success (`check` exits 1 on findings).
fn run(cli: Cli) -> Result<u8, CliError> {
    let dir = cli.knowledge.as_deref();
    // Commands that do not use the knowledge still load it, so that a bad
    // --knowledge DIR is reported rather than silently ignored.
    let done = match cli.command {
        Command::Check(args) => return cmd_check::run(&args, &*load_knowledge(dir)?),
        Command::Preflight(args) => return cmd_preflight::run(&args, &*load_knowledge(dir)?),
        Command::Mesh(args) => return cmd_mesh::run(&args, &*load_knowledge(dir)?),
        Command::Collect(args) => cmd_collect::run(&args),
        Command::Capacity(args) => cmd_capacity::run(&args, &*load_knowledge(dir)?),
        Command::Plan(command) => cmd_plan::run(&command, &*load_knowledge(dir)?),
        Command::Rules(args) => load_knowledge(dir).and_then(|_| cmd_rules::list(&args)),
        Command::Explain(args) => load_knowledge(dir).and_then(|_| cmd_rules::explain(&args)),
        Command::Generate(args) => cmd_generate::run(&args, &*load_knowledge(dir)?),
        Command::Serve(args) => cmd_serve::run(&args, load_knowledge(dir)?.into_owned()),
        Command::Completions { shell } => completions(shell),
    };
    done.map(|()| 0)
}

/// The built-in knowledge, or the one `--knowledge DIR` points at.
fn load_knowledge(dir: Option<&Path>) -> Result<Cow<'static, Knowledge>, CliError> {
    match dir {
        Some(dir) => Ok(Cow::Owned(Knowledge::from_dir(dir)?)),
        None => Ok(Cow::Borrowed(Knowledge::embedded())),
    }
}

fn completions(shell: Shell) -> Result<(), CliError> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "eks-cilium-doctor", &mut script);
    output::emit(&String::from_utf8_lossy(&script))
}
