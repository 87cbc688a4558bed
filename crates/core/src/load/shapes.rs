//! Top-level shapes of one JSON or YAML document: a Kubernetes object, a
//! `kubectl version`, the AWS outputs ([`aws`], [`iam`]), placebo envelopes. Both
//! formats answer the same questions through [`Doc`], so one recognition
//! serves both.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{aws, iam, kube, malformed, LoadError, Loader};

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

/// Recognise one non-List document and add what it holds to the model.
pub(super) fn recognise<D: Doc>(
    loader: &mut Loader,
    source: &str,
    what: &str,
    doc: &D,
) -> Result<(), LoadError> {
    match shape(loader, source, what, doc) {
        Ok(()) => Ok(()),
        Err(Fail::Invalid(why)) => {
            loader.tally.invalid += 1;
            loader.skip(source, format!("{what}: {why}; input skipped"));
            Ok(())
        }
        Err(Fail::Malformed(why)) => Err(malformed(source, None, why)),
    }
}

fn shape<D: Doc>(loader: &mut Loader, source: &str, what: &str, doc: &D) -> Result<(), Fail> {
    // placebo (boto3 recordings): {"status_code": 200, "data": {…}}.
    if doc.has("status_code") && doc.has("data") {
        if let Some(data) = doc.sub("data") {
            return shape(loader, source, what, &data);
        }
    }
    if doc.has(crate::snapshot::MANIFEST_MARKER) {
        let manifest: crate::snapshot::Manifest = doc.parse()?;
        let gaps = &mut loader.cluster.collection_gaps;
        gaps.extend(manifest.gaps);
        gaps.sort();
        gaps.dedup();
        loader.tally.used += 1;
        return Ok(());
    }
    if doc.has("kind") {
        let converted = kube::convert(doc, None)?;
        kube::apply(loader, source, what, converted);
        return Ok(());
    }
    if let Some(version) = server_version(doc)? {
        return loader.set_server_version(version).map_err(Fail::Invalid);
    }
    if aws::recognise(loader, doc)? || iam::recognise(loader, source, doc)? {
        return Ok(());
    }
    if doc.has("Statement") && doc.has("Version") {
        loader.tally.note(
            "an IAM policy document alone: the role or policy it belongs to is unknown \
             (use get-role-policy, get-policy-version or get-account-authorization-details output)",
        );
        return Ok(());
    }
    let keys = doc.keys();
    // The format only (`JSON`, not `JSON value 7`): one reason for a whole stream.
    let format = what.split(' ').next().unwrap_or(what);
    loader.tally.note(format!(
        "{format} of no recognised shape ({})",
        shown_keys(&keys)
    ));
    Ok(())
}

/// Keys quoted in a skip reason: at most this many, each at most this long.
const SHOWN_KEYS: usize = 4;
const SHOWN_KEY_CHARS: usize = 40;

/// The top-level keys a skip reason names: a few short ones that look like
/// field names. Keys with whitespace, `:`, `$` or control characters are
/// content (a `shadow(5)` line read as YAML is one key), never quoted.
fn shown_keys(keys: &[&str]) -> String {
    let looks_like_a_field = |k: &&str| {
        !k.is_empty()
            && k.chars().count() <= SHOWN_KEY_CHARS
            && !k
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || matches!(c, ':' | '$'))
    };
    let shown: Vec<&str> = keys
        .iter()
        .copied()
        .filter(looks_like_a_field)
        .take(SHOWN_KEYS)
        .collect();
    let rest = keys.len() - shown.len();
    match (shown.is_empty(), rest) {
        (true, _) if keys.len() == 1 => "1 top-level key, not a field name".to_string(),
        (true, _) => format!("{} top-level keys, none a field name", keys.len()),
        (false, 0) => format!("top-level keys: {}", shown.join(", ")),
        (false, rest) => format!("top-level keys: {} and {rest} more", shown.join(", ")),
    }
}

/// `gitVersion` of every version.Info spelling: `kubectl version -o json`
/// (`serverVersion`), a support bundle's `{"info": {…}}`, or a bare version.Info.
fn server_version<D: Doc>(doc: &D) -> Result<Option<String>, Fail> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Info {
        git_version: String,
    }
    let info: Option<Info> = if doc.has("serverVersion") {
        doc.field("serverVersion")?
    } else if let Some(wrapped) = doc.sub("info").filter(|i| i.has("gitVersion")) {
        Some(wrapped.parse()?)
    } else if doc.has("gitVersion") && doc.has("major") {
        Some(doc.parse()?)
    } else {
        return Ok(None);
    };
    Ok(info.map(|i| i.git_version))
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
