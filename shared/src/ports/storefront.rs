//! Storefront sources: where products and their gallery photos come from.

use super::Validators;
use crate::ProductListing;
use async_trait::async_trait;
use bytes::Bytes;
use std::sync::Arc;

/// The store as a whole could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StorefrontError {
    #[error("store {store}: {reason}")]
    Unreadable { store: String, reason: String },
    #[error("store {store}: image {src}: {reason}")]
    Image { store: String, src: String, reason: String },
    /// Worth another try later; the runner says that it retries, so the message does not.
    #[error("store {store}: {reason}")]
    Transient { store: String, reason: String },
}

impl StorefrontError {
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }
}

/// One product entry of a listing could not be understood; the others go on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("product {product}: {reason}")]
pub struct ListingError {
    /// The product's handle, title or position, whatever the entry had.
    pub product: String,
    pub reason: String,
}

#[async_trait]
pub trait Storefront: Send + Sync {
    /// What this source reads, for messages (`folder examples/store`).
    fn describe(&self) -> String;
    /// Every product, each parsed on its own so that one bad entry fails alone.
    async fn list(&self) -> Result<Vec<Result<ProductListing, ListingError>>, StorefrontError>;
    /// One gallery image named by a listing's `src`; with the validators of the copy already taken in,
    /// [`ImageFetch::NotModified`] when it has not changed since (no body is transferred).
    async fn fetch_image(&self, src: &str, known: Option<&Validators>) -> Result<ImageFetch, StorefrontError>;
    /// The listing with its product page read, for sources that list pages first (`listing.page`);
    /// `Ok(None)` when the page turns out not to be a product. Other sources hand it back as is.
    async fn complete(&self, listing: ProductListing) -> Result<Option<ProductListing>, StorefrontError> {
        Ok(Some(listing))
    }
}

/// A gallery image's bytes, or word that the copy taken in last time is still current.
#[derive(Debug, Clone)]
pub enum ImageFetch {
    Fresh { bytes: Bytes, validators: Validators },
    NotModified,
}

impl ImageFetch {
    /// Fresh bytes with nothing to revalidate them by.
    pub fn fresh(bytes: Bytes) -> Self {
        Self::Fresh { bytes, validators: Validators::default() }
    }

    /// The bytes, if fresh.
    pub fn bytes(&self) -> Option<&Bytes> {
        match self {
            Self::Fresh { bytes, .. } => Some(bytes),
            Self::NotModified => None,
        }
    }
}

/// Opens the right storefront source for a store locator (a folder path, later an URL).
pub trait Storefronts: Send + Sync {
    fn open(&self, store: &str) -> Result<Arc<dyn Storefront>, StorefrontError>;
}
