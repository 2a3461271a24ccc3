//! Runway: a paid image-to-video model over its HTTP API (`providers.md` §1.1), one task per shot.
//!
//! | call | request | answer |
//! |---|---|---|
//! | submit | `POST /v1/image_to_video` `{model, promptImage: data URI, promptText?, ratio, duration, seed, audio?}` | `{id}` |
//! | product ad | `POST /v1/recipes/product_ad` `{productImages, styleImages, productInfo, ratio, duration, version}` | `{id}` |
//! | poll | `GET /v1/tasks/{id}` | `{status, output?: [url], failure?, failureCode?}` |
//! | cancel | `DELETE /v1/tasks/{id}` | 204 |
//!
//! Every call carries `Authorization: Bearer <key>` and `X-Runway-Version: 2024-11-06`; the key goes
//! into that header and nowhere else (not `Debug`, not errors, not logs). Downloads go to the output URL
//! (a signed CloudFront link) without the key, through the SSRF guard, no redirects followed; the
//! link's query (`_jwt`) is never logged or put in an error.
//!
//! The photo goes inline as a data URI (kept as sent when it is JPEG/PNG/WebP, at most 7999 px a side
//! and 5,000,000 bytes of URI; else re-encoded as JPEG, smaller until it fits). A photo outside the
//! aspect ratios Runway takes (0.5–2.0) is refused here, never distorted to fit.
//!
//! | answer | error |
//! |---|---|
//! | 429 naming a quota, daily limit, credits or billing; 402 | Exhausted |
//! | other 429 (`Retry-After` if sent), 408, 5xx, no answer | Retryable |
//! | 401, 403 | Rejected: the key is refused |
//! | 400, 404, 405, 422, other 4xx | Rejected with Runway's `error` |
//! | 2xx without the expected JSON | Invalid |
//!
//! Failed tasks, by `failureCode` (billed: whether Runway charges for it, our reading of its docs):
//!
//! | code | class | billed |
//! |---|---|---|
//! | `SAFETY.INPUT.*`, `INPUT_PREPROCESSING.SAFETY.*`, other `SAFETY.*` | ModerationInput | yes: moderated tasks cost the same credits; preprocessing refusals unconfirmed, counted to keep budgets safe |
//! | `SAFETY.OUTPUT.*` | ModerationOutput | yes |
//! | `INTERNAL.BAD_OUTPUT*` | Retryable | yes: the model ran |
//! | `INTERNAL`, `INTERNAL.*`, `INPUT_PREPROCESSING.INTERNAL` | Retryable | no |
//! | `ASSET.INVALID`, other `INPUT_PREPROCESSING.*`, unknown or missing | Invalid | no (an unknown failure is never retried automatically) |
//! | `CANCELLED` status | Cancelled | no |
//! | `SUCCEEDED` without output | Retryable | yes |

use super::api::{self, Api, Inline, PhotoLimits, SetupError};
use crate::config::{RunwayConfig, Secret};
use crate::ports::{
    Cancelled, ClipOutput, ClipRequest, Downloaded, FailureClass, JobFailure, JobStatus, ProviderError, VideoModel,
};
use crate::{IdempotencyKey, JobId, Usd};
use async_trait::async_trait;
use bytes::Bytes;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use url::Url;

const NAME: &str = "runway";
/// The API version every call names.
pub const API_VERSION: &str = "2024-11-06";
/// The `product_ad` recipe version.
pub const PRODUCT_AD_VERSION: &str = "2026-07";
/// The largest data URI Runway takes, read as bytes of the URI string.
pub const MAX_DATA_URI: usize = 5_000_000;
/// The longest side of a photo Runway takes.
pub const MAX_SIDE: u32 = 7999;
/// `promptText` in UTF-16 code units.
const MAX_PROMPT: usize = 1000;
/// What Runway takes as a photo.
const PHOTOS: PhotoLimits = PhotoLimits {
    inline: Inline::DataUri,
    max_bytes: MAX_DATA_URI,
    max_side: MAX_SIDE,
    min_side: 1,
    aspect: (0.5, 2.0),
};
/// Words in a 429 that mean the account's quota, not a moment's load.
const QUOTA_WORDS: &[&str] = &["quota", "daily", "credit", "billing", "limit reached"];

/// What a model takes: its ratios, durations and list price.
#[derive(Debug, Clone, Copy)]
struct ModelSpec {
    ratios: &'static [&'static str],
    /// Seconds, in order: every whole second of a range, or the few it takes.
    durations: &'static [u32],
    usd_per_second: f64,
    /// Makes audio unless told not to.
    audio: bool,
}

const GEN4_RATIOS: &[&str] = &["1280:720", "720:1280", "1104:832", "832:1104", "960:960", "1584:672"];
const VEO_RATIOS: &[&str] = &["1280:720", "720:1280", "1080:1920", "1920:1080"];
const GEN4_DURATIONS: &[u32] = &[2, 3, 4, 5, 6, 7, 8, 9, 10];
const VEO_DURATIONS: &[u32] = &[4, 6, 8];
/// Seedance 2.0 through Runway: ratios and seconds are our reading (ModelArk's own: 4–15 s).
const SEEDANCE_RATIOS: &[&str] = &["1280:720", "720:1280", "960:960"];
const SEEDANCE_DURATIONS: &[u32] = &[4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
/// Reference photos one seedance2 task takes (ModelArk's limit for the same model).
const SEEDANCE_PHOTOS: usize = 9;

fn spec(model: &str) -> Option<ModelSpec> {
    let (ratios, durations, usd_per_second, audio) = match model {
        "gen4_turbo" => (GEN4_RATIOS, GEN4_DURATIONS, 0.05, false),
        "gen4.5" => (GEN4_RATIOS, GEN4_DURATIONS, 0.12, false),
        "veo3.1" => (VEO_RATIOS, VEO_DURATIONS, 0.40, true),
        "veo3.1_fast" => (VEO_RATIOS, VEO_DURATIONS, 0.15, true),
        "seedance2" => (SEEDANCE_RATIOS, SEEDANCE_DURATIONS, 0.36, false),
        _ => return None,
    };
    Some(ModelSpec { ratios, durations, usd_per_second, audio })
}

/// Runway's image-to-video API.
pub struct RunwayVideo {
    api: Api,
    key: Secret,
    model: String,
    spec: ModelSpec,
    usd_per_second: Usd,
    poll_interval: Duration,
}

impl std::fmt::Debug for RunwayVideo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunwayVideo")
            .field("base", &self.api.base)
            .field("model", &self.model)
            .field("usd_per_second", &self.usd_per_second)
            .finish_non_exhaustive()
    }
}

impl RunwayVideo {
    /// `timeout` bounds each API call, and each wait for the next piece of a download.
    pub fn new(config: &RunwayConfig, timeout: Duration) -> Result<Self, SetupError> {
        let key = config.api_key.clone().filter(|k| !k.expose().trim().is_empty()).ok_or_else(|| {
            SetupError::new("TRUEREEL_RUNWAY_API_KEY", "no Runway API key: set TRUEREEL_RUNWAY_API_KEY")
        })?;
        let api = Api::new(NAME, &config.base_url, config.allow_private_network, timeout, "TRUEREEL_RUNWAY_BASE_URL")?;
        let spec = spec(&config.model).ok_or_else(|| {
            SetupError::new(
                "TRUEREEL_RUNWAY_MODEL",
                format!(
                    "{:?} is not a Runway image-to-video model (gen4_turbo, gen4.5, veo3.1, veo3.1_fast, seedance2)",
                    config.model
                ),
            )
        })?;
        let usd_per_second = config.usd_per_second.unwrap_or(Usd::from_dollars(spec.usd_per_second));
        Ok(Self { api, key, model: config.model.clone(), spec, usd_per_second, poll_interval: config.poll_interval })
    }

    /// The `image_to_video` body for `request` (the photos made data URIs, see the module doc).
    pub fn body(&self, request: &ClipRequest) -> Result<Value, ProviderError> {
        let more = &request.more_images[..request.more_images.len().min(self.photos_per_shot() - 1)];
        Ok(self.body_with(request, prompt_images(&request.image, more)?))
    }

    fn body_with(&self, request: &ClipRequest, prompt_image: Value) -> Value {
        let mut body = json!({
            "model": self.model,
            "promptImage": prompt_image,
            "ratio": api::closest_ratio(self.spec.ratios, request.width, request.height),
            "duration": self.duration(request.duration_ms),
            "seed": seed(request.seed),
        });
        let prompt = prompt_text(&request.prompt);
        if !prompt.trim().is_empty() {
            body["promptText"] = json!(prompt);
        }
        if self.spec.audio {
            body["audio"] = json!(false);
        }
        body
    }

    /// The seconds asked for (and billed) for a shot of `duration_ms`.
    pub fn duration(&self, duration_ms: u32) -> u32 {
        api::seconds_for(self.spec.durations, duration_ms)
    }

    /// One `product_ad` recipe task for a whole reel: 1–10 product photos, 0–4 style photos, a
    /// `ratio` such as `720:1280`, 4–15 seconds. Polled with [`VideoModel::poll`] like any task.
    pub async fn submit_product_ad(
        &self,
        images: &[Bytes],
        style_images: &[Bytes],
        product_info: &str,
        ratio: &str,
        duration_s: u32,
        key: &IdempotencyKey,
    ) -> Result<JobId, ProviderError> {
        if !(1..=10).contains(&images.len()) {
            return Err(rejected(format!("a product ad takes 1 to 10 product photos, not {}", images.len())));
        }
        if style_images.len() > 4 {
            return Err(rejected(format!("a product ad takes at most 4 style photos, not {}", style_images.len())));
        }
        if !(4..=15).contains(&duration_s) {
            return Err(rejected(format!("a product ad lasts 4 to 15 s, not {duration_s}")));
        }
        let valid_ratio = ratio
            .split_once(':')
            .is_some_and(|(w, h)| [w, h].iter().all(|n| n.parse::<u32>().is_ok_and(|n| (1..=8000).contains(&n))));
        if !valid_ratio {
            return Err(rejected(format!("{ratio:?} is not a ratio such as 720:1280")));
        }
        if product_info.trim().is_empty() {
            return Err(rejected("a product ad needs the product's description".into()));
        }
        let (images, style_images) = (images.to_vec(), style_images.to_vec());
        let (product, style) = tokio::task::spawn_blocking(move || {
            let uris = |all: &[Bytes]| all.iter().map(|b| prompt_image(b)).collect::<Result<Vec<_>, _>>();
            Ok::<_, ProviderError>((uris(&images)?, uris(&style_images)?))
        })
        .await
        .map_err(|e| retryable(format!("preparing the photos: {e}")))??;
        let body = json!({
            "productImages": product,
            "styleImages": style,
            "productInfo": prompt_text(product_info),
            "ratio": ratio,
            "duration": duration_s,
            "version": PRODUCT_AD_VERSION,
        });
        let job = self.create("/v1/recipes/product_ad", &body).await?;
        tracing::info!(provider = NAME, task = %job, key = %key, "product ad submitted");
        Ok(job)
    }

    fn call(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.api
            .request(method, path)
            .header(reqwest::header::AUTHORIZATION, api::sensitive(&format!("Bearer {}", self.key.expose())))
            .header("X-Runway-Version", API_VERSION)
    }

    /// Posts a task-creating body; the new task's id.
    async fn create(&self, path: &str, body: &Value) -> Result<JobId, ProviderError> {
        let body = serde_json::to_vec(body).expect("JSON");
        let request = self.call(reqwest::Method::POST, path).header(CONTENT_TYPE, "application/json").body(body);
        let answer = success(self.api.send(request).await?)?;
        let answer: Value = parse(&answer)?;
        task_id(&answer)
    }

    /// The task's JSON, or the mapped error.
    async fn task(&self, job: &JobId) -> Result<Value, ProviderError> {
        let path = task_path(job)?;
        parse(&success(self.api.send(self.call(reqwest::Method::GET, &path)).await?)?)
    }
}

/// The seconds of a product ad asked for (and priced) for a reel of `duration_ms`: 4 to 15.
fn product_ad_seconds(duration_ms: u32) -> u32 {
    duration_ms.div_ceil(1000).clamp(4, 15)
}

/// The seed in Runway's range (0 to 4294967294).
fn seed(seed: u64) -> u32 {
    (seed % 4_294_967_295) as u32
}

/// `prompt` cut to [`MAX_PROMPT`] UTF-16 units at a character boundary.
fn prompt_text(prompt: &str) -> String {
    let mut units = 0;
    prompt
        .chars()
        .take_while(|c| {
            units += c.len_utf16();
            units <= MAX_PROMPT
        })
        .collect()
}

#[cfg(test)]
fn data_uri(mime: &str, bytes: &[u8]) -> String {
    api::data_uri(mime, bytes)
}

/// `promptImage`: the shot's photo as a data URI; with more photos of the product (the seedance2
/// models), all of them as a list of references without `position`, main first (Runway does not mix
/// references with first or last frames).
fn prompt_images(main: &Bytes, more: &[Bytes]) -> Result<Value, ProviderError> {
    let first = prompt_image(main)?;
    if more.is_empty() {
        return Ok(json!(first));
    }
    let mut all = vec![json!({ "uri": first })];
    for (n, photo) in more.iter().enumerate() {
        let uri = prompt_image(photo).map_err(|e| rejected(format!("photo {} of the shot: {e}", n + 2)))?;
        all.push(json!({ "uri": uri }));
    }
    Ok(Value::Array(all))
}

/// The photo as a data URI Runway takes (see the module doc); Rejected when it cannot be read or is
/// outside the aspect ratios Runway takes.
pub fn prompt_image(bytes: &[u8]) -> Result<String, ProviderError> {
    api::fit_photo(bytes, &PHOTOS).map(|p| p.inline).map_err(|why| rejected(format!("{why} (Runway)")))
}

/// A task id as Runway gives it (a UUID: hex digits and `-`), safe in a URL path.
fn task_id(answer: &Value) -> Result<JobId, ProviderError> {
    let id = answer["id"].as_str().ok_or_else(|| invalid("the answer has no task id".into()))?;
    let uuid_like = (8..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    match JobId::parse(id) {
        Ok(job) if uuid_like => Ok(job),
        _ => Err(invalid(format!(
            "{:?} is not a Runway task id",
            crate::printable(&id.chars().take(80).collect::<String>())
        ))),
    }
}

fn task_path(job: &JobId) -> Result<String, ProviderError> {
    let id = JobId::parse(job.as_str()).map_err(|e| rejected(format!("not a task id: {e}")))?;
    Ok(format!("/v1/tasks/{id}"))
}

/// A failed task's class and whether Runway bills it (see the module doc).
fn failure_class(code: Option<&str>) -> (FailureClass, bool) {
    let code = code.unwrap_or_default();
    let under = |prefix: &str| code == prefix || code.starts_with(&format!("{prefix}."));
    if under("SAFETY.OUTPUT") {
        (FailureClass::ModerationOutput, true)
    } else if under("SAFETY") || under("INPUT_PREPROCESSING.SAFETY") {
        (FailureClass::ModerationInput, true)
    } else if under("INTERNAL.BAD_OUTPUT") {
        (FailureClass::Retryable, true)
    } else if under("INTERNAL") || under("INPUT_PREPROCESSING.INTERNAL") {
        (FailureClass::Retryable, false)
    } else {
        (FailureClass::Invalid, false)
    }
}

/// What a task's JSON says.
fn status(task: &Value, poll_interval: Duration) -> Result<JobStatus, ProviderError> {
    let status = task["status"].as_str().ok_or_else(|| invalid("the task has no status".into()))?;
    let text = |v: &Value| v.as_str().map(|s| crate::printable(s).chars().take(300).collect::<String>());
    Ok(match status {
        "PENDING" | "RUNNING" => JobStatus::Pending { retry_in: poll_interval, queued: false },
        "THROTTLED" => JobStatus::Pending { retry_in: poll_interval, queued: true },
        "SUCCEEDED" => match task["output"].get(0).and_then(Value::as_str) {
            Some(url) => {
                let parsed = Url::parse(url).map_err(|_| invalid("the task's output is not a URL".into()))?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    return Err(invalid(format!("the task's output is a {} URL", parsed.scheme())));
                }
                JobStatus::Ready(ClipOutput { url: url.to_string(), content_type: None })
            }
            None => JobStatus::Failed(JobFailure {
                class: FailureClass::Retryable,
                code: None,
                reason: "succeeded with no output".into(),
                billed: true,
            }),
        },
        "FAILED" => {
            let code = text(&task["failureCode"]);
            let (class, billed) = failure_class(code.as_deref());
            let failure = text(&task["failure"]).unwrap_or_else(|| "the task failed".into());
            let reason = match &code {
                Some(code) => format!("{failure} ({code})"),
                None => failure,
            };
            JobStatus::Failed(JobFailure { class, code, reason, billed })
        }
        "CANCELLED" => JobStatus::Failed(JobFailure {
            class: FailureClass::Cancelled,
            code: None,
            reason: "the task was cancelled".into(),
            billed: false,
        }),
        other => return Err(invalid(format!("unknown task status {:?}", crate::printable(other)))),
    })
}

/// The body of a 2xx, else the mapped error.
fn success(answer: api::Answer) -> Result<Vec<u8>, ProviderError> {
    if answer.ok() { Ok(answer.body) } else { Err(status_error(answer.status, answer.retry_after, &answer.body)) }
}

fn parse(body: &[u8]) -> Result<Value, ProviderError> {
    serde_json::from_slice(body).map_err(|e| invalid(format!("the answer is not JSON: {e}")))
}

/// The error for a non-2xx API answer (see the module doc).
fn status_error(status: u16, retry_after: Option<Duration>, body: &[u8]) -> ProviderError {
    let message = api::error_text(body);
    let text = format!("HTTP {status}: {message}");
    let lower = message.to_lowercase();
    match status {
        429 if QUOTA_WORDS.iter().any(|w| lower.contains(w)) => {
            ProviderError::Exhausted { provider: NAME.into(), message: text }
        }
        402 => ProviderError::Exhausted { provider: NAME.into(), message: text },
        408 | 429 | 500..=599 => ProviderError::Retryable { provider: NAME.into(), message: text, retry_after },
        401 | 403 => rejected(format!(
            "HTTP {status}: the API key is refused (check TRUEREEL_RUNWAY_API_KEY and its organisation): {message}"
        )),
        _ => rejected(text),
    }
}

fn retryable(message: String) -> ProviderError {
    ProviderError::Retryable { provider: NAME.into(), message, retry_after: None }
}

fn rejected(message: String) -> ProviderError {
    ProviderError::Rejected { provider: NAME.into(), message, moderation: false }
}

fn invalid(message: String) -> ProviderError {
    ProviderError::Invalid { provider: NAME.into(), message }
}

#[async_trait]
impl VideoModel for RunwayVideo {
    fn name(&self) -> &str {
        NAME
    }

    /// Runway takes no idempotency key: a submit sent twice is two tasks and two charges.
    fn idempotent_submit(&self) -> bool {
        false
    }

    fn price(&self, request: &ClipRequest) -> Usd {
        let seconds = match request.whole_reel {
            Some(_) => product_ad_seconds(request.duration_ms),
            None => self.duration(request.duration_ms),
        };
        Usd(self.usd_per_second.0.saturating_mul(seconds as i64))
    }

    fn takes_whole_reel(&self) -> bool {
        true
    }

    fn photos_per_shot(&self) -> usize {
        if self.model.starts_with("seedance2") { SEEDANCE_PHOTOS } else { 1 }
    }

    fn model(&self) -> &str {
        &self.model
    }

    async fn submit(&self, request: &ClipRequest, key: &IdempotencyKey) -> Result<JobId, ProviderError> {
        if let Some(whole) = &request.whole_reel {
            let ratio = api::closest_ratio(self.spec.ratios, request.width, request.height);
            let seconds = product_ad_seconds(request.duration_ms);
            let (images, styles) = (&whole.images, &whole.style_images);
            return self.submit_product_ad(images, styles, &whole.product_info, ratio, seconds, key).await;
        }
        let (image, more) = (request.image.clone(), request.more_images.clone());
        let more_taken = more.len().min(self.photos_per_shot() - 1);
        let images = tokio::task::spawn_blocking(move || prompt_images(&image, &more[..more_taken]))
            .await
            .map_err(|e| retryable(format!("preparing the photos: {e}")))??;
        let body = self.body_with(request, images);
        let job = self.create("/v1/image_to_video", &body).await?;
        tracing::info!(provider = NAME, model = %self.model, task = %job, key = %key, "task submitted");
        Ok(job)
    }

    async fn poll(&self, job: &JobId) -> Result<JobStatus, ProviderError> {
        let task = self.task(job).await?;
        let status = status(&task, self.poll_interval)?;
        tracing::debug!(provider = NAME, task = %job, status = task["status"].as_str().unwrap_or_default(), "polled");
        Ok(status)
    }

    async fn cancel(&self, job: &JobId) -> Result<Cancelled, ProviderError> {
        let path = task_path(job)?;
        let answer = self.api.send(self.call(reqwest::Method::DELETE, &path)).await?;
        if answer.status == 404 {
            let task = self.task(job).await?;
            return match task["status"].as_str() {
                Some("SUCCEEDED" | "FAILED" | "CANCELLED") => Ok(Cancelled::AlreadyEnded),
                other => {
                    Err(invalid(format!("cancelling answered 404 but the task is {}", other.unwrap_or("unknown"))))
                }
            };
        }
        success(answer)?;
        tracing::info!(provider = NAME, task = %job, "task cancelled");
        Ok(Cancelled::Confirmed)
    }

    async fn download(&self, output: &ClipOutput, dest: &Path, max_bytes: u64) -> Result<Downloaded, ProviderError> {
        self.api.download(&output.url, None, dest, max_bytes).await
    }
}

#[cfg(test)]
mod tests {
    use super::api::parse_retry_after;
    use super::*;
    use crate::adapters::providers::video::testkit::{Logs, finish, key, png, ready, request, shot};
    use crate::testing::runway::KEY;
    use crate::testing::{Reply, RunwayStub, Script, TestServer};

    use base64::Engine as _;
    use image::ImageFormat;

    fn runway(config: &RunwayConfig) -> RunwayVideo {
        RunwayVideo::new(config, Duration::from_secs(10)).unwrap()
    }

    #[tokio::test]
    async fn a_shot_is_submitted_polled_and_downloaded() {
        let logs = Logs::capture();
        let stub = RunwayStub::start().await;
        let v = runway(&stub.config());
        assert_eq!((v.name(), v.model(), v.idempotent_submit()), ("runway", "gen4_turbo", false));
        assert_eq!(v.price(&shot()), Usd::from_dollars(0.25), "5 s at $0.05");
        let job = v.submit(&shot(), &key()).await.unwrap();
        assert_eq!(job.as_str().len(), 36);
        let body = &stub.bodies()[0];
        assert_eq!(body["model"], "gen4_turbo");
        assert!(body["promptImage"].as_str().unwrap().starts_with("data:image/png;base64,iVBOR"), "kept as sent");
        assert_eq!((body["ratio"].as_str(), body["duration"].as_u64()), (Some("720:1280"), Some(5)));
        assert_eq!((body["seed"].as_u64(), body["promptText"].as_str()), (Some(42), Some("Slow push in on the mug.")));
        assert!(body.get("audio").is_none(), "gen4_turbo makes no audio");
        let sent = &stub.server().requests_to("/v1/image_to_video")[0];
        assert_eq!(sent.header("authorization"), Some(format!("Bearer {KEY}").as_str()));
        assert_eq!(sent.header("x-runway-version"), Some("2024-11-06"));

        let seen = finish(&v, &job).await;
        let pending = JobStatus::Pending { retry_in: Duration::from_millis(10), queued: false };
        assert_eq!(seen[..2], [pending.clone(), pending], "PENDING, RUNNING");
        let out = ready(&seen[2]);
        assert_eq!(stub.polls(job.as_str()), 3);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("clips/a.mp4");
        let got = v.download(&out, &dest, 50 << 20).await.unwrap();
        let clip = stub.clip();
        assert_eq!((got.bytes, got.sha256), (clip.len() as u64, crate::Sha256::of(&clip)));
        assert_eq!(got.content_type.as_deref(), Some("video/mp4"));
        assert_eq!(std::fs::read(&dest).unwrap(), clip);
        assert_eq!(stub.downloads(), 1);
        assert!(!format!("{v:?}").contains(KEY));
        let logs = logs.text();
        assert!(logs.contains("task submitted") && !logs.contains(KEY) && !logs.contains("_jwt"), "{logs}");
    }

    #[tokio::test]
    async fn submit_errors_are_classified() {
        let stub = RunwayStub::start().await;
        let v = runway(&stub.config());
        for s in [Script::RateLimited, Script::DailyQuota, Script::ServerError] {
            stub.script(s);
        }
        let e = v.submit(&shot(), &key()).await.unwrap_err();
        assert_eq!((e.is_retryable(), e.retry_after()), (true, Some(Duration::from_secs(1))), "{e}");
        let e = v.submit(&shot(), &key()).await.unwrap_err();
        assert!(matches!(e, ProviderError::Exhausted { .. }) && e.to_string().contains("daily task limit"), "{e}");
        let e = v.submit(&shot(), &key()).await.unwrap_err();
        assert!(e.is_retryable() && e.retry_after().is_none(), "{e}");
        v.submit(&shot(), &key()).await.unwrap();
        assert_eq!(stub.submissions(), 4);

        let mut config = stub.config();
        config.api_key = Some(Secret::new("wrong-key-123"));
        let e = runway(&config).submit(&shot(), &key()).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { moderation: false, .. }), "{e:?}");
        assert!(e.to_string().contains("TRUEREEL_RUNWAY_API_KEY") && !e.to_string().contains("wrong-key"), "{e}");
        assert_eq!(stub.submissions(), 4, "refused before it counts");
    }

    #[test]
    fn http_answers_map_to_errors() {
        let e = status_error(429, Some(Duration::from_secs(3)), br#"{"error":"Too many requests"}"#);
        assert_eq!((e.is_retryable(), e.retry_after()), (true, Some(Duration::from_secs(3))));
        for quota in ["Daily task limit reached", "You are out of credits", "Monthly spend quota", "Billing issue"] {
            let e = status_error(429, None, json!({ "error": quota }).to_string().as_bytes());
            assert!(matches!(e, ProviderError::Exhausted { .. }), "{quota}: {e:?}");
        }
        assert!(matches!(status_error(402, None, b""), ProviderError::Exhausted { .. }));
        for s in [500, 502, 503, 504] {
            assert!(status_error(s, None, b"<html>").is_retryable(), "{s}");
        }
        let e = status_error(400, None, br#"{"error":"promptImage: Invalid data URI"}"#);
        assert!(matches!(e, ProviderError::Rejected { moderation: false, .. }), "{e:?}");
        assert!(e.to_string().contains("promptImage: Invalid data URI"), "{e}");
        for s in [404, 405, 422] {
            assert!(matches!(status_error(s, None, b"{}"), ProviderError::Rejected { .. }), "{s}");
        }
        let e = status_error(403, None, br#"{"error":"Forbidden"}"#);
        assert!(matches!(e, ProviderError::Rejected { .. }) && e.to_string().contains("API key"), "{e}");
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
    }

    #[test]
    fn failure_codes_map_to_classes() {
        use FailureClass::*;
        for (code, class, billed) in [
            (Some("SAFETY.INPUT.IMAGE"), ModerationInput, true),
            (Some("SAFETY.INPUT.TEXT"), ModerationInput, true),
            (Some("INPUT_PREPROCESSING.SAFETY.TEXT"), ModerationInput, true),
            (Some("SAFETY.OUTPUT.VIDEO"), ModerationOutput, true),
            (Some("INTERNAL.BAD_OUTPUT.CODE01"), Retryable, true),
            (Some("INTERNAL"), Retryable, false),
            (Some("INTERNAL.TIMEOUT"), Retryable, false),
            (Some("INPUT_PREPROCESSING.INTERNAL"), Retryable, false),
            (Some("ASSET.INVALID"), Invalid, false),
            (Some("INPUT_PREPROCESSING.FORMAT"), Invalid, false),
            (Some("SAFETYNET"), Invalid, false),
            (Some("SOMETHING.NEW"), Invalid, false),
            (None, Invalid, false),
        ] {
            assert_eq!(failure_class(code), (class, billed), "{code:?}");
        }
    }

    #[tokio::test]
    async fn failed_throttled_and_malformed_tasks() {
        let stub = RunwayStub::start().await;
        let v = runway(&stub.config());
        for s in [
            Script::Fail("SAFETY.INPUT.IMAGE"),
            Script::Fail("SAFETY.OUTPUT.VIDEO"),
            Script::Throttled { polls: 2 },
            Script::MalformedPoll,
        ] {
            stub.script(s);
        }
        let mut jobs = Vec::new();
        for _ in 0..4 {
            jobs.push(v.submit(&shot(), &key()).await.unwrap());
        }
        let JobStatus::Failed(f) = v.poll(&jobs[0]).await.unwrap() else { panic!("failed") };
        assert_eq!(
            (f.class, f.billed, f.code.as_deref()),
            (FailureClass::ModerationInput, true, Some("SAFETY.INPUT.IMAGE"))
        );
        assert!(f.reason.contains("moderation") && f.reason.contains("SAFETY.INPUT.IMAGE"), "{}", f.reason);
        let JobStatus::Failed(f) = v.poll(&jobs[1]).await.unwrap() else { panic!("failed") };
        assert_eq!((f.class, f.billed), (FailureClass::ModerationOutput, true));
        let seen = finish(&v, &jobs[2]).await;
        let queued = |q| JobStatus::Pending { retry_in: Duration::from_millis(10), queued: q };
        assert_eq!(seen[..3], [queued(true), queued(true), queued(false)]);
        ready(&seen[3]);
        assert!(matches!(v.poll(&jobs[3]).await, Err(ProviderError::Invalid { .. })));
    }

    #[tokio::test]
    async fn odd_answers_are_invalid_or_failed() {
        let server = TestServer::start().await;
        let mut config = crate::config::Config::default().video.runway;
        config.base_url = server.url("");
        config.api_key = Some(Secret::new(KEY));
        config.allow_private_network = true;
        let v = runway(&config);
        let job = JobId::new("0b1e7c2a-9f3d-4e5a-8b6c-7d8e9f0a1b2c");
        let path = format!("/v1/tasks/{job}");
        server.route(&path, Reply::ok(r#"{"status":"PAUSED"}"#));
        assert!(matches!(v.poll(&job).await, Err(ProviderError::Invalid { .. })));
        server.route(&path, Reply::ok(r#"{"status":"SUCCEEDED","output":[]}"#));
        let JobStatus::Failed(f) = v.poll(&job).await.unwrap() else { panic!("failed") };
        assert_eq!((f.class, f.billed, f.reason.as_str()), (FailureClass::Retryable, true, "succeeded with no output"));
        server.route(&path, Reply::ok(r#"{"status":"FAILED","failure":"?","failureCode":"NEW.CODE"}"#));
        let JobStatus::Failed(f) = v.poll(&job).await.unwrap() else { panic!("failed") };
        assert_eq!((f.class, f.billed), (FailureClass::Invalid, false));
        server.route(&path, Reply::ok(r#"{"status":"CANCELLED"}"#));
        let JobStatus::Failed(f) = v.poll(&job).await.unwrap() else { panic!("failed") };
        assert_eq!((f.class, f.billed), (FailureClass::Cancelled, false));
        for answer in [r#"{"id":"../../etc"}"#, r#"{"task":"x"}"#, "not json"] {
            server.route("/v1/image_to_video", Reply::ok(answer));
            assert!(matches!(v.submit(&shot(), &key()).await, Err(ProviderError::Invalid { .. })), "{answer}");
        }
        drop(server);
        assert!(v.poll(&job).await.unwrap_err().is_retryable(), "nobody answers");
    }

    #[test]
    fn ratio_duration_seed_prompt_and_price_follow_the_model() {
        let mut config = crate::config::Config::default().video.runway;
        config.api_key = Some(Secret::new("k"));
        let gen4 = runway(&config);
        assert_eq!([gen4.duration(4200), gen4.duration(500), gen4.duration(12_000)], [5, 2, 10]);
        assert_eq!(api::closest_ratio(GEN4_RATIOS, 1080, 1920), "720:1280");
        assert_eq!(api::closest_ratio(GEN4_RATIOS, 1000, 1000), "960:960");
        assert_eq!(api::closest_ratio(GEN4_RATIOS, 2400, 1000), "1584:672");
        assert_eq!(api::closest_ratio(GEN4_RATIOS, 1080, 1350), "832:1104");
        config.model = "veo3.1".into();
        let veo = runway(&config);
        assert_eq!([veo.duration(3000), veo.duration(4200), veo.duration(9000)], [4, 6, 8]);
        let body = veo.body(&shot()).unwrap();
        assert_eq!((body["ratio"].as_str(), body["audio"].as_bool()), (Some("720:1280"), Some(false)));
        assert_eq!(api::closest_ratio(VEO_RATIOS, 1000, 1000), "1280:720", "the first of equals");
        assert_eq!(veo.price(&shot()), Usd::from_dollars(2.40), "6 s at $0.40");
        config.usd_per_second = Some(Usd::from_dollars(0.30));
        assert_eq!(runway(&config).price(&shot()), Usd::from_dollars(1.80));
        assert_eq!((seed(42), seed(4_294_967_295), seed(u64::MAX)), (42, 0, (u64::MAX % 4_294_967_295) as u32));
        assert_eq!(prompt_text(&"é".repeat(1200)).chars().count(), 1000);
        assert_eq!(prompt_text(&"🎥".repeat(600)).chars().count(), 500, "two UTF-16 units each");
    }

    #[tokio::test]
    async fn seedance2_sends_every_photo_of_the_shot_as_references() {
        let stub = RunwayStub::start().await;
        let mut config = stub.config();
        config.model = "seedance2".into();
        let v = runway(&config);
        assert_eq!(v.photos_per_shot(), 9);
        let mut request = request(png(300, 400), 1080, 1920, 4200);
        request.more_images = (0..10).map(|n| png(300 + n * 10, 400)).collect();
        let job = v.submit(&request, &key()).await.unwrap();
        assert_eq!(stub.submissions(), 1, "{job}");
        let body = &stub.bodies()[0];
        let sent = body["promptImage"].as_array().expect("a list of references");
        assert_eq!(sent.len(), 9, "the shot's photo and eight more: the model takes nine");
        for (n, image) in sent.iter().enumerate() {
            assert!(image.get("position").is_none(), "references, not frames: {image}");
            let uri = image["uri"].as_str().unwrap();
            let data = uri.strip_prefix("data:image/png;base64,").unwrap();
            let decoded = base64::engine::general_purpose::STANDARD.decode(data).unwrap();
            let expected = if n == 0 { &request.image } else { &request.more_images[n - 1] };
            assert_eq!(&decoded[..], &expected[..], "photo {n} sent as it is, main first");
            assert!(uri.len() <= MAX_DATA_URI);
        }
        assert_eq!((body["duration"].as_u64(), body["ratio"].as_str()), (Some(5), Some("720:1280")));
        assert_eq!(v.price(&request), Usd::from_dollars(1.80), "5 s at $0.36");
        // Another model takes the shot's photo alone.
        let gen4 = runway(&stub.config());
        assert_eq!(gen4.photos_per_shot(), 1);
        assert!(gen4.body(&request).unwrap()["promptImage"].is_string());
    }

    #[test]
    fn a_big_photo_is_shrunk_to_fit_and_a_wrong_shape_is_refused() {
        let side = 6000;
        let mut noise = vec![0u8; (side * side * 3) as usize];
        fastrand::Rng::with_seed(7).fill(&mut noise);
        let img = image::RgbImage::from_raw(side, side, noise).unwrap();
        let mut big = Vec::new();
        let encoder = image::codecs::png::PngEncoder::new_with_quality(
            &mut big,
            image::codecs::png::CompressionType::Fast,
            image::codecs::png::FilterType::NoFilter,
        );
        img.write_with_encoder(encoder).unwrap();
        drop(img);
        let uri = prompt_image(&big).unwrap();
        assert!(uri.len() <= MAX_DATA_URI, "{} bytes", uri.len());
        let jpeg = base64::engine::general_purpose::STANDARD
            .decode(uri.strip_prefix("data:image/jpeg;base64,").expect("a JPEG data URI"))
            .unwrap();
        let shrunk = image::load_from_memory_with_format(&jpeg, ImageFormat::Jpeg).unwrap();
        assert!(shrunk.width() < side && shrunk.width() == shrunk.height(), "{}x{}", shrunk.width(), shrunk.height());

        let small = png(300, 400);
        assert_eq!(prompt_image(&small).unwrap(), data_uri("image/png", &small), "kept as sent");
        for (w, h) in [(900, 300), (300, 700)] {
            let e = prompt_image(&png(w, h)).unwrap_err();
            assert!(matches!(e, ProviderError::Rejected { moderation: false, .. }), "{e:?}");
            assert!(e.to_string().contains("0.5 to 2.0"), "{e}");
        }
        assert!(matches!(prompt_image(b"GIF89a..."), Err(ProviderError::Rejected { .. })));
    }

    #[test]
    fn setup_checks_the_key_the_base_url_and_the_model() {
        let mut config = crate::config::Config::default().video.runway;
        let err = |c: &RunwayConfig| RunwayVideo::new(c, Duration::from_secs(1)).unwrap_err().to_string();
        assert!(err(&config).contains("TRUEREEL_RUNWAY_API_KEY"));
        config.api_key = Some(Secret::new("rw-secret-key"));
        let v = runway(&config);
        assert!(!format!("{v:?}").contains("rw-secret-key"), "{v:?}");
        for (url, allow, ok) in [
            ("https://api.dev.runwayml.com", false, true),
            ("http://127.0.0.1:8080", false, false),
            ("http://127.0.0.1:8080", true, true),
            ("http://[::1]:8080", true, true),
            ("http://api.dev.runwayml.com", true, false),
            ("http://10.0.0.5", true, false),
            ("ftp://127.0.0.1", true, false),
            ("https://user:pw@api.dev.runwayml.com", false, false),
        ] {
            config.base_url = url.into();
            config.allow_private_network = allow;
            let made = RunwayVideo::new(&config, Duration::from_secs(1));
            assert_eq!(made.is_ok(), ok, "{url} {allow}");
            if let Err(e) = made {
                assert!(e.to_string().contains("TRUEREEL_RUNWAY_BASE_URL"), "{e}");
            }
        }
        config.base_url = "https://api.dev.runwayml.com".into();
        config.model = "gen3a_turbo".into();
        assert!(err(&config).contains("TRUEREEL_RUNWAY_MODEL"));
    }

    #[tokio::test]
    async fn downloads_are_capped_expire_and_pass_the_guard() {
        let stub = RunwayStub::start().await;
        let v = runway(&stub.config());
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("clip.mp4");

        stub.script(Script::Expiring { downloads: 1, after: None });
        let job = v.submit(&shot(), &key()).await.unwrap();
        let first = ready(&v.poll(&job).await.unwrap());
        v.download(&first, &dest, u64::MAX).await.unwrap();
        let e = v.download(&first, &dest, u64::MAX).await.unwrap_err();
        assert!(matches!(e, ProviderError::Expired { .. }) && !e.to_string().contains("_jwt"), "{e}");
        let fresh = ready(&v.poll(&job).await.unwrap());
        assert_ne!(fresh.url, first.url);
        assert_eq!(v.download(&fresh, &dest, u64::MAX).await.unwrap().sha256, crate::Sha256::of(&stub.clip()));

        stub.script(Script::Oversized(300_000));
        let job = v.submit(&shot(), &key()).await.unwrap();
        let big = ready(&v.poll(&job).await.unwrap());
        std::fs::remove_file(&dest).unwrap();
        let e = v.download(&big, &dest, 200_000).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { .. }) && e.to_string().contains("over the cap"), "{e}");
        assert!(!dest.exists());

        // No Content-Length: counted while streaming, and the partial file removed.
        let server = TestServer::start().await;
        server.route("/clip.mp4", Reply::ok(vec![7u8; 300_000]).without_content_length());
        let unannounced = ClipOutput { url: server.url("/clip.mp4"), content_type: None };
        let e = v.download(&unannounced, &dest, 100_000).await.unwrap_err();
        assert!(e.to_string().contains("over the cap"), "{e}");
        assert!(!dest.exists());
        let got = v.download(&unannounced, &dest, 300_000).await.unwrap();
        assert_eq!((got.bytes, got.sha256), (300_000, crate::Sha256::of(&[7u8; 300_000])));

        let mut config = stub.config();
        config.base_url = "https://api.dev.runwayml.com".into();
        config.allow_private_network = false;
        let guarded = runway(&config);
        let before = server.connections();
        for url in [server.url("/clip.mp4"), "http://169.254.169.254/latest".into(), "file:///etc/passwd".into()] {
            let out = ClipOutput { url: url.clone(), content_type: None };
            assert!(
                matches!(guarded.download(&out, &dest, u64::MAX).await, Err(ProviderError::Rejected { .. })),
                "{url}"
            );
        }
        let metadata = ClipOutput { url: "http://169.254.169.254/latest".into(), content_type: None };
        assert!(matches!(v.download(&metadata, &dest, u64::MAX).await, Err(ProviderError::Rejected { .. })));
        assert_eq!(server.connections(), before, "nothing refused was connected to");
    }

    #[tokio::test]
    async fn a_task_is_cancelled_and_a_finished_one_has_already_ended() {
        let stub = RunwayStub::start().await;
        let v = runway(&stub.config());
        stub.script(Script::NeverFinishes);
        let job = v.submit(&shot(), &key()).await.unwrap();
        assert!(matches!(v.poll(&job).await.unwrap(), JobStatus::Pending { queued: false, .. }));
        assert_eq!(v.cancel(&job).await.unwrap(), Cancelled::Confirmed);
        assert_eq!(stub.cancels(), 1);
        let JobStatus::Failed(f) = v.poll(&job).await.unwrap() else { panic!("cancelled") };
        assert_eq!((f.class, f.billed), (FailureClass::Cancelled, false));
        assert_eq!(v.cancel(&job).await.unwrap(), Cancelled::AlreadyEnded);
        let unknown = JobId::new("00000000-0000-4000-a000-000000000000");
        assert!(matches!(v.cancel(&unknown).await, Err(ProviderError::Rejected { .. })));
    }

    #[tokio::test]
    async fn a_product_ad_is_one_task_polled_like_any_other() {
        let stub = RunwayStub::start().await;
        let v = runway(&stub.config());
        let photo = png(300, 400);
        let photos = vec![photo.clone(), png(400, 400)];
        let ad = |images: Vec<Bytes>, styles: Vec<Bytes>, ratio: &'static str, seconds: u32| {
            let v = &v;
            async move { v.submit_product_ad(&images, &styles, "A stoneware mug", ratio, seconds, &key()).await }
        };
        for (images, styles, ratio, seconds) in [
            (vec![], vec![], "720:1280", 8),
            (vec![photo.clone(); 11], vec![], "720:1280", 8),
            (photos.clone(), vec![photo.clone(); 5], "720:1280", 8),
            (photos.clone(), vec![], "720:1280", 3),
            (photos.clone(), vec![], "720:1280", 16),
            (photos.clone(), vec![], "tall", 8),
        ] {
            let e = ad(images, styles, ratio, seconds).await.unwrap_err();
            assert!(matches!(e, ProviderError::Rejected { moderation: false, .. }), "{e:?}");
        }
        assert_eq!(stub.submissions(), 0);
        let job = ad(photos, vec![photo], "720:1280", 12).await.unwrap();
        let body = &stub.bodies()[0];
        assert_eq!(body["productImages"].as_array().unwrap().len(), 2);
        assert_eq!(body["styleImages"].as_array().unwrap().len(), 1);
        assert_eq!((body["version"].as_str(), body["duration"].as_u64()), (Some("2026-07"), Some(12)));
        assert_eq!((body["ratio"].as_str(), body["productInfo"].as_str()), (Some("720:1280"), Some("A stoneware mug")));
        assert_eq!(stub.server().requests_to("/v1/recipes/product_ad").len(), 1);
        ready(finish(&v, &job).await.last().unwrap());
    }
    #[tokio::test]
    async fn the_stub_wants_the_headers_and_serves_what_it_is_scripted_to() {
        let stub = RunwayStub::start().await;
        let client = reqwest::Client::new();
        let bare = client.post(format!("{}/v1/image_to_video", stub.base_url())).body("{}").send().await.unwrap();
        assert_eq!(bare.status().as_u16(), 401);
        let no_version = client.get(format!("{}/v1/tasks/x", stub.base_url())).bearer_auth(KEY).send().await.unwrap();
        assert_eq!(no_version.status().as_u16(), 401);
        assert_eq!(stub.submissions(), 0);

        let v = runway(&stub.config());
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.mp4");
        stub.script(Script::NotVideo);
        let job = v.submit(&shot(), &key()).await.unwrap();
        let text = v.download(&ready(&v.poll(&job).await.unwrap()), &dest, u64::MAX).await.unwrap();
        assert_eq!(text.content_type.as_deref(), Some("text/plain"));
        stub.script(Script::Expiring { downloads: 10, after: Some(Duration::from_millis(50)) });
        let job = v.submit(&shot(), &key()).await.unwrap();
        let out = ready(&v.poll(&job).await.unwrap());
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(matches!(v.download(&out, &dest, u64::MAX).await, Err(ProviderError::Expired { .. })));
        assert_eq!(stub.downloads(), 2);
    }
}
