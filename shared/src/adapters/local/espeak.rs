//! Offline voices: espeak-ng (always available) and Piper (when its CLI and a model are installed).
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `TRUEREEL_ESPEAK` | the espeak-ng binary | `espeak-ng` on `PATH` |
//! | `TRUEREEL_ESPEAK_VOICE` | espeak-ng voice | `en-us` |
//! | `TRUEREEL_ESPEAK_WPM` | speaking rate, words per minute (80–450) | `165` |
//! | `TRUEREEL_PIPER` | the piper binary | `piper` on `PATH` |
//! | `TRUEREEL_PIPER_MODEL` | a Piper voice model (`.onnx`, its `.onnx.json` beside it) | none: Piper off |
//!
//! Text is untrusted: it goes to the engine on stdin, never as an argument, so a line starting
//! with `-` is spoken, not parsed as an option; espeak's `[[phoneme]]` input is defused.
//!
//! **Word timings are estimated.** Neither engine reports them here, so the measured speech span
//! (first to last sample above silence) is shared out over the words in proportion to their
//! length in letters and digits, with a pause after a word that ends in punctuation (two letters'
//! worth after `,;:`, four after `.!?`). Good enough to time captions to a phrase; not lip-sync.

use crate::media::{Pcm, parse_wav, write_wav};
use crate::ports::{ProviderError, Speech, Voice};
use crate::{Usd, WordTiming};
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Longest line accepted, in characters.
const MAX_TEXT_CHARS: usize = 5000;
/// A synthesis taking longer than this is killed.
const TIMEOUT: Duration = Duration::from_secs(60);

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
    /// Defaults overridden by `TRUEREEL_ESPEAK`, `TRUEREEL_ESPEAK_VOICE`, `TRUEREEL_ESPEAK_WPM`.
    pub fn from_env() -> Self {
        let get = |k: &str| std::env::var(k).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let mut v = Self::default();
        if let Some(bin) = get("TRUEREEL_ESPEAK") {
            v.bin = bin.into();
        }
        if let Some(voice) = get("TRUEREEL_ESPEAK_VOICE") {
            v.voice = voice;
        }
        if let Some(wpm) = get("TRUEREEL_ESPEAK_WPM") {
            match wpm.parse::<u32>() {
                Ok(n) if (80..=450).contains(&n) => v.words_per_minute = n,
                _ => {
                    tracing::warn!(value = %wpm, "TRUEREEL_ESPEAK_WPM must be 80 to 450; keeping {}", v.words_per_minute)
                }
            }
        }
        v
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

    async fn speak(&self, text: &str) -> Result<Speech, ProviderError> {
        let provider = self.name();
        let text = checked_text(&provider, text)?;
        let args = ["-v".to_string(), self.voice.clone(), "-s".into(), self.words_per_minute.to_string()];
        let args = args.into_iter().chain(["--stdout".into(), "--stdin".into()]).collect::<Vec<_>>();
        // `[[...]]` would be read as phoneme mnemonics; the timings keep the words as written.
        let out = run_with_stdin(&provider, &self.bin, &args, &text.replace("[[", "[ [")).await?;
        speech_from_wav(&provider, &out, &text)
    }
}

/// Piper: a neural voice, used when the `piper` CLI and a model are installed.
#[derive(Debug, Clone, PartialEq)]
pub struct PiperVoice {
    pub bin: PathBuf,
    /// The `.onnx` voice model.
    pub model: PathBuf,
}

impl PiperVoice {
    /// A Piper voice if `TRUEREEL_PIPER_MODEL` names an existing model and the piper binary
    /// (`TRUEREEL_PIPER`, or `piper` on `PATH`) exists.
    pub fn detect() -> Option<PiperVoice> {
        let model = PathBuf::from(std::env::var_os("TRUEREEL_PIPER_MODEL")?);
        if !model.is_file() {
            tracing::warn!(model = %model.display(), "TRUEREEL_PIPER_MODEL is not a file; Piper is off");
            return None;
        }
        let bin = match std::env::var_os("TRUEREEL_PIPER") {
            Some(b) => Some(PathBuf::from(b)).filter(|b| b.is_file()),
            None => on_path("piper"),
        }?;
        Some(PiperVoice { bin, model })
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

    async fn speak(&self, text: &str) -> Result<Speech, ProviderError> {
        let provider = self.name();
        // Piper speaks each input line separately: keep the line one line.
        let text = checked_text(&provider, text)?.replace(['\n', '\r'], " ");
        let dir = tempfile::tempdir().map_err(|e| retryable(&provider, format!("no temporary directory: {e}")))?;
        let wav = dir.path().join("line.wav");
        let args = ["-m".into(), self.model.as_os_str().to_owned(), "-f".into(), wav.as_os_str().to_owned()];
        run_with_stdin(&provider, &self.bin, &args, &format!("{text}\n")).await?;
        let bytes = tokio::fs::read(&wav)
            .await
            .map_err(|e| retryable(&provider, format!("piper wrote no {}: {e}", wav.display())))?;
        speech_from_wav(&provider, &bytes, &text)
    }
}

/// The text trimmed, or Rejected if there is nothing (or far too much) to say.
fn checked_text(provider: &str, text: &str) -> Result<String, ProviderError> {
    let text = text.trim();
    let reject = |message: String| ProviderError::Rejected { provider: provider.into(), message, moderation: false };
    if text.is_empty() {
        return Err(reject("nothing to say: the text is empty".into()));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(reject(format!("the text is longer than {MAX_TEXT_CHARS} characters")));
    }
    Ok(text.to_string())
}

fn retryable(provider: &str, message: String) -> ProviderError {
    ProviderError::Retryable { provider: provider.into(), message, retry_after: None }
}

/// Runs `bin args` with `text` on stdin; its stdout on success, Retryable with stderr otherwise.
async fn run_with_stdin<S: AsRef<std::ffi::OsStr>>(
    provider: &str,
    bin: &Path,
    args: &[S],
    text: &str,
) -> Result<Vec<u8>, ProviderError> {
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    tracing::debug!(command = ?cmd.as_std(), chars = text.len(), "speaking a line");
    let mut child = cmd.spawn().map_err(|e| {
        retryable(
            provider,
            format!("cannot run {}: {e} (is it installed? espeak-ng: `apt-get install espeak-ng`)", bin.display()),
        )
    })?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let input = text.as_bytes().to_vec();
    // Written alongside reading stdout, so a full pipe cannot deadlock the two.
    let writer = tokio::spawn(async move {
        let r = stdin.write_all(&input).await;
        drop(stdin);
        r
    });
    let out = match tokio::time::timeout(TIMEOUT, child.wait_with_output()).await {
        Ok(r) => r.map_err(|e| retryable(provider, format!("{} failed: {e}", bin.display())))?,
        Err(_) => {
            return Err(retryable(provider, format!("{} took longer than {TIMEOUT:?}", bin.display())));
        }
    };
    let _ = writer.await;
    if !out.status.success() {
        let stderr = crate::media::stderr_tail(&out.stderr);
        return Err(retryable(provider, format!("{} exited with {}: {stderr}", bin.display(), out.status)));
    }
    Ok(out.stdout)
}

/// The engine's WAV as a [`Speech`]: normalised to a canonical mono WAV, with estimated timings.
fn speech_from_wav(provider: &str, bytes: &[u8], text: &str) -> Result<Speech, ProviderError> {
    let pcm: Pcm =
        parse_wav(bytes).map_err(|e| retryable(provider, format!("unreadable audio ({} bytes): {e}", bytes.len())))?;
    let span = pcm.speech_span_ms();
    if span.1 <= span.0 {
        return Err(ProviderError::Rejected {
            provider: provider.into(),
            message: format!("{text:?} produced no audible speech"),
            moderation: false,
        });
    }
    Ok(Speech { wav: write_wav(&pcm), duration_ms: pcm.duration_ms(), words: spread_words(text, span) })
}

/// Shares the span `(start_ms, end_ms)` out over the words of `text` (see the module doc).
pub fn spread_words(text: &str, (start_ms, end_ms): (u32, u32)) -> Vec<WordTiming> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let weight = |w: &str| w.chars().filter(|c| c.is_alphanumeric()).count().max(1) as f64;
    let pause = |w: &str| match w.trim_end_matches(['"', '\'', ')', '”', '’']).chars().last() {
        Some('.' | '!' | '?' | '…') => 4.0,
        Some(',' | ';' | ':' | '—') => 2.0,
        _ => 0.0,
    };
    let n = words.len();
    let total: f64 = words.iter().enumerate().map(|(i, w)| weight(w) + if i + 1 < n { pause(w) } else { 0.0 }).sum();
    let unit = end_ms.saturating_sub(start_ms) as f64 / total.max(1.0);
    let mut at = start_ms as f64;
    let mut out = Vec::with_capacity(n);
    for (i, w) in words.iter().enumerate() {
        let start = at;
        at += weight(w) * unit;
        let end = if i + 1 == n { end_ms as f64 } else { at };
        out.push(WordTiming { word: w.to_string(), start_ms: start.round() as u32, end_ms: end.round() as u32 });
        at += pause(w) * unit;
    }
    out
}

/// `name` in a `PATH` directory, if it is a file there.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(name)).find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_timings_sane(s: &Speech, words: usize) {
        assert_eq!(s.words.len(), words, "{:?}", s.words);
        let mut last = 0;
        for w in &s.words {
            assert!(w.start_ms >= last && w.end_ms > w.start_ms && w.end_ms <= s.duration_ms, "{:?}", s.words);
            last = w.end_ms;
        }
    }

    #[tokio::test]
    async fn espeak_speaks_a_line_with_word_timings() {
        let v = EspeakVoice::default();
        assert_eq!((v.name(), v.price("anything")), ("espeak-ng:en-us".to_string(), Usd::ZERO));
        let s = v.speak("Soft cotton hoodie, made to last.").await.unwrap();
        let pcm = parse_wav(&s.wav).unwrap();
        assert_eq!(pcm.duration_ms(), s.duration_ms);
        assert!((1200..5000).contains(&s.duration_ms), "{} ms", s.duration_ms);
        assert_timings_sane(&s, 6);
        assert_eq!(s.words[3].word, "made");
        // "hoodie," is followed by a pause: the gap before "made" is the largest.
        let gaps: Vec<u32> = s.words.windows(2).map(|p| p[1].start_ms - p[0].end_ms).collect();
        assert_eq!(gaps.iter().max(), Some(&gaps[2]), "{gaps:?}");
        let longer = v.speak("Soft cotton hoodie, made to last, in six colours and every size.").await.unwrap();
        assert!(longer.duration_ms > s.duration_ms + 500);
    }

    #[tokio::test]
    async fn untrusted_text_is_spoken_not_obeyed() {
        let v = EspeakVoice::default();
        let s = v.speak("--help -v xx [[h@l'oU]] now").await.unwrap();
        assert!(s.duration_ms > 500, "spoken, not taken as options: {} ms", s.duration_ms);
        assert_timings_sane(&s, 5);
    }

    #[tokio::test]
    async fn empty_text_is_rejected_and_a_broken_engine_is_retryable() {
        let e = EspeakVoice::default().speak("  \n ").await.unwrap_err();
        assert!(matches!(e, ProviderError::Rejected { .. }) && e.to_string().contains("espeak-ng:en-us"), "{e}");
        let bad_voice = EspeakVoice { voice: "xx-nonexistent".into(), ..EspeakVoice::default() };
        let e = bad_voice.speak("hello").await.unwrap_err();
        assert!(e.is_retryable() && e.to_string().contains("does not exist"), "{e}");
        let missing = EspeakVoice { bin: "/nonexistent/espeak-ng".into(), ..EspeakVoice::default() };
        let e = missing.speak("hello").await.unwrap_err();
        assert!(e.is_retryable() && e.to_string().contains("/nonexistent/espeak-ng"), "{e}");
    }

    #[test]
    fn words_share_the_span_by_length_and_punctuation() {
        let w = spread_words("Hi, everyone", (100, 1100));
        // weights: "Hi," 2 + pause 2, "everyone" 8 → unit = 1000 / 12.
        assert_eq!((w[0].start_ms, w[0].end_ms), (100, 267));
        assert_eq!((w[1].start_ms, w[1].end_ms), (433, 1100));
        assert!(spread_words("", (0, 100)).is_empty());
        assert_eq!(spread_words("one", (0, 0))[0].end_ms, 0);
    }

    #[tokio::test]
    async fn piper_speaks_when_installed() {
        let Some(p) = PiperVoice::detect() else {
            eprintln!("piper or TRUEREEL_PIPER_MODEL not available: Piper test skipped");
            return;
        };
        let s = p.speak("Soft cotton hoodie, made to last.").await.unwrap();
        assert!(s.duration_ms > 800 && p.name().starts_with("piper:"));
        assert_timings_sane(&s, 6);
    }
}
