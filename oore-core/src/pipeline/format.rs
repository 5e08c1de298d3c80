//! Which language a pipeline document is written in, from its file name or its content.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use thiserror::Error;

/// A pipeline document language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// YAML, Codemagic-compatible (`.yaml`, `.yml`).
    Yaml,
    /// HUML v0.2 (`.huml`).
    Huml,
}

/// A format name that is neither YAML nor HUML.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown pipeline format `{0}`; use `yaml` or `huml`")]
pub struct UnknownFormat(pub String);

impl Format {
    /// The canonical name (`yaml`, `huml`).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Yaml => "yaml",
            Format::Huml => "huml",
        }
    }

    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        self.as_str()
    }

    /// The format a file name's extension says (`.yaml`, `.yml`, `.huml`, any case).
    pub fn from_path(path: impl AsRef<Path>) -> Option<Format> {
        let ext = path.as_ref().extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "yaml" | "yml" => Some(Format::Yaml),
            "huml" => Some(Format::Huml),
            _ => None,
        }
    }

    /// Guesses the format from the content: HUML when the document has a `%HUML` directive
    /// or uses HUML's `::` vector indicator; YAML otherwise.
    pub fn sniff(content: &str) -> Format {
        for line in content.lines() {
            let line = line.trim_start_matches(' ');
            if line.starts_with("%HUML") {
                return Format::Huml;
            }
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let item = line.strip_prefix("- ").unwrap_or(line);
            if item.starts_with("::") || huml_vector_key(item) {
                return Format::Huml;
            }
        }
        Format::Yaml
    }

    /// The format from the path when it says, else from the content.
    pub fn detect(path: Option<&Path>, content: &str) -> Format {
        path.and_then(Format::from_path)
            .unwrap_or_else(|| Format::sniff(content))
    }
}

/// `key::` or `"quoted key"::` at the start of a line.
fn huml_vector_key(line: &str) -> bool {
    let rest = if let Some(quoted) = line.strip_prefix('"') {
        match quoted.find('"') {
            Some(end) => &quoted[end + 1..],
            None => return false,
        }
    } else {
        line.trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    rest.len() < line.len()
        && rest.starts_with("::")
        && matches!(rest.as_bytes().get(2), None | Some(b' '))
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "yaml" | "yml" => Ok(Format::Yaml),
            "huml" => Ok(Format::Huml),
            _ => Err(UnknownFormat(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_path_uses_the_extension() {
        assert_eq!(Format::from_path("oore.yaml"), Some(Format::Yaml));
        assert_eq!(Format::from_path("dir/codemagic.YML"), Some(Format::Yaml));
        assert_eq!(Format::from_path("oore.huml"), Some(Format::Huml));
        assert_eq!(Format::from_path("oore.json"), None);
        assert_eq!(Format::from_path("oore"), None);
    }

    #[test]
    fn sniffing() {
        assert_eq!(
            Format::sniff("workflows:\n  a:\n    scripts:\n      - echo\n"),
            Format::Yaml
        );
        assert_eq!(Format::sniff("# c\nworkflows::\n  a::\n"), Format::Huml);
        assert_eq!(Format::sniff("%HUML v0.2.0\nx: 1\n"), Format::Huml);
        assert_eq!(Format::sniff("\"my key\":: 1, 2\n"), Format::Huml);
        assert_eq!(Format::sniff("script: echo a::b\n"), Format::Yaml);
    }

    #[test]
    fn names_parse() {
        assert_eq!("YAML".parse::<Format>(), Ok(Format::Yaml));
        assert_eq!("huml".parse::<Format>(), Ok(Format::Huml));
        assert!("json".parse::<Format>().is_err());
    }
}
