//! The Anthropic writer: the Messages API (`POST {base}/messages`, `x-api-key`, `anthropic-version:
//! 2023-06-01`) with structured output (`output_config.format` of type `json_schema`).
//! `stop_reason: "refusal"` is a moderation rejection, `"max_tokens"` an unusable answer; 529
//! (overloaded) is retried like any 5xx.

use super::llm::{self, WriterSetupError};
use crate::config::LlmEndpoint;
use crate::ports::{ProviderError, WriteRequest, Writer};
use async_trait::async_trait;
use serde_json::{Value, json};
use std::time::Duration;

const PROVIDER: &str = "anthropic";
const API_VERSION: &str = "2023-06-01";

#[derive(Debug)]
pub struct AnthropicWriter {
    c: llm::Client,
}

impl AnthropicWriter {
    pub fn new(endpoint: &LlmEndpoint, timeout: Duration) -> Result<Self, WriterSetupError> {
        Ok(Self {
            c: llm::Client::new(PROVIDER, endpoint, endpoint.model.clone(), "TRUEREEL_ANTHROPIC_API_KEY", timeout)?,
        })
    }

    /// The request body for `request`.
    pub fn body(&self, request: &WriteRequest<'_>) -> Value {
        let prompt = llm::prompt(request);
        json!({
            "model": self.c.model,
            "max_tokens": llm::max_output_tokens(request),
            "system": prompt.system,
            "messages": [{"role": "user", "content": prompt.user}],
            "output_config": {"format": {"type": "json_schema", "schema": llm::schema(request.shots.len(), false)}},
        })
    }
}

/// The text of a Messages answer; a refusal is a moderation rejection.
pub(crate) fn output_text(answer: &Value) -> Result<String, ProviderError> {
    match answer["stop_reason"].as_str() {
        Some("refusal") => {
            let said = answer["content"][0]["text"].as_str().unwrap_or_default();
            return Err(llm::refused(PROVIDER, said));
        }
        Some("max_tokens") => return Err(llm::invalid(PROVIDER, "the answer was cut at max_tokens")),
        _ => {}
    }
    let text: String = answer["content"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|block| block["type"] == "text")
        .filter_map(|block| block["text"].as_str())
        .collect();
    if text.trim().is_empty() {
        return Err(llm::invalid(PROVIDER, "the answer holds no text"));
    }
    Ok(text)
}

#[async_trait]
impl Writer for AnthropicWriter {
    fn name(&self) -> &str {
        &self.c.name
    }

    async fn write(&self, request: &WriteRequest<'_>) -> Result<Vec<String>, ProviderError> {
        let url = format!("{}/messages", self.c.base_url);
        let headers = [("x-api-key", self.c.key.expose()), ("anthropic-version", API_VERSION)];
        tracing::info!(provider = PROVIDER, model = %self.c.model, shots = request.shots.len(), "writing lines");
        let answer = self.c.http.post(&url, &headers, &self.body(request)).await?;
        llm::parse_lines(PROVIDER, &output_text(&answer)?, request.shots)
    }
}
