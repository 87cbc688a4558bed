//! The line formats Cilium's agent and operator have written (shared
//! `log_signatures.json` `log_formats`):
//! - logrus text without a timestamp (<= 1.13.15, 1.14.0-1.14.9, 1.15.0-1.15.3):
//!   `level=warning msg="…" subsys=eni`;
//! - logrus text-ts (1.13.16+, 1.14.10+, 1.15.4+, 1.16, 1.17; RFC3339Nano
//!   in 1.17): `time="2024-07-22T17:26:29Z" level=warning msg="…"`;
//! - slog text (>= 1.18): `time=2025-03-31T13:58:30Z level=info msg="…"`;
//! - JSON (logrus JSONFormatter, slog JSONHandler; `logOptions.format`):
//!   `{"level":"warning","msg":"…","subsys":"eni"}`;
//!
//! each with or without kubelet's RFC3339Nano prefix and a space
//! (`kubectl logs --timestamps`, cilium-cli sysdump from v0.15.23).

use serde::Serialize;

/// The shape of one log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LineFormat {
    /// logrus text, no timestamp: `level=… msg=…`.
    LogrusText,
    /// logrus text-ts: `time="…" level=…`.
    LogrusTextTs,
    /// slog text: `time=… level=…` (time unquoted).
    SlogText,
    /// One JSON object per line with `level` and `msg`.
    Json,
}

impl LineFormat {
    pub fn describe(self) -> &'static str {
        match self {
            LineFormat::LogrusText => "logrus text (level=… msg=…)",
            LineFormat::LogrusTextTs => "logrus text-ts (time=\"…\" level=…)",
            LineFormat::SlogText => "slog text (time=… level=…)",
            LineFormat::Json => "JSON",
        }
    }
}

/// What a log line says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedLine<'a> {
    pub format: LineFormat,
    /// kubelet's prefix, when present.
    pub kubelet_time: Option<&'a str>,
    /// The line's own `time=` (or JSON `time`/`ts`).
    pub time: Option<&'a str>,
    pub level: &'a str,
}

impl ParsedLine<'_> {
    /// The timestamp to quote: the line's own, else kubelet's.
    pub fn timestamp(&self) -> Option<&str> {
        self.time.or(self.kubelet_time)
    }

    pub fn is_error(&self) -> bool {
        matches!(
            self.level,
            "error" | "fatal" | "panic" | "ERROR" | "FATAL" | "PANIC"
        )
    }
}

/// `2025-03-31T13:58:30.074755498Z` and the like: digits, `-`, `T`, `:`,
/// `.`, and a `Z` or an offset.
fn is_rfc3339(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() >= 20
        && b.len() <= 40
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b.iter()
            .all(|c| c.is_ascii_digit() || b"-T:.Z+".contains(c))
}

/// Split kubelet's timestamp prefix off a line.
pub fn strip_kubelet_prefix(line: &str) -> (Option<&str>, &str) {
    if let Some((first, rest)) = line.split_once(' ') {
        if is_rfc3339(first) {
            return (Some(first), rest);
        }
    }
    (None, line)
}

/// A level logrus or slog writes.
fn is_level(word: &str) -> bool {
    matches!(
        word,
        "debug" | "info" | "warning" | "warn" | "error" | "fatal" | "panic" | "trace"
    ) || matches!(
        word,
        "DEBUG" | "INFO" | "WARN" | "WARNING" | "ERROR" | "FATAL" | "PANIC"
    )
}

/// The value of `key=` at the start of `text`: (value, rest after it).
fn logfmt_value<'a>(text: &'a str, key: &str) -> Option<(&'a str, &'a str, bool)> {
    let rest = text.strip_prefix(key)?.strip_prefix('=')?;
    if let Some(quoted) = rest.strip_prefix('"') {
        let end = quoted.find('"')?;
        Some((&quoted[..end], quoted[end + 1..].trim_start(), true))
    } else {
        let end = rest.find(' ').unwrap_or(rest.len());
        Some((&rest[..end], rest[end..].trim_start(), false))
    }
}

/// A JSON string field `"key":"value"` anywhere in a one-line object
/// (values with escapes are returned raw).
fn json_field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let at = line.find(&format!("\"{key}\":\""))?;
    let rest = &line[at + key.len() + 4..];
    let mut escaped = false;
    for (i, c) in rest.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(&rest[..i]),
            _ => escaped = false,
        }
    }
    None
}

/// Parse one line as a Cilium log line; `None` when it is not one (a
/// continuation of a stack trace, another program's output).
pub fn parse_line(line: &str) -> Option<ParsedLine<'_>> {
    let (kubelet_time, rest) = strip_kubelet_prefix(line);
    let rest = rest.trim_end_matches(['\r', '\n']);
    if rest.starts_with("{\"") && rest.ends_with('}') {
        let level = json_field(rest, "level")?;
        if !is_level(level) || json_field(rest, "msg").is_none() && !rest.contains("\"msg\":") {
            return None;
        }
        let time = json_field(rest, "time").or_else(|| json_field(rest, "ts"));
        return Some(ParsedLine {
            format: LineFormat::Json,
            kubelet_time,
            time,
            level,
        });
    }
    let (format, time, after) = match logfmt_value(rest, "time") {
        Some((time, after, quoted)) => {
            if !is_rfc3339(time) {
                return None;
            }
            let format = if quoted {
                LineFormat::LogrusTextTs
            } else {
                LineFormat::SlogText
            };
            (format, Some(time), after)
        }
        None => (LineFormat::LogrusText, None, rest),
    };
    let (level, _, _) = logfmt_value(after, "level")?;
    if !is_level(level) {
        return None;
    }
    Some(ParsedLine {
        format,
        kubelet_time,
        time,
        level,
    })
}

/// Lines looked at to recognise a log.
const HEAD_LINES: usize = 20;

/// Whether a text starts like a Cilium log: its first non-empty line
/// parses, and so do at least half of its first non-empty lines (a stack
/// trace or verifier dump may follow the first line). `head` may be cut
/// in the middle of a line or of a UTF-8 sequence: the cut line is not
/// judged.
pub fn looks_like_log(head: &[u8]) -> bool {
    if head.contains(&0) {
        return false;
    }
    let text = String::from_utf8_lossy(head);
    let complete = match text.rfind('\n') {
        Some(end) if end + 1 < text.len() => &text[..end],
        _ => &text[..],
    };
    let mut seen = 0;
    let mut parsed = 0;
    for line in complete.lines().filter(|l| !l.trim().is_empty()) {
        let ok = parse_line(line).is_some();
        if seen == 0 && !ok {
            return false;
        }
        seen += 1;
        parsed += usize::from(ok);
        if seen == HEAD_LINES {
            break;
        }
    }
    seen > 0 && parsed * 2 >= seen
}
