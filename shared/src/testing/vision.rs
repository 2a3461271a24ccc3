//! A loopback stand-in for the three vision judges' APIs (`providers.md` §2) on one
//! [`TestServer`], each by its own path: answers scripted one call at a time, every call recorded
//! whole (path, headers, parsed body) so a test can say what was sent.
//!
//! ```ignore
//! let stub = VisionStub::start().await;
//! stub.script(Answer::RateLimited { secs: 7 });               // the first call gets a 429
//! stub.script(Answer::failing(3, 2, Aspect::Product, "the logo is gone"));
//! let judge = VisionJudge::new(VisionKind::Anthropic, &stub.config(VisionKind::Anthropic), media)?;
//! assert_eq!(stub.calls(), 2);
//! assert!(stub.sent()[1].images().len() > 3);
//! ```
//!
//! | route | dialect | key |
//! |---|---|---|
//! | `POST /v1beta/models/{model}:generateContent` | Gemini: `candidates[0].content.parts[].text` | `x-goog-api-key` |
//! | `POST /v1/responses` | OpenAI Responses: `output[].content[]` of type `output_text` | `Authorization: Bearer` |
//! | `POST /v1/messages` | Anthropic Messages: `content[]` of type `text`, `stop_reason` | `x-api-key` and `anthropic-version: 2023-06-01` |
//!
//! A call without the key [`KEY`] gets a 401 (Anthropic without its version a 400), a body that is
//! not JSON a 400, and a body over the provider's documented limits what the provider answers: Gemini
//! a 400 at 100 MB, OpenAI a 400 over 50 MB of images, Anthropic a 413 over 32 MB and a 400 for an
//! image over 5 MB or over 8000 px a side (2000 px with more than 20 images). Otherwise the call takes
//! the next queued [`Answer`], or the default one ([`VisionStub::always`]; [`Answer::PassAll`] at
//! first). Every call is recorded ([`VisionStub::sent`]) and counted, rejected ones too.

use super::{RecordedRequest, Reply, TestServer};
use crate::config::{JudgeConfig, Secret, VisionKind};
use base64::Engine as _;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The API key the stub accepts, whatever the dialect.
pub const KEY: &str = "vision-test-key-5e1f0c";
const ANTHROPIC_VERSION: &str = "2023-06-01";
/// The largest call recorded (and so checked) whole.
const RECORDED: u64 = 160 * 1024 * 1024;

/// Which aspect of a shot a scripted verdict fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aspect {
    /// `product_looks_right: false`.
    Product,
    /// `motion_plausible: false`.
    Motion,
    /// `looks_artificial_or_warped: true`.
    Artifacts,
}

/// One shot's flaw in a scripted verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Flaw {
    /// 1-based.
    pub shot: u32,
    pub aspect: Aspect,
    pub reason: String,
}

/// What one call gets.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// A valid verdict on `shots` shots: every one passes but for the `flaws`.
    Verdict { shots: u32, flaws: Vec<Flaw> },
    /// A valid verdict passing every shot the request names (each `Shot N:` in its text).
    PassAll,
    /// The model answers this text (prose, JSON off the schema, nothing at all).
    Text(String),
    /// The model refuses: OpenAI a `refusal` content item, Anthropic `stop_reason: "refusal"`,
    /// Gemini `promptFeedback.blockReason: "SAFETY"`.
    Refusal,
    /// What the model wrote was stopped: Gemini `finishReason: "SAFETY"`, OpenAI `incomplete` by
    /// `content_filter`, Anthropic as [`Answer::Refusal`].
    Blocked,
    /// 429 asking to wait `secs`: `Retry-After` for OpenAI and Anthropic, a `RetryInfo` delay in
    /// the body for Gemini (as Gemini says it).
    RateLimited { secs: u64 },
    /// This status (500, 503, Anthropic's 529 overloaded) with the dialect's error body.
    Status(u16),
    /// The answer after this long (a slow model; the client's timeout may end it first).
    Slow(Duration, Box<Answer>),
}

impl Answer {
    /// Every one of `shots` shots passes.
    pub fn pass(shots: u32) -> Self {
        Answer::Verdict { shots, flaws: Vec::new() }
    }

    /// Every one of `shots` shots passes but `shot`, which fails `aspect` for `reason`.
    pub fn failing(shots: u32, shot: u32, aspect: Aspect, reason: &str) -> Self {
        Answer::Verdict { shots, flaws: vec![Flaw { shot, aspect, reason: reason.into() }] }
    }
}

/// One call as the stub saw it.
#[derive(Debug, Clone)]
pub struct Sent {
    pub dialect: VisionKind,
    pub path: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body's size in bytes.
    pub bytes: usize,
    /// The body parsed (`Null` when it was not JSON).
    pub body: Value,
}

/// One picture a call carried.
#[derive(Debug, Clone, PartialEq)]
pub struct SentImage {
    pub mime: String,
    /// Its base64 as sent.
    pub base64_bytes: usize,
    /// Decoded.
    pub bytes: usize,
    pub width: u32,
    pub height: u32,
}

impl Sent {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The user message's parts, in the dialect's shape.
    fn parts(&self) -> Vec<&Value> {
        let list = match self.dialect {
            VisionKind::Gemini => &self.body["contents"][0]["parts"],
            VisionKind::OpenAi => &self.body["input"][0]["content"],
            VisionKind::Anthropic => &self.body["messages"][0]["content"],
        };
        list.as_array().map(|a| a.iter().collect()).unwrap_or_default()
    }

    /// Every part of the message as `text`, `image` or `video`, in order.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.parts()
            .into_iter()
            .filter_map(|p| media(self.dialect, p).map(|(m, _)| kind_of(&m)).or(text(p).map(|_| "text")))
            .collect()
    }

    /// The pictures sent, in order (a video is not among them).
    pub fn images(&self) -> Vec<SentImage> {
        self.parts()
            .into_iter()
            .filter_map(|p| media(self.dialect, p))
            .filter(|(mime, _)| mime.starts_with("image/"))
            .map(|(mime, data)| {
                let decoded = base64::engine::general_purpose::STANDARD.decode(&data).unwrap_or_default();
                let (width, height) = image::ImageReader::new(std::io::Cursor::new(&decoded))
                    .with_guessed_format()
                    .ok()
                    .and_then(|r| r.into_dimensions().ok())
                    .unwrap_or((0, 0));
                SentImage { mime, base64_bytes: data.len(), bytes: decoded.len(), width, height }
            })
            .collect()
    }

    /// The size (decoded) of each video sent.
    pub fn videos(&self) -> Vec<usize> {
        self.parts()
            .into_iter()
            .filter_map(|p| media(self.dialect, p))
            .filter(|(mime, _)| mime.starts_with("video/"))
            .map(|(_, data)| base64::engine::general_purpose::STANDARD.decode(&data).map_or(0, |d| d.len()))
            .collect()
    }

    /// The instructions and every text part, one per line.
    pub fn text(&self) -> String {
        let system = match self.dialect {
            VisionKind::Gemini => self.body["systemInstruction"]["parts"][0]["text"].as_str(),
            VisionKind::OpenAi => self.body["instructions"].as_str(),
            VisionKind::Anthropic => self.body["system"].as_str(),
        };
        system.into_iter().chain(self.parts().into_iter().filter_map(text)).collect::<Vec<_>>().join("\n")
    }

    /// The answer's JSON schema, where the dialect puts it.
    pub fn schema(&self) -> Option<&Value> {
        let at = match self.dialect {
            VisionKind::Gemini => "/generationConfig/responseJsonSchema",
            VisionKind::OpenAi => "/text/format/schema",
            VisionKind::Anthropic => "/output_config/format/schema",
        };
        self.body.pointer(at)
    }
}

fn kind_of(mime: &str) -> &'static str {
    if mime.starts_with("video/") { "video" } else { "image" }
}

fn text(part: &Value) -> Option<&str> {
    part["text"].as_str()
}

/// A part's media type and base64 data, when it carries a picture or a video.
fn media(dialect: VisionKind, part: &Value) -> Option<(String, String)> {
    match dialect {
        VisionKind::Gemini => {
            let d = part.get("inline_data").or_else(|| part.get("inlineData"))?;
            let mime = d.get("mime_type").or_else(|| d.get("mimeType"))?.as_str()?;
            Some((mime.to_string(), d["data"].as_str()?.to_string()))
        }
        VisionKind::OpenAi => {
            if part["type"] != "input_image" {
                return None;
            }
            let (head, data) = part["image_url"].as_str()?.strip_prefix("data:")?.split_once(";base64,")?;
            Some((head.to_string(), data.to_string()))
        }
        VisionKind::Anthropic => {
            if part["type"] != "image" || part["source"]["type"] != "base64" {
                return None;
            }
            Some((part["source"]["media_type"].as_str()?.to_string(), part["source"]["data"].as_str()?.to_string()))
        }
    }
}

struct State {
    queue: VecDeque<Answer>,
    default: Answer,
    sent: Vec<Sent>,
}

/// The stub server; it stops when dropped.
pub struct VisionStub {
    server: TestServer,
    state: Arc<Mutex<State>>,
}

impl VisionStub {
    /// Starts on 127.0.0.1, every dialect on its path.
    pub async fn start() -> Self {
        let server = TestServer::start().await;
        server.keep_bodies_up_to(RECORDED);
        let state = Arc::new(Mutex::new(State { queue: VecDeque::new(), default: Answer::PassAll, sent: Vec::new() }));
        let routes: [(&str, VisionKind, bool); 3] = [
            ("/v1beta/models/", VisionKind::Gemini, true),
            ("/v1/responses", VisionKind::OpenAi, false),
            ("/v1/messages", VisionKind::Anthropic, false),
        ];
        for (path, dialect, prefix) in routes {
            let state = state.clone();
            let handler = move |r: &RecordedRequest| answer(&state, dialect, r);
            if prefix { server.handle_prefix(path, handler) } else { server.handle(path, handler) }
        }
        Self { server, state }
    }

    /// The base URL of `kind`, version path included (`http://127.0.0.1:<port>/v1beta`).
    pub fn base_url(&self, kind: VisionKind) -> String {
        self.server.url(if kind == VisionKind::Gemini { "/v1beta" } else { "/v1" })
    }

    /// A judge configuration naming `kind` alone, its endpoint this stub with [`KEY`], the
    /// defaults' models and prices, and a 10 s timeout.
    pub fn config(&self, kind: VisionKind) -> JudgeConfig {
        let mut config = crate::config::Config::default().judge;
        config.vision = vec![kind];
        for k in [VisionKind::Gemini, VisionKind::OpenAi, VisionKind::Anthropic] {
            let endpoint = &mut match k {
                VisionKind::Gemini => &mut config.gemini,
                VisionKind::OpenAi => &mut config.openai,
                VisionKind::Anthropic => &mut config.anthropic,
            }
            .endpoint;
            endpoint.key = Some(Secret::new(KEY));
            endpoint.base_url = self.base_url(k);
        }
        config.timeout = Duration::from_secs(10);
        config
    }

    /// What the next call (after those already queued) gets.
    pub fn script(&self, answer: Answer) {
        self.lock().queue.push_back(answer);
    }

    /// What every call gets once the queue is empty.
    pub fn always(&self, answer: Answer) {
        self.lock().default = answer;
    }

    /// Every call so far, in order.
    pub fn sent(&self) -> Vec<Sent> {
        self.lock().sent.clone()
    }

    /// How many calls came (answered or refused).
    pub fn calls(&self) -> usize {
        self.lock().sent.len()
    }

    /// The server underneath, for its request and connection log.
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

/// The dialect's error body.
fn error(dialect: VisionKind, status: u16, kind: &str, message: &str) -> Reply {
    let body = match dialect {
        VisionKind::Gemini => json!({"error": {"code": status, "message": message, "status": kind}}),
        VisionKind::OpenAi => json!({"error": {"message": message, "type": kind, "code": null}}),
        VisionKind::Anthropic => json!({"type": "error", "error": {"type": kind, "message": message}}),
    };
    json_reply(status, &body)
}

/// The dialect's refusal of the request, when the key, the version or the body's limits are wrong.
fn refusal_of(dialect: VisionKind, r: &RecordedRequest, sent: &Sent) -> Option<Reply> {
    if r.method != "POST" {
        return Some(error(dialect, 405, "METHOD_NOT_ALLOWED", "Method not allowed"));
    }
    let keyed = match dialect {
        VisionKind::Gemini => r.header("x-goog-api-key") == Some(KEY),
        VisionKind::OpenAi => r.header("authorization") == Some(format!("Bearer {KEY}").as_str()),
        VisionKind::Anthropic => r.header("x-api-key") == Some(KEY),
    };
    if !keyed {
        return Some(error(dialect, 401, "authentication_error", "invalid x-api-key"));
    }
    if dialect == VisionKind::Anthropic && r.header("anthropic-version") != Some(ANTHROPIC_VERSION) {
        return Some(error(dialect, 400, "invalid_request_error", "anthropic-version: header is required"));
    }
    if dialect == VisionKind::Gemini && !r.path().ends_with(":generateContent") {
        return Some(error(dialect, 404, "NOT_FOUND", "no such method"));
    }
    if sent.body.is_null() {
        return Some(error(dialect, 400, "invalid_request_error", "the body is not valid JSON"));
    }
    let images = sent.images();
    match dialect {
        VisionKind::Gemini if sent.bytes >= 100_000_000 => {
            Some(error(dialect, 400, "INVALID_ARGUMENT", "Request payload size exceeds the limit: 100000000 bytes."))
        }
        VisionKind::OpenAi if images.iter().map(|i| i.base64_bytes).sum::<usize>() > 50_000_000 => {
            Some(error(dialect, 400, "invalid_request_error", "Total image payload exceeds the 50 MB limit."))
        }
        VisionKind::Anthropic if sent.bytes > 32_000_000 => {
            Some(error(dialect, 413, "request_too_large", "Request exceeds the maximum allowed number of bytes."))
        }
        VisionKind::Anthropic => {
            let side = if images.len() > 20 { 2000 } else { 8000 };
            images.iter().enumerate().find_map(|(i, img)| {
                if img.base64_bytes > 5 * 1024 * 1024 {
                    Some(error(dialect, 400, "invalid_request_error", &format!("messages.0.content.{i}.image.source.base64: image exceeds 5 MB maximum")))
                } else if img.width.max(img.height) > side {
                    Some(error(dialect, 400, "invalid_request_error", &format!("messages.0.content.{i}.image.source.base64: image dimensions exceed max allowed size: {side} pixels")))
                } else {
                    None
                }
            })
        }
        _ => None,
    }
}

fn answer(state: &Mutex<State>, dialect: VisionKind, r: &RecordedRequest) -> Reply {
    let sent = Sent {
        dialect,
        path: r.path().to_string(),
        headers: r.headers.clone(),
        bytes: r.header("content-length").and_then(|v| v.parse().ok()).unwrap_or(r.body.len()),
        body: serde_json::from_slice(&r.body).unwrap_or(Value::Null),
    };
    let refused = refusal_of(dialect, r, &sent);
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    s.sent.push(sent.clone());
    if let Some(refused) = refused {
        return refused;
    }
    let script = s.queue.pop_front().unwrap_or_else(|| s.default.clone());
    drop(s);
    reply(dialect, &sent, script)
}

fn reply(dialect: VisionKind, sent: &Sent, script: Answer) -> Reply {
    match script {
        Answer::Slow(after, then) => reply(dialect, sent, *then).delay(after),
        Answer::Verdict { shots, flaws } => model_says(dialect, &verdict(shots, &flaws)),
        Answer::PassAll => {
            let named = sent
                .text()
                .split("Shot ")
                .skip(1)
                .filter_map(|rest| rest.split(':').next()?.trim().parse::<u32>().ok())
                .max()
                .unwrap_or(0);
            model_says(dialect, &verdict(named, &[]))
        }
        Answer::Text(text) => model_says(dialect, &text),
        Answer::Refusal => json_reply(
            200,
            &match dialect {
                VisionKind::Gemini => json!({"promptFeedback": {"blockReason": "SAFETY"}}),
                VisionKind::OpenAi => json!({"status": "completed", "output": [{"type": "message", "role": "assistant",
                "content": [{"type": "refusal", "refusal": "I can't help with judging this video."}]}]}),
                VisionKind::Anthropic => {
                    json!({"type": "message", "role": "assistant", "content": [], "stop_reason": "refusal"})
                }
            },
        ),
        Answer::Blocked => json_reply(
            200,
            &match dialect {
                VisionKind::Gemini => {
                    json!({"candidates": [{"content": {"role": "model", "parts": []}, "finishReason": "SAFETY"}]})
                }
                VisionKind::OpenAi => {
                    json!({"status": "incomplete", "incomplete_details": {"reason": "content_filter"}, "output": []})
                }
                VisionKind::Anthropic => {
                    json!({"type": "message", "role": "assistant", "content": [], "stop_reason": "refusal"})
                }
            },
        ),
        Answer::RateLimited { secs } => match dialect {
            VisionKind::Gemini => json_reply(
                429,
                &json!({"error": {
                    "code": 429,
                    "message": "Resource has been exhausted (e.g. check quota).",
                    "status": "RESOURCE_EXHAUSTED",
                    "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": format!("{secs}s")}],
                }}),
            ),
            VisionKind::OpenAi => error(dialect, 429, "rate_limit_exceeded", "Rate limit reached for requests")
                .header("Retry-After", secs.to_string()),
            VisionKind::Anthropic => error(
                dialect,
                429,
                "rate_limit_error",
                "Number of request tokens has exceeded your per-minute rate limit",
            )
            .header("Retry-After", secs.to_string()),
        },
        Answer::Status(status) => {
            let (kind, message) = match (dialect, status) {
                (VisionKind::Anthropic, 529) => ("overloaded_error", "Overloaded"),
                (VisionKind::Gemini, 503) => ("UNAVAILABLE", "The model is overloaded. Please try again later."),
                (VisionKind::Gemini, _) => ("INTERNAL", "An internal error has occurred."),
                (VisionKind::Anthropic, _) => ("api_error", "Internal server error"),
                (VisionKind::OpenAi, _) => ("server_error", "The server had an error while processing your request."),
            };
            error(dialect, status, kind, message)
        }
    }
}

/// A verdict's JSON: `shots` shots, each passing but for its flaws.
fn verdict(shots: u32, flaws: &[Flaw]) -> String {
    let list: Vec<Value> = (1..=shots)
        .map(|n| {
            let mine: Vec<&Flaw> = flaws.iter().filter(|f| f.shot == n).collect();
            let has = |a: Aspect| mine.iter().any(|f| f.aspect == a);
            json!({
                "shot": n,
                "product_looks_right": !has(Aspect::Product),
                "motion_plausible": !has(Aspect::Motion),
                "looks_artificial_or_warped": has(Aspect::Artifacts),
                "reasons": mine.iter().map(|f| f.reason.clone()).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({"shots": list}).to_string()
}

/// A 200 answer whose model output is `text`, in the dialect's envelope.
fn model_says(dialect: VisionKind, text: &str) -> Reply {
    json_reply(
        200,
        &match dialect {
            VisionKind::Gemini => json!({"candidates": [{"content": {"role": "model", "parts": [
            {"text": "Looking at each shot…", "thought": true}, {"text": text}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 5000, "candidatesTokenCount": 120}}),
            VisionKind::OpenAi => json!({"status": "completed", "output": [
            {"type": "reasoning", "summary": []},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}]}),
            VisionKind::Anthropic => json!({"type": "message", "role": "assistant", "stop_reason": "end_turn",
            "content": [{"type": "text", "text": text}]}),
        },
    )
}
