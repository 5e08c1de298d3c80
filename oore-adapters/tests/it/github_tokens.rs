//! `CachedTokens`: one mint per installation however many callers, reuse until five
//! minutes before expiry, and `forget`.

use std::sync::Arc;

use jiff::SignedDuration;
use oore_adapters::github::CachedTokens;
use oore_core::github::ports::{GitHubStore, InstallationTokens, TokenError};
use oore_core::testing::{
    FakeCipher, FixedClock, MemoryGitHubStore, MemoryRepositoryStore, ScriptedGitHubApi, sample_app,
};

fn mints(api: &ScriptedGitHubApi) -> usize {
    api.calls()
        .iter()
        .filter(|c| c.starts_with("token "))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_callers_share_one_mint_until_the_margin() {
    let store = Arc::new(MemoryGitHubStore::new(MemoryRepositoryStore::default()));
    let api = Arc::new(ScriptedGitHubApi::default());
    let clock = Arc::new(FixedClock::default());
    let tokens = Arc::new(CachedTokens::new(
        store.clone(),
        api.clone(),
        Arc::new(FakeCipher),
        clock.clone(),
    ));
    assert!(matches!(
        tokens.token(7).await,
        Err(TokenError::NotConfigured)
    ));
    store
        .replace_app(&sample_app(&FakeCipher, ulid::Ulid::from_parts(1, 1), 1))
        .await
        .unwrap();
    api.set(|s| {
        s.repositories.insert(7, Ok(vec![]));
    });
    let calls: Vec<_> = (0..16)
        .map(|_| {
            let tokens = Arc::clone(&tokens);
            tokio::spawn(async move { tokens.token(7).await.unwrap().token.expose().to_owned() })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap(), "token-7");
    }
    assert_eq!(mints(&api), 1);
    // The sample token lives an hour: still reused 54 minutes later, not at 56.
    clock.advance(SignedDuration::from_mins(54));
    tokens.token(7).await.unwrap();
    assert_eq!(mints(&api), 1);
    clock.advance(SignedDuration::from_mins(2));
    tokens.token(7).await.unwrap();
    assert_eq!(mints(&api), 2);
    tokens.forget(Some(7));
    tokens.token(7).await.unwrap();
    assert_eq!(mints(&api), 3);
}
