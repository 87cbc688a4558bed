//! The `eks-cilium-doctor` command line: argument parsing and wiring only.

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use clap_complete::Shell;

/// Find the traps of running Cilium as the CNI on Amazon EKS, explain each
/// with its fix, and plan upgrades and rollbacks.
#[derive(Debug, Parser)]
#[command(name = "eks-cilium-doctor", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print a shell completion script.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: Shell,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "eks-cilium-doctor",
                &mut std::io::stdout(),
            );
            ExitCode::SUCCESS
        }
    }
}
