//! `/metrics` in the Prometheus text format (0.0.4), written by hand: a
//! few families, label values escaped as the format requires.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::time::SystemTime;

use doctor_core::findings::Severity;

use crate::state::Shared;

const PREFIX: &str = "eks_cilium_doctor";

/// `\`, `"` and newlines escaped, as label values need.
pub fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

struct Writer {
    out: String,
}

impl Writer {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        // HELP text needs `\` and newlines escaped; ours has neither.
        let _ = writeln!(self.out, "# HELP {PREFIX}_{name} {help}");
        let _ = writeln!(self.out, "# TYPE {PREFIX}_{name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        let _ = write!(self.out, "{PREFIX}_{name}");
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (key, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{key}=\"{}\"", escape_label(value));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }
}

fn unix_seconds(time: SystemTime) -> f64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Every family, from the last good evaluation and the sources' status now.
pub fn render(shared: &Shared) -> String {
    let mut w = Writer { out: String::new() };
    let current = shared.current();

    w.family("build_info", "gauge", "The running version.");
    w.sample("build_info", &[("version", env!("CARGO_PKG_VERSION"))], 1);
    w.family(
        "ready",
        "gauge",
        "1 once a first full evaluation is served.",
    );
    w.sample("ready", &[], u8::from(current.is_some()));

    let sources = shared.sources();
    w.family(
        "source_stale",
        "gauge",
        "1 when the last read of a data source failed and an earlier one is shown.",
    );
    for s in &sources {
        w.sample("source_stale", &[("source", &s.name)], u8::from(s.stale));
    }
    w.family(
        "source_errors_total",
        "counter",
        "Failed reads of a data source since start.",
    );
    for s in &sources {
        w.sample("source_errors_total", &[("source", &s.name)], s.errors);
    }
    w.family(
        "source_last_success_timestamp_seconds",
        "gauge",
        "When a data source was last read successfully (Unix time).",
    );
    for s in &sources {
        if let Some(at) = s.last_success_unix {
            w.sample(
                "source_last_success_timestamp_seconds",
                &[("source", &s.name)],
                at,
            );
        }
    }
    w.family(
        "evaluations_total",
        "counter",
        "Evaluations published since start.",
    );
    w.sample("evaluations_total", &[], shared.evaluations());
    w.family(
        "evaluation_errors_total",
        "counter",
        "Evaluations that failed (the previous one stayed) since start.",
    );
    w.sample("evaluation_errors_total", &[], shared.evaluation_errors());
    if let Some(report) = shared.policy_report() {
        w.family(
            "policy_report_writes_total",
            "counter",
            "PolicyReports created or patched since start (--policy-report).",
        );
        w.sample("policy_report_writes_total", &[], report.writes);
        w.family(
            "policy_report_errors_total",
            "counter",
            "Writes of the PolicyReports that failed since start (--policy-report).",
        );
        w.sample("policy_report_errors_total", &[], report.errors);
        w.family(
            "policy_report_failing",
            "gauge",
            "1 when the last write of the PolicyReports failed (see /readyz for why).",
        );
        w.sample(
            "policy_report_failing",
            &[],
            u8::from(report.last_error.is_some()),
        );
        if let Some(at) = report.last_success_unix {
            w.family(
                "policy_report_last_success_timestamp_seconds",
                "gauge",
                "When the cluster last got the PolicyReports of an evaluation (Unix time).",
            );
            w.sample("policy_report_last_success_timestamp_seconds", &[], at);
        }
    }

    let Some(current) = current else {
        return w.out;
    };
    let report = &current.report;
    // Seconds, Prometheus's base unit (promtool rejects `_days`); whole days.
    w.family(
        "knowledge_age_seconds",
        "gauge",
        "Age of the newest source of each fact family on the evaluation date.",
    );
    if let Ok(as_of) = report.as_of.parse::<doctor_core::version::Date>() {
        for (family, date) in &report.knowledge.families {
            if let Ok(date) = date.parse::<doctor_core::version::Date>() {
                w.sample(
                    "knowledge_age_seconds",
                    &[("family", family)],
                    date.days_until(as_of) * 86_400,
                );
            }
        }
    }
    w.family(
        "last_evaluation_timestamp_seconds",
        "gauge",
        "When the served evaluation ran (Unix time).",
    );
    w.sample(
        "last_evaluation_timestamp_seconds",
        &[],
        unix_seconds(current.evaluated_at),
    );
    w.family(
        "last_evaluation_duration_seconds",
        "gauge",
        "How long the served evaluation took (loading and rules).",
    );
    w.sample(
        "last_evaluation_duration_seconds",
        &[],
        current.duration.as_secs_f64(),
    );
    w.family(
        "findings",
        "gauge",
        "Active findings by severity (suppressed ones excluded).",
    );
    for severity in Severity::ALL_DESCENDING {
        w.sample(
            "findings",
            &[("severity", severity.as_str())],
            report.summary.count(severity),
        );
    }
    w.family(
        "finding",
        "gauge",
        "One series per active finding: its rule, severity and object.",
    );
    // A rule may report one object twice (e.g. two messages): one series.
    let series: BTreeSet<_> = report
        .findings
        .iter()
        .map(|f| {
            (
                f.rule.code,
                f.severity.as_str(),
                f.object.namespace.as_deref().unwrap_or(""),
                f.object.kind.as_str(),
                f.object.name.as_str(),
            )
        })
        .collect();
    for (rule, severity, namespace, kind, name) in series {
        w.sample(
            "finding",
            &[
                ("rule", rule),
                ("severity", severity),
                ("namespace", namespace),
                ("kind", kind),
                ("name", name),
            ],
            1,
        );
    }
    w.family(
        "suppressed_findings",
        "gauge",
        "Findings hidden by a suppression.",
    );
    w.sample("suppressed_findings", &[], report.suppressed.len());
    w.family(
        "rules_not_evaluated",
        "gauge",
        "Rules that could not run for a missing input.",
    );
    w.sample("rules_not_evaluated", &[], report.not_evaluated.len());
    w.family(
        "collection_gaps",
        "gauge",
        "Calls denied or unsupported in the served evaluation, by source.",
    );
    let mut gaps = std::collections::BTreeMap::<&str, usize>::new();
    for gap in &report.collection_gaps {
        *gaps.entry(gap.source.as_str()).or_default() += 1;
    }
    for s in &sources {
        gaps.entry(s.name.as_str()).or_default();
    }
    for (source, count) in gaps {
        w.sample("collection_gaps", &[("source", source)], count);
    }
    w.out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape_label("line\nnext"), "line\\nnext");
        assert_eq!(escape_label("plain-name.1"), "plain-name.1");
    }

    #[test]
    fn before_the_first_evaluation_only_status_is_exported() {
        let shared = Shared::new(&["kubernetes"]);
        shared.source_failed("kubernetes", "connection refused");
        let text = render(&shared);
        assert!(text.contains("eks_cilium_doctor_ready 0\n"), "{text}");
        assert!(text.contains("eks_cilium_doctor_source_stale{source=\"kubernetes\"} 1\n"));
        assert!(text.contains("eks_cilium_doctor_source_errors_total{source=\"kubernetes\"} 1\n"));
        assert!(!text.contains("eks_cilium_doctor_finding{"));
    }
}
