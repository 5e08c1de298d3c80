//! The health of storage, shared by `/api/health` and the build dispatcher's free-space
//! gate: does the database answer, does it take writes, and is there room on the data
//! directory's filesystem (`OORE_MIN_FREE_BYTES`)?

use crate::ports::{DiskSpace, SpaceError};
use crate::services::Services;

/// What storage looks like now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageHealth {
    /// The database answered a query.
    pub database_connected: bool,
    /// Why storage is degraded, each saying what to do; empty when all is well.
    pub problems: Vec<String>,
}

impl StorageHealth {
    /// No problem found.
    pub fn is_healthy(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Why builds must wait for space, or `None` when `space` has at least `min_free` bytes
/// available (`min_free` 0 turns the check off). Errors when space cannot be measured.
pub async fn low_space(space: &dyn DiskSpace, min_free: u64) -> Result<Option<String>, SpaceError> {
    if min_free == 0 {
        return Ok(None);
    }
    let available = space.available_bytes().await?;
    Ok((available < min_free).then(|| {
        format!(
            "only {} free on the filesystem of {} (OORE_MIN_FREE_BYTES is {}): free disk space there; new builds wait until then",
            format_bytes(available),
            space.location().display(),
            format_bytes(min_free)
        )
    }))
}

/// Asks the database (a query, then whether it takes writes: a probe after a failed
/// write) and measures free space.
pub async fn storage_health(svc: &Services, space: &dyn DiskSpace, min_free: u64) -> StorageHealth {
    let mut problems = Vec::new();
    let database_connected = match svc.store_health.ping().await {
        Ok(()) => true,
        Err(e) => {
            problems.push(format!("the database does not answer: {e}"));
            false
        }
    };
    if database_connected && let Err(e) = svc.store_health.writable().await {
        problems.push(format!(
            "the database does not take writes ({e}); builds that ended meanwhile are recorded once it does"
        ));
    }
    match low_space(space, min_free).await {
        Ok(None) => {}
        Ok(Some(reason)) => problems.push(reason),
        Err(e) => problems.push(format!("free space cannot be measured: {e}")),
    }
    StorageHealth {
        database_connected,
        problems,
    }
}

/// `812 bytes`, `1.5 KiB`, `256.0 MiB`, `3.2 GiB`.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    #[expect(
        clippy::cast_precision_loss,
        reason = "one decimal is shown; precision beyond 2^53 bytes does not matter"
    )]
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use async_trait::async_trait;

    use super::*;
    use crate::ports::{StoreError, StoreHealth};
    use crate::testing::{FakeDiskSpace, block_on, services};

    #[test]
    fn bytes_read_as_people_write_them() {
        assert_eq!(format_bytes(812), "812 bytes");
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_bytes(256 << 20), "256.0 MiB");
        assert_eq!(format_bytes(3 << 30), "3.0 GiB");
    }

    #[test]
    fn low_space_names_the_place_the_setting_and_the_fix() {
        let space = FakeDiskSpace::new("/var/lib/oore", 10 << 20);
        let reason = block_on(low_space(&space, 256 << 20)).unwrap().unwrap();
        assert_eq!(
            reason,
            "only 10.0 MiB free on the filesystem of /var/lib/oore (OORE_MIN_FREE_BYTES is 256.0 MiB): free disk space there; new builds wait until then"
        );
        assert_eq!(block_on(low_space(&space, 10 << 20)).unwrap(), None);
        assert_eq!(
            block_on(low_space(&space, 0)).unwrap(),
            None,
            "0 turns it off"
        );
        space.set_available(1 << 30);
        assert_eq!(block_on(low_space(&space, 256 << 20)).unwrap(), None);
    }

    struct ReadOnly;

    #[async_trait]
    impl StoreHealth for ReadOnly {
        async fn ping(&self) -> Result<(), StoreError> {
            Ok(())
        }
        async fn writable(&self) -> Result<(), StoreError> {
            Err(StoreError::Unavailable("database or disk is full".into()))
        }
    }

    #[test]
    fn health_collects_every_problem() {
        let mut svc = services();
        let space = FakeDiskSpace::new("/data", 1 << 30);
        assert!(block_on(storage_health(&svc, &space, 1 << 20)).is_healthy());

        svc.store_health = Arc::new(ReadOnly);
        space.set_available(1 << 10);
        let health = block_on(storage_health(&svc, &space, 1 << 20));
        assert!(health.database_connected);
        assert_eq!(health.problems.len(), 2, "{:?}", health.problems);
        assert!(health.problems[0].contains("does not take writes"));
        assert!(health.problems[1].contains("OORE_MIN_FREE_BYTES"));
    }
}
