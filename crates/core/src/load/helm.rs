//! Cilium Helm values: `--helm-values` files (YAML or JSON) and the values a
//! sysdump holds, deep-merged like `helm -f a -f b`: later files win, maps
//! merge key by key, anything else (lists too) is replaced, and `null`
//! deletes the key.

use serde_json::{Map, Value};

use super::detect;
use super::error::{malformed, LoadError, LoadOptions};
use super::yaml::parse_stream;

/// Parse one values file into a mapping.
///
/// Umbrella charts nest the Cilium values under `cilium:`; a file whose only
/// top-level key is `cilium` (holding a mapping) is read as those values.
pub(super) fn parse_values(
    source: &str,
    bytes: &[u8],
    options: &LoadOptions,
) -> Result<Value, LoadError> {
    let text = detect::text(bytes).map_err(|why| malformed(source, None, why))?;
    let docs: Vec<Value> = if text.trim_start().starts_with('{') {
        let value = serde_json::from_str(text).map_err(|e| {
            malformed(
                source,
                Some(format!("line {} column {}", e.line(), e.column())),
                format!("invalid JSON: {e}"),
            )
        })?;
        vec![value]
    } else {
        if text.len() > options.yaml_max_document_bytes {
            return Err(malformed(
                source,
                None,
                format!(
                    "Helm values of {} bytes, over the {} byte YAML limit",
                    text.len(),
                    options.yaml_max_document_bytes
                ),
            ));
        }
        parse_stream(source, text, options)?
            .map_err(|e| malformed(source, e.location, e.message))?
    };
    let mut values = Value::Object(Map::new());
    for doc in docs {
        match doc {
            Value::Object(_) => values = merge(values, doc),
            Value::Null => {}
            other => {
                return Err(malformed(
                    source,
                    None,
                    format!("Helm values must be a mapping, not {}", kind_of(&other)),
                ))
            }
        }
    }
    Ok(unwrap_umbrella(values))
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "a list",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a boolean",
        Value::Null => "null",
        Value::Object(_) => "a mapping",
    }
}

fn unwrap_umbrella(values: Value) -> Value {
    match values {
        Value::Object(mut map)
            if map.len() == 1 && map.get("cilium").is_some_and(Value::is_object) =>
        {
            map.remove("cilium").unwrap_or_default()
        }
        other => other,
    }
}

/// Every layer merged in order, later wins; None when there is none.
pub(super) fn merge_layers(layers: Vec<Value>) -> Option<Value> {
    (!layers.is_empty()).then(|| layers.into_iter().fold(Value::Object(Map::new()), merge))
}

/// `helm -f base -f over`: `over` wins.
pub(super) fn merge(base: Value, over: Value) -> Value {
    match (base, over) {
        (Value::Object(mut base), Value::Object(over)) => {
            for (key, value) in over {
                if value.is_null() {
                    base.remove(&key);
                    continue;
                }
                let merged = match base.remove(&key) {
                    Some(old) => merge(old, value),
                    None => value,
                };
                base.insert(key, merged);
            }
            Value::Object(base)
        }
        (_, over) => over,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn later_files_win_maps_merge_lists_replace() {
        let a = json!({"eni": {"enabled": true, "awsReleaseExcessIPs": true}, "tunnel": "vxlan",
                       "extraArgs": ["a", "b"]});
        let b = json!({"eni": {"enabled": false}, "tunnel": null, "extraArgs": ["c"]});
        assert_eq!(
            merge(a, b),
            json!({"eni": {"enabled": false, "awsReleaseExcessIPs": true}, "extraArgs": ["c"]})
        );
    }

    #[test]
    fn parses_yaml_json_and_umbrella_values() {
        let o = LoadOptions::default();
        let v = parse_values("v.yaml", b"# c\neni:\n  enabled: true\n", &o).unwrap();
        assert_eq!(v, json!({"eni": {"enabled": true}}));
        let v = parse_values("v.json", br#"{"ipam": {"mode": "eni"}}"#, &o).unwrap();
        assert_eq!(v, json!({"ipam": {"mode": "eni"}}));
        let v = parse_values("u.yaml", b"cilium:\n  ipam:\n    mode: eni\n", &o).unwrap();
        assert_eq!(v, json!({"ipam": {"mode": "eni"}}));
        assert_eq!(parse_values("e.yaml", b"", &o).unwrap(), json!({}));
        let err = parse_values("l.yaml", b"- a\n- b\n", &o)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("l.yaml") && err.contains("must be a mapping"),
            "{err}"
        );
        let err = parse_values("bad.yaml", b"a: 1\na: 2\n", &o)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("bad.yaml: line 2"), "{err}");
    }
}
