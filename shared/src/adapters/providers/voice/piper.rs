//! Piper: an offline neural voice, used when its CLI and a voice model are installed
//! (`scripts/setup.sh` puts both in the tools folder: `<tools>/piper/bin/piper`, `<tools>/piper/voices/`).
//!
//! It speaks the languages of its models: each model's `.onnx.json` names its language
//! (`language.code`, `en_US` → `en`; the joe voice is `en`). The first model for a language is that
//! language's voice; a brand's voice names a model by its file stem (`en_US-joe-medium`). The rate
//! is Piper's `--length-scale 1/rate`. A script (`speak_all`) is spoken by one `piper` process for
//! each model and rate its lines ask for (one model load, not one a line). [`PiperVoice::bench`]
//! measures its real-time factor.

use super::by_language::KnowsVoices;
use super::engine::{
    TIMEOUT, checked_rate, checked_text, on_path, primary_language, rejected, retryable, run_with_stdin,
    run_with_stdin_within, speech_from_wav,
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

    /// What `speak` checks before Piper runs: the line (trimmed, made one line: Piper speaks each
    /// input line separately), its rate, and the model for its language and voice.
    fn line(&self, provider: &str, request: &SpeechRequest<'_>) -> Result<(String, f32, &PiperModel), ProviderError> {
        let text = checked_text(provider, request.text)?.replace(['\n', '\r'], " ");
        let rate = checked_rate(provider, request.rate)?;
        let Some(model) = self.model(request.language, request.voice) else {
            let have: Vec<String> = self.models.iter().map(|m| format!("{} ({})", m.stem, m.language)).collect();
            let wanted = request.voice.map(|v| format!("{v:?} for ")).unwrap_or_default();
            return Err(rejected(
                provider,
                format!("Piper has no voice {wanted}the language {:?}; it has {}", request.language, have.join(", ")),
            ));
        };
        Ok((text, rate, model))
    }

    /// Piper's arguments for `model` at `rate` (the output comes after).
    fn args(model: &PiperModel, rate: f32) -> Vec<std::ffi::OsString> {
        let mut args: Vec<std::ffi::OsString> = vec!["-m".into(), model.path.clone().into()];
        args.extend(["-c".into(), model.config.clone().into()]);
        args.extend(["--length-scale".into(), length_scale(rate).into()]);
        args
    }

    /// Runs Piper on `text` with `model` at `rate`: the WAV it wrote.
    async fn run(&self, provider: &str, model: &PiperModel, text: &str, rate: f32) -> Result<Vec<u8>, ProviderError> {
        let dir = self.scratch.dir("piper-").map_err(|e| retryable(provider, format!("no scratch folder: {e}")))?;
        let wav = dir.path().join("line.wav");
        let mut args = Self::args(model, rate);
        args.extend(["-f".into(), wav.clone().into()]);
        run_with_stdin(provider, &self.bin, &args, &format!("{text}\n")).await?;
        tokio::fs::read(&wav).await.map_err(|e| retryable(provider, format!("piper wrote no {}: {e}", wav.display())))
    }

    /// Runs one Piper process on `lines` (each one line, none blank) with `model` at `rate`: a WAV a
    /// line, in order; or, when what Piper wrote does not match the lines one for one, why not.
    ///
    /// With `--output-dir` Piper reads stdin a line at a time, strips each line, skips the blank ones
    /// and names each line's WAV `time.monotonic_ns()`: the names in numeric order are the lines in
    /// order. (Python's `strip` takes a few characters Rust's `trim` leaves, `\x1c`–`\x1f`: a line
    /// of those alone is skipped, and the count tells.)
    async fn run_lines(
        &self,
        provider: &str,
        model: &PiperModel,
        lines: &[&str],
        rate: f32,
    ) -> Result<Result<Vec<Vec<u8>>, String>, ProviderError> {
        let dir = self.scratch.dir("piper-").map_err(|e| retryable(provider, format!("no scratch folder: {e}")))?;
        let mut args = Self::args(model, rate);
        args.extend(["--output-dir".into(), dir.path().into()]);
        let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let timeout = TIMEOUT.saturating_mul(lines.len().try_into().unwrap_or(u32::MAX));
        run_with_stdin_within(provider, &self.bin, &args, &input, timeout).await?;
        let unreadable = |e: std::io::Error| retryable(provider, format!("cannot list {}: {e}", dir.path().display()));
        let mut entries = tokio::fs::read_dir(dir.path()).await.map_err(unreadable)?;
        let mut wavs: Vec<(u128, PathBuf)> = Vec::with_capacity(lines.len());
        while let Some(entry) = entries.next_entry().await.map_err(unreadable)? {
            let path = entry.path();
            let stamp =
                path.extension().filter(|x| *x == "wav").and(path.file_stem()).and_then(|s| s.to_str()?.parse().ok());
            match stamp {
                Some(stamp) => wavs.push((stamp, path)),
                None => return Ok(Err(format!("piper wrote {}, not a <nanoseconds>.wav", path.display()))),
            }
        }
        if wavs.len() != lines.len() {
            return Ok(Err(format!("piper wrote {} WAVs for {} lines", wavs.len(), lines.len())));
        }
        wavs.sort();
        let mut out = Vec::with_capacity(wavs.len());
        for (_, wav) in wavs {
            out.push(
                tokio::fs::read(&wav)
                    .await
                    .map_err(|e| retryable(provider, format!("cannot read {}: {e}", wav.display())))?,
            );
        }
        Ok(Ok(out))
    }

    /// Piper's real-time factor (wall time over audio time; below 1 is faster than real time) on
    /// `lines`, the best of `rounds`, three ways: through this adapter as the plan speaks a script
    /// (`speak_all`: one `piper` process for the lines, WAVs parsed, timings estimated), `piper` by hand
    /// in one process for all the lines (one model load: the strongest way to run it), and `piper` by
    /// hand one process a line (a model load a line). Every way runs the same model at rate 1. Each
    /// round runs the adapter and then piper in one process back to back, and keeps their ratio: on a
    /// machine shared with other work, the median of those ratios is steadier than a ratio of bests.
    pub async fn bench(&self, lines: &[&str], rounds: usize) -> Result<PiperBench, ProviderError> {
        let provider = self.name();
        let model = self.model("en", None).unwrap_or(&self.models[0]).clone();
        let requests: Vec<SpeechRequest> = lines
            .iter()
            .map(|line| SpeechRequest { language: &model.language, ..SpeechRequest::english(line) })
            .collect();
        let words = lines.iter().map(|l| l.split_whitespace().count()).sum();
        let one_line: Vec<String> = lines.iter().map(|l| l.replace(['\n', '\r'], " ")).collect();
        let one_line: Vec<&str> = one_line.iter().map(String::as_str).collect();
        let mut args = Self::args(&model, 1.0);
        let dir = self.scratch.dir("piper-bench-").map_err(|e| retryable(&provider, format!("no scratch: {e}")))?;
        args.extend(["--output-dir".into(), dir.path().into()]);
        let all: String = one_line.iter().map(|l| format!("{l}\n")).collect();
        let (mut adapter, mut one_process, mut by_hand) = (Duration::MAX, Duration::MAX, Duration::MAX);
        let (mut audio_ms, mut ratios) = (0u64, Vec::with_capacity(rounds));
        for _ in 0..rounds.max(1) {
            let started = Instant::now();
            let speeches = self.speak_all(&requests).await?;
            let this_adapter = started.elapsed();
            adapter = adapter.min(this_adapter);
            audio_ms = speeches.iter().map(|s| u64::from(s.duration_ms)).sum();

            let started = Instant::now();
            run_with_stdin(&provider, &self.bin, &args, &all).await?;
            let this_one_process = started.elapsed();
            one_process = one_process.min(this_one_process);
            ratios.push(this_adapter.as_secs_f64() / this_one_process.as_secs_f64().max(1e-9));

            let started = Instant::now();
            for line in &one_line {
                self.run(&provider, &model, line, 1.0).await?;
            }
            by_hand = by_hand.min(started.elapsed());
        }
        let audio = Duration::from_millis(audio_ms);
        Ok(PiperBench { lines: lines.len(), words, audio, adapter, one_process, by_hand, ratios })
    }
}

/// Piper's `--length-scale` for `rate`, as passed (lines that give the same one can share a process).
fn length_scale(rate: f32) -> String {
    format!("{:.3}", 1.0 / rate)
}

/// What [`PiperVoice::bench`] measured (each wall time the best of its rounds).
#[derive(Debug, Clone, PartialEq)]
pub struct PiperBench {
    pub lines: usize,
    pub words: usize,
    /// The audio spoken (through the adapter).
    pub audio: Duration,
    /// Wall time through the adapter's `speak_all`, every line.
    pub adapter: Duration,
    /// Wall time of `piper` by hand, one process for every line.
    pub one_process: Duration,
    /// Wall time of `piper` by hand, one process a line.
    pub by_hand: Duration,
    /// Each round's adapter over piper by hand in one process (run back to back).
    pub ratios: Vec<f64>,
}

impl PiperBench {
    fn rtf(&self, wall: Duration) -> f64 {
        wall.as_secs_f64() / self.audio.as_secs_f64().max(1e-9)
    }

    /// The median of the rounds' ratios of the adapter over piper by hand in one process.
    pub fn median_ratio(&self) -> f64 {
        let mut r = self.ratios.clone();
        r.sort_by(f64::total_cmp);
        match r.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => r[n / 2],
            n => (r[n / 2 - 1] + r[n / 2]) / 2.0,
        }
    }
}

impl std::fmt::Display for PiperBench {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ratios: Vec<String> = self.ratios.iter().map(|r| format!("{r:.2}")).collect();
        write!(
            f,
            "{} lines, {} words, {:.2} s of speech ({:.2} words/s); real-time factor, best of {}: adapter \
             (speak_all) {:.3} ({:.2} s), piper by hand in one process {:.3} ({:.2} s), piper by hand per line \
             {:.3} ({:.2} s); adapter / one process: {:.2}x of the bests, {:.2}x the median of the rounds ({})",
            self.lines,
            self.words,
            self.audio.as_secs_f64(),
            self.words as f64 / self.audio.as_secs_f64().max(1e-9),
            self.ratios.len(),
            self.rtf(self.adapter),
            self.adapter.as_secs_f64(),
            self.rtf(self.one_process),
            self.one_process.as_secs_f64(),
            self.rtf(self.by_hand),
            self.by_hand.as_secs_f64(),
            self.adapter.as_secs_f64() / self.one_process.as_secs_f64().max(1e-9),
            self.median_ratio(),
            ratios.join(" "),
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
        let (text, rate, model) = self.line(&provider, request)?;
        let bytes = self.run(&provider, model, &text, rate).await?;
        speech_from_wav(&provider, &bytes, &text)
    }

    /// One `piper` process (one model load) for each model and rate the lines ask for; a group
    /// whose WAVs do not match its lines one for one is spoken again line by line. Every line is
    /// checked first, as `speak` checks it: a line `speak` would reject fails the lot before Piper runs.
    async fn speak_all(&self, requests: &[SpeechRequest<'_>]) -> Result<Vec<Speech>, ProviderError> {
        let provider = self.name();
        let lines = requests.iter().map(|r| self.line(&provider, r)).collect::<Result<Vec<_>, _>>()?;
        let mut groups: Vec<((&str, String), Vec<usize>)> = Vec::new();
        for (i, (_, rate, model)) in lines.iter().enumerate() {
            let key = (model.stem.as_str(), length_scale(*rate));
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) => members.push(i),
                None => groups.push((key, vec![i])),
            }
        }
        let mut out: Vec<Option<Speech>> = vec![None; lines.len()];
        for (_, members) in groups {
            let (_, rate, model) = lines[members[0]];
            let texts: Vec<&str> = members.iter().map(|&i| lines[i].0.as_str()).collect();
            let wavs = match self.run_lines(&provider, model, &texts, rate).await? {
                Ok(wavs) => wavs,
                Err(why) => {
                    tracing::warn!(provider, model = %model.stem, lines = texts.len(), why, "Piper: speaking these lines one by one");
                    let mut wavs = Vec::with_capacity(texts.len());
                    for text in &texts {
                        wavs.push(self.run(&provider, model, text, rate).await?);
                    }
                    wavs
                }
            };
            for (i, bytes) in members.into_iter().zip(wavs) {
                out[i] = Some(speech_from_wav(&provider, &bytes, &lines[i].0)?);
            }
        }
        Ok(out.into_iter().map(|s| s.expect("every line is in a group")).collect())
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

    #[tokio::test]
    async fn piper_speaks_a_script_in_one_go_in_order() {
        let Some(p) = installed() else { return };
        // Lines of different lengths, out of order of length; one has a line break in it.
        let script = [
            "Heavyweight cotton that keeps its shape wash after wash.",
            "Tap to shop.",
            "Six colours, every size from extra small\nto triple extra large.",
            "Soft.",
            "Meet the pullover hoodie, brushed soft inside.",
        ];
        let requests: Vec<SpeechRequest> = script.iter().map(|l| SpeechRequest::english(l)).collect();
        let speeches = p.speak_all(&requests).await.unwrap();
        assert_eq!(speeches.len(), script.len());
        for (s, line) in speeches.iter().zip(script) {
            let words = line.split_whitespace().count();
            assert_timings_sane(s, words);
            assert_eq!(s.words[0].word, line.split_whitespace().next().unwrap());
            // About the joe voice's pace (2.8 words/s, silences included), give or take.
            let expected = words as f32 / JOE_WORDS_PER_SECOND * 1000.0;
            let ms = s.duration_ms as f32;
            assert!(ms > expected * 0.4 && ms < expected * 2.5 + 500.0, "{line:?}: {ms} ms, about {expected} expected");
            assert_eq!(crate::media::parse_wav(&s.wav).unwrap().sample_rate, 22_050);
        }
        let ms: Vec<u32> = speeches.iter().map(|s| s.duration_ms).collect();
        // By words: 11 (line 2) > 9 (0) > 7 (4) > 3 (1) > 1 (3).
        assert!(ms[2] > ms[0] && ms[0] > ms[4] && ms[4] > ms[1] && ms[1] > ms[3], "{ms:?}");
        // As long as `speak` makes each (Piper's noise varies it a little).
        let alone = p.speak(&requests[0]).await.unwrap().duration_ms;
        assert!(alone.abs_diff(ms[0]) < alone / 5, "{alone} ms alone, {} ms in the script", ms[0]);
        // A line `speak` rejects fails the script, with `speak`'s error.
        let bad = [requests[1], SpeechRequest { language: "ja", ..requests[1] }];
        let e = p.speak_all(&bad).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { .. }) && e.to_string().contains("\"ja\""), "{e}");
        assert!(p.speak_all(&[]).await.unwrap().is_empty());
    }

    /// A stand-in for `piper` (a shell script): every line's WAV is `tone<words>.wav` (a tone of
    /// 200 ms a word), and each run is logged in `calls` as `<model> <length scale> <-d|-f>`. With
    /// `--output-dir` it names the WAVs 9.wav, 10.wav, … (so text order is not line order) and drops a
    /// line that says `drop-me`, as Piper drops a line it strips to nothing.
    #[cfg(unix)]
    fn fake_piper(dir: &Path) -> PiperVoice {
        use std::os::unix::fs::PermissionsExt;
        let script = r#"#!/bin/sh
here=$(dirname "$0")
dir= file=
while [ $# -gt 0 ]; do
  case $1 in
    -m) model=$(basename "$2" .onnx); shift ;;
    --length-scale) scale=$2; shift ;;
    --output-dir) dir=$2; shift ;;
    -f) file=$2; shift ;;
  esac
  shift
done
echo "$model $scale ${dir:+-d}${file:+-f}" >> "$here/calls"
n=9
while IFS= read -r line; do
  set -f; set -- $line; set +f
  if [ -n "$file" ]; then cp "$here/tone$#.wav" "$file"; continue; fi
  case $line in *drop-me*) continue ;; esac
  cp "$here/tone$#.wav" "$dir/$n.wav"
  n=$((n + 1))
done
"#;
        let bin = dir.join("piper");
        std::fs::write(&bin, script).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        for words in 1..=4 {
            let samples = (0..words * 4410).map(|i| if i % 50 < 25 { 8000 } else { -8000 }).collect();
            let tone = crate::media::write_wav(&crate::media::Pcm { sample_rate: 22_050, samples });
            std::fs::write(dir.join(format!("tone{words}.wav")), tone).unwrap();
        }
        let models = vec![
            PiperModel::read(&model_file(dir, "en_US-a-low", r#"{"language": {"code": "en_US"}}"#)).unwrap(),
            PiperModel::read(&model_file(dir, "de_DE-b-low", r#"{"language": {"code": "de_DE"}}"#)).unwrap(),
        ];
        // A fork elsewhere in the test process may still hold the script open for writing for a
        // moment ("Text file busy"): run it once until it starts.
        for _ in 0..100 {
            match std::process::Command::new(&bin).stdin(std::process::Stdio::null()).status() {
                Err(e) if e.raw_os_error() == Some(26) => std::thread::sleep(Duration::from_millis(20)),
                other => {
                    other.unwrap();
                    break;
                }
            }
        }
        std::fs::remove_file(dir.join("calls")).unwrap();
        PiperVoice { bin, models, scratch: crate::media::Scratch::default() }
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_script_runs_one_piper_a_model_and_rate_and_a_dropped_line_falls_back_to_one_by_one() {
        let dir = tempfile::tempdir().unwrap();
        let p = fake_piper(dir.path());
        let calls = || std::fs::read_to_string(dir.path().join("calls")).unwrap_or_default();
        let line = |text, language, rate| SpeechRequest { language, rate, ..SpeechRequest::english(text) };
        let script = [
            line("one two three", "en", 1.0),
            line("eins", "de", 1.0),
            line("one", "en-GB", 1.0),
            line("one two", "en", 1.25),
            line("one two three four", "en", 1.0),
        ];
        let speeches = p.speak_all(&script).await.unwrap();
        let got: Vec<(u32, usize)> = speeches.iter().map(|s| (s.duration_ms, s.words.len())).collect();
        assert_eq!(got, [(600, 3), (200, 1), (200, 1), (400, 2), (800, 4)], "each WAV back to its line");
        for s in &speeches {
            assert_timings_sane(s, s.words.len());
        }
        assert_eq!(calls(), "en_US-a-low 1.000 -d\nde_DE-b-low 1.000 -d\nen_US-a-low 0.800 -d\n");

        // Piper writes a WAV fewer than the lines: that group is spoken again, line by line.
        std::fs::remove_file(dir.path().join("calls")).unwrap();
        let script = [line("one two", "en", 1.0), line("drop-me two three", "en", 1.0), line("eins", "de", 1.0)];
        let got: Vec<u32> = p.speak_all(&script).await.unwrap().iter().map(|s| s.duration_ms).collect();
        assert_eq!(got, [400, 600, 200]);
        assert_eq!(calls(), "en_US-a-low 1.000 -d\nen_US-a-low 1.000 -f\nen_US-a-low 1.000 -f\nde_DE-b-low 1.000 -d\n");

        // Checked as `speak` checks, before Piper runs: an empty line, a rate out of range.
        std::fs::remove_file(dir.path().join("calls")).unwrap();
        let e = p.speak_all(&[line("one", "en", 1.0), line(" \n ", "en", 1.0)]).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { .. }) && e.to_string().contains("empty"), "{e}");
        let e = p.speak_all(&[line("one", "en", 3.0)]).await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { .. }), "{e}");
        assert_eq!(calls(), "");
        // A Piper that fails is Retryable, as in `speak`.
        let broken = PiperVoice { bin: dir.path().join("no-piper"), ..p };
        assert!(broken.speak_all(&[line("one", "en", 1.0)]).await.unwrap_err().is_retryable());
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
        println!("{}", p.bench(&lines, 5).await.unwrap());
    }
}
