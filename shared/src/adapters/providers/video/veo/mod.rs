//! Veo 3.1 on Vertex AI (`providers.md` §1.6 and its 2026-12-02 update): a paid image-to-video
//! model behind a Google service account, one long-running operation per shot. The Gemini API's
//! Veo previews are retired and not targeted.
//!
//! | call | request | answer |
//! |---|---|---|
//! | token | `POST {token_uri}` form `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<RS256 JWT>` | `{access_token, expires_in, token_type}` |
//! | submit | `POST /v1/projects/{p}/locations/{l}/publishers/google/models/{m}:predictLongRunning` `{instances: [{prompt, image \| referenceImages}], parameters}` | `{name: "projects/…/operations/{id}"}` |
//! | poll | `POST …/models/{m}:fetchPredictOperation` `{operationName}` | `{name, done?, error?: {code, message}, response?: {raiMediaFilteredCount?, raiMediaFilteredReasons?, videos?: [{bytesBase64Encoded \| gcsUri, mimeType}]}}` |
//! | video in GCS | `GET https://storage.googleapis.com/storage/v1/b/{bucket}/o/{object}?alt=media` | the MP4 |
//!
//! **Credentials.** `TRUEREEL_VEO_CREDENTIALS` is the service account's JSON key, or the path of its
//! file (a value starting with `{` is the key). The JWT `{iss: client_email, scope: cloud-platform,
//! aud: token_uri, iat, exp: iat + 3600}` is signed RS256 with the key's PKCS#8 `private_key`; the
//! token it buys is cached until five minutes before `expires_in`, and a 401 from the API mints a new
//! one once (a second 401 is Rejected). The key's `token_uri` must pass the base-URL rule. Project:
//! `TRUEREEL_VEO_PROJECT`, else the key's `project_id`. With the default base URL and another
//! `TRUEREEL_VEO_LOCATION`, the calls go to that region's endpoint (`{location}-aiplatform…`; `global`:
//! `aiplatform.googleapis.com`). The token only ever goes to the API, the token endpoint (as the
//! assertion's answer) and the storage host (`storage.googleapis.com`; the base URL's own host when
//! the base is on loopback, as the stub is).
//!
//! **Request.** `parameters: {aspectRatio: "9:16" | "16:9", durationSeconds: 4 | 6 | 8, resolution:
//! "720p", personGeneration: "allow_adult", generateAudio: false, sampleCount: 1, seed}`. A shot of one
//! photo sends it as the first frame (`image`: the clip starts on the real photo). A shot of several
//! photos of the product ([`VideoModel::photos_per_shot`] = 3) sends all of them, the main one first,
//! as `referenceImages` of type `asset`, and no `image`: Google's SDK documents that `image` (and
//! `lastFrame`, `video`) cannot go with `referenceImages`, and such a clip is 8 s long (priced so).
//! Photos go inline as bare base64: kept as sent when JPEG/PNG/WebP within 20 MB (Vertex's documented
//! image limit) and 4096 px a side (ours); else re-encoded as JPEG until they fit. Aspect ratios
//! from 0.5 to 2.0 (ours; Veo makes 9:16 or 16:9) are taken, never distorted.
//!
//! **Operation id.** The name `projects/…/operations/{id}` has `/`, which a job id may not hold: the
//! job id is `{id}` (checked), and the name is rebuilt from the configured project, location and
//! model when polling (so a job is polled under the model it was submitted with only while the
//! setting stays: change `TRUEREEL_VEO_MODEL` between runs, not during one).
//!
//! **Output.** Without a `storageUri` (we send none) Vertex returns the video inline, base64 in the
//! operation: `Ready` then carries `veo-operation:{id}` (not a URL), and [`VideoModel::download`]
//! reads the operation again (its answer capped near `max_bytes * 4/3`) and writes the bytes. A
//! `gcsUri` is downloaded from Cloud Storage with the token. An operation answer is read up to
//! [`MAX_OPERATION_BYTES`].
//!
//! | answer | error |
//! |---|---|
//! | 429 or 403 naming a quota per day, or billing (disabled, billing account) | Exhausted |
//! | other 429 (`Retry-After`, else `google.rpc.RetryInfo.retryDelay`), 408, 5xx, no answer | Retryable |
//! | 401 after a fresh token | Rejected: check `TRUEREEL_VEO_CREDENTIALS` |
//! | token endpoint 400/401 (`invalid_grant`: a deleted key, a clock off) | Rejected: check `TRUEREEL_VEO_CREDENTIALS` |
//! | 403 (permission) | Rejected: the account needs `roles/aiplatform.user` |
//! | 404 | Rejected: the model is not available (retired, or not in this region) |
//! | 400, other 4xx | Rejected with Google's status and message |
//! | 2xx without the expected JSON | Invalid |
//!
//! Operations that end without a video (billed: documented for the filter, our reading otherwise):
//!
//! | operation | class | billed |
//! |---|---|---|
//! | `error.code` 8 `RESOURCE_EXHAUSTED`, 13 `INTERNAL`, 14 `UNAVAILABLE` | Retryable | no (our reading: no video, no charge) |
//! | `error.code` 3 `INVALID_ARGUMENT`, any other | Invalid | no (our reading) |
//! | done, no videos, `raiMediaFilteredCount > 0`, reasons naming the input image | ModerationInput | no: "You will not be charged" |
//! | done, no videos, `raiMediaFilteredCount > 0`, other reasons | ModerationOutput | no: "You will not be charged" |
//! | done with neither videos nor a reason | Retryable | yes (unknown: counted to keep budgets safe) |
//!
//! Vertex has no cancel for these operations ([`Cancelled::Unsupported`]) and no idempotency key: a
//! submit sent twice is two videos and two charges.

pub mod answer;
pub mod auth;
#[cfg(test)]
mod tests;

use super::api::{self, Api, FittedPhoto, Inline, PhotoLimits, SetupError};
use crate::config::{Secret, VeoConfig};
use crate::ports::{ClipOutput, ClipRequest, Downloaded, JobStatus, ProviderError, VideoModel};
use crate::{IdempotencyKey, JobId, Usd};
use answer::{Call, INLINE_SCHEME, Video, invalid, rejected};
use async_trait::async_trait;
use auth::{ServiceAccount, Tokens};
use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

pub(crate) const NAME: &str = "veo";
/// Vertex AI's default endpoint (the setting's default).
pub const DEFAULT_BASE: &str = "https://us-central1-aiplatform.googleapis.com";
/// Cloud Storage's JSON API, where a `gcsUri` output is read.
pub const STORAGE_BASE: &str = "https://storage.googleapis.com";
/// The largest operation answer a poll reads (an inline 8 s 720p clip is a few MB of base64).
pub const MAX_OPERATION_BYTES: usize = 96 << 20;
/// Vertex's documented limit for an image sent in a request.
pub const MAX_PHOTO_BYTES: usize = 20_000_000;
/// The longest side of a photo sent (ours).
pub const MAX_SIDE: u32 = 4096;
/// Photos one shot may carry: the main one and two more, all as asset references.
pub const PHOTOS_PER_SHOT: usize = 3;
/// The prompt is cut to this many characters (ours).
const MAX_PROMPT: usize = 2000;
const PHOTOS: PhotoLimits = PhotoLimits {
    inline: Inline::Base64,
    max_bytes: MAX_PHOTO_BYTES,
    max_side: MAX_SIDE,
    min_side: 1,
    aspect: (0.5, 2.0),
};
const RATIOS: &[&str] = &["9:16", "16:9"];
/// `durationSeconds` Veo 3.1 takes; with reference images only the last.
const DURATIONS: &[u32] = &[4, 6, 8];
const REFERENCE_SECONDS: u32 = 8;

/// The Veo 3.1 models on Vertex AI and their list price per second.
fn list_price(model: &str) -> Option<f64> {
    match model {
        "veo-3.1-generate-001" => Some(0.40),
        "veo-3.1-fast-generate-001" => Some(0.15),
        _ => None,
    }
}

/// Veo 3.1 on Vertex AI.
pub struct VeoVideo {
    api: Api,
    tokens: Tokens,
    /// Where a `gcsUri` is read: Cloud Storage, or the base URL's host on loopback (the stub).
    storage_base: String,
    model: String,
    project: String,
    location: String,
    usd_per_second: Usd,
    poll_interval: Duration,
}

impl std::fmt::Debug for VeoVideo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VeoVideo")
            .field("base", &self.api.base)
            .field("model", &self.model)
            .field("project", &self.project)
            .field("location", &self.location)
            .field("account", &self.tokens.account().client_email)
            .field("usd_per_second", &self.usd_per_second)
            .finish_non_exhaustive()
    }
}

/// Project ids, project numbers and regions as they go in a path: `a-z`, digits, `-`, `.` and `:`.
fn path_word(s: &str) -> bool {
    (1..=100).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.' | b':'))
}

/// The endpoint for `location`: the default base follows the location; any other is kept.
fn regional_base(base: &str, location: &str) -> String {
    let base = base.trim_end_matches('/');
    match (base, location) {
        (DEFAULT_BASE, "us-central1") => base.to_string(),
        (DEFAULT_BASE, "global") => "https://aiplatform.googleapis.com".into(),
        (DEFAULT_BASE, region) => format!("https://{region}-aiplatform.googleapis.com"),
        _ => base.to_string(),
    }
}

/// Cloud Storage, or the API's own host when that is on loopback (a stub serves both).
fn storage_base(api_base: &str) -> String {
    let loopback = url::Url::parse(api_base).ok().is_some_and(|u| match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    });
    let origin = url::Url::parse(api_base).ok().map(|u| u.origin().ascii_serialization());
    match origin {
        Some(origin) if loopback => origin,
        _ => STORAGE_BASE.into(),
    }
}

impl VeoVideo {
    /// `timeout` bounds each API call, and each wait for the next piece of a download.
    pub fn new(config: &VeoConfig, timeout: Duration) -> Result<Self, SetupError> {
        let c = &config.api;
        let credentials = c.api_key.as_ref().filter(|k| !k.expose().trim().is_empty()).ok_or_else(|| {
            SetupError::new(
                auth::SETTING,
                "no Veo credentials: set TRUEREEL_VEO_CREDENTIALS to the service account's JSON key or its file's path",
            )
        })?;
        let account = ServiceAccount::from_setting(credentials.expose())?;
        let price = list_price(&c.model).ok_or_else(|| {
            SetupError::new(
                "TRUEREEL_VEO_MODEL",
                format!(
                    "{:?} is not a Veo 3.1 model on Vertex AI (veo-3.1-generate-001, veo-3.1-fast-generate-001)",
                    api::shown(&c.model, 80)
                ),
            )
        })?;
        let location = config.location.trim().to_string();
        if !path_word(&location) {
            return Err(SetupError::new(
                "TRUEREEL_VEO_LOCATION",
                format!("{:?} is not a Vertex AI region such as us-central1", api::shown(&location, 80)),
            ));
        }
        let project = config
            .project
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .or(account.project_id.as_deref())
            .ok_or_else(|| {
                SetupError::new("TRUEREEL_VEO_PROJECT", "no project: set TRUEREEL_VEO_PROJECT (the key names none)")
            })?
            .to_string();
        if !path_word(&project) {
            return Err(SetupError::new(
                "TRUEREEL_VEO_PROJECT",
                format!("{:?} is not a Google Cloud project id", api::shown(&project, 80)),
            ));
        }
        let base = regional_base(&c.base_url, &location);
        let api = Api::new(NAME, &base, c.allow_private_network, timeout, "TRUEREEL_VEO_BASE_URL")?;
        let tokens = Tokens::new(account, c.allow_private_network, timeout)?;
        Ok(Self {
            storage_base: storage_base(&api.base),
            api,
            tokens,
            model: c.model.clone(),
            project,
            location,
            usd_per_second: c.usd_per_second.unwrap_or(Usd::from_dollars(price)),
            poll_interval: c.poll_interval,
        })
    }

    /// The seconds asked for (and billed) for `request`: 4, 6 or 8; 8 with reference images.
    pub fn seconds(&self, request: &ClipRequest) -> u32 {
        if request.more_images.is_empty() {
            api::seconds_for(DURATIONS, request.duration_ms)
        } else {
            REFERENCE_SECONDS
        }
    }

    fn model_path(&self) -> String {
        format!("/v1/projects/{}/locations/{}/publishers/google/models/{}", self.project, self.location, self.model)
    }

    /// The operation's full name, rebuilt from its id.
    pub fn operation_name(&self, job: &JobId) -> Result<String, ProviderError> {
        let id = JobId::parse(job.as_str()).map_err(|e| rejected(format!("not a Veo operation id: {e}")))?;
        Ok(format!(
            "projects/{}/locations/{}/publishers/google/models/{}/operations/{id}",
            self.project, self.location, self.model
        ))
    }

    /// The `predictLongRunning` body for `request` with its photos fitted (the main one first).
    pub fn body(&self, request: &ClipRequest, photos: &[FittedPhoto]) -> Value {
        let image = |p: &FittedPhoto| json!({ "bytesBase64Encoded": p.inline, "mimeType": p.mime });
        let mut instance = json!({ "prompt": api::prompt_cut(&request.prompt, MAX_PROMPT) });
        match photos {
            [one] => instance["image"] = image(one),
            many => {
                let references: Vec<Value> =
                    many.iter().map(|p| json!({ "image": image(p), "referenceType": "asset" })).collect();
                instance["referenceImages"] = json!(references);
            }
        }
        json!({
            "instances": [instance],
            "parameters": {
                "aspectRatio": api::closest_ratio(RATIOS, request.width, request.height),
                "durationSeconds": self.seconds(request),
                "resolution": "720p",
                "personGeneration": "allow_adult",
                "generateAudio": false,
                "sampleCount": 1,
                "seed": request.seed % (1 << 32),
            },
        })
    }

    /// POSTs `body` to `{model_path}:{method}` with a token; a 401 mints a fresh token and tries once more.
    async fn call(&self, method: &str, body: &Value, cap: usize) -> Result<api::Answer, ProviderError> {
        let path = format!("{}:{method}", self.model_path());
        let bytes = Bytes::from(serde_json::to_vec(body).expect("JSON"));
        let mut fresh = false;
        loop {
            let token = self.tokens.token().await?;
            let request = self
                .api
                .request(reqwest::Method::POST, &path)
                .header(AUTHORIZATION, bearer(&token))
                .header(CONTENT_TYPE, "application/json")
                .body(bytes.clone());
            let answer = self.api.send_capped(request, cap).await?;
            if answer.status == 401 && !fresh {
                tracing::debug!(provider = NAME, "the token was refused; minting a fresh one");
                self.tokens.forget(&token).await;
                fresh = true;
                continue;
            }
            return Ok(answer);
        }
    }

    /// The operation's JSON (read up to `cap` bytes), or the mapped error.
    async fn operation(&self, job: &JobId, cap: usize) -> Result<Value, ProviderError> {
        let body = json!({ "operationName": self.operation_name(job)? });
        let answer = self.call("fetchPredictOperation", &body, cap).await?;
        let answer = self.success(answer, Call::Poll)?;
        self.api.json(&answer)
    }

    fn success(&self, answer: api::Answer, call: Call<'_>) -> Result<Vec<u8>, ProviderError> {
        if answer.ok() { Ok(answer.body) } else { Err(answer::status_error(&answer, call)) }
    }

    /// `gs://bucket/object` downloaded from Cloud Storage with the token.
    async fn download_gcs(&self, uri: &str, dest: &Path, max_bytes: u64) -> Result<Downloaded, ProviderError> {
        let (bucket, object) = answer::gcs_object(uri)?;
        let mut url =
            url::Url::parse(&self.storage_base).map_err(|_| invalid("the storage URL is not a URL".into()))?;
        url.path_segments_mut()
            .map_err(|_| invalid("the storage URL cannot take a path".into()))?
            .clear()
            .extend(["storage", "v1", "b", bucket, "o", object]);
        url.set_query(Some("alt=media"));
        let token = self.tokens.token().await?;
        self.api.download(url.as_str(), Some(bearer(&token)), dest, max_bytes).await
    }
}

fn bearer(token: &Secret) -> reqwest::header::HeaderValue {
    api::sensitive(&format!("Bearer {}", token.expose()))
}

/// Every photo of the shot fitted to [`PHOTOS`], the main one first (at most [`PHOTOS_PER_SHOT`]).
fn fit_photos(request: &ClipRequest) -> Result<Vec<FittedPhoto>, ProviderError> {
    std::iter::once(&request.image)
        .chain(request.more_images.iter().take(PHOTOS_PER_SHOT - 1))
        .enumerate()
        .map(|(i, bytes)| {
            api::fit_photo(bytes, &PHOTOS).map_err(|why| rejected(format!("photo {} of the shot: {why} (Veo)", i + 1)))
        })
        .collect()
}

#[async_trait]
impl VideoModel for VeoVideo {
    fn name(&self) -> &str {
        NAME
    }

    /// Vertex takes no idempotency key: a submit sent twice is two operations and two charges.
    fn idempotent_submit(&self) -> bool {
        false
    }

    fn price(&self, request: &ClipRequest) -> Usd {
        Usd(self.usd_per_second.0.saturating_mul(self.seconds(request) as i64))
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn photos_per_shot(&self) -> usize {
        PHOTOS_PER_SHOT
    }

    async fn submit(&self, request: &ClipRequest, key: &IdempotencyKey) -> Result<JobId, ProviderError> {
        let owned = request.clone();
        let photos = tokio::task::spawn_blocking(move || fit_photos(&owned))
            .await
            .map_err(|e| self.api.retryable(format!("preparing the photos: {e}")))??;
        let body = self.body(request, &photos);
        let answer = self.call("predictLongRunning", &body, api::MAX_ANSWER_BYTES).await?;
        let call = Call::Submit { model: &self.model, location: &self.location };
        let answer = self.api.json(&self.success(answer, call)?)?;
        let job = answer::operation_id(&answer)?;
        tracing::info!(
            provider = NAME, model = %self.model, operation = %job, key = %key, photos = photos.len(),
            "operation submitted"
        );
        Ok(job)
    }

    async fn poll(&self, job: &JobId) -> Result<JobStatus, ProviderError> {
        let operation = self.operation(job, MAX_OPERATION_BYTES).await?;
        let status = answer::status(&operation, job, self.poll_interval)?;
        tracing::debug!(provider = NAME, operation = %job, done = operation["done"].as_bool().unwrap_or(false), "polled");
        Ok(status)
    }

    async fn download(&self, output: &ClipOutput, dest: &Path, max_bytes: u64) -> Result<Downloaded, ProviderError> {
        if output.url.starts_with("gs://") {
            return self.download_gcs(&output.url, dest, max_bytes).await;
        }
        let id = output
            .url
            .strip_prefix(INLINE_SCHEME)
            .ok_or_else(|| rejected(format!("{:?} is not a Veo output", api::shown(&output.url, 80))))?;
        let job = JobId::parse(id).map_err(|e| rejected(format!("not a Veo operation id: {e}")))?;
        // Base64 is 4/3 of the bytes; the JSON around it is small.
        let cap = usize::try_from(max_bytes.saturating_mul(4) / 3).unwrap_or(usize::MAX).saturating_add(64 << 10);
        let operation = match self.operation(&job, cap).await {
            // The toolkit refuses an answer over the cap as unusable: here it means the video is too big.
            Err(ProviderError::Invalid { message, .. }) if message.starts_with("the answer is larger than") => {
                return Err(rejected(format!("the inline video is over the cap of {max_bytes} bytes")));
            }
            other => other?,
        };
        match answer::video(&operation) {
            Some(Video::Inline { base64, mime }) => {
                let kind = mime.unwrap_or("video/mp4").to_string();
                let done = self.api.save_inline(base64, Some(kind), dest, max_bytes).await?;
                tracing::debug!(provider = NAME, operation = %job, bytes = done.bytes, "inline video saved");
                Ok(done)
            }
            Some(Video::Gcs { uri, .. }) => self.download_gcs(uri, dest, max_bytes).await,
            None => Err(invalid(format!("operation {job} no longer has its video"))),
        }
    }
}
