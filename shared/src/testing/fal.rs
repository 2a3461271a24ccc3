//! A loopback stand-in for fal's queue API (`providers.md` §1.4 and the update block) on a
//! [`TestServer`], for one model id: requests scripted one submission at a time, a real small MP4 as
//! the output, counters.
//!
//! ```ignore
//! let stub = FalStub::start().await;                 // fal-ai/kling-video/o3/standard/reference-to-video
//! stub.script(Script::InQueue { polls: 2 });         // IN_QUEUE, IN_QUEUE, IN_PROGRESS, COMPLETED
//! let fal = FalVideo::new(&stub.config(), Duration::from_secs(5))?;
//! ```
//!
//! | route | answer |
//! |---|---|
//! | `POST /{model id}` | `{request_id, status_url, response_url, cancel_url, queue_position}`, the script's error, 400 without `X-Fal-Store-IO: 0` or a valid `X-Fal-Object-Lifecycle-Preference`, 422 for an input the model family would refuse (its photo field missing or not data URIs, more than 4 references, a Kling duration that is not `"5"`/`"10"`) |
//! | `GET /{owner}/{app}/requests/{id}/status` | `{status, queue_position?, response_url}` |
//! | `GET /{owner}/{app}/requests/{id}` | the model's output `{video:{url, content_type, file_size}}` or its error (422 `content_policy_violation`, 500); 400 while the request is not done |
//! | `PUT /{owner}/{app}/requests/{id}/cancel` | queued: 202 `CANCELLATION_REQUESTED`, the request `CANCELED`; running: 202 but it runs on (our reading of "only works before the job starts"); ended: 400 `ALREADY_COMPLETED` |
//! | `GET /files/{id}/{token}.mp4` | the clip (public, no key) |
//!
//! Any other path is a 404 (so are status URLs built with the model's subpath). Every API call needs
//! `Authorization: Key` [`KEY`], else a 401. Each result `GET` gives a fresh file link. A submission
//! takes the next queued [`Script`], or the default one ([`FalStub::always`]; `Succeed { polls: 2 }`
//! at first). Bodies over the test server's recording cap (1 MiB) are accepted unchecked.

use super::{RecordedRequest, Reply, TestServer};
use crate::config::{ApiConfig, Secret};
use bytes::Bytes;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The API key the stub accepts.
pub const KEY: &str = "fal-test-key-0123:abcdef";
/// The model [`FalStub::start`] serves.
pub const MODEL: &str = "fal-ai/kling-video/o3/standard/reference-to-video";

/// What one submission does.
#[derive(Debug, Clone, PartialEq)]
pub enum Script {
    /// `IN_QUEUE` on the first of `polls` polls, `IN_PROGRESS` on the rest, then `COMPLETED`.
    Succeed { polls: u32 },
    /// `IN_QUEUE` (with a falling `queue_position`) for `polls` polls, `IN_PROGRESS` once, then `COMPLETED`.
    InQueue { polls: u32 },
    /// The submit gets a 429 with `Retry-After: 1` and makes no request.
    RateLimited,
    /// The submit gets a 429 without a hint and makes no request.
    Throttled,
    /// The submit gets a 403 "User is locked. Reason: Exhausted balance" and makes no request.
    Exhausted,
    /// The submit gets a 500 and makes no request.
    ServerError,
    /// The submit gets a 503 with `X-Fal-Retryable: false` and makes no request.
    NotRetryable,
    /// The submit gets a 422 `content_policy_violation` on the prompt and makes no request.
    PolicyAtSubmit,
    /// `COMPLETED`, and the result is a 422 `content_policy_violation` whose `loc` names an input
    /// (`["body", "prompt"]`) or not (`["output", "video"]`).
    PolicyViolation { input: bool },
    /// `COMPLETED`, and the result is the model's 500 (`X-Fal-Error-Type: internal_server_error`).
    ModelError,
    /// `COMPLETED`, and the result has no video.
    NoVideo,
    /// Every status poll answers JSON cut short.
    MalformedPoll,
    /// `COMPLETED` at once; each file link answers 403 once downloaded `downloads` times or once
    /// `after` has passed since it was issued (the next result `GET` gives a fresh one).
    Expiring { downloads: u32, after: Option<Duration> },
    /// `COMPLETED` at once, and the output is the clip padded with zeros to this many bytes.
    Oversized(usize),
    /// `IN_QUEUE` for ever (until a cancel).
    NeverStarts,
    /// `IN_PROGRESS` for ever (a cancel does not stop it).
    NeverFinishes,
    /// `IN_PROGRESS` until this long after the submission, then `COMPLETED` (a job that takes time).
    Timed(Duration),
}

struct Token {
    value: String,
    issued: Instant,
    downloads: u32,
}

struct Job {
    born: Instant,
    script: Script,
    polls: u32,
    cancelled: bool,
    tokens: Vec<Token>,
}

struct State {
    model: String,
    /// `/{owner}/{app}/requests/`.
    requests: String,
    queue: VecDeque<Script>,
    default: Script,
    jobs: HashMap<String, Job>,
    bodies: Vec<Value>,
    submissions: usize,
    polls: usize,
    results: usize,
    cancels: usize,
    downloads: usize,
    clip: Bytes,
    base: String,
}

/// The stub server; it stops when dropped.
pub struct FalStub {
    server: TestServer,
    state: Arc<Mutex<State>>,
}

impl FalStub {
    /// Serves [`MODEL`].
    pub async fn start() -> Self {
        Self::for_model(MODEL).await
    }

    /// Serves `model` (`owner/app[/subpath]`), with [`super::runway::test_clip`] as every output.
    pub async fn for_model(model: &str) -> Self {
        let clip = tokio::task::spawn_blocking(super::runway::test_clip).await.expect("making the test clip");
        let server = TestServer::start().await;
        let app = model.split('/').take(2).collect::<Vec<_>>().join("/");
        let state = Arc::new(Mutex::new(State {
            model: model.to_string(),
            requests: format!("/{app}/requests/"),
            queue: VecDeque::new(),
            default: Script::Succeed { polls: 2 },
            jobs: HashMap::new(),
            bodies: Vec::new(),
            submissions: 0,
            polls: 0,
            results: 0,
            cancels: 0,
            downloads: 0,
            clip,
            base: server.url(""),
        }));
        let api = state.clone();
        server.handle_prefix("/", move |r| authorised(r).unwrap_or_else(|| route(&api, r)));
        let files = state.clone();
        server.handle_prefix("/files/", move |r| file(&files, r));
        Self { server, state }
    }

    /// `http://127.0.0.1:<port>`: the base URL.
    pub fn base_url(&self) -> String {
        self.server.url("")
    }

    /// A configuration for this stub: its URL and key, its model (list price, or $0.10/s for a model
    /// without one), private network allowed (the stub is on loopback), polls 10 ms apart.
    pub fn config(&self) -> ApiConfig {
        let mut config = crate::config::Config::default().video.fal;
        config.base_url = self.base_url();
        config.api_key = Some(Secret::new(KEY));
        config.model = self.lock().model.clone();
        if config.model != MODEL {
            config.usd_per_second = Some(crate::Usd::from_dollars(0.10));
        }
        config.allow_private_network = true;
        config.poll_interval = Duration::from_millis(10);
        config
    }

    /// What the next submission (after those already queued) does.
    pub fn script(&self, script: Script) {
        self.lock().queue.push_back(script);
    }

    /// What every submission does once the queue is empty.
    pub fn always(&self, script: Script) {
        self.lock().default = script;
    }

    /// The clip the outputs serve.
    pub fn clip(&self) -> Bytes {
        self.lock().clip.clone()
    }

    /// Submit requests that passed the key check (answered 2xx or not).
    pub fn submissions(&self) -> usize {
        self.lock().submissions
    }

    /// The JSON bodies of the submissions, in order (those within the recording cap).
    pub fn bodies(&self) -> Vec<Value> {
        self.lock().bodies.clone()
    }

    /// Status `GET`s that passed the key check, all requests together.
    pub fn polls(&self) -> usize {
        self.lock().polls
    }

    /// Status `GET`s of request `id`.
    pub fn polls_of(&self, id: &str) -> u32 {
        self.lock().jobs.get(id).map_or(0, |j| j.polls)
    }

    /// Result `GET`s that passed the key check.
    pub fn results(&self) -> usize {
        self.lock().results
    }

    /// Cancel `PUT`s that passed the key check.
    pub fn cancels(&self) -> usize {
        self.lock().cancels
    }

    /// File requests (answered or refused).
    pub fn downloads(&self) -> usize {
        self.lock().downloads
    }

    /// The server underneath, for its request log.
    pub fn server(&self) -> &TestServer {
        &self.server
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn json_reply(status: u16, body: &Value) -> Reply {
    Reply::status(status).header("Content-Type", "application/json").body(body.to_string())
}

fn detail(status: u16, message: &str) -> Reply {
    json_reply(status, &json!({ "detail": message }))
}

/// A 401 unless the request carries the key.
fn authorised(r: &RecordedRequest) -> Option<Reply> {
    (r.header("authorization") != Some(format!("Key {KEY}").as_str()))
        .then(|| detail(401, "Authentication is required to access this application."))
}

fn uuid() -> String {
    let hex = |n: usize| (0..n).map(|_| char::from_digit(fastrand::u32(0..16), 16).unwrap()).collect::<String>();
    format!("{}-{}-4{}-a{}-{}", hex(8), hex(4), hex(3), hex(3), hex(12))
}

fn route(state: &Mutex<State>, r: &RecordedRequest) -> Reply {
    let (model, requests) = {
        let s = state.lock().unwrap_or_else(|p| p.into_inner());
        (s.model.clone(), s.requests.clone())
    };
    let path = r.path();
    if path == format!("/{model}") {
        return if r.method == "POST" { submit(state, r) } else { detail(405, "Method Not Allowed") };
    }
    match path.strip_prefix(&requests).map(|rest| rest.split('/').collect::<Vec<_>>()).as_deref() {
        Some([id]) if r.method == "GET" => result(state, id),
        Some([id, "status"]) if r.method == "GET" => status(state, id),
        Some([id, "cancel"]) if r.method == "PUT" => cancel(state, id),
        Some(_) => detail(405, "Method Not Allowed"),
        None => detail(404, "Application not found"),
    }
}

/// A 422 like fal's input validation: the field at fault.
fn invalid_input(field: &str, message: &str) -> Reply {
    json_reply(422, &json!({ "detail": [{ "loc": ["body", field], "msg": message, "type": "value_error" }] }))
}

/// Why the model would refuse this input, if it would.
fn refusal(model: &str, body: &Value) -> Option<Reply> {
    let data_uri = |v: &Value| v.as_str().is_some_and(|u| u.starts_with("data:image/"));
    let last = model.rsplit('/').next().unwrap_or_default();
    let field = if last.ends_with("reference-to-video") {
        let urls = body["image_urls"].as_array();
        if !urls.is_some_and(|u| (1..=4).contains(&u.len()) && u.iter().all(data_uri)) {
            return Some(invalid_input("image_urls", "1 to 4 image data URIs are required"));
        }
        None
    } else if model.contains("kling") && model.split('/').any(|s| s == "v3" || s == "v4") {
        Some("start_image_url")
    } else {
        Some("image_url")
    };
    if let Some(field) = field
        && !data_uri(&body[field])
    {
        return Some(invalid_input(field, "field required (an image data URI)"));
    }
    if model.contains("kling") && !matches!(body["duration"].as_str(), Some("5" | "10")) {
        return Some(invalid_input("duration", "value is not a valid enumeration member; permitted: '5', '10'"));
    }
    if !body["prompt"].is_string() {
        return Some(invalid_input("prompt", "field required"));
    }
    None
}

fn submit(state: &Mutex<State>, r: &RecordedRequest) -> Reply {
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    s.submissions += 1;
    if r.header("x-fal-store-io") != Some("0") {
        return detail(400, "stub: every submit must carry X-Fal-Store-IO: 0 (payloads are not to be kept)");
    }
    let lifecycle = r.header("x-fal-object-lifecycle-preference").and_then(|v| serde_json::from_str::<Value>(v).ok());
    if !lifecycle.is_some_and(|l| l["expiration_duration_seconds"].is_u64()) {
        return detail(400, "stub: X-Fal-Object-Lifecycle-Preference must set expiration_duration_seconds");
    }
    if (r.body.len() as u64) < super::http_server::MAX_RECORDED_BODY {
        let Ok(body) = serde_json::from_slice::<Value>(&r.body) else {
            return detail(400, "Request body is not valid JSON");
        };
        let refused = refusal(&s.model, &body);
        s.bodies.push(body);
        if let Some(reply) = refused {
            return reply;
        }
    }
    let script = s.queue.pop_front().unwrap_or_else(|| s.default.clone());
    match script {
        Script::RateLimited => return detail(429, "Too many requests").header("Retry-After", "1"),
        Script::Throttled => return detail(429, "Concurrent request limit reached"),
        Script::Exhausted => {
            return detail(
                403,
                "User is locked. Reason: Exhausted balance. Top up your balance at fal.ai/dashboard/billing.",
            );
        }
        Script::ServerError => return detail(500, "Internal Server Error"),
        Script::NotRetryable => {
            return detail(503, "The runner could not be started for this input")
                .header("X-Fal-Retryable", "false")
                .header("X-Fal-Error-Type", "runner_unavailable");
        }
        Script::PolicyAtSubmit => {
            let flag = json!({ "detail": [{
                "loc": ["body", "prompt"], "msg": "The prompt was flagged by the content checker.",
                "type": "content_policy_violation", "input": "…", "categories": ["violence"],
            }] });
            return json_reply(422, &flag).header("X-Fal-Error-Type", "content_policy_violation");
        }
        _ => {}
    }
    let id = uuid();
    let at = format!("{}{}{id}", s.base, s.requests);
    let queued = s.jobs.len();
    s.jobs.insert(id.clone(), Job { born: Instant::now(), script, polls: 0, cancelled: false, tokens: Vec::new() });
    json_reply(
        200,
        &json!({
            "request_id": id, "response_url": at, "status_url": format!("{at}/status"),
            "cancel_url": format!("{at}/cancel"), "queue_position": queued,
        }),
    )
}

/// The status of a job after `polls` status polls.
fn status_of(job: &Job) -> &'static str {
    if job.cancelled {
        return "CANCELED";
    }
    let n = job.polls;
    match job.script {
        Script::Succeed { polls } if polls > 0 && n <= polls => {
            if n <= 1 {
                "IN_QUEUE"
            } else {
                "IN_PROGRESS"
            }
        }
        Script::InQueue { polls } if n <= polls => "IN_QUEUE",
        Script::InQueue { polls } if n == polls + 1 => "IN_PROGRESS",
        Script::NeverStarts => "IN_QUEUE",
        Script::NeverFinishes => "IN_PROGRESS",
        Script::Timed(takes) if job.born.elapsed() < takes => "IN_PROGRESS",
        _ => "COMPLETED",
    }
}

fn status(state: &Mutex<State>, id: &str) -> Reply {
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    s.polls += 1;
    let at = format!("{}{}{id}", s.base, s.requests);
    let Some(job) = s.jobs.get_mut(id) else { return detail(404, "Request not found") };
    job.polls += 1;
    if job.script == Script::MalformedPoll {
        return Reply::ok("{\"status\":\"IN_PROG").header("Content-Type", "application/json");
    }
    let status = status_of(job);
    let mut body = json!({ "status": status, "response_url": at });
    if status == "IN_QUEUE" {
        let left = match job.script {
            Script::InQueue { polls } => polls.saturating_sub(job.polls),
            _ => 0,
        };
        body["queue_position"] = json!(left);
    }
    json_reply(200, &body)
}

fn result(state: &Mutex<State>, id: &str) -> Reply {
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    s.results += 1;
    let (base, size) = (s.base.clone(), s.clip.len());
    let Some(job) = s.jobs.get_mut(id) else { return detail(404, "Request not found") };
    if status_of(job) != "COMPLETED" {
        return detail(400, "Request is still in progress");
    }
    match job.script {
        Script::PolicyViolation { input } => {
            let loc = if input { json!(["body", "prompt"]) } else { json!(["output", "video"]) };
            let flag = json!({ "detail": [{
                "loc": loc, "msg": "The content was flagged by a content checker.",
                "type": "content_policy_violation", "categories": ["sexual"],
            }] });
            json_reply(422, &flag).header("X-Fal-Error-Type", "content_policy_violation")
        }
        Script::ModelError => detail(500, "Internal Server Error").header("X-Fal-Error-Type", "internal_server_error"),
        Script::NoVideo => json_reply(200, &json!({ "seed": 42 })),
        _ => {
            let value = uuid().replace('-', "");
            job.tokens.push(Token { value: value.clone(), issued: Instant::now(), downloads: 0 });
            let size = if let Script::Oversized(n) = job.script { n.max(size) } else { size };
            let video = json!({
                "url": format!("{base}/files/{id}/{value}.mp4"), "content_type": "video/mp4",
                "file_name": "output.mp4", "file_size": size,
            });
            json_reply(200, &json!({ "video": video }))
        }
    }
}

fn cancel(state: &Mutex<State>, id: &str) -> Reply {
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    s.cancels += 1;
    let Some(job) = s.jobs.get_mut(id) else { return detail(404, "Request not found") };
    match status_of(job) {
        "IN_QUEUE" => {
            job.cancelled = true;
            json_reply(202, &json!({ "status": "CANCELLATION_REQUESTED" }))
        }
        "IN_PROGRESS" => json_reply(202, &json!({ "status": "CANCELLATION_REQUESTED" })),
        _ => json_reply(400, &json!({ "status": "ALREADY_COMPLETED" })),
    }
}

fn file(state: &Mutex<State>, r: &RecordedRequest) -> Reply {
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    s.downloads += 1;
    let denied = || Reply::status(403).header("Content-Type", "text/plain").body("Forbidden");
    let rest = r.path().trim_start_matches("/files/");
    let Some((id, value)) = rest.trim_end_matches(".mp4").split_once('/') else { return denied() };
    let (id, value) = (id.to_string(), value.to_string());
    let clip = s.clip.clone();
    let Some(job) = s.jobs.get_mut(&id) else { return denied() };
    let script = job.script.clone();
    let Some(token) = job.tokens.iter_mut().find(|t| t.value == value) else { return denied() };
    if let Script::Expiring { downloads, after } = script
        && (token.downloads >= downloads || after.is_some_and(|after| token.issued.elapsed() >= after))
    {
        return denied();
    }
    token.downloads += 1;
    let mut body = clip.to_vec();
    if let Script::Oversized(n) = script {
        body.resize(n.max(clip.len()), 0);
    }
    Reply::ok(body).header("Content-Type", "video/mp4")
}
