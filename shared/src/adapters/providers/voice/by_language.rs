//! The copy's language picks the voice: an ordered list of voices behind one [`Voice`].
//!
//! `speak` uses the first voice that speaks the line's language (and, when the brand names a voice,
//! the first of those that has that voice for the language). A language none of them speaks, or a
//! named voice none of them has for it, is Rejected with a message that names the language, the
//! voice and every voice tried: a clear error on that one product, not a retry. `speaks` is true if
//! any voice speaks the language; `words_per_second` and `price` are those of the voice that would
//! speak (`price`, which is not told the language, is the dearest voice's: a budget is never
//! under-counted). `name` lists the voices, in order, joined by `,`.

use crate::Usd;
use crate::ports::{ProviderError, Speech, SpeechRequest, Voice};
use async_trait::async_trait;
use std::sync::Arc;

/// A voice that can tell whether it has a voice of a given name for a language (the router asks
/// before it hands a brand's named voice to an engine).
pub trait KnowsVoices: Voice {
    /// Whether `name` is one of this engine's voices and speaks `language` (a BCP 47 primary tag).
    fn has_voice(&self, name: &str, language: &str) -> bool;
}

/// Voices in order of preference; the first that speaks the line's language speaks it.
#[derive(Clone)]
pub struct ByLanguage {
    voices: Vec<Arc<dyn KnowsVoices>>,
}

impl std::fmt::Debug for ByLanguage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ByLanguage").field("voices", &self.voices.iter().map(|v| v.name()).collect::<Vec<_>>()).finish()
    }
}

impl ByLanguage {
    pub fn new(voices: Vec<Arc<dyn KnowsVoices>>) -> Self {
        assert!(!voices.is_empty(), "a router needs a voice");
        Self { voices }
    }

    /// The voice that would speak `request` (see the module doc), or why none would.
    pub fn choose(&self, request: &SpeechRequest<'_>) -> Result<&Arc<dyn KnowsVoices>, ProviderError> {
        let language = super::engine::primary_language(request.language);
        let speaking: Vec<&Arc<dyn KnowsVoices>> = self.voices.iter().filter(|v| v.speaks(&language)).collect();
        let tried = self.voices.iter().map(|v| v.name()).collect::<Vec<_>>().join(", ");
        let reject = |message: String| ProviderError::Rejected { provider: self.name(), message, moderation: false };
        if speaking.is_empty() {
            return Err(reject(format!("no voice speaks the language {language:?} (tried {tried})")));
        }
        match request.voice {
            None => Ok(speaking[0]),
            Some(name) => speaking.into_iter().find(|v| v.has_voice(name, &language)).ok_or_else(|| {
                reject(format!(
                    "no voice named {name:?} speaks the language {language:?} (tried {tried}); name one of theirs \
                     for this language in the brand kit, or none to let the language choose"
                ))
            }),
        }
    }
}

#[async_trait]
impl Voice for ByLanguage {
    fn name(&self) -> String {
        self.voices.iter().map(|v| v.name()).collect::<Vec<_>>().join(",")
    }

    fn price(&self, text: &str) -> Usd {
        self.voices.iter().map(|v| v.price(text)).max_by_key(|u| u.0).unwrap_or(Usd::ZERO)
    }

    fn speaks(&self, language: &str) -> bool {
        self.voices.iter().any(|v| v.speaks(language))
    }

    fn words_per_second(&self, language: &str) -> f32 {
        let voice = self.voices.iter().find(|v| v.speaks(language)).unwrap_or(&self.voices[0]);
        voice.words_per_second(language)
    }

    async fn speak(&self, request: &SpeechRequest<'_>) -> Result<Speech, ProviderError> {
        let voice = self.choose(request)?;
        tracing::debug!(voice = %voice.name(), language = request.language, "speaking a line");
        voice.speak(request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A voice that speaks some languages, has some named voices, and says who it is in the audio.
    struct Fake {
        name: &'static str,
        languages: &'static [&'static str],
        voices: &'static [&'static str],
        price: i64,
    }

    impl KnowsVoices for Fake {
        fn has_voice(&self, name: &str, language: &str) -> bool {
            self.voices.contains(&name) && self.languages.contains(&language)
        }
    }

    #[async_trait]
    impl Voice for Fake {
        fn name(&self) -> String {
            self.name.into()
        }
        fn price(&self, _text: &str) -> Usd {
            Usd(self.price)
        }
        fn speaks(&self, language: &str) -> bool {
            self.languages.contains(&language)
        }
        fn words_per_second(&self, _language: &str) -> f32 {
            self.price as f32
        }
        async fn speak(&self, _request: &SpeechRequest<'_>) -> Result<Speech, ProviderError> {
            Ok(Speech { wav: self.name.as_bytes().to_vec(), duration_ms: 1, words: vec![] })
        }
    }

    fn router() -> ByLanguage {
        ByLanguage::new(vec![
            Arc::new(Fake { name: "piper:joe", languages: &["en"], voices: &["joe", "amy"], price: 1 }),
            Arc::new(Fake {
                name: "espeak-ng:en-us",
                languages: &["en", "ja", "ar"],
                voices: &["en-gb", "ja"],
                price: 2,
            }),
        ])
    }

    async fn who(r: &ByLanguage, language: &str, voice: Option<&str>) -> Result<String, ProviderError> {
        let req = SpeechRequest { language, voice, ..SpeechRequest::english("Made to last.") };
        r.speak(&req).await.map(|s| String::from_utf8(s.wav).unwrap())
    }

    #[tokio::test]
    async fn the_first_voice_for_the_language_speaks() {
        let r = router();
        assert_eq!(r.name(), "piper:joe,espeak-ng:en-us");
        assert_eq!(who(&r, "en", None).await.unwrap(), "piper:joe");
        assert_eq!(who(&r, "ja", None).await.unwrap(), "espeak-ng:en-us");
        assert_eq!(who(&r, "en-GB", None).await.unwrap(), "piper:joe", "a region does not change the language");
        assert_eq!(who(&r, "en", Some("amy")).await.unwrap(), "piper:joe");
        assert_eq!(who(&r, "en", Some("en-gb")).await.unwrap(), "espeak-ng:en-us", "the voice that has the name");
        assert!(r.speaks("ar") && !r.speaks("de"));
        assert_eq!((r.words_per_second("en"), r.words_per_second("ja")), (1.0, 2.0));
        assert_eq!(r.price("anything"), Usd(2), "the dearest voice's price");
    }

    #[tokio::test]
    async fn a_language_or_a_name_no_voice_has_is_a_clear_rejection() {
        let r = router();
        let e = who(&r, "de", None).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { moderation: false, .. }), "{e:?}");
        assert!(!e.is_retryable());
        let text = e.to_string();
        assert!(text.contains("\"de\"") && text.contains("piper:joe") && text.contains("espeak-ng:en-us"), "{text}");
        let e = who(&r, "ja", Some("joe")).await.unwrap_err().to_string();
        assert!(e.contains("\"joe\"") && e.contains("\"ja\"") && e.contains("tried piper:joe, espeak-ng:en-us"), "{e}");
    }
}
