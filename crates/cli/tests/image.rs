//! The container image of deploy/image/Dockerfile, built with Debian's
//! buildah without pulling anything: its final stage (`FROM scratch`) on a
//! rootfs that deploy/image/rootfs.sh makes of this build's binary (the
//! Dockerfile's build stage runs the same script on the release binary).
//! Then its config (user, entrypoint, environment) and a run as UID 65532.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

mod common;
use common::{available, examples, here};

const AS_OF: &str = "2026-11-26";

/// buildah with its own storage under `dir` (vfs: no overlay mounts).
fn buildah(dir: &Path) -> Command {
    let mut c = Command::new("buildah");
    c.arg("--root")
        .arg(dir.join("storage"))
        .arg("--runroot")
        .arg(dir.join("run"))
        .args(["--storage-driver", "vfs"]);
    c
}

fn ok(out: &Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what}: {}\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The Dockerfile's final stage, copying the rootfs from the build
/// context instead of the build stage.
fn final_stage() -> String {
    let dockerfile = std::fs::read_to_string(here("../../deploy/image/Dockerfile")).unwrap();
    let start = dockerfile
        .rfind("\nFROM scratch\n")
        .expect("a FROM scratch final stage")
        + 1;
    let stage = &dockerfile[start..];
    let from_build = "COPY --from=build /rootfs/ /\n";
    assert_eq!(stage.matches(from_build).count(), 1, "{stage}");
    stage.replace(from_build, "COPY rootfs/ /\n")
}

#[test]
fn the_image_builds_from_scratch_runs_as_65532_and_checks_the_demo() {
    if !available("buildah", &["--version"]) {
        return;
    }
    let dir = tempfile::Builder::new()
        .prefix("doctor-image-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let binary = assert_cmd::cargo::cargo_bin("eks-cilium-doctor");
    let rootfs = dir.path().join("context/rootfs");
    ok(
        &Command::new("sh")
            .arg(here("../../deploy/image/rootfs.sh"))
            .arg(&binary)
            .arg(&rootfs)
            .output()
            .unwrap(),
        "rootfs.sh",
    );
    for file in [
        "usr/local/bin/eks-cilium-doctor",
        "etc/ssl/certs/ca-certificates.crt",
        "etc/passwd",
    ] {
        assert!(
            rootfs.join(file).is_file(),
            "{file} missing from the rootfs"
        );
    }
    let containerfile = dir.path().join("context/Containerfile");
    std::fs::write(&containerfile, final_stage()).unwrap();
    let tag = "localhost/eks-cilium-doctor:test";
    ok(
        &buildah(dir.path())
            .args([
                "bud",
                "--pull=never",
                "--isolation",
                "chroot",
                "-t",
                tag,
                "-f",
            ])
            .arg(&containerfile)
            .arg(dir.path().join("context"))
            .output()
            .unwrap(),
        "buildah bud",
    );

    // The image's config.
    let inspect: Value = serde_json::from_str(&ok(
        &buildah(dir.path())
            .args(["inspect", "--type", "image", tag])
            .output()
            .unwrap(),
        "buildah inspect",
    ))
    .unwrap();
    let config = &inspect["OCIv1"]["config"];
    assert_eq!(config["User"], "65532:65532");
    assert_eq!(
        config["Entrypoint"],
        serde_json::json!(["/usr/local/bin/eks-cilium-doctor"])
    );
    assert_eq!(config["Cmd"], serde_json::json!(["serve"]));
    let env: Vec<&str> = config["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(env.contains(&"HOME=/tmp"), "{env:?}");
    assert!(
        env.contains(&"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"),
        "{env:?}"
    );
    assert!(config["ExposedPorts"].get("8080/tcp").is_some());
    // One layer: the rootfs, nothing else.
    assert_eq!(
        inspect["OCIv1"]["rootfs"]["diff_ids"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // A container of it: `check` on the demo, mounted read-only, as the
    // image's user; the report is that of the binary outside.
    let container = ok(
        &buildah(dir.path()).args(["from", tag]).output().unwrap(),
        "buildah from",
    );
    let container = container.trim();
    let demo = format!("{}:/demo:ro", examples("demo"));
    let run = |args: &[&str]| {
        buildah(dir.path())
            .args(["run", "--isolation", "chroot", "-v", &demo, container, "--"])
            .arg("/usr/local/bin/eks-cilium-doctor")
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let inside = run(&["check", "/demo", "--as-of", AS_OF, "--format", "json"]);
    assert_eq!(
        inside.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&inside.stderr)
    );
    let outside = Command::new(&binary)
        .args([
            "check",
            &examples("demo"),
            "--as-of",
            AS_OF,
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let mut inside: Value = serde_json::from_slice(&inside.stdout).unwrap();
    let mut outside: Value = serde_json::from_slice(&outside.stdout).unwrap();
    // Only the paths of skipped or noted inputs may differ (/demo).
    for report in [&mut inside, &mut outside] {
        report["skipped_inputs"] = Value::Null;
        report["input_notes"] = Value::Null;
    }
    assert_eq!(inside, outside);
    // UID 65532 cannot write the image's root, only /tmp.
    let denied = run(&[
        "check",
        "/demo",
        "--as-of",
        AS_OF,
        "--output",
        "/report.json",
    ]);
    assert_eq!(denied.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&denied.stderr);
    assert!(stderr.contains("Permission denied"), "{stderr}");
    let written = run(&[
        "check",
        "/demo",
        "--as-of",
        AS_OF,
        "--output",
        "/tmp/report.json",
    ]);
    assert_eq!(
        written.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&written.stderr)
    );
    ok(
        &buildah(dir.path())
            .args(["rm", container])
            .output()
            .unwrap(),
        "buildah rm",
    );
    ok(
        &buildah(dir.path())
            .args(["rmi", "--all", "--force"])
            .output()
            .unwrap(),
        "buildah rmi",
    );
}

#[test]
fn the_chart_runs_the_image_as_its_user() {
    let values = std::fs::read_to_string(here("../../deploy/chart/values.yaml")).unwrap();
    assert!(
        values.contains("repository: eks-cilium-doctor\n"),
        "{values}"
    );
    assert!(
        values.contains("deploy/image/Dockerfile"),
        "values.yaml names the Dockerfile"
    );
    let deployment =
        std::fs::read_to_string(here("../../deploy/chart/templates/deployment.yaml")).unwrap();
    assert!(deployment.contains("runAsUser: 65532"));
    assert!(deployment.contains("readOnlyRootFilesystem: true"));
    assert!(final_stage().contains("USER 65532:65532\n"));
}
