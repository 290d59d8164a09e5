//! The spec as served: poem-openapi's, with two of its habits undone so that client generators
//! (openapi-python-client, openapi-typescript) take every operation as it is, without a
//! warning.
//!
//! - A field of an enum type with a doc comment (or `nullable`) comes out as
//!   `{"description": D, "allOf": [{"$ref": X}, {"description": D}]}`. openapi-python-client
//!   refuses that ("Cannot take allOf a non-object": `POST /offers`, `/partners` and
//!   `/conversions` were not generated) and openapi-typescript types it `X & unknown`. The
//!   second member only repeats what its parent already says, so it is dropped:
//!   `{"description": D, "allOf": [{"$ref": X}]}`, the usual OpenAPI 3.0 form of a reference
//!   with a description or `nullable` of its own.
//! - Media types are keyed `application/json; charset=utf-8`; generators look for
//!   `application/json`. The key becomes that (the answers' `Content-Type` header still names
//!   the charset).
//!
//! The document is rewritten in its own key order (serde_json's `Value` would sort the keys,
//! and with them every schema's properties).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};

const JSON_WITH_CHARSET: &str = "application/json; charset=utf-8";
const JSON: &str = "application/json";

/// `spec` (poem-openapi's pretty JSON) rewritten as above, pretty again.
pub fn tidy(spec: &str) -> String {
    let mut doc: Node = serde_json::from_str(spec).expect("poem-openapi writes valid JSON");
    doc.tidy();
    serde_json::to_string_pretty(&doc).expect("a JSON tree serializes")
}

/// A JSON value whose objects keep their keys in document order.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

impl Node {
    fn tidy(&mut self) {
        match self {
            Node::Array(items) => items.iter_mut().for_each(Node::tidy),
            Node::Object(entries) => {
                drop_repeated_all_of_members(entries);
                for (key, value) in entries.iter_mut() {
                    if key == "content"
                        && let Node::Object(media) = value
                    {
                        for (media_type, _) in media.iter_mut() {
                            if media_type == JSON_WITH_CHARSET {
                                *media_type = JSON.to_string();
                            }
                        }
                    }
                    value.tidy();
                }
            }
            _ => {}
        }
    }
}

/// In an `allOf` beside a `$ref`, a member that is no reference and only repeats entries of
/// the object holding the `allOf` says nothing new: it goes.
fn drop_repeated_all_of_members(entries: &mut [(String, Node)]) {
    let Some(i) = entries.iter().position(|(k, _)| k == "allOf") else {
        return;
    };
    let Node::Array(members) = &entries[i].1 else {
        return;
    };
    let is_ref = |m: &Node| matches!(m, Node::Object(e) if e.iter().any(|(k, _)| k == "$ref"));
    if !members.iter().any(is_ref) {
        return;
    }
    let parent = &*entries;
    let repeats = |m: &Node| match m {
        Node::Object(e) => {
            !is_ref(m)
                && e.iter().all(|(k, v)| {
                    parent
                        .iter()
                        .any(|(pk, pv)| pk != "allOf" && pk == k && pv == v)
                })
        }
        _ => false,
    };
    let kept: Vec<Node> = members.iter().filter(|m| !repeats(m)).cloned().collect();
    entries[i].1 = Node::Array(kept);
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Null => s.serialize_unit(),
            Node::Bool(b) => s.serialize_bool(*b),
            Node::Number(n) => n.serialize(s),
            Node::String(t) => s.serialize_str(t),
            Node::Array(items) => items.serialize(s),
            Node::Object(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Node, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Node, E> {
        Ok(Node::Bool(b))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Node, E> {
        Ok(Node::Number(n.into()))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Node, E> {
        Ok(Node::Number(n.into()))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Node, E> {
        serde_json::Number::from_f64(n)
            .map(Node::Number)
            .ok_or_else(|| E::custom("a number JSON can't hold"))
    }
    fn visit_str<E: de::Error>(self, t: &str) -> Result<Node, E> {
        Ok(Node::String(t.to_string()))
    }
    fn visit_string<E: de::Error>(self, t: String) -> Result<Node, E> {
        Ok(Node::String(t))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Node::Object(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::tidy;

    #[test]
    fn a_described_reference_keeps_its_description_and_loses_the_repeat() {
        let spec = r##"{"z": 1, "a": {"description": "D", "nullable": true, "allOf": [
            {"$ref": "#/components/schemas/X"}, {"description": "D"}, {"nullable": true},
            {"description": "other"}]}}"##;
        let out: serde_json::Value = serde_json::from_str(&tidy(spec)).unwrap();
        assert_eq!(
            out["a"],
            serde_json::json!({"description": "D", "nullable": true, "allOf": [
                {"$ref": "#/components/schemas/X"}, {"description": "other"}]})
        );
        assert!(
            tidy(spec).find("\"z\"") < tidy(spec).find("\"a\""),
            "order kept"
        );
    }

    #[test]
    fn json_media_types_lose_the_charset_and_nothing_else_changes() {
        let spec = r#"{"content": {"application/json; charset=utf-8": {"schema": {"type": "string"}},
            "text/csv; charset=utf-8": {"example": 1.5}}, "n": -3, "b": false, "x": null}"#;
        let out = tidy(spec);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let media: Vec<&String> = v["content"].as_object().unwrap().keys().collect();
        assert_eq!(media, ["application/json", "text/csv; charset=utf-8"]);
        assert_eq!(v["content"]["text/csv; charset=utf-8"]["example"], 1.5);
        assert_eq!(
            (&v["n"], &v["b"], &v["x"]),
            (&(-3).into(), &false.into(), &().into())
        );
    }
}
