//! Ports: the traits every stage talks through. Embedded, AWS and provider adapters implement them.

mod blob;
mod fetch;
mod provider;
mod queue;
mod state;
mod storefront;

pub use blob::{BlobError, BlobMeta, BlobStore};
pub use fetch::{FetchError, FetchRequest, Fetched, FetchedBody, Fetcher, Validators};
pub use provider::{
    Check, Classification, Classifier, ClipOutput, ClipRequest, JobStatus, Judge, PhotoHints, ProviderError, ReelCut,
    ShotBrief, Speech, VideoModel, Voice, Writer,
};
pub use queue::{Delivery, Queue, QueueDepth, QueueError, Stage};
pub use state::{Charge, JobSlot, ProductIssue, StateError, StateStore};
pub use storefront::{ImageFetch, ListingError, Storefront, StorefrontError, Storefronts};

/// A boxed error source, for adapters' backend failures.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

use crate::config::Settings;
use crate::media::Media;
use std::sync::Arc;

/// Everything a stage needs, chosen once per process (per cold start on Lambda).
#[derive(Clone)]
pub struct Ports {
    pub blobs: Arc<dyn BlobStore>,
    pub state: Arc<dyn StateStore>,
    pub queue: Arc<dyn Queue>,
    pub storefronts: Arc<dyn Storefronts>,
    pub classifier: Arc<dyn Classifier>,
    pub video: Arc<dyn VideoModel>,
    pub voice: Arc<dyn Voice>,
    pub writer: Arc<dyn Writer>,
    pub judge: Arc<dyn Judge>,
    pub media: Arc<Media>,
    pub settings: Settings,
}
