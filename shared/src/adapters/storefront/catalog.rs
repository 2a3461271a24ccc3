//! The Shopify catalog shape (`products.json`, `/products/<handle>.json`): parsed leniently, each product
//! on its own, so one bad entry fails alone. The folder, blob and Shopify web sources all read it.
//!
//! Options come from `options[{name, values}]` (a bare name, as older themes write it, takes its values
//! from the variants), variants from `variants[{id, title, option1..option3, price}]` (or an `options`
//! array of values, the `.js` shape). The lone `Title` / `Default Title` option of a product without
//! options is dropped. A variant's `featured_image` adds its id to that gallery image's `variant_ids`.

use super::text::{html_to_text, slugify, strip_controls, tidy};
use crate::ports::ListingError;
use crate::{Handle, ListedImage, ProductListing, ProductOption, Variant};
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
    let mut images =
        obj.get("images").and_then(Value::as_array).map(|a| parse_images(handle.as_str(), a)).unwrap_or_default();
    let variant_list = obj.get("variants").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let variants = parse_variants(variant_list);
    let options = parse_options(obj.get("options"), &variants);
    let variants = if options.is_empty() { without_default_title(variants) } else { variants };
    tag_featured_images(variant_list, &mut images);
    let images = images.into_iter().map(|(image, _)| image).collect();
    Ok(tidy(ProductListing {
        options,
        variants,
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

/// A number, or a string of digits (some exports quote ids).
fn id(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A string, or a number written as one (sizes such as `38`).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Variants with an id, in listing order; their values from `option1..option3`, else an `options` array.
fn parse_variants(items: &[Value]) -> Vec<Variant> {
    items
        .iter()
        .filter_map(Value::as_object)
        .filter_map(|v| {
            let id = id(v.get("id"))?;
            let mut options: Vec<String> =
                ["option1", "option2", "option3"].iter().map_while(|k| v.get(*k).and_then(scalar)).collect();
            if options.is_empty()
                && let Some(Value::Array(values)) = v.get("options")
            {
                options = values.iter().filter_map(scalar).collect();
            }
            let title = v.get("title").and_then(scalar).unwrap_or_else(|| options.join(" / "));
            let price = v.get("price").and_then(scalar).map(|p| p.trim().to_string());
            Some(Variant { id, title, options, price })
        })
        .collect()
}

/// The product's options: `{name, values}` objects in listing order, or bare names whose values are
/// gathered from the variants. A single `Title` option with the single value `Default Title` is what
/// Shopify lists for a product without options: none.
fn parse_options(v: Option<&Value>, variants: &[Variant]) -> Vec<ProductOption> {
    let Some(Value::Array(items)) = v else { return Vec::new() };
    let options: Vec<ProductOption> = items
        .iter()
        .enumerate()
        .filter_map(|(i, o)| {
            let (name, values) = match o {
                Value::String(name) => (name.clone(), None),
                Value::Object(o) => (
                    o.get("name").and_then(scalar)?,
                    o.get("values").and_then(Value::as_array).map(|a| a.iter().filter_map(scalar).collect()),
                ),
                _ => return None,
            };
            let values = values.unwrap_or_else(|| {
                let mut seen = std::collections::HashSet::new();
                variants.iter().filter_map(|v| v.options.get(i)).filter(|v| seen.insert(*v)).cloned().collect()
            });
            Some(ProductOption { name, values })
        })
        .collect();
    let default_only = matches!(options.as_slice(), [o] if o.name.trim() == "Title"
        && o.values.iter().all(|v| v.trim() == "Default Title"));
    if default_only { Vec::new() } else { options }
}

/// The variants of a product without options lose their `Default Title` value.
fn without_default_title(mut variants: Vec<Variant>) -> Vec<Variant> {
    for v in &mut variants {
        v.options.retain(|o| o.trim() != "Default Title");
    }
    variants
}

/// A variant's `featured_image` (matched to the gallery by image id, else by `src`) shows that variant.
/// Repeated ids are left for [`tidy`] to drop.
fn tag_featured_images(variants: &[Value], images: &mut [(ListedImage, Option<u64>)]) {
    use std::collections::HashMap;
    let by_id: HashMap<u64, usize> = images.iter().enumerate().filter_map(|(i, (_, id))| Some(((*id)?, i))).collect();
    let by_src: HashMap<String, usize> = images.iter().enumerate().map(|(i, (im, _))| (im.src.clone(), i)).collect();
    for v in variants.iter().filter_map(Value::as_object) {
        let (Some(variant), Some(Value::Object(featured))) = (id(v.get("id")), v.get("featured_image")) else {
            continue;
        };
        let src = featured.get("src").and_then(Value::as_str).map(strip_controls);
        let at =
            id(featured.get("id")).and_then(|i| by_id.get(&i)).or_else(|| src.and_then(|s| by_src.get(&s))).copied();
        if let Some(at) = at {
            images[at].0.variant_ids.push(variant);
        }
    }
}

/// The gallery in position order, each image with the store's id for it; entries without a `src` are skipped.
fn parse_images(handle: &str, items: &[Value]) -> Vec<(ListedImage, Option<u64>)> {
    let mut images: Vec<(ListedImage, Option<u64>)> = items
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
            let image = ListedImage {
                src,
                alt: obj.and_then(|o| text(o, "alt")),
                position: number("position").filter(|p| *p > 0).unwrap_or(default_position),
                width: number("width").filter(|w| *w > 0),
                height: number("height").filter(|h| *h > 0),
                variant_ids: obj
                    .and_then(|o| o.get("variant_ids"))
                    .and_then(Value::as_array)
                    .map(|ids| ids.iter().filter_map(|i| id(Some(i))).collect())
                    .unwrap_or_default(),
            };
            Some((image, id(obj.and_then(|o| o.get("id")))))
        })
        .collect();
    images.sort_by_key(|(im, _)| im.position); // stable: equal positions keep listing order
    images
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::storefront::text::{MAX_OPTION_CHARS, MAX_OPTION_VALUES, MAX_OPTIONS, MAX_VARIANTS};
    use serde_json::json;

    fn listings(text: &[u8]) -> Vec<ProductListing> {
        parse_catalog(text).unwrap().into_iter().map(Result::unwrap).collect()
    }

    fn one(product: Value) -> ProductListing {
        listings(json!({ "products": [product] }).to_string().as_bytes()).remove(0)
    }

    fn option(name: &str, values: &[&str]) -> ProductOption {
        ProductOption { name: name.into(), values: values.iter().map(|v| v.to_string()).collect() }
    }

    #[test]
    fn the_sample_store_has_its_options_variants_and_colour_photos() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/store/products.json");
        let all = listings(&std::fs::read(path).unwrap());
        let hoodie = &all[0];
        assert_eq!(hoodie.handle.as_str(), "pullover-hoodie");
        assert_eq!(hoodie.options, [option("Color", &["Red", "Black"])]);
        let variants: Vec<_> = hoodie.variants.iter().map(|v| (v.id, v.title.as_str(), v.options.clone())).collect();
        assert_eq!(variants, [(1001001, "Red", vec!["Red".to_string()]), (1001002, "Black", vec!["Black".into()])]);
        assert_eq!(hoodie.variants[0].price.as_deref(), Some("59.00"));
        let ids: Vec<_> = hoodie.images.iter().map(|i| (i.src.as_str(), i.variant_ids.clone())).collect();
        assert_eq!(
            ids,
            [
                ("photos/hoodie-red-front-flat.jpg", vec![1001001]),
                ("photos/hoodie-red-worn.jpg", vec![]),
                ("photos/hoodie-black-front-flat.jpg", vec![1001002]),
            ]
        );
        assert!(hoodie.notes.is_empty(), "{:?}", hoodie.notes);
        let sneakers = &all[1];
        assert_eq!(sneakers.options, [option("Size", &["38", "40", "42", "44"])]);
        assert_eq!(sneakers.variants.len(), 4);
        assert!(all.iter().all(|p| !p.variants.is_empty() && !p.options.is_empty()));
    }

    #[test]
    fn a_product_without_options_lists_no_default_title() {
        let page1 = include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/storefronts/shopify_storefront_page1.json"
        ));
        let all = listings(page1);
        let shirt = &all[0];
        assert_eq!(shirt.options, [option("Color", &["Sand", "Navy"]), option("Size", &["M"])]);
        assert_eq!(shirt.variants[1].title, "Navy / M");
        assert_eq!(shirt.variants[1].options, ["Navy", "M"]);
        let dress = &all[1];
        assert!(dress.options.is_empty(), "{:?}", dress.options);
        assert_eq!(dress.variants.len(), 1);
        assert!(dress.variants[0].options.is_empty());
        assert_eq!(dress.variants[0].price.as_deref(), Some("129.90"));
    }

    #[test]
    fn bare_option_names_take_their_values_from_the_variants() {
        // `/products/<handle>.json` as the Shopify Python API's fixture has it: `options: [{"name": "Title"}]`.
        let product =
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/storefronts/shopify_product.json"));
        let nano = &listings(product)[0];
        assert_eq!(nano.options, [option("Title", &["Pink", "Red"])]);
        let p = one(json!({"title": "Tee", "options": ["Size"], "variants": [
            {"id": "7", "options": ["S"], "price": 10}, {"id": 8, "options": ["M"]}, {"id": 9, "options": ["S"]}]}));
        assert_eq!(p.options, [option("Size", &["S", "M"])]);
        assert_eq!(
            p.variants.iter().map(|v| (v.id, v.title.as_str())).collect::<Vec<_>>(),
            [(7, "S"), (8, "M"), (9, "S")]
        );
        assert_eq!(p.variants[0].price.as_deref(), Some("10"));
    }

    #[test]
    fn a_variants_featured_image_marks_that_photo() {
        let p = one(json!({"title": "Tee", "handle": "tee",
            "options": [{"name": "Colour", "values": ["Red", "Blue"]}],
            "variants": [
                {"id": 1, "option1": "Red", "featured_image": {"id": 11, "src": "b.jpg"}},
                {"id": 2, "option1": "Blue", "featured_image": {"id": 99, "src": "c.jpg"}},
                {"id": 3, "option1": "Blue", "featured_image": {"src": "zzz.jpg"}},
                {"id": 4, "option1": "Blue", "featured_image": null},
                {"title": "no id", "option1": "Blue"}],
            "images": [{"id": 10, "src": "a.jpg", "variant_ids": [2]}, {"id": 11, "src": "b.jpg", "variant_ids": [1]},
                       {"id": 12, "src": "c.jpg"}]}));
        let ids: Vec<_> = p.images.iter().map(|i| i.variant_ids.clone()).collect();
        assert_eq!(ids, [vec![2], vec![1], vec![2]], "by id (11, once), else by src (c.jpg); unknown ones ignored");
        assert_eq!(p.variants.len(), 4, "a variant without an id is no variant");
    }

    /// Hostile catalog data is cut to its caps, cleaned of control characters, and never panics; each
    /// cut is a note.
    #[test]
    fn options_and_variants_are_capped_and_cleaned() {
        let many_values: Vec<String> = (0..500).map(|i| format!("V{}\u{1b}[31m\0", i % 300)).collect();
        let mut options: Vec<Value> = vec![
            json!({"name": "Size\u{7}", "values": many_values}),
            json!({"name": " \u{0}", "values": ["lost"]}),
            json!({"name": 5, "values": [1, 2.5, null, true]}),
        ];
        options.extend((1..20).map(|i| json!({"name": format!("Option {i}"), "values": ["x", "", " ", "x", "y"]})));
        let mut variants: Vec<Value> = (0..1000)
            .map(|i| json!({"id": i % 600, "title": "t".repeat(1000), "option1": "x".repeat(10_000), "price": "\u{0}9.99"}))
            .collect();
        variants.push(json!({"id": -1}));
        variants.push(json!({"id": "abc"}));
        let ids: Vec<u64> = (0..5000).map(|i| i % 400).collect();
        let p = one(json!({"title": "Chaos", "handle": "chaos", "options": options, "variants": variants,
            "images": [{"src": "a.jpg", "variant_ids": ids}]}));
        assert_eq!(p.options.len(), MAX_OPTIONS);
        assert_eq!(p.options[0].name, "Size");
        assert_eq!(p.options[0].values.len(), MAX_OPTION_VALUES);
        assert_eq!(p.options[0].values[..3], ["V0", "V1", "V2"]);
        assert_eq!((p.options[1].name.as_str(), &p.options[1].values[..]), ("5", &["1".to_string(), "2.5".into()][..]));
        assert_eq!(p.options[2].values, ["x", "y"], "blank and repeated values dropped");
        assert_eq!(p.variants.len(), MAX_VARIANTS);
        let v = &p.variants[0];
        assert!(v.title.chars().count() <= 300 && v.options[0].chars().count() <= MAX_OPTION_CHARS, "{v:?}");
        assert_eq!(v.price.as_deref(), Some("9.99"));
        assert_eq!(p.images[0].variant_ids.len(), MAX_VARIANTS);
        assert_eq!(p.images[0].variant_ids[..3], [0, 1, 2]);
        assert_eq!(
            p.notes,
            [
                "kept the first 100 of the 500 values of option \"Size\"",
                "kept 10 of 21 options (the first 10)",
                "dropped 1 option(s) without a name",
                "kept the first 250 of 1000 variants",
                "option or variant text was cut to 100 characters (titles to 300)",
                "1 image(s) named more than 250 variants; the first 250 were kept",
            ]
        );
    }
}
