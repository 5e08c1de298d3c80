//! The env file (`/etc/oore/oore.env`): `KEY=VALUE` lines as systemd's
//! `EnvironmentFile` and shells write them. Parsing is pure; [`read_env_file`] adds
//! the file access.
//!
//! Rules: blank lines and lines starting with `#` are ignored; `export KEY=VALUE` is
//! accepted; an unquoted value ends at ` #` (a comment) and is trimmed; `'single'`
//! quotes keep the text as is; `"double"` quotes understand `\"`, `\\`, `\n`, `\t` and
//! `\$`. Values cannot span lines.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A line the parser could not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct EnvFileLineError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong and how to write it.
    pub message: String,
}

/// Why the env file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum EnvFileError {
    /// Reading failed.
    #[error("cannot read {}: {}", path.display(), read_hint(source))]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Some lines are malformed.
    #[error("{} has lines oored cannot read:\n{}", path.display(), lines.iter().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n"))]
    Syntax {
        /// The file.
        path: PathBuf,
        /// Every malformed line.
        lines: Vec<EnvFileLineError>,
    },
}

fn read_hint(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file; create it with `sudo oored init` or pass --env-file PATH".to_owned(),
        io::ErrorKind::PermissionDenied => {
            "permission denied; run as root (sudo) or as the user that owns it, or pass --env-file PATH".to_owned()
        }
        _ => format!("{e}; check the path or pass --env-file PATH"),
    }
}

/// The entries of an env file that was read, and warnings about it.
#[derive(Debug, Default)]
pub struct EnvFile {
    /// False when an optional file did not exist.
    pub found: bool,
    /// `(name, value)` in file order.
    pub entries: Vec<(String, String)>,
    /// E.g. the file is readable by other users.
    pub warnings: Vec<String>,
}

/// Reads and parses `path`. With `required == false` a missing file is an empty one
/// (the default path need not exist when settings come from the environment).
pub fn read_env_file(path: &Path, required: bool) -> Result<EnvFile, EnvFileError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound && !required => return Ok(EnvFile::default()),
        Err(source) => {
            return Err(EnvFileError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    let entries = parse_env_file(&text).map_err(|lines| EnvFileError::Syntax {
        path: path.to_owned(),
        lines,
    })?;
    let mut warnings = Vec::new();
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        warnings.push(format!(
            "{} holds secrets but other users can read it (mode {:o}); run `chmod 600 {}`",
            path.display(),
            meta.permissions().mode() & 0o777,
            path.display()
        ));
    }
    Ok(EnvFile {
        found: true,
        entries,
        warnings,
    })
}

/// Parses env-file text into `(name, value)` pairs, reporting every malformed line.
pub fn parse_env_file(text: &str) -> Result<Vec<(String, String)>, Vec<EnvFileLineError>> {
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    for (index, raw) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match parse_line(line) {
            Ok(pair) => entries.push(pair),
            Err(message) => errors.push(EnvFileLineError {
                line: index + 1,
                message,
            }),
        }
    }
    if errors.is_empty() {
        Ok(entries)
    } else {
        Err(errors)
    }
}

fn parse_line(line: &str) -> Result<(String, String), String> {
    let line = line.strip_prefix("export ").map_or(line, str::trim_start);
    let Some((name, rest)) = line.split_once('=') else {
        return Err("expected NAME=VALUE (or a # comment)".to_owned());
    };
    let name = name.trim();
    let valid_name = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid_name {
        return Err(format!(
            "'{name}' is not a variable name: use letters, digits and _"
        ));
    }
    Ok((name.to_owned(), parse_value(rest.trim_start())?))
}

fn parse_value(rest: &str) -> Result<String, String> {
    let (value, after) = match rest.chars().next() {
        Some('\'') => {
            let body = &rest[1..];
            let end = body
                .find('\'')
                .ok_or("unterminated ' quote: close the value with '")?;
            (body[..end].to_owned(), &body[end + 1..])
        }
        Some('"') => parse_double_quoted(&rest[1..])?,
        _ => {
            let end = rest
                .find(" #")
                .or_else(|| rest.find("\t#"))
                .unwrap_or(rest.len());
            return Ok(rest[..end].trim_end().to_owned());
        }
    };
    let after = after.trim_start();
    if after.is_empty() || after.starts_with('#') {
        Ok(value)
    } else {
        Err(format!(
            "unexpected text after the closing quote: '{after}'"
        ))
    }
}

/// Parses the inside of a double-quoted value; returns it and the text after the quote.
fn parse_double_quoted(body: &str) -> Result<(String, &str), String> {
    let mut value = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &body[i + 1..])),
            '\\' => match chars.next().map(|(_, c)| c) {
                Some('n') => value.push('\n'),
                Some('t') => value.push('\t'),
                Some(c @ ('"' | '\\' | '$' | '`')) => value.push(c),
                Some(c) => {
                    value.push('\\');
                    value.push(c);
                }
                None => break,
            },
            c => value.push(c),
        }
    }
    Err("unterminated \" quote: close the value with \"".to_owned())
}

/// Quotes `value` for an env file if it needs it, so [`parse_env_file`] reads it back
/// unchanged.
pub(crate) fn quote_value(value: &str) -> String {
    let plain = !value.is_empty()
        && value.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || "/._-:+,@%=".contains(c)
                || (!c.is_ascii() && !c.is_control())
        });
    if plain {
        return value.to_owned();
    }
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' | '\\' | '$' | '`' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<(String, String)> {
        parse_env_file(text).unwrap()
    }

    #[test]
    fn reads_the_forms_people_write() {
        let cases: &[(&str, &str)] = &[
            ("A=b", "b"),
            ("A = b ", "b"),
            ("export A=b", "b"),
            ("A=", ""),
            ("A=b # comment", "b"),
            ("A=b#not-a-comment", "b#not-a-comment"),
            ("A='x # y'", "x # y"),
            ("A='a\\nb'", "a\\nb"),
            ("A=\"a\\\"b\\\\c\\nd\"", "a\"b\\c\nd"),
            ("A=\"x\" # trailing", "x"),
            ("A=postgres://u:p@h/db?x=1", "postgres://u:p@h/db?x=1"),
            ("A=\"héllo wörld\"", "héllo wörld"),
        ];
        for (line, expected) in cases {
            assert_eq!(
                parse(line),
                [("A".to_owned(), (*expected).to_owned())],
                "{line}"
            );
        }
    }

    #[test]
    fn skips_comments_blank_lines_and_a_bom() {
        let text = "\u{feff}# header\n\n   # indented comment\nA=1\r\nB=2\n";
        assert_eq!(
            parse(text),
            [("A".into(), "1".into()), ("B".into(), "2".into())]
        );
    }

    #[test]
    fn reports_every_bad_line_with_its_number() {
        let text = "A=1\njust words\nB='open\n9X=1\nC=\"x\" y\n";
        let errors = parse_env_file(text).unwrap_err();
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 4, 5]);
        assert!(
            errors[0].message.contains("expected NAME=VALUE"),
            "{}",
            errors[0]
        );
        assert!(
            errors[1].message.contains("unterminated ' quote"),
            "{}",
            errors[1]
        );
        assert!(
            errors[2].message.contains("not a variable name"),
            "{}",
            errors[2]
        );
        assert!(
            errors[3].message.contains("after the closing quote"),
            "{}",
            errors[3]
        );
    }

    #[test]
    fn quoted_values_read_back_unchanged() {
        for value in [
            "/var/lib/oore",
            "/path with spaces/x",
            "a\"b$c`d\\e",
            "x # y",
            "",
            "tab\there",
            "ünïcode",
        ] {
            let line = format!("A={}", quote_value(value));
            assert_eq!(parse(&line), [("A".to_owned(), value.to_owned())], "{line}");
        }
    }

    #[test]
    fn missing_optional_file_is_empty_but_missing_required_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none.env");
        let file = read_env_file(&path, false).unwrap();
        assert!(!file.found && file.entries.is_empty());
        let err = read_env_file(&path, true).unwrap_err().to_string();
        assert!(
            err.contains("no such file; create it with `sudo oored init`"),
            "{err}"
        );
    }

    #[test]
    fn warns_when_others_can_read_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("oore.env");
        std::fs::write(&path, "A=1\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let file = read_env_file(&path, true).unwrap();
        assert!(
            file.warnings[0].contains("chmod 600"),
            "{:?}",
            file.warnings
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(read_env_file(&path, true).unwrap().warnings.is_empty());
    }
}
