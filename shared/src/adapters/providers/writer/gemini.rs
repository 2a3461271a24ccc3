//! The Gemini writer: `POST {base}/models/{model}:generateContent` with `x-goog-api-key` and
//! `generationConfig: {responseMimeType: "application/json", responseJsonSchema}`.
//! `promptFeedback.blockReason` and a candidate stopped for safety (`SAFETY`, `PROHIBITED_CONTENT`,
//! `BLOCKLIST`, `SPII`, `RECITATION`) are moderation rejections; 429 `RESOURCE_EXHAUSTED` is retried
//! after its `Retry-After` or `RetryInfo` delay.

use super::llm::{self, WriterSetupError};
use crate::config::LlmEndpoint;
use crate::ports::{ProviderError, WriteRequest, Writer};
use async_trait::async_trait;
use serde_json::{Value, json};
use std::time::Duration;

const PROVIDER: &str = "gemini";
/// Why a candidate stopped that means the content was refused.
const BLOCKED: &[&str] = &["SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION", "IMAGE_SAFETY"];

#[derive(Debug)]
pub struct GeminiWriter {
    c: llm::Client,
}

impl GeminiWriter {
    pub fn new(endpoint: &LlmEndpoint, timeout: Duration) -> Result<Self, WriterSetupError> {
        // The model goes into the URL's path: `models/` is added here, and nothing else may ride along.
        let model = endpoint.model.trim().trim_start_matches("models/").to_string();
        if model.is_empty() || !model.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')) {
            return Err(WriterSetupError::BadModel(endpoint.model.clone()));
        }
        Ok(Self { c: llm::Client::new(PROVIDER, endpoint, model, "TRUEREEL_GEMINI_API_KEY", timeout)? })
    }

    /// The request body for `request`.
    pub fn body(&self, request: &WriteRequest<'_>) -> Value {
        let prompt = llm::prompt(request);
        json!({
            "systemInstruction": {"parts": [{"text": prompt.system}]},
            "contents": [{"role": "user", "parts": [{"text": prompt.user}]}],
            "generationConfig": {
                "responseMimeType": "application/json",
                "responseJsonSchema": llm::schema(request.shots.len(), true),
                "maxOutputTokens": llm::max_output_tokens(request),
            },
        })
    }
}

/// The text of a generateContent answer; a blocked prompt or candidate is a moderation rejection.
pub(crate) fn output_text(answer: &Value) -> Result<String, ProviderError> {
    if let Some(reason) = answer["promptFeedback"]["blockReason"].as_str() {
        return Err(llm::refused(PROVIDER, format!("the prompt was blocked ({reason})")));
    }
    let Some(candidate) = answer["candidates"].get(0) else {
        return Err(llm::invalid(PROVIDER, "the answer holds no candidate"));
    };
    match candidate["finishReason"].as_str() {
        Some(reason) if BLOCKED.contains(&reason) => {
            return Err(llm::refused(PROVIDER, format!("the answer was blocked ({reason})")));
        }
        Some("MAX_TOKENS") => return Err(llm::invalid(PROVIDER, "the answer was cut at maxOutputTokens")),
        _ => {}
    }
    let text: String = candidate["content"]["parts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|part| part["thought"] != true)
        .filter_map(|part| part["text"].as_str())
        .collect();
    if text.trim().is_empty() {
        return Err(llm::invalid(PROVIDER, "the answer holds no text"));
    }
    Ok(text)
}

#[async_trait]
impl Writer for GeminiWriter {
    fn name(&self) -> &str {
        &self.c.name
    }

    async fn write(&self, request: &WriteRequest<'_>) -> Result<Vec<String>, ProviderError> {
        let url = format!("{}/models/{}:generateContent", self.c.base_url, self.c.model);
        tracing::info!(provider = PROVIDER, model = %self.c.model, shots = request.shots.len(), "writing lines");
        let answer = self.c.http.post(&url, &[("x-goog-api-key", self.c.key.expose())], &self.body(request)).await?;
        llm::parse_lines(PROVIDER, &output_text(&answer)?, request.shots)
    }
}
