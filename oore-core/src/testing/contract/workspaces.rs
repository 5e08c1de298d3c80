//! The [`Workspaces`] contract suite. Run it with
//! [`contract_tests!`](crate::contract_tests)`(workspaces, ...)`; each case gets fresh
//! workspaces and a [`WorkspaceFixture`] over them.
//!
//! What lands in a workspace comes from outside the port (the fetcher's checkout, the
//! steps writing `CM_ENV`), so the cases play those parts through the fixture.

use ulid::Ulid;

use crate::ids::BuildId;
use crate::ports::Workspaces;
use crate::testing::FakeWorkspaces;

/// What the suite needs besides the port: the side effects of a checkout and of steps.
pub trait WorkspaceFixture {
    /// Writes `content` to `relative` (a plain relative path, `/`-separated) in `build`'s
    /// checkout, creating directories, as the fetcher's checkout would.
    fn write_file(&self, build: BuildId, relative: &str, content: &str);

    /// Appends `KEY=value` to `build`'s `CM_ENV`, as `echo "KEY=value" >> $CM_ENV` in a
    /// step would.
    fn append_cm_env(&self, build: BuildId, key: &str, value: &str);
}

/// The fake's checkout is one map of files, and its `CM_ENV` one list, for every build.
impl WorkspaceFixture for FakeWorkspaces {
    fn write_file(&self, _: BuildId, relative: &str, content: &str) {
        self.files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(relative.to_owned(), content.to_owned());
    }

    fn append_cm_env(&self, _: BuildId, key: &str, value: &str) {
        self.cm_env
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((key.to_owned(), value.to_owned()));
    }
}

fn build(n: u128) -> BuildId {
    BuildId::from_ulid(Ulid::from_parts(1_767_225_600_000, n))
}

pub async fn create_gives_each_build_its_workspace_and_cm_env_outside_it(
    workspaces: &dyn Workspaces,
    _: &dyn WorkspaceFixture,
) {
    let (a, b) = (build(1), build(2));
    let path_a = workspaces.create(a).await.expect("create");
    let path_b = workspaces.create(b).await.expect("create");
    assert_ne!(path_a, path_b, "one workspace per build");
    assert!(path_a.is_absolute(), "{}", path_a.display());
    let (cm_env_a, cm_env_b) = (workspaces.cm_env_path(a), workspaces.cm_env_path(b));
    assert_ne!(cm_env_a, cm_env_b, "one CM_ENV per build");
    assert!(
        !cm_env_a.starts_with(&path_a) && !cm_env_a.starts_with(&path_b),
        "CM_ENV {} is outside every checkout",
        cm_env_a.display()
    );
    assert!(cm_env_a.is_absolute(), "{}", cm_env_a.display());
    assert_eq!(
        workspaces.read_cm_env(a).await.expect("read CM_ENV"),
        [],
        "a new CM_ENV is empty"
    );
}

pub async fn read_text_reads_files_of_the_checkout(
    workspaces: &dyn Workspaces,
    fixture: &dyn WorkspaceFixture,
) {
    let b = build(1);
    workspaces.create(b).await.expect("create");
    fixture.write_file(b, "codemagic.yaml", "workflows: {}\n");
    fixture.write_file(b, "ci/oore.huml", "name: \"ünïcode ✓\"\n");
    let read = |relative: &'static str| workspaces.read_text(b, relative, 1024);
    assert_eq!(
        read("codemagic.yaml").await.expect("read").as_deref(),
        Some("workflows: {}\n")
    );
    assert_eq!(
        read("ci/oore.huml").await.expect("read").as_deref(),
        Some("name: \"ünïcode ✓\"\n")
    );
    assert_eq!(
        read("./ci/oore.huml").await.expect("read").as_deref(),
        Some("name: \"ünïcode ✓\"\n"),
        "`./` is the workspace itself"
    );
    assert_eq!(read("missing.yaml").await.expect("read"), None);
    assert_eq!(read("ci/missing.yaml").await.expect("read"), None);
}

pub async fn read_text_refuses_paths_leaving_the_workspace(
    workspaces: &dyn Workspaces,
    fixture: &dyn WorkspaceFixture,
) {
    let b = build(1);
    workspaces.create(b).await.expect("create");
    fixture.write_file(b, "ci/x", "inside");
    for escape in ["../outside.txt", "/etc/passwd", "ci/../../x", ""] {
        let err = workspaces
            .read_text(b, escape, 1024)
            .await
            .expect_err("a path leaving the workspace is refused");
        assert!(
            err.to_string().contains("refusing to read"),
            "{escape:?}: {err}"
        );
    }
}

pub async fn read_text_refuses_files_over_the_limit(
    workspaces: &dyn Workspaces,
    fixture: &dyn WorkspaceFixture,
) {
    let b = build(1);
    workspaces.create(b).await.expect("create");
    fixture.write_file(b, "big.yaml", &"a".repeat(2048));
    fixture.write_file(b, "exact.yaml", &"a".repeat(1024));
    let err = workspaces
        .read_text(b, "big.yaml", 1024)
        .await
        .expect_err("a file over the limit is refused");
    assert_eq!(
        err.to_string(),
        "big.yaml is larger than 1024 bytes; make it smaller"
    );
    assert_eq!(
        workspaces
            .read_text(b, "exact.yaml", 1024)
            .await
            .expect("read")
            .map(|text| text.len()),
        Some(1024),
        "a file of exactly the limit is read"
    );
}

pub async fn cm_env_assignments_are_read_in_order(
    workspaces: &dyn Workspaces,
    fixture: &dyn WorkspaceFixture,
) {
    let b = build(1);
    workspaces.create(b).await.expect("create");
    let assignments = [
        ("APP_VERSION", "1.2.3"),
        ("URL", "https://example.com/?a=b"),
        ("NOTE", "two words ✓"),
        ("APP_VERSION", "1.2.4"),
    ];
    for (key, value) in assignments {
        fixture.append_cm_env(b, key, value);
    }
    let expected: Vec<(String, String)> = assignments
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    assert_eq!(
        workspaces.read_cm_env(b).await.expect("read CM_ENV"),
        expected,
        "in order, a later assignment kept after an earlier one"
    );
}
