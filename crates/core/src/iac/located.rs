//! YAML or JSON read with the line of every node and the tag of every
//! tagged node, for readers whose findings point at a line (CloudFormation,
//! Pulumi). JSON is read by the same YAML 1.2 parser (serde-saphyr; JSON is
//! YAML's flow style), so a pretty-printed template or state gets lines too.
//!
//! CloudFormation's short-form intrinsic tags (`!Ref X`, `!GetAtt A.B`,
//! `!Sub`, `!If [...]`, …) become their long forms (`{"Ref": "X"}`,
//! `{"Fn::GetAtt": ["A", "B"]}`), as CloudFormation itself reads them
//! ("Intrinsic function reference", AWS CloudFormation User Guide: "the
//! short form … `!Ref`", "`!GetAtt logicalNameOfResource.attributeName`").

use std::collections::HashMap;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::load::{LoadError, LoadOptions};

/// A node with its line and tag.
#[derive(Debug, Default)]
pub(super) struct Node {
    line: u32,
    tag: Option<String>,
    kind: Kind,
}

#[derive(Debug, Default)]
enum Kind {
    /// Key, the line of the key, the value.
    Map(Vec<(String, u32, Node)>),
    Seq(Vec<Node>),
    Scalar(Value),
    #[default]
    Null,
}

struct Inner(Kind);

impl<'de> Deserialize<'de> for Inner {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Inner;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any YAML or JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Inner, A::Error> {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<serde_saphyr::Spanned<Key>>()? {
                    let value: Node = map.next_value()?;
                    let line = u32::try_from(key.referenced.line()).unwrap_or(0);
                    out.push((key.value.0, line, value));
                }
                Ok(Inner(Kind::Map(out)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Inner, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<Node>()? {
                    out.push(item);
                }
                Ok(Inner(Kind::Seq(out)))
            }
            fn visit_bool<E>(self, b: bool) -> Result<Inner, E> {
                Ok(Inner(Kind::Scalar(Value::Bool(b))))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Inner, E> {
                Ok(Inner(Kind::Scalar(Value::Number(n.into()))))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Inner, E> {
                Ok(Inner(Kind::Scalar(Value::Number(n.into()))))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Inner, E> {
                Ok(Inner(Kind::Scalar(
                    Number::from_f64(n).map_or(Value::Null, Value::Number),
                )))
            }
            fn visit_str<E>(self, s: &str) -> Result<Inner, E> {
                Ok(Inner(Kind::Scalar(Value::String(s.to_string()))))
            }
            fn visit_string<E>(self, s: String) -> Result<Inner, E> {
                Ok(Inner(Kind::Scalar(Value::String(s))))
            }
            fn visit_unit<E>(self) -> Result<Inner, E> {
                Ok(Inner(Kind::Null))
            }
            fn visit_none<E>(self) -> Result<Inner, E> {
                Ok(Inner(Kind::Null))
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Inner, D2::Error> {
                Inner::deserialize(d)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spanned = serde_saphyr::Spanned::<serde_saphyr::Tagged<Inner>>::deserialize(d)?;
        let serde_saphyr::Tagged(inner, tag) = spanned.value;
        Ok(Node {
            line: u32::try_from(spanned.referenced.line()).unwrap_or(0),
            tag,
            kind: inner.0,
        })
    }
}

/// A mapping key as text (YAML allows numbers and booleans as keys).
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a scalar mapping key")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Key, E> {
                Ok(Key(s.to_string()))
            }
            fn visit_bool<E>(self, b: bool) -> Result<Key, E> {
                Ok(Key(b.to_string()))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Key, E> {
                Ok(Key(n.to_string()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Key, E> {
                Ok(Key(n.to_string()))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Key, E> {
                Ok(Key(n.to_string()))
            }
            fn visit_unit<E>(self) -> Result<Key, E> {
                Ok(Key("null".into()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A parsed document: its value (intrinsics in long form) and the line of
/// every JSON pointer in it.
#[derive(Debug, Default)]
pub(super) struct Located {
    pub value: Value,
    lines: HashMap<String, u32>,
}

impl Located {
    /// The line of the node at `pointer`, else of its nearest ancestor.
    pub fn line(&self, pointer: &str) -> u32 {
        let mut p = pointer;
        loop {
            if let Some(line) = self.lines.get(p) {
                return (*line).max(1);
            }
            match p.rfind('/') {
                Some(at) => p = &p[..at],
                None => return 1,
            }
        }
    }
}

/// `~` and `/` escaped as JSON pointers want (RFC 6901).
pub(super) fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The long form of a CloudFormation short-form tag: `!Ref` → `Ref`,
/// `!Condition` → `Condition`, `!GetAtt` → `Fn::GetAtt`, … `None` for the
/// YAML core tags (`!!str`) and for tags that are not one word.
fn intrinsic_name(tag: &str) -> Option<String> {
    let name = tag.strip_prefix('!')?;
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    Some(match name {
        "Ref" | "Condition" => name.to_string(),
        _ => format!("Fn::{name}"),
    })
}

fn convert(node: Node, pointer: String, lines: &mut HashMap<String, u32>) -> Value {
    lines.insert(pointer.clone(), node.line);
    let value = match node.kind {
        Kind::Map(entries) => {
            let mut map = Map::new();
            for (key, line, child) in entries {
                let at = format!("{pointer}/{}", escape(&key));
                let v = convert(child, at.clone(), lines);
                // The key's line is where the property is written.
                lines.insert(at, line);
                map.insert(key, v);
            }
            Value::Object(map)
        }
        Kind::Seq(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, child)| convert(child, format!("{pointer}/{i}"), lines))
                .collect(),
        ),
        Kind::Scalar(v) => v,
        Kind::Null => Value::Null,
    };
    match node.tag.as_deref().and_then(intrinsic_name) {
        Some(name) => {
            let value = match (name.as_str(), value) {
                // `!GetAtt A.B` is `{"Fn::GetAtt": ["A", "B"]}`.
                ("Fn::GetAtt", Value::String(s)) => match s.split_once('.') {
                    Some((a, b)) => Value::Array(vec![Value::from(a), Value::from(b)]),
                    None => Value::String(s),
                },
                (_, v) => v,
            };
            let mut map = Map::new();
            map.insert(name, value);
            Value::Object(map)
        }
        None => value,
    }
}

/// Parse one YAML or JSON document of `shown` with lines.
pub(super) fn parse(shown: &str, text: &str, options: &LoadOptions) -> Result<Located, LoadError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let node: Node = crate::load::parse_yaml_one(shown, text, options)?;
    let mut lines = HashMap::new();
    let value = convert(node, String::new(), &mut lines);
    Ok(Located { value, lines })
}

/// The intrinsic function a CloudFormation value is (`Ref`, `Fn::GetAtt`,
/// …), if it is one: a mapping of exactly one key `Ref` or `Fn::*`.
pub(super) fn intrinsic(v: &Value) -> Option<&str> {
    let map = v.as_object()?;
    if map.len() != 1 {
        return None;
    }
    let key = map.keys().next()?;
    (key == "Ref" || key.starts_with("Fn::")).then_some(key.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Located {
        parse("t.yaml", text, &LoadOptions::default()).unwrap()
    }

    #[test]
    fn short_form_tags_become_long_forms() {
        let d = doc("A: !Ref Foo\nB: !GetAtt Role.Arn\nC: !Sub 'x-${AWS::Region}'\nD: !If [Cond, 1, !Ref AWS::NoValue]\nE: !Select [0, !GetAZs '']\nF: !Base64 |\n  text\n");
        let v = &d.value;
        assert_eq!(v["A"], serde_json::json!({"Ref": "Foo"}));
        assert_eq!(v["B"], serde_json::json!({"Fn::GetAtt": ["Role", "Arn"]}));
        assert_eq!(v["C"], serde_json::json!({"Fn::Sub": "x-${AWS::Region}"}));
        assert_eq!(
            v["D"],
            serde_json::json!({"Fn::If": ["Cond", 1, {"Ref": "AWS::NoValue"}]})
        );
        assert_eq!(
            v["E"],
            serde_json::json!({"Fn::Select": [0, {"Fn::GetAZs": ""}]})
        );
        assert_eq!(v["F"], serde_json::json!({"Fn::Base64": "text\n"}));
        assert_eq!(intrinsic(&v["A"]), Some("Ref"));
        assert_eq!(intrinsic(&serde_json::json!({"a": 1})), None);
        assert_eq!(d.line("/D"), 4);
        assert_eq!(d.line("/D/2"), 4);
        assert_eq!(d.line("/nope/deeper"), 1);
    }

    #[test]
    fn json_gets_lines_too() {
        let d = doc("{\n  \"Resources\": {\n    \"C\": {\n      \"Type\": \"AWS::EKS::Cluster\"\n    }\n  }\n}\n");
        assert_eq!(d.value["Resources"]["C"]["Type"], "AWS::EKS::Cluster");
        assert_eq!(d.line("/Resources/C"), 3);
        assert_eq!(d.line("/Resources/C/Type"), 4);
    }

    #[test]
    fn core_tags_keep_their_values() {
        let d = doc("a: !!str 1.30\n");
        assert_eq!(d.value["a"], "1.30");
    }
}
