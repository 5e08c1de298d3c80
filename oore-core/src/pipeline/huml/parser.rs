//! A strict HUML v0.2 parser that produces the located tree, keeping key order.

use crate::pipeline::node::{Entry, MAX_DEPTH, Node, NodeKind, Pos};

use super::HumlError;

pub(super) type PResult<T> = Result<T, HumlError>;

/// Parses a whole HUML document. With `quote_values` false, syntax errors never quote
/// the document's values (for files that hold secrets).
pub(crate) fn parse_document(src: &str, quote_values: bool) -> PResult<Node> {
    let mut p = Parser {
        src,
        bytes: src.as_bytes(),
        pos: 0,
        line: 1,
        line_start: 0,
        depth: 0,
        quote_values,
    };
    p.document()
}

#[derive(Clone)]
pub(super) struct Parser<'a> {
    pub(super) src: &'a str,
    pub(super) bytes: &'a [u8],
    pub(super) pos: usize,
    pub(super) line: usize,
    pub(super) line_start: usize,
    pub(super) depth: usize,
    /// Whether error messages may quote a value (see [`parse_document`]).
    pub(super) quote_values: bool,
}

pub(super) enum Indicator {
    Scalar,
    Vector,
}

impl<'a> Parser<'a> {
    // ---- cursor helpers ----

    pub(super) fn done(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    pub(super) fn peek_at(&self, offset: usize) -> Option<u8> {
        self.bytes.get(self.pos + offset).copied()
    }

    pub(super) fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or("")
    }

    pub(super) fn starts_with(&self, s: &str) -> bool {
        self.rest().starts_with(s)
    }

    pub(super) fn at_eol(&self) -> bool {
        matches!(self.peek(), None | Some(b'\n'))
    }

    /// Moves forward `n` bytes, keeping track of lines.
    pub(super) fn bump(&mut self, n: usize) {
        for _ in 0..n {
            match self.peek() {
                Some(b'\n') => {
                    self.pos += 1;
                    self.line += 1;
                    self.line_start = self.pos;
                }
                Some(_) => self.pos += 1,
                None => break,
            }
        }
    }

    pub(super) fn here(&self) -> Pos {
        let column = self
            .src
            .get(self.line_start..self.pos)
            .map_or(0, |s| s.chars().count());
        Pos::new(self.line, column + 1)
    }

    pub(super) fn error(&self, message: impl Into<String>) -> HumlError {
        Self::error_at(self.here(), message)
    }

    pub(super) fn error_at(pos: Pos, message: impl Into<String>) -> HumlError {
        HumlError {
            line: pos.line,
            column: pos.column,
            message: message.into(),
        }
    }

    pub(super) fn fail<T>(&self, message: impl Into<String>) -> PResult<T> {
        Err(self.error(message))
    }

    /// Spaces at the cursor, without moving.
    pub(super) fn spaces_ahead(&self) -> usize {
        self.bytes[self.pos.min(self.bytes.len())..]
            .iter()
            .take_while(|b| **b == b' ')
            .count()
    }

    pub(super) fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.fail(format!(
                "vectors are nested more than {MAX_DEPTH} levels deep; flatten the document"
            ));
        }
        Ok(())
    }

    pub(super) fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    // ---- lines, comments, spaces ----

    /// Skips empty lines and comment-only lines; the cursor must be at a line start.
    pub(super) fn skip_blank(&mut self) -> PResult<()> {
        loop {
            let n = self.spaces_ahead();
            match self.peek_at(n) {
                None => {
                    if n > 0 {
                        self.bump(n);
                        return self.fail("trailing spaces are not allowed; remove them");
                    }
                    return Ok(());
                }
                Some(b'\n') => {
                    self.bump(n);
                    if n > 0 {
                        return self.fail("trailing spaces are not allowed; remove them");
                    }
                    self.bump(1);
                }
                Some(b'#') => {
                    self.bump(n);
                    self.comment()?;
                }
                Some(_) => return Ok(()),
            }
        }
    }

    /// Reads a comment at the cursor (`#`) to the end of its line, newline included.
    pub(super) fn comment(&mut self) -> PResult<()> {
        self.bump(1);
        match self.peek() {
            None => return Ok(()),
            Some(b'\n') => {
                self.bump(1);
                return Ok(());
            }
            Some(b' ') => {}
            Some(_) => return self.fail("put a space after `#` in a comment"),
        }
        let end = self.bytes[self.pos..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(self.bytes.len(), |i| self.pos + i);
        let text = &self.bytes[self.pos..end];
        if text.len() > 1 && text.last() == Some(&b' ') {
            self.bump(end - self.pos - 1);
            return self.fail("trailing spaces are not allowed; remove them");
        }
        self.bump(end - self.pos + 1);
        Ok(())
    }

    /// After a value: optional `  # comment`, then the end of the line.
    pub(super) fn end_of_line(&mut self) -> PResult<()> {
        let n = self.spaces_ahead();
        match self.peek_at(n) {
            None | Some(b'\n') => {
                self.bump(n);
                if n > 0 {
                    return self.fail("trailing spaces are not allowed; remove them");
                }
                self.bump(1);
                Ok(())
            }
            Some(b'#') if n > 0 => {
                self.bump(n);
                self.comment()
            }
            Some(b'#') => self.fail("put a space between the value and the `#` comment"),
            Some(b',') if n > 0 => {
                self.bump(n);
                self.fail("remove the space before `,`")
            }
            Some(_) => {
                self.bump(n);
                self.fail(
                    "unexpected content after the value; put one value per line, or a `# comment`",
                )
            }
        }
    }

    pub(super) fn single_space(&mut self, after: &str) -> PResult<()> {
        if self.peek() != Some(b' ') {
            return self.fail(format!("put one space after {after}"));
        }
        self.bump(1);
        if self.peek() == Some(b' ') {
            return self.fail(format!("use exactly one space after {after}"));
        }
        Ok(())
    }

    // ---- document structure ----

    pub(super) fn document(&mut self) -> PResult<Node> {
        if self.starts_with("%HUML") {
            self.version()?;
        }
        self.skip_blank()?;
        if self.done() {
            return self
                .fail("empty document: a huml document needs a value, e.g. `key: \"value\"`");
        }
        let root = self.root()?;
        self.skip_blank()?;
        if !self.done() {
            return self.fail("unexpected content after the document's root value");
        }
        Ok(root)
    }

    pub(super) fn version(&mut self) -> PResult<()> {
        self.bump("%HUML".len());
        if self.at_eol() {
            self.bump(1);
            return Ok(());
        }
        if self.peek() != Some(b' ') {
            return self.fail("write the version directive as `%HUML v0.2.0`");
        }
        self.bump(1);
        let start = self.pos;
        let len = self.bytes[start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            .count();
        let version = &self.src[start..start + len];
        if version != "v0.2.0" {
            return self.fail(format!(
                "unsupported huml version `{version}`; this parser reads `%HUML v0.2.0`"
            ));
        }
        self.bump(len);
        self.end_of_line()
    }

    pub(super) fn root(&mut self) -> PResult<Node> {
        if self.spaces_ahead() > 0 {
            self.bump(self.spaces_ahead());
            return self.fail(
                "the root value must start at the beginning of the line; remove the indentation",
            );
        }
        if self.starts_with(":") {
            return self.fail("the document root has no key: write `key: value` lines or a value directly, without `:` or `::`");
        }
        let pos = self.here();
        if self.starts_with("[]") {
            self.bump(2);
            self.end_of_line()?;
            return Ok(Node::new(pos, NodeKind::List(Vec::new())));
        }
        if self.starts_with("{}") {
            self.bump(2);
            self.end_of_line()?;
            return Ok(Node::new(pos, NodeKind::Map(Vec::new())));
        }
        if self.peek() == Some(b'-') && matches!(self.peek_at(1), None | Some(b' ' | b'\n')) {
            return self.multiline_list(0);
        }
        if let Some(indicator) = self.key_ahead() {
            if matches!(indicator, Indicator::Scalar) && self.root_is_inline_dict() {
                return self.inline_dict();
            }
            return self.multiline_dict(0);
        }
        let first = self.inline_scalar()?;
        if self.peek() == Some(b',') {
            return self.inline_list_from(pos, first);
        }
        self.end_of_line()?;
        Ok(first)
    }

    /// Whether a key followed by `:` or `::` starts at the cursor.
    pub(super) fn key_ahead(&self) -> Option<Indicator> {
        let mut probe = self.clone();
        if !matches!(probe.peek(), Some(b'"'))
            && !probe.peek().is_some_and(|b| b.is_ascii_alphabetic())
        {
            return None;
        }
        probe.key().ok()?;
        match (probe.peek(), probe.peek_at(1)) {
            (Some(b':'), Some(b':')) => Some(Indicator::Vector),
            (Some(b':'), _) => Some(Indicator::Scalar),
            _ => None,
        }
    }

    /// `a: 1, b: 2` on the root line (as opposed to the first line of a multi-line dict).
    pub(super) fn root_is_inline_dict(&self) -> bool {
        let mut probe = self.clone();
        if probe.key().is_err() {
            return false;
        }
        probe.bump(1);
        if probe.single_space("`:`").is_err() || probe.starts_with("\"\"\"") {
            return false;
        }
        probe.inline_scalar().is_ok() && probe.peek() == Some(b',')
    }

    pub(super) fn multiline_dict(&mut self, indent: usize) -> PResult<Node> {
        self.enter()?;
        let mut entries: Vec<Entry> = Vec::new();
        let mut pos = None;
        loop {
            self.skip_blank()?;
            if self.done() {
                break;
            }
            let n = self.spaces_ahead();
            if n < indent {
                break;
            }
            self.bump(n);
            if n > indent {
                return self.fail(format!(
                    "bad indentation: expected {indent} spaces, found {n}"
                ));
            }
            if !(self.peek() == Some(b'"') || self.peek().is_some_and(|b| b.is_ascii_alphabetic()))
            {
                return self.fail(
                    "expected a key: letters, digits, `_` and `-` starting with a letter, or a quoted string",
                );
            }
            let key_pos = self.here();
            pos.get_or_insert(key_pos);
            let key = self.key()?;
            if entries.iter().any(|e| e.key == key) {
                return Err(Self::error_at(
                    key_pos,
                    format!("duplicate key `{key}`: a key may appear only once in a dict"),
                ));
            }
            let value = match self.indicator()? {
                Indicator::Vector => self.vector(indent)?,
                Indicator::Scalar => {
                    self.single_space("`:`")?;
                    self.scalar_value(indent)?
                }
            };
            entries.push(Entry {
                key,
                key_pos,
                value,
            });
        }
        self.leave();
        Ok(Node::new(pos.unwrap_or_default(), NodeKind::Map(entries)))
    }

    pub(super) fn multiline_list(&mut self, indent: usize) -> PResult<Node> {
        self.enter()?;
        let mut items = Vec::new();
        let mut pos = None;
        loop {
            self.skip_blank()?;
            if self.done() {
                break;
            }
            let n = self.spaces_ahead();
            if n < indent {
                break;
            }
            if n > indent {
                self.bump(n);
                return self.fail(format!(
                    "bad indentation: expected {indent} spaces, found {n}"
                ));
            }
            if self.peek_at(n) != Some(b'-') {
                break;
            }
            self.bump(n);
            pos.get_or_insert(self.here());
            self.bump(1);
            if self.at_eol() {
                return self.fail("expected a value after `-`");
            }
            self.single_space("`-`")?;
            let value = if self.starts_with("::") {
                self.bump(2);
                self.vector(indent)?
            } else {
                self.scalar_value(indent)?
            };
            items.push(value);
        }
        self.leave();
        Ok(Node::new(pos.unwrap_or_default(), NodeKind::List(items)))
    }

    pub(super) fn indicator(&mut self) -> PResult<Indicator> {
        if self.peek() != Some(b':') {
            return self.fail("expected `:` (scalar) or `::` (list or dict) right after the key");
        }
        self.bump(1);
        if self.peek() == Some(b':') {
            self.bump(1);
            return Ok(Indicator::Vector);
        }
        Ok(Indicator::Scalar)
    }

    /// The value after `::`, for a key (or `-`) indented by `indent`.
    pub(super) fn vector(&mut self, indent: usize) -> PResult<Node> {
        if self.at_eol() {
            self.bump(1);
            return self.multiline_vector(indent);
        }
        let n = self.spaces_ahead();
        if n == 0 {
            return self.fail("put one space after `::`, or end the line for a multi-line vector");
        }
        match self.peek_at(n) {
            Some(b'#') => {
                self.bump(n);
                self.comment()?;
                self.multiline_vector(indent)
            }
            None | Some(b'\n') => {
                self.bump(n);
                self.fail("trailing spaces are not allowed; remove them")
            }
            Some(_) if n > 1 => {
                self.bump(n);
                self.fail("use exactly one space after `::`")
            }
            Some(_) => {
                self.bump(1);
                self.inline_vector()
            }
        }
    }

    pub(super) fn multiline_vector(&mut self, indent: usize) -> PResult<Node> {
        self.skip_blank()?;
        let child = indent + 2;
        let n = self.spaces_ahead();
        if self.done() || n < child {
            return self.fail(
                "empty vector after `::`: write `[]` for an empty list or `{}` for an empty dict",
            );
        }
        if n > child {
            self.bump(n);
            return self.fail(format!(
                "bad indentation: expected {child} spaces, found {n}"
            ));
        }
        if self.peek_at(n) == Some(b'-') && matches!(self.peek_at(n + 1), None | Some(b' ' | b'\n'))
        {
            self.multiline_list(child)
        } else {
            self.multiline_dict(child)
        }
    }

    pub(super) fn inline_vector(&mut self) -> PResult<Node> {
        self.enter()?;
        let node = self.inline_vector_inner();
        self.leave();
        node
    }

    pub(super) fn inline_vector_inner(&mut self) -> PResult<Node> {
        let pos = self.here();
        if self.starts_with("[]") {
            self.bump(2);
            self.end_of_line()?;
            return Ok(Node::new(pos, NodeKind::List(Vec::new())));
        }
        if self.starts_with("{}") {
            self.bump(2);
            self.end_of_line()?;
            return Ok(Node::new(pos, NodeKind::Map(Vec::new())));
        }
        match self.key_ahead() {
            Some(Indicator::Scalar) => self.inline_dict(),
            Some(Indicator::Vector) => {
                self.fail("inline dicts hold only scalars; use a multi-line dict for nesting")
            }
            None => {
                let first = self.inline_scalar()?;
                self.inline_list_from(pos, first)
            }
        }
    }

    /// Moves past `, ` between inline items; `false` when there is no comma.
    pub(super) fn inline_separator(&mut self) -> PResult<bool> {
        if self.peek() != Some(b',') {
            return Ok(false);
        }
        self.bump(1);
        self.single_space("`,`")?;
        Ok(true)
    }

    pub(super) fn inline_list_from(&mut self, pos: Pos, first: Node) -> PResult<Node> {
        let mut items = vec![first];
        while self.inline_separator()? {
            items.push(self.inline_scalar()?);
        }
        self.end_of_line()?;
        Ok(Node::new(pos, NodeKind::List(items)))
    }

    pub(super) fn inline_dict(&mut self) -> PResult<Node> {
        let pos = self.here();
        let mut entries: Vec<Entry> = Vec::new();
        loop {
            let key_pos = self.here();
            if !(self.peek() == Some(b'"') || self.peek().is_some_and(|b| b.is_ascii_alphabetic()))
            {
                return self.fail("expected a key in the inline dict");
            }
            let key = self.key()?;
            if entries.iter().any(|e| e.key == key) {
                return Err(Self::error_at(
                    key_pos,
                    format!("duplicate key `{key}`: a key may appear only once in a dict"),
                ));
            }
            match self.indicator()? {
                Indicator::Scalar => {}
                Indicator::Vector => {
                    return self
                        .fail("inline dicts hold only scalars; use a multi-line dict for nesting");
                }
            }
            self.single_space("`:`")?;
            let value = self.inline_scalar()?;
            entries.push(Entry {
                key,
                key_pos,
                value,
            });
            if !self.inline_separator()? {
                break;
            }
        }
        self.end_of_line()?;
        Ok(Node::new(pos, NodeKind::Map(entries)))
    }
}
