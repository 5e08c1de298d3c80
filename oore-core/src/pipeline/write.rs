//! Writing a [`Value`] tree as YAML or HUML text.
//!
//! Both emitters are small and infallible: YAML strings are written plain only when no YAML
//! 1.1 or 1.2 reader could take them for anything else, as literal blocks (`|`) when they
//! span lines, and double-quoted otherwise; HUML follows the v0.2 layout rules (two-space
//! indentation, `::` for vectors, `"""` blocks for multi-line strings).

use super::value::{Map, Value};

// ---------------------------------------------------------------- YAML

/// The whole document as YAML.
pub(crate) fn yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Map(map) if !map.is_empty() => yaml_entries(map, 0, &mut out),
        Value::List(list) if !list.is_empty() => yaml_items(list, 0, &mut out),
        other => {
            out.push_str(&yaml_inline(other));
            out.push('\n');
        }
    }
    out
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn yaml_entries(map: &Map, at: usize, out: &mut String) {
    for (key, value) in map.iter() {
        indent(out, at);
        out.push_str(&yaml_string(key));
        out.push(':');
        match value {
            Value::Map(m) if !m.is_empty() => {
                out.push('\n');
                yaml_entries(m, at + 2, out);
            }
            Value::List(l) if !l.is_empty() => {
                out.push('\n');
                yaml_items(l, at + 2, out);
            }
            Value::String(s) if literal_block_ok(s) => {
                out.push(' ');
                yaml_literal(s, at + 2, out);
            }
            other => {
                out.push(' ');
                out.push_str(&yaml_inline(other));
                out.push('\n');
            }
        }
    }
}

fn yaml_items(list: &[Value], at: usize, out: &mut String) {
    for value in list {
        match value {
            Value::Map(m) if !m.is_empty() => {
                nested_item(out, at, |buf| yaml_entries(m, at + 2, buf))
            }
            Value::List(l) if !l.is_empty() => {
                nested_item(out, at, |buf| yaml_items(l, at + 2, buf))
            }
            Value::String(s) if literal_block_ok(s) => {
                indent(out, at);
                out.push_str("- ");
                yaml_literal(s, at + 2, out);
            }
            other => {
                indent(out, at);
                out.push_str("- ");
                out.push_str(&yaml_inline(other));
                out.push('\n');
            }
        }
    }
}

/// `- ` followed by a block collection whose first line shares the dash's line.
fn nested_item(out: &mut String, at: usize, write: impl FnOnce(&mut String)) {
    let mut buf = String::new();
    write(&mut buf);
    indent(out, at);
    out.push_str("- ");
    out.push_str(buf.get(at + 2..).unwrap_or(&buf));
}

/// A multi-line string that reads back unchanged as a `|` block with auto-detected
/// indentation: printable, with a first non-empty line that does not start with a space.
fn literal_block_ok(s: &str) -> bool {
    s.contains('\n')
        && s.chars()
            .all(|c| c == '\n' || c == '\t' || !needs_escape(c))
        && s.split('\n')
            .find(|line| !line.is_empty())
            .is_some_and(|line| !line.starts_with(' '))
}

fn yaml_literal(s: &str, at: usize, out: &mut String) {
    let trailing = s.len() - s.trim_end_matches('\n').len();
    out.push_str(match trailing {
        0 => "|-",
        1 => "|",
        _ => "|+",
    });
    out.push('\n');
    let body = s.strip_suffix('\n').unwrap_or(s);
    for line in body.split('\n') {
        if !line.is_empty() {
            indent(out, at);
            out.push_str(line);
        }
        out.push('\n');
    }
}

fn yaml_inline(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(x) if x.is_nan() => ".nan".to_owned(),
        Value::Float(x) if x.is_infinite() => if *x > 0.0 { ".inf" } else { "-.inf" }.to_owned(),
        Value::Float(x) => format!("{x:?}"),
        Value::String(s) => yaml_string(s),
        Value::List(_) => "[]".to_owned(),
        Value::Map(_) => "{}".to_owned(),
    }
}

/// Words that some YAML reader (1.1 or 1.2) turns into a boolean or null.
const YAML_RESERVED: &[&str] = &["null", "true", "false", "yes", "no", "on", "off", "y", "n"];

fn yaml_plain_ok(s: &str) -> bool {
    let starts_ok =
        s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == '/' || c == '$');
    starts_ok
        && !s.ends_with(' ')
        && !s.contains("  ")
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '$' | '+' | ' ')
        })
        && !YAML_RESERVED.iter().any(|w| s.eq_ignore_ascii_case(w))
}

fn yaml_string(s: &str) -> String {
    if yaml_plain_ok(s) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if needs_escape(c) => {
                let code = u32::from(c);
                if code <= 0xff {
                    out.push_str(&format!("\\x{code:02X}"));
                } else {
                    out.push_str(&format!("\\u{code:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Characters YAML cannot carry literally in a scalar.
fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
}

// ---------------------------------------------------------------- HUML

/// The whole document as HUML v0.2.
pub(crate) fn huml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Map(map) if !map.is_empty() => huml_entries(map, 0, &mut out),
        Value::List(list) if !list.is_empty() => huml_items(list, 0, &mut out),
        other => {
            out.push_str(&huml_inline(other));
            out.push('\n');
        }
    }
    out
}

fn huml_entries(map: &Map, at: usize, out: &mut String) {
    for (key, value) in map.iter() {
        indent(out, at);
        out.push_str(&huml_key(key));
        match value {
            Value::Map(m) if !m.is_empty() => {
                out.push_str("::\n");
                huml_entries(m, at + 2, out);
            }
            Value::List(l) if !l.is_empty() => {
                out.push_str("::\n");
                huml_items(l, at + 2, out);
            }
            Value::Map(_) => out.push_str(":: {}\n"),
            Value::List(_) => out.push_str(":: []\n"),
            Value::String(s) if huml_block_ok(s) => {
                out.push_str(": ");
                huml_block(s, at, out);
            }
            other => {
                out.push_str(": ");
                out.push_str(&huml_inline(other));
                out.push('\n');
            }
        }
    }
}

fn huml_items(list: &[Value], at: usize, out: &mut String) {
    for value in list {
        indent(out, at);
        match value {
            Value::Map(m) if !m.is_empty() => {
                out.push_str("- ::\n");
                huml_entries(m, at + 2, out);
            }
            Value::List(l) if !l.is_empty() => {
                out.push_str("- ::\n");
                huml_items(l, at + 2, out);
            }
            Value::Map(_) => out.push_str("- :: {}\n"),
            Value::List(_) => out.push_str("- :: []\n"),
            Value::String(s) if huml_block_ok(s) => {
                out.push_str("- ");
                huml_block(s, at, out);
            }
            other => {
                out.push_str("- ");
                out.push_str(&huml_inline(other));
                out.push('\n');
            }
        }
    }
}

/// A multi-line string that a `"""` block carries unchanged.
fn huml_block_ok(s: &str) -> bool {
    s.contains('\n')
        && s.chars()
            .all(|c| c == '\n' || c == '\t' || !needs_escape(c))
        && !s
            .split('\n')
            .any(|line| line.trim_start_matches(' ').starts_with("\"\"\""))
}

fn huml_block(s: &str, key_indent: usize, out: &mut String) {
    out.push_str("\"\"\"\n");
    for line in s.split('\n') {
        if !line.is_empty() {
            indent(out, key_indent + 2);
            out.push_str(line);
        }
        out.push('\n');
    }
    indent(out, key_indent);
    out.push_str("\"\"\"\n");
}

fn huml_key(key: &str) -> String {
    let bare = key.starts_with(|c: char| c.is_ascii_alphabetic())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_owned()
    } else {
        huml_string(key)
    }
}

fn huml_inline(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(x) if x.is_nan() => "nan".to_owned(),
        Value::Float(x) if x.is_infinite() => if *x > 0.0 { "inf" } else { "-inf" }.to_owned(),
        Value::Float(x) => format!("{x:?}"),
        Value::String(s) => huml_string(s),
        Value::List(_) => "[]".to_owned(),
        Value::Map(_) => "{}".to_owned(),
    }
}

fn huml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(entries: Vec<(&str, Value)>) -> Value {
        Value::Map(entries.into_iter().collect())
    }

    #[test]
    fn yaml_quotes_only_what_needs_it() {
        let v = doc(vec![
            ("plain", "flutter build apk --release".into()),
            ("version", "3.10".into()),
            ("word", "yes".into()),
            ("glob", "build/**/*.apk".into()),
            ("on", Value::Bool(true)),
        ]);
        assert_eq!(
            yaml(&v),
            "plain: flutter build apk --release\nversion: \"3.10\"\nword: \"yes\"\nglob: \"build/**/*.apk\"\n\"on\": true\n"
        );
    }

    #[test]
    fn yaml_block_scalars_and_nesting() {
        let script = doc(vec![
            ("name", "Build".into()),
            ("script", "set -e\nflutter build\n".into()),
        ]);
        let v = doc(vec![
            ("scripts", Value::List(vec![script, "echo hi".into()])),
            ("empty", Value::List(vec![])),
        ]);
        assert_eq!(
            yaml(&v),
            "scripts:\n  - name: Build\n    script: |\n      set -e\n      flutter build\n  - echo hi\nempty: []\n"
        );
    }

    #[test]
    fn huml_layout() {
        let script = doc(vec![
            ("name", "Build".into()),
            ("script", "set -e\nflutter build".into()),
        ]);
        let v = doc(vec![
            ("scripts", Value::List(vec![script, "echo hi".into()])),
            ("n", Value::Float(1.5)),
            ("m", Value::Map(Map::new())),
            ("my key", Value::Null),
        ]);
        assert_eq!(
            huml(&v),
            "scripts::\n  - ::\n    name: \"Build\"\n    script: \"\"\"\n      set -e\n      flutter build\n    \"\"\"\n  - \"echo hi\"\nn: 1.5\nm:: {}\n\"my key\": null\n"
        );
    }
}
