//! Words of a text with where they stand, and whole-word, case-insensitive search: what the claim
//! finder and the guard's rewrites work on. Any Unicode is taken; nothing here panics on odd input.

use super::language::counts_by_chars;

/// One word: its byte range in the text and its lower case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub start: usize,
    pub end: usize,
    pub lower: String,
}

impl Token {
    pub fn is_number(&self) -> bool {
        self.lower.chars().next().is_some_and(|c| c.is_numeric())
            && self.lower.chars().all(|c| c.is_numeric() || c == '.' || c == ',')
    }
}

/// Punctuation and symbols outside ASCII (general punctuation, CJK and full-width marks, Arabic,
/// Hebrew and Devanagari marks, currency signs): never part of a word.
pub fn is_punctuation(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_punctuation();
    }
    matches!(c as u32,
        0x00A0..=0x00BF | 0x00D7 | 0x00F7 | 0x0589 | 0x05BE | 0x05C0 | 0x05C3 | 0x05F3 | 0x05F4
        | 0x060C | 0x061B | 0x061F | 0x066A..=0x066D | 0x06D4 | 0x0964 | 0x0965 | 0x0E3F
        | 0x2000..=0x206F | 0x20A0..=0x20CF | 0x2100..=0x214F | 0x2190..=0x23FF | 0x2500..=0x27BF
        | 0x3000..=0x303F | 0x30FB | 0xFE10..=0xFE1F | 0xFE30..=0xFE6F
        | 0xFF01..=0xFF0F | 0xFF1A..=0xFF20 | 0xFF3B..=0xFF40 | 0xFF5B..=0xFF65 | 0xFFE0..=0xFFEE)
}

/// Whether `c` belongs to a word: letters, digits, and any other non-punctuation outside ASCII
/// (combining marks of Devanagari or Arabic, for instance).
pub fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || (!c.is_ascii() && !c.is_whitespace() && !c.is_control() && !is_punctuation(c))
}

/// The words of `text`. A word is a run of word characters; an apostrophe between letters and a
/// `.` or `,` between digits stay inside it (`it's`, `59.00`, `1,000`). Han and kana characters are
/// one word each.
pub fn tokens(text: &str) -> Vec<Token> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        if !is_word_char(c) {
            i += 1;
            continue;
        }
        if counts_by_chars(c) && !is_thai(c) {
            out.push(Token { start, end: start + c.len_utf8(), lower: c.to_lowercase().collect() });
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < chars.len() {
            let c = chars[j].1;
            let prev = chars[j - 1].1;
            let next = chars.get(j + 1).map(|x| x.1);
            let inside = if is_word_char(c) {
                !counts_by_chars(c) || is_thai(c)
            } else if c == '\'' || c == '’' {
                prev.is_alphabetic() && next.is_some_and(char::is_alphabetic)
            } else if c == '.' || c == ',' {
                prev.is_numeric() && next.is_some_and(char::is_numeric)
            } else {
                false
            };
            if !inside {
                break;
            }
            j += 1;
        }
        let end = chars.get(j).map_or(text.len(), |x| x.0);
        out.push(Token { start, end, lower: text[start..end].to_lowercase() });
        i = j;
    }
    out
}

fn is_thai(c: char) -> bool {
    ('\u{0E00}'..='\u{0E7F}').contains(&c)
}

/// Where `phrase` occurs in `text` as whole words, in any case: byte ranges, not overlapping. An
/// edge of the phrase that is a letter or digit must not touch another word character (a phrase
/// written in Han or kana matches anywhere, as those scripts put no spaces between words).
pub fn find_ci(text: &str, phrase: &str) -> Vec<(usize, usize)> {
    let phrase = phrase.trim();
    let pat: Vec<char> = phrase.chars().flat_map(char::to_lowercase).collect();
    let (Some(&first), Some(&last)) = (phrase.chars().next().as_ref(), phrase.chars().last().as_ref()) else {
        return Vec::new();
    };
    let bounded = |c: char| is_word_char(c) && !counts_by_chars(c);
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if bounded(first) && i > 0 && is_word_char(chars[i - 1].1) {
            i += 1;
            continue;
        }
        let mut p = 0;
        let mut k = i;
        let mut matched = None;
        'scan: while k < chars.len() {
            for lc in chars[k].1.to_lowercase() {
                if p >= pat.len() || pat[p] != lc {
                    break 'scan;
                }
                p += 1;
            }
            k += 1;
            if p == pat.len() {
                matched = Some(k);
                break;
            }
        }
        match matched {
            Some(k) if !(bounded(last) && chars.get(k).is_some_and(|x| is_word_char(x.1))) => {
                let end = chars.get(k).map_or(text.len(), |x| x.0);
                found.push((chars[i].0, end));
                i = k;
            }
            _ => i += 1,
        }
    }
    found
}

/// Whether the token sequence `words` (lower case) starts at token `at`, each gap between two of
/// its words being only spaces or hyphens (so `cruelty-free` matches `cruelty free`).
pub fn phrase_at(text: &str, toks: &[Token], at: usize, words: &[&str]) -> bool {
    if words.is_empty() || at + words.len() > toks.len() {
        return false;
    }
    for (n, w) in words.iter().enumerate() {
        let t = &toks[at + n];
        if t.lower != *w {
            return false;
        }
        if n > 0 {
            let gap = &text[toks[at + n - 1].end..t.start];
            if !gap.chars().all(|c| c == ' ' || c == '-' || c == '\u{a0}' || c == '‐' || c == '‑') || gap.len() > 3
            {
                return false;
            }
        }
    }
    true
}

/// A phrase's words as [`phrase_at`] compares them (`"oeko-tex"` → `["oeko", "tex"]`).
pub fn words_of(phrase: &str) -> Vec<String> {
    tokens(phrase).into_iter().map(|t| t.lower).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lowers(text: &str) -> Vec<String> {
        tokens(text).into_iter().map(|t| t.lower).collect()
    }

    #[test]
    fn words_numbers_and_scripts() {
        assert_eq!(
            lowers("It's $59.00, 1,000 pcs; 100% GOTS-certified."),
            ["it's", "59.00", "1,000", "pcs", "100", "gots", "certified"]
        );
        assert_eq!(lowers("Tシャツ 3枚"), ["t", "シ", "ャ", "ツ", "3", "枚"]);
        assert_eq!(lowers("قميص قطني، ناعم."), ["قميص", "قطني", "ناعم"]);
        assert_eq!(lowers("सूती टी-शर्ट।"), ["सूती", "टी", "शर्ट"]);
        assert_eq!(lowers("Ünïcödé — «ok»"), ["ünïcödé", "ok"]);
        assert!(lowers("").is_empty() && lowers("!!! … —").is_empty());
    }

    #[test]
    fn whole_word_search_in_any_case() {
        let text = "Cheap and cheerful, CHEAP! Cheaply made.";
        assert_eq!(find_ci(text, "cheap"), [(0, 5), (20, 25)]);
        assert_eq!(find_ci("A must-have tee", "must-have"), [(2, 11)]);
        assert_eq!(find_ci("Tシャツです", "シャツ"), [(1, 10)]);
        assert!(find_ci("abc", "").is_empty());
        assert_eq!(find_ci("İstanbul istanbul", "istanbul").len(), 1);
    }

    #[test]
    fn phrases_across_hyphens() {
        let text = "Cruelty-free, cruelty free; cruelty. Free";
        let toks = tokens(text);
        let w = ["cruelty", "free"];
        assert!(phrase_at(text, &toks, 0, &w) && phrase_at(text, &toks, 2, &w));
        assert!(!phrase_at(text, &toks, 4, &w));
    }
}
