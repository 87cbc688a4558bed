//! The leaf parse layer: one JSON or YAML document seen through [`Doc`]
//! (its top-level keys, typed fields, nested mappings), whatever the text
//! format, so one recognition (`dispatch.rs`) serves both; typed parsing
//! with field paths in the reasons ([`Source`], [`Fail`]). It knows no
//! model and no format module.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

/// Why a part of a document could not be used.
#[derive(Debug)]
pub(super) enum Fail {
    /// Wrong field types: that object (or input) is skipped with this reason.
    Invalid(String),
    /// Not even a value (e.g. nesting beyond serde_json's recursion limit):
    /// the load fails.
    Malformed(String),
}

/// `field a.b[2]: invalid type …`, without serde_json's item-relative position.
fn describe(path: &serde_path_to_error::Path, e: &serde_json::Error) -> String {
    let message = e.to_string();
    let message = match message.rfind(" at line ") {
        Some(at) if e.line() > 0 => &message[..at],
        _ => &message,
    };
    let message = explain_depth(message);
    let path = path.to_string();
    if path == "." || path.is_empty() {
        message
    } else {
        format!("field {path}: {message}")
    }
}

/// serde_json stops at 128 nested arrays/objects: say so in words.
pub(super) fn explain_depth(message: &str) -> String {
    if message.contains("recursion limit exceeded") {
        format!("{message} (JSON nested deeper than 128 levels; no Kubernetes or AWS object is)")
    } else {
        message.to_string()
    }
}

/// Something a typed value can be parsed from.
pub(super) trait Source {
    fn parse<T: DeserializeOwned>(&self) -> Result<T, Fail>;
    /// The JSON text, when the source is one (for the one-pass parse).
    fn json_text(&self) -> Option<&str> {
        None
    }
}

fn parse_raw<T: DeserializeOwned>(raw: &RawValue) -> Result<T, Fail> {
    parse_text(raw.get())
}

/// Parse JSON text; the field path is only tracked (a second, slower
/// parse) when the fast parse failed, to name the field in the reason.
fn parse_text<T: DeserializeOwned>(text: &str) -> Result<T, Fail> {
    if let Ok(value) = serde_json::from_str(text) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let why = describe(e.path(), e.inner());
        match e.inner().classify() {
            serde_json::error::Category::Data => Fail::Invalid(why),
            _ => Fail::Malformed(why),
        }
    })
}

fn parse_value<T: DeserializeOwned>(value: &serde_json::Value) -> Result<T, Fail> {
    serde_path_to_error::deserialize(value)
        .map_err(|e| Fail::Invalid(describe(e.path(), e.inner())))
}

/// An explicit `null` means "absent", as when Kubernetes decodes it: Go
/// dumpers marshal nil structs as `null`, trimmed test data writes
/// `spec: null`. Only tried after a parse failed on a null, so the common
/// case pays nothing.
fn failed_on_null(fail: &Fail) -> bool {
    matches!(fail, Fail::Invalid(why) if why.contains("invalid type: null"))
}

fn strip_nulls(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

impl Source for RawValue {
    fn json_text(&self) -> Option<&str> {
        Some(self.get())
    }
    fn parse<T: DeserializeOwned>(&self) -> Result<T, Fail> {
        match parse_raw(self) {
            Err(fail) if failed_on_null(&fail) => {
                let mut value: serde_json::Value =
                    serde_json::from_str(self.get()).map_err(|e| Fail::Malformed(e.to_string()))?;
                strip_nulls(&mut value);
                parse_value(&value)
            }
            result => result,
        }
    }
}

/// JSON text already split out of a larger document (one List item), known
/// to be a single value only once it parses.
pub(super) struct JsonText<'a>(pub &'a str);

impl Source for JsonText<'_> {
    fn json_text(&self) -> Option<&str> {
        Some(self.0)
    }
    fn parse<T: DeserializeOwned>(&self) -> Result<T, Fail> {
        match parse_text(self.0) {
            Err(fail) if failed_on_null(&fail) => {
                let mut value: serde_json::Value =
                    serde_json::from_str(self.0).map_err(|e| Fail::Malformed(e.to_string()))?;
                strip_nulls(&mut value);
                parse_value(&value)
            }
            result => result,
        }
    }
}

impl Source for serde_json::Value {
    fn parse<T: DeserializeOwned>(&self) -> Result<T, Fail> {
        match parse_value(self) {
            Err(fail) if failed_on_null(&fail) => {
                let mut value = self.clone();
                strip_nulls(&mut value);
                parse_value(&value)
            }
            result => result,
        }
    }
}

/// One top-level JSON/YAML mapping.
pub(super) trait Doc: Source + Sized {
    fn keys(&self) -> Vec<&str>;
    fn has(&self, key: &str) -> bool;
    /// The nested mapping under `key` as a document of its own.
    fn sub(&self, key: &str) -> Option<Self>;
    /// Parse the value under `key` (None when absent); errors name `key`.
    fn field<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Fail>;
}

fn under(key: &str, fail: Fail) -> Fail {
    match fail {
        Fail::Invalid(why) => Fail::Invalid(match why.strip_prefix("field ") {
            Some(rest) if rest.starts_with('[') => format!("field {key}{rest}"),
            Some(rest) => format!("field {key}.{rest}"),
            None => format!("field {key}: {why}"),
        }),
        other => other,
    }
}

/// A JSON object split into raw top-level values: big Lists are never held
/// as a JSON tree, each item is parsed on its own.
pub(super) struct JsonDoc<'a> {
    raw: &'a RawValue,
    top: BTreeMap<Cow<'a, str>, &'a RawValue>,
}

impl<'a> JsonDoc<'a> {
    /// None when the value is not an object.
    pub(super) fn new(raw: &'a RawValue) -> Result<Option<Self>, Fail> {
        if !raw.get().trim_start().starts_with('{') {
            return Ok(None);
        }
        let top = serde_json::from_str(raw.get()).map_err(|e| Fail::Malformed(e.to_string()))?;
        Ok(Some(JsonDoc { raw, top }))
    }

    pub(super) fn raw(&self, key: &str) -> Option<&'a RawValue> {
        self.top.get(key).copied()
    }
}

impl Source for JsonDoc<'_> {
    fn json_text(&self) -> Option<&str> {
        Some(self.raw.get())
    }
    fn parse<T: DeserializeOwned>(&self) -> Result<T, Fail> {
        self.raw.parse()
    }
}

impl Doc for JsonDoc<'_> {
    fn keys(&self) -> Vec<&str> {
        self.top.keys().map(|k| k.as_ref()).collect()
    }
    fn has(&self, key: &str) -> bool {
        self.top.contains_key(key)
    }
    fn sub(&self, key: &str) -> Option<Self> {
        JsonDoc::new(self.raw(key)?).ok().flatten()
    }
    fn field<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Fail> {
        match self.raw(key) {
            None => Ok(None),
            Some(raw) => raw.parse().map(Some).map_err(|f| under(key, f)),
        }
    }
}

/// A YAML mapping (or a part of one), already a small JSON value.
pub(super) struct ValueDoc<'a> {
    value: &'a serde_json::Value,
}

impl<'a> ValueDoc<'a> {
    pub(super) fn new(value: &'a serde_json::Value) -> Option<Self> {
        value.is_object().then_some(ValueDoc { value })
    }

    fn map(&self) -> &'a serde_json::Map<String, serde_json::Value> {
        self.value.as_object().expect("ValueDoc holds an object")
    }
}

impl Source for ValueDoc<'_> {
    fn parse<T: DeserializeOwned>(&self) -> Result<T, Fail> {
        self.value.parse()
    }
}

impl Doc for ValueDoc<'_> {
    fn keys(&self) -> Vec<&str> {
        self.map().keys().map(String::as_str).collect()
    }
    fn has(&self, key: &str) -> bool {
        self.map().contains_key(key)
    }
    fn sub(&self, key: &str) -> Option<Self> {
        ValueDoc::new(self.map().get(key)?)
    }
    fn field<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Fail> {
        match self.map().get(key) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|f| under(key, f)),
        }
    }
}

/// Keys any AWS response may carry besides its payload.
const AWS_ENVELOPE: &[&str] = &[
    "ResponseMetadata",
    "NextToken",
    "nextToken",
    "IsTruncated",
    "Marker",
];

/// The document is exactly this AWS output: one of `payload` is present and
/// every key is a payload or envelope key. Helm values have a `cluster:` key
/// too, but never only that.
pub(super) fn aws_shape<D: Doc>(doc: &D, payload: &[&str]) -> bool {
    payload.iter().any(|k| doc.has(k))
        && doc
            .keys()
            .iter()
            .all(|k| payload.contains(k) || AWS_ENVELOPE.contains(k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model;

    #[test]
    fn field_errors_name_the_path() {
        let v = serde_json::json!({"cluster": {"name": 3}});
        let doc = ValueDoc::new(&v).unwrap();
        let err = doc.field::<model::EksCluster>("cluster").unwrap_err();
        match err {
            Fail::Invalid(why) => {
                assert!(why.starts_with("field cluster.name: invalid type"), "{why}")
            }
            Fail::Malformed(m) => panic!("{m}"),
        }
        let raw: Box<RawValue> = serde_json::from_str(r#"{"Subnets":[{"SubnetId":7}]}"#).unwrap();
        let doc = JsonDoc::new(&raw).unwrap().unwrap();
        let Err(Fail::Invalid(why)) = doc.field::<Vec<model::Subnet>>("Subnets") else {
            panic!()
        };
        assert!(
            why.starts_with("field Subnets[0].SubnetId: invalid type"),
            "{why}"
        );
    }
}
