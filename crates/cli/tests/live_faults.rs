//! Live calls against an API server that misbehaves (issue 18, parts 2
//! and 3): kmock (the Kubernetes API emulator from PyPI) behind a
//! fault-injecting proxy of our own on 127.0.0.1 (tests/common/faults.rs)
//! that freezes, throttles (429) or fails once (500). `check --live` and
//! `collect` end within their deadlines with one line naming the call;
//! `serve` turns stale within its probe interval and fresh again after a
//! 30 s outage.

use std::io::Read;
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;

mod common;
use common::faults::FaultProxy;
use common::{isolate_aws, kmock, moto, serve, temp_dir, write_kubeconfig};

/// `eks-cilium-doctor ARGS` with a wall-clock bound: (exit code, stdout,
/// stderr, time taken).
fn run(args: &[&str], bound: Duration) -> (i32, String, String, Duration) {
    run_with(args, bound, |_| {})
}

fn run_with(
    args: &[&str],
    bound: Duration,
    adjust: impl FnOnce(&mut Process),
) -> (i32, String, String, Duration) {
    let started = Instant::now();
    let mut command = Process::cargo_bin("eks-cilium-doctor").unwrap();
    adjust(&mut command);
    let mut child = command
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("KUBECONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > bound {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?} still running after {bound:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let took = started.elapsed();
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status.code().unwrap_or(-1), stdout, stderr, took)
}

/// A proxy that only ever freezes (no upstream needed), and a kubeconfig.
fn frozen(dir: &std::path::Path) -> (FaultProxy, String) {
    let proxy = FaultProxy::start("127.0.0.1:9");
    proxy.freeze();
    let kubeconfig = write_kubeconfig(dir, &proxy.url);
    (proxy, kubeconfig.display().to_string())
}

#[test]
fn a_server_that_never_answers_ends_check_live_and_collect_with_one_line() {
    let dir = temp_dir("faults-frozen");
    let (_proxy, kubeconfig) = frozen(dir.path());
    let live = ["check", "--live", "--skip-aws", "--kubeconfig", &kubeconfig];

    let mut args = live.to_vec();
    args.extend(["--request-timeout", "2s"]);
    let (code, stdout, stderr, took) = run(&args, Duration::from_secs(30));
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(
            "error: Kubernetes get /version: no answer within 2 s (--request-timeout)"
        ),
        "{stderr}"
    );

    // The overall deadline bounds what the per-request timeout would not.
    let mut args = live.to_vec();
    args.extend(["--request-timeout", "60s", "--deadline", "3s"]);
    let (code, _, stderr, took) = run(&args, Duration::from_secs(30));
    assert_eq!(code, 2, "{stderr}");
    assert!(took < Duration::from_secs(8), "took {took:?}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: the 3 s deadline (--deadline) passed during get /version"),
        "{stderr}"
    );

    let snapshot = dir.path().join("snap.tar.gz");
    let (code, _, stderr, _) = run(
        &[
            "collect",
            "--skip-aws",
            "--kubeconfig",
            &kubeconfig,
            "--deadline",
            "3s",
            "-o",
            snapshot.to_str().unwrap(),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("passed during get /version"), "{stderr}");
    assert!(!snapshot.exists());
}

#[test]
fn throttling_is_retried_a_bounded_number_of_times_then_told_in_one_line() {
    let dir = temp_dir("faults-429");
    let proxy = FaultProxy::start("127.0.0.1:9");
    proxy.answer_all(429);
    let kubeconfig = write_kubeconfig(dir.path(), &proxy.url);
    let (code, _, stderr, took) = run(
        &[
            "check",
            "--live",
            "--skip-aws",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert!(!stderr.contains("Status {"), "a Debug dump: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 4, "3 retries, then the error: {stderr}");
    for (i, line) in lines[..3].iter().enumerate() {
        assert!(
            line.starts_with(&format!(
                "kubernetes: get /version: HTTP 429 TooManyRequests: injected 429; retry {} of 3 in ",
                i + 1
            )),
            "{line}"
        );
    }
    assert!(
        lines[3].starts_with(
            "error: Kubernetes get /version: HTTP 429 TooManyRequests: injected 429 (after 4 attempts); \
             the API server is throttling"
        ),
        "{}",
        lines[3]
    );
}

#[test]
fn a_lone_500_is_retried_and_the_run_goes_on() {
    let dir = temp_dir("faults-500");
    let Some((_kmock, api, _)) = kmock(dir.path(), &[]) else {
        return;
    };
    let proxy = FaultProxy::start(&api);
    proxy.fail_next(1, 500);
    let kubeconfig = write_kubeconfig(dir.path(), &proxy.url);
    let (code, stdout, stderr, _) = run(
        &[
            "check",
            "--live",
            "--skip-aws",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--format",
            "json",
            "--fail-on",
            "none",
        ],
        Duration::from_secs(120),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("HTTP 500 InternalError: injected 500; retry 1 of 3"),
        "{stderr}"
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["rule"] == "CNI001"));
}

#[test]
fn aws_retries_are_told_and_a_lone_500_is_retried() {
    let Some((_moto, endpoint)) = moto() else {
        return;
    };
    let proxy = FaultProxy::start(&endpoint);
    proxy.fail_next(1, 500);
    let (code, _, stderr, _) = run_with(
        &[
            "check",
            "--live",
            "--skip-kubernetes",
            "--cluster",
            "shop-prod",
            "--region",
            "eu-west-1",
            "--format",
            "json",
            "--fail-on",
            "none",
        ],
        Duration::from_secs(120),
        |command| isolate_aws(command, Some(&proxy.url)),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("aws: eks:DescribeCluster: HTTP 500; retry 1 of 3"),
        "{stderr}"
    );
}

fn get(url: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    let mut response = agent.get(url).call().unwrap();
    let status = response.status().as_u16();
    (status, response.body_mut().read_to_string().unwrap())
}

fn wait_for(url: &str, what: &str, within: Duration, done: impl Fn(u16, &str) -> bool) -> Duration {
    let started = Instant::now();
    loop {
        let (status, body) = get(url);
        if done(status, &body) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "{url}: no {what} within {within:?}; last answer {status}:\n{body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

const STALE: &str = "eks_cilium_doctor_source_stale{source=\"kubernetes\"} 1\n";
const FRESH: &str = "eks_cilium_doctor_source_stale{source=\"kubernetes\"} 0\n";

/// Acceptance: a frozen API server is stale within the probe interval
/// (plus the request timeout), and after a 30 s outage every kind,
/// quiet ones included, counts as recovered.
#[test]
fn serve_turns_stale_when_the_server_freezes_and_recovers_after_30_s() {
    let dir = temp_dir("faults-serve");
    let Some((_kmock, api, _)) = kmock(dir.path(), &[]) else {
        return;
    };
    let proxy = FaultProxy::start(&api);
    let kubeconfig = write_kubeconfig(dir.path(), &proxy.url);
    let server = serve(&[
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--skip-aws",
        "--debounce",
        "200ms",
        "--probe-interval",
        "1s",
        "--request-timeout",
        "1s",
    ]);
    let metrics = format!("{}/metrics", server.url);
    wait_for(
        &metrics,
        "a fresh evaluation",
        Duration::from_secs(60),
        |_, m| m.contains(FRESH) && m.contains("eks_cilium_doctor_ready 1\n"),
    );

    proxy.freeze();
    let frozen_at = Instant::now();
    let took = wait_for(&metrics, "stale", Duration::from_secs(10), |_, m| {
        m.contains(STALE)
    });
    assert!(took < Duration::from_secs(5), "stale after {took:?}");
    let (status, page) = get(&format!("{}/report", server.url));
    assert_eq!(status, 200);
    assert!(page.contains("<strong>Stale data.</strong>"));
    // Then it goes down (connections reset, new ones refused: every
    // watch fails and retries); the outage lasts 30 s in all, then the
    // server is back with nothing changed, so every watch resumes without
    // an event.
    proxy.down();
    std::thread::sleep(Duration::from_secs(30).saturating_sub(frozen_at.elapsed()));
    proxy.pass();
    wait_for(&metrics, "recovery", Duration::from_secs(30), |_, m| {
        m.contains(FRESH)
    });
    // And it stays fresh: every watch resumed.
    std::thread::sleep(Duration::from_secs(3));
    let (_, after) = get(&metrics);
    assert!(after.contains(FRESH), "{after}");
    let (_, page) = get(&format!("{}/report", server.url));
    assert!(
        !page.contains("<strong>Stale data.</strong>"),
        "the banner is gone"
    );
}

#[test]
fn serve_names_the_failure_when_the_server_fails_from_the_start() {
    let dir = temp_dir("faults-start");
    let proxy = FaultProxy::start("127.0.0.1:9");
    proxy.answer_all(500);
    let kubeconfig = write_kubeconfig(dir.path(), &proxy.url);
    let server = serve(&[
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--skip-aws",
        "--probe-interval",
        "1s",
        "--request-timeout",
        "1s",
    ]);
    wait_for(
        &format!("{}/report", server.url),
        "the reason on /report",
        Duration::from_secs(30),
        |status, body| status == 503 && body.contains("kubernetes: ") && body.contains("HTTP 500"),
    );
}
