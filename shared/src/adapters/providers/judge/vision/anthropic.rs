//! The Anthropic dialect of the vision judge: the Messages API (`POST {base}/messages`,
//! `x-api-key`, `anthropic-version: 2023-06-01`), the photos and frames as base64 `image` blocks,
//! and structured output (`output_config.format` of type `json_schema`). The answer is read as the
//! Anthropic writer reads it (`writer::anthropic::output_text`): `stop_reason: "refusal"` is a
//! moderation rejection, and 529 (overloaded) is retried like any 5xx.

use super::Part;
use super::fit::Limits;
use serde_json::{Value, json};

pub const PROVIDER: &str = "anthropic";
pub const API_VERSION: &str = "2023-06-01";

/// 32 MB per request, 10 MB per image (we keep to 5 MB, the figure older pages give), 8000 px a
/// side but 2000 px with more than 20 images (`providers.md` update block); 100 images per request
/// (our reading of the vision guide).
pub const LIMITS: Limits = Limits {
    request_bytes: 32_000_000,
    images_bytes: 32_000_000,
    image_bytes: 5_000_000,
    images: 100,
    max_side: 8000,
    many_images: Some((20, 2000)),
};

/// The request body.
pub fn body(model: &str, system: &str, parts: &[Part<'_>], schema: Value, max_output: u32) -> Value {
    let content: Vec<Value> = parts
        .iter()
        .filter_map(|p| match p {
            Part::Text(t) => Some(json!({"type": "text", "text": t})),
            Part::Image(data) => Some(json!({
                "type": "image",
                "source": {"type": "base64", "media_type": "image/jpeg", "data": data},
            })),
            // No video input: the frames stand for it.
            Part::Video(_) => None,
        })
        .collect();
    json!({
        "model": model,
        "max_tokens": max_output,
        "system": system,
        "messages": [{"role": "user", "content": content}],
        "output_config": {"format": {"type": "json_schema", "schema": schema}},
    })
}

/// An image's input tokens, as Anthropic documents them: width x height / 750.
pub fn image_tokens(width: u32, height: u32) -> u64 {
    (width as u64 * height as u64).div_ceil(750)
}
