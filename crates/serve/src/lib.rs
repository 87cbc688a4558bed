//! `serve`: the doctor as a long-running audit. It keeps the last good
//! evaluation of a cluster (files given once, or a live cluster watched
//! through kube-rs reflectors with AWS re-read on an interval) and serves
//! it as Prometheus metrics, the HTML report, the JSON report, and health
//! and readiness probes. Evaluations run beside the server and replace
//! what it serves atomically; a source that cannot be read leaves the last
//! good evaluation in place, marked stale.

mod http;
mod live;
pub mod metrics;
pub mod server;
pub mod state;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use doctor_core::engine::Engine;
use doctor_core::findings::Report;
use doctor_core::knowledge::Knowledge;
use doctor_core::load::{load_paths, LoadOptions, Loaded};
use doctor_core::overview::Overview;
use doctor_core::rules::CheckOptions;
use doctor_core::suppress::SuppressionConfig;
use doctor_core::version::Date;
use doctor_live::LiveOptions;

pub use server::HttpLimits;
use state::{Published, Shared};

/// After SIGTERM, in-flight requests get this long before the process
/// exits anyway (Kubernetes waits 30 s by default before SIGKILL; the
/// issue asks for 5 s).
const DRAIN: Duration = Duration::from_secs(4);

/// Model → rules → suppressions, as `check` does; the date is today's at
/// each evaluation, so support windows move on in a long-running server.
#[derive(Debug)]
pub struct Pipeline {
    pub knowledge: Knowledge,
    pub suppressions: SuppressionConfig,
    pub load: LoadOptions,
    /// `as_of` is replaced by today's date at each evaluation.
    pub check: CheckOptions,
}

impl Pipeline {
    /// The report and the page's overview of one loaded cluster.
    pub fn evaluate(&self, loaded: Loaded) -> (Report, Overview) {
        let options = CheckOptions {
            as_of: Date::today(),
            ..self.check.clone()
        };
        let engine = Engine {
            knowledge: &self.knowledge,
            options: &options,
            suppressions: &self.suppressions,
        };
        let evaluation = engine.check(&loaded, true);
        let overview = evaluation
            .overview
            .unwrap_or_else(|| Overview::build(&loaded.cluster, &self.knowledge));
        (evaluation.report, overview)
    }
}

/// What to evaluate.
// Built once per process: the size of the live variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Input {
    /// Dumps, directories or snapshots, loaded once.
    Files(Vec<PathBuf>),
    /// The cluster and its AWS account, kept current.
    Live {
        options: LiveOptions,
        /// How often AWS is re-read.
        aws_interval: Duration,
        /// Quiet time after a Kubernetes change before re-evaluating.
        debounce: Duration,
        /// How often the API server is probed (deadline-bound).
        probe_interval: Duration,
        /// `--policy-report`: keep the wgpolicyk8s.io reports of the last
        /// evaluation written in the cluster.
        policy_report: bool,
    },
}

/// Why the server stopped on its own.
#[derive(Debug)]
pub struct ServeError(pub String);

impl std::fmt::Display for ServeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ServeError {}

/// Serve on `listener` until `shutdown` completes (then drain for at most
/// [`DRAIN`]), or until the input cannot be evaluated at all (`--from`
/// files that do not load).
pub async fn serve(
    listener: tokio::net::TcpListener,
    input: Input,
    pipeline: Pipeline,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let sources: &[&str] = match &input {
        Input::Files(_) => &["files"],
        Input::Live { options, .. } => match (&options.kubernetes, &options.aws) {
            (Some(_), Some(_)) => &["kubernetes", "aws"],
            (Some(_), None) => &["kubernetes"],
            (None, _) => &["aws"],
        },
    };
    let shared = Arc::new(Shared::new(sources));
    if matches!(
        input,
        Input::Live {
            policy_report: true,
            ..
        }
    ) {
        shared.policy_report_enabled();
    }
    let pipeline = Arc::new(pipeline);
    let worker = {
        let shared = shared.clone();
        tokio::spawn(async move {
            match input {
                Input::Files(paths) => from_files(&shared, pipeline, paths).await,
                Input::Live {
                    options,
                    aws_interval,
                    debounce,
                    probe_interval,
                    policy_report,
                } => {
                    live::run(
                        shared,
                        pipeline,
                        options,
                        live::Timing {
                            aws_interval,
                            debounce,
                            probe_interval,
                        },
                        policy_report,
                    )
                    .await
                }
            }
        })
    };

    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    let server = server::run(listener, http::router(shared), limits, stopped.clone());
    let outcome = tokio::select! {
        () = server => Ok(()),
        // Only `--from` ends its worker, and only on an error when it does.
        Ok(Err(e)) = worker => Err(e),
        () = async {
            until_stopped(stopped).await;
            tokio::time::sleep(DRAIN).await;
        } => {
            eprintln!("requests still open after {} s: exiting anyway", DRAIN.as_secs());
            Ok(())
        }
    };
    outcome
}

/// `--from`: load and evaluate once, off the async threads.
async fn from_files(
    shared: &Shared,
    pipeline: Arc<Pipeline>,
    paths: Vec<PathBuf>,
) -> Result<(), ServeError> {
    let started = Instant::now();
    let at = SystemTime::now();
    let (report, overview) = tokio::task::spawn_blocking(move || {
        load_paths(&paths, &pipeline.load)
            .map(|loaded| pipeline.evaluate(loaded))
            .map_err(|e| ServeError(e.to_string()))
    })
    .await
    .map_err(|e| ServeError(format!("evaluation: {e}")))??;
    shared.source_ok("files", at);
    shared.publish(Published::new(report, overview, at, started.elapsed()));
    eprintln!("evaluated in {:.3} s", started.elapsed().as_secs_f64());
    // The worker has done its part; serving goes on.
    std::future::pending::<()>().await;
    Ok(())
}
