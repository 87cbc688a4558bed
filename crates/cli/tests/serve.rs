//! `serve` as a process, over HTTP: the endpoints on the demo files, its
//! metrics through promtool, the JSON equal to `check`'s, SIGTERM, and the
//! watch mode against kmock (a Kubernetes API emulator from PyPI, installed
//! by scripts/test.sh): a change in the cluster shows in /metrics, and a
//! dead API server leaves the last report served and marked stale; the same
//! for AWS against moto (the AWS emulator from PyPI).

use std::io::Write;
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

mod common;
use common::{available, here, isolate_aws, kmock, moto, serve, serve_with, Server};

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// Status, content type and body of a GET.
fn get(url: &str) -> (u16, String, String) {
    let mut response = agent().get(url).call().unwrap();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = response.body_mut().read_to_string().unwrap();
    (response.status().as_u16(), content_type, body)
}

/// Poll `url` until `done` holds for its body; the last body.
fn wait_for(url: &str, what: &str, done: impl Fn(u16, &str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, _, body) = get(url);
        if done(status, &body) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{url}: no {what} within 30 s; last answer {status}:\n{body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn promtool_check_metrics(text: &str) {
    if !available("promtool", &["--version"]) {
        return;
    }
    let mut child = Process::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics:\n{}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// SIGTERM, then the exit: status 0 within 5 s.
fn terminate(server: &mut Server) {
    let pid = server.child.0.id().to_string();
    assert!(Process::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let sent = Instant::now();
    loop {
        if let Some(status) = server.child.0.try_wait().unwrap() {
            assert!(status.success(), "exit status {status:?}");
            break;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(5),
            "still running 5 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn finding_series(metrics: &str) -> Vec<&str> {
    metrics
        .lines()
        .filter(|l| l.starts_with("eks_cilium_doctor_finding{"))
        .collect()
}

#[test]
fn serves_the_demo_files_on_every_endpoint_and_stops_on_sigterm() {
    let demo = here("../../examples/demo");
    let mut server = serve(&["--from", demo.to_str().unwrap()]);
    let base = server.url.clone();
    assert_eq!(get(&format!("{base}/healthz")).0, 200);
    wait_for(&format!("{base}/readyz"), "readiness", |s, _| s == 200);

    let (status, content_type, json) = get(&format!("{base}/api/v1/report"));
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    let check = Process::cargo_bin("eks-cilium-doctor")
        .unwrap()
        .args(["check", "--format", "json", "--fail-on", "none"])
        .arg(&demo)
        .output()
        .unwrap();
    assert!(check.status.success());
    let served: Value = serde_json::from_str(&json).unwrap();
    let checked: Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(served, checked, "/api/v1/report is `check --format json`");

    let (status, content_type, html) = get(&format!("{base}/report"));
    assert_eq!(status, 200);
    assert_eq!(content_type, "text/html; charset=utf-8");
    assert!(html.starts_with("<!DOCTYPE html>"), "{}", &html[..100]);
    assert!(html.contains("CNI001"));
    assert!(!html.contains("stale-sources"), "no source is stale");

    let (status, content_type, metrics) = get(&format!("{base}/metrics"));
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/plain; version=0.0.4"));
    promtool_check_metrics(&metrics);
    let series = finding_series(&metrics);
    let findings = served["findings"].as_array().unwrap();
    assert!(!series.is_empty() && series.len() <= findings.len());
    assert!(
        series.contains(
            &"eks_cilium_doctor_finding{rule=\"CNI001\",severity=\"critical\",\
              namespace=\"kube-system\",kind=\"DaemonSet\",name=\"aws-node\"} 1"
        ),
        "{metrics}"
    );
    let critical = findings
        .iter()
        .filter(|f| f["severity"] == "critical")
        .count();
    assert!(metrics.contains(&format!(
        "eks_cilium_doctor_findings{{severity=\"critical\"}} {critical}\n"
    )));
    assert!(metrics.contains("eks_cilium_doctor_source_stale{source=\"files\"} 0\n"));
    assert!(metrics.contains("eks_cilium_doctor_ready 1\n"));
    // How old each fact family is on the day served.
    for family in ["cilium_releases", "eks_calendar", "ec2_limits", "metrics"] {
        assert!(
            metrics.contains(&format!(
                "eks_cilium_doctor_knowledge_age_seconds{{family=\"{family}\"}} "
            )),
            "{family}: {metrics}"
        );
    }

    terminate(&mut server);
}

#[test]
fn files_that_do_not_load_end_the_server_with_exit_2() {
    let missing = here("tests/no-such-dump");
    let mut server = serve(&["--from", missing.to_str().unwrap()]);
    let status = server.child.0.wait().unwrap();
    assert_eq!(status.code(), Some(2));
    let rest: Vec<String> = server.log.iter().collect();
    assert!(
        rest.iter()
            .any(|l| l.starts_with("error: ") && l.contains("no-such-dump")),
        "{rest:?}"
    );
}

const AWS_NODE_CNI001: &str = "eks_cilium_doctor_finding{rule=\"CNI001\",severity=\"critical\",\
                               namespace=\"kube-system\",kind=\"DaemonSet\",name=\"aws-node\"} 1";

#[test]
fn watches_a_cluster_and_keeps_the_last_report_when_it_goes_away() {
    let dir = std::env::temp_dir().join(format!("doctor-serve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let Some((mut kmock, api, kubeconfig)) = kmock(&dir, &[]) else {
        return;
    };
    let mut server = serve(&[
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--skip-aws",
        "--debounce",
        "200ms",
    ]);
    let metrics = format!("{}/metrics", server.url);
    wait_for(&metrics, "CNI001 for aws-node", |_, m| {
        m.contains(AWS_NODE_CNI001)
    });

    // aws-node deleted (Cilium took over), then back after an add-on update.
    let aws_node = format!("{api}/apis/apps/v1/namespaces/kube-system/daemonsets");
    let deleted = agent()
        .delete(&format!("{aws_node}/aws-node"))
        .call()
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 200);
    let clean = wait_for(&metrics, "CNI001 gone", |_, m| !m.contains(AWS_NODE_CNI001));
    promtool_check_metrics(&clean);
    let mut object = std::fs::read_to_string(here("../../examples/demo/k8s-daemonsets.json"))
        .map(|t| serde_json::from_str::<Value>(&t).unwrap())
        .unwrap()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["metadata"]["name"] == "aws-node")
        .unwrap()
        .clone();
    object["apiVersion"] = "apps/v1".into();
    object["kind"] = "DaemonSet".into();
    let created = agent()
        .post(&aws_node)
        .header("Content-Type", "application/json")
        .send(object.to_string())
        .unwrap();
    assert!(created.status().is_success(), "{}", created.status());
    wait_for(&metrics, "CNI001 back", |_, m| m.contains(AWS_NODE_CNI001));
    assert!(get(&metrics)
        .2
        .contains("eks_cilium_doctor_source_stale{source=\"kubernetes\"} 0\n"));

    // The API server goes away: the last report stays, marked stale.
    let _ = kmock.0.kill();
    let _ = kmock.0.wait();
    let stale = wait_for(&metrics, "kubernetes marked stale", |_, m| {
        m.contains("eks_cilium_doctor_source_stale{source=\"kubernetes\"} 1\n")
    });
    promtool_check_metrics(&stale);
    assert!(stale.contains(AWS_NODE_CNI001), "the last findings stay");
    let (status, _, json) = get(&format!("{}/api/v1/report", server.url));
    assert_eq!(status, 200);
    assert!(json.contains("\"CNI001\""));
    assert_eq!(get(&format!("{}/readyz", server.url)).0, 200);
    let (_, _, page) = get(&format!("{}/report", server.url));
    assert!(
        page.contains("<strong>Stale data.</strong>") && page.contains("<li><b>kubernetes</b>: "),
        "the page names the stale source"
    );
    terminate(&mut server);
    let mut rest = String::new();
    for line in server.log.iter() {
        rest.push_str(&line);
        rest.push('\n');
    }
    assert!(rest.contains("serving the last good evaluation"), "{rest}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The findings of a `/api/v1/report` body.
fn findings(report: &str) -> Value {
    serde_json::from_str::<Value>(report).unwrap()["findings"].clone()
}

#[test]
fn keeps_the_last_report_when_aws_cannot_be_read() {
    let Some((mut moto, endpoint)) = moto() else {
        return;
    };
    let mut server = serve_with(
        &[
            "--skip-kubernetes",
            "--cluster",
            "shop-prod",
            "--region",
            "eu-west-1",
            "--aws-interval",
            "1s",
        ],
        |command| isolate_aws(command, Some(&endpoint)),
    );
    let metrics = format!("{}/metrics", server.url);
    let report = format!("{}/api/v1/report", server.url);
    let fresh = wait_for(&metrics, "AWS read", |_, m| {
        m.contains("eks_cilium_doctor_source_stale{source=\"aws\"} 0\n")
            && m.contains("eks_cilium_doctor_ready 1\n")
    });
    promtool_check_metrics(&fresh);
    let (status, _, before) = get(&report);
    assert_eq!(status, 200);
    assert!(
        before.contains("\"shop-prod\""),
        "the report is of the EKS cluster in moto: {before}"
    );
    // serve reads DescribeClusterVersions too; moto lacks it: a gap (and
    // ListAddons, ListInsights: three in all).
    let gaps: Vec<String> = serde_json::from_str::<Value>(&before).unwrap()["collection_gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["call"].as_str().unwrap().to_string())
        .collect();
    assert!(
        gaps.iter().any(|g| g == "eks:DescribeClusterVersions"),
        "{gaps:?}"
    );
    assert!(
        fresh.contains("eks_cilium_doctor_collection_gaps{source=\"aws\"} 3\n"),
        "{fresh}"
    );

    // The account cannot be read any more: the last report stays, marked stale.
    let _ = moto.0.kill();
    let _ = moto.0.wait();
    let stale = wait_for(&metrics, "aws marked stale", |_, m| {
        m.contains("eks_cilium_doctor_source_stale{source=\"aws\"} 1\n")
    });
    promtool_check_metrics(&stale);
    let (status, _, after) = get(&report);
    assert_eq!(status, 200);
    assert_eq!(
        findings(&after),
        findings(&before),
        "the last findings stay"
    );
    assert_eq!(get(&format!("{}/readyz", server.url)).0, 200);
    let (_, _, page) = get(&format!("{}/report", server.url));
    assert!(
        page.contains("<strong>Stale data.</strong>") && page.contains("<li><b>aws</b>: "),
        "the page names the stale source"
    );
    terminate(&mut server);
}

/// The doctor's report stored in kmock: `(kind plural, namespace)` →
/// the object, or None.
fn stored_report(api: &str, plural: &str, namespace: Option<&str>) -> Option<Value> {
    let path = match namespace {
        Some(ns) => {
            format!("{api}/apis/wgpolicyk8s.io/v1alpha2/namespaces/{ns}/{plural}/eks-cilium-doctor")
        }
        None => format!("{api}/apis/wgpolicyk8s.io/v1alpha2/{plural}/eks-cilium-doctor"),
    };
    let (status, _, body) = get(&path);
    (status == 200).then(|| serde_json::from_str(&body).unwrap())
}

fn result_rules(report: &Value) -> Vec<String> {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap().to_string())
        .collect()
}

/// Issue 17: `serve --policy-report` writes the reports of `check --format
/// policyreport` into the cluster and keeps them current. kmock's emulator
/// stores custom resources it is told about (kmock_server.py
/// --policy-reports): POST creates, PATCH merges the body into the object
/// (a JSON merge patch); it serves no PUT, which the writer does not use.
#[test]
fn serve_keeps_the_policy_reports_current() {
    let dir = common::temp_dir("serve-policyreport");
    let Some((_kmock, api, kubeconfig)) = kmock(dir.path(), &["--policy-reports"]) else {
        return;
    };
    let kube = kubeconfig.to_str().unwrap();
    let mut server = serve(&[
        "--kubeconfig",
        kube,
        "--skip-aws",
        "--debounce",
        "200ms",
        "--policy-report",
    ]);
    let metrics = format!("{}/metrics", server.url);
    wait_for(&metrics, "a first write", |_, m| {
        m.contains("eks_cilium_doctor_policy_report_last_success_timestamp_seconds ")
    });
    let namespaced = stored_report(&api, "policyreports", Some("kube-system"))
        .expect("the kube-system PolicyReport");
    assert!(result_rules(&namespaced).contains(&"CNI001".to_string()));
    let cluster =
        stored_report(&api, "clusterpolicyreports", None).expect("the ClusterPolicyReport");
    assert_eq!(
        cluster["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "eks-cilium-doctor"
    );

    // What is written holds the served evaluation: a result per finding
    // (its rule and message) and per rule not evaluated. (The JSON of the
    // same cluster read by `check --live` differs here: kmock's pod list
    // names a demo pod twice, serve's store once.)
    let (_, _, json) = get(&format!("{}/api/v1/report", server.url));
    let served: Value = serde_json::from_str(&json).unwrap();
    let mut written = Vec::new();
    let mut reports = 0;
    for plural in ["clusterpolicyreports", "policyreports"] {
        let (_, _, list) = get(&format!("{api}/apis/wgpolicyk8s.io/v1alpha2/{plural}"));
        for report in serde_json::from_str::<Value>(&list).unwrap()["items"]
            .as_array()
            .unwrap()
        {
            reports += 1;
            written.extend(report["results"].as_array().unwrap().iter().map(|r| {
                (
                    r["rule"].as_str().unwrap().to_string(),
                    r["message"].as_str().unwrap().to_string(),
                )
            }));
        }
    }
    let mut expected: Vec<(String, String)> = served["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    expected.extend(served["not_evaluated"].as_array().unwrap().iter().map(|n| {
        (
            n["rule"].as_str().unwrap().to_string(),
            format!("not evaluated: missing {}", n["missing"].as_str().unwrap()),
        )
    }));
    written.sort();
    expected.sort();
    assert_eq!(written, expected);
    let writes = |m: &str| -> u64 {
        m.lines()
            .find_map(|l| l.strip_prefix("eks_cilium_doctor_policy_report_writes_total "))
            .unwrap()
            .parse()
            .unwrap()
    };
    let first = writes(&get(&metrics).2);
    assert_eq!(first, reports, "one write per report");

    // The cluster changes: aws-node goes; the next evaluation's report has no CNI001.
    let aws_node = format!("{api}/apis/apps/v1/namespaces/kube-system/daemonsets/aws-node");
    assert_eq!(
        agent().delete(&aws_node).call().unwrap().status().as_u16(),
        200
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = stored_report(&api, "policyreports", Some("kube-system")).unwrap();
        if !result_rules(&now).contains(&"CNI001".to_string()) {
            let fail = now["summary"]["fail"].as_u64().unwrap();
            let counted = now["results"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["result"] == "fail")
                .count() as u64;
            assert_eq!(fail, counted, "the summary follows the results");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "CNI001 still in the report: {now}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let after = get(&metrics).2;
    assert!(writes(&after) > first, "{after}");
    assert!(after.contains("eks_cilium_doctor_policy_report_failing 0\n"));
    promtool_check_metrics(&after);

    // A change that changes no finding: evaluated again, nothing written.
    let evaluations = |m: &str| -> u64 {
        m.lines()
            .find_map(|l| l.strip_prefix("eks_cilium_doctor_evaluations_total "))
            .unwrap()
            .parse()
            .unwrap()
    };
    let before = evaluations(&after);
    let pod = format!("{api}/api/v1/namespaces/kube-system/pods/cilium-operator-7d9f15c6b8-hmqtx");
    let touched = agent()
        .patch(&pod)
        .header("Content-Type", "application/merge-patch+json")
        .send(r#"{"metadata":{"annotations":{"example.com/touched":"1"}}}"#)
        .unwrap();
    assert!(touched.status().is_success(), "{}", touched.status());
    let again = wait_for(&metrics, "another evaluation", |_, m| {
        evaluations(m) > before
    });
    assert_eq!(
        writes(&again),
        writes(&after),
        "nothing changed, nothing written"
    );
    terminate(&mut server);
}

/// Without the wgpolicyk8s.io CRDs (kmock answers 404 for the unknown
/// resource, as an API server does), a write fails: one line naming the
/// call and what to install, a metric, a line in /readyz; serve goes on.
#[test]
fn a_failed_policy_report_write_is_told_and_serve_goes_on() {
    let dir = common::temp_dir("serve-policyreport-404");
    let Some((_kmock, _api, kubeconfig)) = kmock(dir.path(), &[]) else {
        return;
    };
    let mut server = serve(&[
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--skip-aws",
        "--policy-report",
    ]);
    let metrics = format!("{}/metrics", server.url);
    let failing = wait_for(&metrics, "a failed write", |_, m| {
        m.contains("eks_cilium_doctor_policy_report_failing 1\n")
    });
    promtool_check_metrics(&failing);
    assert!(failing.contains("eks_cilium_doctor_ready 1\n"));
    assert!(failing.contains("eks_cilium_doctor_policy_report_errors_total 1\n"));
    let (status, _, ready) = get(&format!("{}/readyz", server.url));
    assert_eq!(status, 200);
    assert!(
        ready.starts_with(
            "ready\npolicy report not written: list clusterpolicyreports.wgpolicyk8s.io: HTTP 404"
        ),
        "{ready}"
    );
    assert!(
        ready.contains("CRD (wgpolicyk8s.io/v1alpha2) is not installed"),
        "{ready}"
    );
    let (status, _, json) = get(&format!("{}/api/v1/report", server.url));
    assert_eq!(status, 200);
    assert!(json.contains("\"CNI001\""));
    terminate(&mut server);
    let told: Vec<String> = server
        .log
        .iter()
        .filter(|l| l.starts_with("policy report not written: "))
        .collect();
    assert_eq!(told.len(), 1, "told once: {told:?}");
}

/// Issue 14 in `serve`: the operator's previous instance logged LOG001's
/// signature (the real fixture, served by kmock_server.py's pods/log
/// reaction); the rule fires from the live tail.
#[test]
fn serve_reads_the_log_tails() {
    let dir = common::temp_dir("serve-logs");
    let fires = format!(
        "kube-system/cilium-operator-7d9f15c6b8-hmqtx/cilium-operator/previous={}",
        common::core_fixture(
            "LOG001/fires/logs-cilium-operator-7b9c5d6f8-m2vxp-cilium-operator-20260101-100000.log"
        )
    );
    let Some((_kmock, _, kubeconfig)) = kmock(dir.path(), &["--log", &fires]) else {
        return;
    };
    let mut server = serve(&["--kubeconfig", kubeconfig.to_str().unwrap(), "--skip-aws"]);
    let metrics = wait_for(&format!("{}/metrics", server.url), "LOG001", |_, m| {
        m.contains("eks_cilium_doctor_finding{rule=\"LOG001\",")
    });
    promtool_check_metrics(&metrics);
    terminate(&mut server);
}

/// RBAC without the writes: the 403 is told with the verb to grant and
/// where it is granted.
#[test]
fn a_denied_policy_report_write_names_the_permission() {
    let dir = common::temp_dir("serve-policyreport-403");
    let Some((_kmock, _api, kubeconfig)) = kmock(
        dir.path(),
        &[
            "--policy-reports",
            "--deny",
            "wgpolicyk8s.io/v1alpha2/clusterpolicyreports",
        ],
    ) else {
        return;
    };
    let mut server = serve(&[
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--skip-aws",
        "--policy-report",
    ]);
    let ready = wait_for(
        &format!("{}/readyz", server.url),
        "a denied write",
        |s, r| s == 200 && r.contains("policy report not written"),
    );
    assert!(
        ready.contains(
            "list clusterpolicyreports.wgpolicyk8s.io: HTTP 403 Forbidden: wgpolicyk8s.io/v1alpha2/\
             clusterpolicyreports is forbidden"
        ) && ready.contains(
            "; grant list clusterpolicyreports.wgpolicyk8s.io (the chart's policyReport.enabled, \
             or deploy/rbac-policyreport.yaml)"
        ),
        "{ready}"
    );
    terminate(&mut server);
}

/// `--policy-report` writes through the Kubernetes API: refused with files
/// or without Kubernetes, before anything listens.
#[test]
fn policy_report_needs_a_live_cluster() {
    let demo = here("../../examples/demo");
    let stderr =
        common::usage_error(&["serve", "--from", demo.to_str().unwrap(), "--policy-report"]);
    assert!(
        stderr.contains("--log-lines and --policy-report are for a live cluster"),
        "{stderr}"
    );
    let stderr = common::usage_error(&[
        "serve",
        "--skip-kubernetes",
        "--cluster",
        "shop-prod",
        "--policy-report",
    ]);
    assert!(
        stderr.contains("cannot go with --skip-kubernetes"),
        "{stderr}"
    );
}
