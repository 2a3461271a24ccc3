//! Shopify: the public catalog `/products.json?limit=250&page=N` (paged until an empty page) and one
//! product's `/products/<handle>.json` (which also carries image `alt` text).
//!
//! Products are parsed by the folder source's lenient Shopify parser; this module adds paging, caps and the
//! web clean-up of image URLs.

use super::cache::Page;
use super::{Attempt, Listing, WebStorefront, images};
use crate::ListedImage;
use crate::ProductListing;
use crate::adapters::storefront::catalog::parse_catalog_value;
use crate::ports::{ListingError, StorefrontError};
use serde_json::Value;
use url::Url;

const ACCEPT: &str = "application/json";
/// Shopify's largest page.
pub const PAGE_SIZE: u32 = 250;

/// Lists `<base>/products.json` page by page. A miss when the first page is not a Shopify catalog.
pub(super) async fn catalog(sf: &WebStorefront, base: &Url) -> Result<Attempt, StorefrontError> {
    let mut listed: Listing = Vec::new();
    let mut first_handle: Option<String> = None;
    for n in 1..=sf.limits.shopify_pages {
        let url = base.join(&format!("products.json?limit={PAGE_SIZE}&page={n}")).expect("a relative path joins");
        let what = format!("products.json page {n}");
        let page = match sf.page(url.as_str(), ACCEPT).await {
            Ok(p) => p,
            Err(e) if n == 1 => return sf.miss_or_transient(&what, e),
            Err(e) if e.is_transient() => return Err(sf.transient(format!("{what}: {e}"))),
            Err(e) => {
                listed.push(Err(ListingError { product: what, reason: e.to_string() }));
                break;
            }
        };
        let products = match products_of(&page) {
            Ok(p) => p,
            Err(reason) if n == 1 => return Ok(Attempt::Miss(format!("{what} ({url}): {reason}"))),
            Err(reason) => {
                listed.push(Err(ListingError { product: what, reason: format!("{url}: {reason}") }));
                break;
            }
        };
        if products.is_empty() {
            break;
        }
        let handle = products[0].get("handle").and_then(Value::as_str).map(str::to_string);
        if n > 1 && handle.is_some() && handle == first_handle {
            tracing::warn!(store = %sf.locator, page = n, "products.json ignores `page`; stopped paging.");
            break;
        }
        if n == 1 {
            first_handle = handle;
        }
        let page_url = Url::parse(&page.url).unwrap_or_else(|_| url.clone());
        listed.extend(listings(Value::Array(products), &page_url));
        if listed.len() >= sf.limits.products {
            tracing::warn!(store = %sf.locator, cap = sf.limits.products, "Stopped listing at the product cap.");
            listed.truncate(sf.limits.products);
            break;
        }
        if n == sf.limits.shopify_pages {
            tracing::warn!(store = %sf.locator, pages = n, "Stopped at the products.json page cap.");
        }
    }
    Ok(Attempt::Listed(listed))
}

/// The `products` array of a catalog page, or why the page is not one.
fn products_of(page: &Page) -> Result<Vec<Value>, String> {
    let doc: Value = serde_json::from_slice(&page.body).map_err(|e| format!("not JSON ({e})"))?;
    match doc {
        Value::Object(mut o) => match o.remove("products") {
            Some(Value::Array(items)) => Ok(items),
            _ => Err(r#"not a Shopify catalog (no "products" array)"#.into()),
        },
        _ => Err("not a Shopify catalog (not a JSON object)".into()),
    }
}

/// Parses products with the shared lenient parser and cleans their galleries against `page_url`.
fn listings(doc: Value, page_url: &Url) -> Listing {
    match parse_catalog_value(doc) {
        Ok(items) => items.into_iter().map(|r| r.map(|l| finish(l, page_url))).collect(),
        Err(reason) => vec![Err(ListingError { product: page_url.to_string(), reason })],
    }
}

fn finish(mut listing: ProductListing, page_url: &Url) -> ProductListing {
    let gallery: Vec<ListedImage> = std::mem::take(&mut listing.images);
    listing.images = images::finish(listing.handle.as_str(), gallery, page_url);
    listing
}

/// Whether `url` names one Shopify product (`/products/<handle>`, also under a locale or a collection).
pub fn is_product_url(url: &Url) -> bool {
    let segments: Vec<&str> = url.path_segments().map(|s| s.filter(|s| !s.is_empty()).collect()).unwrap_or_default();
    let n = segments.len();
    (2..=4).contains(&n) && segments[n - 2] == "products" && !segments[n - 1].ends_with(".json")
}

/// `<product URL>.json`.
pub fn json_url(product: &Url) -> Url {
    let mut url = product.clone();
    let path = format!("{}.json", url.path().trim_end_matches('/'));
    url.set_path(&path);
    url.set_query(None);
    url.set_fragment(None);
    url
}

/// What one product's `.json` gave.
pub(super) enum ProductJson {
    Found(Box<Result<ProductListing, ListingError>>),
    /// Not a Shopify product document (HTML, 404, another shape): the reason.
    NotShopify(String),
}

/// Fetches and parses `<product URL>.json`; transient failures are errors.
pub(super) async fn product_json(sf: &WebStorefront, product: &Url) -> Result<ProductJson, StorefrontError> {
    let url = json_url(product);
    let page = match sf.page(url.as_str(), ACCEPT).await {
        Ok(p) => p,
        Err(e) if e.is_transient() => return Err(sf.transient(format!("{url}: {e}"))),
        Err(e) => return Ok(ProductJson::NotShopify(e.to_string())),
    };
    let doc: Value = match serde_json::from_slice(&page.body) {
        Ok(d) => d,
        Err(e) => return Ok(ProductJson::NotShopify(format!("{url}: not JSON ({e})"))),
    };
    if !doc.get("product").is_some_and(Value::is_object) {
        return Ok(ProductJson::NotShopify(format!(r#"{url}: not a Shopify product (no "product" object)"#)));
    }
    let page_url = Url::parse(&page.url).unwrap_or(url);
    let mut items = listings(doc, &page_url);
    Ok(ProductJson::Found(Box::new(items.pop().unwrap_or_else(|| {
        Err(ListingError { product: product.to_string(), reason: "the product document is empty".into() })
    }))))
}

/// One product named by its URL, as a listing of one.
pub(super) async fn single(sf: &WebStorefront, product: &Url) -> Result<Attempt, StorefrontError> {
    Ok(match product_json(sf, product).await? {
        ProductJson::Found(item) => Attempt::Listed(vec![*item]),
        ProductJson::NotShopify(reason) => Attempt::Miss(reason),
    })
}
