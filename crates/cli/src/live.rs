//! Options shared by `collect` and `check --live`, and the progress lines
//! drawn on stderr while collecting.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;
use doctor_core::snapshot::{CollectedFile, CollectionGap};
use doctor_live::aws::AwsOptions;
use doctor_live::deadline::seconds;
use doctor_live::kube::KubeOptions;
use doctor_live::kubeconfig;
use doctor_live::logs::LogTail;
use doctor_live::{LiveOptions, Progress, Quiet, Snapshot, Timeouts};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::error::CliError;

#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct LiveArgs {
    /// The EKS cluster name (needed for AWS collection).
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// AWS profile (else AWS_PROFILE or the default chain).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// AWS region (else AWS_REGION or the profile's). AWS_ENDPOINT_URL is honoured.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Kubeconfig context (else the current one).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Kubeconfig file (else KUBECONFIG, ~/.kube/config, or in-cluster).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Do not read AWS.
    #[arg(long)]
    pub skip_aws: bool,
    /// Do not read Kubernetes.
    #[arg(long)]
    pub skip_kubernetes: bool,
    /// No progress lines on stderr (drawn only on a terminal; retries of
    /// failed calls are told on any stderr).
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Most time one API request may take, answer included (default 20s);
    /// 429, 5xx and connection failures are retried 3 times with backoff.
    #[arg(long, value_name = "DURATION", value_parser = crate::cmd_serve::duration)]
    pub request_timeout: Option<Duration>,
    /// Most time a whole collection may take (default 5m); in `serve`,
    /// one AWS read.
    #[arg(long, value_name = "DURATION", value_parser = crate::cmd_serve::duration)]
    pub deadline: Option<Duration>,
    /// Last lines read of each cilium-agent and cilium-operator container
    /// and of its previous instance (RBAC `get pods/log`), scanned by the
    /// LOG rules as a sysdump's logs are (default 2000, at most 4 MiB per
    /// container); 0 reads no logs.
    #[arg(long, value_name = "N")]
    pub log_lines: Option<u32>,
}

impl LiveArgs {
    pub fn options(&self) -> Result<LiveOptions, CliError> {
        if self.skip_aws && self.skip_kubernetes {
            return Err(CliError(
                "--skip-aws and --skip-kubernetes together leave nothing to collect".into(),
            ));
        }
        let aws = if self.skip_aws {
            None
        } else {
            // `--cluster` and `--region` default to the EKS cluster of the
            // kubeconfig context (its ARN or its `get-token` arguments).
            let from_kubeconfig = kubeconfig::eks_cluster(&self.kube_options());
            let cluster = self
                .cluster
                .clone()
                .or_else(|| from_kubeconfig.as_ref().map(|c| c.name.clone()))
                .ok_or_else(|| {
                    CliError(
                        "--cluster NAME is needed to read AWS: the kubeconfig context does not \
                         name an EKS cluster (or pass --skip-aws)"
                            .into(),
                    )
                })?;
            let region = self
                .region
                .clone()
                .or_else(|| from_kubeconfig.and_then(|c| c.region));
            Some(AwsOptions {
                cluster,
                profile: self.profile.clone(),
                region,
            })
        };
        let kubernetes = (!self.skip_kubernetes).then(|| self.kube_options());
        let defaults = Timeouts::default();
        let timeouts = Timeouts {
            request: self.request_timeout.unwrap_or(defaults.request),
            deadline: self.deadline.unwrap_or(defaults.deadline),
            ..defaults
        };
        Ok(LiveOptions {
            kubernetes,
            aws,
            timeouts,
        })
    }

    fn kube_options(&self) -> KubeOptions {
        KubeOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            logs: LogTail {
                lines: self.log_lines.unwrap_or(doctor_live::logs::DEFAULT_LINES),
                ..LogTail::default()
            },
        }
    }

    /// The kubeconfig context a live run would read, if there is one.
    pub fn kubeconfig_context(&self) -> Option<String> {
        kubeconfig::selected_context(&self.kube_options())
    }

    /// Collect from every source asked for, drawing progress on a terminal.
    pub fn collect(&self) -> Result<Snapshot, CliError> {
        let options = self.options()?;
        let bars =
            (!self.quiet && std::io::stderr().is_terminal()).then(|| Arc::new(Bars::default()));
        let progress: Arc<dyn Progress> = match &bars {
            Some(bars) => bars.clone(),
            None if self.quiet => Arc::new(Quiet),
            None => Arc::new(RetryLines),
        };
        let result = doctor_live::collect_blocking(&options, progress);
        if let Some(bars) = bars {
            bars.finish();
        }
        result.map_err(|e| CliError(e.to_string()))
    }
}

/// The line told of a retry.
fn retry_line(
    source: &str,
    call: &str,
    why: &str,
    attempt: u32,
    of: u32,
    wait: Duration,
) -> String {
    if wait.is_zero() {
        format!("{source}: {call}: {why}; retry {attempt} of {of}")
    } else {
        format!(
            "{source}: {call}: {why}; retry {attempt} of {of} in {}",
            seconds(wait)
        )
    }
}

/// Off a terminal: only retries are told, one line each.
struct RetryLines;

impl Progress for RetryLines {
    fn collected(&self, _: &str, _: &CollectedFile) {}
    fn gap(&self, _: &CollectionGap) {}
    fn retrying(&self, source: &str, call: &str, why: &str, attempt: u32, of: u32, wait: Duration) {
        eprintln!("{}", retry_line(source, call, why, attempt, of, wait));
    }
}

#[derive(Default)]
struct Counts {
    files: usize,
    items: usize,
    gaps: usize,
}

/// One line per source: `kubernetes  23 files, 1204 items, 1 denied or unsupported`.
struct Bars {
    multi: MultiProgress,
    lines: Mutex<BTreeMap<String, (ProgressBar, Counts)>>,
}

impl Default for Bars {
    fn default() -> Self {
        Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            lines: Mutex::new(BTreeMap::new()),
        }
    }
}

impl Bars {
    fn update(&self, source: &str, change: impl FnOnce(&mut Counts), last: &str) {
        let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        let (bar, counts) = lines.entry(source.to_string()).or_insert_with(|| {
            let bar = self.multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix:<10} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(source.to_string());
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            (bar, Counts::default())
        });
        change(counts);
        bar.set_message(format!(
            "{} files, {} items, {} denied or unsupported ({last})",
            counts.files, counts.items, counts.gaps
        ));
    }

    fn finish(&self) {
        let lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        for (bar, counts) in lines.values() {
            bar.finish_with_message(format!(
                "{} files, {} items, {} denied or unsupported",
                counts.files, counts.items, counts.gaps
            ));
        }
    }
}

impl Progress for Bars {
    fn collected(&self, source: &str, file: &CollectedFile) {
        self.update(
            source,
            |c| {
                c.files += 1;
                c.items += file.items;
            },
            &file.call,
        );
    }

    fn gap(&self, gap: &CollectionGap) {
        self.update(&gap.source, |c| c.gaps += 1, &gap.call);
    }

    fn retrying(&self, source: &str, call: &str, why: &str, attempt: u32, of: u32, wait: Duration) {
        let _ = self
            .multi
            .println(retry_line(source, call, why, attempt, of, wait));
    }
}
