//! What a database needs to stay trustworthy on a bad day: the key check against the
//! `KeyCheckStore` contract, clone URL credentials stored before they were kept apart
//! sealed and their old text gone from the file, the write probe after a full
//! database (SQLite's `max_page_count` gives the same "database or disk is full" as a
//! full disk), and free space read with `statvfs`, on a real small tmpfs where the
//! machine allows mounting one.

use std::path::Path;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};
use oore_adapters::crypto::{EncryptionKey, XChaChaCipher};
use oore_adapters::space::StatvfsSpace;
use oore_adapters::sqlite::{SqliteConfig, SqliteStore};
use oore_core::domain::repository::Provider;
use oore_core::ids::RepositoryId;
use oore_core::ports::{
    BuildStore, DiskSpace, RepositoryStore, SecretCipher, StoreError, StoreHealth,
};
use oore_core::testing::contract::{sample_build, sample_repository};
use oore_core::usecases::repository::clone_credentials_binding;

/// This change's migration: a database "before" it has every other one.
const THIS_MIGRATION: &str = "2026-12-03-000002_key_check_and_clone_credentials";

oore_core::contract_tests!(key_check_store, |case| {
    let (_dir, store) = crate::sqlite::temp_store();
    crate::runtime().block_on(case(&store, &store))
});

/// Creates `path` as a database migrated up to (not including) [`THIS_MIGRATION`].
fn database_before_this_migration(path: &Path) -> SqliteConnection {
    let migrations = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let mut names: Vec<String> = std::fs::read_dir(&migrations)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.as_str() < THIS_MIGRATION)
        .collect();
    names.sort();
    let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    conn.batch_execute(
        "CREATE TABLE __diesel_schema_migrations (
             version VARCHAR(50) PRIMARY KEY NOT NULL,
             run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);",
    )
    .unwrap();
    for name in names {
        let up = std::fs::read_to_string(migrations.join(&name).join("up.sql")).unwrap();
        conn.batch_execute(&up).unwrap();
        let version: String = name
            .split('_')
            .next()
            .unwrap()
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        conn.batch_execute(&format!(
            "INSERT INTO __diesel_schema_migrations (version) VALUES ('{version}');"
        ))
        .unwrap();
    }
    conn
}

fn insert_repository(
    conn: &mut SqliteConnection,
    id: RepositoryId,
    name: &str,
    url: &str,
    deleted: bool,
) {
    conn.batch_execute(&format!(
        "INSERT INTO repositories (id, provider, owner, name, identity_key, owner_folded,
             name_folded, clone_url, default_branch, state, created_at, updated_at, deleted_at)
         VALUES ('{id}', 'git', 'me', '{name}', 'git:me/{name}', 'me', '{name}', '{url}',
             'main', 'active', 0, 0, {});",
        if deleted { "1" } else { "NULL" }
    ))
    .unwrap();
}

/// Every byte of the database's files (the file, its WAL and journal if any).
fn file_bytes(path: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for suffix in ["", "-wal", "-journal"] {
        let file = format!("{}{suffix}", path.display());
        if let Ok(bytes) = std::fs::read(&file) {
            all.extend(bytes);
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn stored_clone_url_credentials_are_sealed_and_their_text_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("oore.db");
    let (live, gone, plain) = (
        sample_repository(1, Provider::Git, "me", "live").id,
        sample_repository(2, Provider::Git, "me", "gone").id,
        sample_repository(3, Provider::Git, "me", "plain").id,
    );
    {
        let mut conn = database_before_this_migration(&path);
        insert_repository(
            &mut conn,
            live,
            "live",
            "https://me:Tok3n-LIVE-0001@git.example.com/me/live.git",
            false,
        );
        insert_repository(
            &mut conn,
            gone,
            "gone",
            "https://Tok3n-GONE-0002@git.example.com/me/gone.git",
            true,
        );
        insert_repository(
            &mut conn,
            plain,
            "plain",
            "ssh://git@git.example.com/me/plain.git",
            false,
        );
    }
    assert!(
        contains(&file_bytes(&path), "Tok3n-LIVE-0001"),
        "the old row holds it in plain text"
    );

    let store = SqliteStore::open(&path, SqliteConfig::default())
        .await
        .unwrap();
    let cipher = XChaChaCipher::new(&EncryptionKey::generate());
    assert_eq!(
        store.seal_stored_clone_credentials(&cipher).await.unwrap(),
        2
    );
    assert_eq!(
        store.seal_stored_clone_credentials(&cipher).await.unwrap(),
        0,
        "a second start finds nothing left"
    );

    let repo = store.get(live).await.unwrap().expect("kept");
    assert_eq!(
        repo.clone_url.as_str(),
        "https://git.example.com/me/live.git"
    );
    let opened = cipher
        .decrypt(
            repo.clone_credentials.as_ref().unwrap(),
            &clone_credentials_binding(live),
        )
        .unwrap();
    assert_eq!(opened.expose(), "me:Tok3n-LIVE-0001");
    let untouched = store.get(plain).await.unwrap().expect("kept");
    assert_eq!(
        untouched.clone_url.as_str(),
        "ssh://git@git.example.com/me/plain.git"
    );
    assert_eq!(untouched.clone_credentials, None);
    drop(store);

    let bytes = file_bytes(&path);
    for token in ["Tok3n-LIVE-0001", "Tok3n-GONE-0002"] {
        assert!(
            !contains(&bytes, token),
            "{token} is still in the database files"
        );
    }
    // The deleted repository's credentials were sealed too.
    let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    conn.batch_execute("PRAGMA busy_timeout = 5000;").unwrap();
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let sealed: Count = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM repositories WHERE id = '{gone}' AND clone_credentials IS NOT NULL AND clone_url NOT LIKE '%@%'"
    ))
    .get_result(&mut conn)
    .unwrap();
    assert_eq!(sealed.n, 1);
}

#[tokio::test]
async fn a_full_database_is_not_writable_until_space_returns() {
    let (_dir, store) = crate::sqlite::temp_store();
    store
        .writable()
        .await
        .expect("a fresh database takes writes");
    let limit = store.set_max_page_count(1).await.unwrap();
    assert!(limit > 1, "SQLite keeps the current size: {limit}");

    // A write that needs new pages fails as on a full disk.
    let mut repo = sample_repository(1, Provider::GitHub, "acme", "app");
    repo.clone_credentials = Some(oore_core::domain::secret::EncryptedSecret::from_bytes(
        vec![7; 64 * 1024],
    ));
    let err = store.insert(&repo).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Unavailable(m) if m.starts_with("database or disk is full: no space left on device")),
        "{err:?}"
    );
    let err = store.writable().await.unwrap_err();
    assert!(
        err.to_string().contains("database or disk is full"),
        "{err}"
    );

    // So does one inside a transaction (SQLite rolls those back by itself), and the
    // writer connection stays usable.
    let repository = sample_repository(2, Provider::GitHub, "acme", "small");
    let mut built = 0;
    let err = loop {
        match store.insert(&repository).await {
            Ok(()) | Err(StoreError::Duplicate(_)) => {}
            Err(e) => break e,
        }
        match store
            .create_build(&sample_build(built + 1, repository.id))
            .await
        {
            Ok(_) => built += 1,
            Err(e) => break e,
        }
        assert!(built < 10_000, "the database never filled up");
    };
    assert!(
        matches!(&err, StoreError::Unavailable(m) if m.contains("database or disk is full")),
        "{err:?}"
    );

    store.set_max_page_count(1 << 30).await.unwrap();
    store
        .create_build(&sample_build(built + 1, repository.id))
        .await
        .expect("the writer takes transactions again");
    // Probes run at most once a second: wait for the next one to be due.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while store.writable().await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "writable again after space returned"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    store
        .insert(&repo)
        .await
        .expect("the write goes through now");
}

/// A tmpfs of `size` mounted on a fresh directory, unmounted on drop.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    /// `None` (with the reason printed) where this machine does not let us mount.
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status();
        match status {
            Ok(s) if s.success() => Some(Tmpfs(dir)),
            _ => {
                skipped("cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN)");
                None
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.0.path())
            .status();
    }
}

#[tokio::test]
async fn free_space_follows_what_is_written_on_a_small_filesystem() {
    let Some(fs) = Tmpfs::mount("8m") else {
        return;
    };
    let space = StatvfsSpace::new(fs.0.path());
    assert_eq!(space.location(), fs.0.path());
    let before = space.available_bytes().await.unwrap();
    assert!(before > 7 << 20 && before <= 8 << 20, "{before}");
    std::fs::write(fs.0.path().join("fill"), vec![1u8; 5 << 20]).unwrap();
    let after = space.available_bytes().await.unwrap();
    assert!(after <= before - (5 << 20), "{before} -> {after}");

    let missing = StatvfsSpace::new(fs.0.path().join("nope"));
    let err = missing.available_bytes().await.unwrap_err();
    assert!(
        err.to_string().contains("cannot measure free space of"),
        "{err}"
    );
}

/// Says why a test returns early: it needs what this machine lacks.
#[expect(
    clippy::print_stderr,
    reason = "the reason a test skips is for the person running it"
)]
fn skipped(why: &str) {
    eprintln!("skipped: {why}");
}
