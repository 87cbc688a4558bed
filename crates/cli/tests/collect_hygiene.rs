//! The `collect` snapshot (issue 18, part 7): created 0600, and stripped
//! as `serve`'s stores are: no `managedFields`, no last-applied
//! annotation, no literal env values but those the rules read. Against
//! kmock (PyPI), with a Deployment posted into it.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::process::Command as Process;
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;
use serde_json::json;

mod common;
use common::{kmock, temp_dir};

#[test]
fn the_snapshot_is_private_and_stripped() {
    let dir = temp_dir("collect-hygiene");
    let Some((_kmock, api, kubeconfig)) = kmock(dir.path(), &[]) else {
        return;
    };
    let container = json!({
        "name": "app",
        "image": "example/app:1",
        "env": [
            {"name": "DB_PASSWORD", "value": "hunter2-literal"},
            {"name": "AWS_ROLE_ARN", "value": "arn:aws:iam::123456789012:role/kept"},
            {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}
        ]
    });
    let deployment = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "app",
            "namespace": "default",
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": "{\"secret\":\"hunter2-annotation\"}",
                "team": "payments"
            },
            "managedFields": [{"manager": "kubectl", "operation": "Apply", "fieldsV1": {"f:spec": {}}}]
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "app"}},
            "template": {
                "metadata": {"labels": {"app": "app"}},
                "spec": {"containers": [container], "initContainers": [container]}
            }
        }
    });
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let created = agent
        .post(&format!(
            "{api}/apis/apps/v1/namespaces/default/deployments"
        ))
        .header("Content-Type", "application/json")
        .send(deployment.to_string())
        .unwrap();
    assert!(created.status().is_success(), "{}", created.status());

    let snapshot = dir.path().join("snap.tar.gz");
    let out = Process::cargo_bin("eks-cilium-doctor")
        .unwrap()
        .args(["collect", "--skip-aws", "--kubeconfig"])
        .arg(&kubeconfig)
        .arg("-o")
        .arg(&snapshot)
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mode = std::fs::metadata(&snapshot).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "snapshot mode {mode:o}");

    let bytes = std::fs::read(&snapshot).unwrap();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
    let mut deployments = String::new();
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        let mut text = String::new();
        entry.read_to_string(&mut text).unwrap();
        for leaked in ["hunter2", "managedFields", "last-applied-configuration"] {
            assert!(
                !text.contains(leaked),
                "{leaked} in {}",
                entry.path().unwrap().display()
            );
        }
        if entry.path().unwrap().ends_with("k8s-deployments.json") {
            deployments = text;
        }
    }
    let list: serde_json::Value = serde_json::from_str(&deployments).unwrap();
    let app = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["metadata"]["name"] == "app")
        .expect("the posted Deployment");
    assert_eq!(app["metadata"]["annotations"]["team"], "payments");
    let env = &app["spec"]["template"]["spec"]["containers"][0]["env"];
    assert_eq!(
        env[0],
        json!({"name": "DB_PASSWORD"}),
        "name kept, value gone"
    );
    assert_eq!(env[1]["value"], "arn:aws:iam::123456789012:role/kept");
    assert_eq!(env[2]["valueFrom"]["secretKeyRef"]["name"], "s");
}
