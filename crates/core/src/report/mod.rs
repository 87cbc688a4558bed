//! Renderers of a [`Report`]: text, JSON, SARIF, JUnit, Markdown, HTML and
//! the Policy WG's PolicyReport.
//!
//! Renderers only present what the rules decided; nothing here decides what
//! is a finding. Every string that came from the cluster (object names,
//! messages, evidence) is untrusted: each renderer escapes it for its format.

pub mod html;
mod json;
mod junit;
mod markdown;
pub mod policyreport;
mod sarif;
mod text;

use std::borrow::Cow;
use std::ffi::OsStr;
use std::fmt;
use std::str::FromStr;

use crate::findings::{Finding, ObjectRef, Report, Severity};

/// An output format of `check --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Text,
    Json,
    Sarif,
    Junit,
    Markdown,
    Html,
    /// `wgpolicyk8s.io/v1alpha2` PolicyReports and a ClusterPolicyReport.
    PolicyReport,
}

impl Format {
    pub const ALL: [Format; 7] = [
        Format::Text,
        Format::Json,
        Format::Sarif,
        Format::Junit,
        Format::Markdown,
        Format::Html,
        Format::PolicyReport,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
            Format::Markdown => "markdown",
            Format::Html => "html",
            Format::PolicyReport => "policyreport",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.to_ascii_lowercase();
        if s == "md" {
            return Ok(Format::Markdown);
        }
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown format {s:?} (text, json, sarif, junit, markdown, html, policyreport)"
                )
            })
    }
}

/// `--color auto|always|never`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour: `always`/`never` win; `auto` colours a terminal
    /// unless `NO_COLOR` is set to a non-empty value (no-color.org).
    pub fn enabled(self, stdout_is_tty: bool, no_color: Option<&OsStr>) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => stdout_is_tty && no_color.is_none_or(OsStr::is_empty),
        }
    }
}

impl FromStr for ColorChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(ColorChoice::Auto),
            "always" => Ok(ColorChoice::Always),
            "never" => Ok(ColorChoice::Never),
            _ => Err(format!("unknown color choice {s:?} (auto, always, never)")),
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// ANSI colour in the text format (see [`ColorChoice::enabled`]).
    pub color: bool,
}

/// Render `report` in `format`.
pub fn render(report: &Report, format: Format, opts: &RenderOptions) -> String {
    match format {
        Format::Text => text::render(report, opts),
        Format::Json => json::render(report, opts),
        Format::Sarif => sarif::render(report, opts),
        Format::Junit => junit::render(report, opts),
        Format::Markdown => markdown::render(report, opts),
        Format::Html => html::render(report, opts),
        Format::PolicyReport => policyreport::render(report, opts),
    }
}

/// The findings of one severity, most severe first, skipping empty groups.
fn by_severity(report: &Report) -> impl Iterator<Item = (Severity, Vec<&Finding>)> {
    Severity::ALL_DESCENDING.into_iter().filter_map(|sev| {
        let group: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.severity == sev)
            .collect();
        (!group.is_empty()).then_some((sev, group))
    })
}

/// `Kind/namespace/name` or `Kind/name`: one token naming the object.
pub(crate) fn object_path(object: &ObjectRef) -> String {
    match &object.namespace {
        Some(ns) => format!("{}/{}/{}", object.kind, ns, object.name),
        None => format!("{}/{}", object.kind, object.name),
    }
}

/// One line per cluster fact that is known, e.g. `Kubernetes 1.31`.
fn cluster_facts(report: &Report) -> Vec<(&'static str, &str)> {
    let c = &report.cluster;
    [
        ("Cluster", c.name.as_deref()),
        ("Kubernetes", c.kubernetes_version.as_deref()),
        ("Cilium", c.cilium_version.as_deref()),
        ("IPAM", c.ipam_mode.as_deref()),
        (
            "As of",
            Some(report.as_of.as_str()).filter(|s| !s.is_empty()),
        ),
        (
            "Knowledge of",
            Some(report.knowledge.date.as_str()).filter(|s| !s.is_empty()),
        ),
    ]
    .into_iter()
    .filter_map(|(label, value)| value.map(|v| (label, v)))
    .collect()
}

/// `1 critical, 2 high, 0 medium, 0 low, 0 info`.
fn summary_counts(report: &Report) -> String {
    Severity::ALL_DESCENDING
        .iter()
        .map(|&sev| format!("{} {sev}", report.summary.count(sev)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How many rules were not evaluated, inputs skipped and findings
/// suppressed, each with its label (`1 skipped input`, `2 skipped inputs`).
fn side_counts(report: &Report) -> [(usize, &'static str); 3] {
    let skipped = report.skipped_inputs.len();
    [
        (report.not_evaluated.len(), "not evaluated"),
        (
            skipped,
            if skipped == 1 {
                "skipped input"
            } else {
                "skipped inputs"
            },
        ),
        (report.suppressed.len(), "suppressed"),
    ]
}

/// Untrusted text made inert for a terminal or a document: control
/// characters (except newline and tab) and bidirectional overrides become
/// visible `\u{..}` escapes, so cluster data cannot move the cursor, change
/// colours or reorder what the reader sees.
fn printable(s: &str) -> Cow<'_, str> {
    let hostile = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    };
    if !s.chars().any(hostile) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| {
                if hostile(c) {
                    format!("\\u{{{:x}}}", c as u32)
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_formats_and_colour_choices() {
        for f in Format::ALL {
            assert_eq!(f.as_str().parse::<Format>(), Ok(f));
        }
        assert_eq!("MD".parse::<Format>(), Ok(Format::Markdown));
        assert!("yaml".parse::<Format>().unwrap_err().contains("sarif"));
        assert_eq!("Always".parse::<ColorChoice>(), Ok(ColorChoice::Always));
        assert!("sometimes".parse::<ColorChoice>().is_err());
    }

    #[test]
    fn colour_follows_tty_and_no_color() {
        let set = Some(OsStr::new("1"));
        let empty = Some(OsStr::new(""));
        assert!(ColorChoice::Auto.enabled(true, None));
        assert!(ColorChoice::Auto.enabled(true, empty));
        assert!(!ColorChoice::Auto.enabled(true, set));
        assert!(!ColorChoice::Auto.enabled(false, None));
        assert!(ColorChoice::Always.enabled(false, set));
        assert!(!ColorChoice::Never.enabled(true, None));
    }

    #[test]
    fn printable_escapes_controls_and_bidi() {
        assert!(matches!(printable("plain\ttext\n"), Cow::Borrowed(_)));
        assert_eq!(printable("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        assert_eq!(printable("x\u{202E}y\r"), "x\\u{202e}y\\u{d}");
    }

    #[test]
    fn object_paths() {
        let ns = ObjectRef::new("DaemonSet", Some("kube-system"), "aws-node");
        assert_eq!(object_path(&ns), "DaemonSet/kube-system/aws-node");
        assert_eq!(object_path(&ObjectRef::global("Node", "n1")), "Node/n1");
    }
}
