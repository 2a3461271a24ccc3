//! Store text made safe for a terminal: control characters and bidi overrides shown as escapes ([`printable`]),
//! and which marks reorder text ([`reorders_text`]), for the sources that strip them.

use std::borrow::Cow;

/// `s` with every control character (C0, DEL, C1: escape sequences, carriage returns, bells, tabs,
/// newlines) and every bidirectional override written as a visible escape (`\x1b`, `\n`, `\u{202e}`),
/// so text from a store, a message or a record prints as itself and cannot move the cursor, clear
/// the screen, set the title or reorder a line. Text with none of them is returned as is.
pub fn printable(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) && (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:04x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Control characters, and the marks that reorder text.
fn needs_escape(c: char) -> bool {
    c.is_control() || reorders_text(c)
}

/// The marks that reorder what follows them: embeddings, overrides, isolates, and the left-to-right and
/// right-to-left marks.
pub fn reorders_text(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_print_as_text() {
        assert_eq!(printable("clear\x1b[2Jscreen"), "clear\\x1b[2Jscreen");
        assert_eq!(printable("a\tb\nc\rd\x07\x7f\u{9b}31m"), "a\\tb\\nc\\rd\\x07\\x7f\\x9b31m");
        assert_eq!(printable("abc\u{202e}fed"), "abc\\u{202e}fed");
    }

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        for s in ["pullover-hoodie", "日本語のTシャツ", "قميص", "café — 100 %", ""] {
            assert!(matches!(printable(s), Cow::Borrowed(b) if b == s), "{s:?}");
        }
    }
}
