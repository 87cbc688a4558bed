//! The kubectl plugin: the binary installed as `kubectl-cilium_doctor`
//! answers as `kubectl cilium-doctor` (usage, help, errors) and otherwise
//! exactly as itself; the krew manifest holds krew's schema.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

mod common;
use common::{available, examples, here};

const AS_OF: &str = "2026-11-26";

/// The built binary, linked (or copied) into a scratch directory as the
/// plugin file name kubectl looks up: (the directory, the plugin's path).
fn installed_plugin() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix("doctor-plugin-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let plugin = dir.path().join("kubectl-cilium_doctor");
    let binary = assert_cmd::cargo::cargo_bin("eks-cilium-doctor");
    if std::fs::hard_link(&binary, &plugin).is_err() {
        std::fs::copy(&binary, &plugin).unwrap();
    }
    (dir, plugin)
}

/// (exit code, stdout, stderr) of `program args`, without colour or the
/// caller's kubeconfig.
fn run(program: &Path, args: &[&str], path_env: Option<&Path>) -> (i32, String, String) {
    let mut command = Command::new(program);
    command
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("KUBECONFIG");
    if let Some(dir) = path_env {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![dir.to_path_buf()];
        dirs.extend(std::env::split_paths(&path));
        command.env("PATH", std::env::join_paths(dirs).unwrap());
    }
    let out = command.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn doctor_binary() -> PathBuf {
    assert_cmd::cargo::cargo_bin("eks-cilium-doctor")
}

#[test]
fn as_kubectl_cilium_doctor_the_findings_are_those_of_a_normal_run() {
    let (_dir, plugin) = installed_plugin();
    let demo = examples("demo");
    for format in ["json", "text", "sarif"] {
        let args = ["check", &demo, "--as-of", AS_OF, "--format", format];
        let normal = run(&doctor_binary(), &args, None);
        let as_plugin = run(&plugin, &args, None);
        assert_eq!(normal.0, 1, "{format}: {}", normal.2);
        assert_eq!(as_plugin, normal, "{format}");
    }
    let args = ["check", &demo, "--as-of", AS_OF, "--format", "json"];
    let report: Value = serde_json::from_str(&run(&plugin, &args, None).1).unwrap();
    assert_eq!(report["findings"].as_array().unwrap().len(), 14);
    // The version names the binary, as a normal run does.
    assert_eq!(
        run(&plugin, &["--version"], None),
        run(&doctor_binary(), &["--version"], None)
    );
}

#[test]
fn usage_help_and_errors_name_kubectl_cilium_doctor() {
    let (_dir, plugin) = installed_plugin();
    for args in [
        &["--help"][..],
        &["check", "--help"],
        &["generate", "iam-policy", "--help"],
        &["help", "plan"],
    ] {
        let (code, help, _) = run(&plugin, args, None);
        assert_eq!(code, 0, "{args:?}");
        assert!(
            help.contains("Usage: kubectl cilium-doctor"),
            "{args:?}: {help}"
        );
        // Nothing else differs from the binary's own help.
        let (_, normal, _) = run(&doctor_binary(), args, None);
        assert!(normal.contains("Usage: eks-cilium-doctor"), "{normal}");
        assert_eq!(
            help,
            normal.replace("Usage: eks-cilium-doctor", "Usage: kubectl cilium-doctor"),
            "{args:?}"
        );
    }
    let (_, help, _) = run(&plugin, &["--help"], None);
    assert!(help.contains("Usage: kubectl cilium-doctor [OPTIONS] <COMMAND>"));
    assert!(!help.contains("kubectl-cilium_doctor"), "{help}");

    // clap's usage errors and the doctor's own messages.
    let (code, stdout, stderr) = run(&plugin, &["check", "--bogus"], None);
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert!(
        stderr.starts_with("error: unexpected argument '--bogus'"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Usage: kubectl cilium-doctor check [OPTIONS] [PATH]..."),
        "{stderr}"
    );
    let (code, _, stderr) = run(&plugin, &["explain", "NOPE999"], None);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        "error: unknown rule code \"NOPE999\" (`kubectl cilium-doctor rules` lists the codes)\n"
    );
    let (_, _, normal) = run(&doctor_binary(), &["explain", "NOPE999"], None);
    assert!(
        normal.contains("(`eks-cilium-doctor rules` lists"),
        "{normal}"
    );
}

#[test]
fn kubectl_runs_the_plugin_from_path() {
    if !available("kubectl", &["version", "--client"]) {
        return;
    }
    let (dir, _plugin) = installed_plugin();
    let kubectl = PathBuf::from("kubectl");
    let (_, list, _) = run(&kubectl, &["plugin", "list"], Some(dir.path()));
    assert!(
        list.contains(
            &dir.path()
                .join("kubectl-cilium_doctor")
                .display()
                .to_string()
        ),
        "{list}"
    );
    let demo = examples("demo");
    let args = ["check", &demo, "--as-of", AS_OF, "--format", "json"];
    let normal = run(&doctor_binary(), &args, None);
    let mut through_kubectl = vec!["cilium-doctor"];
    through_kubectl.extend(args);
    let (code, stdout, stderr) = run(&kubectl, &through_kubectl, Some(dir.path()));
    assert_eq!((code, stdout), (normal.0, normal.1), "{stderr}");
    let (code, _, stderr) = run(
        &kubectl,
        &["cilium-doctor", "check", "--bogus"],
        Some(dir.path()),
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("Usage: kubectl cilium-doctor check"),
        "{stderr}"
    );
}

/// The placeholder a release replaces with `sha256sum ARCHIVE`.
fn placeholder(archive: &str) -> String {
    format!("RELEASE-PLACEHOLDER-sha256-of-{archive}")
}

fn keys(value: &Value) -> BTreeSet<&str> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("not a mapping: {value}"))
        .keys()
        .map(String::as_str)
        .collect()
}

fn assert_keys_within(value: &Value, allowed: &[&str], what: &str) {
    let unknown: Vec<&str> = keys(value)
        .into_iter()
        .filter(|k| !allowed.contains(k))
        .collect();
    assert!(
        unknown.is_empty(),
        "{what}: fields krew does not define: {unknown:?}"
    );
}

/// krew's `Plugin` (sigs.k8s.io/krew pkg/index/types.go) and the checks of
/// its `ValidatePlugin` (pkg/index/validation/validate.go), except that a
/// sha256 may be the release placeholder; then what this project promises.
#[test]
fn the_krew_manifest_holds_krews_schema() {
    let path = here("../../deploy/krew/cilium-doctor.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let manifest: Value = serde_saphyr::from_str(&text).unwrap();

    // types.go: Plugin{TypeMeta, ObjectMeta, Spec}.
    assert_keys_within(
        &manifest,
        &["apiVersion", "kind", "metadata", "spec"],
        "Plugin",
    );
    assert_eq!(
        manifest["apiVersion"],
        "krew.googlecontainertools.github.com/v1alpha2"
    );
    assert_eq!(manifest["kind"], "Plugin");
    // The manifest file is named after the plugin; the name is safe.
    let name = manifest["metadata"]["name"].as_str().unwrap();
    assert_eq!(name, path.file_stem().unwrap().to_str().unwrap());
    assert!(name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
    // kubectl runs `kubectl-<name with _ for ->` for `kubectl <name>`.
    assert_eq!(
        format!("kubectl-{}", name.replace('-', "_")),
        "kubectl-cilium_doctor"
    );

    let spec = &manifest["spec"];
    assert_keys_within(
        spec,
        &[
            "version",
            "shortDescription",
            "description",
            "caveats",
            "homepage",
            "platforms",
        ],
        "PluginSpec",
    );
    for field in [
        "version",
        "shortDescription",
        "description",
        "caveats",
        "homepage",
    ] {
        let value = spec[field].as_str().unwrap_or_default();
        assert!(!value.trim().is_empty(), "spec.{field} is empty");
    }
    // krew's semver.Parse wants the v prefix; the version is this crate's.
    let version = spec["version"].as_str().unwrap();
    assert_eq!(version, format!("v{}", env!("CARGO_PKG_VERSION")));
    let homepage = spec["homepage"].as_str().unwrap();
    let chart = std::fs::read_to_string(here("../../deploy/chart/Chart.yaml")).unwrap();
    assert!(
        chart.contains(&format!("home: {homepage}\n")),
        "homepage is the chart's home"
    );

    let platforms = spec["platforms"].as_array().unwrap();
    let mut seen = BTreeSet::new();
    for platform in platforms {
        assert_keys_within(
            platform,
            &["uri", "sha256", "selector", "files", "license", "bin"],
            "Platform",
        );
        let selector = &platform["selector"];
        assert_keys_within(selector, &["matchLabels", "matchExpressions"], "selector");
        let labels = &selector["matchLabels"];
        assert_eq!(
            keys(labels),
            BTreeSet::from(["arch", "os"]),
            "selector keys"
        );
        let os = labels["os"].as_str().unwrap();
        let arch = labels["arch"].as_str().unwrap();
        assert!(
            seen.insert((os.to_string(), arch.to_string())),
            "{os}/{arch} twice"
        );

        let archive = format!("eks-cilium-doctor-{version}-{os}-{arch}.tar.gz");
        let uri = platform["uri"].as_str().unwrap();
        assert_eq!(
            uri,
            format!("{homepage}/releases/download/{version}/{archive}")
        );
        let sha256 = platform["sha256"].as_str().unwrap();
        let is_digest = sha256.len() == 64
            && sha256
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
        assert!(
            is_digest || sha256 == placeholder(&archive),
            "{os}/{arch}: sha256 {sha256:?} is neither a digest nor the release placeholder"
        );

        let files = platform["files"].as_array().unwrap();
        assert!(!files.is_empty(), "{os}/{arch}: no file operations");
        for file in files {
            assert_keys_within(file, &["from", "to"], "FileOperation");
        }
        // The binary is copied to the install root and linked from there.
        let bin = platform["bin"].as_str().unwrap();
        assert_eq!(bin, "eks-cilium-doctor");
        assert!(
            files.iter().any(|f| f["from"] == bin && f["to"] == "."),
            "{os}/{arch}: bin is not installed"
        );
    }
    let want: BTreeSet<(String, String)> = [
        ("darwin", "amd64"),
        ("darwin", "arm64"),
        ("linux", "amd64"),
        ("linux", "arm64"),
    ]
    .into_iter()
    .map(|(o, a)| (o.to_string(), a.to_string()))
    .collect();
    assert_eq!(seen, want);
    // The header says what the placeholders are, so nobody submits them.
    assert!(
        text.contains("RELEASE-PLACEHOLDER"),
        "the header explains the placeholders"
    );
}
