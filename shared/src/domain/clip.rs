//! Clips: one provider output for one attempt at one shot, mirrored into our storage.

use super::{BlobKey, JobId, ReelId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clip {
    pub reel: ReelId,
    pub shot: u32,
    pub attempt: u32,
    /// Which provider made it (`still-motion`, `runway`, ...).
    pub provider: String,
    /// The provider's model (`gen4_turbo`), when it has several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The clip's SHA-256 as it arrived from the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<super::Sha256>,
    pub job: JobId,
    pub blob: BlobKey,
    pub duration_ms: u32,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    pub stored_ms: i64,
    /// A still-motion recipe (the photo and the camera move, JSON at `blob`) that every assembly
    /// renders into the reel, not a video file: an offline render is the same every time, so
    /// storing its frames would only cost an encode and a decode.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recipe: bool,
}
