//! The offline judge: the reel's spec (ffprobe, loudness) and every shot's checks against the
//! real photo it was grounded in ([`super::shots`]), under the brand kit's `[thresholds]` when it
//! sets any ([`crate::Thresholds`]; the reel's plan options carry the kit).
//!
//! The spec checks compare the file with the settings and the platforms' spec (size, codecs, frame
//! rate, length, loudness, audio, captions' place): they carry no [`Measure`](crate::Measure) and
//! take no brand threshold.

use super::cut::shot_frames;
use super::shots::{Grounding, judge_shot};
use crate::config::Settings;
use crate::media::Media;
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
    Check { name: name.into(), passed, score: if passed { 1.0 } else { 0.0 }, detail, shot: None, measure: None }
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
        let (spec, shots, captions) = tokio::join!(
            self.reel_checks(&cut.video, planned),
            self.shot_checks(cut),
            self.caption_area_check(cut.captions.as_deref(), cut.reel.plan.duration_ms())
        );
        let mut checks = spec.map_err(|e| self.err(e))?;
        checks.push(captions.map_err(|e| self.err(e))?);
        let mut shots = shots?;
        cut.reel.options.brand.thresholds.apply(&mut shots);
        checks.extend(shots);
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
        // The audio measured while the file is probed (a file with no audio fails it, unused).
        let (probe, levels) = tokio::join!(self.media.probe(video), self.media.levels_of(video));
        let probe = probe?;
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
        let (l, volume) = levels?;
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
        let by_shot = shot_frames(&self.media, &self.settings, cut).await.map_err(|e| self.err(e))?;
        let plan = &cut.reel.plan;
        let captions = caption_band(cut.reel.options.brand.caption.position);
        // Each photo decoded once, however many shots (and judges) show it, all at once.
        let mut opening = tokio::task::JoinSet::new();
        for (r, path) in cut.references.iter().filter(|(r, _)| plan.shots.iter().any(|s| s.reference == r.sha256)) {
            let (shared, sha, path) = (cut.photos.clone(), r.sha256.clone(), path.clone());
            opening.spawn(async move {
                let photo = Grounding::shared(&shared, &sha, &path).await;
                (sha, photo)
            });
        }
        let mut photos: Vec<(crate::Sha256, Arc<Grounding>)> = Vec::new();
        while let Some(opened) = opening.join_next().await {
            let (sha, photo) = opened.map_err(|e| self.err(e))?;
            photos.push((sha, photo.map_err(|e| self.err(e))?));
        }
        let mut out = Vec::new();
        let mut judging = tokio::task::JoinSet::new();
        for (shot, frames) in plan.shots.iter().zip(by_shot) {
            let Some((_, grounding)) = photos.iter().find(|(sha, _)| *sha == shot.reference) else {
                // Not the shot's fault: making it again would not help, so the reel waits for a person.
                out.push(Check {
                    name: "reference_shown".into(),
                    passed: false,
                    score: 0.0,
                    detail: format!("shot {}: its reference {} is missing", shot.index + 1, shot.reference.short(12)),
                    shot: None,
                    measure: None,
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
        Upper => (0.13, 0.32),
    }
}

/// Frames this close to a cut are left out of the shot on either side (a cut lands on a whole
/// frame of the reel, not exactly on the plan's millisecond).
pub(crate) const EDGE_MS: u32 = crate::media::CUT_EDGE_MS;

/// Platforms draw their own UI over a reel's top (the account, the sound) and bottom (the caption,
/// the buttons): captions must stay out of both. Meta Reels' guides (`providers.md` §4): the top
/// ~14 %...
pub const SAFE_TOP: f64 = 0.14;
/// ...and the bottom 20–35 % (about 340–420 px of 1920). This figure is enforced: our lower
/// captions end 73 % down (MarginV 27 %, [`crate::media::ass_captions`]), 2 % above it; 35 % would
/// refuse every reel captioned at the bottom.
pub const SAFE_BOTTOM: f64 = 0.25;
/// Both sides keep this margin (the lower captions keep a twelfth less their outline, 7.7 %).
pub const SAFE_SIDE: f64 = 0.06;
/// Captions are drawn this many times a second to find them (a phrase shows at least 400 ms).
const CAPTION_FPS: u32 = 5;
/// ...on a canvas this fraction of the reel's size.
const CAPTION_SCALE: u32 = 4;

/// Where a reel's captions are drawn at one time: the bounding box of their pixels, fractions of
/// the frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CaptionBox {
    pub at_ms: u32,
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
}

impl CaptionBox {
    /// The platform areas it reaches into, said for a person.
    fn intrusions(&self) -> Vec<String> {
        let pct = |v: f64| (v * 100.0).round();
        let mut out = Vec::new();
        if self.y0 < SAFE_TOP {
            out.push(format!("starts {}% down, inside the top {}%", pct(self.y0), pct(SAFE_TOP)));
        }
        if self.y1 > 1.0 - SAFE_BOTTOM {
            out.push(format!("reaches {}% down, inside the bottom {}%", pct(self.y1), pct(SAFE_BOTTOM)));
        }
        if self.x0 < SAFE_SIDE || self.x1 > 1.0 - SAFE_SIDE {
            out.push(format!(
                "spans {}–{}% across, inside the {}% side margins",
                pct(self.x0),
                pct(self.x1),
                pct(SAFE_SIDE)
            ));
        }
        out
    }
}

impl SpecJudge {
    /// Where the captions of `captions` (the ASS script the assembly burned in) are drawn on a
    /// `width` x `height` reel, [`CAPTION_FPS`] times a second over `duration_ms`: libass draws them
    /// (as the assembly does) on a magenta canvas a quarter of the reel's size, and every pixel that
    /// is not magenta is caption (text or outline).
    pub async fn caption_boxes(
        &self,
        captions: &std::path::Path,
        (width, height): (u32, u32),
        duration_ms: u32,
    ) -> Result<Vec<CaptionBox>, crate::media::MediaError> {
        use crate::media::filter_value;
        // Even sides: the colour source rounds odd ones.
        let (w, h) = (((width / CAPTION_SCALE) & !1).max(2), ((height / CAPTION_SCALE) & !1).max(2));
        let args: Vec<String> = vec![
            "-f".into(),
            "lavfi".into(),
            "-i".into(),
            format!("color=c=0xFF00FF:s={w}x{h}:r={CAPTION_FPS}:d={:.3}", duration_ms as f64 / 1000.0),
            "-vf".into(),
            format!("format=rgb24,ass=filename={}", filter_value(&captions.to_string_lossy())),
            "-f".into(),
            "rawvideo".into(),
            "-pix_fmt".into(),
            "rgb24".into(),
            "pipe:1".into(),
        ];
        let out = self.media.ffmpeg(&args, &format!("draw the captions of {}", captions.display())).await?;
        let size = (w * h * 3) as usize;
        let mut boxes = Vec::new();
        for (k, frame) in out.stdout.chunks_exact(size).enumerate() {
            let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
            for (i, p) in frame.chunks_exact(3).enumerate() {
                let off = (255 - p[0] as u32) + p[1] as u32 + (255 - p[2] as u32);
                if off > 60 {
                    let (x, y) = (i as u32 % w, i as u32 / w);
                    (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
                }
            }
            if x1 > 0 {
                boxes.push(CaptionBox {
                    at_ms: (k as u64 * 1000 / CAPTION_FPS as u64) as u32,
                    x0: x0 as f64 / w as f64,
                    y0: y0 as f64 / h as f64,
                    x1: x1 as f64 / w as f64,
                    y1: y1 as f64 / h as f64,
                });
            }
        }
        Ok(boxes)
    }

    /// `captions_safe_area`: every caption is drawn outside the areas platforms cover with their
    /// own UI ([`SAFE_TOP`], [`SAFE_BOTTOM`], [`SAFE_SIDE`]). Without the caption file (a clip
    /// judged on its own) it is not measured, and says so.
    pub async fn caption_area_check(
        &self,
        captions: Option<&std::path::Path>,
        duration_ms: u32,
    ) -> Result<Check, crate::media::MediaError> {
        let Some(captions) = captions else {
            return Ok(check(
                "captions_safe_area",
                true,
                "not measured: no caption file (a reel judged on its own; the evaluate stage measures the \
                 captions it burned in)"
                    .into(),
            ));
        };
        let size = (self.settings.width, self.settings.height);
        let boxes = self.caption_boxes(captions, size, duration_ms).await?;
        let bad: Vec<(&CaptionBox, Vec<String>)> =
            boxes.iter().map(|b| (b, b.intrusions())).filter(|(_, i)| !i.is_empty()).collect();
        let pct = |v: f64| (v * 100.0).round();
        let Some((first, what)) = bad.first() else {
            let detail = match boxes.iter().map(|b| (b.y0, b.y1)).reduce(|a, b| (a.0.min(b.0), a.1.max(b.1))) {
                Some((top, bottom)) => format!(
                    "captions drawn {}–{}% down, outside the top {}%, the bottom {}% and the {}% sides",
                    pct(top),
                    pct(bottom),
                    pct(SAFE_TOP),
                    pct(SAFE_BOTTOM),
                    pct(SAFE_SIDE)
                ),
                None => "no captions drawn".into(),
            };
            return Ok(check("captions_safe_area", true, detail));
        };
        let last = bad.last().map_or(first.at_ms, |(b, _)| b.at_ms);
        Ok(check(
            "captions_safe_area",
            false,
            format!(
                "the caption at {:.1} s {} (platforms draw their buttons and text there; {} of {} caption frames \
                 until {:.1} s)",
                first.at_ms as f64 / 1000.0,
                what.join(", "),
                bad.len(),
                boxes.len(),
                last as f64 / 1000.0
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WordTiming;

    fn words() -> Vec<WordTiming> {
        ["Soft", "cotton,", "made", "to", "last."]
            .iter()
            .enumerate()
            .map(|(i, w)| WordTiming { word: (*w).into(), start_ms: i as u32 * 500, end_ms: i as u32 * 500 + 450 })
            .collect()
    }

    /// The captions as the assembly writes them sit outside the platforms' areas; the same
    /// captions pushed to the bottom (MarginV 10) are refused, naming the time and the place.
    #[tokio::test]
    async fn captions_in_the_platforms_bottom_area_are_refused() {
        let settings = Settings::default();
        let judge = SpecJudge::new(Arc::new(Media::default()), settings.clone());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("captions.ass");
        let ass = crate::media::ass_captions(&words(), settings.width, settings.height);
        std::fs::write(&path, &ass).unwrap();
        let ok = judge.caption_area_check(Some(&path), 3000).await.unwrap();
        assert!(ok.passed, "{ok:?}");
        assert!(ok.detail.contains("captions drawn"), "{ok:?}");

        let margin = format!(",{},1\n", settings.height * 27 / 100);
        assert!(ass.contains(&margin), "{ass}");
        std::fs::write(&path, ass.replace(&margin, ",10,1\n")).unwrap();
        let low = judge.caption_area_check(Some(&path), 3000).await.unwrap();
        assert!(!low.passed, "{low:?}");
        assert!(low.detail.starts_with("the caption at 0.0 s reaches") && low.detail.contains("bottom 25%"), "{low:?}");

        // Every position the brand can choose is outside the platforms' areas.
        for position in [crate::CaptionPosition::Upper, crate::CaptionPosition::Middle] {
            let style = crate::CaptionStyle { position, ..crate::CaptionStyle::default() };
            let ass = crate::media::styled_ass_captions(&words(), settings.width, settings.height, &style, None);
            std::fs::write(&path, ass).unwrap();
            let placed = judge.caption_area_check(Some(&path), 3000).await.unwrap();
            assert!(placed.passed, "{position:?}: {placed:?}");
        }

        // A small reel (a quarter of it has odd sides) measures the same.
        let small = Settings { width: 270, height: 482, ..settings.clone() };
        let small_judge = SpecJudge::new(Arc::new(Media::default()), small);
        std::fs::write(&path, crate::media::ass_captions(&words(), 270, 482)).unwrap();
        let placed = small_judge.caption_area_check(Some(&path), 3000).await.unwrap();
        assert!(placed.passed, "{placed:?}");

        let none = judge.caption_area_check(None, 3000).await.unwrap();
        assert!(none.passed && none.detail.starts_with("not measured"), "{none:?}");
    }
}
