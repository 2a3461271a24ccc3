//! The stages: plain async functions over the ports.
//!
//! Each stage takes one queue message, does its work through [`Ports`], sends whatever comes
//! next on the next stage's queue, and says what happened as an [`Outcome`]. A stage never
//! sleeps waiting on a provider: it re-enqueues a delayed message instead. Every stage is safe
//! to run twice on the same message (at-least-once delivery, crashes, Lambda retries).

pub mod crawl;
pub mod evaluate;
pub mod flag;
pub mod gallery;
pub mod generate;

pub mod mirror;
pub mod plan;
pub mod review;
pub mod sheet;
pub(crate) mod support;

use crate::config::Settings;
use crate::media::Media;
use crate::messages::Message;
use crate::ports::{
    BlobStore, BoxError, Classifier, Judge, Queue, StateStore, Storefronts, VideoModels, Voice, Writer,
};
use std::sync::Arc;
use std::time::Duration;

/// Everything a stage needs, chosen once per process (per cold start on Lambda) by a home.
#[derive(Clone)]
pub struct Ports {
    pub blobs: Arc<dyn BlobStore>,
    pub state: Arc<dyn StateStore>,
    pub queue: Arc<dyn Queue>,
    pub storefronts: Arc<dyn Storefronts>,
    pub classifier: Arc<dyn Classifier>,
    pub video: VideoModels,
    pub voice: Arc<dyn Voice>,
    pub writer: Arc<dyn Writer>,
    /// The judges of every assembled reel, each verdict stored on its own: the spec judge first,
    /// then the product-match validator.
    pub judges: Vec<Arc<dyn Judge>>,
    pub media: Arc<Media>,
    pub settings: Settings,
    /// Assemblies at once through these ports ([`assembly_turns`]): clips to mirror never wait
    /// behind them for a handler.
    pub assembly_turns: Arc<tokio::sync::Semaphore>,
}

/// One assembly turn per two cores: each assembly's encoder already uses every core.
pub fn assembly_turns() -> Arc<tokio::sync::Semaphore> {
    let turns = std::thread::available_parallelism().map_or(1, |n| n.get().div_ceil(2));
    Arc::new(tokio::sync::Semaphore::new(turns))
}

/// What handling one message did, for progress and reports.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Work done; the words say what.
    Done(String),
    /// Nothing to do (already done, superseded, waiting); the words say why.
    Skipped(String),
    /// Will be looked at again later by a delayed message (a provider job still running).
    Waiting(String),
    /// The product or reel cannot go on; the reason was recorded against it.
    Failed(String),
}

/// A failure that a later try may fix; the message is redelivered.
#[derive(Debug, thiserror::Error)]
#[error("{context}: {source}")]
pub struct StageError {
    pub context: String,
    #[source]
    pub source: BoxError,
    /// When to try again, if the cause said so.
    pub retry_after: Option<Duration>,
}

impl StageError {
    pub fn new(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self { context: context.into(), source: source.into(), retry_after: None }
    }

    /// A provider failure to retry later, honouring the provider's Retry-After.
    pub fn from_provider(context: impl Into<String>, e: crate::ports::ProviderError) -> Self {
        let retry_after = e.retry_after();
        Self { retry_after, ..Self::new(context, e) }
    }
}

/// Runs the stage a message belongs to.
pub async fn handle(ports: &Ports, message: Message) -> Result<Outcome, StageError> {
    match message {
        Message::Crawl(m) => crawl::run(ports, m).await,
        Message::Plan(m) => plan::run(ports, m).await,
        Message::Generate(m) => generate::run(ports, m).await,
        Message::Mirror(m) => mirror::run(ports, m).await,
        Message::Evaluate(m) => evaluate::run(ports, m).await,
        Message::Flag(m) => flag::run(ports, m).await,
    }
}
