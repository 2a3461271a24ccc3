//! The product-match validator, the check ad platforms run: does every shot still match its
//! listing's own stills (the whole gallery of the product, not only the photo the shot was made
//! from), and does nothing in it match another product of the store better?
//!
//! | check | fails when | threshold |
//! |---|---|---|
//! | `product_match` | a frame fits none of the listing's photos | [`MIN_OWN_FIT`] |
//! | `product_match` | another product's photo fits a frame clearly better than the listing's best | [`MAX_OTHER_GAIN`] |
//!
//! Each shot is looked at in [`FRAMES_PER_SHOT`] frames spread through it (the caption band left
//! out), each ranked against every photo of the gallery and every candidate photo of another
//! product (chosen cheaply by the stage: [`crate::stages::gallery`]) on a rough grid
//! ([`super::align::rough`]); the [`REFINED`] best of each side are then lined up as the
//! `structure` check lines up ([`super::align`]). Photos are decoded once per reel, at most 512
//! pixels a side.
//!
//! The check weighs two measurements (the listing's fit and another product's gain), so it carries
//! no single [`Measure`](crate::Measure) and a brand's `[thresholds]` do not set its limits.

use super::align::{Pyramid, Window, coarse, refined, rough, settled};
use super::cut::shot_frames;
use super::frames::{frame_stats, luma};
use super::shots::{BLACK_LUMA, BLACK_SPREAD, BLANK_SPREAD, Grounding, MIN_FIT, ShotFrames};
use super::spec::caption_band;
use crate::config::Settings;
use crate::media::Media;
use crate::ports::{Check, Judge, ProviderError, ReelCut};
use async_trait::async_trait;
use image::GrayImage;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Frames looked at per shot, spread through it: the four the `structure` check lines up (at 15,
/// 38, 62 and 85 % of the shot).
pub const FRAMES_PER_SHOT: usize = 4;
const AT: [f64; FRAMES_PER_SHOT] = [0.15, 0.38, 0.62, 0.85];
/// A frame fits one of its listing's photos at least this well (normalised cross-correlation of
/// luma, the `structure` check's [`MIN_FIT`]; the sample store's corpus, two photos per product:
/// faithful clips 0.90 and up against their best own photo, another product's clip 0.74 and under,
/// a cut to another product 0.75 and under).
pub const MIN_OWN_FIT: f64 = MIN_FIT;
/// Another product's photo may fit a frame at most this much better than the best photo of the
/// frame's own listing (NCC). Fitted on the sample store's corpus (`tests/corpus.rs`, every product
/// against every other's photos, `cargo bench -p truereel-tests --bench judge -- product-match
/// ../examples/store`): faithful clips, the best other photo minus the best own one at most −0.14;
/// another product's clip +0.26 and up, a cut to another product halfway +0.24 and up.
pub const MAX_OTHER_GAIN: f64 = 0.05;
/// Photos of each side (the listing's, the others') lined up per frame from their rough window:
/// the best by the rough grid.
pub const REFINED: usize = 1;
/// A frame whose listing fit comes out under [`MIN_OWN_FIT`] plus this is in doubt: it is lined
/// up again with the `structure` check's whole search, against the [`DOUBT_REFINED`] best photos
/// of its listing and the best other product's (a rough window can settle in the wrong place; the
/// corpus's faithful frames come out at 0.90 and up once those in doubt are lined up again).
pub const DOUBT: f64 = 0.05;
/// (see [`DOUBT`])
pub const DOUBT_REFINED: usize = 2;
/// Another product's best photo is lined up properly only when, on the rough grid, it fits a frame
/// better than the listing's best minus this margin (it could then fit more than
/// [`MAX_OTHER_GAIN`] better); the rest cannot. Fitted with [`MAX_OTHER_GAIN`] on the same corpus:
/// on the rough grid, faithful clips' best other product fits at most +0.01 better than their own
/// best, another product's clip +0.14 and up, a cut to another product +0.10 (another product is
/// lined up above −0.10).
pub const ROUGH_SLACK: f64 = 0.15;

/// A photo decoded for matching: whose it is, and the photo (its luma pyramid made once, shared
/// with the shot checks: [`Grounding::pyramid`]).
pub struct MatchPhoto {
    /// The other product's handle, or the listing photo's name.
    pub label: String,
    photo: Arc<Grounding>,
}

impl MatchPhoto {
    /// Reads and decodes the photo at `path` as people see it ([`Grounding::open`]); the error
    /// names the file.
    pub fn open(label: impl Into<String>, path: &Path) -> Result<Self, String> {
        Ok(Self::from_grounding(label, Arc::new(Grounding::open(path)?)))
    }

    /// The photo a shot check has already decoded.
    pub fn from_grounding(label: impl Into<String>, photo: Arc<Grounding>) -> Self {
        Self { label: label.into(), photo }
    }

    fn pyramid(&self) -> &Pyramid {
        self.photo.pyramid()
    }
}

/// What one reel's shots are matched against: its listing's photos and other products'.
pub struct Catalogue {
    pub own: Vec<MatchPhoto>,
    pub others: Vec<MatchPhoto>,
}

/// `photos` ranked for a frame on the rough grid ([`rough`]), best first: (index, rough window).
fn ranked(gray: &GrayImage, photos: &[MatchPhoto], skip: Option<(f64, f64)>) -> Vec<(usize, Window)> {
    let mut ranked: Vec<(usize, Window)> =
        photos.iter().enumerate().map(|(i, p)| (i, rough(gray, p.pyramid(), skip))).collect();
    ranked.sort_by(|a, b| b.1.fit.total_cmp(&a.1.fit));
    ranked
}

/// The best fit of a frame among the first `n` of `ranked`, and the photo's index: lined up from
/// the rough window ([`settled`]), or with `thorough` by the `structure` check's whole search
/// (coarse grid everywhere, then refined).
fn best_fit(
    gray: &GrayImage,
    photos: &[MatchPhoto],
    ranked: &[(usize, Window)],
    n: usize,
    thorough: bool,
    skip: Option<(f64, f64)>,
) -> Option<(f64, usize)> {
    (ranked.iter().take(n))
        .map(|(i, w)| {
            let p = photos[*i].pyramid();
            let window =
                if thorough { refined(gray, p, coarse(gray, p, skip), skip) } else { settled(gray, p, *w, skip) };
            (window.fit, *i)
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
}

/// One frame matched: when (ms into its shot), its best fit among its listing's photos (−1 with
/// none), its best fit among other products' photos with that product (when one came close enough
/// on the rough grid to be lined up: [`ROUGH_SLACK`]), and how much better the best other product
/// fits than the listing's best on the rough grid.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameMatch {
    pub at_ms: u32,
    pub own: f64,
    pub other: Option<(f64, String)>,
    pub rough_gain: f64,
    /// The nearest other product on the rough grid.
    pub nearest: Option<String>,
}

impl FrameMatch {
    /// How much better the best other product fits than the listing's best photo (−∞ when none
    /// was lined up).
    pub fn gain(&self) -> f64 {
        self.other.as_ref().map_or(f64::NEG_INFINITY, |(f, _)| f - self.own)
    }
}

/// [`FRAMES_PER_SHOT`] frames of `shot`, spread through it, matched against `catalogue` (black or
/// blank ones left to the frames check).
pub fn frame_matches(shot: &ShotFrames, catalogue: &Catalogue, captions: Option<(f64, f64)>) -> Vec<FrameMatch> {
    let Some(last) = shot.frames.len().checked_sub(1) else {
        return Vec::new();
    };
    let mut picked: Vec<usize> = AT.iter().map(|f| (last as f64 * f).round() as usize).collect();
    picked.dedup();
    picked
        .into_iter()
        .filter_map(|i| {
            let (at_ms, frame) = &shot.frames[i];
            let gray = luma(frame);
            let s = frame_stats(&gray);
            if s.spread < BLANK_SPREAD || (s.mean < BLACK_LUMA && s.spread < BLACK_SPREAD) {
                return None;
            }
            let own_ranked = ranked(&gray, &catalogue.own, captions);
            let mut own =
                best_fit(&gray, &catalogue.own, &own_ranked, REFINED, false, captions).map_or(-1.0, |(f, _)| f);
            // A frame in doubt is lined up as the structure check lines it up, with more photos.
            let doubt = own < MIN_OWN_FIT + DOUBT;
            if doubt {
                let thorough = best_fit(&gray, &catalogue.own, &own_ranked, DOUBT_REFINED, true, captions);
                own = own.max(thorough.map_or(-1.0, |(f, _)| f));
            }
            let others_ranked = ranked(&gray, &catalogue.others, captions);
            let top = |r: &[(usize, Window)]| r.first().map_or(-1.0, |(_, w)| w.fit);
            let rough_gain = top(&others_ranked) - top(&own_ranked);
            // Only another product that comes near the listing on the rough grid is lined up.
            let other = (doubt || rough_gain > MAX_OTHER_GAIN - ROUGH_SLACK)
                .then(|| best_fit(&gray, &catalogue.others, &others_ranked, REFINED, doubt, captions))
                .flatten()
                .map(|(f, i)| (f, catalogue.others[i].label.clone()));
            let nearest = others_ranked.first().map(|(i, _)| catalogue.others[*i].label.clone());
            Some(FrameMatch { at_ms: *at_ms, own, other, rough_gain, nearest })
        })
        .collect()
}

/// The `product_match` check of one shot. `captions`: the band of rows (fractions of the height)
/// captions are drawn in, if any.
pub fn match_shot(shot: &ShotFrames, catalogue: &Catalogue, captions: Option<(f64, f64)>) -> Check {
    let index = shot.index;
    let check = |passed: bool, score: f64, detail: String| Check {
        name: "product_match".into(),
        passed,
        score: score.clamp(0.0, 1.0),
        detail: format!("shot {}: {detail}", index + 1),
        shot: Some(index),
        measure: None,
    };
    let matched = frame_matches(shot, catalogue, captions);
    if matched.is_empty() {
        return check(true, 1.0, "no frame to match (black or blank: see the frames check)".into());
    }
    let at_s = |m: &FrameMatch| m.at_ms as f64 / 1000.0;
    fn other(m: &FrameMatch) -> Option<(f64, &str)> {
        m.other.as_ref().map(|(f, label)| (*f, label.as_str()))
    }
    let worst_gain = matched.iter().max_by(|a, b| a.gain().total_cmp(&b.gain())).expect("a frame");
    if worst_gain.gain() > MAX_OTHER_GAIN {
        let (fit, handle) = other(worst_gain).expect("a gain means another photo");
        return check(
            false,
            1.0 - worst_gain.gain(),
            format!(
                "at {:.1} s it looks more like product `{handle}` (fit {fit:.2}) than any photo of its own listing \
                 (best {:.2}; another product may fit at most {MAX_OTHER_GAIN} better)",
                at_s(worst_gain),
                worst_gain.own
            ),
        );
    }
    let worst_own = matched.iter().min_by(|a, b| a.own.total_cmp(&b.own)).expect("a frame");
    if worst_own.own < MIN_OWN_FIT {
        let nearest = match (other(worst_own), &worst_own.nearest) {
            (Some((fit, handle)), _) => format!("; the nearest other product, `{handle}`, fits {fit:.2}"),
            (None, Some(handle)) => format!("; the nearest other product, `{handle}`, does not fit either"),
            (None, None) => String::new(),
        };
        return check(
            false,
            worst_own.own,
            format!(
                "at {:.1} s it matches no photo of its listing (best fit {:.2}, at least {MIN_OWN_FIT}{nearest})",
                at_s(worst_own),
                worst_own.own
            ),
        );
    }
    let closest = match (other(worst_gain), &worst_gain.nearest) {
        (Some((fit, handle)), _) => format!("; the closest other product, `{handle}`, fits {fit:.2}"),
        (None, Some(handle)) => format!("; no other product comes close, the nearest is `{handle}`"),
        (None, None) => String::new(),
    };
    check(true, worst_own.own, format!("matches its listing's photos (fit at least {:.2}{closest})", worst_own.own))
}

/// The product-match judge over the evaluate stage's [`ReelCut`]: its gallery (and references)
/// as the listing's photos, its `others` as other products'.
pub struct ProductMatch {
    media: Arc<Media>,
    settings: Settings,
}

impl ProductMatch {
    pub fn new(media: Arc<Media>, settings: Settings) -> Self {
        Self { media, settings }
    }

    fn err(&self, e: impl std::fmt::Display) -> ProviderError {
        ProviderError::Invalid { provider: self.name().into(), message: e.to_string() }
    }
}

#[async_trait]
impl Judge for ProductMatch {
    fn name(&self) -> &str {
        "product-match"
    }

    async fn judge(&self, cut: &ReelCut<'_>) -> Result<Vec<Check>, ProviderError> {
        // The listing's photos: its gallery and the shots' references, each once.
        let mut photos: Vec<(bool, String, crate::Sha256, PathBuf)> = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (r, path) in cut.gallery.iter().chain(&cut.references) {
            if seen.insert(r.sha256.clone()) {
                photos.push((true, format!("photo {}", r.position), r.sha256.clone(), path.clone()));
            }
        }
        for (r, path) in cut.others.iter().filter(|(r, _)| !seen.contains(&r.sha256)) {
            photos.push((false, r.product.to_string(), r.sha256.clone(), path.clone()));
        }
        // Every photo decoded at once (each once for every judge: `ReelCut::photos`), while the
        // frames are read.
        let opening = async {
            let mut decoding = tokio::task::JoinSet::new();
            for (k, (own, label, sha, path)) in photos.into_iter().enumerate() {
                let shared = cut.photos.clone();
                decoding.spawn(async move {
                    (
                        k,
                        own,
                        Grounding::shared(&shared, &sha, &path).await.map(|g| MatchPhoto::from_grounding(label, g)),
                    )
                });
            }
            let mut opened = Vec::new();
            while let Some(joined) = decoding.join_next().await {
                match joined.map_err(|e| self.err(e))? {
                    (k, own, Ok(p)) => opened.push((k, own, p)),
                    // A listing photo that does not decode is missing from the match (the spec
                    // judge names a shot's own); another product's is left out.
                    (_, _, Err(e)) => tracing::warn!(error = %e, "A photo to match against does not decode."),
                }
            }
            opened.sort_by_key(|(k, _, _)| *k);
            let (own, others): (Vec<_>, Vec<_>) = opened.into_iter().partition(|(_, own, _)| *own);
            let strip = |v: Vec<(usize, bool, MatchPhoto)>| v.into_iter().map(|(_, _, p)| p).collect();
            Ok::<_, ProviderError>(Catalogue { own: strip(own), others: strip(others) })
        };
        let (shots, catalogue) = tokio::join!(shot_frames(&self.media, &self.settings, cut), opening);
        let (shots, catalogue) = (shots.map_err(|e| self.err(e))?, catalogue?);
        if catalogue.own.is_empty() {
            return Ok(vec![Check {
                name: "product_match".into(),
                passed: false,
                score: 0.0,
                detail: "no photo of its listing could be read to match the reel against".into(),
                shot: None,
                measure: None,
            }]);
        }
        let catalogue = Arc::new(catalogue);
        let captions = caption_band(cut.reel.options.brand.caption.position);
        let mut judging = tokio::task::JoinSet::new();
        for shot in shots {
            let catalogue = catalogue.clone();
            judging.spawn_blocking(move || match_shot(&shot, &catalogue, Some(captions)));
        }
        let mut out = Vec::new();
        while let Some(joined) = judging.join_next().await {
            out.push(joined.map_err(|e| self.err(e))?);
        }
        out.sort_by_key(|c| c.shot);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{RgbImage, imageops};

    /// A sample store photo (`examples/store/photos`).
    fn photo(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/store/photos").join(name)
    }

    /// A push-in over `name` as a reel's shot shows it: ten 9:16 frames at the thumbnails' size,
    /// each a window of the photo a little smaller than the last.
    fn push_in(name: &str, index: u32) -> ShotFrames {
        let g = Grounding::open(&photo(name)).unwrap();
        let (pw, ph) = g.photo.dimensions();
        let frames = (0..10u32)
            .map(|k| {
                let h = (ph as f64 * (0.95 - 0.02 * k as f64)).min(pw as f64 * 16.0 / 9.0);
                let w = h * 9.0 / 16.0;
                let (x, y) = ((pw as f64 - w) / 2.0, (ph as f64 - h) / 2.0);
                let window = imageops::crop_imm(&g.photo, x as u32, y as u32, w as u32, h as u32).to_image();
                let frame: RgbImage = imageops::resize(&window, 216, 384, imageops::FilterType::Triangle);
                (k * 100, frame)
            })
            .collect();
        ShotFrames { index, frames }
    }

    fn catalogue(own: &[&str], others: &[(&str, &str)]) -> Catalogue {
        Catalogue {
            own: own.iter().map(|n| MatchPhoto::open(*n, &photo(n)).unwrap()).collect(),
            others: others.iter().map(|(handle, n)| MatchPhoto::open(*handle, &photo(n)).unwrap()).collect(),
        }
    }

    const SHOES: (&str, &str) = ("blue-slip-on-sneakers", "slipon-blue-side.jpg");
    const TEE: (&str, &str) = ("grey-graphic-tee", "tee-grey-front-flat.jpg");
    const HOODIE: [&str; 3] = ["hoodie-red-front-flat.jpg", "hoodie-red-worn.jpg", "hoodie-black-front-flat.jpg"];

    #[test]
    fn a_shot_of_its_own_listing_passes_against_the_other_products() {
        let c = catalogue(&HOODIE, &[SHOES, TEE]);
        for name in ["hoodie-red-front-flat.jpg", "hoodie-red-worn.jpg"] {
            let check = match_shot(&push_in(name, 0), &c, Some((0.58, 0.76)));
            assert!(check.passed, "{name}: {check:?}");
            assert!(check.score >= MIN_OWN_FIT, "{check:?}");
            assert_eq!((check.name.as_str(), check.shot), ("product_match", Some(0)));
        }
    }

    #[test]
    fn a_shot_of_another_product_fails_and_names_it() {
        let c = catalogue(&HOODIE, &[SHOES, TEE]);
        let check = match_shot(&push_in(SHOES.1, 2), &c, Some((0.58, 0.76)));
        assert!(!check.passed, "{check:?}");
        assert_eq!(check.shot, Some(2), "the shot is made again");
        assert!(check.detail.starts_with("shot 3: at "), "{}", check.detail);
        assert!(check.detail.contains("looks more like product `blue-slip-on-sneakers`"), "{}", check.detail);
        assert!(check.detail.contains("than any photo of its own listing"), "{}", check.detail);
    }

    #[test]
    fn a_shot_that_fits_no_photo_of_its_listing_fails_even_with_no_other_product() {
        let c = catalogue(&HOODIE, &[]);
        let check = match_shot(&push_in(TEE.1, 1), &c, None);
        assert!(!check.passed, "{check:?}");
        assert!(check.detail.contains("matches no photo of its listing"), "{}", check.detail);
        assert!(check.score < MIN_OWN_FIT);
    }

    /// Any photo of the listing will do, not only the one the shot was made from.
    #[test]
    fn a_shot_matches_any_photo_of_its_gallery() {
        let c = catalogue(&["hoodie-red-front-flat.jpg", "hoodie-red-worn.jpg"], &[SHOES]);
        let check = match_shot(&push_in("hoodie-red-worn.jpg", 0), &c, None);
        assert!(check.passed, "{check:?}");
        let alone = catalogue(&["hoodie-red-front-flat.jpg"], &[SHOES]);
        let check = match_shot(&push_in("hoodie-red-worn.jpg", 0), &alone, None);
        assert!(!check.passed, "the worn photo is not the flat one: {check:?}");
    }

    #[test]
    fn black_frames_are_left_to_the_frames_check() {
        let c = catalogue(&HOODIE, &[SHOES]);
        let black = ShotFrames { index: 0, frames: (0..5).map(|k| (k * 100, RgbImage::new(216, 384))).collect() };
        let check = match_shot(&black, &c, None);
        assert!(check.passed && check.detail.contains("no frame to match"), "{check:?}");
    }
}
