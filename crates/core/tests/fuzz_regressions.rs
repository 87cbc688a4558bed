//! Inputs found by the fuzzers (`scripts/fuzz.sh`), kept after the fix:
//! each must load to a result or a `LoadError`, never a panic. The fuzz
//! seeds in `fuzz/corpus/` run here too, so a seed that would crash a
//! loader is caught by the ordinary test suite.
//!
//! `fuzz_regressions/<target>-<what>.bin`: the target's name picks how the
//! bytes are fed (`suppression-*` to the suppression parser, every other
//! target to `load_bytes`).

use std::path::{Path, PathBuf};

use doctor_core::load::{load_bytes, load_files, LoadOptions};
use doctor_core::suppress::SuppressionConfig;

/// The limits of the fuzz targets (fuzz/fuzz_targets/common.rs).
fn options() -> LoadOptions {
    LoadOptions {
        max_file_bytes: 1 << 20,
        yaml_max_document_bytes: 1 << 20,
        yaml_max_alias_expansion: 10_000,
        archive_max_members: 200,
        archive_max_member_bytes: 1 << 20,
        archive_max_total_bytes: 4 << 20,
        ..LoadOptions::default()
    }
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn feed(target: &str, path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    if target == "suppression" {
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = SuppressionConfig::parse(text, Path::new(".eks-cilium-doctor.yaml"));
        }
    } else {
        let name = path.file_name().unwrap().to_string_lossy();
        let _ = load_bytes(&name, &bytes, &options());
    }
}

#[test]
fn fuzz_findings_and_seeds_never_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut fed = 0;
    for path in files(&root.join("tests/fuzz_regressions")) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let target = name.split('-').next().unwrap().to_string();
        feed(&target, &path);
        fed += 1;
    }
    let corpus = root.join("../../fuzz/corpus");
    for target_dir in files(&corpus)
        .iter()
        .filter_map(|p| p.parent())
        .collect::<std::collections::BTreeSet<_>>()
    {
        let target = target_dir
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        for path in files(target_dir) {
            feed(&target, &path);
            fed += 1;
        }
    }
    assert!(fed > 10, "fuzz seeds and regressions found: {fed}");
}

#[test]
fn load_bytes_recognises_content_and_applies_the_size_limit() {
    let node = br#"{"kind":"NodeList","items":[{"metadata":{"name":"a"}}]}"#;
    let loaded = load_bytes("nodes.json", node, &LoadOptions::default()).unwrap();
    assert_eq!(loaded.cluster.nodes.unwrap().len(), 1);
    let small = LoadOptions {
        max_file_bytes: 8,
        ..LoadOptions::default()
    };
    let loaded = load_bytes("nodes.json", node, &small).unwrap();
    assert!(loaded.cluster.nodes.is_none());
    assert!(loaded.skipped[0].reason.contains("over the 8 byte limit"));
    let err = load_bytes("bad.json", b"{\"kind\":", &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().starts_with("bad.json: line 1"), "{err}");
}

#[test]
fn load_files_applies_the_file_and_total_limits() {
    let node = br#"{"kind":"NodeList","items":[{"metadata":{"name":"a"}}]}"#;
    // Another node of the same size (an identical file would be read once).
    let other = br#"{"kind":"NodeList","items":[{"metadata":{"name":"b"}}]}"#;
    let files = [("nodes.json", &node[..]), ("more-nodes.json", &other[..])];
    let loaded = load_files("live", files, &LoadOptions::default()).unwrap();
    assert_eq!(loaded.cluster.nodes.unwrap().len(), 2);
    let one_file = LoadOptions {
        max_total_bytes: node.len() as u64 + 1,
        ..LoadOptions::default()
    };
    let loaded = load_files("live", files, &one_file).unwrap();
    assert_eq!(loaded.cluster.nodes.unwrap().len(), 1);
    assert_eq!(loaded.skipped[0].path, "live!more-nodes.json");
    assert!(loaded.skipped[0].reason.contains("total-input limit"));
    let small = LoadOptions {
        max_file_bytes: 8,
        ..LoadOptions::default()
    };
    let loaded = load_files("live", files, &small).unwrap();
    assert!(loaded.cluster.nodes.is_none());
    assert!(loaded.skipped[0].reason.contains("over the 8 byte limit"));
    let err = load_files(
        "live",
        [("bad.json", &b"{\"kind\":"[..])],
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string().starts_with("live!bad.json: line 1"),
        "{err}"
    );
}
