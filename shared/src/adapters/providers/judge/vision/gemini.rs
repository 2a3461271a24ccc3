//! The Gemini dialect of the vision judge: `POST {base}/models/{model}:generateContent`, key in
//! `x-goog-api-key`, the photos and the reel's MP4 as `inline_data` parts, and
//! `generationConfig: {responseMimeType: "application/json", responseJsonSchema, maxOutputTokens}`.
//! The answer is read as the Gemini writer reads it (`writer::gemini::output_text`): a blocked
//! prompt or a candidate stopped for safety is a moderation rejection.

use super::Part;
use super::fit::Limits;
use serde_json::{Value, json};

pub const PROVIDER: &str = "gemini";

/// Inline data: the whole request under 100 MB (`providers.md` §2, the update block); we keep a
/// megabyte below it. No per-image limit or side is documented (the model rescales); 3,600 images
/// per request is the documented most.
pub const LIMITS: Limits = Limits {
    request_bytes: 99_000_000,
    images_bytes: 99_000_000,
    image_bytes: 99_000_000,
    images: 3_600,
    max_side: u32::MAX,
    many_images: None,
};

/// Tokens per image, and per second of video (a frame a second)...
pub const TOKENS_PER_IMAGE: u64 = 258;
/// ...and per second of the video's sound.
pub const TOKENS_PER_AUDIO_SECOND: u64 = 32;

/// The request body.
pub fn body(system: &str, parts: &[Part<'_>], schema: Value, max_output: u32) -> Value {
    let parts: Vec<Value> = parts
        .iter()
        .map(|p| match p {
            Part::Text(t) => json!({"text": t}),
            Part::Image(data) => json!({"inline_data": {"mime_type": "image/jpeg", "data": data}}),
            Part::Video(data) => json!({"inline_data": {"mime_type": "video/mp4", "data": data}}),
        })
        .collect();
    json!({
        "systemInstruction": {"parts": [{"text": system}]},
        "contents": [{"role": "user", "parts": parts}],
        "generationConfig": {
            "responseMimeType": "application/json",
            "responseJsonSchema": schema,
            "maxOutputTokens": max_output,
        },
    })
}
