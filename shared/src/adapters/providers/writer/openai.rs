//! The OpenAI writer: the Responses API (`POST {base}/responses`) with a strict JSON-schema output
//! (`text.format`), `Authorization: Bearer` key. A refusal content item (or a Chat Completions
//! `message.refusal`) is a moderation rejection; an incomplete answer is unusable.

use super::llm::{self, WriterSetupError};
use crate::config::LlmEndpoint;
use crate::ports::{ProviderError, WriteRequest, Writer};
use async_trait::async_trait;
use serde_json::{Value, json};
use std::time::Duration;

const PROVIDER: &str = "openai";

#[derive(Debug)]
pub struct OpenAiWriter {
    c: llm::Client,
}

impl OpenAiWriter {
    pub fn new(endpoint: &LlmEndpoint, timeout: Duration) -> Result<Self, WriterSetupError> {
        Ok(Self {
            c: llm::Client::new(PROVIDER, endpoint, endpoint.model.clone(), "TRUEREEL_OPENAI_API_KEY", timeout)?,
        })
    }

    /// The request body for `request`.
    pub fn body(&self, request: &WriteRequest<'_>) -> Value {
        let prompt = llm::prompt(request);
        json!({
            "model": self.c.model,
            "instructions": prompt.system,
            "input": prompt.user,
            "text": {"format": {
                "type": "json_schema",
                "name": "reel_lines",
                "strict": true,
                "schema": llm::schema(request.shots.len(), false),
            }},
            "max_output_tokens": llm::max_output_tokens(request),
            "store": false,
        })
    }
}

/// The output text of a Responses (or Chat Completions) answer; a refusal is a moderation rejection.
pub(crate) fn output_text(answer: &Value) -> Result<String, ProviderError> {
    if answer["status"] == "incomplete" {
        let reason = answer["incomplete_details"]["reason"].as_str().unwrap_or("unknown");
        return Err(if reason == "content_filter" {
            llm::refused(PROVIDER, "the answer was stopped by the content filter")
        } else {
            llm::invalid(PROVIDER, format!("the answer is incomplete ({reason})"))
        });
    }
    if answer["status"] == "failed" {
        let said = answer["error"]["message"].as_str().unwrap_or("no reason given");
        return Err(llm::invalid(PROVIDER, format!("the response failed: {said}")));
    }
    let mut text = String::new();
    for item in answer["output"].as_array().into_iter().flatten() {
        for content in item["content"].as_array().into_iter().flatten() {
            match content["type"].as_str() {
                Some("refusal") => return Err(llm::refused(PROVIDER, content["refusal"].as_str().unwrap_or_default())),
                Some("output_text") => text.push_str(content["text"].as_str().unwrap_or_default()),
                _ => {}
            }
        }
    }
    // The Chat Completions shape, from a compatible proxy.
    if let Some(message) = answer["choices"].get(0).map(|c| &c["message"]) {
        if let Some(refusal) = message["refusal"].as_str() {
            return Err(llm::refused(PROVIDER, refusal));
        }
        text.push_str(message["content"].as_str().unwrap_or_default());
    }
    if text.trim().is_empty() {
        return Err(llm::invalid(PROVIDER, "the answer holds no text"));
    }
    Ok(text)
}

#[async_trait]
impl Writer for OpenAiWriter {
    fn name(&self) -> &str {
        &self.c.name
    }

    async fn write(&self, request: &WriteRequest<'_>) -> Result<Vec<String>, ProviderError> {
        let url = format!("{}/responses", self.c.base_url);
        let auth = format!("Bearer {}", self.c.key.expose());
        tracing::info!(provider = PROVIDER, model = %self.c.model, shots = request.shots.len(), "writing lines");
        let answer = self.c.http.post(&url, &[("authorization", &auth)], &self.body(request)).await?;
        llm::parse_lines(PROVIDER, &output_text(&answer)?, request.shots)
    }
}
