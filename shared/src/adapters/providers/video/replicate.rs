//! Replicate (`providers.md` §1.5): any image-to-video model it hosts, one prediction per shot.
//!
//! | call | request | answer |
//! |---|---|---|
//! | submit (`owner/name`) | `POST /models/{owner}/{name}/predictions` `{input}` | `{id, status, urls: {get, cancel}}` |
//! | submit (`owner/name:version`) | `POST /predictions` `{version, input}` | the same |
//! | poll | `GET /predictions/{id}` | `{id, status, output?: url \| [url], error?}` |
//! | cancel | `POST /predictions/{id}/cancel` | the prediction |
//!
//! Every call carries `Authorization: Bearer <token>` (`TRUEREEL_REPLICATE_API_KEY`), marked
//! sensitive; downloads go to the output URL (`replicate.delivery`) without it, through the SSRF
//! guard. No `Prefer: wait`: a video takes minutes, so the prediction is polled.
//!
//! `input` is `{prompt, <image input>: data URI, duration: 5 | 10}`: the photo's input is named by
//! `TRUEREEL_REPLICATE_IMAGE_INPUT` (`start_image` for the default Kling model; `image`,
//! `first_frame_image` for others), and the seconds asked for (and priced) are the shortest of 5 or
//! 10 that cover the shot. The photo goes as a data URI of at most 1,000,000 bytes (Replicate
//! recommends data URIs only under 1 MB), 4096 px a side, at least 300 px a side and aspect 0.4–2.5
//! (Kling's limits, the default model's): kept as sent when it fits, else re-encoded as JPEG until it
//! does; a photo of another shape is refused, never distorted. Replicate prices by model, so
//! `TRUEREEL_REPLICATE_USD_PER_SECOND` must be set.
//!
//! **Outputs are deleted an hour after the prediction ends** (documented for API-created
//! predictions): the generate stage mirrors a clip on the first `Ready` it sees, and a download that
//! gets 403/404 is `Expired`.
//!
//! | answer | error |
//! |---|---|
//! | 402; a 4xx (not 404/422) naming credit, billing or payment | Exhausted |
//! | 429 (`Retry-After`, else the body's "resets in ~Ns"), 408, 5xx, no answer | Retryable |
//! | 401, 403 | Rejected: the token is refused |
//! | 404 on submit | Rejected: the model (or version) is not found |
//! | 422 | Rejected: the input is refused, naming the fields |
//! | other 4xx | Rejected with Replicate's `detail` |
//! | 2xx without the expected JSON | Invalid |
//!
//! Predictions, by `status` (billed: our reading — Replicate bills the compute a prediction used,
//! and says nothing of refunds for failures):
//!
//! | status | result | billed |
//! |---|---|---|
//! | `starting` | Pending, queued | — |
//! | `processing` | Pending | — |
//! | `succeeded` with a URL (or a list: the first) | Ready | — |
//! | `succeeded` without output | Failed, Retryable | yes |
//! | `failed`, `error` naming NSFW, sensitive, flagged, safety, moderation | Failed, ModerationOutput | yes |
//! | `failed`, other `error` | Failed, Retryable | yes |
//! | `canceled` | Failed, Cancelled | yes (the compute until then) |

use super::api::{self, Api, Inline, PhotoLimits, SetupError};
use crate::config::{ReplicateConfig, Secret};
use crate::ports::{
    Cancelled, ClipOutput, ClipRequest, Downloaded, FailureClass, JobFailure, JobStatus, ProviderError, VideoModel,
};
use crate::{IdempotencyKey, JobId, Usd};
use async_trait::async_trait;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

const NAME: &str = "replicate";
/// The largest data URI sent (Replicate recommends data URIs under 1 MB).
pub const MAX_DATA_URI: usize = 1_000_000;
const PHOTOS: PhotoLimits =
    PhotoLimits { inline: Inline::DataUri, max_bytes: MAX_DATA_URI, max_side: 4096, min_side: 300, aspect: (0.4, 2.5) };
/// The seconds asked for.
pub const DURATIONS: &[u32] = &[5, 10];
/// The prompt is cut to this many characters (ours: Kling takes 2500).
const MAX_PROMPT: usize = 2500;
/// Words of a failed prediction's error that mean moderation.
const MODERATION_WORDS: &[&str] = &["nsfw", "sensitive", "flagged", "safety", "moderation", "content policy"];
/// Words of a refusal that mean the account's money.
const MONEY_WORDS: &[&str] = &["credit", "billing", "payment"];

/// Where predictions are created.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// `owner/name`: the model's current version (official models).
    Model { owner: String, name: String },
    /// `owner/name:version`.
    Version(String),
}

/// `owner/name` or `owner/name:<64 hex digits>`.
fn target(model: &str) -> Option<Target> {
    let word = |w: &str| {
        (1..=100).contains(&w.len())
            && w != "."
            && w != ".."
            && w.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    let (path, version) = match model.split_once(':') {
        Some((path, version)) => (path, Some(version)),
        None => (model, None),
    };
    let (owner, name) = path.split_once('/')?;
    if !word(owner) || !word(name) {
        return None;
    }
    match version {
        None => Some(Target::Model { owner: owner.into(), name: name.into() }),
        Some(v) if v.len() == 64 && v.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) => {
            Some(Target::Version(v.into()))
        }
        Some(_) => None,
    }
}

/// Replicate's predictions API.
pub struct ReplicateVideo {
    api: Api,
    key: Secret,
    model: String,
    target: Target,
    image_input: String,
    usd_per_second: Usd,
    poll_interval: Duration,
}

impl std::fmt::Debug for ReplicateVideo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplicateVideo")
            .field("base", &self.api.base)
            .field("model", &self.model)
            .field("image_input", &self.image_input)
            .field("usd_per_second", &self.usd_per_second)
            .finish_non_exhaustive()
    }
}

impl ReplicateVideo {
    /// `timeout` bounds each API call, and each wait for the next piece of a download.
    pub fn new(config: &ReplicateConfig, timeout: Duration) -> Result<Self, SetupError> {
        let c = &config.api;
        let key = c.api_key.clone().filter(|k| !k.expose().trim().is_empty()).ok_or_else(|| {
            SetupError::new("TRUEREEL_REPLICATE_API_KEY", "no Replicate API token: set TRUEREEL_REPLICATE_API_KEY")
        })?;
        let api = Api::new(NAME, &c.base_url, c.allow_private_network, timeout, "TRUEREEL_REPLICATE_BASE_URL")?;
        let target = target(c.model.trim()).ok_or_else(|| {
            SetupError::new(
                "TRUEREEL_REPLICATE_MODEL",
                format!(
                    "{:?} is not a Replicate model: owner/name, or owner/name:<64-hex version>",
                    api::shown(&c.model, 120)
                ),
            )
        })?;
        let image_input = config.image_input.trim().to_string();
        let input_ok = (1..=64).contains(&image_input.len())
            && image_input.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !input_ok {
            return Err(SetupError::new(
                "TRUEREEL_REPLICATE_IMAGE_INPUT",
                format!("{:?} is not a model input name such as start_image", api::shown(&image_input, 80)),
            ));
        }
        let usd_per_second = c.usd_per_second.ok_or_else(|| {
            SetupError::new(
                "TRUEREEL_REPLICATE_USD_PER_SECOND",
                "Replicate prices by model: set TRUEREEL_REPLICATE_USD_PER_SECOND to the model's price per second",
            )
        })?;
        Ok(Self {
            api,
            key,
            model: c.model.trim().to_string(),
            target,
            image_input,
            usd_per_second,
            poll_interval: c.poll_interval,
        })
    }

    /// The seconds asked for (and billed) for a shot of `duration_ms`: 5 or 10.
    pub fn duration(&self, duration_ms: u32) -> u32 {
        api::seconds_for(DURATIONS, duration_ms)
    }

    /// The create call's path and body for `request`, its photo as the data URI `image`.
    pub fn body(&self, request: &ClipRequest, image: String) -> (String, Value) {
        let mut input = json!({
            "prompt": api::prompt_cut(&request.prompt, MAX_PROMPT),
            "duration": self.duration(request.duration_ms),
        });
        input[&self.image_input] = json!(image);
        match &self.target {
            Target::Model { owner, name } => (format!("/models/{owner}/{name}/predictions"), json!({ "input": input })),
            Target::Version(version) => ("/predictions".into(), json!({ "version": version, "input": input })),
        }
    }

    fn call(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.api.request(method, path).header(AUTHORIZATION, api::sensitive(&format!("Bearer {}", self.key.expose())))
    }

    /// The prediction's JSON, or the mapped error.
    async fn prediction(&self, job: &JobId) -> Result<Value, ProviderError> {
        let answer = self.api.send(self.call(reqwest::Method::GET, &prediction_path(job)?)).await?;
        let body = self.success(answer, false)?;
        self.api.json(&body)
    }

    fn success(&self, answer: api::Answer, submit: bool) -> Result<Vec<u8>, ProviderError> {
        if answer.ok() { Ok(answer.body) } else { Err(status_error(&answer, submit.then_some(self.model.as_str()))) }
    }
}

fn prediction_path(job: &JobId) -> Result<String, ProviderError> {
    let id = JobId::parse(job.as_str()).map_err(|e| rejected(format!("not a prediction id: {e}")))?;
    Ok(format!("/predictions/{id}"))
}

fn rejected(message: String) -> ProviderError {
    ProviderError::Rejected { provider: NAME.into(), message, moderation: false }
}

fn invalid(message: String) -> ProviderError {
    ProviderError::Invalid { provider: NAME.into(), message }
}

/// The wait a 429's body hints at: "…resets in ~30s." (Replicate sends no `Retry-After`).
pub fn body_hint(text: &str) -> Option<Duration> {
    let after = text.split_once('~').map(|(_, r)| r).or_else(|| text.split_once("resets in ").map(|(_, r)| r))?;
    let digits: String = after.trim_start().chars().take_while(char::is_ascii_digit).collect();
    let rest = &after.trim_start()[digits.len()..];
    let secs: u64 = digits.parse().ok()?;
    rest.starts_with('s').then(|| Duration::from_secs(secs.min(86_400)))
}

/// The error for a non-2xx answer (see the module doc); `model` on a submit.
fn status_error(answer: &api::Answer, model: Option<&str>) -> ProviderError {
    let status = answer.status;
    let json: Value = serde_json::from_slice(&answer.body).unwrap_or_default();
    let message = match (json["title"].as_str(), json["detail"].as_str()) {
        (Some(title), Some(detail)) if !detail.contains(title) => api::shown(&format!("{title}: {detail}"), 300),
        _ => answer.error_text(),
    };
    let lower = message.to_lowercase();
    let text = format!("HTTP {status}: {message}");
    let money = MONEY_WORDS.iter().any(|w| lower.contains(w));
    match status {
        402 => ProviderError::Exhausted { provider: NAME.into(), message: text },
        400..=499 if money && status != 404 && status != 422 => {
            ProviderError::Exhausted { provider: NAME.into(), message: text }
        }
        408 | 429 | 500..=599 => ProviderError::Retryable {
            provider: NAME.into(),
            message: text,
            retry_after: answer.retry_after.or_else(|| body_hint(&message)),
        },
        401 | 403 => rejected(format!("{text}: the API token is refused (check TRUEREEL_REPLICATE_API_KEY)")),
        404 => match model {
            Some(model) => rejected(format!("{text}: the model {model} is not found (check TRUEREEL_REPLICATE_MODEL)")),
            None => rejected(format!("{text}: no such prediction")),
        },
        422 => {
            let fields: Vec<&str> = json["invalid_fields"]
                .as_array()
                .map(|f| f.iter().filter_map(|f| f["field"].as_str()).collect())
                .unwrap_or_default();
            let which =
                if fields.is_empty() { String::new() } else { format!(" ({})", api::shown(&fields.join(", "), 200)) };
            rejected(format!("{text}: the model refuses the input{which}"))
        }
        _ => rejected(text),
    }
}

/// A failed prediction's class (see the module doc).
fn failure_class(error: &str) -> FailureClass {
    let lower = error.to_lowercase();
    if MODERATION_WORDS.iter().any(|w| lower.contains(w)) {
        FailureClass::ModerationOutput
    } else {
        FailureClass::Retryable
    }
}

/// Replicate's error code in a failure's words (`… (E005)`), if it has one.
fn error_code(error: &str) -> Option<String> {
    let start = error.find("(E")?;
    let code: String = error[start + 1..].chars().take_while(|c| *c != ')').collect();
    (code.len() <= 8 && code[1..].bytes().all(|b| b.is_ascii_digit()) && code.len() > 1).then_some(code)
}

/// What a prediction's JSON says.
fn status(prediction: &Value, poll_interval: Duration) -> Result<JobStatus, ProviderError> {
    let status = prediction["status"].as_str().ok_or_else(|| invalid("the prediction has no status".into()))?;
    let failed = |class, reason: String, code| JobStatus::Failed(JobFailure { class, code, reason, billed: true });
    Ok(match status {
        "starting" => JobStatus::Pending { retry_in: poll_interval, queued: true },
        "processing" => JobStatus::Pending { retry_in: poll_interval, queued: false },
        "succeeded" => {
            let output = &prediction["output"];
            let url = output.as_str().or_else(|| output.as_array()?.iter().find_map(Value::as_str));
            match url {
                Some(url) => {
                    let parsed =
                        url::Url::parse(url).map_err(|_| invalid("the prediction's output is not a URL".into()))?;
                    if !matches!(parsed.scheme(), "http" | "https") {
                        return Err(invalid(format!("the prediction's output is a {} URL", parsed.scheme())));
                    }
                    JobStatus::Ready(ClipOutput { url: url.to_string(), content_type: None })
                }
                None => failed(FailureClass::Retryable, "succeeded with no output".into(), None),
            }
        }
        "failed" => {
            let error =
                prediction["error"].as_str().map_or_else(|| "the prediction failed".into(), |e| api::shown(e, 300));
            failed(failure_class(&error), error.clone(), error_code(&error))
        }
        "canceled" | "cancelled" => failed(FailureClass::Cancelled, "the prediction was cancelled".into(), None),
        other => return Err(invalid(format!("unknown prediction status {:?}", api::shown(other, 40)))),
    })
}

/// The photo as a data URI within [`PHOTOS`]; Rejected when it cannot be read or has another shape.
pub fn image_uri(bytes: &[u8]) -> Result<String, ProviderError> {
    api::fit_photo(bytes, &PHOTOS).map(|p| p.inline).map_err(|why| rejected(format!("{why} (Replicate)")))
}

#[async_trait]
impl VideoModel for ReplicateVideo {
    fn name(&self) -> &str {
        NAME
    }

    /// Replicate takes no idempotency key: a submit sent twice is two predictions and two charges.
    fn idempotent_submit(&self) -> bool {
        false
    }

    fn price(&self, request: &ClipRequest) -> Usd {
        Usd(self.usd_per_second.0.saturating_mul(self.duration(request.duration_ms) as i64))
    }

    fn model(&self) -> &str {
        &self.model
    }

    async fn submit(&self, request: &ClipRequest, key: &IdempotencyKey) -> Result<JobId, ProviderError> {
        let image = request.image.clone();
        let uri = tokio::task::spawn_blocking(move || image_uri(&image))
            .await
            .map_err(|e| self.api.retryable(format!("preparing the photo: {e}")))??;
        let (path, body) = self.body(request, uri);
        let request = self
            .call(reqwest::Method::POST, &path)
            .header(CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(&body).expect("JSON"));
        let answer = self.success(self.api.send(request).await?, true)?;
        let answer = self.api.json(&answer)?;
        let job = api::job_id(&self.api, answer["id"].as_str())?;
        tracing::info!(provider = NAME, model = %self.model, prediction = %job, key = %key, "prediction submitted");
        Ok(job)
    }

    async fn poll(&self, job: &JobId) -> Result<JobStatus, ProviderError> {
        let prediction = self.prediction(job).await?;
        let status = status(&prediction, self.poll_interval)?;
        tracing::debug!(
            provider = NAME, prediction = %job, status = prediction["status"].as_str().unwrap_or_default(), "polled"
        );
        Ok(status)
    }

    async fn cancel(&self, job: &JobId) -> Result<Cancelled, ProviderError> {
        let path = format!("{}/cancel", prediction_path(job)?);
        let answer = self.api.send(self.call(reqwest::Method::POST, &path)).await?;
        let prediction = if answer.ok() {
            self.api.json(&answer.body)?
        } else if (400..500).contains(&answer.status) && ![401, 403, 404, 429].contains(&answer.status) {
            // Refused (a prediction already over, on some models): what the prediction says decides.
            self.prediction(job).await?
        } else {
            return Err(status_error(&answer, None));
        };
        let cancelled = match prediction["status"].as_str() {
            Some("succeeded" | "failed") => Cancelled::AlreadyEnded,
            Some("canceled" | "cancelled" | "starting" | "processing") => Cancelled::Confirmed,
            other => {
                return Err(invalid(format!(
                    "cancelling left the prediction {}",
                    api::shown(other.unwrap_or("unknown"), 40)
                )));
            }
        };
        tracing::info!(provider = NAME, prediction = %job, ?cancelled, "cancel asked");
        Ok(cancelled)
    }

    async fn download(&self, output: &ClipOutput, dest: &Path, max_bytes: u64) -> Result<Downloaded, ProviderError> {
        self.api.download(&output.url, None, dest, max_bytes).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::providers::video::testkit::{Logs, finish, key, png, ready, shot};
    use crate::testing::replicate::{KEY, MODEL, Script};
    use crate::testing::{ReplicateStub, Reply, TestServer};

    use base64::Engine as _;

    use image::ImageFormat;
    use std::io::Cursor;

    fn replicate(config: &ReplicateConfig) -> ReplicateVideo {
        ReplicateVideo::new(config, Duration::from_secs(10)).unwrap()
    }

    fn failed(status: JobStatus) -> JobFailure {
        match status {
            JobStatus::Failed(f) => f,
            other => panic!("not failed: {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_shot_is_submitted_polled_and_downloaded() {
        let logs = Logs::capture();
        // A second dispatcher makes tracing ask every dispatcher about a callsite another test's
        // thread meets first (with one, it asks only that thread's, and caches "unwanted").
        let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
        let stub = ReplicateStub::start().await;
        let v = replicate(&stub.config());
        assert_eq!((v.name(), v.model(), v.idempotent_submit()), ("replicate", MODEL, false));
        assert_eq!((v.photos_per_shot(), v.takes_inline_image()), (1, true));
        assert_eq!(v.price(&shot()), Usd::from_dollars(0.35), "5 s at $0.07");
        let job = v.submit(&shot(), &key()).await.unwrap();
        assert_eq!(stub.submissions(), 1);
        let sent = &stub.server().requests_to(&format!("/v1/models/{MODEL}/predictions"))[0];
        assert_eq!(sent.header("authorization"), Some(format!("Bearer {KEY}").as_str()));
        assert_eq!(sent.header("prefer"), None, "no synchronous wait");
        let body = &stub.bodies()[0];
        assert!(body.get("version").is_none());
        let input = &body["input"];
        assert_eq!((input["prompt"].as_str(), input["duration"].as_u64()), (Some("Slow push in on the mug."), Some(5)));
        assert_eq!(input["start_image"].as_str().unwrap(), api::data_uri("image/png", &shot().image), "kept as sent");

        let seen = finish(&v, &job).await;
        let pending = |queued| JobStatus::Pending { retry_in: Duration::from_millis(10), queued };
        assert_eq!(seen[..2], [pending(true), pending(false)], "starting, processing");
        let out = ready(&seen[2]);
        assert!(out.url.contains(&format!("/delivery/{job}/")), "{}", out.url);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("clips/a.mp4");
        let got = v.download(&out, &dest, 50 << 20).await.unwrap();
        let clip = stub.clip();
        assert_eq!((got.bytes, got.sha256), (clip.len() as u64, crate::Sha256::of(&clip)));
        assert_eq!(std::fs::read(&dest).unwrap(), clip);
        assert_eq!(stub.downloads(), 1, "fetched without the token (the stub refuses one)");
        assert!(!format!("{v:?}").contains(KEY));
        let logs = logs.text();
        assert!(logs.contains("prediction submitted") && !logs.contains(KEY), "{logs}");
    }

    #[tokio::test]
    async fn a_version_goes_to_predictions_and_the_photo_to_the_configured_input() {
        let stub = ReplicateStub::start().await;
        let mut config = stub.config();
        let version = "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa";
        config.api.model = format!("minimax/video-01:{version}");
        config.image_input = "first_frame_image".into();
        stub.image_input("first_frame_image");
        let v = replicate(&config);
        let mut long = shot();
        long.duration_ms = 7000;
        assert_eq!(v.price(&long), Usd::from_dollars(0.70), "10 s");
        let job = v.submit(&long, &key()).await.unwrap();
        assert_eq!(stub.server().requests_to("/v1/predictions").len(), 1);
        let body = &stub.bodies()[0];
        assert_eq!((body["version"].as_str(), body["input"]["duration"].as_u64()), (Some(version), Some(10)));
        assert!(body["input"]["first_frame_image"].as_str().unwrap().starts_with("data:image/png;base64,"));
        assert!(body["input"].get("start_image").is_none());
        ready(finish(&v, &job).await.last().unwrap());
    }

    #[tokio::test]
    async fn submit_errors_are_classified_and_each_is_one_submission() {
        let stub = ReplicateStub::start().await;
        let v = replicate(&stub.config());
        for s in [
            Script::Throttled { resets_in: Some(7) },
            Script::Throttled { resets_in: None },
            Script::NoCredit,
            Script::InvalidInput,
            Script::ModelNotFound,
            Script::ServerError,
        ] {
            stub.script(s);
        }
        let e = v.submit(&shot(), &key()).await.unwrap_err();
        assert_eq!((e.is_retryable(), e.retry_after()), (true, Some(Duration::from_secs(7))), "{e}");
        assert_eq!(stub.submissions(), 1);
        let e = v.submit(&shot(), &key()).await.unwrap_err();
        assert_eq!((e.is_retryable(), e.retry_after()), (true, None), "{e}");
        let e = v.submit(&shot(), &key()).await.unwrap_err();
        assert!(matches!(e, ProviderError::Exhausted { .. }) && e.to_string().contains("insufficient credit"), "{e}");
        let e = v.submit(&shot(), &key()).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { moderation: false, .. }), "{e:?}");
        assert!(e.to_string().contains("refuses the input (input.duration)"), "{e}");
        let e = v.submit(&shot(), &key()).await.unwrap_err();
        assert!(
            matches!(e, ProviderError::Rejected { .. }) && e.to_string().contains("TRUEREEL_REPLICATE_MODEL"),
            "{e}"
        );
        let e = v.submit(&shot(), &key()).await.unwrap_err();
        assert!(e.is_retryable() && e.retry_after().is_none(), "{e}");
        assert_eq!(stub.submissions(), 6, "one request per submit, errors included");
        v.submit(&shot(), &key()).await.unwrap();
        assert_eq!(stub.submissions(), 7);

        let mut config = stub.config();
        config.api.api_key = Some(Secret::new("r8_wrong-token"));
        let e = replicate(&config).submit(&shot(), &key()).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { moderation: false, .. }), "{e:?}");
        assert!(e.to_string().contains("TRUEREEL_REPLICATE_API_KEY") && !e.to_string().contains("r8_wrong"), "{e}");
        assert_eq!(stub.submissions(), 7, "refused before it counts");
    }

    #[test]
    fn http_answers_map_to_errors() {
        let answer = |status: u16, retry_after: Option<Duration>, body: Value| api::Answer {
            status,
            retry_after,
            headers: Vec::new(),
            body: body.to_string().into_bytes(),
        };
        let throttled = json!({ "detail": "Request was throttled. Your rate limit resets in ~30s.", "status": 429 });
        assert_eq!(
            status_error(&answer(429, None, throttled.clone()), None).retry_after(),
            Some(Duration::from_secs(30))
        );
        let header = answer(429, Some(Duration::from_secs(2)), throttled);
        assert_eq!(status_error(&header, None).retry_after(), Some(Duration::from_secs(2)), "the header first");
        assert_eq!(body_hint("Your rate limit resets in 12s."), Some(Duration::from_secs(12)));
        assert_eq!(
            (body_hint("~ 5s"), body_hint("~5 minutes"), body_hint("no hint")),
            (Some(Duration::from_secs(5)), None, None)
        );
        for (status, detail) in [
            (402, "Payment required"),
            (429, "Your credit is running low: requests are limited"),
            (403, "Your account has a billing problem"),
            (400, "Add a payment method to run this model"),
        ] {
            let e = status_error(&answer(status, None, json!({ "title": "x", "detail": detail })), Some("a/b"));
            assert!(matches!(e, ProviderError::Exhausted { .. }), "{status} {detail}: {e:?}");
        }
        for status in [401, 403] {
            let e = status_error(&answer(status, None, json!({ "detail": "Unauthenticated" })), Some("a/b"));
            assert!(matches!(e, ProviderError::Rejected { .. }) && e.to_string().contains("API_KEY"), "{e}");
        }
        let e = status_error(&answer(404, None, json!({ "detail": "Not found" })), None);
        assert!(e.to_string().contains("no such prediction"), "{e}");
        let e =
            status_error(&answer(422, None, json!({ "detail": "- input.prompt: prompt is required" })), Some("a/b"));
        assert!(matches!(e, ProviderError::Rejected { .. }) && e.to_string().contains("input.prompt"), "{e}");
        for s in [500, 502, 503, 408] {
            assert!(status_error(&answer(s, None, json!("<html>")), None).is_retryable(), "{s}");
        }
    }

    #[tokio::test]
    async fn predictions_end_failed_queued_or_with_a_list() {
        let stub = ReplicateStub::start().await;
        let v = replicate(&stub.config());
        let scripts = [
            Script::Fail(
                "The input or output was flagged as sensitive. Please try again with different inputs. (E005)",
            ),
            Script::Fail("CUDA error: out of memory"),
            Script::NoOutput,
            Script::ListOutput,
            Script::Queued { polls: 2 },
            Script::MalformedPoll,
        ];
        let mut jobs = Vec::new();
        for s in scripts {
            stub.script(s);
            jobs.push(v.submit(&shot(), &key()).await.unwrap());
        }
        let f = failed(v.poll(&jobs[0]).await.unwrap());
        assert_eq!((f.class, f.billed, f.code.as_deref()), (FailureClass::ModerationOutput, true, Some("E005")));
        assert!(f.reason.contains("flagged as sensitive"), "{}", f.reason);
        let f = failed(v.poll(&jobs[1]).await.unwrap());
        assert_eq!((f.class, f.billed, f.code), (FailureClass::Retryable, true, None));
        let f = failed(v.poll(&jobs[2]).await.unwrap());
        assert_eq!((f.class, f.reason.as_str()), (FailureClass::Retryable, "succeeded with no output"));
        let out = ready(&v.poll(&jobs[3]).await.unwrap());
        assert!(out.url.ends_with("/output.mp4"), "the first of the list: {}", out.url);
        let seen = finish(&v, &jobs[4]).await;
        let pending = |queued| JobStatus::Pending { retry_in: Duration::from_millis(10), queued };
        assert_eq!(seen[..3], [pending(true), pending(true), pending(false)]);
        ready(&seen[3]);
        assert!(matches!(v.poll(&jobs[5]).await, Err(ProviderError::Invalid { .. })));
        let e = v.poll(&JobId::new("nosuchprediction0000000000")).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { .. }), "{e:?}");

        // Answers that are not the documented shapes.
        let server = TestServer::start().await;
        let mut config = stub.config();
        config.api.base_url = server.url("/v1");
        let odd = replicate(&config);
        let job = JobId::new("abc123");
        for (answer, what) in [
            (r#"{"status":"paused"}"#, "unknown status"),
            (r#"{"output":"https://x.example/a.mp4"}"#, "no status"),
            (r#"{"status":"succeeded","output":"file:///etc/passwd"}"#, "file URL"),
            (r#"{"status":"succeeded","output":"not a url"}"#, "not a URL"),
        ] {
            server.route("/v1/predictions/abc123", Reply::ok(answer));
            assert!(matches!(odd.poll(&job).await, Err(ProviderError::Invalid { .. })), "{what}");
        }
        server.route("/v1/predictions/abc123", Reply::ok(r#"{"status":"canceled"}"#));
        let f = failed(odd.poll(&job).await.unwrap());
        assert_eq!((f.class, f.billed), (FailureClass::Cancelled, true));
        for answer in [r#"{"id":"../../etc"}"#, r#"{"status":"starting"}"#, "not json"] {
            server.route(&format!("/v1/models/{MODEL}/predictions"), Reply::ok(answer));
            assert!(matches!(odd.submit(&shot(), &key()).await, Err(ProviderError::Invalid { .. })), "{answer}");
        }
    }

    #[tokio::test]
    async fn an_expired_output_is_expired_and_a_fresh_poll_downloads() {
        let stub = ReplicateStub::start().await;
        let v = replicate(&stub.config());
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("clip.mp4");
        stub.script(Script::Expiring { downloads: 1, after: None });
        let job = v.submit(&shot(), &key()).await.unwrap();
        let first = ready(&v.poll(&job).await.unwrap());
        v.download(&first, &dest, u64::MAX).await.unwrap();
        let e = v.download(&first, &dest, u64::MAX).await.unwrap_err();
        assert!(matches!(e, ProviderError::Expired { .. }), "{e:?}");
        let fresh = ready(&v.poll(&job).await.unwrap());
        assert_ne!(fresh.url, first.url);
        assert_eq!(v.download(&fresh, &dest, u64::MAX).await.unwrap().sha256, crate::Sha256::of(&stub.clip()));

        stub.script(Script::Expiring { downloads: 5, after: Some(Duration::from_millis(40)) });
        let job = v.submit(&shot(), &key()).await.unwrap();
        let out = ready(&v.poll(&job).await.unwrap());
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(matches!(v.download(&out, &dest, u64::MAX).await, Err(ProviderError::Expired { .. })));

        stub.script(Script::Oversized(300_000));
        let job = v.submit(&shot(), &key()).await.unwrap();
        let big = ready(&v.poll(&job).await.unwrap());
        std::fs::remove_file(&dest).unwrap();
        let e = v.download(&big, &dest, 200_000).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { .. }) && e.to_string().contains("over the cap"), "{e}");
        assert!(!dest.exists());
        assert_eq!(v.download(&big, &dest, 300_000).await.unwrap().bytes, 300_000);
    }

    #[tokio::test]
    async fn a_prediction_is_cancelled_and_a_finished_one_has_already_ended() {
        let stub = ReplicateStub::start().await;
        let v = replicate(&stub.config());
        stub.script(Script::NeverFinishes);
        let job = v.submit(&shot(), &key()).await.unwrap();
        for _ in 0..3 {
            assert!(matches!(v.poll(&job).await.unwrap(), JobStatus::Pending { .. }));
        }
        assert_eq!(v.cancel(&job).await.unwrap(), Cancelled::Confirmed);
        assert_eq!(stub.cancels(), 1);
        assert_eq!(stub.server().requests_to(&format!("/v1/predictions/{job}/cancel"))[0].method, "POST");
        let f = failed(v.poll(&job).await.unwrap());
        assert_eq!(f.class, FailureClass::Cancelled);

        stub.script(Script::Succeed { polls: 0 });
        let done = v.submit(&shot(), &key()).await.unwrap();
        ready(&v.poll(&done).await.unwrap());
        assert_eq!(v.cancel(&done).await.unwrap(), Cancelled::AlreadyEnded);
        let unknown = JobId::new("nosuchprediction0000000000");
        assert!(matches!(v.cancel(&unknown).await, Err(ProviderError::Rejected { .. })));

        stub.script(Script::Timed(Duration::from_millis(60)));
        let timed = v.submit(&shot(), &key()).await.unwrap();
        assert!(matches!(v.poll(&timed).await.unwrap(), JobStatus::Pending { .. }));
        tokio::time::sleep(Duration::from_millis(80)).await;
        ready(&v.poll(&timed).await.unwrap());
    }

    #[test]
    fn a_big_photo_is_shrunk_to_a_small_data_uri_and_a_wrong_shape_is_refused() {
        let side = 3000;
        let mut noise = vec![0u8; (side * side * 3) as usize];
        fastrand::Rng::with_seed(7).fill(&mut noise);
        let img = image::RgbImage::from_raw(side, side, noise).unwrap();
        let mut big = Vec::new();
        img.write_to(&mut Cursor::new(&mut big), ImageFormat::Png).unwrap();
        let uri = image_uri(&big).unwrap();
        assert!(uri.len() <= MAX_DATA_URI, "{} bytes", uri.len());
        let jpeg = base64::engine::general_purpose::STANDARD
            .decode(uri.strip_prefix("data:image/jpeg;base64,").expect("a JPEG data URI"))
            .unwrap();
        let shrunk = image::load_from_memory(&jpeg).unwrap();
        assert!(shrunk.width() < side && shrunk.width() >= 300 && shrunk.width() == shrunk.height());
        for (w, h) in [(1300, 500), (300, 800), (200, 200)] {
            let e = image_uri(&png(w, h)).unwrap_err();
            assert!(
                matches!(e, ProviderError::Rejected { moderation: false, .. }) && e.to_string().contains("Replicate"),
                "{e}"
            );
        }
    }

    #[test]
    fn setup_checks_the_token_model_input_price_and_base() {
        let mut config = crate::config::Config::default().video.replicate;
        let err = |c: &ReplicateConfig| ReplicateVideo::new(c, Duration::from_secs(1)).unwrap_err().to_string();
        assert!(err(&config).starts_with("TRUEREEL_REPLICATE_API_KEY"));
        config.api.api_key = Some(Secret::new("r8_secret_token"));
        assert!(err(&config).starts_with("TRUEREEL_REPLICATE_USD_PER_SECOND"), "the price must be set");
        config.api.usd_per_second = Some(Usd::from_dollars(0.07));
        let v = replicate(&config);
        assert_eq!((v.model(), v.image_input.as_str()), ("kwaivgi/kling-v2.5-turbo-pro", "start_image"));
        assert!(!format!("{v:?}").contains("r8_secret_token"));
        for bad in ["kling", "a/b/c", "a/b:1234", "a/..", "/b", "a/b:", &format!("a/b:{}", "g".repeat(64))] {
            let mut c = config.clone();
            c.api.model = bad.into();
            assert!(err(&c).starts_with("TRUEREEL_REPLICATE_MODEL"), "{bad}");
        }
        for bad in ["", "start image", "image\"]"] {
            let mut c = config.clone();
            c.image_input = bad.into();
            assert!(err(&c).starts_with("TRUEREEL_REPLICATE_IMAGE_INPUT"), "{bad:?}");
        }
        for (url, allow, ok) in [
            ("https://api.replicate.com/v1", false, true),
            ("http://127.0.0.1:8080/v1", false, false),
            ("http://127.0.0.1:8080/v1", true, true),
            ("http://api.replicate.com/v1", true, false),
        ] {
            let mut c = config.clone();
            c.api.base_url = url.into();
            c.api.allow_private_network = allow;
            let made = ReplicateVideo::new(&c, Duration::from_secs(1));
            assert_eq!(made.is_ok(), ok, "{url}");
            if let Err(e) = made {
                assert!(e.to_string().starts_with("TRUEREEL_REPLICATE_BASE_URL"), "{e}");
            }
        }
        assert_eq!(target("a/b"), Some(Target::Model { owner: "a".into(), name: "b".into() }));
        assert_eq!(error_code("oops (E005)"), Some("E005".into()));
        assert_eq!((error_code("no code"), error_code("(Eek)")), (None, None));
    }
}
