//! Scheduling rules (spec 16): which pending builds start now.
//!
//! Pure: the dispatcher in `oored` reads the pending and running builds from the store
//! (the database is the queue), asks [`builds_to_start`], then moves each chosen build
//! from pending to running with a compare-and-set, so a restart or a second dispatcher
//! can never start a build twice.

use jiff::Timestamp;

use crate::domain::build::Priority;
use crate::ids::{BuildId, RepositoryId};

/// Whether builds of one repository may run at the same time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RepoConcurrency {
    /// Builds of the repository run side by side (the default).
    #[default]
    Parallel,
    /// One build of the repository at a time; the others wait in queue order.
    Serial,
}

impl RepoConcurrency {
    /// `parallel` or `serial`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Parallel => "parallel",
            Self::Serial => "serial",
        }
    }
}

impl std::str::FromStr for RepoConcurrency {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "parallel" => Ok(Self::Parallel),
            "serial" => Ok(Self::Serial),
            _ => Err(format!(
                "unknown build concurrency '{s}': expected parallel or serial"
            )),
        }
    }
}

/// A pending build as the scheduler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedBuild {
    /// The build.
    pub id: BuildId,
    /// Its repository.
    pub repository_id: RepositoryId,
    /// 1 (manual) to 4 (other pushes).
    pub priority: Priority,
    /// When it was queued; FIFO within a priority.
    pub queued_at: Timestamp,
    /// The repository's concurrency mode.
    pub concurrency: RepoConcurrency,
}

/// A running build as the scheduler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningBuild {
    /// The build.
    pub id: BuildId,
    /// Its repository.
    pub repository_id: RepositoryId,
}

/// The pending builds to start now, in start order: highest priority first, FIFO within a
/// priority (ties broken by id, which is time-ordered), never more than `max_concurrent`
/// running in all, and never two builds of a `Serial` repository at once. A serial
/// repository's blocked build does not hold up other repositories' builds.
pub fn builds_to_start(
    pending: &[QueuedBuild],
    running: &[RunningBuild],
    max_concurrent: usize,
) -> Vec<BuildId> {
    let mut free = max_concurrent.saturating_sub(running.len());
    if free == 0 {
        return Vec::new();
    }
    let mut order: Vec<&QueuedBuild> = pending.iter().collect();
    order.sort_by_key(|b| (b.priority, b.queued_at, b.id));

    let mut busy_repos: Vec<RepositoryId> = running.iter().map(|r| r.repository_id).collect();
    let mut chosen = Vec::new();
    for build in order {
        if free == 0 {
            break;
        }
        if build.concurrency == RepoConcurrency::Serial && busy_repos.contains(&build.repository_id)
        {
            continue;
        }
        busy_repos.push(build.repository_id);
        chosen.push(build.id);
        free -= 1;
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;
    use ulid::Ulid;

    fn bid(n: u128) -> BuildId {
        BuildId::from_ulid(Ulid::from_parts(0, n))
    }
    fn rid(n: u128) -> RepositoryId {
        RepositoryId::from_ulid(Ulid::from_parts(0, n))
    }
    fn queued(
        n: u128,
        repo: u128,
        priority: Priority,
        at: i64,
        mode: RepoConcurrency,
    ) -> QueuedBuild {
        QueuedBuild {
            id: bid(n),
            repository_id: rid(repo),
            priority,
            queued_at: Timestamp::from_second(at).unwrap(),
            concurrency: mode,
        }
    }
    use RepoConcurrency::{Parallel, Serial};

    #[test]
    fn table() {
        struct Case {
            name: &'static str,
            pending: Vec<QueuedBuild>,
            running: Vec<RunningBuild>,
            max: usize,
            expect: Vec<u128>,
        }
        let cases = vec![
            Case {
                name: "spec 16.1: two slots, third waits",
                pending: vec![
                    queued(1, 1, Priority::OTHER_PUSH, 1, Parallel),
                    queued(2, 2, Priority::OTHER_PUSH, 2, Parallel),
                    queued(3, 3, Priority::OTHER_PUSH, 3, Parallel),
                ],
                running: vec![],
                max: 2,
                expect: vec![1, 2],
            },
            Case {
                name: "priority beats age",
                pending: vec![
                    queued(1, 1, Priority::OTHER_PUSH, 1, Parallel),
                    queued(2, 1, Priority::DEFAULT_BRANCH_PUSH, 2, Parallel),
                    queued(3, 1, Priority::REVIEW, 3, Parallel),
                    queued(4, 1, Priority::MANUAL, 4, Parallel),
                ],
                running: vec![],
                max: 4,
                expect: vec![4, 3, 2, 1],
            },
            Case {
                name: "fifo within a priority, id breaks ties",
                pending: vec![
                    queued(3, 1, Priority::REVIEW, 5, Parallel),
                    queued(2, 1, Priority::REVIEW, 5, Parallel),
                    queued(1, 1, Priority::REVIEW, 9, Parallel),
                ],
                running: vec![],
                max: 3,
                expect: vec![2, 3, 1],
            },
            Case {
                name: "full: nothing starts",
                pending: vec![queued(1, 1, Priority::MANUAL, 1, Parallel)],
                running: vec![RunningBuild {
                    id: bid(9),
                    repository_id: rid(2),
                }],
                max: 1,
                expect: vec![],
            },
            Case {
                name: "serial repo waits for its running build, others pass it",
                pending: vec![
                    queued(1, 1, Priority::MANUAL, 1, Serial),
                    queued(2, 2, Priority::OTHER_PUSH, 2, Parallel),
                ],
                running: vec![RunningBuild {
                    id: bid(9),
                    repository_id: rid(1),
                }],
                max: 4,
                expect: vec![2],
            },
            Case {
                name: "serial repo starts only its first queued build",
                pending: vec![
                    queued(1, 1, Priority::OTHER_PUSH, 1, Serial),
                    queued(2, 1, Priority::OTHER_PUSH, 2, Serial),
                ],
                running: vec![],
                max: 4,
                expect: vec![1],
            },
            Case {
                name: "parallel repo runs several at once (spec 16.2)",
                pending: vec![
                    queued(1, 1, Priority::OTHER_PUSH, 1, Parallel),
                    queued(2, 1, Priority::OTHER_PUSH, 2, Parallel),
                ],
                running: vec![RunningBuild {
                    id: bid(9),
                    repository_id: rid(1),
                }],
                max: 4,
                expect: vec![1, 2],
            },
            Case {
                name: "over capacity after a config change starts nothing",
                pending: vec![queued(1, 1, Priority::MANUAL, 1, Parallel)],
                running: vec![
                    RunningBuild {
                        id: bid(8),
                        repository_id: rid(2),
                    },
                    RunningBuild {
                        id: bid(9),
                        repository_id: rid(3),
                    },
                ],
                max: 1,
                expect: vec![],
            },
        ];
        for case in cases {
            let got = builds_to_start(&case.pending, &case.running, case.max);
            let want: Vec<BuildId> = case.expect.into_iter().map(bid).collect();
            assert_eq!(got, want, "{}", case.name);
        }
    }
}
