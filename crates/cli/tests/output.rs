//! `--output` against what it may be pointed at (issue 18, part 1): the
//! null device and other character devices, `/dev/stdout`, `-`, FIFOs,
//! symbolic links, an existing file's mode, and a signal between creating
//! the temporary file and renaming it. Run as root (containers, CI), the
//! old rename-over-everything writer turned each device into a file.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;

mod common;
use common::{doctor, examples, temp_dir};

fn check_to(target: &Path) -> (i32, String, String) {
    doctor(&[
        "check",
        &examples("demo"),
        "--fail-on",
        "none",
        "--format",
        "json",
        "-o",
        target.to_str().unwrap(),
    ])
}

fn is_root() -> bool {
    Process::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n")
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_character_device_is_written_through_not_replaced() {
    // A null device of our own (mknod needs root): what /dev/null is.
    let dir = temp_dir("out-dev");
    let null = dir.path().join("null");
    let made = Process::new("mknod")
        .arg(&null)
        .args(["c", "1", "3"])
        .status()
        .is_ok_and(|s| s.success());
    if !made {
        assert!(!is_root(), "mknod failed as root");
        eprintln!("SKIPPED: mknod needs root");
        return;
    }
    let (code, stdout, stderr) = check_to(&null);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.is_empty());
    let kind = std::fs::symlink_metadata(&null).unwrap().file_type();
    assert!(kind.is_char_device(), "the device became {kind:?}");
    assert_eq!(entries(dir.path()), ["null"], "no temporary file left");
    // And the real one.
    let (code, _, stderr) = check_to(Path::new("/dev/null"));
    assert_eq!(code, 0, "{stderr}");
    assert!(std::fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
}

#[test]
fn stdout_by_any_name_gets_the_report() {
    let dir = temp_dir("out-stdout");
    // A link to this process's stdout (what /dev/stdout is), in a scratch
    // directory so the old writer could not damage the real one.
    let link = dir.path().join("out");
    std::os::unix::fs::symlink("/proc/self/fd/1", &link).unwrap();
    for target in [link.as_path(), Path::new("/dev/stdout"), Path::new("-")] {
        let (code, stdout, stderr) = check_to(target);
        assert_eq!(code, 0, "{target:?}: {stderr}");
        let report: serde_json::Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{target:?}: stdout is no report ({e}): {stdout:?}"));
        assert_eq!(report["schema_version"], 1);
    }
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(!Path::new("-").exists(), "no file named `-`");
    assert_eq!(entries(dir.path()), ["out"]);
}

#[test]
fn a_fifo_is_written_through() {
    let dir = temp_dir("out-fifo");
    let fifo = dir.path().join("fifo");
    assert!(Process::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let mut reader = common::Service(
        Process::new("cat")
            .arg(&fifo)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (code, _, stderr) = check_to(&fifo);
    assert_eq!(code, 0, "{stderr}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while reader.0.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "nothing was written to the FIFO");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut got = String::new();
    std::io::Read::read_to_string(&mut reader.0.stdout.take().unwrap(), &mut got).unwrap();
    assert!(got.contains("\"schema_version\": 1"), "{got:?}");
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
}

#[test]
fn a_symlinked_target_is_followed_and_a_file_keeps_its_mode() {
    let dir = temp_dir("out-link");
    let real = dir.path().join("report.json");
    std::fs::write(&real, "old").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
    let link = dir.path().join("latest.json");
    std::os::unix::fs::symlink("report.json", &link).unwrap();
    let (code, _, stderr) = check_to(&link);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link stays a link"
    );
    assert!(std::fs::read_to_string(&real)
        .unwrap()
        .contains("\"schema_version\""));
    let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the file kept its mode");
    assert_eq!(entries(dir.path()), ["latest.json", "report.json"]);
}

#[test]
fn unsafe_targets_are_refused_with_the_reason() {
    let dir = temp_dir("out-refuse");
    let (code, _, stderr) = check_to(dir.path());
    assert_eq!(code, 2);
    assert!(stderr.contains("is a directory"), "{stderr}");
    let file = dir.path().join("a.json");
    std::fs::write(&file, "keep").unwrap();
    std::fs::hard_link(&file, dir.path().join("b.json")).unwrap();
    let (code, _, stderr) = check_to(&file);
    assert_eq!(code, 2);
    assert!(stderr.contains("2 hard links"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep");
}

#[test]
fn a_signal_before_the_rename_leaves_no_temporary_file() {
    for signal in ["INT", "TERM"] {
        let dir = temp_dir("out-signal");
        let target = dir.path().join("report.html");
        let mut child = Process::cargo_bin("eks-cilium-doctor")
            .unwrap()
            .args(["check", &examples("demo"), "--format", "html", "-o"])
            .arg(&target)
            .env("EKS_CILIUM_DOCTOR_TEST_HOLD_OUTPUT_MS", "20000")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !entries(dir.path()).iter().any(|n| n.ends_with(".tmp")) {
            assert!(Instant::now() < deadline, "no temporary file was made");
            std::thread::sleep(Duration::from_millis(20));
        }
        let pid = child.id().to_string();
        assert!(Process::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap()
            .success());
        let status = child.wait().unwrap();
        assert!(!status.success());
        assert_eq!(
            entries(dir.path()),
            Vec::<String>::new(),
            "SIG{signal} left files behind"
        );
    }
}
