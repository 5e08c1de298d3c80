//! Reading YAML (the Codemagic-compatible format) into the located tree, through
//! serde-saphyr: anchors, aliases and merge keys (`<<: *x`) are expanded by the parser, and
//! every node keeps the line and column where it is used.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{MessageFormatter, Spanned, UserMessageFormatter};

use super::diagnostic::Diagnostic;
use super::node::{Entry, MAX_DEPTH, Node, NodeKind, Pos};

/// Parses YAML text into the located tree, or a located syntax error.
pub(crate) fn parse(text: &str) -> Result<Node, Diagnostic> {
    let options = serde_saphyr::options! {
        non_finite_float_policy: serde_saphyr::NonFiniteFloatPolicy::PassThrough,
        with_snippet: false,
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
            flow_nesting_limit: MAX_DEPTH,
        },
    };
    match serde_saphyr::from_str_with_options::<Spanned<RawKind>>(text, options) {
        Ok(raw) => Ok(convert(raw, text)),
        Err(err) => Err(syntax_error(&err, text)),
    }
}

fn syntax_error(err: &serde_saphyr::Error, text: &str) -> Diagnostic {
    let pos = err
        .location()
        .map(|l| {
            Pos::new(
                usize::try_from(l.line()).unwrap_or(0),
                usize::try_from(l.column()).unwrap_or(0),
            )
        })
        .unwrap_or_default();
    let mut inner = err;
    while let serde_saphyr::Error::AliasError { error, .. }
    | serde_saphyr::Error::WithSnippet { error, .. } = inner
    {
        inner = error;
    }
    let message = match (inner, alias_at(text, pos)) {
        (serde_saphyr::Error::UnknownAnchor { .. }, Some(name)) => format!(
            "invalid yaml: unknown alias `*{name}`; define the anchor `&{name}` before this use, or fix the name"
        ),
        (serde_saphyr::Error::UnknownAnchor { .. }, None) => {
            "invalid yaml: unknown alias; define the anchor (`&name`) before it is used as `*name`"
                .to_owned()
        }
        (serde_saphyr::Error::Budget { .. }, _) => format!(
            "invalid yaml: the document is too large or too deeply nested (at most {MAX_DEPTH} levels); simplify it"
        ),
        _ => {
            let text = UserMessageFormatter.format_message(inner);
            if text.contains("recursion limit") {
                format!(
                    "invalid yaml: nested more than {MAX_DEPTH} levels deep; flatten the document"
                )
            } else {
                format!("invalid yaml: {}", lowercase_first(&text))
            }
        }
    };
    Diagnostic::at(pos, "", message)
}

/// The alias name written at `pos` (`*name`), if there is one.
fn alias_at(text: &str, pos: Pos) -> Option<&str> {
    let (line, column) = pos.known()?;
    let line = text
        .lines()
        .nth(usize::try_from(line).ok()?.checked_sub(1)?)?;
    let start = line
        .char_indices()
        .nth(usize::try_from(column).ok()?.checked_sub(1)?)?
        .0;
    let rest = line.get(start..)?.strip_prefix('*')?;
    let end = rest
        .find(|c: char| c.is_whitespace() || matches!(c, ',' | '[' | ']' | '{' | '}'))
        .unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

/// Lowercases the first letter unless it starts an acronym (`YAML`).
fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match (chars.next(), chars.clone().next()) {
        (Some(c), Some(next)) if !next.is_uppercase() => c.to_lowercase().chain(chars).collect(),
        _ => s.to_owned(),
    }
}

/// The spelling of a scalar in the source (where it is defined, for aliases).
fn raw_text(defined: serde_saphyr::Location, text: &str) -> Option<Box<str>> {
    let span = defined.span();
    let start = usize::try_from(span.byte_offset()?).ok()?;
    let len = usize::try_from(span.byte_len()?).ok()?;
    text.get(start..start.checked_add(len)?).map(Box::from)
}

fn pos_of<T>(spanned: &Spanned<T>) -> Pos {
    let l = spanned.referenced;
    Pos::new(
        usize::try_from(l.line()).unwrap_or(0),
        usize::try_from(l.column()).unwrap_or(0),
    )
}

fn convert(raw: Spanned<RawKind>, text: &str) -> Node {
    let pos = pos_of(&raw);
    let defined = raw.defined;
    let kind = match raw.value {
        RawKind::Null => NodeKind::Null,
        RawKind::Bool(b) => NodeKind::Bool(b, raw_text(defined, text)),
        RawKind::Int(i) => NodeKind::Int(i, raw_text(defined, text)),
        RawKind::Float(x) => NodeKind::Float(x, raw_text(defined, text)),
        RawKind::Str(s) => NodeKind::Str(s),
        RawKind::List(items) => {
            NodeKind::List(items.into_iter().map(|n| convert(n, text)).collect())
        }
        RawKind::Map(entries) => NodeKind::Map(
            entries
                .into_iter()
                .map(|(k, v)| Entry {
                    key_pos: pos_of(&k),
                    key: match k.value {
                        RawKey::Text(s) => s,
                        // `y:`, `on:`, `1.10:` are keys as written, not booleans or numbers
                        RawKey::Other(s) => raw_text(k.defined, text).map_or(s, String::from),
                    },
                    value: convert(v, text),
                })
                .collect(),
        ),
    };
    Node::new(pos, kind)
}

/// What serde-saphyr hands us: any YAML node, with spans on every child.
enum RawKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Spanned<RawKind>>),
    Map(Vec<(Spanned<RawKey>, Spanned<RawKind>)>),
}

struct RawKindVisitor;

impl<'de> Visitor<'de> for RawKindVisitor {
    type Value = RawKind;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any yaml value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<RawKind, E> {
        Ok(RawKind::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<RawKind, E> {
        Ok(RawKind::Int(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<RawKind, E> {
        Ok(i64::try_from(v).map_or(RawKind::Float(v as f64), RawKind::Int))
    }

    fn visit_i128<E>(self, v: i128) -> Result<RawKind, E> {
        Ok(i64::try_from(v).map_or(RawKind::Float(v as f64), RawKind::Int))
    }

    fn visit_u128<E>(self, v: u128) -> Result<RawKind, E> {
        Ok(i64::try_from(v).map_or(RawKind::Float(v as f64), RawKind::Int))
    }

    fn visit_f64<E>(self, v: f64) -> Result<RawKind, E> {
        Ok(RawKind::Float(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<RawKind, E> {
        Ok(RawKind::Str(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<RawKind, E> {
        Ok(RawKind::Str(v))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<RawKind, E> {
        match std::str::from_utf8(v) {
            Ok(s) => Ok(RawKind::Str(s.to_owned())),
            Err(_) => Err(E::custom("binary values are not supported; use a string")),
        }
    }

    fn visit_unit<E>(self) -> Result<RawKind, E> {
        Ok(RawKind::Null)
    }

    fn visit_none<E>(self) -> Result<RawKind, E> {
        Ok(RawKind::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<RawKind, D::Error> {
        RawKind::deserialize(d)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<RawKind, D::Error> {
        RawKind::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawKind, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<RawKind>>()? {
            items.push(item);
        }
        Ok(RawKind::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawKind, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<RawKey>>()? {
            let value = map.next_value::<Spanned<RawKind>>()?;
            entries.push((key, value));
        }
        Ok(RawKind::Map(entries))
    }
}

impl<'de> Deserialize<'de> for RawKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawKindVisitor)
    }
}

/// A map key: any scalar, read as text (`1: x` has the key `"1"`). Keys that the YAML
/// schema would resolve to something else than a string are re-read from the source.
enum RawKey {
    Text(String),
    Other(String),
}

struct RawKeyVisitor;

impl<'de> Visitor<'de> for RawKeyVisitor {
    type Value = RawKey;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a scalar map key")
    }

    fn visit_bool<E>(self, v: bool) -> Result<RawKey, E> {
        Ok(RawKey::Other(v.to_string()))
    }

    fn visit_i64<E>(self, v: i64) -> Result<RawKey, E> {
        Ok(RawKey::Other(v.to_string()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<RawKey, E> {
        Ok(RawKey::Other(v.to_string()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<RawKey, E> {
        Ok(RawKey::Other(format!("{v:?}")))
    }

    fn visit_str<E>(self, v: &str) -> Result<RawKey, E> {
        Ok(RawKey::Text(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<RawKey, E> {
        Ok(RawKey::Text(v))
    }

    fn visit_unit<E>(self) -> Result<RawKey, E> {
        Ok(RawKey::Other("null".to_owned()))
    }

    fn visit_none<E>(self) -> Result<RawKey, E> {
        Ok(RawKey::Other("null".to_owned()))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<RawKey, D::Error> {
        d.deserialize_any(RawKeyVisitor)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<RawKey, A::Error> {
        Err(de::Error::custom(
            "a list cannot be a map key; use a plain string key",
        ))
    }

    fn visit_map<A: MapAccess<'de>>(self, _map: A) -> Result<RawKey, A::Error> {
        Err(de::Error::custom(
            "a map cannot be a map key; use a plain string key",
        ))
    }
}

impl<'de> Deserialize<'de> for RawKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawKeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::value::Value;

    fn map_entries(node: &Node) -> &[Entry] {
        match &node.kind {
            NodeKind::Map(entries) => entries,
            _ => &[],
        }
    }

    #[test]
    fn keys_keep_their_spelling() {
        let node = parse("y: 1\non: 2\n1.10: 3\n\"yes\": 4\n").expect("valid yaml");
        let keys: Vec<_> = map_entries(&node).iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["y", "on", "1.10", "yes"]);
    }

    #[test]
    fn numbers_keep_their_spelling() {
        let node = parse("flutter: 3.10\nxcode: 15.0\n").expect("valid yaml");
        let entries = map_entries(&node);
        assert_eq!(entries[0].value.scalar_text().as_deref(), Some("3.10"));
        assert_eq!(entries[1].value.scalar_text().as_deref(), Some("15.0"));
        assert_eq!(entries[1].key_pos, Pos::new(2, 1));
    }

    #[test]
    fn merge_keys_and_aliases_expand() {
        let text = "base: &b\n  x: 1\nuse:\n  <<: *b\n  y: 2\n";
        let node = parse(text).expect("valid yaml");
        let value = node.to_value();
        let used = value
            .as_map()
            .and_then(|m| m.get("use"))
            .and_then(|v| v.as_map())
            .expect("map");
        assert_eq!(used.get("x"), Some(&Value::Int(1)));
        assert_eq!(used.get("y"), Some(&Value::Int(2)));
    }

    #[test]
    fn merge_lists_and_explicit_keys_win() {
        let text = "a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc:\n  <<: [*a, *b]\n  x: 0\n";
        let value = parse(text).expect("valid yaml").to_value();
        let c = value
            .as_map()
            .and_then(|m| m.get("c"))
            .and_then(|v| v.as_map())
            .expect("map");
        assert_eq!(
            c.get("x"),
            Some(&Value::Int(0)),
            "explicit keys override merged ones"
        );
        assert_eq!(
            c.get("y"),
            Some(&Value::Int(1)),
            "earlier merge sources win"
        );
        assert_eq!(c.get("z"), Some(&Value::Int(2)));
    }

    #[test]
    fn unknown_alias_is_located() {
        let err = parse("a: 1\nb: *nope\n").expect_err("unknown alias");
        assert_eq!((err.line, err.column), (Some(2), Some(4)));
        assert!(
            err.message.contains("unknown alias `*nope`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = parse("a: 1\na: 2\n").expect_err("duplicate key");
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("duplicate"), "{}", err.message);
    }

    #[test]
    fn deep_nesting_is_an_error_within_a_small_stack() {
        let run = |depth: usize| {
            let text = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
            let block = (0..depth)
                .map(|d| format!("{}k:\n", " ".repeat(d * 2)))
                .collect::<String>();
            std::thread::Builder::new()
                .stack_size(1 << 20)
                .spawn(move || (parse(&text).map(|_| ()), parse(&block).map(|_| ())))
                .expect("spawn")
                .join()
                .expect("no stack overflow")
        };
        let (flow, block) = run(MAX_DEPTH);
        assert!(flow.is_ok() && block.is_ok());
        for depth in [MAX_DEPTH + 1, 5_000] {
            let (flow, block) = run(depth);
            let flow = flow.expect_err("too deep");
            assert!(flow.message.contains("levels"), "{}", flow.message);
            assert!(block.is_err());
        }
    }
}
