//! The reel's thumbnails: small frames written by the assembly run itself (a second output of the
//! same filtergraph, so the reel is never decoded again to look at it), read back by time.
//!
//! [`THUMBNAIL_FPS`] frames a second, [`THUMBNAIL_WIDTH`] pixels wide, MJPEG in Matroska: about
//! 85 KB a second of reel. Thumbnail `k` is the reel's frame at `k / THUMBNAIL_FPS` seconds, taken
//! after the captions are drawn and before the encode.

use super::{Media, MediaError, file_url};
use image::RgbImage;
use std::path::Path;

/// Thumbnails per second of reel.
pub const THUMBNAIL_FPS: u32 = 10;
/// Their width in pixels (the height keeps the reel's aspect, rounded to even).
pub const THUMBNAIL_WIDTH: u32 = 216;

/// The thumbnails' size for a reel of `width` x `height`.
pub fn thumbnail_size(width: u32, height: u32) -> (u32, u32) {
    let h = (THUMBNAIL_WIDTH as u64 * height as u64 / width.max(1) as u64).max(2) as u32;
    (THUMBNAIL_WIDTH, h + h % 2)
}

/// The thumbnail shown at `at_ms`.
pub fn thumbnail_index(at_ms: u32) -> u64 {
    (at_ms as u64 * THUMBNAIL_FPS as u64 + 500) / 1000
}

impl Media {
    /// The thumbnails shown at each of `times_ms` (in that order; a time may repeat), decoded from
    /// the thumbnails file of a `reel_width` x `reel_height` reel in one run, at
    /// [`thumbnail_size`]. A time past the last thumbnail is [`MediaError::BadInput`].
    pub async fn thumbnails_at(
        &self,
        file: &Path,
        (reel_width, reel_height): (u32, u32),
        times_ms: &[u32],
    ) -> Result<Vec<RgbImage>, MediaError> {
        let (w, h) = thumbnail_size(reel_width, reel_height);
        let mut wanted: Vec<u64> = times_ms.iter().map(|&t| thumbnail_index(t)).collect();
        wanted.sort_unstable();
        wanted.dedup();
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let select: Vec<String> = wanted.iter().map(|n| format!("eq(n\\,{n})")).collect();
        let mut args: Vec<String> = vec!["-i".into(), file_url(file), "-map".into(), "0:v:0".into()];
        // Scaled to the size asked for, whatever size was written: the frames are cut by it.
        args.extend(["-vf".into(), format!("select='{}',scale={w}:{h}", select.join("+"))]);
        args.extend(["-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"].map(String::from));
        let out = self.ffmpeg(&args, &format!("read thumbnails from {}", file.display())).await?;
        let size = (w * h * 3) as usize;
        let frames: Vec<RgbImage> =
            out.stdout.chunks_exact(size).filter_map(|f| RgbImage::from_raw(w, h, f.to_vec())).collect();
        if frames.len() != wanted.len() {
            return Err(MediaError::BadInput(format!(
                "{} has {} of the thumbnails {wanted:?} asked for (at {times_ms:?} ms)",
                file.display(),
                frames.len()
            )));
        }
        Ok(times_ms
            .iter()
            .map(|&t| frames[wanted.binary_search(&thumbnail_index(t)).unwrap_or_default()].clone())
            .collect())
    }
}

impl Media {
    /// Every frame of `file` at `fps` frames a second (frame `k` shows `k / fps` s), scaled to
    /// `width` x `height`, in one run: a reel's thumbnails file read whole, or a clip sampled at the
    /// same rate and size. A file with no frames is [`MediaError::BadInput`].
    pub async fn sampled_frames(
        &self,
        file: &Path,
        fps: u32,
        (width, height): (u32, u32),
    ) -> Result<Vec<RgbImage>, MediaError> {
        let args: Vec<String> = vec![
            "-i".into(),
            file_url(file),
            "-map".into(),
            "0:v:0".into(),
            "-vf".into(),
            format!("fps={fps},scale={width}:{height}"),
            "-f".into(),
            "rawvideo".into(),
            "-pix_fmt".into(),
            "rgb24".into(),
            "pipe:1".into(),
        ];
        let out = self.ffmpeg(&args, &format!("sample the frames of {}", file.display())).await?;
        let size = (width * height * 3) as usize;
        let frames: Vec<RgbImage> =
            out.stdout.chunks_exact(size).filter_map(|f| RgbImage::from_raw(width, height, f.to_vec())).collect();
        if frames.is_empty() {
            return Err(MediaError::BadInput(format!("{} has no frames", file.display())));
        }
        Ok(frames)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_indices() {
        assert_eq!(thumbnail_size(1080, 1920), (216, 384));
        assert_eq!(thumbnail_size(1080, 1350), (216, 270));
        assert_eq!(thumbnail_size(1080, 1080), (216, 216));
        assert_eq!(thumbnail_size(1000, 1001), (216, 216));
        assert_eq!(
            (thumbnail_index(0), thumbnail_index(49), thumbnail_index(50), thumbnail_index(1700)),
            (0, 0, 1, 17)
        );
    }
}
