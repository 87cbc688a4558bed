//! Parse a Kubernetes object's JSON once: its `kind` is read from the first
//! bytes (kubectl and the API write it second, after `apiVersion`), then the
//! whole text goes straight into the lean model type of that kind, while an
//! adapter notes every top-level `kind` the typed parse passes over.
//!
//! The slower general path (a probe for kind and name, then the typed
//! parse) stays the reference: whatever this path cannot vouch for — an
//! escaped key, a duplicate or non-string `kind`, any parse error — is left
//! to it, so results and messages are the same either way.

use std::fmt;

use serde::de::value::{StrDeserializer, StringDeserializer, UnitDeserializer};
use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, Visitor};

use super::shapes::{Fail, Source};

/// The object's own top-level `kind`, from the bytes before it:
/// `Some(None)` when it has none, `None` when unsure (an escape in a key or
/// in the kind, a kind that is not a string, text that is not an object).
pub(super) fn peek_kind(text: &str) -> Option<Option<&str>> {
    let bytes = text.as_bytes();
    let mut at = skip_ws(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    at = skip_ws(bytes, at + 1);
    if bytes.get(at) == Some(&b'}') {
        return Some(None);
    }
    loop {
        let (key, after) = plain_string(bytes, at)?;
        at = skip_ws(bytes, after);
        if bytes.get(at) != Some(&b':') {
            return None;
        }
        at = skip_ws(bytes, at + 1);
        if key == b"kind" {
            let (kind, _) = plain_string(bytes, at)?;
            return std::str::from_utf8(kind).ok().map(Some);
        }
        at = skip_ws(bytes, value_end(bytes, at)?);
        match bytes.get(at) {
            Some(b',') => at = skip_ws(bytes, at + 1),
            Some(b'}') => return Some(None),
            _ => return None,
        }
    }
}

fn skip_ws(bytes: &[u8], mut at: usize) -> usize {
    while matches!(bytes.get(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        at += 1;
    }
    at
}

/// A string without escapes starting at `at`: its content and the index
/// after its closing quote.
fn plain_string(bytes: &[u8], at: usize) -> Option<(&[u8], usize)> {
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let len = memchr::memchr2(b'"', b'\\', &bytes[at + 1..])?;
    let end = at + 1 + len;
    (bytes[end] == b'"').then(|| (&bytes[at + 1..end], end + 1))
}

/// The index after the value starting at `at`; only where it ends matters
/// here (serde_json checks its syntax in the typed parse).
fn value_end(bytes: &[u8], at: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = at;
    loop {
        let b = *bytes.get(i)?;
        match b {
            b'"' => loop {
                i += 1;
                i += memchr::memchr2(b'"', b'\\', bytes.get(i..)?)?;
                if bytes[i] == b'"' {
                    break;
                }
                i += 1;
            },
            b'{' | b'[' => depth += 1,
            // The end of a number or literal.
            b'}' | b']' | b',' | b' ' | b'\t' | b'\n' | b'\r' if depth == 0 => return Some(i),
            b'}' | b']' => depth -= 1,
            _ => {}
        }
        i += 1;
        if depth == 0 && matches!(b, b'"' | b'}' | b']') {
            return Some(i);
        }
    }
}

/// JSON text whose top-level `kind` must be exactly `kind` (`None`: no
/// `kind` key at all) for a typed parse to count.
pub(super) struct Noted<'a> {
    pub(super) text: &'a str,
    pub(super) kind: Option<&'a str>,
}

impl Source for Noted<'_> {
    fn parse<T: DeserializeOwned>(&self) -> Result<T, Fail> {
        let mut kinds = Vec::new();
        let mut de = serde_json::Deserializer::from_str(self.text);
        let value = T::deserialize(Watch {
            de: &mut de,
            kinds: &mut kinds,
        })
        .and_then(|value| de.end().map(|()| value))
        .map_err(|e| Fail::Invalid(e.to_string()))?;
        let expected: &[Option<String>] = match self.kind {
            Some(kind) => &[Some(kind.to_string())],
            None => &[],
        };
        if kinds != expected {
            return Err(Fail::Invalid("top-level kind differs from its peek".into()));
        }
        Ok(value)
    }
}

/// A deserializer for the top-level object that notes each `kind` value.
struct Watch<'k, D> {
    de: D,
    kinds: &'k mut Vec<Option<String>>,
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Watch<'_, D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.de.deserialize_any(WatchVisitor {
            inner: visitor,
            kinds: self.kinds,
        })
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.de.deserialize_map(WatchVisitor {
            inner: visitor,
            kinds: self.kinds,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.de.deserialize_struct(
            name,
            fields,
            WatchVisitor {
                inner: visitor,
                kinds: self.kinds,
            },
        )
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct enum identifier ignored_any
    }
}

struct WatchVisitor<'k, V> {
    inner: V,
    kinds: &'k mut Vec<Option<String>>,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for WatchVisitor<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.inner.expecting(f)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.inner.visit_map(WatchMap {
            map,
            kinds: self.kinds,
            at_kind: false,
        })
    }
}

struct WatchMap<'k, A> {
    map: A,
    kinds: &'k mut Vec<Option<String>>,
    /// The key just read was `kind`.
    at_kind: bool,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for WatchMap<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.map.next_key_seed(KeySeed {
            inner: seed,
            is_kind: &mut self.at_kind,
        })
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        if !std::mem::take(&mut self.at_kind) {
            return self.map.next_value_seed(seed);
        }
        let kind: Option<String> = self.map.next_value()?;
        self.kinds.push(kind.clone());
        match kind {
            Some(kind) => seed.deserialize(StringDeserializer::new(kind)),
            None => seed.deserialize(UnitDeserializer::new()),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

/// Reads a key, notes whether it is `kind`, hands it on.
struct KeySeed<'b, K> {
    inner: K,
    is_kind: &'b mut bool,
}

impl<'de, K: DeserializeSeed<'de>> DeserializeSeed<'de> for KeySeed<'_, K> {
    type Value = K::Value;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<K::Value, D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de, K: DeserializeSeed<'de>> Visitor<'de> for KeySeed<'_, K> {
    type Value = K::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<K::Value, E> {
        *self.is_kind = key == "kind";
        self.inner.deserialize(StrDeserializer::new(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Pod, Workload};

    #[test]
    fn kind_peeks() {
        assert_eq!(
            peek_kind(r#"{"apiVersion":"v1","kind":"Pod"}"#),
            Some(Some("Pod"))
        );
        assert_eq!(
            peek_kind("{\n  \"metadata\": {\"name\": \"a\\\"}\", \"l\": [1, {}]},\n  \"n\": null, \"x\": -1.5e3, \"kind\" : \"Node\" }"),
            Some(Some("Node"))
        );
        assert_eq!(peek_kind(r#"{"metadata":{"kind":"Pod"}}"#), Some(None));
        assert_eq!(peek_kind("{ }"), Some(None));
        assert_eq!(peek_kind(r#"{"ki\u006ed":"Pod"}"#), None);
        assert_eq!(peek_kind(r#"{"kind":"P\u006fd"}"#), None);
        assert_eq!(peek_kind(r#"{"kind":null}"#), None);
        assert_eq!(peek_kind(r#"{"a":1 "kind":"Pod"}"#), None);
        assert_eq!(peek_kind(r#"{"a":"#), None);
        assert_eq!(peek_kind("[]"), None);
    }

    #[test]
    fn typed_parse_counts_only_with_the_peeked_kind() {
        let noted = |text, kind| Noted { text, kind }.parse::<Pod>().is_ok();
        assert!(noted(
            r#"{"kind":"Pod","metadata":{"name":"a","kind":"x"}}"#,
            Some("Pod")
        ));
        assert!(noted(r#"{"metadata":{"name":"a"}}"#, None));
        assert!(!noted(r#"{"kind":"Pod","kind":"Pod"}"#, Some("Pod")));
        assert!(!noted(r#"{"kind":"Pod"}"#, None));
        assert!(!noted(r#"{"kind":"Pod"} x"#, Some("Pod")));
        assert!(!noted(
            r#"{"kind":"Pod","metadata":{"name":5}}"#,
            Some("Pod")
        ));
        // A model type with a `kind` field of its own still gets it.
        let w: Workload = Noted {
            text: r#"{"kind":"DaemonSet","metadata":{"name":"d"}}"#,
            kind: Some("DaemonSet"),
        }
        .parse()
        .unwrap();
        assert_eq!(
            (w.kind.as_str(), w.metadata.name.as_str()),
            ("DaemonSet", "d")
        );
    }
}
