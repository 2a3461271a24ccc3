//! Luma: a paid image-to-video model over its Agents API (`providers.md` §1.2), one generation per
//! shot, the photo given by URL.
//!
//! | call | request | answer |
//! |---|---|---|
//! | submit | `POST /v1/generations` `{type: "video", model, prompt, keyframes: {frame0: {type: "image", url}}, aspect_ratio, duration: "5s"\|"9s", resolution: "720p"}` | `{id, state, …}` |
//! | poll | `GET /v1/generations/{id}` | `{id, state, failure_reason?, failure_code?, output?: [{url}]}` |
//! | cancel | none documented: [`Cancelled::Unsupported`](crate::ports::Cancelled) | |
//!
//! UNCONFIRMED: `type`, `model`, the endpoints, `state`, `failure_reason`, `failure_code` and
//! `output[].url` are in the Agents API's reference; the create body's other field names
//! (`prompt`, `keyframes.frame0`, `aspect_ratio`, `duration`, `resolution`) are our reading, carried
//! over from the Dream Machine API. No audio field is sent (none is documented), and there is no seed.
//!
//! Every call carries `Authorization: Bearer <key>` (marked sensitive; never in `Debug`, errors or
//! logs). Downloads go to the output URL (presigned) without the key, through the SSRF guard.
//!
//! **Photos by URL only** ([`VideoModel::takes_inline_image`] is false): the request's `image_url`
//! when it is https (a presigned S3 link on AWS); else `TRUEREEL_LUMA_PHOTO_BASE_URL` + `/` + the
//! photo's blob key; else the shot is Rejected, saying to set that variable. A URL whose host is a
//! private, loopback or metadata address (or `localhost`) is refused unless the run allows private
//! networks: Luma's fetcher must never be pointed inside our network. [`LumaVideo::photo_url`] is the
//! rule, for the wiring.
//!
//! | answer | error |
//! |---|---|
//! | 429 naming a quota, credits, balance or billing; 402 | Exhausted |
//! | other 429 (`Retry-After` if sent), 408, 5xx, no answer | Retryable |
//! | 401, 403 | Rejected: the key is refused (`TRUEREEL_LUMA_API_KEY`) |
//! | 400, 422 naming moderation or safety | Rejected, moderation (nothing ran) |
//! | 400, 404, 422, other 4xx | Rejected with Luma's words |
//! | 2xx without the expected JSON | Invalid |
//!
//! Generations, by `state` (billing of failures is not documented: every failure is counted billed
//! so budgets stay safe; our reading):
//!
//! | state | result |
//! |---|---|
//! | `queued` | Pending, queued |
//! | `dreaming` | Pending |
//! | `completed` with an output URL | Ready |
//! | `completed` without one | Failed: Retryable, billed |
//! | `failed`, code or reason naming moderation, safety, policy, NSFW… and the input (prompt, image, keyframe) | Failed: ModerationInput, billed |
//! | `failed`, naming moderation and only the output (video, generated, result) | Failed: ModerationOutput, billed |
//! | `failed`, naming an invalid or unsupported request | Failed: Invalid, billed |
//! | `failed`, other | Failed: Retryable, billed |

use super::api::{self, Api, SetupError};
use crate::adapters::http::guard::{Refusal, UrlGuard};
use crate::config::{LumaConfig, Secret};
use crate::ports::{
    ClipOutput, ClipRequest, Downloaded, FailureClass, JobFailure, JobStatus, ProviderError, VideoModel,
};
use crate::{IdempotencyKey, JobId, Usd};
use async_trait::async_trait;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use url::Url;

const NAME: &str = "luma";
/// The aspect ratios the Agents API takes.
const RATIOS: &[&str] = &["9:16", "3:4", "1:1", "4:3", "16:9", "21:9"];
const DURATIONS: &[u32] = &[5, 9];
const RESOLUTION: &str = "720p";
/// `prompt` in characters (Luma documents no limit; a bound keeps bodies sane).
const MAX_PROMPT: usize = 2000;
/// Words in a 429 that mean the account's quota, not a moment's load.
const QUOTA_WORDS: &[&str] = &["quota", "credit", "balance", "billing", "payment", "insufficient", "subscription"];
/// Words of a refusal or failure that mean moderation.
const MODERATION_WORDS: &[&str] =
    &["moderat", "safety", "policy", "nsfw", "inappropriate", "prohibited", "violat", "unsafe", "blocked", "sensitive"];
/// Words that put a moderation failure on the input.
const INPUT_WORDS: &[&str] = &["input", "prompt", "image", "keyframe", "frame0", "text"];
/// Words that put it on the output.
const OUTPUT_WORDS: &[&str] = &["output", "generated", "generation", "result", "video"];
/// Words of a failure that mean the request itself was wrong.
const INVALID_WORDS: &[&str] = &["invalid", "unsupported", "bad request", "malformed"];

/// Luma's Agents API.
pub struct LumaVideo {
    api: Api,
    key: Secret,
    model: String,
    usd_per_second: Usd,
    photo_base_url: Option<String>,
    guard: UrlGuard,
    poll_interval: Duration,
}

impl std::fmt::Debug for LumaVideo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LumaVideo")
            .field("base", &self.api.base)
            .field("model", &self.model)
            .field("usd_per_second", &self.usd_per_second)
            .field("photo_base_url", &self.photo_base_url)
            .finish_non_exhaustive()
    }
}

impl LumaVideo {
    /// `timeout` bounds each API call, and each wait for the next piece of a download.
    pub fn new(config: &LumaConfig, timeout: Duration) -> Result<Self, SetupError> {
        let c = &config.api;
        let key =
            c.api_key.clone().filter(|k| !k.expose().trim().is_empty()).ok_or_else(|| {
                SetupError::new("TRUEREEL_LUMA_API_KEY", "no Luma API key: set TRUEREEL_LUMA_API_KEY")
            })?;
        let api = Api::new(NAME, &c.base_url, c.allow_private_network, timeout, "TRUEREEL_LUMA_BASE_URL")?;
        if c.model.trim().is_empty() || !c.model.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
            return Err(SetupError::new("TRUEREEL_LUMA_MODEL", format!("{:?} is not a Luma model name", c.model)));
        }
        let usd_per_second = c.usd_per_second.ok_or_else(|| {
            SetupError::new(
                "TRUEREEL_LUMA_USD_PER_SECOND",
                "Luma's price is not documented: set TRUEREEL_LUMA_USD_PER_SECOND to what the account pays",
            )
        })?;
        let photo_base_url = config.photo_base_url.as_deref().map(|u| u.trim_end_matches('/').to_string());
        if let Some(base) = &photo_base_url {
            api::check_base(base, c.allow_private_network)
                .map_err(|why| SetupError::new("TRUEREEL_LUMA_PHOTO_BASE_URL", format!("{base:?}: {why}")))?;
        }
        Ok(Self {
            api,
            key,
            model: c.model.clone(),
            usd_per_second,
            photo_base_url,
            guard: UrlGuard::new(c.allow_private_network, &[]),
            poll_interval: c.poll_interval,
        })
    }

    /// The URL Luma fetches the shot's photo from (see the module doc); Rejected when there is none
    /// it could reach, or it points inside our network.
    pub fn photo_url(&self, request: &ClipRequest) -> Result<String, ProviderError> {
        let given = Url::parse(&request.image_url).ok().filter(|u| u.scheme() == "https");
        let url = match (given, &self.photo_base_url) {
            (Some(url), _) => url,
            (None, Some(base)) => {
                let mut url = Url::parse(base).map_err(|_| rejected(format!("{base:?} is not a URL")))?;
                url.path_segments_mut()
                    .map_err(|_| rejected(format!("{base:?} cannot take a path")))?
                    .pop_if_empty()
                    .extend(request.reference.as_str().split('/'));
                url
            }
            (None, None) => {
                return Err(rejected(
                    "Luma takes the photo by URL only and this one is not served over https: set \
                     TRUEREEL_LUMA_PHOTO_BASE_URL to a public https URL serving the blob store's files (on AWS the \
                     photos go as presigned S3 links)"
                        .into(),
                ));
            }
        };
        let shown = api::redacted(&url);
        self.guard.check(&url).map_err(|Refusal(why)| rejected(format!("the photo's URL {shown}: {why}")))?;
        let host = url.host_str().unwrap_or_default().trim_end_matches('.').to_ascii_lowercase();
        if !self.api.allows_private() && (host == "localhost" || host.ends_with(".localhost")) {
            return Err(rejected(format!("the photo's URL {shown} is on this machine, which Luma cannot reach")));
        }
        Ok(url.to_string())
    }

    /// The seconds asked for (and billed) for a shot of `duration_ms`: 5 or 9.
    pub fn duration(&self, duration_ms: u32) -> u32 {
        api::seconds_for(DURATIONS, duration_ms)
    }

    /// The `generations` body for `request` (the photo's URL already chosen).
    fn body(&self, request: &ClipRequest, photo_url: &str) -> Value {
        json!({
            "type": "video",
            "model": self.model,
            "prompt": api::prompt_cut(&request.prompt, MAX_PROMPT),
            "keyframes": { "frame0": { "type": "image", "url": photo_url } },
            "aspect_ratio": api::closest_ratio(RATIOS, request.width, request.height),
            "duration": format!("{}s", self.duration(request.duration_ms)),
            "resolution": RESOLUTION,
        })
    }

    fn call(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.api.request(method, path).header(AUTHORIZATION, api::sensitive(&format!("Bearer {}", self.key.expose())))
    }
}

/// The body of a 2xx as JSON, else the mapped error.
fn success(api: &Api, answer: api::Answer) -> Result<Value, ProviderError> {
    if !answer.ok() {
        return Err(status_error(answer.status, answer.retry_after, &answer.body));
    }
    api.json(&answer.body)
}

/// The error for a non-2xx API answer (see the module doc).
fn status_error(status: u16, retry_after: Option<Duration>, body: &[u8]) -> ProviderError {
    let message = api::error_text(body);
    let text = format!("HTTP {status}: {message}");
    let lower = message.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    match status {
        429 if has(QUOTA_WORDS) => ProviderError::Exhausted { provider: NAME.into(), message: text },
        402 => ProviderError::Exhausted { provider: NAME.into(), message: text },
        408 | 429 | 500..=599 => ProviderError::Retryable { provider: NAME.into(), message: text, retry_after },
        401 | 403 => {
            rejected(format!("HTTP {status}: the API key is refused (check TRUEREEL_LUMA_API_KEY): {message}"))
        }
        400 | 422 if has(MODERATION_WORDS) => {
            ProviderError::Rejected { provider: NAME.into(), message: text, moderation: true }
        }
        _ => rejected(text),
    }
}

/// A failed generation's class and whether it is counted billed (see the module doc).
fn failure_class(code: Option<&str>, reason: Option<&str>) -> (FailureClass, bool) {
    let text = format!("{} {}", code.unwrap_or_default(), reason.unwrap_or_default()).to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
    let class = if has(MODERATION_WORDS) {
        match (has(INPUT_WORDS), has(OUTPUT_WORDS)) {
            (false, true) => FailureClass::ModerationOutput,
            _ => FailureClass::ModerationInput,
        }
    } else if has(INVALID_WORDS) {
        FailureClass::Invalid
    } else {
        FailureClass::Retryable
    };
    (class, true)
}

/// What a generation's JSON says.
fn status(generation: &Value, poll_interval: Duration) -> Result<JobStatus, ProviderError> {
    let state = generation["state"].as_str().ok_or_else(|| invalid("the generation has no state".into()))?;
    let text = |v: &Value| v.as_str().map(|s| api::shown(s, 300)).filter(|s| !s.trim().is_empty());
    Ok(match state {
        "queued" => JobStatus::Pending { retry_in: poll_interval, queued: true },
        "dreaming" => JobStatus::Pending { retry_in: poll_interval, queued: false },
        "completed" => {
            let first = generation["output"].get(0);
            match first.and_then(|o| o["url"].as_str().or_else(|| o.as_str())) {
                Some(url) => {
                    let parsed = Url::parse(url).map_err(|_| invalid("the output is not a URL".into()))?;
                    if !matches!(parsed.scheme(), "http" | "https") {
                        return Err(invalid(format!("the output is a {} URL", parsed.scheme())));
                    }
                    JobStatus::Ready(ClipOutput { url: url.to_string(), content_type: None })
                }
                None => JobStatus::Failed(JobFailure {
                    class: FailureClass::Retryable,
                    code: None,
                    reason: "completed with no output".into(),
                    billed: true,
                }),
            }
        }
        "failed" => {
            let (code, reason) = (text(&generation["failure_code"]), text(&generation["failure_reason"]));
            let (class, billed) = failure_class(code.as_deref(), reason.as_deref());
            let reason = match (&code, reason) {
                (Some(code), Some(reason)) => format!("{reason} ({code})"),
                (None, Some(reason)) => reason,
                (Some(code), None) => format!("the generation failed ({code})"),
                (None, None) => "the generation failed".into(),
            };
            JobStatus::Failed(JobFailure { class, code, reason, billed })
        }
        other => return Err(invalid(format!("unknown generation state {:?}", api::shown(other, 40)))),
    })
}

fn generation_path(job: &JobId) -> Result<String, ProviderError> {
    let id = job.as_str();
    let ok = (1..=200).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    if !ok {
        return Err(rejected(format!("{:?} is not a Luma generation id", api::shown(id, 80))));
    }
    Ok(format!("/v1/generations/{id}"))
}

fn rejected(message: String) -> ProviderError {
    ProviderError::Rejected { provider: NAME.into(), message, moderation: false }
}

fn invalid(message: String) -> ProviderError {
    ProviderError::Invalid { provider: NAME.into(), message }
}

#[async_trait]
impl VideoModel for LumaVideo {
    fn name(&self) -> &str {
        NAME
    }

    /// Luma takes no idempotency key: a submit sent twice is two generations.
    fn idempotent_submit(&self) -> bool {
        false
    }

    fn price(&self, request: &ClipRequest) -> Usd {
        Usd(self.usd_per_second.0.saturating_mul(self.duration(request.duration_ms) as i64))
    }

    fn model(&self) -> &str {
        &self.model
    }

    /// The photo goes by URL ([`LumaVideo::photo_url`]).
    fn takes_inline_image(&self) -> bool {
        false
    }

    async fn submit(&self, request: &ClipRequest, key: &IdempotencyKey) -> Result<JobId, ProviderError> {
        let photo = self.photo_url(request)?;
        let body = serde_json::to_vec(&self.body(request, &photo)).expect("JSON");
        let request = self.call(reqwest::Method::POST, "/v1/generations").header(CONTENT_TYPE, "application/json");
        let answer = success(&self.api, self.api.send(request.body(body)).await?)?;
        let id = answer["id"].as_str().ok_or_else(|| invalid("the answer has no generation id".into()))?;
        let job = JobId::parse(id)
            .ok()
            .filter(|job| generation_path(job).is_ok())
            .ok_or_else(|| invalid(format!("{:?} is not a Luma generation id", api::shown(id, 80))))?;
        tracing::info!(provider = NAME, model = %self.model, generation = %job, key = %key, "generation submitted");
        Ok(job)
    }

    async fn poll(&self, job: &JobId) -> Result<JobStatus, ProviderError> {
        let path = generation_path(job)?;
        let generation = success(&self.api, self.api.send(self.call(reqwest::Method::GET, &path)).await?)?;
        let status = status(&generation, self.poll_interval)?;
        tracing::debug!(provider = NAME, generation = %job, state = generation["state"].as_str().unwrap_or_default(), "polled");
        Ok(status)
    }

    async fn download(&self, output: &ClipOutput, dest: &Path, max_bytes: u64) -> Result<Downloaded, ProviderError> {
        self.api.download(&output.url, None, dest, max_bytes).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::providers::video::testkit::{Logs, finish, ready};
    use crate::testing::luma::{KEY, LumaStub, Script};
    use crate::testing::{Reply, TestServer};
    use crate::{BlobKey, Motion};

    fn shot() -> ClipRequest {
        ClipRequest {
            reference: BlobKey::parse("references/0a1b2c.png").unwrap(),
            image: bytes::Bytes::new(),
            image_url: "https://bucket.s3.amazonaws.com/references/0a1b2c.png?X-Amz-Signature=abc".into(),
            image_mime: "image/png".into(),
            image_width: 300,
            image_height: 400,
            motion: Motion::PushIn,
            camera: crate::Camera::default(),
            prompt: "Slow push in on the mug.".into(),
            duration_ms: 4200,
            width: 1080,
            height: 1920,
            fps: 24,
            seed: 42,
            more_images: Vec::new(),
            style_images: Vec::new(),
            whole_reel: None,
        }
    }

    fn key() -> IdempotencyKey {
        IdempotencyKey::parse("mug--0123456789ab/shot-01/attempt-1/clip").unwrap()
    }

    fn luma(config: &LumaConfig) -> LumaVideo {
        LumaVideo::new(config, Duration::from_secs(10)).unwrap()
    }

    fn failed(status: JobStatus) -> JobFailure {
        match status {
            JobStatus::Failed(f) => f,
            other => panic!("not failed: {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_shot_is_submitted_by_url_polled_and_downloaded() {
        let logs = Logs::capture();
        let stub = LumaStub::start().await;
        let v = luma(&stub.config());
        assert_eq!((v.name(), v.model(), v.idempotent_submit()), ("luma", "ray-3.2", false));
        assert_eq!((v.takes_inline_image(), v.photos_per_shot(), v.takes_style_images()), (false, 1, false));
        assert_eq!(v.price(&shot()), Usd::from_dollars(0.50), "5 s at the set $0.10");
        let job = v.submit(&shot(), &key()).await.unwrap();
        assert_eq!(job.as_str().len(), 36);
        assert_eq!(stub.submissions(), 1);
        assert_eq!(stub.keyframe_urls(), [shot().image_url], "the presigned link as given");
        let body = &stub.bodies()[0];
        assert_eq!((body["type"].as_str(), body["model"].as_str()), (Some("video"), Some("ray-3.2")));
        assert_eq!((body["duration"].as_str(), body["aspect_ratio"].as_str()), (Some("5s"), Some("9:16")));
        assert_eq!(
            (body["resolution"].as_str(), body["prompt"].as_str()),
            (Some("720p"), Some("Slow push in on the mug."))
        );
        assert_eq!(body["keyframes"]["frame0"]["type"], "image");
        assert!(body.get("seed").is_none());
        let sent = &stub.server().requests_to("/v1/generations")[0];
        assert_eq!(sent.header("authorization"), Some(format!("Bearer {KEY}").as_str()));

        let seen = finish(&v, &job).await;
        let pending = |queued| JobStatus::Pending { retry_in: Duration::from_millis(10), queued };
        assert_eq!(seen[..2], [pending(true), pending(false)], "queued, dreaming");
        let out = ready(&seen[2]);
        assert_eq!(stub.polls(job.as_str()), 3);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("clips/a.mp4");
        let got = v.download(&out, &dest, 50 << 20).await.unwrap();
        let clip = stub.clip();
        assert_eq!((got.bytes, got.sha256), (clip.len() as u64, crate::Sha256::of(&clip)));
        assert_eq!(v.cancel(&job).await.unwrap(), crate::ports::Cancelled::Unsupported);
        assert!(!format!("{v:?}").contains(KEY));
        let logs = logs.text();
        assert!(logs.contains("generation submitted"), "{logs}");
        for secret in [KEY, "X-Amz-Signature"] {
            assert!(!logs.contains(secret), "{secret} in {logs}");
        }
    }

    #[tokio::test]
    async fn the_photo_url_is_https_or_under_the_photo_base_url_and_never_private() {
        let stub = LumaStub::start().await;
        let mut config = stub.config();
        let v = luma(&config);
        let mut local = shot();
        local.image_url = "file:///data/blobs/references/0a1b2c.png".into();
        let e = v.submit(&local, &key()).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { moderation: false, .. }), "{e:?}");
        assert!(e.to_string().contains("luma") && e.to_string().contains("TRUEREEL_LUMA_PHOTO_BASE_URL"), "{e}");
        assert_eq!(stub.submissions(), 0, "refused before sending");

        config.photo_base_url = Some("https://photos.example.com/blobs/".into());
        let v = luma(&config);
        assert_eq!(v.photo_url(&local).unwrap(), "https://photos.example.com/blobs/references/0a1b2c.png");
        assert_eq!(v.photo_url(&shot()).unwrap(), shot().image_url, "an https link wins");
        let mut plain = shot();
        plain.image_url = "http://bucket.example/references/0a1b2c.png".into();
        assert!(v.photo_url(&plain).unwrap().starts_with("https://photos.example.com/"), "plain http is not used");
        v.submit(&local, &key()).await.unwrap();
        assert_eq!(stub.keyframe_urls(), ["https://photos.example.com/blobs/references/0a1b2c.png"]);

        config.api.base_url = "https://agents.lumalabs.ai".into();
        config.api.allow_private_network = false;
        config.photo_base_url = None;
        let guarded = luma(&config);
        for url in [
            "https://127.0.0.1/p.png",
            "https://10.0.0.5/p.png",
            "https://169.254.169.254/latest",
            "https://localhost/p.png",
            "https://[::1]/p.png",
            "https://metadata.google.internal/x",
        ] {
            let mut r = shot();
            r.image_url = url.into();
            let e = guarded.photo_url(&r).unwrap_err();
            assert!(matches!(e, ProviderError::Rejected { .. }), "{url}: {e:?}");
        }
        config.photo_base_url = Some("https://192.168.1.10/blobs".into());
        assert!(luma(&config).photo_url(&local).is_err(), "a private photo base is refused too");
        config.photo_base_url = Some("http://photos.example.com".into());
        let e = LumaVideo::new(&config, Duration::from_secs(1)).unwrap_err();
        assert_eq!(e.setting, "TRUEREEL_LUMA_PHOTO_BASE_URL");
    }

    #[tokio::test]
    async fn submit_errors_are_classified() {
        let stub = LumaStub::start().await;
        let v = luma(&stub.config());
        for s in [
            Script::RateLimited { hint: Some(4) },
            Script::RateLimited { hint: None },
            Script::Quota,
            Script::Moderated,
            Script::ServerError,
        ] {
            stub.script(s);
        }
        let e = v.submit(&shot(), &key()).await.unwrap_err();
        assert_eq!((e.is_retryable(), e.retry_after()), (true, Some(Duration::from_secs(4))), "{e}");
        assert_eq!(stub.submissions(), 1);
        let e = v.submit(&shot(), &key()).await.unwrap_err();
        assert!(e.is_retryable() && e.retry_after().is_none(), "{e}");
        let e = v.submit(&shot(), &key()).await.unwrap_err();
        assert!(matches!(e, ProviderError::Exhausted { .. }) && e.to_string().contains("credits"), "{e:?}");
        let e = v.submit(&shot(), &key()).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { moderation: true, .. }), "{e:?}");
        let e = v.submit(&shot(), &key()).await.unwrap_err();
        assert!(e.is_retryable(), "{e}");
        v.submit(&shot(), &key()).await.unwrap();
        assert_eq!(stub.submissions(), 6, "one request per submit call");

        let mut config = stub.config();
        config.api.api_key = Some(Secret::new("luma-api-wrong-key"));
        let e = luma(&config).submit(&shot(), &key()).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { moderation: false, .. }), "{e:?}");
        assert!(e.to_string().contains("TRUEREEL_LUMA_API_KEY") && !e.to_string().contains("wrong-key"), "{e}");
        assert_eq!(stub.submissions(), 6, "refused before it counts");
    }

    #[test]
    fn http_answers_and_failures_map_to_classes() {
        let e = status_error(429, Some(Duration::from_secs(3)), br#"{"detail":"Rate limit exceeded"}"#);
        assert_eq!((e.is_retryable(), e.retry_after()), (true, Some(Duration::from_secs(3))));
        for quota in ["Insufficient credits", "Monthly quota reached", "Billing problem", "Low balance"] {
            let e = status_error(429, None, json!({ "detail": quota }).to_string().as_bytes());
            assert!(matches!(e, ProviderError::Exhausted { .. }), "{quota}: {e:?}");
        }
        assert!(matches!(status_error(402, None, b""), ProviderError::Exhausted { .. }));
        for s in [408, 500, 502, 503, 504] {
            assert!(status_error(s, None, b"<html>").is_retryable(), "{s}");
        }
        for s in [401, 403] {
            let e = status_error(s, None, br#"{"detail":"Invalid API key"}"#);
            assert!(matches!(e, ProviderError::Rejected { .. }) && e.to_string().contains("TRUEREEL_LUMA_API_KEY"));
        }
        for s in [400, 404, 422] {
            let e = status_error(s, None, br#"{"detail":"aspect_ratio: bad value"}"#);
            assert!(matches!(e, ProviderError::Rejected { moderation: false, .. }), "{s}");
        }
        let e = status_error(422, None, br#"{"detail":"prompt blocked by safety filter"}"#);
        assert!(matches!(e, ProviderError::Rejected { moderation: true, .. }));

        use FailureClass::*;
        for (code, reason, class) in [
            (Some("moderation"), Some("The input image failed moderation"), ModerationInput),
            (None, Some("Prompt violates our content policy"), ModerationInput),
            (Some("content_safety"), Some("The generated video was flagged"), ModerationOutput),
            (Some("nsfw"), None, ModerationInput),
            (Some("invalid_request"), Some("Unsupported keyframe format"), Invalid),
            (Some("internal_error"), Some("Something went wrong"), Retryable),
            (None, Some("Could not download the keyframe image"), Retryable),
            (None, None, Retryable),
        ] {
            assert_eq!(failure_class(code, reason), (class, true), "{code:?} {reason:?}");
        }
    }

    #[tokio::test]
    async fn failed_queued_and_malformed_generations() {
        let stub = LumaStub::start().await;
        let v = luma(&stub.config());
        for s in [
            Script::Fail { code: "moderation", reason: "The keyframe image failed moderation" },
            Script::Fail { code: "output_moderation", reason: "The generated video was flagged by safety checks" },
            Script::Fail { code: "internal_error", reason: "Generation failed" },
            Script::CompletedWithoutOutput,
            Script::Queued { polls: 2 },
            Script::MalformedPoll,
            Script::Timed(Duration::from_millis(80)),
        ] {
            stub.script(s);
        }
        let mut jobs = Vec::new();
        for _ in 0..7 {
            jobs.push(v.submit(&shot(), &key()).await.unwrap());
        }
        let f = failed(v.poll(&jobs[0]).await.unwrap());
        assert_eq!((f.class, f.billed, f.code.as_deref()), (FailureClass::ModerationInput, true, Some("moderation")));
        assert!(f.reason.contains("failed moderation") && f.reason.contains("(moderation)"), "{}", f.reason);
        let f = failed(v.poll(&jobs[1]).await.unwrap());
        assert_eq!((f.class, f.billed), (FailureClass::ModerationOutput, true));
        let f = failed(v.poll(&jobs[2]).await.unwrap());
        assert_eq!((f.class, f.billed), (FailureClass::Retryable, true));
        let f = failed(v.poll(&jobs[3]).await.unwrap());
        assert_eq!((f.class, f.billed, f.reason.as_str()), (FailureClass::Retryable, true, "completed with no output"));
        let seen = finish(&v, &jobs[4]).await;
        let pending = |queued| JobStatus::Pending { retry_in: Duration::from_millis(10), queued };
        assert_eq!(seen[..3], [pending(true), pending(true), pending(false)]);
        ready(&seen[3]);
        assert!(matches!(v.poll(&jobs[5]).await, Err(ProviderError::Invalid { .. })));
        assert_eq!(v.poll(&jobs[6]).await.unwrap(), pending(false));
        tokio::time::sleep(Duration::from_millis(100)).await;
        ready(&v.poll(&jobs[6]).await.unwrap());
    }

    #[tokio::test]
    async fn odd_answers_are_invalid_and_ids_are_checked() {
        let server = TestServer::start().await;
        let mut config = LumaStub::start().await.config();
        config.api.base_url = server.url("");
        let v = luma(&config);
        let job = JobId::new("0b1e7c2a-9f3d-4e5a-8b6c-7d8e9f0a1b2c");
        let path = format!("/v1/generations/{job}");
        let answer = |body: &str| Reply::ok(body.to_string()).header("Content-Type", "application/json");
        server.route(&path, answer(r#"{"state":"paused"}"#));
        assert!(matches!(v.poll(&job).await, Err(ProviderError::Invalid { .. })));
        server.route(&path, answer(r#"{"id":"x"}"#));
        assert!(matches!(v.poll(&job).await, Err(ProviderError::Invalid { .. })));
        server.route(&path, answer(r#"{"state":"completed","output":[{"url":"file:///etc/passwd"}]}"#));
        assert!(matches!(v.poll(&job).await, Err(ProviderError::Invalid { .. })));
        server.route(&path, answer(r#"{"state":"completed","output":[{"url":"https://cdn.example/v.mp4"}]}"#));
        assert_eq!(ready(&v.poll(&job).await.unwrap()).url, "https://cdn.example/v.mp4");
        for bad in ["../etc", "a:b", "a.b"] {
            assert!(matches!(v.poll(&JobId::new(bad)).await, Err(ProviderError::Rejected { .. })), "{bad}");
        }
        for body in [r#"{"id":"../../etc"}"#, r#"{"state":"queued"}"#, "not json"] {
            server.route("/v1/generations", answer(body));
            assert!(matches!(v.submit(&shot(), &key()).await, Err(ProviderError::Invalid { .. })), "{body}");
        }
        drop(server);
        assert!(v.poll(&job).await.unwrap_err().is_retryable(), "nobody answers");
    }

    #[tokio::test]
    async fn downloads_expire_and_are_capped() {
        let stub = LumaStub::start().await;
        let v = luma(&stub.config());
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("clip.mp4");
        stub.script(Script::Expiring { downloads: 1, after: None });
        let job = v.submit(&shot(), &key()).await.unwrap();
        let first = ready(&v.poll(&job).await.unwrap());
        v.download(&first, &dest, u64::MAX).await.unwrap();
        let e = v.download(&first, &dest, u64::MAX).await.unwrap_err();
        assert!(matches!(e, ProviderError::Expired { .. }) && !e.to_string().contains("Signature"), "{e}");
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
        assert_eq!(v.cancel(&job).await.unwrap(), crate::ports::Cancelled::Unsupported);
    }

    #[test]
    fn setup_names_the_setting_and_durations_and_ratios_follow_the_shot() {
        let mut config = crate::config::Config::default().video.luma;
        let err = |c: &LumaConfig| LumaVideo::new(c, Duration::from_secs(1)).unwrap_err();
        assert_eq!(err(&config).setting, "TRUEREEL_LUMA_API_KEY");
        config.api.api_key = Some(Secret::new("luma-api-secret-value"));
        assert_eq!(err(&config).setting, "TRUEREEL_LUMA_USD_PER_SECOND", "no documented price");
        config.api.usd_per_second = Some(Usd::from_dollars(0.2));
        let v = luma(&config);
        assert!(!format!("{v:?}").contains("luma-api-secret-value"));
        assert_eq!((v.duration(3000), v.duration(5200), v.duration(20_000)), (5, 9, 9));
        let mut long = shot();
        long.duration_ms = 7000;
        assert_eq!(v.price(&long), Usd::from_dollars(1.8), "9 s at $0.20");
        let mut square = shot();
        (square.width, square.height) = (1080, 1080);
        assert_eq!(v.body(&square, "https://x.example/p.png")["aspect_ratio"], "1:1");
        assert_eq!(v.body(&long, "https://x.example/p.png")["duration"], "9s");
        long.prompt = "é".repeat(2500);
        assert_eq!(v.body(&long, "https://x.example/p.png")["prompt"].as_str().unwrap().chars().count(), 2000);
        config.api.model = " ".into();
        assert_eq!(err(&config).setting, "TRUEREEL_LUMA_MODEL");
        config.api.model = "ray-3.2".into();
        config.api.base_url = "http://agents.lumalabs.ai".into();
        assert_eq!(err(&config).setting, "TRUEREEL_LUMA_BASE_URL");
    }
}
