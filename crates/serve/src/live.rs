//! Live mode: Kubernetes through reflectors (re-evaluated after a quiet
//! time following each change), AWS re-read on an interval, both turned
//! into the snapshot `collect` writes and loaded through the same loaders.
//! A source that fails keeps its last good part (AWS) or store contents
//! (Kubernetes) and is marked stale; nothing is published from a
//! snapshot that could not be built.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures::FutureExt;
use tokio::sync::Notify;

use doctor_core::report::{render, Format, RenderOptions};
use doctor_core::snapshot::AwsSource;
use doctor_live::aws::{self, FromKubernetes};
use doctor_live::policyreport::ReportWriter;
use doctor_live::snapshot::Part;
use doctor_live::watch::KubeWatch;
use doctor_live::{kube, LiveOptions, Quiet, Snapshot};

use crate::state::{Published, Shared};
use crate::{Pipeline, ServeError};

/// The intervals of live mode.
pub struct Timing {
    /// How often AWS is re-read.
    pub aws_interval: Duration,
    /// Quiet time after a Kubernetes change before re-evaluating.
    pub debounce: Duration,
    /// How often the API server is probed.
    pub probe_interval: Duration,
}

pub async fn run(
    shared: Arc<Shared>,
    pipeline: Arc<Pipeline>,
    options: LiveOptions,
    timing: Timing,
    policy_report: bool,
) -> Result<(), ServeError> {
    let Timing {
        aws_interval,
        debounce,
        probe_interval,
    } = timing;
    let changed = Arc::new(Notify::new());
    let watch = match &options.kubernetes {
        Some(k) => {
            // A bad kubeconfig is fatal; an unreachable server is not.
            let (client, source) = kube::connect(k, &options.timeouts)
                .await
                .map_err(|e| ServeError(e.to_string()))?;
            Some(KubeWatch::start(
                client,
                source,
                changed.clone(),
                options.timeouts,
                k.logs,
            ))
        }
        None => None,
    };
    // `--policy-report` needs the Kubernetes side (the CLI refuses it with
    // --skip-kubernetes).
    let mut writer = match (&watch, policy_report) {
        (Some(watch), true) => Some(ReportWriter::new(watch.client().clone(), options.timeouts)),
        _ => None,
    };
    let mut probe_due = Instant::now() + probe_interval;
    let mut facts: Option<FromKubernetes> = None;
    let mut aws_part: Option<(Part, AwsSource)> = None;
    let mut aws_due = Instant::now();
    let mut first = true;
    loop {
        if !first {
            let aws_timer = async {
                match options.aws {
                    Some(_) => tokio::time::sleep_until(aws_due.into()).await,
                    None => std::future::pending().await,
                }
            };
            let probe_timer = async {
                match &watch {
                    Some(_) => tokio::time::sleep_until(probe_due.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = changed.notified() => {
                    tokio::time::sleep(debounce).await;
                    // Changes during the quiet time are in this evaluation.
                    let _ = changed.notified().now_or_never();
                }
                () = aws_timer => {}
                () = probe_timer => {
                    probe_due = Instant::now() + probe_interval;
                    if let Some(watch) = &watch {
                        probe(&shared, watch).await;
                    }
                    continue;
                }
            }
        }
        first = false;

        let mut kube_part = None;
        if let Some(watch) = &watch {
            let health = watch.health();
            if let Some(error) = &health.error {
                shared.source_failed("kubernetes", error);
            }
            if !health.ready {
                continue;
            }
            match watch.part().await {
                Ok((part, found)) => {
                    if health.error.is_none() {
                        shared.source_ok(
                            "kubernetes",
                            health.last_success.unwrap_or_else(SystemTime::now),
                        );
                    }
                    // New instance types or roles: read AWS about them now.
                    if facts.as_ref() != Some(&found) {
                        aws_due = Instant::now();
                    }
                    facts = Some(found);
                    kube_part = Some((watch.source().clone(), part));
                }
                Err(e) => {
                    shared.source_failed("kubernetes", &e.to_string());
                    continue;
                }
            }
        }
        if let Some(a) = &options.aws {
            if Instant::now() >= aws_due {
                aws_due = Instant::now() + aws_interval;
                let known = facts.clone().unwrap_or_default();
                let read = aws::collect(a, &known, &options.timeouts, Arc::new(Quiet));
                match tokio::time::timeout(options.timeouts.deadline, read).await {
                    Ok(Ok(part)) => {
                        shared.source_ok("aws", SystemTime::now());
                        aws_part = Some(part);
                    }
                    Ok(Err(e)) => shared.source_failed("aws", &e.to_string()),
                    Err(_) => shared.source_failed(
                        "aws",
                        &format!(
                            "no complete read within the {} deadline (--deadline)",
                            doctor_live::deadline::seconds(options.timeouts.deadline)
                        ),
                    ),
                }
            }
            if aws_part.is_none() && watch.is_none() {
                continue;
            }
        }

        let mut snapshot = Snapshot::new();
        if let Some((source, part)) = kube_part {
            snapshot.manifest.kubernetes = Some(source);
            snapshot.add(part);
        }
        if let Some((part, source)) = &aws_part {
            snapshot.manifest.aws = Some(source.clone());
            snapshot.add(part.clone());
        }
        let rendered = evaluate(&shared, &pipeline, snapshot, writer.is_some()).await;
        if let (Some(writer), Some(rendered)) = (&mut writer, rendered) {
            write_report(&shared, writer, &rendered).await;
        }
    }
}

/// `--policy-report`: the evaluation's reports into the cluster. A failed
/// write is one line on stderr (the call, and what to grant or install),
/// counted in the metrics and shown by /readyz, and never stops serve.
async fn write_report(shared: &Shared, writer: &mut ReportWriter, rendered: &str) {
    match writer.sync(rendered).await {
        Ok(written) => shared.policy_report_ok(written.writes() as u64, SystemTime::now()),
        Err(e) => shared.policy_report_failed(&e.to_string()),
    }
}

/// The periodic probe: a frozen API server turns the source stale; an
/// answer, with every watcher healthy (quiet kinds that resumed without
/// an event included, see [`KubeWatch::probe`]), turns it fresh again.
async fn probe(shared: &Arc<Shared>, watch: &KubeWatch) {
    match watch.probe().await {
        Err(why) => shared.source_failed("kubernetes", &why),
        Ok(()) => {
            let health = watch.health();
            if health.ready && health.error.is_none() {
                shared.source_ok("kubernetes", SystemTime::now());
            }
        }
    }
}

/// Load and evaluate a snapshot off the async threads; publish it if it
/// loads. With `policy_report`, its rendering as `check --format
/// policyreport` gives it (rendered on the same blocking thread).
async fn evaluate(
    shared: &Arc<Shared>,
    pipeline: &Arc<Pipeline>,
    snapshot: Snapshot,
    policy_report: bool,
) -> Option<String> {
    let started = Instant::now();
    let at = SystemTime::now();
    let pipeline = pipeline.clone();
    let done = tokio::task::spawn_blocking(move || {
        snapshot
            .load(&pipeline.load)
            .map(|loaded| {
                let (report, overview) = pipeline.evaluate(loaded);
                let rendered = policy_report
                    .then(|| render(&report, Format::PolicyReport, &RenderOptions::default()));
                (report, overview, rendered)
            })
            .map_err(|e| e.to_string())
    })
    .await;
    match done {
        Ok(Ok((report, overview, rendered))) => {
            let findings = report.findings.len();
            shared.publish(Published::new(report, overview, at, started.elapsed()));
            eprintln!(
                "evaluated in {:.3} s: {findings} findings",
                started.elapsed().as_secs_f64()
            );
            rendered
        }
        Ok(Err(why)) => {
            shared.evaluation_failed(&why);
            None
        }
        Err(e) => {
            shared.evaluation_failed(&e.to_string());
            None
        }
    }
}
