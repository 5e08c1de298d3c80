//! HUML keys and scalars: quoted and bare keys, strings (one-line and `"""` blocks),
//! numbers, booleans and null.

use crate::pipeline::node::{Node, NodeKind};

use super::parser::{PResult, Parser};

impl Parser<'_> {
    pub(super) fn key(&mut self) -> PResult<String> {
        if self.peek() == Some(b'"') {
            return self.string();
        }
        let len = self.bytes[self.pos..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
            .count();
        if len == 0 || !self.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
            return self.fail("expected a key");
        }
        let key = self.src[self.pos..self.pos + len].to_owned();
        self.bump(len);
        Ok(key)
    }

    /// A scalar after `key: ` or `- `: a multi-line string, or a one-line scalar and the
    /// end of its line.
    pub(super) fn scalar_value(&mut self, key_indent: usize) -> PResult<Node> {
        if self.starts_with("\"\"\"") {
            return self.multiline_string(key_indent);
        }
        if self.starts_with("[]") || self.starts_with("{}") {
            return self.fail("an empty list or dict needs `::`, as in `key:: []` or `key:: {}`");
        }
        let value = self.inline_scalar()?;
        self.end_of_line()?;
        Ok(value)
    }

    /// A one-line scalar: string, number, boolean or null.
    pub(super) fn inline_scalar(&mut self) -> PResult<Node> {
        let pos = self.here();
        if self.starts_with("\"\"\"") {
            return self.fail("multi-line strings are allowed only as a dict value or list item on their own line");
        }
        if self.peek() == Some(b'"') {
            return Ok(Node::new(pos, NodeKind::Str(self.string()?)));
        }
        let len = self.bytes[self.pos..]
            .iter()
            .take_while(|b| !matches!(b, b' ' | b',' | b'\n'))
            .count();
        let token = &self.src[self.pos..self.pos + len];
        let kind = match token {
            "" => return self.fail("expected a value"),
            "true" => NodeKind::Bool(true, None),
            "false" => NodeKind::Bool(false, None),
            "null" => NodeKind::Null,
            "nan" => NodeKind::Float(f64::NAN, Some(token.into())),
            "inf" | "+inf" => NodeKind::Float(f64::INFINITY, Some(token.into())),
            "-inf" => NodeKind::Float(f64::NEG_INFINITY, Some(token.into())),
            _ => match number(token) {
                Ok(kind) => kind,
                Err(_) if !self.quote_values => {
                    return self.fail(
                        "this is not a value: write a double-quoted string, a number, true, false or null",
                    );
                }
                Err(message) => return self.fail(message),
            },
        };
        self.bump(len);
        Ok(Node::new(pos, kind))
    }

    pub(super) fn string(&mut self) -> PResult<String> {
        let start = self.here();
        self.bump(1);
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.bump(i + 1);
                    return Ok(out);
                }
                '\n' => break,
                '\\' => {
                    let escaped = match chars.next() {
                        Some((_, '"')) => '"',
                        Some((_, '\\')) => '\\',
                        Some((_, '/')) => '/',
                        Some((_, 'b')) => '\u{8}',
                        Some((_, 'f')) => '\u{c}',
                        Some((_, 'n')) => '\n',
                        Some((_, 'r')) => '\r',
                        Some((_, 't')) => '\t',
                        Some((_, 'v')) => '\u{b}',
                        Some((j, other)) if other != '\n' => {
                            self.bump(j);
                            if !self.quote_values {
                                return self.fail(
                                    "unsupported escape; huml strings allow \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\v and literal unicode",
                                );
                            }
                            return self.fail(format!(
                                "unsupported escape `\\{other}`; huml strings allow \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\v and literal unicode"
                            ));
                        }
                        _ => break,
                    };
                    out.push(escaped);
                }
                c => out.push(c),
            }
        }
        Err(Self::error_at(
            start,
            "unclosed string: close it with `\"` on the same line",
        ))
    }

    /// `"""` … `"""`: content lines indented two spaces past the key, closing delimiter at
    /// the key's indentation.
    pub(super) fn multiline_string(&mut self, key_indent: usize) -> PResult<Node> {
        let start = self.here();
        self.bump(3);
        if !self.at_eol() {
            let n = self.spaces_ahead();
            if n == 0 || self.peek_at(n) != Some(b'#') {
                return self.fail("a multi-line string starts on the line after `\"\"\"`");
            }
        }
        self.end_of_line()?;
        let required = key_indent + 2;
        let mut out = String::new();
        loop {
            if self.done() {
                return Err(Self::error_at(
                    start,
                    format!(
                        "unclosed multi-line string: close it with `\"\"\"` indented by {key_indent} spaces"
                    ),
                ));
            }
            let end = self.bytes[self.pos..]
                .iter()
                .position(|b| *b == b'\n')
                .map_or(self.bytes.len(), |i| self.pos + i);
            let line = &self.src[self.pos..end];
            let n = self.spaces_ahead();
            if line[n..].starts_with("\"\"\"") {
                self.bump(n);
                if n != key_indent {
                    return self.fail(format!(
                        "the closing `\"\"\"` must be indented by {key_indent} spaces, like its key"
                    ));
                }
                self.bump(3);
                self.end_of_line()?;
                out.pop();
                return Ok(Node::new(start, NodeKind::Str(out)));
            }
            // lines indented less than the content level are kept whole (the suite's
            // `multiline_string_triple_quotes` case has unindented content)
            out.push_str(if n >= required {
                &line[required..]
            } else {
                line
            });
            out.push('\n');
            self.bump(end - self.pos + 1);
        }
    }
}

/// Reads a HUML number token (already known not to be `nan`/`inf`).
fn number(token: &str) -> Result<NodeKind, String> {
    let invalid = || {
        if token.starts_with(|c: char| c.is_ascii_alphabetic()) {
            format!("`{token}` is not a value; strings must be double-quoted, as in \"{token}\"")
        } else {
            format!(
                "`{token}` is not a valid value; expected a quoted string, number, true, false or null"
            )
        }
    };
    let (negative, body) = match token.as_bytes().first() {
        Some(b'-') => (true, &token[1..]),
        Some(b'+') => (false, &token[1..]),
        _ => (false, token),
    };
    let radix = match body.get(..2) {
        Some("0x") => Some(16),
        Some("0o") => Some(8),
        Some("0b") => Some(2),
        _ => None,
    };
    if let Some(radix) = radix {
        let digits = &body[2..];
        if !digits.bytes().any(|b| b != b'_')
            || !digits.chars().all(|c| c == '_' || c.is_digit(radix))
        {
            return Err(invalid());
        }
        let clean: String = digits.chars().filter(|c| *c != '_').collect();
        let magnitude = u64::from_str_radix(&clean, radix)
            .map_err(|_| format!("`{token}` is out of range for a 64-bit integer"))?;
        let value = if negative {
            0i64.checked_sub_unsigned(magnitude)
        } else {
            i64::try_from(magnitude).ok()
        };
        return value
            .map(|i| NodeKind::Int(i, Some(token.into())))
            .ok_or_else(|| format!("`{token}` is out of range for a 64-bit integer"));
    }
    // decimal: digits, optional fraction, optional exponent (lowercase `e`)
    let bytes = body.as_bytes();
    let digits = |from: usize| {
        bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_digit() || **b == b'_')
            .count()
    };
    if !bytes.first().is_some_and(u8::is_ascii_digit) {
        return Err(invalid());
    }
    let mut i = digits(0);
    let mut is_float = false;
    let mut fraction_digits = None;
    if bytes.get(i) == Some(&b'.') {
        is_float = true;
        let n = digits(i + 1);
        fraction_digits = Some(n);
        i += 1 + n;
    }
    if bytes.get(i) == Some(&b'e') {
        if fraction_digits == Some(0) {
            return Err(invalid());
        }
        is_float = true;
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let n = digits(i);
        if n == 0 || !bytes.get(i).is_some_and(u8::is_ascii_digit) {
            return Err(invalid());
        }
        i += n;
    }
    if i != bytes.len() {
        return Err(invalid());
    }
    let clean: String = token.chars().filter(|c| *c != '_').collect();
    if is_float {
        clean
            .parse::<f64>()
            .map(|x| NodeKind::Float(x, Some(token.into())))
            .map_err(|_| invalid())
    } else {
        clean
            .parse::<i64>()
            .map(|x| NodeKind::Int(x, Some(token.into())))
            .map_err(|_| format!("`{token}` is out of range for a 64-bit integer"))
    }
}
