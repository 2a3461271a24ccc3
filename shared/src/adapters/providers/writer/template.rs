//! The offline script writer: one line per shot from the product's own copy, nothing invented.
//!
//! Lines are made only of the copy: the title, the description's own sentences (plain text: any
//! markup that got through is stripped), the materials, fit and details those sentences name, the
//! price with its currency, the size range and the reel's colour. By role: the opening introduces
//! the product and its brand (`brand.name`, else the vendor); the texture shot reads a sentence about
//! material or detail; the reveal one about cut, fit or what the product is; another view a further
//! fact; the call to action is the brand's, else a default in the copy's language (en, fr, de, es,
//! it, pt, nl, ja, zh, ko, ar), else the title alone.
//!
//! **Language.** The template cannot translate: it writes in the copy's language (the request's when
//! the copy is too short to tell). English copy gets short English framing ("Meet the …"); copy in
//! any other language gets only its own sentences, its title and a call to action in that language,
//! never English filler.
//!
//! **Rejections.** When people rejected earlier scripts, the next one is built differently but
//! deterministically: another opening, other sentences of the copy (the pool is rotated by the
//! number of rejections), another call to action.

use crate::adapters::storefront::text::{html_to_text, strip_controls};
use crate::copy::{self, Support, finish, fit, word_count};
use crate::ports::{ProviderError, WriteRequest, Writer};
use crate::{BrandKit, Product, ShotRole};
use async_trait::async_trait;

/// Writes lines only from the product's copy (no claims the copy does not make).
#[derive(Debug, Clone, Copy, Default)]
pub struct TemplateWriter;

#[async_trait]
impl Writer for TemplateWriter {
    fn name(&self) -> &str {
        "template"
    }

    async fn write(&self, request: &WriteRequest<'_>) -> Result<Vec<String>, ProviderError> {
        Ok(write_lines(request))
    }
}

/// The longest word kept from store text: longer runs are URLs, hashes or junk, not speech.
const MAX_WORD_CHARS: usize = 40;
/// Sentences of the description looked at (a 10,000-word description has hundreds).
const MAX_POOL: usize = 60;

/// Calls to action by language, the first one the default.
const CALLS_TO_ACTION: &[(&str, &[&str])] = &[
    ("en", &["Tap to shop.", "Shop it now.", "Tap to make it yours."]),
    ("fr", &["Appuyez pour acheter."]),
    ("de", &["Jetzt antippen und shoppen."]),
    ("es", &["Toca para comprar."]),
    ("it", &["Tocca per acquistare."]),
    ("pt", &["Toque para comprar."]),
    ("nl", &["Tik om te shoppen."]),
    ("ja", &["タップしてチェック。"]),
    ("zh", &["点击购买。"]),
    ("ko", &["탭해서 쇼핑하세요."]),
    ("ar", &["اضغط للتسوق."]),
];

/// Words of a sentence about material, texture or detail.
const TEXTURE_CUES: &[&str] = &[
    "fabric",
    "texture",
    "textured",
    "knit",
    "knitted",
    "woven",
    "weave",
    "stitch",
    "stitching",
    "seam",
    "seams",
    "pocket",
    "pockets",
    "cuff",
    "cuffs",
    "hem",
    "collar",
    "print",
    "printed",
    "logo",
    "embroidered",
    "embroidery",
    "trim",
    "detail",
    "details",
    "button",
    "buttons",
    "zip",
    "zipper",
    "lining",
    "lined",
    "ribbed",
    "rib",
    "sole",
    "piping",
    "graphic",
    "pattern",
    "finish",
    "soft",
    "eyelet",
    "ruffle",
    "ruffled",
    "lace",
    "drawstring",
    "drawstrings",
    "squiggle",
    "chunky",
];
/// Words of a sentence about cut, fit and shape.
const FIT_CUES: &[&str] = &[
    "fit",
    "fitted",
    "slim",
    "relaxed",
    "oversized",
    "loose",
    "regular",
    "cropped",
    "tapered",
    "straight",
    "wide",
    "boxy",
    "slouchy",
    "flared",
    "skinny",
    "tailored",
    "silhouette",
    "length",
    "drape",
    "shape",
    "waist",
    "leg",
    "sleeve",
    "neck",
    "shoulder",
    "tiered",
    "worn",
];
/// Option names that hold sizes.
const SIZE_OPTIONS: &[&str] = &[
    "size",
    "sizes",
    "taille",
    "größe",
    "grösse",
    "talla",
    "taglia",
    "maat",
    "tamanho",
    "サイズ",
    "尺码",
    "尺寸",
    "مقاس",
    "사이즈",
];

/// The lines, pure: one per shot in `request.shots`, each within its brief's `max_words`.
pub fn write_lines(request: &WriteRequest<'_>) -> Vec<String> {
    let sheet = Sheet::of(request);
    let variant = request.rejections.len();
    let middle = request.shots.iter().filter(|s| !matches!(s.role, ShotRole::Opening | ShotRole::CallToAction)).count();
    let mut picker = Picker::new(sheet.pool.len(), variant * middle.max(1));
    let mut fallbacks_used = Vec::new();
    request
        .shots
        .iter()
        .map(|shot| {
            let line = match shot.role {
                ShotRole::Opening => sheet.opening(shot.max_words, variant),
                ShotRole::CallToAction => sheet.call_to_action(request.brand, shot.max_words, variant),
                role => {
                    let cue: &dyn Fn(&str) -> bool = match role {
                        ShotRole::Texture => &|s| sheet.is_texture(s),
                        ShotRole::Reveal => &|s| sheet.is_fit(s),
                        _ => &|_| false,
                    };
                    match picker.pick(&sheet.pool, cue) {
                        Some(line) => line,
                        None => sheet.fallback(role, &mut fallbacks_used),
                    }
                }
            };
            let fitted = fit(&line, shot.max_words);
            if fitted.is_empty() && shot.max_words > 0 { fit(&sheet.title, shot.max_words) } else { fitted }
        })
        .collect()
}

/// What the template knows of the product, cleaned for speech.
struct Sheet {
    title: String,
    brand: Option<String>,
    product_type: Option<String>,
    /// The description's sentences (long ones in clause groups) a line may be, in order.
    pool: Vec<String>,
    /// The language written in: the copy's.
    language: &'static str,
    english: bool,
    sizes: Option<(String, String)>,
    price: Option<String>,
    colour: Option<String>,
    materials: Vec<&'static str>,
}

impl Sheet {
    fn of(request: &WriteRequest<'_>) -> Self {
        let product = request.product;
        let brand =
            request.brand.name.as_deref().or(product.vendor.as_deref()).map(speakable).filter(|b| !b.is_empty());
        let product_type = product.product_type.as_deref().map(speakable).filter(|t| !t.is_empty());
        // No title worth saying: the product type or the brand stands in.
        let title = Some(speakable(&product.title))
            .filter(|t| !t.is_empty())
            .or_else(|| product_type.clone())
            .or_else(|| brand.clone())
            .unwrap_or_default();
        let description = plain(&product.description);
        // The copy's language; the request's when the copy is too short to tell ("Pullover Hoodie").
        let requested = request.language.split(['-', '_']).next().unwrap_or("en").to_ascii_lowercase();
        let requested = CALLS_TO_ACTION.iter().map(|(l, _)| *l).find(|l| *l == requested).unwrap_or("en");
        let language = copy::known_language(&format!("{title} {}", speakable(&description))).unwrap_or(requested);
        let english = language == "en";
        let support = Support::of(product, request.colour);
        let limit = request
            .shots
            .iter()
            .filter(|s| !matches!(s.role, ShotRole::Opening | ShotRole::CallToAction))
            .map(|s| s.max_words)
            .max()
            .unwrap_or(14)
            .max(3);
        let mut pool = Vec::new();
        for sentence in copy::sentences(&description) {
            if pool.len() >= MAX_POOL {
                break;
            }
            // "See https://… for more" reads as nothing once the address is gone.
            if sentence.contains("://") || sentence.contains("www.") {
                continue;
            }
            for piece in pieces(&speakable(&sentence), limit) {
                let said_before = pool.contains(&piece) || same_words(&piece, &title);
                if word_count(&piece) >= 2 && !said_before && !support.names_other_colour(&piece) {
                    pool.push(piece);
                }
            }
        }
        let mut materials = copy::materials_in(&description);
        for m in copy::materials_in(&title) {
            if !materials.contains(&m) {
                materials.push(m);
            }
        }
        Self {
            brand,
            product_type,
            pool,
            language,
            english,
            sizes: sizes_of(product),
            price: price_of(product),
            colour: request.colour.map(spoken_colour).filter(|c| !c.is_empty()),
            materials,
            title,
        }
    }

    fn words(text: &str) -> Vec<String> {
        text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
    }

    fn is_texture(&self, sentence: &str) -> bool {
        !copy::materials_in(sentence).is_empty()
            || Self::words(sentence).iter().any(|w| TEXTURE_CUES.contains(&w.as_str()))
    }

    fn is_fit(&self, sentence: &str) -> bool {
        let words = Self::words(sentence);
        let kind = self.product_type.as_deref().map(Self::words).unwrap_or_default();
        words.iter().any(|w| FIT_CUES.contains(&w.as_str()) || kind.contains(w))
    }

    /// The title without a leading article, for "Meet the …".
    fn bare_title(&self) -> &str {
        let t = self.title.as_str();
        for article in ["The ", "the ", "A ", "An "] {
            if let Some(rest) = t.strip_prefix(article)
                && !rest.trim().is_empty()
            {
                return rest;
            }
        }
        t
    }

    fn opening(&self, max_words: usize, variant: usize) -> String {
        if self.title.is_empty() {
            return self.brand.clone().unwrap_or_default();
        }
        if !self.english {
            let framed = match (self.language, &self.brand) {
                ("ja" | "zh", Some(brand)) => format!("{brand}「{}」", self.title),
                (_, Some(brand)) => format!("{brand}: {}", self.title),
                (_, None) => self.title.clone(),
            };
            return if word_count(&framed) <= max_words { framed } else { self.title.clone() };
        }
        let lead = ["Meet the", "This is the", "Say hello to the"][variant % 3];
        let title = self.bare_title();
        let by = self.brand.as_ref().filter(|b| !same_words(b, title)).map(|b| format!(" by {b}"));
        let colour = self.colour.as_ref().filter(|c| !Self::words(title).contains(&c.to_lowercase()));
        let colour = colour.map(|c| format!(" in {c}"));
        let candidates =
            [(by.as_deref(), colour.as_deref()), (None, colour.as_deref()), (by.as_deref(), None), (None, None)];
        for (by, colour) in candidates {
            let line = format!("{lead} {title}{}{}.", by.unwrap_or_default(), colour.unwrap_or_default());
            if word_count(&line) <= max_words {
                return line;
            }
        }
        // Too short a shot for framing: the title alone (fitted).
        self.title.clone()
    }

    fn call_to_action(&self, brand: &BrandKit, max_words: usize, variant: usize) -> String {
        if let Some(cta) = brand.call_to_action.as_deref().map(speakable).filter(|c| !c.is_empty()) {
            return cta;
        }
        let Some((_, calls)) = CALLS_TO_ACTION.iter().find(|(lang, _)| *lang == self.language) else {
            return self.title.clone();
        };
        let call = calls[variant % calls.len()];
        // The title with it, when both fit ("Pullover Hoodie. Tap to shop.").
        let with_title = format!("{} {call}", finish(&self.title));
        if variant % 2 == 1 && word_count(&with_title) <= max_words && !self.title.is_empty() {
            return with_title;
        }
        call.to_string()
    }

    /// A line for a middle shot when the copy has no sentence left: a fact of the copy, never one
    /// said already, in English framing only for English copy.
    fn fallback(&self, role: ShotRole, used: &mut Vec<&'static str>) -> String {
        let mut facts: Vec<(&'static str, String)> = Vec::new();
        if self.english {
            if let Some(m) = self.materials.first() {
                facts.push(("material", format!("{}, up close.", capitalised(m))));
            }
            if let Some((from, to)) = &self.sizes {
                facts.push(("sizes", format!("Sizes {from} to {to}.")));
            }
            if let Some(price) = &self.price {
                facts.push(("price", format!("Yours for {price}.")));
            }
            if let Some(colour) = &self.colour {
                facts.push(("colour", format!("In {colour}.")));
            }
            if let Some(kind) = &self.product_type {
                let title = self.bare_title();
                let named = Self::words(kind).iter().all(|w| Self::words(title).contains(w));
                facts.push(("type", if named { format!("The {title}.") } else { format!("The {title}, a {kind}.") }));
            }
            let plain: &[(&'static str, &str)] = match role {
                ShotRole::Texture => &[("texture", "A closer look.")],
                ShotRole::Reveal => &[("reveal", "Here it is.")],
                _ => &[("view", "Another angle.")],
            };
            facts.extend(plain.iter().map(|(k, l)| (*k, l.to_string())));
        } else {
            if let Some(kind) = &self.product_type {
                facts.push(("type", kind.clone()));
            }
            facts.push(("title", self.title.clone()));
        }
        // Texture prefers material, reveal the type, a view sizes or price.
        let order: &[&str] = match role {
            ShotRole::Texture => &["material", "texture", "type", "title"],
            ShotRole::Reveal => &["type", "reveal", "title", "material"],
            _ => &["sizes", "price", "colour", "view", "material", "type", "title"],
        };
        for key in order {
            if let Some((k, line)) = facts.iter().find(|(k, _)| k == key)
                && !used.contains(k)
            {
                used.push(k);
                return line.clone();
            }
        }
        self.title.clone()
    }
}

/// Hands out pool sentences: from a rotating start, the first unused one that fits a cue, else the
/// first unused one.
struct Picker {
    used: Vec<bool>,
    start: usize,
}

impl Picker {
    fn new(len: usize, offset: usize) -> Self {
        Self { used: vec![false; len], start: if len == 0 { 0 } else { offset % len } }
    }

    fn pick(&mut self, pool: &[String], cue: &dyn Fn(&str) -> bool) -> Option<String> {
        let n = pool.len();
        let order: Vec<usize> = (0..n).map(|k| (self.start + k) % n).collect();
        let chosen = order
            .iter()
            .copied()
            .find(|&i| !self.used[i] && cue(&pool[i]))
            .or_else(|| order.iter().copied().find(|&i| !self.used[i]))?;
        self.used[chosen] = true;
        Some(pool[chosen].clone())
    }
}

/// Store text as plain text: markup and entities that got through stripped, control characters out,
/// spaces collapsed.
fn plain(text: &str) -> String {
    let looks_like_markup = text.contains("&lt;") || text.contains('<') && text.contains('>');
    let plain = if looks_like_markup { html_to_text(text) } else { text.to_string() };
    strip_controls(&plain)
}

/// Store text made speakable: markup and entities that got through stripped, control characters
/// out, URLs and over-long runs (hashes, junk) dropped, spaces collapsed.
pub fn speakable(text: &str) -> String {
    plain(text)
        .split_whitespace()
        .filter(|w| {
            let url = w.contains("://") || w.starts_with("www.");
            let junk = w.chars().count() > MAX_WORD_CHARS && !w.chars().any(copy::counts_by_chars);
            !url && !junk
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `sentence` as pool pieces: whole when within `limit` words, else its clauses packed into groups
/// of at most `limit` words (a single longer clause is fitted later).
fn pieces(sentence: &str, limit: usize) -> Vec<String> {
    if word_count(sentence) <= limit {
        return vec![finish(sentence)];
    }
    let mut out = Vec::new();
    let mut group = String::new();
    for clause in copy::clauses(sentence) {
        let candidate = if group.is_empty() { clause.clone() } else { format!("{group}, {clause}") };
        if word_count(&candidate) <= limit || group.is_empty() {
            group = candidate;
        } else {
            out.push(finish(&group));
            group = clause;
        }
    }
    if !group.is_empty() {
        out.push(finish(&group));
    }
    out.into_iter().filter(|p| !p.is_empty()).collect()
}

fn same_words(a: &str, b: &str) -> bool {
    Sheet::words(a) == Sheet::words(b)
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|f| format!("{}{}", f.to_uppercase(), chars.as_str())).unwrap_or_default()
}

/// A colour as said in a line: simple colour names in lower case ("Red" → "red"), others as the
/// store writes them.
fn spoken_colour(colour: &str) -> String {
    let c = speakable(colour);
    if c.chars().all(|ch| ch.is_ascii_alphabetic() || ch == ' ' || ch == '-') { c.to_lowercase() } else { c }
}

/// The first and last value of the size option, when it has two or more.
fn sizes_of(product: &Product) -> Option<(String, String)> {
    let option = product.options.iter().find(|o| {
        let name = o.name.trim().to_lowercase();
        !o.is_colour() && SIZE_OPTIONS.iter().any(|s| name == *s || name.starts_with(&format!("{s} ")))
    })?;
    let values: Vec<String> = option.values.iter().map(|v| speakable(v)).filter(|v| !v.is_empty()).collect();
    match values.as_slice() {
        [first, .., last] => Some((first.clone(), last.clone())),
        _ => None,
    }
}

/// The price with its currency as said ("$59", "€49.90", "59.00 CHF"); none without a currency.
fn price_of(product: &Product) -> Option<String> {
    let price = speakable(product.price.as_deref()?);
    let currency = product.currency.as_deref()?.trim().to_ascii_uppercase();
    let value = copy::facts::number_value(&price)?;
    if value <= 0.0 {
        return None;
    }
    let amount = if value.fract() == 0.0 { format!("{value:.0}") } else { format!("{value:.2}") };
    Some(match currency.as_str() {
        "USD" => format!("${amount}"),
        "EUR" => format!("€{amount}"),
        "GBP" => format!("£{amount}"),
        code if code.len() == 3 && code.chars().all(|c| c.is_ascii_uppercase()) => format!("{amount} {code}"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
