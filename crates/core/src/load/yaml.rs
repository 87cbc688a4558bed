//! YAML inputs: single documents, Lists, multi-document streams (`---`,
//! comments, empty documents), parsed by serde-saphyr under an explicit
//! budget ([`super::limits::yaml_options`]).
//!
//! Memory: a document's `items` are converted one by one into lean model
//! types while the stream is parsed, so a 3,000-pod List is never held as a
//! tree; only one item (and the small non-`items` part of a document) is a
//! JSON value at a time. Items without a `kind` wait as values until the
//! List's own `kind` (which kubectl writes after `items`) is known.
//!
//! Duplicate keys are rejected with their line, as kubectl does.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use super::error::{malformed, LoadError, LoadOptions};
use super::kube::{self, Converted};
use super::loader::Loader;
use super::shapes::{Fail, ValueDoc};
use super::{dispatch, limits};

/// One item of a List or top-level sequence.
enum Slot {
    Ready(Converted),
    /// No own `kind`: converted once the List's kind is known.
    Pending(Value),
    NotObject,
}

impl Slot {
    fn from_value(value: Value) -> Slot {
        let Some(object) = value.as_object() else {
            return Slot::NotObject;
        };
        let self_link = object
            .get("metadata")
            .and_then(|m| m.get("selfLink"))
            .is_some();
        let has_kind = object
            .get("kind")
            .and_then(Value::as_str)
            .is_some_and(|k| !k.is_empty());
        if has_kind || self_link {
            Slot::Ready(convert(&value, None))
        } else {
            Slot::Pending(value)
        }
    }

    fn finish(self, list_kind: Option<&str>) -> Option<Converted> {
        match self {
            Slot::Ready(c) => Some(c),
            Slot::Pending(value) => Some(convert(&value, list_kind)),
            Slot::NotObject => None,
        }
    }
}

fn convert(value: &Value, list_kind: Option<&str>) -> Converted {
    match kube::convert(value, list_kind) {
        Ok(c) => c,
        Err(Fail::Invalid(why) | Fail::Malformed(why)) => Converted::Invalid(why),
    }
}

impl<'de> Deserialize<'de> for Slot {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(Slot::from_value)
    }
}

/// One YAML document.
enum YamlDoc {
    Map {
        items: Option<Vec<Slot>>,
        /// Every other top-level key.
        rest: Value,
    },
    Seq(Vec<Slot>),
    Scalar,
}

/// `items:` of a mapping: a sequence (a List), null, or anything else
/// (then it is an ordinary key of some other shape).
enum Items {
    List(Vec<Slot>),
    Other(Value),
}

struct ItemsSeed;

impl<'de> DeserializeSeed<'de> for ItemsSeed {
    type Value = Items;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Items, D::Error> {
        d.deserialize_any(ItemsVisitor)
    }
}

struct ItemsVisitor;

impl<'de> Visitor<'de> for ItemsVisitor {
    type Value = Items;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of items")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Items, A::Error> {
        let mut items = Vec::new();
        while let Some(slot) = seq.next_element::<Slot>()? {
            items.push(slot);
        }
        Ok(Items::List(items))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Items, E> {
        Ok(Items::List(Vec::new()))
    }
    fn visit_none<E: de::Error>(self) -> Result<Items, E> {
        Ok(Items::List(Vec::new()))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Items, A::Error> {
        Value::deserialize(de::value::MapAccessDeserializer::new(map)).map(Items::Other)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Items, E> {
        Ok(Items::Other(Value::from(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Items, E> {
        Ok(Items::Other(Value::from(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Items, E> {
        Ok(Items::Other(Value::from(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Items, E> {
        Ok(Items::Other(Value::from(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Items, E> {
        Ok(Items::Other(Value::from(v)))
    }
}

impl<'de> Deserialize<'de> for YamlDoc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DocVisitor)
    }
}

struct DocVisitor;

impl<'de> Visitor<'de> for DocVisitor {
    type Value = YamlDoc;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a YAML document")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<YamlDoc, A::Error> {
        let mut items = None;
        let mut rest = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == "items" {
                match map.next_value_seed(ItemsSeed)? {
                    Items::List(list) => items = Some(list),
                    Items::Other(value) => {
                        rest.insert(key, value);
                    }
                }
            } else {
                rest.insert(key, map.next_value::<Value>()?);
            }
        }
        Ok(YamlDoc::Map {
            items,
            rest: Value::Object(rest),
        })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<YamlDoc, A::Error> {
        match ItemsVisitor.visit_seq(seq)? {
            Items::List(list) => Ok(YamlDoc::Seq(list)),
            Items::Other(_) => Ok(YamlDoc::Scalar),
        }
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<YamlDoc, E> {
        Ok(YamlDoc::Scalar)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<YamlDoc, E> {
        Ok(YamlDoc::Scalar)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<YamlDoc, E> {
        Ok(YamlDoc::Scalar)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<YamlDoc, E> {
        Ok(YamlDoc::Scalar)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<YamlDoc, E> {
        Ok(YamlDoc::Scalar)
    }
    fn visit_unit<E: de::Error>(self) -> Result<YamlDoc, E> {
        Ok(YamlDoc::Scalar)
    }
}

/// A YAML parse failure, made for humans.
pub(super) struct YamlError {
    pub location: Option<String>,
    pub message: String,
    /// A budget or alias limit was hit (hostile or oversized input).
    pub limit: bool,
}

/// Parse a YAML stream (on a thread with room for the nesting budget).
pub(super) fn parse_stream<T>(
    source: &str,
    text: &str,
    options: &LoadOptions,
) -> Result<Result<Vec<T>, YamlError>, LoadError>
where
    T: for<'de> Deserialize<'de> + Send,
{
    limits::with_yaml_stack(options, || {
        let yaml = limits::yaml_options(options, text.len());
        serde_saphyr::from_multiple_with_options(text, yaml).map_err(|e| describe(&e))
    })
    .map_err(|e| LoadError::Io {
        path: source.to_string(),
        message: format!("cannot start the YAML parser: {e}"),
    })
}

fn describe(e: &serde_saphyr::Error) -> YamlError {
    let location = e
        .location()
        .map(|l| format!("line {} column {}", l.line(), l.column()));
    let text = e
        .to_string()
        .replace(", set DuplicateKeyPolicy in Options if acceptable", "");
    let text = match text.find(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    };
    let limit = is_limit(e) || text.contains("recursion limit");
    let message = if limit {
        format!("YAML over the loader's limits (alias expansion, nesting depth or size): {text}")
    } else {
        format!("invalid YAML: {text}")
    };
    YamlError {
        location,
        message,
        limit,
    }
}

/// A budget or alias limit (hostile or oversized input), not a typo.
fn is_limit(e: &serde_saphyr::Error) -> bool {
    use serde_saphyr::Error as E;
    match e {
        E::AliasError { error, .. } => is_limit(error),
        E::Budget { .. }
        | E::AliasReplayLimitExceeded { .. }
        | E::AliasExpansionLimitExceeded { .. }
        | E::AliasReplayStackDepthExceeded { .. }
        | E::AliasReplayCounterOverflow { .. } => true,
        _ => false,
    }
}

/// Load a YAML text. `kube_like` texts must parse; any other text that is
/// not YAML is skipped (logs, tables and command outputs are normal in a
/// sysdump), unless it broke a limit.
pub(super) fn load(
    loader: &mut Loader,
    source: &str,
    text: &str,
    kube_like: bool,
) -> Result<(), LoadError> {
    if text.len() > loader.options.yaml_max_document_bytes {
        loader.tally.note(format!(
            "YAML text of {} bytes, over the {} byte limit",
            text.len(),
            loader.options.yaml_max_document_bytes
        ));
        return Ok(());
    }
    let docs: Vec<YamlDoc> = match parse_stream(source, text, loader.options)? {
        Ok(docs) => docs,
        Err(YamlError {
            location,
            message,
            limit,
        }) => {
            if kube_like || limit {
                return Err(malformed(source, location, message));
            }
            loader.tally.note(format!(
                "plain text (not JSON, not YAML: {message}{})",
                location.map(|l| format!(" at {l}")).unwrap_or_default()
            ));
            return Ok(());
        }
    };
    if docs.is_empty() {
        loader
            .tally
            .note("no YAML documents (empty, or only comments and `---`)");
    }
    let many = docs.len() > 1;
    for (index, doc) in docs.into_iter().enumerate() {
        let what = if many {
            format!("YAML document {}", index + 1)
        } else {
            "YAML".to_string()
        };
        match doc {
            YamlDoc::Scalar => loader
                .tally
                .note("plain text (not JSON, not a YAML mapping, not a known text format)"),
            YamlDoc::Seq(items) => apply_items(loader, source, None, items),
            YamlDoc::Map {
                items: Some(items),
                rest,
            } => {
                let list_kind = rest.get("kind").and_then(Value::as_str);
                apply_items(loader, source, list_kind, items);
            }
            YamlDoc::Map { items: None, rest } => {
                if let Some(doc) = ValueDoc::new(&rest) {
                    dispatch::recognise(loader, source, &what, &doc)?;
                }
            }
        }
    }
    Ok(())
}

fn apply_items(loader: &mut Loader, source: &str, list_kind: Option<&str>, items: Vec<Slot>) {
    kube::begin_list(loader, source, list_kind, items.len());
    let item_kind = kube::item_kind(list_kind);
    for (index, slot) in items.into_iter().enumerate() {
        match slot.finish(item_kind) {
            Some(converted) => kube::apply(loader, source, kube::Position::Item(index), converted),
            None => loader.tally.not_objects += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Result<crate::load::Loaded, LoadError> {
        let options = LoadOptions::default();
        crate::load::load_bytes("t.yaml", text.as_bytes(), &options)
    }

    #[test]
    fn items_before_kind_and_items_that_are_not_a_list() {
        let loaded = run("items:\n- metadata:\n    name: a\nkind: ServiceList\n").unwrap();
        assert_eq!(loaded.cluster.services.unwrap().len(), 1);
        // `items:` of another shape is an ordinary key.
        let loaded = run("kind: ConfigMap\nmetadata:\n  name: c\nitems:\n  a: b\n").unwrap();
        assert_eq!(loaded.cluster.config_maps.unwrap().len(), 1);
    }

    #[test]
    fn top_level_sequences_and_scalars() {
        let loaded = run("- kind: Node\n  metadata:\n    name: a\n- 3\n").unwrap();
        assert_eq!(loaded.cluster.nodes.unwrap().len(), 1);
        let loaded = run("just words\n").unwrap();
        assert!(loaded.skipped[0].reason.starts_with("plain text"));
    }

    #[test]
    fn text_that_is_not_yaml_is_skipped_unless_it_claims_to_be_kubernetes() {
        let loaded = run("msg=\"a: b\" x: y: z\n").unwrap();
        assert!(
            loaded.skipped[0].reason.contains("not YAML"),
            "{:?}",
            loaded.skipped
        );
        let err = run("kind: Pod\nmetadata: [\n").unwrap_err().to_string();
        assert!(err.starts_with("t.yaml: line "), "{err}");
    }

    #[test]
    fn non_string_keys_become_strings() {
        let loaded =
            run("kind: ConfigMap\nmetadata:\n  name: c\ndata:\n  5: a\n  true: b\n").unwrap();
        let data = &loaded.cluster.config_maps.unwrap()[0].data;
        assert_eq!(data["5"], "a");
        assert_eq!(data["true"], "b");
    }
}
