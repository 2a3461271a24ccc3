//! OpenAI speech: a paid neural voice without word timings.
//!
//! `POST {TRUEREEL_OPENAI_BASE_URL}/v1/audio/speech` with `Authorization: Bearer`, body
//! `{model, input, voice, response_format: "pcm", speed}`. `pcm` is raw 16-bit mono at 24 kHz (no
//! header to trust or mis-size; made a WAV here). **Timings are estimated** as for the offline
//! voices: the measured speech span (first to last sample above silence) is shared out over the
//! words by their length, with pauses after punctuation ([`super::engine::spread_words`]). `speed`
//! is the rate (the API takes 0.25–4). A 429 `insufficient_quota` is Rejected (no retry pays the
//! bill); other 429s are Retryable. Languages: those OpenAI lists for its speech models (Whisper's
//! list, below); voices: the built-in ones (below).

use super::by_language::KnowsVoices;
use super::cloud;
use super::engine::{checked_rate, checked_text, pcm_s16le, primary_language, rejected, speech_from_pcm};
use crate::Usd;
use crate::config::CloudVoiceConfig;
use crate::ports::{ProviderError, Speech, SpeechRequest, Voice};
use async_trait::async_trait;

/// OpenAI's built-in speech voices.
pub const VOICES: &[&str] =
    &["alloy", "ash", "ballad", "cedar", "coral", "echo", "fable", "marin", "nova", "onyx", "sage", "shimmer", "verse"];

/// The languages OpenAI's speech models speak (BCP 47 primary tags).
pub const LANGUAGES: &[&str] = &[
    "af", "ar", "az", "be", "bg", "bs", "ca", "cs", "cy", "da", "de", "el", "en", "es", "et", "fa", "fi", "fr", "gl",
    "he", "hi", "hr", "hu", "hy", "id", "is", "it", "ja", "kk", "kn", "ko", "lt", "lv", "mi", "mk", "mr", "ms", "ne",
    "nl", "no", "pl", "pt", "ro", "ru", "sk", "sl", "sr", "sv", "sw", "ta", "th", "tl", "tr", "uk", "ur", "vi", "zh",
];

const SAMPLE_RATE: u32 = 24_000;

/// OpenAI speech over its HTTP API.
#[derive(Debug, Clone)]
pub struct OpenAiVoice {
    pub config: CloudVoiceConfig,
    client: reqwest::Client,
}

impl OpenAiVoice {
    pub fn new(config: CloudVoiceConfig) -> Self {
        Self { config, client: cloud::client() }
    }

    /// The request body.
    pub fn body(&self, text: &str, voice: &str, rate: f32) -> serde_json::Value {
        serde_json::json!({
            "model": self.config.model,
            "input": text,
            "voice": voice,
            "response_format": "pcm",
            "speed": (rate as f64 * 100.0).round() / 100.0,
        })
    }
}

impl KnowsVoices for OpenAiVoice {
    fn has_voice(&self, name: &str, language: &str) -> bool {
        VOICES.contains(&name) && self.speaks(language)
    }
}

#[async_trait]
impl Voice for OpenAiVoice {
    fn name(&self) -> String {
        format!("openai:{}", self.config.voice)
    }

    fn price(&self, text: &str) -> Usd {
        cloud::per_char(self.config.usd_per_million_chars, text.trim().chars().count())
    }

    fn speaks(&self, language: &str) -> bool {
        LANGUAGES.contains(&primary_language(language).as_str())
    }

    fn words_per_second(&self, _language: &str) -> f32 {
        cloud::WORDS_PER_SECOND
    }

    async fn speak(&self, request: &SpeechRequest<'_>) -> Result<Speech, ProviderError> {
        let provider = self.name();
        let text = checked_text(&provider, request.text)?;
        if text.chars().count() > 4096 {
            return Err(rejected(&provider, "OpenAI speaks at most 4096 characters a request".into()));
        }
        let rate = checked_rate(&provider, request.rate)?;
        let voice = request.voice.unwrap_or(&self.config.voice);
        if !VOICES.contains(&voice) {
            return Err(rejected(&provider, format!("{voice:?} is no OpenAI voice (they are {})", VOICES.join(", "))));
        }
        let key = cloud::key(&provider, self.config.api_key.as_ref(), "TRUEREEL_OPENAI_API_KEY")?;
        let url = format!("{}/v1/audio/speech", self.config.base_url.trim_end_matches('/'));
        let body = serde_json::to_vec(&self.body(&text, voice, rate)).expect("JSON");
        let request = self
            .client
            .post(url)
            .bearer_auth(key)
            .header("content-type", "application/json")
            .header("accept", "audio/pcm")
            .body(body);
        let audio = cloud::send(&provider, request).await?;
        let pcm = pcm_s16le(&provider, &audio, SAMPLE_RATE)?;
        speech_from_pcm(&provider, pcm, &text).map_err(|e| match e {
            // Silence for a non-empty line is the provider's fault here, not the text's.
            ProviderError::Rejected { provider, message, .. } => ProviderError::Invalid { provider, message },
            e => e,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::engine::tests::assert_timings_sane;
    use super::*;
    use crate::config::Secret;
    use crate::testing::{Reply, TestServer};
    use std::time::Duration;

    const PATH: &str = "/v1/audio/speech";

    fn voice(server: &TestServer) -> OpenAiVoice {
        let mut config = crate::config::Config::default().voice.openai;
        config.base_url = server.url("/");
        config.api_key = Some(Secret::new("sk-test-key"));
        OpenAiVoice::new(config)
    }

    /// 24 kHz PCM: 200 ms of silence, `ms` of a tone, 300 ms of silence.
    fn pcm(ms: u32) -> Vec<u8> {
        let n = |ms: u32| (SAMPLE_RATE * ms / 1000) as usize;
        let tone = (0..n(ms)).map(|i| ((i as f64 * 0.05).sin() * 9000.0) as i16);
        std::iter::repeat_n(0i16, n(200))
            .chain(tone)
            .chain(std::iter::repeat_n(0, n(300)))
            .flat_map(i16::to_le_bytes)
            .collect()
    }

    #[tokio::test]
    async fn a_line_comes_back_as_wav_with_words_spread_over_the_speech() {
        let server = TestServer::start().await;
        server.route(PATH, Reply::ok(pcm(1500)).header("Content-Type", "audio/pcm"));
        let v = voice(&server);
        let s = v
            .speak(&SpeechRequest { rate: 1.25, ..SpeechRequest::english("Soft cotton, made to last.") })
            .await
            .unwrap();
        assert_eq!(s.duration_ms, 2000);
        assert_eq!(crate::media::parse_wav(&s.wav).unwrap().sample_rate, SAMPLE_RATE);
        assert_timings_sane(&s, 5);
        assert!(s.words[0].start_ms >= 190 && s.words[4].end_ms <= 1710, "{:?}", s.words);
        let sent = &server.requests_to(PATH)[0];
        assert_eq!(sent.header("authorization"), Some("Bearer sk-test-key"));
        let body = v.body("x", "coral", 1.25);
        assert_eq!((body["model"].as_str(), body["response_format"].as_str()), (Some("gpt-4o-mini-tts"), Some("pcm")));
        assert_eq!(body["speed"], 1.25);
        assert_eq!(v.price(&"x".repeat(1_000_000)), Usd::from_dollars(15.0));
    }

    #[tokio::test]
    async fn busy_quota_broken_and_refused_answers() {
        let server = TestServer::start().await;
        let v = voice(&server);
        let line = SpeechRequest::english("Made to last.");
        let limited = r#"{"error":{"code":"rate_limit_exceeded","message":"Rate limit reached"}}"#;
        server.route(PATH, Reply::status(429).header("Retry-After", "2").body(limited));
        let e = v.speak(&line).await.unwrap_err();
        assert_eq!((e.is_retryable(), e.retry_after()), (true, Some(Duration::from_secs(2))), "{e}");
        let quota = r#"{"error":{"code":"insufficient_quota","message":"You exceeded your current quota"}}"#;
        server.route(PATH, Reply::status(429).body(quota));
        assert!(matches!(v.speak(&line).await, Err(ProviderError::Rejected { .. })));
        server.route(PATH, Reply::status(500).body(r#"{"error":{"message":"server error"}}"#));
        assert!(v.speak(&line).await.unwrap_err().is_retryable());
        server.route(PATH, Reply::ok(vec![1u8, 2, 3]));
        assert!(matches!(v.speak(&line).await, Err(ProviderError::Invalid { .. })), "odd bytes");
        server.route(PATH, Reply::ok(vec![0u8; 48_000]));
        assert!(matches!(v.speak(&line).await, Err(ProviderError::Invalid { .. })), "a second of silence");
        let refused = r#"{"error":{"code":"content_policy_violation","message":"flagged by moderation"}}"#;
        server.route(PATH, Reply::status(400).body(refused));
        let e = v.speak(&line).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { moderation: true, .. }) && !e.is_retryable(), "{e:?}");
        server.route(PATH, Reply::status(403).body("forbidden"));
        assert!(matches!(v.speak(&line).await, Err(ProviderError::Rejected { moderation: false, .. })));
        let e = v.speak(&SpeechRequest { voice: Some("Joanna"), ..line }).await.unwrap_err();
        assert!(e.to_string().contains("\"Joanna\" is no OpenAI voice"), "{e}");
    }
}
