//! Reading git's stderr: which kind of failure it reports, and the line worth showing.
//! git runs with `LC_ALL=C`, so its messages are the English ones matched here.

/// What a failed git command means for the fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The repository does not exist (or is hidden from these credentials).
    RepoMissing,
    /// The branch, tag or commit does not exist on the remote.
    RefMissing,
    /// The server refused the credentials.
    Auth,
    /// Network or server trouble: worth retrying.
    Network,
    /// The disk is full.
    DiskFull,
    /// Anything else.
    Other,
}

const DISK_FULL: &[&str] = &["no space left on device", "disk quota exceeded"];
const REPO_MISSING: &[&str] = &[
    "repository not found",
    "does not appear to be a git repository",
    "returned error: 404",
    "could not be found or you don't have permission",
];
const REF_MISSING: &[&str] = &[
    "couldn't find remote ref",
    "not our ref",
    "unknown revision",
    "unadvertised object",
    "no such ref",
    "bad object",
    // `git clone -b` of a path, then `git checkout` of a commit that is not there.
    "not found in upstream",
    "invalid reference",
    "unable to read tree",
];
const AUTH: &[&str] = &[
    "authentication failed",
    "could not read username",
    "could not read password",
    "returned error: 401",
    "returned error: 403",
    "permission denied (publickey",
    "host key verification failed",
    "invalid username or password",
];
const NETWORK: &[&str] = &[
    "could not resolve host",
    "could not resolve proxy",
    "connection refused",
    "timed out",
    "early eof",
    "rpc failed",
    "connection reset",
    "failed to connect",
    "couldn't connect",
    "network is unreachable",
    "no route to host",
    "unexpected disconnect",
    "remote end hung up",
    "temporary failure",
    "transfer closed",
    "ssl",
    "tls",
    "gnutls",
    "http/2 stream",
    "could not read from remote repository",
    "unable to access",
];

/// Classifies a failed command's stderr. Earlier kinds win: a missing repository also
/// prints "could not read from remote repository", which alone means a network problem.
pub(crate) fn classify(stderr: &str) -> Failure {
    let text = stderr.to_ascii_lowercase();
    let any = |needles: &[&str]| needles.iter().any(|n| text.contains(n));
    if any(DISK_FULL) {
        Failure::DiskFull
    } else if any(REPO_MISSING)
        || (text.contains("repository '")
            && (text.contains("' not found") || text.contains("' does not exist")))
    {
        Failure::RepoMissing
    } else if any(REF_MISSING) {
        Failure::RefMissing
    } else if any(AUTH) {
        Failure::Auth
    } else if any(NETWORK) || server_error(&text) {
        Failure::Network
    } else {
        Failure::Other
    }
}

/// "The requested URL returned error: 5xx".
fn server_error(text: &str) -> bool {
    text.match_indices("returned error: 5").any(|(i, m)| {
        text[i + m.len()..]
            .bytes()
            .take(2)
            .all(|b| b.is_ascii_digit())
    })
}

/// The most telling line: the last `fatal:` or `error:` line without its prefix, else
/// the last non-empty line.
pub(crate) fn summary(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let tagged = lines.iter().rev().find_map(|l| {
        ["fatal: ", "error: "]
            .iter()
            .find_map(|p| l.strip_prefix(p))
    });
    tagged
        .or_else(|| lines.last().copied())
        .unwrap_or("git failed without a message")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_real_git_messages() {
        for (stderr, kind) in [
            (
                "fatal: couldn't find remote ref refs/heads/nope",
                Failure::RefMissing,
            ),
            (
                "fatal: remote error: upload-pack: not our ref 1234",
                Failure::RefMissing,
            ),
            (
                "remote: Repository not found.\nfatal: repository 'https://github.com/a/b/' not found",
                Failure::RepoMissing,
            ),
            (
                "fatal: '/tmp/x' does not appear to be a git repository\nfatal: Could not read from remote repository.",
                Failure::RepoMissing,
            ),
            (
                "fatal: unable to access 'http://127.0.0.1:1/x.git/': Failed to connect to 127.0.0.1 port 1 after 0 ms: Couldn't connect to server",
                Failure::Network,
            ),
            (
                "fatal: unable to access 'https://h/': Could not resolve host: h",
                Failure::Network,
            ),
            (
                "fatal: unable to access 'https://h/': The requested URL returned error: 503",
                Failure::Network,
            ),
            (
                "fatal: unable to access 'https://h/': The requested URL returned error: 403",
                Failure::Auth,
            ),
            (
                "fatal: could not read Username for 'https://h': terminal prompts disabled",
                Failure::Auth,
            ),
            (
                "error: RPC failed; curl 56\nfatal: early EOF",
                Failure::Network,
            ),
            (
                "fatal: write error: No space left on device",
                Failure::DiskFull,
            ),
            (
                "fatal: repository 'http://127.0.0.1:3/o/r.git/' not found",
                Failure::RepoMissing,
            ),
            (
                "fatal: Remote branch nope not found in upstream origin",
                Failure::RefMissing,
            ),
            ("fatal: invalid reference: 0123456", Failure::RefMissing),
            (
                "fatal: unable to read tree (0123456789abcdef0123456789abcdef01234567)",
                Failure::RefMissing,
            ),
            (
                "fatal: repository '/tmp' does not exist",
                Failure::RepoMissing,
            ),
            ("fatal: something new", Failure::Other),
        ] {
            assert_eq!(classify(stderr), kind, "{stderr}");
        }
    }

    #[test]
    fn summary_prefers_the_last_fatal_line() {
        assert_eq!(
            summary("From x\nfatal: first\nhint: h\nfatal: second\n\n"),
            "second"
        );
        assert_eq!(summary("warning: only this\n"), "warning: only this");
        assert_eq!(summary(""), "git failed without a message");
    }
}
