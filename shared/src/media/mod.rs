//! Media tools: ffmpeg and ffprobe for rendering, assembly and checks; WAV handling; voice-over
//! loudness ([`loudness`]: [`Media::normalise_loudness`] to −14 LUFS, [`Media::loudness`] to measure).
//!
//! Every ffmpeg/ffprobe call is a `tokio::process::Command` (never a shell) run with
//! `-nostdin -hide_banner -loglevel error`, killed if its future is dropped or this process dies
//! ([`child`]), with stderr
//! captured so a failure carries the tool's last words ([`MediaError::Failed`]).
//! Paths given to ffmpeg are prefixed with `file:` so a name can never be read as an option,
//! a protocol (`concat:`, `http:`) or an image-sequence pattern.
//!
//! The binaries, preset and CRF are configured (`TRUEREEL_FFMPEG`, `TRUEREEL_FFPROBE`,
//! `TRUEREEL_X264_PRESET`, `TRUEREEL_CRF`; see `truereel config`).

mod assemble;
pub mod camera;
mod captions;
pub mod child;
pub mod contact_sheet;
mod deliver;
mod feed;
mod framing;
pub mod grounding;
pub mod loudness;
pub mod photo;
mod probe;
mod render;
pub mod scratch;
pub mod subject;
mod thumbnails;
mod wav;

pub use assemble::{AssemblySpec, ClipCut, ClipSource};
pub use camera::{compose, compose_for, describe};
pub use captions::{FontCoverage, ass_captions, cjk_font, script_font, styled_ass_captions};
pub use contact_sheet::{ContactSheet, SheetShot};
pub use deliver::{MANIFEST_TAG, SOURCE_TYPE_TAG, VOICE_OVER_BITRATE, VOICE_OVER_CHANNELS, VOICE_OVER_SAMPLE_RATE};
pub use framing::{Framing, SubjectBox, analyse};
pub use grounding::Grounding;
pub use loudness::Normalised;
pub use probe::{AudioInfo, Probe, VideoInfo};
pub use render::{Canvas, MotionSpec, RECIPE_TYPE, Recipe};
pub use scratch::Scratch;
pub use thumbnails::{CUT_EDGE_MS, THUMBNAIL_FPS, THUMBNAIL_WIDTH, frames_by_shot, thumbnail_size};
pub use wav::{Pcm, lay_out, parse_wav, write_wav};

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

/// How much of a failed tool's stderr is kept in the error.
const STDERR_TAIL_BYTES: usize = 2048;

/// Where the media tools are and how they encode.
#[derive(Debug, Clone, PartialEq)]
pub struct Media {
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
    /// libx264 `-preset` (`ultrafast` … `veryslow`).
    pub x264_preset: String,
    /// libx264 `-crf`.
    pub crf: u8,
    /// Where work files go while tools run.
    pub scratch: Scratch,
}

/// A media operation that went wrong, naming the tool, the file and why.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("{tool} is not available: {hint}")]
    Missing { tool: String, hint: String },
    #[error("{tool} failed to {what} ({status}): {stderr_tail}")]
    Failed { tool: String, what: String, status: String, stderr_tail: String },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("bad input: {0}")]
    BadInput(String),
    #[error("bad output: {0}")]
    BadOutput(String),
}

impl Default for Media {
    fn default() -> Self {
        Self {
            ffmpeg: "ffmpeg".into(),
            ffprobe: "ffprobe".into(),
            x264_preset: "veryfast".into(),
            crf: 20,
            scratch: Scratch::default(),
        }
    }
}

impl Media {
    /// Runs `ffmpeg -version` and `ffprobe -version` (at once); a missing tool says how to install it.
    pub async fn check_available(&self) -> Result<(), MediaError> {
        let (ffmpeg, ffprobe) = tokio::join!(tool_version(&self.ffmpeg), tool_version(&self.ffprobe));
        ffmpeg.and(ffprobe)
    }

    /// Runs ffmpeg with the standard quiet flags in front of `args`.
    pub(crate) async fn ffmpeg(&self, args: &[String], what: &str) -> Result<Output, MediaError> {
        run_tool(&self.ffmpeg, quiet_args().iter().chain(args), what).await
    }

    /// Runs ffprobe with the standard quiet flags in front of `args` (ffprobe has no `-nostdin`
    /// and never reads stdin; it gets `/dev/null` there like every tool run here).
    pub(crate) async fn ffprobe(&self, args: &[String], what: &str) -> Result<Output, MediaError> {
        run_tool(&self.ffprobe, quiet_args()[1..].iter().chain(args), what).await
    }
}

/// Runs `tool -version` and logs its first line.
async fn tool_version(tool: &Path) -> Result<(), MediaError> {
    let out = run_tool(tool, ["-version"], "report its version").await?;
    let first = String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or_default().to_string();
    tracing::debug!(tool = %tool.display(), version = %first, "media tool available");
    Ok(())
}

/// `-nostdin -hide_banner -loglevel error`.
fn quiet_args() -> [String; 4] {
    ["-nostdin", "-hide_banner", "-loglevel", "error"].map(String::from)
}

/// A path as an ffmpeg/ffprobe input or output URL: `file:` + the path, so no name is ever
/// taken for an option, a protocol or a pattern.
pub(crate) fn file_url(path: &Path) -> String {
    format!("file:{}", path.display())
}

/// Escapes a value for an ffmpeg filter option inside a filtergraph (two quoting levels:
/// the option parser's, then the graph parser's).
pub(crate) fn filter_value(v: &str) -> String {
    let mut level1 = String::with_capacity(v.len());
    for c in v.chars() {
        if matches!(c, '\\' | '\'' | ':') {
            level1.push('\\');
        }
        level1.push(c);
    }
    let mut level2 = String::with_capacity(level1.len());
    for c in level1.chars() {
        if matches!(c, '\\' | '\'' | '[' | ']' | ',' | ';') {
            level2.push('\\');
        }
        level2.push(c);
    }
    level2
}

/// Milliseconds as ffmpeg seconds (`1.234`).
pub(crate) fn secs(ms: u32) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

async fn run_tool<I, S>(tool: &Path, args: I, what: &str) -> Result<Output, MediaError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let tool_name = tool.display().to_string();
    let mut cmd = child::tool_command(tool);
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    tracing::debug!(command = ?cmd.as_std(), "{what}");
    let out = match child::spawn(&mut cmd) {
        Ok(running) => running.wait_with_output().await,
        Err(e) => Err(e),
    };
    let out = out.map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => MediaError::Missing {
            tool: tool_name.clone(),
            hint: format!(
                "{e}; install it (Debian/Ubuntu: `apt-get install ffmpeg`, which provides ffmpeg and ffprobe) \
                 or point TRUEREEL_FFMPEG / TRUEREEL_FFPROBE at the binaries"
            ),
        },
        _ => MediaError::Io { what: format!("running {tool_name} to {what}"), source: e },
    })?;
    if !out.status.success() {
        return Err(MediaError::Failed {
            tool: tool_name,
            what: what.to_string(),
            status: out.status.to_string(),
            stderr_tail: stderr_tail(&out.stderr),
        });
    }
    Ok(out)
}

/// The last [`STDERR_TAIL_BYTES`] of a tool's stderr, trimmed, as text.
pub(crate) fn stderr_tail(stderr: &[u8]) -> String {
    let start = stderr.len().saturating_sub(STDERR_TAIL_BYTES);
    String::from_utf8_lossy(&stderr[start..]).trim().to_string()
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Test helpers: generated photos and small clips.

    use super::*;
    use image::{Rgb, RgbImage};

    pub const WHITE: [u8; 3] = [255, 255, 255];
    pub const RED: [u8; 3] = [220, 30, 30];
    pub const BLUE: [u8; 3] = [30, 40, 220];
    pub const GREEN: [u8; 3] = [20, 180, 40];

    /// A `w`x`h` image of `bg` with filled rectangles `(x0, y0, x1, y1, colour)` (pixels, exclusive end).
    pub fn picture(w: u32, h: u32, bg: [u8; 3], rects: &[(u32, u32, u32, u32, [u8; 3])]) -> RgbImage {
        let mut img = RgbImage::from_pixel(w, h, Rgb(bg));
        for &(x0, y0, x1, y1, c) in rects {
            for y in y0..y1.min(h) {
                for x in x0..x1.min(w) {
                    img.put_pixel(x, y, Rgb(c));
                }
            }
        }
        img
    }

    /// `img` as a JPEG tagged with EXIF orientation `orientation` (6: shown turned 90° clockwise).
    pub fn jpeg_turned(img: &RgbImage, orientation: u16) -> Vec<u8> {
        use image::ImageEncoder;
        let mut raw = Vec::new();
        image::codecs::jpeg::JpegEncoder::new(&mut raw)
            .write_image(img.as_raw(), img.width(), img.height(), image::ExtendedColorType::Rgb8)
            .unwrap();
        let exif: Vec<u8> = [
            b"Exif\0\0".as_slice(),
            b"MM\0*\0\0\0\x08",              // big-endian TIFF header, IFD at 8
            &[0, 1],                         // one entry
            &[0x01, 0x12, 0, 3, 0, 0, 0, 1], // Orientation, SHORT, count 1
            &orientation.to_be_bytes(),
            &[0, 0],
            &[0, 0, 0, 0], // no next IFD
        ]
        .concat();
        let mut tagged = raw[..2].to_vec();
        tagged.extend([0xFF, 0xE1]);
        tagged.extend(((exif.len() + 2) as u16).to_be_bytes());
        tagged.extend(exif);
        tagged.extend_from_slice(&raw[2..]);
        tagged
    }

    /// A `w`x`h` clip from ffmpeg's test sources, `ms` long, optionally with a tone.
    pub async fn lavfi_clip(media: &Media, out: &Path, w: u32, h: u32, fps: u32, ms: u32, tone: bool) {
        let mut args: Vec<String> = vec!["-y".into(), "-f".into(), "lavfi".into()];
        args.push("-i".into());
        args.push(format!("testsrc2=s={w}x{h}:r={fps}:d={}", secs(ms)));
        if tone {
            args.extend(["-f", "lavfi", "-i"].map(String::from));
            args.push(format!("sine=frequency=300:duration={}", secs(ms)));
        }
        args.extend(["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"].map(String::from));
        if tone {
            args.extend(["-c:a", "aac"].map(String::from));
        }
        args.push(file_url(out));
        media.ffmpeg(&args, "make a test clip").await.unwrap();
    }

    /// The SHA-256 of the packets of a file's `stream` (`v` or `a`), as ffmpeg copies them out.
    pub async fn packet_sha(media: &Media, path: &Path, stream: &str) -> crate::Sha256 {
        let args: Vec<String> = ["-i".into(), file_url(path), "-map".into(), format!("0:{stream}")]
            .into_iter()
            .chain(["-c", "copy", "-f", "data", "-"].map(String::from))
            .collect();
        let out = media.ffmpeg(&args, "copy out packets").await.unwrap();
        assert!(!out.stdout.is_empty(), "no {stream} packets in {}", path.display());
        crate::Sha256::of(&out.stdout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_sets_the_tools() {
        let env = |k: &str| match k {
            "TRUEREEL_FFMPEG" => Some("/opt/ff/ffmpeg".into()),
            "TRUEREEL_CRF" => Some("23".into()),
            _ => None,
        };
        let m = crate::config::Config::load(&env, &[]).unwrap().media;
        assert_eq!(m.ffmpeg, PathBuf::from("/opt/ff/ffmpeg"));
        assert_eq!(m.ffprobe, PathBuf::from("ffprobe"));
        assert_eq!((m.x264_preset.as_str(), m.crf), ("veryfast", 23));
        let e = crate::config::Config::load(&|k| (k == "TRUEREEL_CRF").then(|| "99".into()), &[]).unwrap_err();
        assert!(e.to_string().contains("TRUEREEL_CRF \"99\""), "{e}");
    }

    #[test]
    fn filter_values_survive_both_quoting_levels() {
        assert_eq!(filter_value("/a b/c.ass"), "/a b/c.ass");
        assert_eq!(filter_value("/x:y/it's,[1];z\\w"), r"/x\\:y/it\\\'s\,\[1\]\;z\\\\w");
    }

    #[tokio::test]
    async fn the_installed_tools_are_available() {
        crate::config::Config::from_env().unwrap().media.check_available().await.unwrap();
    }

    #[tokio::test]
    async fn a_missing_tool_says_how_to_install_it() {
        let m = Media { ffmpeg: "/nonexistent/ffmpeg".into(), ..Media::default() };
        let e = m.check_available().await.unwrap_err();
        assert!(matches!(e, MediaError::Missing { .. }), "{e:?}");
        assert!(e.to_string().contains("apt-get install ffmpeg"), "{e}");
        assert!(e.to_string().contains("/nonexistent/ffmpeg"), "{e}");
    }

    #[tokio::test]
    async fn a_failing_run_carries_the_stderr_tail() {
        let m = Media::default();
        let e = m.ffmpeg(&["-i".into(), "file:/nonexistent/in.mp4".into()], "read a missing file").await.unwrap_err();
        match &e {
            MediaError::Failed { tool, what, stderr_tail, .. } => {
                assert_eq!((tool.as_str(), what.as_str()), ("ffmpeg", "read a missing file"));
                assert!(stderr_tail.contains("No such file"), "{stderr_tail}");
            }
            other => panic!("expected Failed, got {other:?}"),
        }
    }
}
