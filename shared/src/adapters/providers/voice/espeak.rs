//! espeak-ng: robotic but always there; its `[[phoneme]]` input is defused.

use super::engine::{checked_text, run_with_stdin, speech_from_wav};
use crate::Usd;
use crate::ports::{ProviderError, Speech, SpeechRequest, Voice};
use async_trait::async_trait;
use std::path::PathBuf;

/// espeak-ng: robotic but always there.
#[derive(Debug, Clone, PartialEq)]
pub struct EspeakVoice {
    pub bin: PathBuf,
    /// `en-us`, `en-gb`, ...
    pub voice: String,
    pub words_per_minute: u32,
}

impl Default for EspeakVoice {
    fn default() -> Self {
        Self { bin: "espeak-ng".into(), voice: "en-us".into(), words_per_minute: 165 }
    }
}

impl EspeakVoice {
    /// The configured binary, voice and rate (`TRUEREEL_ESPEAK`, `TRUEREEL_ESPEAK_VOICE`, `TRUEREEL_ESPEAK_WPM`).
    pub fn from_config(c: &crate::config::VoiceConfig) -> Self {
        Self { bin: c.espeak.clone(), voice: c.espeak_voice.clone(), words_per_minute: c.espeak_wpm }
    }
}

#[async_trait]
impl Voice for EspeakVoice {
    fn name(&self) -> String {
        format!("espeak-ng:{}", self.voice)
    }

    fn price(&self, _text: &str) -> Usd {
        Usd::ZERO
    }

    fn speaks(&self, language: &str) -> bool {
        language == "en"
    }

    fn words_per_second(&self, _language: &str) -> f32 {
        self.words_per_minute as f32 / 60.0
    }

    async fn speak(&self, request: &SpeechRequest<'_>) -> Result<Speech, ProviderError> {
        let provider = self.name();
        let text = checked_text(&provider, request.text)?;
        let args = ["-v".to_string(), self.voice.clone(), "-s".into(), self.words_per_minute.to_string()];
        let args = args.into_iter().chain(["--stdout".into(), "--stdin".into()]).collect::<Vec<_>>();
        // `[[...]]` would be read as phoneme mnemonics; the timings keep the words as written.
        let out = run_with_stdin(&provider, &self.bin, &args, &text.replace("[[", "[ [")).await?;
        speech_from_wav(&provider, &out, &text)
    }
}

#[cfg(test)]
mod tests {
    use super::super::engine::tests::assert_timings_sane;
    use super::*;
    use crate::media::parse_wav;

    #[tokio::test]
    async fn espeak_speaks_a_line_with_word_timings() {
        let v = EspeakVoice::default();
        assert_eq!((v.name(), v.price("anything")), ("espeak-ng:en-us".to_string(), Usd::ZERO));
        let s = v.speak(&SpeechRequest::english("Soft cotton hoodie, made to last.")).await.unwrap();
        let pcm = parse_wav(&s.wav).unwrap();
        assert_eq!(pcm.duration_ms(), s.duration_ms);
        assert!((1200..5000).contains(&s.duration_ms), "{} ms", s.duration_ms);
        assert_timings_sane(&s, 6);
        assert_eq!(s.words[3].word, "made");
        // "hoodie," is followed by a pause: the gap before "made" is the largest.
        let gaps: Vec<u32> = s.words.windows(2).map(|p| p[1].start_ms - p[0].end_ms).collect();
        assert_eq!(gaps.iter().max(), Some(&gaps[2]), "{gaps:?}");
        let longer = v
            .speak(&SpeechRequest::english("Soft cotton hoodie, made to last, in six colours and every size."))
            .await
            .unwrap();
        assert!(longer.duration_ms > s.duration_ms + 500);
    }

    #[tokio::test]
    async fn untrusted_text_is_spoken_not_obeyed() {
        let v = EspeakVoice::default();
        let s = v.speak(&SpeechRequest::english("--help -v xx [[h@l'oU]] now")).await.unwrap();
        assert!(s.duration_ms > 500, "spoken, not taken as options: {} ms", s.duration_ms);
        assert_timings_sane(&s, 5);
    }

    #[tokio::test]
    async fn empty_text_is_rejected_and_a_broken_engine_is_retryable() {
        let e = EspeakVoice::default().speak(&SpeechRequest::english("  \n ")).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { .. }) && e.to_string().contains("espeak-ng:en-us"), "{e}");
        let bad_voice = EspeakVoice { voice: "xx-nonexistent".into(), ..EspeakVoice::default() };
        let e = bad_voice.speak(&SpeechRequest::english("hello")).await.unwrap_err();
        assert!(e.is_retryable() && e.to_string().contains("does not exist"), "{e}");
        let missing = EspeakVoice { bin: "/nonexistent/espeak-ng".into(), ..EspeakVoice::default() };
        let e = missing.speak(&SpeechRequest::english("hello")).await.unwrap_err();
        assert!(e.is_retryable() && e.to_string().contains("/nonexistent/espeak-ng"), "{e}");
    }
}
