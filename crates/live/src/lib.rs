//! Live collection for eks-cilium-doctor: reads a cluster through the
//! Kubernetes API (kube-rs) and its AWS account (aws-sdk-rust), read-only,
//! into the same files `scripts/dump.sh` writes, plus a manifest. `collect`
//! archives them; `check --live` loads them in memory through the same
//! loaders. Kept out of the core crate so that the core builds in seconds.

pub mod aws;
pub mod calls;
pub mod deadline;
pub mod kube;
pub mod kubeconfig;
pub mod logs;
pub mod policyreport;
pub mod snapshot;
pub mod watch;

use std::fmt;
use std::sync::Arc;

use doctor_core::snapshot::{CollectedFile, CollectionGap};

pub use deadline::Timeouts;
pub use snapshot::Snapshot;

/// Which sources to read, and how to reach them.
#[derive(Debug, Clone, Default)]
pub struct LiveOptions {
    /// `None` with `--skip-kubernetes`.
    pub kubernetes: Option<kube::KubeOptions>,
    /// `None` with `--skip-aws`.
    pub aws: Option<aws::AwsOptions>,
    /// Per-request timeout, overall deadline, retries.
    pub timeouts: Timeouts,
}

/// Told of each file and gap as it is collected (the CLI draws progress).
pub trait Progress: Send + Sync {
    fn collected(&self, source: &str, file: &CollectedFile);
    fn gap(&self, gap: &CollectionGap);
    /// A call failed in a way worth another try (`why`); retry `attempt`
    /// of `of` follows after `wait`.
    fn retrying(
        &self,
        _source: &str,
        _call: &str,
        _why: &str,
        _attempt: u32,
        _of: u32,
        _wait: std::time::Duration,
    ) {
    }
}

/// No progress output.
pub struct Quiet;

impl Progress for Quiet {
    fn collected(&self, _: &str, _: &CollectedFile) {}
    fn gap(&self, _: &CollectionGap) {}
}

/// Why a collection could not complete (nothing is written then).
#[derive(Debug)]
pub enum LiveError {
    /// Bad or missing configuration (region, kubeconfig, context).
    Config(String),
    /// An AWS call failed for another reason than a denial.
    Aws { action: String, message: String },
    /// A Kubernetes call failed for another reason than a denial.
    Kubernetes { call: String, message: String },
    /// The overall deadline passed while `call` was in flight.
    Deadline {
        call: String,
        deadline: std::time::Duration,
    },
}

impl fmt::Display for LiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LiveError::Config(why) => f.write_str(why),
            LiveError::Aws { action, message } => write!(f, "AWS {action}: {message}"),
            LiveError::Kubernetes { call, message } => write!(f, "Kubernetes {call}: {message}"),
            LiveError::Deadline { call, deadline } => write!(
                f,
                "the {} deadline (--deadline) passed during {call}: the API answers too \
                 slowly; check its health or give more time",
                deadline::seconds(*deadline)
            ),
        }
    }
}

impl std::error::Error for LiveError {}

/// Collect from every source asked for. Kubernetes is read first: it names
/// the node instance types and the operator's IRSA role that AWS is asked about.
pub async fn collect(
    options: &LiveOptions,
    progress: Arc<dyn Progress>,
) -> Result<Snapshot, LiveError> {
    let calls = deadline::Calls::new(options.timeouts, progress);
    let deadline = options.timeouts.deadline;
    match tokio::time::timeout(deadline, collect_within(options, &calls)).await {
        Ok(done) => done,
        Err(_) => Err(LiveError::Deadline {
            call: calls.current(),
            deadline,
        }),
    }
}

async fn collect_within(
    options: &LiveOptions,
    calls: &Arc<deadline::Calls>,
) -> Result<Snapshot, LiveError> {
    let progress = calls.progress.clone();
    let mut snapshot = Snapshot::new();
    let mut facts = aws::FromKubernetes::default();
    if let Some(k) = &options.kubernetes {
        calls.set_current("connecting to the API server");
        let (client, source) = kube::connect(k, &options.timeouts).await?;
        let (part, found) = kube::collect(client, calls.clone(), k.logs).await?;
        snapshot.manifest.kubernetes = Some(source);
        snapshot.add(part);
        facts = found;
    }
    if let Some(a) = &options.aws {
        calls.set_current("AWS (eks:DescribeCluster, then EC2 and IAM)");
        let (part, source) = aws::collect(a, &facts, &options.timeouts, progress).await?;
        snapshot.manifest.aws = Some(source);
        snapshot.add(part);
    }
    Ok(snapshot)
}

/// [`collect`] on a runtime of its own, for the synchronous CLI.
pub fn collect_blocking(
    options: &LiveOptions,
    progress: Arc<dyn Progress>,
) -> Result<Snapshot, LiveError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| LiveError::Config(format!("starting the async runtime: {e}")))?;
    runtime.block_on(collect(options, progress))
}
