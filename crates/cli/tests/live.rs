//! `collect` and `check --live` against real services on 127.0.0.1:
//! moto (the AWS emulator, through the real AWS SDK with AWS_ENDPOINT_URL)
//! and kmock (a Kubernetes API emulator, through kube-rs with a
//! kubeconfig), both from PyPI and installed by `scripts/test.sh`. A missing
//! service fails the test under CI and is reported as skipped elsewhere.

use std::io::Read;
use std::path::Path;
use std::process::Command as Process;

use assert_cmd::cargo::CommandCargoExt;
use assert_cmd::Command;
use serde_json::Value;

mod common;
use common::{isolate_aws, kmock, moto, temp_dir};

const CLUSTER: &str = "shop-prod";
const REGION: &str = "eu-west-1";

/// The binary with only the test's AWS/Kubernetes settings in effect.
fn doctor(aws_endpoint: Option<&str>) -> Command {
    let mut cmd = Process::cargo_bin("eks-cilium-doctor").unwrap();
    isolate_aws(&mut cmd, aws_endpoint);
    cmd.env("NO_COLOR", "1");
    Command::from_std(cmd)
}

/// Exit code 0, else fail with what the binary said.
fn assert_success(out: &std::process::Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Members of a snapshot: name → bytes.
fn members(archive: &Path) -> Vec<(String, Vec<u8>)> {
    let bytes = std::fs::read(archive).unwrap();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
    tar.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = e.path().unwrap().display().to_string();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            (name, data)
        })
        .collect()
}

fn member(members: &[(String, Vec<u8>)], name: &str) -> Value {
    let (_, bytes) = members.iter().find(|(n, _)| n == name).unwrap_or_else(|| {
        panic!(
            "{name} not in {:?}",
            members.iter().map(|m| &m.0).collect::<Vec<_>>()
        )
    });
    serde_json::from_slice(bytes).unwrap()
}

/// `check ARGS --format json`: the report (see [`report_with`]).
fn report(mut cmd: Command, args: &[&str]) -> Value {
    cmd.arg("check").args(args);
    report_with(cmd)
}

fn rules(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["rule"].as_str().unwrap(),
                f["object"]["name"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn aws_collection_against_moto() {
    let Some((_moto, endpoint)) = moto() else {
        return;
    };
    let dir = temp_dir("live-aws");
    let snapshot = dir.path().join("snap.tar.gz");
    let out = doctor(Some(&endpoint))
        .args([
            "collect",
            "--skip-kubernetes",
            "--cluster",
            CLUSTER,
            "--region",
            REGION,
            "-o",
        ])
        .arg(&snapshot)
        .output()
        .unwrap();
    assert_success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for call in [
        "eks:DescribeClusterVersions",
        "eks:ListAddons",
        "eks:ListInsights",
    ] {
        assert!(
            stderr.contains(&format!(
                "not collected: {call} (not supported by the endpoint)"
            )),
            "{stderr}"
        );
    }

    let files = members(&snapshot);
    let manifest = member(&files, "manifest.json");
    assert_eq!(manifest["eksCiliumDoctorSnapshot"], 1);
    assert_eq!(manifest["aws"]["account"], "123456789012");
    assert_eq!(manifest["aws"]["region"], REGION);
    assert_eq!(manifest["aws"]["endpoint"], endpoint.as_str());
    assert!(manifest["kubernetes"].is_null());
    // moto implements neither DescribeClusterVersions, EKS add-ons nor
    // cluster insights: three gaps, and the rest goes on.
    let gaps: Vec<(&str, &str)> = manifest["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["call"].as_str().unwrap(), g["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        gaps,
        [
            ("eks:DescribeClusterVersions", "unsupported"),
            ("eks:ListAddons", "unsupported"),
            ("eks:ListInsights", "unsupported")
        ]
    );
    assert!(files.iter().all(|(n, _)| n != "eks-cluster-versions.json"));
    assert!(files.iter().all(|(n, _)| !n.starts_with("eks-insight")));

    let cluster = member(&files, "eks-cluster.json");
    assert_eq!(cluster["cluster"]["name"], CLUSTER);
    assert_eq!(cluster["cluster"]["version"], "1.31");
    assert!(
        cluster["cluster"]["upgradePolicy"].is_null(),
        "moto has no upgradePolicy"
    );
    let nodegroup = member(&files, "eks-nodegroup-general.json");
    assert_eq!(
        nodegroup["nodegroup"]["instanceTypes"],
        serde_json::json!(["m5.large"])
    );
    assert_eq!(nodegroup["nodegroup"]["scalingConfig"]["desiredSize"], 3);
    assert_eq!(
        member(&files, "ec2-subnets.json")["Subnets"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        member(&files, "ec2-vpcs.json")["Vpcs"][0]["CidrBlock"],
        "10.0.0.0/16"
    );
    let types = member(&files, "ec2-instance-types.json");
    assert_eq!(types["InstanceTypes"][0]["InstanceType"], "m5.large");
    assert_eq!(
        types["InstanceTypes"][0]["NetworkInfo"]["MaximumNetworkInterfaces"],
        3
    );
    let enis = member(&files, "ec2-network-interfaces.json");
    assert!(enis["NetworkInterfaces"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["Description"] == "Cilium-CNI (i-0deadbeef00000001)"
            && e["Status"] == "available"
            && e["TagSet"].to_string().contains("io.cilium/cilium-managed")));
    let instances = member(&files, "ec2-instances.json");
    assert_eq!(
        instances["Reservations"][0]["Instances"][0]["State"]["Name"],
        "running"
    );
    let tables = member(&files, "ec2-route-tables.json");
    assert!(!tables["RouteTables"].as_array().unwrap().is_empty());
    let groups = member(&files, "ec2-security-groups.json");
    assert!(groups["SecurityGroups"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["GroupName"] == "shop-prod-cluster"));
    let role = member(&files, "iam-role-shop-prod-node.json");
    assert_eq!(
        role["Role"]["Arn"],
        "arn:aws:iam::123456789012:role/shop-prod-node"
    );
    let attached = member(&files, "iam-role-shop-prod-node-attached.json");
    assert_eq!(attached["RoleName"], "shop-prod-node");
    assert_eq!(attached["AttachedPolicies"].as_array().unwrap().len(), 3);
    let inline = member(&files, "iam-role-shop-prod-node-inline-ssm-read.json");
    assert_eq!(inline["PolicyName"], "ssm-read");
    let cni = member(&files, "iam-policy-AmazonEKS_CNI_Policy.json");
    assert_eq!(
        cni["PolicyArn"],
        "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"
    );
    assert!(cni["PolicyVersion"]["Document"]
        .to_string()
        .contains("ec2:AssignPrivateIpAddresses"));
    assert_eq!(
        member(&files, "iam-oidc-providers.json")["OpenIDConnectProviderList"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Every file is listed in the manifest, and nothing else is in the archive.
    let listed: Vec<&str> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    let archived: Vec<&str> = files.iter().skip(1).map(|(n, _)| n.as_str()).collect();
    assert_eq!(listed, archived);

    // check reads the snapshot back: the gap is reported, the add-on rule
    // is not evaluated, and `check --live` on the same endpoint agrees.
    let from_archive = report(doctor(None), &[snapshot.to_str().unwrap()]);
    assert_eq!(from_archive["cluster"]["name"], CLUSTER);
    assert_eq!(from_archive["cluster"]["kubernetes_version"], "1.31");
    let permissions: Vec<&str> = from_archive["collection_gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["permission"].as_str().unwrap())
        .collect();
    assert_eq!(
        permissions,
        [
            "eks:DescribeClusterVersions",
            "eks:ListAddons",
            "eks:ListInsights"
        ]
    );
    // Without DescribeClusterVersions the embedded calendar decides, and
    // VER003 says so (1.31's extended support ends on the --as-of day).
    let ver003 = finding(&from_archive, "VER003");
    assert!(
        evidence(ver003).iter().any(|e| e.starts_with(
            "EKS support dates for 1.31 from the embedded calendar (data/eks.json, knowledge of "
        )),
        "{ver003}"
    );
    let not_evaluated: Vec<&str> = from_archive["not_evaluated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["rule"].as_str().unwrap())
        .collect();
    assert!(not_evaluated.contains(&"CNI002"), "{not_evaluated:?}");
    // Without ListInsights VER013 is not evaluated, naming the grant.
    let ver013 = from_archive["not_evaluated"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["rule"] == "VER013")
        .expect("VER013 not evaluated");
    assert!(ver013.to_string().contains("eks:ListInsights"), "{ver013}");
    let live = report(
        doctor(Some(&endpoint)),
        &[
            "--live",
            "--skip-kubernetes",
            "--cluster",
            CLUSTER,
            "--region",
            REGION,
        ],
    );
    assert_eq!(rules(&live), rules(&from_archive));
    assert_eq!(live, from_archive);

    // A describe-cluster-versions dump of the user's own, beside the
    // snapshot: its dates win. EKS here keeps 1.31 two more months.
    let versions = dir.path().join("cluster-versions.json");
    std::fs::write(&versions, DESCRIBE_CLUSTER_VERSIONS).unwrap();
    let with_live = report(
        doctor(None),
        &[snapshot.to_str().unwrap(), versions.to_str().unwrap()],
    );
    let ver003 = finding(&with_live, "VER003");
    assert!(
        ver003["message"]
            .as_str()
            .unwrap()
            .contains("EKS extended support for Kubernetes 1.31 ends on 2027-01-26, in 61 days"),
        "{ver003}"
    );
    assert!(
        evidence(ver003).contains(&"EKS support dates for 1.31 from EKS DescribeClusterVersions in the snapshot: released 2024-09-26, end of standard support 2025-11-26, end of extended support 2027-01-26"),
        "{ver003}"
    );
}

/// `aws eks describe-cluster-versions --include-all --output json` as the
/// AWS CLI v2 prints it in a zone west of UTC (dates are UTC midnights).
const DESCRIBE_CLUSTER_VERSIONS: &str = r#"{
    "clusterVersions": [
        {
            "clusterVersion": "1.32",
            "clusterType": "eks",
            "defaultPlatformVersion": "eks.12",
            "defaultVersion": true,
            "releaseDate": "2025-01-22T16:00:00-08:00",
            "endOfStandardSupportDate": "2026-03-22T17:00:00-07:00",
            "endOfExtendedSupportDate": "2027-03-22T17:00:00-07:00",
            "status": "EXTENDED_SUPPORT",
            "versionStatus": "EXTENDED_SUPPORT",
            "kubernetesPatchVersion": "1.32.9"
        },
        {
            "clusterVersion": "1.31",
            "clusterType": "eks",
            "defaultPlatformVersion": "eks.40",
            "defaultVersion": false,
            "releaseDate": "2024-09-25T17:00:00-07:00",
            "endOfStandardSupportDate": "2025-11-25T16:00:00-08:00",
            "endOfExtendedSupportDate": "2027-01-25T16:00:00-08:00",
            "status": "EXTENDED_SUPPORT",
            "versionStatus": "EXTENDED_SUPPORT",
            "kubernetesPatchVersion": "1.31.13"
        }
    ]
}
"#;

/// The first finding of `rule` in a JSON report.
fn finding<'a>(report: &'a Value, rule: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == rule)
        .unwrap_or_else(|| panic!("no {rule} in {:?}", rules(report)))
}

fn evidence(finding: &Value) -> Vec<&str> {
    finding["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect()
}

#[test]
fn a_dead_aws_endpoint_fails_cleanly_and_writes_nothing() {
    let Some((moto, endpoint)) = moto() else {
        return;
    };
    drop(moto);
    let dir = temp_dir("live-dead");
    let out = doctor(Some(&endpoint))
        .args([
            "collect",
            "--skip-kubernetes",
            "--cluster",
            CLUSTER,
            "--region",
            REGION,
            "-o",
        ])
        .arg(dir.path().join("snap.tar.gz"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Retries are told (issue 18), then one error line.
    let lines: Vec<&str> = stderr.lines().collect();
    let (last, retries) = lines.split_last().unwrap();
    assert!(
        last.starts_with("error: AWS eks:DescribeCluster: "),
        "{stderr}"
    );
    assert!(
        retries
            .iter()
            .all(|l| l.starts_with("aws: eks:DescribeCluster: ") && l.contains("; retry ")),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing half-written"
    );
}

#[test]
fn kubernetes_collection_against_kmock() {
    let dir = temp_dir("live-kube");
    let Some((_kmock, _, kubeconfig)) = kmock(dir.path(), &["--deny", "apps/v1/statefulsets"])
    else {
        return;
    };
    let snapshot = dir.path().join("snap.tar.gz");
    let out = doctor(None)
        .args(["collect", "--skip-aws", "--kubeconfig"])
        .arg(&kubeconfig)
        .arg("-o")
        .arg(&snapshot)
        .output()
        .unwrap();
    assert_success(&out);
    let files = members(&snapshot);
    let manifest = member(&files, "manifest.json");
    assert_eq!(manifest["kubernetes"]["context"], "kmock");
    let gaps = manifest["gaps"].as_array().unwrap();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0]["call"], "list statefulsets");
    assert_eq!(gaps[0]["kind"], "denied");
    assert_eq!(gaps[0]["permission"], "list statefulsets.apps");
    let absent: Vec<&str> = manifest["absent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    // Karpenter is not installed in the demo cluster: absent, not an error.
    assert_eq!(
        absent,
        [
            "NodePool (karpenter.sh/v1): not installed",
            "EC2NodeClass (karpenter.k8s.aws/v1): not installed"
        ]
    );
    assert_eq!(
        member(&files, "version.json")["serverVersion"]["gitVersion"],
        "v1.32.9-eks-113cf36"
    );
    // 30 pods served 7 at a time: every page was followed.
    let pods = member(&files, "k8s-pods.json");
    assert_eq!(pods["kind"], "PodList");
    assert_eq!(pods["items"].as_array().unwrap().len(), 30);
    let config_maps = member(&files, "k8s-configmaps.json");
    assert_eq!(config_maps["items"][0]["metadata"]["name"], "cilium-config");
    let replica_sets = member(&files, "k8s-replicasets.json");
    assert_eq!(replica_sets["kind"], "ReplicaSetList");
    assert_eq!(replica_sets["items"].as_array().unwrap().len(), 0);
    assert!(files.iter().all(|(n, _)| !n.contains("secret")));

    let from_archive = report(doctor(None), &[snapshot.to_str().unwrap()]);
    assert_eq!(
        from_archive["collection_gaps"][0]["call"],
        "list statefulsets"
    );
    let fired = rules(&from_archive);
    assert!(fired.iter().any(|r| r.starts_with("CNI001 ")), "{fired:?}");
    let kube = kubeconfig.to_str().unwrap();
    let live = report(
        doctor(None),
        &["--live", "--skip-aws", "--kubeconfig", kube],
    );
    assert_eq!(live, from_archive);
    // Without a path, `check` reads the kubeconfig context's cluster live.
    let mut implicit = doctor(None);
    implicit.env("KUBECONFIG", &kubeconfig);
    assert_eq!(report(implicit, &["--skip-aws"]), from_archive);
}

/// Acceptance: both sources at once; `collect` then `check` gives the same
/// report as `check --live`, and the operator's IRSA role (named only in
/// Kubernetes) is read from IAM.
#[test]
fn collect_then_check_equals_check_live() {
    let dir = temp_dir("live-both");
    let Some((_moto, endpoint)) = moto() else {
        return;
    };
    let Some((_kmock, _, kubeconfig)) = kmock(dir.path(), &[]) else {
        return;
    };
    let kube = kubeconfig.to_str().unwrap();
    let snapshot = dir.path().join("snap.tar.gz");
    let source = [
        "--cluster",
        CLUSTER,
        "--region",
        REGION,
        "--kubeconfig",
        kube,
    ];
    let out = doctor(Some(&endpoint))
        .arg("collect")
        .args(source)
        .arg("--output")
        .arg(&snapshot)
        .output()
        .unwrap();
    assert_success(&out);
    let files = members(&snapshot);
    let operator = member(&files, "iam-role-shop-prod-cilium-operator.json");
    assert!(operator["Role"]["AssumeRolePolicyDocument"]
        .as_str()
        .is_some());
    let types = member(&files, "ec2-instance-types.json");
    let names: Vec<&str> = types["InstanceTypes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["InstanceType"].as_str().unwrap())
        .collect();
    for expected in ["m5.large", "m5.xlarge", "t3.medium"] {
        assert!(names.contains(&expected), "{names:?}");
    }

    let from_archive = report(doctor(None), &[snapshot.to_str().unwrap()]);
    let mut live_cmd = doctor(Some(&endpoint));
    live_cmd.arg("check").arg("--live").args(source);
    let live = report_with(live_cmd);
    assert_eq!(rules(&live), rules(&from_archive));
    assert_eq!(live, from_archive);
    let fired = rules(&from_archive);
    assert!(
        fired
            .iter()
            .any(|r| r == "IAM003 shop-prod-cilium-operator"),
        "{fired:?}"
    );
}

/// The JSON report of a `check` command, with the field that names the
/// inputs (skipped-input paths) left out so archive and live runs compare.
fn report_with(mut cmd: Command) -> Value {
    let out = cmd
        .args([
            "--format",
            "json",
            "--fail-on",
            "none",
            "--as-of",
            "2026-11-26",
        ])
        .output()
        .unwrap();
    assert_success(&out);
    let mut report: Value = serde_json::from_slice(&out.stdout).unwrap();
    report.as_object_mut().unwrap().remove("skipped_inputs");
    report
}

const OPERATOR: &str = "kube-system/cilium-operator-7d9f15c6b8-hmqtx/cilium-operator";

/// Issue 14: log tails read live. kmock serves `pods/NAME/log` (through a
/// reaction in kmock_server.py: its emulator alone would answer the pod
/// object) with the kubelet's `tailLines`/`limitBytes`/`previous`
/// semantics; the operator's previous instance logged the real LOG001
/// fixture (cilium#33597's "Unable to start eni allocator"), its current
/// one the quiet fixture. `collect` stores the tails under sysdump names,
/// and LOG001 fires from them through `check`, as from `check --live`.
#[test]
fn log_tails_feed_the_log_rules() {
    let dir = temp_dir("live-logs");
    let fires = format!(
        "{OPERATOR}/previous={}",
        common::core_fixture(
            "LOG001/fires/logs-cilium-operator-7b9c5d6f8-m2vxp-cilium-operator-20260101-100000.log"
        )
    );
    let quiet = format!(
        "{OPERATOR}={}",
        common::core_fixture(
            "LOG001/quiet/logs-cilium-operator-76c6d95785-jzz9l-cilium-operator-20221110-185842.log"
        )
    );
    let Some((_kmock, _, kubeconfig)) = kmock(dir.path(), &["--log", &fires, "--log", &quiet])
    else {
        return;
    };
    let kube = kubeconfig.to_str().unwrap();
    let snapshot = dir.path().join("snap.tar.gz");
    let out = doctor(None)
        .args(["collect", "--skip-aws", "--kubeconfig", kube, "-o"])
        .arg(&snapshot)
        .output()
        .unwrap();
    assert_success(&out);
    let files = members(&snapshot);
    let logs: Vec<&(String, Vec<u8>)> = files.iter().filter(|(n, _)| n.ends_with(".log")).collect();
    let names: Vec<&str> = logs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(logs.len(), 2, "the operator's two instances: {names:?}");
    let previous = logs
        .iter()
        .find(|(n, _)| {
            n.starts_with("logs-cilium-operator-7d9f15c6b8-hmqtx-cilium-operator-")
                && n.ends_with("-prev.log")
        })
        .unwrap_or_else(|| panic!("{names:?}"));
    assert!(String::from_utf8_lossy(&previous.1).contains("Unable to start eni allocator"));
    let manifest = member(&files, "manifest.json");
    assert!(
        manifest["files"].as_array().unwrap().iter().any(|f| f["call"]
            == "get pods/log (kube-system/cilium-operator-7d9f15c6b8-hmqtx, cilium-operator, previous)"
            && f["items"] == 3),
        "{}",
        manifest["files"]
    );
    // Agents that never restarted: no previous instance asked, no gap.
    assert_eq!(manifest["gaps"], serde_json::json!([]));

    let from_archive = report(doctor(None), &[snapshot.to_str().unwrap()]);
    let fired = rules(&from_archive);
    assert!(
        fired.iter().any(|r| r.starts_with("LOG001 ")),
        "LOG001 from the collected tail: {fired:?}"
    );
    let live = report(
        doctor(None),
        &["--live", "--skip-aws", "--kubeconfig", kube],
    );
    assert_eq!(rules(&live), fired, "check --live reads the same tails");

    // The last line alone (the fatal one) is still LOG001; none at all is not.
    let one = report(
        doctor(None),
        &[
            "--live",
            "--skip-aws",
            "--kubeconfig",
            kube,
            "--log-lines",
            "1",
        ],
    );
    assert!(rules(&one).iter().any(|r| r.starts_with("LOG001 ")));
    let off = report(
        doctor(None),
        &[
            "--live",
            "--skip-aws",
            "--kubeconfig",
            kube,
            "--log-lines",
            "0",
        ],
    );
    assert!(
        !rules(&off).iter().any(|r| r.starts_with("LOG")),
        "{:?}",
        rules(&off)
    );
}

/// A 403 on pods/log is a "not collected" entry naming the permission,
/// and the run goes on; a tail over the 4 MiB cap is cut there, whole
/// lines kept, and said so.
#[test]
fn denied_and_oversized_log_tails_are_gaps_not_failures() {
    let dir = temp_dir("live-logs-denied");
    let Some((_kmock, _, kubeconfig)) = kmock(dir.path(), &["--deny-logs"]) else {
        return;
    };
    let kube = kubeconfig.to_str().unwrap();
    let denied = report(
        doctor(None),
        &["--live", "--skip-aws", "--kubeconfig", kube],
    );
    let gaps = denied["collection_gaps"].as_array().unwrap();
    // Four agent pods (the demo lists cilium-rvz58 twice: one tail) and two operators.
    assert_eq!(gaps.len(), 6, "{gaps:?}");
    for gap in gaps {
        assert_eq!(gap["kind"], "denied");
        assert_eq!(gap["permission"], "get pods/log");
        assert!(
            gap["call"]
                .as_str()
                .unwrap()
                .starts_with("get pods/log (kube-system/cilium-"),
            "{gap}"
        );
    }
    assert!(rules(&denied).iter().any(|r| r.starts_with("CNI001 ")));

    // 5 MiB of agent log lines.
    let big = dir.path().join("big.log");
    let line = "level=info msg=\"Policy imported via API\" subsys=daemon\n";
    std::fs::write(&big, line.repeat(5 * 1024 * 1024 / line.len() + 1)).unwrap();
    let agent = format!("kube-system/cilium-269cf/cilium-agent={}", big.display());
    let dir2 = temp_dir("live-logs-big");
    let Some((_kmock2, _, kubeconfig2)) = kmock(dir2.path(), &["--log", &agent]) else {
        return;
    };
    let snapshot = dir2.path().join("snap.tar.gz");
    let out = doctor(None)
        .args([
            "collect",
            "--skip-aws",
            "--log-lines",
            "1000000",
            "--kubeconfig",
        ])
        .arg(&kubeconfig2)
        .arg("-o")
        .arg(&snapshot)
        .output()
        .unwrap();
    assert_success(&out);
    let files = members(&snapshot);
    let (_, tail) = files
        .iter()
        .find(|(n, _)| n.starts_with("logs-cilium-269cf-cilium-agent-"))
        .expect("the agent's tail");
    assert!(tail.len() <= 4 * 1024 * 1024 && tail.len() > 4 * 1024 * 1024 - line.len());
    assert!(tail.ends_with(b"\n") && tail.starts_with(line.as_bytes()));
    let gaps = member(&files, "manifest.json")["gaps"].clone();
    assert_eq!(gaps.as_array().unwrap().len(), 1, "{gaps}");
    assert_eq!(gaps[0]["kind"], "truncated");
    assert_eq!(
        gaps[0]["call"],
        "get pods/log (kube-system/cilium-269cf, cilium-agent)"
    );
}
