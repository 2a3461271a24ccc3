//! Store text helpers: HTML descriptions to plain text, entities decoded, handles slugged from titles, and
//! every listing tidied ([`tidy`]): control characters and terminal escape sequences stripped from all
//! store text, over-long copy cut at a documented limit with a note.

use crate::ProductListing;
use std::collections::HashSet;

/// The longest title kept, in characters (a longer one is cut, with a note).
pub const MAX_TITLE_CHARS: usize = 300;
/// The longest description kept, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 5_000;
/// The longest vendor, product type, alt text or variant title kept, in characters.
pub const MAX_SHORT_CHARS: usize = 300;
/// The most options (colour, size, ...) a product keeps: Shopify allows 3, schema.org and WooCommerce more.
pub const MAX_OPTIONS: usize = 10;
/// The most values one option keeps.
pub const MAX_OPTION_VALUES: usize = 100;
/// The most variants a product keeps (Shopify's own limit was 100 and is now 2,048; a reel needs a few).
pub const MAX_VARIANTS: usize = 250;
/// The longest option name, option value or price kept, in characters.
pub const MAX_OPTION_CHARS: usize = 100;

/// A listing as the sources hand it on: every text field without control characters (a NUL fails the
/// voice, an escape sequence rewrites the operator's terminal), bidirectional overrides or escape
/// sequences, whitespace collapsed, and the copy cut to its limit (a 100,000-character title fails the
/// voice), each cut said in `notes`. Options and variants are tidied and capped too ([`tidy_variants`]).
pub fn tidy(mut listing: ProductListing) -> ProductListing {
    tidy_variants(&mut listing);
    let mut cut = |what: &str, text: &mut String, max: usize| {
        let clean = strip_controls(text);
        let chars = clean.chars().count();
        *text = if chars > max {
            listing.notes.push(format!("the {what} was cut to {max} characters (it had {chars})"));
            shorten(&clean, max)
        } else {
            clean
        };
    };
    cut("title", &mut listing.title, MAX_TITLE_CHARS);
    cut("description", &mut listing.description, MAX_DESCRIPTION_CHARS);
    for (what, field) in [("vendor", &mut listing.vendor), ("product type", &mut listing.product_type)] {
        if let Some(text) = field {
            cut(what, text, MAX_SHORT_CHARS);
            if text.is_empty() {
                *field = None;
            }
        }
    }
    for text in [&mut listing.price, &mut listing.currency].into_iter().flatten() {
        *text = strip_controls(text);
    }
    for image in &mut listing.images {
        image.src = strip_controls(&image.src);
        if let Some(alt) = &mut image.alt {
            *alt = shorten(&strip_controls(alt), MAX_SHORT_CHARS);
        }
        if image.alt.as_deref().is_some_and(str::is_empty) {
            image.alt = None;
        }
    }
    listing
}

/// Options and variants as untrusted store text: names and values without control characters and cut
/// to [`MAX_OPTION_CHARS`], blank and repeated values dropped, at most [`MAX_OPTIONS`] options of
/// [`MAX_OPTION_VALUES`] values and [`MAX_VARIANTS`] variants (the first ones, in the store's order), a
/// variant id listed twice kept once, and each image's variant ids deduplicated and capped alike. What
/// was cut or dropped is said in `notes`.
pub fn tidy_variants(listing: &mut ProductListing) {
    let notes = &mut listing.notes;
    let mut long_text = false;
    let mut clean = |text: &str, max: usize| {
        let text = strip_controls(text);
        if text.chars().count() > max {
            long_text = true;
            shorten(&text, max)
        } else {
            text
        }
    };
    let listed = listing.options.len();
    let mut unnamed = 0;
    let mut options = Vec::with_capacity(listed.min(MAX_OPTIONS));
    for option in std::mem::take(&mut listing.options) {
        let name = clean(&option.name, MAX_OPTION_CHARS);
        if name.is_empty() {
            unnamed += 1;
            continue;
        }
        if options.len() == MAX_OPTIONS {
            notes.push(format!("kept {MAX_OPTIONS} of {} options (the first {MAX_OPTIONS})", listed - unnamed));
            break;
        }
        let mut values: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        let given = option.values.len();
        for value in &option.values {
            let value = clean(value, MAX_OPTION_CHARS);
            if !value.is_empty() && seen.insert(value.clone()) {
                if values.len() == MAX_OPTION_VALUES {
                    notes.push(format!("kept the first {MAX_OPTION_VALUES} of the {given} values of option {name:?}"));
                    break;
                }
                values.push(value);
            }
        }
        options.push(crate::ProductOption { name, values });
    }
    if unnamed > 0 {
        notes.push(format!("dropped {unnamed} option(s) without a name"));
    }
    listing.options = options;

    let listed = listing.variants.len();
    let mut seen = HashSet::new();
    let mut twice = 0;
    let mut variants = Vec::with_capacity(listed.min(MAX_VARIANTS));
    for mut variant in std::mem::take(&mut listing.variants) {
        if !seen.insert(variant.id) {
            twice += 1;
            continue;
        }
        if variants.len() == MAX_VARIANTS {
            notes.push(format!("kept the first {MAX_VARIANTS} of {listed} variants"));
            break;
        }
        variant.title = clean(&variant.title, MAX_SHORT_CHARS);
        variant.options.truncate(MAX_OPTIONS);
        for value in &mut variant.options {
            *value = clean(value, MAX_OPTION_CHARS);
        }
        variant.price = variant.price.as_deref().map(|p| clean(p, MAX_OPTION_CHARS)).filter(|p| !p.is_empty());
        variants.push(variant);
    }
    if twice > 0 {
        notes.push(format!("dropped {twice} variant(s) whose id was listed before"));
    }
    listing.variants = variants;
    if long_text {
        notes.push(format!(
            "option or variant text was cut to {MAX_OPTION_CHARS} characters (titles to {MAX_SHORT_CHARS})"
        ));
    }

    let mut capped = 0;
    for image in &mut listing.images {
        let mut ids = Vec::with_capacity(image.variant_ids.len().min(MAX_VARIANTS));
        let mut seen = HashSet::new();
        for id in image.variant_ids.drain(..) {
            if seen.insert(id) {
                if ids.len() == MAX_VARIANTS {
                    capped += 1;
                    break;
                }
                ids.push(id);
            }
        }
        image.variant_ids = ids;
    }
    if capped > 0 {
        notes.push(format!(
            "{capped} image(s) named more than {MAX_VARIANTS} variants; the first {MAX_VARIANTS} were kept"
        ));
    }
}

/// `text` without control characters (C0, DEL, C1), bidirectional controls or terminal escape sequences
/// (`ESC [ … final`, `ESC ] … BEL`), whitespace runs collapsed to one space and trimmed.
pub fn strip_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            match chars.peek() {
                // CSI: parameters and intermediates, then one final byte in @..~.
                Some('[') => {
                    chars.next();
                    for n in chars.by_ref() {
                        if ('@'..='~').contains(&n) {
                            break;
                        }
                    }
                }
                // OSC: up to BEL or ST (ESC \).
                Some(']') => {
                    chars.next();
                    while let Some(n) = chars.next() {
                        if n == '\u{7}' || (n == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                            break;
                        }
                    }
                }
                _ => {
                    chars.next();
                }
            }
            continue;
        }
        if c.is_whitespace() {
            if !out.ends_with(' ') {
                out.push(' ');
            }
        } else if !c.is_control() && !crate::reorders_text(c) {
            out.push(c);
        }
    }
    out.trim().to_string()
}

/// At most `max` characters of `text`, cut at a word boundary when one is near, ending in "…".
fn shorten(text: &str, max: usize) -> String {
    let Some((at, _)) = text.char_indices().nth(max.saturating_sub(1)) else { return text.to_string() };
    let head = &text[..at];
    let head = match head.rfind(' ') {
        Some(space) if space >= at * 4 / 5 => &head[..space],
        _ => head,
    };
    format!("{}…", head.trim_end())
}

/// A handle from a title: lowercase ASCII words joined by `-`, common accents folded.
pub(crate) fn slugify(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars().flat_map(fold_accent) {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') && c != '\'' && c != '’' {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    slug[..slug.len().min(200)].trim_end_matches('-').to_string()
}

fn fold_accent(c: char) -> impl Iterator<Item = char> {
    let s: &str = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => "a",
        'ç' | 'Ç' => "c",
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => "e",
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => "i",
        'ñ' | 'Ñ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => "o",
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => "u",
        'ý' | 'ÿ' | 'Ý' => "y",
        'ß' => "ss",
        'æ' | 'Æ' => "ae",
        'œ' | 'Œ' => "oe",
        '&' => "and",
        _ => "",
    };
    let mapped = if s.is_empty() { None } else { Some(s.chars()) };
    let own = if s.is_empty() { Some(c) } else { None };
    mapped.into_iter().flatten().chain(own)
}

/// Plain text from a store's HTML description: tags stripped (script and style with their
/// content), entities decoded, whitespace collapsed. A double-escaped body (`&lt;p&gt;`) is
/// unescaped once first.
pub fn html_to_text(html: &str) -> String {
    let unescaped;
    let html = if !html.contains('<') && html.contains("&lt;") {
        unescaped = decode_entities(html);
        unescaped.as_str()
    } else {
        html
    };
    let stripped = strip_tags(html);
    decode_entities(&stripped).split_whitespace().collect::<Vec<_>>().join(" ")
}

fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        out.push_str(&rest[..at]);
        let tag = &rest[at + 1..];
        let is_tag = tag.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '!' || c == '?');
        if !is_tag {
            out.push('<');
            rest = tag;
            continue;
        }
        if tag.starts_with("!--") {
            rest = tag.find("-->").map(|e| &tag[e + 3..]).unwrap_or("");
            continue;
        }
        let Some(end) = tag.find('>') else {
            rest = ""; // an unclosed tag at the end: drop it
            break;
        };
        let name: String = tag.trim_start_matches('/').chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        let name = name.to_ascii_lowercase();
        rest = &tag[end + 1..];
        if (name == "script" || name == "style") && !tag.starts_with('/') {
            let close = format!("</{name}");
            rest = rest.to_ascii_lowercase().find(&close).map(|e| &rest[e..]).unwrap_or("");
            continue;
        }
        const BLOCKS: &[&str] = &[
            "br",
            "p",
            "div",
            "li",
            "ul",
            "ol",
            "tr",
            "td",
            "th",
            "table",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "section",
            "article",
            "blockquote",
            "hr",
            "dt",
            "dd",
        ];
        if BLOCKS.contains(&name.as_str()) {
            out.push(' ');
        }
    }
    out.push_str(rest);
    out
}

/// Decodes the named entities stores use most, and every numeric one; unknown ones stay as written.
pub(crate) fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let end = after.find(';').filter(|&e| e > 0 && e <= 10);
        let decoded = end.and_then(|e| entity(&after[..e]));
        match (end, decoded) {
            (Some(e), Some(c)) => {
                out.push(c);
                rest = &after[e + 1..];
            }
            _ => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code).filter(|c| *c != '\0');
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "laquo" => '«',
        "raquo" => '»',
        "bull" => '•',
        "middot" => '·',
        "deg" => '°',
        "times" => '×',
        "trade" => '™',
        "reg" => '®',
        "copy" => '©',
        "euro" => '€',
        "pound" => '£',
        "yen" => '¥',
        "cent" => '¢',
        "frac12" => '½',
        "frac14" => '¼',
        "frac34" => '¾',
        "eacute" => 'é',
        "egrave" => 'è',
        "ecirc" => 'ê',
        "aacute" => 'á',
        "agrave" => 'à',
        "acirc" => 'â',
        "auml" => 'ä',
        "ouml" => 'ö',
        "uuml" => 'ü',
        "szlig" => 'ß',
        "ntilde" => 'ñ',
        "ccedil" => 'ç',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_becomes_plain_text() {
        let cases = [
            ("<p>Hello <strong>bold</strong>er world</p><p>Next</p>", "Hello bolder world Next"),
            ("Line one<br/>line two<br>three", "Line one line two three"),
            ("&lt;p&gt;Double &amp;amp; escaped&lt;/p&gt;&lt;p&gt;Yes&lt;/p&gt;", "Double & escaped Yes"),
            ("<script>alert(1)</script><style>p{}</style>Safe", "Safe"),
            (
                "100&#37; cotton &#x2014; size&nbsp;M &unknown; 3 < 4 &amp; 5 > 2",
                "100% cotton — size M &unknown; 3 < 4 & 5 > 2",
            ),
            ("<!-- hidden -->\n\n  Spaced\t\tout  ", "Spaced out"),
            ("<ul><li>One</li><li>Two</li></ul>", "One Two"),
            ("", ""),
        ];
        for (html, want) in cases {
            assert_eq!(html_to_text(html), want, "{html:?}");
        }
    }

    #[test]
    fn store_text_loses_control_characters_and_escape_sequences() {
        assert_eq!(strip_controls("Tee\0 with\u{7} a\tNUL\r\n"), "Tee with a NUL");
        assert_eq!(strip_controls("\u{1b}[31mred\u{1b}[0m \u{1b}]0;pwned\u{7}title"), "red title");
        assert_eq!(strip_controls("photos/\u{1b}[2Jx.jpg"), "photos/x.jpg");
        assert_eq!(strip_controls("abc\u{202e}gpj.exe \u{85}next\u{9f}"), "abcgpj.exe next");
        assert_eq!(strip_controls("Café Crème — 日本"), "Café Crème — 日本");
    }

    #[test]
    fn over_long_copy_is_cut_at_its_limit_with_a_note() {
        use crate::{Handle, ListedImage};
        let listing = ProductListing {
            handle: Handle::parse("tee").unwrap(),
            title: "word ".repeat(20_000) + "\0",
            description: format!("Soft\0 cotton. {}", "x".repeat(10_000)),
            vendor: Some("\u{1b}[1mAcme".into()),
            product_type: Some("\0".into()),
            price: None,
            currency: None,
            options: Vec::new(),
            variants: Vec::new(),
            images: vec![ListedImage {
                src: "photos/\u{1b}[31ma.jpg".into(),
                alt: Some("\u{7}".into()),
                position: 1,
                width: None,
                height: None,
                variant_ids: vec![],
            }],
            page: None,
            notes: vec![],
        };
        let t = tidy(listing);
        assert!(t.title.chars().count() <= MAX_TITLE_CHARS && t.title.ends_with("word…"), "{}", t.title);
        assert!(t.description.chars().count() <= MAX_DESCRIPTION_CHARS && t.description.starts_with("Soft cotton."));
        assert_eq!(t.vendor.as_deref(), Some("Acme"));
        assert_eq!(t.product_type, None);
        assert_eq!(t.images[0].src, "photos/a.jpg");
        assert_eq!(t.images[0].alt, None);
        assert_eq!(
            t.notes,
            [
                "the title was cut to 300 characters (it had 99999)",
                "the description was cut to 5000 characters (it had 10013)"
            ]
        );
    }

    #[test]
    fn slugs_come_from_titles() {
        assert_eq!(slugify("Pullover Hoodie"), "pullover-hoodie");
        assert_eq!(slugify("  Kid's Tee (2-Pack) "), "kids-tee-2-pack");
        assert_eq!(slugify("Ballon & Straße"), "ballon-and-strasse");
        assert_eq!(slugify("日本"), "");
    }

    #[test]
    fn slugs_of_unicode_titles_make_reel_ids_that_round_trip() {
        let titles = ["Ünïcödé — Tee", "日本語 T シャツ", "Crème brûlée -- mug", "Ça va?! -", "9 -- 9", "-x-"];
        for (i, title) in titles.iter().enumerate() {
            let slug = slugify(title);
            crate::domain::ids::tests::assert_reel_id_round_trips(&slug, i);
        }
        let long = slugify(&format!("{} ü", "ab-".repeat(100)));
        assert_eq!(long.len(), 200);
        crate::domain::ids::tests::assert_reel_id_round_trips(&long, 0);
    }
}
