//! WooCommerce Store API: `/wp-json/wc/store/v1/products?page=N&per_page=100` (or the `?rest_route=` form
//! for sites without pretty permalinks), paged by `X-WP-TotalPages`; prices in minor units.
//!
//! Options come from the attributes used for variations (`attributes[{name, has_variations,
//! terms[{name, slug}]}]`), variants from `variations[{id, attributes[{name, value}]}]`, where `value` is a
//! term's slug (mapped back to its name) or `null` for "any" (an empty value). The Store API gives a
//! variation no image or price; a variation that carries an `image` (a URL or `{id, src}`, as some
//! extensions add) tags that photo with its id, and `prices` give its price.

use super::images::{self, lowest, minor_units};
use super::jsonld::percent_decode;
use super::{Attempt, Listing, WebStorefront};
use crate::adapters::storefront::text::{MAX_OPTIONS, html_to_text, slugify, tidy};
use crate::ports::{ListingError, StorefrontError};
use crate::{Handle, ListedImage, ProductListing, ProductOption, Variant};
use serde_json::{Map, Value};
use std::collections::HashMap;
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
    let mut gallery = obj.get("images").and_then(Value::as_array).map(|a| gallery(a)).unwrap_or_default();
    let (options, variants) = options_and_variants(obj, &mut gallery);
    Ok(tidy(ProductListing {
        options,
        variants,
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

/// A name as the Store API writes it (HTML entities possible).
fn plain(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(html_to_text).filter(|s| !s.is_empty())
}

/// The array `v` is, or none.
fn array(v: Option<&Value>) -> &[Value] {
    v.and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default()
}

/// One option as it is gathered: its values, and each value's index by its lowercased name and slug.
struct Gathering {
    option: ProductOption,
    /// Lowercased term slugs and names → index in `option.values`.
    index: HashMap<String, usize>,
    /// The attribute listed its terms: values the variations name beyond them are not added.
    listed: bool,
}

impl Gathering {
    fn new(name: String) -> Self {
        Self { option: ProductOption { name, values: Vec::new() }, index: HashMap::new(), listed: false }
    }

    fn add(&mut self, name: String, slug: Option<String>) {
        let at = *self.index.entry(name.to_lowercase()).or_insert(self.option.values.len());
        if at == self.option.values.len() {
            self.option.values.push(name);
        }
        if let Some(slug) = slug.filter(|s| !s.is_empty()) {
            self.index.entry(slug.to_lowercase()).or_insert(at);
        }
    }

    /// A variation's value for this option: a term's slug becomes the term's name; `null` ("any") is empty.
    fn value(&mut self, given: Option<&Value>) -> String {
        let Some(value) = plain(given) else { return String::new() };
        if let Some(&at) = self.index.get(&value.to_lowercase()) {
            return self.option.values[at].clone();
        }
        if !self.listed {
            self.add(value.clone(), None);
        }
        value
    }
}

/// Options (the attributes used for variations, with their terms' names and slugs) and variants. An
/// attribute a variation names that the product does not list becomes an option of its own, its values
/// as the variations give them. A variation's `image`, if any, joins the gallery tagged with its id
/// (merged with the gallery's copy of it by [`images::finish`]). Lookups are indexed, so a hostile list
/// of many terms and variations stays linear; [`tidy`] caps what is kept.
fn options_and_variants(
    obj: &Map<String, Value>,
    gallery: &mut Vec<ListedImage>,
) -> (Vec<ProductOption>, Vec<Variant>) {
    let mut options: Vec<Gathering> = array(obj.get("attributes"))
        .iter()
        .filter_map(Value::as_object)
        .filter(|a| a.get("has_variations").and_then(Value::as_bool) != Some(false))
        .filter_map(|a| {
            let mut option = Gathering::new(plain(a.get("name"))?);
            for t in array(a.get("terms")).iter().filter_map(Value::as_object) {
                if let Some(name) = plain(t.get("name")) {
                    option.add(name, t.get("slug").and_then(Value::as_str).map(percent_decode));
                    option.listed = true;
                }
            }
            Some(option)
        })
        .collect();
    let mut variants = Vec::new();
    for v in array(obj.get("variations")).iter().filter_map(Value::as_object) {
        let Some(id) = v.get("id").and_then(Value::as_u64) else { continue };
        let mut chosen: HashMap<String, Option<&Value>> = HashMap::new();
        for a in array(v.get("attributes")).iter().filter_map(Value::as_object) {
            let Some(name) = plain(a.get("name")) else { continue };
            let key = name.to_lowercase();
            if !options.iter().any(|o| o.option.name.to_lowercase() == key) && options.len() < MAX_OPTIONS {
                options.push(Gathering::new(name));
            }
            chosen.entry(key).or_insert(a.get("value"));
        }
        let values: Vec<String> = options
            .iter_mut()
            .map(|o| {
                let given = chosen.get(&o.option.name.to_lowercase()).copied().flatten();
                o.value(given)
            })
            .collect();
        let title = values.iter().filter(|v| !v.is_empty()).cloned().collect::<Vec<_>>().join(" / ");
        if let Some(src) = variation_image(v.get("image")) {
            let position = u32::try_from(gallery.len() + 1).unwrap_or(u32::MAX);
            gallery.push(ListedImage { src, alt: None, position, width: None, height: None, variant_ids: vec![id] });
        }
        variants.push(Variant { id, title, options: values, price: price(v.get("prices")).0 });
    }
    // Variations read before a later one named a new option have no value for it.
    for v in &mut variants {
        v.options.resize(options.len(), String::new());
    }
    (options.into_iter().map(|o| o.option).collect(), variants)
}

/// A variation's image: a URL, or an object with `src`.
fn variation_image(v: Option<&Value>) -> Option<String> {
    let src = match v? {
        Value::String(s) => s.trim(),
        Value::Object(o) => o.get("src").and_then(Value::as_str)?.trim(),
        _ => return None,
    };
    (!src.is_empty()).then(|| src.to_string())
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> ProductListing {
        parse_product(0, &v, &Url::parse("https://woo.example/shop/").unwrap()).unwrap()
    }

    #[test]
    fn a_variation_image_tags_its_photo_and_values_without_terms_are_gathered() {
        let p = parse(json!({"name": "Tee", "slug": "tee",
            "images": [{"src": "https://woo.example/up/tee-red.jpg"}, {"src": "https://woo.example/up/tee-back.jpg"}],
            // No attribute list: the variations name the options and their values.
            "variations": [
                {"id": 5, "attributes": [{"name": "Color", "value": "red"}], "image": "https://woo.example/up/tee-red-600x600.jpg"},
                {"id": 6, "attributes": [{"name": "Color", "value": "blue"}, {"name": "Fit", "value": "slim"}],
                 "image": {"id": 9, "src": "/up/tee-blue.jpg"}, "prices": {"price": "1999", "currency_minor_unit": 2}},
                {"id": 7, "attributes": [{"name": "color", "value": "red"}, {"name": "Fit", "value": null}]},
                {"attributes": [{"name": "Color", "value": "green"}]}]}));
        let options: Vec<_> = p.options.iter().map(|o| (o.name.as_str(), o.values.clone())).collect();
        assert_eq!(options, [("Color", vec!["red".to_string(), "blue".into()]), ("Fit", vec!["slim".into()])]);
        let variants: Vec<_> = p.variants.iter().map(|v| (v.id, v.options.clone(), v.price.clone())).collect();
        assert_eq!(
            variants,
            [
                (5, vec!["red".to_string(), "".into()], None),
                (6, vec!["blue".into(), "slim".into()], Some("19.99".into())),
                (7, vec!["red".into(), "".into()], None),
            ]
        );
        let images: Vec<_> = p.images.iter().map(|i| (i.src.as_str(), i.variant_ids.clone())).collect();
        assert_eq!(
            images,
            [
                ("https://woo.example/up/tee-red.jpg", vec![5]),
                ("https://woo.example/up/tee-back.jpg", vec![]),
                ("https://woo.example/up/tee-blue.jpg", vec![6]),
            ],
            "the red rendition merges into the gallery's photo; the blue one joins the gallery"
        );
    }

    #[test]
    fn many_terms_and_variations_stay_within_the_caps() {
        let terms: Vec<Value> = (0..5000).map(|i| json!({"name": format!("T{i}"), "slug": format!("t{i}")})).collect();
        let variations: Vec<Value> = (0..3000)
            .map(|i| {
                json!({"id": i, "attributes": [{"name": "Size", "value": format!("t{}", i % 7)},
                                                     {"name": format!("Extra {}", i % 40), "value": "x\u{1b}[2J"}]})
            })
            .collect();
        let p = parse(json!({"name": "Big", "slug": "big",
            "attributes": [{"name": "Size", "has_variations": true, "terms": terms}], "variations": variations}));
        assert_eq!(p.options.len(), MAX_OPTIONS);
        assert_eq!(p.options[0].values.len(), crate::adapters::storefront::text::MAX_OPTION_VALUES);
        assert_eq!(p.variants.len(), crate::adapters::storefront::text::MAX_VARIANTS);
        assert_eq!(p.variants[3].options[0], "T3");
        assert_eq!(p.variants[3].options[4], "x", "escape sequences stripped");
        assert!(p.notes.iter().any(|n| n == "kept the first 250 of 3000 variants"), "{:?}", p.notes);
    }
}
