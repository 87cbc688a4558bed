//! Cilium agent and operator logs as evidence: the signature catalogue
//! (`data/log-signatures.json`), the line formats Cilium has written from
//! 1.12 to 1.20, and a streaming scanner that keeps only per-signature
//! aggregates (count, first and last time, one sample line), never the log.
//!
//! The model holds one [`LogFile`] per log read; rules match Event messages
//! against the same catalogue ([`Catalogue::event_matches`]).

mod catalogue;
mod line;
mod scan;

pub use catalogue::{Catalogue, KnownIssue, Signature, Stream};
pub use line::{looks_like_log, parse_line, LineFormat, ParsedLine};
pub use scan::{scan, ScanLimits};

use serde::Serialize;

/// Which container wrote a log.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Container {
    /// `cilium-agent` of a Cilium DaemonSet pod.
    Agent,
    /// `cilium-operator` of the operator Deployment.
    Operator,
    /// Another container named in a sysdump file name (an init container,
    /// cilium-envoy, hubble-relay, …).
    Other(String),
    /// Neither the file name nor the lines tell.
    Unknown,
}

impl Container {
    pub fn describe(&self) -> &str {
        match self {
            Container::Agent => "cilium-agent",
            Container::Operator => "cilium-operator",
            Container::Other(name) => name,
            Container::Unknown => "unknown container",
        }
    }
}

/// One signature seen in one log file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogHit {
    /// The signature's id in the catalogue.
    pub signature: String,
    pub count: u64,
    /// Line number (1-based) of the first line that matched.
    pub first_line: u64,
    /// Timestamps of the first and last matching lines, when they have one.
    pub first_time: Option<String>,
    pub last_time: Option<String>,
    /// The first matching line, cut to [`SAMPLE_CHARS`].
    pub sample: String,
}

/// Characters of a matching line kept as its sample.
pub const SAMPLE_CHARS: usize = 600;

/// What reading one log gave: where it came from, its shape, and the
/// signatures it holds (the log itself is not kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogFile {
    /// File or archive member.
    pub source: String,
    /// The pod, from a sysdump file name (`logs-POD-CONTAINER-TS.log`).
    pub pod: Option<String>,
    pub container: Container,
    /// The previous instance of the container (`-prev.log`, `--previous`).
    pub previous: bool,
    /// The formats of the lines that parsed, most frequent first.
    pub formats: Vec<(LineFormat, u64)>,
    /// Whether lines carry kubelet's RFC3339Nano prefix (`--timestamps`).
    pub kubelet_timestamps: bool,
    pub lines: u64,
    /// Lines that are not log lines of their own (stack traces, verifier
    /// output, wrapped text).
    pub continuation_lines: u64,
    /// Lines longer than the line limit: cut there, the rest not read.
    pub cut_lines: u64,
    /// Lines that are not valid UTF-8 (read with replacement characters).
    pub invalid_utf8_lines: u64,
    /// Lines at `level=error`/`fatal`/`panic`.
    pub error_lines: u64,
    /// Why reading stopped before the end, if it did.
    pub stopped: Option<String>,
    /// Timestamps of the first and last lines that carry one.
    pub first_time: Option<String>,
    pub last_time: Option<String>,
    pub hits: Vec<LogHit>,
}

impl LogFile {
    /// "cilium-agent of pod cilium-abcde (previous instance)".
    pub fn origin(&self) -> String {
        let mut out = self.container.describe().to_string();
        if let Some(pod) = &self.pod {
            out.push_str(&format!(" of pod {pod}"));
        }
        if self.previous {
            out.push_str(" (previous instance)");
        }
        out
    }

    /// The report's input note for this file.
    pub fn note(&self) -> String {
        let format = match self.formats.first() {
            Some((f, _)) => f.describe(),
            None => "no recognised",
        };
        let mut out = format!(
            "{} log: {} line(s), {} format{}",
            self.origin(),
            self.lines,
            format,
            if self.kubelet_timestamps {
                " with kubelet timestamps"
            } else {
                ""
            }
        );
        let signatures = self.hits.len();
        out.push_str(&format!("; {signatures} known signature(s)"));
        if self.cut_lines > 0 {
            out.push_str(&format!(
                "; {} line(s) over the line limit cut",
                self.cut_lines
            ));
        }
        if self.invalid_utf8_lines > 0 {
            out.push_str(&format!(
                "; {} line(s) not valid UTF-8",
                self.invalid_utf8_lines
            ));
        }
        if let Some(why) = &self.stopped {
            out.push_str(&format!("; {why}"));
        }
        out
    }
}

/// What a sysdump's file name says: `logs-<pod>-<container>-<ts>.log` and
/// `logs-<pod>-<container>-<ts>-prev.log` (cilium-cli `ciliumLogsFileName`,
/// `ciliumPreviousLogsFileName`; `<ts>` is `YYYYMMDD-HHMMSS`).
pub fn sysdump_log_name(source: &str) -> Option<(Option<String>, Container, bool)> {
    let file = source.rsplit(['/', '!']).next().unwrap_or(source);
    let stem = file.strip_prefix("logs-")?.strip_suffix(".log")?;
    let (stem, previous) = match stem.strip_suffix("-prev") {
        Some(s) => (s, true),
        None => (stem, false),
    };
    // `-YYYYMMDD-HHMMSS`
    let bytes = stem.as_bytes();
    if bytes.len() < 17 {
        return None;
    }
    let ts = &stem[stem.len() - 16..];
    let ok = ts.as_bytes()[0] == b'-'
        && ts.as_bytes()[9] == b'-'
        && ts[1..9].bytes().all(|b| b.is_ascii_digit())
        && ts[10..].bytes().all(|b| b.is_ascii_digit());
    if !ok {
        return None;
    }
    let rest = &stem[..stem.len() - 16];
    for (suffix, container) in [
        ("-cilium-agent", Container::Agent),
        ("-cilium-operator", Container::Operator),
    ] {
        if let Some(pod) = rest.strip_suffix(suffix).filter(|p| !p.is_empty()) {
            return Some((Some(pod.to_string()), container, previous));
        }
    }
    // Another container of a Cilium pod (`logs-cilium-abcde-config-…`):
    // the agent pod name is `cilium-<5 chars>`.
    let parts: Vec<&str> = rest.splitn(3, '-').collect();
    if let [first, id, container] = parts[..] {
        if id.len() == 5 && !container.is_empty() {
            return Some((
                Some(format!("{first}-{id}")),
                Container::Other(container.to_string()),
                previous,
            ));
        }
    }
    Some((None, Container::Other(rest.to_string()), previous))
}

#[cfg(test)]
mod tests;
