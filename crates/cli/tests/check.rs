//! `check` through the real binary: the bundled demo and healthy snapshots,
//! every output format, `--output`, `--fail-on`, suppressions, standard
//! input and bad input (exit 2 with a message naming the file).

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

mod common;
use common::{examples, temp_dir};

const AS_OF: &str = "2026-11-26";

/// Runs `check` (in `cwd`, where suppression files are discovered) and
/// returns (exit code, stdout, stderr).
fn check_in(cwd: &Path, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut cmd = Command::cargo_bin("eks-cilium-doctor").unwrap();
    cmd.current_dir(cwd)
        .arg("check")
        .args(args)
        .env("NO_COLOR", "1");
    if let Some(input) = stdin {
        cmd.write_stdin(input);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn check(args: &[&str]) -> (i32, String, String) {
    check_in(&std::env::temp_dir(), args, None)
}

fn demo_json() -> Value {
    let (code, stdout, stderr) = check(&[&examples("demo"), "--as-of", AS_OF, "--format", "json"]);
    assert_eq!(code, 1, "demo has high findings: {stderr}");
    serde_json::from_str(&stdout).expect("JSON report")
}

fn rules_of(report: &Value) -> Vec<String> {
    let mut codes: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect();
    codes.sort();
    codes.dedup();
    codes
}

#[test]
fn demo_shows_the_classic_traps_with_fixes() {
    let report = demo_json();
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["tool"]["name"], "eks-cilium-doctor");
    assert_eq!(report["cluster"]["name"], "shop-prod");
    assert_eq!(report["cluster"]["kubernetes_version"], "1.32");
    assert_eq!(report["cluster"]["cilium_version"], "1.16.5");
    assert_eq!(report["cluster"]["ipam_mode"], "eni");
    let codes = rules_of(&report);
    for expected in [
        "CNI001", "CNI002", "CNI003", "CNI004", "CAP001", "IAM003", "IAM006", "OPS001", "SGP001",
        "VER001", "VER003", "VER004",
    ] {
        assert!(
            codes.iter().any(|c| c == expected),
            "{expected} missing: {codes:?}"
        );
    }
    for finding in report["findings"].as_array().unwrap() {
        for field in [
            "rule",
            "name",
            "severity",
            "object",
            "message",
            "remediation",
            "docs",
        ] {
            assert!(
                !finding[field].is_null(),
                "finding without {field}: {finding}"
            );
        }
        assert!(!finding["remediation"].as_str().unwrap().is_empty());
        assert!(!finding["evidence"].as_array().unwrap().is_empty());
    }
    let summary = &report["summary"];
    let total: u64 = ["critical", "high", "medium", "low", "info"]
        .iter()
        .map(|s| summary[*s].as_u64().unwrap())
        .sum();
    assert_eq!(total as usize, report["findings"].as_array().unwrap().len());
}

#[test]
fn healthy_has_nothing_at_or_above_low() {
    // The one low finding on the healthy cluster is about the tool: its
    // facts are older than VER011's thresholds on AS_OF.
    let (code, stdout, stderr) = check(&[
        &examples("healthy"),
        "--as-of",
        AS_OF,
        "--fail-on",
        "low",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["VER011"], "{stdout}");
    // With thresholds the knowledge meets, nothing at all.
    let (code, stdout, stderr) = check(&[
        &examples("healthy"),
        "--as-of",
        AS_OF,
        "--fail-on",
        "low",
        "--knowledge-max-age",
        "cilium_releases=365",
        "--knowledge-max-age",
        "ec2_limits=365",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("No findings"), "{stdout}");
}

#[test]
fn fail_on_none_never_fails() {
    let (code, _, stderr) = check(&[&examples("demo"), "--as-of", AS_OF, "--fail-on", "none"]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn every_format_renders_the_demo() {
    for (format, marker) in [
        ("text", "CRITICAL"),
        ("json", "\"schema_version\""),
        ("sarif", "\"2.1.0\""),
        ("junit", "<testsuites"),
        ("markdown", "CNI001"),
        ("html", "<!DOCTYPE html>"),
    ] {
        let (code, stdout, stderr) =
            check(&[&examples("demo"), "--as-of", AS_OF, "--format", format]);
        assert_eq!(code, 1, "{format}: {stderr}");
        assert!(stdout.contains(marker), "{format} output lacks {marker}");
    }
}

#[test]
fn output_file_is_written_whole_and_stdout_stays_empty() {
    let dir = temp_dir("check-output");
    let out = dir.path().join("report.json");
    let (code, stdout, stderr) = check(&[
        &examples("demo"),
        "--as-of",
        AS_OF,
        "--format",
        "json",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty());
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(written, demo_json());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "temporary files left behind");
}

#[test]
fn output_into_a_missing_directory_is_an_error_naming_it() {
    let (code, _, stderr) = check(&[
        &examples("demo"),
        "--output",
        "/nonexistent-dir/report.json",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("/nonexistent-dir/report.json"), "{stderr}");
}

#[test]
fn no_path_without_a_kubeconfig_context_is_an_error() {
    let dir = temp_dir("check-no-context");
    let out = Command::cargo_bin("eks-cilium-doctor")
        .unwrap()
        .current_dir(dir.path())
        .arg("check")
        .env("KUBECONFIG", dir.path().join("missing-kubeconfig"))
        .env("HOME", dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("nothing to check"), "{stderr}");
    assert!(stderr.contains("no kubeconfig context"), "{stderr}");
}

#[test]
fn suppressions_from_the_config_file_and_unmatched_entries() {
    let dir = temp_dir("check-suppress");
    std::fs::write(
        dir.path().join(".eks-cilium-doctor.yaml"),
        "ignore:\n  - rule: IAM006\n    reason: detached in the next change window\n  - rule: MESH001\n    reason: no mesh here\n",
    )
    .unwrap();
    let (_, stdout, stderr) = check_in(
        dir.path(),
        &[&examples("demo"), "--as-of", AS_OF, "--format", "json"],
        None,
    );
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stderr}"));
    assert!(!rules_of(&report).contains(&"IAM006".to_string()));
    assert_eq!(report["suppressed"][0]["rule"], "IAM006");
    assert_eq!(report["unmatched_suppressions"][0]["rule"], "MESH001");
}

#[test]
fn a_typo_in_the_config_is_an_error_naming_file_and_line() {
    let dir = temp_dir("check-typo");
    let config = dir.path().join("doctor.yaml");
    std::fs::write(&config, "ignore:\n  - rule: IAM06\n    reason: typo\n").unwrap();
    let (code, _, stderr) = check(&[&examples("demo"), "--config", config.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("doctor.yaml:2"), "{stderr}");
}

#[test]
fn standard_input_is_an_input() {
    let nodes =
        std::fs::read_to_string(Path::new(&examples("demo")).join("k8s-nodes.json")).unwrap();
    let (code, stdout, stderr) = check_in(
        &std::env::temp_dir(),
        &["-", "--format", "json", "--fail-on", "none"],
        Some(&nodes),
    );
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    // Nodes alone: the rules that need more say what is missing.
    assert!(!report["not_evaluated"].as_array().unwrap().is_empty());
}

#[test]
fn bad_input_exits_2_naming_the_file() {
    let dir = temp_dir("check-bad");
    let broken = dir.path().join("pods.json");
    std::fs::write(
        &broken,
        "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [",
    )
    .unwrap();
    let (code, stdout, stderr) = check(&[broken.to_str().unwrap()]);
    assert_eq!(code, 2, "{stdout}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("pods.json"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let (code, _, stderr) = check(&["/no/such/dump"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("/no/such/dump"), "{stderr}");

    let empty = temp_dir("check-empty");
    let (code, _, stderr) = check(&[empty.path().to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn bad_flags_exit_2() {
    for args in [
        vec!["--format", "pdf", "x"],
        vec!["--fail-on", "severe", "x"],
        vec!["--as-of", "26-11-2026", "x"],
        vec!["--target-k8s", "latest", "x"],
    ] {
        let (code, _, stderr) = check(&args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
    }
}

#[test]
fn a_directory_of_nothing_recognisable_exits_2_naming_it() {
    let dir = common::temp_dir("check-unrecognised");
    // 4 KiB of bytes that are no input format (fixed, so the test is stable).
    let noise: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(dir.path().join("random.bin"), noise).unwrap();
    let (code, stdout, stderr) = check(&[dir.path().to_str().unwrap()]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.starts_with("error: no input was recognised: "),
        "{stderr}"
    );
    assert!(stderr.contains("random.bin: binary"), "{stderr}");
}

#[test]
fn an_empty_ciliumendpoints_list_next_to_running_pods_fires_cni003() {
    let dir = common::temp_dir("check-empty-list");
    for file in [
        "k8s-pods.json",
        "k8s-daemonsets.json",
        "k8s-cilium-config.json",
    ] {
        std::fs::copy(
            format!("{}/{file}", examples("demo")),
            dir.path().join(file),
        )
        .unwrap();
    }
    // What `kubectl get ciliumendpoints -A -o json` prints when there are none.
    std::fs::write(
        dir.path().join("ciliumendpoints.json"),
        "{\n    \"apiVersion\": \"v1\",\n    \"items\": [],\n    \"kind\": \"List\",\n    \"metadata\": {\n        \"resourceVersion\": \"\"\n    }\n}\n",
    )
    .unwrap();
    let report = check_json_in(dir.path());
    let cni003 = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "CNI003")
        .count();
    assert!(cni003 > 0, "{report}");
    let notes = report["input_notes"].to_string();
    assert!(
        notes.contains("its kind, CiliumEndpoint, taken from the file name"),
        "{notes}"
    );
}

#[test]
fn a_copy_of_the_demo_reports_what_the_demo_reports() {
    let dir = common::temp_dir("check-copy");
    for entry in std::fs::read_dir(examples("demo")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    let one = check_json(&[&examples("demo")]);
    let two = check_json(&[&examples("demo"), dir.path().to_str().unwrap()]);
    for field in ["findings", "summary", "not_evaluated", "skipped_inputs"] {
        assert_eq!(one[field], two[field], "{field}");
    }
    let notes = two["input_notes"].as_array().unwrap();
    assert_eq!(
        notes.len(),
        std::fs::read_dir(examples("demo")).unwrap().count()
    );
    assert!(notes.iter().all(|n| n["note"]
        .as_str()
        .unwrap()
        .starts_with("the same content as ")));
}

/// The JSON report of `check PATHS --as-of AS_OF`.
fn check_json(paths: &[&str]) -> Value {
    let args: Vec<&str> = paths
        .iter()
        .copied()
        .chain(["--as-of", AS_OF, "--format", "json", "--fail-on", "none"])
        .collect();
    let (code, stdout, stderr) = check(&args);
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str(&stdout).expect("JSON report")
}

fn check_json_in(dir: &std::path::Path) -> Value {
    check_json(&[dir.to_str().unwrap()])
}

#[test]
fn every_report_states_the_age_of_its_knowledge() {
    let report = check_json(&[&examples("demo")]);
    let date = report["knowledge"]["date"].as_str().unwrap();
    assert_eq!(date.len(), 10, "{report}");
    let families = report["knowledge"]["families"].as_object().unwrap();
    for family in [
        "cilium_releases",
        "cilium_docs",
        "eks_calendar",
        "ec2_limits",
        "ami_kernels",
        "helm_charts",
        "metrics",
    ] {
        assert!(families.contains_key(family), "{family}: {families:?}");
    }
    // A year on, VER011 names the families past their thresholds.
    let (_, stdout, _) = check(&[
        &examples("demo"),
        "--as-of",
        "2027-06-01",
        "--format",
        "json",
    ]);
    let later: Value = serde_json::from_str(&stdout).unwrap();
    let stale = later["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "VER011" && f["object"]["kind"] == "Knowledge")
        .expect("VER011 fires");
    let message = stale["message"].as_str().unwrap();
    for family in ["cilium_releases", "eks_calendar", "ec2_limits"] {
        assert!(message.contains(family), "{message}");
    }
    // The text header and the SARIF run say it too.
    let (_, text, _) = check(&[&examples("demo"), "--as-of", AS_OF]);
    assert!(text.contains(&format!("Knowledge of {date}")), "{text}");
    let (_, sarif, _) = check(&[&examples("demo"), "--as-of", AS_OF, "--format", "sarif"]);
    let sarif: Value = serde_json::from_str(&sarif).unwrap();
    assert_eq!(sarif["runs"][0]["properties"]["knowledge"]["date"], date);
}

#[test]
fn several_reports_of_one_run_equal_the_single_format_runs() {
    let dir = temp_dir("check-several");
    let path = |name: &str| dir.path().join(name).display().to_string();
    let demo = examples("demo");
    let (code, stdout, stderr) = check(&[
        &demo,
        "--as-of",
        AS_OF,
        "--format",
        "sarif",
        "--output",
        &path("r.sarif"),
        "--format",
        "html",
        "--output",
        &path("r.html"),
        "-f",
        "json",
        "-o",
        &path("r.json"),
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty() && stderr.is_empty(), "{stdout}{stderr}");
    for (format, file) in [("sarif", "r.sarif"), ("html", "r.html"), ("json", "r.json")] {
        // The single-format run, to standard output and to a file.
        let (code, alone, stderr) = check(&[&demo, "--as-of", AS_OF, "--format", format]);
        assert_eq!(code, 1, "{stderr}");
        let together = std::fs::read_to_string(path(file)).unwrap();
        assert!(
            together == alone,
            "{format}: differs from the single-format run"
        );
        let single = path(&format!("single-{file}"));
        let (code, _, stderr) = check(&[
            &demo, "--as-of", AS_OF, "--format", format, "--output", &single,
        ]);
        assert_eq!(code, 1, "{stderr}");
        assert!(
            std::fs::read(&single).unwrap() == together.as_bytes(),
            "{format}"
        );
    }
    // Nothing but the reports is left in the directory.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("single-"))
        .collect();
    names.sort();
    assert_eq!(names, ["r.html", "r.json", "r.sarif"]);
}

#[test]
fn unpaired_formats_and_outputs_are_a_usage_error_before_any_read() {
    let dir = temp_dir("check-unpaired");
    let out = dir.path().join("r.sarif").display().to_string();
    let examples_demo = examples("demo");
    for args in [
        vec![
            examples_demo.as_str(),
            "--format",
            "sarif",
            "--format",
            "html",
        ],
        vec![
            examples_demo.as_str(),
            "--format",
            "sarif",
            "--output",
            out.as_str(),
            "--format",
            "html",
        ],
        // Checked before the (missing) input is read.
        vec![
            "/nonexistent-input",
            "-f",
            "json",
            "-o",
            out.as_str(),
            "-o",
            "b",
        ],
    ] {
        let (code, stdout, stderr) = check(&args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stdout.is_empty());
        assert!(
            stderr.starts_with("error: --format and --output go in pairs: ")
                && stderr.ends_with("for standard output\n")
                && stderr.lines().count() == 1,
            "{args:?}: {stderr}"
        );
    }
    assert!(!Path::new(&out).exists());
    let (code, _, stderr) = check(&[
        &examples("demo"),
        "-f",
        "json",
        "-o",
        &out,
        "-f",
        "sarif",
        "-o",
        &out,
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("needs its own file"), "{stderr}");
}

/// `examples/demo` copied to `dir`.
fn copy_demo(dir: &Path) {
    for entry in std::fs::read_dir(examples("demo")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
}

/// `annotations` as the metadata.annotations of the named item of one
/// kubectl List file in `dir`.
fn annotate(dir: &Path, file: &str, name: &str, annotations: Value) {
    let path = dir.join(file);
    let mut list: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let item = list["items"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|i| i["metadata"]["name"] == name)
        .unwrap();
    item["metadata"]["annotations"] = annotations;
    std::fs::write(&path, serde_json::to_string_pretty(&list).unwrap()).unwrap();
}

#[test]
fn an_ignore_code_annotation_suppresses_with_its_reason_in_every_report() {
    let dir = temp_dir("check-annotation");
    let demo = dir.path().join("demo");
    std::fs::create_dir(&demo).unwrap();
    copy_demo(&demo);
    annotate(
        &demo,
        "k8s-daemonsets.json",
        "aws-node",
        serde_json::json!({
            "eks-cilium-doctor.io/ignore-CNI001": "kept for the rollback until Q3 (INC-42)",
            "kubectl.kubernetes.io/last-applied-configuration": "{}",
        }),
    );
    annotate(
        &demo,
        "k8s-securitygrouppolicies.json",
        "payments-api-db-access",
        serde_json::json!({"eks-cilium-doctor.io/ignore": "SGP001"}),
    );
    let snapshot = demo.display().to_string();
    let (_, stdout, stderr) = check(&[&snapshot, "--as-of", AS_OF, "--format", "json"]);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stderr}"));
    let codes = rules_of(&report);
    assert!(!codes.contains(&"CNI001".to_string()), "{codes:?}");
    assert!(!codes.contains(&"SGP001".to_string()), "{codes:?}");
    assert_eq!(report["summary"]["critical"], 0);
    let suppressed: Vec<(&str, &str, &str)> = report["suppressed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["rule"].as_str().unwrap(),
                s["object"]["name"].as_str().unwrap(),
                s["reason"].as_str().unwrap(),
            )
        })
        .collect();
    let reason = "kept for the rollback until Q3 (INC-42) \
                  (object annotation eks-cilium-doctor.io/ignore-CNI001)";
    assert_eq!(
        suppressed,
        [
            ("CNI001", "aws-node", reason),
            (
                "SGP001",
                "payments-api-db-access",
                "object annotation eks-cilium-doctor.io/ignore"
            ),
        ]
    );
    // Every format shows the reason and where it came from.
    for format in ["text", "markdown", "html", "sarif", "junit", "policyreport"] {
        let (code, stdout, stderr) = check(&[&snapshot, "--as-of", AS_OF, "--format", format]);
        assert_eq!(code, 1, "{format}: {stderr}");
        assert!(
            stdout.contains("kept for the rollback until Q3 (INC-42)"),
            "{format} lacks the reason"
        );
        assert!(
            stdout.contains("eks-cilium-doctor.io/ignore-CNI001"),
            "{format} lacks the annotation"
        );
    }
    // An unknown code in the key is reported, not silently ignored.
    annotate(
        &demo,
        "k8s-daemonsets.json",
        "aws-node",
        serde_json::json!({"eks-cilium-doctor.io/ignore-CNI0001": "typo"}),
    );
    let (_, stdout, _) = check(&[&snapshot, "--as-of", AS_OF, "--format", "json"]);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert!(rules_of(&report).contains(&"CNI001".to_string()));
    let unmatched = &report["unmatched_suppressions"][0];
    assert_eq!(unmatched["rule"], "CNI0001");
    assert_eq!(unmatched["object"], "DaemonSet/kube-system/aws-node");
}
