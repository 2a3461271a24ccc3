//! Store text helpers: HTML descriptions to plain text, entities decoded, handles slugged from titles.

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
