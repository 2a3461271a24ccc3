//! The offline judge: spec checks with ffprobe, and a check that every shot shows its real photo.

use crate::config::Settings;
use crate::media::Media;
use crate::ports::{Check, Judge, ProviderError, ReelCut};
use async_trait::async_trait;
use image::DynamicImage;
use std::sync::Arc;

/// How close a shot's middle frame must be, in colour, to its reference photo (0..1).
pub const MIN_REFERENCE_SIMILARITY: f64 = 0.45;
/// Frames are compared as thumbnails this wide (the assembly's own thumbnails are).
const THUMBNAIL_WIDTH: u32 = crate::media::THUMBNAIL_WIDTH;
/// How loud the voice-over must be on average to count as audible.
pub const MIN_MEAN_VOLUME_DB: f64 = -40.0;

pub struct SpecJudge {
    media: Arc<Media>,
    settings: Settings,
}

impl SpecJudge {
    pub fn new(media: Arc<Media>, settings: Settings) -> Self {
        Self { media, settings }
    }

    fn err(&self, e: impl std::fmt::Display) -> ProviderError {
        ProviderError::Invalid { provider: self.name().into(), message: e.to_string() }
    }
}

fn check(name: &str, passed: bool, detail: String) -> Check {
    Check { name: name.into(), passed, score: if passed { 1.0 } else { 0.0 }, detail, shot: None }
}

#[async_trait]
impl Judge for SpecJudge {
    fn name(&self) -> &str {
        "spec-checks"
    }

    async fn judge(&self, cut: &ReelCut<'_>) -> Result<Vec<Check>, ProviderError> {
        let s = &self.settings;
        let probe = self.media.probe(&cut.video).await.map_err(|e| self.err(e))?;
        let mut checks = Vec::new();
        let mut reference_checks = None;
        checks.push(check(
            "container",
            probe.format.contains("mp4") && probe.faststart,
            format!("{} with the index {}", probe.format, if probe.faststart { "first (faststart)" } else { "last" }),
        ));
        match &probe.video {
            Some(v) => {
                checks.push(check(
                    "resolution",
                    v.width == s.width && v.height == s.height,
                    format!("{}x{}, wanted {}x{}", v.width, v.height, s.width, s.height),
                ));
                checks.push(check(
                    "video_codec",
                    v.codec == "h264" && v.pix_fmt == "yuv420p",
                    format!("{} {}, wanted h264 yuv420p", v.codec, v.pix_fmt),
                ));
                checks.push(check(
                    "frame_rate",
                    (v.fps - s.fps as f64).abs() < 0.5,
                    format!("{:.2} fps, wanted {}", v.fps, s.fps),
                ));
            }
            None => checks.push(check("video", false, "no video stream".into())),
        }
        let planned = cut.reel.plan.duration_ms();
        let d = probe.duration_ms;
        checks.push(check(
            "duration",
            d >= s.min_reel_ms && d <= s.max_reel_ms && d.abs_diff(planned) <= 300,
            format!(
                "{:.2} s (planned {:.2} s, allowed {}–{} s)",
                d as f64 / 1000.0,
                planned as f64 / 1000.0,
                s.min_reel_ms / 1000,
                s.max_reel_ms / 1000
            ),
        ));
        match &probe.audio {
            Some(a) => {
                checks.push(check("audio_codec", a.codec == "aac", format!("{}, wanted aac", a.codec)));
                let (levels, references) = tokio::join!(self.media.levels_of(&cut.video), self.reference_checks(cut));
                reference_checks = Some(references?);
                let (l, volume) = levels.map_err(|e| self.err(e))?;
                // A voice-over normalised at planning must still be at the target in the reel.
                if let Some(planned) = cut.reel.voice_over.loudness {
                    let target = crate::media::loudness::TARGET_LUFS;
                    checks.push(check(
                        "loudness",
                        (l.integrated - target).abs() <= 1.0,
                        format!(
                            "{:.1} LUFS integrated, true peak {:.1} dBTP (voice-over {:.1} LUFS; wanted {target} ± 1)",
                            l.integrated, l.true_peak, planned.integrated
                        ),
                    ));
                }
                let audible = volume.is_some_and(|v| v > MIN_MEAN_VOLUME_DB);
                checks.push(check(
                    "voice_audible",
                    audible,
                    match volume {
                        Some(v) => format!("mean volume {v:.1} dB, wanted above {MIN_MEAN_VOLUME_DB} dB"),
                        None => "no measurable audio".into(),
                    },
                ));
            }
            None => checks.push(check("audio", false, "no audio stream".into())),
        }
        match reference_checks {
            Some(r) => checks.extend(r),
            None => checks.extend(self.reference_checks(cut).await?),
        }
        Ok(checks)
    }
}

impl SpecJudge {
    /// The middle frame of every shot must look like (in colour) the photo the shot was planned
    /// on. Frames are the assembly's thumbnails when it wrote them (no decode of the reel), else
    /// grabbed from the reel as thumbnails, all shots at once.
    async fn reference_checks(&self, cut: &ReelCut<'_>) -> Result<Vec<Check>, ProviderError> {
        let dir = self.media.scratch.dir("judge-").map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        let mut shots = Vec::new();
        for (shot, start) in cut.reel.plan.shots.iter().zip(cut.reel.plan.starts_ms()) {
            match cut.references.iter().find(|(r, _)| r.sha256 == shot.reference) {
                Some((_, photo)) => shots.push((shot.index, start + shot.duration_ms / 2, photo.clone())),
                None => out.push(Check {
                    name: "reference_shown".into(),
                    passed: false,
                    score: 0.0,
                    detail: format!("reference {} is missing", shot.reference.short(12)),
                    shot: Some(shot.index),
                }),
            }
        }
        let thumbnails = match &cut.thumbnails {
            Some(file) => {
                let times: Vec<u32> = shots.iter().map(|(_, at, _)| *at).collect();
                let reel = (self.settings.width, self.settings.height);
                let frames = self.media.thumbnails_at(file, reel, &times).await.map_err(|e| self.err(e))?;
                frames.into_iter().map(|f| Some(DynamicImage::ImageRgb8(f))).collect()
            }
            None => vec![None; shots.len()],
        };
        let mut scoring = tokio::task::JoinSet::new();
        for ((index, at, photo), thumbnail) in shots.into_iter().zip(thumbnails) {
            let (media, video) = (self.media.clone(), cut.video.clone());
            let frame = dir.path().join(format!("shot-{index}.png"));
            scoring.spawn(async move {
                let thumbnail = match thumbnail {
                    Some(t) => t,
                    None => {
                        media
                            .extract_frame_scaled(&video, at, Some(THUMBNAIL_WIDTH), &frame)
                            .await
                            .map_err(|e| e.to_string())?;
                        open_image(&frame)?
                    }
                };
                let score = tokio::task::spawn_blocking(move || -> Result<f64, String> {
                    Ok(colour_similarity(&thumbnail, &open_image(&photo)?))
                })
                .await
                .map_err(|e| e.to_string())??;
                Ok::<_, String>((index, score))
            });
        }
        let mut scores = Vec::new();
        while let Some(joined) = scoring.join_next().await {
            scores.push(joined.map_err(|e| self.err(e))?.map_err(|e| self.err(e))?);
        }
        scores.sort_by_key(|(index, _)| *index);
        out.extend(scores.into_iter().map(|(index, score)| Check {
            name: "reference_shown".into(),
            passed: score >= MIN_REFERENCE_SIMILARITY,
            score,
            detail: format!(
                "shot {index} looks {:.0}% like its photo in colour (at least {:.0}% needed)",
                score * 100.0,
                MIN_REFERENCE_SIMILARITY * 100.0
            ),
            shot: Some(index),
        }));
        out.sort_by_key(|c| c.shot);
        Ok(out)
    }
}

/// An image file decoded by its content, not its name (a copy from S3 has no extension).
fn open_image(p: &std::path::Path) -> Result<DynamicImage, String> {
    image::ImageReader::open(p)
        .and_then(|r| r.with_guessed_format())
        .map_err(image::ImageError::IoError)
        .and_then(|r| r.decode())
        .map_err(|e| format!("{}: {e}", p.display()))
}

/// Colour-histogram intersection (8 levels per channel) of two images, 0..1: blind to where
/// things are, so a camera move or a background fill barely changes it, a different product does.
pub fn colour_similarity(a: &DynamicImage, b: &DynamicImage) -> f64 {
    let (ha, hb) = (histogram(a), histogram(b));
    ha.iter().zip(&hb).map(|(x, y)| x.min(*y)).sum()
}

fn histogram(img: &DynamicImage) -> Vec<f64> {
    let small = img.thumbnail(96, 96).to_rgb8();
    let mut h = vec![0.0; 512];
    for p in small.pixels() {
        let [r, g, b] = p.0;
        h[(r as usize >> 5) * 64 + (g as usize >> 5) * 8 + (b as usize >> 5)] += 1.0;
    }
    let n = (small.width() * small.height()).max(1) as f64;
    h.iter_mut().for_each(|v| *v /= n);
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};

    fn solid(w: u32, h: u32, c: [u8; 3], patch: Option<[u8; 3]>) -> DynamicImage {
        let mut img = RgbImage::from_pixel(w, h, Rgb(c));
        if let Some(p) = patch {
            for y in h / 4..3 * h / 4 {
                for x in w / 4..3 * w / 4 {
                    img.put_pixel(x, y, Rgb(p));
                }
            }
        }
        DynamicImage::ImageRgb8(img)
    }

    #[test]
    fn similarity_survives_reframing_but_not_another_product() {
        let red_hoodie = solid(400, 350, [255, 255, 255], Some([200, 20, 30]));
        let reframed = solid(180, 320, [255, 255, 255], Some([200, 20, 30]));
        let blue_shoe = solid(400, 400, [255, 255, 255], Some([20, 60, 200]));
        assert!(colour_similarity(&red_hoodie, &reframed) > 0.8);
        assert!(colour_similarity(&red_hoodie, &blue_shoe) < colour_similarity(&red_hoodie, &reframed) - 0.2);
        assert!((colour_similarity(&red_hoodie, &red_hoodie) - 1.0).abs() < 1e-9);
    }
}
