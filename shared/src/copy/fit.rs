//! Copy cut to size: sentences and clauses of a text, its length in words (characters divided by
//! [`CHARS_PER_WORD`] for scripts written without spaces), and a line fitted into a word limit,
//! cut at a sentence, a clause or a word (never inside one) and ending in punctuation.

use super::CHARS_PER_WORD;
use super::language::counts_by_chars;
use super::tokens::{is_word_char, tokens};
use super::vocab::FUNCTION_WORDS;

/// Marks that end a sentence.
const SENTENCE_ENDS: &[char] = &['.', '!', '?', '…', '。', '！', '？', '؟', '।', '॥', '｡'];
/// Marks that end a sentence wherever they stand (scripts without spaces after them).
const CLOSED_ENDS: &[char] = &['。', '！', '？', '؟', '।', '॥', '｡'];
/// Quotes and brackets that may follow a sentence end.
const CLOSERS: &[char] = &['"', '\'', '”', '’', ')', ']', '»', '」', '』', '）', '】'];
/// Marks between clauses.
const CLAUSE_MARKS: &[char] = &[',', ';', ':', '—', '–', '、', '，', '；', '：', '،', '؛'];

/// How many words `text` is: space-separated words, plus the characters of Han, kana and Thai
/// divided by [`CHARS_PER_WORD`] (rounded up). Punctuation alone is no word.
pub fn word_count(text: &str) -> usize {
    let mut words = 0;
    let mut by_chars: usize = 0;
    for chunk in text.split_whitespace() {
        let mut spaced = false;
        for c in chunk.chars() {
            if counts_by_chars(c) {
                by_chars += 1;
            } else if is_word_char(c) {
                spaced = true;
            }
        }
        words += usize::from(spaced);
    }
    words + by_chars.div_ceil(CHARS_PER_WORD)
}

/// The sentences of `text`, trimmed, in order: split after `.`, `!`, `?` or `…` followed by a
/// space or the end (with any closing quote or bracket), after `。` and the like anywhere, and at
/// line breaks. A `.` between digits ends nothing.
pub fn sentences(text: &str) -> Vec<String> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let mut end = None;
        if c == '\n' || c == '\r' {
            end = Some(at);
        } else if SENTENCE_ENDS.contains(&c) {
            let mut j = i + 1;
            while j < chars.len() && (SENTENCE_ENDS.contains(&chars[j].1) || CLOSERS.contains(&chars[j].1)) {
                j += 1;
            }
            let followed_by_space = j >= chars.len() || chars[j].1.is_whitespace();
            if CLOSED_ENDS.contains(&c) || followed_by_space {
                end = Some(chars.get(j).map_or(text.len(), |x| x.0));
                i = j.saturating_sub(1);
            }
        }
        if let Some(end) = end {
            push_trimmed(&mut out, &text[start..end]);
            start = end;
        }
        i += 1;
    }
    push_trimmed(&mut out, &text[start.min(text.len())..]);
    out
}

fn push_trimmed(out: &mut Vec<String>, piece: &str) {
    let piece = piece.trim();
    if piece.chars().any(is_word_char) {
        out.push(piece.to_string());
    }
}

/// The clauses of a sentence: split at commas, semicolons, colons, dashes and their CJK and Arabic
/// forms (a comma between digits stays), trimmed, without the marks.
pub fn clauses(sentence: &str) -> Vec<String> {
    let chars: Vec<(usize, char)> = sentence.char_indices().collect();
    let mut out = Vec::new();
    let mut start = 0;
    for (i, &(at, c)) in chars.iter().enumerate() {
        let between_digits = (c == ',' || c == ':')
            && i > 0
            && chars[i - 1].1.is_numeric()
            && chars.get(i + 1).is_some_and(|x| x.1.is_numeric());
        if CLAUSE_MARKS.contains(&c) && !between_digits {
            push_trimmed(&mut out, &sentence[start..at]);
            start = at + c.len_utf8();
        }
    }
    push_trimmed(&mut out, &sentence[start.min(sentence.len())..]);
    out
}

/// `line` within `max_words` words: whole when it fits; else its first sentences that fit; else the
/// first sentence's first clauses that fit; else its first words (characters, for Han and kana).
/// Never cuts inside a word, does not end on a word like "and" or "the", and ends in punctuation
/// ([`finish`]). Empty when `max_words` is 0 or `line` has no words.
pub fn fit(line: &str, max_words: usize) -> String {
    let line = line.trim();
    if max_words == 0 || !line.chars().any(is_word_char) {
        return String::new();
    }
    if word_count(line) <= max_words {
        return finish(line);
    }
    let sents = sentences(line);
    let mut packed = String::new();
    for s in &sents {
        let candidate = if packed.is_empty() { s.clone() } else { format!("{packed} {s}") };
        if word_count(&candidate) > max_words {
            break;
        }
        packed = candidate;
    }
    if !packed.is_empty() {
        return finish(&packed);
    }
    let first = sents.first().map(String::as_str).unwrap_or(line);
    let mut packed = String::new();
    for clause in clauses(first) {
        let sep = if clause.chars().next().is_some_and(counts_by_chars) { "、" } else { ", " };
        let candidate = if packed.is_empty() { clause.clone() } else { format!("{packed}{sep}{clause}") };
        if word_count(&candidate) > max_words {
            break;
        }
        packed = candidate;
    }
    if word_count(&packed) >= max_words.min(3) {
        return finish(&packed);
    }
    finish(&cut_words(first, max_words))
}

/// The first words of `text` within `max_words`, without a trailing word like "and".
fn cut_words(text: &str, max_words: usize) -> String {
    let mut out = String::new();
    for chunk in text.split_whitespace() {
        let candidate = if out.is_empty() { chunk.to_string() } else { format!("{out} {chunk}") };
        if word_count(&candidate) <= max_words {
            out = candidate;
            continue;
        }
        // A chunk of Han or kana: as many characters as still fit.
        if chunk.chars().any(counts_by_chars) {
            let mut partial = if out.is_empty() { String::new() } else { format!("{out} ") };
            let base = partial.len();
            for c in chunk.chars() {
                partial.push(c);
                if word_count(&partial) > max_words {
                    partial.pop();
                    break;
                }
            }
            if partial.len() > base {
                out = partial;
            }
        }
        break;
    }
    // Cut where a phrase starts ("… knit body | and a ribbed band"), when that keeps half the words.
    let toks = tokens(&out);
    if word_count(text) > word_count(&out)
        && let Some(at) = toks
            .iter()
            .enumerate()
            .rev()
            .find(|(i, t)| *i > 0 && *i * 2 >= max_words && PHRASE_STARTS.contains(&t.lower.as_str()))
            .map(|(_, t)| t.start)
    {
        out.truncate(at);
    }
    let trimmed = strip_trailing_function_words(&out);
    if trimmed.chars().any(is_word_char) { trimmed } else { out }
}

/// Words a phrase starts with: a line cut short ends before one rather than inside its phrase.
const PHRASE_STARTS: &[&str] = &[
    "and", "or", "but", "with", "in", "of", "for", "from", "to", "on", "at", "by", "that", "which", "while", "across",
];

/// `text` without the English function words it ends on ("with the" in "Soft cotton with the").
pub(crate) fn strip_trailing_function_words(text: &str) -> String {
    let mut text = text.trim_end().to_string();
    loop {
        let toks = tokens(&text);
        let Some(last) = toks.last() else { return text };
        if !FUNCTION_WORDS.contains(&last.lower.as_str()) || toks.len() == 1 {
            return text;
        }
        let rest = text[last.end..].trim();
        if !rest.is_empty() && !rest.chars().all(|c| CLAUSE_MARKS.contains(&c) || c == '-') {
            return text;
        }
        text = text[..last.start].trim_end().to_string();
    }
}

/// A clause as a spoken line: trimmed, without a dangling comma, dash or unclosed bracket, first
/// letter in capitals (unless the word is written like "iPhone"), ending in a sentence mark in the
/// script's own form (`.`, `。`, `।`); Thai takes none.
pub fn finish(clause: &str) -> String {
    let mut s = clause.trim().to_string();
    // An opening bracket left without its closer: cut from it.
    for (open, close) in [('(', ')'), ('[', ']'), ('（', '）'), ('「', '」'), ('“', '”')] {
        if s.matches(open).count() > s.matches(close).count()
            && let Some(at) = s.rfind(open)
        {
            s.truncate(at);
        }
    }
    let trailing: &[char] = &[',', ';', ':', '—', '–', '-', '、', '，', '；', '：', '،', '؛', ' ', '(', '/', '&', '+'];
    let s = s.trim_end_matches(trailing).trim();
    if !s.chars().any(is_word_char) {
        return String::new();
    }
    let mut chars = s.chars();
    let first = chars.next().unwrap_or(' ');
    let second_upper = chars.clone().next().is_some_and(char::is_uppercase);
    let mut out = if first.is_lowercase() && !second_upper {
        format!("{}{}", first.to_uppercase(), chars.as_str())
    } else {
        s.to_string()
    };
    let last = out.chars().rev().find(|c| !CLOSERS.contains(c)).unwrap_or(' ');
    if !SENTENCE_ENDS.contains(&last) {
        let script_of_last = out.chars().rev().find(|c| is_word_char(*c)).unwrap_or('a');
        match script_of_last {
            c if ('\u{0E00}'..='\u{0E7F}').contains(&c) => {}
            c if counts_by_chars(c) => out.push('。'),
            c if ('\u{0900}'..='\u{097F}').contains(&c) => out.push('।'),
            _ => out.push('.'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_counted_by_spaces_or_characters() {
        assert_eq!(word_count("Soft cotton, ribbed cuffs."), 4);
        assert_eq!(word_count(" — "), 0);
        assert_eq!(word_count("柔らかいコットン"), 3);
        assert_eq!(word_count("T-shirt 3枚"), 3);
        assert_eq!(word_count("قميص قطني ناعم"), 3);
    }

    #[test]
    fn sentences_and_clauses() {
        assert_eq!(
            sentences("It costs 59.00 today. Soft! Really?\nYes \"quoted.\" 柔らかい。素材です"),
            ["It costs 59.00 today.", "Soft!", "Really?", "Yes \"quoted.\"", "柔らかい。", "素材です"]
        );
        assert_eq!(
            clauses("Soft, warm; 1,000 pieces — done、終わり"),
            ["Soft", "warm", "1,000 pieces", "done", "終わり"]
        );
        assert!(sentences("").is_empty() && clauses("...").is_empty());
    }

    #[test]
    fn lines_fit_at_sentences_clauses_then_words() {
        assert_eq!(fit("Soft cotton. Ribbed cuffs and hem.", 10), "Soft cotton. Ribbed cuffs and hem.");
        assert_eq!(fit("Soft cotton. Ribbed cuffs and hem.", 3), "Soft cotton.");
        assert_eq!(
            fit("A white circular logo is printed on the left chest, with ribbed cuffs and hem.", 10),
            "A white circular logo is printed on the left chest."
        );
        assert_eq!(fit("one two three four five six seven and eight", 7), "One two three four five six seven.");
        assert_eq!(
            fit("Slouchy beanie in dark green with a chunky textured knit body and a ribbed band.", 14),
            "Slouchy beanie in dark green with a chunky textured knit body."
        );
        assert_eq!(fit("Made with the", 2), "Made.");
        assert_eq!(fit("no ending", 5), "No ending.");
        assert_eq!(fit("iPhone case", 5), "iPhone case.");
        assert_eq!(fit("Pocket (with a flap and a button) on the side", 3), "Pocket.");
        assert_eq!(fit("anything", 0), "");
        assert_eq!(fit("!!!", 4), "");
    }

    #[test]
    fn scripts_without_spaces_fit_by_characters() {
        let ja = "柔らかいコットンのTシャツです。胸に小さなロゴがあります。";
        assert_eq!(fit(ja, 8), "柔らかいコットンのTシャツです。");
        let cut = fit("とても柔らかいコットンを使ったシンプルなTシャツ", 4);
        assert!(word_count(&cut) <= 4 && cut.ends_with('。'), "{cut}");
        assert_eq!(fit("मुलायम सूती टी-शर्ट", 5), "मुलायम सूती टी-शर्ट।");
        assert_eq!(fit("قميص قطني ناعم", 5), "قميص قطني ناعم.");
    }

    #[test]
    fn no_input_panics() {
        for text in ["", " ", "\u{0}", "a", "。", "(", "((((", "💥💥💥", &"x".repeat(5000), &"語".repeat(5000)]
        {
            for n in [0, 1, 2, 14] {
                let f = fit(text, n);
                assert!(word_count(&f) <= n.max(1) || n == 0, "{text:?} {n} → {f:?}");
            }
            let _ = (sentences(text), clauses(text), word_count(text), finish(text));
        }
    }
}
