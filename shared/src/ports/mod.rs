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
    Cancelled, Check, Classification, Classifier, ClipOutput, ClipRequest, Decoded, Downloaded, FailureClass,
    JobFailure, JobStatus, Judge, PhotoHints, ProviderError, Quote, ReelCut, ShotBrief, Speech, SpeechRequest,
    VideoModel, VideoModels, Voice, WholeReel, WriteRequest, Writer,
};
pub use queue::{DeadLetter, Delivery, MAX_RECEIVES, Pick, Queue, QueueDepth, QueueError, Stage};
pub use state::{Charge, JobSlot, Listing, ProductIssue, ProviderHold, StateError, StateStore, Unreadable};
pub use storefront::{ImageFetch, ListingError, Storefront, StorefrontError, Storefronts};

/// A boxed error source, for adapters' backend failures.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
