//! The streaming scanner: a log is read line by line through a bounded
//! buffer (a line over the limit is cut there and counted, its rest
//! skipped), each line matched against every signature in one pass, and
//! only the aggregates kept.

use std::collections::BTreeMap;
use std::io::{BufRead, Read};

use super::catalogue::{Catalogue, LogPattern};
use super::line::{parse_line, LineFormat};
use super::{sysdump_log_name, Container, LogFile, LogHit, SAMPLE_CHARS};

/// Bounds of one scan.
#[derive(Debug, Clone, Copy)]
pub struct ScanLimits {
    /// Bytes of one line looked at; the rest of a longer line is skipped.
    pub max_line_bytes: usize,
    /// Lines with NUL bytes after which the input is taken for binary and
    /// not read further.
    pub max_binary_lines: u64,
}

impl Default for ScanLimits {
    fn default() -> Self {
        ScanLimits {
            max_line_bytes: 64 * 1024,
            max_binary_lines: 100,
        }
    }
}

/// A timestamp as kept (bounded: it comes from the input).
fn keep_time(time: Option<&str>) -> Option<String> {
    time.map(|t| t.chars().take(40).collect())
}

fn sample(line: &str) -> String {
    let mut out: String = line
        .chars()
        .take(SAMPLE_CHARS)
        .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
        .collect();
    if line.chars().nth(SAMPLE_CHARS).is_some() {
        out.push('…');
    }
    out
}

struct State<'c> {
    catalogue: &'c Catalogue,
    hits: BTreeMap<usize, LogHit>,
    formats: BTreeMap<LineFormat, u64>,
    kubelet: u64,
    lines: u64,
    continuation: u64,
    cut: u64,
    invalid: u64,
    binary: u64,
    errors: u64,
    operator_marks: u64,
    agent_marks: u64,
    first_time: Option<String>,
    last_time: String,
    matches: Vec<LogPattern>,
    signatures: Vec<usize>,
}

impl State<'_> {
    fn line(&mut self, raw: &[u8]) {
        self.lines += 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.contains(&0) {
            self.binary += 1;
            return;
        }
        let text = match std::str::from_utf8(raw) {
            Ok(t) => std::borrow::Cow::Borrowed(t),
            Err(_) => {
                self.invalid += 1;
                String::from_utf8_lossy(raw)
            }
        };
        let parsed = parse_line(&text);
        let time = match &parsed {
            Some(p) => {
                *self.formats.entry(p.format).or_default() += 1;
                self.kubelet += u64::from(p.kubelet_time.is_some());
                self.errors += u64::from(p.is_error());
                p.timestamp()
            }
            None => {
                self.continuation += 1;
                super::line::strip_kubelet_prefix(&text).0
            }
        };
        if let Some(t) = time {
            if self.first_time.is_none() {
                self.first_time = keep_time(Some(t));
            }
            // Reused buffer: no allocation per line.
            self.last_time.clear();
            self.last_time.extend(t.chars().take(40));
        }
        self.catalogue.log_matches(raw, &mut self.matches);
        if self.matches.is_empty() {
            return;
        }
        self.signatures.clear();
        for m in &self.matches {
            match *m {
                LogPattern::Operator => self.operator_marks += 1,
                LogPattern::Agent => self.agent_marks += 1,
                LogPattern::Signature(index) if !self.catalogue.excepted(index, raw) => {
                    self.signatures.push(index)
                }
                LogPattern::Signature(_) => {}
            }
        }
        // Several patterns of one signature on one line count once.
        self.signatures.sort_unstable();
        self.signatures.dedup();
        for &index in &self.signatures {
            let lines = self.lines;
            let hit = self.hits.entry(index).or_insert_with(|| LogHit {
                signature: self.catalogue.signatures[index].id.clone(),
                count: 0,
                first_line: lines,
                first_time: keep_time(time),
                last_time: None,
                sample: sample(&text),
            });
            hit.count += 1;
            hit.last_time = keep_time(time);
        }
    }
}

/// Read a log from `reader` (its name is `source`), keeping only the
/// aggregates. Memory is bounded by the line limit, whatever the size.
pub fn scan(
    reader: impl Read,
    source: &str,
    catalogue: &Catalogue,
    limits: ScanLimits,
) -> std::io::Result<LogFile> {
    let mut reader = std::io::BufReader::with_capacity(64 * 1024, reader);
    let mut state = State {
        catalogue,
        hits: BTreeMap::new(),
        formats: BTreeMap::new(),
        kubelet: 0,
        lines: 0,
        continuation: 0,
        cut: 0,
        invalid: 0,
        binary: 0,
        errors: 0,
        operator_marks: 0,
        agent_marks: 0,
        first_time: None,
        last_time: String::new(),
        matches: Vec::new(),
        signatures: Vec::new(),
    };
    let mut line: Vec<u8> = Vec::with_capacity(1024);
    let mut cutting = false;
    let mut stopped = None;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        let (chunk, used, end_of_line) = match memchr::memchr(b'\n', buf) {
            Some(at) => (&buf[..at], at + 1, true),
            None => (buf, buf.len(), false),
        };
        if !cutting {
            let room = limits.max_line_bytes - line.len();
            if chunk.len() > room {
                line.extend_from_slice(&chunk[..room]);
                cutting = true;
                state.cut += 1;
            } else {
                line.extend_from_slice(chunk);
            }
        }
        reader.consume(used);
        if end_of_line {
            state.line(&line);
            line.clear();
            cutting = false;
            if state.binary > limits.max_binary_lines {
                stopped = Some(format!(
                    "binary content (NUL bytes) by line {}: not read further",
                    state.lines
                ));
                break;
            }
        }
    }
    if !line.is_empty() {
        // The last line without its newline (a truncated log).
        state.line(&line);
    }
    let mut formats: Vec<(LineFormat, u64)> = state.formats.into_iter().collect();
    formats.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let (pod, mut container, mut previous) =
        sysdump_log_name(source).unwrap_or((None, Container::Unknown, false));
    if container == Container::Unknown {
        container = if state.operator_marks > state.agent_marks {
            Container::Operator
        } else if state.agent_marks > 0 {
            Container::Agent
        } else {
            Container::Unknown
        };
    }
    if !previous {
        let name = source.rsplit(['/', '!']).next().unwrap_or(source);
        previous = name.contains("-prev.") || name.contains("previous");
    }
    let parsed: u64 = formats.iter().map(|(_, n)| n).sum();
    Ok(LogFile {
        source: source.to_string(),
        pod,
        container,
        previous,
        formats,
        kubelet_timestamps: state.kubelet * 2 > parsed,
        lines: state.lines,
        continuation_lines: state.continuation,
        cut_lines: state.cut,
        invalid_utf8_lines: state.invalid,
        error_lines: state.errors,
        stopped,
        first_time: state.first_time,
        last_time: (!state.last_time.is_empty()).then_some(state.last_time),
        hits: state.hits.into_values().collect(),
    })
}
