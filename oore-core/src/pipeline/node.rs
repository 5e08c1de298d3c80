//! The located document tree both readers produce: a [`Value`] shape where every node and
//! every map key remembers the line and column it came from, so that validation can point
//! at the offending spot whatever the format.

use super::value::{Map, Value};

/// How deeply lists and maps may nest, in both formats. Pipelines need fewer than ten
/// levels; the limit keeps every recursive pass well inside a 1 MiB stack, even in debug
/// builds (the YAML reader's test checks that), and means whatever one format accepts the
/// other can carry.
pub(crate) const MAX_DEPTH: usize = 24;

/// A 1-based line and column; `line == 0` means "unknown".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Pos {
    pub(crate) line: u32,
    pub(crate) column: u32,
}

impl Pos {
    pub(crate) fn new(line: usize, column: usize) -> Self {
        Self {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }

    /// `(line, column)` when known.
    pub(crate) fn known(self) -> Option<(u32, u32)> {
        (self.line > 0).then_some((self.line, self.column.max(1)))
    }
}

/// One node of the located tree.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub(crate) pos: Pos,
    pub(crate) kind: NodeKind,
}

/// What a node holds. Scalars that are not strings keep the text they were written as, so
/// that `flutter: 3.10` can be read as the string `"3.10"` rather than the number `3.1`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NodeKind {
    Null,
    Bool(bool, Option<Box<str>>),
    Int(i64, Option<Box<str>>),
    Float(f64, Option<Box<str>>),
    Str(String),
    List(Vec<Node>),
    Map(Vec<Entry>),
}

/// A map entry with the position of its key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) key: String,
    pub(crate) key_pos: Pos,
    pub(crate) value: Node,
}

impl Node {
    pub(crate) fn new(pos: Pos, kind: NodeKind) -> Self {
        Self { pos, kind }
    }

    /// The kind of value, for "expected X, found Y" messages.
    pub(crate) fn kind_name(&self) -> &'static str {
        match &self.kind {
            NodeKind::Null => "null",
            NodeKind::Bool(..) => "a boolean",
            NodeKind::Int(..) => "an integer",
            NodeKind::Float(..) => "a number",
            NodeKind::Str(_) => "a string",
            NodeKind::List(_) => "a list",
            NodeKind::Map(_) => "a map",
        }
    }

    /// The scalar as text, the way it was written when known: strings as they are, numbers
    /// and booleans in their source spelling. `None` for null, lists and maps.
    pub(crate) fn scalar_text(&self) -> Option<String> {
        match &self.kind {
            NodeKind::Str(s) => Some(s.clone()),
            NodeKind::Bool(b, raw) => {
                Some(raw.as_deref().map_or_else(|| b.to_string(), str::to_owned))
            }
            NodeKind::Int(i, raw) => {
                Some(raw.as_deref().map_or_else(|| i.to_string(), str::to_owned))
            }
            NodeKind::Float(x, raw) => Some(
                raw.as_deref()
                    .map_or_else(|| format!("{x:?}"), str::to_owned),
            ),
            NodeKind::Null | NodeKind::List(_) | NodeKind::Map(_) => None,
        }
    }

    /// Drops the positions.
    pub(crate) fn to_value(&self) -> Value {
        match &self.kind {
            NodeKind::Null => Value::Null,
            NodeKind::Bool(b, _) => Value::Bool(*b),
            NodeKind::Int(i, _) => Value::Int(*i),
            NodeKind::Float(x, _) => Value::Float(*x),
            NodeKind::Str(s) => Value::String(s.clone()),
            NodeKind::List(items) => Value::List(items.iter().map(Node::to_value).collect()),
            NodeKind::Map(entries) => Value::Map(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.to_value()))
                    .collect::<Map>(),
            ),
        }
    }
}
