//! WooCommerce Store API: `/wp-json/wc/store/v1/products?page=N&per_page=100` (or the `?rest_route=` form
//! for sites without pretty permalinks), paged by `X-WP-TotalPages`; prices in minor units.

use super::images::{self, lowest, minor_units};
use super::jsonld::percent_decode;
use super::{Attempt, Listing, WebStorefront};
use crate::adapters::storefront::text::{html_to_text, slugify, tidy};
use crate::ports::{ListingError, StorefrontError};
use crate::{Handle, ListedImage, ProductListing};
use serde_json::{Map, Value};
use url::Url;

const ACCEPT: &str = "application/json";
/// The Store API's largest page.
pub const PER_PAGE: u32 = 100;

fn routes(base: &Url, n: u32) -> [Url; 2] {
    let pretty = base.join(&format!("wp-json/wc/store/v1/products?page={n}&per_page={PER_PAGE}")).expect("joins");
    let plain = base.join(&format!("?rest_route=/wc/store/v1/products&page={n}&per_page={PER_PAGE}")).expect("joins");
    [pretty, plain]
}

/// Lists the store's products through the Store API. A miss when neither route answers a product array.
pub(super) async fn list(sf: &WebStorefront, base: &Url) -> Result<Attempt, StorefrontError> {
    let mut listed: Listing = Vec::new();
    let mut route = None;
    let mut misses = Vec::new();
    for (r, url) in routes(base, 1).into_iter().enumerate() {
        match sf.page(url.as_str(), ACCEPT).await {
            Ok(page) => match serde_json::from_slice::<Value>(&page.body) {
                Ok(Value::Array(items)) => {
                    route = Some((r, page, items));
                    break;
                }
                Ok(_) => misses.push(format!("{url}: not a Store API product list")),
                Err(e) => misses.push(format!("{url}: not JSON ({e})")),
            },
            Err(e) if e.is_transient() => return Err(sf.transient(format!("Store API: {e}"))),
            Err(e) => misses.push(e.to_string()),
        }
    }
    let Some((route, first, items)) = route else {
        return Ok(Attempt::Miss(format!("WooCommerce Store API: {}", misses.join("; "))));
    };
    let total_pages = first.header("x-wp-totalpages").and_then(|v| v.trim().parse::<u32>().ok());
    let mut n = 1;
    let mut page_url = Url::parse(&first.url).unwrap_or_else(|_| base.clone());
    let mut items = items;
    loop {
        let count = items.len();
        let offset = listed.len();
        listed.extend(items.iter().enumerate().map(|(i, v)| parse_product(offset + i, v, &page_url)));
        if listed.len() >= sf.limits.products {
            listed.truncate(sf.limits.products);
            tracing::warn!(store = %sf.locator, "Stopped listing at the product cap.");
            break;
        }
        let more = match total_pages {
            Some(total) => n < total,
            None => count >= PER_PAGE as usize,
        };
        if !more || count == 0 {
            break;
        }
        if n >= sf.limits.woo_pages {
            tracing::warn!(store = %sf.locator, pages = n, "Stopped at the Store API page cap.");
            break;
        }
        n += 1;
        let url = routes(base, n)[route].clone();
        let what = format!("Store API page {n}");
        let page = match sf.page(url.as_str(), ACCEPT).await {
            Ok(p) => p,
            Err(e) if e.is_transient() => return Err(sf.transient(format!("{what}: {e}"))),
            // Without a page count, the page after the last may answer 400: that is the end.
            Err(e) if total_pages.is_none() => {
                tracing::debug!(error = %e, "No further Store API page.");
                break;
            }
            Err(e) => {
                listed.push(Err(ListingError { product: what, reason: e.to_string() }));
                break;
            }
        };
        page_url = Url::parse(&page.url).unwrap_or(url.clone());
        items = match serde_json::from_slice::<Value>(&page.body) {
            Ok(Value::Array(items)) => items,
            _ => {
                listed
                    .push(Err(ListingError { product: what, reason: format!("{url}: not a Store API product list") }));
                break;
            }
        };
    }
    Ok(Attempt::Listed(listed))
}

fn text(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key).and_then(Value::as_str).map(html_to_text).filter(|s| !s.is_empty())
}

/// One Store API product, on its own.
fn parse_product(index: usize, v: &Value, page_url: &Url) -> Result<ProductListing, ListingError> {
    let position = format!("#{}", index + 1);
    let Value::Object(obj) = v else {
        return Err(ListingError { product: position, reason: "not a JSON object".into() });
    };
    let slug = obj.get("slug").and_then(Value::as_str).map(percent_decode).filter(|s| !s.trim().is_empty());
    let name = text(obj, "name");
    let label = slug.clone().or_else(|| name.clone()).unwrap_or(position.clone());
    let title = name.ok_or_else(|| ListingError { product: label.clone(), reason: "no name".into() })?;
    let handle = [slug.as_deref(), Some(title.as_str())]
        .into_iter()
        .flatten()
        .find_map(|s| Handle::parse(s).ok().or_else(|| Handle::parse(&slugify(s)).ok()))
        .or_else(|| obj.get("id").and_then(Value::as_u64).and_then(|id| Handle::parse(&format!("product-{id}")).ok()))
        .ok_or_else(|| ListingError {
            product: label.clone(),
            reason: "no usable slug, name or id for a handle".into(),
        })?;
    let description = text(obj, "description").or_else(|| text(obj, "short_description")).unwrap_or_default();
    let (price, currency) = price(obj.get("prices"));
    let first_name = |key: &str| {
        obj.get(key)
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(Value::as_object)
            .and_then(|o| text(o, "name"))
    };
    let gallery = obj.get("images").and_then(Value::as_array).map(|a| gallery(a)).unwrap_or_default();
    Ok(tidy(ProductListing {
        options: Vec::new(),
        variants: Vec::new(),
        images: images::finish(handle.as_str(), gallery, page_url),
        page: None,
        notes: Vec::new(),
        handle,
        title,
        description,
        vendor: first_name("brands"),
        product_type: first_name("categories"),
        price,
        currency,
    }))
}

/// The lowest price (`price_range.min_amount` for variable products) as a decimal, and its currency.
fn price(prices: Option<&Value>) -> (Option<String>, Option<String>) {
    let Some(p) = prices.and_then(Value::as_object) else { return (None, None) };
    let unit = p.get("currency_minor_unit").and_then(Value::as_u64).map(|u| u as u32).unwrap_or(2);
    let amount = |v: Option<&Value>| match v? {
        Value::String(s) => minor_units(s, unit),
        Value::Number(n) => minor_units(&n.to_string(), unit),
        _ => None,
    };
    let range_min = p.get("price_range").and_then(|r| amount(r.get("min_amount")));
    let price = lowest(range_min.into_iter().chain(amount(p.get("price"))));
    let currency =
        p.get("currency_code").and_then(Value::as_str).map(|c| c.trim().to_ascii_uppercase()).filter(|c| !c.is_empty());
    (price, currency)
}

/// Gallery in array order (the first is the featured image); `src` is the full size, else the widest `srcset`
/// candidate. A `srcset` entry naming `src` gives its width.
fn gallery(items: &[Value]) -> Vec<ListedImage> {
    items
        .iter()
        .filter_map(Value::as_object)
        .enumerate()
        .filter_map(|(i, o)| {
            let candidates = srcset(o.get("srcset").and_then(Value::as_str).unwrap_or(""));
            let src = o
                .get("src")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .or_else(|| candidates.iter().max_by_key(|c| c.1).map(|c| c.0.clone()))?;
            let width = candidates.iter().find(|c| c.0 == src).map(|c| c.1).filter(|w| *w > 0);
            Some(ListedImage {
                src,
                alt: text(o, "alt"),
                position: u32::try_from(i + 1).unwrap_or(u32::MAX),
                width,
                height: None,
                variant_ids: vec![],
            })
        })
        .collect()
}

/// `"url 300w, url 768w"` → `[(url, 300), (url, 768)]` (density descriptors count as width 0).
pub fn srcset(s: &str) -> Vec<(String, u32)> {
    s.split(", ")
        .filter_map(|c| {
            let mut parts = c.split_whitespace();
            let url = parts.next()?.to_string();
            let width = parts.next().and_then(|d| d.strip_suffix('w')).and_then(|w| w.parse().ok()).unwrap_or(0);
            Some((url, width))
        })
        .collect()
}
