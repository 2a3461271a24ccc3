//! Product pages: schema.org JSON-LD `Product` / `ProductGroup`, with OpenGraph as the fallback.
//!
//! The page's tags are found by [`super::markup`]. JSON-LD is parsed leniently: HTML comments, CDATA markers,
//! JavaScript comments, trailing commas and raw control characters inside strings are repaired; anything else
//! broken (unescaped quotes) is reported for the page.
//!
//! Variants: a `ProductGroup`'s (or a `Product`'s) `hasVariant[]` members are the variants. The options are
//! the properties named by `variesBy` (`https://schema.org/color`, `size`, ...), else those of `color`,
//! `size`, `material` and `pattern` the members carry; each member's values, lowest offer price and
//! images (tagged with its id) come from it. Without `hasVariant`, offers whose URL names a Shopify
//! `?variant=` are variants without options. A variant's id is that `?variant=` number when its URL, `@id`
//! or offer URL has one, else a stable 53-bit hash of its `sku` (or `@id`, `url`, `name`, then its place),
//! so the same page gives the same ids on every crawl ([`variant_id`]).

use super::images::{json_decimal, lowest};
use super::markup::{Markup, scan};
use crate::adapters::storefront::text::{html_to_text, slugify};
use crate::{Handle, ListedImage, ProductListing, ProductOption, Variant};
use serde_json::{Map, Value};
use std::collections::HashSet;
use url::Url;

/// Parses one JSON-LD script body leniently: one or more JSON values.
pub fn parse_lenient(raw: &str) -> Result<Vec<Value>, String> {
    let trimmed = strip_wrappers(raw);
    match parse_all(trimmed) {
        Ok(v) => Ok(v),
        Err(first) => {
            let repaired = repair(trimmed);
            parse_all(&repaired).map_err(|_| first)
        }
    }
}

fn strip_wrappers(raw: &str) -> &str {
    let mut s = raw.trim();
    for prefix in ["<!--", "//<![CDATA[", "// <![CDATA[", "<![CDATA["] {
        s = s.strip_prefix(prefix).unwrap_or(s).trim_start();
    }
    for suffix in ["-->", "//]]>", "// ]]>", "]]>"] {
        s = s.strip_suffix(suffix).unwrap_or(s).trim_end();
    }
    s
}

fn parse_all(s: &str) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for v in serde_json::Deserializer::from_str(s).into_iter::<Value>() {
        out.push(v.map_err(|e| e.to_string())?);
    }
    if out.is_empty() {
        return Err("the script is empty".into());
    }
    Ok(out)
}

/// Repairs the invalid JSON real pages carry, outside strings: comments (`<!-- -->`, `//`, `/* */`), CDATA
/// markers and trailing commas; inside strings: raw control characters become escapes.
fn repair(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut in_string = false;
    let starts = |i: usize, pat: &str| pat.chars().enumerate().all(|(k, c)| chars.get(i + k) == Some(&c));
    while i < chars.len() {
        let c = chars[i];
        if in_string {
            match c {
                '\\' => {
                    out.push(c);
                    if let Some(n) = chars.get(i + 1) {
                        out.push(*n);
                    }
                    i += 2;
                    continue;
                }
                '"' => in_string = false,
                '\n' => {
                    out.push_str("\\n");
                    i += 1;
                    continue;
                }
                '\r' => {
                    out.push_str("\\r");
                    i += 1;
                    continue;
                }
                '\t' => {
                    out.push_str("\\t");
                    i += 1;
                    continue;
                }
                c if (c as u32) < 0x20 => {
                    out.push(' ');
                    i += 1;
                    continue;
                }
                _ => {}
            }
            out.push(c);
            i += 1;
            continue;
        }
        if c == '"' {
            in_string = true;
        } else if starts(i, "<!--") {
            i += 4;
            continue;
        } else if starts(i, "-->") {
            i += 3;
            continue;
        } else if starts(i, "<![CDATA[") {
            i += 9;
            continue;
        } else if starts(i, "]]>") {
            i += 3;
            continue;
        } else if starts(i, "//") {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        } else if starts(i, "/*") {
            i = (i + 2..chars.len().saturating_sub(1)).find(|&k| starts(k, "*/")).map(|k| k + 2).unwrap_or(chars.len());
            continue;
        }
        out.push(c);
        i += 1;
    }
    drop_trailing_commas(&out)
}

/// Commas followed (after whitespace) by `]`, `}` or the end, outside strings, removed.
fn drop_trailing_commas(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let (mut in_string, mut escaped) = (false, false);
    for (i, &c) in chars.iter().enumerate() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
        } else if c == ',' && matches!(chars[i + 1..].iter().find(|c| !c.is_whitespace()), Some(']' | '}') | None) {
            continue;
        }
        out.push(c);
    }
    out
}

/// What a product page yields.
#[derive(Debug)]
pub enum PageProduct {
    Found(Box<ProductListing>),
    /// No schema.org product and no product OpenGraph: not a product page.
    NotAProduct,
}

/// Reads the product on a page. An error is a page whose product data could not be read at all
/// (every JSON-LD block broken and nothing else to go on).
pub fn product_from_html(html: &str, page: &Url) -> Result<PageProduct, String> {
    let markup = scan(html);
    let base = markup.base.as_deref().and_then(|b| page.join(b).ok()).unwrap_or_else(|| page.clone());
    let mut values = Vec::new();
    let mut broken = Vec::new();
    for (i, block) in markup.json_ld.iter().enumerate() {
        match parse_lenient(block) {
            Ok(v) => values.extend(v),
            Err(e) => {
                tracing::warn!(page = %page, block = i + 1, error = %e, "Unreadable JSON-LD block.");
                broken.push(format!("JSON-LD block {} is not valid JSON: {e}", i + 1));
            }
        }
    }
    let mut found = Vec::new();
    for v in &values {
        find_products(v, &mut found, 0);
    }
    let og_images = og_images(&markup);
    let chosen = found
        .iter()
        .copied()
        .find(|p| same_page(p, page))
        .or_else(|| found.iter().copied().find(|p| p.get("image").is_some()))
        .or_else(|| found.first().copied());
    let listing = match chosen {
        Some(p) => from_json_ld(p, &markup, page, og_images)?,
        None if is_og_product(&markup) => from_og(&markup, page, og_images)?,
        None if !broken.is_empty() => return Err(broken.join("; ")),
        None => return Ok(PageProduct::NotAProduct),
    };
    // Store text tidied before the gallery's URLs are resolved (a control character would be escaped).
    let mut listing = crate::adapters::storefront::text::tidy(listing);
    listing.images = super::images::finish(listing.handle.as_str(), listing.images, &base);
    Ok(PageProduct::Found(Box::new(listing)))
}

fn same_page(p: &Map<String, Value>, page: &Url) -> bool {
    let strip = |s: &str| s.split(['#', '?']).next().unwrap_or("").trim_end_matches('/').to_string();
    let want = strip(page.as_str());
    ["url", "@id"].iter().any(|k| {
        p.get(*k).and_then(Value::as_str).and_then(|u| page.join(u).ok()).is_some_and(|u| strip(u.as_str()) == want)
    })
}

const PRODUCT_TYPES: &[&str] = &["product", "productgroup", "individualproduct", "productmodel", "somemodel"];

fn is_product(obj: &Map<String, Value>) -> bool {
    let is = |t: &str| {
        let t = t.rsplit(['/', ':', '#']).next().unwrap_or(t).to_ascii_lowercase();
        PRODUCT_TYPES.contains(&t.as_str())
    };
    match obj.get("@type") {
        Some(Value::String(t)) => is(t),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).any(is),
        _ => false,
    }
}

/// Every product object in a JSON-LD value: top-level arrays, `@graph`, nesting (`mainEntity`, …);
/// a product's own insides (variants, related products) are not searched.
fn find_products<'a>(v: &'a Value, out: &mut Vec<&'a Map<String, Value>>, depth: usize) {
    if depth > 8 {
        return;
    }
    match v {
        Value::Array(items) => items.iter().for_each(|i| find_products(i, out, depth + 1)),
        Value::Object(obj) if is_product(obj) => out.push(obj),
        Value::Object(obj) => obj.values().for_each(|i| find_products(i, out, depth + 1)),
        _ => {}
    }
}

fn str_field(obj: &Map<String, Value>, key: &str) -> Option<String> {
    match obj.get(key)? {
        Value::String(s) => Some(html_to_text(s)).filter(|s| !s.is_empty()),
        Value::Array(a) => a.iter().find_map(Value::as_str).map(html_to_text).filter(|s| !s.is_empty()),
        Value::Object(o) => o.get("name").and_then(Value::as_str).map(html_to_text).filter(|s| !s.is_empty()),
        _ => None,
    }
}

fn dimension(v: Option<&Value>) -> Option<u32> {
    match v? {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f as u64)).and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().trim_end_matches("px").trim().parse().ok(),
        Value::Object(o) => dimension(o.get("value")),
        _ => None,
    }
    .filter(|n| *n > 0)
}

/// Images of a JSON-LD `image` value: a URL, an `ImageObject`, or arrays of those.
fn collect_images(v: &Value, out: &mut Vec<ListedImage>, depth: usize) {
    if depth > 4 {
        return;
    }
    let mut push = |src: String, alt: Option<String>, width, height| {
        let position = u32::try_from(out.len() + 1).unwrap_or(u32::MAX);
        out.push(ListedImage { src, alt, position, width, height, variant_ids: vec![] });
    };
    match v {
        Value::String(s) if !s.trim().is_empty() => push(s.trim().to_string(), None, None, None),
        Value::Array(items) => items.iter().for_each(|i| collect_images(i, out, depth + 1)),
        Value::Object(o) => {
            let src = ["contentUrl", "url", "@id"].iter().find_map(|k| match o.get(*k) {
                Some(Value::String(s)) if !s.trim().is_empty() && !s.starts_with('_') => Some(s.trim().to_string()),
                _ => None,
            });
            if let Some(src) = src {
                let alt =
                    str_field(o, "caption").or_else(|| str_field(o, "name")).or_else(|| str_field(o, "description"));
                push(src, alt, dimension(o.get("width")), dimension(o.get("height")));
            }
        }
        _ => {}
    }
}

/// `(price, currency)` of every offer in an `offers` value.
fn offers(v: &Value, out: &mut Vec<(String, Option<String>)>, depth: usize) {
    if depth > 4 {
        return;
    }
    match v {
        Value::Array(items) => items.iter().for_each(|i| offers(i, out, depth + 1)),
        Value::Object(o) => {
            let currency = o.get("priceCurrency").and_then(Value::as_str).map(|c| c.trim().to_ascii_uppercase());
            let price = ["lowPrice", "price"].iter().find_map(|k| o.get(*k).and_then(json_decimal));
            match price {
                Some(p) => out.push((p, currency)),
                None => {
                    if let Some(spec) = o.get("priceSpecification") {
                        offers(spec, out, depth + 1);
                    }
                    if let Some(inner) = o.get("offers") {
                        offers(inner, out, depth + 1);
                    }
                }
            }
        }
        _ => {}
    }
}

/// A handle for a page: its last path segment (without `.html`), else the product name, else its SKU.
pub fn page_handle(page: &Url, name: Option<&str>, sku: Option<&str>) -> Option<Handle> {
    let segment = page.path_segments().and_then(|mut s| s.rfind(|seg| !seg.is_empty())).unwrap_or("");
    let segment = segment
        .rsplit_once('.')
        .filter(|(_, ext)| matches!(*ext, "html" | "htm" | "php" | "aspx"))
        .map(|(s, _)| s)
        .unwrap_or(segment);
    let segment = percent_decode(segment);
    [Some(segment.as_str()), name, sku]
        .into_iter()
        .flatten()
        .find_map(|s| Handle::parse(&s.to_ascii_lowercase()).ok().or_else(|| Handle::parse(&slugify(s)).ok()))
}

/// `%XX` sequences decoded (as UTF-8, lossily).
pub fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

fn from_json_ld(
    p: &Map<String, Value>,
    markup: &Markup,
    page: &Url,
    og: Vec<ListedImage>,
) -> Result<ProductListing, String> {
    let name = str_field(p, "name").or_else(|| markup.meta("og:title").map(html_to_text));
    let sku = p.get("sku").and_then(Value::as_str);
    let title = name.clone().ok_or("the schema.org Product has no name")?;
    let handle =
        page_handle(page, Some(&title), sku).ok_or_else(|| format!("no usable handle for {title:?} from {page}"))?;
    let mut images = Vec::new();
    if let Some(v) = p.get("image") {
        collect_images(v, &mut images, 0);
    }
    let mut found_offers = Vec::new();
    if let Some(v) = p.get("offers") {
        offers(v, &mut found_offers, 0);
    }
    let (options, variants) = match p.get("hasVariant") {
        Some(Value::Array(members)) => {
            let found = group_variants(p, members, &mut images, &mut found_offers);
            for (i, image) in images.iter_mut().enumerate() {
                image.position = u32::try_from(i + 1).unwrap_or(u32::MAX);
            }
            found
        }
        _ => (Vec::new(), offer_variants(p.get("offers"))),
    };
    if images.is_empty() {
        images = og;
    }
    let currency = found_offers
        .iter()
        .find_map(|(_, c)| c.clone())
        .or_else(|| markup.meta("product:price:currency").map(str::to_string));
    let price = lowest(found_offers.into_iter().map(|(p, _)| p)).or_else(|| og_price(markup));
    Ok(ProductListing {
        options,
        variants,
        handle,
        title,
        description: str_field(p, "description")
            .or_else(|| markup.meta("og:description").map(html_to_text))
            .unwrap_or_default(),
        vendor: str_field(p, "brand").or_else(|| str_field(p, "manufacturer")),
        product_type: str_field(p, "category"),
        price,
        currency,
        images,
        page: None,
        notes: Vec::new(),
    })
}

/// The schema.org properties variants may differ by, in the order options are listed when `variesBy` is silent.
const VARYING: &[&str] = &["color", "size", "material", "pattern"];

/// The property a `variesBy` entry names: `https://schema.org/color`, `schema:size` or `color` → `color`.
fn property(entry: &str) -> &str {
    entry.trim().rsplit(['/', ':', '#']).next().unwrap_or("").trim()
}

/// An option's name for a property: `color` → `Color`, `suggestedGender` → `Gender`.
fn option_name(property: &str) -> String {
    let name = property.strip_prefix("suggested").filter(|n| !n.is_empty()).unwrap_or(property);
    let mut chars = name.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// A Shopify variant id in a URL's query (`?variant=123`).
fn variant_param(url: &str) -> Option<u64> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or("");
    query.split('&').find_map(|pair| pair.strip_prefix("variant=")?.parse().ok())
}

/// The URLs of an `offers` value (an offer, or an array of them).
fn offer_urls(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::Object(o)) => o.get("url").and_then(Value::as_str).into_iter().collect(),
        Some(Value::Array(items)) => items.iter().take(1000).flat_map(|i| offer_urls(Some(i))).collect(),
        _ => Vec::new(),
    }
}

/// A variant's id: the Shopify `?variant=` number in its `url`, `@id` or an offer's URL; else the FNV-1a hash
/// of its `sku` (else `@id`, `url`, `name`, else its 0-based place in `hasVariant`) cut to 53 bits, so it
/// survives a trip through JavaScript numbers and is the same on every crawl of the page.
pub fn variant_id(variant: &Map<String, Value>, place: usize) -> u64 {
    let own = ["url", "@id"].iter().filter_map(|k| variant.get(*k).and_then(Value::as_str));
    if let Some(id) = own.chain(offer_urls(variant.get("offers"))).find_map(variant_param) {
        return id;
    }
    let key = ["sku", "@id", "url", "name"]
        .iter()
        .find_map(|k| {
            let v = variant.get(*k).and_then(Value::as_str).map(str::trim).filter(|v| !v.is_empty())?;
            Some(format!("{k}:{v}"))
        })
        .unwrap_or_else(|| format!("place:{place}"));
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    hash & ((1 << 53) - 1)
}

/// Options and variants of a product group's `hasVariant` members; their images join `images` tagged with
/// their variant's id, their offers join `all_offers`.
fn group_variants(
    group: &Map<String, Value>,
    members: &[Value],
    images: &mut Vec<ListedImage>,
    all_offers: &mut Vec<(String, Option<String>)>,
) -> (Vec<ProductOption>, Vec<Variant>) {
    let members: Vec<&Map<String, Value>> = members.iter().filter_map(Value::as_object).collect();
    let named: Vec<String> = match group.get("variesBy") {
        Some(Value::String(s)) => vec![property(s).to_string()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(|s| property(s).to_string()).collect(),
        _ => Vec::new(),
    };
    let mut keys: Vec<String> = Vec::new();
    for key in named.into_iter().filter(|k| !k.is_empty()) {
        if !keys.contains(&key) && keys.len() < crate::adapters::storefront::text::MAX_OPTIONS {
            keys.push(key);
        }
    }
    if keys.is_empty() {
        keys = VARYING.iter().filter(|k| members.iter().any(|m| m.contains_key(**k))).map(|k| k.to_string()).collect();
    }
    let mut options: Vec<(ProductOption, HashSet<String>)> =
        keys.iter().map(|k| (ProductOption { name: option_name(k), values: Vec::new() }, HashSet::new())).collect();
    let mut variants = Vec::with_capacity(members.len());
    for (place, member) in members.iter().enumerate() {
        let id = variant_id(member, place);
        let values: Vec<String> = keys
            .iter()
            .zip(&mut options)
            .map(|(key, (option, seen))| {
                let value = str_field(member, key).unwrap_or_default();
                if !value.is_empty() && seen.insert(value.clone()) {
                    option.values.push(value.clone());
                }
                value
            })
            .collect();
        if let Some(v) = member.get("image") {
            let mut own = Vec::new();
            collect_images(v, &mut own, 0);
            images.extend(own.into_iter().map(|im| ListedImage { variant_ids: vec![id], ..im }));
        }
        let mut own_offers = Vec::new();
        if let Some(v) = member.get("offers") {
            offers(v, &mut own_offers, 0);
        }
        let price = lowest(own_offers.iter().map(|(p, _)| p.clone()));
        all_offers.extend(own_offers);
        let shown: Vec<&str> = values.iter().map(String::as_str).filter(|v| !v.is_empty()).collect();
        let title = if shown.is_empty() { str_field(member, "name").unwrap_or_default() } else { shown.join(" / ") };
        variants.push(Variant { id, title, options: values, price });
    }
    (options.into_iter().map(|(o, _)| o).collect(), variants)
}

/// A plain product's offers that name a Shopify `?variant=` (a theme's one offer per variant): variants
/// without options, titled by the offer's `name` or `sku`.
fn offer_variants(v: Option<&Value>) -> Vec<Variant> {
    let items: Vec<&Map<String, Value>> = match v {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_object).collect(),
        Some(Value::Object(o)) => vec![o],
        _ => return Vec::new(),
    };
    items
        .into_iter()
        .filter_map(|o| {
            let id = o.get("url").and_then(Value::as_str).and_then(variant_param)?;
            let title = str_field(o, "name").or_else(|| str_field(o, "sku")).unwrap_or_default();
            let price = ["price", "lowPrice"].iter().find_map(|k| o.get(*k).and_then(json_decimal));
            Some(Variant { id, title, options: Vec::new(), price })
        })
        .collect()
}

fn is_og_product(markup: &Markup) -> bool {
    let og_type = markup.meta("og:type").unwrap_or("").to_ascii_lowercase();
    og_type == "product"
        || og_type == "og:product"
        || og_type == "product.item"
        || markup.meta("product:price:amount").is_some()
}

fn og_price(markup: &Markup) -> Option<String> {
    ["product:price:amount", "og:price:amount", "product:sale_price:amount"]
        .iter()
        .find_map(|k| markup.meta(k).and_then(super::images::decimal))
}

fn from_og(markup: &Markup, page: &Url, og: Vec<ListedImage>) -> Result<ProductListing, String> {
    let title = markup
        .meta("og:title")
        .map(html_to_text)
        .or_else(|| markup.title.clone())
        .ok_or("the page's product OpenGraph has no og:title")?;
    let handle =
        page_handle(page, Some(&title), None).ok_or_else(|| format!("no usable handle for {title:?} from {page}"))?;
    Ok(ProductListing {
        options: Vec::new(),
        variants: Vec::new(),
        handle,
        title,
        description: markup.meta("og:description").map(html_to_text).unwrap_or_default(),
        vendor: markup.meta("product:brand").or_else(|| markup.meta("og:site_name")).map(html_to_text),
        product_type: None,
        price: og_price(markup),
        currency: markup
            .meta("product:price:currency")
            .or_else(|| markup.meta("og:price:currency"))
            .map(|c| c.trim().to_ascii_uppercase()),
        images: og,
        page: None,
        notes: Vec::new(),
    })
}

/// `og:image` (each followed by its `:secure_url`, `:width`, `:height`, `:alt`), then `twitter:image` and
/// `<link rel="image_src">`.
fn og_images(markup: &Markup) -> Vec<ListedImage> {
    let mut out: Vec<ListedImage> = Vec::new();
    for (k, v) in &markup.meta {
        let last = out.last_mut();
        match (k.as_str(), last) {
            ("og:image" | "og:image:url", _) => {
                let position = u32::try_from(out.len() + 1).unwrap_or(u32::MAX);
                out.push(ListedImage {
                    src: v.clone(),
                    alt: None,
                    position,
                    width: None,
                    height: None,
                    variant_ids: vec![],
                });
            }
            ("og:image:secure_url", Some(last)) => last.src = v.clone(),
            ("og:image:width", Some(last)) => last.width = v.trim().parse().ok().filter(|w| *w > 0),
            ("og:image:height", Some(last)) => last.height = v.trim().parse().ok().filter(|h| *h > 0),
            ("og:image:alt", Some(last)) => last.alt = Some(v.clone()).filter(|a| !a.trim().is_empty()),
            _ => {}
        }
    }
    let extra = markup
        .meta
        .iter()
        .filter(|(k, _)| k == "twitter:image" || k == "twitter:image:src")
        .map(|(_, v)| v.clone())
        .chain(markup.image_src.iter().cloned());
    for src in extra {
        let position = u32::try_from(out.len() + 1).unwrap_or(u32::MAX);
        out.push(ListedImage { src, alt: None, position, width: None, height: None, variant_ids: vec![] });
    }
    out.retain(|i| !i.src.trim().is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(u: &str) -> Url {
        Url::parse(u).unwrap()
    }

    fn found(html: &str, url: &str) -> ProductListing {
        match product_from_html(html, &page(url)).unwrap() {
            PageProduct::Found(p) => *p,
            PageProduct::NotAProduct => panic!("no product found"),
        }
    }

    #[test]
    fn broken_json_ld_is_repaired_where_safe() {
        let cases = [
            "<!-- {\"a\": 1} -->",
            "//<![CDATA[\n{\"a\": 1}\n//]]>",
            "{\"a\": 1, // a comment\n /* block */ }",
            "{\"a\": [1, 2,], }",
            "{\"a\": \"line 1\nline 2\tend\"}",
        ];
        for raw in cases {
            assert!(parse_lenient(raw).is_ok(), "{raw:?}");
        }
        assert_eq!(parse_lenient("{\"a\": \"x\ny\"}").unwrap()[0]["a"], "x\ny");
        assert_eq!(parse_lenient("{\"u\": \"http://x/y\"}").unwrap()[0]["u"], "http://x/y", "// inside strings stays");
        assert!(parse_lenient(r#"{"name": "The "best" tee"}"#).is_err(), "unescaped quotes are not guessed at");
        assert_eq!(parse_lenient(r#"{"a":1}{"b":2}"#).unwrap().len(), 2);
    }

    #[test]
    fn every_image_shape_and_container_is_read() {
        let html = r#"<script type="application/ld+json">[{"@type":"BreadcrumbList"},
          {"@context":"https://schema.org","@graph":[{"@type":["Product","Thing"],"name":"Tee","sku":"T1",
            "brand":{"@type":"Brand","name":"Acme"},
            "image":["/a.jpg",{"@type":"ImageObject","contentUrl":"b.jpg","width":"800px","height":1000,"caption":"Back"},
                     [{"url":"//cdn.example/c.jpg"}]],
            "offers":[{"@type":"Offer","price":"25.5","priceCurrency":"eur"},{"@type":"Offer","price":19}]}]}]
          </script>"#;
        let p = found(html, "https://shop.example/products/tee-shirt");
        assert_eq!(p.handle.as_str(), "tee-shirt");
        assert_eq!((p.title.as_str(), p.vendor.as_deref()), ("Tee", Some("Acme")));
        assert_eq!((p.price.as_deref(), p.currency.as_deref()), (Some("19"), Some("EUR")));
        let srcs: Vec<_> = p.images.iter().map(|i| i.src.as_str()).collect();
        assert_eq!(
            srcs,
            ["https://shop.example/a.jpg", "https://shop.example/products/b.jpg", "https://cdn.example/c.jpg"]
        );
        assert_eq!(
            (p.images[1].width, p.images[1].height, p.images[1].alt.as_deref()),
            (Some(800), Some(1000), Some("Back"))
        );
    }

    #[test]
    fn a_product_group_gathers_its_variants_images_and_lowest_offer() {
        let html = r#"<script type="application/ld+json">{"@type":"ProductGroup","name":"Dress","image":"https://x.example/main.jpg",
          "hasVariant":[{"@type":"Product","image":"https://x.example/red.jpg","offers":{"@type":"Offer","price":"80.00"}},
                        {"@type":"Product","image":"https://x.example/main.jpg","offers":{"@type":"AggregateOffer","lowPrice":"75","highPrice":"90"}}]}</script>"#;
        let p = found(html, "https://x.example/dress.html");
        assert_eq!(p.handle.as_str(), "dress");
        let srcs: Vec<_> = p.images.iter().map(|i| (i.src.as_str(), i.position)).collect();
        assert_eq!(srcs, [("https://x.example/main.jpg", 1), ("https://x.example/red.jpg", 2)]);
        assert_eq!(p.price.as_deref(), Some("75"));
    }

    #[test]
    fn a_product_group_gives_options_variants_and_colour_photos() {
        let html = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/storefronts/page_product_group_variants.html"
        ));
        let p = found(html, "https://outfitters.example/products/wool-winter-coat");
        let options: Vec<_> = p.options.iter().map(|o| (o.name.as_str(), o.values.clone())).collect();
        assert_eq!(
            options,
            [
                ("Size", vec!["small".to_string(), "large".into()]),
                ("Color", vec!["Green".to_string(), "Light blue".into()])
            ]
        );
        let variants: Vec<_> =
            p.variants.iter().map(|v| (v.id, v.title.as_str(), v.options.clone(), v.price.as_deref())).collect();
        assert_eq!(
            variants,
            [
                (40123456789011, "small / Green", vec!["small".to_string(), "Green".into()], Some("39.99")),
                (40123456789012, "small / Light blue", vec!["small".into(), "Light blue".into()], Some("39.99")),
                (40123456789013, "large / Light blue", vec!["large".into(), "Light blue".into()], Some("49.99")),
            ]
        );
        assert_eq!((p.price.as_deref(), p.currency.as_deref()), (Some("39.99"), Some("USD")));
        let images: Vec<_> = p.images.iter().map(|i| (i.src.as_str(), i.position, i.variant_ids.clone())).collect();
        assert_eq!(
            images,
            [
                (
                    "https://outfitters.example/cdn/shop/files/coat_small_green.jpg?v=1700000001",
                    1,
                    vec![40123456789011]
                ),
                (
                    "https://outfitters.example/cdn/shop/files/coat_small_lightblue.jpg?v=1700000002",
                    2,
                    vec![40123456789012, 40123456789013]
                ),
                (
                    "https://outfitters.example/cdn/shop/files/coat_large_lightblue.jpg?v=1700000003",
                    3,
                    vec![40123456789013]
                ),
            ],
            "a smaller rendition of a photo merges into it and adds its variant"
        );
    }

    #[test]
    fn variant_ids_without_a_shopify_number_are_stable_hashes() {
        let html = r#"<script type="application/ld+json">{"@type":"ProductGroup","name":"Mug","hasVariant":[
            {"@type":"Product","sku":"MUG-W","color":"White"},{"@type":"Product","sku":"MUG-B","color":{"name":"Black"}},
            {"@type":"Product","color":"Red"},{"@type":"Product","sku":"MUG-W","color":"White"}]}</script>"#;
        let p = found(html, "https://x.example/mug");
        assert_eq!(p.options.len(), 1);
        assert_eq!(p.options[0].values, ["White", "Black", "Red"]);
        let ids: Vec<u64> = p.variants.iter().map(|v| v.id).collect();
        assert_eq!(ids.len(), 3, "the repeated SKU is one variant: {:?}", p.variants);
        assert!(ids.iter().all(|id| *id < 1 << 53) && ids[0] != ids[1], "{ids:?}");
        assert_eq!(p.notes, ["dropped 1 variant(s) whose id was listed before"]);
        assert_eq!(found(html, "https://x.example/mug").variants, p.variants, "the same ids every time");
        let mut sku = Map::new();
        sku.insert("sku".into(), Value::from("MUG-W"));
        assert_eq!(variant_id(&sku, 0), ids[0]);
        assert_eq!(variant_id(&sku, 0), 0x1f_ffff_ffff_ffff & fnv(b"sku:MUG-W"));
    }

    /// FNV-1a, 64 bits, written out again for the test.
    fn fnv(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
    }

    #[test]
    fn shopify_offers_name_their_variants() {
        let html = r#"<script type="application/ld+json">{"@type":"Product","name":"Cap","offers":[
            {"@type":"Offer","price":"20.00","sku":"CAP-1","url":"https://s.example/products/cap?variant=111"},
            {"@type":"Offer","price":"22.50","name":"Cap - Navy","url":"/products/cap?variant=112&ref=x"},
            {"@type":"Offer","price":"1.00","url":"https://s.example/products/cap"}]}</script>"#;
        let p = found(html, "https://s.example/products/cap");
        let v: Vec<_> = p.variants.iter().map(|v| (v.id, v.title.as_str(), v.price.as_deref())).collect();
        assert_eq!(v, [(111, "CAP-1", Some("20.00")), (112, "Cap - Navy", Some("22.50"))]);
        assert!(p.options.is_empty());
    }

    #[test]
    fn open_graph_fills_in_when_json_ld_has_no_product_or_no_image() {
        let og = r#"<meta property="og:type" content="product"><meta property="og:title" content="Scarf &amp; Hat">
          <meta property="og:image" content="http://x.example/s.jpg"><meta property="og:image:secure_url" content="https://x.example/s.jpg">
          <meta property="og:image:width" content="570"><meta property="og:image:alt" content="Red scarf">
          <meta property="og:image" content="/t.jpg"><meta property="product:price:amount" content="12.5">
          <meta property="product:price:currency" content="gbp">"#;
        let p = found(og, "https://x.example/shop/scarf/");
        assert_eq!((p.handle.as_str(), p.title.as_str()), ("scarf", "Scarf & Hat"));
        assert_eq!((p.price.as_deref(), p.currency.as_deref()), (Some("12.50"), Some("GBP")));
        assert_eq!(p.images[0].src, "https://x.example/s.jpg");
        assert_eq!((p.images[0].width, p.images[0].alt.as_deref()), (Some(570), Some("Red scarf")));
        assert_eq!(p.images[1].src, "https://x.example/t.jpg");

        let no_image =
            format!(r#"{og}<script type="application/ld+json">{{"@type":"Product","name":"Scarf"}}</script>"#);
        assert_eq!(found(&no_image, "https://x.example/scarf").images.len(), 2);

        let article = r#"<meta property="og:type" content="article"><meta property="og:image" content="/a.jpg">"#;
        assert!(matches!(product_from_html(article, &page("https://x.example/blog/a")), Ok(PageProduct::NotAProduct)));
    }

    #[test]
    fn a_page_whose_only_json_ld_is_broken_fails_with_the_reason() {
        let html = r#"<script type="application/ld+json">{"@type":"Product","name":"The "best" tee"}</script>"#;
        let e = product_from_html(html, &page("https://x.example/p/best")).unwrap_err();
        assert!(e.starts_with("JSON-LD block 1 is not valid JSON"), "{e}");
    }

    #[test]
    fn handles_come_from_the_url_then_the_name() {
        assert_eq!(
            page_handle(&page("https://x.example/products/T%C3%A9e-Shirt/"), None, None).unwrap().as_str(),
            "tee-shirt"
        );
        assert_eq!(page_handle(&page("https://x.example/item.php"), None, None).unwrap().as_str(), "item");
        assert_eq!(page_handle(&page("https://x.example/"), Some("Big Bag"), None).unwrap().as_str(), "big-bag");
        assert!(page_handle(&page("https://x.example/"), Some("日本"), None).is_none());
    }
}
