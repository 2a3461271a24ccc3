//! The hints as a prior: alt text, file name and gallery position added to the pixel scores.

use super::model::KINDS;
use crate::PhotoKind;
use crate::ports::PhotoHints;

/// Added to the score of the kind the alt text names: larger than the pixel scores' usual spread
/// (a few units), so the words win unless the pixels are all but certain.
const ALT_PRIOR: f32 = 8.0;
/// Added to the score of the kind the file name names: file names are reused and less careful than alt text.
const FILE_NAME_PRIOR: f32 = 5.0;
/// Taken from the detail score of a gallery's first photo: stores lead with the whole product.
const FIRST_POSITION_DETAIL_PENALTY: f32 = 1.0;

/// Words per kind, strongest kind first: a close-up of a worn garment is a detail, a model seen
/// from the front is model-worn.
const WORDS: &[(PhotoKind, &[&str])] = &[
    (PhotoKind::Detail, &["closeup", "close up", "detail", "details", "texture", "macro", "zoom", "zoomed"]),
    (
        PhotoKind::ModelWorn,
        &[
            "model",
            "models",
            "worn",
            "wearing",
            "wears",
            "person",
            "woman",
            "women",
            "man",
            "men",
            "on model",
            "lifestyle",
        ],
    ),
    (PhotoKind::Flat, &["flat", "flatlay", "front", "back", "side", "studio", "pair", "top", "packshot", "mannequin"]),
];

/// The kind the words name, if any: phrases are matched on whole words, case-insensitively.
fn kind_from_words(text: &str) -> Option<PhotoKind> {
    let normal: String =
        text.chars().map(|c| if c.is_alphanumeric() { c.to_ascii_lowercase() } else { ' ' }).collect::<String>();
    let padded = format!(" {} ", normal.split_whitespace().collect::<Vec<_>>().join(" "));
    WORDS.iter().find(|(_, words)| words.iter().any(|w| padded.contains(&format!(" {w} ")))).map(|(kind, _)| *kind)
}

/// The last path segment without query or extension (`photos/tee-back.jpg?v=2` → `tee-back`).
fn file_stem(name: &str) -> &str {
    let name = name.split(['?', '#']).next().unwrap_or(name);
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    last.rsplit_once('.').map(|(stem, _)| stem).filter(|s| !s.is_empty()).unwrap_or(last)
}

/// What the hints add to each kind's score, in [`KINDS`] order.
pub(super) fn prior(hints: &PhotoHints) -> [f32; 3] {
    let mut add = [0.0f32; 3];
    let mut name = |kind: Option<PhotoKind>, weight: f32| {
        if let Some(i) = kind.and_then(|k| KINDS.iter().position(|x| *x == k)) {
            add[i] += weight;
        }
    };
    name(hints.alt.as_deref().and_then(kind_from_words), ALT_PRIOR);
    name(hints.file_name.as_deref().map(file_stem).and_then(kind_from_words), FILE_NAME_PRIOR);
    if hints.position == Some(1) {
        add[2] -= FIRST_POSITION_DETAIL_PENALTY;
    }
    add
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_gallery_position_leans_away_from_detail() {
        let none = prior(&PhotoHints::default());
        let first = prior(&PhotoHints { position: Some(1), ..PhotoHints::default() });
        assert!(first[2] < none[2]);
        assert_eq!(prior(&PhotoHints { position: Some(3), ..PhotoHints::default() }), none);
    }

    #[test]
    fn words_match_whole_words_only() {
        // "manual", "backdrop", "topaz", "womanly" and "sidebar" contain hint words but are not them.
        assert_eq!(kind_from_words("See the manual for the topaz backdrop, sidebar"), None);
        assert_eq!(kind_from_words("PHOTO_ON-MODEL"), Some(PhotoKind::ModelWorn));
        assert_eq!(kind_from_words("closeup"), Some(PhotoKind::Detail));
    }

    #[test]
    fn the_file_stem_drops_folders_query_and_extension() {
        assert_eq!(file_stem("photos/tee-back.jpg?v=2"), "tee-back");
        assert_eq!(file_stem("https://cdn.example/files/a.b.webp"), "a.b");
        assert_eq!(file_stem("plain"), "plain");
    }
}
