//! Running an offline speech engine: the text on stdin (never as an argument), WAV out, normalised to
//! canonical mono, word timings estimated over the measured speech span (see the [voice module](super)).

use crate::WordTiming;
use crate::media::{Pcm, parse_wav, write_wav};
use crate::ports::{ProviderError, Speech};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Longest line accepted, in characters.
const MAX_TEXT_CHARS: usize = 5000;
/// A synthesis taking longer than this (a line) is killed.
pub(super) const TIMEOUT: Duration = Duration::from_secs(60);

/// The text trimmed, or Rejected if there is nothing (or far too much) to say.
pub(super) fn checked_text(provider: &str, text: &str) -> Result<String, ProviderError> {
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

pub(super) fn retryable(provider: &str, message: String) -> ProviderError {
    ProviderError::Retryable { provider: provider.into(), message, retry_after: None }
}

pub(super) fn rejected(provider: &str, message: String) -> ProviderError {
    ProviderError::Rejected { provider: provider.into(), message, moderation: false }
}

/// Slowest and fastest speaking rate accepted, relative to the voice's natural pace.
pub const RATES: std::ops::RangeInclusive<f32> = 0.5..=2.0;

/// `rate` if it is within [`RATES`], else Rejected (a brand kit asking for 3x is a mistake to name, not to clamp).
pub(super) fn checked_rate(provider: &str, rate: f32) -> Result<f32, ProviderError> {
    if rate.is_finite() && RATES.contains(&rate) {
        Ok(rate)
    } else {
        Err(rejected(provider, format!("speaking rate {rate} is outside {}-{}", RATES.start(), RATES.end())))
    }
}

/// The primary subtag of a BCP 47 (or POSIX, `en_US`) language tag, lower-cased: `en-GB` → `en`.
pub fn primary_language(tag: &str) -> String {
    tag.split(['-', '_']).next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// Runs `bin args` with `text` on stdin; its stdout on success, Retryable with stderr otherwise
/// (or after [`TIMEOUT`]).
pub(super) async fn run_with_stdin<S: AsRef<std::ffi::OsStr>>(
    provider: &str,
    bin: &Path,
    args: &[S],
    text: &str,
) -> Result<Vec<u8>, ProviderError> {
    run_with_stdin_within(provider, bin, args, text, TIMEOUT).await
}

/// [`run_with_stdin`], killed after `timeout` (several lines in one process get several lines' time).
pub(super) async fn run_with_stdin_within<S: AsRef<std::ffi::OsStr>>(
    provider: &str,
    bin: &Path,
    args: &[S],
    text: &str,
    timeout: Duration,
) -> Result<Vec<u8>, ProviderError> {
    let mut cmd = crate::media::child::tool_command(bin);
    cmd.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    tracing::debug!(command = ?cmd.as_std(), chars = text.len(), "speaking");
    let mut child = crate::media::child::spawn(&mut cmd).map_err(|e| {
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
    let out = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(r) => r.map_err(|e| retryable(provider, format!("{} failed: {e}", bin.display())))?,
        Err(_) => {
            return Err(retryable(provider, format!("{} took longer than {timeout:?}", bin.display())));
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
pub(super) fn speech_from_wav(provider: &str, bytes: &[u8], text: &str) -> Result<Speech, ProviderError> {
    let pcm: Pcm =
        parse_wav(bytes).map_err(|e| retryable(provider, format!("unreadable audio ({} bytes): {e}", bytes.len())))?;
    speech_from_pcm(provider, pcm, text)
}

/// Audio as a [`Speech`] with timings estimated over its speech span; no audible speech is Rejected.
pub(super) fn speech_from_pcm(provider: &str, pcm: Pcm, text: &str) -> Result<Speech, ProviderError> {
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

/// Raw little-endian 16-bit mono samples (a cloud voice's `pcm` output) at `sample_rate`; an odd
/// byte count or no samples at all is Invalid.
pub(super) fn pcm_s16le(provider: &str, bytes: &[u8], sample_rate: u32) -> Result<Pcm, ProviderError> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(2) {
        return Err(ProviderError::Invalid {
            provider: provider.into(),
            message: format!("{} bytes of audio is no 16-bit PCM", bytes.len()),
        });
    }
    let samples = bytes.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
    Ok(Pcm { sample_rate, samples })
}

/// `name` in a `PATH` directory, if it is a file there.
pub(super) fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(name)).find(|p| p.is_file())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(in crate::adapters::providers::voice) fn assert_timings_sane(s: &Speech, words: usize) {
        assert_eq!(s.words.len(), words, "{:?}", s.words);
        let mut last = 0;
        for w in &s.words {
            assert!(w.start_ms >= last && w.end_ms > w.start_ms && w.end_ms <= s.duration_ms, "{:?}", s.words);
            last = w.end_ms;
        }
    }

    #[test]
    fn rates_languages_and_raw_pcm() {
        assert_eq!(checked_rate("v", 1.25).unwrap(), 1.25);
        for bad in [0.2, 2.5, f32::NAN, f32::INFINITY] {
            let e = checked_rate("v", bad).unwrap_err();
            assert!(matches!(e, ProviderError::Rejected { .. }) && e.to_string().contains("0.5-2"), "{e}");
        }
        assert_eq!(
            (primary_language("en-GB"), primary_language("en_US"), primary_language("JA")),
            ("en".into(), "en".into(), "ja".into())
        );
        let pcm = pcm_s16le("v", &[1, 0, 0xff, 0xff], 16_000).unwrap();
        assert_eq!(pcm.samples, [1, -1]);
        assert!(matches!(pcm_s16le("v", &[1, 2, 3], 16_000), Err(ProviderError::Invalid { .. })));
        assert!(matches!(pcm_s16le("v", &[], 16_000), Err(ProviderError::Invalid { .. })));
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
}
