//! A loopback stand-in for Kling's API (`providers.md` §1.3) on a [`TestServer`]: JWTs checked as
//! Kling checks them, tasks scripted one submission at a time, a real small MP4 as the output, and
//! counters.
//!
//! ```ignore
//! let stub = KlingStub::start().await;
//! stub.script(Script::Depleted);                 // the first submit gets a 429 code 1102
//! stub.script(Script::Succeed { polls: 2 });     // submitted, processing, then succeed
//! let kling = KlingVideo::new(&stub.config(), Duration::from_secs(5))?;
//! ```
//!
//! | route | answer |
//! |---|---|
//! | `POST /v1/videos/image2video`, `POST /v1/videos/multi-image2video` | envelope with `data.task_id`, or the script's error; 400 code 1201 for a body that is not JSON or a photo Kling would refuse |
//! | `GET /v1/videos/{endpoint}/{id}` | envelope with the task; 404 code 1203 for an id not made by that endpoint |
//! | `GET /outputs/{id}.mp4?sig=…` | the clip (no token needed) |
//!
//! Every `/v1/` call needs `Authorization: Bearer <jwt>`: HS256 signed with [`SECRET_KEY`], `iss`
//! [`ACCESS_KEY`], `nbf` passed and `exp` not. A missing header is a 401 code 1001, a bad signature,
//! issuer or shape 1002, `nbf` ahead 1003, `exp` passed 1004 (as is any token while
//! [`KlingStub::expire_next`] lasts). Each poll of a finished task issues a fresh output URL.
//! Bodies over the test server's recording cap (1 MiB) are accepted unchecked.

use super::{RecordedRequest, Reply, TestServer};
use crate::config::{KlingConfig, Secret};
use base64::Engine as _;
use bytes::Bytes;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The access key the stub accepts (the JWT's `iss`).
pub const ACCESS_KEY: &str = "kling-test-access-0123456789";
/// The secret key the stub checks signatures with.
pub const SECRET_KEY: &str = "kling-test-secret-abcdefghij";

/// What one submission does.
#[derive(Debug, Clone, PartialEq)]
pub enum Script {
    /// `submitted` on the first poll, `processing` on the rest of `polls`, then `succeed`.
    Succeed { polls: u32 },
    /// `submitted` (queued behind the account's concurrency) for `polls` polls, `processing` once, then `succeed`.
    Queued { polls: u32 },
    /// The submit gets a 429 code 1302, with `Retry-After: hint` when given, and makes no task.
    RateLimited { hint: Option<u64> },
    /// The submit gets a 429 code 1303 (concurrency) and makes no task.
    Concurrency,
    /// The submit gets a 429 code 1102 (resource pack depleted) and makes no task.
    Depleted,
    /// The submit gets a 400 code 1301 (content policy) and makes no task.
    Moderated,
    /// The submit gets a 500 code 5000 and makes no task.
    ServerError,
    /// `failed` at once with this `task_status_msg`.
    Fail(&'static str),
    /// `succeed` at once with no video.
    SucceedWithoutVideo,
    /// Every poll answers JSON cut short.
    MalformedPoll,
    /// `succeed` at once; each output URL answers 403 once downloaded `downloads` times or once
    /// `after` has passed since it was issued (the next poll issues a fresh one).
    Expiring { downloads: u32, after: Option<Duration> },
    /// `succeed` at once, and the output is the clip padded with zeros to this many bytes.
    Oversized(usize),
    /// `processing` for ever (Kling has no cancel).
    NeverFinishes,
    /// `processing` until this long after the submission, then `succeed`.
    Timed(Duration),
}

struct Link {
    value: String,
    issued: Instant,
    downloads: u32,
}

struct Task {
    born: Instant,
    endpoint: &'static str,
    script: Script,
    polls: u32,
    links: Vec<Link>,
}

struct State {
    queue: VecDeque<Script>,
    default: Script,
    tasks: HashMap<String, Task>,
    bodies: Vec<Value>,
    keep_bodies: bool,
    submissions: usize,
    downloads: usize,
    tokens: Vec<String>,
    expire_next: u32,
    clip: Bytes,
    base: String,
}

/// The stub server; it stops when dropped.
pub struct KlingStub {
    server: TestServer,
    state: Arc<Mutex<State>>,
}

const ENDPOINTS: &[&str] = &["image2video", "multi-image2video"];

impl KlingStub {
    /// Starts on 127.0.0.1 serving [`super::runway::test_clip`] as every output.
    pub async fn start() -> Self {
        let clip = tokio::task::spawn_blocking(super::runway::test_clip).await.expect("making the test clip");
        let server = TestServer::start().await;
        let state = Arc::new(Mutex::new(State {
            queue: VecDeque::new(),
            default: Script::Succeed { polls: 2 },
            tasks: HashMap::new(),
            bodies: Vec::new(),
            keep_bodies: true,
            submissions: 0,
            downloads: 0,
            tokens: Vec::new(),
            expire_next: 0,
            clip,
            base: server.url(""),
        }));
        for &endpoint in ENDPOINTS {
            let s = state.clone();
            server.handle(&format!("/v1/videos/{endpoint}"), move |r| {
                authorised(&s, r).unwrap_or_else(|| submit(&s, endpoint, r))
            });
            let s = state.clone();
            server.handle_prefix(&format!("/v1/videos/{endpoint}/"), move |r| {
                authorised(&s, r).unwrap_or_else(|| task(&s, endpoint, r))
            });
        }
        let s = state.clone();
        server.handle_prefix("/v1/", move |r| authorised(&s, r).unwrap_or_else(|| error(404, 1202, "not found")));
        let s = state.clone();
        server.handle_prefix("/outputs/", move |r| output(&s, r));
        Self { server, state }
    }

    /// `http://127.0.0.1:<port>`: the base URL.
    pub fn base_url(&self) -> String {
        self.server.url("")
    }

    /// A Kling configuration for this stub: its URL and keys, kling-v2-5-turbo in std mode, private
    /// network allowed (the stub is on loopback), polls 10 ms apart.
    pub fn config(&self) -> KlingConfig {
        let mut config = crate::config::Config::default().video.kling;
        config.api.base_url = self.base_url();
        config.api.model = "kling-v2-5-turbo".into();
        config.api.allow_private_network = true;
        config.api.poll_interval = Duration::from_millis(10);
        config.access_key = Some(Secret::new(ACCESS_KEY));
        config.secret_key = Some(Secret::new(SECRET_KEY));
        config.mode = "std".into();
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

    /// Answers the next `n` calls carrying a good token with 401 code 1004, as if it had expired.
    pub fn expire_next(&self, n: u32) {
        self.lock().expire_next = n;
    }

    /// The clip the outputs serve.
    pub fn clip(&self) -> Bytes {
        self.lock().clip.clone()
    }

    /// Submit requests that passed the token check (answered 2xx or not).
    pub fn submissions(&self) -> usize {
        self.lock().submissions
    }

    /// The JSON bodies of the submissions, in order (those within the recording cap).
    pub fn bodies(&self) -> Vec<Value> {
        self.lock().bodies.clone()
    }

    /// Polls of job `job` (a task id, or `multi:<task id>`) that passed the token check.
    pub fn polls(&self, job: &str) -> u32 {
        let id = job.strip_prefix("multi:").unwrap_or(job);
        self.lock().tasks.get(id).map_or(0, |t| t.polls)
    }

    /// Output requests (answered or refused).
    pub fn downloads(&self) -> usize {
        self.lock().downloads
    }

    /// Every bearer token that passed the signature check, in order of arrival.
    pub fn tokens(&self) -> Vec<String> {
        self.lock().tokens.clone()
    }

    /// Stops (or starts again) keeping requests and submission bodies, which a benchmark's
    /// thousands of jobs would pile up in this process; the counters go on.
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

/// Kling's envelope with `code`.
fn envelope(status: u16, code: i64, message: &str, data: Option<Value>) -> Reply {
    let mut body = json!({ "code": code, "message": message, "request_id": digits(24) });
    if let Some(data) = data {
        body["data"] = data;
    }
    Reply::status(status).header("Content-Type", "application/json").body(body.to_string())
}

fn error(status: u16, code: i64, message: &str) -> Reply {
    envelope(status, code, message, None)
}

fn digits(digits: usize) -> String {
    (0..digits).map(|_| char::from_digit(fastrand::u32(0..10), 10).unwrap()).collect()
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

/// A 401 unless the request carries a valid token, as Kling checks it.
fn authorised(state: &Mutex<State>, r: &RecordedRequest) -> Option<Reply> {
    let Some(token) = r.header("authorization").and_then(|a| a.strip_prefix("Bearer ")) else {
        return Some(error(401, 1001, "Authorization is empty"));
    };
    let invalid = || Some(error(401, 1002, "Authorization is invalid"));
    let Some(claims) = verify(token) else { return invalid() };
    if claims["iss"].as_str() != Some(ACCESS_KEY) {
        return invalid();
    }
    let (Some(exp), Some(nbf)) = (claims["exp"].as_u64(), claims["nbf"].as_u64()) else { return invalid() };
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    s.tokens.push(token.to_string());
    if nbf > now() {
        return Some(error(401, 1003, "Authorization is not yet valid"));
    }
    if exp <= now() {
        return Some(error(401, 1004, "Authorization has expired"));
    }
    if s.expire_next > 0 {
        s.expire_next -= 1;
        return Some(error(401, 1004, "Authorization has expired"));
    }
    None
}

/// The claims of an HS256 JWT signed with [`SECRET_KEY`].
fn verify(token: &str) -> Option<Value> {
    use aws_lc_rs::hmac;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut parts = token.split('.');
    let (header, claims, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let head: Value = serde_json::from_slice(&b64.decode(header).ok()?).ok()?;
    if head["alg"] != "HS256" {
        return None;
    }
    let key = hmac::Key::new(hmac::HMAC_SHA256, SECRET_KEY.as_bytes());
    hmac::verify(&key, format!("{header}.{claims}").as_bytes(), &b64.decode(signature).ok()?).ok()?;
    serde_json::from_slice(&b64.decode(claims).ok()?).ok()
}

/// Why Kling would refuse this photo (bare base64 of a JPEG or PNG, ≤ 10 MB, ≥ 300 px, 1:2.5–2.5:1).
fn photo_problem(image: &Value) -> Option<String> {
    let text = image.as_str()?;
    if text.starts_with("data:") {
        return Some("image must be raw base64 without a data: prefix".into());
    }
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(text) else {
        return Some("image is not base64".into());
    };
    if bytes.len() > 10_000_000 {
        return Some("image is over 10MB".into());
    }
    let reader = image::ImageReader::new(std::io::Cursor::new(&bytes)).with_guessed_format().ok()?;
    if !matches!(reader.format(), Some(image::ImageFormat::Jpeg | image::ImageFormat::Png)) {
        return Some("image must be jpg or png".into());
    }
    let Ok((w, h)) = reader.into_dimensions() else { return Some("image cannot be read".into()) };
    let aspect = w as f64 / h.max(1) as f64;
    if w.min(h) < 300 || !(0.4..=2.5).contains(&aspect) {
        return Some(format!("image is {w}x{h}: at least 300px, aspect 1:2.5 to 2.5:1"));
    }
    None
}

/// Why Kling would refuse this body, if it would.
fn body_problem(endpoint: &str, body: &Value) -> Option<String> {
    if !matches!(body["duration"].as_str(), Some("5" | "10")) || !matches!(body["mode"].as_str(), Some("std" | "pro")) {
        return Some("duration must be \"5\" or \"10\" and mode std or pro".into());
    }
    if endpoint == "image2video" {
        return body.get("image").map_or(Some("image is required".into()), photo_problem);
    }
    if body["model_name"] != "kling-v1-6" {
        return Some("multi-image2video takes kling-v1-6".into());
    }
    match body["image_list"].as_array() {
        Some(list) if (1..=4).contains(&list.len()) => list.iter().find_map(|i| photo_problem(&i["image"])),
        _ => Some("image_list takes 1 to 4 images".into()),
    }
}

fn submit(state: &Mutex<State>, endpoint: &'static str, r: &RecordedRequest) -> Reply {
    if r.method != "POST" {
        return error(405, 1202, "method not allowed");
    }
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    s.submissions += 1;
    if (r.body.len() as u64) < super::http_server::MAX_RECORDED_BODY {
        let Ok(body) = serde_json::from_slice::<Value>(&r.body) else { return error(400, 1201, "body is not JSON") };
        if s.keep_bodies {
            s.bodies.push(body.clone());
        }
        if let Some(problem) = body_problem(endpoint, &body) {
            return error(400, 1201, &problem);
        }
    }
    let script = s.queue.pop_front().unwrap_or_else(|| s.default.clone());
    match script {
        Script::RateLimited { hint } => {
            let reply = error(429, 1302, "The API request is too fast, please slow down");
            return match hint {
                Some(secs) => reply.header("Retry-After", secs.to_string()),
                None => reply,
            };
        }
        Script::Concurrency => return error(429, 1303, "Concurrency exceeds the resource pack limit"),
        Script::Depleted => return error(429, 1102, "Account balance or resource pack is depleted"),
        Script::Moderated => return error(400, 1301, "The content does not comply with the content security policy"),
        Script::ServerError => return error(500, 5000, "Server internal error"),
        _ => {}
    }
    let task_id = digits(18);
    s.tasks.insert(task_id.clone(), Task { born: Instant::now(), endpoint, script, polls: 0, links: Vec::new() });
    let ms = now() * 1000;
    envelope(
        200,
        0,
        "SUCCEED",
        Some(json!({ "task_id": task_id, "task_status": "submitted", "created_at": ms, "updated_at": ms })),
    )
}

/// A task's status after its polls so far.
fn status_of(task: &Task) -> &'static str {
    let n = task.polls;
    match task.script {
        Script::Succeed { polls } if n <= polls => {
            if n <= 1 {
                "submitted"
            } else {
                "processing"
            }
        }
        Script::Queued { polls } if n <= polls => "submitted",
        Script::Queued { polls } if n == polls + 1 => "processing",
        Script::Fail(_) => "failed",
        Script::NeverFinishes => "processing",
        Script::Timed(takes) if task.born.elapsed() < takes => "processing",
        _ => "succeed",
    }
}

fn task(state: &Mutex<State>, endpoint: &str, r: &RecordedRequest) -> Reply {
    if r.method != "GET" {
        return error(405, 1202, "method not allowed");
    }
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    let id = r.path().trim_start_matches(&format!("/v1/videos/{endpoint}/")).to_string();
    let base = s.base.clone();
    let Some(task) = s.tasks.get_mut(&id).filter(|t| t.endpoint == endpoint) else {
        return error(404, 1203, "task not found");
    };
    task.polls += 1;
    if task.script == Script::MalformedPoll {
        return Reply::ok(format!("{{\"code\":0,\"data\":{{\"task_id\":\"{id}\",\"task_sta"))
            .header("Content-Type", "application/json");
    }
    let status = status_of(task);
    let mut data =
        json!({ "task_id": id, "task_status": status, "task_status_msg": "", "created_at": 0, "updated_at": 0 });
    match (status, &task.script) {
        ("succeed", Script::SucceedWithoutVideo) => data["task_result"] = json!({ "videos": [] }),
        ("succeed", _) => {
            let sig = digits(32);
            task.links.push(Link { value: sig.clone(), issued: Instant::now(), downloads: 0 });
            let url = format!("{base}/outputs/{id}.mp4?sig={sig}");
            data["task_result"] = json!({ "videos": [{ "id": format!("v{id}"), "url": url, "duration": "5.1" }] });
            data["final_unit_deduction"] = json!("1");
        }
        ("failed", Script::Fail(message)) => data["task_status_msg"] = json!(message),
        _ => {}
    }
    envelope(200, 0, "SUCCEED", Some(data))
}

fn output(state: &Mutex<State>, r: &RecordedRequest) -> Reply {
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    s.downloads += 1;
    let denied =
        || Reply::status(403).header("Content-Type", "text/xml").body("<Error><Code>AccessDenied</Code></Error>");
    let id = r.path().trim_start_matches("/outputs/").trim_end_matches(".mp4").to_string();
    let sig = r.target.split_once("?sig=").map(|(_, t)| t.to_string()).unwrap_or_default();
    let clip = s.clip.clone();
    let Some(task) = s.tasks.get_mut(&id) else { return denied() };
    let script = task.script.clone();
    let Some(link) = task.links.iter_mut().find(|l| l.value == sig) else { return denied() };
    if let Script::Expiring { downloads, after } = script {
        let too_old = after.is_some_and(|after| link.issued.elapsed() >= after);
        if link.downloads >= downloads || too_old {
            return denied();
        }
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
