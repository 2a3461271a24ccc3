//! An offline photo classifier: words in the alt text and file name first, a border check of the pixels second.
//!
//! Words win over pixels: "close-up" means a detail, "wearing"/"model" a model-worn photo,
//! "front"/"flat"/"side" a flat shot. Without a word, a uniform light border suggests a studio
//! or flat-lay photo; anything else is taken as model-worn, with low confidence.

use crate::PhotoKind;
use crate::ports::{Classification, Classifier, PhotoHints};
use async_trait::async_trait;
use image::{DynamicImage, GenericImageView};

/// Confidence when the alt text names the kind.
const ALT_CONFIDENCE: f32 = 0.8;
/// Confidence when only the file name does.
const FILE_NAME_CONFIDENCE: f32 = 0.75;
/// A uniform light border: probably a studio or flat-lay shot.
const BORDER_CONFIDENCE: f32 = 0.55;
/// Nothing to go on.
const FALLBACK_CONFIDENCE: f32 = 0.4;

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

/// Classifies from hints, then from the border of the pixels.
#[derive(Debug, Clone, Copy, Default)]
pub struct HintClassifier;

#[async_trait]
impl Classifier for HintClassifier {
    fn name(&self) -> &str {
        "hints"
    }

    async fn classify(&self, image: &DynamicImage, hints: &PhotoHints) -> Classification {
        let by_alt = hints.alt.as_deref().and_then(kind_from_words).map(|k| (k, ALT_CONFIDENCE, "alt"));
        let by_name = || {
            hints
                .file_name
                .as_deref()
                .map(file_stem)
                .and_then(kind_from_words)
                .map(|k| (k, FILE_NAME_CONFIDENCE, "file name"))
        };
        let (kind, confidence, from) = by_alt.or_else(by_name).unwrap_or_else(|| {
            if has_uniform_light_border(image) {
                (PhotoKind::Flat, BORDER_CONFIDENCE, "light border")
            } else {
                (PhotoKind::ModelWorn, FALLBACK_CONFIDENCE, "fallback")
            }
        });
        tracing::debug!(%kind, confidence, from, "Classified a photo.");
        Classification { kind, confidence }
    }
}

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

/// Whether the outer band of the image (the outer 6%) is light and even, as on a studio backdrop.
fn has_uniform_light_border(image: &DynamicImage) -> bool {
    let (w, h) = image.dimensions();
    if w < 8 || h < 8 {
        return false;
    }
    const STEPS: u32 = 48;
    let mut lumas = Vec::with_capacity((STEPS * 4 * 3) as usize);
    for depth in [0.01f32, 0.03, 0.06] {
        let dx = ((w as f32 * depth) as u32).min(w - 1);
        let dy = ((h as f32 * depth) as u32).min(h - 1);
        for i in 0..STEPS {
            let x = (i * (w - 1)) / (STEPS - 1);
            let y = (i * (h - 1)) / (STEPS - 1);
            for (px, py) in [(x, dy), (x, h - 1 - dy), (dx, y), (w - 1 - dx, y)] {
                let [r, g, b, _] = image.get_pixel(px, py).0;
                lumas.push(0.299 * f32::from(r) + 0.587 * f32::from(g) + 0.114 * f32::from(b));
            }
        }
    }
    let n = lumas.len() as f32;
    let mean = lumas.iter().sum::<f32>() / n;
    let sd = (lumas.iter().map(|l| (l - mean).powi(2)).sum::<f32>() / n).sqrt();
    // Most of the border within a narrow band of the mean: a product may touch the edge a little.
    let near = lumas.iter().filter(|l| (*l - mean).abs() < 18.0).count() as f32 / n;
    mean >= 200.0 && (sd < 14.0 || near > 0.9)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};

    fn classify(image: &DynamicImage, alt: Option<&str>, file_name: Option<&str>) -> Classification {
        let hints =
            PhotoHints { alt: alt.map(str::to_string), file_name: file_name.map(str::to_string), position: Some(1) };
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(HintClassifier.classify(image, &hints))
    }

    /// A dark garment-like shape on a near-white studio backdrop (with slight sensor noise).
    fn studio_shot() -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_fn(300, 400, |x, y| {
            if (60..240).contains(&x) && (50..350).contains(&y) {
                Rgb([150, 30, 40])
            } else {
                let n = ((x * 7 + y * 13) % 5) as u8;
                Rgb([245 - n, 244 - n, 246 - n])
            }
        }))
    }

    /// A busy full-frame scene: strong gradients and texture reaching the edges.
    fn scene() -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_fn(400, 300, |x, y| {
            Rgb([(x * 255 / 400) as u8, (y * 255 / 300) as u8, (((x / 10) ^ (y / 10)) * 20 % 256) as u8])
        }))
    }

    #[test]
    fn alt_words_name_the_kind() {
        let img = scene();
        let cases = [
            ("Close-up of the chunky knit texture", PhotoKind::Detail),
            ("Macro shot of the buckle", PhotoKind::Detail),
            ("Woman wearing a short white dress outdoors", PhotoKind::ModelWorn),
            ("Model wears size S", PhotoKind::ModelWorn),
            ("Blue slip-on sneaker, side view on white background", PhotoKind::Flat),
            ("Pair of sneakers seen from above", PhotoKind::Flat),
            // Several kinds named: the stronger wins.
            ("Person wearing the hoodie with hands in the front pocket", PhotoKind::ModelWorn),
            ("Close-up detail of the model's collar", PhotoKind::Detail),
        ];
        for (alt, want) in cases {
            let c = classify(&img, Some(alt), None);
            assert_eq!(c.kind, want, "{alt:?}");
            assert_eq!(c.confidence, ALT_CONFIDENCE, "{alt:?}");
        }
    }

    #[test]
    fn words_match_whole_words_only() {
        // "manual", "backdrop", "topaz", "womanly" and "sidebar" contain hint words but are not them.
        assert_eq!(kind_from_words("See the manual for the topaz backdrop, sidebar"), None);
        assert_eq!(kind_from_words("PHOTO_ON-MODEL"), Some(PhotoKind::ModelWorn));
        assert_eq!(kind_from_words("closeup"), Some(PhotoKind::Detail));
    }

    #[test]
    fn the_file_name_is_used_when_the_alt_says_nothing() {
        let img = scene();
        let c = classify(&img, Some("Green beanie"), Some("photos/beanie-green-detail.jpg?v=3"));
        assert_eq!((c.kind, c.confidence), (PhotoKind::Detail, FILE_NAME_CONFIDENCE));
        let c = classify(&img, None, Some("bustier-top_model.jpg"));
        assert_eq!(c.kind, PhotoKind::ModelWorn);
        let c = classify(&img, None, Some("crochet-dress_flat.jpg"));
        assert_eq!(c.kind, PhotoKind::Flat);
        // The alt wins over the file name.
        let c = classify(&img, Some("Person wearing it"), Some("tee-front-flat.jpg"));
        assert_eq!((c.kind, c.confidence), (PhotoKind::ModelWorn, ALT_CONFIDENCE));
    }

    #[test]
    fn the_file_stem_drops_folders_query_and_extension() {
        assert_eq!(file_stem("photos/tee-back.jpg?v=2"), "tee-back");
        assert_eq!(file_stem("https://cdn.example/files/a.b.webp"), "a.b");
        assert_eq!(file_stem("plain"), "plain");
    }

    #[test]
    fn without_hints_a_light_border_means_flat() {
        let c = classify(&studio_shot(), None, Some("IMG_0042.JPG"));
        assert_eq!((c.kind, c.confidence), (PhotoKind::Flat, BORDER_CONFIDENCE));
    }

    #[test]
    fn without_hints_a_busy_or_dark_frame_falls_back_to_model_worn() {
        let c = classify(&scene(), None, None);
        assert_eq!((c.kind, c.confidence), (PhotoKind::ModelWorn, FALLBACK_CONFIDENCE));
        let dark = DynamicImage::ImageRgb8(RgbImage::from_pixel(200, 200, Rgb([20, 20, 25])));
        assert_eq!(classify(&dark, None, None).kind, PhotoKind::ModelWorn);
        // Light but uneven (a bright outdoor scene) is not a studio backdrop.
        let uneven = DynamicImage::ImageRgb8(RgbImage::from_fn(200, 200, |x, y| {
            let v = if (x / 8 + y / 8) % 2 == 0 { 255 } else { 170 };
            Rgb([v, v, v])
        }));
        assert_eq!(classify(&uneven, None, None).kind, PhotoKind::ModelWorn);
    }

    #[test]
    fn the_demo_store_alt_texts_classify_as_labelled() {
        // Alt texts and labels of the demo store's 15 photos.
        let cases = [
            ("Red pullover hoodie with white drawstrings and chest logo, front view on white background", "flat"),
            ("Person wearing the red pullover hoodie with hands in the front pocket, torso view", "model_worn"),
            ("Black pullover hoodie with white chest logo, front view on white background", "flat"),
            ("Blue slip-on sneaker, side view on white background", "flat"),
            ("Pair of blue slip-on sneakers seen from above, showing the logo insoles", "flat"),
            ("Pair of blue slip-on sneakers, three-quarter view", "flat"),
            ("Pair of blue slip-on sneakers seen from behind, showing the heel labels", "flat"),
            ("Light grey T-shirt, front view with small blue chest text", "flat"),
            ("Light grey T-shirt, back view with large blue square print", "flat"),
            ("Woman wearing a short white off-shoulder dress outdoors, shoulders to knees", "model_worn"),
            (
                "Close-up of the ruffled off-shoulder bodice with scalloped eyelet-style trim and gathered waist",
                "detail",
            ),
            ("Person with long red hair wearing a dark green chunky-knit beanie, seen from behind", "model_worn"),
            ("Close-up of the chunky knit texture and ribbed band of the green beanie", "detail"),
            ("Person wearing light-wash ripped jeans with rolled hems and white sneakers, waist down", "model_worn"),
            ("Close-up of the distressed rips at the thighs and knees of the light-wash jeans", "detail"),
        ];
        for (alt, label) in cases {
            assert_eq!(kind_from_words(alt).map(PhotoKind::as_str), Some(label), "{alt:?}");
        }
    }

    #[test]
    fn is_named_hints() {
        assert_eq!(HintClassifier.name(), "hints");
    }
}
