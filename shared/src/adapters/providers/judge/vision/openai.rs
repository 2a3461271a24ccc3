//! The OpenAI dialect of the vision judge: the Responses API (`POST {base}/responses`,
//! `Authorization: Bearer`), the photos and frames as `input_image` data URIs at `detail: "high"`,
//! and a strict JSON-schema output (`text.format`). The answer is read as the OpenAI writer reads
//! it (`writer::openai::output_text`): a `refusal` content item, or an answer stopped by the content
//! filter, is a moderation rejection.

use super::Part;
use super::fit::Limits;
use serde_json::{Value, json};

pub const PROVIDER: &str = "openai";

/// About 50 MB of images per request is enforced (a 400; `providers.md` update block): we keep the
/// images' data to 45 MB and the request to 50 MB. 500 images per request (our reading of the
/// vision guide); no side limit is documented (the model rescales).
pub const LIMITS: Limits = Limits {
    request_bytes: 50_000_000,
    images_bytes: 45_000_000,
    image_bytes: 20_000_000,
    images: 500,
    max_side: u32::MAX,
    many_images: None,
};

/// The request body.
pub fn body(model: &str, system: &str, parts: &[Part<'_>], schema: Value, max_output: u32) -> Value {
    let content: Vec<Value> = parts
        .iter()
        .filter_map(|p| match p {
            Part::Text(t) => Some(json!({"type": "input_text", "text": t})),
            Part::Image(data) => Some(json!({
                "type": "input_image",
                "image_url": format!("data:image/jpeg;base64,{data}"),
                "detail": "high",
            })),
            // No video input: the frames stand for it.
            Part::Video(_) => None,
        })
        .collect();
    json!({
        "model": model,
        "instructions": system,
        "input": [{"role": "user", "content": content}],
        "text": {"format": {"type": "json_schema", "name": "reel_verdict", "strict": true, "schema": schema}},
        "max_output_tokens": max_output,
        "store": false,
    })
}

/// An image's input tokens, the larger of OpenAI's two documented rules (which one a model uses
/// is not in its name): tiles at `detail: "high"` (fit in 2048 x 2048, shortest side down to 768,
/// 170 tokens per 512 px tile and 85 more) and patches (32 px patches, at most 1,536, the image
/// scaled down to fit them, times 1.62, the multiplier of the mini models).
pub fn image_tokens(width: u32, height: u32) -> u64 {
    let (w, h) = (width.max(1) as f64, height.max(1) as f64);
    let s1 = (2048.0 / w.max(h)).min(1.0);
    let (tw, th) = (w * s1, h * s1);
    let s2 = (768.0 / tw.min(th)).min(1.0);
    let (tw, th) = (tw * s2, th * s2);
    let tiles = 85 + 170 * ((tw / 512.0).ceil() * (th / 512.0).ceil()) as u64;
    let patches_of = |w: f64, h: f64| (w / 32.0).ceil() * (h / 32.0).ceil();
    let mut patches = patches_of(w, h);
    if patches > 1536.0 {
        let s = (1536.0 * 32.0 * 32.0 / (w * h)).sqrt();
        patches = patches_of(w * s, h * s).min(1536.0);
    }
    tiles.max((patches * 1.62).ceil() as u64)
}
