//! `cilium connectivity test --junit-file` reports. cilium-cli writes one
//! `<testsuites>` with one `<testsuite name="connectivity test"
//! package="cilium">` whose `<testcase classname="connectivity test"
//! status="passed|failed|skipped">` carry, when failed, a `<failure>` whose
//! text lists the failed actions one per line (cilium-cli
//! connectivity/check/context.go `writeJunit`). Other JUnit files are not
//! cilium-cli's and are skipped with a reason that names them.

use crate::model::{ConnectivityTest, ConnectivityTestReport};

/// The suite and class name cilium-cli gives its connectivity test.
const SUITE: &str = "connectivity test";

/// A JUnit report holds one element per test and a few per suite: beyond
/// this many nodes the file is not a connectivity test (a few hundred tests).
const NODES_LIMIT: u32 = 200_000;

/// XML whose root element is JUnit's (`testsuites` or `testsuite`),
/// judged on the first element only.
pub(super) fn looks_like(text: &str) -> bool {
    let t = text.trim_start();
    if !t.starts_with('<') {
        return false;
    }
    let head = &t[..t.len().min(4096)];
    let mut rest = head;
    // Skip the declaration, comments and processing instructions.
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        if rest.starts_with('?') || rest.starts_with('!') {
            continue;
        }
        return rest.starts_with("testsuites") || rest.starts_with("testsuite");
    }
    false
}

/// The connectivity test report, or why the file is not one.
pub(super) fn parse(source: &str, text: &str) -> Result<ConnectivityTestReport, String> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: NODES_LIMIT,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(text, options)
        .map_err(|e| format!("JUnit XML that does not parse: {e}"))?;
    let root = doc.root_element();
    let suites: Vec<roxmltree::Node> = match root.tag_name().name() {
        "testsuites" => root
            .children()
            .filter(|n| n.has_tag_name("testsuite"))
            .collect(),
        "testsuite" => vec![root],
        other => return Err(format!("XML whose root element is <{other}>, not JUnit")),
    };
    let ours: Vec<&roxmltree::Node> = suites
        .iter()
        .filter(|s| s.attribute("name") == Some(SUITE))
        .collect();
    if ours.is_empty() {
        let names: Vec<&str> = suites
            .iter()
            .filter_map(|s| s.attribute("name"))
            .take(3)
            .collect();
        return Err(format!(
            "JUnit report that is not cilium-cli's connectivity test (test suite {})",
            if names.is_empty() {
                "without a name".to_string()
            } else {
                names
                    .iter()
                    .map(|n| format!("{n:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ));
    }
    let mut report = ConnectivityTestReport {
        source: source.to_string(),
        ..ConnectivityTestReport::default()
    };
    for suite in ours {
        report.args = report.args.take().or_else(|| {
            suite
                .descendants()
                .filter(|n| n.has_tag_name("property"))
                .find(|n| n.attribute("name") == Some("Args"))
                .and_then(|n| n.attribute("value"))
                .map(str::to_string)
        });
        for case in suite.children().filter(|n| n.has_tag_name("testcase")) {
            let Some(name) = case.attribute("name").filter(|n| !n.is_empty()) else {
                continue;
            };
            let failure = case.children().find(|n| n.has_tag_name("failure"));
            let skipped = case.children().any(|n| n.has_tag_name("skipped"));
            let status = match case.attribute("status") {
                Some(s) if !s.is_empty() => s.to_string(),
                _ if failure.is_some() => "failed".to_string(),
                _ if skipped => "skipped".to_string(),
                _ => "passed".to_string(),
            };
            let failed_actions = failure
                .and_then(|f| f.text())
                .unwrap_or_default()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect();
            report.tests.push(ConnectivityTest {
                name: name.to_string(),
                status,
                failed_actions,
            });
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As cilium-cli writes it (go-junit `WriteReport`, two-space indent).
    pub(crate) const FAILED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="3" disabled="1" failures="1" time="42.5">
  <testsuite name="connectivity test" tests="3" package="cilium" errors="0" failures="1" skipped="1" time="42.5" timestamp="2026-11-30T10:01:02">
    <properties>
      <property name="Args" value="connectivity|test|--junit-file|cilium-junit.xml"></property>
    </properties>
    <testcase name="no-policies" classname="connectivity test" status="failed" time="30.1">
      <failure message="no-policies failed" type="failure">no-policies/pod-to-pod/curl-ipv4-2: cilium-test-1/client-645b68dcf7-w7kcn (10.0.1.64) -&gt; cilium-test-1/echo-other-node-689b8c9477-rvkw4 (10.0.2.101:8080)&#xA;no-policies/pod-to-pod/curl-ipv4-3: cilium-test-1/client2-66475877c6-bghj6 (10.0.1.77) -&gt; cilium-test-1/echo-other-node-689b8c9477-rvkw4 (10.0.2.101:8080)</failure>
    </testcase>
    <testcase name="all-ingress-deny" classname="connectivity test" status="passed" time="12.4"></testcase>
    <testcase name="pod-to-pod-encryption" classname="connectivity test" status="skipped" time="0">
      <skipped message="pod-to-pod-encryption skipped"></skipped>
    </testcase>
  </testsuite>
</testsuites>
"#;

    #[test]
    fn cilium_cli_report() {
        assert!(looks_like(FAILED));
        let r = parse("cilium-junit.xml", FAILED).unwrap();
        assert_eq!(
            r.args.as_deref(),
            Some("connectivity|test|--junit-file|cilium-junit.xml")
        );
        assert_eq!(r.tests.len(), 3);
        assert_eq!(r.tests[0].name, "no-policies");
        assert_eq!(r.tests[0].status, "failed");
        assert_eq!(r.tests[0].failed_actions.len(), 2);
        assert!(r.tests[0].failed_actions[0]
            .ends_with("-> cilium-test-1/echo-other-node-689b8c9477-rvkw4 (10.0.2.101:8080)"));
        assert_eq!(r.tests[2].status, "skipped");
    }

    #[test]
    fn the_loader_reads_ours_and_skips_other_junit_naming_the_file() {
        let dir = std::env::temp_dir().join(format!("doctor-junit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("cilium-junit.xml"), FAILED).unwrap();
        std::fs::write(
            dir.join("surefire.xml"),
            r#"<?xml version="1.0"?><testsuite name="com.example.AppTest" tests="1"><testcase name="t"/></testsuite>"#,
        )
        .unwrap();
        std::fs::write(dir.join("broken.xml"), "<testsuites><testsuite name=").unwrap();
        let loaded = crate::load::load_paths(
            std::slice::from_ref(&dir),
            &crate::load::LoadOptions::default(),
        )
        .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let reports = loaded.cluster.connectivity_tests.unwrap();
        assert_eq!(reports.len(), 1);
        assert!(reports[0].source.ends_with("cilium-junit.xml"));
        let skipped: Vec<(String, String)> = loaded
            .skipped
            .iter()
            .map(|s| (s.path.clone(), s.reason.clone()))
            .collect();
        assert!(
            skipped.iter().any(|(p, r)| p.ends_with("surefire.xml")
                && r.contains("not cilium-cli's connectivity test")),
            "{skipped:?}"
        );
        assert!(
            skipped
                .iter()
                .any(|(p, r)| p.ends_with("broken.xml") && r.contains("does not parse")),
            "{skipped:?}"
        );
    }

    #[test]
    fn other_junit_and_bad_xml_are_refused_with_a_reason() {
        let maven = r#"<?xml version="1.0"?><testsuite name="com.example.AppTest" tests="1"><testcase name="t" classname="com.example.AppTest"/></testsuite>"#;
        assert!(looks_like(maven));
        let why = parse("surefire.xml", maven).unwrap_err();
        assert!(why.contains("not cilium-cli's connectivity test"), "{why}");
        assert!(why.contains("com.example.AppTest"), "{why}");
        assert!(parse(
            "x.xml",
            "<testsuites><testsuite name=\"connectivity test\">"
        )
        .unwrap_err()
        .contains("does not parse"));
        assert!(!looks_like("<html><body>testsuite</body></html>"));
        assert!(!looks_like("kind: Pod\n"));
        let dtd = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">]><testsuites/>";
        assert!(parse("x.xml", dtd).is_err());
        // Cut anywhere: an error, never a panic.
        for end in (0..FAILED.len()).step_by(37) {
            if FAILED.is_char_boundary(end) {
                let _ = parse("cut.xml", &FAILED[..end]);
            }
        }
    }
}
