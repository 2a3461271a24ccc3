//! The Shopify catalog shape (`products.json`, `/products/<handle>.json`): parsed leniently, each product
//! on its own, so one bad entry fails alone. The folder, blob and Shopify web sources all read it.

use super::text::{html_to_text, slugify, strip_controls, tidy};
use crate::ports::ListingError;
use crate::{Handle, ListedImage, ProductListing};
use serde_json::{Map, Value};

/// Parses a Shopify-shaped catalog (`{"products": [...]}`, `{"product": {...}}` or a bare array),
/// each product on its own so one bad entry fails alone. The error says what is wrong with the file.
pub fn parse_catalog(text: &[u8]) -> Result<Vec<Result<ProductListing, ListingError>>, String> {
    let doc: Value = serde_json::from_slice(text).map_err(|e| format!("products.json is not valid JSON: {e}"))?;
    parse_catalog_value(doc)
}

/// [`parse_catalog`] for a document already parsed.
pub fn parse_catalog_value(doc: Value) -> Result<Vec<Result<ProductListing, ListingError>>, String> {
    let shape = r#"products.json must be {"products": [...]} or an array of products"#;
    let entries = match doc {
        Value::Array(items) => items,
        Value::Object(mut obj) => match (obj.remove("products"), obj.remove("product")) {
            (Some(Value::Array(items)), _) => items,
            (None, Some(one @ Value::Object(_))) => vec![one],
            _ => return Err(shape.into()),
        },
        _ => return Err(shape.into()),
    };
    Ok(entries.iter().enumerate().map(|(i, v)| parse_product(i, v)).collect())
}

/// One product entry, on its own. `index` is its 0-based place in the listing.
fn parse_product(index: usize, value: &Value) -> Result<ProductListing, ListingError> {
    let position = format!("#{}", index + 1);
    let Value::Object(obj) = value else {
        return Err(ListingError { product: position, reason: format!("not a JSON object but {}", kind_of(value)) });
    };
    let raw_handle = text(obj, "handle");
    let title = text(obj, "title");
    let label = raw_handle.clone().or_else(|| title.clone()).unwrap_or(position.clone());
    let fail = |reason: String| ListingError { product: label.clone(), reason };

    let title = title.ok_or_else(|| fail("no title".into()))?;
    let handle = match &raw_handle {
        Some(h) => Handle::parse(h)
            .map_err(|e| ListingError { product: format!("{title:?} ({position})"), reason: e.to_string() })?,
        None => {
            let slug = slugify(&title);
            Handle::parse(&slug).map_err(|_| ListingError {
                product: format!("{title:?} ({position})"),
                reason: "no handle, and the title gives no usable slug".into(),
            })?
        }
    };
    let description = obj.get("body_html").and_then(Value::as_str).map(html_to_text).unwrap_or_default();
    let images =
        obj.get("images").and_then(Value::as_array).map(|a| parse_images(handle.as_str(), a)).unwrap_or_default();
    Ok(tidy(ProductListing {
        options: Vec::new(),
        variants: Vec::new(),
        handle,
        title,
        description,
        vendor: text(obj, "vendor"),
        product_type: text(obj, "product_type"),
        price: lowest_price(obj.get("variants")),
        currency: None,
        images,
        page: None,
        notes: Vec::new(),
    }))
}

/// A non-empty string field, without control characters (so labels in messages are safe to print too).
fn text(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key).and_then(Value::as_str).map(strip_controls).filter(|s| !s.is_empty())
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The lowest variant price, as the store wrote it.
fn lowest_price(variants: Option<&Value>) -> Option<String> {
    let variants = variants?.as_array()?;
    variants
        .iter()
        .filter_map(|v| match v.get("price")? {
            Value::String(s) => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .filter_map(|s| s.parse::<f64>().ok().filter(|p| p.is_finite() && *p >= 0.0).map(|p| (p, s)))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, s)| s)
}

/// The gallery in position order; entries without a `src` are skipped.
fn parse_images(handle: &str, items: &[Value]) -> Vec<ListedImage> {
    let mut images: Vec<ListedImage> = items
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            let default_position = u32::try_from(i + 1).unwrap_or(u32::MAX);
            let (src, obj) = match v {
                Value::String(s) => (s.trim().to_string(), None),
                Value::Object(o) => (text(o, "src").unwrap_or_default(), Some(o)),
                _ => (String::new(), None),
            };
            if src.is_empty() {
                tracing::warn!(product = handle, image = i + 1, "Skipped a gallery entry without a src.");
                return None;
            }
            let number =
                |key: &str| obj.and_then(|o| o.get(key)).and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok());
            Some(ListedImage {
                src,
                alt: obj.and_then(|o| text(o, "alt")),
                position: number("position").filter(|p| *p > 0).unwrap_or(default_position),
                width: number("width").filter(|w| *w > 0),
                height: number("height").filter(|h| *h > 0),
                variant_ids: obj
                    .and_then(|o| o.get("variant_ids"))
                    .and_then(Value::as_array)
                    .map(|ids| ids.iter().filter_map(Value::as_u64).collect())
                    .unwrap_or_default(),
            })
        })
        .collect();
    images.sort_by_key(|im| im.position); // stable: equal positions keep listing order
    images
}
