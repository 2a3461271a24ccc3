//! Kling: a paid image-to-video model over its official HTTP API (`providers.md` §1.3 and the
//! 2026-12-02 update), one task per shot, signed with a short-lived JWT.
//!
//! | call | request | answer |
//! |---|---|---|
//! | submit (one photo) | `POST /v1/videos/image2video` `{model_name, image: raw base64, prompt?, negative_prompt, mode, duration, external_task_id, sound?}` | envelope, `data.task_id` |
//! | submit (2–4 photos) | `POST /v1/videos/multi-image2video` `{model_name: kling-v1-6, image_list: [{image}], prompt, negative_prompt, mode, duration, aspect_ratio, external_task_id}` | envelope, `data.task_id` |
//! | poll | `GET /v1/videos/image2video/{id}` or `GET /v1/videos/multi-image2video/{id}` | envelope, `data.{task_status, task_status_msg, task_result.videos[].url}` |
//! | cancel | none: [`Cancelled::Unsupported`] | |
//!
//! Every answer is the envelope `{code, message, request_id, data}`; a `code` other than 0 is an
//! error even in a 200. A multi-photo job's id is `multi:<task_id>` (the poll path differs by
//! endpoint); a one-photo job's id is the bare task id.
//!
//! **Auth.** Every call carries `Authorization: Bearer <jwt>`: HS256 over `{iss: access key, exp:
//! now + 1800, nbf: now - 5}`, signed with the secret key. The token is kept and minted again once
//! less than 5 minutes of it are left; a 401 with code 1004 (expired) mints a new one and sends that
//! one call once more (a 401 made no task, so it is never a double submission). Neither key nor
//! token reaches `Debug`, an error or a log line. Downloads go to the output URL without the token,
//! through the SSRF guard.
//!
//! **Photos** go inline as bare base64 (no `data:` prefix), JPEG or PNG, at most 10 MB, at least 300
//! px a side, aspect 1:2.5–2.5:1; WebP or a photo over [`MAX_SIDE`] is re-encoded as JPEG. A photo
//! outside the aspect range or under 300 px is refused (Rejected), never distorted; for a multi-photo
//! shot that holds for each of its photos.
//!
//! **Requests.** No ratio (the clip follows the photo) and no seed on `image2video`; `sound: "off"`
//! for models that make sound: kling-v3 (our reading: `sound` is documented from v2.6 on, and v3 is
//! newer); kling-v1-6 and kling-v2-5-turbo make none and get no `sound` field. Durations are 5
//! or 10 s. `external_task_id` is the idempotency key with every character outside `A-Za-z0-9_-`
//! made `-` (cut to 64 with a hash of the whole key when longer): our reading; Kling does not
//! dedupe on it, so [`VideoModel::idempotent_submit`] is false. `negative_prompt` on
//! `multi-image2video` is our reading of the endpoint's parameters (the update names the others).
//!
//! **Price** per second billed (5 or 10): `TRUEREEL_KLING_USD_PER_SECOND` when set (for every shot,
//! multi-photo ones too); else the list price: std kling-v1-6 $0.056, kling-v2-5-turbo $0.042,
//! kling-v3 $0.084; pro kling-v3 $0.168, other pro prices must be set (SetupError). A multi-photo
//! shot runs on kling-v1-6 and is priced at its rate ($0.056 std; in pro mode, whose kling-v1-6 price
//! is not listed, at $0.168, the highest known, so budgets stay safe).
//!
//! | HTTP | code | error |
//! |---|---|---|
//! | 401 | 1004 (token expired) | mint a new token, send once more; a second 1004: Rejected |
//! | 401 | 1000–1003, other | Rejected: the keys are refused (`TRUEREEL_KLING_ACCESS_KEY`/`SECRET_KEY`) |
//! | 400 | 1200, 1201 | Rejected (bad parameters) |
//! | 404 | 1202, 1203 | Rejected |
//! | 400 | 1300, 1301 | Rejected, moderation (content policy, at submission: nothing ran) |
//! | 429 | 1302 (rate), 1303 (concurrency) | Retryable (`Retry-After` if sent) |
//! | 429 | 1100 (account exception), 1101 (arrears), 1102 (resource pack depleted), 1304 (IP whitelist) | Exhausted: a quota or a refused account, not a moment's load, despite the 429 |
//! | 403 | 1103 (no permission) | Exhausted: the account is refused, fall over |
//! | 5xx | 5000–5002, other | Retryable |
//! | 402 | | Exhausted |
//! | 408, other 429 | | Retryable |
//! | 200 | unknown non-zero code, or not the envelope | Invalid |
//!
//! Tasks, by `task_status` ("Failed tasks are not charged" is documented, so no failure is billed):
//!
//! | status | result |
//! |---|---|
//! | `submitted` | Pending, queued |
//! | `processing` | Pending |
//! | `succeed` with a video URL | Ready |
//! | `succeed` without one | Failed: Retryable, not billed |
//! | `failed`, `task_status_msg` naming risk control, moderation, sensitive or policy-violating content | Failed: ModerationOutput, not billed |
//! | `failed`, other | Failed: Retryable, not billed |

use super::api::{self, Api, Inline, PhotoLimits, SetupError};
use crate::config::{KlingConfig, Secret};
use crate::ports::{
    ClipOutput, ClipRequest, Downloaded, FailureClass, JobFailure, JobStatus, ProviderError, VideoModel,
};
use crate::{IdempotencyKey, JobId, Usd};
use async_trait::async_trait;
use base64::Engine as _;
use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use url::Url;

const NAME: &str = "kling";
/// The longest side of a photo sent as it is (a larger one is scaled down; Kling names no limit).
pub const MAX_SIDE: u32 = 4096;
/// What Kling takes as a photo.
pub const PHOTOS: PhotoLimits = PhotoLimits {
    inline: Inline::Base64,
    max_bytes: 10_000_000,
    max_side: MAX_SIDE,
    min_side: 300,
    aspect: (0.4, 2.5),
};
/// `prompt` in characters.
const MAX_PROMPT: usize = 2500;
/// Photos one multi-image task takes (the main one first).
const MAX_PHOTOS: usize = 4;
/// The model `multi-image2video` runs.
pub const MULTI_MODEL: &str = "kling-v1-6";
const MULTI_RATIOS: &[&str] = &["16:9", "9:16", "1:1"];
const DURATIONS: &[u32] = &[5, 10];
/// A multi-photo job's id prefix.
const MULTI: &str = "multi:";
/// What the product must not turn into.
const NEGATIVE_PROMPT: &str =
    "distorted or changed product, altered logo or text, extra objects, blur, flicker, watermark";
/// A token's life and how long before its end a new one is minted.
const TOKEN_LIFETIME: Duration = Duration::from_secs(1800);
const TOKEN_MARGIN: Duration = Duration::from_secs(300);
/// Words of a failed task's message that mean moderation.
const MODERATION_WORDS: &[&str] =
    &["risk", "moderat", "sensitive", "policy", "violat", "inappropriate", "safety", "prohibited", "illegal"];

/// What a model costs and whether it makes sound.
#[derive(Debug, Clone, Copy)]
struct ModelSpec {
    std: f64,
    /// `None`: no list price in pro mode (it must be set).
    pro: Option<f64>,
    sound: bool,
}

fn spec(model: &str) -> Option<ModelSpec> {
    Some(match model {
        "kling-v1-6" => ModelSpec { std: 0.056, pro: None, sound: false },
        "kling-v2-5-turbo" => ModelSpec { std: 0.042, pro: None, sound: false },
        "kling-v3" => ModelSpec { std: 0.084, pro: Some(0.168), sound: true },
        _ => return None,
    })
}

/// kling-v1-6's std price, which a multi-photo shot costs.
const MULTI_STD: f64 = 0.056;
/// The highest per-second price listed, for a multi-photo shot in pro mode (kling-v1-6 pro is unlisted).
const HIGHEST_KNOWN: f64 = 0.168;

/// The JWT Kling takes: HS256 over `{iss, exp, nbf}`, base64url without padding.
pub fn jwt(access_key: &str, secret_key: &[u8], exp: u64, nbf: u64) -> String {
    use aws_lc_rs::hmac;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = b64.encode(json!({ "iss": access_key, "exp": exp, "nbf": nbf }).to_string());
    let input = format!("{header}.{claims}");
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret_key);
    let signature = b64.encode(hmac::sign(&key, input.as_bytes()).as_ref());
    format!("{input}.{signature}")
}

fn unix_now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// The current token and when it was minted to end.
struct Tokens {
    access: Secret,
    secret: Secret,
    state: Mutex<TokenState>,
}

struct TokenState {
    /// The token and its `exp` (Unix seconds).
    current: Option<(String, u64)>,
    lifetime: Duration,
    margin: Duration,
    mints: u64,
}

impl Tokens {
    fn lock(&self) -> std::sync::MutexGuard<'_, TokenState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The kept token while more than the margin of it is left; else a new one.
    fn current(&self) -> String {
        let mut s = self.lock();
        let now = unix_now().as_secs_f64();
        match &s.current {
            Some((token, exp)) if *exp as f64 - now >= s.margin.as_secs_f64() => token.clone(),
            _ => self.mint(&mut s),
        }
    }

    /// A new token in place of `stale` (unless another call has already replaced it).
    fn replace(&self, stale: &str) -> String {
        let mut s = self.lock();
        match &s.current {
            Some((token, _)) if token != stale => token.clone(),
            _ => self.mint(&mut s),
        }
    }

    fn mint(&self, s: &mut TokenState) -> String {
        let now = unix_now().as_secs();
        let exp = now + s.lifetime.as_secs().max(1);
        let token = jwt(self.access.expose(), self.secret.expose().as_bytes(), exp, now.saturating_sub(5));
        s.current = Some((token.clone(), exp));
        s.mints += 1;
        tracing::debug!(provider = NAME, exp, "token minted");
        token
    }
}

/// Kling's image-to-video API.
pub struct KlingVideo {
    api: Api,
    tokens: Tokens,
    model: String,
    spec: ModelSpec,
    mode: String,
    usd_per_second: Usd,
    multi_usd_per_second: Usd,
    poll_interval: Duration,
}

impl std::fmt::Debug for KlingVideo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KlingVideo")
            .field("base", &self.api.base)
            .field("model", &self.model)
            .field("mode", &self.mode)
            .field("usd_per_second", &self.usd_per_second)
            .finish_non_exhaustive()
    }
}

impl KlingVideo {
    /// `timeout` bounds each API call, and each wait for the next piece of a download.
    pub fn new(config: &KlingConfig, timeout: Duration) -> Result<Self, SetupError> {
        let key = |k: &Option<Secret>, var: &str, what: &str| {
            k.clone()
                .filter(|k| !k.expose().trim().is_empty())
                .ok_or_else(|| SetupError::new(var, format!("no Kling {what}: set {var}")))
        };
        let access = key(&config.access_key, "TRUEREEL_KLING_ACCESS_KEY", "access key")?;
        let secret = key(&config.secret_key, "TRUEREEL_KLING_SECRET_KEY", "secret key")?;
        let c = &config.api;
        let api = Api::new(NAME, &c.base_url, c.allow_private_network, timeout, "TRUEREEL_KLING_BASE_URL")?;
        let spec = spec(&c.model).ok_or_else(|| {
            SetupError::new(
                "TRUEREEL_KLING_MODEL",
                format!(
                    "{:?} is not a Kling model truereel knows ({})",
                    c.model,
                    crate::config::defs::KLING_MODELS.join(", ")
                ),
            )
        })?;
        let pro = match config.mode.as_str() {
            "std" => false,
            "pro" => true,
            other => return Err(SetupError::new("TRUEREEL_KLING_MODE", format!("{other:?} is not std or pro"))),
        };
        let (single, multi) = match (c.usd_per_second, pro) {
            (Some(set), _) => (set, set),
            (None, false) => (Usd::from_dollars(spec.std), Usd::from_dollars(MULTI_STD)),
            (None, true) => match spec.pro {
                Some(p) => (Usd::from_dollars(p), Usd::from_dollars(HIGHEST_KNOWN)),
                None => {
                    return Err(SetupError::new(
                        "TRUEREEL_KLING_USD_PER_SECOND",
                        format!("{} has no list price in pro mode: set TRUEREEL_KLING_USD_PER_SECOND", c.model),
                    ));
                }
            },
        };
        let state = TokenState { current: None, lifetime: TOKEN_LIFETIME, margin: TOKEN_MARGIN, mints: 0 };
        Ok(Self {
            api,
            tokens: Tokens { access, secret, state: Mutex::new(state) },
            model: c.model.clone(),
            spec,
            mode: config.mode.clone(),
            usd_per_second: single,
            multi_usd_per_second: multi,
            poll_interval: c.poll_interval,
        })
    }

    /// Sets how long a token lives and how long before its end a new one is minted (tests).
    #[cfg(any(test, feature = "testing"))]
    pub fn set_token_life(&self, lifetime: Duration, margin: Duration) {
        let mut s = self.tokens.lock();
        (s.lifetime, s.margin, s.current) = (lifetime, margin, None);
    }

    /// Tokens minted so far (tests).
    #[cfg(any(test, feature = "testing"))]
    pub fn mints(&self) -> u64 {
        self.tokens.lock().mints
    }

    /// The seconds asked for (and billed) for a shot of `duration_ms`: 5 or 10.
    pub fn duration(&self, duration_ms: u32) -> u32 {
        api::seconds_for(DURATIONS, duration_ms)
    }

    /// The `image2video` body for a photo already made base64.
    fn single_body(&self, request: &ClipRequest, image: String, key: &IdempotencyKey) -> Value {
        let mut body = json!({
            "model_name": self.model,
            "image": image,
            "negative_prompt": NEGATIVE_PROMPT,
            "mode": self.mode,
            "duration": self.duration(request.duration_ms).to_string(),
            "external_task_id": external_task_id(key),
        });
        let prompt = api::prompt_cut(&request.prompt, MAX_PROMPT);
        if !prompt.trim().is_empty() {
            body["prompt"] = json!(prompt);
        }
        if self.spec.sound {
            body["sound"] = json!("off");
        }
        body
    }

    /// The `multi-image2video` body for photos already made base64 (the main one first).
    fn multi_body(&self, request: &ClipRequest, images: Vec<String>, key: &IdempotencyKey) -> Value {
        json!({
            "model_name": MULTI_MODEL,
            "image_list": images.into_iter().map(|image| json!({ "image": image })).collect::<Vec<_>>(),
            "prompt": api::prompt_cut(&request.prompt, MAX_PROMPT),
            "negative_prompt": NEGATIVE_PROMPT,
            "mode": self.mode,
            "duration": self.duration(request.duration_ms).to_string(),
            "aspect_ratio": api::closest_ratio(MULTI_RATIOS, request.width, request.height),
            "external_task_id": external_task_id(key),
        })
    }

    /// Sends the request `build` makes with a token; on a 401 code 1004, once more with a new one.
    async fn send(&self, build: impl Fn() -> reqwest::RequestBuilder) -> Result<api::Answer, ProviderError> {
        let auth = |token: &str| api::sensitive(&format!("Bearer {token}"));
        let token = self.tokens.current();
        let answer = self.api.send(build().header(AUTHORIZATION, auth(&token))).await?;
        if answer.status != 401 || envelope_code(&answer.body) != Some(1004) {
            return Ok(answer);
        }
        tracing::info!(provider = NAME, "token refused as expired: minting a new one");
        let token = self.tokens.replace(&token);
        self.api.send(build().header(AUTHORIZATION, auth(&token))).await
    }

    /// Posts a task-creating body to `path`; the new task's id.
    async fn create(&self, path: &str, body: &Value) -> Result<String, ProviderError> {
        let body = Bytes::from(serde_json::to_vec(body).expect("JSON"));
        let build = || {
            self.api.request(reqwest::Method::POST, path).header(CONTENT_TYPE, "application/json").body(body.clone())
        };
        let data = envelope(self.send(build).await?)?;
        let id = data["task_id"].as_str().ok_or_else(|| invalid("the answer has no task_id".into()))?;
        check_task_id(id).map_err(|_| invalid(format!("{:?} is not a Kling task id", api::shown(id, 80))))?;
        Ok(id.to_string())
    }
}

/// `key` as an `external_task_id`: `A-Za-z0-9_-` only, at most 64 characters.
fn external_task_id(key: &IdempotencyKey) -> String {
    let safe: String =
        key.as_str().chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '-' }).collect();
    if safe.len() <= 64 { safe } else { format!("{}-{}", &safe[..47], &key.token()[..16]) }
}

/// A task id as Kling gives it: 1 to 100 of `A-Za-z0-9_-`.
fn check_task_id(id: &str) -> Result<(), ()> {
    let ok = (1..=100).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    if ok { Ok(()) } else { Err(()) }
}

/// The poll path of a job (see the module doc's job ids).
fn task_path(job: &JobId) -> Result<String, ProviderError> {
    let (endpoint, id) = match job.as_str().strip_prefix(MULTI) {
        Some(id) => ("multi-image2video", id),
        None => ("image2video", job.as_str()),
    };
    check_task_id(id).map_err(|_| rejected(format!("{:?} is not a Kling job id", api::shown(job.as_str(), 80))))?;
    Ok(format!("/v1/videos/{endpoint}/{id}"))
}

/// The photo as Kling takes it (bare base64); Rejected when it cannot be read or is out of limits.
pub fn photo(bytes: &[u8]) -> Result<String, ProviderError> {
    api::fit_photo(bytes, &PHOTOS).map(|p| p.inline).map_err(|why| rejected(format!("{why} (Kling)")))
}

/// The envelope's `code`, when the body is one.
fn envelope_code(body: &[u8]) -> Option<i64> {
    serde_json::from_slice::<Value>(body).ok()?["code"].as_i64()
}

/// The envelope's `data` when its code is 0, else the mapped error.
fn envelope(answer: api::Answer) -> Result<Value, ProviderError> {
    let json = serde_json::from_slice::<Value>(&answer.body).ok();
    let code = json.as_ref().and_then(|j| j["code"].as_i64());
    if !answer.ok() {
        return Err(status_error(answer.status, code, &answer.error_text(), answer.retry_after));
    }
    let json = json.ok_or_else(|| invalid("the answer is not JSON".into()))?;
    match code {
        Some(0) if json["data"].is_object() => Ok(json["data"].clone()),
        Some(0) => Err(invalid("the answer has no data".into())),
        Some(code) => Err(status_error(answer.status, Some(code), &answer.error_text(), answer.retry_after)),
        None => Err(invalid("the answer has no code".into())),
    }
}

/// The error for an answer with HTTP `status` and envelope `code` (see the module doc).
fn status_error(status: u16, code: Option<i64>, message: &str, retry_after: Option<Duration>) -> ProviderError {
    let text = match code {
        Some(code) => format!("HTTP {status}, code {code}: {message}"),
        None => format!("HTTP {status}: {message}"),
    };
    let keys = || {
        rejected(format!(
            "{text}: the keys are refused (check TRUEREEL_KLING_ACCESS_KEY and TRUEREEL_KLING_SECRET_KEY, and the clock)"
        ))
    };
    match (status, code) {
        (_, Some(1100..=1103 | 1304)) | (402, _) => exhausted(text),
        (_, Some(1300 | 1301)) => ProviderError::Rejected { provider: NAME.into(), message: text, moderation: true },
        (_, Some(1302 | 1303)) => retry(text, retry_after),
        (_, Some(1000..=1004)) | (401, _) => keys(),
        (_, Some(5000..=5002)) | (408 | 429 | 500..=599, _) => retry(text, retry_after),
        (200..=299, _) => invalid(format!("{text} (an unknown code)")),
        _ => rejected(text),
    }
}

/// What a task's `data` says.
fn status(data: &Value, poll_interval: Duration) -> Result<JobStatus, ProviderError> {
    let status = data["task_status"].as_str().ok_or_else(|| invalid("the task has no task_status".into()))?;
    let message = data["task_status_msg"].as_str().map(|m| api::shown(m, 300)).filter(|m| !m.trim().is_empty());
    let failed = |class, reason: String| JobStatus::Failed(JobFailure { class, code: None, reason, billed: false });
    Ok(match status {
        "submitted" => JobStatus::Pending { retry_in: poll_interval, queued: true },
        "processing" => JobStatus::Pending { retry_in: poll_interval, queued: false },
        "succeed" => match data["task_result"]["videos"].get(0).and_then(|v| v["url"].as_str()) {
            Some(url) => {
                let parsed = Url::parse(url).map_err(|_| invalid("the task's video is not a URL".into()))?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    return Err(invalid(format!("the task's video is a {} URL", parsed.scheme())));
                }
                JobStatus::Ready(ClipOutput { url: url.to_string(), content_type: None })
            }
            None => failed(FailureClass::Retryable, "succeeded with no video".into()),
        },
        "failed" => {
            let reason = message.unwrap_or_else(|| "the task failed".into());
            let lower = reason.to_lowercase();
            let class = match MODERATION_WORDS.iter().any(|w| lower.contains(w)) {
                true => FailureClass::ModerationOutput,
                false => FailureClass::Retryable,
            };
            failed(class, reason)
        }
        other => return Err(invalid(format!("unknown task status {:?}", api::shown(other, 40)))),
    })
}

fn retry(message: String, retry_after: Option<Duration>) -> ProviderError {
    ProviderError::Retryable { provider: NAME.into(), message, retry_after }
}

fn rejected(message: String) -> ProviderError {
    ProviderError::Rejected { provider: NAME.into(), message, moderation: false }
}

fn invalid(message: String) -> ProviderError {
    ProviderError::Invalid { provider: NAME.into(), message }
}

fn exhausted(message: String) -> ProviderError {
    ProviderError::Exhausted { provider: NAME.into(), message }
}

#[async_trait]
impl VideoModel for KlingVideo {
    fn name(&self) -> &str {
        NAME
    }

    /// Kling does not dedupe on `external_task_id`: a submit sent twice is two tasks.
    fn idempotent_submit(&self) -> bool {
        false
    }

    fn price(&self, request: &ClipRequest) -> Usd {
        let rate = match request.more_images.is_empty() {
            true => self.usd_per_second,
            false => self.multi_usd_per_second,
        };
        Usd(rate.0.saturating_mul(self.duration(request.duration_ms) as i64))
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn photos_per_shot(&self) -> usize {
        MAX_PHOTOS
    }

    async fn submit(&self, request: &ClipRequest, key: &IdempotencyKey) -> Result<JobId, ProviderError> {
        let photos: Vec<Bytes> =
            std::iter::once(&request.image).chain(request.more_images.iter().take(MAX_PHOTOS - 1)).cloned().collect();
        let count = photos.len();
        let images = tokio::task::spawn_blocking(move || {
            photos
                .iter()
                .enumerate()
                .map(|(i, p)| match count {
                    1 => photo(p),
                    _ => photo(p).map_err(|e| rejected(format!("photo {} of {count}: {e}", i + 1))),
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(|e| retry(format!("preparing the photos: {e}"), None))??;
        let job = if count == 1 {
            let body = self.single_body(request, images.into_iter().next().expect("one photo"), key);
            JobId::new(self.create("/v1/videos/image2video", &body).await?)
        } else {
            let body = self.multi_body(request, images, key);
            JobId::new(format!("{MULTI}{}", self.create("/v1/videos/multi-image2video", &body).await?))
        };
        let model = if count == 1 { self.model.as_str() } else { MULTI_MODEL };
        tracing::info!(provider = NAME, model, photos = count, task = %job, key = %key, "task submitted");
        Ok(job)
    }

    async fn poll(&self, job: &JobId) -> Result<JobStatus, ProviderError> {
        let path = task_path(job)?;
        let data = envelope(self.send(|| self.api.request(reqwest::Method::GET, &path)).await?)?;
        let status = status(&data, self.poll_interval)?;
        tracing::debug!(provider = NAME, task = %job, status = data["task_status"].as_str().unwrap_or_default(), "polled");
        Ok(status)
    }

    async fn download(&self, output: &ClipOutput, dest: &Path, max_bytes: u64) -> Result<Downloaded, ProviderError> {
        self.api.download(&output.url, None, dest, max_bytes).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::providers::video::testkit::{Logs, finish, png, ready, shot};
    use crate::testing::kling::{ACCESS_KEY, KlingStub, SECRET_KEY, Script};
    use crate::testing::{Reply, TestServer};

    fn key() -> IdempotencyKey {
        IdempotencyKey::parse("mug--0123456789ab/shot-01/attempt-1/clip").unwrap()
    }

    fn kling(config: &KlingConfig) -> KlingVideo {
        KlingVideo::new(config, Duration::from_secs(10)).unwrap()
    }

    fn failed(status: JobStatus) -> JobFailure {
        match status {
            JobStatus::Failed(f) => f,
            other => panic!("not failed: {other:?}"),
        }
    }

    fn b64(text: &str) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD.decode(text).expect("bare base64")
    }

    fn claims(token: &str) -> Value {
        let part = token.split('.').nth(1).unwrap();
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[tokio::test]
    async fn a_shot_is_submitted_polled_and_downloaded() {
        let logs = Logs::capture();
        let stub = KlingStub::start().await;
        let v = kling(&stub.config());
        assert_eq!((v.name(), v.model(), v.idempotent_submit()), ("kling", "kling-v2-5-turbo", false));
        assert_eq!((v.photos_per_shot(), v.takes_inline_image(), v.takes_style_images()), (4, true, false));
        assert_eq!(v.price(&shot()), Usd::from_dollars(0.21), "5 s at $0.042");
        let job = v.submit(&shot(), &key()).await.unwrap();
        assert!(job.as_str().len() == 18 && job.as_str().bytes().all(|b| b.is_ascii_digit()), "{job}");
        assert_eq!(stub.submissions(), 1);
        let body = &stub.bodies()[0];
        assert_eq!(body["model_name"], "kling-v2-5-turbo");
        assert_eq!(b64(body["image"].as_str().unwrap()), shot().image, "raw base64 of the photo as sent");
        assert_eq!((body["mode"].as_str(), body["duration"].as_str()), (Some("std"), Some("5")));
        assert_eq!(body["prompt"], "Slow push in on the mug.");
        assert_eq!(body["external_task_id"], "mug--0123456789ab-shot-01-attempt-1-clip");
        assert!(body["negative_prompt"].as_str().is_some_and(|n| !n.is_empty()));
        for absent in ["sound", "aspect_ratio", "seed", "ratio"] {
            assert!(body.get(absent).is_none(), "{absent} is not sent for kling-v2-5-turbo");
        }
        let sent = &stub.server().requests_to("/v1/videos/image2video")[0];
        let token = sent.header("authorization").unwrap().strip_prefix("Bearer ").unwrap();
        let c = claims(token);
        let now = unix_now().as_secs();
        assert_eq!(c["iss"], ACCESS_KEY);
        assert!((now + 1795..=now + 1800).contains(&c["exp"].as_u64().unwrap()), "{c}");
        assert!((now - 10..=now - 5).contains(&c["nbf"].as_u64().unwrap()), "{c}");

        let seen = finish(&v, &job).await;
        let pending = |queued| JobStatus::Pending { retry_in: Duration::from_millis(10), queued };
        assert_eq!(seen[..2], [pending(true), pending(false)], "submitted, processing");
        let out = ready(&seen[2]);
        assert_eq!(stub.polls(job.as_str()), 3);
        assert_eq!(stub.server().requests_to(&format!("/v1/videos/image2video/{job}")).len(), 3);
        assert_eq!(stub.tokens().iter().collect::<std::collections::HashSet<_>>().len(), 1, "one token kept");
        assert_eq!(v.mints(), 1);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("clips/a.mp4");
        let got = v.download(&out, &dest, 50 << 20).await.unwrap();
        let clip = stub.clip();
        assert_eq!((got.bytes, got.sha256), (clip.len() as u64, crate::Sha256::of(&clip)));
        assert_eq!(std::fs::read(&dest).unwrap(), clip);
        assert_eq!(v.cancel(&job).await.unwrap(), crate::ports::Cancelled::Unsupported);
        let debug = format!("{v:?}");
        assert!(!debug.contains(ACCESS_KEY) && !debug.contains(SECRET_KEY) && !debug.contains(token), "{debug}");
        let logs = logs.text();
        assert!(logs.contains("task submitted"), "{logs}");
        for secret in [ACCESS_KEY, SECRET_KEY, token, "sig="] {
            assert!(!logs.contains(secret), "{secret} in {logs}");
        }
    }

    #[tokio::test]
    async fn submit_errors_are_classified() {
        let stub = KlingStub::start().await;
        let v = kling(&stub.config());
        for s in [
            Script::RateLimited { hint: Some(2) },
            Script::RateLimited { hint: None },
            Script::Concurrency,
            Script::Depleted,
            Script::Moderated,
            Script::ServerError,
        ] {
            stub.script(s);
        }
        let e = v.submit(&shot(), &key()).await.unwrap_err();
        assert_eq!((e.is_retryable(), e.retry_after()), (true, Some(Duration::from_secs(2))), "{e}");
        assert_eq!(stub.submissions(), 1, "one submission per submit call");
        let e = v.submit(&shot(), &key()).await.unwrap_err();
        assert!(e.is_retryable() && e.retry_after().is_none() && e.to_string().contains("1302"), "{e}");
        let e = v.submit(&shot(), &key()).await.unwrap_err();
        assert!(e.is_retryable() && e.to_string().contains("1303"), "{e}");
        let e = v.submit(&shot(), &key()).await.unwrap_err();
        assert!(matches!(e, ProviderError::Exhausted { .. }) && e.to_string().contains("1102"), "{e:?}");
        let e = v.submit(&shot(), &key()).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { moderation: true, .. }) && e.to_string().contains("1301"), "{e}");
        let e = v.submit(&shot(), &key()).await.unwrap_err();
        assert!(e.is_retryable() && e.to_string().contains("5000"), "{e}");
        assert_eq!(stub.submissions(), 6);
        v.submit(&shot(), &key()).await.unwrap();
        assert_eq!(stub.submissions(), 7, "no submit is ever sent twice");
    }

    #[test]
    fn http_answers_and_codes_map_to_errors() {
        let exhausted = |e: &ProviderError| matches!(e, ProviderError::Exhausted { .. });
        let keys = |e: &ProviderError| {
            matches!(e, ProviderError::Rejected { moderation: false, .. })
                && e.to_string().contains("TRUEREEL_KLING_SECRET_KEY")
        };
        for (status, code) in [(429, 1100), (429, 1101), (429, 1102), (403, 1103), (429, 1304), (200, 1102)] {
            assert!(exhausted(&status_error(status, Some(code), "m", None)), "{status} {code}");
        }
        assert!(exhausted(&status_error(402, None, "payment required", None)));
        for (status, code) in [(401, Some(1000)), (401, Some(1002)), (401, Some(1004)), (401, None)] {
            assert!(keys(&status_error(status, code, "m", None)), "{status} {code:?}");
        }
        for code in [1300, 1301] {
            let e = status_error(400, Some(code), "content policy", None);
            assert!(matches!(e, ProviderError::Rejected { moderation: true, .. }), "{code}");
        }
        for (status, code) in [(400, Some(1200)), (400, Some(1201)), (404, Some(1202)), (404, Some(1203)), (400, None)]
        {
            let e = status_error(status, code, "bad params", None);
            assert!(matches!(e, ProviderError::Rejected { moderation: false, .. }), "{status} {code:?}");
        }
        let e = status_error(429, Some(1302), "slow", Some(Duration::from_secs(3)));
        assert_eq!((e.is_retryable(), e.retry_after()), (true, Some(Duration::from_secs(3))));
        for (status, code) in [(500, Some(5000)), (503, Some(5001)), (504, Some(5002)), (502, None), (429, None)] {
            assert!(status_error(status, code, "busy", None).is_retryable(), "{status} {code:?}");
        }
        assert!(matches!(status_error(200, Some(9999), "new", None), ProviderError::Invalid { .. }));
    }

    #[tokio::test]
    async fn failed_queued_and_malformed_tasks() {
        let stub = KlingStub::start().await;
        let v = kling(&stub.config());
        for s in [
            Script::Fail("Failure to pass the risk control system"),
            Script::Fail("Task failed: internal error"),
            Script::SucceedWithoutVideo,
            Script::Queued { polls: 2 },
            Script::MalformedPoll,
            Script::Timed(Duration::from_millis(80)),
        ] {
            stub.script(s);
        }
        let mut jobs = Vec::new();
        for _ in 0..6 {
            jobs.push(v.submit(&shot(), &key()).await.unwrap());
        }
        let f = failed(v.poll(&jobs[0]).await.unwrap());
        assert_eq!((f.class, f.billed), (FailureClass::ModerationOutput, false), "failed tasks are not charged");
        assert!(f.reason.contains("risk control"), "{}", f.reason);
        let f = failed(v.poll(&jobs[1]).await.unwrap());
        assert_eq!((f.class, f.billed), (FailureClass::Retryable, false));
        let f = failed(v.poll(&jobs[2]).await.unwrap());
        assert_eq!((f.class, f.billed, f.reason.as_str()), (FailureClass::Retryable, false, "succeeded with no video"));
        let seen = finish(&v, &jobs[3]).await;
        let pending = |queued| JobStatus::Pending { retry_in: Duration::from_millis(10), queued };
        assert_eq!(seen[..3], [pending(true), pending(true), pending(false)]);
        ready(&seen[3]);
        assert!(matches!(v.poll(&jobs[4]).await, Err(ProviderError::Invalid { .. })));
        assert_eq!(v.poll(&jobs[5]).await.unwrap(), pending(false), "still processing");
        tokio::time::sleep(Duration::from_millis(100)).await;
        ready(&v.poll(&jobs[5]).await.unwrap());
    }

    #[tokio::test]
    async fn odd_answers_are_invalid_and_job_ids_are_checked() {
        let server = TestServer::start().await;
        let mut config = KlingStub::start().await.config();
        config.api.base_url = server.url("");
        let v = kling(&config);
        let job = JobId::new("123456");
        let path = "/v1/videos/image2video/123456";
        let answer = |body: &str| Reply::ok(body.to_string()).header("Content-Type", "application/json");
        server.route(path, answer(r#"{"code":0,"data":{"task_status":"paused"}}"#));
        assert!(matches!(v.poll(&job).await, Err(ProviderError::Invalid { .. })));
        server.route(path, answer(r#"{"code":0,"message":"ok"}"#));
        assert!(matches!(v.poll(&job).await, Err(ProviderError::Invalid { .. })), "no data");
        server.route(path, answer(r#"{"data":{"task_status":"succeed"}}"#));
        assert!(matches!(v.poll(&job).await, Err(ProviderError::Invalid { .. })), "no code");
        server.route(path, answer(r#"{"code":1102,"message":"resource pack depleted"}"#));
        assert!(matches!(v.poll(&job).await, Err(ProviderError::Exhausted { .. })), "a code in a 200 counts");
        server.route(path, answer(r#"{"code":0,"data":{"task_status":"succeed","task_result":{"videos":[{"url":"file:///etc/passwd"}]}}}"#));
        assert!(matches!(v.poll(&job).await, Err(ProviderError::Invalid { .. })));
        for bad in ["../etc", "multi:../x", "multi:", "a.b"] {
            assert!(matches!(v.poll(&JobId::new(bad)).await, Err(ProviderError::Rejected { .. })), "{bad}");
        }
        for answer_body in [r#"{"code":0,"data":{"task_id":"../../etc"}}"#, r#"{"code":0,"data":{}}"#, "not json"] {
            server.route("/v1/videos/image2video", answer(answer_body));
            assert!(matches!(v.submit(&shot(), &key()).await, Err(ProviderError::Invalid { .. })), "{answer_body}");
        }
        drop(server);
        assert!(v.poll(&job).await.unwrap_err().is_retryable(), "nobody answers");
    }

    #[tokio::test]
    async fn the_stub_refuses_a_token_signed_with_another_secret_or_out_of_time() {
        let stub = KlingStub::start().await;
        let client = reqwest::Client::new();
        let now = unix_now().as_secs();
        let call = |token: Option<String>| {
            let mut r = client.get(format!("{}/v1/videos/image2video/1", stub.base_url()));
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            async move {
                let answer = r.send().await.unwrap();
                let status = answer.status().as_u16();
                let body: Value = serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
                (status, body["code"].as_i64().unwrap())
            }
        };
        assert_eq!(call(None).await, (401, 1001));
        assert_eq!(call(Some(jwt(ACCESS_KEY, b"another-secret", now + 600, now - 5))).await, (401, 1002));
        assert_eq!(call(Some(jwt("another-access-key", SECRET_KEY.as_bytes(), now + 600, now - 5))).await, (401, 1002));
        assert_eq!(call(Some(jwt(ACCESS_KEY, SECRET_KEY.as_bytes(), now + 600, now + 60))).await, (401, 1003));
        assert_eq!(call(Some(jwt(ACCESS_KEY, SECRET_KEY.as_bytes(), now - 1, now - 600))).await, (401, 1004));
        assert_eq!(call(Some(jwt(ACCESS_KEY, SECRET_KEY.as_bytes(), now + 600, now - 5))).await, (404, 1203), "valid");

        let mut config = stub.config();
        config.secret_key = Some(Secret::new("kling-wrong-secret-xyz"));
        let wrong = kling(&config);
        let e = wrong.submit(&shot(), &key()).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { moderation: false, .. }), "{e:?}");
        let text = e.to_string();
        assert!(text.contains("1002") && text.contains("TRUEREEL_KLING_SECRET_KEY"), "{text}");
        assert!(!text.contains("kling-wrong-secret") && !text.contains(ACCESS_KEY), "{text}");
        assert_eq!((stub.submissions(), wrong.mints()), (0, 1), "refused before it counts, and not re-minted");
    }

    #[tokio::test]
    async fn a_token_near_its_end_is_minted_again_before_the_call() {
        let stub = KlingStub::start().await;
        let v = kling(&stub.config());
        v.set_token_life(Duration::from_secs(3), Duration::from_secs(2));
        let job = v.submit(&shot(), &key()).await.unwrap();
        v.poll(&job).await.unwrap();
        assert_eq!(v.mints(), 1, "more than the margin left: kept");
        tokio::time::sleep(Duration::from_millis(1200)).await;
        v.poll(&job).await.unwrap();
        assert_eq!(v.mints(), 2, "under the margin left: minted again");
        let tokens = stub.tokens();
        assert_eq!(tokens.len(), 3);
        assert_eq!(tokens[0], tokens[1]);
        assert_ne!(tokens[1], tokens[2], "the stub sees the new token");
        assert!(claims(&tokens[2])["exp"].as_u64() > claims(&tokens[0])["exp"].as_u64());
        let now = unix_now().as_secs();
        for t in &tokens {
            assert!(claims(t)["exp"].as_u64().unwrap() > now, "the stub never saw an expired token");
        }
        assert_eq!((stub.submissions(), stub.polls(job.as_str())), (1, 2), "no call was refused as expired");
    }

    #[tokio::test]
    async fn an_expired_token_is_minted_again_once_and_the_call_sent_again() {
        let stub = KlingStub::start().await;
        let v = kling(&stub.config());
        let job = v.submit(&shot(), &key()).await.unwrap();
        stub.expire_next(1);
        assert!(matches!(v.poll(&job).await.unwrap(), JobStatus::Pending { .. }));
        assert_eq!((v.mints(), stub.polls(job.as_str())), (2, 1), "re-minted, polled once");
        stub.expire_next(1);
        v.submit(&shot(), &key()).await.unwrap();
        assert_eq!((v.mints(), stub.submissions()), (3, 2), "a refused submit made no task: sent again once");
        stub.expire_next(2);
        let e = v.poll(&job).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { .. }) && e.to_string().contains("1004"), "{e}");
        assert_eq!(v.mints(), 4, "once, not in a loop");
    }

    #[tokio::test]
    async fn a_multi_photo_shot_goes_to_multi_image2video_with_every_photo() {
        let stub = KlingStub::start().await;
        let mut config = stub.config();
        config.api.model = "kling-v3".into();
        let v = kling(&config);
        let mut request = shot();
        request.more_images = vec![png(600, 600), png(1200, 800), png(400, 900)];
        assert_eq!(v.price(&request), Usd::from_dollars(0.28), "5 s at kling-v1-6's $0.056, not kling-v3's");
        assert_eq!(v.price(&shot()), Usd::from_dollars(0.42), "5 s at kling-v3's $0.084");
        let job = v.submit(&request, &key()).await.unwrap();
        assert!(job.as_str().starts_with("multi:"), "{job}");
        assert_eq!(stub.server().requests_to("/v1/videos/multi-image2video").len(), 1);
        assert!(stub.server().requests_to("/v1/videos/image2video").is_empty());
        let body = &stub.bodies()[0];
        assert_eq!((body["model_name"].as_str(), body["aspect_ratio"].as_str()), (Some("kling-v1-6"), Some("9:16")));
        assert_eq!((body["mode"].as_str(), body["duration"].as_str()), (Some("std"), Some("5")));
        assert!(body.get("sound").is_none() && body.get("image").is_none());
        let list = body["image_list"].as_array().unwrap();
        let sent: Vec<Bytes> = std::iter::once(request.image.clone()).chain(request.more_images.clone()).collect();
        assert_eq!(list.len(), 4);
        for (item, photo) in list.iter().zip(&sent) {
            let bytes = b64(item["image"].as_str().unwrap());
            let img = image::load_from_memory(&bytes).unwrap();
            assert!(bytes.len() <= 10_000_000 && img.width().min(img.height()) >= 300);
            assert_eq!(&bytes[..], &photo[..], "main first, each as sent");
        }
        let seen = finish(&v, &job).await;
        ready(seen.last().unwrap());
        let id = job.as_str().strip_prefix("multi:").unwrap();
        assert_eq!(stub.server().requests_to(&format!("/v1/videos/multi-image2video/{id}")).len(), 3);
        assert!(matches!(v.poll(&JobId::new(id)).await, Err(ProviderError::Rejected { .. })), "other endpoint: 404");

        request.more_images.push(png(500, 500));
        request.more_images.push(png(500, 500));
        v.submit(&request, &key()).await.unwrap();
        assert_eq!(stub.bodies()[1]["image_list"].as_array().unwrap().len(), 4, "at most 4");
        request.more_images = vec![png(1200, 300)];
        let e = v.submit(&request, &key()).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { .. }) && e.to_string().contains("photo 2 of 2"), "{e}");
        assert_eq!(stub.submissions(), 2, "refused before sending");

        let mut single = shot();
        single.more_images.clear();
        v.submit(&single, &key()).await.unwrap();
        let body = &stub.bodies()[2];
        assert_eq!((body["model_name"].as_str(), body["sound"].as_str()), (Some("kling-v3"), Some("off")));
    }

    #[test]
    fn photos_are_fitted_or_refused_and_keys_made_safe() {
        let small = png(300, 400);
        assert_eq!(b64(&photo(&small).unwrap()), small.to_vec(), "kept as sent, bare base64");
        for (w, h) in [(200, 300), (1100, 400), (300, 800)] {
            let e = photo(&png(w, h)).unwrap_err();
            assert!(matches!(e, ProviderError::Rejected { moderation: false, .. }), "{w}x{h}: {e:?}");
        }
        let big = photo(&png(5000, 2500)).unwrap();
        let img = image::load_from_memory(&b64(&big)).unwrap();
        assert_eq!((img.width(), img.height()), (MAX_SIDE, MAX_SIDE / 2));
        let long = IdempotencyKey::parse(&format!("{}/shot-01/attempt-1/clip", "a".repeat(90))).unwrap();
        let id = external_task_id(&long);
        assert!(id.len() <= 64 && id.ends_with(&long.token()[..16]), "{id}");
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(external_task_id(&IdempotencyKey::parse("r é/x").unwrap()), "r---x");
    }

    #[test]
    fn setup_names_the_setting_and_prices_follow_the_model_and_mode() {
        let mut config = crate::config::Config::default().video.kling;
        let err = |c: &KlingConfig| KlingVideo::new(c, Duration::from_secs(1)).unwrap_err();
        assert_eq!(err(&config).setting, "TRUEREEL_KLING_ACCESS_KEY");
        config.access_key = Some(Secret::new("ak-secret-value"));
        assert_eq!(err(&config).setting, "TRUEREEL_KLING_SECRET_KEY");
        config.secret_key = Some(Secret::new("sk-secret-value"));
        let v = kling(&config);
        let debug = format!("{v:?}");
        assert!(!debug.contains("ak-secret-value") && !debug.contains("sk-secret-value"), "{debug}");
        let five = shot();
        let mut ten = shot();
        ten.duration_ms = 5200;
        assert_eq!((v.duration(4200), v.duration(5200), v.duration(30_000)), (5, 10, 10));
        let mut wordy = shot();
        wordy.prompt = "é".repeat(3000);
        let body = v.single_body(&wordy, "x".into(), &key());
        assert_eq!(body["prompt"].as_str().unwrap().chars().count(), 2500);
        for (model, mode, single, multi) in [
            ("kling-v1-6", "std", 0.056, 0.056),
            ("kling-v2-5-turbo", "std", 0.042, 0.056),
            ("kling-v3", "std", 0.084, 0.056),
            ("kling-v3", "pro", 0.168, 0.168),
        ] {
            (config.api.model, config.mode) = (model.into(), mode.into());
            let v = kling(&config);
            let mut multi_shot = ten.clone();
            multi_shot.more_images = vec![png(300, 300)];
            assert_eq!(v.price(&five), Usd::from_dollars(single * 5.0), "{model} {mode}");
            assert_eq!(v.price(&ten), Usd::from_dollars(single * 10.0), "{model} {mode}");
            assert_eq!(v.price(&multi_shot), Usd::from_dollars(multi * 10.0), "{model} {mode}");
        }
        for model in ["kling-v1-6", "kling-v2-5-turbo"] {
            (config.api.model, config.mode) = (model.into(), "pro".into());
            assert_eq!(err(&config).setting, "TRUEREEL_KLING_USD_PER_SECOND", "{model}");
        }
        config.api.usd_per_second = Some(Usd::from_dollars(0.1));
        let v = kling(&config);
        assert_eq!(v.price(&five), Usd::from_dollars(0.5), "the set price wins");
        config.mode = "ultra".into();
        assert_eq!(err(&config).setting, "TRUEREEL_KLING_MODE");
        config.mode = "std".into();
        config.api.model = "kling-v9".into();
        assert_eq!(err(&config).setting, "TRUEREEL_KLING_MODEL");
        config.api.model = "kling-v3".into();
        config.api.base_url = "http://api-singapore.klingai.com".into();
        assert_eq!(err(&config).setting, "TRUEREEL_KLING_BASE_URL");
    }

    #[tokio::test]
    async fn downloads_expire_and_are_capped() {
        let stub = KlingStub::start().await;
        let v = kling(&stub.config());
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("clip.mp4");
        stub.script(Script::Expiring { downloads: 1, after: None });
        let job = v.submit(&shot(), &key()).await.unwrap();
        let first = ready(&v.poll(&job).await.unwrap());
        v.download(&first, &dest, u64::MAX).await.unwrap();
        let e = v.download(&first, &dest, u64::MAX).await.unwrap_err();
        assert!(matches!(e, ProviderError::Expired { .. }) && !e.to_string().contains("sig="), "{e}");
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

        stub.script(Script::NeverFinishes);
        let job = v.submit(&shot(), &key()).await.unwrap();
        for _ in 0..3 {
            assert!(matches!(v.poll(&job).await.unwrap(), JobStatus::Pending { queued: false, .. }));
        }
        assert_eq!(v.cancel(&job).await.unwrap(), crate::ports::Cancelled::Unsupported, "Kling has no cancel");
        assert_eq!(stub.downloads(), 4);
    }
}
