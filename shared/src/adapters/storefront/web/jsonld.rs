//! Product pages: schema.org JSON-LD `Product` / `ProductGroup`, with OpenGraph as the fallback.
//!
//! The page's tags are found by [`super::markup`]. JSON-LD is parsed leniently: HTML comments, CDATA markers,
//! JavaScript comments, trailing commas and raw control characters inside strings are repaired; anything else
//! broken (unescaped quotes) is reported for the page.

use super::images::{json_decimal, lowest};
use super::markup::{Markup, scan};
use crate::adapters::storefront::text::{html_to_text, slugify};
use crate::{Handle, ListedImage, ProductListing};
use serde_json::{Map, Value};
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
    if let Some(Value::Array(variants)) = p.get("hasVariant") {
        for variant in variants.iter().filter_map(Value::as_object) {
            if let Some(v) = variant.get("image") {
                collect_images(v, &mut images, 0);
            }
            if let Some(v) = variant.get("offers") {
                offers(v, &mut found_offers, 0);
            }
        }
        for (i, image) in images.iter_mut().enumerate() {
            image.position = u32::try_from(i + 1).unwrap_or(u32::MAX);
        }
    }
    if images.is_empty() {
        images = og;
    }
    let currency = found_offers
        .iter()
        .find_map(|(_, c)| c.clone())
        .or_else(|| markup.meta("product:price:currency").map(str::to_string));
    let price = lowest(found_offers.into_iter().map(|(p, _)| p)).or_else(|| og_price(markup));
    Ok(ProductListing {
        options: Vec::new(),
        variants: Vec::new(),
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
