//! Storefront sources: where products and their gallery photos come from.

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
    #[error("store {store}: {reason} (will retry)")]
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
    /// The bytes of one gallery image named by a listing's `src`.
    async fn fetch_image(&self, src: &str) -> Result<Bytes, StorefrontError>;
}

/// Opens the right storefront source for a store locator (a folder path, later an URL).
pub trait Storefronts: Send + Sync {
    fn open(&self, store: &str) -> Result<Arc<dyn Storefront>, StorefrontError>;
}
