//! Piper: an offline neural voice, used when its CLI and a model are installed.

use super::engine::{checked_text, on_path, retryable, run_with_stdin, speech_from_wav};
use crate::Usd;
use crate::ports::{ProviderError, Speech, Voice};
use async_trait::async_trait;
use std::path::PathBuf;

/// Piper: a neural voice, used when the `piper` CLI and a model are installed.
#[derive(Debug, Clone, PartialEq)]
pub struct PiperVoice {
    pub bin: PathBuf,
    /// The `.onnx` voice model.
    pub model: PathBuf,
}

impl PiperVoice {
    /// A Piper voice if `TRUEREEL_PIPER_MODEL` names an existing model and the piper binary
    /// (`TRUEREEL_PIPER`, or `piper` on `PATH`) exists.
    pub fn detect() -> Option<PiperVoice> {
        let model = PathBuf::from(std::env::var_os("TRUEREEL_PIPER_MODEL")?);
        if !model.is_file() {
            tracing::warn!(model = %model.display(), "TRUEREEL_PIPER_MODEL is not a file; Piper is off");
            return None;
        }
        let bin = match std::env::var_os("TRUEREEL_PIPER") {
            Some(b) => Some(PathBuf::from(b)).filter(|b| b.is_file()),
            None => on_path("piper"),
        }?;
        Some(PiperVoice { bin, model })
    }
}

#[async_trait]
impl Voice for PiperVoice {
    fn name(&self) -> String {
        let stem = self.model.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        format!("piper:{stem}")
    }

    fn price(&self, _text: &str) -> Usd {
        Usd::ZERO
    }

    async fn speak(&self, text: &str) -> Result<Speech, ProviderError> {
        let provider = self.name();
        // Piper speaks each input line separately: keep the line one line.
        let text = checked_text(&provider, text)?.replace(['\n', '\r'], " ");
        let dir = tempfile::tempdir().map_err(|e| retryable(&provider, format!("no temporary directory: {e}")))?;
        let wav = dir.path().join("line.wav");
        let args = ["-m".into(), self.model.as_os_str().to_owned(), "-f".into(), wav.as_os_str().to_owned()];
        run_with_stdin(&provider, &self.bin, &args, &format!("{text}\n")).await?;
        let bytes = tokio::fs::read(&wav)
            .await
            .map_err(|e| retryable(&provider, format!("piper wrote no {}: {e}", wav.display())))?;
        speech_from_wav(&provider, &bytes, &text)
    }
}

#[cfg(test)]
mod tests {
    use super::super::engine::tests::assert_timings_sane;
    use super::*;

    #[tokio::test]
    async fn piper_speaks_when_installed() {
        let Some(p) = PiperVoice::detect() else {
            eprintln!("piper or TRUEREEL_PIPER_MODEL not available: Piper test skipped");
            return;
        };
        let s = p.speak("Soft cotton hoodie, made to last.").await.unwrap();
        assert!(s.duration_ms > 800 && p.name().starts_with("piper:"));
        assert_timings_sane(&s, 6);
    }
}
