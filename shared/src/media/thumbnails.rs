//! The reel's thumbnails: small frames written by the assembly run itself (a second output of the
//! same filtergraph, so the reel is never decoded again to look at it), read back by time.
//!
//! [`THUMBNAIL_FPS`] frames a second, [`THUMBNAIL_WIDTH`] pixels wide, MJPEG in Matroska: about
//! 85 KB a second of reel. Thumbnail `k` is the reel's frame at `k / THUMBNAIL_FPS` seconds, taken
//! after the captions are drawn and before the encode; [`Media::sampled_frames`] reads them all.

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
    }
}
