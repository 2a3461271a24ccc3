//! The copy's language picks the voice: an ordered list of voices behind one [`Voice`].
//!
//! `speak` uses the first voice that speaks the line's language (and, when the brand names a voice,
//! the first of those that has that voice for the language). A language none of them speaks, or a
//! named voice none of them has for it, is Rejected with a message that names the language, the
//! voice and every voice tried: a clear error on that one product, not a retry. `speaks` is true if
//! any voice speaks the language; `words_per_second` and `price` are those of the voice that would
//! speak (`price`, which is not told the language, is the dearest voice's: a budget is never
//! under-counted). `name` lists the voices, in order, joined by `,`. `speak_all` hands each voice all
//! of the lines it speaks at once (so Piper loads its model once for a script), in their order.

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
        self.chosen(request).map(|i| &self.voices[i])
    }

    /// Which of the voices [`choose`](Self::choose) picks, by its place in the list.
    fn chosen(&self, request: &SpeechRequest<'_>) -> Result<usize, ProviderError> {
        let language = super::engine::primary_language(request.language);
        let speaking: Vec<usize> = (0..self.voices.len()).filter(|&i| self.voices[i].speaks(&language)).collect();
        let tried = self.voices.iter().map(|v| v.name()).collect::<Vec<_>>().join(", ");
        let reject = |message: String| ProviderError::Rejected { provider: self.name(), message, moderation: false };
        if speaking.is_empty() {
            return Err(reject(format!("no voice speaks the language {language:?} (tried {tried})")));
        }
        match request.voice {
            None => Ok(speaking[0]),
            Some(name) => speaking.into_iter().find(|&i| self.voices[i].has_voice(name, &language)).ok_or_else(|| {
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

    /// Each line goes to the voice `speak` would give it; each voice is handed all of its lines at
    /// once (its own `speak_all`), and the speeches come back in the order of the requests. A line no
    /// voice speaks fails the lot before any is spoken.
    async fn speak_all(&self, requests: &[SpeechRequest<'_>]) -> Result<Vec<Speech>, ProviderError> {
        let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
        for (i, request) in requests.iter().enumerate() {
            let voice = self.chosen(request)?;
            match groups.iter_mut().find(|(v, _)| *v == voice) {
                Some((_, members)) => members.push(i),
                None => groups.push((voice, vec![i])),
            }
        }
        let mut out: Vec<Option<Speech>> = vec![None; requests.len()];
        for (voice, members) in groups {
            let voice = &self.voices[voice];
            let lines: Vec<SpeechRequest> = members.iter().map(|&i| requests[i]).collect();
            tracing::debug!(voice = %voice.name(), lines = lines.len(), "speaking lines");
            let speeches = voice.speak_all(&lines).await?;
            if speeches.len() != lines.len() {
                return Err(ProviderError::Invalid {
                    provider: voice.name(),
                    message: format!("{} speeches for {} lines", speeches.len(), lines.len()),
                });
            }
            for (i, speech) in members.into_iter().zip(speeches) {
                out[i] = Some(speech);
            }
        }
        Ok(out.into_iter().map(|s| s.expect("every line is in a group")).collect())
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
        /// The lines of each `speak_all` call.
        calls: std::sync::Mutex<Vec<Vec<String>>>,
    }

    fn fake(
        name: &'static str,
        languages: &'static [&'static str],
        voices: &'static [&'static str],
        price: i64,
    ) -> Fake {
        Fake { name, languages, voices, price, calls: Default::default() }
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
        async fn speak_all(&self, requests: &[SpeechRequest<'_>]) -> Result<Vec<Speech>, ProviderError> {
            self.calls.lock().unwrap().push(requests.iter().map(|r| r.text.to_string()).collect());
            let wav = |r: &SpeechRequest| format!("{} {}", self.name, r.text).into_bytes();
            Ok(requests.iter().map(|r| Speech { wav: wav(r), duration_ms: 1, words: vec![] }).collect())
        }
    }

    fn router() -> ByLanguage {
        ByLanguage::new(vec![
            Arc::new(fake("piper:joe", &["en"], &["joe", "amy"], 1)),
            Arc::new(fake("espeak-ng:en-us", &["en", "ja", "ar"], &["en-gb", "ja"], 2)),
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

    #[tokio::test]
    async fn a_script_goes_to_each_voice_at_once_and_comes_back_in_order() {
        let piper = Arc::new(fake("piper:joe", &["en"], &["joe"], 1));
        let espeak = Arc::new(fake("espeak-ng:en-us", &["en", "ja"], &["en-gb"], 2));
        let r = ByLanguage::new(vec![piper.clone(), espeak.clone()]);
        let line = |text, language| SpeechRequest { language, ..SpeechRequest::english(text) };
        let gb = SpeechRequest { voice: Some("en-gb"), ..line("five", "en") };
        let script = [line("one", "en"), line("two", "ja"), line("three", "en-US"), gb, line("four", "ja")];
        let spoken: Vec<String> =
            r.speak_all(&script).await.unwrap().into_iter().map(|s| String::from_utf8(s.wav).unwrap()).collect();
        assert_eq!(
            spoken,
            ["piper:joe one", "espeak-ng:en-us two", "piper:joe three", "espeak-ng:en-us five", "espeak-ng:en-us four"]
        );
        assert_eq!(*piper.calls.lock().unwrap(), [vec!["one", "three"]], "one call for all of a voice's lines");
        assert_eq!(*espeak.calls.lock().unwrap(), [vec!["two", "five", "four"]]);
        // A line no voice speaks fails the lot, before anything is spoken; no lines, no speeches.
        let e = r.speak_all(&[line("one", "en"), line("zwei", "de")]).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { .. }) && e.to_string().contains("\"de\""), "{e}");
        assert_eq!(piper.calls.lock().unwrap().len(), 1);
        assert!(r.speak_all(&[]).await.unwrap().is_empty());
    }

    /// The installed engines behind the router (Piper when it is installed, espeak-ng always): a
    /// script that changes language keeps its order.
    #[tokio::test]
    async fn installed_engines_keep_the_order_across_languages() {
        let mut voices: Vec<Arc<dyn KnowsVoices>> = Vec::new();
        if let Some(piper) = super::super::piper::tests::installed() {
            voices.push(Arc::new(piper));
        }
        voices.push(Arc::new(super::super::EspeakVoice::default()));
        let r = ByLanguage::new(voices);
        let line = |text, language| SpeechRequest { language, ..SpeechRequest::english(text) };
        let script = [
            line("Soft cotton hoodie, made to last in every season.", "en"),
            line("柔らかい コットン", "ja"),
            line("Tap to shop.", "en"),
        ];
        let speeches = r.speak_all(&script).await.unwrap();
        let words: Vec<usize> = speeches.iter().map(|s| s.words.len()).collect();
        assert_eq!(words, [9, 2, 3], "{speeches:?}");
        for (s, request) in speeches.iter().zip(&script) {
            let first = request.text.split_whitespace().next().unwrap();
            assert_eq!(s.words[0].word, first);
            super::super::engine::tests::assert_timings_sane(s, request.text.split_whitespace().count());
        }
        assert!(speeches[0].duration_ms > speeches[2].duration_ms, "the long line is the longer speech");
    }
}
