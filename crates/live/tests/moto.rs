//! The AWS collection against moto (the AWS emulator from PyPI, installed by
//! `scripts/test.sh`), through the real SDK: DescribeInstanceTypes for more
//! types than one request takes, with a name EC2 does not know among them,
//! and DescribeClusterVersions, which moto does not implement (a gap). A
//! missing moto fails the test under CI and skips it elsewhere.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use doctor_core::knowledge::Knowledge;
use doctor_core::snapshot::GapKind;
use doctor_live::aws::{self, AwsOptions, FromKubernetes};
use doctor_live::Quiet;

struct Moto(Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// moto on a free port with the test cluster of the CLI's live tests.
fn moto() -> Option<(Moto, String)> {
    let found = Command::new("python3")
        .args(["-c", "import moto.server, boto3"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "moto is missing: scripts/test.sh installs it"
        );
        eprintln!("SKIPPED: moto is not installed (bash scripts/test.sh installs it)");
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("python3")
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto");
    let moto = Moto(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto did not start on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let url = format!("http://127.0.0.1:{port}");
    let setup = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/tests/live/moto_setup.py");
    let out = Command::new("python3")
        .arg(setup)
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some((moto, url))
}

#[test]
fn instance_types_in_batches_and_the_calendar_gap_against_moto() {
    let Some((_moto, url)) = moto() else {
        return;
    };
    // The only test of this binary: the SDK reads its settings from the
    // environment, which is the test's alone.
    for (key, _) in std::env::vars() {
        if key.starts_with("AWS_") {
            std::env::remove_var(key);
        }
    }
    for (key, value) in [
        ("AWS_ENDPOINT_URL", url.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_CONFIG_FILE", "/nonexistent"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ] {
        std::env::set_var(key, value);
    }
    // A node group with a launch template whose AL2023 user data sets
    // maxPods next to things that must not reach the snapshot.
    let user_data = "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"//\"\n\n--//\nContent-Type: application/node.eks.aws\n\napiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  cluster:\n    certificateAuthority: c2VjcmV0LWNh\n  kubelet:\n    config:\n      maxPods: 18\n--//\nContent-Type: text/x-shellscript\n\n#!/bin/bash\nexport TOKEN=hunter2\n--//--\n";
    let script = format!(
        r#"
import base64, boto3, sys
kw = dict(endpoint_url=sys.argv[1], region_name="eu-west-1", aws_access_key_id="testing", aws_secret_access_key="testing")
ec2 = boto3.client("ec2", **kw); eks = boto3.client("eks", **kw)
lt = ec2.create_launch_template(LaunchTemplateName="ng-batch", LaunchTemplateData={{"UserData": base64.b64encode({user_data:?}.encode()).decode()}})["LaunchTemplate"]
ng = eks.describe_nodegroup(clusterName="shop-prod", nodegroupName="general")["nodegroup"]
eks.create_nodegroup(clusterName="shop-prod", nodegroupName="batch", nodeRole=ng["nodeRole"], subnets=ng["subnets"],
    instanceTypes=["m5.large"], launchTemplate={{"id": lt["LaunchTemplateId"], "version": "1"}},
    scalingConfig={{"minSize": 0, "maxSize": 2, "desiredSize": 0}})
"#
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &script, &url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // 250 real instance types (the embedded table's first), more than two
    // requests take, and one name no EC2 region has.
    let knowledge = Knowledge::embedded();
    let mut asked: Vec<String> = knowledge.instances.keys().take(250).cloned().collect();
    asked.push("bogus.nonexistent".into());
    let facts = FromKubernetes {
        instance_types: asked.iter().cloned().collect(),
        ..FromKubernetes::default()
    };
    let options = AwsOptions {
        cluster: "shop-prod".into(),
        profile: None,
        region: Some("eu-west-1".into()),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (part, _) = runtime
        .block_on(aws::collect(
            &options,
            &facts,
            &doctor_live::Timeouts::default(),
            Arc::new(Quiet),
        ))
        .expect("the collection completes");

    // moto lacks DescribeClusterVersions: a gap naming the call, no file.
    let calendar: Vec<_> = part
        .gaps
        .iter()
        .filter(|g| g.call == "eks:DescribeClusterVersions")
        .collect();
    assert_eq!(calendar.len(), 1, "{:?}", part.gaps);
    assert_eq!(calendar[0].kind, GapKind::Unsupported);
    assert_eq!(calendar[0].permission, "eks:DescribeClusterVersions");
    assert!(part
        .files
        .iter()
        .all(|(f, _)| f.file != "eks-cluster-versions.json"));
    // moto lacks ListInsights too: one gap, no insights file, and no
    // DescribeInsight call (there is no list to describe).
    let insights: Vec<_> = part
        .gaps
        .iter()
        .filter(|g| g.call == "eks:ListInsights")
        .collect();
    assert_eq!(insights.len(), 1, "{:?}", part.gaps);
    assert_eq!(insights[0].kind, GapKind::Unsupported);
    assert_eq!(insights[0].permission, "eks:ListInsights");
    assert!(part.gaps.iter().all(|g| g.call != "eks:DescribeInsight"));
    assert!(part
        .files
        .iter()
        .all(|(f, _)| !f.file.starts_with("eks-insight")));
    assert!(
        part.gaps
            .iter()
            .all(|g| g.call != "ec2:DescribeInstanceTypes"),
        "{:?}",
        part.gaps
    );

    // The launch template version, its user data reduced to maxPods.
    let (_, bytes) = part
        .files
        .iter()
        .find(|(f, _)| f.file == "ec2-launch-template-versions.json")
        .expect("the launch template versions file");
    let value: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    let lt = &value["LaunchTemplateVersions"][0];
    assert_eq!(lt["LaunchTemplateName"], "ng-batch", "{value}");
    assert_eq!(lt["VersionNumber"], 1);
    let reduced = lt["LaunchTemplateData"]["UserData"].as_str().unwrap();
    let u = doctor_core::userdata::from_base64(reduced).unwrap();
    assert_eq!(u.max_pods.map(|s| s.value), Some(18));
    let text = String::from_utf8(
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, reduced).unwrap(),
    )
    .unwrap();
    assert!(
        !text.contains("c2VjcmV0LWNh") && !text.contains("hunter2"),
        "{text}"
    );

    let (entry, bytes) = part
        .files
        .iter()
        .find(|(f, _)| f.file == "ec2-instance-types.json")
        .expect("the instance types file");
    let value: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    let types = value["InstanceTypes"].as_array().unwrap();
    assert_eq!(entry.items, types.len());
    let names: Vec<&str> = types
        .iter()
        .map(|t| t["InstanceType"].as_str().unwrap())
        .collect();
    // More than one request's worth came back, each asked for once, the
    // node groups' m5.large among them, the unknown name left out.
    assert!(names.len() > 200, "{}", names.len());
    let unique: std::collections::BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(unique.len(), names.len());
    assert!(unique.contains("m5.large"));
    assert!(!unique.contains("bogus.nonexistent"));
    for t in types {
        let name = t["InstanceType"].as_str().unwrap();
        assert!(
            name == "m5.large" || asked.iter().any(|a| a == name),
            "{name} was not asked for"
        );
        // moto's catalogue is EC2's: the ENI counts are the embedded table's.
        if let Some(known) = knowledge.instance(name) {
            assert_eq!(
                t["NetworkInfo"]["MaximumNetworkInterfaces"].as_u64(),
                Some(u64::from(known.enis_all_cards)),
                "{name}"
            );
        }
    }
}
