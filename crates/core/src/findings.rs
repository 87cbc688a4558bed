//! Findings and the report that carries them: the JSON contract of
//! `check --format json` (fields may be added, never renamed or removed).

use std::fmt;
use std::str::FromStr;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use crate::rules::RuleMeta;

/// Severity, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// Most severe first, as reports list them.
    pub const ALL_DESCENDING: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL_DESCENDING
            .into_iter()
            .find(|sev| sev.as_str() == s)
            .ok_or_else(|| format!("unknown severity {s:?} (critical, high, medium, low, info)"))
    }
}

/// The object a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectRef {
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    pub fn new(kind: &str, namespace: Option<&str>, name: &str) -> Self {
        ObjectRef {
            kind: kind.to_string(),
            namespace: namespace.filter(|n| !n.is_empty()).map(str::to_string),
            name: name.to_string(),
        }
    }

    /// A cluster-scoped or AWS object.
    pub fn global(kind: &str, name: &str) -> Self {
        ObjectRef::new(kind, None, name)
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// What a rule found. It carries its rule's identity and documentation
/// (`rule`), so no renderer looks a rule up by its code; in JSON the rule
/// is its `rule` code and `name`, as it always was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: &'static RuleMeta,
    pub severity: Severity,
    pub object: ObjectRef,
    pub message: String,
    pub evidence: Vec<String>,
    /// The fix, as copy-pasteable commands or steps.
    pub remediation: String,
    /// Where to read more (`eks-cilium-doctor explain CODE` and upstream docs).
    pub docs: String,
    /// Where the object is declared: the IaC file, line and address
    /// (`preflight`). Set by the engine after the rules ran (rules do no
    /// I/O) or by an IAC rule from the facts it reads.
    pub location: Option<SourceLocation>,
    /// The dump file the object was read from (`check`), line 1: for the
    /// SARIF physical location only, so the JSON contract does not change
    /// with the file names a dump was saved under.
    pub read_from: Option<SourceLocation>,
}

impl Serialize for Finding {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let fields = 8 + usize::from(self.location.is_some());
        let mut s = serializer.serialize_struct("Finding", fields)?;
        s.serialize_field("rule", self.rule.code)?;
        s.serialize_field("name", self.rule.name)?;
        s.serialize_field("severity", &self.severity)?;
        s.serialize_field("object", &self.object)?;
        s.serialize_field("message", &self.message)?;
        s.serialize_field("evidence", &self.evidence)?;
        s.serialize_field("remediation", &self.remediation)?;
        s.serialize_field("docs", &self.docs)?;
        match &self.location {
            Some(location) => s.serialize_field("location", location)?,
            None => s.skip_field("location")?,
        }
        s.end()
    }
}

/// A rule as the JSON contract names it: by its code.
fn rule_code<S: Serializer>(rule: &&'static RuleMeta, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(rule.code)
}

/// Rules by their codes.
fn rule_codes<S: Serializer>(
    rules: &[&'static RuleMeta],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(rules.iter().map(|r| r.code))
}

impl Finding {
    /// Where the finding is, for formats that need a file (SARIF).
    pub fn file_location(&self) -> Option<&SourceLocation> {
        self.location.as_ref().or(self.read_from.as_ref())
    }
}

/// Where an object comes from: a file, the 1-based line in it (1 when the
/// format has no lines, such as one-line plan JSON), and the IaC address
/// (`module.eks.aws_eks_addon.this["vpc-cni"]`) when there is one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SourceLocation {
    pub file: String,
    pub line: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

impl SourceLocation {
    pub fn new(file: impl Into<String>, line: u32) -> Self {
        SourceLocation {
            file: file.into(),
            line: line.max(1),
            address: None,
        }
    }

    pub fn with_address(mut self, address: impl Into<String>) -> Self {
        self.address = Some(address.into());
        self
    }
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)?;
        if let Some(address) = &self.address {
            write!(f, " ({address})")?;
        }
        Ok(())
    }
}

impl Finding {
    pub fn with_evidence(mut self, line: impl Into<String>) -> Self {
        self.evidence.push(line.into());
        self
    }

    pub fn with_remediation(mut self, text: impl Into<String>) -> Self {
        self.remediation = text.into();
        self
    }

    /// Make the object's names safe to read and to paste: a namespace or
    /// name that is not a plain shell word (no valid Kubernetes name is
    /// one, a crafted dump's can be) is shell-quoted wherever the fix
    /// names it, and control characters in the names, the message and
    /// the evidence are escaped, so no name forges a report line.
    /// `cluster` (the EKS cluster's name, which fixes name too) is quoted
    /// the same way.
    pub fn sanitize_names(&mut self, cluster: Option<&str>) {
        use crate::hygiene::{escape_control, shell_quote};
        let names = [
            self.object.namespace.clone(),
            Some(self.object.name.clone()),
            cluster.map(str::to_string),
        ];
        let mut quoted_already: Vec<String> = Vec::new();
        for name in names.into_iter().flatten() {
            if quoted_already.iter().any(|q| q.contains(&name)) {
                continue;
            }
            if let std::borrow::Cow::Owned(quoted) = shell_quote(&name) {
                // Occurrences a rule quoted itself stay as they are.
                self.remediation = self
                    .remediation
                    .replace(&quoted, "\0")
                    .replace(&name, &quoted)
                    .replace('\0', &quoted);
                quoted_already.push(quoted);
            }
        }
        let escape = |s: &mut String| {
            if let std::borrow::Cow::Owned(e) = escape_control(s) {
                *s = e;
            }
        };
        escape(&mut self.object.name);
        if let Some(ns) = &mut self.object.namespace {
            escape(ns);
        }
        escape(&mut self.message);
        self.evidence.iter_mut().for_each(escape);
    }
}

/// `file` relative to `base` when it lies under it (both taken from the
/// working directory when relative), else unchanged: SARIF wants URIs
/// relative to the repository root (`--base-dir`).
pub fn relative_path(file: &str, base: &std::path::Path, cwd: &std::path::Path) -> String {
    let absolute = |p: &std::path::Path| {
        let joined = if p.is_absolute() {
            p.to_path_buf()
        } else {
            cwd.join(p)
        };
        // Lexically: `a/./b`, `a/x/../b`.
        let mut out = std::path::PathBuf::new();
        for part in joined.components() {
            match part {
                std::path::Component::CurDir => {}
                std::path::Component::ParentDir => {
                    out.pop();
                }
                other => out.push(other),
            }
        }
        out
    };
    let (file_abs, base_abs) = (absolute(std::path::Path::new(file)), absolute(base));
    match file_abs.strip_prefix(&base_abs) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
        _ => file.to_string(),
    }
}

/// A rule that could not run because an input was missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotEvaluated {
    #[serde(serialize_with = "rule_code")]
    pub rule: &'static RuleMeta,
    /// The missing input, in words.
    pub missing: String,
    /// The command that would provide it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub how_to_provide: Option<String>,
}

/// An input file (or archive member) that was not used, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedInput {
    pub path: String,
    pub reason: String,
}

/// A finding removed by a suppression, kept for the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suppressed {
    #[serde(serialize_with = "rule_code")]
    pub rule: &'static RuleMeta,
    pub object: ObjectRef,
    pub reason: String,
    /// The suppressed finding's severity and message, so reports can say
    /// what was hidden.
    pub severity: Severity,
    pub message: String,
    /// The suppressed finding's location (SARIF needs one on every result).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<SourceLocation>,
    #[serde(skip)]
    pub read_from: Option<SourceLocation>,
}

/// A suppression entry of the config file that matched no finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnmatchedSuppression {
    pub rule: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub critical: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    pub info: usize,
}

impl Summary {
    pub fn of(findings: &[Finding]) -> Summary {
        let mut s = Summary::default();
        for f in findings {
            *match f.severity {
                Severity::Critical => &mut s.critical,
                Severity::High => &mut s.high,
                Severity::Medium => &mut s.medium,
                Severity::Low => &mut s.low,
                Severity::Info => &mut s.info,
            } += 1;
        }
        s
    }

    pub fn count(&self, severity: Severity) -> usize {
        match severity {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Info => self.info,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolInfo {
    pub name: &'static str,
    pub version: &'static str,
}

impl Default for ToolInfo {
    fn default() -> Self {
        ToolInfo {
            name: "eks-cilium-doctor",
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClusterInfo {
    pub name: Option<String>,
    pub kubernetes_version: Option<String>,
    pub cilium_version: Option<String>,
    pub ipam_mode: Option<String>,
}

impl ClusterInfo {
    /// Control characters escaped: the names come from the input.
    pub fn escaped(self) -> ClusterInfo {
        let escape = |s: Option<String>| s.map(|s| crate::hygiene::escape_control(&s).into_owned());
        ClusterInfo {
            name: escape(self.name),
            kubernetes_version: escape(self.kubernetes_version),
            cilium_version: escape(self.cilium_version),
            ipam_mode: escape(self.ipam_mode),
        }
    }
}

/// Something the report says about an input that was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputNote {
    pub path: String,
    pub note: String,
}

/// How old the knowledge behind a report is: the newest source date over
/// all fact families, and each family's date (`data/knowledge-dates.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KnowledgeInfo {
    pub date: String,
    pub families: std::collections::BTreeMap<String, String>,
}

impl KnowledgeInfo {
    pub fn of(knowledge: &crate::knowledge::Knowledge) -> KnowledgeInfo {
        KnowledgeInfo {
            date: knowledge.dates.date().to_string(),
            families: knowledge
                .dates
                .families
                .iter()
                .map(|(name, f)| (name.clone(), f.date.to_string()))
                .collect(),
        }
    }

    /// `knowledge of 2026-08-22 (cilium_releases 2026-08-22, ...)`.
    pub fn describe(&self) -> String {
        let families: Vec<String> = self
            .families
            .iter()
            .map(|(name, date)| format!("{name} {date}"))
            .collect();
        format!("knowledge of {} ({})", self.date, families.join(", "))
    }
}

/// The result of `check`: what the JSON renderer writes, and what every
/// other renderer reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: ToolInfo,
    pub cluster: ClusterInfo,
    /// The date date-dependent rules were evaluated for (`--as-of`).
    pub as_of: String,
    /// How old the facts the rules compared against are.
    pub knowledge: KnowledgeInfo,
    pub findings: Vec<Finding>,
    /// Codes of the rules that ran (with or without findings), in registry
    /// order: lets JUnit report a passing test case per clean rule.
    #[serde(serialize_with = "rule_codes")]
    pub evaluated_rules: Vec<&'static RuleMeta>,
    pub not_evaluated: Vec<NotEvaluated>,
    pub skipped_inputs: Vec<SkippedInput>,
    /// Inputs that were read, with a note (kind from the file name, overlaps).
    pub input_notes: Vec<InputNote>,
    /// Calls of a live collection that were denied or unsupported.
    pub collection_gaps: Vec<crate::snapshot::CollectionGap>,
    pub suppressed: Vec<Suppressed>,
    pub unmatched_suppressions: Vec<UnmatchedSuppression>,
    pub summary: Summary,
}

impl Report {
    /// Every finding's (and suppressed finding's) file relative to `base`
    /// ([`relative_path`]).
    pub fn locations_relative_to(&mut self, base: &std::path::Path, cwd: &std::path::Path) {
        let locations = self
            .findings
            .iter_mut()
            .flat_map(|f| [f.location.as_mut(), f.read_from.as_mut()])
            .chain(
                self.suppressed
                    .iter_mut()
                    .flat_map(|s| [s.location.as_mut(), s.read_from.as_mut()]),
            )
            .flatten();
        for at in locations {
            at.file = relative_path(&at.file, base, cwd);
        }
    }
}

impl Report {
    /// The most severe finding's severity, if any.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}
