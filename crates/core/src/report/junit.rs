//! JUnit XML for CI dashboards: one `<testsuite>` per rule area, one
//! `<testcase>` per rule and object. A finding fails its case, a rule that
//! ran clean passes, a rule not evaluated or a suppressed finding is skipped.

use std::fmt::Write;

use super::{object_path, RenderOptions};
use crate::findings::{Finding, Report};
use crate::rules::Area;
use crate::rules::RuleMeta;

enum Outcome {
    Passed,
    Failed {
        message: String,
        kind: &'static str,
        body: String,
    },
    Skipped {
        message: String,
    },
}

struct Case {
    area: Option<Area>,
    classname: String,
    name: String,
    outcome: Outcome,
}

pub(super) fn render(report: &Report, _opts: &RenderOptions) -> String {
    let mut cases = cases(report);
    // Areas in catalogue order, unknown codes last; codes in order within.
    cases.sort_by(|a, b| {
        (a.area.is_none(), a.area, &a.classname).cmp(&(b.area.is_none(), b.area, &b.classname))
    });
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let (failures, skipped) = counts(&cases);
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">",
        escape(report.tool.name),
        cases.len(),
    );
    let properties = properties(report);
    for suite in cases.chunk_by(|a, b| a.area == b.area) {
        write_suite(&mut out, suite, &properties);
    }
    out.push_str("</testsuites>\n");
    out
}

fn cases(report: &Report) -> Vec<Case> {
    let label = |rule: &RuleMeta| format!("{} {}", rule.code, rule.name);
    let mut cases: Vec<Case> = report
        .findings
        .iter()
        .map(|f| Case {
            area: Some(f.rule.area),
            classname: label(f.rule),
            name: object_path(&f.object),
            outcome: failure(f),
        })
        .collect();
    cases.extend(report.suppressed.iter().map(|s| Case {
        area: Some(s.rule.area),
        classname: label(s.rule),
        name: object_path(&s.object),
        outcome: Outcome::Skipped {
            message: format!("suppressed: {}", s.reason),
        },
    }));
    let has_result = |rule: &RuleMeta| {
        report.findings.iter().any(|f| f.rule.code == rule.code)
            || report.suppressed.iter().any(|s| s.rule.code == rule.code)
    };
    cases.extend(
        report
            .evaluated_rules
            .iter()
            .filter(|rule| !has_result(rule))
            .map(|rule| Case {
                area: Some(rule.area),
                classname: label(rule),
                name: "all objects".to_string(),
                outcome: Outcome::Passed,
            }),
    );
    cases.extend(report.not_evaluated.iter().map(|n| {
        let mut message = format!("not evaluated: missing {}", n.missing);
        if let Some(how) = &n.how_to_provide {
            message.push_str(&format!("; provide it with: {how}"));
        }
        Case {
            area: Some(n.rule.area),
            classname: label(n.rule),
            name: "not evaluated".to_string(),
            outcome: Outcome::Skipped { message },
        }
    }));
    // Calls a live collection could not make: no area, so they sit under "Other".
    cases.extend(report.collection_gaps.iter().map(|gap| Case {
        area: None,
        classname: format!("collect {}", gap.source),
        name: gap.call.clone(),
        outcome: Outcome::Skipped {
            message: format!("not collected: {}", gap.describe()),
        },
    }));
    cases
}

fn failure(f: &Finding) -> Outcome {
    let mut sections = vec![f.message.clone()];
    if !f.evidence.is_empty() {
        let lines: Vec<String> = f.evidence.iter().map(|l| format!("- {l}")).collect();
        sections.push(format!("Evidence:\n{}", lines.join("\n")));
    }
    if !f.remediation.is_empty() {
        sections.push(format!("Fix:\n{}", f.remediation));
    }
    if !f.docs.is_empty() {
        sections.push(format!("Docs: {}", f.docs));
    }
    Outcome::Failed {
        message: f.message.clone(),
        kind: f.severity.as_str(),
        body: sections.join("\n\n"),
    }
}

/// (failures, skipped) among `cases`.
fn counts(cases: &[Case]) -> (usize, usize) {
    let failures = cases
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Failed { .. }))
        .count();
    let skipped = cases
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Skipped { .. }))
        .count();
    (failures, skipped)
}

/// `<properties>` of every suite: the evaluation date and how old the
/// knowledge is (JUnit has no properties on `<testsuites>`).
fn properties(report: &Report) -> String {
    let mut rows = vec![
        ("as_of".to_string(), report.as_of.clone()),
        ("knowledge.date".to_string(), report.knowledge.date.clone()),
    ];
    rows.extend(
        report
            .knowledge
            .families
            .iter()
            .map(|(name, date)| (format!("knowledge.{name}"), date.clone())),
    );
    let mut out = String::from("    <properties>\n");
    for (name, value) in rows {
        let _ = writeln!(
            out,
            "      <property name=\"{}\" value=\"{}\"/>",
            escape(&name),
            escape(&value)
        );
    }
    out.push_str("    </properties>\n");
    out
}

fn write_suite(out: &mut String, suite: &[Case], properties: &str) {
    let name = match suite[0].area {
        Some(area) => format!("{} — {}", area.prefix(), area.title()),
        None => "Other".to_string(),
    };
    let (failures, skipped) = counts(suite);
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">",
        escape(&name),
        suite.len(),
    );
    out.push_str(properties);
    for case in suite {
        write_case(out, case);
    }
    out.push_str("  </testsuite>\n");
}

fn write_case(out: &mut String, case: &Case) {
    let open = format!(
        "    <testcase classname=\"{}\" name=\"{}\"",
        escape(&case.classname),
        escape(&case.name)
    );
    match &case.outcome {
        Outcome::Passed => {
            let _ = writeln!(out, "{open}/>");
        }
        Outcome::Failed {
            message,
            kind,
            body,
        } => {
            let _ = writeln!(
                out,
                "{open}>\n      <failure message=\"{}\" type=\"{kind}\">{}</failure>\n    </testcase>",
                escape(message),
                escape_text(body),
            );
        }
        Outcome::Skipped { message } => {
            let _ = writeln!(
                out,
                "{open}>\n      <skipped message=\"{}\"/>\n    </testcase>",
                escape(message)
            );
        }
    }
}

/// Escape for a double- or single-quoted attribute: whitespace that
/// attribute normalisation would flatten becomes character references.
fn escape(s: &str) -> String {
    escape_xml(s, true)
}

/// Escape for element text, where quotes, newlines and tabs may stay.
fn escape_text(s: &str) -> String {
    escape_xml(s, false)
}

/// Characters XML 1.0 forbids outright (most C0 controls) become U+FFFD:
/// not even a character reference may name them.
fn escape_xml(s: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\'' if attribute => out.push_str("&apos;"),
            // A raw CR would be read back as a newline.
            '\r' => out.push_str("&#13;"),
            '\n' | '\t' if !attribute => out.push(c),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

/// XML 1.0's `Char` production (tab, newline and CR are handled above).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_forbidden_characters() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;"
        );
        assert_eq!(
            escape("a\nb\u{0}c\u{1b}\u{FFFF}"),
            "a&#10;b\u{FFFD}c\u{FFFD}\u{FFFD}"
        );
        assert_eq!(escape("ünïcödé ✓"), "ünïcödé ✓");
        assert_eq!(escape_text("'a'\n\t\"b\"\r<"), "'a'\n\t\"b\"&#13;&lt;");
    }
}
