//! What the LOG rules (and the rules that take log/Event lines as
//! evidence) share: the sightings of a rule's catalogue signatures in the
//! logs and Events of the snapshot, how one is quoted, and the finding a
//! signature gives on its own.

use crate::rules::inputs;
use std::collections::BTreeMap;

use crate::findings::{Finding, ObjectRef, Severity};
use crate::logs::{Catalogue, LogFile, LogHit, Signature, Stream};
use crate::model::Event;
use crate::rules::{Context, Missing, Outcome, RuleMeta};

/// How to provide the agent and operator logs.
pub(crate) const LOGS: &str = "a `cilium sysdump` (it holds every agent and operator log), or \
kubectl -n kube-system logs deployment/cilium-operator --timestamps > cilium-operator.log and \
kubectl -n kube-system logs ds/cilium -c cilium-agent --timestamps > cilium-agent.log \
(add --previous for a crashed container)";
pub(crate) const EVENTS: &str = inputs::EVENTS;

/// Where a signature was seen.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Seen<'a> {
    Log(&'a LogFile, &'a LogHit),
    Event(&'a Event),
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Sighting<'a> {
    pub signature: &'a Signature,
    pub seen: Seen<'a>,
}

impl Sighting<'_> {
    pub(crate) fn count(&self) -> u64 {
        match self.seen {
            Seen::Log(_, hit) => hit.count,
            Seen::Event(e) => u64::from(e.count.unwrap_or(1).max(1)),
        }
    }

    /// The quoted line or message.
    pub(crate) fn text(&self) -> &str {
        match self.seen {
            Seen::Log(_, hit) => &hit.sample,
            Seen::Event(e) => e.text(),
        }
    }

    /// The object the finding is about: the pod whose log it is (or the
    /// log file), the Event's object.
    pub(crate) fn object(&self) -> ObjectRef {
        match self.seen {
            Seen::Log(file, _) => match &file.pod {
                Some(pod) => ObjectRef::new("Pod", None, pod),
                None => ObjectRef::global("LogFile", &file.source),
            },
            Seen::Event(e) => {
                let o = e.object();
                ObjectRef::new(
                    o.kind.as_deref().unwrap_or("Object"),
                    o.namespace.as_deref().or(e.metadata.namespace.as_deref()),
                    o.name.as_deref().unwrap_or("(unnamed)"),
                )
            }
        }
    }

    /// One evidence line: the line, file/container, first and last time
    /// seen, count.
    pub(crate) fn evidence(&self) -> String {
        let when = |first: Option<&str>, last: Option<&str>| match (first, last) {
            (Some(f), Some(l)) if f != l => format!("first {f}, last {l}"),
            (Some(f), _) => format!("at {f}"),
            _ => "no timestamps".to_string(),
        };
        match self.seen {
            Seen::Log(file, hit) => format!(
                "{} [{}] {}×, {}, first at line {}: {}",
                file.source,
                file.origin(),
                hit.count,
                when(hit.first_time.as_deref(), hit.last_time.as_deref()),
                hit.first_line,
                hit.sample
            ),
            Seen::Event(e) => {
                let (first, last) = e.times();
                let text: String = e.text().chars().take(crate::logs::SAMPLE_CHARS).collect();
                format!(
                    "Event {} on {} {}×, {}: {}",
                    e.reason.as_deref().unwrap_or("(no reason)"),
                    self.object(),
                    self.count(),
                    when(first, last),
                    text.split_whitespace().collect::<Vec<_>>().join(" ")
                )
            }
        }
    }
}

/// Every sighting of the signatures that feed `rule`: per log file and
/// signature one, per Event one.
pub(crate) fn sightings<'a>(cx: &Context<'a>, rule: &str) -> Vec<Sighting<'a>> {
    let catalogue = Catalogue::embedded();
    let mut out = Vec::new();
    for file in cx.cluster.logs.iter().flatten() {
        for hit in &file.hits {
            if let Some(s) = catalogue.by_id(&hit.signature).filter(|s| s.rule == rule) {
                out.push(Sighting {
                    signature: s,
                    seen: Seen::Log(file, hit),
                });
            }
        }
    }
    if catalogue
        .for_rule(rule)
        .any(|s| s.streams.contains(&Stream::Event))
    {
        for e in cx.cluster.events.iter().flatten() {
            for s in catalogue.event_matches(e.text()) {
                if s.rule == rule {
                    out.push(Sighting {
                        signature: s,
                        seen: Seen::Event(e),
                    });
                }
            }
        }
    }
    out
}

/// The rule's inputs: not evaluated when none of the streams its
/// signatures live in was provided.
pub(crate) fn available(cx: &Context, rule: &str) -> Result<(), Missing> {
    let catalogue = Catalogue::embedded();
    let wants = |stream| {
        catalogue
            .for_rule(rule)
            .any(|s| s.streams.contains(&stream))
    };
    let logs = wants(Stream::Log) && cx.cluster.logs.is_some();
    let events = wants(Stream::Event) && cx.cluster.events.is_some();
    if logs || events {
        return Ok(());
    }
    match (wants(Stream::Log), wants(Stream::Event)) {
        (true, true) => Err(Missing::new(
            "no Cilium agent/operator logs and no Event objects",
            format!("{LOGS}; {EVENTS}"),
        )),
        (true, false) => Err(Missing::new("no Cilium agent/operator logs", LOGS)),
        _ => Err(Missing::new("no Event objects", EVENTS)),
    }
}

/// The EC2 action an AWS SDK error names: `operation error EC2:
/// DescribeInstances,` (SDK v2) or `not authorized to perform:
/// ec2:CreateNetworkInterface`.
pub(crate) fn ec2_action(text: &str) -> Option<String> {
    if let Some(at) = text.find("operation error EC2: ") {
        let rest = &text[at + "operation error EC2: ".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if !name.is_empty() {
            return Some(format!("ec2:{name}"));
        }
    }
    if let Some(at) = text.find("perform: ec2:") {
        let rest = &text[at + "perform: ".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == ':')
            .collect();
        return Some(name);
    }
    None
}

/// Seconds since the epoch of an RFC3339 timestamp (`2025-03-31T13:58:30…`).
pub(crate) fn epoch_seconds(ts: &str) -> Option<i64> {
    let b = ts.as_bytes();
    if b.len() < 19 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| ts.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3_600 + mm * 60 + ss)
}

/// How long a log sighting spans, in seconds, when both ends have times.
pub(crate) fn span_seconds(s: &Sighting) -> Option<i64> {
    match s.seen {
        Seen::Log(_, hit) => Some(
            epoch_seconds(hit.last_time.as_deref()?)? - epoch_seconds(hit.first_time.as_deref()?)?,
        ),
        Seen::Event(e) => {
            let (first, last) = e.times();
            Some(epoch_seconds(last?)? - epoch_seconds(first?)?)
        }
    }
}

/// Evidence lines of some sightings, most frequent first, at most `max`.
pub(crate) fn evidence_lines(sightings: &[Sighting], max: usize) -> Vec<String> {
    let mut sorted: Vec<&Sighting> = sightings.iter().collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.count()));
    let mut out: Vec<String> = sorted.iter().take(max).map(|s| s.evidence()).collect();
    if sightings.len() > max {
        out.push(format!(
            "… and {} more log file(s)/Event(s)",
            sightings.len() - max
        ));
    }
    out
}

/// One finding per signature: its meaning, where and how often it was
/// seen, its cause and fix from the catalogue.
pub(crate) fn signature_findings(
    meta: &'static RuleMeta,
    sightings: &[Sighting],
    severity: Severity,
) -> Vec<Finding> {
    let mut by_signature: BTreeMap<&str, Vec<Sighting>> = BTreeMap::new();
    for s in sightings {
        by_signature.entry(&s.signature.id).or_default().push(*s);
    }
    let mut findings = Vec::new();
    for group in by_signature.values() {
        let s = group[0].signature;
        let total: u64 = group.iter().map(Sighting::count).sum();
        let logs = group
            .iter()
            .filter(|g| matches!(g.seen, Seen::Log(..)))
            .count();
        let events = group.len() - logs;
        let mut where_ = Vec::new();
        if logs > 0 {
            where_.push(format!("{logs} log file(s)"));
        }
        if events > 0 {
            where_.push(format!("{events} Event(s)"));
        }
        let action = group
            .iter()
            .find_map(|g| ec2_action(g.text()))
            .map(|a| format!(" The failing call: {a}."))
            .unwrap_or_default();
        let mut f = meta.finding(
            group[0].object(),
            format!(
                "{} Seen {total}× in {} (signature {} \"{}\").{action}",
                s.meaning,
                where_.join(" and "),
                s.id,
                s.patterns[0]
            ),
        );
        f.severity = severity;
        for line in evidence_lines(group, 5) {
            f = f.with_evidence(line);
        }
        f = f.with_remediation(remediation(s));
        findings.push(f);
    }
    findings
}

pub(crate) fn remediation(s: &Signature) -> String {
    let mut out = format!(
        "# Cause: {}\n# Fix: {}\n# Cilium versions: {}\n# A report quoting it: {}\n",
        s.cause, s.fix, s.cilium_versions, s.report
    );
    for ki in &s.known_issues {
        let fixed = if ki.fixed_in.is_empty() {
            "no fixed release known".to_string()
        } else {
            format!("fixed in {}", ki.fixed_in.join(", "))
        };
        out.push_str(&format!(
            "# Known issue {}: {} (affected: {}; {fixed}). Workaround: {} ({})\n",
            ki.id, ki.title, ki.affected, ki.workaround, ki.source
        ));
    }
    out
}

/// An existing rule's outcome with its log/Event signatures as evidence
/// (from `streams` only: a rule that reads Events itself takes the logs):
/// the lines join its first finding; when the rule found nothing or could
/// not evaluate, the lines alone decide (they are the failure itself).
pub(crate) fn with_signature_evidence(
    cx: &Context,
    meta: &'static RuleMeta,
    outcome: Outcome,
    streams: &[Stream],
) -> Outcome {
    let all = sightings(cx, meta.code);
    let seen: Vec<Sighting> = all
        .iter()
        .copied()
        .filter(|s| match s.seen {
            Seen::Log(..) => streams.contains(&Stream::Log),
            Seen::Event(_) => streams.contains(&Stream::Event),
        })
        .collect();
    match outcome {
        Ok(findings) if !findings.is_empty() => {
            let mut findings = append_evidence(findings, &seen);
            // The version-specific causes of every signature seen, also of
            // those the rule read itself (CAP002's Events).
            append_known_issues(&mut findings, &all);
            Ok(findings)
        }
        _ if !seen.is_empty() => Ok(signature_findings(meta, &seen, meta.severity)),
        other => other,
    }
}

/// The known issues of the signatures seen, once each, added to the first
/// finding's remediation.
fn append_known_issues(findings: &mut [Finding], seen: &[Sighting]) {
    let Some(first) = findings.first_mut() else {
        return;
    };
    let mut done = std::collections::BTreeSet::new();
    for s in seen {
        if done.insert(&s.signature.id) && !s.signature.known_issues.is_empty() {
            let text = remediation(s.signature);
            let issues: Vec<&str> = text
                .lines()
                .filter(|l| l.starts_with("# Known issue"))
                .collect();
            if !first.remediation.is_empty() && !first.remediation.ends_with('\n') {
                first.remediation.push('\n');
            }
            first.remediation.push_str(&format!(
                "# {} ({}) is a known sign of:\n{}\n",
                s.signature.id,
                s.signature.patterns[0],
                issues.join("\n")
            ));
        }
    }
}

/// The sightings as more evidence of the first finding.
pub(crate) fn append_evidence(mut findings: Vec<Finding>, seen: &[Sighting]) -> Vec<Finding> {
    if let Some(first) = findings.first_mut() {
        first.evidence.extend(evidence_lines(seen, 5));
    }
    findings
}

/// The log sightings of another rule's signatures (CAP006 quotes the
/// agents' exhausted-pool lines that feed CAP002).
pub(crate) fn log_sightings<'a>(cx: &Context<'a>, rule: &str) -> Vec<Sighting<'a>> {
    sightings(cx, rule)
        .into_iter()
        .filter(|s| matches!(s.seen, Seen::Log(..)))
        .collect()
}
