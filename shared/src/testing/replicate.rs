//! A loopback stand-in for Replicate's predictions API (`providers.md` §1.5) on a [`TestServer`]:
//! predictions scripted one submission at a time, a real small MP4 as the output, and counters.
//!
//! ```ignore
//! let stub = ReplicateStub::start().await;
//! stub.script(Script::Throttled { resets_in: Some(7) }); // the first submit gets a 429, the next one runs
//! stub.script(Script::Succeed { polls: 2 });             // starting, processing, then succeeded
//! let replicate = ReplicateVideo::new(&stub.config(), Duration::from_secs(5))?;
//! ```
//!
//! | route | answer |
//! |---|---|
//! | `POST /v1/models/{owner}/{name}/predictions` `{input}`, `POST /v1/predictions` `{version, input}` | the new prediction (`starting`), or the script's error; 422 for an input the model would refuse |
//! | `GET /v1/predictions/{id}` | `{id, model, version, status, output, error, logs, created_at, urls: {get, cancel}}`; 404 for an unknown id |
//! | `POST /v1/predictions/{id}/cancel` | the prediction, `canceled` unless it had already ended (then as it was) |
//! | `GET /delivery/{id}/{token}/output.mp4` | the clip (no token; a request carrying `Authorization` gets a 400) |
//!
//! Every `/v1/` call needs `Authorization: Bearer` [`KEY`], else Replicate's 401. A model's input
//! must hold a non-empty `prompt`, the photo (a data URI or URL) in the configured image input
//! ([`ReplicateStub::image_input`], `start_image` at first) and a `duration` of 5 or 10. Each `GET`
//! of a succeeded prediction issues a fresh output URL. Bodies over the test server's recording cap
//! (1 MiB) are accepted unchecked.

use super::{RecordedRequest, Reply, TestServer};
use crate::Usd;
use crate::config::{ReplicateConfig, Secret};
use bytes::Bytes;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The API token the stub accepts.
pub const KEY: &str = "r8_stubtoken0123456789abcdefghijklmnop";
/// The model the stub's configuration names.
pub const MODEL: &str = "kwaivgi/kling-v2.5-turbo-pro";
/// The price per second the stub's configuration sets.
pub const USD_PER_SECOND: f64 = 0.07;

/// What one submission does.
#[derive(Debug, Clone, PartialEq)]
pub enum Script {
    /// `starting` on the first poll, `processing` up to `polls`, then `succeeded` with a URL.
    Succeed { polls: u32 },
    /// `starting` (queued) for `polls` polls, `processing` once, then `succeeded`.
    Queued { polls: u32 },
    /// `succeeded` at once with a list of URLs (the clip first).
    ListOutput,
    /// The submit gets a 429 `Request was throttled.`, with `Your rate limit resets in ~Ns.` when
    /// given, and no `Retry-After`; no prediction is made.
    Throttled { resets_in: Option<u32> },
    /// The submit gets a 402 for insufficient credit.
    NoCredit,
    /// The submit gets a 422 naming `input.duration`.
    InvalidInput,
    /// The submit gets a 404: no such model or version.
    ModelNotFound,
    /// The submit gets a 500.
    ServerError,
    /// `failed` with this `error`.
    Fail(&'static str),
    /// `succeeded` with `output: null`.
    NoOutput,
    /// Every poll answers JSON cut short.
    MalformedPoll,
    /// `succeeded` at once; each output URL answers 404 once downloaded `downloads` times or once
    /// `after` has passed since it was issued (the next `GET` of the prediction issues a fresh one).
    Expiring { downloads: u32, after: Option<Duration> },
    /// `succeeded` at once, the output the clip padded with zeros to this many bytes.
    Oversized(usize),
    /// `processing` for ever (until cancelled).
    NeverFinishes,
    /// `processing` until this long after the submission, then `succeeded`.
    Timed(Duration),
}

struct Link {
    token: String,
    issued: Instant,
    downloads: u32,
}

struct Prediction {
    born: Instant,
    script: Script,
    polls: u32,
    cancelled: bool,
    links: Vec<Link>,
    model: String,
    version: String,
}

struct State {
    queue: VecDeque<Script>,
    default: Script,
    predictions: HashMap<String, Prediction>,
    bodies: Vec<Value>,
    keep_bodies: bool,
    submissions: usize,
    polls: usize,
    cancels: usize,
    downloads: usize,
    image_input: String,
    clip: Bytes,
    base: String,
}

/// The stub server; it stops when dropped.
pub struct ReplicateStub {
    server: TestServer,
    state: Arc<Mutex<State>>,
}

impl ReplicateStub {
    /// Starts on 127.0.0.1 with [`super::runway::test_clip`] as every output.
    pub async fn start() -> Self {
        let clip = tokio::task::spawn_blocking(super::runway::test_clip).await.expect("making the test clip");
        let server = TestServer::start().await;
        let state = Arc::new(Mutex::new(State {
            queue: VecDeque::new(),
            default: Script::Succeed { polls: 2 },
            predictions: HashMap::new(),
            bodies: Vec::new(),
            keep_bodies: true,
            submissions: 0,
            polls: 0,
            cancels: 0,
            downloads: 0,
            image_input: "start_image".into(),
            clip,
            base: server.url(""),
        }));
        let s = state.clone();
        server.handle("/v1/predictions", move |r| authorised(r).unwrap_or_else(|| create(&s, r, None)));
        let s = state.clone();
        server.handle_prefix("/v1/models/", move |r| {
            authorised(r).unwrap_or_else(|| {
                let path = r.path().trim_start_matches("/v1/models/");
                match path.split('/').collect::<Vec<_>>()[..] {
                    [owner, name, "predictions"] => create(&s, r, Some(format!("{owner}/{name}"))),
                    _ => problem(404, "Not found", "The requested resource could not be found."),
                }
            })
        });
        let s = state.clone();
        server.handle_prefix("/v1/predictions/", move |r| authorised(r).unwrap_or_else(|| prediction(&s, r)));
        server.handle_prefix("/v1/", |r| {
            authorised(r).unwrap_or_else(|| problem(404, "Not found", "The requested resource could not be found."))
        });
        let s = state.clone();
        server.handle_prefix("/delivery/", move |r| output(&s, r));
        Self { server, state }
    }

    /// `http://127.0.0.1:<port>/v1`: the base URL.
    pub fn base_url(&self) -> String {
        self.server.url("/v1")
    }

    /// A Replicate configuration for this stub: its URL and token, [`MODEL`], `start_image`,
    /// [`USD_PER_SECOND`], private network allowed (the stub is on loopback), polls 10 ms apart.
    pub fn config(&self) -> ReplicateConfig {
        let mut config = crate::config::Config::default().video.replicate;
        config.api.base_url = self.base_url();
        config.api.api_key = Some(Secret::new(KEY));
        config.api.model = MODEL.into();
        config.api.usd_per_second = Some(Usd::from_dollars(USD_PER_SECOND));
        config.api.allow_private_network = true;
        config.api.poll_interval = Duration::from_millis(10);
        config.image_input = "start_image".into();
        config
    }

    /// The input the model takes its photo in (`start_image` at first).
    pub fn image_input(&self, name: &str) {
        self.lock().image_input = name.into();
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

    /// Create requests that passed the token check (answered 2xx or not).
    pub fn submissions(&self) -> usize {
        self.lock().submissions
    }

    /// The JSON bodies of the submissions, in order (those within the recording cap).
    pub fn bodies(&self) -> Vec<Value> {
        self.lock().bodies.clone()
    }

    /// `GET`s of predictions that passed the token check.
    pub fn polls(&self) -> usize {
        self.lock().polls
    }

    /// Cancel requests that passed the token check.
    pub fn cancels(&self) -> usize {
        self.lock().cancels
    }

    /// Output requests (answered or refused).
    pub fn downloads(&self) -> usize {
        self.lock().downloads
    }

    /// Stops (or starts again) keeping requests and submission bodies; the counters go on.
    pub fn keep_records(&self, on: bool) {
        self.server.keep_requests(on);
        self.lock().keep_bodies = on;
    }

    /// The server underneath, for its request log.
    pub fn server(&self) -> &TestServer {
        &self.server
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

fn json_reply(status: u16, body: &Value) -> Reply {
    Reply::status(status).header("Content-Type", "application/json").body(body.to_string())
}

/// Replicate's problem details (RFC 7807).
fn problem(status: u16, title: &str, detail: &str) -> Reply {
    json_reply(status, &json!({ "title": title, "detail": detail, "status": status }))
}

fn authorised(r: &RecordedRequest) -> Option<Reply> {
    (r.header("authorization") != Some(format!("Bearer {KEY}").as_str()))
        .then(|| problem(401, "Unauthenticated", "You did not pass a valid authentication token"))
}

fn id() -> String {
    (0..26).map(|_| char::from_digit(fastrand::u32(0..36), 36).unwrap()).collect()
}

/// Why the model would refuse `input`: the field and the words.
fn check_input(input: &Value, image_input: &str) -> Result<(), (String, String)> {
    let bad = |field: &str, why: &str| Err((format!("input.{field}"), why.to_string()));
    if !input.is_object() {
        return bad("", "input must be an object");
    }
    if input["prompt"].as_str().is_none_or(|p| p.trim().is_empty()) {
        return bad("prompt", "prompt is required");
    }
    let image = input[image_input].as_str().unwrap_or_default();
    if !(image.starts_with("data:image/") || image.starts_with("https://")) {
        return bad(image_input, "does not match format 'uri'");
    }
    if ![5, 10].contains(&input["duration"].as_u64().unwrap_or(0)) {
        return bad("duration", "duration must be one of the following: 5, 10");
    }
    Ok(())
}

fn create(state: &Mutex<State>, r: &RecordedRequest, model: Option<String>) -> Reply {
    if r.method != "POST" {
        return problem(405, "Method not allowed", "Use POST");
    }
    let mut s = lock(state);
    s.submissions += 1;
    let mut version = "0".repeat(64);
    if (r.body.len() as u64) < super::http_server::MAX_RECORDED_BODY {
        let Ok(body) = serde_json::from_slice::<Value>(&r.body) else {
            return problem(400, "Invalid JSON", "The request body is not valid JSON");
        };
        if model.is_none() {
            match body["version"].as_str() {
                Some(v) if v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()) => version = v.to_string(),
                _ => return problem(422, "Invalid version or not permitted", "The specified version does not exist"),
            }
        }
        if let Err((field, why)) = check_input(&body["input"], &s.image_input) {
            let detail = format!("- {field}: {why}");
            let invalid = json!([{ "type": "invalid", "field": field, "description": why }]);
            let body = json!({ "title": "Input validation failed", "detail": detail, "status": 422, "invalid_fields": invalid });
            return json_reply(422, &body);
        }
        if s.keep_bodies {
            s.bodies.push(body);
        }
    }
    let script = s.queue.pop_front().unwrap_or_else(|| s.default.clone());
    match script {
        Script::Throttled { resets_in } => {
            let detail = match resets_in {
                Some(n) => format!("Request was throttled. Your rate limit resets in ~{n}s."),
                None => "Request was throttled.".to_string(),
            };
            return json_reply(429, &json!({ "detail": detail, "status": 429 }));
        }
        Script::NoCredit => {
            return problem(
                402,
                "Insufficient credit",
                "You have insufficient credit to run this model. Go to https://replicate.com/account/billing#billing \
                 to purchase credit. Once you purchase credit, please wait a few minutes before trying again.",
            );
        }
        Script::InvalidInput => {
            let body = json!({ "title": "Input validation failed", "status": 422,
                "detail": "- input.duration: duration must be one of the following: 5, 10",
                "invalid_fields": [{ "type": "enum", "field": "input.duration", "description": "duration must be one of the following: 5, 10" }] });
            return json_reply(422, &body);
        }
        Script::ModelNotFound => return problem(404, "Not found", "The requested resource could not be found."),
        Script::ServerError => return problem(500, "Internal Server Error", "Something went wrong."),
        _ => {}
    }
    let id = id();
    let model = model.unwrap_or_else(|| "owner/model".into());
    let p = Prediction { born: Instant::now(), script, polls: 0, cancelled: false, links: Vec::new(), model, version };
    s.predictions.insert(id.clone(), p);
    let base = s.base.clone();
    let p = s.predictions.get_mut(&id).expect("just added");
    json_reply(201, &view(&base, &id, p, "starting"))
}

const TERMINAL: &[&str] = &["succeeded", "failed", "canceled"];

/// The status of a prediction after its polls so far.
fn status_of(p: &Prediction) -> &'static str {
    if p.cancelled {
        return "canceled";
    }
    let n = p.polls;
    match p.script {
        Script::Succeed { polls } if n <= polls => {
            if n <= 1 {
                "starting"
            } else {
                "processing"
            }
        }
        Script::Queued { polls } if n <= polls => "starting",
        Script::Queued { polls } if n == polls + 1 => "processing",
        Script::Fail(_) => "failed",
        Script::NeverFinishes => "processing",
        Script::Timed(takes) if p.born.elapsed() < takes => "processing",
        _ => "succeeded",
    }
}

/// The prediction's JSON in `status` (a succeeded one gets a fresh output URL).
fn view(base: &str, id: &str, p: &mut Prediction, status: &str) -> Value {
    let mut body = json!({
        "id": id, "model": p.model, "version": p.version, "status": status, "output": null, "error": null,
        "logs": "", "data_removed": false, "created_at": "2026-12-02T10:00:00.000Z",
        "urls": { "get": format!("{base}/v1/predictions/{id}"), "cancel": format!("{base}/v1/predictions/{id}/cancel") },
    });
    match status {
        "succeeded" if p.script != Script::NoOutput => {
            let token: String = (0..16).map(|_| char::from_digit(fastrand::u32(0..16), 16).unwrap()).collect();
            let url = format!("{base}/delivery/{id}/{token}/output.mp4");
            p.links.push(Link { token, issued: Instant::now(), downloads: 0 });
            body["output"] = if p.script == Script::ListOutput {
                json!([url, format!("{base}/delivery/{id}/none/poster.jpg")])
            } else {
                json!(url)
            };
            body["metrics"] = json!({ "predict_time": 41.2 });
        }
        "failed" => {
            if let Script::Fail(error) = p.script {
                body["error"] = json!(error);
            }
        }
        _ => {}
    }
    body
}

fn prediction(state: &Mutex<State>, r: &RecordedRequest) -> Reply {
    let mut s = lock(state);
    let path = r.path().trim_start_matches("/v1/predictions/").to_string();
    let (id, cancel) = match path.strip_suffix("/cancel") {
        Some(id) => (id.to_string(), true),
        None => (path, false),
    };
    let base = s.base.clone();
    match (r.method.as_str(), cancel) {
        ("POST", true) => s.cancels += 1,
        ("GET", false) => s.polls += 1,
        _ => return problem(405, "Method not allowed", "Method not allowed"),
    }
    let Some(p) = s.predictions.get_mut(&id) else {
        return problem(404, "Not found", "The requested resource could not be found.");
    };
    if cancel {
        if !TERMINAL.contains(&status_of(p)) {
            p.cancelled = true;
        }
        let status = status_of(p);
        return json_reply(200, &view(&base, &id, p, status));
    }
    p.polls += 1;
    if p.script == Script::MalformedPoll {
        return Reply::ok(format!("{{\"id\":\"{id}\",\"status\":\"proc")).header("Content-Type", "application/json");
    }
    let status = status_of(p);
    json_reply(200, &view(&base, &id, p, status))
}

fn output(state: &Mutex<State>, r: &RecordedRequest) -> Reply {
    let mut s = lock(state);
    s.downloads += 1;
    let gone = || Reply::status(404).header("Content-Type", "text/plain").body("Not Found");
    if r.header("authorization").is_some() {
        return Reply::status(400).body("Requests to the delivery host carry no Authorization");
    }
    let parts: Vec<&str> = r.path().trim_start_matches("/delivery/").split('/').collect();
    let [id, token, "output.mp4"] = parts[..] else { return gone() };
    let clip = s.clip.clone();
    let Some(p) = s.predictions.get_mut(id) else { return gone() };
    let script = p.script.clone();
    let Some(link) = p.links.iter_mut().find(|l| l.token == token) else { return gone() };
    if let Script::Expiring { downloads, after } = script
        && (link.downloads >= downloads || after.is_some_and(|after| link.issued.elapsed() >= after))
    {
        return gone();
    }
    link.downloads += 1;
    match script {
        Script::Oversized(n) => {
            let mut body = clip.to_vec();
            body.resize(n.max(clip.len()), 0);
            Reply::ok(body).header("Content-Type", "video/mp4")
        }
        _ => Reply::ok(clip).header("Content-Type", "video/mp4"),
    }
}
