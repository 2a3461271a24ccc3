//! Judging any clip against any photos (`truereel judge`, `truereel calibrate`): the evaluate
//! stage's shot checks on the whole clip as one shot, in any size, aspect and length, with or
//! without audio, under a brand's thresholds if given; as a reel, its spec checks too.

use super::product_match::{Catalogue, MatchPhoto, match_shot};
use super::shots::{Grounding, ShotFrames, judge_shot};
use super::spec::{EDGE_MS, ReelPlanned, SpecJudge, caption_band};
use crate::Thresholds;
use crate::config::Settings;
use crate::media::{Media, MediaError, THUMBNAIL_FPS, thumbnail_size};
use crate::ports::Check;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The verdict on one clip.
#[derive(Debug, Clone)]
pub struct ClipVerdict {
    pub passed: bool,
    pub checks: Vec<Check>,
    /// The photo the clip matched best (its shot checks are against it).
    pub reference: PathBuf,
}

impl ClipVerdict {
    /// One JSON object: `verdict` (`pass`/`fail`), the checks with their scores, the reasons.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "verdict": if self.passed { "pass" } else { "fail" },
            "reference": self.reference.display().to_string(),
            "checks": self.checks,
            "reasons": Check::reasons(&self.checks),
        })
    }
}

/// What else a clip is matched against by the product-match check ([`super::product_match`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Listing<'a> {
    /// The listing's other photos (the reference photos count as its gallery too).
    pub gallery: &'a [PathBuf],
    /// Photos of other products, each named by its file stem.
    pub others: &'a [PathBuf],
}

/// Judges `clip` against `photos` (the shot checks against each photo; the photo it fails least
/// is kept), the product-match check against `photos` alone, and, with `as_reel`, the reel's spec
/// checks. Input that cannot be judged (not a video, no photo, an unreadable photo) is
/// [`MediaError::BadInput`] naming the file.
pub async fn judge_clip(
    media: Arc<Media>,
    settings: &Settings,
    clip: &Path,
    photos: &[PathBuf],
    as_reel: bool,
) -> Result<ClipVerdict, MediaError> {
    judge_clip_under(media, settings, clip, photos, Listing::default(), as_reel, &Thresholds::default()).await
}

/// [`judge_clip`], the product-match check also against the rest of the listing's gallery and
/// other products' photos (`listing`), under a brand's `thresholds` (its kit's `[thresholds]`, or limits
/// `truereel calibrate` fitted) in place of the judge's defaults: the photo the clip fails least is
/// chosen by them too.
pub async fn judge_clip_under(
    media: Arc<Media>,
    settings: &Settings,
    clip: &Path,
    photos: &[PathBuf],
    listing: Listing<'_>,
    as_reel: bool,
    thresholds: &Thresholds,
) -> Result<ClipVerdict, MediaError> {
    if photos.is_empty() {
        return Err(MediaError::BadInput("no reference photo to judge against".into()));
    }
    let probe = media.probe(clip).await.map_err(|e| MediaError::BadInput(format!("{}: {e}", clip.display())))?;
    let video = probe
        .video
        .as_ref()
        .ok_or_else(|| MediaError::BadInput(format!("{} is not a video: no video stream", clip.display())))?;
    let still = probe.format == "image2" || probe.format.ends_with("_pipe") || video.frames.is_some_and(|n| n <= 1);
    if still {
        return Err(MediaError::BadInput(format!(
            "{} is not a video: a still image ({})",
            clip.display(),
            probe.format
        )));
    }
    let mut groundings = Vec::with_capacity(photos.len());
    for p in photos {
        let photo = p.clone();
        let opened =
            tokio::task::spawn_blocking(move || Grounding::open(&photo)).await.expect("decoding a photo panicked");
        groundings.push(Arc::new(opened.map_err(|e| MediaError::BadInput(format!("not a photo: {e}")))?));
    }
    // The references are decoded once, for the shot checks and the listing alike.
    let referenced: Vec<MatchPhoto> = photos
        .iter()
        .zip(&groundings)
        .map(|(p, g)| MatchPhoto::from_grounding(p.display().to_string(), g.clone()))
        .collect();
    let gallery: Vec<(String, PathBuf)> =
        listing.gallery.iter().map(|p| (p.display().to_string(), p.clone())).collect();
    let others: Vec<(String, PathBuf)> = (listing.others.iter())
        .map(|p| {
            (p.file_stem().map_or_else(|| p.display().to_string(), |s| s.to_string_lossy().into_owned()), p.clone())
        })
        .collect();
    let catalogue = tokio::task::spawn_blocking(move || -> Result<Catalogue, String> {
        let open = |v: Vec<(String, PathBuf)>| -> Result<Vec<MatchPhoto>, String> {
            v.into_iter().map(|(l, p)| MatchPhoto::open(l, &p)).collect()
        };
        let mut own = referenced;
        own.extend(open(gallery)?);
        Ok(Catalogue { own, others: open(others)? })
    })
    .await
    .expect("decoding a photo panicked")
    .map_err(|e| MediaError::BadInput(format!("not a photo: {e}")))?;
    let frames = media.sampled_frames(clip, THUMBNAIL_FPS, thumbnail_size(video.width, video.height)).await?;
    let step = 1000 / THUMBNAIL_FPS;
    let last = frames.len() as u32 * step;
    let shot = ShotFrames {
        index: 0,
        frames: (0..)
            .zip(frames)
            .map(|(k, f)| (k * step, f))
            .filter(|(t, _)| *t >= EDGE_MS && t + EDGE_MS < last)
            .collect(),
    };
    let captions = as_reel.then(|| caption_band(crate::CaptionPosition::Lower));
    let thresholds = thresholds.clone();
    let judged = tokio::task::spawn_blocking(move || {
        let judged = |g: &Grounding| {
            let mut checks = judge_shot(&shot, g, captions);
            thresholds.apply(&mut checks);
            checks
        };
        let best = groundings.iter().enumerate().map(|(i, g)| (i, judged(g))).min_by(|(_, a), (_, b)| {
            let fails = |c: &[Check]| c.iter().filter(|c| !c.passed).count();
            let score = |c: &[Check]| c.iter().map(|c| c.score).sum::<f64>();
            fails(a).cmp(&fails(b)).then(score(b).total_cmp(&score(a)))
        });
        (best, match_shot(&shot, &catalogue, captions))
    })
    .await
    .expect("judging panicked");
    let (best, mut checks) = judged.0.expect("at least one photo");
    checks.push(judged.1);
    if as_reel {
        let judge = SpecJudge::new(media.clone(), settings.clone());
        let planned = ReelPlanned { duration_ms: None, voiced: true };
        let mut spec = judge.reel_checks(clip, planned).await?;
        // A clip judged on its own comes without the caption file: the check says it is not measured.
        spec.push(judge.caption_area_check(None, probe.duration_ms).await?);
        spec.append(&mut checks);
        checks = spec;
    }
    Ok(ClipVerdict { passed: checks.iter().all(|c| c.passed), checks, reference: photos[best].clone() })
}
