//! Voice-over: the reel's audio, approved once and fixed from then on.

use super::{BlobKey, Sha256};
use serde::{Deserialize, Serialize};

/// When one spoken line sits in the reel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineTiming {
    pub shot: u32,
    pub text: String,
    pub start_ms: u32,
    pub end_ms: u32,
}

/// When one spoken word sits in the reel (drives the captions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WordTiming {
    pub word: String,
    pub start_ms: u32,
    pub end_ms: u32,
}

/// The fixed audio track of a reel and its timings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VoiceOver {
    pub audio: BlobKey,
    pub duration_ms: u32,
    /// Which voice spoke it (`espeak-ng:en-us`, `piper:en_US-joe-medium`, ...).
    pub voice: String,
    pub lines: Vec<LineTiming>,
    pub words: Vec<WordTiming>,
    /// The stored audio's hash: the approved voice-over is exactly these bytes from then on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Sha256>,
    /// Measured loudness after normalisation: integrated LUFS and true peak dBTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loudness: Option<Loudness>,
}

/// A loudness measurement (EBU R 128).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Loudness {
    /// Integrated loudness, LUFS.
    pub integrated: f64,
    /// True peak, dBTP.
    pub true_peak: f64,
}
