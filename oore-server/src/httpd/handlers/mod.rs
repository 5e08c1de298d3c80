//! Handlers: parse the request, call an `oore_core` use case, render the answer. No SQL
//! and no business rules here. One file per group of endpoints.

mod artifacts;
mod builds;
mod logs;
mod pipelines;
mod repositories;
mod system;
mod webhooks;

use std::net::SocketAddr;

use bytes::Bytes;
use hyper::body::Body;
use oore_core::domain::repository::Provider;

use super::error::ApiError;
use super::response::Response;
use super::routes::{Endpoint, PathParams};
use crate::app::App;

/// What a handler gets besides the request.
pub(crate) struct Ctx<'a> {
    pub(crate) app: &'a App,
    pub(crate) params: PathParams,
    /// The client's address (the webhook receivers record it).
    pub(crate) peer: Option<SocketAddr>,
}

/// Runs the handler of `endpoint`.
pub(crate) async fn dispatch<B>(
    endpoint: Endpoint,
    ctx: Ctx<'_>,
    request: http::Request<B>,
) -> Result<Response, ApiError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match endpoint {
        Endpoint::Health => system::health(&ctx).await,
        Endpoint::Version => system::version(),
        Endpoint::SetupStatus => system::setup_status(&ctx).await,
        Endpoint::ListRepositories => repositories::list(&ctx, request.uri().query()).await,
        Endpoint::CreateRepository => repositories::create(&ctx, request).await,
        Endpoint::GetRepository => repositories::get(&ctx).await,
        Endpoint::UpdateRepository => repositories::update(&ctx, request).await,
        Endpoint::DeleteRepository => repositories::delete(&ctx).await,
        Endpoint::ActivateRepository => repositories::set_active(&ctx, true).await,
        Endpoint::DeactivateRepository => repositories::set_active(&ctx, false).await,
        Endpoint::RepositoryWebhookUrl => repositories::webhook_url(&ctx).await,
        Endpoint::ValidatePipeline => pipelines::validate(request).await,
        Endpoint::ConvertPipeline => pipelines::convert(request).await,
        Endpoint::GetPipeline => pipelines::get(&ctx).await,
        Endpoint::SetPipeline => pipelines::set(&ctx, request).await,
        Endpoint::DeletePipeline => pipelines::delete(&ctx).await,
        Endpoint::PipelineHistory => pipelines::history(&ctx).await,
        Endpoint::RestorePipeline => pipelines::restore(&ctx, request).await,
        Endpoint::TriggerBuild => builds::trigger(&ctx, request).await,
        Endpoint::ListBuilds => builds::list(&ctx, request.uri().query()).await,
        Endpoint::GetBuild => builds::get(&ctx).await,
        Endpoint::ListBuildSteps => builds::steps(&ctx).await,
        Endpoint::CancelBuild => builds::cancel(&ctx).await,
        Endpoint::BuildLogChunk => logs::chunk(&ctx, request.uri().query()).await,
        Endpoint::BuildLogStream => logs::stream(&ctx, request.uri().query()).await,
        Endpoint::ListArtifacts => artifacts::list(&ctx).await,
        Endpoint::DownloadArtifact => artifacts::download(&ctx, request.headers()).await,
        Endpoint::DownloadArtifactsZip => artifacts::zip(&ctx).await,
        Endpoint::ReceiveGitHubWebhook => webhooks::receive(&ctx, Provider::GitHub, request).await,
        Endpoint::ReceiveGitLabWebhook => webhooks::receive(&ctx, Provider::GitLab, request).await,
        Endpoint::ListWebhookEvents => webhooks::list(&ctx, request.uri().query()).await,
        Endpoint::GetWebhookEvent => webhooks::get(&ctx).await,
        Endpoint::RedeliverWebhookEvent => webhooks::redeliver(&ctx).await,
    }
}
