//! The signature catalogue, `data/log-signatures.json` (written by
//! `scripts/build-knowledge.py` from the shared catalogue and the project's
//! researched additions), with one Aho-Corasick automaton per stream so a
//! line is matched against every signature in one pass.

use std::sync::OnceLock;

use aho_corasick::AhoCorasick;
use serde::{Deserialize, Serialize};

/// Where a signature is looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    /// Agent and operator container logs.
    Log,
    /// Kubernetes Event messages.
    Event,
}

/// One known log or Event string, what it means and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    pub id: String,
    /// Case-sensitive substrings; any of them identifies the signature.
    pub patterns: Vec<String>,
    pub streams: Vec<Stream>,
    /// The component that writes it: agent, operator, cni, kubelet.
    pub component: String,
    /// The rule it feeds.
    pub rule: String,
    /// Substrings of routine lines that hold a pattern but are not the
    /// signature (the operator's `No more IPs available, creating new ENI`).
    #[serde(default)]
    pub unless: Vec<String>,
    pub cilium_versions: String,
    pub meaning: String,
    pub cause: String,
    pub fix: String,
    pub example: String,
    /// Address of a public report quoting it.
    pub report: String,
    /// Which file of the build it came from.
    pub origin: String,
    /// The known issues (shared `known_issues.json`) the signature is a sign of.
    #[serde(default)]
    pub known_issues: Vec<KnownIssue>,
}

/// A version-specific cause a signature can be the sign of.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KnownIssue {
    pub id: String,
    pub title: String,
    /// The affected Cilium versions, in words.
    pub affected: String,
    /// The Cilium releases that fix it (empty: none known).
    pub fixed_in: Vec<String>,
    pub workaround: String,
    pub source: String,
}

#[derive(Deserialize)]
struct CatalogueFile {
    signatures: Vec<Signature>,
}

/// Markers of which container wrote a log, matched in the same pass.
/// `subsys=cilium-operator-aws` / `-generic` (operator) and the agent's
/// `daemon`, `datapath-loader`, `endpoint-manager` subsystems; JSON logs
/// spell them `"subsys":"…"`.
const OPERATOR_MARKERS: &[&str] = &["subsys=cilium-operator", "\"subsys\":\"cilium-operator"];
const AGENT_MARKERS: &[&str] = &[
    "subsys=daemon",
    "subsys=datapath-loader",
    "subsys=endpoint-manager",
    "\"subsys\":\"daemon\"",
    "\"subsys\":\"datapath-loader\"",
];

/// What one pattern of the log automaton stands for.
#[derive(Debug, Clone, Copy)]
pub(super) enum LogPattern {
    Signature(usize),
    Operator,
    Agent,
}

pub struct Catalogue {
    pub signatures: Vec<Signature>,
    log: AhoCorasick,
    log_patterns: Vec<LogPattern>,
    event: AhoCorasick,
    event_patterns: Vec<usize>,
}

impl std::fmt::Debug for Catalogue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalogue")
            .field("signatures", &self.signatures.len())
            .finish()
    }
}

const EMBEDDED: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/log-signatures.json"
));

impl Catalogue {
    /// The catalogue compiled into the binary.
    pub fn embedded() -> &'static Catalogue {
        static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
        CATALOGUE.get_or_init(|| {
            Catalogue::parse(EMBEDDED).expect("the embedded catalogue is validated by its tests")
        })
    }

    pub fn parse(text: &str) -> Result<Catalogue, String> {
        let file: CatalogueFile =
            serde_json::from_str(text).map_err(|e| format!("log-signatures.json: {e}"))?;
        let mut log_texts: Vec<&str> = Vec::new();
        let mut log_patterns = Vec::new();
        let mut event_texts: Vec<&str> = Vec::new();
        let mut event_patterns = Vec::new();
        for (index, s) in file.signatures.iter().enumerate() {
            if s.patterns.is_empty() || s.patterns.iter().any(|p| p.trim().is_empty()) {
                return Err(format!("{}: an empty pattern", s.id));
            }
            for p in &s.patterns {
                if s.streams.contains(&Stream::Log) {
                    log_texts.push(p);
                    log_patterns.push(LogPattern::Signature(index));
                }
                if s.streams.contains(&Stream::Event) {
                    event_texts.push(p);
                    event_patterns.push(index);
                }
            }
        }
        for m in OPERATOR_MARKERS {
            log_texts.push(m);
            log_patterns.push(LogPattern::Operator);
        }
        for m in AGENT_MARKERS {
            log_texts.push(m);
            log_patterns.push(LogPattern::Agent);
        }
        let build = |texts: &[&str]| AhoCorasick::new(texts).map_err(|e| e.to_string());
        Ok(Catalogue {
            log: build(&log_texts)?,
            log_patterns,
            event: build(&event_texts)?,
            event_patterns,
            signatures: file.signatures,
        })
    }

    pub fn by_id(&self, id: &str) -> Option<&Signature> {
        self.signatures.iter().find(|s| s.id == id)
    }

    /// Whether `line` holds a routine exception of signature `index`.
    pub(super) fn excepted(&self, index: usize, line: &[u8]) -> bool {
        self.signatures[index]
            .unless
            .iter()
            .any(|u| memchr::memmem::find(line, u.as_bytes()).is_some())
    }

    /// The signatures that feed `rule`.
    pub fn for_rule<'a>(&'a self, rule: &'a str) -> impl Iterator<Item = &'a Signature> + 'a {
        self.signatures.iter().filter(move |s| s.rule == rule)
    }

    /// What the log automaton finds in a line, each pattern once.
    pub(super) fn log_matches(&self, line: &[u8], out: &mut Vec<LogPattern>) {
        out.clear();
        for m in self.log.find_overlapping_iter(line) {
            out.push(self.log_patterns[m.pattern().as_usize()]);
        }
    }

    /// The signatures an Event's text holds, each once, in catalogue order.
    pub fn event_matches(&self, text: &str) -> Vec<&Signature> {
        let mut found: Vec<usize> = self
            .event
            .find_overlapping_iter(text)
            .map(|m| self.event_patterns[m.pattern().as_usize()])
            .collect();
        found.sort_unstable();
        found.dedup();
        found.retain(|&i| !self.excepted(i, text.as_bytes()));
        found.into_iter().map(|i| &self.signatures[i]).collect()
    }
}
