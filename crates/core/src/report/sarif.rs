//! SARIF 2.1.0 for code-scanning tools: one run, the rules that have
//! results, one result per finding (suppressed ones carry a `suppressions`
//! entry), and the rules that were not evaluated as notifications.

use serde_json::{json, Value};

use super::{object_path, RenderOptions};
use crate::findings::{Finding, ObjectRef, Report, Severity, SourceLocation, Suppressed};
use crate::rules::RuleMeta;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The project's address, once the manifest declares `repository`.
const INFORMATION_URI: &str = env!("CARGO_PKG_REPOSITORY");

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

pub(super) fn render(report: &Report, _opts: &RenderOptions) -> String {
    let rules = RuleTable::of(report);
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| finding_result(f, &rules))
        .chain(
            report
                .suppressed
                .iter()
                .map(|s| suppressed_result(s, &rules)),
        )
        .collect();
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": driver(report, rules.descriptors)},
            "invocations": [invocation(report)],
            "results": results,
            "properties": {
                "cluster": report.cluster,
                "as_of": report.as_of,
                "knowledge": report.knowledge,
            },
        }],
    });
    let mut out = serde_json::to_string_pretty(&log).expect("a JSON value always serialises");
    out.push('\n');
    out
}

fn driver(report: &Report, rules: Vec<Value>) -> Value {
    let mut driver = json!({
        "name": report.tool.name,
        "version": report.tool.version,
        "semanticVersion": report.tool.version,
        "rules": rules,
    });
    if !INFORMATION_URI.is_empty() {
        driver["informationUri"] = json!(INFORMATION_URI);
    }
    driver
}

/// The reporting descriptors of the rules that have results, and each
/// one's index for `ruleIndex`.
struct RuleTable {
    codes: Vec<&'static str>,
    descriptors: Vec<Value>,
}

impl RuleTable {
    fn of(report: &Report) -> RuleTable {
        let mut table = RuleTable {
            codes: Vec::new(),
            descriptors: Vec::new(),
        };
        let used = report
            .findings
            .iter()
            .map(|f| f.rule)
            .chain(report.suppressed.iter().map(|s| s.rule));
        for rule in used {
            if !table.codes.contains(&rule.code) {
                table.codes.push(rule.code);
                table.descriptors.push(descriptor(rule));
            }
        }
        table
    }

    fn index(&self, code: &str) -> usize {
        self.codes
            .iter()
            .position(|c| *c == code)
            .expect("every result's rule is in the table")
    }
}

fn descriptor(rule: &RuleMeta) -> Value {
    let mut d = json!({
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.what_it_checks},
        "help": {"text": rule.how_to_fix},
        "defaultConfiguration": {"level": level(rule.severity)},
        "properties": {"tags": [rule.area.prefix()], "severity": rule.severity},
    });
    if !rule.docs_url.is_empty() {
        d["helpUri"] = json!(rule.docs_url);
    }
    d
}

/// The object as a logical location and, when its file is known, the
/// physical location GitHub code scanning requires of every result: the
/// file as a relative URI (`%`-escaped where a URI needs it) and the line.
fn location(object: &ObjectRef, at: Option<&SourceLocation>) -> Value {
    let mut location = json!({
        "logicalLocations": [{
            "name": object.name,
            "fullyQualifiedName": object_path(object),
            "kind": "resource",
        }],
    });
    if let Some(at) = at {
        location["physicalLocation"] = json!({
            "artifactLocation": {"uri": uri_of(&at.file)},
            "region": {"startLine": at.line.max(1)},
        });
    }
    json!([location])
}

/// A relative file path as a URI reference: `/` separators, and every byte
/// outside the unreserved and path characters percent-encoded (a space, `#`,
/// `?`, `%`, non-ASCII), so `a b/plan#1.json` stays one path.
pub(crate) fn uri_of(path: &str) -> String {
    let path = path.replace('\\', "/");
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        let plain = byte.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&byte);
        if plain {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn base_result(
    rule: &str,
    severity: Severity,
    message: &str,
    object: &ObjectRef,
    at: Option<&SourceLocation>,
    rules: &RuleTable,
) -> Value {
    json!({
        "ruleId": rule,
        "ruleIndex": rules.index(rule),
        "level": level(severity),
        "message": {"text": message},
        "locations": location(object, at),
        // Stable identity across runs, since there is no source line to hash.
        "partialFingerprints": {"ruleObject/v1": format!("{rule}|{}", object_path(object))},
    })
}

fn finding_result(f: &Finding, rules: &RuleTable) -> Value {
    let mut result = base_result(
        f.rule.code,
        f.severity,
        &f.message,
        &f.object,
        f.file_location(),
        rules,
    );
    result["properties"] = json!({
        "severity": f.severity,
        "evidence": f.evidence,
        "remediation": f.remediation,
        "docs": f.docs,
    });
    result
}

fn suppressed_result(s: &Suppressed, rules: &RuleTable) -> Value {
    let mut result = base_result(
        s.rule.code,
        s.severity,
        &s.message,
        &s.object,
        s.location.as_ref().or(s.read_from.as_ref()),
        rules,
    );
    result["suppressions"] = json!([{"kind": "external", "justification": s.reason}]);
    result["properties"] = json!({"severity": s.severity});
    result
}

/// Rules that could not run, inputs that were not used and calls a live
/// collection could not make, as notes on the invocation: they are not results, but a reader must see them.
fn invocation(report: &Report) -> Value {
    let not_evaluated = report.not_evaluated.iter().map(|n| {
        let mut text = format!("{} not evaluated: missing {}", n.rule, n.missing);
        if let Some(how) = &n.how_to_provide {
            text.push_str(&format!("; provide it with: {how}"));
        }
        json!({"level": "note", "message": {"text": text}, "associatedRule": {"id": n.rule.code}})
    });
    let skipped = report.skipped_inputs.iter().map(|s| {
        let text = format!("skipped input {}: {}", s.path, s.reason);
        json!({"level": "warning", "message": {"text": text}})
    });
    let not_collected = report.collection_gaps.iter().map(|gap| {
        let text = format!("not collected: {}", gap.describe());
        json!({"level": "warning", "message": {"text": text}})
    });
    json!({
        "executionSuccessful": true,
        "toolExecutionNotifications": not_evaluated
            .chain(skipped)
            .chain(not_collected)
            .collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_severity() {
        assert_eq!(level(Severity::Critical), "error");
        assert_eq!(level(Severity::High), "error");
        assert_eq!(level(Severity::Medium), "warning");
        assert_eq!(level(Severity::Low), "note");
        assert_eq!(level(Severity::Info), "note");
    }

    #[test]
    fn file_paths_become_relative_uri_references() {
        assert_eq!(uri_of("infra/plan.json"), "infra/plan.json");
        assert_eq!(uri_of("a b/plan#1.json"), "a%20b/plan%231.json");
        assert_eq!(uri_of("dir\\eks.yaml"), "dir/eks.yaml");
        assert_eq!(uri_of("ü.yaml"), "%C3%BC.yaml");
    }
}
