//! What goes out with a reel besides its pictures: the voice-over encoded once (AAC, muxed into every
//! reel by stream copy) and provenance tags written after the last encode (the poster comes out of
//! the assembly run itself).

use super::{Media, MediaError, file_url, secs};
use crate::domain::Provenance;
use std::path::Path;

/// The voice-over's AAC bit rate.
pub const VOICE_OVER_BITRATE: &str = "128k";
/// The voice-over's sample rate: 48 kHz, the rate of video production and what ad platforms list.
pub const VOICE_OVER_SAMPLE_RATE: u32 = 48_000;
/// Stereo (the mono voice in both channels): ad platforms' specs ask for stereo AAC at 128 kbps or
/// more, and the cost is nothing next to the video.
pub const VOICE_OVER_CHANNELS: u32 = 2;

/// The tag naming the manifest's SHA-256 in a reel's metadata.
pub const MANIFEST_TAG: &str = "truereel_manifest";
/// The tag holding the IPTC digital source type URL.
pub const SOURCE_TYPE_TAG: &str = "digital_source_type";

impl Media {
    /// Encodes a WAV voice-over to AAC-LC (48 kHz stereo, 128 kbit/s) in an `.m4a`, padded with
    /// silence to `duration_ms` when given (never cut). Assembly copies these packets into the reel
    /// unchanged, so encode once per voice-over and keep the file.
    pub async fn encode_voice_over(&self, wav: &Path, out: &Path, duration_ms: Option<u32>) -> Result<(), MediaError> {
        tokio::fs::metadata(wav)
            .await
            .map_err(|e| MediaError::Io { what: format!("reading {}", wav.display()), source: e })?;
        let mut a: Vec<String> = vec!["-y".into(), "-i".into(), file_url(wav), "-map".into(), "0:a:0".into()];
        if let Some(ms) = duration_ms {
            a.extend(["-af".into(), format!("apad=whole_dur={}", secs(ms))]);
        }
        // The fast coder: a third of the default's time (0.16 s against 0.46 s for 15 s), and a voice
        // at 128 kb/s needs no finer search.
        a.extend(
            ["-c:a", "aac", "-aac_coder", "fast", "-profile:a", "aac_low", "-b:a", VOICE_OVER_BITRATE]
                .map(String::from),
        );
        a.extend(["-ar".into(), VOICE_OVER_SAMPLE_RATE.to_string(), "-ac".into(), VOICE_OVER_CHANNELS.to_string()]);
        a.extend(["-map_metadata", "-1", "-movflags", "+faststart", "-f", "mp4"].map(String::from));
        a.push(file_url(out));
        self.ffmpeg(&a, &format!("encode the voice-over {} to AAC", wav.display())).await?;
        let p = self.probe(out).await?;
        let ok = p.audio.as_ref().is_some_and(|au| au.codec == "aac" && au.sample_rate == VOICE_OVER_SAMPLE_RATE)
            && duration_ms.is_none_or(|ms| p.duration_ms + 25 >= ms);
        if !ok {
            return Err(MediaError::BadOutput(format!(
                "{} should be AAC at {VOICE_OVER_SAMPLE_RATE} Hz{}, ffprobe says {p:?}",
                out.display(),
                duration_ms.map(|ms| format!(" lasting {ms} ms")).unwrap_or_default()
            )));
        }
        Ok(())
    }
}

/// The provenance tags an assembly writes into the reel's container (see [`super::AssemblySpec::tags`]):
/// `digital_source_type` (the IPTC URL), `comment` (the generator) and `truereel_manifest` (the
/// sidecar manifest's SHA-256). Any later encode would drop them, so only the last encode writes them.
pub(super) fn provenance_tags(p: &Provenance) -> [(&'static str, String); 3] {
    [
        (SOURCE_TYPE_TAG, p.source_type.iptc_url()),
        ("comment", p.generator.clone()),
        (MANIFEST_TAG, p.manifest_sha256.to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::{Pcm, write_wav};

    fn tone_wav(path: &Path, ms: u32) {
        let n = 22_050 * ms as usize / 1000;
        let tone: Vec<i16> = (0..n).map(|i| ((i as f64 * 0.06).sin() * 9000.0) as i16).collect();
        std::fs::write(path, write_wav(&Pcm { sample_rate: 22_050, samples: tone })).unwrap();
    }

    #[tokio::test]
    async fn the_voice_over_is_aac_padded_to_its_length() {
        let dir = tempfile::tempdir().unwrap();
        let m = Media::default();
        let wav = dir.path().join("v.wav");
        tone_wav(&wav, 1200);
        let out = dir.path().join("v.m4a");
        m.encode_voice_over(&wav, &out, Some(2000)).await.unwrap();
        let p = m.probe(&out).await.unwrap();
        let au = p.audio.unwrap();
        assert_eq!((au.codec.as_str(), au.sample_rate, au.channels), ("aac", 48_000, 2));
        assert!(p.duration_ms.abs_diff(2000) <= 25, "{}", p.duration_ms);
        assert!(p.video.is_none());
        let e = m.encode_voice_over(&dir.path().join("none.wav"), &out, None).await.unwrap_err();
        assert!(e.to_string().contains("none.wav"), "{e}");
    }
}
