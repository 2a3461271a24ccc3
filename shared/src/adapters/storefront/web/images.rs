//! Gallery clean-up shared by the web sources: absolute http(s) URLs, the largest Shopify rendition,
//! near-duplicates merged, and money written one way.

use crate::ListedImage;
use serde_json::Value;
use std::collections::HashMap;
use url::Url;

/// Query parameters that pick a size, crop, format or version of one image rather than another image.
const RENDITION_PARAMS: &[&str] = &[
    "v",
    "width",
    "height",
    "w",
    "h",
    "crop",
    "fit",
    "resize",
    "quality",
    "q",
    "format",
    "fm",
    "auto",
    "dpr",
    "size",
    "ver",
    "version",
    "ssl",
    "pad_color",
];

/// Resolves every `src` against `page`, asks Shopify's CDN for the full-size rendition, merges
/// near-duplicates (the first keeps its place; a larger duplicate lends its URL and size; one pass with an
/// index, so a 50,000-image listing stays linear) and returns the gallery in position order. A `src` that is
/// no http(s) URL (`file:`, `ftp:`, `data:`, …) is kept as written (shortened) so intake can say it was
/// refused, instead of the product seeming to have no images; blank ones are dropped.
pub fn finish(product: &str, images: Vec<ListedImage>, page: &Url) -> Vec<ListedImage> {
    let mut out: Vec<ListedImage> = Vec::with_capacity(images.len());
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(images.len());
    for mut image in images {
        let Some(url) = absolute(&image.src, page) else {
            if !image.src.trim().is_empty() {
                tracing::debug!(product, src = %shorten(&image.src), "A gallery image that is not an http(s) URL.");
                image.src = shorten(image.src.trim());
                out.push(image);
            }
            continue;
        };
        let url = largest_rendition(url);
        let key = identity(&url);
        image.src = url.to_string();
        match seen.get(&key) {
            Some(&at) => {
                let kept = &mut out[at];
                if image.width.unwrap_or(0) > kept.width.unwrap_or(0) {
                    kept.src = image.src;
                    kept.width = image.width;
                    kept.height = image.height;
                }
                if kept.alt.is_none() {
                    kept.alt = image.alt;
                }
                for id in image.variant_ids {
                    if !kept.variant_ids.contains(&id) {
                        kept.variant_ids.push(id);
                    }
                }
            }
            None => {
                seen.insert(key, out.len());
                out.push(image);
            }
        }
    }
    out.sort_by_key(|i| i.position);
    out
}

/// Why `src` is not fetched, when it is no http(s) URL: its scheme named (`file:`, `ftp:`, inline `data:`).
pub fn refusal(src: &str) -> String {
    let src = src.trim();
    let scheme = src
        .split_once(':')
        .map(|(s, _)| s)
        .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')));
    match scheme.map(str::to_ascii_lowercase) {
        Some(s) if s == "data" => "refused: an inline data: image (only http and https URLs are fetched)".into(),
        Some(s) if s == "http" || s == "https" => "refused: not a usable http(s) URL (no host)".into(),
        Some(s) => format!("refused: the {s}: scheme (only http and https URLs are fetched)"),
        None => "refused: not an http(s) image URL".into(),
    }
}

/// At most 120 characters of a `src`, for messages and queue messages (a `data:` URL may be megabytes).
fn shorten(src: &str) -> String {
    match src.char_indices().nth(120) {
        Some((at, _)) => format!("{}…", &src[..at]),
        None => src.to_string(),
    }
}

/// `src` made absolute against `page` (relative and protocol-relative URLs), if it is http(s).
pub fn absolute(src: &str, page: &Url) -> Option<Url> {
    let src = src.trim();
    if src.is_empty() || src.starts_with("data:") {
        return None;
    }
    let url = page.join(src).ok()?;
    matches!(url.scheme(), "http" | "https").then_some(url).filter(|u| u.host_str().is_some())
}

/// Whether `url` is served by Shopify's image CDN (which sizes images by URL).
pub fn is_shopify_cdn(url: &Url) -> bool {
    let host = url.host_str().unwrap_or("");
    host == "cdn.shopify.com" || host.ends_with(".shopifycdn.net") || host == "cdn.shopifycdn.net" || {
        let path = url.path();
        path.starts_with("/cdn/shop/") || path.starts_with("/s/files/")
    }
}

/// For Shopify CDN URLs, the URL of the original upload: no `_800x`-style size suffix, no `width=`/`height=`/
/// `crop=` parameters (the `v=` version stays, it names the upload). Other URLs are returned as they are.
pub fn largest_rendition(mut url: Url) -> Url {
    if !is_shopify_cdn(&url) {
        return url;
    }
    let path = url.path().to_string();
    if let Some((dir, file)) = path.rsplit_once('/') {
        let stripped = strip_shopify_size(file);
        if stripped != file {
            url.set_path(&format!("{dir}/{stripped}"));
        }
    }
    let sizing = |k: &str| matches!(k, "width" | "height" | "crop" | "pad_color" | "format");
    let kept: Vec<(String, String)> =
        url.query_pairs().filter(|(k, _)| !sizing(k)).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    if url.query_pairs().any(|(k, _)| sizing(&k)) {
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    url
}

/// `name_800x600_crop_center@2x.jpg` → `name.jpg` (also `_800x`, `_x600`).
fn strip_shopify_size(file: &str) -> String {
    let Some((stem, ext)) = file.rsplit_once('.') else { return file.to_string() };
    let mut stem = stem;
    if let Some(s) = stem.strip_suffix("@2x").or_else(|| stem.strip_suffix("@3x")) {
        stem = s;
    }
    for side in ["top", "center", "bottom", "left", "right"] {
        if let Some(s) = stem.strip_suffix(&format!("_crop_{side}")) {
            stem = s;
        }
    }
    if let Some(at) = stem.rfind('_') {
        let size = &stem[at + 1..];
        if let Some((w, h)) = size.split_once('x') {
            let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
            if (!w.is_empty() || !h.is_empty()) && digits(w) && digits(h) && at > 0 {
                stem = &stem[..at];
            }
        }
    }
    format!("{stem}.{ext}")
}

/// What makes two image URLs the same photo: host and path without size markers (Shopify `_800x`,
/// WordPress `-300x300`, `-scaled`), and the query without rendition parameters; the scheme does not count.
pub fn identity(url: &Url) -> String {
    let host = url.host_str().unwrap_or("").trim_start_matches("www.");
    let path = url.path();
    let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
    let mut file = if is_shopify_cdn(url) { strip_shopify_size(file) } else { file.to_string() };
    if let Some((stem, ext)) = file.clone().rsplit_once('.') {
        let mut stem = stem.strip_suffix("-scaled").unwrap_or(stem);
        if let Some(at) = stem.rfind('-')
            && let Some((w, h)) = stem[at + 1..].split_once('x')
            && w.len() >= 2
            && h.len() >= 2
            && w.bytes().chain(h.bytes()).all(|b| b.is_ascii_digit())
        {
            stem = &stem[..at];
        }
        file = format!("{stem}.{ext}");
    }
    let mut query: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !RENDITION_PARAMS.contains(&k.as_ref()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    query.sort();
    let query: Vec<String> = query.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{host}{dir}/{file}?{}", query.join("&"))
}

/// A price as a plain decimal string ("59.00", "1299.5" → "1299.50"), from what a store wrote: digits with
/// an optional decimal point, thousands separators and currency signs tolerated. `None` if it is not a price.
pub fn decimal(raw: &str) -> Option<String> {
    let s: String = raw.trim().chars().filter(|c| c.is_ascii_digit() || matches!(c, '.' | ',')).collect();
    if s.is_empty() || raw.trim().starts_with('-') {
        return None;
    }
    let s = match (s.rfind('.'), s.rfind(',')) {
        (Some(_), Some(_)) => {
            // Both: the last one is the decimal mark.
            let (dot, comma) = (s.rfind('.').unwrap(), s.rfind(',').unwrap());
            if dot > comma { s.replace(',', "") } else { s.replace('.', "").replace(',', ".") }
        }
        (None, Some(c)) if s.len() - c - 1 != 3 => s.replacen(',', ".", 1).replace(',', ""),
        (None, Some(_)) => s.replace(',', ""),
        _ => s,
    };
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    if int.is_empty() && frac.is_empty() || frac.contains('.') {
        return None;
    }
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    Some(match frac.len() {
        0 => int.to_string(),
        1 => format!("{int}.{frac}0"),
        _ => format!("{int}.{frac}"),
    })
}

/// An amount in minor units ("17995" with `unit` 2) as a decimal string ("179.95").
pub fn minor_units(raw: &str, unit: u32) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) || unit > 6 {
        return None;
    }
    let unit = unit as usize;
    let padded = format!("{raw:0>width$}", width = unit + 1);
    let (int, frac) = padded.split_at(padded.len() - unit);
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    Some(if unit == 0 { int.to_string() } else { format!("{int}.{frac}") })
}

/// A JSON price (a number or a string) as a decimal string.
pub fn json_decimal(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => decimal(s),
        Value::Number(n) => decimal(&n.to_string()),
        _ => None,
    }
}

/// The lowest of several decimal strings.
pub fn lowest(prices: impl IntoIterator<Item = String>) -> Option<String> {
    prices
        .into_iter()
        .filter_map(|p| p.parse::<f64>().ok().filter(|f| f.is_finite()).map(|f| (f, p)))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, p)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(src: &str, position: u32, width: Option<u32>) -> ListedImage {
        ListedImage { src: src.into(), alt: None, position, width, height: None, variant_ids: vec![] }
    }

    #[test]
    fn relative_and_protocol_relative_urls_resolve_against_the_page() {
        let page = Url::parse("https://shop.example/products/tee?variant=1").unwrap();
        let got = finish(
            "tee",
            vec![
                img("//shop.example/cdn/shop/files/a.jpg?v=1", 1, None),
                img("/images/b.jpg", 2, None),
                img("c.jpg", 3, None),
                img("data:image/png;base64,AAAA", 4, None),
                img("ftp://shop.example/d.jpg", 5, None),
                img("  ", 6, None),
            ],
            &page,
        );
        let srcs: Vec<_> = got.iter().map(|i| i.src.as_str()).collect();
        assert_eq!(
            srcs,
            [
                "https://shop.example/cdn/shop/files/a.jpg?v=1",
                "https://shop.example/images/b.jpg",
                "https://shop.example/products/c.jpg",
                "data:image/png;base64,AAAA",
                "ftp://shop.example/d.jpg",
            ],
            "refused ones are kept to be named; blank ones dropped"
        );
        assert_eq!(refusal(srcs[3]), "refused: an inline data: image (only http and https URLs are fetched)");
        assert_eq!(refusal(srcs[4]), "refused: the ftp: scheme (only http and https URLs are fetched)");
        assert_eq!(refusal("FILE:///etc/passwd"), "refused: the file: scheme (only http and https URLs are fetched)");
        let long = format!("data:image/png;base64,{}", "A".repeat(100_000));
        let kept = finish("tee", vec![img(&long, 1, None)], &page);
        assert!(kept[0].src.chars().count() <= 121, "a data: URL is not carried whole");
    }

    #[test]
    fn shopify_urls_ask_for_the_original_upload() {
        let cases = [
            (
                "https://cdn.shopify.com/s/files/1/0001/products/tee_800x.jpg?v=12",
                "https://cdn.shopify.com/s/files/1/0001/products/tee.jpg?v=12",
            ),
            (
                "https://cdn.shopify.com/s/files/1/products/tee_800x600_crop_center@2x.png",
                "https://cdn.shopify.com/s/files/1/products/tee.png",
            ),
            (
                "https://cdn.shopify.com/s/files/1/products/tee_x600.jpg",
                "https://cdn.shopify.com/s/files/1/products/tee.jpg",
            ),
            (
                "https://shop.example/cdn/shop/files/tee.jpg?v=3&width=800",
                "https://shop.example/cdn/shop/files/tee.jpg?v=3",
            ),
            ("https://shop.example/cdn/shop/files/tee.jpg?width=800", "https://shop.example/cdn/shop/files/tee.jpg"),
            // A real file name that merely contains a size-like part stays as it is.
            (
                "https://cdn.shopify.com/s/files/1/products/babys-room_925x_ffcafdc2.jpg",
                "https://cdn.shopify.com/s/files/1/products/babys-room_925x_ffcafdc2.jpg",
            ),
            ("https://other.example/img/tee_800x.jpg?width=800", "https://other.example/img/tee_800x.jpg?width=800"),
        ];
        for (from, want) in cases {
            assert_eq!(largest_rendition(Url::parse(from).unwrap()).as_str(), want, "{from}");
        }
    }

    #[test]
    fn near_identical_urls_are_one_image_and_the_largest_wins() {
        let page = Url::parse("https://shop.example/p/x").unwrap();
        let got = finish(
            "x",
            vec![
                img("https://shop.example/wp-content/uploads/tee-300x300.jpg", 1, Some(300)),
                img("https://shop.example/wp-content/uploads/tee.jpg?ver=2", 2, Some(1200)),
                img("http://shop.example/wp-content/uploads/tee-scaled.jpg", 3, None),
                img("https://cdn.shopify.com/s/files/1/p/a_800x.jpg?v=1", 4, None),
                img("https://cdn.shopify.com/s/files/1/p/a.jpg?v=2", 5, None),
                img("https://shop.example/wp-content/uploads/other.jpg", 6, None),
            ],
            &page,
        );
        let srcs: Vec<_> = got.iter().map(|i| (i.src.as_str(), i.position)).collect();
        assert_eq!(
            srcs,
            [
                ("https://shop.example/wp-content/uploads/tee.jpg?ver=2", 1),
                ("https://cdn.shopify.com/s/files/1/p/a.jpg?v=1", 4),
                ("https://shop.example/wp-content/uploads/other.jpg", 6)
            ]
        );
        assert_eq!(got[0].width, Some(1200));
    }

    #[test]
    fn money_is_normalised() {
        assert_eq!(decimal("2370.00").as_deref(), Some("2370.00"));
        assert_eq!(decimal("59.9").as_deref(), Some("59.90"));
        assert_eq!(decimal("$1,299.00").as_deref(), Some("1299.00"));
        assert_eq!(decimal("12,50 €").as_deref(), Some("12.50"));
        assert_eq!(decimal("1.299,95").as_deref(), Some("1299.95"));
        assert_eq!(decimal("1,299").as_deref(), Some("1299"));
        assert_eq!(decimal("59").as_deref(), Some("59"));
        assert_eq!(decimal("free"), None);
        assert_eq!(decimal("-5"), None);
        assert_eq!(minor_units("17995", 2).as_deref(), Some("179.95"));
        assert_eq!(minor_units("5", 2).as_deref(), Some("0.05"));
        assert_eq!(minor_units("2099", 0).as_deref(), Some("2099"));
        assert_eq!(minor_units("18000", 3).as_deref(), Some("18.000"));
        assert_eq!(minor_units("12.5", 2), None);
        assert_eq!(json_decimal(&serde_json::json!(129.5)).as_deref(), Some("129.50"));
        assert_eq!(lowest(["20.00".to_string(), "9.50".into(), "x".into()]).as_deref(), Some("9.50"));
    }
}
