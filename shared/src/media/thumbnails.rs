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

/// Frames this close to a cut are left out of the shot on either side (a cut lands on a whole
/// frame of the reel, not exactly on the plan's millisecond).
pub const CUT_EDGE_MS: u32 = 120;

/// The frames of a reel sampled at [`THUMBNAIL_FPS`] (frame `k` shows `k / THUMBNAIL_FPS` s: its
/// thumbnails, or the video sampled at their rate), split per shot of `plan`, in the plan's order:
/// each shot's frames with their time in the shot (ms), those within [`CUT_EDGE_MS`] of a cut left
/// out. What the judge looks at per shot, and what a contact sheet shows of it.
pub fn frames_by_shot<T>(plan: &crate::ShotPlan, frames: impl IntoIterator<Item = T>) -> Vec<Vec<(u32, T)>> {
    let mut by_shot: Vec<Vec<(u32, T)>> = plan.shots.iter().map(|_| Vec::new()).collect();
    let spans: Vec<(u32, u32)> =
        plan.starts_ms().into_iter().zip(&plan.shots).map(|(a, s)| (a, a + s.duration_ms)).collect();
    for (k, frame) in frames.into_iter().enumerate() {
        let t = (k as u64 * 1000 / THUMBNAIL_FPS as u64) as u32;
        if let Some(i) = spans.iter().position(|(a, b)| t >= a + CUT_EDGE_MS && t + CUT_EDGE_MS < *b) {
            by_shot[i].push((t - spans[i].0, frame));
        }
    }
    by_shot
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

    #[test]
    fn frames_are_split_per_shot_away_from_the_cuts() {
        let mut plan = crate::contract::sample_reel(&crate::contract::sample_product()).plan;
        let mut second = plan.shots[0].clone();
        (second.index, second.duration_ms) = (1, 2000);
        plan.shots.truncate(1);
        plan.shots[0].duration_ms = 1000;
        plan.shots.push(second);
        let split = frames_by_shot(&plan, 0..30u32);
        // 10 a second: shot 0 keeps 0.2–0.8 s, shot 1 (from 1 s) 0.2–1.8 s of itself.
        assert_eq!(split[0], (2..=8).map(|k| (k * 100, k)).collect::<Vec<_>>());
        assert_eq!(split[1], (12..=28).map(|k| ((k - 10) * 100, k)).collect::<Vec<_>>());
    }
}
