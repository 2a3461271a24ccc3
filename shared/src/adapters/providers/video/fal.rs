//! fal's queue API (`providers.md` §1.4 and the update block): any image-to-video or
//! reference-to-video model fal hosts, one queued request per shot.
//!
//! | call | request | answer |
//! |---|---|---|
//! | submit | `POST {base}/{model id}` with the model's input | `{request_id, status_url, response_url, cancel_url}` |
//! | status | `GET {base}/{owner}/{app}/requests/{id}/status` | `{status, queue_position?}` |
//! | result | `GET {base}/{owner}/{app}/requests/{id}` | `{video:{url, content_type, file_size}}`, or the model's error status and body |
//! | cancel | `PUT {base}/{owner}/{app}/requests/{id}/cancel` | 202 `CANCELLATION_REQUESTED`, 400 `ALREADY_COMPLETED` |
//!
//! `{owner}/{app}` are the model id's first two segments (the subpath, `…/o3/standard/…`, is not part
//! of the request URLs). The URLs a submit returns are used when they are on the base URL's host
//! ([`Api::request_url`]; never elsewhere, so the key goes nowhere else); the job id is only the checked
//! `request_id`, and the URLs are rebuilt from it when they are not known (another process, or an
//! answer without them). Every call carries `Authorization: Key <FAL_KEY>` (marked sensitive; never
//! in `Debug`, errors or logs). Every submit carries `X-Fal-Store-IO: 0` (fal keeps request payloads
//! 30 days otherwise) and `X-Fal-Object-Lifecycle-Preference: {"expiration_duration_seconds": 86400}`
//! (the output's lifetime set explicitly: the default is not documented). The result JSON is kept
//! 1 h after completion (6 min when it is 10 KB or more): a job polled after that has lost its clip.
//! Outputs are public CDN links, downloaded without the key through the SSRF guard.
//!
//! The model's input, by family (field names and durations are our reading where `providers.md` is
//! silent):
//!
//! | model id | photos | input |
//! |---|---|---|
//! | `…/reference-to-video` | up to 4, main first | `{prompt, image_urls, duration, aspect_ratio:"9:16"…}` |
//! | Kling v3/v4 `…/image-to-video` | 1 | `{prompt, start_image_url, duration}` |
//! | other `…/image-to-video` | 1 | `{prompt, image_url, duration}` (Veo adds `aspect_ratio`) |
//!
//! `duration` is Kling's string `"5"`/`"10"`, Veo's `"4s"`/`"6s"`/`"8s"`, else whole seconds (4–15)
//! as a number; the shortest that covers the shot, billed as asked. `generate_audio: false` goes to
//! the models with an audio switch (Kling v2.6+/v3/O3/v4, Veo 3.1, Seedance 2.0). Photos go as
//! data URIs (fal takes them; it fetches URLs with a 20 s timeout, and a file on this machine is not
//! reachable), fitted: at most 30 MB of URI and aspect ratio 0.4–2.5 (Kling's start image on fal),
//! at least 300 px a side (Kling's), at most 8000 px (our reading); a photo outside is refused, never
//! distorted. Our own guard: a request's photos share 40 MB of data URIs.
//!
//! | answer | error |
//! |---|---|
//! | 402; 403 naming balance, exhausted, locked or billing | Exhausted |
//! | 401, other 403 | Rejected: the key is refused |
//! | 422 `content_policy_violation` (at submit) | Rejected, moderation |
//! | any error with `X-Fal-Retryable: false` | Rejected (fal says a retry will not help) |
//! | 429 (`Retry-After` if sent), 408, 5xx, no answer | Retryable |
//! | other 4xx | Rejected with fal's `detail` |
//! | 2xx without the expected JSON | Invalid |
//!
//! Jobs, by status and then the result (billed: 5xx failures are not billed, documented; the rest is
//! unknown and counted billed so budgets stay safe):
//!
//! | status / result | class | billed |
//! |---|---|---|
//! | `IN_QUEUE` | Pending, queued | |
//! | `IN_PROGRESS` | Pending | |
//! | `COMPLETED`, result `{video:{url}}` | Ready | yes |
//! | `COMPLETED`, result without a video | Retryable | yes |
//! | result 422 `content_policy_violation`, `loc` naming an input (`["body", field]`) | ModerationInput | yes (unknown) |
//! | result 422 `content_policy_violation`, other `loc` | ModerationOutput | yes (unknown) |
//! | result 5xx | Retryable (Invalid with `X-Fal-Retryable: false`) | no |
//! | result 404/410 (gone after its hour) | Retryable, `result_gone` | yes |
//! | result other 4xx | Invalid | yes (unknown) |
//! | `FAILED` | as its result says | |
//! | `CANCELED` | Cancelled | no |
//!
//! Cancel works only before the job starts: a 202 is checked against the status (still queued or
//! cancelled → Confirmed; running → Unsupported, it may still finish and bill; ended → AlreadyEnded);
//! 400 `ALREADY_COMPLETED` → AlreadyEnded.

use super::api::{self, Answer, Api, Inline, PhotoLimits, SetupError};
use crate::config::{ApiConfig, Secret};
use crate::ports::{
    Cancelled, ClipOutput, ClipRequest, Downloaded, FailureClass, JobFailure, JobStatus, ProviderError, VideoModel,
};
use crate::{IdempotencyKey, JobId, Usd};
use async_trait::async_trait;
use bytes::Bytes;
use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;
use url::Url;

const NAME: &str = "fal";
/// The largest data URI a photo may be, bytes.
pub const MAX_DATA_URI: usize = 30_000_000;
/// What all the photos of one request may add up to, bytes of data URIs (our guard).
pub const MAX_REQUEST_PHOTOS: usize = 40_000_000;
/// How long fal keeps the output, asked on every submit.
pub const OUTPUT_LIFETIME_SECS: u64 = 86_400;
/// The photos a reference-to-video shot takes.
pub const REFERENCE_PHOTOS: usize = 4;
const PHOTOS: PhotoLimits =
    PhotoLimits { inline: Inline::DataUri, max_bytes: MAX_DATA_URI, max_side: 8000, min_side: 300, aspect: (0.4, 2.5) };
/// Kling's prompt limit, for every model.
const MAX_PROMPT: usize = 2500;
/// Words in a 403 that mean the account's money.
const BILLING_WORDS: &[&str] = &["balance", "exhausted", "locked", "billing"];
/// Request URLs kept from submit answers, at most (past it they are rebuilt, which gives the same).
const MAX_KEPT_URLS: usize = 4096;

/// How a model takes its photos.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Input {
    /// `image_urls`: every photo of the shot.
    References,
    /// `start_image_url` (Kling v3/v4).
    StartImage,
    /// `image_url`.
    Image,
}

/// How a model takes its duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Durations {
    /// `"5"` or `"10"`.
    Kling,
    /// `"4s"`, `"6s"` or `"8s"`.
    Veo,
    /// Whole seconds, 4 to 15, a number.
    Seconds,
}

/// What a model id takes, as far as we know it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Spec {
    input: Input,
    durations: Durations,
    /// Takes `generate_audio`.
    audio_switch: bool,
    /// Takes `aspect_ratio` from these.
    ratios: Option<&'static [&'static str]>,
    list_price: Option<f64>,
}

/// The model's list price per second (defs.rs's `TRUEREEL_FAL_USD_PER_SECOND` text).
fn list_price(model: &str) -> Option<f64> {
    Some(match model {
        "fal-ai/kling-video/o3/standard/image-to-video"
        | "fal-ai/kling-video/o3/standard/reference-to-video"
        | "fal-ai/kling-video/v3/standard/image-to-video" => 0.084,
        "fal-ai/kling-video/o3/pro/image-to-video"
        | "fal-ai/kling-video/o3/pro/reference-to-video"
        | "fal-ai/kling-video/v3/pro/image-to-video" => 0.168,
        "fal-ai/kling-video/v2.5-turbo/standard/image-to-video" => 0.042,
        "fal-ai/veo3.1/image-to-video" | "fal-ai/veo3.1/reference-to-video" => 0.40,
        "fal-ai/veo3.1/fast/image-to-video" => 0.15,
        _ => return None,
    })
}

/// What `model` takes (see the module doc); `None` unless it is an image-to-video or
/// reference-to-video id `owner/app[/subpath]`.
fn spec(model: &str) -> Option<Spec> {
    let segments: Vec<&str> = model.split('/').collect();
    let plain = |s: &&str| {
        !s.is_empty() && *s != "." && *s != ".." && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    };
    if segments.len() < 2 || !segments.iter().all(plain) {
        return None;
    }
    let last = segments[segments.len() - 1];
    let references = last.ends_with("reference-to-video");
    if !references && !last.ends_with("image-to-video") && !last.contains("i2v") {
        return None;
    }
    let kling = model.contains("kling");
    let veo = segments[1].starts_with("veo3");
    let has = |v: &[&str]| segments.iter().any(|s| v.contains(s));
    let input = match () {
        _ if references => Input::References,
        _ if kling && has(&["v3", "v4"]) => Input::StartImage,
        _ => Input::Image,
    };
    let durations = match () {
        _ if kling => Durations::Kling,
        _ if veo => Durations::Veo,
        _ => Durations::Seconds,
    };
    let audio_switch = (kling && has(&["v2.6", "v3", "o3", "v4"])) || veo || model.starts_with("bytedance/seedance-2");
    let ratios: Option<&'static [&'static str]> = match () {
        _ if veo => Some(&["9:16", "16:9"]),
        _ if references => Some(&["9:16", "16:9", "1:1"]),
        _ => None,
    };
    Some(Spec { input, durations, audio_switch, ratios, list_price: list_price(model) })
}

/// Where one request's status, result and cancel live.
#[derive(Debug, Clone, PartialEq)]
struct Urls {
    status: String,
    result: String,
    cancel: String,
}

/// fal's queue API for one model.
pub struct FalVideo {
    api: Api,
    key: Secret,
    model: String,
    /// `{owner}/{app}`: where the model's requests live.
    app: String,
    spec: Spec,
    usd_per_second: Usd,
    poll_interval: Duration,
    /// The URLs submit answers gave, by request id.
    urls: Mutex<HashMap<String, Urls>>,
}

impl std::fmt::Debug for FalVideo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FalVideo")
            .field("base", &self.api.base)
            .field("model", &self.model)
            .field("usd_per_second", &self.usd_per_second)
            .finish_non_exhaustive()
    }
}

impl FalVideo {
    /// `timeout` bounds each API call, and each wait for the next piece of a download.
    pub fn new(config: &ApiConfig, timeout: Duration) -> Result<Self, SetupError> {
        let key = config
            .api_key
            .clone()
            .filter(|k| !k.expose().trim().is_empty())
            .ok_or_else(|| SetupError::new("TRUEREEL_FAL_API_KEY", "no fal API key: set TRUEREEL_FAL_API_KEY"))?;
        let api = Api::new(NAME, &config.base_url, config.allow_private_network, timeout, "TRUEREEL_FAL_BASE_URL")?;
        let model = config.model.trim().to_string();
        let spec = spec(&model).ok_or_else(|| {
            SetupError::new(
                "TRUEREEL_FAL_MODEL",
                format!(
                    "{:?} is not a fal image-to-video or reference-to-video model id (owner/app[/path], such as \
                     fal-ai/kling-video/o3/standard/reference-to-video)",
                    api::shown(&model, 120)
                ),
            )
        })?;
        let usd_per_second = config.usd_per_second.or(spec.list_price.map(Usd::from_dollars)).ok_or_else(|| {
            SetupError::new(
                "TRUEREEL_FAL_USD_PER_SECOND",
                format!("{model} has no list price here: set what fal charges for it per second"),
            )
        })?;
        let app = model.split('/').take(2).collect::<Vec<_>>().join("/");
        Ok(Self {
            api,
            key,
            model,
            app,
            spec,
            usd_per_second,
            poll_interval: config.poll_interval,
            urls: Mutex::default(),
        })
    }

    /// The seconds asked for (and billed) for a shot of `duration_ms`.
    pub fn duration(&self, duration_ms: u32) -> u32 {
        let durations: &[u32] = match self.spec.durations {
            Durations::Kling => &[5, 10],
            Durations::Veo => &[4, 6, 8],
            Durations::Seconds => &[4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
        };
        api::seconds_for(durations, duration_ms)
    }

    /// The model's input for `request` (its photos fitted, see the module doc); blocking.
    pub fn body(&self, request: &ClipRequest) -> Result<Value, ProviderError> {
        let photos = photos(&self.api, &request.image, &request.more_images, self.photos_per_shot())?;
        Ok(self.body_with(request, photos))
    }

    fn body_with(&self, request: &ClipRequest, mut photos: Vec<String>) -> Value {
        let seconds = self.duration(request.duration_ms);
        let mut body = json!({
            "prompt": api::prompt_cut(&request.prompt, MAX_PROMPT),
            "duration": match self.spec.durations {
                Durations::Kling => json!(seconds.to_string()),
                Durations::Veo => json!(format!("{seconds}s")),
                Durations::Seconds => json!(seconds),
            },
        });
        match self.spec.input {
            Input::References => body["image_urls"] = json!(photos),
            Input::StartImage => body["start_image_url"] = json!(photos.swap_remove(0)),
            Input::Image => body["image_url"] = json!(photos.swap_remove(0)),
        }
        if let Some(ratios) = self.spec.ratios {
            body["aspect_ratio"] = json!(api::closest_ratio(ratios, request.width, request.height));
        }
        if self.spec.audio_switch {
            body["generate_audio"] = json!(false);
        }
        body
    }

    fn with_key(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.header(reqwest::header::AUTHORIZATION, api::sensitive(&format!("Key {}", self.key.expose())))
    }

    /// Where request `job` lives: the URLs its submit gave, else rebuilt from the model's app.
    fn urls(&self, job: &JobId) -> Result<Urls, ProviderError> {
        let id =
            api::job_id(&self.api, Some(job.as_str())).map_err(|_| self.api.rejected("not a fal request id".into()))?;
        if let Some(urls) = self.urls.lock().unwrap_or_else(|p| p.into_inner()).get(id.as_str()) {
            return Ok(urls.clone());
        }
        let at = format!("{}/{}/requests/{id}", self.api.base, self.app);
        Ok(Urls { status: format!("{at}/status"), cancel: format!("{at}/cancel"), result: at })
    }

    /// Keeps the URLs of a submit's answer that are on the base URL's host and about this request;
    /// any other is replaced by the rebuilt one (and said).
    fn keep_urls(&self, job: &JobId, answer: &Value) {
        let rebuilt = match self.urls(job) {
            Ok(urls) => urls,
            Err(_) => return,
        };
        let pick = |field: &str, fallback: String| match answer[field].as_str() {
            Some(url)
                if self.api.request_url(Method::GET, url).is_ok()
                    && Url::parse(url).is_ok_and(|u| u.path().split('/').any(|s| s == job.as_str())) =>
            {
                url.to_string()
            }
            Some(other) => {
                let shown = Url::parse(other).map_or_else(|_| "not a URL".into(), |u| api::redacted(&u));
                tracing::warn!(provider = NAME, request = %job, field, url = %shown, "ignoring a URL off the API's host");
                fallback
            }
            None => fallback,
        };
        let urls = Urls {
            status: pick("status_url", rebuilt.status),
            result: pick("response_url", rebuilt.result),
            cancel: pick("cancel_url", rebuilt.cancel),
        };
        let mut kept = self.urls.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() >= MAX_KEPT_URLS {
            kept.clear();
        }
        kept.insert(job.as_str().to_string(), urls);
    }

    /// `GET url` with the key, the answer as it came.
    async fn get(&self, url: &str) -> Result<Answer, ProviderError> {
        self.api.send(self.with_key(self.api.request_url(Method::GET, url)?)).await
    }

    /// The request's `status` field.
    async fn status_of(&self, urls: &Urls) -> Result<(String, Value), ProviderError> {
        let answer = self.get(&urls.status).await?;
        if !answer.ok() {
            return Err(status_error(&self.api, &answer));
        }
        let json = self.api.json(&answer.body)?;
        let status = json["status"].as_str().ok_or_else(|| self.api.invalid("the status has no status".into()))?;
        Ok((api::shown(status, 40), json))
    }
}

/// The main photo and the others (at most `max` in all) as data URIs, each fitted to the limits and
/// all to the request's share; Rejected when one cannot be read or has a shape fal's models do not take.
fn photos(api: &Api, main: &Bytes, more: &[Bytes], max: usize) -> Result<Vec<String>, ProviderError> {
    let all: Vec<&Bytes> = std::iter::once(main).chain(more.iter()).take(max.max(1)).collect();
    let limits = PhotoLimits { max_bytes: MAX_DATA_URI.min(MAX_REQUEST_PHOTOS / all.len()), ..PHOTOS };
    all.iter()
        .enumerate()
        .map(|(i, bytes)| {
            api::fit_photo(bytes, &limits).map(|p| p.inline).map_err(|why| {
                let which = if i == 0 { "the main photo".to_string() } else { format!("photo {}", i + 1) };
                api.rejected(format!("{which}: {why} (fal)"))
            })
        })
        .collect()
}

/// A 422's content-policy flag, if it is one: `Some(true)` when its `loc` names an input.
fn policy(body: &[u8]) -> Option<bool> {
    let json: Value = serde_json::from_slice(body).ok()?;
    let flagged: Vec<&Value> =
        json["detail"].as_array()?.iter().filter(|d| d["type"] == "content_policy_violation").collect();
    let names_input = |d: &&Value| d["loc"].as_array().is_some_and(|loc| loc.len() >= 2 && loc[0] == "body");
    (!flagged.is_empty()).then(|| flagged.iter().any(names_input))
}

/// The error for a non-2xx API answer (see the module doc).
fn status_error(api: &Api, answer: &Answer) -> ProviderError {
    let status = answer.status;
    let message = answer.error_text();
    let text = match answer.header("x-fal-error-type") {
        Some(kind) => format!("HTTP {status} {}: {message}", api::shown(kind, 60)),
        None => format!("HTTP {status}: {message}"),
    };
    let lower = message.to_lowercase();
    let not_retryable = answer.header("x-fal-retryable").is_some_and(|v| v.trim().eq_ignore_ascii_case("false"));
    match status {
        402 => api.exhausted(text),
        403 if BILLING_WORDS.iter().any(|w| lower.contains(w)) => api.exhausted(text),
        401 | 403 => api.rejected(format!("{text}: the API key is refused (check TRUEREEL_FAL_API_KEY)")),
        422 if policy(&answer.body).is_some() => api.moderated(text),
        _ if not_retryable => api.rejected(format!("{text} (fal marks it not retryable)")),
        408 | 429 | 500..=599 => api.retry_after(text, answer.retry_after),
        _ => api.rejected(text),
    }
}

/// What a finished request's result says (see the module doc).
fn result_status(api: &Api, answer: &Answer) -> Result<JobStatus, ProviderError> {
    let failed = |class, code: &str, reason: String, billed| {
        Ok(JobStatus::Failed(JobFailure { class, code: Some(code.to_string()), reason, billed }))
    };
    let status = answer.status;
    if answer.ok() {
        let json = api.json(&answer.body)?;
        let video = &json["video"];
        return match video["url"].as_str().filter(|u| !u.is_empty()) {
            Some(url) => {
                let parsed = Url::parse(url).map_err(|_| api.invalid("the result's video url is not a URL".into()))?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    return Err(api.invalid(format!("the result's video is a {} URL", parsed.scheme())));
                }
                let content_type = video["content_type"].as_str().map(|t| api::shown(t, 80));
                Ok(JobStatus::Ready(ClipOutput { url: url.to_string(), content_type }))
            }
            None => failed(FailureClass::Retryable, "no_video", "completed without a video".into(), true),
        };
    }
    let message = answer.error_text();
    let kind = answer.header("x-fal-error-type").map(|k| api::shown(k, 60));
    let code = kind.clone().unwrap_or_else(|| format!("http_{status}"));
    let not_retryable = answer.header("x-fal-retryable").is_some_and(|v| v.trim().eq_ignore_ascii_case("false"));
    match status {
        401 | 403 | 408 | 429 => Err(status_error(api, answer)),
        400 if message.to_lowercase().contains("in progress") => {
            Ok(JobStatus::Pending { retry_in: Duration::from_secs(1), queued: false })
        }
        404 | 410 => failed(
            FailureClass::Retryable,
            "result_gone",
            format!(
                "the result is gone (HTTP {status}): fal keeps it 1 h after completion, 6 min when it is 10 KB or more"
            ),
            true,
        ),
        422 if let Some(input) = policy(&answer.body) => {
            let class = if input { FailureClass::ModerationInput } else { FailureClass::ModerationOutput };
            failed(class, "content_policy_violation", format!("content policy: {message}"), true)
        }
        400..=499 => failed(FailureClass::Invalid, &code, format!("HTTP {status}: {message}"), true),
        500..=599 => {
            let class = if not_retryable { FailureClass::Invalid } else { FailureClass::Retryable };
            failed(class, &code, format!("HTTP {status}: {message}"), false)
        }
        _ => Err(api.invalid(format!("the result answered HTTP {status}"))),
    }
}

#[async_trait]
impl VideoModel for FalVideo {
    fn name(&self) -> &str {
        NAME
    }

    /// fal's queue takes no idempotency key: a submit sent twice is two requests and two charges.
    fn idempotent_submit(&self) -> bool {
        false
    }

    fn price(&self, request: &ClipRequest) -> Usd {
        Usd(self.usd_per_second.0.saturating_mul(self.duration(request.duration_ms) as i64))
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn photos_per_shot(&self) -> usize {
        if self.spec.input == Input::References { REFERENCE_PHOTOS } else { 1 }
    }

    async fn submit(&self, request: &ClipRequest, key: &IdempotencyKey) -> Result<JobId, ProviderError> {
        let (main, more, api, max) =
            (request.image.clone(), request.more_images.clone(), self.api.clone(), self.photos_per_shot());
        let photos = tokio::task::spawn_blocking(move || photos(&api, &main, &more, max))
            .await
            .map_err(|e| self.api.retryable(format!("preparing the photos: {e}")))??;
        let count = photos.len();
        let body = serde_json::to_vec(&self.body_with(request, photos)).expect("JSON");
        let lifecycle = json!({ "expiration_duration_seconds": OUTPUT_LIFETIME_SECS }).to_string();
        let call = self
            .with_key(self.api.request(Method::POST, &format!("/{}", self.model)))
            .header(CONTENT_TYPE, "application/json")
            .header("X-Fal-Store-IO", "0")
            .header("X-Fal-Object-Lifecycle-Preference", lifecycle)
            .body(body);
        let answer = self.api.send(call).await?;
        if !answer.ok() {
            return Err(status_error(&self.api, &answer));
        }
        let answer = self.api.json(&answer.body)?;
        let job = api::job_id(&self.api, answer["request_id"].as_str())?;
        self.keep_urls(&job, &answer);
        tracing::info!(provider = NAME, model = %self.model, request = %job, key = %key, photos = count, "request submitted");
        Ok(job)
    }

    async fn poll(&self, job: &JobId) -> Result<JobStatus, ProviderError> {
        let urls = self.urls(job)?;
        let (status, json) = self.status_of(&urls).await?;
        tracing::debug!(provider = NAME, request = %job, status = %status, queue_position = json["queue_position"].as_u64(), "polled");
        match status.as_str() {
            "IN_QUEUE" => Ok(JobStatus::Pending { retry_in: self.poll_interval, queued: true }),
            "IN_PROGRESS" => Ok(JobStatus::Pending { retry_in: self.poll_interval, queued: false }),
            "COMPLETED" | "FAILED" => {
                let result = result_status(&self.api, &self.get(&urls.result).await?)?;
                Ok(match result {
                    // A failed request whose result reads like a success without a video.
                    JobStatus::Ready(_) if status == "FAILED" => JobStatus::Failed(JobFailure {
                        class: FailureClass::Retryable,
                        code: Some("FAILED".into()),
                        reason: "the request failed".into(),
                        billed: true,
                    }),
                    other => other,
                })
            }
            "CANCELED" | "CANCELLED" => Ok(JobStatus::Failed(JobFailure {
                class: FailureClass::Cancelled,
                code: None,
                reason: "the request was cancelled".into(),
                billed: false,
            })),
            other => Err(self.api.invalid(format!("unknown request status {other:?}"))),
        }
    }

    async fn cancel(&self, job: &JobId) -> Result<Cancelled, ProviderError> {
        let urls = self.urls(job)?;
        let answer = self.api.send(self.with_key(self.api.request_url(Method::PUT, &urls.cancel)?)).await?;
        let said =
            serde_json::from_slice::<Value>(&answer.body).ok().and_then(|j| j["status"].as_str().map(str::to_string));
        if !answer.ok() && said.as_deref() == Some("ALREADY_COMPLETED") {
            return Ok(Cancelled::AlreadyEnded);
        }
        if !answer.ok() && !matches!(answer.status, 400 | 409) {
            return Err(status_error(&self.api, &answer));
        }
        // Cancelling works only before the job starts: what became of it says whether it did.
        let (status, _) = self.status_of(&urls).await?;
        let outcome = match status.as_str() {
            "IN_QUEUE" | "CANCELED" | "CANCELLED" if answer.ok() => Cancelled::Confirmed,
            "COMPLETED" | "FAILED" | "CANCELED" | "CANCELLED" => Cancelled::AlreadyEnded,
            "IN_PROGRESS" => Cancelled::Unsupported,
            _ => return Err(status_error(&self.api, &answer)),
        };
        tracing::info!(provider = NAME, request = %job, status = %status, outcome = ?outcome, "cancel asked");
        Ok(outcome)
    }

    async fn download(&self, output: &ClipOutput, dest: &Path, max_bytes: u64) -> Result<Downloaded, ProviderError> {
        self.api.download(&output.url, None, dest, max_bytes).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::providers::video::testkit::{Logs, decoded, failure, finish, key, png, ready, shot};
    use crate::testing::fal::{FalStub, KEY, MODEL, Script};
    use crate::testing::{Reply, TestServer};

    fn fal(config: &ApiConfig) -> FalVideo {
        FalVideo::new(config, Duration::from_secs(10)).unwrap()
    }

    /// A client for `model` (priced) that is never called.
    fn offline(model: &str) -> FalVideo {
        let mut config = crate::config::Config::default().video.fal;
        config.api_key = Some(Secret::new("k"));
        config.model = model.into();
        config.usd_per_second =
            config.usd_per_second.or(list_price(model).map(Usd::from_dollars)).or(Some(Usd::from_dollars(0.1)));
        fal(&config)
    }

    fn pending(queued: bool) -> JobStatus {
        JobStatus::Pending { retry_in: Duration::from_millis(10), queued }
    }

    fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> Answer {
        Answer {
            status,
            retry_after: None,
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[tokio::test]
    async fn a_shot_is_queued_polled_fetched_and_downloaded() {
        let logs = Logs::capture();
        let stub = FalStub::start().await;
        let v = fal(&stub.config());
        assert_eq!((v.name(), v.model(), v.idempotent_submit()), ("fal", MODEL, false));
        assert_eq!((v.photos_per_shot(), v.takes_inline_image()), (4, true));
        assert_eq!(v.price(&shot()), Usd::from_dollars(0.42), "5 s at Kling O3 standard's $0.084");
        let job = v.submit(&shot(), &key()).await.unwrap();
        let sent = &stub.server().requests_to(&format!("/{MODEL}"))[0];
        assert_eq!(sent.header("authorization"), Some(format!("Key {KEY}").as_str()));
        assert_eq!(sent.header("x-fal-store-io"), Some("0"));
        let lifecycle: Value = serde_json::from_str(sent.header("x-fal-object-lifecycle-preference").unwrap()).unwrap();
        assert_eq!(lifecycle, json!({ "expiration_duration_seconds": 86400 }));
        let body = &stub.bodies()[0];
        assert_eq!(body["prompt"], "Slow push in on the mug.");
        assert_eq!(body["image_urls"].as_array().unwrap().len(), 1);
        assert_eq!(decoded(body["image_urls"][0].as_str().unwrap()), shot().image.to_vec(), "kept as sent");
        assert_eq!((body["duration"].as_str(), body["aspect_ratio"].as_str()), (Some("5"), Some("9:16")));
        assert_eq!(body["generate_audio"].as_bool(), Some(false));

        let seen = finish(&v, &job).await;
        assert_eq!(seen[..2], [pending(true), pending(false)], "IN_QUEUE, IN_PROGRESS");
        let out = ready(&seen[2]);
        assert_eq!(out.content_type.as_deref(), Some("video/mp4"));
        let requests = format!("/fal-ai/kling-video/requests/{job}");
        assert_eq!(
            stub.server().requests_to(&format!("{requests}/status")).len(),
            3,
            "under owner/app, not the subpath"
        );
        assert_eq!((stub.polls_of(job.as_str()), stub.results()), (3, 1));
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("clips/a.mp4");
        let got = v.download(&out, &dest, 50 << 20).await.unwrap();
        let clip = stub.clip();
        assert_eq!((got.bytes, got.sha256), (clip.len() as u64, crate::Sha256::of(&clip)));
        assert!(
            stub.server()
                .requests()
                .iter()
                .filter(|r| r.path().starts_with("/files/"))
                .all(|r| r.header("authorization").is_none())
        );
        assert!(!format!("{v:?}").contains(KEY));
        let logs = logs.text();
        assert!(logs.contains("request submitted") && !logs.contains(KEY), "{logs}");

        // Another process knows only the request id: it rebuilds the same URLs.
        let other = fal(&stub.config());
        ready(&other.poll(&job).await.unwrap());
    }

    #[tokio::test]
    async fn every_photo_of_a_reference_shot_arrives_main_first_within_the_limits() {
        let stub = FalStub::start().await;
        let v = fal(&stub.config());
        let mut request = shot();
        request.more_images = vec![png(400, 400), png(800, 450), png(300, 700)];
        let job = v.submit(&request, &key()).await.unwrap();
        let urls = stub.bodies()[0]["image_urls"].as_array().unwrap().clone();
        assert_eq!(urls.len(), 4);
        for (i, uri) in urls.iter().enumerate() {
            let uri = uri.as_str().unwrap();
            let photo = decoded(uri);
            let img = image::load_from_memory(&photo).unwrap();
            let (w, h) = (img.width(), img.height());
            assert!(uri.len() <= MAX_REQUEST_PHOTOS / 4 && w.min(h) >= 300 && w.max(h) <= 8000, "photo {i}: {w}x{h}");
            assert!((0.4..=2.5).contains(&(w as f64 / h as f64)), "photo {i}");
            let want = if i == 0 { &request.image } else { &request.more_images[i - 1] };
            assert_eq!(photo, want.to_vec(), "photo {i} in order, the main one first");
        }
        ready(finish(&v, &job).await.last().unwrap());

        let api = Api::new(NAME, "https://queue.example", false, Duration::from_secs(1), "X").unwrap();
        let big = png(9000, 4000);
        let fitted = photos(&api, &big, &[], 1).unwrap();
        let img = image::load_from_memory(&decoded(&fitted[0])).unwrap();
        assert_eq!((img.width(), img.height()), (8000, 3555));
        assert_eq!(photos(&api, &big, &vec![png(300, 300); 6], 4).unwrap().len(), 4, "at most the shot's share");
        request.more_images = vec![png(1000, 300)];
        let e = v.submit(&request, &key()).await.unwrap_err();
        assert!(
            matches!(e, ProviderError::Rejected { moderation: false, .. }) && e.to_string().contains("aspect"),
            "{e}"
        );
        assert_eq!(stub.submissions(), 1, "refused before anything is sent");
    }

    #[test]
    fn the_input_follows_the_model_family() {
        let mut request = shot();
        request.duration_ms = 5200;
        let v3 = offline("fal-ai/kling-video/v3/pro/image-to-video");
        let body = v3.body(&request).unwrap();
        assert!(body["start_image_url"].as_str().unwrap().starts_with("data:image/png;base64,"));
        assert!(body.get("image_url").is_none() && body.get("aspect_ratio").is_none());
        assert_eq!((body["duration"].as_str(), body["generate_audio"].as_bool()), (Some("10"), Some(false)));
        assert_eq!((v3.photos_per_shot(), v3.price(&request)), (1, Usd::from_dollars(1.68)));

        let turbo = offline("fal-ai/kling-video/v2.5-turbo/standard/image-to-video");
        let body = turbo.body(&request).unwrap();
        assert!(body["image_url"].is_string() && body.get("generate_audio").is_none(), "{body}");
        assert_eq!(turbo.price(&shot()), Usd::from_dollars(0.21), "5 s at $0.042");

        let o3 = offline("fal-ai/kling-video/o3/standard/image-to-video");
        assert!(o3.body(&request).unwrap()["image_url"].is_string(), "O3 takes image_url");

        let veo = offline("fal-ai/veo3.1/fast/image-to-video");
        request.width = 1920;
        request.height = 1080;
        let body = veo.body(&request).unwrap();
        assert_eq!((body["duration"].as_str(), body["aspect_ratio"].as_str()), (Some("6s"), Some("16:9")));
        assert_eq!((body["generate_audio"].as_bool(), veo.price(&request)), (Some(false), Usd::from_dollars(0.90)));

        let other = offline("fal-ai/wan/v2.2-a14b/image-to-video");
        let body = other.body(&request).unwrap();
        assert_eq!((body["duration"].as_u64(), body.get("generate_audio")), (Some(6), None));
        assert_eq!(other.duration(16_000), 15);
        let seedance = offline("bytedance/seedance-2.0/reference-to-video");
        assert_eq!((seedance.photos_per_shot(), seedance.app.as_str()), (4, "bytedance/seedance-2.0"));
        let body = seedance.body(&request).unwrap();
        assert_eq!((body["duration"].as_u64(), body["generate_audio"].as_bool()), (Some(6), Some(false)));
        assert_eq!(body["prompt"].as_str().map(str::len), Some(24));
        request.prompt = "x".repeat(3000);
        assert_eq!(seedance.body(&request).unwrap()["prompt"].as_str().unwrap().len(), MAX_PROMPT);
    }

    #[tokio::test]
    async fn a_start_image_model_runs_against_its_own_stub() {
        let model = "fal-ai/kling-video/v3/standard/image-to-video";
        let stub = FalStub::for_model(model).await;
        let v = fal(&stub.config());
        assert_eq!(v.price(&shot()), Usd::from_dollars(0.10 * 5.0), "the stub's price wins over the list");
        let job = v.submit(&shot(), &key()).await.unwrap();
        assert!(stub.bodies()[0]["start_image_url"].is_string());
        ready(finish(&v, &job).await.last().unwrap());
        // A client of another model is refused by fal's input validation (the stub routes by model).
        let mut config = stub.config();
        config.model = "fal-ai/kling-video/o3/standard/image-to-video".into();
        let e = fal(&config).submit(&shot(), &key()).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { moderation: false, .. }) && e.to_string().contains("404"), "{e}");
    }

    #[tokio::test]
    async fn submit_errors_are_classified_and_each_is_one_submission() {
        let stub = FalStub::start().await;
        let v = fal(&stub.config());
        for s in [
            Script::RateLimited,
            Script::Throttled,
            Script::Exhausted,
            Script::ServerError,
            Script::NotRetryable,
            Script::PolicyAtSubmit,
        ] {
            stub.script(s);
        }
        let e = v.submit(&shot(), &key()).await.unwrap_err();
        assert_eq!((e.is_retryable(), e.retry_after()), (true, Some(Duration::from_secs(1))), "{e}");
        assert_eq!(stub.submissions(), 1);
        let e = v.submit(&shot(), &key()).await.unwrap_err();
        assert!(e.is_retryable() && e.retry_after().is_none(), "{e}");
        let e = v.submit(&shot(), &key()).await.unwrap_err();
        assert!(matches!(e, ProviderError::Exhausted { .. }) && e.to_string().contains("Exhausted balance"), "{e}");
        let e = v.submit(&shot(), &key()).await.unwrap_err();
        assert!(e.is_retryable() && e.to_string().contains("HTTP 500"), "{e}");
        let e = v.submit(&shot(), &key()).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { moderation: false, .. }) && !e.is_retryable(), "{e:?}");
        assert!(e.to_string().contains("not retryable") && e.to_string().contains("runner_unavailable"), "{e}");
        let e = v.submit(&shot(), &key()).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { moderation: true, .. }), "{e:?}");
        v.submit(&shot(), &key()).await.unwrap();
        assert_eq!(stub.submissions(), 7, "one request a submit, none retried");

        let mut config = stub.config();
        config.api_key = Some(Secret::new("wrong-fal-key-123"));
        let e = fal(&config).submit(&shot(), &key()).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { moderation: false, .. }), "{e:?}");
        assert!(e.to_string().contains("TRUEREEL_FAL_API_KEY") && !e.to_string().contains("wrong-fal-key"), "{e}");
        assert_eq!(stub.submissions(), 7, "refused before it counts");
    }

    #[test]
    fn http_answers_map_to_errors() {
        let api = Api::new(NAME, "https://queue.example", false, Duration::from_secs(1), "X").unwrap();
        let e = status_error(&api, &Answer { retry_after: Some(Duration::from_secs(4)), ..answer(429, &[], "{}") });
        assert_eq!((e.is_retryable(), e.retry_after()), (true, Some(Duration::from_secs(4))));
        assert!(matches!(status_error(&api, &answer(402, &[], "{}")), ProviderError::Exhausted { .. }));
        for words in ["Exhausted balance", "User is locked", "billing issue", "insufficient balance"] {
            let e = status_error(&api, &answer(403, &[], &json!({ "detail": words }).to_string()));
            assert!(matches!(e, ProviderError::Exhausted { .. }), "{words}: {e:?}");
        }
        for status in [401, 403] {
            let e = status_error(&api, &answer(status, &[], r#"{"detail":"Invalid key"}"#));
            assert!(
                matches!(e, ProviderError::Rejected { moderation: false, .. })
                    && e.to_string().contains("TRUEREEL_FAL_API_KEY")
            );
        }
        let flagged = r#"{"detail":[{"loc":["body","image_url"],"msg":"flagged","type":"content_policy_violation"}]}"#;
        assert!(matches!(
            status_error(&api, &answer(422, &[], flagged)),
            ProviderError::Rejected { moderation: true, .. }
        ));
        let e = status_error(
            &api,
            &answer(422, &[], r#"{"detail":[{"loc":["body","duration"],"msg":"bad","type":"value_error"}]}"#),
        );
        assert!(matches!(e, ProviderError::Rejected { moderation: false, .. }) && e.to_string().contains("bad"), "{e}");
        for status in [500, 502, 503, 504, 408] {
            assert!(status_error(&api, &answer(status, &[], "<html>")).is_retryable(), "{status}");
            let e = status_error(&api, &answer(status, &[("x-fal-retryable", "false")], "{}"));
            assert!(matches!(e, ProviderError::Rejected { .. }), "{status}: {e:?}");
        }
        assert!(matches!(status_error(&api, &answer(404, &[], "{}")), ProviderError::Rejected { .. }));
        assert_eq!(policy(flagged.as_bytes()), Some(true));
        assert_eq!(policy(br#"{"detail":[{"loc":["output"],"type":"content_policy_violation"}]}"#), Some(false));
        assert_eq!(policy(br#"{"detail":[{"loc":[],"type":"content_policy_violation"}]}"#), Some(false));
        assert_eq!(policy(br#"{"detail":"no"}"#), None);
    }

    #[test]
    fn results_map_to_clips_and_failures() {
        let api = Api::new(NAME, "https://queue.example", false, Duration::from_secs(1), "X").unwrap();
        let failed = |a: Answer| failure(result_status(&api, &a).unwrap());
        let f = failed(answer(404, &[], r#"{"detail":"Request not found"}"#));
        assert_eq!((f.class, f.billed, f.code.as_deref()), (FailureClass::Retryable, true, Some("result_gone")));
        assert!(f.reason.contains("1 h"), "{}", f.reason);
        let f = failed(answer(500, &[("x-fal-retryable", "false"), ("x-fal-error-type", "runner_crash")], "{}"));
        assert_eq!((f.class, f.billed, f.code.as_deref()), (FailureClass::Invalid, false, Some("runner_crash")));
        let f = failed(answer(503, &[], "{}"));
        assert_eq!((f.class, f.billed, f.code.as_deref()), (FailureClass::Retryable, false, Some("http_503")));
        let f =
            failed(answer(422, &[], r#"{"detail":[{"loc":["body","duration"],"msg":"bad","type":"value_error"}]}"#));
        assert_eq!((f.class, f.billed), (FailureClass::Invalid, true));
        assert!(result_status(&api, &answer(429, &[], "{}")).unwrap_err().is_retryable());
        assert!(matches!(result_status(&api, &answer(401, &[], "{}")), Err(ProviderError::Rejected { .. })));
        assert!(matches!(result_status(&api, &answer(200, &[], "not json")), Err(ProviderError::Invalid { .. })));
        let ftp = r#"{"video":{"url":"ftp://cdn/x.mp4"}}"#;
        assert!(matches!(result_status(&api, &answer(200, &[], ftp)), Err(ProviderError::Invalid { .. })));
        let still = answer(400, &[], r#"{"detail":"Request is still in progress"}"#);
        assert!(matches!(result_status(&api, &still), Ok(JobStatus::Pending { .. })));
    }

    #[tokio::test]
    async fn failed_queued_and_malformed_requests() {
        let stub = FalStub::start().await;
        let v = fal(&stub.config());
        for s in [
            Script::PolicyViolation { input: true },
            Script::PolicyViolation { input: false },
            Script::ModelError,
            Script::NoVideo,
            Script::InQueue { polls: 2 },
            Script::MalformedPoll,
        ] {
            stub.script(s);
            stub.script(Script::Succeed { polls: 0 });
        }
        let mut jobs = Vec::new();
        for _ in 0..12 {
            jobs.push(v.submit(&shot(), &key()).await.unwrap());
        }
        let f = failure(v.poll(&jobs[0]).await.unwrap());
        assert_eq!(
            (f.class, f.billed, f.code.as_deref()),
            (FailureClass::ModerationInput, true, Some("content_policy_violation"))
        );
        let f = failure(v.poll(&jobs[2]).await.unwrap());
        assert_eq!((f.class, f.billed), (FailureClass::ModerationOutput, true));
        let f = failure(v.poll(&jobs[4]).await.unwrap());
        assert_eq!(
            (f.class, f.billed, f.code.as_deref()),
            (FailureClass::Retryable, false, Some("internal_server_error"))
        );
        let f = failure(v.poll(&jobs[6]).await.unwrap());
        assert_eq!(
            (f.class, f.billed, f.reason.as_str()),
            (FailureClass::Retryable, true, "completed without a video")
        );
        let seen = finish(&v, &jobs[8]).await;
        assert_eq!(seen[..3], [pending(true), pending(true), pending(false)]);
        ready(&seen[3]);
        assert!(matches!(v.poll(&jobs[10]).await, Err(ProviderError::Invalid { .. })));
        for j in [1, 3, 5, 7, 9, 11] {
            ready(&v.poll(&jobs[j]).await.unwrap());
        }
    }

    #[tokio::test]
    async fn a_timed_request_runs_until_its_time() {
        let stub = FalStub::start().await;
        let v = fal(&stub.config());
        stub.script(Script::Timed(Duration::from_millis(150)));
        let job = v.submit(&shot(), &key()).await.unwrap();
        assert_eq!(v.poll(&job).await.unwrap(), pending(false));
        tokio::time::sleep(Duration::from_millis(160)).await;
        ready(&v.poll(&job).await.unwrap());
    }

    #[tokio::test]
    async fn only_a_queued_request_is_cancelled() {
        let stub = FalStub::start().await;
        let v = fal(&stub.config());
        stub.script(Script::NeverStarts);
        let queued = v.submit(&shot(), &key()).await.unwrap();
        assert_eq!(v.poll(&queued).await.unwrap(), pending(true));
        assert_eq!(v.cancel(&queued).await.unwrap(), Cancelled::Confirmed);
        let f = failure(v.poll(&queued).await.unwrap());
        assert_eq!((f.class, f.billed), (FailureClass::Cancelled, false));
        assert_eq!(v.cancel(&queued).await.unwrap(), Cancelled::AlreadyEnded);

        stub.script(Script::NeverFinishes);
        let running = v.submit(&shot(), &key()).await.unwrap();
        assert_eq!(v.cancel(&running).await.unwrap(), Cancelled::Unsupported, "it may still finish and bill");
        assert_eq!(v.poll(&running).await.unwrap(), pending(false));

        stub.script(Script::Succeed { polls: 0 });
        let done = v.submit(&shot(), &key()).await.unwrap();
        assert_eq!(v.cancel(&done).await.unwrap(), Cancelled::AlreadyEnded);
        ready(&v.poll(&done).await.unwrap());
        assert_eq!(stub.cancels(), 4);
        let unknown = JobId::new("00000000-0000-4000-a000-000000000000");
        assert!(matches!(v.cancel(&unknown).await, Err(ProviderError::Rejected { .. })));

        // A refusal other than ALREADY_COMPLETED: the status decides.
        let server = TestServer::start().await;
        let mut config = stub.config();
        config.base_url = server.url("");
        let v = fal(&config);
        let at = format!("/fal-ai/kling-video/requests/{running}");
        server.route(&format!("{at}/cancel"), Reply::status(400).body(r#"{"status":"IN_PROGRESS"}"#));
        server.route(&format!("{at}/status"), Reply::ok(r#"{"status":"IN_PROGRESS"}"#));
        assert_eq!(v.cancel(&running).await.unwrap(), Cancelled::Unsupported);
        server.route(&format!("{at}/status"), Reply::ok(r#"{"status":"IN_QUEUE"}"#));
        assert!(matches!(v.cancel(&running).await, Err(ProviderError::Rejected { .. })), "refused while queued");
    }

    #[tokio::test]
    async fn urls_off_the_api_host_are_never_called() {
        let server = TestServer::start().await;
        let elsewhere = TestServer::start().await;
        let mut config = crate::config::Config::default().video.fal;
        config.base_url = server.url("");
        config.api_key = Some(Secret::new(KEY));
        config.allow_private_network = true;
        let v = fal(&config);
        let id = "0b1e7c2a-9f3d-4e5a-8b6c-7d8e9f0a1b2c";
        let far = elsewhere.url(&format!("/fal-ai/kling-video/requests/{id}"));
        let submitted = json!({ "request_id": id, "status_url": format!("{far}/status"), "response_url": far, "cancel_url": "not a url" });
        server.route(&format!("/{MODEL}"), Reply::ok(submitted.to_string()));
        let at = format!("/fal-ai/kling-video/requests/{id}");
        server.route(&format!("{at}/status"), Reply::ok(r#"{"status":"COMPLETED"}"#));
        server.route(&at, Reply::ok(json!({ "video": { "url": "https://cdn.example/v.mp4" } }).to_string()));
        let job = v.submit(&shot(), &key()).await.unwrap();
        assert_eq!(job.as_str(), id);
        assert_eq!(ready(&v.poll(&job).await.unwrap()).url, "https://cdn.example/v.mp4");
        assert_eq!(elsewhere.connections(), 0, "the key never went to the other host");
        assert_eq!(server.requests_to(&format!("{at}/status")).len(), 1);

        for bad in [r#"{"request_id":"../../etc"}"#, r#"{"status":"IN_QUEUE"}"#, "not json"] {
            server.route(&format!("/{MODEL}"), Reply::ok(bad));
            assert!(matches!(v.submit(&shot(), &key()).await, Err(ProviderError::Invalid { .. })), "{bad}");
        }
        server.route(&format!("{at}/status"), Reply::ok(r#"{"status":"PAUSED"}"#));
        assert!(matches!(v.poll(&job).await, Err(ProviderError::Invalid { .. })));
        server.route(&format!("{at}/status"), Reply::ok(r#"{"status":"FAILED"}"#));
        server.route(&at, Reply::status(500).body(r#"{"detail":"boom"}"#));
        let f = failure(v.poll(&job).await.unwrap());
        assert_eq!((f.class, f.billed), (FailureClass::Retryable, false));
        drop(server);
        assert!(v.poll(&job).await.unwrap_err().is_retryable(), "nobody answers");
    }

    #[tokio::test]
    async fn downloads_expire_and_are_capped() {
        let stub = FalStub::start().await;
        let v = fal(&stub.config());
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("clip.mp4");
        stub.script(Script::Expiring { downloads: 1, after: None });
        let job = v.submit(&shot(), &key()).await.unwrap();
        let first = ready(&v.poll(&job).await.unwrap());
        v.download(&first, &dest, u64::MAX).await.unwrap();
        let e = v.download(&first, &dest, u64::MAX).await.unwrap_err();
        assert!(matches!(e, ProviderError::Expired { .. }), "{e}");
        let fresh = ready(&v.poll(&job).await.unwrap());
        assert_ne!(fresh.url, first.url);
        assert_eq!(v.download(&fresh, &dest, u64::MAX).await.unwrap().sha256, crate::Sha256::of(&stub.clip()));

        stub.script(Script::Expiring { downloads: 10, after: Some(Duration::from_millis(40)) });
        let job = v.submit(&shot(), &key()).await.unwrap();
        let out = ready(&v.poll(&job).await.unwrap());
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(matches!(v.download(&out, &dest, u64::MAX).await, Err(ProviderError::Expired { .. })));

        stub.script(Script::Oversized(300_000));
        let job = v.submit(&shot(), &key()).await.unwrap();
        let big = ready(&v.poll(&job).await.unwrap());
        let _ = std::fs::remove_file(&dest);
        let e = v.download(&big, &dest, 200_000).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { .. }) && e.to_string().contains("over the cap"), "{e}");
        assert!(!dest.exists());
        assert_eq!(v.download(&big, &dest, 300_000).await.unwrap().bytes, 300_000);
        assert_eq!(stub.downloads(), 6);
    }

    #[test]
    fn setup_names_the_setting_at_fault() {
        let mut config = crate::config::Config::default().video.fal;
        let err = |c: &ApiConfig| FalVideo::new(c, Duration::from_secs(1)).unwrap_err();
        assert_eq!(err(&config).setting, "TRUEREEL_FAL_API_KEY");
        config.api_key = Some(Secret::new("fal-secret-key"));
        let v = fal(&config);
        assert_eq!(
            (v.model(), v.app.as_str(), v.api.base.as_str()),
            (MODEL, "fal-ai/kling-video", "https://queue.fal.run")
        );
        assert!(!format!("{v:?}").contains("fal-secret-key"), "{v:?}");
        for model in [
            "kling",
            "fal-ai/../image-to-video",
            "fal-ai/flux/dev",
            "fal-ai//image-to-video",
            "fal-ai/x?y/image-to-video",
        ] {
            config.model = model.into();
            assert_eq!(err(&config).setting, "TRUEREEL_FAL_MODEL", "{model}");
        }
        config.model = "fal-ai/wan/v2.2-a14b/image-to-video".into();
        let e = err(&config);
        assert!(e.setting == "TRUEREEL_FAL_USD_PER_SECOND" && e.reason.contains("fal-ai/wan"), "{e}");
        config.usd_per_second = Some(Usd::from_dollars(0.05));
        assert_eq!(fal(&config).price(&shot()), Usd::from_dollars(0.25));
        config.base_url = "http://queue.fal.run".into();
        assert_eq!(err(&config).setting, "TRUEREEL_FAL_BASE_URL");
    }
}
