//! The LLM writers against a loopback stub: the request each sends (schema, key header, prompt), and
//! how each answer maps (lines, 429 with its wait, 5xx and 529, malformed JSON, refusals), with the
//! honesty guard on top of what a model invents.

use super::*;
use crate::config::{LlmEndpoint, Secret};
use crate::copy;
use crate::ports::{ProviderError, ShotBrief, WriteRequest};
use crate::testing::{Reply, TestServer};
use crate::{BrandKit, Handle, PhotoKind, Product, ProductOption, Sha256, ShotRole};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const KEY: &str = "sk-test-7f3a";

fn product() -> Product {
    Product {
        handle: Handle::parse("pullover-hoodie").unwrap(),
        title: "Pullover Hoodie".into(),
        description:
            "Pullover hooded sweatshirt in soft cotton with a front kangaroo pocket. Available in red and black.".into(),
        vendor: Some("Demo Store".into()),
        product_type: Some("Hoodie".into()),
        price: Some("59.00".into()),
        currency: Some("USD".into()),
        options: vec![ProductOption { name: "Color".into(), values: vec!["Red".into(), "Black".into()] }],
        variants: vec![],
        references: vec![],
        gallery_hash: Sha256::of(b"x"),
        store: "s".into(),
        updated_ms: 0,
    }
}

fn shots() -> Vec<ShotBrief> {
    [ShotRole::Opening, ShotRole::Texture, ShotRole::CallToAction]
        .into_iter()
        .map(|role| ShotBrief { role, kind: PhotoKind::Flat, alt: Some("Red hoodie, front".into()), max_words: 8 })
        .collect()
}

fn brand() -> BrandKit {
    BrandKit {
        name: Some("Acme".into()),
        call_to_action: Some("Shop Acme now.".into()),
        avoid: vec!["cheap".into()],
        say: vec![("hoody".into(), "Hoodie".into())],
        ..BrandKit::default()
    }
}

const LINES: &str =
    r#"{"lines":["Meet the Pullover Hoodie by Acme.","Soft cotton, kangaroo pocket.","Shop Acme now."]}"#;

/// One provider, as the tests drive it.
struct Provider {
    name: &'static str,
    /// The path its call goes to under a base URL of `/v`.
    path: &'static str,
    key_header: (&'static str, &'static str),
    /// Where the schema sits in the request body.
    schema_at: &'static str,
    make: fn(&str) -> Box<dyn Writer>,
    /// A 200 answer carrying `text`.
    answer: fn(&str) -> Value,
    /// 200 answers that refuse.
    refusals: fn() -> Vec<Value>,
}

fn endpoint(base: &str, model: &str) -> LlmEndpoint {
    LlmEndpoint { key: Some(Secret::new(KEY)), model: model.into(), base_url: base.into() }
}

const TIMEOUT: Duration = Duration::from_secs(10);

fn providers() -> [Provider; 3] {
    [
        Provider {
            name: "openai",
            path: "/v/responses",
            key_header: ("authorization", "Bearer sk-test-7f3a"),
            schema_at: "/text/format/schema",
            make: |base| Box::new(OpenAiWriter::new(&endpoint(base, "gpt-5.4-mini"), TIMEOUT).unwrap()),
            answer: |text| {
                json!({"status": "completed", "output": [
                    {"type": "reasoning", "summary": []},
                    {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}
                ]})
            },
            refusals: || {
                vec![
                    json!({"status": "completed", "output": [{"type": "message", "content": [
                        {"type": "refusal", "refusal": "I can't help with that."}]}]}),
                    json!({"choices": [{"message": {"role": "assistant", "content": null, "refusal": "No."}}]}),
                    json!({"status": "incomplete", "incomplete_details": {"reason": "content_filter"}, "output": []}),
                ]
            },
        },
        Provider {
            name: "anthropic",
            path: "/v/messages",
            key_header: ("x-api-key", KEY),
            schema_at: "/output_config/format/schema",
            make: |base| Box::new(AnthropicWriter::new(&endpoint(base, "claude-sonnet-4-6"), TIMEOUT).unwrap()),
            answer: |text| {
                json!({"type": "message", "role": "assistant", "stop_reason": "end_turn",
                       "content": [{"type": "text", "text": text}]})
            },
            refusals: || vec![json!({"type": "message", "content": [], "stop_reason": "refusal"})],
        },
        Provider {
            name: "gemini",
            path: "/v/models/gemini-3.5-flash:generateContent",
            key_header: ("x-goog-api-key", KEY),
            schema_at: "/generationConfig/responseJsonSchema",
            make: |base| Box::new(GeminiWriter::new(&endpoint(base, "models/gemini-3.5-flash"), TIMEOUT).unwrap()),
            answer: |text| {
                json!({"candidates": [{"content": {"role": "model", "parts": [
                    {"text": "thinking…", "thought": true}, {"text": text}]}, "finishReason": "STOP"}]})
            },
            refusals: || {
                vec![
                    json!({"promptFeedback": {"blockReason": "SAFETY"}}),
                    json!({"candidates": [{"content": {"parts": []}, "finishReason": "SAFETY"}]}),
                ]
            },
        },
    ]
}

async fn write(provider: &Provider, base: &str) -> Result<Vec<String>, ProviderError> {
    let (p, shots, brand) = (product(), shots(), brand());
    let rejections = ["too pushy".to_string()];
    let request = WriteRequest {
        product: &p,
        shots: &shots,
        brand: &brand,
        language: "en",
        colour: Some("Red"),
        rejections: &rejections,
    };
    (provider.make)(base).write(&request).await
}

/// A one-request server that keeps the raw request (head and body) and answers `status` with `body`.
async fn capture(status: u16, answer: String) -> (String, tokio::task::JoinHandle<(String, Value)>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut raw = Vec::new();
        let mut buf = [0u8; 16384];
        let (head, sent) = loop {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "the request ended early");
            raw.extend_from_slice(&buf[..n]);
            let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
            let head = String::from_utf8_lossy(&raw[..end]).to_string();
            let length = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if raw.len() >= end + 4 + length {
                break (head, raw[end + 4..end + 4 + length].to_vec());
            }
        };
        let reply = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
            answer.len()
        );
        stream.write_all(reply.as_bytes()).await.unwrap();
        (head, serde_json::from_slice(&sent).unwrap())
    });
    (base, task)
}

#[tokio::test]
async fn a_good_answer_gives_the_lines_and_the_request_carries_schema_key_and_brief() {
    for provider in providers() {
        let (base, request) = capture(200, (provider.answer)(LINES).to_string()).await;
        let lines = write(&provider, &base).await.unwrap();
        assert_eq!(lines, ["Meet the Pullover Hoodie by Acme.", "Soft cotton, kangaroo pocket.", "Shop Acme now."]);
        let (head, body) = request.await.unwrap();
        let request_line = head.lines().next().unwrap();
        assert_eq!(request_line, format!("POST {} HTTP/1.1", provider.path), "{}", provider.name);
        let (name, value) = provider.key_header;
        let header = head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        });
        assert_eq!(header.as_deref(), Some(value), "{}: {head}", provider.name);
        let schema =
            body.pointer(provider.schema_at).unwrap_or_else(|| panic!("{}: no schema in {body}", provider.name));
        assert_eq!(schema["properties"]["lines"]["items"]["type"], "string", "{}", provider.name);
        assert_eq!(schema["required"], json!(["lines"]));
        let sent = body.to_string();
        for needle in [
            "Pullover Hoodie",
            "kangaroo pocket",
            "Only use|Use only facts",
            "max_words",
            "call_to_action",
            "Shop Acme now.",
            "cheap",
            "hoody",
            "Red",
            "too pushy",
            "\\\"en\\\"",
        ] {
            assert!(needle.split('|').any(|n| sent.contains(n)), "{}: {needle} not in the request", provider.name);
        }
        assert!(!sent.contains(KEY), "{}: the key is in the body", provider.name);
    }
}

#[tokio::test]
async fn a_429_is_retryable_after_the_wait_it_names() {
    for provider in providers() {
        let server = TestServer::start().await;
        let body =
            json!({"error": {"code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED"}});
        server.route(provider.path, Reply::status(429).header("Retry-After", "7").body(body.to_string()));
        let e = write(&provider, &server.url("/v")).await.unwrap_err();
        assert!(e.is_retryable(), "{}: {e}", provider.name);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)), "{}", provider.name);
        assert!(!e.to_string().contains(KEY));
    }
    // Gemini may say when in the body instead.
    let server = TestServer::start().await;
    let body = json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "Quota exceeded",
        "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12s"}]}});
    let [_, _, gemini] = providers();
    server.route(gemini.path, Reply::status(429).body(body.to_string()));
    let e = write(&gemini, &server.url("/v")).await.unwrap_err();
    assert_eq!(e.retry_after(), Some(Duration::from_secs(12)));
    assert!(e.to_string().contains("RESOURCE_EXHAUSTED"), "{e}");
}

#[tokio::test]
async fn server_errors_and_overload_are_retryable_and_other_4xx_rejected() {
    for provider in providers() {
        for status in [500, 503, 529] {
            let server = TestServer::start().await;
            let overloaded = json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}});
            server.route(provider.path, Reply::status(status).body(overloaded.to_string()));
            let e = write(&provider, &server.url("/v")).await.unwrap_err();
            assert!(matches!(e, ProviderError::Retryable { retry_after: None, .. }), "{} {status}: {e}", provider.name);
            assert!(e.to_string().contains("overloaded_error"), "{e}");
        }
        let server = TestServer::start().await;
        server.route(provider.path, Reply::status(401).body(r#"{"error":{"message":"bad key"}}"#));
        let e = write(&provider, &server.url("/v")).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { moderation: false, .. }), "{}: {e}", provider.name);
    }
    // Nothing listening: retryable too.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/v", listener.local_addr().unwrap());
    drop(listener);
    for provider in providers() {
        assert!(write(&provider, &base).await.unwrap_err().is_retryable(), "{}", provider.name);
    }
}

#[tokio::test]
async fn malformed_or_wrong_answers_are_invalid() {
    for provider in providers() {
        let texts = [
            "{\"lines\": [\"one\"",                                                              // cut off
            "Here you go: Meet the hoodie.",                                                     // not JSON
            r#"{"lines": ["One.", "Two."]}"#,                                                    // too few
            r#"{"lines": ["One.", "Two.", "Three.", "Four."]}"#,                                 // too many
            r#"{"lines": ["One two three four five six seven eight nine.", "Two.", "Three."]}"#, // too long
            r#"{"lines": ["One.", "  ", "Three."]}"#,                                            // empty line
            r#"{"lines": ["One.", "Two.", "Three."], "note": "extra"}"#,                         // unknown field
            r#"{"lines": [1, 2, 3]}"#,                                                           // not strings
        ];
        for text in texts {
            let server = TestServer::start().await;
            server.route(provider.path, Reply::ok((provider.answer)(text).to_string()));
            let e = write(&provider, &server.url("/v")).await.unwrap_err();
            assert!(matches!(e, ProviderError::Invalid { .. }), "{} {text:?}: {e}", provider.name);
        }
        let server = TestServer::start().await;
        server.route(provider.path, Reply::ok("{not json"));
        let e = write(&provider, &server.url("/v")).await.unwrap_err();
        assert!(matches!(e, ProviderError::Invalid { .. }), "{}: {e}", provider.name);
        let server = TestServer::start().await;
        server.route(provider.path, Reply::ok("{}"));
        let e = write(&provider, &server.url("/v")).await.unwrap_err();
        assert!(matches!(e, ProviderError::Invalid { .. }), "{}: {e}", provider.name);
    }
}

#[tokio::test]
async fn a_refusal_is_a_moderation_rejection() {
    for provider in providers() {
        for refusal in (provider.refusals)() {
            let server = TestServer::start().await;
            server.route(provider.path, Reply::ok(refusal.to_string()));
            let e = write(&provider, &server.url("/v")).await.unwrap_err();
            assert!(matches!(e, ProviderError::Rejected { moderation: true, .. }), "{} {refusal}: {e}", provider.name);
            assert!(!e.is_retryable());
        }
    }
}

#[tokio::test]
async fn the_honesty_guard_takes_out_what_a_model_invents() {
    let invented = r#"{"lines":["Meet the black silk hoodie.","GOTS-certified, just $20.","Shop Acme now."]}"#;
    for provider in providers() {
        let server = TestServer::start().await;
        server.route(provider.path, Reply::ok((provider.answer)(invented).to_string()));
        let lines = write(&provider, &server.url("/v")).await.unwrap();
        let guarded = copy::guard(&lines, &product(), &brand(), Some("Red"));
        assert_eq!(guarded.lines, ["Meet the hoodie.", "Pullover Hoodie.", "Shop Acme now."], "{}", provider.name);
        let cut: Vec<&str> = guarded.dropped.iter().map(|d| d.claim.as_str()).collect();
        assert_eq!(cut, ["black", "silk", "GOTS", "certified", "$20"], "{}", provider.name);
    }
}

#[test]
fn keys_stay_out_of_debug_and_missing_ones_name_their_variable() {
    let writer = OpenAiWriter::new(&endpoint("http://127.0.0.1:9/v1", "m"), TIMEOUT).unwrap();
    assert!(!format!("{writer:?}").contains(KEY));
    let no_key = LlmEndpoint { key: None, model: "m".into(), base_url: "http://x".into() };
    let e = AnthropicWriter::new(&no_key, TIMEOUT).unwrap_err();
    assert_eq!(e.to_string(), "TRUEREEL_ANTHROPIC_API_KEY is not set: the anthropic writer needs it");
    assert!(matches!(
        GeminiWriter::new(&endpoint("http://x", "../admin?x="), TIMEOUT),
        Err(WriterSetupError::BadModel(_))
    ));
}

#[test]
fn the_schema_and_prompt() {
    let schema = llm::schema(4, true);
    assert_eq!(schema["properties"]["lines"]["minItems"], 4);
    assert_eq!(schema["properties"]["lines"]["maxItems"], 4);
    assert_eq!(schema["additionalProperties"], false);
    assert!(llm::schema(4, false)["properties"]["lines"].get("minItems").is_none());
    let (p, shots, brand) = (product(), shots(), BrandKit::default());
    let request =
        WriteRequest { product: &p, shots: &shots, brand: &brand, language: "ja", colour: None, rejections: &[] };
    let prompt = llm::prompt(&request);
    assert!(prompt.system.contains("\"ja\"") && prompt.system.contains("exactly 3 strings"), "{}", prompt.system);
    assert!(!prompt.system.contains("rejected") && !prompt.system.contains("reel shows the product in"));
    assert!(prompt.user.contains("\"role\": \"call_to_action\"") && prompt.user.contains("\"max_words\": 8"));
    let lines =
        llm::parse_lines("x", r#"{"lines":["柔らかい綿のパーカー。","胸にロゴ。","今すぐチェック。"]}"#, &shots)
            .unwrap();
    assert_eq!(lines.len(), 3);
    let long = r#"{"lines":["とても柔らかいコットンで作られたゆったりしたパーカーです。","a","b"]}"#;
    assert!(llm::parse_lines("x", long, &shots).is_err(), "27 characters are 9 words");
}
