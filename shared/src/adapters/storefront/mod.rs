//! Storefront sources: which one reads a store locator, and the sources themselves.
//!
//! | locator | source |
//! |---|---|
//! | `blob:<prefix>` | a catalog export dropped in our own blob store: `<prefix>/products.json`, images relative to `<prefix>/` (how the S3 catalog-drop trigger hands a store to crawl) |
//! | `http://…`, `https://…` (optionally `#platform=shopify\|woocommerce\|sitemap\|page`) | [`WebStorefront`], through the router's [`Fetcher`] |
//! | a folder path | [`FolderStorefront`] |
//!
//! Beside the sources: [`catalog`] parses the Shopify catalog shape the folder, blob and Shopify sources
//! share, and [`text`] turns store HTML into plain text.

pub mod blob;
pub mod catalog;
pub mod folder;
pub mod text;
pub mod web;

pub use blob::BlobStorefront;
pub use folder::{FolderStorefront, FolderStorefronts};
pub use web::WebStorefront;

use super::http::{FetchPolicy, SafeFetcher};
use crate::ports::{BlobStore, Fetcher, Storefront, StorefrontError, Storefronts};
use std::sync::{Arc, OnceLock};

/// The scheme of store locators that live in our blob store.
pub const BLOB_SCHEME: &str = "blob:";

/// Opens the right source for a locator.
pub struct StorefrontRouter {
    blobs: Arc<dyn BlobStore>,
    /// The fetcher web storefronts share (its per-host limits and robots cache with it).
    fetcher: OnceLock<Arc<dyn Fetcher>>,
    /// How to build a [`SafeFetcher`] the first time a web store is opened.
    policy: Option<FetchPolicy>,
}

impl StorefrontRouter {
    pub fn new(blobs: Arc<dyn BlobStore>) -> Self {
        Self { blobs, fetcher: OnceLock::new(), policy: None }
    }

    /// Lets `http(s)://` locators open web storefronts, fetching through `fetcher`.
    pub fn with_fetcher(self, fetcher: Arc<dyn Fetcher>) -> Self {
        let _ = self.fetcher.set(fetcher);
        self
    }

    /// Lets `http(s)://` locators open web storefronts through a [`SafeFetcher`] with `policy`, built
    /// when the first one is opened: processes that never crawl the web (four of the five Lambda
    /// functions) do not pay for an HTTP client at cold start.
    pub fn with_fetch_policy(mut self, policy: FetchPolicy) -> Self {
        self.policy = Some(policy);
        self
    }

    fn fetcher(&self, store: &str) -> Result<Arc<dyn Fetcher>, StorefrontError> {
        if let Some(f) = self.fetcher.get() {
            return Ok(f.clone());
        }
        let unreadable = |reason: String| StorefrontError::Unreadable { store: crate::redact(store), reason };
        let Some(policy) = &self.policy else {
            return Err(unreadable("web storefronts need an HTTP fetcher, and none is configured here".into()));
        };
        let built =
            SafeFetcher::new(policy.clone()).map_err(|e| unreadable(format!("setting up the HTTP client: {e}")))?;
        Ok(self.fetcher.get_or_init(|| Arc::new(built)).clone())
    }
}

/// Whether a locator names a web store.
pub fn is_web_locator(store: &str) -> bool {
    let lower = store.trim_start().to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

impl Storefronts for StorefrontRouter {
    fn open(&self, store: &str) -> Result<Arc<dyn Storefront>, StorefrontError> {
        if is_web_locator(store) {
            return Ok(Arc::new(WebStorefront::open(store, self.fetcher(store)?, self.blobs.clone())?));
        }
        match store.strip_prefix(BLOB_SCHEME) {
            Some(prefix) => Ok(Arc::new(BlobStorefront::new(self.blobs.clone(), store, prefix)?)),
            None => Ok(Arc::new(FolderStorefront::open(store)?)),
        }
    }
}
