//! The concrete claims a text makes ([`claims_in`]) and what the product's copy supports
//! ([`Support`]): materials, colours, sizes, numbers, prices, care, origin, certifications,
//! guarantees, performance and superlatives.
//!
//! The copy is the title, description, vendor, product type, price and currency, option names and
//! values, variant titles, option values and prices, and the reel's colour. Words are English
//! ([`super::vocab`]); numbers and prices are read in any script whose digits Unicode knows.

use super::tokens::{Token, is_word_char, phrase_at, tokens, words_of};
use super::vocab::{self, Term};
use crate::Product;
use std::collections::HashMap;
use std::sync::LazyLock;

/// What kind of fact a claim states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    Material,
    Colour,
    Size,
    Number,
    Price,
    Care,
    Origin,
    Certification,
    Guarantee,
    Performance,
    Superlative,
}

impl Category {
    /// The name a [`crate::DroppedClaim`] carries.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Material => "material",
            Category::Colour => "colour",
            Category::Size => "size",
            Category::Number => "number",
            Category::Price => "price",
            Category::Care => "care",
            Category::Origin => "origin",
            Category::Certification => "certification",
            Category::Guarantee => "guarantee",
            Category::Performance => "performance",
            Category::Superlative => "superlative",
        }
    }
}

/// One concrete claim in a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub category: Category,
    /// Byte range in the text, the claim as written.
    pub start: usize,
    pub end: usize,
    /// What it is checked by: a term's key (`cotton` for "Cotton" and "cottons"), a colour phrase
    /// (`light blue`), a size label, a number as written, a place (`italy`).
    pub key: String,
    /// The value of a number, size number or price.
    pub value: Option<f64>,
    /// The currencies a price may be in (empty: it names none).
    pub currencies: Vec<&'static str>,
    /// A percentage ("100%").
    pub percent: bool,
    /// The word right after, in lower case (what a colour is the colour of: "white *drawstrings*").
    pub next: Option<String>,
    /// The place as written, in lower case, for origin claims.
    pub place: Option<String>,
}

impl Claim {
    fn new(category: Category, start: usize, end: usize, key: impl Into<String>) -> Self {
        Self {
            category,
            start,
            end,
            key: key.into(),
            value: None,
            currencies: Vec::new(),
            percent: false,
            next: None,
            place: None,
        }
    }

    /// The claim as the text writes it.
    pub fn text<'a>(&self, text: &'a str) -> &'a str {
        text.get(self.start..self.end).unwrap_or_default()
    }
}

/// A term's form as words, and the term.
type Form = (Vec<String>, &'static Term);

/// The terms by their first word, longest forms first.
static INDEX: LazyLock<HashMap<String, Vec<Form>>> = LazyLock::new(|| {
    let mut index: HashMap<String, Vec<Form>> = HashMap::new();
    for term in vocab::TERMS {
        for form in term.forms {
            let words = words_of(form);
            if let Some(first) = words.first() {
                index.entry(first.clone()).or_default().push((words, term));
            }
        }
    }
    for forms in index.values_mut() {
        forms.sort_by_key(|(w, _)| std::cmp::Reverse(w.len()));
    }
    index
});

/// The origin triggers and places as words.
static TRIGGERS: LazyLock<Vec<(&'static str, Vec<String>)>> =
    LazyLock::new(|| vocab::ORIGIN_TRIGGERS.iter().map(|t| (*t, words_of(t))).collect());
static PLACE_WORDS: LazyLock<Vec<(Vec<String>, &'static str)>> =
    LazyLock::new(|| vocab::PLACES.iter().map(|(p, k)| (words_of(p), *k)).collect());

/// Grey and gray are one colour, colour and color one word.
fn norm(word: &str) -> &str {
    match word {
        "grey" => "gray",
        "colour" => "color",
        "multicolour" => "multicolor",
        other => other,
    }
}

fn is_colour(word: &str) -> bool {
    vocab::COLOURS.contains(&word)
}

fn is_modifier(word: &str) -> bool {
    vocab::COLOUR_MODIFIERS.contains(&word) || word == "rose"
}

/// Whether the gap between two tokens is only a space or a hyphen.
fn joined(text: &str, a: &Token, b: &Token) -> bool {
    let gap = text.get(a.end..b.start).unwrap_or("|");
    gap.len() <= 3 && gap.chars().all(|c| matches!(c, ' ' | '-' | '\u{a0}' | '‐' | '‑'))
}

/// The numeric value of a number as written (`59.00`, `1,000`, `59,90`, `٥٩`).
pub fn number_value(written: &str) -> Option<f64> {
    let mut ascii = String::with_capacity(written.len());
    for c in written.chars() {
        let d = match c {
            '0'..='9' | '.' | ',' => c,
            '٠'..='٩' => char::from_digit(c as u32 - '٠' as u32, 10)?,
            '۰'..='۹' => char::from_digit(c as u32 - '۰' as u32, 10)?,
            '０'..='９' => char::from_digit(c as u32 - '０' as u32, 10)?,
            '०'..='९' => char::from_digit(c as u32 - '०' as u32, 10)?,
            _ => return None,
        };
        ascii.push(d);
    }
    let (dots, commas) = (ascii.matches('.').count(), ascii.matches(',').count());
    let plain = match (dots, commas) {
        (0, 0) => ascii,
        (_, 0) if dots > 1 => ascii.replace('.', ""),
        (0, 1) => {
            let after = ascii.rsplit(',').next().unwrap_or_default().len();
            if after <= 2 { ascii.replace(',', ".") } else { ascii.replace(',', "") }
        }
        (0, _) => ascii.replace(',', ""),
        _ => {
            // Both: the last one is the decimal mark.
            if ascii.rfind('.') > ascii.rfind(',') {
                ascii.replace(',', "")
            } else {
                ascii.replace('.', "").replace(',', ".")
            }
        }
    };
    plain.parse::<f64>().ok().filter(|v| v.is_finite())
}

fn same_number(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

/// The claims `text` makes, in order.
pub fn claims_in(text: &str) -> Vec<Claim> {
    let toks = tokens(text);
    let size_context = toks
        .iter()
        .any(|t| t.lower == "size" || t.lower == "sizes" || (t.lower.len() > 1 && is_size_label(text, t, false)));
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let step = term_at(text, &toks, i, &mut out)
            .or_else(|| origin_at(text, &toks, i, &mut out))
            .or_else(|| colour_at(text, &toks, i, &mut out))
            .or_else(|| number_at(text, &toks, i, size_context, &mut out))
            .unwrap_or(1);
        i += step.max(1);
    }
    out
}

/// A vocabulary term at token `i`: how many tokens it takes.
fn term_at(text: &str, toks: &[Token], i: usize, out: &mut Vec<Claim>) -> Option<usize> {
    let forms = INDEX.get(&toks[i].lower)?;
    let (words, term) = forms.iter().find(|(words, _)| {
        let w: Vec<&str> = words.iter().map(String::as_str).collect();
        phrase_at(text, toks, i, &w)
    })?;
    let last = &toks[i + words.len() - 1];
    out.push(Claim::new(term.category, toks[i].start, last.end, term.key));
    Some(words.len())
}

/// A place a product is said to come from ("made in Portugal", "Italian leather").
fn origin_at(text: &str, toks: &[Token], i: usize, out: &mut Vec<Claim>) -> Option<usize> {
    // "Italian leather": an adjective of origin right before a material.
    if let Some((_, key)) = vocab::DEMONYMS.iter().find(|(d, _)| *d == toks[i].lower)
        && i + 1 < toks.len()
        && joined(text, &toks[i], &toks[i + 1])
        && INDEX.get(&toks[i + 1].lower).is_some_and(|f| f.iter().any(|(_, t)| t.category == Category::Material))
    {
        let mut claim = Claim::new(Category::Origin, toks[i].start, toks[i].end, *key);
        claim.place = Some(toks[i].lower.clone());
        out.push(claim);
        return Some(1);
    }
    for (trigger, words) in TRIGGERS.iter() {
        let w: Vec<&str> = words.iter().map(String::as_str).collect();
        if !phrase_at(text, toks, i, &w) {
            continue;
        }
        let mut at = i + words.len();
        if toks.get(at).is_some_and(|t| t.lower == "the") {
            at += 1;
        }
        // A known place, longest first ("us" only in capitals: "made in the US", never "from us").
        let known = PLACE_WORDS
            .iter()
            .filter(|(pw, _)| {
                let p: Vec<&str> = pw.iter().map(String::as_str).collect();
                phrase_at(text, toks, at, &p)
            })
            .map(|(pw, key)| (pw.len(), *key))
            .max_by_key(|(n, _)| *n);
        let us = toks.get(at).filter(|t| text.get(t.start..t.end) == Some("US")).map(|_| (1, "usa"));
        let (n, key) = match known.or(us) {
            Some(found) => found,
            None if !trigger.ends_with("from") => {
                // Any capitalised name after "made in" and the like.
                let n = toks[at.min(toks.len())..]
                    .iter()
                    .take(3)
                    .take_while(|t| {
                        text.get(t.start..t.end).and_then(|s| s.chars().next()).is_some_and(char::is_uppercase)
                    })
                    .count();
                if n == 0 {
                    continue;
                }
                (n, "")
            }
            None => continue,
        };
        let last = &toks[at + n - 1];
        let place: Vec<&str> = toks[at..at + n].iter().map(|t| t.lower.as_str()).collect();
        let place = place.join(" ");
        let key = if key.is_empty() { place.clone() } else { key.to_string() };
        let mut claim = Claim::new(Category::Origin, toks[i].start, last.end, key);
        claim.place = Some(place);
        out.push(claim);
        return Some(at + n - i);
    }
    None
}

/// A colour: shades and colour words in a row ("light-blue", "heather grey"), ending in a colour.
fn colour_at(text: &str, toks: &[Token], i: usize, out: &mut Vec<Claim>) -> Option<usize> {
    let mut j = i;
    let mut last_colour = None;
    while j < toks.len() && (is_colour(&toks[j].lower) || is_modifier(&toks[j].lower)) {
        if j > i && !joined(text, &toks[j - 1], &toks[j]) {
            break;
        }
        if is_colour(&toks[j].lower) {
            last_colour = Some(j);
        }
        j += 1;
    }
    let last = last_colour?;
    let words: Vec<&str> = toks[i..=last].iter().map(|t| norm(&t.lower)).collect();
    let mut claim = Claim::new(Category::Colour, toks[i].start, toks[last].end, words.join(" "));
    claim.next = toks.get(last + 1).filter(|n| joined(text, &toks[last], n)).map(|n| n.lower.clone());
    out.push(claim);
    Some(last + 1 - i)
}

/// Whether token `t` is a size label (`XS`, `XL`, `2XL`; `S`, `M`, `L` only beside another size or
/// the word "size").
fn is_size_label(text: &str, t: &Token, size_context: bool) -> bool {
    let written = text.get(t.start..t.end).unwrap_or_default();
    if !vocab::SIZE_LABELS.contains(&t.lower.as_str()) || written.chars().any(|c| c.is_lowercase()) {
        return false;
    }
    t.lower.len() > 1 || size_context
}

/// A number, price, size, percentage or "#1" at token `i`.
fn number_at(text: &str, toks: &[Token], i: usize, size_context: bool, out: &mut Vec<Claim>) -> Option<usize> {
    let t = &toks[i];
    if is_size_label(text, t, size_context) {
        out.push(Claim::new(Category::Size, t.start, t.end, t.lower.clone()));
        return Some(1);
    }
    if let Some((_, value)) = vocab::NUMBER_WORDS.iter().find(|(w, _)| *w == t.lower) {
        let next = toks.get(i + 1).filter(|n| {
            text.get(t.end..n.start) == Some(" ") && n.lower.ends_with('s') && n.lower.chars().all(char::is_alphabetic)
        })?;
        let mut claim = Claim::new(Category::Number, t.start, next.end, t.lower.clone());
        claim.value = Some(*value);
        claim.next = Some(next.lower.clone());
        out.push(claim);
        return Some(2);
    }
    if !t.lower.chars().next().is_some_and(char::is_numeric) {
        return None;
    }
    // The number, and a unit written onto it ("200gsm"); ordinals ("2nd") are no claim.
    let digits_end = t.lower.char_indices().find(|(_, c)| !(c.is_numeric() || *c == '.' || *c == ',')).map(|(k, _)| k);
    let (written, unit) = match digits_end {
        Some(k) => (&t.lower[..k], &t.lower[k..]),
        None => (t.lower.as_str(), ""),
    };
    if ["st", "nd", "rd", "th"].contains(&unit) || unit.chars().count() > 4 || !unit.chars().all(char::is_alphabetic) {
        return None;
    }
    let value = number_value(written)?;
    let (mut start, mut end) = (t.start, t.end);
    let before = text.get(..start).unwrap_or_default();
    let after = text.get(end..).unwrap_or_default();
    if before.ends_with('#') {
        out.push(Claim::new(Category::Superlative, start - 1, end, format!("#{written}")));
        return Some(1);
    }
    let mut currencies: Vec<&'static str> = Vec::new();
    let mut priced = false;
    // A sign before ("$59", "€ 59", "US$59") or after ("59 €").
    let trimmed = before.strip_suffix(' ').unwrap_or(before);
    if let Some(sign) = trimmed.chars().last()
        && let Some((_, codes)) = vocab::CURRENCY_SIGNS.iter().find(|(s, _)| *s == sign)
    {
        priced = true;
        currencies = codes.to_vec();
        start = trimmed.len() - sign.len_utf8();
        let letters = text[..start].chars().rev().take_while(|c| c.is_ascii_uppercase()).count();
        start -= letters;
    }
    let after_trimmed = after.strip_prefix(' ').unwrap_or(after);
    if !priced
        && let Some(sign) = after_trimmed.chars().next()
        && let Some((_, codes)) = vocab::CURRENCY_SIGNS.iter().find(|(s, _)| *s == sign)
    {
        priced = true;
        currencies = codes.to_vec();
        end = text.len() - after_trimmed.len() + sign.len_utf8();
    }
    let mut consumed = 1;
    let code_of = |tok: &Token| -> Option<Vec<&'static str>> {
        let written = text.get(tok.start..tok.end)?;
        if let Some(code) = vocab::CURRENCY_CODES.iter().find(|c| **c == written) {
            return Some(vec![*code]);
        }
        vocab::CURRENCY_WORDS.iter().find(|(w, _)| *w == tok.lower).map(|(_, codes)| codes.to_vec())
    };
    if !priced
        && i > 0
        && text.get(toks[i - 1].end..t.start).is_some_and(|g| g.trim().is_empty())
        && let Some(codes) = code_of(&toks[i - 1]).filter(|c| c.len() == 1)
    {
        priced = true;
        currencies = codes;
        start = toks[i - 1].start;
    }
    if !priced
        && let Some(next) = toks.get(i + 1)
        && text.get(t.end..next.start).is_some_and(|g| g.trim().is_empty() && g.len() <= 1)
        && let Some(codes) = code_of(next)
    {
        priced = true;
        currencies = codes;
        end = next.end;
        consumed = 2;
    }
    if priced {
        let mut claim = Claim::new(Category::Price, start, end, written);
        claim.value = Some(value);
        claim.currencies = currencies;
        out.push(claim);
        return Some(consumed);
    }
    let percent = after_trimmed.starts_with(['%', '٪']);
    if percent {
        end = text.len() - after_trimmed.len() + after_trimmed.chars().next().map_or(0, char::len_utf8);
    }
    let sized = i > 0
        && (["size", "sizes"].contains(&toks[i - 1].lower.as_str())
            || ["EU", "US", "UK", "FR", "IT"].contains(&text.get(toks[i - 1].start..toks[i - 1].end).unwrap_or("")));
    let category = if sized { Category::Size } else { Category::Number };
    let mut claim = Claim::new(category, start, end, written);
    claim.value = Some(value);
    claim.percent = percent;
    // "3 pockets": the thing counted is part of the claim as written.
    if let Some(next) = toks
        .get(i + 1)
        .filter(|n| !percent && text.get(end..n.start) == Some(" ") && n.lower.chars().all(char::is_alphabetic))
    {
        claim.end = next.end;
        claim.next = Some(next.lower.clone());
    }
    out.push(claim);
    Some(1)
}

/// The material keys `text` names, in order, once each.
pub fn materials_in(text: &str) -> Vec<&'static str> {
    let mut found: Vec<&'static str> = Vec::new();
    for claim in claims_in(text) {
        if claim.category == Category::Material
            && let Some(term) = vocab::TERMS.iter().find(|t| t.category == Category::Material && t.key == claim.key)
            && !found.contains(&term.key)
        {
            found.push(term.key);
        }
    }
    found
}

/// What the product's copy supports, and for the reel's colour.
#[derive(Debug, Clone)]
pub struct Support {
    /// Term keys the copy states (and what they imply), by category, in the order first stated.
    keys: Vec<(Category, String)>,
    /// Keys only implied (not named in reasons).
    implied: Vec<String>,
    numbers: Vec<f64>,
    prices: Vec<f64>,
    price_text: Option<String>,
    currency: Option<String>,
    corpus: String,
    corpus_tokens: Vec<Token>,
    reel: Option<String>,
    reel_words: Vec<String>,
    /// The product's other colours (the colour option's values but the reel's).
    siblings: Vec<(String, Vec<String>)>,
    /// Option values that are no colour, as written (sizes, mostly).
    sizes: Vec<String>,
    option_values: Vec<String>,
    colours: Vec<String>,
    places: Vec<String>,
}

impl Support {
    pub fn of(product: &Product, colour: Option<&str>) -> Self {
        let mut texts: Vec<&str> = vec![&product.title, &product.description];
        texts.extend(product.vendor.as_deref());
        texts.extend(product.product_type.as_deref());
        texts.extend(product.price.as_deref());
        texts.extend(product.currency.as_deref());
        for option in &product.options {
            texts.push(&option.name);
            texts.extend(option.values.iter().map(String::as_str));
        }
        for variant in &product.variants {
            texts.push(&variant.title);
            texts.extend(variant.options.iter().map(String::as_str));
            texts.extend(variant.price.as_deref());
        }
        texts.extend(colour);
        // Fields apart, so no phrase runs from one into the next.
        let corpus = texts.iter().map(|t| t.trim()).filter(|t| !t.is_empty()).collect::<Vec<_>>().join(" | ");
        let claims = claims_in(&corpus);
        let mut keys: Vec<(Category, String)> = Vec::new();
        let mut implied = Vec::new();
        let mut numbers = Vec::new();
        let mut colours = Vec::new();
        let mut places = Vec::new();
        let add = |keys: &mut Vec<(Category, String)>, c: Category, k: &str| {
            if !keys.iter().any(|(kc, kk)| *kc == c && kk == k) {
                keys.push((c, k.to_string()));
            }
        };
        for claim in &claims {
            match claim.category {
                Category::Number | Category::Size | Category::Price => numbers.extend(claim.value),
                Category::Colour if !colours.contains(&claim.key) => colours.push(claim.key.clone()),
                Category::Origin => {
                    let written = claim.text(&corpus).to_string();
                    if !places.contains(&written) {
                        places.push(written);
                    }
                }
                _ => {}
            }
            add(&mut keys, claim.category, &claim.key);
            for (from, to) in vocab::IMPLIES {
                if claim.key == *from && !keys.iter().any(|(c, k)| *c == claim.category && k == to) {
                    add(&mut keys, claim.category, to);
                    implied.push(to.to_string());
                }
            }
        }
        // Spelled numbers ("two pockets") count wherever they stand.
        let corpus_tokens = tokens(&corpus);
        for t in &corpus_tokens {
            if let Some((_, v)) = vocab::NUMBER_WORDS.iter().find(|(w, _)| *w == t.lower) {
                numbers.push(*v);
            }
        }
        let mut prices: Vec<f64> = product.price.as_deref().and_then(number_value).into_iter().collect();
        prices.extend(product.variants.iter().filter_map(|v| v.price.as_deref().and_then(number_value)));
        numbers.extend(prices.iter().copied());
        let reel = colour.map(|c| c.trim().to_string()).filter(|c| !c.is_empty());
        let reel_words: Vec<String> =
            reel.as_deref().map(words_of).unwrap_or_default().iter().map(|w| norm(w).to_string()).collect();
        let siblings = match (&reel, product.colour_option()) {
            (Some(reel), Some((_, option))) => option
                .values
                .iter()
                .filter(|v| v.trim().to_lowercase() != reel.to_lowercase())
                .map(|v| (v.trim().to_string(), words_of(v).iter().map(|w| norm(w).to_string()).collect()))
                .collect(),
            _ => Vec::new(),
        };
        let sizes = product
            .options
            .iter()
            .filter(|o| !o.is_colour())
            .flat_map(|o| o.values.iter().map(|v| v.trim().to_string()))
            .collect();
        let mut option_values: Vec<String> =
            product.options.iter().flat_map(|o| o.values.iter().map(|v| v.trim().to_lowercase())).collect();
        option_values.extend(product.variants.iter().flat_map(|v| v.options.iter().map(|o| o.trim().to_lowercase())));
        Self {
            keys,
            implied,
            numbers,
            prices,
            price_text: product.price.as_ref().map(|p| match &product.currency {
                Some(c) => format!("{p} {c}"),
                None => p.clone(),
            }),
            currency: product.currency.as_ref().map(|c| c.trim().to_ascii_uppercase()),
            corpus,
            corpus_tokens,
            reel,
            reel_words,
            siblings,
            sizes,
            option_values,
            colours,
            places,
        }
    }

    fn has_key(&self, category: Category, key: &str) -> bool {
        self.keys.iter().any(|(c, k)| *c == category && k == key)
    }

    fn keys_of(&self, category: Category) -> Vec<&str> {
        self.keys.iter().filter(|(c, k)| *c == category && !self.implied.contains(k)).map(|(_, k)| k.as_str()).collect()
    }

    /// Whether the copy has these words in a row (grey and gray alike).
    fn corpus_has(&self, words: &[&str]) -> bool {
        let words: Vec<&str> = words.iter().map(|w| norm(w)).collect();
        (0..self.corpus_tokens.len()).any(|i| {
            words.iter().enumerate().all(|(n, w)| {
                self.corpus_tokens.get(i + n).is_some_and(|t| norm(&t.lower) == *w)
                    && (n == 0 || joined(&self.corpus, &self.corpus_tokens[i + n - 1], &self.corpus_tokens[i + n]))
            })
        })
    }

    fn has_number(&self, value: f64) -> bool {
        self.numbers.iter().any(|n| same_number(*n, value))
    }

    /// `Ok` when the copy supports `claim` (found in `text`); otherwise why not, naming what the
    /// copy says instead when it says something.
    pub fn check(&self, text: &str, claim: &Claim) -> Result<(), String> {
        let written = claim.text(text).trim();
        let listed = |items: &[&str]| -> String { join_and(items) };
        match claim.category {
            Category::Material => {
                if self.has_key(Category::Material, &claim.key) {
                    return Ok(());
                }
                let said = self.keys_of(Category::Material);
                Err(if said.is_empty() {
                    format!("the copy names no material, so not {written}")
                } else {
                    format!("the copy says {}, not {written}", listed(&said))
                })
            }
            Category::Colour => self.check_colour(claim, written),
            Category::Size => {
                if let Some(v) = claim.value {
                    if self.has_number(v) {
                        return Ok(());
                    }
                } else if self.has_key(Category::Size, &claim.key)
                    || self.option_values.contains(&claim.key)
                    || (claim.key.len() > 1 && self.corpus_has(&[claim.key.as_str()]))
                {
                    return Ok(());
                }
                let sizes: Vec<&str> = self.sizes.iter().map(String::as_str).collect();
                Err(if sizes.is_empty() {
                    format!("the copy lists no sizes, so not {written}")
                } else {
                    format!("the copy's sizes are {}, not {written}", sizes.join(", "))
                })
            }
            Category::Number => {
                if claim.value.is_some_and(|v| self.has_number(v)) {
                    return Ok(());
                }
                Err(format!("the copy never says {}", claim.key))
            }
            Category::Price => {
                let value = claim.value.unwrap_or(f64::NAN);
                let currency_ok = match &self.currency {
                    Some(c) => claim.currencies.is_empty() || claim.currencies.contains(&c.as_str()),
                    None => true,
                };
                if currency_ok && self.prices.iter().any(|p| same_number(*p, value)) {
                    return Ok(());
                }
                Err(match &self.price_text {
                    Some(p) => format!("the copy's price is {p}, not {written}"),
                    None => format!("the copy gives no price, so not {written}"),
                })
            }
            Category::Origin => {
                let place = claim.place.clone().unwrap_or_default();
                let place_words: Vec<&str> = place.split(' ').filter(|w| !w.is_empty()).collect();
                let country_named = vocab::PLACES
                    .iter()
                    .filter(|(_, k)| *k == claim.key)
                    .any(|(p, _)| self.corpus_has(&words_of(p).iter().map(String::as_str).collect::<Vec<_>>()));
                let demonym_named =
                    vocab::DEMONYMS.iter().filter(|(_, k)| *k == claim.key).any(|(d, _)| self.corpus_has(&[d]));
                if self.has_key(Category::Origin, &claim.key)
                    || (!place_words.is_empty() && self.corpus_has(&place_words))
                    || country_named
                    || demonym_named
                {
                    return Ok(());
                }
                let said: Vec<&str> = self.places.iter().map(String::as_str).collect();
                Err(if said.is_empty() {
                    format!("the copy does not say where it is from, so not {written}")
                } else {
                    format!("the copy says {}, not {written}", listed(&said))
                })
            }
            Category::Superlative if claim.key.starts_with('#') => {
                if !super::tokens::find_ci(&self.corpus, &claim.key).is_empty() || self.corpus_has(&["number", "one"]) {
                    return Ok(());
                }
                Err(format!("the copy does not say {written}"))
            }
            Category::Care
            | Category::Certification
            | Category::Guarantee
            | Category::Performance
            | Category::Superlative => {
                if self.has_key(claim.category, &claim.key) {
                    return Ok(());
                }
                let said = self.keys_of(claim.category);
                Err(match claim.category {
                    Category::Care if said.is_empty() => {
                        format!("the copy gives no care instructions, so not {written}")
                    }
                    Category::Care | Category::Certification if !said.is_empty() => {
                        format!("the copy says {}, not {written}", listed(&said))
                    }
                    _ => format!("the copy does not say {written}"),
                })
            }
        }
    }

    /// Whether `text` names a colour this reel may not (another of the product's colours, or one the
    /// copy does not give); a sentence a reel about its colour should not read out.
    pub fn names_other_colour(&self, text: &str) -> bool {
        claims_in(text).iter().any(|c| c.category == Category::Colour && self.check_colour(c, c.text(text)).is_err())
    }

    fn check_colour(&self, claim: &Claim, written: &str) -> Result<(), String> {
        let words: Vec<&str> = claim.key.split(' ').collect();
        let Some(reel) = &self.reel else {
            if self.corpus_has(&words) {
                return Ok(());
            }
            let said: Vec<&str> = self.colours.iter().map(String::as_str).collect();
            return Err(if said.is_empty() {
                format!("the copy names no colour, so not {written}")
            } else {
                format!("the copy says {}, not {written}", join_and(&said))
            });
        };
        let in_reel = |w: &&str| self.reel_words.iter().any(|r| r == w);
        if words.iter().all(in_reel) {
            return Ok(());
        }
        let colour_words: Vec<&str> = words.iter().copied().filter(|w| is_colour(w)).collect();
        // Another of the product's colours: exactly ("dark blue" beside a light-blue reel) or by its colour words.
        if self.siblings.iter().any(|(_, sw)| words.iter().all(|w| sw.iter().any(|s| s == w))) {
            return Err(format!("this reel is about {reel}, not {written}"));
        }
        if colour_words.iter().all(in_reel) {
            return Ok(());
        }
        if self.siblings.iter().any(|(_, sw)| colour_words.iter().all(|w| sw.iter().any(|s| s == w))) {
            return Err(format!("this reel is about {reel}, not {written}"));
        }
        // A detail's colour ("white drawstrings") the copy names for the same detail.
        if let Some(next) = &claim.next {
            let mut with_next = words.clone();
            with_next.push(next);
            if self.corpus_has(&with_next) {
                return Ok(());
            }
        }
        Err(format!("this reel is about {reel}, not {written}"))
    }
}

/// `a`, `a and b`, `a, b and c`.
fn join_and(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Whether any character of `text` could start a word (so a line with none says nothing).
pub fn has_words(text: &str) -> bool {
    text.chars().any(is_word_char)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(Category, String, String)> {
        claims_in(text).into_iter().map(|c| (c.category, c.key.clone(), c.text(text).to_string())).collect()
    }

    #[test]
    fn claims_of_every_kind_are_found() {
        let text = "100% organic cotton, GOTS-certified, made in Portugal. Light-blue, XS to XL, $59.00; \
                    machine washable and waterproof. Our best tee, #1 in 3 colours. Italian leather trim.";
        let f = found(text);
        let has = |cat: Category, key: &str| f.iter().any(|(c, k, _)| *c == cat && k == key);
        assert!(has(Category::Number, "100"), "{f:?}");
        assert!(has(Category::Certification, "organic") && has(Category::Certification, "gots"), "{f:?}");
        assert!(has(Category::Certification, "certified"), "{f:?}");
        assert!(has(Category::Material, "cotton") && has(Category::Material, "leather"), "{f:?}");
        assert!(has(Category::Origin, "portugal") && has(Category::Origin, "italy"), "{f:?}");
        assert!(has(Category::Colour, "light blue"), "{f:?}");
        assert!(has(Category::Size, "xs") && has(Category::Size, "xl"), "{f:?}");
        assert!(has(Category::Price, "59.00"), "{f:?}");
        assert!(has(Category::Care, "machine wash") && has(Category::Performance, "waterproof"), "{f:?}");
        assert!(has(Category::Superlative, "best") && has(Category::Superlative, "#1"), "{f:?}");
        assert!(has(Category::Number, "3"), "{f:?}");
        let price = claims_in(text).into_iter().find(|c| c.category == Category::Price).unwrap();
        assert_eq!(price.text(text), "$59.00");
        assert_eq!(
            found("From us, with love: a gift from the UK."),
            [(Category::Origin, "uk".into(), "from the UK".into())]
        );
    }

    #[test]
    fn prices_in_several_writings() {
        for (text, value, written) in [
            ("Only €49,90 today", 49.9, "€49,90"),
            ("for 59 USD", 59.0, "59 USD"),
            ("¥ 5,800", 5800.0, "¥ 5,800"),
            ("just 20 dollars", 20.0, "20 dollars"),
            ("US$59", 59.0, "US$59"),
            ("49 €", 49.0, "49 €"),
        ] {
            let c = claims_in(text).into_iter().find(|c| c.category == Category::Price).expect(text);
            assert_eq!((c.value, c.text(text)), (Some(value), written), "{text}");
        }
        assert_eq!(number_value("1.234,50"), Some(1234.5));
        assert_eq!(number_value("٥٩"), Some(59.0));
        assert_eq!(number_value("abc"), None);
    }

    #[test]
    fn words_that_only_look_like_claims_are_not() {
        for text in [
            "Left chest logo",
            "Try it on",
            "Slip it on and dress it down.",
            "The 2nd drop",
            "A soft, light feel",
            "It's a thing",
        ] {
            assert!(claims_in(text).is_empty(), "{text}: {:?}", found(text));
        }
    }

    #[test]
    fn unicode_of_any_kind_is_read_without_panicking() {
        for text in [
            "柔らかいコットン100%のTシャツ、3,980円。",
            "قميص قطني ناعم بسعر ٥٩ دولار.",
            "\u{0}\u{202e}💥 $ % # 9̶9̶",
            "$",
            "#",
            "59 ",
            "İİİ ß ﬁ",
        ] {
            let _ = claims_in(text);
        }
        let ja = claims_in("柔らかいコットン100%のTシャツ");
        assert!(ja.iter().any(|c| c.category == Category::Number && c.percent), "{ja:?}");
    }
}
