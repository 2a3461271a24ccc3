//! Media tools: ffmpeg and ffprobe for rendering, assembly and checks; WAV handling.

use std::path::PathBuf;

/// Where the media tools are and how they encode.
#[derive(Debug, Clone)]
pub struct Media {
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
}
