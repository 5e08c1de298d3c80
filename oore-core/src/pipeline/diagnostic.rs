//! What validation tells the user: located diagnostics, grouped into a report.

use std::fmt;

use super::node::Pos;

/// One finding about a pipeline document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// 1-based line, when known.
    pub line: Option<u32>,
    /// 1-based column (in characters), when known.
    pub column: Option<u32>,
    /// Where in the document, e.g. `workflows.ios.scripts[2]`; empty for the whole document.
    pub path: String,
    /// Lowercase, says what was expected or what to do.
    pub message: String,
}

impl Diagnostic {
    pub(crate) fn at(pos: Pos, path: impl Into<String>, message: impl Into<String>) -> Self {
        let (line, column) = match pos.known() {
            Some((l, c)) => (Some(l), Some(c)),
            None => (None, None),
        };
        Self {
            line,
            column,
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "line {l}, column {c}: ")?,
            (Some(l), None) => write!(f, "line {l}: ")?,
            _ => {}
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// The outcome of validating a pipeline document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationReport {
    /// Problems that make the document unusable.
    pub errors: Vec<Diagnostic>,
    /// Things that are accepted but probably not what the author meant, such as unknown
    /// fields (kept as warnings for forward compatibility).
    pub warnings: Vec<Diagnostic>,
    /// The workflow names found, in document order.
    pub workflows: Vec<String>,
}

impl ValidationReport {
    /// Whether the document has no errors (warnings are allowed).
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    pub(crate) fn error(&mut self, pos: Pos, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(Diagnostic::at(pos, path, message));
    }

    pub(crate) fn warn(&mut self, pos: Pos, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Diagnostic::at(pos, path, message));
    }

    pub(crate) fn only_error(diagnostic: Diagnostic) -> Self {
        Self {
            errors: vec![diagnostic],
            ..Self::default()
        }
    }
}

impl fmt::Display for ValidationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errors.len() {
            0 => write!(f, "pipeline configuration is valid")?,
            1 => write!(f, "pipeline configuration has 1 error")?,
            n => write!(f, "pipeline configuration has {n} errors")?,
        }
        for e in &self.errors {
            write!(f, "\nerror: {e}")?;
        }
        for w in &self.warnings {
            write!(f, "\nwarning: {w}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationReport {}

/// `parent.key`, or `key` at the root.
pub(crate) fn join_key(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// `parent[index]`.
pub(crate) fn join_index(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_includes_location_and_path() {
        let d = Diagnostic::at(Pos::new(3, 7), "workflows.ios", "expected a map");
        assert_eq!(
            d.to_string(),
            "line 3, column 7: workflows.ios: expected a map"
        );
        let d = Diagnostic::at(Pos::default(), "", "empty document");
        assert_eq!(d.to_string(), "empty document");
    }

    #[test]
    fn paths_join() {
        assert_eq!(
            join_index(&join_key(&join_key("", "workflows"), "ios"), 2),
            "workflows.ios[2]"
        );
    }
}
