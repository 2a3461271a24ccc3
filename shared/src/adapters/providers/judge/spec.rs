//! The offline judge: the reel's spec (ffprobe, loudness) and every shot's checks against the
//! real photo it was grounded in ([`super::shots`]).

use super::shots::{Grounding, ShotFrames, judge_shot};
use crate::config::Settings;
use crate::media::{Media, THUMBNAIL_FPS, thumbnail_size};
use crate::ports::{Check, Judge, ProviderError, ReelCut};
use async_trait::async_trait;
use std::sync::Arc;

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
        let planned = ReelPlanned {
            duration_ms: Some(cut.reel.plan.duration_ms()),
            voiced: cut.reel.voice_over.loudness.is_some(),
        };
        let (spec, shots) = tokio::join!(self.reel_checks(&cut.video, planned), self.shot_checks(cut));
        let mut checks = spec.map_err(|e| self.err(e))?;
        checks.extend(shots?);
        Ok(checks)
    }
}

/// What a reel was planned to be, for its spec checks.
#[derive(Debug, Clone, Copy)]
pub struct ReelPlanned {
    /// Its planned length (checked within 0.3 s), when known.
    pub duration_ms: Option<u32>,
    /// Whether its voice-over was normalised (its loudness is then checked).
    pub voiced: bool,
}

impl SpecJudge {
    /// The reel-level checks: container, size, codecs, frame rate, length, the audio's presence,
    /// codec and loudness. A file ffprobe cannot read is [`MediaError`](crate::media::MediaError).
    pub async fn reel_checks(
        &self,
        video: &std::path::Path,
        planned: ReelPlanned,
    ) -> Result<Vec<Check>, crate::media::MediaError> {
        let s = &self.settings;
        let probe = self.media.probe(video).await?;
        let mut checks = Vec::new();
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
        let d = probe.duration_ms;
        let on_plan = planned.duration_ms.is_none_or(|p| d.abs_diff(p) <= 300);
        checks.push(check(
            "duration",
            d >= s.min_reel_ms && d <= s.max_reel_ms && on_plan,
            format!(
                "{:.2} s ({}allowed {}–{} s)",
                d as f64 / 1000.0,
                planned.duration_ms.map(|p| format!("planned {:.2} s, ", p as f64 / 1000.0)).unwrap_or_default(),
                s.min_reel_ms / 1000,
                s.max_reel_ms / 1000
            ),
        ));
        let Some(a) = &probe.audio else {
            checks.push(check("audio", false, "no audio stream".into()));
            return Ok(checks);
        };
        checks.push(check("audio_codec", a.codec == "aac", format!("{}, wanted aac", a.codec)));
        let (l, volume) = self.media.levels_of(video).await?;
        // A voice-over normalised at planning must still be at the target in the reel.
        if planned.voiced {
            let target = crate::media::loudness::TARGET_LUFS;
            checks.push(check(
                "loudness",
                (l.integrated - target).abs() <= 1.0,
                format!("{:.1} LUFS integrated, true peak {:.1} dBTP (wanted {target} ± 1)", l.integrated, l.true_peak),
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
        Ok(checks)
    }
}

impl SpecJudge {
    /// The shot-level checks ([`super::shots`]) of every shot, over the frames of the assembly's
    /// thumbnails (or the reel sampled at their rate and size when it has none), each shot against
    /// the photo it was grounded in.
    async fn shot_checks(&self, cut: &ReelCut<'_>) -> Result<Vec<Check>, ProviderError> {
        let size = thumbnail_size(self.settings.width, self.settings.height);
        let source = cut.thumbnails.as_ref().unwrap_or(&cut.video);
        let frames = self.media.sampled_frames(source, THUMBNAIL_FPS, size).await.map_err(|e| self.err(e))?;
        let plan = &cut.reel.plan;
        let mut by_shot: Vec<ShotFrames> =
            plan.shots.iter().map(|s| ShotFrames { index: s.index, frames: Vec::new() }).collect();
        let spans: Vec<(u32, u32)> =
            plan.starts_ms().into_iter().zip(&plan.shots).map(|(a, s)| (a, a + s.duration_ms)).collect();
        for (k, frame) in frames.into_iter().enumerate() {
            let t = (k as u64 * 1000 / THUMBNAIL_FPS as u64) as u32;
            if let Some(i) = spans.iter().position(|(a, b)| t >= a + EDGE_MS && t + EDGE_MS < *b) {
                by_shot[i].frames.push((t - spans[i].0, frame));
            }
        }
        let captions = caption_band(cut.reel.options.brand.caption.position);
        // Each photo decoded once, however many shots show it.
        let mut photos: Vec<(&crate::Sha256, Arc<Grounding>)> = Vec::new();
        for (r, path) in cut.references.iter().filter(|(r, _)| plan.shots.iter().any(|s| s.reference == r.sha256)) {
            let path = path.clone();
            let opened = tokio::task::spawn_blocking(move || Grounding::open(&path)).await.map_err(|e| self.err(e))?;
            photos.push((&r.sha256, Arc::new(opened.map_err(|e| self.err(e))?)));
        }
        let mut out = Vec::new();
        let mut judging = tokio::task::JoinSet::new();
        for (shot, frames) in plan.shots.iter().zip(by_shot) {
            let Some((_, grounding)) = photos.iter().find(|(sha, _)| **sha == shot.reference) else {
                // Not the shot's fault: making it again would not help, so the reel waits for a person.
                out.push(Check {
                    name: "reference_shown".into(),
                    passed: false,
                    score: 0.0,
                    detail: format!("shot {}: its reference {} is missing", shot.index, shot.reference.short(12)),
                    shot: None,
                });
                continue;
            };
            let grounding = grounding.clone();
            judging.spawn_blocking(move || judge_shot(&frames, &grounding, Some(captions)));
        }
        while let Some(joined) = judging.join_next().await {
            out.extend(joined.map_err(|e| self.err(e))?);
        }
        out.sort_by_key(|c| c.shot);
        Ok(out)
    }
}

/// Where the captions of `position` are drawn, as fractions of the height (two lines and their
/// outline; see [`crate::media::captions`]).
pub(crate) fn caption_band(position: crate::CaptionPosition) -> (f64, f64) {
    use crate::CaptionPosition::*;
    match position {
        Lower => (0.58, 0.76),
        Middle => (0.40, 0.60),
        Upper => (0.09, 0.28),
    }
}

/// Frames this close to a cut are left out of the shot on either side (a cut lands on a whole
/// frame of the reel, not exactly on the plan's millisecond).
pub(crate) const EDGE_MS: u32 = 120;
