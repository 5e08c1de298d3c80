//! `DataDirLock`: one holder per data directory, released on drop.

use oore_adapters::lock::{DataDirLock, LOCK_FILE, LockError};

#[test]
fn a_second_acquire_fails_naming_the_holder_pid() {
    let dir = tempfile::tempdir().unwrap();
    let held = DataDirLock::acquire(dir.path()).unwrap();
    assert_eq!(held.path(), dir.path().join(LOCK_FILE));
    let pid_in_file = std::fs::read_to_string(held.path()).unwrap();
    assert_eq!(pid_in_file.trim(), std::process::id().to_string());

    // The lock belongs to the open file description, so this process's own second
    // open conflicts just as another process's would.
    match DataDirLock::acquire(dir.path()) {
        Err(err @ LockError::HeldBy { pid, .. }) => {
            assert_eq!(pid, std::process::id());
            let text = err.to_string();
            assert!(
                text.contains(&format!("pid {}", std::process::id())),
                "{text}"
            );
            assert!(text.contains(&dir.path().display().to_string()), "{text}");
            assert!(
                text.contains("stop it first or use another data directory"),
                "{text}"
            );
        }
        other => panic!("expected HeldBy, got {other:?}"),
    }
    drop(held);
}

#[test]
fn the_lock_is_released_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let first = DataDirLock::acquire(dir.path()).unwrap();
    drop(first);
    let second = DataDirLock::acquire(dir.path()).expect("free again after drop");
    drop(second);
}

#[test]
fn the_data_directory_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b");
    let lock = DataDirLock::acquire(&nested).unwrap();
    assert!(nested.join(LOCK_FILE).is_file());
    drop(lock);
}

#[test]
fn an_unusable_directory_is_an_io_error_naming_the_lock_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    let err = DataDirLock::acquire(&file.join("data")).unwrap_err();
    assert!(matches!(err, LockError::Io { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&file.join("data").join(LOCK_FILE).display().to_string()),
        "{text}"
    );
    assert!(text.contains("writable by this user"), "{text}");
}

/// Set in the child process of [`another_process_is_refused_naming_the_holder`]: the
/// data directory to try, and the pid that must be reported as the holder.
const CHILD_DIR: &str = "OORE_TEST_LOCK_CHILD_DIR";
const CHILD_EXPECT_PID: &str = "OORE_TEST_LOCK_CHILD_EXPECT_PID";

#[test]
fn another_process_is_refused_naming_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let held = DataDirLock::acquire(dir.path()).unwrap();
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "lock::child_tries_to_acquire",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, dir.path())
        .env(CHILD_EXPECT_PID, std::process::id().to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("1 passed"), "the child test ran: {stdout}");
    drop(held);
}

/// Runs for real only as the child of the test above (it does nothing otherwise).
#[test]
fn child_tries_to_acquire() {
    let (Some(dir), Some(pid)) = (
        std::env::var_os(CHILD_DIR),
        std::env::var_os(CHILD_EXPECT_PID),
    ) else {
        return;
    };
    let expected: u32 = pid.to_str().unwrap().parse().unwrap();
    assert_ne!(expected, std::process::id());
    match DataDirLock::acquire(std::path::Path::new(&dir)) {
        Err(LockError::HeldBy { pid, .. }) => assert_eq!(pid, expected),
        other => panic!("expected HeldBy {{ pid: {expected} }}, got {other:?}"),
    }
}
