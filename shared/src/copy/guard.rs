//! The honesty guard: every concrete claim of a line checked against the product's copy
//! ([`Support`]), the unsupported ones cut out (the phrase, or the clause around it) or the whole
//! line replaced by one from the copy; the brand's words to avoid taken out, its spellings put in.

use super::Guarded;
use super::facts::{Category, Claim, Support, claims_in, has_words};
use super::fit::{fit, strip_trailing_function_words};
use super::language::{counts_by_chars, language_of};
use super::tokens::{Token, find_ci, tokens};
use super::vocab::{FUNCTION_WORDS, SIZE_LABELS};
use crate::{BrandKit, DroppedClaim, Product};

/// Words before a cut claim that go with it ("*only* $20", "*with* 3 pockets").
const LEFT_GLUE: &[&str] = &[
    "only",
    "just",
    "under",
    "over",
    "about",
    "around",
    "approximately",
    "up",
    "to",
    "at",
    "for",
    "with",
    "and",
    "plus",
    "or",
    "featuring",
    "including",
    "has",
    "have",
    "comes",
    "come",
    "now",
    "a",
    "an",
    "the",
    "in",
    "of",
    "from",
    "size",
    "sizes",
    "available",
    "all",
    "each",
    "every",
    "priced",
    "costs",
    "cost",
    "is",
    "are",
    "it's",
    "by",
];
/// Words after a cut claim where what it said ends ("3 pockets *and* a hood").
const RIGHT_STOPS: &[&str] =
    &["and", "or", "but", "with", "plus", "featuring", "including", "that", "which", "while", "so"];
/// Words that say nothing once the claim they introduced is gone ("Sizes" of "Sizes XS to XXL").
const EMPTY_ALONE: &[&str] = &[
    "size",
    "sizes",
    "available",
    "colour",
    "colours",
    "color",
    "colors",
    "priced",
    "price",
    "only",
    "just",
    "now",
    "yours",
    "costs",
    "cost",
    "also",
];
/// Words that cannot end a clause: they need what was cut ("crafted *from merino*").
const DANGLING: &[&str] = &[
    "made",
    "crafted",
    "handcrafted",
    "knit",
    "knitted",
    "woven",
    "spun",
    "sewn",
    "built",
    "finished",
    "lined",
    "trimmed",
    "designed",
    "printed",
    "dyed",
    "constructed",
    "blended",
    "filled",
    "cut",
    "produced",
    "manufactured",
    "sourced",
    "loved",
    "featuring",
    "including",
    "using",
    "uses",
    "boasts",
    "offers",
];
/// Words a clause does not start with once what came before is gone.
const LEADING_DROP: &[&str] = &["and", "or", "but", "plus", "so", "nor", "also"];
/// Words that go with the material they stand before ("*pure* silk").
const MATERIAL_GLUE: &[&str] = &["pure", "genuine", "real", "premium", "authentic", "fine", "luxurious", "luxury"];

/// Marks that end a sentence.
const SENTENCE_ENDS: &[char] = &['.', '!', '?', '…', '。', '！', '？', '؟', '।', '｡'];

/// One claim taken out, before it is tied to its shot.
struct Taken {
    claim: String,
    category: &'static str,
    reason: String,
}

/// See [`super::guard`].
pub fn guard(lines: &[String], product: &Product, brand: &BrandKit, colour: Option<&str>) -> Guarded {
    let support = Support::of(product, colour);
    let avoid: Vec<&str> = brand.avoid.iter().map(|a| a.trim()).filter(|a| !a.is_empty()).collect();
    let mut from_copy: Option<String> = None;
    let mut out = Guarded::default();
    for (shot, line) in lines.iter().enumerate() {
        let mut taken = Vec::new();
        let english = language_of(line) == "en";
        let honest = rewrite(line, &mut |segment| unsupported(segment, &support, english, &mut taken));
        let clean = remove_avoided(&honest, &avoid, &mut taken);
        let replaced = !taken.is_empty() && !has_words(&clean);
        let text = if replaced {
            from_copy.get_or_insert_with(|| line_from_copy(product, &support, &avoid)).clone()
        } else {
            clean
        };
        let text = say(&text, &brand.say);
        for t in taken {
            out.dropped.push(DroppedClaim {
                shot: u32::try_from(shot).unwrap_or(u32::MAX),
                claim: t.claim,
                category: t.category.to_string(),
                reason: t.reason,
                original: line.clone(),
                rewritten: (!replaced).then(|| text.clone()),
            });
        }
        out.lines.push(text);
    }
    out
}

/// Byte ranges to cut from `segment`: its unsupported claims with the words that go with them.
fn unsupported(segment: &str, support: &Support, english: bool, taken: &mut Vec<Taken>) -> Vec<(usize, usize)> {
    let claims = claims_in(segment);
    if claims.is_empty() {
        return Vec::new();
    }
    let toks = tokens(segment);
    let mut cuts = Vec::new();
    for (n, claim) in claims.iter().enumerate() {
        let Err(reason) = support.check(segment, claim) else { continue };
        taken.push(Taken { claim: claim.text(segment).trim().to_string(), category: claim.category.as_str(), reason });
        cuts.push(span_of(segment, &toks, &claims, n, english));
    }
    cuts
}

/// What goes with claim `n` when it is cut: the phrase for a word that describes (a material, a
/// colour, a label: "soft *silk* hoodie"), the clause part up to the next "and" or "with" for a
/// statement (a number, price, size, care, origin or guarantee: "*with 3 pockets* and a hood").
fn span_of(segment: &str, toks: &[Token], claims: &[Claim], n: usize, english: bool) -> (usize, usize) {
    let claim = &claims[n];
    // "100% cotton": the share of a material (not "20% off").
    let share = claim.percent
        && toks
            .iter()
            .find(|t| t.start >= claim.end)
            .is_none_or(|t| !["off", "discount", "more", "less", "extra"].contains(&t.lower.as_str()));
    let phrase = match claim.category {
        Category::Material
        | Category::Colour
        | Category::Certification
        | Category::Superlative
        | Category::Performance => true,
        Category::Origin => !claim.text(segment).trim().contains(' '),
        Category::Number => share,
        _ => false,
    };
    let (mut start, mut end) = (claim.start, claim.end);
    let Some(first) = toks.iter().position(|t| t.end > start) else { return (start, end) };
    let last = toks.iter().rposition(|t| t.start < end).unwrap_or(first);
    let mut k = first;
    if phrase {
        // "100% silk", "pure silk": the percentage and the praise go too.
        while k > 0 {
            let prev = &toks[k - 1];
            let gap = &segment[prev.end..toks[k].start];
            let percent = gap.trim() == "%" && prev.is_number();
            let glue = claim.category == Category::Material && MATERIAL_GLUE.contains(&prev.lower.as_str());
            if (percent || glue) && gap.trim().len() <= 1 {
                start = prev.start;
                k -= 1;
            } else {
                break;
            }
        }
        return (start, end);
    }
    // Scripts without spaces, and languages whose small words are not known here: the clause is
    // the smallest part that still reads.
    if !english || toks.iter().any(|t| t.lower.chars().any(counts_by_chars)) {
        return (0, segment.len());
    }
    let size_list = |t: &Token| {
        claim.category == Category::Size
            && (t.is_number() || SIZE_LABELS.contains(&t.lower.as_str()) || t.lower == "to" || t.lower == "and")
    };
    while k > 0 && (LEFT_GLUE.contains(&toks[k - 1].lower.as_str()) || size_list(&toks[k - 1])) {
        start = toks[k - 1].start;
        k -= 1;
    }
    // A currency sign or "#" before the first word kept goes as well.
    let mut j = last + 1;
    while j < toks.len() && !RIGHT_STOPS.contains(&toks[j].lower.as_str()) {
        end = toks[j].end;
        j += 1;
    }
    // A "%" or currency sign right after the last word cut.
    let rest = &segment[end..];
    let trailing = rest.len() - rest.trim_start_matches(['%', '€', '$', '£', '¥', '٪']).len();
    (start, end + trailing)
}

/// One piece of a line between clause marks, and the marks (and spaces) after it.
struct Segment {
    text: String,
    delim: String,
    touched: bool,
}

fn is_delimiter(chars: &[char], i: usize) -> bool {
    let c = chars[i];
    let prev = i.checked_sub(1).map(|p| chars[p]);
    let next = chars.get(i + 1).copied();
    match c {
        '.' | ',' | ':' => !(prev.is_some_and(char::is_numeric) && next.is_some_and(char::is_numeric)),
        '-' => prev == Some(' ') && next == Some(' '),
        ';' | '(' | ')' | '[' | ']' | '!' | '?' | '…' | '—' | '–' | '、' | '。' | '，' | '！' | '？' | '：' | '；'
        | '،' | '؛' | '؟' | '।' | '\n' | '（' | '）' | '｡' => true,
        _ => false,
    }
}

fn segments(line: &str) -> Vec<Segment> {
    let chars: Vec<char> = line.chars().collect();
    let mut out = Vec::new();
    let mut text = String::new();
    let mut delim = String::new();
    for i in 0..chars.len() {
        let c = chars[i];
        let delimiting = is_delimiter(&chars, i) || (!delim.is_empty() && c.is_whitespace());
        if delimiting {
            delim.push(c);
            continue;
        }
        if !delim.is_empty() {
            out.push(Segment { text: std::mem::take(&mut text), delim: std::mem::take(&mut delim), touched: false });
        }
        text.push(c);
    }
    out.push(Segment { text, delim, touched: false });
    out
}

/// `line` with the ranges `cuts` returns for each of its clauses cut out and what is left tidied;
/// a clause left with nothing to say goes, and the line unchanged when nothing is cut.
fn rewrite(line: &str, cuts: &mut dyn FnMut(&str) -> Vec<(usize, usize)>) -> String {
    let mut segs = segments(line);
    let mut touched = false;
    for seg in &mut segs {
        let ranges = cuts(&seg.text);
        if ranges.is_empty() {
            continue;
        }
        touched = true;
        seg.touched = true;
        seg.text = tidy_clause(&cut(&seg.text, ranges));
    }
    if !touched {
        return line.to_string();
    }
    let mut kept: Vec<Segment> = Vec::new();
    for seg in segs {
        if seg.touched && seg.text.trim().is_empty() {
            // A sentence end moves to the clause before.
            if seg.delim.contains(SENTENCE_ENDS)
                && let Some(prev) = kept.last_mut()
                && !prev.delim.contains(SENTENCE_ENDS)
            {
                prev.delim = seg.delim;
            }
            continue;
        }
        kept.push(seg);
    }
    let joined: String = kept.iter().map(|s| format!("{}{}", s.text, s.delim)).collect();
    tidy_line(&joined, line)
}

/// `text` without `ranges` (merged where they overlap), one space where each was.
fn cut(text: &str, mut ranges: Vec<(usize, usize)>) -> String {
    ranges.sort();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in ranges {
        let (start, end) = (start.max(at).min(text.len()), end.min(text.len()));
        if start >= end || !text.is_char_boundary(start) || !text.is_char_boundary(end) {
            continue;
        }
        out.push_str(&text[at..start]);
        out.push(' ');
        at = end;
    }
    out.push_str(&text[at.min(text.len())..]);
    out
}

/// A clause after a cut: spaces collapsed, a hyphen left hanging dropped, no "and" to start and no
/// "with the" to end on; empty when no word with something to say is left.
fn tidy_clause(text: &str) -> String {
    let mut s: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    // "-certified" once "GOTS" is gone.
    s = s
        .split(' ')
        .filter(|w| !w.chars().all(|c| matches!(c, '-' | '‐' | '–' | '—')))
        .map(|w| w.strip_prefix(['-', '‐']).filter(|r| r.starts_with(char::is_alphanumeric)).unwrap_or(w))
        .collect::<Vec<_>>()
        .join(" ");
    loop {
        let toks = tokens(&s);
        match toks.first() {
            Some(t) if LEADING_DROP.contains(&t.lower.as_str()) && toks.len() > 1 => {
                s = s[t.end..].trim_start().to_string();
            }
            _ => break,
        }
    }
    // "Crafted from" once "merino wool" is gone: a verb without its object goes too.
    loop {
        s = strip_trailing_function_words(&s);
        let toks = tokens(&s);
        match toks.last() {
            Some(t) if DANGLING.contains(&t.lower.as_str()) && s[t.end..].trim().is_empty() => {
                s = s[..t.start].trim_end().to_string();
            }
            _ => break,
        }
    }
    let says_something = tokens(&s)
        .iter()
        .any(|t| !FUNCTION_WORDS.contains(&t.lower.as_str()) && !EMPTY_ALONE.contains(&t.lower.as_str()));
    if says_something { s.trim().to_string() } else { String::new() }
}

/// A line after cuts: brackets matched, punctuation without doubles or strays, the first letter in
/// capitals when the original's was, and its closing mark kept.
fn tidy_line(text: &str, original: &str) -> String {
    let mut s: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    s = matched_brackets(&s);
    for _ in 0..4 {
        let before = s.clone();
        for (from, to) in [
            ("( )", ""),
            ("()", ""),
            (" ,", ","),
            (" .", "."),
            (" ;", ";"),
            (" :", ":"),
            (" !", "!"),
            (" ?", "?"),
            (" )", ")"),
            ("( ", "("),
            (",,", ","),
            (",.", "."),
            (";.", "."),
            (":.", "."),
            (",;", ";"),
            (";,", ";"),
            (" 、", "、"),
            (" 。", "。"),
            ("、。", "。"),
            ("、、", "、"),
        ] {
            s = s.replace(from, to);
        }
        if s == before {
            break;
        }
    }
    let s = s.trim_start_matches([',', ';', ':', '.', ')', '-', '–', '—', ' ', '、', '，', '。', '!', '?']);
    let mut s = s.trim_end_matches([',', ';', ':', '-', '–', '—', '(', ' ', '、', '，']).to_string();
    if !has_words(&s) {
        return String::new();
    }
    if let Some(end) = original.trim_end().chars().last().filter(|c| SENTENCE_ENDS.contains(c))
        && !s.ends_with(SENTENCE_ENDS)
        && !s.ends_with(['"', '\'', '”', '’', ')', '»', '」'])
    {
        s.push(end);
    }
    let starts_upper = original.chars().find(|c| c.is_alphabetic()).is_some_and(char::is_uppercase);
    let mut chars = s.chars();
    match (chars.next(), chars.clone().next()) {
        (Some(first), second) if starts_upper && first.is_lowercase() && !second.is_some_and(char::is_uppercase) => {
            format!("{}{}", first.to_uppercase(), chars.as_str())
        }
        _ => s,
    }
}

/// `text` with brackets that lost their partner removed.
fn matched_brackets(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut keep = vec![true; chars.len()];
    for (open, close) in [('(', ')'), ('[', ']'), ('（', '）')] {
        let mut stack = Vec::new();
        for (i, c) in chars.iter().enumerate() {
            if *c == open {
                stack.push(i);
            } else if *c == close && stack.pop().is_none() {
                keep[i] = false;
            }
        }
        for i in stack {
            keep[i] = false;
        }
    }
    chars.iter().zip(keep).filter(|(_, k)| *k).map(|(c, _)| c).collect()
}

/// `text` without the brand's words to avoid (whole words, any case), each one taken noted.
fn remove_avoided(text: &str, avoid: &[&str], taken: &mut Vec<Taken>) -> String {
    if avoid.is_empty() {
        return text.to_string();
    }
    let mut out = rewrite(text, &mut |segment| {
        let mut ranges = Vec::new();
        for phrase in avoid {
            let found = find_ci(segment, phrase);
            note(segment, &found, phrase, taken);
            ranges.extend(found);
        }
        ranges
    });
    // A phrase across clause marks ("must-have, must-buy") is cut from the whole line.
    for phrase in avoid {
        let found = find_ci(&out, phrase);
        if !found.is_empty() {
            note(&out, &found, phrase, taken);
            out = tidy_line(&cut(&out, found), text);
        }
    }
    out
}

/// Notes each avoided phrase found in `segment`.
fn note(segment: &str, found: &[(usize, usize)], phrase: &str, taken: &mut Vec<Taken>) {
    for (s, e) in found {
        taken.push(Taken {
            claim: segment[*s..*e].to_string(),
            category: "avoided_word",
            reason: format!("the brand avoids \"{phrase}\""),
        });
    }
}

/// The brand's spellings, whole words in any case, put in.
fn say(text: &str, pairs: &[(String, String)]) -> String {
    let mut out = text.to_string();
    for (from, to) in pairs {
        if from.trim().is_empty() {
            continue;
        }
        for (s, e) in find_ci(&out, from).into_iter().rev() {
            out.replace_range(s..e, to);
        }
    }
    out
}

/// A line built from the copy alone, for a line the guard left nothing of: the title (cut to a few
/// words), else the product type, else the vendor, each through the same checks.
fn line_from_copy(product: &Product, support: &Support, avoid: &[&str]) -> String {
    let candidates = [Some(product.title.as_str()), product.product_type.as_deref(), product.vendor.as_deref()];
    for text in candidates.into_iter().flatten() {
        let line = fit(text, 8);
        let mut ignored = Vec::new();
        let english = language_of(&line) == "en";
        let line = rewrite(&line, &mut |segment| unsupported(segment, support, english, &mut ignored));
        let line = remove_avoided(&line, avoid, &mut ignored);
        if has_words(&line) {
            return line;
        }
    }
    String::new()
}
