//! Loudness of a voice-over: measuring it (EBU R 128) and bringing it to −14 LUFS integrated with a
//! true peak at or below −1 dBTP, the level short-video platforms play at.
//!
//! ```ignore
//! let done = media.normalise_loudness(&wav_bytes).await?;   // 16-bit mono WAV in, same rate out
//! voice_over.loudness = Some(done.after);                   // −14 ± 1 LUFS, true peak ≤ −1 dBTP
//! let l = media.loudness(&wav_bytes).await?;                // just measure
//! ```
//!
//! **Measuring**: ffmpeg's `ebur128=peak=true` over the whole track (mono counted as mono, not
//! dual-mono: a stereo upmix of the same track measures 3 LU louder). Integrated loudness gates out
//! silence (absolute gate −70 LUFS, relative −10 LU), so a voice-over that is mostly pauses between
//! lines is measured on its speech. A track with nothing above the absolute gate is silent: a clear
//! [`MediaError::BadInput`], never a NaN or −inf.
//!
//! **Normalising**: the gain that brings the measured loudness to −14 LUFS. When the peaks allow it
//! (true peak + gain ≤ −1.5 dBTP) that gain is all: one linear `volume` pass (what `loudnorm`'s
//! `linear=true` second pass does, without its 192 kHz round trip). Speech synthesisers are peaky
//! (espeak-ng: −20.6 LUFS with peaks at −0.7 dBTP; Piper's joe: −19.7 LUFS at 0.0 dBTP), so usually
//! they do not: then a 3:1 compressor takes down what is more than 3 dB over the track's loudness
//! (5 ms attack, 80 ms release), the gain follows, then a look-ahead limiter at −1.5 dBFS run at 4×
//! the sample rate (so it catches inter-sample peaks; delay compensated, so word timings stay put).
//! The compressor halves what the limiter must take (Piper's joe: about 7 dB of peak limiting instead
//! of 15). Because both take loudness away, the gain is searched (secant steps, at most
//! [`MAX_PASSES`] renders; the first two, the plain gain and 6 dB more, rendered at once so the first
//! step starts from a measured slope) until the result measures within 0.3 LU of −14. `loudnorm`'s own dynamic mode was tried first: with
//! its measured first-pass values it left the espeak-ng line at −16.9 LUFS. Every output is resampled
//! back to the input's rate as 16-bit mono PCM and measured as it is written (in the same ffmpeg run);
//! that measurement is returned.

use super::{Media, MediaError, file_url, parse_wav, run_tool, stderr_tail, write_wav};
use crate::Loudness;

/// Integrated loudness aimed at, LUFS.
pub const TARGET_LUFS: f64 = -14.0;
/// Highest true peak allowed, dBTP.
pub const MAX_TRUE_PEAK: f64 = -1.0;
/// The limiter's ceiling, dBFS (half a dB under [`MAX_TRUE_PEAK`] for the resampling back).
const CEILING_DB: f64 = -1.5;
/// How close to [`TARGET_LUFS`] the search stops.
const CLOSE_ENOUGH: f64 = 0.3;
/// Renders tried at most.
pub const MAX_PASSES: usize = 6;
/// The second of the two first gains, over the first, dB, when the peaks need the limiter.
const BRACKET_DB: f64 = 6.0;
/// The most gain applied: a track that needs more is not speech at a usable level.
const MAX_GAIN_DB: f64 = 40.0;
/// At or below this the track is silent (ebur128's floor is −70).
const SILENT_LUFS: f64 = -69.9;

/// A loudness-normalised track.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalised {
    /// 16-bit PCM mono WAV at the input's sample rate.
    pub wav: Vec<u8>,
    /// The input, measured.
    pub before: Loudness,
    /// The output, measured: what to store with the voice-over.
    pub after: Loudness,
    /// The gain applied, dB (before any limiting).
    pub gain_db: f64,
    /// Whether the compressor and limiter ran (false: a linear gain alone).
    pub limited: bool,
}

impl Media {
    /// Measures a WAV track (any PCM WAV ffmpeg reads): integrated loudness and true peak.
    pub async fn loudness(&self, wav: &[u8]) -> Result<Loudness, MediaError> {
        let dir = self.scratch.dir("loudness-").map_err(|e| io("a scratch folder for loudness", e))?;
        let path = dir.path().join("in.wav");
        std::fs::write(&path, wav).map_err(|e| io("writing the track to measure", e))?;
        self.loudness_of(&path).await
    }

    /// [`Media::loudness`] of a file.
    pub async fn loudness_of(&self, path: &std::path::Path) -> Result<Loudness, MediaError> {
        Ok(self.levels_of(path).await?.0)
    }

    /// A file's first audio stream measured in one decode: its loudness ([`Media::loudness`]) and
    /// its mean volume (`volumedetect`, dB; `None` when it reports none). A file without audio is
    /// an error naming it.
    pub async fn levels_of(&self, path: &std::path::Path) -> Result<(Loudness, Option<f64>), MediaError> {
        let mut args: Vec<String> =
            ["-nostdin", "-hide_banner", "-nostats", "-loglevel", "info", "-i"].map(String::from).to_vec();
        args.push(file_url(path));
        // Per-frame lines at `verbose`, so only the summaries reach the `info` log.
        args.extend(
            ["-map", "0:a:0", "-af", "ebur128=peak=true:framelog=40,volumedetect", "-f", "null", "-"].map(String::from),
        );
        let what = format!("measure the audio of {}", path.display());
        let out = run_tool(&self.ffmpeg, &args, &what).await?;
        Ok((summary(&out.stderr, &what)?, parse_mean_volume(&String::from_utf8_lossy(&out.stderr))))
    }

    /// The track at −14 LUFS integrated (±1; within 0.3 unless it cannot be), true peak ≤ −1 dBTP, as
    /// 16-bit mono PCM WAV at its own sample rate (see the module doc). A silent track, or one that
    /// would need more than 40 dB of gain, is [`MediaError::BadInput`].
    pub async fn normalise_loudness(&self, wav: &[u8]) -> Result<Normalised, MediaError> {
        let rate = parse_wav(wav)?.sample_rate;
        let before = self.loudness(wav).await?;
        if before.integrated <= SILENT_LUFS || !before.integrated.is_finite() {
            return Err(MediaError::BadInput(format!(
                "the track is silent (integrated loudness {} LUFS): nothing to normalise",
                if before.integrated.is_finite() { format!("{:.1}", before.integrated) } else { "-inf".into() }
            )));
        }
        let gain = TARGET_LUFS - before.integrated;
        if gain > MAX_GAIN_DB {
            return Err(MediaError::BadInput(format!(
                "the track is too quiet to be speech ({:.1} LUFS would need {gain:.1} dB)",
                before.integrated
            )));
        }
        let dir = self.scratch.dir("loudnorm-").map_err(|e| io("a scratch folder for loudness", e))?;
        let input = dir.path().join("in.wav");
        std::fs::write(&input, wav).map_err(|e| io("writing the track to normalise", e))?;
        let peaks_allow = before.true_peak + gain <= CEILING_DB;
        // Dynamics only when the peaks need them: compress what is 3 dB over the track's loudness.
        let dynamics = (!peaks_allow).then_some((before.integrated + 3.0).clamp(-60.0, 0.0));
        let out = |pass: usize| dir.path().join(format!("out-{pass}.wav"));
        let mut tried: Vec<(f64, Loudness)> = Vec::new();
        if peaks_allow {
            tried.push((gain, self.render(&input, &out(0), rate, gain, dynamics).await?));
        } else {
            // The compressor and limiter take loudness away: the first two gains bracket the answer
            // and are rendered at once (two cores), so the secant starts from a measured slope.
            let high = (gain + BRACKET_DB).min(MAX_GAIN_DB);
            let (low_out, high_out) = (out(0), out(1));
            let (a, b) = tokio::join!(
                self.render(&input, &low_out, rate, gain, dynamics),
                self.render(&input, &high_out, rate, high, dynamics)
            );
            tried.extend([(gain, a?), (high, b?)]);
        }
        let passes = if peaks_allow { 1 } else { MAX_PASSES };
        while tried.len() < passes {
            let &(last, after) = tried.last().expect("a pass was made");
            let miss = TARGET_LUFS - after.integrated;
            if tried.iter().any(|(_, l)| (TARGET_LUFS - l.integrated).abs() <= CLOSE_ENOUGH) {
                break;
            }
            // Secant step on loudness against gain; limiting makes it flatter than 1 LU per dB.
            let slope = match tried.as_slice() {
                [.., (g0, l0), (g1, l1)] if (g1 - g0).abs() > 1e-3 => {
                    ((l1.integrated - l0.integrated) / (g1 - g0)).clamp(0.1, 1.0)
                }
                _ => 1.0,
            };
            let next = (last + miss / slope).clamp(gain - 6.0, (gain + 20.0).min(MAX_GAIN_DB));
            if tried.iter().any(|(g, _)| (g - next).abs() < 0.01) {
                break;
            }
            let pass = tried.len();
            tried.push((next, self.render(&input, &out(pass), rate, next, dynamics).await?));
        }
        let (chosen, &(gain_db, after)) = tried
            .iter()
            .enumerate()
            .filter(|(_, (_, l))| l.true_peak <= MAX_TRUE_PEAK)
            .min_by(|a, b| (a.1.1.integrated - TARGET_LUFS).abs().total_cmp(&(b.1.1.integrated - TARGET_LUFS).abs()))
            .ok_or_else(|| MediaError::BadOutput("no loudness pass kept the true peak under -1 dBTP".into()))?;
        let output = out(chosen);
        for (pass, (g, l)) in tried.iter().enumerate() {
            tracing::debug!(pass, gain_db = g, integrated = l.integrated, true_peak = l.true_peak, "loudness pass");
        }
        let bytes = std::fs::read(&output).map_err(|e| io("reading the normalised track", e))?;
        let pcm = parse_wav(&bytes)?;
        if (after.integrated - TARGET_LUFS).abs() > 1.0 {
            tracing::warn!(integrated = after.integrated, "voice-over loudness is more than 1 LU from -14 LUFS");
        }
        Ok(Normalised { wav: write_wav(&pcm), before, after, gain_db, limited: !peaks_allow })
    }

    /// One render at `rate`, s16 mono: `gain_db` alone, or (with a compressor threshold, dBFS) a 3:1
    /// compressor, the gain, and the 4× oversampled limiter. Computed in doubles: nothing clips on the
    /// way. The written samples are measured in the same run (`ebur128` last in the chain: s16 to
    /// double and back is exact), so a pass costs one decode.
    async fn render(
        &self,
        input: &std::path::Path,
        output: &std::path::Path,
        rate: u32,
        gain_db: f64,
        dynamics: Option<f64>,
    ) -> Result<Loudness, MediaError> {
        let mut chain = String::from("aformat=sample_fmts=dbl:channel_layouts=mono,");
        if let Some(threshold) = dynamics {
            chain.push_str(&format!("acompressor=threshold={threshold:.2}dB:ratio=3:attack=5:release=80,"));
        }
        chain.push_str(&format!("volume={gain_db:.3}dB"));
        if dynamics.is_some() {
            let ceiling = 10f64.powf(CEILING_DB / 20.0);
            chain.push_str(&format!(
                ",aresample={},alimiter=limit={ceiling:.4}:attack=1:release=60:level=0:latency=1,aresample={rate}",
                rate * 4
            ));
        }
        chain.push_str(",aformat=sample_fmts=s16:channel_layouts=mono,ebur128=peak=true:framelog=40");
        let mut args: Vec<String> =
            ["-nostdin", "-hide_banner", "-nostats", "-loglevel", "info", "-y", "-i"].map(String::from).to_vec();
        args.extend([file_url(input), "-af".into(), chain]);
        args.extend(
            ["-ar", &rate.to_string(), "-ac", "1", "-c:a", "pcm_s16le", "-map_metadata", "-1"].map(String::from),
        );
        args.push(file_url(output));
        let what = "normalise the voice-over's loudness";
        summary(&run_tool(&self.ffmpeg, &args, what).await?.stderr, what)
    }
}

/// ebur128's summary in a run's log, or an error saying what the run was for and how it ended.
fn summary(stderr: &[u8], what: &str) -> Result<Loudness, MediaError> {
    parse_ebur128(&String::from_utf8_lossy(stderr)).ok_or_else(|| {
        MediaError::BadOutput(format!("ebur128 reported no summary (to {what}): {}", stderr_tail(stderr)))
    })
}

/// `volumedetect`'s `mean_volume: -20.5 dB` from an ffmpeg log.
fn parse_mean_volume(log: &str) -> Option<f64> {
    log.lines()
        .find_map(|l| l.split_once("mean_volume:").map(|(_, v)| v.trim().trim_end_matches("dB").trim().to_string()))
        .and_then(|v| v.parse::<f64>().ok())
}

fn io(what: &str, source: std::io::Error) -> MediaError {
    MediaError::Io { what: what.into(), source }
}

/// The integrated loudness and true peak from ebur128's summary (`I: -16.9 LUFS`, `Peak: -1.5 dBFS`);
/// a `-inf` peak (silence) is reported as −144 dBTP (16-bit silence), never a non-number.
fn parse_ebur128(log: &str) -> Option<Loudness> {
    let summary = &log[log.rfind("Summary:")?..];
    let value = |key: &str| {
        summary.lines().find_map(|l| {
            let v = l.trim().strip_prefix(key)?.split_whitespace().next()?;
            v.parse::<f64>().ok()
        })
    };
    let integrated = value("I:")?;
    let true_peak = value("Peak:")?;
    let true_peak = if true_peak.is_finite() { true_peak } else { -144.0 };
    Some(Loudness { integrated: if integrated.is_finite() { integrated } else { -70.0 }, true_peak })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::{Pcm, lay_out};

    async fn espeak(text: &str) -> Pcm {
        let out = tokio::process::Command::new("espeak-ng")
            .args(["-v", "en-us", "-s", "165", "--stdout", text])
            .output()
            .await
            .expect("espeak-ng runs");
        parse_wav(&out.stdout).unwrap()
    }

    fn assert_on_target(l: &Loudness) {
        assert!((l.integrated - TARGET_LUFS).abs() <= 1.0, "{l:?}");
        assert!(l.true_peak <= MAX_TRUE_PEAK, "{l:?}");
    }

    #[test]
    fn the_summary_is_read_and_silence_is_no_number_trouble() {
        let log = "[Parsed_ebur128_0 @ 0x1] t: 0.1 I: -70.0 LUFS\n[Parsed_ebur128_0 @ 0x1] Summary:\n\n  Integrated loudness:\n    I:         -16.9 LUFS\n    Threshold: -27.0 LUFS\n\n  True peak:\n    Peak:       -1.5 dBFS\n";
        assert_eq!(parse_ebur128(log), Some(Loudness { integrated: -16.9, true_peak: -1.5 }));
        let silent = "Summary:\n    I:         -70.0 LUFS\n    Peak:       -inf dBFS\n";
        assert_eq!(parse_ebur128(silent), Some(Loudness { integrated: -70.0, true_peak: -144.0 }));
        assert_eq!(parse_ebur128("no summary"), None);
    }

    #[tokio::test]
    async fn a_spoken_line_comes_out_at_minus_14_lufs_under_minus_1_dbtp_same_rate_and_length() {
        let media = Media::default();
        let line = espeak("Soft cotton hoodie, made to last. Brushed inside, warm on a cold morning.").await;
        let wav = write_wav(&line);
        let done = media.normalise_loudness(&wav).await.unwrap();
        eprintln!(
            "espeak line: {:?} -> {:?} (gain {:.1} dB, limited {})",
            done.before, done.after, done.gain_db, done.limited
        );
        assert!(done.before.integrated < -17.0, "espeak-ng is quieter than the target: {:?}", done.before);
        assert_on_target(&done.after);
        assert!((done.after.integrated - TARGET_LUFS).abs() <= 0.5, "{:?}", done.after);
        let out = parse_wav(&done.wav).unwrap();
        assert_eq!(out.sample_rate, line.sample_rate);
        assert!(
            out.samples.len().abs_diff(line.samples.len()) <= 64,
            "{} vs {}",
            out.samples.len(),
            line.samples.len()
        );
        // The speech did not move (the limiter's delay is compensated): the spans agree to 20 ms.
        let (a, b) = (line.speech_span_ms(), out.speech_span_ms());
        assert!(a.0.abs_diff(b.0) <= 20 && a.1.abs_diff(b.1) <= 20, "{a:?} vs {b:?}");
        assert_on_target(&media.loudness(&done.wav).await.unwrap());
    }

    #[tokio::test]
    async fn a_voice_over_that_is_mostly_pauses_and_a_quiet_one_reach_the_target() {
        let media = Media::default();
        let (a, b) = (espeak("Made to last.").await, espeak("Tap to shop.").await);
        // Two short lines in 12 s: about three quarters of the track is silence.
        let track = lay_out(&[(500, &a), (9000, &b)], 12_000, a.sample_rate);
        let done = media.normalise_loudness(&write_wav(&track)).await.unwrap();
        eprintln!("sparse track: {:?} -> {:?}", done.before, done.after);
        assert_on_target(&done.after);
        assert_eq!(parse_wav(&done.wav).unwrap().duration_ms(), 12_000);
        // A quiet steady tone (peaks 3 dB over its loudness, not 20): a linear gain alone.
        let tone = |ms: u32| (0..22_050 * ms / 1000).map(|i| ((i as f64 * 0.125).sin() * 1000.0) as i16);
        let samples = tone(800).chain(std::iter::repeat_n(0, 22_050)).chain(tone(800)).collect();
        let done = media.normalise_loudness(&write_wav(&Pcm { sample_rate: 22_050, samples })).await.unwrap();
        eprintln!("quiet tone: {:?} -> {:?} (gain {:.1} dB)", done.before, done.after, done.gain_db);
        assert_on_target(&done.after);
        assert!(!done.limited && done.gain_db > 15.0, "{done:?}");
        assert!((done.after.integrated - TARGET_LUFS).abs() <= 0.3, "{:?}", done.after);
    }

    #[tokio::test]
    async fn a_silent_track_is_a_clear_error() {
        let media = Media::default();
        let silence = Pcm { sample_rate: 22_050, samples: vec![0; 22_050 * 2] };
        let e = media.normalise_loudness(&write_wav(&silence)).await.unwrap_err();
        assert!(matches!(e, MediaError::BadInput(_)) && e.to_string().contains("silent"), "{e}");
        let l = media.loudness(&write_wav(&silence)).await.unwrap();
        assert!(l.integrated.is_finite() && l.true_peak.is_finite() && l.integrated <= -70.0, "{l:?}");
        let e = media.normalise_loudness(b"RIFF....WAVEjunk").await.unwrap_err();
        assert!(matches!(e, MediaError::BadInput(_)), "{e}");
    }
}
