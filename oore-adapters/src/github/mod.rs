//! The GitHub App's adapters: [`GitHubClient`] (the REST API over
//! [`HttpsClient`](crate::http_client::HttpsClient), with RS256 JWTs from `jwt.rs`) and
//! [`CachedTokens`] (installation tokens, cached and de-duplicated).

mod client;
mod jwt;
mod tokens;

pub use client::{API_VERSION, GitHubClient, GitHubClientSettings};
pub use tokens::CachedTokens;
