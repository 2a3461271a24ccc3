//! A loopback stand-in for Runway's API (`providers.md` §1.1) on a [`TestServer`]: tasks scripted one
//! submission at a time, a real small MP4 as the output, and counters.
//!
//! ```ignore
//! let stub = RunwayStub::start().await;
//! stub.script(Script::RateLimited);              // the first submit gets a 429, the next one runs
//! stub.script(Script::Succeed { polls: 2 });     // PENDING, RUNNING, then SUCCEEDED
//! let runway = RunwayVideo::new(&stub.config(), Duration::from_secs(5))?;
//! assert_eq!(stub.submissions(), 2);
//! ```
//!
//! | route | answer |
//! |---|---|
//! | `POST /v1/image_to_video`, `POST /v1/recipes/product_ad` | `{"id": uuid}`, or the script's 429/500; 400 for a body that is not JSON |
//! | `GET /v1/tasks/{id}` | `{id, createdAt, status, progress?, output?: [url], failure?, failureCode?}`; 404 for an unknown id |
//! | `DELETE /v1/tasks/{id}` | 204 and the task `CANCELLED`; 404 when it had already ended (it stays readable) |
//! | `GET /outputs/{id}.mp4?_jwt=…` | the clip (no key needed; a request carrying `Authorization` gets a 400, as a signed link does) |
//!
//! Every `/v1/` call needs `Authorization: Bearer` [`KEY`] and `X-Runway-Version: 2024-11-06`, else a 401.
//! Each `GET` of a finished task issues a fresh output URL (a new `_jwt`). A submission takes the next
//! queued [`Script`], or the default one ([`RunwayStub::always`]; `Succeed { polls: 2 }` at first).
//! Bodies over the test server's recording cap (1 MiB) are accepted unchecked.

use super::{RecordedRequest, Reply, TestServer};
use crate::config::{RunwayConfig, Secret};
use bytes::Bytes;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The API key the stub accepts.
pub const KEY: &str = "rw-test-key-0123456789";
const VERSION: &str = "2024-11-06";

/// What one submission does.
#[derive(Debug, Clone, PartialEq)]
pub enum Script {
    /// `PENDING` on the first of `polls` polls, `RUNNING` on the rest, then `SUCCEEDED` with an output.
    Succeed { polls: u32 },
    /// `THROTTLED` for `polls` polls, `RUNNING` once, then `SUCCEEDED`.
    Throttled { polls: u32 },
    /// The submit gets a 429 rate limit (`Retry-After: 1`) and makes no task.
    RateLimited,
    /// The submit gets a 429 for the daily task limit and makes no task.
    DailyQuota,
    /// The submit gets a 500 and makes no task.
    ServerError,
    /// `FAILED` with this `failureCode` (`SAFETY.INPUT.IMAGE`, `SAFETY.OUTPUT.VIDEO`, `INTERNAL.BAD_OUTPUT.CODE01`).
    Fail(&'static str),
    /// Every poll answers JSON cut short.
    MalformedPoll,
    /// `SUCCEEDED` at once; each output URL answers 403 once downloaded `downloads` times or once
    /// `after` has passed since it was issued (the next `GET` of the task issues a fresh one).
    Expiring { downloads: u32, after: Option<Duration> },
    /// `SUCCEEDED` at once, and the output is text, not a video.
    NotVideo,
    /// `SUCCEEDED` at once, and the output is the clip padded with zeros to this many bytes.
    Oversized(usize),
    /// `RUNNING` for ever (until a `DELETE` cancels it).
    NeverFinishes,
    /// `RUNNING` until this long after the submission, then `SUCCEEDED` (a job that takes time).
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
    created: String,
    /// The submission's body, when the stub animates the photo it carries (see [`RunwayStub::animating`]).
    sent: Option<Value>,
    /// This task's own output once made (on its first download).
    clip: Option<Bytes>,
}

struct State {
    queue: VecDeque<Script>,
    default: Script,
    tasks: HashMap<String, Task>,
    bodies: Vec<Value>,
    keep_bodies: bool,
    submissions: usize,
    max_running: usize,
    cancels: usize,
    downloads: usize,
    clip: Bytes,
    /// Each task's output is its own photo animated (see [`RunwayStub::animating`]).
    animate: bool,
    base: String,
}

/// The stub server; it stops when dropped.
pub struct RunwayStub {
    server: TestServer,
    state: Arc<Mutex<State>>,
}

impl RunwayStub {
    /// Starts on 127.0.0.1 serving the clip made by [`test_clip`].
    pub async fn start() -> Self {
        let clip = tokio::task::spawn_blocking(test_clip).await.expect("making the test clip");
        Self::with_clip(clip).await
    }

    /// Starts a stub whose tasks each output a clip of the photo they were sent (a slow push-in
    /// over `promptImage`, or the first of `productImages`, rendered with ffmpeg at the task's first
    /// download), as a faithful model would; a photo sent by URL gets [`test_clip`].
    pub async fn animating() -> Self {
        let stub = Self::start().await;
        stub.lock().animate = true;
        stub
    }

    /// The clip task `id`'s output serves.
    pub fn output_of(&self, id: &str) -> Bytes {
        let s = self.lock();
        s.tasks.get(id).and_then(|t| t.clip.clone()).unwrap_or_else(|| s.clip.clone())
    }

    /// Starts serving `clip` as every task's output.
    pub async fn with_clip(clip: Bytes) -> Self {
        let server = TestServer::start().await;
        let state = Arc::new(Mutex::new(State {
            queue: VecDeque::new(),
            default: Script::Succeed { polls: 2 },
            tasks: HashMap::new(),
            bodies: Vec::new(),
            keep_bodies: true,
            submissions: 0,
            max_running: 0,
            cancels: 0,
            downloads: 0,
            clip,
            animate: false,
            base: server.url(""),
        }));
        for path in ["/v1/image_to_video", "/v1/recipes/product_ad"] {
            let state = state.clone();
            server.handle(path, move |r| authorised(r).unwrap_or_else(|| submit(&state, r)));
        }
        let tasks = state.clone();
        server.handle_prefix("/v1/tasks/", move |r| authorised(r).unwrap_or_else(|| task(&tasks, r)));
        server.handle_prefix("/v1/", |r| authorised(r).unwrap_or_else(|| error(404, "Not found")));
        let outputs = state.clone();
        server.handle_prefix("/outputs/", move |r| output(&outputs, r));
        Self { server, state }
    }

    /// `http://127.0.0.1:<port>`: the base URL.
    pub fn base_url(&self) -> String {
        self.server.url("")
    }

    /// A Runway configuration for this stub: its URL and key, `gen4_turbo`, private network allowed
    /// (the stub is on loopback), polls 10 ms apart.
    pub fn config(&self) -> RunwayConfig {
        let mut config = crate::config::Config::default().video.runway;
        config.base_url = self.base_url();
        config.api_key = Some(Secret::new(KEY));
        config.model = "gen4_turbo".into();
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

    /// Stops (or starts again) keeping requests and submission bodies, which a benchmark's
    /// thousands of jobs would pile up in this process; the counters go on.
    pub fn keep_records(&self, on: bool) {
        self.server.keep_requests(on);
        self.lock().keep_bodies = on;
    }

    /// The JSON bodies of the submissions, in order (those within the recording cap).
    pub fn bodies(&self) -> Vec<Value> {
        self.lock().bodies.clone()
    }

    /// `GET`s of task `id` that passed the key check.
    pub fn polls(&self, id: &str) -> u32 {
        self.lock().tasks.get(id).map_or(0, |t| t.polls)
    }

    /// The most tasks that were running at once (submitted, not yet ended), as of each submission.
    pub fn max_running(&self) -> usize {
        self.lock().max_running
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

/// A 5 s 720x1280 24 fps H.264 MP4 of ffmpeg's test pattern, made once per process (ffmpeg must be
/// on `PATH`).
pub fn test_clip() -> Bytes {
    static CLIP: OnceLock<Bytes> = OnceLock::new();
    CLIP.get_or_init(|| {
        clip(&["-f", "lavfi", "-i", "testsrc=size=720x1280:rate=24"], None, 5 * 24)
            .expect("ffmpeg makes the Runway stub's test clip")
    })
    .clone()
}

/// A 720x1280 24 fps H.264 clip of `frames` frames from ffmpeg's `input` arguments through `filter`.
fn clip(input: &[&str], filter: Option<&str>, frames: u64) -> Option<Bytes> {
    let dir = tempfile::tempdir().ok()?;
    let path = dir.path().join("clip.mp4");
    let mut c = std::process::Command::new("ffmpeg");
    c.args(["-nostdin", "-loglevel", "error", "-y"]).args(input);
    if let Some(f) = filter {
        c.args(["-vf", f]);
    }
    c.args(["-frames:v", &frames.to_string(), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]);
    c.arg(&path).status().ok()?.success().then(|| std::fs::read(&path).ok().map(Bytes::from)).flatten()
}

fn error(status: u16, message: &str) -> Reply {
    json_reply(status, &json!({ "error": message }))
}

fn json_reply(status: u16, body: &Value) -> Reply {
    Reply::status(status).header("Content-Type", "application/json").body(body.to_string())
}

/// A 401 unless the request carries the key and the version.
fn authorised(r: &RecordedRequest) -> Option<Reply> {
    if r.header("authorization") != Some(format!("Bearer {KEY}").as_str()) {
        return Some(error(401, "Invalid API key"));
    }
    if r.header("x-runway-version") != Some(VERSION) {
        return Some(error(401, "X-Runway-Version header is missing or not a supported version"));
    }
    None
}

fn uuid() -> String {
    let hex = |n: usize| (0..n).map(|_| char::from_digit(fastrand::u32(0..16), 16).unwrap()).collect::<String>();
    format!("{}-{}-4{}-a{}-{}", hex(8), hex(4), hex(3), hex(3), hex(12))
}

/// A clip of the photo a submission carries inline, `duration` seconds long (none when it carries
/// none or it does not decode).
fn animate(body: &Value) -> Option<Bytes> {
    use base64::Engine;
    let uri = body["promptImage"].as_str().or_else(|| body["productImages"].get(0)?.as_str())?;
    let data = uri.strip_prefix("data:")?.split_once(";base64,")?.1;
    let photo = base64::engine::general_purpose::STANDARD.decode(data).ok()?;
    let frames = body["duration"].as_u64().unwrap_or(5).clamp(1, 20) * 24;
    let dir = tempfile::tempdir().ok()?;
    let input = dir.path().join("photo");
    std::fs::write(&input, photo).ok()?;
    // Zoomed on a canvas twice the output's size: zoompan cuts whole canvas pixels, so the picture
    // moves in half-pixel steps, smooth as a provider's clip (at 1x it steps a whole pixel at a time,
    // a jitter the judge rightly calls warping).
    let filter = format!(
        "scale=1440:2560:force_original_aspect_ratio=increase,crop=1440:2560,\
         zoompan=z='1+0.1*on/{frames}':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':d={frames}:s=720x1280:fps=24"
    );
    clip(&["-i", input.to_str()?], Some(&filter), frames)
}

fn submit(state: &Mutex<State>, r: &RecordedRequest) -> Reply {
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    let sent = if s.animate { serde_json::from_slice::<Value>(&r.body).ok() } else { None };
    if r.method != "POST" {
        return error(405, "Method not allowed");
    }
    s.submissions += 1;
    let complete = (r.body.len() as u64) < super::http_server::MAX_RECORDED_BODY;
    if complete {
        match serde_json::from_slice::<Value>(&r.body) {
            Ok(body) if s.keep_bodies => s.bodies.push(body),
            Ok(_) => {}
            Err(_) => return error(400, "Body is not valid JSON"),
        }
    }
    let script = s.queue.pop_front().unwrap_or_else(|| s.default.clone());
    match script {
        Script::RateLimited => {
            return error(429, "Too many requests, please slow down").header("Retry-After", "1");
        }
        Script::DailyQuota => return error(429, "You have exceeded your daily task limit"),
        Script::ServerError => return error(500, "Internal server error"),
        _ => {}
    }
    let id = uuid();
    let created = httpdate::fmt_http_date(std::time::SystemTime::now());
    // The account's concurrency as the provider would see it: tasks submitted and not yet ended.
    let running = s.tasks.values().filter(|t| !TERMINAL.contains(&status_of(t))).count() + 1;
    s.max_running = s.max_running.max(running);
    let task = Task {
        born: Instant::now(),
        script,
        polls: 0,
        cancelled: false,
        tokens: Vec::new(),
        created,
        sent,
        clip: None,
    };
    s.tasks.insert(id.clone(), task);
    json_reply(200, &json!({ "id": id }))
}

const TERMINAL: &[&str] = &["SUCCEEDED", "FAILED", "CANCELLED"];

/// The status of a task after `polls` polls.
fn status_of(task: &Task) -> &'static str {
    if task.cancelled {
        return "CANCELLED";
    }
    let n = task.polls;
    match task.script {
        Script::Succeed { polls } if n <= polls => {
            if n <= 1 {
                "PENDING"
            } else {
                "RUNNING"
            }
        }
        Script::Throttled { polls } if n <= polls => "THROTTLED",
        Script::Throttled { polls } if n == polls + 1 => "RUNNING",
        Script::Fail(_) => "FAILED",
        Script::NeverFinishes => "RUNNING",
        Script::Timed(takes) if task.born.elapsed() < takes => "RUNNING",
        _ => "SUCCEEDED",
    }
}

fn task(state: &Mutex<State>, r: &RecordedRequest) -> Reply {
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    let id = r.path().trim_start_matches("/v1/tasks/").to_string();
    if r.method == "DELETE" {
        s.cancels += 1;
    }
    let base = s.base.clone();
    let Some(task) = s.tasks.get_mut(&id) else { return error(404, "Task not found") };
    match r.method.as_str() {
        "DELETE" => {
            if TERMINAL.contains(&status_of(task)) {
                return error(404, "Task not found or already finished");
            }
            task.cancelled = true;
            Reply::status(204)
        }
        "GET" => {
            task.polls += 1;
            if task.script == Script::MalformedPoll {
                return Reply::ok(format!("{{\"id\":\"{id}\",\"status\":\"RUN"))
                    .header("Content-Type", "application/json");
            }
            let status = status_of(task);
            let mut body = json!({ "id": id, "createdAt": task.created, "status": status });
            match status {
                "RUNNING" => body["progress"] = json!(0.5),
                "SUCCEEDED" => {
                    let token = uuid().replace('-', "");
                    task.tokens.push(Token { value: token.clone(), issued: Instant::now(), downloads: 0 });
                    body["output"] = json!([format!("{base}/outputs/{id}.mp4?_jwt={token}")]);
                }
                "FAILED" => {
                    let code = match task.script {
                        Script::Fail(code) => code,
                        _ => "INTERNAL",
                    };
                    body["failureCode"] = json!(code);
                    body["failure"] = json!(if code.starts_with("SAFETY") {
                        "The content did not pass moderation."
                    } else {
                        "The task failed."
                    });
                }
                _ => {}
            }
            json_reply(200, &body)
        }
        _ => error(405, "Method not allowed"),
    }
}

fn output(state: &Mutex<State>, r: &RecordedRequest) -> Reply {
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    s.downloads += 1;
    let denied =
        || Reply::status(403).header("Content-Type", "text/xml").body("<Error><Code>AccessDenied</Code></Error>");
    if r.header("authorization").is_some() {
        return Reply::status(400).body("Only one auth mechanism allowed");
    }
    let id = r.path().trim_start_matches("/outputs/").trim_end_matches(".mp4").to_string();
    let token = r.target.split_once("?_jwt=").map(|(_, t)| t.to_string()).unwrap_or_default();
    let fixed = s.clip.clone();
    let Some(task) = s.tasks.get_mut(&id) else { return denied() };
    let script = task.script.clone();
    let Some(token) = task.tokens.iter_mut().find(|t| t.value == token) else { return denied() };
    if let Script::Expiring { downloads, after } = script {
        let too_old = after.is_some_and(|after| token.issued.elapsed() >= after);
        if token.downloads >= downloads || too_old {
            return denied();
        }
    }
    token.downloads += 1;
    // An animated task's clip is made at its first download, outside the lock (a download meanwhile
    // makes it too; the first one made is kept).
    let clip = match (task.clip.clone(), task.sent.clone()) {
        (Some(clip), _) => clip,
        (None, None) => fixed,
        (None, Some(body)) => {
            drop(s);
            let made = animate(&body).unwrap_or(fixed);
            let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
            let task = s.tasks.get_mut(&id).expect("tasks are never removed");
            task.sent = None;
            task.clip.get_or_insert(made).clone()
        }
    };
    match script {
        Script::NotVideo => Reply::ok("this is not a video, just some text\n").header("Content-Type", "text/plain"),
        Script::Oversized(n) => {
            let mut body = clip.to_vec();
            body.resize(n.max(clip.len()), 0);
            Reply::ok(body).header("Content-Type", "video/mp4")
        }
        _ => Reply::ok(clip).header("Content-Type", "video/mp4"),
    }
}
