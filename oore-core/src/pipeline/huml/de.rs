//! [`from_str`]: a HUML document read into any [`serde::Deserialize`] type by the same
//! parser as pipelines, every error located at the line and column of the value (or key)
//! it is about.
//!
//! Errors never quote the document's values (`invalid type: a string, expected a map`,
//! not the string itself; syntax errors too), so a file holding secrets can be reported
//! safely. Enums are read from strings (unit variants) only.

use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Unexpected,
    Visitor,
};

use super::HumlError;
use crate::pipeline::node::{Entry, Node, NodeKind, Pos};

/// Parses a HUML document and deserializes it into `T`. The error is the syntax error, or
/// the first value `T` refused, at its line and column.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, HumlError> {
    let root = super::parser::parse_document(text, false)?;
    T::deserialize(NodeDe(&root)).map_err(|e| {
        let pos = e.pos.unwrap_or(root.pos);
        let (line, column) = pos.known().unwrap_or((1, 1));
        HumlError {
            line,
            column,
            message: e.message,
        }
    })
}

/// A deserialization error, located once the node it belongs to is known.
#[derive(Debug)]
struct DeError {
    pos: Option<Pos>,
    message: String,
}

impl DeError {
    /// Puts the error at `pos` unless a more precise position is known already.
    fn at(mut self, pos: Pos) -> Self {
        if self.pos.is_none() && pos.known().is_some() {
            self.pos = Some(pos);
        }
        self
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

/// The kind of an unexpected value, without the value.
fn kind(unexpected: &Unexpected<'_>) -> String {
    match unexpected {
        Unexpected::Bool(_) => "a boolean".to_owned(),
        Unexpected::Unsigned(_) | Unexpected::Signed(_) => "an integer".to_owned(),
        Unexpected::Float(_) => "a float".to_owned(),
        Unexpected::Char(_) | Unexpected::Str(_) => "a string".to_owned(),
        Unexpected::Bytes(_) => "bytes".to_owned(),
        Unexpected::Unit => "null".to_owned(),
        Unexpected::Seq => "a list".to_owned(),
        Unexpected::Map => "a dict".to_owned(),
        other => other.to_string(),
    }
}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        DeError {
            pos: None,
            message: message.to_string(),
        }
    }

    fn invalid_type(unexpected: Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        Self::custom(format_args!(
            "invalid type: {}, expected {expected}",
            kind(&unexpected)
        ))
    }

    fn invalid_value(unexpected: Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        Self::custom(format_args!(
            "invalid value: {}, expected {expected}",
            kind(&unexpected)
        ))
    }
}

/// Deserializes one node of the located tree.
struct NodeDe<'a>(&'a Node);

impl<'de> de::Deserializer<'de> for NodeDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let pos = self.0.pos;
        let result = match &self.0.kind {
            NodeKind::Null => visitor.visit_unit(),
            NodeKind::Bool(b, _) => visitor.visit_bool(*b),
            NodeKind::Int(i, _) => visitor.visit_i64(*i),
            NodeKind::Float(x, _) => visitor.visit_f64(*x),
            NodeKind::Str(s) => visitor.visit_str(s),
            NodeKind::List(items) => visitor.visit_seq(SeqDe(items.iter())),
            NodeKind::Map(entries) => visitor.visit_map(MapDe {
                entries: entries.iter(),
                value: None,
            }),
        };
        result.map_err(|e| e.at(pos))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0.kind {
            NodeKind::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match &self.0.kind {
            NodeKind::Str(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            _ => Err(de::Error::custom(format_args!(
                "expected a string naming a {name}"
            ))),
        }
        .map_err(|e: DeError| e.at(self.0.pos))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}

struct SeqDe<'a>(std::slice::Iter<'a, Node>);

impl<'de> SeqAccess<'de> for SeqDe<'_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let Some(node) = self.0.next() else {
            return Ok(None);
        };
        seed.deserialize(NodeDe(node))
            .map(Some)
            .map_err(|e| e.at(node.pos))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct MapDe<'a> {
    entries: std::slice::Iter<'a, Entry>,
    value: Option<&'a Node>,
}

impl<'de> MapAccess<'de> for MapDe<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some(entry) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some(&entry.value);
        let key: de::value::StrDeserializer<'_, DeError> = entry.key.as_str().into_deserializer();
        seed.deserialize(key)
            .map(Some)
            .map_err(|e| e.at(entry.key_pos))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let node = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("a value was read before its key"))?;
        seed.deserialize(NodeDe(node)).map_err(|e| e.at(node.pos))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        name: String,
        count: Option<u32>,
        #[serde(default)]
        tags: Vec<String>,
        #[serde(default)]
        nested: BTreeMap<String, Inner>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        on: bool,
        mode: Mode,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Mode {
        Fast,
        Slow,
    }

    #[test]
    fn reads_structs_lists_maps_options_and_enums() {
        let doc: Doc = from_str(
            "name: \"x\"\ncount: null\ntags:: \"a\", \"b\"\nnested::\n  one::\n    on: true\n    mode: \"slow\"\n",
        )
        .expect("valid");
        assert_eq!(
            doc,
            Doc {
                name: "x".to_owned(),
                count: None,
                tags: vec!["a".to_owned(), "b".to_owned()],
                nested: BTreeMap::from([(
                    "one".to_owned(),
                    Inner {
                        on: true,
                        mode: Mode::Slow
                    }
                )]),
            }
        );
        let doc: Doc = from_str("name: \"y\"\ncount: 3\n").expect("valid");
        assert_eq!((doc.count, doc.tags.len()), (Some(3), 0));
    }

    #[test]
    fn errors_point_at_the_value_or_key_and_never_quote_values() {
        let e = from_str::<Doc>("name: \"x\"\ncolour: \"red\"\n").expect_err("unknown field");
        assert_eq!((e.line, e.column), (2, 1));
        assert!(e.message.starts_with("unknown field `colour`"), "{e}");

        let e = from_str::<Doc>("name: \"x\"\nnested::\n  one::\n    on: \"s3cret\"\n")
            .expect_err("wrong type");
        assert_eq!((e.line, e.column), (4, 9));
        assert_eq!(e.message, "invalid type: a string, expected a boolean");

        let e = from_str::<Doc>("name: \"x\"\nnested::\n  one::\n    on: true\n")
            .expect_err("missing field");
        assert_eq!(e.line, 4, "{e}");
        assert!(e.message.contains("missing field `mode`"), "{e}");

        let e = from_str::<Doc>("name: \"x\"\ncount: -1\n").expect_err("negative");
        assert_eq!(
            (e.line, e.message.as_str()),
            (2, "invalid value: an integer, expected u32")
        );

        let e = from_str::<Doc>("name: s3cret\n").expect_err("syntax");
        assert_eq!((e.line, e.column), (1, 7));
        assert!(!e.message.contains("s3cret"), "{e}");
        let e = from_str::<Doc>("name: \"s3\\qcret\"\n").expect_err("escape");
        assert!(!e.message.contains('q'), "{e}");
        assert!(
            super::super::parse("name: s3cret\n")
                .expect_err("syntax")
                .message
                .contains("s3cret"),
            "pipelines keep the quote, which helps fix them"
        );
    }
}
