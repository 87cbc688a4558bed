//! Report hygiene, the walk and input bounds (issue 18, parts 5-7), each
//! against the binary: skip reasons never quote content, names cannot
//! forge report lines or commands, a bad link is one skipped input,
//! UTF-16 dumps are read, devices and binary streams are not read whole.

use std::io::Write;
use std::path::Path;
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

mod common;
use common::{doctor, examples, temp_dir};

/// `check ARGS --fail-on none`: (exit code, stdout, stderr).
fn check(args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["check", "--fail-on", "none", "--as-of", "2026-11-26"];
    all.extend_from_slice(args);
    doctor(&all)
}

/// The JSON report of `check ARGS` beside one recognised input (the demo's
/// `kubectl version`): a load that recognises nothing exits 2 by design.
fn json_report(args: &[&str]) -> Value {
    let version = format!("{}/version.json", examples("demo"));
    let mut all = args.to_vec();
    all.extend_from_slice(&[&version, "--format", "json"]);
    let (code, stdout, stderr) = check(&all);
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

fn skipped(report: &Value) -> Vec<(String, String)> {
    report["skipped_inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["path"].as_str().unwrap().to_string(),
                s["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn copy_demo(to: &Path) {
    for entry in std::fs::read_dir(examples("demo")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn skip_reasons_quote_no_content_and_stay_short() {
    let dir = temp_dir("hyg-keys");
    std::fs::write(
        dir.path().join("shadow"),
        "root:$6$saltsalt$hashhashhash:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n",
    )
    .unwrap();
    let big_key = "k".repeat(1_000_000);
    std::fs::write(
        dir.path().join("keys.json"),
        format!(r#"{{"{big_key}": 1, "has space": 2, "spec": 3, "a": 1, "b": 2, "c": 3, "d": 4}}"#),
    )
    .unwrap();
    let report = json_report(&[dir.path().to_str().unwrap()]);
    let reasons = skipped(&report);
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    for (path, reason) in &reasons {
        assert!(reason.len() < 200, "{path}: a {} byte reason", reason.len());
        assert!(
            !reason.contains('$') && !reason.contains("has space"),
            "{reason}"
        );
    }
    assert!(
        reasons[0]
            .1
            .contains("top-level keys: a, b, c, d and 3 more"),
        "{reasons:?}"
    );
    assert!(reasons[1].1.contains("none a field name"), "{reasons:?}");
}

#[test]
fn names_cannot_forge_report_lines() {
    let dir = temp_dir("hyg-names");
    copy_demo(dir.path());
    std::fs::write(
        dir.path()
            .join("notes\nCRITICAL (9)\n  FAKE001 forged — Cluster everything.txt"),
        "just notes",
    )
    .unwrap();
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    let mut header = tar::Header::new_gnu();
    header.set_size(5);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    // tar refuses such a name through set_path: write the raw bytes.
    header.as_old_mut().name[..20].copy_from_slice(b"m\n  FAKE002 forged\x1b[");
    header.set_cksum();
    tar.append(&header, &b"hello"[..]).unwrap();
    let archive = tar.into_inner().unwrap().finish().unwrap();
    std::fs::write(dir.path().join("extra.tar.gz"), archive).unwrap();

    // And a cluster name from a crafted describe-cluster.
    let cluster = dir.path().join("eks-cluster.json");
    let text = std::fs::read_to_string(&cluster).unwrap();
    std::fs::write(
        &cluster,
        text.replacen(
            r#""name": "shop-prod","#,
            r#""name": "shop-prod\nCRITICAL (9)","#,
            1,
        ),
    )
    .unwrap();

    let (code, text, stderr) = check(&[dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(text.contains("Cluster shop-prod\\nCRITICAL (9)"), "{text}");
    for line in text.lines() {
        assert!(
            !line.trim_start().starts_with("FAKE00") && line != "CRITICAL (9)",
            "forged line {line:?} in:\n{text}"
        );
        assert!(!line.contains('\x1b'), "escape sequence in {line:?}");
    }
    assert!(text.contains("notes\\nCRITICAL (9)\\n  FAKE001"), "{text}");
    assert!(text.contains("m\\n  FAKE002 forged\\u{1b}["), "{text}");
}

#[test]
fn names_in_fix_commands_are_shell_quoted() {
    let dir = temp_dir("hyg-quote");
    copy_demo(dir.path());
    let pods = dir.path().join("k8s-pods.json");
    let text = std::fs::read_to_string(&pods).unwrap();
    let crafted = text
        .replace(
            "\"namespace\": \"reporting\"",
            "\"namespace\": \"x$(id>&2)\"",
        )
        .replace("legacy-report-7c4d9-xq2lp", "legacy;touch pwned");
    assert_ne!(text, crafted);
    std::fs::write(&pods, crafted).unwrap();
    let (code, report, stderr) = check(&[dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let commands: Vec<&str> = report
        .lines()
        .filter(|l| l.starts_with("kubectl ") && l.contains("x$(id"))
        .collect();
    assert!(!commands.is_empty(), "{report}");
    for line in &commands {
        assert!(line.contains("-n 'x$(id>&2)'"), "unquoted: {line}");
    }
    assert!(
        report.contains("delete pod 'legacy;touch pwned'"),
        "{commands:?}"
    );
    assert!(!report.contains("pod legacy;touch"), "{report}");
}

#[test]
fn a_dangling_or_looping_link_is_one_skipped_input() {
    let dir = temp_dir("hyg-links");
    copy_demo(dir.path());
    std::os::unix::fs::symlink("no-such-file.json", dir.path().join("dangling.json")).unwrap();
    std::os::unix::fs::symlink("loop.json", dir.path().join("loop.json")).unwrap();
    let report = json_report(&[dir.path().to_str().unwrap()]);
    assert_eq!(report["cluster"]["name"], "shop-prod", "the rest loaded");
    let reasons = skipped(&report);
    let of = |name: &str| {
        reasons
            .iter()
            .find(|(p, _)| p.ends_with(name))
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| panic!("{name} not skipped: {reasons:?}"))
    };
    assert!(of("dangling.json").contains("dangling symbolic link"));
    assert!(of("loop.json").contains("symbolic link not followed"));
}

/// Text as Windows PowerShell 5's `>` writes it: UTF-16LE with a BOM.
fn utf16le(text: &str) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    bytes
}

#[test]
fn utf16_dumps_with_a_bom_are_read() {
    let dir = temp_dir("hyg-utf16");
    copy_demo(dir.path());
    let plain = json_report(&[dir.path().to_str().unwrap()]);
    for name in ["k8s-nodes.json", "k8s-daemonsets.json"] {
        let path = dir.path().join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, utf16le(&text)).unwrap();
    }
    // A big-endian UTF-32 copy of one more, and one that does not decode.
    std::fs::write(
        dir.path().join("broken.json"),
        [0xFF, 0xFE, 0x00, 0xD8, 0x41],
    )
    .unwrap();
    let decoded = json_report(&[dir.path().to_str().unwrap()]);
    assert_eq!(decoded["findings"], plain["findings"]);
    let reasons = skipped(&decoded);
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(reasons[0].0.ends_with("broken.json"));
    assert!(
        reasons[0].1.contains("iconv -f UTF-16LE -t UTF-8"),
        "{reasons:?}"
    );
}

#[test]
fn devices_are_refused_and_binary_streams_not_read_whole() {
    let started = Instant::now();
    let (code, stdout, stderr) = check(&["/dev/zero"]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.contains("/dev/zero: a device, not a dump"),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));

    let device_stdin = Process::cargo_bin("eks-cilium-doctor")
        .unwrap()
        .args(["check", "-"])
        .stdin(std::fs::File::open("/dev/zero").unwrap())
        .output()
        .unwrap();
    assert_eq!(device_stdin.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&device_stdin.stderr).contains("standard input is a device"));

    // Zeros through a pipe: the first 64 KiB tell, the rest is not read.
    let mut child = Process::cargo_bin("eks-cilium-doctor")
        .unwrap()
        .args(["check", "-", &format!("{}/version.json", examples("demo"))])
        .args(["--format", "json", "--fail-on", "none"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let chunk = vec![0u8; 1 << 20];
        let mut sent = 0usize;
        while sent < 512 << 20 {
            if stdin.write_all(&chunk).is_err() {
                break;
            }
            sent += chunk.len();
        }
        sent
    });
    let out = child.wait_with_output().unwrap();
    let sent = feeder.join().unwrap();
    assert!(
        sent < 64 << 20,
        "{} MiB were read from the pipe",
        sent >> 20
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let reasons = skipped(&report);
    assert!(reasons[0].1.contains("binary"), "{reasons:?}");
    assert!(reasons[0].1.contains("not read further"), "{reasons:?}");
}
