//! Piper: an offline neural voice, used when its CLI and a voice model are installed
//! (`scripts/setup.sh` puts both in the tools folder: `<tools>/piper/bin/piper`, `<tools>/piper/voices/`).
//!
//! It speaks the languages of its models: each model's `.onnx.json` names its language
//! (`language.code`, `en_US` → `en`; the joe voice is `en`). The first model for a language is that
//! language's voice; a brand's voice names a model by its file stem (`en_US-joe-medium`). The rate
//! is Piper's `--length-scale 1/rate`. [`PiperVoice::bench`] measures its real-time factor.

use super::by_language::KnowsVoices;
use super::engine::{
    checked_rate, checked_text, on_path, primary_language, rejected, retryable, run_with_stdin, speech_from_wav,
};
use crate::Usd;
use crate::ports::{ProviderError, Speech, SpeechRequest, Voice};
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Words per second of the joe voice at `--length-scale 1`, measured on 13 product lines (103 words
/// over 36.9 s: 2.87 on eight, 2.67 on the five of [`PiperVoice::bench`]'s test): words over each line's
/// whole WAV, Piper's short lead and tail silences included. Taken for every Piper model.
pub const JOE_WORDS_PER_SECOND: f32 = 2.8;

/// One installed Piper voice model.
#[derive(Debug, Clone, PartialEq)]
pub struct PiperModel {
    /// The `.onnx` file.
    pub path: PathBuf,
    /// Its `.onnx.json` (beside it).
    pub config: PathBuf,
    /// The file stem, which names the voice: `en_US-joe-medium`.
    pub stem: String,
    /// BCP 47 primary tag of its language (`en`).
    pub language: String,
}

impl PiperModel {
    /// Reads the model's `.onnx.json` for its language (`language.code`, else `espeak.voice`).
    pub fn read(path: &Path) -> Result<Self, String> {
        let config = PathBuf::from(format!("{}.json", path.display()));
        let text = std::fs::read_to_string(&config)
            .map_err(|e| format!("Piper model {}: cannot read {}: {e}", path.display(), config.display()))?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("Piper model config {} is not JSON: {e}", config.display()))?;
        let code = json["language"]["code"].as_str().or_else(|| json["espeak"]["voice"].as_str()).ok_or_else(|| {
            format!("Piper model config {} names no language (language.code or espeak.voice)", config.display())
        })?;
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        Ok(Self { path: path.to_path_buf(), config, stem, language: primary_language(code) })
    }
}

/// Piper: a neural voice, used when the `piper` CLI and a model are installed.
#[derive(Debug, Clone, PartialEq)]
pub struct PiperVoice {
    pub bin: PathBuf,
    /// Its voices, in order of preference (the first for a language speaks it).
    pub models: Vec<PiperModel>,
    /// Where each line's WAV is written.
    pub scratch: crate::media::Scratch,
}

impl PiperVoice {
    /// Piper when there is a model: `TRUEREEL_PIPER_MODEL` first, then every `<tools>/piper/voices/*.onnx`
    /// (by name). The binary is `TRUEREEL_PIPER`, else `<tools>/piper/bin/piper`, else `piper` on `PATH`;
    /// a model without a binary (or a model whose `.onnx.json` is unreadable) is an error.
    pub fn from_config(
        c: &crate::config::VoiceConfig,
        scratch: &crate::media::Scratch,
    ) -> Result<Option<PiperVoice>, String> {
        let tools = c.tools_dir().map(|t| t.join("piper"));
        let mut models = Vec::new();
        if let Some(model) = &c.piper_model {
            models.push(PiperModel::read(model)?);
        }
        if let Some(voices) = tools.as_ref().map(|t| t.join("voices"))
            && let Ok(dir) = std::fs::read_dir(&voices)
        {
            let mut found: Vec<PathBuf> = dir
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "onnx"))
                .collect();
            found.sort();
            for path in found {
                let model = PiperModel::read(&path)?;
                if !models.iter().any(|m| m.stem == model.stem) {
                    models.push(model);
                }
            }
        }
        if models.is_empty() {
            return Ok(None);
        }
        let bin = match &c.piper {
            Some(b) if b.is_file() => b.clone(),
            Some(b) => return Err(format!("TRUEREEL_PIPER {} is not a file", b.display())),
            None => match tools.map(|t| t.join("bin").join("piper")).filter(|b| b.is_file()) {
                Some(b) => b,
                None => on_path("piper").ok_or(
                    "a Piper model is installed, but no piper binary: run scripts/setup.sh or set TRUEREEL_PIPER",
                )?,
            },
        };
        tracing::debug!(bin = %bin.display(), models = ?models.iter().map(|m| &m.stem).collect::<Vec<_>>(), "Piper found");
        Ok(Some(PiperVoice { bin, models, scratch: scratch.clone() }))
    }

    /// The model that speaks `language`, or the one named `voice` if it speaks it.
    fn model(&self, language: &str, voice: Option<&str>) -> Option<&PiperModel> {
        let language = primary_language(language);
        self.models.iter().find(|m| m.language == language && voice.is_none_or(|v| v == m.stem))
    }

    /// Runs Piper on `text` with `model` at `rate`: the WAV it wrote.
    async fn run(&self, provider: &str, model: &PiperModel, text: &str, rate: f32) -> Result<Vec<u8>, ProviderError> {
        let dir = self.scratch.dir("piper-").map_err(|e| retryable(provider, format!("no scratch folder: {e}")))?;
        let wav = dir.path().join("line.wav");
        let mut args: Vec<std::ffi::OsString> = vec!["-m".into(), model.path.clone().into()];
        args.extend(["-c".into(), model.config.clone().into(), "-f".into(), wav.clone().into()]);
        args.extend(["--length-scale".into(), format!("{:.3}", 1.0 / rate).into()]);
        run_with_stdin(provider, &self.bin, &args, &format!("{text}\n")).await?;
        tokio::fs::read(&wav).await.map_err(|e| retryable(provider, format!("piper wrote no {}: {e}", wav.display())))
    }

    /// Piper's real-time factor (wall time over audio time; below 1 is faster than real time) on
    /// `lines`, three ways: through this adapter (one `piper` process a line, WAV parsed, timings
    /// estimated), `piper` run by hand the same way (one process a line), and `piper` by hand once for
    /// all the lines (one process, one model load: the cost of starting Piper per line is the gap).
    pub async fn bench(&self, lines: &[&str]) -> Result<PiperBench, ProviderError> {
        let provider = self.name();
        let model = self.model("en", None).unwrap_or(&self.models[0]).clone();
        let (mut adapter, mut audio_ms, mut words) = (Duration::ZERO, 0u64, 0usize);
        for line in lines {
            let request = SpeechRequest { language: &model.language, ..SpeechRequest::english(line) };
            let started = Instant::now();
            let speech = self.speak(&request).await?;
            adapter += started.elapsed();
            audio_ms += speech.duration_ms as u64;
            words += line.split_whitespace().count();
        }
        let mut by_hand = Duration::ZERO;
        for line in lines {
            let started = Instant::now();
            self.run(&provider, &model, line, 1.0).await?;
            by_hand += started.elapsed();
        }
        let dir = self.scratch.dir("piper-bench-").map_err(|e| retryable(&provider, format!("no scratch: {e}")))?;
        let mut args: Vec<std::ffi::OsString> = vec!["-m".into(), model.path.clone().into()];
        args.extend(["-c".into(), model.config.clone().into(), "-d".into(), dir.path().into()]);
        let all: String = lines.iter().map(|l| format!("{}\n", l.replace(['\n', '\r'], " "))).collect();
        let started = Instant::now();
        run_with_stdin(&provider, &self.bin, &args, &all).await?;
        let one_process = started.elapsed();
        let audio = Duration::from_millis(audio_ms);
        Ok(PiperBench { lines: lines.len(), words, audio, adapter, by_hand, one_process })
    }
}

/// What [`PiperVoice::bench`] measured.
#[derive(Debug, Clone, PartialEq)]
pub struct PiperBench {
    pub lines: usize,
    pub words: usize,
    /// The audio spoken (through the adapter).
    pub audio: Duration,
    /// Wall time through the adapter, every line.
    pub adapter: Duration,
    /// Wall time of `piper` by hand, one process a line.
    pub by_hand: Duration,
    /// Wall time of `piper` by hand, one process for every line.
    pub one_process: Duration,
}

impl PiperBench {
    fn rtf(&self, wall: Duration) -> f64 {
        wall.as_secs_f64() / self.audio.as_secs_f64().max(1e-9)
    }
}

impl std::fmt::Display for PiperBench {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} lines, {} words, {:.2} s of speech ({:.2} words/s); real-time factor: adapter {:.3} ({:.2} s), \
             piper by hand per line {:.3} ({:.2} s), piper by hand in one process {:.3} ({:.2} s)",
            self.lines,
            self.words,
            self.audio.as_secs_f64(),
            self.words as f64 / self.audio.as_secs_f64().max(1e-9),
            self.rtf(self.adapter),
            self.adapter.as_secs_f64(),
            self.rtf(self.by_hand),
            self.by_hand.as_secs_f64(),
            self.rtf(self.one_process),
            self.one_process.as_secs_f64(),
        )
    }
}

impl KnowsVoices for PiperVoice {
    fn has_voice(&self, name: &str, language: &str) -> bool {
        self.model(language, Some(name)).is_some()
    }
}

#[async_trait]
impl Voice for PiperVoice {
    fn name(&self) -> String {
        format!("piper:{}", self.models.first().map_or("", |m| m.stem.as_str()))
    }

    fn price(&self, _text: &str) -> Usd {
        Usd::ZERO
    }

    fn speaks(&self, language: &str) -> bool {
        self.model(language, None).is_some()
    }

    fn words_per_second(&self, _language: &str) -> f32 {
        JOE_WORDS_PER_SECOND
    }

    async fn speak(&self, request: &SpeechRequest<'_>) -> Result<Speech, ProviderError> {
        let provider = self.name();
        // Piper speaks each input line separately: keep the line one line.
        let text = checked_text(&provider, request.text)?.replace(['\n', '\r'], " ");
        let rate = checked_rate(&provider, request.rate)?;
        let Some(model) = self.model(request.language, request.voice) else {
            let have: Vec<String> = self.models.iter().map(|m| format!("{} ({})", m.stem, m.language)).collect();
            let wanted = request.voice.map(|v| format!("{v:?} for ")).unwrap_or_default();
            return Err(rejected(
                &provider,
                format!("Piper has no voice {wanted}the language {:?}; it has {}", request.language, have.join(", ")),
            ));
        };
        let bytes = self.run(&provider, model, &text, rate).await?;
        speech_from_wav(&provider, &bytes, &text)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::engine::tests::assert_timings_sane;
    use super::*;

    /// The Piper setup installed (`<checkout>/.tools`), or `None` after a skip line; under CI (`CI`
    /// set) a missing Piper fails the test: CI runs scripts/setup.sh, which installs it.
    pub(crate) fn installed() -> Option<PiperVoice> {
        let mut config = crate::config::Config::default().voice;
        config.tools_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools");
        match PiperVoice::from_config(&config, &crate::media::Scratch::default()) {
            Ok(Some(p)) => Some(p),
            other => {
                assert!(std::env::var_os("CI").is_none(), "CI is set but Piper is not installed: {other:?}");
                eprintln!("Piper not installed (run scripts/setup.sh): Piper test skipped ({other:?})");
                None
            }
        }
    }

    fn model_file(dir: &Path, stem: &str, json: &str) -> PathBuf {
        let onnx = dir.join(format!("{stem}.onnx"));
        std::fs::write(&onnx, b"not really a model").unwrap();
        std::fs::write(dir.join(format!("{stem}.onnx.json")), json).unwrap();
        onnx
    }

    #[test]
    fn the_tools_folder_and_the_setting_give_the_models_and_their_languages() {
        let tools = tempfile::tempdir().unwrap();
        let voices = tools.path().join("piper/voices");
        std::fs::create_dir_all(&voices).unwrap();
        std::fs::create_dir_all(tools.path().join("piper/bin")).unwrap();
        std::fs::write(tools.path().join("piper/bin/piper"), b"").unwrap();
        model_file(&voices, "en_US-joe-medium", r#"{"language": {"code": "en_US"}}"#);
        model_file(&voices, "de_DE-x-low", r#"{"espeak": {"voice": "de"}}"#);
        let own = tempfile::tempdir().unwrap();
        let amy = model_file(own.path(), "en_US-amy-low", r#"{"language": {"code": "en_US"}}"#);
        let mut c = crate::config::Config::default().voice;
        c.tools_dir = tools.path().to_path_buf();
        let scratch = crate::media::Scratch::default();
        let p = PiperVoice::from_config(&c, &scratch).unwrap().unwrap();
        assert_eq!(p.bin, tools.path().join("piper/bin/piper"));
        let stems: Vec<(&str, &str)> = p.models.iter().map(|m| (m.stem.as_str(), m.language.as_str())).collect();
        assert_eq!(stems, [("de_DE-x-low", "de"), ("en_US-joe-medium", "en")]);
        assert!(p.speaks("en") && p.speaks("de") && !p.speaks("ja"));
        assert!(p.has_voice("en_US-joe-medium", "en") && !p.has_voice("en_US-joe-medium", "de"));
        c.piper_model = Some(amy);
        let p = PiperVoice::from_config(&c, &scratch).unwrap().unwrap();
        assert_eq!(p.name(), "piper:en_US-amy-low", "the configured model comes first");
        assert_eq!(p.model("en", None).unwrap().stem, "en_US-amy-low");
        // No models at all: no Piper; a model without its .onnx.json: an error naming it.
        c.piper_model = None;
        c.tools_dir = own.path().join("nothing-here");
        assert_eq!(PiperVoice::from_config(&c, &scratch), Ok(None));
        std::fs::remove_file(own.path().join("en_US-amy-low.onnx.json")).unwrap();
        c.piper_model = Some(own.path().join("en_US-amy-low.onnx"));
        assert!(PiperVoice::from_config(&c, &scratch).unwrap_err().contains("en_US-amy-low.onnx.json"));
    }

    #[tokio::test]
    async fn piper_speaks_english_with_the_joe_voice_at_the_asked_rate() {
        let Some(p) = installed() else { return };
        assert_eq!(p.name(), "piper:en_US-joe-medium");
        assert!(p.speaks("en") && !p.speaks("ja"));
        let line = "Soft cotton hoodie, made to last.";
        let s = p.speak(&SpeechRequest::english(line)).await.unwrap();
        assert!(s.duration_ms > 800, "{} ms", s.duration_ms);
        assert_timings_sane(&s, 6);
        assert_eq!(crate::media::parse_wav(&s.wav).unwrap().sample_rate, 22_050);
        let done = crate::media::Media::default().normalise_loudness(&s.wav).await.unwrap();
        eprintln!("Piper line loudness: {:?} -> {:?} (gain {:.1} dB)", done.before, done.after, done.gain_db);
        assert!((done.after.integrated + 14.0).abs() <= 1.0 && done.after.true_peak <= -1.0, "{done:?}");
        let fast = p.speak(&SpeechRequest { rate: 1.5, ..SpeechRequest::english(line) }).await.unwrap();
        assert!(fast.duration_ms < s.duration_ms * 9 / 10, "{} vs {} ms", fast.duration_ms, s.duration_ms);
        let named = SpeechRequest { voice: Some("en_US-joe-medium"), ..SpeechRequest::english(line) };
        assert!(p.speak(&named).await.is_ok());
        let e = p.speak(&SpeechRequest { voice: Some("en_US-nobody"), ..named }).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { .. }) && e.to_string().contains("en_US-nobody"), "{e}");
        let e = p.speak(&SpeechRequest { language: "ja", ..SpeechRequest::english(line) }).await.unwrap_err();
        assert!(e.to_string().contains("\"ja\"") && e.to_string().contains("en_US-joe-medium (en)"), "{e}");
    }

    /// `cargo test -p truereel --lib piper::tests::bench -- --ignored --nocapture`: Piper's real-time factor.
    #[tokio::test]
    #[ignore = "a measurement, not a test"]
    async fn bench() {
        let Some(p) = installed() else { return };
        let lines = [
            "Meet the pullover hoodie, brushed soft inside.",
            "Heavyweight cotton that keeps its shape wash after wash.",
            "A roomy hood, a kangaroo pocket, and ribbed cuffs.",
            "Six colours, every size from extra small to triple extra large.",
            "Tap to shop.",
        ];
        println!("{}", p.bench(&lines).await.unwrap());
    }
}
