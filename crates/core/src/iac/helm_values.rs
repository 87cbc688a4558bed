//! A Helm release's user values as Helm merges them: each `values` document
//! in order (maps merge, anything else is replaced), then each `set` entry
//! with Helm's `--set` path syntax (`a.b`, escaped dots `a\.b`, indices
//! `a[0]`, lists `{x,y}`). Chart defaults are not laid under them: the
//! model keeps user values, as `helm get values` gives them, and the rules
//! apply the chart's defaults themselves.

use serde_json::{Map, Value};

use crate::load::LoadOptions;

/// Stands for a value known only after apply: present (so presence checks
/// pass) but never a value a rule would match.
pub(super) const UNKNOWN: &str = "(known after apply)";
/// Stands for a `set_sensitive` value, which is never echoed.
pub(super) const SENSITIVE: &str = "(sensitive)";

/// Most elements a `[N]` index may create (a hostile index must not
/// allocate gigabytes).
const MAX_INDEX: usize = 1024;

#[derive(Debug)]
pub(super) enum SetValue {
    /// `set { name, value, type }`: the text and its type (`auto`/`string`).
    Text(Option<String>, Option<String>),
    /// `set_list { name, value = [...] }`.
    List(Value),
    Unknown,
    Sensitive,
}

#[derive(Debug)]
pub(super) struct Values {
    root: Value,
    /// Keys whose value is known only after apply.
    pub unknown_keys: Vec<String>,
    /// Strings holding an uninterpolated `${...}`.
    pub placeholders_found: usize,
}

impl Default for Values {
    fn default() -> Self {
        Values {
            root: Value::Object(Map::new()),
            unknown_keys: Vec::new(),
            placeholders_found: 0,
        }
    }
}

fn placeholders(v: &Value) -> usize {
    match v {
        Value::String(s) => usize::from(s.contains("${")),
        Value::Array(a) => a.iter().map(placeholders).sum(),
        Value::Object(m) => m.values().map(placeholders).sum(),
        _ => 0,
    }
}

/// `a.b\.c[1].d` → segments `a`, `b.c`, index 1, `d`.
#[derive(Debug, PartialEq)]
enum Segment {
    Key(String),
    Index(usize),
}

fn parse_path(path: &str) -> Result<Vec<Segment>, String> {
    let mut out = Vec::new();
    let mut key = String::new();
    let mut chars = path.chars().peekable();
    let mut after_index = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(next) => key.push(next),
                None => return Err("ends in a lone backslash".into()),
            },
            '.' => {
                if key.is_empty() && !after_index {
                    return Err("an empty key".into());
                }
                if !key.is_empty() {
                    out.push(Segment::Key(std::mem::take(&mut key)));
                }
                after_index = false;
            }
            '[' => {
                if !key.is_empty() {
                    out.push(Segment::Key(std::mem::take(&mut key)));
                }
                let mut digits = String::new();
                loop {
                    match chars.next() {
                        Some(']') => break,
                        Some(d) if d.is_ascii_digit() => digits.push(d),
                        _ => return Err("an index that is not `[N]`".into()),
                    }
                }
                let index: usize = digits.parse().map_err(|_| "an empty index".to_string())?;
                if index > MAX_INDEX {
                    return Err(format!("index {index} over {MAX_INDEX}"));
                }
                out.push(Segment::Index(index));
                after_index = true;
            }
            c => key.push(c),
        }
    }
    if !key.is_empty() {
        out.push(Segment::Key(key));
    }
    if out.is_empty() {
        return Err("an empty name".into());
    }
    Ok(out)
}

/// Helm's typing of an `auto` value: booleans, `null`, integers, else text.
fn typed(text: &str) -> Value {
    match text {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" => Value::Null,
        _ => {
            let leading_zero = text.len() > 1 && text.starts_with('0');
            match text.parse::<i64>() {
                Ok(n) if !leading_zero => Value::from(n),
                _ => Value::String(text.to_string()),
            }
        }
    }
}

fn auto_value(text: &str) -> Value {
    match text.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
        Some(inner) if !inner.is_empty() => Value::Array(inner.split(',').map(typed).collect()),
        Some(_) => Value::Array(Vec::new()),
        None => typed(text),
    }
}

fn put(slot: &mut Value, path: &[Segment], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        *slot = value;
        return;
    };
    match first {
        Segment::Key(k) => {
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            if let Value::Object(m) = slot {
                let child = m.entry(k.clone()).or_insert(Value::Null);
                put(child, rest, value);
            }
        }
        Segment::Index(i) => {
            if !slot.is_array() {
                *slot = Value::Array(Vec::new());
            }
            if let Value::Array(a) = slot {
                if a.len() <= *i {
                    a.resize(*i + 1, Value::Null);
                }
                put(&mut a[*i], rest, value);
            }
        }
    }
}

impl Values {
    /// One `values` document (YAML or JSON), merged over what is there.
    pub(super) fn layer_yaml(&mut self, name: &str, yaml: &str) -> Result<(), String> {
        let layer = crate::load::parse_helm_values(name, yaml.as_bytes(), &LoadOptions::default())
            .map_err(|e| e.to_string())?;
        self.placeholders_found += placeholders(&layer);
        self.root = crate::load::merge_helm_values(std::mem::take(&mut self.root), layer);
        Ok(())
    }

    /// One `set` entry.
    pub(super) fn set(&mut self, name: &str, value: SetValue) -> Result<(), String> {
        let path = parse_path(name)?;
        let value = match value {
            SetValue::Text(None, _) => Value::Null,
            SetValue::Text(Some(text), kind) if kind.as_deref() == Some("string") => {
                Value::String(text)
            }
            SetValue::Text(Some(text), _) => auto_value(&text),
            SetValue::List(v) => v,
            SetValue::Unknown => {
                self.unknown_keys.push(name.to_string());
                Value::String(UNKNOWN.into())
            }
            SetValue::Sensitive => Value::String(SENSITIVE.into()),
        };
        self.placeholders_found += placeholders(&value);
        put(&mut self.root, &path, value);
        Ok(())
    }

    pub(super) fn into_value(self) -> Value {
        self.root
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn set_paths_follow_helm() {
        assert_eq!(
            parse_path(r"a.b\.c[1].d").unwrap(),
            vec![
                Segment::Key("a".into()),
                Segment::Key("b.c".into()),
                Segment::Index(1),
                Segment::Key("d".into())
            ]
        );
        assert!(parse_path("a..b").is_err());
        assert!(parse_path("a[x]").is_err());
        assert!(parse_path("a[99999999]").is_err());
        assert!(parse_path("").is_err());
    }

    #[test]
    fn values_then_set_in_order_typed_like_helm() {
        let mut v = Values::default();
        v.layer_yaml(
            "v0",
            "eni:\n  enabled: false\nipam:\n  mode: cluster-pool\n",
        )
        .unwrap();
        v.layer_yaml("v1", "eni:\n  enabled: true\n").unwrap();
        v.set("ipam.mode", SetValue::Text(Some("eni".into()), None))
            .unwrap();
        v.set(
            "routingMode",
            SetValue::Text(Some("native".into()), Some("string".into())),
        )
        .unwrap();
        v.set("k8sServicePort", SetValue::Text(Some("443".into()), None))
            .unwrap();
        v.set("version", SetValue::Text(Some("0123".into()), None))
            .unwrap();
        v.set(
            "egressMasqueradeInterfaces",
            SetValue::Text(Some("{eth0,eth1}".into()), None),
        )
        .unwrap();
        v.set("k8sServiceHost", SetValue::Unknown).unwrap();
        v.set(
            "hubble.relay.enabled",
            SetValue::Text(Some("true".into()), None),
        )
        .unwrap();
        v.set("secret", SetValue::Sensitive).unwrap();
        assert_eq!(v.unknown_keys, vec!["k8sServiceHost"]);
        assert_eq!(
            v.into_value(),
            json!({"eni": {"enabled": true}, "ipam": {"mode": "eni"}, "routingMode": "native",
                   "k8sServicePort": 443, "version": "0123", "egressMasqueradeInterfaces": ["eth0", "eth1"],
                   "k8sServiceHost": UNKNOWN, "hubble": {"relay": {"enabled": true}}, "secret": SENSITIVE})
        );
    }

    #[test]
    fn placeholders_are_counted_and_bad_yaml_is_an_error() {
        let mut v = Values::default();
        v.layer_yaml("v", "k8sServiceHost: ${API_SERVER_IP}\n")
            .unwrap();
        assert_eq!(v.placeholders_found, 1);
        let err = v.layer_yaml("bad", "a: [1\n").unwrap_err();
        assert!(err.contains("bad"), "{err}");
    }
}
