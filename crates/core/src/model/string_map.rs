//! [`StringMap`]: the string-to-string maps of Kubernetes objects (labels,
//! annotations, selectors), kept as one sorted slice; [`KeySet`]: the keys
//! of an object whose values no rule reads (a CiliumNode's IP pool).
//!
//! A `BTreeMap` allocates a node of eleven slots for even one entry; with a
//! label map on each of 150,000 pods and 150,000 CiliumEndpoints that is
//! hundreds of MB of empty slots. These maps are small and read far more
//! often than changed, so a sorted slice with binary search serves them.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Index;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Pairs sorted by key, keys unique (a repeated key keeps its last value,
/// as a JSON object read into a map does).
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StringMap(Box<[(String, String)]>);

impl StringMap {
    pub fn new() -> Self {
        StringMap::default()
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    pub fn get(&self, key: &str) -> Option<&String> {
        self.position(key).ok().map(|i| &self.0[i].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_ok()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Pairs in key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&String, &String)> + Clone {
        self.0.iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &String> + Clone {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &String> + Clone {
        self.0.iter().map(|(_, v)| v)
    }

    /// Set `key` to `value`, returning the value it replaces.
    pub fn insert(&mut self, key: String, value: String) -> Option<String> {
        match self.position(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                let mut pairs = std::mem::take(&mut self.0).into_vec();
                pairs.insert(i, (key, value));
                self.0 = pairs.into_boxed_slice();
                None
            }
        }
    }

    /// Keep the pairs `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &str) -> bool) {
        if self.0.iter().all(|(k, v)| keep(k, v)) {
            return;
        }
        let mut pairs = std::mem::take(&mut self.0).into_vec();
        pairs.retain(|(k, v)| keep(k, v));
        self.0 = pairs.into_boxed_slice();
    }

    fn from_pairs(mut pairs: Vec<(String, String)>) -> Self {
        // Stable: of equal keys the last one read comes last, and is kept.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let mut unique: Vec<(String, String)> = Vec::with_capacity(pairs.len());
        for pair in pairs {
            match unique.last_mut() {
                Some(last) if last.0 == pair.0 => *last = pair,
                _ => unique.push(pair),
            }
        }
        StringMap(unique.into_boxed_slice())
    }
}

impl fmt::Debug for StringMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Index<&str> for StringMap {
    type Output = String;

    fn index(&self, key: &str) -> &String {
        self.get(key)
            .unwrap_or_else(|| panic!("no key {key:?} in the map"))
    }
}

impl FromIterator<(String, String)> for StringMap {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        StringMap::from_pairs(iter.into_iter().collect())
    }
}

impl<const N: usize> From<[(String, String); N]> for StringMap {
    fn from(pairs: [(String, String); N]) -> Self {
        StringMap::from_pairs(pairs.into())
    }
}

impl From<BTreeMap<String, String>> for StringMap {
    fn from(map: BTreeMap<String, String>) -> Self {
        StringMap(map.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a StringMap {
    type Item = (&'a String, &'a String);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, String)>,
        fn(&'a (String, String)) -> (&'a String, &'a String),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl Serialize for StringMap {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for StringMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Pairs;

        impl<'de> Visitor<'de> for Pairs {
            type Value = StringMap;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of strings to strings")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<StringMap, A::Error> {
                let mut pairs = Vec::with_capacity(access.size_hint().unwrap_or(0).min(64));
                while let Some(pair) = access.next_entry::<String, String>()? {
                    pairs.push(pair);
                }
                Ok(StringMap::from_pairs(pairs))
            }
        }

        deserializer.deserialize_map(Pairs)
    }
}

/// The sorted, unique keys of a JSON object; the values are checked to be
/// JSON and dropped (a CiliumNode's pool maps each IP to an object, a map
/// node per address that no rule reads).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct KeySet(Box<[String]>);

impl KeySet {
    pub fn contains(&self, key: &str) -> bool {
        self.0.binary_search_by(|k| k.as_str().cmp(key)).is_ok()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &String> + Clone {
        self.0.iter()
    }
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl FromIterator<String> for KeySet {
    fn from_iter<I: IntoIterator<Item = String>>(iter: I) -> Self {
        let mut keys: Vec<String> = iter.into_iter().collect();
        keys.sort_unstable();
        keys.dedup();
        KeySet(keys.into_boxed_slice())
    }
}

impl Serialize for KeySet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for KeySet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Keys;

        impl<'de> Visitor<'de> for Keys {
            type Value = KeySet;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<KeySet, A::Error> {
                let mut keys = Vec::with_capacity(access.size_hint().unwrap_or(0).min(256));
                while let Some(key) = access.next_key::<String>()? {
                    access.next_value::<serde::de::IgnoredAny>()?;
                    keys.push(key);
                }
                Ok(keys.into_iter().collect())
            }
        }

        deserializer.deserialize_map(Keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_like_a_btree_map() {
        let json = r#"{"b":"2","a":"1","c":"3","a":"last"}"#;
        let map: StringMap = serde_json::from_str(json).unwrap();
        let btree: BTreeMap<String, String> = serde_json::from_str(json).unwrap();
        assert_eq!(map, StringMap::from(btree.clone()));
        assert_eq!(map.get("a").map(String::as_str), Some("last"));
        assert_eq!(map.get("zz"), None);
        assert_eq!(
            serde_json::to_string(&map).unwrap(),
            serde_json::to_string(&btree).unwrap()
        );
        assert!(serde_json::from_str::<StringMap>(r#"{"a":1}"#).is_err());
    }

    #[test]
    fn insert_and_retain_keep_it_sorted() {
        let mut map = StringMap::new();
        assert_eq!(map.insert("m".into(), "1".into()), None);
        assert_eq!(map.insert("a".into(), "2".into()), None);
        assert_eq!(map.insert("z".into(), "3".into()), None);
        assert_eq!(map.insert("a".into(), "4".into()), Some("2".into()));
        assert_eq!(map.keys().collect::<Vec<_>>(), ["a", "m", "z"]);
        map.retain(|k, _| k != "m");
        assert_eq!(map.keys().collect::<Vec<_>>(), ["a", "z"]);
        assert_eq!(map["a"], "4");
    }

    #[test]
    fn key_set_keeps_only_keys() {
        let keys: KeySet = serde_json::from_str(
            r#"{"10.0.0.9":{"resource":"eni-1"},"10.0.0.1":{},"10.0.0.9":null}"#,
        )
        .unwrap();
        assert_eq!(keys.iter().collect::<Vec<_>>(), ["10.0.0.1", "10.0.0.9"]);
        assert!(keys.contains("10.0.0.1") && !keys.contains("10.0.0.2"));
        assert_eq!(
            serde_json::to_string(&keys).unwrap(),
            r#"["10.0.0.1","10.0.0.9"]"#
        );
        assert!(serde_json::from_str::<KeySet>(r#"["10.0.0.1"]"#).is_err());
    }
}
