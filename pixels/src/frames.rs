//! What the judge measures on a shot's sampled frames: brightness and flatness of each frame, how
//! much changed from one frame to the next (robust to captions: the median over a grid of blocks),
//! and sharpness.

use image::{GrayImage, RgbImage, imageops};

/// Frames are compared on a grid of this many blocks a side.
const GRID: u32 = 8;

/// One frame's measurements.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameStats {
    /// Mean luma, 0–255.
    pub mean: f64,
    /// Standard deviation of luma: near 0 for a flat (blank) frame.
    pub spread: f64,
    /// Mean luma of each block of the grid, row by row.
    pub blocks: [f64; (GRID * GRID) as usize],
}

/// Luma of an RGB picture (BT.601, what ffmpeg's gray is).
pub fn luma(img: &RgbImage) -> GrayImage {
    imageops::grayscale(img)
}

/// Measures one frame.
pub fn frame_stats(gray: &GrayImage) -> FrameStats {
    let (w, h) = gray.dimensions();
    let n = (w as f64 * h as f64).max(1.0);
    let mut sum = 0.0;
    let mut sq = 0.0;
    let mut blocks = [0.0; (GRID * GRID) as usize];
    let mut counts = [0u32; (GRID * GRID) as usize];
    for (x, y, p) in gray.enumerate_pixels() {
        let v = p.0[0] as f64;
        sum += v;
        sq += v * v;
        let b = ((y * GRID / h.max(1)) * GRID + x * GRID / w.max(1)) as usize;
        blocks[b] += v;
        counts[b] += 1;
    }
    for (b, c) in blocks.iter_mut().zip(counts) {
        *b /= c.max(1) as f64;
    }
    let mean = sum / n;
    FrameStats { mean, spread: (sq / n - mean * mean).max(0.0).sqrt(), blocks }
}

/// How much changed between two frames of one size: the mean, over the grid's blocks, of each
/// block's mean absolute luma difference (0–255). Rows inside `skip` (fractions of the height: where
/// captions are drawn) are left out, so a caption appearing or going is no change.
pub fn change(a: &GrayImage, b: &GrayImage, skip: Option<(f64, f64)>) -> f64 {
    let (w, h) = a.dimensions();
    if b.dimensions() != (w, h) || w == 0 || h == 0 {
        return f64::INFINITY;
    }
    let (s0, s1) = skip.map_or((h, h), |(t, b)| ((t * h as f64) as u32, (b * h as f64).ceil() as u32));
    let mut sums = [0.0; (GRID * GRID) as usize];
    let mut counts = [0u32; (GRID * GRID) as usize];
    for ((x, y, p), q) in a.enumerate_pixels().zip(b.pixels()) {
        if y >= s0 && y < s1 {
            continue;
        }
        let i = ((y * GRID / h) * GRID + x * GRID / w) as usize;
        sums[i] += (p.0[0] as f64 - q.0[0] as f64).abs();
        counts[i] += 1;
    }
    let per: Vec<f64> = sums.iter().zip(counts).filter(|(_, c)| *c > 0).map(|(s, c)| s / c as f64).collect();
    per.iter().sum::<f64>() / per.len().max(1) as f64
}

/// Sharpness: the variance of the Laplacian over the middle of the picture (the outer tenth left
/// out, where captions and fills sit least and most).
pub fn sharpness(gray: &GrayImage) -> f64 {
    let (w, h) = gray.dimensions();
    let (x0, y0, x1, y1) = (w / 10 + 1, h / 10 + 1, w - w / 10 - 1, h - h / 10 - 1);
    if x1 <= x0 || y1 <= y0 {
        return 0.0;
    }
    let at = |x: u32, y: u32| gray.get_pixel(x, y).0[0] as f64;
    let (mut sum, mut sq, mut n) = (0.0, 0.0, 0.0);
    for y in y0..y1 {
        for x in x0..x1 {
            let l = at(x - 1, y) + at(x + 1, y) + at(x, y - 1) + at(x, y + 1) - 4.0 * at(x, y);
            sum += l;
            sq += l * l;
            n += 1.0;
        }
    }
    let mean = sum / n;
    sq / n - mean * mean
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    fn stripes(w: u32, h: u32, shift: u32) -> GrayImage {
        GrayImage::from_fn(w, h, |x, _| Luma([if ((x + shift) / 6).is_multiple_of(2) { 40 } else { 220 }]))
    }

    #[test]
    fn flat_black_and_busy_frames_measure_as_such() {
        let black = frame_stats(&GrayImage::from_pixel(40, 80, Luma([3])));
        assert!(black.mean < 4.0 && black.spread < 0.01);
        let busy = frame_stats(&stripes(40, 80, 0));
        assert!(busy.spread > 80.0, "{busy:?}");
    }

    #[test]
    fn change_sees_a_move_and_not_a_caption_in_its_band() {
        let a = stripes(96, 160, 0);
        assert_eq!(change(&a, &a, None), 0.0);
        assert!(change(&a, &stripes(96, 160, 3), None) > 50.0);
        let mut captioned = a.clone();
        for y in 110..125 {
            for x in 20..76 {
                captioned.put_pixel(x, y, Luma([255]));
            }
        }
        assert!(change(&a, &captioned, None) > 1.0);
        assert_eq!(change(&a, &captioned, Some((0.65, 0.8))), 0.0, "the caption band is left out");
    }

    #[test]
    fn blur_lowers_sharpness() {
        let a = stripes(96, 160, 0);
        let blurred = imageops::blur(&a, 3.0);
        assert!(sharpness(&blurred) < sharpness(&a) / 10.0);
    }
}
