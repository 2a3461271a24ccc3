//! Web storefronts: a store read over HTTP through the [`Fetcher`] port: Shopify's public catalog, the
//! WooCommerce Store API, or a sitemap of product pages read by their schema.org JSON-LD / OpenGraph.
//!
//! A locator is one string (so it fits in queue messages):
//!
//! | locator | what is read |
//! |---|---|
//! | `https://shop.example/` | the store, its platform detected on the first `list()`: Shopify `products.json`, then the WooCommerce Store API, then the sitemap, then the page itself |
//! | `https://shop.example/#platform=shopify` | the same with the platform forced (`shopify`, `woocommerce`, `sitemap`, `page`) |
//! | `https://shop.example/products/tee` | one Shopify product (`/products/tee.json`), else the page's JSON-LD |
//! | `https://shop.example/any/page` | one product page; if it is none, a Shopify collection or Woo store rooted there |
//! | `https://shop.example/sitemap_products_1.xml` | the products that sitemap lists |
//!
//! Listing pages go through a [`PageCache`] so a second crawl of an unchanged store costs only conditional
//! requests. Images are fetched on demand by [`Storefront::fetch_image`].

pub mod cache;
pub mod images;
pub mod jsonld;
pub mod markup;
pub mod shopify;
pub mod sitemap;
pub mod woo;

#[cfg(test)]
mod test_fetcher;
#[cfg(test)]
mod tests;

use crate::ProductListing;
use crate::adapters::storefront::folder::MAX_IMAGE_BYTES;
use crate::ports::{
    BlobStore, FetchError, FetchRequest, Fetched, Fetcher, ImageFetch, ListingError, Storefront, StorefrontError,
    Validators,
};
use async_trait::async_trait;
pub use cache::{Page, PageCache};
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use url::Url;

/// Products as listed, each on its own.
pub type Listing = Vec<Result<ProductListing, ListingError>>;

/// The kind of store behind a web locator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Shopify,
    WooCommerce,
    Sitemap,
    /// One product page (JSON-LD / OpenGraph).
    Page,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Shopify => "shopify",
            Self::WooCommerce => "woocommerce",
            Self::Sitemap => "sitemap",
            Self::Page => "page",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Platform {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "shopify" => Ok(Self::Shopify),
            "woocommerce" | "woo" => Ok(Self::WooCommerce),
            "sitemap" => Ok(Self::Sitemap),
            "page" | "html" => Ok(Self::Page),
            other => Err(format!("unknown platform {other:?} (shopify, woocommerce, sitemap or page)")),
        }
    }
}

/// Bounds on one crawl.
#[derive(Debug, Clone)]
pub struct Limits {
    /// `products.json` pages (250 products each).
    pub shopify_pages: u32,
    /// Store API pages (100 products each).
    pub woo_pages: u32,
    /// How deep sitemap indexes are followed.
    pub sitemap_depth: u32,
    /// Sitemap documents fetched.
    pub sitemaps: u32,
    /// Product pages fetched from sitemaps.
    pub product_pages: usize,
    /// Products listed.
    pub products: usize,
    /// Bytes of one listing page (JSON, XML or HTML).
    pub page_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            shopify_pages: 400,
            woo_pages: 1000,
            sitemap_depth: 3,
            sitemaps: 200,
            product_pages: 10_000,
            products: 100_000,
            page_bytes: 32 * 1024 * 1024,
        }
    }
}

/// What the locator's URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// The site root.
    Store,
    /// `/products/<handle>` (optionally under a locale or collection).
    ShopifyProduct,
    /// A `.xml` document.
    Sitemap,
    /// Any other page.
    Page,
}

impl Target {
    fn of(url: &Url) -> Self {
        let path = url.path().to_ascii_lowercase();
        if path.is_empty() || path == "/" {
            Self::Store
        } else if path.ends_with(".xml") || path.ends_with(".xml.gz") {
            Self::Sitemap
        } else if shopify::is_product_url(url) {
            Self::ShopifyProduct
        } else {
            Self::Page
        }
    }

    /// Platforms tried, in order, when none is forced.
    fn detection_order(self) -> &'static [Platform] {
        use Platform::*;
        match self {
            Self::Store => &[Shopify, WooCommerce, Sitemap, Page],
            Self::ShopifyProduct => &[Shopify, Page],
            Self::Sitemap => &[Sitemap],
            Self::Page => &[Page, Shopify, WooCommerce],
        }
    }
}

/// How one platform's attempt went.
pub(crate) enum Attempt {
    Listed(Listing),
    /// Not this platform (or not readable as it): why.
    Miss(String),
}

/// A store on the web.
pub struct WebStorefront {
    /// The locator as given, for messages.
    locator: String,
    /// The locator without its fragment.
    target: Url,
    kind: Target,
    fetcher: Arc<dyn Fetcher>,
    cache: PageCache,
    forced: Option<Platform>,
    detected: Mutex<Option<Platform>>,
    limits: Limits,
}

impl WebStorefront {
    /// A store from its locator: an `http(s)://` URL, optionally with `#platform=<name>`.
    pub fn open(locator: &str, fetcher: Arc<dyn Fetcher>, blobs: Arc<dyn BlobStore>) -> Result<Self, StorefrontError> {
        let unreadable = |reason: String| StorefrontError::Unreadable { store: crate::redact(locator), reason };
        let url = Url::parse(locator.trim()).map_err(|e| unreadable(format!("not a URL: {e}")))?;
        let mut forced = None;
        if let Some(fragment) = url.fragment() {
            for pair in fragment.split('&') {
                if let Some(v) = pair.strip_prefix("platform=") {
                    forced = Some(v.parse::<Platform>().map_err(unreadable)?);
                }
            }
        }
        Self::new(locator, fetcher, blobs, forced)
    }

    /// A store at `url` (its fragment ignored), with the platform forced or detected.
    pub fn new(
        url: &str,
        fetcher: Arc<dyn Fetcher>,
        blobs: Arc<dyn BlobStore>,
        forced: Option<Platform>,
    ) -> Result<Self, StorefrontError> {
        let unreadable = |reason: String| StorefrontError::Unreadable { store: crate::redact(url), reason };
        let mut target = Url::parse(url.trim()).map_err(|e| unreadable(format!("not a URL: {e}")))?;
        if !matches!(target.scheme(), "http" | "https") || target.host_str().is_none() {
            return Err(unreadable("a web store must be an http:// or https:// URL with a host".into()));
        }
        target.set_fragment(None);
        Ok(Self {
            locator: crate::redact(url),
            kind: Target::of(&target),
            target,
            fetcher,
            cache: PageCache::new(blobs),
            forced,
            detected: Mutex::new(None),
            limits: Limits::default(),
        })
    }

    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The platform forced, or found by the last `list()`.
    pub fn platform(&self) -> Option<Platform> {
        self.forced.or(*self.detected.lock().expect("not poisoned"))
    }

    /// A listing page through the page cache.
    pub(crate) async fn page(&self, url: &str, accept: &str) -> Result<Page, FetchError> {
        self.cache.get(&*self.fetcher, url, accept, self.limits.page_bytes).await
    }

    pub(crate) fn transient(&self, reason: String) -> StorefrontError {
        StorefrontError::Transient { store: self.locator.clone(), reason }
    }

    pub(crate) fn miss_or_transient(&self, what: &str, e: FetchError) -> Result<Attempt, StorefrontError> {
        if e.is_transient() {
            Err(self.transient(format!("{what}: {e}")))
        } else {
            Ok(Attempt::Miss(format!("{what}: {e}")))
        }
    }

    /// The locator as a directory: no query, a trailing `/` (where `products.json` and `wp-json/` hang).
    fn base_dir(&self) -> Url {
        let mut url = self.target.clone();
        url.set_query(None);
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        url
    }

    fn origin(&self) -> Url {
        let mut url = self.target.clone();
        url.set_path("/");
        url.set_query(None);
        url
    }

    async fn list_as(&self, platform: Platform) -> Result<Attempt, StorefrontError> {
        match platform {
            Platform::Shopify if self.kind == Target::ShopifyProduct => shopify::single(self, &self.target).await,
            Platform::Shopify => shopify::catalog(self, &self.base_dir()).await,
            Platform::WooCommerce => woo::list(self, &self.base_dir()).await,
            Platform::Sitemap if self.kind == Target::Sitemap => {
                sitemap::list(self, vec![self.target.clone()], None).await
            }
            Platform::Sitemap => {
                let origin = self.origin();
                sitemap::list(self, vec![origin.join("sitemap.xml").expect("joins")], Some(origin)).await
            }
            Platform::Page => self.single_page().await,
        }
    }

    /// The locator's own page as one product.
    async fn single_page(&self) -> Result<Attempt, StorefrontError> {
        use jsonld::PageProduct;
        Ok(match sitemap::product_page(self, &self.target).await? {
            Ok(PageProduct::Found(p)) => Attempt::Listed(vec![Ok(*p)]),
            Ok(PageProduct::NotAProduct) => {
                Attempt::Miss(format!("{}: no schema.org Product or product OpenGraph on the page", self.target))
            }
            // The store's home page with broken JSON-LD says nothing about products; a product page does.
            Err(reason) if self.kind == Target::Store => Attempt::Miss(reason),
            Err(reason) => {
                let product = jsonld::page_handle(&self.target, None, None)
                    .map(|h| h.to_string())
                    .unwrap_or_else(|| self.target.to_string());
                Attempt::Listed(vec![Err(ListingError { product, reason })])
            }
        })
    }
}

#[async_trait]
impl Storefront for WebStorefront {
    fn describe(&self) -> String {
        match self.platform() {
            Some(p) => format!("web store {} ({p})", self.target),
            None => format!("web store {}", self.target),
        }
    }

    async fn list(&self) -> Result<Listing, StorefrontError> {
        let unreadable = |reason: String| StorefrontError::Unreadable { store: self.locator.clone(), reason };
        // A store at an address the fetcher refuses is said so once, not once per platform tried.
        if let Err(e @ FetchError::Refused { .. }) = self.fetcher.vet(self.target.as_str()).await {
            return Err(unreadable(e.to_string()));
        }
        let order: Vec<Platform> = match (self.forced, self.platform()) {
            (Some(p), _) => vec![p],
            (None, Some(known)) => std::iter::once(known)
                .chain(self.kind.detection_order().iter().copied().filter(|p| *p != known))
                .collect(),
            (None, None) => self.kind.detection_order().to_vec(),
        };
        let mut misses = Vec::new();
        let mut transient = None;
        for platform in order {
            match self.list_as(platform).await {
                Ok(Attempt::Listed(listing)) => {
                    *self.detected.lock().expect("not poisoned") = Some(platform);
                    let bad = listing.iter().filter(|l| l.is_err()).count();
                    tracing::info!(store = %self.locator, %platform, products = listing.len(), bad, "Listed the web store.");
                    return Ok(listing);
                }
                Ok(Attempt::Miss(reason)) if self.forced.is_some() => return Err(unreadable(reason)),
                Ok(Attempt::Miss(reason)) => {
                    tracing::debug!(store = %self.locator, %platform, reason, "Not this platform.");
                    misses.push(format!("{platform}: {reason}"));
                }
                Err(e) if self.forced.is_some() => return Err(e),
                Err(e) => {
                    tracing::warn!(store = %self.locator, %platform, error = %e, "Transient failure while detecting.");
                    misses.push(format!("{platform}: {e}"));
                    transient.get_or_insert(e);
                }
            }
        }
        Err(transient.unwrap_or_else(|| unreadable(format!("found no products to read ({})", misses.join("; ")))))
    }

    async fn complete(&self, listing: ProductListing) -> Result<Option<ProductListing>, StorefrontError> {
        sitemap::complete(self, listing).await
    }

    async fn fetch_image(&self, src: &str, known: Option<&Validators>) -> Result<ImageFetch, StorefrontError> {
        let image =
            |reason: String| StorefrontError::Image { store: self.locator.clone(), src: src.to_string(), reason };
        let url = images::absolute(src, &self.target).ok_or_else(|| image(images::refusal(src)))?;
        let request = FetchRequest::new(url.as_str(), "image/*", MAX_IMAGE_BYTES).if_changed(known);
        match self.fetcher.fetch(request).await {
            Ok(Fetched::Body(body)) => Ok(ImageFetch::Fresh { bytes: body.bytes, validators: body.validators }),
            Ok(Fetched::NotModified { .. }) if known.is_some_and(|v| !v.is_empty()) => Ok(ImageFetch::NotModified),
            Ok(Fetched::NotModified { url }) => {
                Err(image(format!("{url}: 304 Not Modified to an unconditional request")))
            }
            Err(e) if e.is_transient() => Err(self.transient(format!("image {e}"))),
            Err(e) if e.url() != url.as_str() => Err(image(e.to_string())),
            Err(e) => Err(image(e.reason())),
        }
    }
}
