//! A loopback stand-in for Luma's Agents API (`providers.md` §1.2) on a [`TestServer`]: generations
//! scripted one submission at a time, a real small MP4 as the output, the keyframe URLs it was given,
//! and counters. It never fetches the keyframe URL (Luma would).
//!
//! ```ignore
//! let stub = LumaStub::start().await;
//! stub.script(Script::Quota);                    // the first submit gets a 429 about credits
//! stub.script(Script::Succeed { polls: 2 });     // queued, dreaming, then completed
//! let luma = LumaVideo::new(&stub.config(), Duration::from_secs(5))?;
//! ```
//!
//! | route | answer |
//! |---|---|
//! | `POST /v1/generations` | 201 `{id, state: "queued", …}`, or the script's error; 400 for a body that is not the create shape |
//! | `GET /v1/generations/{id}` | `{id, type, state, failure_reason?, failure_code?, output?: [{type, url}]}`; 404 for an unknown id |
//! | `GET /outputs/{id}.mp4?X-Amz-Signature=…` | the clip (no key needed) |
//!
//! Every `/v1/` call needs `Authorization: Bearer` [`KEY`], else a 401. Each poll of a completed
//! generation issues a fresh output URL.

use super::{RecordedRequest, Reply, TestServer};
use crate::Usd;
use crate::config::{LumaConfig, Secret};
use bytes::Bytes;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The API key the stub accepts.
pub const KEY: &str = "luma-api-test-0123456789";
/// The price per second [`LumaStub::config`] sets.
pub const USD_PER_SECOND: f64 = 0.10;

/// What one submission does.
#[derive(Debug, Clone, PartialEq)]
pub enum Script {
    /// `queued` on the first of `polls` polls, `dreaming` on the rest, then `completed`.
    Succeed { polls: u32 },
    /// `queued` for `polls` polls, `dreaming` once, then `completed`.
    Queued { polls: u32 },
    /// The submit gets a 429 rate limit, with `Retry-After: hint` when given, and makes no generation.
    RateLimited { hint: Option<u64> },
    /// The submit gets a 429 saying the credits are used up, and makes no generation.
    Quota,
    /// The submit gets a 400 saying the prompt failed moderation, and makes no generation.
    Moderated,
    /// The submit gets a 500 and makes no generation.
    ServerError,
    /// `failed` at once with this `failure_code` and `failure_reason`.
    Fail { code: &'static str, reason: &'static str },
    /// `completed` at once with no output.
    CompletedWithoutOutput,
    /// Every poll answers JSON cut short.
    MalformedPoll,
    /// `completed` at once; each output URL answers 403 once downloaded `downloads` times or once
    /// `after` has passed since it was issued (the next poll issues a fresh one).
    Expiring { downloads: u32, after: Option<Duration> },
    /// `completed` at once, and the output is the clip padded with zeros to this many bytes.
    Oversized(usize),
    /// `dreaming` for ever (no cancel is documented).
    NeverFinishes,
    /// `dreaming` until this long after the submission, then `completed`.
    Timed(Duration),
}

struct Link {
    value: String,
    issued: Instant,
    downloads: u32,
}

struct Generation {
    born: Instant,
    script: Script,
    polls: u32,
    links: Vec<Link>,
}

struct State {
    queue: VecDeque<Script>,
    default: Script,
    generations: HashMap<String, Generation>,
    bodies: Vec<Value>,
    keep_bodies: bool,
    submissions: usize,
    downloads: usize,
    clip: Bytes,
    base: String,
}

/// The stub server; it stops when dropped.
pub struct LumaStub {
    server: TestServer,
    state: Arc<Mutex<State>>,
}

impl LumaStub {
    /// Starts on 127.0.0.1 serving [`super::runway::test_clip`] as every output.
    pub async fn start() -> Self {
        let clip = tokio::task::spawn_blocking(super::runway::test_clip).await.expect("making the test clip");
        let server = TestServer::start().await;
        let state = Arc::new(Mutex::new(State {
            queue: VecDeque::new(),
            default: Script::Succeed { polls: 2 },
            generations: HashMap::new(),
            bodies: Vec::new(),
            keep_bodies: true,
            submissions: 0,
            downloads: 0,
            clip,
            base: server.url(""),
        }));
        let s = state.clone();
        server.handle("/v1/generations", move |r| authorised(r).unwrap_or_else(|| submit(&s, r)));
        let s = state.clone();
        server.handle_prefix("/v1/generations/", move |r| authorised(r).unwrap_or_else(|| generation(&s, r)));
        server.handle_prefix("/v1/", |r| authorised(r).unwrap_or_else(|| error(404, "Not Found")));
        let s = state.clone();
        server.handle_prefix("/outputs/", move |r| output(&s, r));
        Self { server, state }
    }

    /// `http://127.0.0.1:<port>`: the base URL.
    pub fn base_url(&self) -> String {
        self.server.url("")
    }

    /// A Luma configuration for this stub: its URL and key, ray-3.2 at [`USD_PER_SECOND`], private
    /// network allowed (the stub is on loopback), polls 10 ms apart, no photo base URL.
    pub fn config(&self) -> LumaConfig {
        let mut config = crate::config::Config::default().video.luma;
        config.api.base_url = self.base_url();
        config.api.api_key = Some(Secret::new(KEY));
        config.api.model = "ray-3.2".into();
        config.api.usd_per_second = Some(Usd::from_dollars(USD_PER_SECOND));
        config.api.allow_private_network = true;
        config.api.poll_interval = Duration::from_millis(10);
        config.photo_base_url = None;
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

    /// The JSON bodies of the submissions, in order.
    pub fn bodies(&self) -> Vec<Value> {
        self.lock().bodies.clone()
    }

    /// The keyframe (`frame0`) URL of each submission, in order.
    pub fn keyframe_urls(&self) -> Vec<String> {
        let s = self.lock();
        s.bodies.iter().filter_map(|b| b["keyframes"]["frame0"]["url"].as_str().map(str::to_string)).collect()
    }

    /// Polls of generation `id` that passed the key check.
    pub fn polls(&self, id: &str) -> u32 {
        self.lock().generations.get(id).map_or(0, |g| g.polls)
    }

    /// Output requests (answered or refused).
    pub fn downloads(&self) -> usize {
        self.lock().downloads
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

fn error(status: u16, detail: &str) -> Reply {
    json_reply(status, &json!({ "detail": detail }))
}

fn json_reply(status: u16, body: &Value) -> Reply {
    Reply::status(status).header("Content-Type", "application/json").body(body.to_string())
}

fn authorised(r: &RecordedRequest) -> Option<Reply> {
    match r.header("authorization") == Some(format!("Bearer {KEY}").as_str()) {
        true => None,
        false => Some(error(401, "Invalid API key")),
    }
}

fn uuid() -> String {
    let hex = |n: usize| (0..n).map(|_| char::from_digit(fastrand::u32(0..16), 16).unwrap()).collect::<String>();
    format!("{}-{}-4{}-a{}-{}", hex(8), hex(4), hex(3), hex(3), hex(12))
}

/// Why Luma would refuse this create body, if it would.
fn body_problem(body: &Value) -> Option<&'static str> {
    let frame = &body["keyframes"]["frame0"];
    let url = frame["url"].as_str().unwrap_or_default();
    if body["type"] != "video" || body["model"].as_str().is_none_or(str::is_empty) {
        Some("type must be video and model is required")
    } else if frame["type"] != "image" || !(url.starts_with("https://") || url.starts_with("http://")) {
        Some("keyframes.frame0 must be an image with a URL")
    } else if !matches!(body["duration"].as_str(), Some("5s" | "9s")) {
        Some("duration must be 5s or 9s")
    } else if !matches!(body["aspect_ratio"].as_str(), Some("9:16" | "3:4" | "1:1" | "4:3" | "16:9" | "21:9")) {
        Some("aspect_ratio is not supported")
    } else if !matches!(body["resolution"].as_str(), Some("540p" | "720p" | "1080p" | "4k")) {
        Some("resolution is not supported")
    } else {
        None
    }
}

fn submit(state: &Mutex<State>, r: &RecordedRequest) -> Reply {
    if r.method != "POST" {
        return error(405, "Method Not Allowed");
    }
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    s.submissions += 1;
    let Ok(body) = serde_json::from_slice::<Value>(&r.body) else { return error(400, "Body is not valid JSON") };
    if s.keep_bodies {
        s.bodies.push(body.clone());
    }
    if let Some(problem) = body_problem(&body) {
        return error(400, problem);
    }
    let script = s.queue.pop_front().unwrap_or_else(|| s.default.clone());
    match script {
        Script::RateLimited { hint } => {
            let reply = error(429, "Too many requests: rate limit exceeded");
            return match hint {
                Some(secs) => reply.header("Retry-After", secs.to_string()),
                None => reply,
            };
        }
        Script::Quota => return error(429, "Insufficient credits: your balance is used up"),
        Script::Moderated => return error(400, "The prompt failed moderation (content policy)"),
        Script::ServerError => return error(500, "Internal Server Error"),
        _ => {}
    }
    let id = uuid();
    s.generations.insert(id.clone(), Generation { born: Instant::now(), script, polls: 0, links: Vec::new() });
    json_reply(201, &json!({ "id": id, "type": "video", "state": "queued", "model": body["model"] }))
}

fn state_of(g: &Generation) -> &'static str {
    let n = g.polls;
    match g.script {
        Script::Succeed { polls } if n <= polls => {
            if n <= 1 {
                "queued"
            } else {
                "dreaming"
            }
        }
        Script::Queued { polls } if n <= polls => "queued",
        Script::Queued { polls } if n == polls + 1 => "dreaming",
        Script::Fail { .. } => "failed",
        Script::NeverFinishes => "dreaming",
        Script::Timed(takes) if g.born.elapsed() < takes => "dreaming",
        _ => "completed",
    }
}

fn generation(state: &Mutex<State>, r: &RecordedRequest) -> Reply {
    if r.method != "GET" {
        return error(405, "Method Not Allowed");
    }
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    let id = r.path().trim_start_matches("/v1/generations/").to_string();
    let base = s.base.clone();
    let Some(g) = s.generations.get_mut(&id) else { return error(404, "Generation not found") };
    g.polls += 1;
    if g.script == Script::MalformedPoll {
        return Reply::ok(format!("{{\"id\":\"{id}\",\"state\":\"dre")).header("Content-Type", "application/json");
    }
    let state = state_of(g);
    let mut body = json!({ "id": id, "type": "video", "state": state, "output": [] });
    match (state, &g.script) {
        ("completed", Script::CompletedWithoutOutput) => {}
        ("completed", _) => {
            let sig = uuid().replace('-', "");
            g.links.push(Link { value: sig.clone(), issued: Instant::now(), downloads: 0 });
            let url = format!("{base}/outputs/{id}.mp4?X-Amz-Expires=3600&X-Amz-Signature={sig}");
            body["output"] = json!([{ "type": "video", "url": url }]);
        }
        ("failed", Script::Fail { code, reason }) => {
            body["failure_code"] = json!(code);
            body["failure_reason"] = json!(reason);
        }
        _ => {}
    }
    json_reply(200, &body)
}

fn output(state: &Mutex<State>, r: &RecordedRequest) -> Reply {
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    s.downloads += 1;
    let denied =
        || Reply::status(403).header("Content-Type", "text/xml").body("<Error><Code>AccessDenied</Code></Error>");
    let id = r.path().trim_start_matches("/outputs/").trim_end_matches(".mp4").to_string();
    let sig = r.target.split_once("X-Amz-Signature=").map(|(_, t)| t.to_string()).unwrap_or_default();
    let clip = s.clip.clone();
    let Some(g) = s.generations.get_mut(&id) else { return denied() };
    let script = g.script.clone();
    let Some(link) = g.links.iter_mut().find(|l| l.value == sig) else { return denied() };
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
