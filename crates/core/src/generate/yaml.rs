//! A small YAML writer for the generated artifacts: block maps and lists,
//! comments, and scalars quoted whenever a plain scalar could be read as
//! something else (a number, a boolean, a comment). The tests parse every
//! shape back.

/// A YAML value.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    Str(String),
    Bool(bool),
    Int(i64),
    List(Vec<Yaml>),
    Map(Vec<Entry>),
}

/// One key of a map, with comment lines written above it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub value: Yaml,
    pub comments: Vec<String>,
}

impl Yaml {
    pub fn str(s: impl Into<String>) -> Yaml {
        Yaml::Str(s.into())
    }

    /// A map from (key, value) pairs without comments.
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Yaml)>) -> Yaml {
        Yaml::Map(
            entries
                .into_iter()
                .map(|(key, value)| Entry::new(key, value))
                .collect(),
        )
    }
}

impl Entry {
    pub fn new(key: impl Into<String>, value: Yaml) -> Entry {
        Entry {
            key: key.into(),
            value,
            comments: Vec::new(),
        }
    }

    pub fn with_comments(mut self, comments: Vec<String>) -> Entry {
        self.comments = comments;
        self
    }
}

/// A document: comment lines, then the root value.
pub fn document(comments: &[String], root: &Yaml) -> String {
    let mut out = String::new();
    write_comments(&mut out, comments, 0);
    write_value_block(&mut out, root, 0);
    out
}

/// Comment lines are wrapped at this column, except indented ones
/// (commands to copy), which stay whole.
const WIDTH: usize = 100;

fn write_comments(out: &mut String, comments: &[String], indent: usize) {
    let pad = " ".repeat(indent);
    for comment in comments {
        if comment.is_empty() {
            out.push_str(&format!("{pad}#\n"));
        }
        for line in comment.lines() {
            if line.is_empty() {
                out.push_str(&format!("{pad}#\n"));
            } else if line.starts_with(' ') {
                out.push_str(&format!("{pad}# {line}\n"));
            } else {
                for wrapped in wrap(line, WIDTH.saturating_sub(indent + 2).max(40)) {
                    out.push_str(&format!("{pad}# {wrapped}\n"));
                }
            }
        }
    }
}

/// `text` in lines of at most `width` characters, broken between words (a
/// longer word gets a line of its own).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines
}

/// A value on its own lines at `indent` (the document root).
fn write_value_block(out: &mut String, value: &Yaml, indent: usize) {
    match value {
        Yaml::Map(entries) if !entries.is_empty() => write_map(out, entries, indent, None),
        Yaml::List(items) if !items.is_empty() => write_list(out, items, indent),
        scalar => {
            out.push_str(&inline(scalar));
            out.push('\n');
        }
    }
}

/// Map entries at `indent`; `first_prefix` replaces the first line's
/// indentation (the `- ` of a list item).
fn write_map(out: &mut String, entries: &[Entry], indent: usize, first_prefix: Option<&str>) {
    for (i, entry) in entries.iter().enumerate() {
        let prefix = match first_prefix {
            Some(p) if i == 0 => p.to_string(),
            _ => {
                write_comments(out, &entry.comments, indent);
                " ".repeat(indent)
            }
        };
        out.push_str(&prefix);
        out.push_str(&key(&entry.key));
        out.push(':');
        match &entry.value {
            Yaml::Map(inner) if !inner.is_empty() => {
                out.push('\n');
                write_map(out, inner, indent + 2, None);
            }
            Yaml::List(items) if !items.is_empty() => {
                out.push('\n');
                write_list(out, items, indent);
            }
            scalar => {
                out.push(' ');
                out.push_str(&inline(scalar));
                out.push('\n');
            }
        }
    }
}

/// List items at `indent` (`- ` at the parent key's column, as kubectl writes).
fn write_list(out: &mut String, items: &[Yaml], indent: usize) {
    let pad = " ".repeat(indent);
    for item in items {
        match item {
            Yaml::Map(entries) if !entries.is_empty() => {
                write_comments(out, &entries[0].comments, indent);
                write_map(out, entries, indent + 2, Some(&format!("{pad}- ")));
            }
            Yaml::List(inner) if !inner.is_empty() => {
                out.push_str(&pad);
                out.push_str("-\n");
                write_list(out, inner, indent + 2);
            }
            scalar => {
                out.push_str(&pad);
                out.push_str("- ");
                out.push_str(&inline(scalar));
                out.push('\n');
            }
        }
    }
}

/// A scalar or an empty collection on one line.
fn inline(value: &Yaml) -> String {
    match value {
        Yaml::Str(s) => scalar(s),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Int(n) => n.to_string(),
        Yaml::List(_) => "[]".to_string(),
        Yaml::Map(_) => "{}".to_string(),
    }
}

fn key(k: &str) -> String {
    let plain = k.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./-".contains(c));
    if plain && !is_reserved(k) {
        k.to_string()
    } else {
        scalar(k)
    }
}

/// A string scalar: plain when unambiguous, else single-quoted, else (for
/// control characters) double-quoted with JSON escapes, which YAML reads
/// the same way.
fn scalar(s: &str) -> String {
    if is_plain(s) {
        s.to_string()
    } else if !s.chars().any(char::is_control) {
        format!("'{}'", s.replace('\'', "''"))
    } else {
        serde_json::to_string(s).expect("a string serialises")
    }
}

fn is_plain(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    first.is_ascii_alphanumeric()
        && !s.ends_with(' ')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || " _./+,()-=".contains(c))
        && !is_reserved(s)
        && !looks_numeric(s)
}

/// Words some YAML reader takes for a boolean or null.
fn is_reserved(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~"
    )
}

/// Could a YAML 1.1 or 1.2 reader take `s` for a number (`1.20`, `0x1f`, `1e3`)?
fn looks_numeric(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && s.chars()
            .all(|c| c.is_ascii_hexdigit() || "._+-:xXoO".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> serde_json::Value {
        serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    #[test]
    fn scalars_that_look_like_other_types_are_quoted() {
        for (text, want) in [
            ("eni", "eni"),
            ("eth+", "eth+"),
            ("10.0.0.0/8", "10.0.0.0/8"),
            ("1.20", "'1.20'"),
            ("true", "'true'"),
            ("No", "'No'"),
            ("443", "'443'"),
            ("1e3", "'1e3'"),
            ("", "''"),
            ("a: b", "'a: b'"),
            ("x #y", "'x #y'"),
            ("it's", "'it''s'"),
            ("{{ $labels.pod }}", "'{{ $labels.pod }}'"),
            ("two\nlines", "\"two\\nlines\""),
        ] {
            assert_eq!(scalar(text), want, "{text:?}");
            let doc = format!("v: {want}\n");
            assert_eq!(parse(&doc)["v"], serde_json::json!(text), "{text:?}");
        }
    }

    #[test]
    fn long_comments_wrap_but_commands_do_not() {
        let long = "word ".repeat(40);
        let command = format!("  kubectl {}", "x".repeat(120));
        let text = document(&[long.trim().to_string(), command.clone()], &Yaml::Int(1));
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.len() > 3, "{text}");
        assert!(lines
            .iter()
            .filter(|l| l.starts_with("# word"))
            .all(|l| l.len() <= WIDTH));
        assert!(text.contains(&format!("# {command}\n")));
    }

    #[test]
    fn nested_maps_lists_and_comments_read_back() {
        let root = Yaml::Map(vec![
            Entry::new("eni", Yaml::map([("enabled", Yaml::Bool(true))]))
                .with_comments(vec!["ENI mode".into()]),
            Entry::new(
                "groups",
                Yaml::List(vec![Yaml::Map(vec![
                    Entry::new("name", Yaml::str("g")).with_comments(vec!["first".into()]),
                    Entry::new(
                        "rules",
                        Yaml::List(vec![Yaml::map([
                            ("alert", Yaml::str("A")),
                            ("expr", Yaml::str("up{job=\"x\"} == 0")),
                        ])]),
                    ),
                ])]),
            ),
            Entry::new("empty", Yaml::Map(vec![])),
            Entry::new("none", Yaml::List(vec![])),
            Entry::new("port", Yaml::Int(443)),
            Entry::new("io.cilium/aws-node-enabled", Yaml::str("true")),
        ]);
        let text = document(&["header".into(), String::new()], &root);
        assert!(
            text.starts_with("# header\n#\n# ENI mode\neni:\n  enabled: true\n"),
            "{text}"
        );
        let back = parse(&text);
        assert_eq!(
            back,
            serde_json::json!({
                "eni": {"enabled": true},
                "groups": [{"name": "g", "rules": [{"alert": "A", "expr": "up{job=\"x\"} == 0"}]}],
                "empty": {},
                "none": [],
                "port": 443,
                "io.cilium/aws-node-enabled": "true",
            })
        );
    }
}
