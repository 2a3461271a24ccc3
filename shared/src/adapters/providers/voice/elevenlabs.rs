//! ElevenLabs: a paid neural voice with real word timings.
//!
//! `POST {TRUEREEL_ELEVENLABS_BASE_URL}/v1/text-to-speech/{voice_id}/with-timestamps?output_format=pcm_22050`
//! with `xi-api-key`, body `{text, model_id, voice_settings: {speed}}`. The answer is JSON
//! `{audio_base64, alignment: {characters, character_start_times_seconds, character_end_times_seconds}}`:
//! raw 16-bit 22.05 kHz PCM (made a WAV here) and one time span per character. Words are the runs of
//! non-space characters: a word starts at its first character's start and ends at its last one's end.
//! An answer without an alignment keeps its audio and gets estimated timings (as the offline voices).
//! 429 comes as `too_many_concurrent_requests` (the plan's concurrency) or `system_busy`; both are
//! Retryable. The speed is `rate` clamped to what the API takes (0.7–1.2). Languages: those of
//! `eleven_multilingual_v2` (below); the voice id is any id of the account's voices (letters and
//! digits; an unknown id is the API's 404, Rejected).

use super::by_language::KnowsVoices;
use super::cloud;
use super::engine::{checked_rate, checked_text, pcm_s16le, primary_language, speech_from_pcm};
use crate::config::CloudVoiceConfig;
use crate::media::write_wav;
use crate::ports::{ProviderError, Speech, SpeechRequest, Voice};
use crate::{Usd, WordTiming};
use async_trait::async_trait;
use base64::Engine as _;

/// The languages `eleven_multilingual_v2` speaks (BCP 47 primary tags; `fil` also as `tl`).
pub const LANGUAGES: &[&str] = &[
    "ar", "bg", "cs", "da", "de", "el", "en", "es", "fi", "fil", "fr", "hi", "hr", "id", "it", "ja", "ko", "ms", "nl",
    "pl", "pt", "ro", "ru", "sk", "sv", "ta", "tl", "tr", "uk", "zh",
];

/// The speeds the API takes (`voice_settings.speed`).
const SPEEDS: (f32, f32) = (0.7, 1.2);
const SAMPLE_RATE: u32 = 22_050;

/// ElevenLabs over its HTTP API.
#[derive(Debug, Clone)]
pub struct ElevenLabsVoice {
    pub config: CloudVoiceConfig,
    client: reqwest::Client,
}

impl ElevenLabsVoice {
    pub fn new(config: CloudVoiceConfig) -> Self {
        Self { config, client: cloud::client() }
    }

    /// The request body for `text` at `rate`.
    pub fn body(&self, text: &str, rate: f32) -> serde_json::Value {
        serde_json::json!({
            "text": text,
            "model_id": self.config.model,
            "voice_settings": {"speed": (rate.clamp(SPEEDS.0, SPEEDS.1) as f64 * 100.0).round() / 100.0},
        })
    }
}

/// A voice id is letters and digits (it goes into the URL path).
fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl KnowsVoices for ElevenLabsVoice {
    fn has_voice(&self, name: &str, language: &str) -> bool {
        valid_id(name) && self.speaks(language)
    }
}

#[derive(serde::Deserialize)]
struct Answer {
    audio_base64: String,
    #[serde(default)]
    alignment: Option<Alignment>,
}

#[derive(serde::Deserialize)]
struct Alignment {
    characters: Vec<String>,
    character_start_times_seconds: Vec<f64>,
    character_end_times_seconds: Vec<f64>,
}

/// Words from per-character times (see the module doc), clamped to `duration_ms`; `None` when the
/// alignment is inconsistent (lengths differ, a time is negative or not a number).
fn words_from_alignment(a: &Alignment, duration_ms: u32) -> Option<Vec<WordTiming>> {
    let n = a.characters.len();
    if a.character_start_times_seconds.len() != n || a.character_end_times_seconds.len() != n {
        return None;
    }
    let ms = |s: f64| (s.is_finite() && s >= 0.0).then(|| ((s * 1000.0).round() as u32).min(duration_ms));
    let mut words = Vec::new();
    let mut current: Option<WordTiming> = None;
    for i in 0..n {
        let (start, end) = (ms(a.character_start_times_seconds[i])?, ms(a.character_end_times_seconds[i])?);
        let ch = &a.characters[i];
        if ch.chars().all(char::is_whitespace) {
            words.extend(current.take());
            continue;
        }
        match &mut current {
            Some(w) => {
                w.word.push_str(ch);
                w.end_ms = w.end_ms.max(end);
            }
            None => current = Some(WordTiming { word: ch.clone(), start_ms: start, end_ms: end.max(start) }),
        }
    }
    words.extend(current);
    // Keep them in order and non-overlapping, as every voice's timings are.
    let mut last = 0;
    for w in &mut words {
        w.start_ms = w.start_ms.max(last);
        w.end_ms = w.end_ms.max(w.start_ms + 1).min(duration_ms.max(w.start_ms + 1));
        last = w.end_ms;
    }
    Some(words)
}

#[async_trait]
impl Voice for ElevenLabsVoice {
    fn name(&self) -> String {
        format!("elevenlabs:{}", self.config.voice)
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
        let rate = checked_rate(&provider, request.rate)?;
        let voice = request.voice.unwrap_or(&self.config.voice);
        if !valid_id(voice) {
            return Err(super::engine::rejected(&provider, format!("{voice:?} is no ElevenLabs voice id")));
        }
        let key = cloud::key(&provider, self.config.api_key.as_ref(), "TRUEREEL_ELEVENLABS_API_KEY")?;
        let url = format!(
            "{}/v1/text-to-speech/{voice}/with-timestamps?output_format=pcm_{SAMPLE_RATE}",
            self.config.base_url.trim_end_matches('/')
        );
        let body = serde_json::to_vec(&self.body(&text, rate)).expect("JSON");
        let request = self
            .client
            .post(url)
            .header("xi-api-key", key)
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(body);
        let answer = cloud::send(&provider, request).await?;
        let answer: Answer = serde_json::from_slice(&answer)
            .map_err(|e| cloud::invalid(&provider, format!("the answer is not the JSON asked for: {e}")))?;
        let audio = base64::engine::general_purpose::STANDARD
            .decode(answer.audio_base64.trim())
            .map_err(|e| cloud::invalid(&provider, format!("audio_base64 is not base64: {e}")))?;
        let pcm = pcm_s16le(&provider, &audio, SAMPLE_RATE)?;
        let duration_ms = pcm.duration_ms();
        match answer.alignment.as_ref().and_then(|a| words_from_alignment(a, duration_ms)) {
            Some(words) if !words.is_empty() => Ok(Speech { wav: write_wav(&pcm), duration_ms, words }),
            _ => {
                tracing::warn!(provider = %provider, "no usable alignment: word timings estimated");
                speech_from_pcm(&provider, pcm, &text)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::engine::tests::assert_timings_sane;
    use super::*;
    use crate::config::Secret;
    use crate::testing::{Reply, TestServer};
    use std::time::Duration;

    fn voice(server: &TestServer) -> ElevenLabsVoice {
        let mut config = crate::config::Config::default().voice.elevenlabs;
        config.base_url = server.url("");
        config.api_key = Some(Secret::new("xi-test-key"));
        config.voice = "voice1".into();
        ElevenLabsVoice::new(config)
    }

    const PATH: &str = "/v1/text-to-speech/voice1/with-timestamps?output_format=pcm_22050";

    /// 22.05 kHz PCM: `ms` of a tone, and an alignment for "Made to last." spread over it.
    fn answer(ms: u32) -> Vec<u8> {
        let n = (SAMPLE_RATE as u64 * ms as u64 / 1000) as usize;
        let pcm: Vec<u8> = (0..n).flat_map(|i| (((i as f64 * 0.06).sin() * 8000.0) as i16).to_le_bytes()).collect();
        let text = "Made to last.";
        let step = ms as f64 / 1000.0 / text.chars().count() as f64;
        let chars: Vec<String> = text.chars().map(String::from).collect();
        let starts: Vec<f64> = (0..chars.len()).map(|i| i as f64 * step).collect();
        let ends: Vec<f64> = starts.iter().map(|s| s + step).collect();
        serde_json::to_vec(&serde_json::json!({
            "audio_base64": base64::engine::general_purpose::STANDARD.encode(pcm),
            "alignment": {"characters": chars, "character_start_times_seconds": starts, "character_end_times_seconds": ends},
            "normalized_alignment": null,
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn a_line_comes_back_as_wav_with_the_words_timed_by_the_alignment() {
        let server = TestServer::start().await;
        server.route(PATH, Reply::ok(answer(1300)).header("Content-Type", "application/json"));
        let v = voice(&server);
        let s = v.speak(&SpeechRequest::english("Made to last.")).await.unwrap();
        assert_eq!(s.duration_ms, 1300);
        assert_eq!(crate::media::parse_wav(&s.wav).unwrap().sample_rate, SAMPLE_RATE);
        let words: Vec<(&str, u32, u32)> = s.words.iter().map(|w| (w.word.as_str(), w.start_ms, w.end_ms)).collect();
        assert_eq!(words, [("Made", 0, 400), ("to", 500, 700), ("last.", 800, 1300)]);
        assert_timings_sane(&s, 3);
        let sent = &server.requests_to("/v1/text-to-speech/voice1/with-timestamps")[0];
        assert_eq!((sent.method.as_str(), sent.header("xi-api-key")), ("POST", Some("xi-test-key")));
        assert_eq!(sent.header("content-type"), Some("application/json"));
        let body = v.body("Made to last.", 2.0);
        assert_eq!(body["model_id"], "eleven_multilingual_v2");
        assert_eq!(body["voice_settings"]["speed"], 1.2, "clamped to what the API takes");
        assert_eq!(v.price(&"x".repeat(1000)), Usd::from_dollars(0.3));
        assert!(v.speaks("ja") && v.speaks("ar") && !v.speaks("xx"));
    }

    #[tokio::test]
    async fn busy_overloaded_broken_and_refused_answers() {
        let server = TestServer::start().await;
        let v = voice(&server);
        let line = SpeechRequest::english("Made to last.");
        let busy = r#"{"detail":{"status":"too_many_concurrent_requests","message":"Too many concurrent requests"}}"#;
        server.route(PATH, Reply::status(429).header("Retry-After", "4").body(busy));
        let e = v.speak(&line).await.unwrap_err();
        assert_eq!((e.is_retryable(), e.retry_after()), (true, Some(Duration::from_secs(4))), "{e}");
        assert!(e.to_string().contains("too_many_concurrent_requests"), "{e}");
        server.route(PATH, Reply::status(429).body(r#"{"detail":{"status":"system_busy","message":"busy"}}"#));
        let e = v.speak(&line).await.unwrap_err();
        assert!(e.is_retryable() && e.retry_after().is_none() && e.to_string().contains("system_busy"), "{e}");
        server.route(PATH, Reply::status(503).body("upstream down"));
        assert!(v.speak(&line).await.unwrap_err().is_retryable());
        server.route(PATH, Reply::ok("{\"audio_base64\": \"not base64!\"}"));
        assert!(matches!(v.speak(&line).await, Err(ProviderError::Invalid { .. })));
        server.route(PATH, Reply::ok("<html>"));
        assert!(matches!(v.speak(&line).await, Err(ProviderError::Invalid { .. })));
        server.route(PATH, Reply::status(401).body(r#"{"detail":{"status":"invalid_api_key","message":"bad key"}}"#));
        let e = v.speak(&line).await.unwrap_err();
        assert!(
            matches!(e, ProviderError::Rejected { moderation: false, .. }) && !e.to_string().contains("xi-test-key")
        );
        let refused = r#"{"detail":{"status":"content_against_policy","message":"This request violates our terms"}}"#;
        server.route(PATH, Reply::status(400).body(refused));
        assert!(matches!(v.speak(&line).await, Err(ProviderError::Rejected { moderation: true, .. })));
        let before = server.requests().len();
        let odd = SpeechRequest { voice: Some("../../v1/user"), ..line };
        assert!(matches!(v.speak(&odd).await, Err(ProviderError::Rejected { .. })), "a voice id is checked");
        let mut keyless = v.clone();
        keyless.config.api_key = None;
        let e = keyless.speak(&line).await.unwrap_err();
        assert!(e.to_string().contains("TRUEREEL_ELEVENLABS_API_KEY"), "{e}");
        assert_eq!(server.requests().len(), before, "neither was sent");
    }

    #[tokio::test]
    async fn an_answer_without_alignment_keeps_its_audio_with_estimated_timings() {
        let server = TestServer::start().await;
        let mut json: serde_json::Value = serde_json::from_slice(&answer(1000)).unwrap();
        json["alignment"] = serde_json::Value::Null;
        server.route(PATH, Reply::ok(serde_json::to_vec(&json).unwrap()));
        let s = voice(&server).speak(&SpeechRequest::english("Made to last.")).await.unwrap();
        assert_eq!(s.duration_ms, 1000);
        assert_timings_sane(&s, 3);
    }
}
