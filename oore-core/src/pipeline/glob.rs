//! Glob patterns: checking the ones a pipeline declares (artifacts, cache paths, changesets,
//! branch and tag patterns), and matching branch and tag names the way Codemagic does
//! (`fnmatch`: `*` matches anything including `/`, `?` one character, `[abc]`, `[!abc]`).

/// Checks a path glob (`build/**/*.apk`, `{a,b}/*.ipa`); returns what is wrong.
pub(crate) fn check_path_glob(pattern: &str) -> Result<(), String> {
    check_common(pattern)?;
    let mut depth = 0usize;
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.next().is_none() => {
                return Err(
                    "a glob cannot end with `\\`; escape a character or remove it".to_owned(),
                );
            }
            '[' => skip_class(&mut chars)?,
            '{' => depth += 1,
            '}' => {
                depth = depth.checked_sub(1).ok_or_else(|| {
                    "unmatched `}` in glob; remove it or add the opening `{`".to_owned()
                })?;
            }
            _ => {}
        }
    }
    if depth > 0 {
        return Err("unclosed `{` in glob; close the alternatives with `}`".to_owned());
    }
    Ok(())
}

/// Checks a branch or tag pattern; returns what is wrong.
pub(crate) fn check_branch_pattern(pattern: &str) -> Result<(), String> {
    check_common(pattern)?;
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == '[' {
            skip_class(&mut chars)?;
        }
    }
    Ok(())
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

/// Moves past a `[...]` class whose `[` was just read (`]` right after `[` or `[!` is a
/// member, as in fnmatch).
fn skip_class(chars: &mut std::str::Chars<'_>) -> Result<(), String> {
    let unclosed = || "unclosed `[` in pattern; close the character class with `]`".to_owned();
    let mut first = chars.next();
    if matches!(first, Some('!' | '^')) {
        first = chars.next();
    }
    if first.is_none() {
        return Err(unclosed());
    }
    loop {
        match chars.next() {
            None => return Err(unclosed()),
            Some(']') => return Ok(()),
            Some(_) => {}
        }
    }
}

/// Whether `text` matches the fnmatch-style `pattern`.
pub(crate) fn branch_matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    matches_from(&p, &t)
}

/// Iterative wildcard matching with single-star backtracking (linear in practice).
fn matches_from(p: &[char], t: &[char]) -> bool {
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = class_match(&p[pi..], t[ti]) {
                        if matched {
                            pi += next;
                            ti += 1;
                            continue;
                        }
                    } else if t[ti] == '[' {
                        pi += 1;
                        ti += 1;
                        continue;
                    }
                }
                c if c == t[ti] => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Matches `c` against the class at the start of `p` (`[...]`). Returns whether it matched
/// and the class length, or `None` when the class is not closed (then `[` is literal).
fn class_match(p: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let negated = matches!(p.get(i), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let start = i;
    let mut matched = false;
    while i < p.len() {
        if p[i] == ']' && i > start {
            return Some((matched != negated, i + 1));
        }
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if p[i] <= c && c <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
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
}
