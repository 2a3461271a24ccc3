//! 16-bit PCM WAV in pure Rust: parse (downmixing to mono), write, measure, resample, lay out.
//!
//! Kept by hand rather than `hound` (3.5.1, the last release in September 2023): on the bytes of
//! `streaming_sizes_extra_chunks_and_stereo_are_handled` below it fails twice, at the padded odd-sized `LIST` chunk
//! ("Failed to read enough bytes": it skips no pad byte) and, with that chunk removed, at the streaming data size
//! `espeak-ng --stdout` writes ("data chunk length is not a multiple of sample size"); the writer is twenty lines.
//! Resampling is kept too rather than `rubato` (5.1): it brings 14 crates (8 new to our build, a proc-macro among them;
//! 22 s of CPU to build cold, where the hand resampler costs none), and its band-limited filters earn their keep when
//! downsampling, where linear interpolation aliases, while the voice-over only ever resamples up (every line to the
//! highest line's rate).

use super::MediaError;

/// Mono 16-bit PCM audio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pcm {
    pub sample_rate: u32,
    pub samples: Vec<i16>,
}

/// A sample above this magnitude (about -40 dBFS) is sound, not silence.
const SILENCE: i16 = 330;

const WAVE_FORMAT_PCM: u16 = 1;
const WAVE_FORMAT_EXTENSIBLE: u16 = 0xFFFE;

/// Parses a RIFF/WAVE file of 16-bit PCM, any channel count (averaged down to mono).
///
/// Chunks are walked one by one (odd sizes padded), unknown chunks skipped. A streaming writer
/// (`espeak-ng --stdout`) cannot know the data size and writes `0xFFFFFFFF` or `0x7FFFFFFF`
/// there: a data size past the end of the file means "the rest of the file".
pub fn parse_wav(bytes: &[u8]) -> Result<Pcm, MediaError> {
    let bad = |why: &str| MediaError::BadInput(format!("not a 16-bit PCM WAV file: {why}"));
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(bad("no RIFF/WAVE header"));
    }
    let mut at = 12usize;
    let mut fmt: Option<(u16, u32, u16)> = None; // channels, rate, bits
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let size = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("4 bytes")) as usize;
        let body = at + 8;
        let end = body.saturating_add(size).min(bytes.len());
        match id {
            b"fmt " => {
                let f = &bytes[body..end];
                if f.len() < 16 {
                    return Err(bad("fmt chunk too short"));
                }
                let tag = u16::from_le_bytes([f[0], f[1]]);
                let channels = u16::from_le_bytes([f[2], f[3]]);
                let rate = u32::from_le_bytes([f[4], f[5], f[6], f[7]]);
                let bits = u16::from_le_bytes([f[14], f[15]]);
                let pcm = tag == WAVE_FORMAT_PCM
                    || (tag == WAVE_FORMAT_EXTENSIBLE && f.len() >= 26 && u16::from_le_bytes([f[24], f[25]]) == 1);
                if !pcm {
                    return Err(bad(&format!("format tag {tag:#06x} is not PCM")));
                }
                if bits != 16 {
                    return Err(bad(&format!("{bits}-bit samples")));
                }
                if channels == 0 || rate == 0 {
                    return Err(bad("zero channels or sample rate"));
                }
                fmt = Some((channels, rate, bits));
            }
            b"data" => {
                let (channels, rate, _) = fmt.ok_or_else(|| bad("data chunk before fmt chunk"))?;
                return Ok(Pcm { sample_rate: rate, samples: downmix(&bytes[body..end], channels as usize) });
            }
            _ => {}
        }
        at = body.saturating_add(size).saturating_add(size & 1);
    }
    Err(bad("no data chunk"))
}

/// Interleaved little-endian 16-bit frames → mono by averaging (a trailing partial frame is dropped).
fn downmix(data: &[u8], channels: usize) -> Vec<i16> {
    let frame = 2 * channels;
    data.chunks_exact(frame)
        .map(|f| {
            let sum: i32 = f.chunks_exact(2).map(|s| i16::from_le_bytes([s[0], s[1]]) as i32).sum();
            (sum / channels as i32) as i16
        })
        .collect()
}

/// A canonical 44-byte-header mono 16-bit PCM WAV.
pub fn write_wav(pcm: &Pcm) -> Vec<u8> {
    let data_len = (pcm.samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&WAVE_FORMAT_PCM.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&pcm.sample_rate.to_le_bytes());
    out.extend_from_slice(&(pcm.sample_rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in &pcm.samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

impl Pcm {
    /// Length in ms, rounded.
    pub fn duration_ms(&self) -> u32 {
        if self.sample_rate == 0 {
            return 0;
        }
        ((self.samples.len() as u64 * 1000 + self.sample_rate as u64 / 2) / self.sample_rate as u64) as u32
    }

    /// From the first to just past the last sample louder than silence (about -40 dBFS), in ms;
    /// `(0, 0)` if it is all silence.
    pub fn speech_span_ms(&self) -> (u32, u32) {
        let loud = |s: &i16| s.unsigned_abs() > SILENCE as u16;
        match (self.samples.iter().position(loud), self.samples.iter().rposition(loud)) {
            (Some(first), Some(last)) => (self.ms_at(first), self.ms_at(last + 1)),
            _ => (0, 0),
        }
    }

    fn ms_at(&self, sample: usize) -> u32 {
        (sample as u64 * 1000 / self.sample_rate.max(1) as u64) as u32
    }

    /// The same sound at `rate` samples per second (linear interpolation).
    pub fn resampled(&self, rate: u32) -> Pcm {
        if rate == self.sample_rate || self.samples.is_empty() || self.sample_rate == 0 || rate == 0 {
            return Pcm { sample_rate: rate, samples: if rate == 0 { vec![] } else { self.samples.clone() } };
        }
        let n = (self.samples.len() as u64 * rate as u64 / self.sample_rate as u64) as usize;
        let step = self.sample_rate as f64 / rate as f64;
        let last = self.samples.len() - 1;
        let samples = (0..n)
            .map(|i| {
                let pos = i as f64 * step;
                let j = (pos.floor() as usize).min(last);
                let frac = pos - j as f64;
                let (a, b) = (self.samples[j] as f64, self.samples[(j + 1).min(last)] as f64);
                (a + (b - a) * frac).round().clamp(i16::MIN as f64, i16::MAX as f64) as i16
            })
            .collect();
        Pcm { sample_rate: rate, samples }
    }
}

/// Mixes each line in at its start into one track of exactly `total_ms` at `sample_rate`
/// (lines resampled as needed, cut at the end, overlaps added with saturation).
pub fn lay_out(lines: &[(u32, &Pcm)], total_ms: u32, sample_rate: u32) -> Pcm {
    let total = (total_ms as u64 * sample_rate as u64 / 1000) as usize;
    let mut out = vec![0i16; total];
    for &(start_ms, pcm) in lines {
        let pcm = pcm.resampled(sample_rate);
        let offset = (start_ms as u64 * sample_rate as u64 / 1000) as usize;
        for (o, s) in out.iter_mut().skip(offset).zip(&pcm.samples) {
            *o = o.saturating_add(*s);
        }
    }
    Pcm { sample_rate, samples: out }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, ms: u32, amp: f64) -> Pcm {
        let n = (rate as u64 * ms as u64 / 1000) as usize;
        let samples =
            (0..n).map(|i| (amp * (i as f64 * 440.0 * std::f64::consts::TAU / rate as f64).sin()) as i16).collect();
        Pcm { sample_rate: rate, samples }
    }

    #[test]
    fn write_then_parse_round_trips() {
        let pcm = tone(22050, 250, 8000.0);
        let bytes = write_wav(&pcm);
        assert_eq!(bytes.len(), 44 + pcm.samples.len() * 2);
        assert_eq!(parse_wav(&bytes).unwrap(), pcm);
        assert_eq!(pcm.duration_ms(), 250);
    }

    #[test]
    fn streaming_sizes_extra_chunks_and_stereo_are_handled() {
        let mut bytes = b"RIFF\xff\xff\xff\xffWAVE".to_vec();
        bytes.extend_from_slice(b"LIST\x03\x00\x00\x00abc\x00"); // odd size, padded
        bytes.extend_from_slice(b"fmt \x10\x00\x00\x00");
        bytes.extend_from_slice(&[1, 0, 2, 0]); // PCM, stereo
        bytes.extend_from_slice(&8000u32.to_le_bytes());
        bytes.extend_from_slice(&32000u32.to_le_bytes());
        bytes.extend_from_slice(&[4, 0, 16, 0]);
        bytes.extend_from_slice(b"data\xff\xff\xff\x7f");
        for (l, r) in [(100i16, 300i16), (-1000, -3000), (i16::MAX, i16::MAX)] {
            bytes.extend_from_slice(&l.to_le_bytes());
            bytes.extend_from_slice(&r.to_le_bytes());
        }
        bytes.push(0); // a torn last frame
        let pcm = parse_wav(&bytes).unwrap();
        assert_eq!(pcm, Pcm { sample_rate: 8000, samples: vec![200, -2000, i16::MAX] });
    }

    #[test]
    fn non_pcm_and_junk_are_rejected() {
        assert!(parse_wav(b"hello").is_err());
        let mut float = write_wav(&tone(8000, 10, 100.0));
        float[20] = 3; // IEEE float
        assert!(parse_wav(&float).unwrap_err().to_string().contains("not PCM"));
        let mut eight_bit = write_wav(&tone(8000, 10, 100.0));
        eight_bit[34] = 8;
        assert!(parse_wav(&eight_bit).is_err());
    }

    #[test]
    fn speech_span_skips_leading_and_trailing_silence() {
        let silence = Pcm { sample_rate: 10_000, samples: vec![0; 1000] };
        let speech = tone(10_000, 500, 10_000.0);
        let track = lay_out(&[(100, &speech)], 1000, 10_000);
        let (a, b) = track.speech_span_ms();
        assert!((100..=101).contains(&a) && (599..=600).contains(&b), "{a}..{b}");
        assert_eq!(silence.speech_span_ms(), (0, 0));
    }

    #[test]
    fn lay_out_mixes_resamples_and_clips() {
        let a = tone(16_000, 400, 20_000.0);
        let b = tone(22_050, 400, 20_000.0);
        let track = lay_out(&[(0, &a), (200, &a), (900, &b)], 1000, 24_000);
        assert_eq!((track.sample_rate, track.samples.len(), track.duration_ms()), (24_000, 24_000, 1000));
        // Overlap at 200..400 ms: the same tone twice saturates instead of wrapping.
        let peak = track.samples[200 * 24..400 * 24].iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert_eq!(peak, 32_768);
        assert!(track.samples[950 * 24..].iter().any(|&s| s != 0), "b starts at 900 ms and is cut at 1000");
        let up = a.resampled(32_000);
        assert_eq!(up.samples.len(), a.samples.len() * 2);
        assert_eq!(up.duration_ms(), 400);
    }
}
