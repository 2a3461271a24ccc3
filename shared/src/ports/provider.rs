//! Provider ports: video model, voice, script writer, judge and photo classifier.

use crate::{
    BlobKey, BrandKit, Camera, IdempotencyKey, JobId, Motion, PhotoKind, Product, Reel, Reference, Sha256, ShotRole,
    Usd, WordTiming,
};
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use crate::Check;

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// Try again later (429, 5xx, a timeout); `retry_after` if the provider said when.
    #[error("{provider}: {message} (retryable)")]
    Retryable { provider: String, message: String, retry_after: Option<Duration> },
    /// The provider refused the request for good; retrying the same request will not help.
    #[error("{provider} rejected the request: {message}")]
    Rejected {
        provider: String,
        message: String,
        /// The refusal was a content-moderation decision.
        moderation: bool,
    },
    /// The output URL expired before it was mirrored; the job must be re-queried.
    #[error("{provider}: output expired: {message}")]
    Expired { provider: String, message: String },
    /// The provider answered something we cannot use.
    #[error("{provider}: unusable response: {message}")]
    Invalid { provider: String, message: String },
    /// The account's quota or credit is used up (Runway's 429 on the daily quota, a billing
    /// refusal): nothing more is submitted to this provider for the run; the next one in the chain
    /// takes over.
    #[error("{provider}: quota or billing exhausted: {message}")]
    Exhausted { provider: String, message: String },
}

impl ProviderError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Retryable { .. } | Self::Expired { .. })
    }

    /// When the provider said to try again, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Retryable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// One shot's request to a video model: a real photo plus motion direction.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipRequest {
    /// The reference photo in our blob store (an in-house renderer reads it from there).
    pub reference: BlobKey,
    /// The reference photo's bytes, for providers that take it inline (a data URI): presigned S3
    /// links do not answer the HEAD that URL inputs need. Empty for a model that does not
    /// [`VideoModel::takes_inline_image`].
    pub image: bytes::Bytes,
    /// Where the provider fetches the reference photo (presigned URL, or `file://` locally).
    pub image_url: String,
    pub image_mime: String,
    pub image_width: u32,
    pub image_height: u32,
    pub motion: Motion,
    /// The crop window and move the plan chose over the photo.
    pub camera: Camera,
    /// Motion and style direction in words.
    pub prompt: String,
    pub duration_ms: u32,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// Changes with the attempt, so a regeneration is not the same sample again.
    pub seed: u64,
    /// More photos of the same product and colour (another view, a detail, worn), best first, for a
    /// model that takes several ([`VideoModel::photos_per_shot`]): at most that many less the main
    /// one. Empty for a model that takes one.
    pub more_images: Vec<bytes::Bytes>,
    /// The brand kit's style images, for a model that [`VideoModel::takes_style_images`].
    pub style_images: Vec<bytes::Bytes>,
    /// Set when the reel is one clip for its whole length and the model
    /// [`VideoModel::takes_whole_reel`]: every photo of the product's colour and the brand's style.
    pub whole_reel: Option<WholeReel>,
}

/// What a whole-reel clip is made from (Runway's `product_ad` recipe).
#[derive(Debug, Clone, PartialEq)]
pub struct WholeReel {
    /// The product's photos, the reel's main photo first (1 to 10).
    pub images: Vec<bytes::Bytes>,
    /// The brand's style images (0 to 4).
    pub style_images: Vec<bytes::Bytes>,
    /// What the product is: its title and the reel's approved lines.
    pub product_info: String,
}

/// Where a finished job's output can be fetched (short-lived: mirror it at once).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClipOutput {
    pub url: String,
    pub content_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum JobStatus {
    /// Not done yet; ask again in `retry_in` (the provider's hint, or its documented interval).
    /// `queued` is true while the job waits behind the account's concurrency (Runway `THROTTLED`).
    Pending {
        retry_in: Duration,
        queued: bool,
    },
    Ready(ClipOutput),
    Failed(JobFailure),
}

/// Why a job ended without a clip, as the stages act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    /// The provider's own trouble (`INTERNAL.*`, a bad output): a new attempt may succeed.
    Retryable,
    /// Moderation refused the input (the photo or the prompt): do not send the same again.
    ModerationInput,
    /// Moderation refused what the model made.
    ModerationOutput,
    /// The request itself was wrong (an invalid asset, a bad parameter).
    Invalid,
    /// Cancelled (by us, or on the provider's side).
    Cancelled,
}

/// A failed job: its class, the provider's code and words, and whether it was billed anyway.
#[derive(Debug, Clone, PartialEq)]
pub struct JobFailure {
    pub class: FailureClass,
    /// The provider's failure code (`SAFETY.INPUT.IMAGE`), when it gave one.
    pub code: Option<String>,
    pub reason: String,
    /// The provider charges for this failure (Runway bills moderated jobs).
    pub billed: bool,
}

impl JobFailure {
    pub fn is_moderation(&self) -> bool {
        matches!(self.class, FailureClass::ModerationInput | FailureClass::ModerationOutput)
    }
}

/// What asking a provider to cancel a job came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancelled {
    /// The provider confirmed it: the job will not finish or bill further.
    Confirmed,
    /// The job had already ended (poll it: it may have a clip).
    AlreadyEnded,
    /// The provider has no way to cancel: the job may still finish and bill.
    Unsupported,
}

/// A finished clip copied to a local file: its size and SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    pub bytes: u64,
    pub sha256: Sha256,
    pub content_type: Option<String>,
}

#[async_trait]
pub trait VideoModel: Send + Sync {
    /// The provider's name in the ledger and clips (`still-motion`, `runway`).
    fn name(&self) -> &str;
    /// Whether submitting twice with one idempotency key makes one job (and one charge).
    fn idempotent_submit(&self) -> bool;
    /// What a request will cost, asked before submitting so no budget is overrun.
    fn price(&self, request: &ClipRequest) -> Usd;
    /// The model this provider is configured with (`gen4_turbo`), for the ledger and provenance.
    fn model(&self) -> &str {
        self.name()
    }
    /// Whether its output is a recipe the assembly renders into the reel (the still-motion camera
    /// move over a stored photo, see `media::feed`) rather than a video file to mirror.
    fn renders_in_assembly(&self) -> bool {
        false
    }
    /// Whether [`ClipRequest::image`] is needed (the photo read from the blob store for every
    /// submission); a renderer that reads [`ClipRequest::reference`] itself says no.
    fn takes_inline_image(&self) -> bool {
        true
    }
    /// Whether it makes one clip for a whole reel from several photos ([`ClipRequest::whole_reel`]);
    /// a model that does not gets a whole-reel plan's single shot like any other shot.
    fn takes_whole_reel(&self) -> bool {
        false
    }
    /// How many photos of the product one shot may carry (the main one and [`ClipRequest::more_images`]):
    /// 1 for a model that takes a single image.
    fn photos_per_shot(&self) -> usize {
        1
    }
    /// Whether it takes style reference images ([`ClipRequest::style_images`]).
    fn takes_style_images(&self) -> bool {
        false
    }
    async fn submit(&self, request: &ClipRequest, key: &IdempotencyKey) -> Result<JobId, ProviderError>;
    async fn poll(&self, job: &JobId) -> Result<JobStatus, ProviderError>;
    /// Asks the provider to stop a job that has run too long.
    async fn cancel(&self, job: &JobId) -> Result<Cancelled, ProviderError> {
        let _ = job;
        Ok(Cancelled::Unsupported)
    }
    /// Streams a finished output to `dest`, refusing more than `max_bytes` (memory stays flat
    /// whatever the size); a link that has expired (403/404/410) is [`ProviderError::Expired`].
    async fn download(&self, output: &ClipOutput, dest: &Path, max_bytes: u64) -> Result<Downloaded, ProviderError>;
}

/// The configured video models: the fall-over chain in order of preference, each with the
/// number of jobs it may run at once across every worker (`None`: no shared limit, as for the
/// offline renderer).
#[derive(Clone)]
pub struct VideoModels {
    chain: Vec<(Arc<dyn VideoModel>, Option<u32>)>,
}

impl VideoModels {
    /// A chain of one model with no shared limit.
    pub fn one(model: Arc<dyn VideoModel>) -> Self {
        Self { chain: vec![(model, None)] }
    }

    /// `chain` in order of preference; it must not be empty.
    pub fn chain(chain: Vec<(Arc<dyn VideoModel>, Option<u32>)>) -> Self {
        assert!(!chain.is_empty(), "a video chain needs a model");
        Self { chain }
    }

    /// The first choice.
    pub fn first(&self) -> &Arc<dyn VideoModel> {
        &self.chain[0].0
    }

    /// Every model, first choice first.
    pub fn models(&self) -> impl Iterator<Item = &Arc<dyn VideoModel>> {
        self.chain.iter().map(|(m, _)| m)
    }

    /// The model named `name`, if it is configured.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn VideoModel>> {
        self.models().find(|m| m.name() == name)
    }

    /// How many jobs `name` may run at once, when it has a shared limit.
    pub fn limit(&self, name: &str) -> Option<u32> {
        self.chain.iter().find(|(m, _)| m.name() == name).and_then(|(_, l)| *l)
    }
}

impl std::fmt::Debug for VideoModels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.models().map(|m| m.name())).finish()
    }
}

/// One spoken line: WAV audio and word timings relative to the line's start.
#[derive(Debug, Clone, PartialEq)]
pub struct Speech {
    /// 16-bit PCM mono WAV.
    pub wav: Vec<u8>,
    pub duration_ms: u32,
    pub words: Vec<WordTiming>,
}

/// What to say, in which language, in whose voice and how fast.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpeechRequest<'a> {
    pub text: &'a str,
    /// BCP 47 primary language tag of `text` (`en`, `ja`, `ar`).
    pub language: &'a str,
    /// The brand's voice, when it names one the engine knows; `None`: the engine's voice for the language.
    pub voice: Option<&'a str>,
    /// Speaking rate relative to the voice's natural pace (0.5–2.0).
    pub rate: f32,
}

impl<'a> SpeechRequest<'a> {
    /// `text` in English at the natural pace, in the default voice.
    pub fn english(text: &'a str) -> Self {
        Self { text, language: "en", voice: None, rate: 1.0 }
    }
}

#[async_trait]
pub trait Voice: Send + Sync {
    /// `engine:voice`, stored with the voice-over.
    fn name(&self) -> String;
    /// What speaking `text` costs.
    fn price(&self, text: &str) -> Usd;
    /// Whether this voice speaks `language` (BCP 47 primary tag).
    fn speaks(&self, language: &str) -> bool;
    /// Words per second at rate 1.0, to size lines before they are spoken.
    fn words_per_second(&self, language: &str) -> f32;
    async fn speak(&self, request: &SpeechRequest<'_>) -> Result<Speech, ProviderError>;
    /// Every line of a script, in order: an engine that can keep one process (or connection) for
    /// them all does; the default speaks them one by one.
    async fn speak_all(&self, requests: &[SpeechRequest<'_>]) -> Result<Vec<Speech>, ProviderError> {
        let mut out = Vec::with_capacity(requests.len());
        for r in requests {
            out.push(self.speak(r).await?);
        }
        Ok(out)
    }
}

/// What the writer knows of one planned shot.
#[derive(Debug, Clone, PartialEq)]
pub struct ShotBrief {
    pub role: ShotRole,
    pub kind: PhotoKind,
    pub alt: Option<String>,
    /// The longest line that fits the shot, in words (for languages written without spaces: in
    /// characters divided by [`crate::copy::CHARS_PER_WORD`]).
    pub max_words: usize,
}

/// Everything a writer is given for one reel.
#[derive(Debug, Clone, Copy)]
pub struct WriteRequest<'a> {
    pub product: &'a Product,
    pub shots: &'a [ShotBrief],
    pub brand: &'a BrandKit,
    /// The language to write in (BCP 47 primary tag).
    pub language: &'a str,
    /// The colour this reel is about, when the product has several (the only colour it may name).
    pub colour: Option<&'a str>,
    /// Why a person rejected earlier scripts of this reel, oldest first (write differently).
    pub rejections: &'a [String],
}

#[async_trait]
pub trait Writer: Send + Sync {
    fn name(&self) -> &str;
    /// One spoken line per shot, in shot order, each within its brief's word limit. The plan runs
    /// every line through the honesty guard ([`crate::copy::guard`]) whatever the writer.
    async fn write(&self, request: &WriteRequest<'_>) -> Result<Vec<String>, ProviderError>;
}

/// An assembled reel and the real photos it must show, as local files.
#[derive(Debug, Clone)]
pub struct ReelCut<'a> {
    pub reel: &'a Reel,
    pub video: PathBuf,
    pub references: Vec<(Reference, PathBuf)>,
    /// Every stored photo of the reel's product (its listing's gallery), the references among them.
    pub gallery: Vec<(Reference, PathBuf)>,
    /// Candidate photos of the store's other products, the nearest to the reel by their prints
    /// ([`crate::stages::gallery`]): a shot must not look more like one of them than like its own.
    pub others: Vec<(Reference, PathBuf)>,
    /// The thumbnails the assembly wrote ([`crate::media::Media::sampled_frames`] reads them);
    /// `None` for a reel assembled without them: frames are then sampled from `video`.
    pub thumbnails: Option<PathBuf>,
    /// The captions the assembly burned in (the ASS script, [`crate::BlobKey::captions`]): the
    /// judge draws them to find where they are; `None` when there is none to read.
    pub captions: Option<PathBuf>,
    /// The thumbnails (or the video) read once, for every judge that looks at frames; empty until
    /// the first reads them ([`crate::adapters::providers::judge::cut::shot_frames`]).
    pub frames: tokio::sync::OnceCell<Vec<image::RgbImage>>,
    /// The photos above decoded for judging, each once for every judge.
    pub photos: Decoded,
}

type Decoding = Arc<tokio::sync::OnceCell<Result<Arc<dyn std::any::Any + Send + Sync>, String>>>;

/// Pictures of one judged cut decoded by content (what a picture decodes to is the judges' own
/// type), each once (off the async threads) whichever judge asks first, under whatever local name;
/// the others wait for it. Clones share the pictures.
#[derive(Clone, Default)]
pub struct Decoded(Arc<std::sync::Mutex<std::collections::HashMap<crate::Sha256, Decoding>>>);

impl Decoded {
    /// `sha` decoded by `decode` the first time it is asked for; an error is kept and said again.
    pub async fn get_or_decode<T: Send + Sync + 'static>(
        &self,
        sha: &crate::Sha256,
        decode: impl FnOnce() -> Result<T, String> + Send + 'static,
    ) -> Result<Arc<T>, String> {
        let cell = self.0.lock().unwrap_or_else(|e| e.into_inner()).entry(sha.clone()).or_default().clone();
        let decoded = cell
            .get_or_init(|| async move {
                match tokio::task::spawn_blocking(decode).await {
                    Ok(Ok(t)) => Ok(Arc::new(t) as Arc<dyn std::any::Any + Send + Sync>),
                    Ok(Err(e)) => Err(e),
                    Err(e) => Err(format!("decoding {}: {e}", sha.short(12))),
                }
            })
            .await
            .clone()?;
        decoded.downcast::<T>().map_err(|_| format!("{} was decoded as another kind of picture", sha.short(12)))
    }
}

impl std::fmt::Debug for Decoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.lock().map_or(0, |m| m.len());
        write!(f, "Decoded({n} pictures)")
    }
}

/// What one judging call will cost, priced before it is made (a paid judge's ledger entry).
#[derive(Debug, Clone, PartialEq)]
pub struct Quote {
    /// Who is paid (`gemini`, `openai`, `anthropic`).
    pub provider: String,
    pub model: String,
    /// What is counted (`tokens`), and how many: the request's input estimated from what is sent,
    /// plus the most output the call allows.
    pub unit: String,
    pub units: f64,
    pub usd: crate::Usd,
}

#[async_trait]
pub trait Judge: Send + Sync {
    fn name(&self) -> &str;
    /// Scores the reel; every check says what it measured. A judge that cannot give a valid
    /// verdict returns an error, never a pass (fail closed).
    async fn judge(&self, cut: &ReelCut<'_>) -> Result<Vec<Check>, ProviderError>;
    /// What judging `cut` will cost, for a paid judge (written to the ledger before the call);
    /// `None` for a judge that costs nothing.
    fn quote(&self, _cut: &ReelCut<'_>) -> Option<Quote> {
        None
    }
}

/// What a photo comes with besides its pixels (a real store often lacks them).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PhotoHints {
    pub alt: Option<String>,
    pub file_name: Option<String>,
    pub position: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Classification {
    pub kind: PhotoKind,
    /// 0..1.
    pub confidence: f32,
}

#[async_trait]
pub trait Classifier: Send + Sync {
    fn name(&self) -> &str;
    async fn classify(&self, image: &image::DynamicImage, hints: &PhotoHints) -> Classification;
}
