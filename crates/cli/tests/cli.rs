//! The real binary: capacity against the upstream table, the acceptance
//! cases, errors (exit 2, one line, never a panic), help and completions.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

mod common;
use common::{doctor, success, usage_error};

fn upstream_table() -> BTreeMap<String, u64> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/upstream/eni-max-pods.txt"
    );
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, pods) = l.split_once(' ').unwrap();
            (name.to_string(), pods.trim().parse().unwrap())
        })
        .collect()
}

#[test]
fn capacity_all_vpc_cni_json_equals_the_upstream_table() {
    let stdout = success(&["capacity", "--all", "--mode", "vpc-cni", "--format", "json"]);
    let results: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    let computed: BTreeMap<String, u64> = results
        .iter()
        .map(|r| {
            (
                r["instance_type"].as_str().unwrap().to_string(),
                r["max_pods"].as_u64().unwrap(),
            )
        })
        .collect();
    let table = upstream_table();
    assert_eq!(table.len(), 1391);
    assert_eq!(computed, table);
}

#[test]
fn t3_medium_in_cilium_eni_mode_over_schedules() {
    let args = [
        "capacity",
        "--instance-type",
        "t3.medium",
        "--mode",
        "cilium-eni",
        "--first-interface-index",
        "1",
    ];
    let text = success(&args);
    insta::assert_snapshot!("t3_medium_cilium_eni_first_interface_1", text);
    let json = success(&[&args[..], &["--format", "json"]].concat());
    let result: Value = serde_json::from_str(&json).unwrap();
    let r = &result[0];
    // (3 - 1) × (6 - 1) = 10 pool addresses; the agent keeps the router
    // (cilium_host) and health addresses (cilium/cilium#22054, ipam_reserved).
    assert_eq!(r["pool_ips"], 10);
    let reserved = r["reserved_ips"].as_array().unwrap();
    let total: u64 = reserved.iter().map(|x| x["count"].as_u64().unwrap()).sum();
    assert_eq!(total, 2);
    let purposes: Vec<&str> = reserved
        .iter()
        .map(|x| x["purpose"].as_str().unwrap())
        .collect();
    assert_eq!(purposes, ["router", "health"]);
    assert!(reserved
        .iter()
        .all(|x| !x["setting"].as_str().unwrap().is_empty()));
    assert_eq!(r["pod_ips"], 8);
    assert_eq!(r["max_pods"], 10);
    assert_eq!(r["eks_default_max_pods"], 17);
    assert_eq!(r["over_schedules"], true);
    assert_eq!(
        (r["enis"].as_u64(), r["enis_all_cards"].as_u64()),
        (Some(3), Some(3))
    );
    let note = r["notes"][0].as_str().unwrap();
    assert!(note.contains("default of 17 max pods"), "{note}");
    assert!(note.contains("admit 7 pods"), "{note}");
}

#[test]
fn capacity_reservations_follow_the_flags() {
    let args = [
        "capacity",
        "--instance-type",
        "t3.medium",
        "--mode",
        "cilium-eni",
        "--first-interface-index",
        "1",
        "--format",
        "json",
    ];
    let pod_ips = |extra: &[&str]| -> u64 {
        let json = success(&[&args[..], extra].concat());
        let v: Value = serde_json::from_str(&json).unwrap();
        v[0]["pod_ips"].as_u64().unwrap()
    };
    assert_eq!(pod_ips(&["--no-endpoint-health-checking"]), 9);
    assert_eq!(pod_ips(&["--envoy-config"]), 7);
    let err = usage_error(&["capacity", "--instance-type", "t3.medium", "--envoy-config"]);
    assert!(
        err.contains("--envoy-config applies to --mode cilium-eni only"),
        "{err}"
    );
}

#[test]
fn multi_card_types_show_both_eni_counts() {
    let json = success(&[
        "capacity",
        "--instance-type",
        "p5.48xlarge",
        "--mode",
        "cilium-eni",
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_str(&json).unwrap();
    // instance_enis_all_cards.csv: p5.48xlarge 2 on card 0, 64 over 32 cards.
    assert_eq!(
        (v[0]["enis"].as_u64(), v[0]["enis_all_cards"].as_u64()),
        (Some(2), Some(64))
    );
    let notes = v[0]["notes"].to_string();
    assert!(
        notes.contains("counts 64 ENIs") && notes.contains("card 0"),
        "{notes}"
    );
}

#[test]
fn capacity_text_for_one_and_several_types() {
    insta::assert_snapshot!(
        "m5_large_vpc_cni",
        success(&["capacity", "--instance-type", "m5.large"])
    );
    insta::assert_snapshot!(
        "several_types_prefix_delegation",
        success(&[
            "capacity",
            "--instance-type",
            "m5.large",
            "--instance-type",
            "m5.8xlarge",
            "--instance-type",
            "m4.large",
            "--prefix-delegation",
        ])
    );
    insta::assert_snapshot!(
        "t3_medium_overlay",
        success(&[
            "capacity",
            "--instance-type",
            "t3.medium",
            "--mode",
            "overlay"
        ])
    );
}

#[test]
fn unknown_instance_type_suggests_close_names() {
    assert_eq!(
        usage_error(&["capacity", "--instance-type", "m5.larg"]),
        "error: unknown instance type \"m5.larg\"; did you mean: m5.large, m5.xlarge, m5a.large\n"
    );
    let far = usage_error(&["capacity", "--instance-type", "qqqqqqqqqq"]);
    assert!(
        far.contains("`capacity --all` lists the known types"),
        "{far}"
    );
}

#[test]
fn flags_of_another_mode_are_refused() {
    let err = usage_error(&[
        "capacity",
        "--instance-type",
        "m5.large",
        "--first-interface-index",
        "1",
    ]);
    assert!(err.contains("--first-interface-index applies to --mode cilium-eni only"));
    let err = usage_error(&[
        "capacity",
        "--instance-type",
        "m5.large",
        "--mode",
        "cilium-eni",
        "--cilium-version",
        "1.9",
    ]);
    assert!(err.contains("unknown Cilium minor 1.9"), "{err}");
    // clap's own usage errors exit 2 too.
    let (code, _, _) = doctor(&["capacity", "--instance-type", "m5.large", "--mode", "eni"]);
    assert_eq!(code, 2);
}

#[test]
fn rules_lists_the_registry_and_explain_refuses_unknown_codes() {
    let text = success(&["rules"]);
    let json: Vec<Value> = serde_json::from_str(&success(&["rules", "--format", "json"])).unwrap();
    assert_eq!(json.len(), doctor_core::rules::all_metas().len());
    if json.is_empty() {
        assert_eq!(text, "No rules are registered.\n");
    }
    let err = usage_error(&["explain", "NOPE999"]);
    assert!(
        err.starts_with("error: unknown rule code \"NOPE999\""),
        "{err}"
    );
    assert!(err.contains("`eks-cilium-doctor rules` lists the codes"));
}

/// A scratch directory removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn with(files: &[(&str, &str)]) -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "eks-cilium-doctor-cli-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        Scratch(dir)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const HEADER: &str = "instance_type,enis,ipv4_per_eni,hypervisor,bare_metal,vcpus,enis_all_cards";

#[test]
fn knowledge_dir_overrides_the_embedded_files() {
    let csv = format!("{HEADER}\nx9.test,2,4,nitro,false,2,2\n");
    let dir = Scratch::with(&[("instances.csv", &csv)]);
    let json = success(&[
        "--knowledge",
        dir.path(),
        "capacity",
        "--instance-type",
        "x9.test",
        "--format",
        "json",
    ]);
    let result: Vec<Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(result[0]["max_pods"], 2 * (4 - 1) + 2);
}

#[test]
fn bad_knowledge_is_an_error_naming_the_file() {
    let err = usage_error(&["--knowledge", "/no/such/dir", "rules"]);
    assert_eq!(err, "error: /no/such/dir: no such directory\n");
    let csv = format!("{HEADER}\nb.large,2,4,nitro,false,2,2\na.large,2,4,nitro,false,2,2\n");
    let dir = Scratch::with(&[("instances.csv", &csv)]);
    let err = usage_error(&["--knowledge", dir.path(), "capacity", "--all"]);
    assert!(err.contains("instances.csv: line 3"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// The subcommand names listed under "Commands:" in the top-level help.
fn subcommands() -> Vec<String> {
    let help = success(&["--help"]);
    let commands = help.split("Commands:").nth(1).unwrap();
    commands
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        // Names sit two spaces in; wrapped descriptions further.
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[test]
fn help_works_for_every_command() {
    let commands = subcommands();
    for expected in ["capacity", "rules", "explain", "completions", "help"] {
        assert!(commands.iter().any(|c| c == expected), "{commands:?}");
    }
    for command in commands.iter().filter(|c| *c != "help") {
        let help = success(&[command, "--help"]);
        assert!(
            help.contains("Usage: eks-cilium-doctor"),
            "{command}: {help}"
        );
    }
}

#[test]
fn completions_bash_works() {
    let script = success(&["completions", "bash"]);
    assert!(
        script.contains("complete -F _eks__cilium__doctor"),
        "{script}"
    );
    assert!(script.contains("capacity"));
}

#[test]
fn version_and_help_take_their_facts_from_the_data() {
    let version = success(&["--version"]);
    assert!(version.contains("(knowledge of 20"), "{version}");
    assert!(version.contains("cilium_releases 20"), "{version}");
    // ec2:AssociateAddress/DescribeAddresses are called from 1.17 (eni_iam.json).
    let help = success(&["generate", "iam-policy", "--help"]);
    assert!(help.contains("spec.ipam.static-ip-tags (1.17+)"), "{help}");
}
