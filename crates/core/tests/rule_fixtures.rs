//! Every registered rule has fixtures under `tests/fixtures/<CODE>/`:
//! `fires/` must produce at least one finding of that rule (snapshotted with
//! insta), `quiet/` must evaluate and produce none. A fixture directory holds
//! real kubectl / AWS CLI / Helm / metrics files, loaded by the real loaders.
//! An optional `_options.json` sets check options (`as_of`, `target_kubernetes`,
//! `target_cilium`, `helm_values` file names, `preflight`: the directory is
//! infrastructure code, read as `preflight` reads it). An optional `_ref`
//! names shared inputs instead of copies: one path a line, relative to
//! `tests/fixtures` (`iac/cilium-eni`), read with the directory's own files.

use std::path::{Path, PathBuf};

use doctor_core::knowledge::Knowledge;
use doctor_core::load::{load_paths, LoadOptions};
use doctor_core::rules::{registry, CheckOptions, Context, Outcome, Rule};

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FixtureOptions {
    as_of: Option<String>,
    target_kubernetes: Option<String>,
    target_cilium: Option<String>,
    #[serde(default)]
    helm_values: Vec<String>,
    #[serde(default)]
    preflight: bool,
}

fn fixture_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn run_fixture(rule: &dyn Rule, dir: &Path) -> Outcome {
    let options_path = dir.join("_options.json");
    let fixture_options: FixtureOptions = match std::fs::read_to_string(&options_path) {
        Ok(text) => serde_json::from_str(&text).expect("valid _options.json"),
        Err(_) => FixtureOptions::default(),
    };
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            !name.starts_with('_') && !fixture_options.helm_values.iter().any(|h| *h == name)
        })
        .collect();
    // `_ref`: shared inputs, one path a line relative to the fixtures
    // directory (a real file or directory several fixtures use).
    if let Ok(text) = std::fs::read_to_string(dir.join("_ref")) {
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let shared = fixture_root().join(line);
            assert!(
                shared.exists(),
                "{}: _ref names {line}, which does not exist",
                dir.display()
            );
            inputs.push(shared);
        }
    }
    inputs.sort();
    let load_options = LoadOptions {
        helm_values: fixture_options
            .helm_values
            .iter()
            .map(|h| dir.join(h))
            .collect(),
        ..LoadOptions::default()
    };
    let loaded = if fixture_options.preflight {
        let options = doctor_core::iac::IacOptions {
            helm_values: load_options.helm_values.clone(),
            ..Default::default()
        };
        doctor_core::iac::load(&inputs, &options)
    } else {
        load_paths(&inputs, &load_options)
    }
    .unwrap_or_else(|e| panic!("{}: fixture does not load: {e}", dir.display()));
    let options = CheckOptions {
        as_of: fixture_options
            .as_of
            .as_deref()
            .unwrap_or("2026-11-26")
            .parse()
            .unwrap(),
        target_kubernetes: fixture_options
            .target_kubernetes
            .map(|v| v.parse().unwrap()),
        target_cilium: fixture_options.target_cilium.map(|v| v.parse().unwrap()),
        ..CheckOptions::default()
    };
    let cx = Context::new(&loaded.cluster, Knowledge::embedded(), &options);
    // IAC findings carry their file: relative to the fixtures, so the
    // snapshots hold no machine's path.
    rule.check(&cx).map(|mut findings| {
        let root = fixture_root();
        for at in findings.iter_mut().filter_map(|f| f.location.as_mut()) {
            at.file = doctor_core::findings::relative_path(&at.file, &root, &root);
        }
        findings
    })
}

#[test]
fn every_rule_fires_on_its_fixture_and_stays_quiet_on_the_other() {
    for rule in registry() {
        let code = rule.meta().code;
        let base = fixture_root().join(code);
        assert!(
            base.join("fires").is_dir() && base.join("quiet").is_dir(),
            "{code}: fixtures missing: want {}/fires and {}/quiet",
            base.display(),
            base.display()
        );
        match run_fixture(*rule, &base.join("fires")) {
            Ok(mut findings) => {
                assert!(!findings.is_empty(), "{code}: fires/ produced no finding");
                // Log evidence names its file: the same snapshot on every machine.
                let root = fixture_root().display().to_string();
                for f in &mut findings {
                    for line in &mut f.evidence {
                        *line = line.replace(&root, "<fixtures>");
                    }
                }
                assert!(
                    findings.iter().all(|f| f.rule.code == code),
                    "{code}: finding with another code"
                );
                insta::with_settings!({snapshot_suffix => code, prepend_module_to_snapshot => false}, {
                    insta::assert_json_snapshot!("fires", findings);
                });
            }
            Err(n) => panic!("{code}: fires/ not evaluated: {}", n.missing),
        }
        match run_fixture(*rule, &base.join("quiet")) {
            Ok(findings) => {
                assert!(findings.is_empty(), "{code}: quiet/ fired: {findings:#?}")
            }
            Err(n) => panic!("{code}: quiet/ not evaluated: {}", n.missing),
        }
    }
}
