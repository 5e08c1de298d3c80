//! Parsers of the settings that keep builds away from `oored`'s secrets:
//! `OORE_BUILD_USER`, `OORE_STEP_ENV_PASSTHROUGH` and `OORE_ARTIFACT_ROOTS`. Whether the
//! build user exists, and what running as root requires, is decided at startup
//! (`crate::isolation`), not here.

use std::path::{Component, Path, PathBuf};

use super::vars::lookup;

/// `OORE_BUILD_USER`: a login name (POSIX portable characters, up to 32).
pub(crate) fn user_name(v: &str) -> Result<String, String> {
    let ok = (1..=32).contains(&v.len())
        && v.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && v.trim_end_matches('$')
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(v.to_owned())
    } else {
        Err("is not a user name: give the login name of the account build steps run as, for example oore-build".to_owned())
    }
}

/// `OORE_STEP_ENV_PASSTHROUGH`: comma-separated variable names, none of them a server
/// setting.
pub(super) fn passthrough(v: &str) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = Vec::new();
    for name in v.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!(
                "has '{name}', which is not a variable name: list names such as ANDROID_HOME,JAVA_HOME separated by commas"
            ));
        }
        if lookup(name).is_some() || name.starts_with("OORE_") {
            return Err(format!(
                "names {name}, a server setting: build steps never get oored's settings; remove it from the list"
            ));
        }
        if !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    Ok(names)
}

/// `OORE_ARTIFACT_ROOTS`: colon-separated absolute directories.
pub(super) fn artifact_roots(v: &str) -> Result<Vec<PathBuf>, String> {
    let mut roots: Vec<PathBuf> = Vec::new();
    for part in v.split(':').map(str::trim).filter(|p| !p.is_empty()) {
        let path = Path::new(part);
        let plain = path.is_absolute()
            && !part.contains('\0')
            && path.components().all(|c| {
                matches!(
                    c,
                    Component::RootDir | Component::Normal(_) | Component::CurDir
                )
            });
        if !plain {
            return Err(format!(
                "has '{part}', which is not an absolute directory without '..': list directories such as /tmp/xcodebuild_logs separated by colons"
            ));
        }
        let path: PathBuf = path.components().collect();
        if path.parent().is_none() {
            return Err(
                "lists /, which would let artifact patterns collect any file: list the directories that hold build output"
                    .to_owned(),
            );
        }
        if !roots.contains(&path) {
            roots.push(path);
        }
    }
    Ok(roots)
}

/// The first root holding `private` (the data or logs directory), if any.
pub(super) fn root_holding<'r>(roots: &'r [PathBuf], private: &Path) -> Option<&'r Path> {
    let private: PathBuf = std::path::absolute(private)
        .unwrap_or_else(|_| private.to_owned())
        .components()
        .collect();
    roots
        .iter()
        .find(|r| private.starts_with(r))
        .map(PathBuf::as_path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names() {
        for ok in ["oore-build", "_build", "ci.runner", "builder$", "root"] {
            assert_eq!(user_name(ok).as_deref(), Ok(ok), "{ok}");
        }
        for bad in ["", "-x", "1abc", "a b", "a/b", &"x".repeat(33)] {
            assert!(user_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passthrough_takes_names_but_never_server_settings() {
        assert_eq!(
            passthrough(" ANDROID_HOME, JAVA_HOME,,ANDROID_HOME ").unwrap(),
            ["ANDROID_HOME", "JAVA_HOME"]
        );
        for secret in [
            "ENCRYPTION_KEY",
            "OORE_ADMIN_TOKEN",
            "DATABASE_URL",
            "OORE_ANYTHING",
        ] {
            let err = passthrough(&format!("PATH,{secret}")).unwrap_err();
            assert!(err.contains("a server setting"), "{secret}: {err}");
        }
        assert!(
            passthrough("A-B")
                .unwrap_err()
                .contains("not a variable name")
        );
    }

    #[test]
    fn artifact_roots_are_absolute_plain_directories() {
        assert_eq!(
            artifact_roots("/tmp/xcodebuild_logs:/srv/out/::/srv/out").unwrap(),
            [
                PathBuf::from("/tmp/xcodebuild_logs"),
                PathBuf::from("/srv/out")
            ]
        );
        for bad in ["relative/dir", "/a/../b", "/"] {
            assert!(artifact_roots(bad).is_err(), "{bad}");
        }
        let roots = artifact_roots("/var/lib:/tmp/x").unwrap();
        assert_eq!(
            root_holding(&roots, Path::new("/var/lib/oore")),
            Some(Path::new("/var/lib"))
        );
        assert_eq!(root_holding(&roots, Path::new("/tmp/xy")), None);
    }
}
