//! Log capture throughput: a step writing 1 GiB to stdout through `ProcessRunner` and
//! `FsBuildLogs`, against `sh -c 'CMD > file'` on the same disk. Median of five runs each
//! (the machine is shared, so single runs are noisy), interleaved so both see the same
//! machine state. Target: oore within 1.15x of the shell.
#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::process::Command;
use std::time::{Duration, Instant};

use oore_adapters::logs::FsBuildLogs;
use oore_adapters::runner::{ProcessRunner, RunnerConfig};
use oore_core::cancel::CancelToken;
use oore_core::ids::BuildId;
use oore_core::ports::{
    BuildLogs, LogFile, LogStream, StepCommand, StepEnd, StepRunner, Unrecorded,
};

const SIZE: u64 = 1 << 30;
const RUNS: usize = 5;
const TARGET: f64 = 1.15;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let logs = FsBuildLogs::new(dir.path().join("logs"), 2 * SIZE);
    let config = RunnerConfig {
        script_root: dir.path().join("scripts"),
        ..RunnerConfig::default()
    };
    let runner = ProcessRunner::new(logs.clone(), config);
    let cmd = format!("head -c {SIZE} /dev/zero");
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into());

    let mut oore = Vec::new();
    let mut shell = Vec::new();
    for _ in 0..RUNS {
        let build = BuildId::from_ulid(ulid::Ulid::new());
        let step = StepCommand {
            build_id: build,
            index: 0,
            script: cmd.clone(),
            working_dir: dir.path().to_path_buf(),
            env: vec![
                ("PATH".into(), path.clone()),
                ("OORE_BUILD_ID".into(), build.to_string()),
            ],
            timeout: Duration::from_secs(300),
        };
        let started = Instant::now();
        let end = runtime.block_on(runner.run(&step, &CancelToken::new(), &Unrecorded));
        oore.push(started.elapsed());
        assert_eq!(end, Ok(StepEnd::Exited(0)));
        let files = runtime
            .block_on(logs.files(build))
            .expect("the step's logs");
        let stdout = LogFile::Step {
            index: 0,
            stream: LogStream::Stdout,
        };
        assert!(files.contains(&(stdout, SIZE)), "{files:?}");
        std::fs::remove_dir_all(logs.build_dir(build)).expect("removing the logs");

        let file = dir.path().join("redirect.out");
        let started = Instant::now();
        let status = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("{cmd} > '{}'", file.display()))
            .status()
            .expect("sh runs");
        shell.push(started.elapsed());
        assert!(status.success());
        assert_eq!(std::fs::metadata(&file).expect("the output").len(), SIZE);
        std::fs::remove_file(&file).expect("removing the output");
    }

    let (o, s) = (median(&mut oore), median(&mut shell));
    let mb_s = |d: Duration| SIZE as f64 / 1e6 / d.as_secs_f64();
    let ratio = o.as_secs_f64() / s.as_secs_f64();
    println!(
        "log capture 1 GiB: oore {:.2} s ({:.0} MB/s), sh redirect {:.2} s ({:.0} MB/s), ratio {ratio:.2} (target <= {TARGET})",
        o.as_secs_f64(),
        mb_s(o),
        s.as_secs_f64(),
        mb_s(s),
    );
    let best = oore[0].as_secs_f64() / shell[0].as_secs_f64();
    println!("  best of {RUNS}: ratio {best:.2}; runs: oore {oore:.2?}, sh {shell:.2?}");
}

fn median(runs: &mut [Duration]) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}
