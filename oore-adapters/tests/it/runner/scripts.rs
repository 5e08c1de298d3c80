//! Scripts run from files: any size, today's shell semantics, and where a step's
//! processes are is told as soon as it starts.

use std::sync::Mutex;

use async_trait::async_trait;
use oore_core::cancel::CancelToken;
use oore_core::ports::{StepEnd, StepProcess, StepRunner, StepStarted};

use super::{Fixture, STDERR0, STDOUT0};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_900_kib_script_runs() {
    let f = Fixture::new();
    // Linux caps one argument at 128 KiB: as `bash -c <script>` this failed with
    // "Argument list too long".
    let filler = format!(": {}\n", "x".repeat(98));
    let mut script = String::from("echo first\n");
    while script.len() < 900 * 1024 {
        script.push_str(&filler);
    }
    script.push_str("echo last\n");
    assert!(script.len() > 900 * 1024);
    assert_eq!(f.run(&script).await, Ok(StepEnd::Exited(0)));
    assert_eq!(f.output(STDOUT0).await, b"first\nlast\n");
    assert_eq!(f.output(STDERR0).await, b"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semantics_are_those_of_bash_c_without_errexit() {
    let f = Fixture::new();
    // No `-e`: a failing command does not end the script; the last one decides.
    assert_eq!(
        f.run("false\necho \"after $?\"\nexit 0").await,
        Ok(StepEnd::Exited(0))
    );
    assert_eq!(f.output(STDOUT0).await, b"after 1\n");
    let g = Fixture::new();
    assert_eq!(g.run("echo one\nfalse").await, Ok(StepEnd::Exited(1)));
}

#[derive(Default)]
struct Recorded(Mutex<Vec<StepProcess>>);

#[async_trait]
impl StepStarted for Recorded {
    async fn started(&self, process: &StepProcess) {
        self.0.lock().unwrap().push(process.clone());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_is_told_before_the_step_ends() {
    let f = Fixture::new();
    let recorded = Recorded::default();
    let step = f.step("echo $$ > pid");
    assert_eq!(
        f.runner.run(&step, &CancelToken::new(), &recorded).await,
        Ok(StepEnd::Exited(0))
    );
    let pid: u32 = std::fs::read_to_string(f.work.join("pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let seen = recorded.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!((seen[0].pid, seen[0].process_group), (pid, pid));
    #[cfg(target_os = "linux")]
    {
        let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
        assert!(
            seen[0]
                .started
                .starts_with(&format!("linux:{}:", boot.trim())),
            "{}",
            seen[0].started
        );
    }
}
