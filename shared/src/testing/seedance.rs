//! A loopback stand-in for Seedance 2.0 on BytePlus ModelArk (`providers.md`, the update block) on a
//! [`TestServer`]: tasks scripted one submission at a time, a real small MP4 as the output, counters.
//!
//! ```ignore
//! let stub = SeedanceStub::start().await;
//! stub.script(Script::RateLimited);              // the first submit gets a 429, the next one runs
//! stub.script(Script::Succeed { polls: 2 });     // queued, running, then succeeded
//! let seedance = SeedanceVideo::new(&stub.config(), Duration::from_secs(5))?;
//! ```
//!
//! | route (under `/api/v3`) | answer |
//! |---|---|
//! | `POST /contents/generations/tasks` | `{"id": "cgt-…"}`, the script's error, or 400 `InvalidParameter` for a body ModelArk would refuse (not JSON, no model or text, no image or more than 9, reference images mixed with frames, a duration outside 4–15, an unknown ratio or resolution, `generate_audio` not a bool) |
//! | `GET /contents/generations/tasks/{id}` | `{id, model, status, content?:{video_url}, error?:{code, message}, …}`; 404 `ResourceNotFound` for an unknown id |
//! | `DELETE /contents/generations/tasks/{id}` | queued: 200 `{}` and the task `cancelled`; running or cancelled: 400 `OperationDenied.InvalidTaskStatus`; ended otherwise: 200 and the task's record deleted (later `GET`s are 404) |
//! | `GET /outputs/{id}.mp4?X-Tos-Signature=…` | the clip (no key needed) |
//!
//! Every `/api/v3/` call needs `Authorization: Bearer` [`KEY`], else a 401 `AuthenticationError`.
//! Each `GET` of a succeeded task issues a fresh signed output URL. A submission takes the next
//! queued [`Script`], or the default one ([`SeedanceStub::always`]; `Succeed { polls: 2 }` at first).
//! Bodies over the test server's recording cap (1 MiB) are accepted unchecked.

use super::{RecordedRequest, Reply, TestServer};
use crate::Usd;
use crate::config::{ApiConfig, Secret};
use bytes::Bytes;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The API key the stub accepts.
pub const KEY: &str = "ark-test-key-0123456789";
/// The price per second [`SeedanceStub::config`] sets.
pub const USD_PER_SECOND: f64 = 0.10;
const PREFIX: &str = "/api/v3";

/// What one submission does.
#[derive(Debug, Clone, PartialEq)]
pub enum Script {
    /// `queued` on the first of `polls` polls, `running` on the rest, then `succeeded`.
    Succeed { polls: u32 },
    /// `queued` for `polls` polls, `running` once, then `succeeded`.
    Queued { polls: u32 },
    /// The submit gets a 429 `RateLimitExceeded` with `Retry-After: 2` and makes no task.
    RateLimited,
    /// The submit gets a 429 `ServerOverloaded` without a hint and makes no task.
    Overloaded,
    /// The submit gets a 429 `QuotaExceeded` and makes no task.
    QuotaExceeded,
    /// The submit gets a 403 `AccountOverdueError` and makes no task.
    Overdue,
    /// The submit gets a 400 `InputImageSensitiveContentDetected` and makes no task.
    SensitiveInput,
    /// The submit gets a 500 and makes no task.
    ServerError,
    /// `running` once, then `failed` with `OutputVideoSensitiveContentDetected`.
    SensitiveOutput,
    /// `failed` with this `error.code` (`InternalServiceError`, `InputTextSensitiveContentDetected`).
    Fail(&'static str),
    /// `expired` (it timed out in the queue).
    Expires,
    /// `succeeded` with no `content.video_url`.
    NoOutput,
    /// Every poll answers JSON cut short.
    MalformedPoll,
    /// `succeeded` at once; each output URL answers 403 once downloaded `downloads` times or once
    /// `after` has passed since it was issued (the next `GET` of the task issues a fresh one).
    Expiring { downloads: u32, after: Option<Duration> },
    /// `succeeded` at once, and the output is the clip padded with zeros to this many bytes.
    Oversized(usize),
    /// `queued` for ever (until a `DELETE` cancels it).
    NeverStarts,
    /// `running` for ever (a `DELETE` is refused).
    NeverFinishes,
    /// `running` until this long after the submission, then `succeeded` (a job that takes time).
    Timed(Duration),
}

struct Token {
    value: String,
    issued: Instant,
    downloads: u32,
}

struct Task {
    born: Instant,
    script: Script,
    polls: u32,
    cancelled: bool,
    tokens: Vec<Token>,
}

struct State {
    queue: VecDeque<Script>,
    default: Script,
    tasks: HashMap<String, Task>,
    bodies: Vec<Value>,
    submissions: usize,
    polls: usize,
    cancels: usize,
    downloads: usize,
    clip: Bytes,
    base: String,
}

/// The stub server; it stops when dropped.
pub struct SeedanceStub {
    server: TestServer,
    state: Arc<Mutex<State>>,
}

impl SeedanceStub {
    /// Starts on 127.0.0.1 serving [`super::runway::test_clip`] as every output.
    pub async fn start() -> Self {
        let clip = tokio::task::spawn_blocking(super::runway::test_clip).await.expect("making the test clip");
        let server = TestServer::start().await;
        let state = Arc::new(Mutex::new(State {
            queue: VecDeque::new(),
            default: Script::Succeed { polls: 2 },
            tasks: HashMap::new(),
            bodies: Vec::new(),
            submissions: 0,
            polls: 0,
            cancels: 0,
            downloads: 0,
            clip,
            base: server.url(""),
        }));
        let submits = state.clone();
        server.handle(&format!("{PREFIX}/contents/generations/tasks"), move |r| {
            authorised(r).unwrap_or_else(|| submit(&submits, r))
        });
        let tasks = state.clone();
        server.handle_prefix(&format!("{PREFIX}/contents/generations/tasks/"), move |r| {
            authorised(r).unwrap_or_else(|| task(&tasks, r))
        });
        server.handle_prefix(&format!("{PREFIX}/"), |r| {
            authorised(r).unwrap_or_else(|| error(404, "ResourceNotFound", "The specified resource is not found"))
        });
        let outputs = state.clone();
        server.handle_prefix("/outputs/", move |r| output(&outputs, r));
        Self { server, state }
    }

    /// `http://127.0.0.1:<port>/api/v3`: the base URL.
    pub fn base_url(&self) -> String {
        self.server.url(PREFIX)
    }

    /// A configuration for this stub: its URL and key, the default model, a price of
    /// [`USD_PER_SECOND`], private network allowed (the stub is on loopback), polls 10 ms apart.
    pub fn config(&self) -> ApiConfig {
        let mut config = crate::config::Config::default().video.seedance;
        config.base_url = self.base_url();
        config.api_key = Some(Secret::new(KEY));
        config.usd_per_second = Some(Usd::from_dollars(USD_PER_SECOND));
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

    /// Task `GET`s that passed the key check, all tasks together.
    pub fn polls(&self) -> usize {
        self.lock().polls
    }

    /// `GET`s of task `id` that passed the key check (0 once its record is deleted).
    pub fn polls_of(&self, id: &str) -> u32 {
        self.lock().tasks.get(id).map_or(0, |t| t.polls)
    }

    /// `DELETE` requests that passed the key check.
    pub fn cancels(&self) -> usize {
        self.lock().cancels
    }

    /// Output requests (answered or refused).
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

fn error(status: u16, code: &str, message: &str) -> Reply {
    let body = json!({ "error": { "code": code, "message": message, "param": "", "type": "" } });
    Reply::status(status).header("Content-Type", "application/json").body(body.to_string())
}

fn json_reply(body: &Value) -> Reply {
    Reply::ok(body.to_string()).header("Content-Type", "application/json")
}

/// A 401 unless the request carries the key.
fn authorised(r: &RecordedRequest) -> Option<Reply> {
    (r.header("authorization") != Some(format!("Bearer {KEY}").as_str())).then(|| {
        error(401, "AuthenticationError", "The API key in the request is missing or invalid. Request id: 0217")
    })
}

fn token(n: usize) -> String {
    (0..n).map(|_| fastrand::alphanumeric().to_ascii_lowercase()).collect()
}

/// Why ModelArk would refuse this body, if it would.
fn refusal(body: &Value) -> Option<String> {
    if body["model"].as_str().is_none_or(str::is_empty) {
        return Some("model is required".into());
    }
    let content = body["content"].as_array()?;
    if !content.iter().any(|c| c["type"] == "text" && c["text"].is_string()) {
        return Some("content: a text item is required".into());
    }
    let images: Vec<&Value> = content.iter().filter(|c| c["type"] == "image_url").collect();
    let roles: Vec<&str> = images.iter().map(|c| c["role"].as_str().unwrap_or("first_frame")).collect();
    if images.is_empty() || images.len() > 9 {
        return Some(format!("content: 1 to 9 images, not {}", images.len()));
    }
    if images.iter().any(|c| !c["image_url"]["url"].as_str().is_some_and(|u| u.starts_with("data:image/"))) {
        return Some("content: image_url.url must be an image data URI here".into());
    }
    let references = roles.iter().filter(|r| **r == "reference_image").count();
    if references > 0 && references < roles.len() {
        return Some("content: reference images cannot be mixed with first or last frames".into());
    }
    if references == 0 && (roles.iter().filter(|r| **r == "first_frame").count() != 1 || roles.len() > 2) {
        return Some("content: one first_frame (and at most one last_frame)".into());
    }
    if !body["duration"].as_u64().is_some_and(|d| (4..=15).contains(&d)) {
        return Some("duration must be an integer from 4 to 15".into());
    }
    if !["21:9", "16:9", "4:3", "1:1", "3:4", "9:16", "adaptive"].contains(&body["ratio"].as_str().unwrap_or("")) {
        return Some("ratio is not supported".into());
    }
    if !["480p", "720p", "1080p"].contains(&body["resolution"].as_str().unwrap_or("720p")) {
        return Some("resolution is not supported".into());
    }
    if !body.get("generate_audio").is_none_or(Value::is_boolean) {
        return Some("generate_audio must be a boolean".into());
    }
    None
}

fn submit(state: &Mutex<State>, r: &RecordedRequest) -> Reply {
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    if r.method != "POST" {
        return error(405, "MethodNotAllowed", "Method not allowed");
    }
    s.submissions += 1;
    if (r.body.len() as u64) < super::http_server::MAX_RECORDED_BODY {
        let Ok(body) = serde_json::from_slice::<Value>(&r.body) else {
            return error(400, "InvalidParameter", "The request body is not valid JSON");
        };
        let why = refusal(&body);
        s.bodies.push(body);
        if let Some(why) = why {
            return error(400, "InvalidParameter", &format!("The parameter is invalid: {why}"));
        }
    }
    let script = s.queue.pop_front().unwrap_or_else(|| s.default.clone());
    match script {
        Script::RateLimited => {
            return error(429, "RateLimitExceeded.EndpointRPMExceeded", "Too many requests").header("Retry-After", "2");
        }
        Script::Overloaded => return error(429, "ServerOverloaded", "The service is overloaded, try again later"),
        Script::QuotaExceeded => {
            return error(429, "QuotaExceeded", "Your account has used up its quota for this model");
        }
        Script::Overdue => return error(403, "AccountOverdueError", "Your account has an overdue balance"),
        Script::SensitiveInput => {
            return error(400, "InputImageSensitiveContentDetected", "The input image may contain sensitive content");
        }
        Script::ServerError => return error(500, "InternalServiceError", "The service encountered an error"),
        _ => {}
    }
    let id = format!("cgt-{}-{}", std::time::UNIX_EPOCH.elapsed().unwrap_or_default().as_secs(), token(5));
    s.tasks.insert(id.clone(), Task { born: Instant::now(), script, polls: 0, cancelled: false, tokens: Vec::new() });
    json_reply(&json!({ "id": id }))
}

/// The status of a task after `polls` polls.
fn status_of(task: &Task) -> &'static str {
    if task.cancelled {
        return "cancelled";
    }
    let n = task.polls;
    match task.script {
        Script::Succeed { polls } if polls > 0 && n <= polls => {
            if n <= 1 {
                "queued"
            } else {
                "running"
            }
        }
        Script::Queued { polls } if n <= polls => "queued",
        Script::Queued { polls } if n == polls + 1 => "running",
        Script::SensitiveOutput if n <= 1 => "running",
        Script::SensitiveOutput | Script::Fail(_) => "failed",
        Script::Expires => "expired",
        Script::NeverStarts => "queued",
        Script::NeverFinishes => "running",
        Script::Timed(takes) if task.born.elapsed() < takes => "running",
        _ => "succeeded",
    }
}

fn task(state: &Mutex<State>, r: &RecordedRequest) -> Reply {
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    let id = r.path().trim_start_matches(&format!("{PREFIX}/contents/generations/tasks/")).to_string();
    match r.method.as_str() {
        "DELETE" => s.cancels += 1,
        "GET" => s.polls += 1,
        _ => return error(405, "MethodNotAllowed", "Method not allowed"),
    }
    let base = s.base.clone();
    let not_found = || error(404, "ResourceNotFound", "The specified task is not found");
    let Some(task) = s.tasks.get_mut(&id) else { return not_found() };
    if r.method == "DELETE" {
        return match status_of(task) {
            "queued" => {
                task.cancelled = true;
                json_reply(&json!({}))
            }
            "running" | "cancelled" => error(
                400,
                "OperationDenied.InvalidTaskStatus",
                "Only a queued task can be cancelled; a running task cannot be cancelled or deleted",
            ),
            _ => {
                s.tasks.remove(&id);
                json_reply(&json!({}))
            }
        };
    }
    task.polls += 1;
    if task.script == Script::MalformedPoll {
        return json_reply_text(format!("{{\"id\":\"{id}\",\"status\":\"runn"));
    }
    let status = status_of(task);
    let mut body = json!({
        "id": id, "model": "dreamina-seedance-2-0-260128", "status": status,
        "created_at": 1_767_000_000, "updated_at": 1_767_000_060,
    });
    match status {
        "succeeded" if task.script != Script::NoOutput => {
            let value = token(32);
            task.tokens.push(Token { value: value.clone(), issued: Instant::now(), downloads: 0 });
            body["content"] = json!({ "video_url": format!("{base}/outputs/{id}.mp4?X-Tos-Signature={value}") });
            body["usage"] = json!({ "completion_tokens": 108_900, "total_tokens": 108_900 });
            body["seed"] = json!(42);
        }
        "succeeded" => body["content"] = json!({}),
        "failed" => {
            let code = match task.script {
                Script::Fail(code) => code,
                _ => "OutputVideoSensitiveContentDetected",
            };
            let message = if code.contains("Sensitive") {
                "The request failed because the output video may contain sensitive information."
            } else {
                "The service encountered an unexpected internal error."
            };
            body["error"] = json!({ "code": code, "message": message });
        }
        _ => {}
    }
    json_reply(&body)
}

fn json_reply_text(text: String) -> Reply {
    Reply::ok(text).header("Content-Type", "application/json")
}

fn output(state: &Mutex<State>, r: &RecordedRequest) -> Reply {
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    s.downloads += 1;
    let denied = || {
        Reply::status(403).header("Content-Type", "application/xml").body("<Error><Code>AccessDenied</Code></Error>")
    };
    let id = r.path().trim_start_matches("/outputs/").trim_end_matches(".mp4").to_string();
    let value = r.target.split_once("?X-Tos-Signature=").map(|(_, t)| t.to_string()).unwrap_or_default();
    let clip = s.clip.clone();
    let Some(task) = s.tasks.get_mut(&id) else { return denied() };
    let script = task.script.clone();
    let Some(token) = task.tokens.iter_mut().find(|t| t.value == value) else { return denied() };
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
