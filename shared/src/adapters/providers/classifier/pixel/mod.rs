//! An offline photo classifier: framing, backdrop, skin and texture from the pixels; alt text, file name and
//! gallery position as a prior. Figures and method: docs/classifier.md.

pub mod features;
mod hints;
pub mod model;
#[cfg(test)]
mod testutil;
#[cfg(any(test, feature = "testing"))]
pub mod training;

use crate::ports::{Classification, Classifier, PhotoHints};
use async_trait::async_trait;
use features::features;
use image::DynamicImage;
use model::{WEIGHTS, decide, scores};

/// Classifies from the pixels, with the hints as a prior.
#[derive(Debug, Clone, Copy, Default)]
pub struct PixelClassifier;

impl PixelClassifier {
    /// Classifies from the pixels alone.
    pub fn classify_pixels(image: &DynamicImage) -> Classification {
        decide(scores(&WEIGHTS, &features(image)))
    }
}

#[async_trait]
impl Classifier for PixelClassifier {
    fn name(&self) -> &str {
        "pixels"
    }

    async fn classify(&self, image: &DynamicImage, hints: &PhotoHints) -> Classification {
        let f = features(image);
        let pixels = scores(&WEIGHTS, &f);
        let add = hints::prior(hints);
        let class = decide([0, 1, 2].map(|i| pixels[i] + add[i]));
        tracing::debug!(kind = %class.kind, confidence = class.confidence, ?pixels, ?add, features = ?f, "Classified a photo.");
        class
    }
}

#[cfg(test)]
mod tests {
    use super::features::is_skin;
    use super::model::KINDS;
    use super::testutil::{knit_closeup, person_in_room, studio_flat};
    use super::*;
    use crate::PhotoKind;
    use image::{Rgb, RgbImage};
    use std::path::Path;

    fn classify(image: &DynamicImage, hints: &PhotoHints) -> Classification {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(PixelClassifier.classify(image, hints))
    }

    fn hints(alt: Option<&str>, file_name: Option<&str>) -> PhotoHints {
        PhotoHints { alt: alt.map(str::to_string), file_name: file_name.map(str::to_string), position: Some(2) }
    }

    #[test]
    fn a_garment_on_a_light_backdrop_is_flat() {
        let img = studio_flat();
        let f = features(&img);
        assert!(f.touch.iter().all(|t| *t < 0.01), "{f:?}");
        assert!(f.background > 0.5, "{f:?}");
        let c = classify(&img, &PhotoHints::default());
        assert_eq!(c.kind, PhotoKind::Flat, "{f:?}");
        assert!(c.confidence > 0.5, "{c:?}");
    }

    #[test]
    fn fabric_filling_the_frame_is_a_detail() {
        // Dark and light yarn: the light one must not pass for an empty backdrop.
        for base in [[40.0, 110.0, 60.0], [250.0, 245.0, 235.0]] {
            let img = knit_closeup(base);
            let f = features(&img);
            assert!(f.touch.iter().all(|t| *t > 0.9), "{base:?}: {f:?}");
            let c = classify(&img, &PhotoHints::default());
            assert_eq!(c.kind, PhotoKind::Detail, "{base:?}: {f:?}");
        }
    }

    #[test]
    fn a_person_with_face_and_arms_is_model_worn() {
        let img = person_in_room();
        let f = features(&img);
        assert!(f.head_skin > 0.3 && f.touch[1] > 0.1, "{f:?}");
        let c = classify(&img, &PhotoHints::default());
        assert_eq!(c.kind, PhotoKind::ModelWorn, "{f:?}");
    }

    #[test]
    fn the_same_garment_without_the_face_and_arms_is_not_model_worn() {
        // The person's shape with the skin painted over in the shirt colour: skin carries the call.
        let mut img = person_in_room().to_rgb8();
        for p in img.pixels_mut() {
            if is_skin([f32::from(p[0]), f32::from(p[1]), f32::from(p[2])]) {
                *p = Rgb([60, 90, 170]);
            }
        }
        let c = classify(&DynamicImage::ImageRgb8(img), &PhotoHints::default());
        assert_ne!(c.kind, PhotoKind::ModelWorn);
    }

    #[test]
    fn tiny_and_odd_images_do_not_panic() {
        for (w, h) in [(1, 1), (3, 200), (200, 3), (5, 5)] {
            let img = DynamicImage::ImageRgb8(RgbImage::from_pixel(w, h, Rgb([250, 250, 250])));
            let c = classify(&img, &PhotoHints::default());
            assert!((0.0..=1.0).contains(&c.confidence));
        }
    }

    #[test]
    fn alt_words_win_over_the_pixels() {
        let flat = studio_flat();
        let cases = [
            ("Close-up of the chunky knit texture", PhotoKind::Detail),
            ("Macro shot of the buckle", PhotoKind::Detail),
            ("Woman wearing a short white dress outdoors", PhotoKind::ModelWorn),
            ("Model wears size S", PhotoKind::ModelWorn),
            // Several kinds named: the stronger wins.
            ("Person wearing the hoodie with hands in the front pocket", PhotoKind::ModelWorn),
            ("Close-up detail of the model's collar", PhotoKind::Detail),
        ];
        for (alt, want) in cases {
            let c = classify(&flat, &hints(Some(alt), None));
            assert_eq!(c.kind, want, "{alt:?}");
            assert!(c.confidence > 0.5, "{alt:?}: {c:?}");
        }
        let c = classify(&knit_closeup([40.0, 110.0, 60.0]), &hints(Some("Blue slip-on sneaker, side view"), None));
        assert_eq!(c.kind, PhotoKind::Flat);
    }

    #[test]
    fn the_file_name_is_used_when_the_alt_says_nothing_and_the_alt_wins_over_it() {
        let img = studio_flat();
        let c = classify(&img, &hints(Some("Green beanie"), Some("photos/beanie-green-detail.jpg?v=3")));
        assert_eq!(c.kind, PhotoKind::Detail);
        let c = classify(&img, &hints(None, Some("bustier-top_model.jpg")));
        assert_eq!(c.kind, PhotoKind::ModelWorn);
        let c = classify(&knit_closeup([40.0, 110.0, 60.0]), &hints(Some("Person wearing it"), Some("tee-flat.jpg")));
        assert_eq!(c.kind, PhotoKind::ModelWorn);
    }

    #[test]
    fn hints_agreeing_with_the_pixels_raise_the_confidence() {
        let img = studio_flat();
        let alone = classify(&img, &PhotoHints::default());
        let agreed = classify(&img, &hints(Some("Red tee, front"), Some("tee-red-flat.jpg")));
        assert_eq!(agreed.kind, PhotoKind::Flat);
        assert!(agreed.confidence > alone.confidence, "{alone:?} {agreed:?}");
    }

    /// The demo store's photos with their labels and alt texts.
    fn demo_store() -> Vec<(String, PhotoKind, Option<String>, DynamicImage)> {
        let store = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/store");
        let catalog: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(store.join("products.json")).unwrap()).unwrap();
        let alt_of = |file: &str| {
            catalog["products"].as_array().unwrap().iter().flat_map(|p| p["images"].as_array().unwrap()).find_map(|i| {
                (i["src"].as_str() == Some(file)).then(|| i["alt"].as_str().map(str::to_string)).flatten()
            })
        };
        let labels = std::fs::read_to_string(store.join("labels.csv")).unwrap();
        labels
            .lines()
            .skip(1)
            .map(|line| {
                let (file, kind) = line.split_once(',').unwrap();
                let kind = KINDS.into_iter().find(|k| k.as_str() == kind.trim()).unwrap();
                let image = image::open(store.join(file)).unwrap();
                (file.to_string(), kind, alt_of(file), image)
            })
            .collect()
    }

    /// Pixels alone: the eight studio shots must all be flat; the outdoor model and close-up shots
    /// (no backdrop, mostly no face) are the hard part, see docs/classifier.md.
    #[test]
    fn demo_store_photos_from_pixels_alone() {
        /// Measured 12 of 15 (all 8 flats, 2 of 4 model-worn, 2 of 3 details; see the docs), with
        /// one photo of margin; a drop below this is a regression.
        const FLOOR: usize = 11;
        let photos = demo_store();
        assert_eq!(photos.len(), 15);
        let mut right = 0;
        let mut report = String::new();
        for (file, want, _, image) in &photos {
            let c = classify(image, &PhotoHints::default());
            right += usize::from(c.kind == *want);
            report += &format!("{file}: {want} -> {} ({:.2})\n", c.kind, c.confidence);
            if *want == PhotoKind::Flat {
                assert_eq!(c.kind, PhotoKind::Flat, "{file}");
            }
        }
        println!("demo store, pixels alone: {right}/{}\n{report}", photos.len());
        assert!(right >= FLOOR, "{right}/{} below {FLOOR}\n{report}", photos.len());
    }

    #[test]
    fn demo_store_photos_with_their_alt_texts_and_file_names() {
        for (file, want, alt, image) in demo_store() {
            let c = classify(&image, &PhotoHints { alt, file_name: Some(file.clone()), position: None });
            assert_eq!(c.kind, want, "{file}");
        }
    }

    #[test]
    fn is_named_pixels() {
        assert_eq!(PixelClassifier.name(), "pixels");
    }
}
