//! Artifact patterns: `$VAR` and `~` expansion, `{a,b}` alternatives, and the split of a
//! pattern into its literal leading directories and the segments matched below them
//! (by `walk`) with oore-core's glob dialect ([`oore_core::pipeline::glob`], the one
//! pipelines are validated with).
//!
//! In a path segment `*` matches any run of characters (names starting with `.`
//! included), `?` one character, `[abc]`, `[a-z]` and `[!a-z]` (or `[^a-z]`) one character
//! of a set; none of them crosses `/`. A segment that is exactly `**` matches zero or more
//! directories. `\` escapes the next character. Matching is case-sensitive.

use std::path::{Path, PathBuf};

use oore_core::pipeline::glob::PathSegment;

/// Most alternatives one pattern may expand to.
const MAX_ALTERNATIVES: usize = 256;

/// Expands `$NAME`, `${NAME}` (from `env`, later entries win) and a leading `~` (from
/// `HOME`). Values are inserted literally (their `*`, `[`... match only themselves).
/// `Err(name)` when a variable is not set.
pub(crate) fn expand_vars(pattern: &str, env: &[(String, String)]) -> Result<String, String> {
    let lookup = |name: &str| {
        env.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| escape(v))
            .ok_or_else(|| name.to_owned())
    };
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    if rest == "~" || rest.starts_with("~/") {
        out.push_str(&lookup("HOME")?);
        rest = &rest[1..];
    }
    let mut chars = rest.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                out.push(c);
                if let Some((_, next)) = chars.next() {
                    out.push(next);
                }
            }
            '$' => {
                let after = &rest[i + 1..];
                let (name, used) = if let Some(braced) = after.strip_prefix('{') {
                    match braced.find('}') {
                        Some(end) if is_name(&braced[..end]) => (&braced[..end], end + 2),
                        _ => ("", 0),
                    }
                } else {
                    let len = after
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .unwrap_or(after.len());
                    let name = &after[..len];
                    if is_name(name) { (name, len) } else { ("", 0) }
                };
                if name.is_empty() {
                    out.push('$');
                } else {
                    out.push_str(&lookup(name)?);
                    for _ in 0..used {
                        chars.next();
                    }
                }
            }
            _ => out.push(c),
        }
    }
    Ok(out)
}

fn is_name(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if "*?[]{}\\".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `a/{b,c}/*.{apk,aab}` becomes four patterns. Nested braces work; a brace without a
/// top-level comma is literal.
pub(crate) fn expand_braces(pattern: &str) -> Vec<String> {
    let mut out = Vec::new();
    expand_into(pattern, &mut out);
    out
}

fn expand_into(pattern: &str, out: &mut Vec<String>) {
    if out.len() >= MAX_ALTERNATIVES {
        return;
    }
    let bytes = pattern.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'{' => {
                if let Some((end, commas)) = brace_group(pattern, i)
                    && !commas.is_empty()
                {
                    let (head, tail) = (&pattern[..i], &pattern[end + 1..]);
                    let mut start = i + 1;
                    for cut in commas.into_iter().chain([end]) {
                        expand_into(&format!("{head}{}{tail}", &pattern[start..cut]), out);
                        start = cut + 1;
                    }
                    return;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    out.push(pattern.to_owned());
}

/// The `}` closing the `{` at `open`, and the top-level commas between them.
fn brace_group(pattern: &str, open: usize) -> Option<(usize, Vec<usize>)> {
    let bytes = pattern.as_bytes();
    let (mut depth, mut commas, mut i) = (0usize, Vec::new(), open);
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some((i, commas));
                }
            }
            b',' if depth == 1 => commas.push(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// A parsed pattern: where its literal part leads, then what is matched below it.
#[derive(Debug)]
pub(crate) struct Pattern {
    /// The literal leading directories (or the whole path), joined to the base and
    /// normalized without touching the filesystem.
    pub(crate) start: PathBuf,
    /// The segments below `start`.
    pub(crate) rest: Vec<PathSegment>,
}

impl Pattern {
    /// Parses `pattern` (after expansion); relative patterns start at `base`.
    pub(crate) fn parse(pattern: &str, base: &Path) -> Self {
        let mut start = if pattern.starts_with('/') {
            PathBuf::from("/")
        } else {
            base.to_path_buf()
        };
        let mut segments = pattern
            .split('/')
            .filter(|s| !s.is_empty() && *s != ".")
            .map(PathSegment::parse)
            .peekable();
        while let Some(PathSegment::Literal(name)) = segments.peek() {
            start.push(name);
            segments.next();
        }
        Self {
            start: normalize(&start),
            rest: segments.collect(),
        }
    }
}

pub(crate) use crate::beneath::normalize;

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, name: &str) -> bool {
        PathSegment::parse(pattern).matches(name)
    }

    #[test]
    fn segment_matching_is_shell_like() {
        assert!(m("*.ipa", "App.ipa"));
        assert!(m("*.ipa", ".hidden.ipa"));
        assert!(!m("*.ipa", "App.ipa.zip"));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(!m("a*b*c", "aXXbYY"));
        assert!(m("app-?.apk", "app-1.apk"));
        assert!(!m("app-?.apk", "app-12.apk"));
        assert!(m("[a-c]x", "bx"));
        assert!(!m("[!a-c]x", "bx"));
        assert!(m("[^a-c]x", "dx"));
        assert!(m("[]]", "]"));
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
        assert!(m("[unclosed", "[unclosed"));
        assert!(m("*", ""));
    }

    #[test]
    fn variables_expand_literally_and_missing_ones_are_reported() {
        let env = vec![
            ("HOME".to_owned(), "/home/u".to_owned()),
            ("OUT".to_owned(), "build/[x]".to_owned()),
            ("OUT".to_owned(), "build/out".to_owned()),
        ];
        assert_eq!(
            expand_vars("~/logs/*.log", &env).unwrap(),
            "/home/u/logs/*.log"
        );
        assert_eq!(expand_vars("$OUT/*.apk", &env).unwrap(), "build/out/*.apk");
        assert_eq!(expand_vars("${OUT}x/$", &env).unwrap(), "build/outx/$");
        assert_eq!(expand_vars("\\$OUT", &env).unwrap(), "\\$OUT");
        assert_eq!(expand_vars("$MISSING/a", &env), Err("MISSING".to_owned()));
        let env = vec![("D".to_owned(), "a*[b]".to_owned())];
        assert_eq!(expand_vars("$D/*", &env).unwrap(), "a\\*\\[b\\]/*");
    }

    #[test]
    fn braces_expand_to_alternatives() {
        assert_eq!(
            expand_braces("build/*.{apk,aab}"),
            vec!["build/*.apk", "build/*.aab"]
        );
        assert_eq!(expand_braces("{a,b{c,d}}/x"), vec!["a/x", "bc/x", "bd/x"]);
        assert_eq!(expand_braces("{single}/\\{a,b}"), vec!["{single}/\\{a,b}"]);
    }

    #[test]
    fn literal_prefix_is_split_off_and_normalized() {
        let p = Pattern::parse("build/../out/./ios/*.ipa", Path::new("/ws"));
        assert_eq!(p.start, PathBuf::from("/ws/out/ios"));
        assert_eq!(p.rest.len(), 1);
        let p = Pattern::parse("/tmp/xcodebuild_logs/*.log", Path::new("/ws"));
        assert_eq!(p.start, PathBuf::from("/tmp/xcodebuild_logs"));
        let p = Pattern::parse("flutter_drive.log", Path::new("/ws"));
        assert_eq!(p.start, PathBuf::from("/ws/flutter_drive.log"));
        assert!(p.rest.is_empty());
    }
}
