//! The language a text is written in: by script first (kana is Japanese, Hangul Korean, ...), then,
//! for Latin script, by the common short words of each language.

/// The scripts told apart (Latin covers every Latin-alphabet language).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    Latin,
    Kana,
    Han,
    Hangul,
    Arabic,
    Hebrew,
    Cyrillic,
    Greek,
    Thai,
    Devanagari,
}

fn script_of(c: char) -> Option<Script> {
    let s = match c as u32 {
        0x3040..=0x30FF | 0x31F0..=0x31FF | 0xFF66..=0xFF9F => Script::Kana,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F => Script::Han,
        0x1100..=0x11FF | 0x3130..=0x318F | 0xAC00..=0xD7AF => Script::Hangul,
        0x0600..=0x06FF | 0x0750..=0x077F | 0x08A0..=0x08FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => Script::Arabic,
        0x0590..=0x05FF | 0xFB1D..=0xFB4F => Script::Hebrew,
        0x0400..=0x052F => Script::Cyrillic,
        0x0370..=0x03FF | 0x1F00..=0x1FFF => Script::Greek,
        0x0E00..=0x0E7F => Script::Thai,
        0x0900..=0x097F => Script::Devanagari,
        _ if c.is_alphabetic() && (c.is_ascii() || ('\u{C0}'..='\u{24F}').contains(&c)) => Script::Latin,
        _ => return None,
    };
    // Marks and digits inside a block are no letters.
    (c.is_alphabetic()).then_some(s)
}

/// Whether `c` is written without spaces between words (Han, kana, Thai): such text is measured in
/// characters ([`super::CHARS_PER_WORD`] to a word).
pub fn counts_by_chars(c: char) -> bool {
    matches!(script_of(c), Some(Script::Kana | Script::Han | Script::Thai))
}

/// Common short words by language: articles, conjunctions and prepositions a product description
/// can hardly do without. Words shared by several languages count for each.
const STOPWORDS: &[(&str, &[&str])] = &[
    (
        "en",
        &[
            "the", "and", "with", "of", "a", "an", "is", "in", "for", "to", "this", "that", "your", "it", "on", "from",
            "our", "you", "are", "made", "its", "at", "by", "or", "has",
        ],
    ),
    (
        "fr",
        &[
            "le", "la", "les", "et", "avec", "des", "du", "un", "une", "est", "pour", "en", "dans", "sur", "au", "aux",
            "ce", "cette", "votre", "vous", "nous", "qui", "très", "à", "ou", "son", "sa", "ses",
        ],
    ),
    (
        "de",
        &[
            "der", "die", "das", "und", "mit", "ein", "eine", "ist", "für", "aus", "den", "dem", "im", "zu", "von",
            "nicht", "sie", "wir", "auf", "sich", "ihr", "auch", "einem", "einen", "oder",
        ],
    ),
    (
        "es",
        &[
            "el", "la", "los", "las", "y", "con", "de", "un", "una", "es", "para", "en", "del", "por", "que", "su",
            "al", "muy", "está", "tu", "sus", "o",
        ],
    ),
    (
        "it",
        &[
            "il", "lo", "la", "gli", "le", "e", "con", "di", "un", "una", "è", "per", "in", "del", "della", "che",
            "da", "al", "dei", "delle", "molto", "ed", "nel", "nella",
        ],
    ),
    (
        "pt",
        &[
            "o", "a", "os", "as", "e", "com", "de", "um", "uma", "é", "para", "em", "do", "da", "dos", "das", "que",
            "não", "muito", "seu", "sua", "no", "na", "ou",
        ],
    ),
    (
        "nl",
        &[
            "de", "het", "een", "en", "met", "van", "is", "voor", "in", "op", "te", "dat", "die", "niet", "zijn",
            "uit", "je", "ook", "bij", "naar", "of",
        ],
    ),
];

/// The BCP 47 primary tag of the language `text` is written in (`en` when unsure).
///
/// The script with the most letters decides (a Han or kana character counts twice, as it carries
/// about as much as a Latin word's letters): Han with any kana is `ja`, Han alone `zh`, then `ko`,
/// `ar`, `he`, `ru`, `el`, `th`, `hi`. Latin text is scored by [`STOPWORDS`] (`en`, `fr`, `de`, `es`,
/// `it`, `pt`, `nl`), with a few letters only one of them uses as tie-breakers; no stopword at all
/// is `en`.
pub fn language_of(text: &str) -> &'static str {
    known_language(text).unwrap_or("en")
}

/// [`language_of`], but `None` when the text gives no evidence (no letters, or Latin script without
/// a single common word of a known language: "Pullover Hoodie").
pub fn known_language(text: &str) -> Option<&'static str> {
    let mut counts = [0usize; 10];
    let index = |s: Script| s as usize;
    for c in text.chars() {
        if let Some(s) = script_of(c) {
            let weight = if matches!(s, Script::Han | Script::Kana | Script::Hangul) { 2 } else { 1 };
            counts[index(s)] += weight;
        }
    }
    let cjk = counts[index(Script::Kana)] + counts[index(Script::Han)];
    let candidates = [
        (Script::Latin, counts[index(Script::Latin)]),
        (Script::Han, cjk),
        (Script::Hangul, counts[index(Script::Hangul)]),
        (Script::Arabic, counts[index(Script::Arabic)]),
        (Script::Hebrew, counts[index(Script::Hebrew)]),
        (Script::Cyrillic, counts[index(Script::Cyrillic)]),
        (Script::Greek, counts[index(Script::Greek)]),
        (Script::Thai, counts[index(Script::Thai)]),
        (Script::Devanagari, counts[index(Script::Devanagari)]),
    ];
    let (script, n) =
        candidates.iter().copied().fold((Script::Latin, 0), |best, c| if c.1 > best.1 { c } else { best });
    if n == 0 {
        return None;
    }
    Some(match script {
        Script::Han | Script::Kana if counts[index(Script::Kana)] > 0 => "ja",
        Script::Han | Script::Kana => "zh",
        Script::Hangul => "ko",
        Script::Arabic => "ar",
        Script::Hebrew => "he",
        Script::Cyrillic => "ru",
        Script::Greek => "el",
        Script::Thai => "th",
        Script::Devanagari => "hi",
        Script::Latin => return latin_language(text),
    })
}

/// The Latin-script language by stopwords; `None` on no evidence.
fn latin_language(text: &str) -> Option<&'static str> {
    let mut scores = [0usize; STOPWORDS.len()];
    let lower = text.to_lowercase();
    for word in lower.split(|c: char| !(c.is_alphanumeric() || c == '\'')).filter(|w| !w.is_empty()).take(2_000) {
        for (i, (_, words)) in STOPWORDS.iter().enumerate() {
            if words.contains(&word) {
                scores[i] += 2;
            }
        }
    }
    // Letters that point at one language settle near-ties.
    for (lang, letters) in [("de", "ßäöü"), ("es", "ñ¿¡"), ("pt", "ãõ"), ("fr", "œêèç"), ("it", "ò")] {
        if lower.chars().any(|c| letters.contains(c))
            && let Some(i) = STOPWORDS.iter().position(|(l, _)| *l == lang)
        {
            scores[i] += 1;
        }
    }
    let (best, score) = scores.iter().enumerate().fold((0, 0), |b, (i, s)| if *s > b.1 { (i, *s) } else { b });
    (score >= 2).then_some(STOPWORDS[best].0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_name_their_languages() {
        for (text, want) in [
            ("柔らかいコットンのTシャツです。", "ja"),
            ("カラー", "ja"),
            ("纯棉短袖T恤，舒适透气。", "zh"),
            ("부드러운 면 티셔츠입니다.", "ko"),
            ("قميص قطني ناعم بأكمام قصيرة.", "ar"),
            ("חולצת כותנה רכה.", "he"),
            ("Мягкая хлопковая футболка.", "ru"),
            ("Μαλακό βαμβακερό μπλουζάκι.", "el"),
            ("เสื้อยืดผ้าฝ้ายนุ่ม", "th"),
            ("मुलायम सूती टी-शर्ट।", "hi"),
        ] {
            assert_eq!(language_of(text), want, "{text}");
        }
    }

    #[test]
    fn latin_text_by_its_stopwords() {
        for (text, want) in [
            ("Pullover hooded sweatshirt with a front kangaroo pocket and ribbed cuffs.", "en"),
            ("Un sweat à capuche avec une poche kangourou et des poignets côtelés.", "fr"),
            ("Ein Kapuzenpullover mit einer Kängurutasche und gerippten Bündchen.", "de"),
            ("Sudadera con capucha y un bolsillo canguro, muy suave para el día.", "es"),
            ("Felpa con cappuccio e una tasca a marsupio, molto morbida per il giorno.", "it"),
            ("Moletom com capuz e um bolso canguru, muito macio para o dia.", "pt"),
            ("Een hoodie met een kangoeroezak en geribde boorden voor elke dag.", "nl"),
        ] {
            assert_eq!(language_of(text), want, "{text}");
        }
    }

    #[test]
    fn unsure_is_english() {
        for text in ["", "12345 !!!", "XL", "Pullover Hoodie", "😀🎉", "\u{0}\u{202e}"] {
            assert_eq!(language_of(text), "en", "{text:?}");
        }
        assert_eq!((known_language("Pullover Hoodie"), known_language("The hoodie")), (None, Some("en")));
        // A Latin brand name in Japanese copy leaves it Japanese.
        assert_eq!(language_of("TrueWear の オーガニックコットン Tシャツ"), "ja");
    }
}
