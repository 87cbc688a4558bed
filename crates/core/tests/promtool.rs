//! The generated alerting rules against promtool: `check rules` for every
//! Cilium minor in both formats (the PrometheusRule's `spec` extracted),
//! and `test rules` with the unit tests in `tests/promtool/`, whose input
//! series fire every alert and then none.

mod validators;

use std::process::Command;

use doctor_core::generate::alerts::{alert_rules, AlertOptions, Format};
use doctor_core::knowledge::Knowledge;
use doctor_core::version::Minor;
use validators::{run, tool, Scratch};

const INSTALL: &str = "apt-get install prometheus";

fn yaml(minor: Minor, format: Format) -> String {
    let rules = alert_rules(Knowledge::embedded(), minor, "kube-system").unwrap();
    let options = AlertOptions {
        format,
        namespace: "monitoring".into(),
    };
    rules.to_yaml(&options).unwrap()
}

#[test]
fn promtool_checks_the_rules_of_every_minor_in_both_formats() {
    let Some(promtool) = tool("promtool", INSTALL) else {
        return;
    };
    let scratch = Scratch::new("promtool-check");
    let mut files = Vec::new();
    for c in &Knowledge::embedded().cilium {
        files.push(scratch.write(
            &format!("rules-{}.yaml", c.minor),
            &yaml(c.minor, Format::Rules),
        ));
        let object: serde_json::Value =
            serde_saphyr::from_str(&yaml(c.minor, Format::PrometheusRule)).unwrap();
        // JSON is YAML: the spec goes to promtool as it is.
        let spec = serde_json::to_string_pretty(&object["spec"]).unwrap();
        files.push(scratch.write(&format!("spec-{}.yaml", c.minor), &spec));
    }
    let (ok, output) = run(Command::new(&promtool)
        .arg("check")
        .arg("rules")
        .args(&files));
    assert!(ok, "promtool check rules failed:\n{output}");
    assert_eq!(output.matches("SUCCESS").count(), files.len(), "{output}");
}

#[test]
fn promtool_unit_tests_fire_each_alert_and_stay_quiet_when_healthy() {
    let Some(promtool) = tool("promtool", INSTALL) else {
        return;
    };
    let scratch = Scratch::new("promtool-test");
    let mut tests = Vec::new();
    for minor in ["1.12", "1.20"] {
        let m: Minor = minor.parse().unwrap();
        scratch.write(&format!("rules-{minor}.yaml"), &yaml(m, Format::Rules));
        let name = format!("alerts-{minor}.test.yaml");
        let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/promtool")
            .join(&name);
        tests.push(scratch.write(&name, &std::fs::read_to_string(committed).unwrap()));
    }
    let (ok, output) = run(Command::new(&promtool)
        .current_dir(&scratch.0)
        .arg("test")
        .arg("rules")
        .args(&tests));
    assert!(ok, "promtool test rules failed:\n{output}");
}
