//! Issue 15's acceptance sweep: `check` on every file of the real-world
//! corpus alone and on each of its directories gives no
//! finding at medium or above except those in [`ALLOWED`], each a trap the
//! file's real content does hold. (Files of different clusters are not
//! loaded all together: one model of several clusters' objects is no input
//! anyone has, and mixes one cluster's nodes with another's version.) The corpus is the copy in
//! `tests/realworld/` (provenance in its README) and, when the workspace
//! sits beside the shared ground truth, `../shared/data/realworld` itself
//! (its `iac/` files too: `check` refuses infrastructure code it does not
//! read, and what it reads it must not raise alarms on). Every allowed
//! finding must still fire, so the list cannot rot.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use doctor_core::engine::Engine;
use doctor_core::findings::Severity;
use doctor_core::knowledge::Knowledge;
use doctor_core::load::{load_paths, LoadOptions};
use doctor_core::rules::CheckOptions;

/// (input relative to its corpus root, rule code, why the real content
/// holds this trap). An input is a file or a directory.
const ALLOWED: &[(&str, &str, &str)] = &[
    // daithang59/NT531 EKS benchmark: `cilium status` captured while the
    // health checks reached 1 of 3 nodes (and 0 of 3 in the pilot run).
    (
        "cilium/daithang59__NT531_EKS-Cilium-Kubeproxy-Benchmark__cilium_status_eks134_eni_kpr.txt",
        "OPS006",
        "Cluster health: 1/3 reachable, two nodes listed unreachable",
    ),
    (
        "cilium/daithang59__NT531_EKS-Cilium-Kubeproxy-Benchmark__cilium_status_eks134_pilot_0of3.txt",
        "OPS006",
        "Cluster health: 0/3 reachable",
    ),
    // g00ntar's sysdump of a broken Cilium 1.12.3 on k3s v1.25.3: the agent
    // is not ready, agent and operator crash-loop, 1.12 neither tests 1.25
    // nor gets patches any more.
    (
        "cilium/g00ntar__Cilium_sysdump_20221110__REPACKED_sysdump.zip",
        "OPS004",
        "the DaemonSet has 0 of 1 agents ready",
    ),
    (
        "cilium/g00ntar__Cilium_sysdump_20221110__REPACKED_sysdump.zip",
        "OPS003",
        "agent and operator pods restart repeatedly (CrashLoopBackOff)",
    ),
    (
        "cilium/g00ntar__Cilium_sysdump_20221110__REPACKED_sysdump.zip",
        "VER001",
        "Cilium 1.12.3 on Kubernetes 1.25 (1.12 tests up to 1.24)",
    ),
    (
        "cilium/g00ntar__Cilium_sysdump_20221110__REPACKED_sysdump.zip",
        "VER004",
        "Cilium 1.12 is out of support",
    ),
    (
        "cilium/g00ntar__Cilium_sysdump_20221110__sysdump_cilium-daemonset.yaml",
        "OPS004",
        "the same sysdump's DaemonSet: 0 of 1 ready",
    ),
    (
        "cilium/g00ntar__Cilium_sysdump_20221110__sysdump_cilium-daemonset.yaml",
        "VER004",
        "the same sysdump's DaemonSet runs Cilium 1.12.3",
    ),
    (
        "cilium/g00ntar__Cilium_sysdump_20221110__sysdump_k8s-pods.yaml",
        "OPS003",
        "the same sysdump's pods: agent and operator crash-loop",
    ),
    (
        "cilium/g00ntar__Cilium_sysdump_20221110__sysdump_k8s-pods.yaml",
        "VER004",
        "the same sysdump's agent pod runs Cilium 1.12.3",
    ),
    // The cilium/ directory holds the files above.
    ("cilium", "OPS003", "the g00ntar sysdump"),
    ("cilium", "OPS004", "the g00ntar sysdump"),
    ("cilium", "OPS006", "the daithang59 cilium status files"),
    ("cilium", "VER001", "the g00ntar sysdump"),
    ("cilium", "VER004", "the g00ntar sysdump"),
];

/// Corpus directories `check` reads (`iac/` holds infrastructure code,
/// `preflight`'s input: checked where present, see the module doc).
const DIRS: &[&str] = &["aws", "cilium", "kubernetes", "metrics", "iac"];

fn roots() -> Vec<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut roots = vec![manifest.join("tests/realworld")];
    let shared = manifest.join("../../../shared/data/realworld");
    if shared.is_dir() {
        roots.push(shared);
    }
    roots
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else if path.file_name().is_some_and(|n| n != "README.md") {
            out.push(path);
        }
    }
}

/// The codes at medium or above that `check` reports on these inputs
/// (none when the load fails: a refused input raises no alarm).
fn alarms(inputs: &[PathBuf]) -> BTreeSet<String> {
    let Ok(loaded) = load_paths(inputs, &LoadOptions::default()) else {
        return BTreeSet::new();
    };
    let options = CheckOptions {
        as_of: "2026-12-01".parse().unwrap(),
        ..CheckOptions::default()
    };
    let engine = Engine {
        knowledge: Knowledge::embedded(),
        options: &options,
        suppressions: &Default::default(),
    };
    engine
        .check(&loaded, false)
        .report
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Medium)
        .map(|f| f.rule.code.to_string())
        .collect()
}

#[test]
fn check_raises_no_alarm_on_the_real_world_corpus_beyond_its_real_traps() {
    let allowed: BTreeSet<(String, String)> = ALLOWED
        .iter()
        .map(|(input, code, _)| (input.to_string(), code.to_string()))
        .collect();
    for root in roots() {
        let mut inputs: Vec<(String, Vec<PathBuf>)> = Vec::new();
        let mut files = Vec::new();
        files_under(&root, &mut files);
        files.sort();
        assert!(
            files.len() > 100,
            "{}: {} files",
            root.display(),
            files.len()
        );
        for file in &files {
            let name = file.strip_prefix(&root).unwrap().display().to_string();
            inputs.push((name, vec![file.clone()]));
        }
        // Each directory as given. kubernetes/ and metrics/ hold files
        // malformed on purpose, so `check` refuses them whole (exit 2), as it
        // must; their files are each checked alone above. Their readable
        // files are not loaded together: they come from many clusters, and
        // one model of them pairs one cluster's nodes with another's
        // control-plane version (sonobuoy's 1.8 against kind's 1.21
        // kubelets), which no real input does.
        for dir in DIRS {
            if root.join(dir).is_dir() {
                inputs.push((dir.to_string(), vec![root.join(dir)]));
            }
        }

        let mut seen = BTreeSet::new();
        let mut unexpected = Vec::new();
        for (name, paths) in &inputs {
            for code in alarms(paths) {
                let key = (name.clone(), code.clone());
                if allowed.contains(&key) {
                    seen.insert(key);
                } else {
                    unexpected.push(format!("{name}: {code}"));
                }
            }
        }
        assert!(
            unexpected.is_empty(),
            "{}: findings at medium or above that are not real traps of the file:\n{}",
            root.display(),
            unexpected.join("\n")
        );
        let stale: Vec<String> = allowed
            .difference(&seen)
            .filter(|(input, _)| {
                // A directory the corpus copy lacks (iac/) cannot fire.
                inputs.iter().any(|(name, _)| name == input)
            })
            .map(|(input, code)| format!("{input}: {code}"))
            .collect();
        assert!(
            stale.is_empty(),
            "{}: allowed findings that no longer fire (drop them from ALLOWED):\n{}",
            root.display(),
            stale.join("\n")
        );
    }
}
