//! espeak-ng: robotic but always there, in about a hundred languages; its `[[phoneme]]` input is defused.
//!
//! **Which espeak voice speaks a language.** The installed voices are read once, at first use, from
//! `espeak-ng --voices` (columns: priority, language, gender, name, file, other languages such as
//! `(en 2)(zh 5)`). For a BCP 47 primary tag: the configured voice (`TRUEREEL_ESPEAK_VOICE`) when it is
//! that language's; else the voice espeak-ng itself ranks first for the tag: a voice whose language id
//! is the tag, else the lowest priority the listing gives the tag among a voice's other languages, else
//! a voice whose language id is a variety of the tag (the first listed on a tie). So `ja` → `ja`,
//! `ar` → `ar`, `fr` → `fr-fr`, `zh` → `cmn`, `no` → `nb`, `en` → `en-gb` (unless configured).
//! Debian 12's espeak-ng 1.51 has 131 voices (`af` … `yue`), Japanese and Arabic among them.
//!
//! A brand's voice (`request.voice`) is an espeak voice: its language id (`en-gb`) or its name
//! (`English_(Great_Britain)`), and it must speak the line's language.

use super::by_language::KnowsVoices;
use super::engine::{checked_rate, checked_text, primary_language, rejected, run_with_stdin, speech_from_wav};
use crate::Usd;
use crate::ports::{ProviderError, Speech, SpeechRequest, Voice};
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// espeak-ng's slowest and fastest speaking rates, words per minute.
const WPM: std::ops::RangeInclusive<u32> = 80..=450;

/// espeak-ng: robotic but always there.
#[derive(Debug, Clone, PartialEq)]
pub struct EspeakVoice {
    pub bin: PathBuf,
    /// The voice for its own language: `en-us`, `en-gb`, ...
    pub voice: String,
    pub words_per_minute: u32,
    /// The installed voices, read at first use.
    catalogue: Arc<OnceLock<Vec<EspeakEntry>>>,
}

/// One line of `espeak-ng --voices`.
#[derive(Debug, Clone, PartialEq)]
pub struct EspeakEntry {
    pub priority: u8,
    /// The voice's language id, which `-v` takes: `en-gb`, `ja`, `cmn`.
    pub language: String,
    /// `English_(Great_Britain)`.
    pub name: String,
    /// Other language tags it serves, with its priority for each: `[("en", 2)]`.
    pub other_languages: Vec<(String, u8)>,
}

impl EspeakEntry {
    /// How well this voice serves the primary tag `language` (lower is better; `None`: not at all):
    /// its priority when its language id is the tag, else its priority for the tag among its other
    /// languages, else (its language is a variety of the tag but it does not list the tag) last.
    fn rank(&self, language: &str) -> Option<u8> {
        if self.language == language {
            return Some(self.priority);
        }
        let listed = self.other_languages.iter().filter(|(tag, _)| tag == language).map(|(_, p)| *p).min();
        listed.or_else(|| (primary_language(&self.language) == language).then_some(self.priority.saturating_add(100)))
    }

    fn speaks(&self, language: &str) -> bool {
        primary_language(&self.language) == language
            || self.other_languages.iter().any(|(tag, _)| primary_language(tag) == language)
    }
}

/// Parses `espeak-ng --voices` (the header line and malformed lines are skipped).
pub fn parse_voices(listing: &str) -> Vec<EspeakEntry> {
    listing
        .lines()
        .filter_map(|line| {
            let mut cols = line.split_whitespace();
            let priority = cols.next()?.parse().ok()?;
            let language = cols.next()?.to_ascii_lowercase();
            let _gender = cols.next()?;
            let name = cols.next()?.to_string();
            let _file = cols.next()?;
            let rest: String = cols.collect::<Vec<_>>().join(" ");
            let other_languages = rest
                .split(['(', ')'])
                .filter_map(|part| {
                    let (tag, p) = part.trim().split_once(' ')?;
                    Some((tag.to_ascii_lowercase(), p.trim().parse().ok()?))
                })
                .collect();
            Some(EspeakEntry { priority, language, name, other_languages })
        })
        .collect()
}

impl Default for EspeakVoice {
    fn default() -> Self {
        Self::new("espeak-ng", "en-us", 165)
    }
}

impl EspeakVoice {
    pub fn new(bin: impl Into<PathBuf>, voice: impl Into<String>, words_per_minute: u32) -> Self {
        Self { bin: bin.into(), voice: voice.into(), words_per_minute, catalogue: Arc::default() }
    }

    /// The configured binary, voice and rate (`TRUEREEL_ESPEAK`, `TRUEREEL_ESPEAK_VOICE`, `TRUEREEL_ESPEAK_WPM`).
    pub fn from_config(c: &crate::config::VoiceConfig) -> Self {
        Self::new(c.espeak.clone(), c.espeak_voice.clone(), c.espeak_wpm)
    }

    /// The installed voices (`espeak-ng --voices`, run once; none if it cannot run, and then only the
    /// configured voice's language is spoken).
    pub fn catalogue(&self) -> &[EspeakEntry] {
        self.catalogue.get_or_init(|| list_voices(&self.bin))
    }

    fn entry(&self, name: &str) -> Option<&EspeakEntry> {
        self.catalogue().iter().find(|e| e.language.eq_ignore_ascii_case(name) || e.name.eq_ignore_ascii_case(name))
    }

    /// The configured voice's language (primary tag).
    fn own_language(&self) -> String {
        match self.entry(&self.voice) {
            Some(e) => primary_language(&e.language),
            None => primary_language(&self.voice),
        }
    }

    /// The `-v` value for `language` (a primary tag), if espeak-ng has a voice for it.
    pub fn voice_for(&self, language: &str) -> Option<String> {
        let language = primary_language(language);
        if self.own_language() == language {
            return Some(self.voice.clone());
        }
        let mut best: Option<(u8, &EspeakEntry)> = None;
        for e in self.catalogue() {
            if let Some(rank) = e.rank(&language)
                && best.is_none_or(|(b, _)| rank < b)
            {
                best = Some((rank, e));
            }
        }
        best.map(|(_, e)| e.language.clone())
    }
}

/// Runs `espeak-ng --voices` (a few milliseconds) and parses it.
fn list_voices(bin: &Path) -> Vec<EspeakEntry> {
    match std::process::Command::new(bin).arg("--voices").stdin(std::process::Stdio::null()).output() {
        Ok(out) if out.status.success() => parse_voices(&String::from_utf8_lossy(&out.stdout)),
        Ok(out) => {
            tracing::warn!(bin = %bin.display(), status = %out.status, "espeak-ng --voices failed: only the configured voice");
            Vec::new()
        }
        Err(e) => {
            tracing::warn!(bin = %bin.display(), error = %e, "cannot list espeak-ng voices: only the configured voice");
            Vec::new()
        }
    }
}

impl KnowsVoices for EspeakVoice {
    fn has_voice(&self, name: &str, language: &str) -> bool {
        let language = primary_language(language);
        match self.entry(name) {
            Some(e) => e.speaks(&language),
            None => name.eq_ignore_ascii_case(&self.voice) && self.own_language() == language,
        }
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
        self.voice_for(language).is_some()
    }

    fn words_per_second(&self, _language: &str) -> f32 {
        self.words_per_minute as f32 / 60.0
    }

    async fn speak(&self, request: &SpeechRequest<'_>) -> Result<Speech, ProviderError> {
        let provider = self.name();
        let text = checked_text(&provider, request.text)?;
        let rate = checked_rate(&provider, request.rate)?;
        let voice = match request.voice {
            Some(name) if self.has_voice(name, request.language) => {
                self.entry(name).map_or_else(|| name.to_string(), |e| e.language.clone())
            }
            Some(name) => {
                return Err(rejected(
                    &provider,
                    format!("espeak-ng has no voice {name:?} that speaks {:?}", request.language),
                ));
            }
            None => self.voice_for(request.language).ok_or_else(|| {
                rejected(&provider, format!("espeak-ng has no voice for the language {:?}", request.language))
            })?,
        };
        let wpm = ((self.words_per_minute as f32 * rate).round() as u32).clamp(*WPM.start(), *WPM.end());
        let args = ["-v".to_string(), voice, "-s".into(), wpm.to_string(), "--stdout".into(), "--stdin".into()];
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

    const LISTING: &str = "Pty Language       Age/Gender VoiceName          File                 Other Languages
 5  ar              --/M      Arabic             sem/ar
 5  cmn             --/M      Chinese_(Mandarin,_latin_as_English) sit/cmn              (zh-cmn 5)(zh 5)
 2  en-gb           --/M      English_(Great_Britain) gmw/en               (en 2)
 2  en-us           --/M      English_(America)  gmw/en-US            (en 3)
 5  fr-be           --/M      French_(Belgium)   roa/fr-BE            (fr 8)
 5  fr-fr           --/M      French_(France)    roa/fr               (fr 5)
 5  ja              --/M      Japanese           jpx/ja
 5  nb              --/M      Norwegian_Bokmål  gmq/nb               (no 5)
 5  yue             --/M      Chinese_(Cantonese) sit/yue              (zh-yue 5)(zh 8)
";

    fn listed(voice: &str) -> EspeakVoice {
        let v = EspeakVoice::new("/nonexistent/espeak-ng", voice, 165);
        v.catalogue.set(parse_voices(LISTING)).unwrap();
        v
    }

    #[test]
    fn a_language_gets_espeaks_own_first_choice_or_the_configured_voice() {
        assert_eq!(parse_voices(LISTING).len(), 9);
        assert_eq!(parse_voices(LISTING)[1].other_languages, [("zh-cmn".to_string(), 5), ("zh".to_string(), 5)]);
        let v = listed("en-us");
        let pick = |l: &str| v.voice_for(l);
        assert_eq!(pick("en").as_deref(), Some("en-us"), "the configured voice for its language");
        assert_eq!(listed("fr-be").voice_for("en").as_deref(), Some("en-gb"), "espeak's first choice");
        assert_eq!(pick("fr").as_deref(), Some("fr-fr"));
        assert_eq!((pick("ja").as_deref(), pick("ar").as_deref()), (Some("ja"), Some("ar")));
        assert_eq!((pick("zh").as_deref(), pick("no").as_deref()), (Some("cmn"), Some("nb")));
        assert_eq!(pick("ja-JP").as_deref(), Some("ja"));
        assert!(!v.speaks("xx") && v.speaks("ja"));
        assert!(v.has_voice("en-gb", "en") && v.has_voice("English_(Great_Britain)", "en"));
        assert!(!v.has_voice("en-gb", "ja") && !v.has_voice("klingon", "en"));
        // Without a listing (espeak-ng missing), only the configured voice's language.
        let bare = EspeakVoice::new("/nonexistent/espeak-ng", "en-us", 165);
        assert!(bare.speaks("en") && !bare.speaks("ja"));
    }

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
        let slow = SpeechRequest { rate: 0.6, ..SpeechRequest::english("Soft cotton hoodie, made to last.") };
        assert!(v.speak(&slow).await.unwrap().duration_ms > s.duration_ms * 14 / 10, "a slower rate speaks longer");
    }

    #[tokio::test]
    async fn japanese_and_arabic_copy_is_spoken_by_the_installed_espeak() {
        let v = EspeakVoice::default();
        assert!(v.speaks("ja") && v.speaks("ar"), "Debian's espeak-ng has ja and ar: {:?}", v.voice_for("ja"));
        for (language, text, words) in [("ja", "柔らかい コットンの パーカー", 3), ("ar", "قميص قطني ناعم", 3)]
        {
            let s = v.speak(&SpeechRequest { language, ..SpeechRequest::english(text) }).await.unwrap();
            assert!(s.duration_ms > 500, "{language}: {} ms", s.duration_ms);
            assert_timings_sane(&s, words);
        }
        let named = SpeechRequest { voice: Some("en-gb"), ..SpeechRequest::english("Made to last.") };
        assert!(v.speak(&named).await.unwrap().duration_ms > 300);
        let e = v.speak(&SpeechRequest { voice: Some("en-gb"), language: "ja", ..named }).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { .. }) && e.to_string().contains("\"en-gb\""), "{e}");
        let e = v.speak(&SpeechRequest { language: "xx", ..named }).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { .. }), "{e}");
    }

    #[tokio::test]
    async fn untrusted_text_is_spoken_not_obeyed() {
        let v = EspeakVoice::default();
        let s = v.speak(&SpeechRequest::english("--help -v xx [[h@l'oU]] now")).await.unwrap();
        assert!(s.duration_ms > 500, "spoken, not taken as options: {} ms", s.duration_ms);
        assert_timings_sane(&s, 5);
    }

    #[tokio::test]
    async fn empty_text_and_odd_rates_are_rejected_and_a_broken_engine_is_retryable() {
        let e = EspeakVoice::default().speak(&SpeechRequest::english("  \n ")).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { .. }) && e.to_string().contains("espeak-ng:en-us"), "{e}");
        let fast = SpeechRequest { rate: 3.0, ..SpeechRequest::english("hello") };
        assert!(matches!(EspeakVoice::default().speak(&fast).await, Err(ProviderError::Rejected { .. })));
        // A configured voice espeak-ng does not have, asked for its own language.
        let bad_voice = EspeakVoice::new("espeak-ng", "xx-nonexistent", 165);
        let e =
            bad_voice.speak(&SpeechRequest { language: "xx", ..SpeechRequest::english("hello") }).await.unwrap_err();
        assert!(e.is_retryable() && e.to_string().contains("does not exist"), "{e}");
        let missing = EspeakVoice::new("/nonexistent/espeak-ng", "en-us", 165);
        let e = missing.speak(&SpeechRequest::english("hello")).await.unwrap_err();
        assert!(e.is_retryable() && e.to_string().contains("/nonexistent/espeak-ng"), "{e}");
    }
}
