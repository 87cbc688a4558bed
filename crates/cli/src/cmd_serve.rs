//! `serve`: the continuous audit over HTTP (crates/serve), wired to flags,
//! signals and an address to listen on.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use doctor_core::knowledge::Knowledge;
use doctor_core::version::Date;
use doctor_serve::{HttpLimits, Input, Pipeline};

use crate::error::CliError;
use crate::evaluation_args::EvaluationArgs;
use crate::live::LiveArgs;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free one. The bound address is
    /// printed on standard error (`listening on http://ADDR`).
    #[arg(long, default_value = "0.0.0.0:8080", value_name = "ADDR")]
    listen: String,
    /// Serve these files, directories or snapshots (loaded once) instead of
    /// a live cluster.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    from: Vec<PathBuf>,
    #[command(flatten)]
    live_args: LiveArgs,
    /// How often AWS is re-read: e.g. 15m, 1h, 90s.
    #[arg(long, default_value = "15m", value_name = "DURATION", value_parser = duration)]
    aws_interval: Duration,
    /// Quiet time after a Kubernetes change before re-evaluating, so a
    /// rollout is one evaluation, not hundreds: e.g. 5s, 500ms.
    #[arg(long, default_value = "5s", value_name = "DURATION", value_parser = duration)]
    debounce: Duration,
    /// How often the API server is probed (`GET /version` under
    /// --request-timeout): a server that stops answering turns
    /// `source_stale` to 1 within about this time, and back to 0 when
    /// it (and every watch) answers again.
    #[arg(long, default_value = "30s", value_name = "DURATION", value_parser = duration)]
    probe_interval: Duration,
    /// How long the log tails read (--log-lines) are used for while the
    /// Cilium containers stay the same: each evaluation would otherwise
    /// read every agent's log again. A new Cilium pod or a restart reads
    /// them at once.
    #[arg(long, default_value = "5m", value_name = "DURATION", value_parser = duration)]
    log_interval: Duration,
    /// Most HTTP connections open at once; a new one closes the oldest.
    /// Lowered to fit the file-descriptor limit (RLIMIT_NOFILE less 64).
    #[arg(long, default_value_t = 1024, value_name = "N")]
    max_connections: usize,
    /// Time a connection has to send its request headers, and the most a
    /// kept-alive connection stays idle: e.g. 10s.
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = duration)]
    header_timeout: Duration,
    /// Keep the findings written in the cluster as wgpolicyk8s.io reports
    /// (those of `check --format policyreport`: the ClusterPolicyReport
    /// `eks-cilium-doctor` and a PolicyReport of that name in each namespace
    /// with findings), updated after each evaluation that changes them.
    /// Needs the wgpolicyk8s.io CRDs and RBAC list, create and patch on
    /// policyreports and clusterpolicyreports (deploy/rbac-policyreport.yaml,
    /// or the chart's policyReport.enabled); a failed write is logged and
    /// counted, and serve goes on.
    #[arg(long)]
    policy_report: bool,
    #[command(flatten)]
    evaluation: EvaluationArgs,
}

/// `90s`, `15m`, `1h`, `500ms`: a positive duration.
pub(crate) fn duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?}: expected a number and a unit (ms, s, m, h)"))?;
    let duration = match unit {
        "ms" => Duration::from_millis(number),
        "s" => Duration::from_secs(number),
        "m" => Duration::from_secs(number * 60),
        "h" => Duration::from_secs(number * 3600),
        _ => return Err(format!("{text:?}: the unit must be ms, s, m or h")),
    };
    if duration.is_zero() {
        return Err(format!("{text:?}: must be more than zero"));
    }
    Ok(duration)
}

pub fn run(args: &ServeArgs, knowledge: Knowledge) -> Result<(), CliError> {
    let suppressions = args.evaluation.suppressions()?;
    if args.policy_report && args.live_args.skip_kubernetes {
        return Err(CliError(
            "--policy-report writes the reports through the Kubernetes API: it cannot go \
             with --skip-kubernetes"
                .into(),
        ));
    }
    let input = if args.from.is_empty() {
        let mut options = args.live_args.options()?;
        if let Some(k) = &mut options.kubernetes {
            k.logs.refresh = args.log_interval;
        }
        Input::Live {
            options,
            aws_interval: args.aws_interval,
            debounce: args.debounce,
            probe_interval: args.probe_interval,
            policy_report: args.policy_report,
        }
    } else if args.live_args != LiveArgs::default() || args.policy_report {
        return Err(CliError(
            "--from serves files: --cluster, --profile, --region, --context, --kubeconfig, \
             --skip-*, --request-timeout, --deadline, --log-lines and --policy-report are for \
             a live cluster"
                .into(),
        ));
    } else {
        Input::Files(args.from.clone())
    };
    let pipeline = Pipeline {
        knowledge,
        suppressions,
        load: args.evaluation.load_options(),
        // The date is set again at each evaluation.
        check: args.evaluation.check_options(Date::today()),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError(format!("starting the async runtime: {e}")))?;
    let served = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .map_err(|e| CliError(format!("listening on {}: {e}", args.listen)))?;
        let address = listener
            .local_addr()
            .map_err(|e| CliError(format!("listening on {}: {e}", args.listen)))?;
        eprintln!("listening on http://{address}");
        let limits = HttpLimits {
            max_connections: args.max_connections,
            header_timeout: args.header_timeout,
        };
        doctor_serve::serve(listener, input, pipeline, limits, stop_signal())
            .await
            .map_err(|e| CliError(e.to_string()))
    });
    // An evaluation still running must not hold the exit.
    runtime.shutdown_timeout(Duration::from_millis(200));
    served?;
    eprintln!("stopped");
    Ok(())
}

/// SIGTERM (Kubernetes stopping the pod) or SIGINT (Ctrl-C).
async fn stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).ok();
    let terminated = async {
        match &mut term {
            Some(term) => {
                term.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = terminated => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_have_units() {
        assert_eq!(duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("2h"), Ok(Duration::from_secs(7200)));
        assert!(duration("15").is_err());
        assert!(duration("0s").is_err());
        assert!(duration("m").is_err());
    }
}
