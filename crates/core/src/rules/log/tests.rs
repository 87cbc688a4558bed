//! LOG rules and the log/Event evidence of IAM001, CFG005, CAP002 and
//! CAP006, on clusters loaded through the real loaders from text files.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::findings::Severity;
use crate::load::{load_paths, LoadOptions};
use crate::logs::Catalogue;
use crate::model::Cluster;
use crate::rules::testing::{check, fired, missing};
use crate::rules::{registry, Rule};

/// Load files (name, content) as one snapshot directory.
fn load_files(files: &[(&str, &str)]) -> Cluster {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "doctor-log-rules-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let loaded = load_paths(std::slice::from_ref(&dir), &LoadOptions::default());
    std::fs::remove_dir_all(&dir).unwrap();
    loaded.unwrap().cluster
}

fn rule(code: &str) -> &'static dyn Rule {
    *registry()
        .iter()
        .find(|r| r.meta().code == code)
        .unwrap_or_else(|| panic!("{code} registered"))
}

const OPERATOR_CRASH: &str = "\
2020-10-22T09:00:00.100000000Z level=info msg=\"Retrieving own metadata from EC2 metadata server...\" subsys=ipam-allocator-aws
2020-10-22T09:00:00.200000000Z level=info msg=\"Connected to EC2 service API\" subsys=ipam-allocator-aws
2020-10-22T09:00:01.300000000Z level=warning msg=\"Unable to synchronize EC2 interface list\" error=\"operation error EC2: DescribeNetworkInterfaces, https response error StatusCode: 403, RequestID: 1, api error UnauthorizedOperation: You are not authorized to perform this operation.\" subsys=eni
2020-10-22T09:00:01.400000000Z level=fatal msg=\"Unable to start eni allocator\" error=\"Initial synchronization with instances API failed\" subsys=cilium-operator-aws
";

const OPERATOR_LOG_NAME: &str =
    "logs-cilium-operator-5d8f6c7b9-x2x4p-cilium-operator-20201022-090500-prev.log";

#[test]
fn every_catalogue_signature_feeds_a_registered_rule() {
    for s in &Catalogue::embedded().signatures {
        assert!(
            registry().iter().any(|r| r.meta().code == s.rule),
            "{} feeds {}, which is not registered",
            s.id,
            s.rule
        );
    }
    // And each LOG rule has signatures to look for.
    for r in registry()
        .iter()
        .filter(|r| r.meta().code.starts_with("LOG"))
    {
        assert!(
            Catalogue::embedded()
                .for_rule(r.meta().code)
                .next()
                .is_some(),
            "{} has no signature",
            r.meta().code
        );
    }
}

#[test]
fn the_eni_allocator_crash_is_quoted_with_file_container_times_and_count() {
    let cluster = load_files(&[(OPERATOR_LOG_NAME, OPERATOR_CRASH)]);
    let logs = cluster.logs.as_deref().unwrap();
    assert_eq!(logs.len(), 1);
    assert!(logs[0].previous);
    let findings = fired(check(rule("LOG001"), &cluster));
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let f = &findings[0];
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(f.object.name, "cilium-operator-5d8f6c7b9-x2x4p");
    assert!(f.message.contains("LS005"), "{}", f.message);
    let evidence = f.evidence.join("\n");
    for part in [
        OPERATOR_LOG_NAME,
        "cilium-operator of pod cilium-operator-5d8f6c7b9-x2x4p (previous instance)",
        "1×",
        "at 2020-10-22T09:00:01.400000000Z",
        "line 4",
        "Unable to start eni allocator",
    ] {
        assert!(evidence.contains(part), "{part:?} not in {evidence}");
    }
    assert!(f
        .remediation
        .contains("https://github.com/cilium/cilium/issues/13701"));
}

#[test]
fn unauthorized_operation_in_the_operator_log_fires_iam001_naming_the_action() {
    // No IAM inputs at all: the log is decisive.
    let cluster = load_files(&[(OPERATOR_LOG_NAME, OPERATOR_CRASH)]);
    let findings = fired(check(rule("IAM001"), &cluster));
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].severity, Severity::Critical);
    assert!(
        findings[0]
            .message
            .contains("The failing call: ec2:DescribeNetworkInterfaces."),
        "{}",
        findings[0].message
    );
    // Without logs IAM001 still says what it lacks.
    let empty = load_files(&[("n.json", r#"{"kind":"NodeList","items":[]}"#)]);
    assert!(
        check(rule("IAM001"), &empty).is_err() || fired(check(rule("IAM001"), &empty)).is_empty()
    );
}

#[test]
fn the_generic_operator_in_eni_mode_fires_cfg005_from_its_log() {
    let log = "level=info msg=\"Cilium Operator 1.17.3\" subsys=cilium-operator-generic\n\
level=fatal msg=\"eni allocator is not supported by this version of cilium-operator-generic\" subsys=cilium-operator-generic\n";
    let cluster = load_files(&[("operator.log", log)]);
    assert_eq!(
        cluster.logs.as_deref().unwrap()[0].container,
        crate::logs::Container::Operator
    );
    let findings = fired(check(rule("CFG005"), &cluster));
    assert_eq!(findings.len(), 1);
    assert!(findings[0].evidence[0].contains("operator.log [cilium-operator]"));
}

#[test]
fn the_routine_pool_wait_at_agent_start_is_quiet_a_long_one_fires() {
    let wait = |t: &str| {
        format!("time=\"2021-09-01T10:{t}Z\" level=info msg=\"Waiting for IPs to become available in CRD-backed allocation pool\" available=0 required=2 subsys=ipam\n")
    };
    let routine = format!(
        "time=\"2021-09-01T10:00:00Z\" level=info msg=\"Started gops server\" subsys=daemon\n{}{}",
        wait("00:01"),
        wait("00:06")
    );
    let cluster = load_files(&[("cilium-agent.log", &routine)]);
    assert!(fired(check(rule("LOG003"), &cluster)).is_empty());
    let long = format!("{routine}{}", wait("05:06"));
    let cluster = load_files(&[("cilium-agent.log", &long)]);
    let findings = fired(check(rule("LOG003"), &cluster));
    assert_eq!(findings.len(), 1);
    assert!(
        findings[0].evidence[0].contains("first 2021-09-01T10:00:01Z, last 2021-09-01T10:05:06Z")
    );
}

const EVENTS: &str = r#"{"apiVersion":"v1","kind":"EventList","items":[
 {"metadata":{"name":"web.1","namespace":"shop"},"involvedObject":{"kind":"Pod","namespace":"shop","name":"web"},
  "reason":"FailedCreatePodSandBox","type":"Warning","count":14,
  "firstTimestamp":"2022-08-16T10:00:00Z","lastTimestamp":"2022-08-16T10:20:00Z",
  "message":"Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox \"abc\": plugin type=\"cilium-cni\" name=\"cilium\" failed (add): Unable to create endpoint: Cilium API client timeout exceeded"},
 {"metadata":{"name":"cilium-x.1","namespace":"kube-system"},"involvedObject":{"kind":"Pod","namespace":"kube-system","name":"cilium-x"},
  "reason":"Unhealthy","type":"Warning","count":3,
  "message":"Startup probe failed: Get \"http://127.0.0.1:9879/healthz\": dial tcp 127.0.0.1:9879: connect: connection refused"}
]}"#;

#[test]
fn event_signatures_fire_their_rules_with_thresholds() {
    let cluster = load_files(&[("events.json", EVENTS)]);
    let findings = fired(check(rule("LOG005"), &cluster));
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].object.to_string(), "Pod shop/web");
    assert!(findings[0].evidence[0]
        .contains("14×, first 2022-08-16T10:00:00Z, last 2022-08-16T10:20:00Z"));
    // Three startup probe failures are the routine start.
    assert!(fired(check(rule("LOG006"), &cluster)).is_empty());
    let many = EVENTS.replace("\"count\":3", "\"count\":40");
    let cluster = load_files(&[("events.json", &many)]);
    assert_eq!(fired(check(rule("LOG006"), &cluster)).len(), 1);
    // Log-only rules need logs.
    assert!(missing(check(rule("LOG001"), &cluster)).contains("no Cilium agent/operator logs"));
}

#[test]
fn agent_log_ip_exhaustion_feeds_cap002() {
    let log =
        "level=warning msg=\"Unable to allocate IP\" error=\"No more IPs available\" subsys=ipam\n";
    let cluster = load_files(&[(
        "logs-cilium-abcde-cilium-agent-20221110-185842.log",
        &format!("level=info msg=\"Started gops server\" subsys=daemon\n{log}"),
    )]);
    let findings = fired(check(rule("CAP002"), &cluster));
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].object.name, "cilium-abcde");
}

#[test]
fn a_healthy_operator_log_gives_no_finding_at_medium_or_above() {
    // A real healthy operator log (cilium-operator-generic 1.12, from a
    // public sysdump) plus routine ENI lines.
    let real = include_str!(
        "../../../../../corpus/quiet/healthy-logs/input/logs-cilium-operator-76c6d95785-jzz9l-cilium-operator-20221110-185842.log"
    );
    let routine =
        "level=info msg=\"No more IPs available, creating new ENI\" instanceID=i-1 subsys=ipam\n";
    let cluster = load_files(&[("op.log", &format!("{real}{routine}"))]);
    for r in registry() {
        if let Ok(findings) = check(*r, &cluster) {
            for f in findings {
                assert!(f.severity < Severity::Medium, "{}: {f:#?}", r.meta().code);
            }
        }
    }
}

#[test]
fn times_and_ec2_actions_are_read_from_the_lines() {
    use super::common::{ec2_action, epoch_seconds};
    assert_eq!(epoch_seconds("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(
        epoch_seconds("2025-03-31T13:58:30.074755498Z").unwrap()
            - epoch_seconds("2025-03-30T13:58:29Z").unwrap(),
        86_401
    );
    assert_eq!(epoch_seconds("yesterday"), None);
    assert_eq!(
        ec2_action("operation error EC2: DescribeInstances, https response error StatusCode: 403")
            .as_deref(),
        Some("ec2:DescribeInstances")
    );
    assert_eq!(
        ec2_action("is not authorized to perform: ec2:CreateNetworkInterface on resource")
            .as_deref(),
        Some("ec2:CreateNetworkInterface")
    );
    assert_eq!(
        ec2_action("UnauthorizedOperation: You are not authorized"),
        None
    );
}

#[test]
fn a_json_format_operator_log_is_read_and_feeds_log010() {
    // logOptions.format=json, as in the report of LS025 (cilium#16124).
    let log = "{\"level\":\"info\",\"msg\":\"Starting ENI allocator...\",\"subsys\":\"cilium-operator-aws\"}\n\
{\"error\":\"operation error EC2: AssignPrivateIpAddresses, https response error StatusCode: 400, RequestID: f6257018, api error PrivateIpAddressLimitExceeded: Number of private addresses will exceed limit.\",\"instanceID\":\"i-04d6bf44302171424\",\"level\":\"warning\",\"msg\":\"Unable to assign additional IPs to interface, will create new interface\",\"subsys\":\"eni\"}\n";
    let cluster = load_files(&[("operator.json.log", log)]);
    let file = &cluster.logs.as_deref().unwrap()[0];
    assert_eq!(file.container, crate::logs::Container::Operator);
    assert_eq!(file.formats, vec![(crate::logs::LineFormat::Json, 2)]);
    let findings = fired(check(rule("LOG010"), &cluster));
    assert_eq!(findings.len(), 1);
    assert!(findings[0]
        .message
        .contains("The failing call: ec2:AssignPrivateIpAddresses."));
}
