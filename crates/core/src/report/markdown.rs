//! Markdown for a pull-request comment or a ticket (GitHub-flavoured
//! tables). Cluster text is escaped so it renders as written and never
//! turns into markup, links, HTML or the end of a code block.

use crate::snapshot::GapKind;
use std::fmt::Write;

use super::{by_severity, cluster_facts, printable, side_counts, summary_counts, RenderOptions};
use crate::findings::{Finding, Report, Severity};

pub(super) fn render(report: &Report, _opts: &RenderOptions) -> String {
    let mut out = format!("# {} report\n\n", report.tool.name);
    facts_table(&mut out, report);
    summary(&mut out, report);
    findings(&mut out, report);
    not_evaluated(&mut out, report);
    not_collected(&mut out, report);
    skipped(&mut out, report);
    input_notes(&mut out, report);
    suppressed(&mut out, report);
    let _ = writeln!(out, "_{} {}_", report.tool.name, report.tool.version);
    out
}

/// Inline text that renders as written: characters that start markup are
/// backslash-escaped (CommonMark allows escaping any ASCII punctuation),
/// newlines are folded so it stays one paragraph or one table cell, and a
/// leading list, heading or rule marker is escaped too.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in printable(s).chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '|' | '<' | '>' | '~' | '&' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    escape_block_start(out)
}

/// `- x`, `+ x`, `---`, `===`, `1. x` and `1) x` open blocks only at the
/// start of a line; newlines are folded, so only the very start needs care.
fn escape_block_start(s: String) -> String {
    let digits = s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let (number, rest) = s.split_at(digits);
    let ordered_marker = digits > 0
        && rest.starts_with(['.', ')'])
        && (rest.len() == 1 || rest[1..].starts_with([' ', '\t']));
    if ordered_marker {
        format!("{number}\\{rest}")
    } else if digits == 0 && s.starts_with(['-', '+', '=']) {
        format!("\\{s}")
    } else {
        s
    }
}

/// The longest run of backticks in `s`.
fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// An inline code span whose delimiter is longer than any backtick run
/// inside, padded so content starting or ending with a backtick still works.
/// In a table cell, pipes are escaped too (GFM splits cells on them even in
/// code spans).
fn code_span(s: &str, in_table: bool) -> String {
    let mut content = printable(s).replace(['\n', '\r'], " ");
    if in_table {
        content = content.replace('|', "\\|");
    }
    let fence = "`".repeat(longest_backtick_run(&content) + 1);
    let pad = if content.starts_with('`') || content.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{content}{pad}{fence}")
}

/// A fenced code block whose fence no line of `body` can close.
fn code_block(body: &str, info: &str) -> String {
    let body = printable(body);
    let fence = "`".repeat(longest_backtick_run(&body).max(2) + 1);
    format!("{fence}{info}\n{}\n{fence}\n", body.trim_end_matches('\n'))
}

fn facts_table(out: &mut String, report: &Report) {
    let facts = cluster_facts(report);
    if facts.is_empty() {
        return;
    }
    let header: Vec<&str> = facts.iter().map(|(label, _)| *label).collect();
    let values: Vec<String> = facts.iter().map(|(_, value)| text(value)).collect();
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(facts.len()));
    let _ = writeln!(out, "| {} |\n", values.join(" | "));
}

fn summary(out: &mut String, report: &Report) {
    out.push_str("## Summary\n\n| Severity | Findings |\n|---|---:|\n");
    for sev in Severity::ALL_DESCENDING {
        let _ = writeln!(out, "| {sev} | {} |", report.summary.count(sev));
    }
    let mut parts = vec![format!("**{}**", summary_counts(report))];
    parts.extend(side_counts(report).map(|(n, what)| format!("{n} {what}")));
    let _ = writeln!(out, "\n{}\n", parts.join(" · "));
}

fn findings(out: &mut String, report: &Report) {
    out.push_str("## Findings\n\n");
    if report.findings.is_empty() {
        out.push_str("No findings.\n\n");
    }
    for (sev, group) in by_severity(report) {
        let title = sev.as_str();
        let capitalised = title[..1].to_uppercase() + &title[1..];
        let _ = writeln!(out, "### {capitalised} ({})\n", group.len());
        for f in group {
            finding(out, f);
        }
    }
}

fn finding(out: &mut String, f: &Finding) {
    let object = code_span(&f.object.to_string(), false);
    let _ = writeln!(out, "#### {} {}: {object}\n", f.rule, text(f.rule.name));
    let _ = writeln!(out, "{}\n", text(&f.message));
    if let Some(at) = super::text::declared(f) {
        let _ = writeln!(out, "At {}\n", code_span(&at.to_string(), false));
    }
    if !f.evidence.is_empty() {
        out.push_str("**Evidence**\n\n");
        for line in &f.evidence {
            let _ = writeln!(out, "- {}", text(line));
        }
        out.push('\n');
    }
    if !f.remediation.is_empty() {
        out.push_str("**Fix**\n\n");
        out.push_str(&code_block(&f.remediation, "sh"));
        out.push('\n');
    }
    if !f.docs.is_empty() {
        let _ = writeln!(out, "Docs: {}\n", text(&f.docs));
    }
}

fn not_evaluated(out: &mut String, report: &Report) {
    if report.not_evaluated.is_empty() {
        return;
    }
    out.push_str("## Not evaluated\n\n| Rule | Missing | How to provide |\n|---|---|---|\n");
    for n in &report.not_evaluated {
        let how = n
            .how_to_provide
            .as_deref()
            .map(|h| code_span(h, true))
            .unwrap_or_default();
        let _ = writeln!(out, "| {} | {} | {how} |", n.rule, text(&n.missing));
    }
    out.push('\n');
}

fn not_collected(out: &mut String, report: &Report) {
    if report.collection_gaps.is_empty() {
        return;
    }
    out.push_str("## Not collected\n\n| Call | Why | Grant |\n|---|---|---|\n");
    for gap in &report.collection_gaps {
        let why = match gap.kind {
            GapKind::Denied => "denied",
            GapKind::Unsupported => "not supported by the endpoint",
            GapKind::Truncated => "partly collected",
            GapKind::Failed => "failed",
        };
        let _ = writeln!(
            out,
            "| {} | {why}: {} | {} |",
            code_span(&gap.call, true),
            text(&gap.message),
            code_span(&gap.permission, true)
        );
    }
    out.push('\n');
}

fn input_notes(out: &mut String, report: &Report) {
    if report.input_notes.is_empty() {
        return;
    }
    out.push_str("## Input notes\n\n| Input | Note |\n|---|---|\n");
    for n in &report.input_notes {
        let _ = writeln!(out, "| {} | {} |", code_span(&n.path, true), text(&n.note));
    }
    out.push('\n');
}

fn skipped(out: &mut String, report: &Report) {
    if report.skipped_inputs.is_empty() {
        return;
    }
    out.push_str("## Skipped inputs\n\n| Input | Reason |\n|---|---|\n");
    for s in &report.skipped_inputs {
        let _ = writeln!(
            out,
            "| {} | {} |",
            code_span(&s.path, true),
            text(&s.reason)
        );
    }
    out.push('\n');
}

fn suppressed(out: &mut String, report: &Report) {
    if !report.suppressed.is_empty() {
        out.push_str("## Suppressed\n\n| Rule | Severity | Object | Message | Reason |\n");
        out.push_str("|---|---|---|---|---|\n");
        for s in &report.suppressed {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                s.rule,
                s.severity,
                code_span(&s.object.to_string(), true),
                text(&s.message),
                text(&s.reason),
            );
        }
        out.push('\n');
    }
    if !report.unmatched_suppressions.is_empty() {
        out.push_str(
            "## Unmatched suppressions\n\nThese entries of the config file matched no finding.\n\n",
        );
        out.push_str("| Rule | Objects | Reason |\n|---|---|---|\n");
        for u in &report.unmatched_suppressions {
            let objects = u
                .object
                .as_deref()
                .map_or_else(|| "all".to_string(), |o| code_span(o, true));
            let _ = writeln!(
                out,
                "| {} | {objects} | {} |",
                text(&u.rule),
                text(&u.reason)
            );
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_escapes_markup_and_folds_lines() {
        assert_eq!(text("*a* [b](c) <i>"), "\\*a\\* \\[b\\](c) \\<i\\>");
        assert_eq!(text("x\n# y | z"), "x \\# y \\| z");
        assert_eq!(text("- not a list"), "\\- not a list");
        assert_eq!(text("12. not a list"), "12\\. not a list");
        assert_eq!(text("1.31 is a version"), "1.31 is a version");
        assert_eq!(text("3)"), "3\\)");
        assert_eq!(text("a-b.c"), "a-b.c");
    }

    #[test]
    fn code_span_outlasts_backticks_inside() {
        assert_eq!(code_span("a", false), "`a`");
        assert_eq!(code_span("a``b", false), "```a``b```");
        assert_eq!(code_span("`x", false), "`` `x ``");
        assert_eq!(code_span("a|b", true), "`a\\|b`");
    }

    #[test]
    fn code_block_cannot_be_closed_from_inside() {
        let block = code_block("echo hi\n```\n<script>\n", "sh");
        assert_eq!(block, "````sh\necho hi\n```\n<script>\n````\n");
        assert_eq!(code_block("ls", ""), "```\nls\n```\n");
    }
}
