//! Prometheus text exposition format (version 0.0.4), parsed as the
//! reference parser (client_golang `expfmt`) does: `# HELP`/`# TYPE` lines,
//! other comments, samples `name{label="value",…} value [timestamp]` with
//! escaped label values, NaN/±Inf, odd whitespace and trailing commas.
//!
//! Errors (bad names, escapes, values, conflicting `# TYPE`, a histogram
//! bucket without a numeric `le`) name the line. A family whose `# TYPE`
//! repeats with the same type is accepted: several scrapes concatenated in
//! one file are common in real dumps.
//!
//! Memory bound: only `cilium_*` and `hubble_*` samples are kept (an agent
//! scrape also carries thousands of Go runtime and process samples the
//! rules never read).

use std::collections::{BTreeMap, HashMap};

use crate::model::MetricSample;

#[derive(Debug)]
pub(super) struct ParseError {
    pub line: usize,
    pub message: String,
}

#[derive(Debug)]
pub(super) struct Parsed {
    pub kept: Vec<MetricSample>,
    /// Samples of other families, parsed and dropped.
    pub dropped: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Untyped,
}

fn kept_family(name: &str) -> bool {
    name.starts_with("cilium_") || name.starts_with("hubble_")
}

/// Does the text start (after blank lines and plain comments) with a
/// `# HELP`/`# TYPE` line or a valid sample?
pub(super) fn looks_like(text: &str) -> bool {
    for line in text.lines() {
        let line = line.trim_matches([' ', '\t', '\r']);
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            match comment.split([' ', '\t']).find(|t| !t.is_empty()) {
                Some("HELP" | "TYPE") => return true,
                _ => continue,
            }
        }
        // `port: 8080` would be a valid sample (`:` is a name character):
        // no real metric name ends with a colon, YAML keys do.
        return sample(line).is_ok_and(|s| !s.name.ends_with(':'));
    }
    false
}

pub(super) fn parse(source: &str, text: &str) -> Result<Parsed, ParseError> {
    let mut types: HashMap<String, Type> = HashMap::new();
    let mut parsed = Parsed {
        kept: Vec::new(),
        dropped: 0,
    };
    for (index, line) in text.lines().enumerate() {
        let at = |message: String| ParseError {
            line: index + 1,
            message,
        };
        let line = line.trim_matches([' ', '\t', '\r']);
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            directive(comment, &mut types).map_err(at)?;
            continue;
        }
        let s = sample(line).map_err(at)?;
        check_family(&s, &types).map_err(at)?;
        if kept_family(s.name) {
            parsed.kept.push(MetricSample {
                name: s.name.to_string(),
                labels: s.labels,
                value: s.value,
                source: source.to_string(),
            });
        } else {
            parsed.dropped += 1;
        }
    }
    Ok(parsed)
}

fn tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split([' ', '\t']).filter(|t| !t.is_empty())
}

/// The first blank-separated word of `s` and the rest.
fn word(s: &str) -> (&str, &str) {
    let s = skip_blank(s);
    s.split_at(s.find([' ', '\t']).unwrap_or(s.len()))
}

/// `# HELP name doc`, `# TYPE name type`; any other comment is ignored.
fn directive(comment: &str, types: &mut HashMap<String, Type>) -> Result<(), String> {
    let (keyword, rest) = word(comment);
    if !matches!(keyword, "HELP" | "TYPE") {
        return Ok(());
    }
    let (name, rest) = word(rest);
    // `# HELP` with nothing after it is a plain comment (expfmt does the same).
    if name.is_empty() {
        return Ok(());
    }
    if !valid_metric_name(name) {
        return Err(format!("invalid metric name {name:?}"));
    }
    if keyword == "HELP" {
        return unescape(skip_blank(rest), false).map(|_| ());
    }
    let ty = match word(rest).0 {
        "counter" => Type::Counter,
        "gauge" => Type::Gauge,
        "histogram" => Type::Histogram,
        "summary" => Type::Summary,
        "untyped" => Type::Untyped,
        "" => return Err(format!("# TYPE {name} without a type")),
        other => return Err(format!("unknown metric type {other:?}")),
    };
    match types.insert(name.to_string(), ty) {
        Some(before) if before != ty => Err(format!(
            "second # TYPE line for {name} with another type ({before:?}, then {ty:?})"
        )),
        _ => Ok(()),
    }
}

/// Histogram buckets need a numeric `le`, summary quantiles a numeric `quantile`.
fn check_family(s: &Sample, types: &HashMap<String, Type>) -> Result<(), String> {
    let numeric_label = |label: &str| match s.labels.get(label) {
        None => Err(format!("{} sample without a {label:?} label", s.name)),
        Some(v) => parse_float(v)
            .map(|_| ())
            .ok_or_else(|| format!("{} sample with a non-numeric {label} {v:?}", s.name)),
    };
    if types.get(s.name) == Some(&Type::Summary) {
        return numeric_label("quantile");
    }
    if let Some(base) = s.name.strip_suffix("_bucket") {
        if types.get(base) == Some(&Type::Histogram) {
            return numeric_label("le");
        }
    }
    Ok(())
}

fn valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Go's ParseFloat spellings that matter here: decimals, exponents, NaN, ±Inf.
fn parse_float(text: &str) -> Option<f64> {
    if text.is_empty() || text.contains('_') {
        return None;
    }
    text.parse().ok()
}

/// Undo `\\`, `\n` (and `\"` in label values); any other escape is an error.
fn unescape(text: &str, quotes: bool) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if quotes => out.push('"'),
            Some(other) => return Err(format!("invalid escape sequence \\{other}")),
            None => return Err("escape at the end of the line".into()),
        }
    }
    Ok(out)
}

#[derive(Debug)]
struct Sample<'a> {
    name: &'a str,
    labels: BTreeMap<String, String>,
    value: f64,
}

fn skip_blank(s: &str) -> &str {
    s.trim_start_matches([' ', '\t'])
}

fn split_name(s: &str, label: bool) -> (&str, &str) {
    let end = s
        .char_indices()
        .find(|&(i, c)| {
            !(c.is_ascii_alphabetic()
                || c == '_'
                || (!label && c == ':')
                || (i > 0 && c.is_ascii_digit()))
        })
        .map_or(s.len(), |(i, _)| i);
    s.split_at(end)
}

/// One sample line (already trimmed, not a comment).
fn sample(line: &str) -> Result<Sample<'_>, String> {
    let (name, mut rest) = split_name(line, false);
    if name.is_empty() {
        return Err(format!("invalid metric name at {:?}", truncate(line)));
    }
    let mut labels = BTreeMap::new();
    rest = skip_blank(rest);
    if let Some(inner) = rest.strip_prefix('{') {
        rest = label_set(inner, &mut labels)?;
    }
    let mut words = tokens(rest);
    let value = words.next().ok_or_else(|| format!("{name}: no value"))?;
    let value = parse_float(value).ok_or_else(|| format!("{name}: invalid value {value:?}"))?;
    if let Some(timestamp) = words.next() {
        // The timestamp is read (it must be valid) but not kept: a dump is one instant.
        timestamp
            .parse::<i64>()
            .map_err(|_| format!("{name}: invalid timestamp {timestamp:?}"))?;
    }
    if let Some(extra) = words.next() {
        return Err(format!(
            "{name}: unexpected text {:?} after the sample",
            truncate(extra)
        ));
    }
    Ok(Sample {
        name,
        labels,
        value,
    })
}

/// Parse `label="value",…}`; returns what follows the closing brace.
fn label_set<'a>(mut s: &'a str, labels: &mut BTreeMap<String, String>) -> Result<&'a str, String> {
    loop {
        s = skip_blank(s);
        if let Some(rest) = s.strip_prefix('}') {
            return Ok(rest);
        }
        let (label, rest) = split_name(s, true);
        if label.is_empty() {
            return Err(format!("invalid label name at {:?}", truncate(s)));
        }
        let rest = skip_blank(rest)
            .strip_prefix('=')
            .ok_or_else(|| format!("label {label}: expected '='"))?;
        let rest = skip_blank(rest)
            .strip_prefix('"')
            .ok_or_else(|| format!("label {label}: expected a quoted value"))?;
        let end =
            closing_quote(rest).ok_or_else(|| format!("label {label}: unterminated value"))?;
        let value = unescape(&rest[..end], true).map_err(|e| format!("label {label}: {e}"))?;
        if labels.insert(label.to_string(), value).is_some() {
            return Err(format!("label {label} repeated"));
        }
        s = skip_blank(&rest[end + 1..]);
        if let Some(after_comma) = s.strip_prefix(',') {
            s = after_comma;
        } else if !s.starts_with('}') {
            return Err(format!("label {label}: expected ',' or '}}'"));
        }
    }
}

/// Byte index of the first unescaped `"`.
fn closing_quote(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(i),
            _ => {}
        }
    }
    None
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(40) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_whitespace_nan_inf_timestamps() {
        let got = parse(
            "f",
            "# TYPE cilium_x counter\n\
             cilium_x{a=\"val1\",b=\"base\\\"v\\\\al\\nue\"} 0.23 1234567890\n\
             cilium_y {a=\"v\"\t,b   =   \"w\"\t\t} +Inf 54321\n\
             cilium_y{ a = \"v2\" , }-Inf\n\
             cilium_z NaN\n\
             cilium_e{} 3\n",
        )
        .unwrap();
        assert_eq!(got.kept.len(), 5);
        assert_eq!(got.kept[0].labels["b"], "base\"v\\al\nue");
        assert_eq!(got.kept[1].value, f64::INFINITY);
        assert_eq!(got.kept[2].value, f64::NEG_INFINITY);
        assert_eq!(got.kept[2].labels["a"], "v2");
        assert!(got.kept[3].value.is_nan());
        assert!(got.kept[4].labels.is_empty());
    }

    #[test]
    fn keeps_only_cilium_and_hubble() {
        let got = parse(
            "f",
            "go_goroutines 10\ncilium_up 1\nhubble_flows_processed_total{type=\"L3\"} 2\n",
        )
        .unwrap();
        assert_eq!(got.dropped, 1);
        assert_eq!(got.kept.len(), 2);
        assert_eq!(got.kept[0].source, "f");
    }

    #[test]
    fn summaries_and_histograms() {
        let got = parse(
            "f",
            "# TYPE cilium_s summary\ncilium_s{quantile=\".3\"} 1\n\
             cilium_s{quantile=\"-12.34\",} NaN\ncilium_s_sum 08 15\n",
        )
        .unwrap();
        assert_eq!(got.kept.len(), 3);
        assert_eq!(got.kept[2].value, 8.0);
        let err = parse("f", "# TYPE h histogram\nh_bucket{le=\"bla\"} 3.14\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("le"), "{}", err.message);
        assert!(parse("f", "# TYPE s summary\ns 1\n").is_err());
    }

    #[test]
    fn type_lines() {
        let err = parse("f", "\n# TYPE metric counter\n# TYPE metric untyped\n").unwrap_err();
        assert_eq!(err.line, 3);
        parse("f", "# TYPE m counter\nm 1\n# TYPE m counter\nm 2\n").expect("same type repeated");
        assert!(parse("f", "# TYPE m bogus\n").is_err());
        assert!(parse("f", "# TYPE m\n").is_err());
        parse(
            "f",
            "# HELP\n# HELP \n# HELP m\n# HELP m two-line\\n doc \\\\ \n# just a comment\n",
        )
        .expect("HELP variants");
        assert!(parse("f", "# HELP m bad \\q escape\n").is_err());
    }

    #[test]
    fn bad_samples_name_the_line() {
        for bad in [
            "m{a=\"1\"",
            "m{a=1} 1",
            "m{a=\"1\",a=\"2\"} 1",
            "m{a=\"\\x\"} 1",
            "m",
            "m 1 2 3",
            "m one",
            "m 1 1.5",
            "1m 1",
            "m{0a=\"1\"} 1",
        ] {
            let err = parse("f", &format!("ok 1\n{bad}\n")).unwrap_err();
            assert_eq!(err.line, 2, "{bad}: {}", err.message);
        }
    }

    #[test]
    fn recognition() {
        assert!(looks_like("\n# A comment\n# TYPE x gauge\n"));
        assert!(looks_like("minimal_metric 1.234\n"));
        assert!(looks_like("  # HELP  name2  doc\n"));
        assert!(!looks_like("port: 8080\n"));
        assert!(!looks_like("kind: Pod\n"));
        assert!(!looks_like("# only a comment\n"));
        assert!(!looks_like("Linux host 5.15.74 aarch64\n"));
        assert!(!looks_like("Flows/s: 16.27\n"));
    }
}
