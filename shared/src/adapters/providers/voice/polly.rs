//! Amazon Polly through the AWS SDK: natural on AWS (the function's role signs; no key to keep).
//!
//! Each line is two `SynthesizeSpeech` calls with the same text, voice and engine: `OutputFormat: pcm`
//! (16-bit mono at 16 kHz, made a WAV here) for the audio, then `OutputFormat: json` with
//! `SpeechMarkTypes: [word]` for the word marks, line-delimited JSON like
//! `{"time":373,"type":"word","start":5,"end":8,"value":"had"}` (`time` in ms, `start`/`end` byte
//! offsets into the text). A word starts at its mark and ends where the next one starts (the last at the
//! end of the measured speech). The calls are made one after the other: a line whose audio failed
//! costs no marks call. A line with no usable marks keeps its audio with estimated timings. A rate
//! other than 1 sends the text as SSML, `<prosody rate="125%">` (escaped).
//!
//! The SDK's own retries are off: a throttle (429, `ThrottlingException`) or a service failure (5xx)
//! is Retryable, with `Retry-After` when sent, and the stage's attempts decide, as for every provider.
//! Other refusals (bad voice, text too long, engine not supported, no permission) are Rejected.
//!
//! The voice: `TRUEREEL_POLLY_VOICE` for its own language, else the first voice of [`VOICES`] for the
//! language; a brand's voice is any Polly VoiceId (one in the table must speak the line's language;
//! one not in it is left to Polly to accept). Price: per character, both calls counted
//! (`TRUEREEL_POLLY_USD_PER_MILLION_CHARS`, else the engine's list price).

use super::by_language::KnowsVoices;
use super::cloud;
use super::engine::{checked_rate, checked_text, pcm_s16le, primary_language, rejected, retryable, speech_from_pcm};
use crate::config::{AwsConfig, PollyConfig};
use crate::media::write_wav;
use crate::ports::{ProviderError, Speech, SpeechRequest, Voice};
use crate::{Usd, WordTiming};
use async_trait::async_trait;
use aws_sdk_polly::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_polly::types::{Engine, LanguageCode, OutputFormat, SpeechMarkType, TextType, VoiceId};

/// Polly voices by language (BCP 47 primary tag, VoiceId, the LanguageCode a bilingual voice needs),
/// neural ones, the first of a language its default.
pub const VOICES: &[(&str, &str, Option<&str>)] = &[
    ("en", "Joanna", None),
    ("en", "Matthew", None),
    ("en", "Amy", None),
    ("en", "Brian", None),
    ("ja", "Takumi", None),
    ("ja", "Kazuha", None),
    ("ar", "Hala", None),
    ("de", "Vicki", None),
    ("fr", "Lea", None),
    ("es", "Lucia", None),
    ("it", "Bianca", None),
    ("pt", "Ines", None),
    ("pt", "Camila", None),
    ("nl", "Laura", None),
    ("pl", "Ola", None),
    ("sv", "Elin", None),
    ("da", "Sofie", None),
    ("fi", "Suvi", None),
    ("nb", "Ida", None),
    ("no", "Ida", None),
    ("tr", "Burcu", None),
    ("ko", "Seoyeon", None),
    ("zh", "Zhiyu", None),
    ("hi", "Kajal", Some("hi-IN")),
    ("ca", "Arlet", None),
];

/// Polly's list prices per million characters, by engine (us-east-1).
pub fn list_price(engine: &str) -> Usd {
    Usd::from_dollars(match engine {
        "standard" => 4.0,
        "generative" => 30.0,
        "long-form" => 100.0,
        _ => 16.0,
    })
}

const SAMPLE_RATE: u32 = 16_000;

/// Where the SDK client comes from: given (tests, a loaded SDK configuration) or built at first use.
#[derive(Debug)]
enum ClientSource {
    Ready(aws_sdk_polly::Client),
    Lazy(AwsConfig, tokio::sync::OnceCell<aws_sdk_polly::Client>),
}

/// Amazon Polly.
#[derive(Debug)]
pub struct PollyVoice {
    pub config: PollyConfig,
    client: ClientSource,
}

impl PollyVoice {
    /// Polly on an SDK configuration (its credentials, region and endpoint), SDK retries off.
    pub fn new(sdk: &aws_config::SdkConfig, config: PollyConfig) -> Self {
        Self { config, client: ClientSource::Ready(client(sdk)) }
    }

    /// Polly whose SDK configuration is loaded at the first line (so wiring stays synchronous).
    pub fn lazy(aws: AwsConfig, config: PollyConfig) -> Self {
        Self { config, client: ClientSource::Lazy(aws, tokio::sync::OnceCell::new()) }
    }

    async fn client(&self) -> &aws_sdk_polly::Client {
        match &self.client {
            ClientSource::Ready(c) => c,
            ClientSource::Lazy(aws, cell) => cell.get_or_init(|| async { client(&aws.sdk_config().await) }).await,
        }
    }

    /// The configured voice's language (from [`VOICES`]; `en` for a voice not in it).
    fn own_language(&self) -> &str {
        VOICES.iter().find(|(_, v, _)| v.eq_ignore_ascii_case(&self.config.voice)).map_or("en", |(l, _, _)| l)
    }

    /// The VoiceId (and LanguageCode) for `language`, or the named voice if it speaks it.
    fn voice_for(&self, language: &str, named: Option<&str>) -> Option<(String, Option<&'static str>)> {
        let language = primary_language(language);
        let listed = |name: &str| VOICES.iter().find(|(_, v, _)| v.eq_ignore_ascii_case(name));
        match named {
            Some(name) => match listed(name) {
                Some(&(l, v, code)) => (l == language).then(|| (v.to_string(), code)),
                // A voice the table does not list: Polly decides.
                None => self.speaks(&language).then(|| (name.to_string(), None)),
            },
            None if self.own_language() == language => {
                Some((self.config.voice.clone(), listed(&self.config.voice).and_then(|(_, _, c)| *c)))
            }
            None => VOICES.iter().find(|(l, _, _)| *l == language).map(|&(_, v, c)| (v.to_string(), c)),
        }
    }

    /// One `SynthesizeSpeech` call's bytes (`text` is SSML when `ssml`).
    async fn synthesize(
        &self,
        provider: &str,
        (text, ssml): (&str, bool),
        voice: &str,
        code: Option<&str>,
        format: OutputFormat,
    ) -> Result<Vec<u8>, ProviderError> {
        let mut call = self
            .client()
            .await
            .synthesize_speech()
            .text(text)
            .text_type(if ssml { TextType::Ssml } else { TextType::Text })
            .voice_id(VoiceId::from(voice))
            .engine(Engine::from(self.config.engine.as_str()))
            .output_format(format.clone());
        if let Some(code) = code {
            call = call.language_code(LanguageCode::from(code));
        }
        call = match format {
            OutputFormat::Json => call.speech_mark_types(SpeechMarkType::Word),
            _ => call.sample_rate(SAMPLE_RATE.to_string()),
        };
        let out = call.send().await.map_err(|e| sdk_error(provider, e))?;
        let bytes =
            out.audio_stream.collect().await.map_err(|e| retryable(provider, format!("reading the answer: {e}")))?;
        Ok(bytes.into_bytes().to_vec())
    }
}

/// The Polly client for `sdk`, its own retries off (see the module doc).
fn client(sdk: &aws_config::SdkConfig) -> aws_sdk_polly::Client {
    let config = aws_sdk_polly::config::Builder::from(sdk)
        .retry_config(aws_sdk_polly::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_polly::Client::from_conf(config)
}

/// Maps an SDK failure to a [`ProviderError`] (see the module doc).
fn sdk_error<E>(provider: &str, e: SdkError<E, aws_sdk_polly::config::http::HttpResponse>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (status, retry_after) = match e.raw_response() {
        Some(r) => (r.status().as_u16(), r.headers().get("retry-after").and_then(cloud::parse_retry_after)),
        None => (0, None),
    };
    let code = e.code().unwrap_or_default().to_string();
    let message = format!(
        "HTTP {status} {code}: {}",
        e.message().map(str::to_string).unwrap_or_else(|| aws_sdk_polly::error::DisplayErrorContext(&e).to_string())
    );
    let throttled = status == 429 || code.contains("Throttl") || code == "TooManyRequestsException";
    match &e {
        SdkError::ServiceError(_) if throttled || status >= 500 || code == "ServiceFailureException" => {
            ProviderError::Retryable { provider: provider.into(), message, retry_after }
        }
        SdkError::ServiceError(_) => ProviderError::Rejected { provider: provider.into(), message, moderation: false },
        SdkError::ResponseError(_) => ProviderError::Invalid { provider: provider.into(), message },
        SdkError::ConstructionFailure(_) => {
            ProviderError::Rejected { provider: provider.into(), message, moderation: false }
        }
        // Dispatch failures and timeouts: nothing was answered.
        _ => ProviderError::Retryable {
            provider: provider.into(),
            message: aws_sdk_polly::error::DisplayErrorContext(&e).to_string(),
            retry_after: None,
        },
    }
}

/// `text` (plain) as SSML spoken at `rate` (`<prosody rate="125%">`).
fn ssml_at_rate(text: &str, rate: f32) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            c => escaped.push(c),
        }
    }
    format!("<speak><prosody rate=\"{}%\">{escaped}</prosody></speak>", (rate * 100.0).round() as u32)
}

/// One speech mark.
#[derive(serde::Deserialize)]
struct Mark {
    time: u64,
    #[serde(rename = "type")]
    kind: String,
    value: String,
}

/// Word timings from the marks (see the module doc); `None` when there are none or they are not JSON.
fn words_from_marks(marks: &[u8], speech_end_ms: u32, duration_ms: u32) -> Option<Vec<WordTiming>> {
    let mut starts = Vec::new();
    for line in String::from_utf8_lossy(marks).lines().filter(|l| !l.trim().is_empty()) {
        let mark: Mark = serde_json::from_str(line).ok()?;
        if mark.kind == "word" {
            starts.push(((mark.time.min(duration_ms as u64)) as u32, mark.value));
        }
    }
    if starts.is_empty() {
        return None;
    }
    let mut words = Vec::with_capacity(starts.len());
    for (i, (start, word)) in starts.iter().enumerate() {
        let next = starts.get(i + 1).map_or(speech_end_ms.max(*start + 1), |(s, _)| *s);
        let start = (*start).max(words.last().map_or(0, |w: &WordTiming| w.end_ms));
        let end = next.max(start + 1).min(duration_ms.max(start + 1));
        words.push(WordTiming { word: word.clone(), start_ms: start, end_ms: end });
    }
    Some(words)
}

impl KnowsVoices for PollyVoice {
    fn has_voice(&self, name: &str, language: &str) -> bool {
        self.voice_for(language, Some(name)).is_some()
    }
}

#[async_trait]
impl Voice for PollyVoice {
    fn name(&self) -> String {
        format!("polly:{}", self.config.voice)
    }

    fn price(&self, text: &str) -> Usd {
        let per_million = self.config.usd_per_million_chars.unwrap_or_else(|| list_price(&self.config.engine));
        cloud::per_char(per_million, 2 * text.trim().chars().count())
    }

    fn speaks(&self, language: &str) -> bool {
        let language = primary_language(language);
        self.own_language() == language || VOICES.iter().any(|(l, _, _)| *l == language)
    }

    fn words_per_second(&self, _language: &str) -> f32 {
        cloud::WORDS_PER_SECOND
    }

    async fn speak(&self, request: &SpeechRequest<'_>) -> Result<Speech, ProviderError> {
        let provider = self.name();
        let text = checked_text(&provider, request.text)?;
        let rate = checked_rate(&provider, request.rate)?;
        // Another rate is SSML prosody (the marks' values are still the words; their offsets, unused, count the markup).
        let input = if rate == 1.0 { (text.clone(), false) } else { (ssml_at_rate(&text, rate), true) };
        let input = (input.0.as_str(), input.1);
        let Some((voice, code)) = self.voice_for(request.language, request.voice) else {
            let wanted = request.voice.map(|v| format!("{v:?} ")).unwrap_or_default();
            return Err(rejected(
                &provider,
                format!("Polly has no voice {wanted}for the language {:?}", request.language),
            ));
        };
        let audio = self.synthesize(&provider, input, &voice, code, OutputFormat::Pcm).await?;
        let pcm = pcm_s16le(&provider, &audio, SAMPLE_RATE)?;
        let marks = self.synthesize(&provider, input, &voice, code, OutputFormat::Json).await?;
        let (duration_ms, span) = (pcm.duration_ms(), pcm.speech_span_ms());
        match words_from_marks(&marks, span.1, duration_ms) {
            Some(words) => Ok(Speech { wav: write_wav(&pcm), duration_ms, words }),
            None => {
                tracing::warn!(provider = %provider, "no usable speech marks: word timings estimated");
                speech_from_pcm(&provider, pcm, &text)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::engine::tests::assert_timings_sane;
    use super::*;
    use crate::testing::{Reply, TestServer};
    use std::time::Duration;

    fn polly(server: &TestServer) -> PollyVoice {
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(server.url(""))
            .credentials_provider(aws_sdk_polly::config::SharedCredentialsProvider::new(
                aws_sdk_polly::config::Credentials::new("testing", "testing", None, None, "test"),
            ))
            .build();
        PollyVoice::new(&sdk, crate::config::Config::default().voice.polly)
    }

    /// 16 kHz PCM: 100 ms of silence, `ms` of a tone, 200 ms of silence.
    fn pcm(ms: u32) -> Vec<u8> {
        let n = |ms: u32| (SAMPLE_RATE * ms / 1000) as usize;
        let tone = (0..n(ms)).map(|i| ((i as f64 * 0.07).sin() * 9000.0) as i16);
        std::iter::repeat_n(0i16, n(100))
            .chain(tone)
            .chain(std::iter::repeat_n(0, n(200)))
            .flat_map(i16::to_le_bytes)
            .collect()
    }

    const MARKS: &str = "{\"time\":110,\"type\":\"word\",\"start\":0,\"end\":4,\"value\":\"Made\"}\n\
                         {\"time\":480,\"type\":\"word\",\"start\":5,\"end\":7,\"value\":\"to\"}\n\
                         {\"time\":700,\"type\":\"word\",\"start\":8,\"end\":12,\"value\":\"last\"}\n";

    #[tokio::test]
    async fn audio_and_word_marks_make_one_line() {
        let server = TestServer::start().await;
        server.sequence(
            "/v1/speech",
            [
                Reply::ok(pcm(1000)).header("Content-Type", "audio/pcm").header("x-amzn-RequestCharacters", "13"),
                Reply::ok(MARKS)
                    .header("Content-Type", "application/x-json-stream")
                    .header("x-amzn-RequestCharacters", "13"),
            ],
        );
        let v = polly(&server);
        assert_eq!(v.name(), "polly:Joanna");
        let s = v.speak(&SpeechRequest::english("Made to last.")).await.unwrap();
        assert_eq!(s.duration_ms, 1300);
        assert_eq!(crate::media::parse_wav(&s.wav).unwrap().sample_rate, SAMPLE_RATE);
        let words: Vec<(&str, u32, u32)> = s.words.iter().map(|w| (w.word.as_str(), w.start_ms, w.end_ms)).collect();
        assert_eq!(&words[..2], [("Made", 110, 480), ("to", 480, 700)]);
        assert_eq!((words[2].0, words[2].1), ("last", 700));
        assert!((1080..=1110).contains(&words[2].2), "the last word ends with the speech: {words:?}");
        assert_timings_sane(&s, 3);
        let sent = server.requests_to("/v1/speech");
        assert_eq!(sent.len(), 2);
        assert!(sent.iter().all(
            |r| r.method == "POST" && r.header("authorization").is_some_and(|a| a.starts_with("AWS4-HMAC-SHA256"))
        ));
        // Two calls of 13 characters at the neural list price ($16 a million).
        assert_eq!(v.price("Made to last."), Usd(416));
        assert!(v.speaks("ja") && v.speaks("ar") && !v.speaks("xx"));
        assert_eq!(v.voice_for("ja", None), Some(("Takumi".into(), None)));
        assert_eq!(v.voice_for("hi", None), Some(("Kajal".into(), Some("hi-IN"))));
        assert!(v.has_voice("Matthew", "en") && !v.has_voice("Matthew", "ja") && v.has_voice("Ruth", "en"));
        assert_eq!(
            ssml_at_rate("Tees & <hoodies>", 1.25),
            "<speak><prosody rate=\"125%\">Tees &amp; &lt;hoodies&gt;</prosody></speak>"
        );
    }

    fn error(status: u16, kind: &str) -> Reply {
        Reply::status(status)
            .header("Content-Type", "application/json")
            .header("x-amzn-ErrorType", kind)
            .body(format!("{{\"message\":\"{kind} happened\"}}"))
    }

    #[tokio::test]
    async fn throttles_failures_garbage_and_refusals() {
        let server = TestServer::start().await;
        let v = polly(&server);
        let line = SpeechRequest::english("Made to last.");
        server.route("/v1/speech", error(429, "ThrottlingException").header("Retry-After", "3"));
        let e = v.speak(&line).await.unwrap_err();
        assert_eq!((e.is_retryable(), e.retry_after()), (true, Some(Duration::from_secs(3))), "{e}");
        assert_eq!(server.requests_to("/v1/speech").len(), 1, "the SDK does not retry by itself");
        server.route("/v1/speech", error(500, "ServiceFailureException"));
        assert!(v.speak(&line).await.unwrap_err().is_retryable());
        server.route("/v1/speech", error(400, "TextLengthExceededException"));
        let e = v.speak(&line).await.unwrap_err();
        assert!(
            matches!(e, ProviderError::Rejected { .. }) && e.to_string().contains("TextLengthExceededException"),
            "{e}"
        );
        server.route("/v1/speech", error(403, "AccessDeniedException"));
        assert!(matches!(v.speak(&line).await, Err(ProviderError::Rejected { .. })));
        server.route("/v1/speech", Reply::ok(vec![7u8; 3]));
        assert!(matches!(v.speak(&line).await, Err(ProviderError::Invalid { .. })), "odd bytes of audio");
        // Audio, then marks that are not JSON: the audio stays, timings are estimated.
        server.sequence("/v1/speech", [Reply::ok(pcm(800)), Reply::ok("not json")]);
        let s = v.speak(&line).await.unwrap();
        assert_timings_sane(&s, 3);
        let e = v.speak(&SpeechRequest { language: "xx", ..line }).await.unwrap_err();
        assert!(e.to_string().contains("\"xx\""), "{e}");
    }
}
