//! Probing media files (ffprobe) and pulling single frames out of videos.

use super::{Media, MediaError, file_url, secs};
use serde_json::Value;
use std::path::Path;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// What a media file holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub duration_ms: u32,
    pub bytes: u64,
    /// ffprobe's format name (`mov,mp4,m4a,3gp,3g2,mj2`, `wav`, `png_pipe`, ...).
    pub format: String,
    /// The `moov` box comes before `mdat` among the file's top-level boxes (playback can start
    /// before the whole file is downloaded). Always false for non-MP4 files.
    pub faststart: bool,
    pub video: Option<VideoInfo>,
    pub audio: Option<AudioInfo>,
    /// The container's metadata tags.
    pub tags: std::collections::BTreeMap<String, String>,
}

/// The first video stream (cover art excluded).
#[derive(Debug, Clone, PartialEq)]
pub struct VideoInfo {
    pub codec: String,
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    /// From the container's index (MP4 has it; some formats do not).
    pub frames: Option<u64>,
    pub pix_fmt: String,
}

/// The first audio stream.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioInfo {
    pub codec: String,
    pub sample_rate: u32,
    pub channels: u32,
    pub duration_ms: u32,
}

impl Media {
    /// ffprobe's view of `path`; a file that is not media is [`MediaError::BadInput`] naming it.
    pub async fn probe(&self, path: &Path) -> Result<Probe, MediaError> {
        let meta = tokio::fs::metadata(path)
            .await
            .map_err(|e| MediaError::Io { what: format!("reading {}", path.display()), source: e })?;
        let args = ["-print_format", "json", "-show_format", "-show_streams"].map(String::from);
        let mut args = args.to_vec();
        args.push(file_url(path));
        let out = match self.ffprobe(&args, &format!("probe {}", path.display())).await {
            Ok(out) => out,
            Err(MediaError::Failed { stderr_tail, .. }) => {
                return Err(MediaError::BadInput(format!(
                    "{} is not a media file ffprobe can read: {stderr_tail}",
                    path.display()
                )));
            }
            Err(e) => return Err(e),
        };
        let json: Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| MediaError::BadOutput(format!("ffprobe's JSON for {} does not parse: {e}", path.display())))?;
        let mut probe = parse_probe(&json, meta.len())
            .ok_or_else(|| MediaError::BadInput(format!("{}: ffprobe found no media streams", path.display())))?;
        probe.faststart = moov_before_mdat(path)
            .await
            .map_err(|e| MediaError::Io { what: format!("reading the boxes of {}", path.display()), source: e })?;
        Ok(probe)
    }

    /// Writes the frame shown at `at_ms` to `out_png`. A time in the clip's last frame interval
    /// (from the last frame's timestamp to the end) gives the last frame; past the end is an error.
    pub async fn extract_frame(&self, video: &Path, at_ms: u32, out_png: &Path) -> Result<(), MediaError> {
        self.grab_frame(video, at_ms, &[], out_png).await
    }

    /// The frame shown at `at_ms` written to `out` by the image2 muxer, `output_args` (filters, codec)
    /// before the file name. A time in the last frame interval gives the last frame; past the end is
    /// an error.
    async fn grab_frame(&self, video: &Path, at_ms: u32, output_args: &[String], out: &Path) -> Result<(), MediaError> {
        let probe = self.probe(video).await?;
        if probe.video.is_none() {
            return Err(MediaError::BadInput(format!("{} has no video stream", video.display())));
        }
        if at_ms > probe.duration_ms {
            return Err(MediaError::BadInput(format!(
                "{} lasts {} ms; there is no frame at {at_ms} ms",
                video.display(),
                probe.duration_ms
            )));
        }
        let _ = tokio::fs::remove_file(out).await;
        let what = format!("extract the frame at {at_ms} ms of {}", video.display());
        let mut args: Vec<String> = vec!["-y".into(), "-ss".into(), secs(at_ms), "-i".into(), file_url(video)];
        args.extend(["-map", "0:v:0", "-frames:v", "1", "-update", "1", "-f", "image2"].map(String::from));
        args.extend(output_args.iter().cloned());
        args.push(file_url(out));
        self.ffmpeg(&args, &what).await?;
        if non_empty(out).await {
            return Ok(());
        }
        // Past the last frame's timestamp: keep overwriting one image while decoding the tail.
        let mut args: Vec<String> = vec!["-y".into(), "-sseof".into(), "-1".into(), "-i".into(), file_url(video)];
        args.extend(["-map", "0:v:0", "-update", "1", "-f", "image2"].map(String::from));
        args.extend(output_args.iter().cloned());
        args.push(file_url(out));
        self.ffmpeg(&args, &what).await?;
        if non_empty(out).await {
            Ok(())
        } else {
            Err(MediaError::BadOutput(format!("ffmpeg wrote no frame at {at_ms} ms of {}", video.display())))
        }
    }
}

async fn non_empty(path: &Path) -> bool {
    tokio::fs::metadata(path).await.map(|m| m.len() > 0).unwrap_or(false)
}

/// The fields we use from ffprobe's JSON; `None` if it lists no usable streams.
fn parse_probe(json: &Value, bytes: u64) -> Option<Probe> {
    let format = &json["format"];
    let streams = json["streams"].as_array()?;
    let video = streams
        .iter()
        .find(|s| s["codec_type"] == "video" && s["disposition"]["attached_pic"].as_i64() != Some(1))
        .map(|s| VideoInfo {
            codec: str_of(&s["codec_name"]),
            width: s["width"].as_u64().unwrap_or(0) as u32,
            height: s["height"].as_u64().unwrap_or(0) as u32,
            fps: rate(&s["avg_frame_rate"]).or_else(|| rate(&s["r_frame_rate"])).unwrap_or(0.0),
            frames: s["nb_frames"].as_str().and_then(|n| n.parse().ok()),
            pix_fmt: str_of(&s["pix_fmt"]),
        });
    let format_ms = seconds_ms(&format["duration"]);
    let audio = streams.iter().find(|s| s["codec_type"] == "audio").map(|s| AudioInfo {
        codec: str_of(&s["codec_name"]),
        sample_rate: s["sample_rate"].as_str().and_then(|r| r.parse().ok()).unwrap_or(0),
        channels: s["channels"].as_u64().unwrap_or(0) as u32,
        duration_ms: seconds_ms(&s["duration"]).or(format_ms).unwrap_or(0),
    });
    if video.is_none() && audio.is_none() {
        return None;
    }
    Some(Probe {
        duration_ms: format_ms.unwrap_or(0),
        bytes,
        format: str_of(&format["format_name"]),
        faststart: false,
        video,
        audio,
        tags: format["tags"]
            .as_object()
            .map(|t| t.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string()))).collect())
            .unwrap_or_default(),
    })
}

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// `"1.500000"` seconds → 1500 ms.
fn seconds_ms(v: &Value) -> Option<u32> {
    let s: f64 = v.as_str()?.parse().ok()?;
    (s.is_finite() && s >= 0.0).then(|| (s * 1000.0).round() as u32)
}

/// `"30000/1001"` → 29.97; `"0/0"` → None.
fn rate(v: &Value) -> Option<f64> {
    let (n, d) = v.as_str()?.split_once('/')?;
    let (n, d): (f64, f64) = (n.parse().ok()?, d.parse().ok()?);
    (d > 0.0 && n > 0.0).then_some(n / d)
}

/// Walks the top-level ISO-BMFF boxes: true if `moov` comes before `mdat`.
async fn moov_before_mdat(path: &Path) -> std::io::Result<bool> {
    let mut f = tokio::fs::File::open(path).await?;
    let len = f.metadata().await?.len();
    let mut at = 0u64;
    let mut header = [0u8; 16];
    while at + 8 <= len {
        f.seek(std::io::SeekFrom::Start(at)).await?;
        f.read_exact(&mut header[..8]).await?;
        let size32 = u32::from_be_bytes(header[..4].try_into().expect("4 bytes"));
        let kind: [u8; 4] = header[4..8].try_into().expect("4 bytes");
        let size = match size32 {
            0 => len - at,
            1 => {
                if at + 16 > len {
                    return Ok(false);
                }
                f.read_exact(&mut header[8..16]).await?;
                u64::from_be_bytes(header[8..16].try_into().expect("8 bytes"))
            }
            n => n as u64,
        };
        match &kind {
            b"moov" => return Ok(true),
            b"mdat" => return Ok(false),
            _ => {}
        }
        if size < 8 {
            return Ok(false); // not an MP4 box structure
        }
        at = at.saturating_add(size);
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::testutil::lavfi_clip;

    #[tokio::test]
    async fn probes_a_clip_with_audio() {
        let dir = tempfile::tempdir().unwrap();
        let clip = dir.path().join("clip.mp4");
        let m = Media::default();
        lavfi_clip(&m, &clip, 160, 288, 15, 1000, true).await;
        let p = m.probe(&clip).await.unwrap();
        let v = p.video.as_ref().unwrap();
        assert_eq!((v.codec.as_str(), v.width, v.height, v.frames), ("h264", 160, 288, Some(15)));
        assert!((v.fps - 15.0).abs() < 1e-6, "{v:?}");
        let a = p.audio.as_ref().unwrap();
        assert_eq!(a.codec, "aac");
        assert!(p.format.contains("mp4"), "{p:?}");
        assert!((950..=1100).contains(&p.duration_ms), "{p:?}");
        assert!(!p.faststart, "ffmpeg writes moov last unless asked: {p:?}");
        let (loudness, db) = m.levels_of(&clip).await.unwrap();
        let db = db.unwrap();
        assert!(db > -40.0 && db < 0.0, "a sine tone has a clear level: {db}");
        assert!(loudness.integrated > -40.0 && loudness.integrated < 0.0, "{loudness:?}");
    }

    #[tokio::test]
    async fn a_silent_clip_has_no_volume_and_frames_come_out() {
        let dir = tempfile::tempdir().unwrap();
        let clip = dir.path().join("silent.mp4");
        let m = Media::default();
        lavfi_clip(&m, &clip, 160, 288, 15, 1000, false).await;
        let e = m.levels_of(&clip).await.unwrap_err().to_string();
        assert!(e.contains("silent.mp4"), "a file without audio is named: {e}");
        let png = dir.path().join("frame.png");
        for at in [0, 500, 990, 1000] {
            m.extract_frame(&clip, at, &png).await.unwrap();
            let img = image::open(&png).unwrap();
            assert_eq!((img.width(), img.height()), (160, 288), "frame at {at} ms");
        }
        let e = m.extract_frame(&clip, 5000, &png).await.unwrap_err();
        assert!(matches!(e, MediaError::BadInput(_)), "{e:?}");
    }

    #[tokio::test]
    async fn a_non_media_file_is_bad_input_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let notes = dir.path().join("notes.mp4");
        std::fs::write(&notes, "this is text, not a video\n").unwrap();
        let e = Media::default().probe(&notes).await.unwrap_err();
        assert!(matches!(e, MediaError::BadInput(_)), "{e:?}");
        assert!(e.to_string().contains("notes.mp4"), "{e}");
        let e = Media::default().probe(&dir.path().join("absent.mp4")).await.unwrap_err();
        assert!(matches!(e, MediaError::Io { .. }) && e.to_string().contains("absent.mp4"), "{e}");
    }

    #[test]
    fn frame_rates_parse() {
        assert_eq!(rate(&Value::from("30/1")), Some(30.0));
        assert_eq!(rate(&Value::from("0/0")), None);
        assert_eq!(seconds_ms(&Value::from("1.2345")), Some(1235));
    }
}
