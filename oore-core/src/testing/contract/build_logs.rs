//! The [`BuildLogs`] contract suite. Run it with
//! [`contract_tests!`](crate::contract_tests)`(build_logs, ...)`; each case gets fresh,
//! empty logs.
//!
//! The port writes only the system log ([`BuildLogs::append_system`]; step logs are
//! written by the runner's own writer), so the cases write and read that one: appending
//! in order, reading by offset, listing, following (`Grew` then `Finished`), and a build
//! without logs. A real system log prefixes each line (with a timestamp), so the cases
//! check that each line *ends* with what was appended.

use ulid::Ulid;

use crate::ids::BuildId;
use crate::ports::{BuildLogs, LogChunk, LogError, LogFile, LogStream, LogUpdate};

const STDOUT0: LogFile = LogFile::Step {
    index: 0,
    stream: LogStream::Stdout,
};

fn build(n: u128) -> BuildId {
    BuildId::from_ulid(Ulid::from_parts(1_767_225_600_000, n))
}

async fn append(logs: &dyn BuildLogs, build: BuildId, lines: &[&str]) {
    for line in lines {
        logs.append_system(build, line).await.expect("append");
    }
}

async fn read_all(logs: &dyn BuildLogs, build: BuildId) -> LogChunk {
    logs.read(build, LogFile::System, 0, usize::MAX)
        .await
        .expect("read the system log")
}

/// Every update until the follower ends; fails if it does not end (it must, after
/// `finish`).
async fn drain(follower: &mut dyn crate::ports::LogFollower) -> Vec<LogUpdate> {
    let mut updates = Vec::new();
    while let Some(update) = follower.next().await {
        updates.push(update);
        assert!(updates.len() < 10_000, "a follower never ends: {updates:?}");
    }
    updates
}

pub async fn system_lines_are_appended_in_order(logs: &dyn BuildLogs) {
    let b = build(1);
    append(
        logs,
        b,
        &["cloning repository", "checked out abc123\n", "ünïcode ✓"],
    )
    .await;
    let chunk = read_all(logs, b).await;
    assert_eq!(chunk.offset, 0);
    assert_eq!(chunk.next_offset, chunk.data.len() as u64);
    let text = String::from_utf8(chunk.data).expect("the system log is UTF-8");
    assert!(
        text.ends_with('\n'),
        "every line ends with a newline: {text:?}"
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        3,
        "one line per append, a trailing newline not doubled: {text:?}"
    );
    for (line, message) in
        lines
            .iter()
            .zip(["cloning repository", "checked out abc123", "ünïcode ✓"])
    {
        assert!(line.ends_with(message), "{line:?} holds {message:?}");
    }
}

pub async fn reads_by_offset_in_chunks_and_past_the_end(logs: &dyn BuildLogs) {
    let b = build(1);
    append(logs, b, &["first line", "second line"]).await;
    let all = read_all(logs, b).await.data;
    let end = all.len() as u64;

    let mut joined = Vec::new();
    let mut offset = 0;
    while offset < end {
        let chunk = logs
            .read(b, LogFile::System, offset, 5)
            .await
            .expect("read");
        assert_eq!(chunk.offset, offset, "a chunk starts where it was asked to");
        assert!(!chunk.data.is_empty() && chunk.data.len() <= 5, "{chunk:?}");
        assert_eq!(chunk.next_offset, offset + chunk.data.len() as u64);
        joined.extend_from_slice(&chunk.data);
        offset = chunk.next_offset;
    }
    assert_eq!(joined, all, "the chunks add up to the whole log");

    for past in [end, end + 1, end + 1000] {
        let chunk = logs.read(b, LogFile::System, past, 10).await.expect("read");
        assert!(chunk.data.is_empty(), "nothing at or past the end");
        assert_eq!(
            chunk.next_offset, end,
            "reading from {past}: next is the end"
        );
    }
}

pub async fn files_list_the_system_log_with_its_length(logs: &dyn BuildLogs) {
    let b = build(1);
    append(logs, b, &["started"]).await;
    let len = read_all(logs, b).await.data.len() as u64;
    assert_eq!(
        logs.files(b).await.expect("files"),
        vec![(LogFile::System, len)]
    );
    append(logs, b, &["more"]).await;
    let grown = read_all(logs, b).await.data.len() as u64;
    assert!(grown > len);
    assert_eq!(
        logs.files(b).await.expect("files"),
        vec![(LogFile::System, grown)]
    );
}

pub async fn a_build_without_logs_is_not_found(logs: &dyn BuildLogs) {
    let (quiet, other) = (build(9), build(1));
    append(logs, other, &["another build's line"]).await;
    assert_eq!(
        logs.read(quiet, LogFile::System, 0, 10).await,
        Err(LogError::NotFound)
    );
    assert_eq!(
        logs.read(quiet, STDOUT0, 0, 10).await,
        Err(LogError::NotFound)
    );
    assert_eq!(logs.files(quiet).await, Err(LogError::NotFound));
    assert_eq!(
        logs.read(other, STDOUT0, 0, 10).await,
        Err(LogError::NotFound),
        "a step that wrote nothing has no log"
    );
}

pub async fn builds_have_separate_logs(logs: &dyn BuildLogs) {
    let (a, b) = (build(1), build(2));
    append(logs, a, &["line of a"]).await;
    append(logs, b, &["line of b", "again b"]).await;
    let text_a = String::from_utf8(read_all(logs, a).await.data).expect("UTF-8");
    let text_b = String::from_utf8(read_all(logs, b).await.data).expect("UTF-8");
    assert!(
        text_a.contains("line of a") && !text_a.contains("of b"),
        "{text_a:?}"
    );
    assert_eq!(text_b.lines().count(), 2, "{text_b:?}");
    assert!(!text_b.contains("of a"), "{text_b:?}");
}

pub async fn followers_get_growth_then_finished(logs: &dyn BuildLogs) {
    let b = build(1);
    let mut first = logs.follow(b);
    let mut second = logs.follow(b);
    append(logs, b, &["started", "done"]).await;
    let len = read_all(logs, b).await.data.len() as u64;
    logs.finish(b);

    for follower in [&mut first, &mut second] {
        let updates = drain(follower.as_mut()).await;
        let (last, grew) = updates.split_last().expect("updates");
        assert_eq!(last, &LogUpdate::Finished, "{updates:?}");
        let lens: Vec<u64> = grew
            .iter()
            .map(|update| match update {
                LogUpdate::Grew {
                    file: LogFile::System,
                    len,
                } => *len,
                other => panic!("only the system log grew, got {other:?}"),
            })
            .collect();
        assert!(!lens.is_empty(), "a follower hears that the log grew");
        assert!(lens.windows(2).all(|w| w[0] <= w[1]), "{lens:?}");
        assert_eq!(lens.last(), Some(&len), "the last length is the final one");
        assert_eq!(follower.next().await, None, "nothing after the end");
    }
}

pub async fn a_follower_of_a_finished_build_is_told_at_once(logs: &dyn BuildLogs) {
    let b = build(1);
    append(logs, b, &["done"]).await;
    logs.finish(b);
    let mut late = logs.follow(b);
    assert_eq!(late.next().await, Some(LogUpdate::Finished));
    assert_eq!(late.next().await, None);
}

pub async fn finishing_a_build_without_output_ends_its_followers(logs: &dyn BuildLogs) {
    let b = build(1);
    let mut follower = logs.follow(b);
    logs.finish(b);
    assert_eq!(drain(follower.as_mut()).await, [LogUpdate::Finished]);
}
