//! `FsBuildLogs` against the `BuildLogs` contract, plus what only its files show: layout,
//! logical offsets, the size cap, restarts and followers of step logs.

use std::io::ErrorKind;
use std::time::Duration;

use oore_adapters::logs::FsBuildLogs;
use oore_core::ports::{BuildLogs, LogError, LogFile, LogStream, LogUpdate};

use crate::new_build;

const STDOUT0: LogFile = LogFile::Step {
    index: 0,
    stream: LogStream::Stdout,
};

fn logs(cap: u64) -> (tempfile::TempDir, FsBuildLogs) {
    let dir = tempfile::tempdir().unwrap();
    let logs = FsBuildLogs::new(dir.path().join("logs"), cap);
    (dir, logs)
}

/// `count` numbered lines of `width` bytes each (newline included).
fn lines(count: usize, width: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..count {
        let line = format!("{i:0>w$}\n", w = width - 1);
        out.extend_from_slice(line.as_bytes());
    }
    out
}

async fn read_all(
    logs: &FsBuildLogs,
    build: oore_core::ids::BuildId,
    file: LogFile,
) -> (u64, Vec<u8>) {
    let chunk = logs.read(build, file, 0, usize::MAX).await.unwrap();
    (chunk.offset, chunk.data)
}

oore_core::contract_tests!(build_logs, |case| {
    let (_dir, logs) = logs(1 << 20);
    crate::runtime().block_on(case(&logs))
});

#[tokio::test]
async fn read_by_logical_offset_and_past_the_end() {
    let (_dir, logs) = logs(1 << 20);
    let build = new_build();
    let mut w = logs.step_writer(build, 0, LogStream::Stdout).unwrap();
    w.write_all(b"hello world").unwrap();

    let a = logs.read(build, STDOUT0, 0, 5).await.unwrap();
    assert_eq!(
        (a.data.as_slice(), a.offset, a.next_offset),
        (&b"hello"[..], 0, 5)
    );
    let b = logs.read(build, STDOUT0, a.next_offset, 100).await.unwrap();
    assert_eq!(
        (b.data.as_slice(), b.offset, b.next_offset),
        (&b" world"[..], 5, 11)
    );
    let end = logs.read(build, STDOUT0, 500, 100).await.unwrap();
    assert_eq!((end.data.len(), end.next_offset), (0, 11));
    assert_eq!(
        logs.path(build, STDOUT0),
        logs.root()
            .join(build.to_string())
            .join("step-0-stdout.log")
    );
}

#[tokio::test]
async fn missing_logs_are_not_found() {
    let (_dir, logs) = logs(1 << 20);
    let build = new_build();
    assert_eq!(
        logs.read(build, STDOUT0, 0, 10).await,
        Err(LogError::NotFound)
    );
    assert_eq!(logs.files(build).await, Err(LogError::NotFound));
}

#[tokio::test]
async fn files_lists_logs_in_order_with_logical_lengths() {
    let (_dir, logs) = logs(100);
    let build = new_build();
    let mut e1 = logs.step_writer(build, 1, LogStream::Stderr).unwrap();
    e1.write_all(b"err").unwrap();
    let mut o0 = logs.step_writer(build, 0, LogStream::Stdout).unwrap();
    o0.write_all(&lines(30, 10)).unwrap(); // 300 bytes: cut, with a sidecar next to it
    logs.append_system(build, "started").await.unwrap();

    let files = logs.files(build).await.unwrap();
    let names: Vec<LogFile> = files.iter().map(|(f, _)| *f).collect();
    assert_eq!(
        names,
        [
            LogFile::System,
            STDOUT0,
            LogFile::Step {
                index: 1,
                stream: LogStream::Stderr
            }
        ]
    );
    assert_eq!(files[1].1, 300);
    assert_eq!(files[2].1, 3);
}

#[tokio::test]
async fn system_lines_get_an_rfc3339_utc_timestamp() {
    let (_dir, logs) = logs(1 << 20);
    let build = new_build();
    logs.append_system(build, "cloning repository")
        .await
        .unwrap();
    logs.append_system(build, "checked out abc123\n")
        .await
        .unwrap();
    let (_, data) = read_all(&logs, build, LogFile::System).await;
    let text = String::from_utf8(data).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text:?}");
    for (line, msg) in lines
        .iter()
        .zip(["cloning repository", "checked out abc123"])
    {
        let (ts, rest) = line.split_once(' ').unwrap();
        assert!(ts.ends_with('Z'), "{ts}");
        ts.parse::<jiff::Timestamp>().unwrap();
        assert_eq!(rest, msg);
    }
}

#[tokio::test]
async fn cap_drops_the_oldest_lines_and_offsets_stay_logical() {
    let cap = 1000;
    let (_dir, logs) = logs(cap);
    let build = new_build();
    let all = lines(100, 30); // 3000 bytes in 100 writes
    let mut w = logs.step_writer(build, 0, LogStream::Stdout).unwrap();
    let mut last_len = 0;
    for line in all.chunks(30) {
        w.write_all(line).unwrap();
        assert!(w.len() > last_len);
        last_len = w.len();
        let on_disk = std::fs::metadata(logs.path(build, STDOUT0)).unwrap().len();
        assert!(on_disk <= cap + 100, "file is {on_disk} bytes");
    }
    assert_eq!(w.len(), 3000);

    let raw = std::fs::read(logs.path(build, STDOUT0)).unwrap();
    let marker_end = raw.iter().position(|&b| b == b'\n').unwrap() + 1;
    let marker = std::str::from_utf8(&raw[..marker_end]).unwrap();
    let kept = &raw[marker_end..];
    let dropped = 3000 - kept.len() as u64;
    assert_eq!(
        marker,
        format!(
            "[oore: {dropped} earlier bytes dropped: log limit OORE_MAX_LOG_SIZE_BYTES={cap}]\n"
        )
    );
    assert!(all.ends_with(kept), "the newest bytes are kept");
    assert_eq!(kept.len() % 30, 0, "the cut starts on a line boundary");

    let (offset, data) = read_all(&logs, build, STDOUT0).await;
    assert_eq!((offset, data.as_slice()), (dropped, kept));
    let mid = logs.read(build, STDOUT0, 2990, 100).await.unwrap();
    assert_eq!(
        (mid.offset, mid.next_offset, mid.data.as_slice()),
        (2990, 3000, &all[2990..])
    );

    // After a restart, the same offsets mean the same bytes, and writing continues.
    drop(w);
    let again = FsBuildLogs::new(logs.root().to_path_buf(), cap);
    assert_eq!(
        read_all(&again, build, STDOUT0).await,
        (dropped, kept.to_vec())
    );
    let mut w = again.step_writer(build, 0, LogStream::Stdout).unwrap();
    assert_eq!(w.len(), 3000);
    w.write_all(b"more\n").unwrap();
    let tail = again.read(build, STDOUT0, 3000, 100).await.unwrap();
    assert_eq!((tail.offset, tail.data.as_slice()), (3000, &b"more\n"[..]));
}

#[tokio::test]
async fn a_write_larger_than_the_cap_keeps_its_newest_bytes() {
    let (_dir, logs) = logs(64);
    let build = new_build();
    let data: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    let mut w = logs.step_writer(build, 0, LogStream::Stdout).unwrap();
    w.write_all(&data).unwrap();
    let (offset, kept) = read_all(&logs, build, STDOUT0).await;
    assert_eq!((offset, kept.as_slice()), (1000 - 64, &data[1000 - 64..]));
}

#[tokio::test]
async fn output_that_looks_like_a_marker_is_kept_as_data() {
    let (_dir, logs) = logs(1 << 20);
    let build = new_build();
    let fake = b"[oore: 5 earlier bytes dropped: log limit OORE_MAX_LOG_SIZE_BYTES=1]\nhello";
    logs.step_writer(build, 0, LogStream::Stdout)
        .unwrap()
        .write_all(fake)
        .unwrap();
    assert_eq!(read_all(&logs, build, STDOUT0).await, (0, fake.to_vec()));
}

#[tokio::test]
async fn one_writer_per_file_at_a_time() {
    let (_dir, logs) = logs(1 << 20);
    let build = new_build();
    let first = logs.step_writer(build, 0, LogStream::Stdout).unwrap();
    let err = logs.step_writer(build, 0, LogStream::Stdout).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    logs.step_writer(build, 0, LogStream::Stderr).unwrap();
    drop(first);
    logs.step_writer(build, 0, LogStream::Stdout).unwrap();
}

#[tokio::test]
async fn followers_get_growth_then_finished() {
    let (_dir, logs) = logs(1 << 20);
    let build = new_build();
    let mut follower = logs.follow(build);
    let mut w = logs.step_writer(build, 0, LogStream::Stdout).unwrap();
    for _ in 0..1000 {
        w.write_all(b"x").unwrap(); // coalesced: far fewer than 1000 updates
    }
    drop(w); // announces the final length
    logs.append_system(build, "done").await.unwrap();
    logs.finish(build);

    let mut updates = Vec::new();
    while let Some(update) = tokio::time::timeout(Duration::from_secs(10), follower.next())
        .await
        .unwrap()
    {
        updates.push(update);
    }
    assert_eq!(updates.last(), Some(&LogUpdate::Finished));
    let stdout: Vec<u64> = updates
        .iter()
        .filter_map(|u| match u {
            LogUpdate::Grew { file, len } if *file == STDOUT0 => Some(*len),
            _ => None,
        })
        .collect();
    assert!(stdout.windows(2).all(|w| w[0] < w[1]), "{stdout:?}");
    assert_eq!(stdout.last(), Some(&1000));
    assert!(
        stdout.len() < 100,
        "{} updates for 1000 writes",
        stdout.len()
    );
    assert!(updates.iter().any(|u| matches!(
        u,
        LogUpdate::Grew {
            file: LogFile::System,
            ..
        }
    )));

    // A late follower of a finished build is told at once.
    let mut late = logs.follow(build);
    assert_eq!(late.next().await, Some(LogUpdate::Finished));
    assert_eq!(late.next().await, None);
}

#[tokio::test]
async fn a_follower_that_falls_behind_skips_ahead() {
    let (_dir, logs) = logs(1 << 30);
    let build = new_build();
    let mut follower = logs.follow(build);
    for i in 0..2000 {
        // Each writer announces its first write at once: 2000 updates overflow the channel.
        let file = LogFile::Step {
            index: i,
            stream: LogStream::Stdout,
        };
        logs.writer(build, file).unwrap().write_all(b"x").unwrap();
    }
    logs.finish(build);
    let mut seen = 0;
    while let Some(update) = follower.next().await {
        seen += 1;
        if update == LogUpdate::Finished {
            break;
        }
    }
    assert!(seen < 2000, "lagging follower should skip, saw {seen}");
}
