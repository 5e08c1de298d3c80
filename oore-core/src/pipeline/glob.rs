//! Glob patterns in one dialect, `globset` configured here, for validating them (the
//! globs and patterns a pipeline declares) and matching them (branch and tag names here,
//! artifact paths in `oore-adapters`).
//!
//! - **Path globs** (artifacts, cache paths, changesets): `*`, `?` and `[...]` stay within
//!   a path segment; a segment that is exactly `**` matches zero or more directories;
//!   `{a,b}` are alternatives (`{,b}` may be empty); `\` escapes the next character.
//! - **Branch and tag patterns**, as Codemagic matches them (fnmatch): `*` and `?` also
//!   match `/`; `[...]` sets; nothing else is special, so `{`, `}` and `\` are plain
//!   characters and `**` is `*`. The pattern is rewritten into globset's syntax (those
//!   escaped, runs of `*` collapsed) so that the same engine matches it.
//!
//! In both, `[!a-z]` or `[^a-z]` negate a set, a `]` right after `[` (or `[!`) is a member
//! of the set, and matching is case-sensitive. An unclosed `[` fails validation but is a
//! plain `[` when matching (a pattern may come from elsewhere, such as an expanded
//! variable). globset matches bytes: `?` and a set stand for one byte, so a name with
//! non-ASCII characters is best matched with `*` (`v?` does not match `vé`).

//!
//! Validation only parses a pattern; compiling it into a matcher (a regex) costs tens of
//! microseconds, so matchers of branch patterns are compiled once and kept
//! ([`branch_matches`]; a pipeline has few patterns, and the cache is bounded).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use globset::{ErrorKind, Glob, GlobBuilder, GlobMatcher};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Path,
    Branch,
}

/// The one place the dialect is configured. `strict` (validation) refuses an unclosed `[`.
fn parse(pattern: &str, dialect: Dialect, strict: bool) -> Result<Glob, globset::Error> {
    GlobBuilder::new(pattern)
        .literal_separator(dialect == Dialect::Path)
        .backslash_escape(true)
        .empty_alternates(true)
        .allow_unclosed_class(!strict)
        .build()
}

/// `pattern` compiled leniently (for matching).
fn compile(pattern: &str, dialect: Dialect) -> Result<GlobMatcher, globset::Error> {
    parse(pattern, dialect, false).map(|glob| glob.compile_matcher())
}

/// Compiled branch-pattern matchers kept between calls; cleared when it holds this many.
const CACHED_MATCHERS: usize = 1024;

/// The matcher of a branch pattern already rewritten into globset's syntax; `None` when
/// globset refuses it even leniently (`[z-a]`).
fn cached_branch_matcher(globset_pattern: String) -> Option<GlobMatcher> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<GlobMatcher>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let lock = || cache.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(found) = lock().get(&globset_pattern) {
        return found.clone();
    }
    let matcher = compile(&globset_pattern, Dialect::Branch).ok();
    let mut cache = lock();
    if cache.len() >= CACHED_MATCHERS {
        cache.clear();
    }
    cache.insert(globset_pattern, matcher.clone());
    matcher
}

/// What is wrong with a pattern globset refused, and what to do.
fn describe(error: &globset::Error) -> String {
    match error.kind() {
        ErrorKind::UnclosedClass => {
            "unclosed `[` in pattern; close the character class with `]`".to_owned()
        }
        ErrorKind::InvalidRange(from, to) => format!(
            "invalid range `{from}-{to}` in pattern; write the lower character first, as in `[{to}-{from}]`"
        ),
        ErrorKind::UnopenedAlternates => {
            "unmatched `}` in glob; remove it or add the opening `{`".to_owned()
        }
        ErrorKind::UnclosedAlternates => {
            "unclosed `{` in glob; close the alternatives with `}`".to_owned()
        }
        ErrorKind::DanglingEscape => {
            "a glob cannot end with `\\`; escape a character or remove it".to_owned()
        }
        ErrorKind::TooManyNestedAlternates => {
            "alternatives `{...}` are nested too deeply; write fewer levels".to_owned()
        }
        _ => format!("{error}; simplify the pattern"),
    }
}

/// Checks a path glob (`build/**/*.apk`, `{a,b}/*.ipa`); returns what is wrong.
pub fn check_path_glob(pattern: &str) -> Result<(), String> {
    check_common(pattern)?;
    parse(pattern, Dialect::Path, true)
        .map(drop)
        .map_err(|e| describe(&e))
}

/// Checks a branch or tag pattern; returns what is wrong.
pub fn check_branch_pattern(pattern: &str) -> Result<(), String> {
    check_common(pattern)?;
    parse(&branch_to_globset(pattern), Dialect::Branch, true)
        .map(drop)
        .map_err(|e| describe(&e))
}

fn check_common(pattern: &str) -> Result<(), String> {
    if pattern.trim().is_empty() {
        return Err("empty pattern; write a glob such as `main` or `release/*`".to_owned());
    }
    if pattern.chars().any(|c| c.is_control()) {
        return Err(
            "patterns cannot contain control characters (tabs, newlines); remove them".to_owned(),
        );
    }
    Ok(())
}

/// Whether the branch or tag `name` matches `pattern` (fnmatch, as Codemagic does).
pub fn branch_matches(pattern: &str, name: &str) -> bool {
    if !pattern.contains(['*', '?', '[']) {
        return pattern == name;
    }
    // A pattern globset refuses even leniently (`[z-a]`) matches nothing.
    cached_branch_matcher(branch_to_globset(pattern)).is_some_and(|m| m.is_match(name))
}

/// An fnmatch pattern in globset's syntax: `\`, `{` and `}` outside sets escaped, runs of
/// `*` made one (so `**/x` needs a `/`, as in fnmatch), sets copied as they are.
fn branch_to_globset(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '[' => {
                if let Some(end) = class_end(&chars, i) {
                    out.extend(&chars[i..=end]);
                    i = end + 1;
                    continue;
                }
                out.push('[');
            }
            '*' => {
                out.push('*');
                while chars.get(i + 1) == Some(&'*') {
                    i += 1;
                }
            }
            c @ ('\\' | '{' | '}') => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// The index of the `]` closing the set opened by `chars[open] == '['`, read as globset
/// reads sets (after an optional `!` or `^`, the first character is a member even if it
/// is `]`); `None` when it is not closed.
fn class_end(chars: &[char], open: usize) -> Option<usize> {
    let mut first = open + 1;
    if matches!(chars.get(first), Some('!' | '^')) {
        first += 1;
    }
    let rest = chars.get(first + 1..)?;
    rest.iter().position(|&c| c == ']').map(|p| first + 1 + p)
}

/// One `/`-separated segment of a path glob, ready to match the names in a directory.
#[derive(Debug, Clone)]
pub enum PathSegment {
    /// No wildcard: exactly this name (escapes removed).
    Literal(String),
    /// Names matching a glob; never `/`.
    Glob(SegmentGlob),
    /// `**`: zero or more directories.
    AnyDepth,
}

/// A compiled glob for one path segment.
#[derive(Debug, Clone)]
pub struct SegmentGlob(Option<GlobMatcher>);

impl SegmentGlob {
    /// Whether the file name `name` matches.
    pub fn is_match(&self, name: &str) -> bool {
        self.0.as_ref().is_some_and(|m| m.is_match(name))
    }
}

impl PathSegment {
    /// Reads one segment of a path glob whose `{a,b}` alternatives were already expanded:
    /// braces left over are plain characters (`{single}` has no alternatives).
    pub fn parse(segment: &str) -> PathSegment {
        if segment == "**" {
            return PathSegment::AnyDepth;
        }
        let chars: Vec<char> = segment.chars().collect();
        let (mut literal, mut glob, mut wild) = (String::new(), String::new(), false);
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '\\' if i + 1 < chars.len() => {
                    literal.push(chars[i + 1]);
                    glob.push('\\');
                    glob.push(chars[i + 1]);
                    i += 1;
                }
                '*' | '?' => {
                    wild = true;
                    glob.push(chars[i]);
                }
                '[' => match class_end(&chars, i) {
                    Some(end) => {
                        wild = true;
                        glob.extend(&chars[i..=end]);
                        i = end;
                    }
                    None => {
                        literal.push('[');
                        glob.push_str("\\[");
                    }
                },
                c @ ('\\' | '{' | '}') => {
                    literal.push(c);
                    glob.push('\\');
                    glob.push(c);
                }
                c => {
                    literal.push(c);
                    glob.push(c);
                }
            }
            i += 1;
        }
        if wild {
            // A set globset refuses (`[z-a]`) matches nothing.
            PathSegment::Glob(SegmentGlob(compile(&glob, Dialect::Path).ok()))
        } else {
            PathSegment::Literal(literal)
        }
    }

    /// Whether the file name `name` matches this segment (`**` matches any name).
    pub fn matches(&self, name: &str) -> bool {
        match self {
            PathSegment::Literal(literal) => literal == name,
            PathSegment::Glob(glob) => glob.is_match(name),
            PathSegment::AnyDepth => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_matches_slashes() {
        assert!(branch_matches("release/*", "release/1.2/hotfix"));
        assert!(branch_matches("*", "feature/x"));
        assert!(branch_matches("*-stable", "v1-stable"));
        assert!(!branch_matches("main", "main2"));
        assert!(branch_matches("v?.*", "v1.0"));
        assert!(branch_matches("[!x]*", "main"));
        assert!(!branch_matches("[!m]*", "main"));
        assert!(branch_matches("v[0-9]*", "v3"));
        assert!(branch_matches("**", ""));
    }

    #[test]
    fn checks() {
        assert!(check_path_glob("build/**/outputs/**/*.{apk,aab}").is_ok());
        assert!(check_path_glob("build/[ab").is_err());
        assert!(check_path_glob("build/{a,b").is_err());
        assert!(check_path_glob("a}").is_err());
        assert!(check_path_glob("  ").is_err());
        assert!(check_path_glob("x\\").is_err());
        assert!(check_branch_pattern("feature/*").is_ok());
        assert!(check_branch_pattern("[]]").is_ok());
        assert!(check_branch_pattern("[!").is_err());
        assert!(check_branch_pattern("bad[").is_err());
    }

    #[test]
    fn branch_patterns_are_fnmatch_not_globset() {
        // No alternatives and no escapes: braces and backslashes are plain characters.
        assert!(branch_matches("release/{a,b}", "release/{a,b}"));
        assert!(!branch_matches("release/{a,b}", "release/a"));
        assert!(branch_matches("a\\*", "a\\xyz"));
        assert!(check_branch_pattern("release/{a").is_ok());
        assert!(check_branch_pattern("trailing\\").is_ok());
        // `**` is `*`: no special "any directories" meaning.
        assert!(!branch_matches("**/x", "x"));
        assert!(branch_matches("**/x", "a/b/x"));
        assert!(branch_matches("release/**", "release/1/2"));
        assert!(!branch_matches("release/**", "release"));
        // An unclosed set is a plain `[` when matching.
        assert!(branch_matches("bad[*", "bad[x"));
        assert!(branch_matches("[]a]*", "]x"));
        assert!(branch_matches("[^a-c]x", "dx"));
    }

    #[test]
    fn errors_say_what_to_do() {
        assert_eq!(
            check_path_glob("build/[ab"),
            Err("unclosed `[` in pattern; close the character class with `]`".to_owned())
        );
        assert_eq!(
            check_path_glob("build/{a,b"),
            Err("unclosed `{` in glob; close the alternatives with `}`".to_owned())
        );
        assert_eq!(
            check_path_glob("a}"),
            Err("unmatched `}` in glob; remove it or add the opening `{`".to_owned())
        );
        assert_eq!(
            check_path_glob("x\\"),
            Err("a glob cannot end with `\\`; escape a character or remove it".to_owned())
        );
        assert_eq!(
            check_branch_pattern("v[9-0]"),
            Err(
                "invalid range `9-0` in pattern; write the lower character first, as in `[0-9]`"
                    .to_owned()
            )
        );
        assert!(!branch_matches("v[9-0]", "v5"));
    }

    #[test]
    fn path_segments_stay_within_a_directory() {
        let seg = |s: &str| PathSegment::parse(s);
        assert!(matches!(seg("**"), PathSegment::AnyDepth));
        assert!(matches!(seg("a\\*b"), PathSegment::Literal(ref l) if l == "a*b"));
        assert!(matches!(seg("{single}"), PathSegment::Literal(ref l) if l == "{single}"));
        assert!(matches!(seg("[open"), PathSegment::Literal(ref l) if l == "[open"));
        assert!(seg("*.apk").matches("app.apk"));
        assert!(!seg("*.apk").matches("dir/app.apk"));
        assert!(!seg("?").matches("/"));
        assert!(seg("{x}-*").matches("{x}-1"));
        assert!(!seg("[z-a]*").matches("b"));
        assert!(check_path_glob("build/{,debug/}*.apk").is_ok());
    }
}
