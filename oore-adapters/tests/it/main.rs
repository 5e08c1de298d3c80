//! Integration tests of oore-adapters: the oore-core contract suites against the real
//! implementations, plus what only a real file, key or lock can show.

mod crypto;
mod lock;
mod sqlite;
mod sqlite_builds;
mod sqlite_pipelines;
mod wiring;
