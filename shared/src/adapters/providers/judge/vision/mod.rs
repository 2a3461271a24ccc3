//! Frontier vision models as a second pair of eyes on every reel ([`VisionJudge`], one per
//! provider `TRUEREEL_JUDGE` names beside the local judge): each shot is compared with the real
//! photo it was made from, and the model is asked to look for reasons to say no.
//!
//! | provider | call | what it sees of the reel |
//! |---|---|---|
//! | `gemini` | `POST {base}/models/{model}:generateContent`, `x-goog-api-key` | the reel's MP4 inline (`inline_data`, `video/mp4`) with each shot's time range in the text; frames as the others when the request would be 100 MB or more |
//! | `openai` | `POST {base}/responses` (Responses API), `Authorization: Bearer` | `frames_per_shot` frames of each shot, `input_image` data URIs at `detail: "high"` |
//! | `anthropic` | `POST {base}/messages`, `x-api-key`, `anthropic-version: 2023-06-01` | `frames_per_shot` frames of each shot, base64 `image` blocks |
//!
//! **What is sent.** Only the truth and the evidence: each reference photo once (upright, over
//! white, JPEG, at most 1536 px a side), labelled with the shots made from it, and the reel (the
//! video, or frames sampled inside each shot at least [`CUT_EDGE_MS`] from its cuts, read from
//! `cut.video` at most 768 px a side, JPEG). Each shot's text gives its number, its time in the
//! reel, its photo and the camera move the plan asked for (in our words: "a push-in", "a pan from
//! left to right"), so the model can say whether the motion is plausible. Never the generator's
//! prompt, the shot's direction or its spoken line: the model must not be told what it should see.
//! The answer's schema ([`verdict::schema`]) is one entry per shot: `shot` (1-based),
//! `product_looks_right`, `motion_plausible`, `looks_artificial_or_warped` and `reasons`, strict,
//! with no other property (Gemini: `responseJsonSchema`; OpenAI: `text.format` `json_schema`
//! `strict: true`; Anthropic: `output_config.format` `json_schema`).
//!
//! **Limits** (`providers.md` update block and §2; [`Limits`] per provider): Gemini's inline
//! request under 100 MB; OpenAI about 50 MB of images per request (a 400); Anthropic 10 MB an image
//! (we keep to 5 MB), 32 MB a request, 8000 px a side (2000 px with more than 20 images). A
//! request over a limit is fitted ([`fit::fit`]): frames made smaller, then dropped (each shot
//! keeps one), then the photos made smaller; a photo is never dropped. What still cannot fit is
//! [`ProviderError::Invalid`] saying why, and nothing is sent.
//!
//! **Fail closed.** Anything but a whole, valid verdict is an error, never a pass:
//!
//! | answer | error |
//! |---|---|
//! | a refusal: OpenAI `refusal` item or `incomplete` by `content_filter`; Anthropic `stop_reason: "refusal"`; Gemini `promptFeedback.blockReason`, `finishReason` `SAFETY` and the like | [`ProviderError::Rejected`] `moderation: true` |
//! | prose, JSON off the schema (a property missing or extra, a string for a boolean), a shot missing, named twice or not in the reel, no text, an answer cut at the token limit | [`ProviderError::Invalid`] |
//! | 429 (its `Retry-After`, or Gemini's `RetryInfo` delay, as the hint), 408, 409, 425, 5xx, Anthropic's 529, a timeout or a broken connection | [`ProviderError::Retryable`] |
//! | any other 4xx | [`ProviderError::Rejected`] (moderation when the error says so) |
//!
//! The HTTP side and the answer envelopes are the LLM writers' ([`llm::Http`], `status_error`,
//! `refused`, `invalid` and each writer's `output_text`): one mapping for every call to these
//! providers. The key rides only in its header, never in a log or an error.
//!
//! **Checks.** Per shot, `<provider> product`, `<provider> motion` and `<provider> artifacts`
//! (`gemini product`, ...), about that shot, failed when the model says the product does not look
//! right, the motion is not plausible, or something looks artificial or warped, with the model's
//! reasons in the detail (`shot 2: gemini says the product does not match its photo: ...`).
//!
//! **Pricing** ([`Judge::quote`], before the call, from what will be sent; the same cut gives the
//! same quote): input tokens estimated as below, plus the most output allowed
//! (`4000 + 300 x shots`, at most 16,000, room for a thinking model's thoughts), times the configured
//! prices per million tokens, rounded up to the micro-dollar.
//!
//! - text: characters / 4 (the instructions, every text part and the schema);
//! - Gemini: 258 tokens per image, and for the video 258 per second (sampled at 1 fps) plus 32 per
//!   second of sound, whole seconds rounded up;
//! - OpenAI: per image the larger of its two documented rules ([`openai::image_tokens`]: 512 px
//!   tiles at `detail: "high"`, 170 each and 85 more; or 32 px patches, at most 1,536, x 1.62);
//! - Anthropic: per image width x height / 750.
//!
//! Photos are priced at the size they are sent (their recorded size, at most 1536 px a side) and
//! frames as 768 x 768 squares, so the quote is what the call may cost at most: fitting a request
//! to a limit only lowers it. Gemini is priced for the video when the reel and the photos' files
//! (in base64, with a megabyte for the text) are under its request limit, for frames otherwise: the
//! same estimate picks what the call sends.
//!
//! **Our reading, not documented:** the limits above where `providers.md` gives none (OpenAI's
//! 500 images and 20 MB a picture, Anthropic's 100 images, Gemini's 3,600 images), the margins we
//! keep under the documented ones, which OpenAI token rule a model uses (hence the larger of
//! both; a model with a larger patch multiplier, like a nano, is quoted low), and that Gemini
//! bills a video's sound at 32 tokens a second whether or not it is speech.

pub mod anthropic;
pub mod fit;
pub mod gemini;
pub mod openai;
pub mod verdict;

pub use fit::Limits;

use crate::adapters::providers::writer::llm::{self, Http};
use crate::adapters::providers::writer::{
    anthropic as anthropic_answer, gemini as gemini_answer, openai as openai_answer,
};
use crate::config::{JudgeConfig, Secret, VisionKind};
use crate::media::{CUT_EDGE_MS, Media};
use crate::ports::{Check, Judge, ProviderError, Quote, ReelCut};
use crate::{Motion, Usd};
use async_trait::async_trait;
use base64::Engine as _;
use fit::{Encoded, FRAME_LEVELS, PHOTO_LEVELS};
use image::RgbImage;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;

/// How many frames are read from the reel at once.
const FRAME_READS: usize = 4;

/// What the model is told to do (the same for every provider).
const SYSTEM: &str = "You inspect short vertical product videos (reels) before they are published. Every shot of \
a reel was made from one real photo of the product: the photo is the truth, and the shot must show that very \
product. Look for reasons to say no.\n\
For each shot decide:\n\
- product_looks_right: true only if the product in the shot matches its photo exactly: the same colour, shape, \
print or pattern, logo and any text on it, proportions and details, with nothing added, removed or changed. When \
you are not sure, false.\n\
- motion_plausible: true only if the shot moves like one plausible camera move (the move asked for, or a smooth \
equivalent) and the product moves as a real object would; false for jumps, jitter, morphing or a move that \
fights the one asked for.\n\
- looks_artificial_or_warped: true if anything melts, warps, bends, smears, flickers, duplicates or looks \
computer-made or unnatural (the product, hands, fabric, edges, the background), even briefly.\n\
- reasons: short reasons a person can check, naming what you saw; give at least one for every false \
product_looks_right or motion_plausible and every true looks_artificial_or_warped.\n\
Captions burned into the video were added on purpose: do not judge their words.\n\
Answer only with JSON matching the schema: one entry per shot, numbered from 1.";

/// A vision judge could not be set up; the error names the variable to set.
#[derive(Debug, thiserror::Error)]
pub enum VisionSetupError {
    #[error("{var} is not set: the {judge} judge needs it")]
    MissingKey { var: &'static str, judge: &'static str },
    #[error("{var} is {model:?}, which is not a model name the {judge} API can carry")]
    BadModel { var: String, model: String, judge: &'static str },
    #[error("setting up the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// One part of the message to the model, in order, its data in base64.
pub enum Part<'a> {
    Text(&'a str),
    Image(&'a str),
    Video(&'a str),
}

/// A vision model judging reels ([`Judge`]); see the module doc.
pub struct VisionJudge {
    kind: VisionKind,
    provider: &'static str,
    dialect: Dialect,
    http: Http,
    key: Secret,
    base_url: String,
    /// `provider:model`: verdicts are stored under it.
    name: String,
    usd_per_million_input: Usd,
    usd_per_million_output: Usd,
    frames_per_shot: u32,
    media: Arc<Media>,
    limits: Limits,
}

impl std::fmt::Debug for VisionJudge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VisionJudge")
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("frames_per_shot", &self.frames_per_shot)
            .finish_non_exhaustive()
    }
}

impl VisionJudge {
    /// The `kind` judge as `config` sets it up; a missing key names its variable, a model name
    /// the API cannot carry names `TRUEREEL_JUDGE_<NAME>_MODEL`.
    pub fn new(kind: VisionKind, config: &JudgeConfig, media: Arc<Media>) -> Result<Self, VisionSetupError> {
        let provider = kind.as_str();
        let endpoint = config.endpoint(kind);
        let key = endpoint
            .endpoint
            .key
            .clone()
            .ok_or(VisionSetupError::MissingKey { var: kind.key_var(), judge: provider })?;
        let given = endpoint.endpoint.model.trim();
        let bad = || VisionSetupError::BadModel {
            var: format!("TRUEREEL_JUDGE_{}_MODEL", provider.to_uppercase()),
            model: endpoint.endpoint.model.clone(),
            judge: provider,
        };
        let model = match kind {
            // The model goes into the URL's path: `models/` is added here, and nothing else may ride along.
            VisionKind::Gemini => {
                let m = given.trim_start_matches("models/");
                if m.is_empty() || !m.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')) {
                    return Err(bad());
                }
                m.to_string()
            }
            VisionKind::OpenAi | VisionKind::Anthropic => {
                if given.is_empty() || given.len() > 200 || given.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return Err(bad());
                }
                given.to_string()
            }
        };
        let limits = match kind {
            VisionKind::Gemini => gemini::LIMITS,
            VisionKind::OpenAi => openai::LIMITS,
            VisionKind::Anthropic => anthropic::LIMITS,
        };
        Ok(Self {
            kind,
            provider,
            dialect: Dialect { kind, model: model.clone() },
            http: Http::new(provider, config.timeout)?,
            key,
            name: format!("{provider}:{model}"),
            base_url: endpoint.endpoint.base_url.trim_end_matches('/').to_string(),
            usd_per_million_input: endpoint.usd_per_million_input,
            usd_per_million_output: endpoint.usd_per_million_output,
            frames_per_shot: config.frames_per_shot.max(1),
            media,
            limits,
        })
    }

    /// The same judge held to other limits (a proxy with lower ones; tests that show fitting
    /// without sending 100 MB).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The limits requests are fitted to.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    fn invalid(&self, message: impl Into<String>) -> ProviderError {
        llm::invalid(self.provider, message)
    }
}

/// The camera move the plan asked for, in our words (not the generator's direction).
fn asked(motion: Motion) -> &'static str {
    match motion {
        Motion::PushIn => "a push-in (the camera moves closer)",
        Motion::PullOut => "a pull-out (the camera moves back)",
        Motion::PanLeft => "a pan from right to left",
        Motion::PanRight => "a pan from left to right",
        Motion::TiltUp => "a tilt from bottom to top",
        Motion::TiltDown => "a tilt from top to bottom",
    }
}

/// One reference photo as sent.
#[derive(Debug, Clone)]
struct Photo {
    path: PathBuf,
    /// Its recorded size (for the quote; the file is decoded to send it).
    width: u32,
    height: u32,
    /// The shots (1-based) made from it, and those it is one more view for.
    main_of: Vec<u32>,
    more_of: Vec<u32>,
}

/// One shot as the model is told of it.
#[derive(Debug, Clone)]
struct ShotPlan {
    /// 0-based (the checks' shot).
    index: u32,
    start_ms: u32,
    end_ms: u32,
    /// Its photo and any more views of the product (indices into [`Layout::photos`]).
    photo: usize,
    more: Vec<usize>,
    asked: &'static str,
    /// Where its frames are read, ms in the reel.
    frames: Vec<u32>,
}

/// What a call sends for a cut, before any picture is read.
#[derive(Debug, Clone)]
struct Layout {
    photos: Vec<Photo>,
    shots: Vec<ShotPlan>,
    duration_ms: u32,
}

/// One part of the message, before the pictures are encoded.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Photo(usize),
    /// The `k`th frame sent of shot `s`.
    Frame(usize, usize),
    Video,
}

/// `n` times inside `start..end` (ms), spread evenly, each at least [`CUT_EDGE_MS`] from either
/// cut (the middle when the shot is too short for that).
fn frame_times(start: u32, end: u32, n: u32) -> Vec<u32> {
    let (lo, hi) = (start + CUT_EDGE_MS, end.saturating_sub(CUT_EDGE_MS));
    if hi <= lo {
        return vec![start + (end - start) / 2];
    }
    (0..n).map(|i| lo + ((hi - lo) as u64 * (2 * i as u64 + 1) / (2 * n as u64)) as u32).collect()
}

fn seconds(ms: u32) -> String {
    format!("{:.2} s", ms as f64 / 1000.0)
}

fn list(numbers: &[u32]) -> String {
    let words: Vec<String> = numbers.iter().map(u32::to_string).collect();
    match words.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

impl Layout {
    /// The photos and shots of `cut`; a shot whose photo is not among the cut's is unusable.
    fn of(cut: &ReelCut<'_>, frames_per_shot: u32, provider: &str) -> Result<Self, ProviderError> {
        let plan = &cut.reel.plan;
        let mut photos: Vec<Photo> = Vec::new();
        let mut index_of = |r: &crate::Reference, path: &PathBuf| -> usize {
            photos.iter().position(|p| p.path == *path).unwrap_or_else(|| {
                photos.push(Photo {
                    path: path.clone(),
                    width: r.width,
                    height: r.height,
                    main_of: vec![],
                    more_of: vec![],
                });
                photos.len() - 1
            })
        };
        let mut shots = Vec::with_capacity(plan.shots.len());
        for (shot, start) in plan.shots.iter().zip(plan.starts_ms()) {
            let n = shot.index + 1;
            let Some((r, path)) = cut.references.iter().find(|(r, _)| r.sha256 == shot.reference) else {
                return Err(llm::invalid(
                    provider,
                    format!(
                        "shot {n}: its photo {} is not among the cut's photos, so it cannot be judged",
                        shot.reference.short(12)
                    ),
                ));
            };
            let photo = index_of(r, path);
            let mut more = Vec::new();
            for sha in &shot.extra_references {
                let found = cut.references.iter().chain(&cut.gallery).find(|(r, _)| r.sha256 == *sha);
                if let Some((r, path)) = found {
                    let p = index_of(r, path);
                    if p != photo && !more.contains(&p) {
                        more.push(p);
                    }
                }
            }
            let end = start + shot.duration_ms;
            shots.push(ShotPlan {
                index: shot.index,
                start_ms: start,
                end_ms: end,
                photo,
                more,
                asked: asked(shot.motion),
                frames: frame_times(start, end, frames_per_shot),
            });
        }
        for (k, s) in shots.iter().enumerate() {
            photos[s.photo].main_of.push(k as u32 + 1);
            for &p in &s.more {
                photos[p].more_of.push(k as u32 + 1);
            }
        }
        if shots.is_empty() {
            return Err(llm::invalid(provider, "the reel's plan has no shot to judge"));
        }
        Ok(Self { photos, shots, duration_ms: plan.duration_ms() })
    }

    /// The message: the photos, then the video and the shots' times (`kept` is `None`), or each
    /// shot with the frames kept of it (their times in the reel).
    fn message(&self, kept: Option<&[Vec<u32>]>) -> Vec<Piece> {
        let n = self.shots.len();
        let mut out = vec![Piece::Text(format!(
            "This reel has {n} shot{}. Each shot was made from one real product photo; the photos below are the \
             truth.",
            if n == 1 { "" } else { "s" }
        ))];
        for (p, photo) in self.photos.iter().enumerate() {
            let mut roles = Vec::new();
            if !photo.main_of.is_empty() {
                roles.push(format!("the photo of shot {}", list(&photo.main_of)));
            }
            if !photo.more_of.is_empty() {
                roles.push(format!("another view of the same product for shot {}", list(&photo.more_of)));
            }
            out.push(Piece::Text(format!("Photo {} ({}):", p + 1, roles.join("; "))));
            out.push(Piece::Photo(p));
        }
        let describe = |k: usize, s: &ShotPlan| {
            let more = if s.more.is_empty() {
                String::new()
            } else {
                let others: Vec<u32> = s.more.iter().map(|p| *p as u32 + 1).collect();
                let (noun, verb) = if others.len() == 1 { ("photo", "shows") } else { ("photos", "show") };
                format!(" ({noun} {} {verb} the same product from other views)", list(&others))
            };
            format!(
                "Shot {}: from {} to {} of the reel, made from photo {}{more}; the camera was asked for {}.",
                k + 1,
                seconds(s.start_ms),
                seconds(s.end_ms),
                s.photo + 1,
                s.asked
            )
        };
        match kept {
            None => {
                out.push(Piece::Text(format!("The reel ({}, with its sound):", seconds(self.duration_ms))));
                out.push(Piece::Video);
                let shots: Vec<String> = self.shots.iter().enumerate().map(|(k, s)| describe(k, s)).collect();
                out.push(Piece::Text(shots.join("\n")));
            }
            Some(kept) => {
                for (k, s) in self.shots.iter().enumerate() {
                    let times = kept.get(k).map(Vec::as_slice).unwrap_or_default();
                    let at: Vec<String> = times.iter().map(|t| seconds(*t)).collect();
                    out.push(Piece::Text(format!(
                        "{} {} frame{} from inside the shot, at {}:",
                        describe(k, s),
                        times.len(),
                        if times.len() == 1 { "" } else { "s" },
                        at.join(", ")
                    )));
                    out.extend((0..times.len()).map(|f| Piece::Frame(k, f)));
                }
            }
        }
        out.push(Piece::Text(format!(
            "Judge each of the {n} shot{} against its photo. Look for reasons to say no.",
            if n == 1 { "" } else { "s" }
        )));
        out
    }
}

/// The most output tokens a call allows.
fn max_output_tokens(shots: usize) -> u32 {
    (4_000 + 300 * shots).min(16_000) as u32
}

/// How one provider's request is written (its body and its size), apart from the judge's HTTP
/// client and key, so it can be measured on a blocking thread.
#[derive(Debug, Clone)]
struct Dialect {
    kind: VisionKind,
    model: String,
}

impl Dialect {
    fn schema(&self, shots: usize) -> Value {
        verdict::schema(shots, self.kind == VisionKind::Gemini)
    }

    /// The request body for `pieces`, with the pictures' base64.
    fn body(&self, layout: &Layout, pieces: &[Piece], photos: &[&str], frames: &[Vec<&str>], video: &str) -> Value {
        let parts: Vec<Part<'_>> = pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => Part::Text(t),
                Piece::Photo(i) => Part::Image(photos.get(*i).copied().unwrap_or_default()),
                Piece::Frame(s, k) => Part::Image(frames.get(*s).and_then(|f| f.get(*k)).copied().unwrap_or_default()),
                Piece::Video => Part::Video(video),
            })
            .collect();
        let (schema, max) = (self.schema(layout.shots.len()), max_output_tokens(layout.shots.len()));
        match self.kind {
            VisionKind::Gemini => gemini::body(SYSTEM, &parts, schema, max),
            VisionKind::OpenAi => openai::body(&self.model, SYSTEM, &parts, schema, max),
            VisionKind::Anthropic => anthropic::body(&self.model, SYSTEM, &parts, schema, max),
        }
    }

    /// The size of the body for `pieces` without the pictures' data (base64 needs no escaping in
    /// JSON: the data adds its own length and nothing more).
    fn text_bytes(&self, layout: &Layout, pieces: &[Piece]) -> usize {
        serde_json::to_vec(&self.body(layout, pieces, &[], &[], "")).map_or(0, |b| b.len())
    }
}

impl VisionJudge {
    /// Whether Gemini is sent the video: the reel and the photos' files in base64, with a
    /// megabyte for the text, are under its request limit (the quote's estimate too).
    fn sends_video(&self, cut: &ReelCut<'_>, layout: &Layout) -> bool {
        if self.kind != VisionKind::Gemini {
            return false;
        }
        let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).ok();
        let photos: Option<u64> = layout.photos.iter().map(|p| size(&p.path)).sum();
        let (Some(video), Some(photos)) = (size(&cut.video), photos) else { return false };
        let base64 = |n: u64| n.div_ceil(3).saturating_mul(4);
        base64(video).saturating_add(base64(photos)).saturating_add(1_000_000) <= self.limits.request_bytes as u64
    }

    /// The reference photos, upright over white, at most the first photo size a side.
    async fn open_photos(&self, layout: &Layout) -> Result<Vec<RgbImage>, ProviderError> {
        let mut out = Vec::with_capacity(layout.photos.len());
        for photo in &layout.photos {
            let path = photo.path.clone();
            let opened = tokio::task::spawn_blocking(move || -> Result<RgbImage, String> {
                let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                let img =
                    crate::media::photo::decode_upright(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
                let rgb = crate::media::photo::on_white(img.image);
                let (w, h) = fit::scaled(rgb.width(), rgb.height(), PHOTO_LEVELS[0].side);
                Ok(if (w, h) == rgb.dimensions() { rgb } else { fit::shrink(&rgb, w, h) })
            })
            .await
            .map_err(|e| self.invalid(format!("opening a photo: {e}")))?;
            out.push(opened.map_err(|e| self.invalid(format!("a reference photo cannot be read: {e}")))?);
        }
        Ok(out)
    }

    /// Each shot's frames from `cut.video` at the layout's times, at most the first frame size a side.
    async fn read_frames(
        &self,
        cut: &ReelCut<'_>,
        layout: &Layout,
    ) -> Result<Vec<Vec<(u32, RgbImage)>>, ProviderError> {
        let dir = self.media.scratch.dir("vision").map_err(|e| self.invalid(format!("a scratch folder: {e}")))?;
        let turns = Arc::new(tokio::sync::Semaphore::new(FRAME_READS));
        let mut reading = tokio::task::JoinSet::new();
        for (s, shot) in layout.shots.iter().enumerate() {
            for (k, &at) in shot.frames.iter().enumerate() {
                let (media, video, turns) = (self.media.clone(), cut.video.clone(), turns.clone());
                let png = dir.path().join(format!("shot{s}-{k}.png"));
                reading.spawn(async move {
                    let _turn = turns.acquire_owned().await;
                    media.extract_frame(&video, at, &png).await.map_err(|e| e.to_string())?;
                    let read = tokio::task::spawn_blocking(move || -> Result<RgbImage, String> {
                        let rgb = image::open(&png).map_err(|e| format!("{}: {e}", png.display()))?.into_rgb8();
                        let (w, h) = fit::scaled(rgb.width(), rgb.height(), FRAME_LEVELS[0].side);
                        Ok(if (w, h) == rgb.dimensions() { rgb } else { fit::shrink(&rgb, w, h) })
                    })
                    .await
                    .map_err(|e| e.to_string())??;
                    Ok::<_, String>((s, k, at, read))
                });
            }
        }
        let mut frames: Vec<Vec<Option<(u32, RgbImage)>>> =
            layout.shots.iter().map(|s| s.frames.iter().map(|_| None).collect()).collect();
        while let Some(done) = reading.join_next().await {
            let (s, k, at, img) = done
                .map_err(|e| self.invalid(format!("reading a frame: {e}")))?
                .map_err(|e| self.invalid(format!("the reel's frames cannot be read: {e}")))?;
            frames[s][k] = Some((at, img));
        }
        Ok(frames.into_iter().map(|s| s.into_iter().flatten().collect()).collect())
    }

    /// The request with the reel's video, when it fits with the photos at their full size; else
    /// the photos back (the frames go instead).
    async fn video_request(
        &self,
        cut: &ReelCut<'_>,
        layout: &Layout,
        photos: Vec<RgbImage>,
    ) -> Result<Result<Vec<u8>, Vec<RgbImage>>, ProviderError> {
        let mp4 = tokio::fs::read(&cut.video)
            .await
            .map_err(|e| self.invalid(format!("reading the reel {}: {e}", cut.video.display())))?;
        let video = base64::engine::general_purpose::STANDARD.encode(&mp4);
        drop(mp4);
        let pieces = layout.message(None);
        let text = self.dialect.text_bytes(layout, &pieces) + video.len();
        let limits = self.limits;
        let (photos, fitted) = tokio::task::spawn_blocking(move || {
            let fitted = fit::fit(&photos, &[], &limits, &|_| text);
            (photos, fitted)
        })
        .await
        .map_err(|e| self.invalid(format!("fitting the request: {e}")))?;
        let fitted = match fitted {
            Ok(f) if f.shrunk.is_empty() => f,
            Ok(_) => {
                tracing::info!(
                    provider = self.provider,
                    "the reel's video fits only with smaller photos: sending frames"
                );
                return Ok(Err(photos));
            }
            Err(e) => {
                tracing::info!(provider = self.provider, reason = %e, "the reel's video does not fit: sending frames");
                return Ok(Err(photos));
            }
        };
        let sent: Vec<&str> = fitted.photos.iter().map(|e| e.base64.as_str()).collect();
        let body = serde_json::to_vec(&self.dialect.body(layout, &pieces, &sent, &[], &video))
            .map_err(|e| self.invalid(format!("writing the request: {e}")))?;
        tracing::info!(
            provider = self.provider,
            shots = layout.shots.len(),
            photos = sent.len(),
            video_bytes = video.len(),
            bytes = body.len(),
            "asking the vision judge about the reel's video"
        );
        Ok(Ok(body))
    }

    /// The request with each shot's frames, fitted to the limits.
    async fn frames_request(
        &self,
        cut: &ReelCut<'_>,
        layout: &Layout,
        photos: Vec<RgbImage>,
    ) -> Result<Vec<u8>, ProviderError> {
        let frames = self.read_frames(cut, layout).await?;
        let (dialect, owned, limits) = (self.dialect.clone(), layout.clone(), self.limits);
        let fitted = tokio::task::spawn_blocking(move || {
            fit::fit(&photos, &frames, &limits, &|kept| dialect.text_bytes(&owned, &owned.message(Some(kept))))
        })
        .await
        .map_err(|e| self.invalid(format!("fitting the request: {e}")))?
        .map_err(|e| self.invalid(format!("the request cannot fit {}'s limits: {e}", self.provider)))?;
        if !fitted.shrunk.is_empty() {
            tracing::info!(provider = self.provider, shrunk = ?fitted.shrunk, "fitted the request to the provider's limits");
        }
        let kept: Vec<Vec<u32>> = fitted.frames.iter().map(|s| s.iter().map(|(at, _)| *at).collect()).collect();
        let pieces = layout.message(Some(&kept));
        let photos: Vec<&str> = fitted.photos.iter().map(|e| e.base64.as_str()).collect();
        let frames: Vec<Vec<&str>> =
            fitted.frames.iter().map(|s| s.iter().map(|(_, e): &(u32, Encoded)| e.base64.as_str()).collect()).collect();
        let body = serde_json::to_vec(&self.dialect.body(layout, &pieces, &photos, &frames, ""))
            .map_err(|e| self.invalid(format!("writing the request: {e}")))?;
        if body.len() > self.limits.request_bytes {
            return Err(self.invalid(format!(
                "the request is {} bytes, over {}'s {} (nothing was sent)",
                body.len(),
                self.provider,
                self.limits.request_bytes
            )));
        }
        tracing::info!(
            provider = self.provider,
            shots = layout.shots.len(),
            photos = photos.len(),
            frames = kept.iter().map(Vec::len).sum::<usize>(),
            bytes = body.len(),
            "asking the vision judge about the reel's frames"
        );
        Ok(body)
    }

    /// POSTs `body` and reads the answer's text as the provider's writer reads it.
    async fn call(&self, body: Vec<u8>) -> Result<String, ProviderError> {
        let key = self.key.expose();
        match self.kind {
            VisionKind::Gemini => {
                let url = format!("{}/models/{}:generateContent", self.base_url, self.dialect.model);
                let answer = self.http.post_bytes(&url, &[("x-goog-api-key", key)], body).await?;
                gemini_answer::output_text(&answer)
            }
            VisionKind::OpenAi => {
                let auth = format!("Bearer {key}");
                let url = format!("{}/responses", self.base_url);
                let answer = self.http.post_bytes(&url, &[("authorization", &auth)], body).await?;
                openai_answer::output_text(&answer)
            }
            VisionKind::Anthropic => {
                let url = format!("{}/messages", self.base_url);
                let headers = [("x-api-key", key), ("anthropic-version", anthropic::API_VERSION)];
                let answer = self.http.post_bytes(&url, &headers, body).await?;
                anthropic_answer::output_text(&answer)
            }
        }
    }

    /// Input tokens of one picture `width` x `height` as sent.
    fn image_tokens(&self, width: u32, height: u32) -> u64 {
        match self.kind {
            VisionKind::Gemini => gemini::TOKENS_PER_IMAGE,
            VisionKind::OpenAi => openai::image_tokens(width, height),
            VisionKind::Anthropic => anthropic::image_tokens(width, height),
        }
    }
}

#[async_trait]
impl Judge for VisionJudge {
    fn name(&self) -> &str {
        &self.name
    }

    async fn judge(&self, cut: &ReelCut<'_>) -> Result<Vec<Check>, ProviderError> {
        let layout = Layout::of(cut, self.frames_per_shot, self.provider)?;
        let photos = self.open_photos(&layout).await?;
        let video =
            if self.sends_video(cut, &layout) { self.video_request(cut, &layout, photos).await? } else { Err(photos) };
        let body = match video {
            Ok(body) => body,
            Err(photos) => self.frames_request(cut, &layout, photos).await?,
        };
        let text = self.call(body).await?;
        let verdicts = verdict::parse(self.provider, &text, layout.shots.len())?;
        let shots: Vec<(u32, String)> = layout.shots.iter().map(|s| (s.index, s.asked.to_string())).collect();
        let checks = verdict::checks(self.provider, &verdicts, &shots);
        let failed = checks.iter().filter(|c| !c.passed).count();
        tracing::info!(judge = %self.name, reel = %cut.reel.id, checks = checks.len(), failed, "vision verdict");
        Ok(checks)
    }

    fn quote(&self, cut: &ReelCut<'_>) -> Option<Quote> {
        // A cut that cannot be judged is not sent: nothing to pay.
        let layout = Layout::of(cut, self.frames_per_shot, self.provider).ok()?;
        let video = self.sends_video(cut, &layout);
        let kept: Vec<Vec<u32>> = layout.shots.iter().map(|s| s.frames.clone()).collect();
        let pieces = layout.message(if video { None } else { Some(&kept) });
        let text_chars: usize = SYSTEM.chars().count()
            + self.dialect.schema(layout.shots.len()).to_string().chars().count()
            + pieces.iter().map(|p| if let Piece::Text(t) = p { t.chars().count() } else { 0 }).sum::<usize>();
        let mut input = (text_chars as u64).div_ceil(4);
        for p in &layout.photos {
            let (w, h) = fit::scaled(p.width, p.height, PHOTO_LEVELS[0].side);
            input += self.image_tokens(w, h);
        }
        if video {
            let secs = (layout.duration_ms as u64).div_ceil(1000);
            input += secs * (gemini::TOKENS_PER_IMAGE + gemini::TOKENS_PER_AUDIO_SECOND);
        } else {
            let side = FRAME_LEVELS[0].side;
            input += kept.iter().map(Vec::len).sum::<usize>() as u64 * self.image_tokens(side, side);
        }
        let output = max_output_tokens(layout.shots.len()) as u64;
        let micro = (input as i128 * self.usd_per_million_input.0 as i128
            + output as i128 * self.usd_per_million_output.0 as i128
            + 999_999)
            / 1_000_000;
        Some(Quote {
            provider: self.provider.to_string(),
            model: self.dialect.model.clone(),
            unit: "tokens".into(),
            units: (input + output) as f64,
            usd: Usd(micro as i64),
        })
    }
}

#[cfg(test)]
mod tests;
