//! Piper: an offline neural voice, used when its CLI and a model are installed.

use super::engine::{checked_text, on_path, retryable, run_with_stdin, speech_from_wav};
use crate::Usd;
use crate::ports::{ProviderError, Speech, SpeechRequest, Voice};
use async_trait::async_trait;
use std::path::PathBuf;

/// Piper: a neural voice, used when the `piper` CLI and a model are installed.
#[derive(Debug, Clone, PartialEq)]
pub struct PiperVoice {
    pub bin: PathBuf,
    /// The `.onnx` voice model.
    pub model: PathBuf,
    /// Where each line's WAV is written.
    pub scratch: crate::media::Scratch,
}

impl PiperVoice {
    /// A Piper voice when `TRUEREEL_PIPER_MODEL` names a model (the configuration checked it is a file);
    /// the binary is `TRUEREEL_PIPER` or `piper` on `PATH`, and a model without a binary is an error.
    pub fn from_config(
        c: &crate::config::VoiceConfig,
        scratch: &crate::media::Scratch,
    ) -> Result<Option<PiperVoice>, String> {
        let Some(model) = c.piper_model.clone() else { return Ok(None) };
        let bin = match &c.piper {
            Some(b) if b.is_file() => b.clone(),
            Some(b) => return Err(format!("TRUEREEL_PIPER {} is not a file", b.display())),
            None => on_path("piper").ok_or("a Piper model is set, but `piper` is not on PATH (set TRUEREEL_PIPER)")?,
        };
        Ok(Some(PiperVoice { bin, model, scratch: scratch.clone() }))
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

    fn speaks(&self, language: &str) -> bool {
        language == "en"
    }

    fn words_per_second(&self, _language: &str) -> f32 {
        2.7
    }

    async fn speak(&self, request: &SpeechRequest<'_>) -> Result<Speech, ProviderError> {
        let provider = self.name();
        // Piper speaks each input line separately: keep the line one line.
        let text = checked_text(&provider, request.text)?.replace(['\n', '\r'], " ");
        let dir = self.scratch.dir("piper-").map_err(|e| retryable(&provider, format!("no scratch folder: {e}")))?;
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
        let config = crate::config::Config::from_env().unwrap();
        let Ok(Some(p)) = PiperVoice::from_config(&config.voice, &config.media.scratch) else {
            eprintln!("piper or TRUEREEL_PIPER_MODEL not available: Piper test skipped");
            return;
        };
        let s = p.speak(&SpeechRequest::english("Soft cotton hoodie, made to last.")).await.unwrap();
        assert!(s.duration_ms > 800 && p.name().starts_with("piper:"));
        assert_timings_sane(&s, 6);
    }
}
