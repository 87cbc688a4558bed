//! The terminal format: findings by severity, then what was not evaluated,
//! skipped or suppressed, and a summary line.

use std::fmt::Write;

use super::{by_severity, cluster_facts, printable, side_counts, summary_counts, RenderOptions};
use crate::findings::{Finding, Report, Severity};

/// ANSI styling that is a no-op when colour is off.
struct Paint {
    on: bool,
}

impl Paint {
    fn style(&self, sgr: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{sgr}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn severity(&self, sev: Severity, text: &str) -> String {
        let sgr = match sev {
            Severity::Critical => "1;97;41",
            Severity::High => "1;31",
            Severity::Medium => "1;33",
            Severity::Low => "1;34",
            Severity::Info => "1;36",
        };
        self.style(sgr, text)
    }

    fn bold(&self, text: &str) -> String {
        self.style("1", text)
    }

    fn dim(&self, text: &str) -> String {
        self.style("2", text)
    }
}

pub(super) fn render(report: &Report, opts: &RenderOptions) -> String {
    let paint = Paint { on: opts.color };
    let mut out = String::new();
    header(&mut out, report, &paint);
    if report.findings.is_empty() {
        out.push_str("No findings.\n\n");
    }
    for (sev, findings) in by_severity(report) {
        let title = format!("{} ({})", sev.as_str().to_uppercase(), findings.len());
        let _ = writeln!(out, "{}\n", paint.severity(sev, &title));
        for f in findings {
            finding(&mut out, f, &paint);
        }
    }
    not_evaluated(&mut out, report, &paint);
    not_collected(&mut out, report, &paint);
    skipped(&mut out, report, &paint);
    input_notes(&mut out, report, &paint);
    suppressed(&mut out, report, &paint);
    summary(&mut out, report, &paint);
    out
}

fn header(out: &mut String, report: &Report, paint: &Paint) {
    let title = format!("{} {} report", report.tool.name, report.tool.version);
    let _ = writeln!(out, "{}", paint.bold(&title));
    let facts: Vec<String> = cluster_facts(report)
        .into_iter()
        .map(|(label, value)| format!("{label} {}", printable(value)))
        .collect();
    if !facts.is_empty() {
        let _ = writeln!(out, "{}", facts.join(" · "));
    }
    out.push('\n');
}

/// Every line of `text` after `prefix`, so multi-line values stay aligned.
fn indented(text: &str, prefix: &str) -> String {
    printable(text)
        .lines()
        .map(|l| format!("{prefix}{l}\n"))
        .collect()
}

/// Where the object is declared (`preflight`'s file, line and address);
/// the dump file a `check` finding was read from is left to SARIF and JSON.
pub(super) fn declared(f: &Finding) -> Option<&crate::findings::SourceLocation> {
    f.location
        .as_ref()
        .filter(|at| at.address.is_some() || at.line > 1)
}

fn finding(out: &mut String, f: &Finding, paint: &Paint) {
    let head = format!(
        "{} {}",
        paint.severity(f.severity, f.rule.code),
        paint.bold(f.rule.name)
    );
    let _ = writeln!(out, "  {head} — {}", printable(&f.object.to_string()));
    out.push_str(&indented(&f.message, "    "));
    if let Some(at) = declared(f) {
        let _ = writeln!(
            out,
            "    {} {}",
            paint.dim("At:"),
            printable(&at.to_string())
        );
    }
    if !f.evidence.is_empty() {
        let _ = writeln!(out, "    {}", paint.dim("Evidence:"));
        for line in &f.evidence {
            out.push_str(&indented(line, "      - "));
        }
    }
    if !f.remediation.is_empty() {
        // Flush left so the commands paste as they are (heredocs included).
        let _ = writeln!(out, "    {}", paint.dim("Fix:"));
        out.push_str(&indented(&f.remediation, ""));
    }
    if !f.docs.is_empty() {
        let _ = writeln!(out, "    {} {}", paint.dim("Docs:"), printable(&f.docs));
    }
    out.push('\n');
}

fn section_title(out: &mut String, paint: &Paint, title: &str, count: usize) {
    let _ = writeln!(out, "{}", paint.bold(&format!("{title} ({count})")));
}

fn not_evaluated(out: &mut String, report: &Report, paint: &Paint) {
    if report.not_evaluated.is_empty() {
        return;
    }
    section_title(out, paint, "Not evaluated", report.not_evaluated.len());
    for n in &report.not_evaluated {
        let _ = writeln!(out, "  {}  missing: {}", n.rule, printable(&n.missing));
        if let Some(how) = &n.how_to_provide {
            let _ = writeln!(out, "          provide: {}", printable(how));
        }
    }
    out.push('\n');
}

fn not_collected(out: &mut String, report: &Report, paint: &Paint) {
    if report.collection_gaps.is_empty() {
        return;
    }
    section_title(out, paint, "Not collected", report.collection_gaps.len());
    for gap in &report.collection_gaps {
        let _ = writeln!(out, "  {}", printable(&gap.describe()));
    }
    out.push('\n');
}

fn skipped(out: &mut String, report: &Report, paint: &Paint) {
    if report.skipped_inputs.is_empty() {
        return;
    }
    section_title(out, paint, "Skipped inputs", report.skipped_inputs.len());
    for s in &report.skipped_inputs {
        let _ = writeln!(out, "  {}: {}", printable(&s.path), printable(&s.reason));
    }
    out.push('\n');
}

fn input_notes(out: &mut String, report: &Report, paint: &Paint) {
    if report.input_notes.is_empty() {
        return;
    }
    section_title(out, paint, "Input notes", report.input_notes.len());
    for n in &report.input_notes {
        let _ = writeln!(out, "  {}: {}", printable(&n.path), printable(&n.note));
    }
    out.push('\n');
}

fn suppressed(out: &mut String, report: &Report, paint: &Paint) {
    if !report.suppressed.is_empty() {
        section_title(out, paint, "Suppressed", report.suppressed.len());
        for s in &report.suppressed {
            let object = printable(&s.object.to_string()).into_owned();
            let _ = writeln!(
                out,
                "  {} ({}) {object}: {}",
                s.rule,
                s.severity,
                printable(&s.message)
            );
            let _ = writeln!(out, "          reason: {}", printable(&s.reason));
        }
        out.push('\n');
    }
    if !report.unmatched_suppressions.is_empty() {
        let count = report.unmatched_suppressions.len();
        section_title(out, paint, "Unmatched suppressions", count);
        for u in &report.unmatched_suppressions {
            let scope = u.object.as_deref().unwrap_or("all objects");
            let _ = writeln!(
                out,
                "  {} {}: matched no finding",
                printable(&u.rule),
                printable(scope)
            );
            let _ = writeln!(out, "          reason: {}", printable(&u.reason));
        }
        out.push('\n');
    }
}

fn summary(out: &mut String, report: &Report, paint: &Paint) {
    let mut parts = vec![summary_counts(report)];
    parts.extend(
        side_counts(report)
            .into_iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}")),
    );
    let _ = writeln!(out, "{} {}", paint.bold("Summary:"), parts.join(" · "));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paint_is_a_no_op_without_colour() {
        assert_eq!(Paint { on: false }.bold("x"), "x");
        assert_eq!(Paint { on: true }.bold("x"), "\x1b[1mx\x1b[0m");
    }

    #[test]
    fn indented_keeps_every_line_aligned() {
        assert_eq!(indented("a\nb", "  "), "  a\n  b\n");
        assert_eq!(indented("\x1b[2J", ""), "\\u{1b}[2J\n");
    }
}
