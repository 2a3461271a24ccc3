//! Framing analysis of a product photo: its background colour and where the product sits.
//!
//! Pure Rust on a downscaled copy of the photo (at most [`ANALYSIS_SIDE`] pixels a side), so a
//! 24-megapixel photo costs the same as a thumbnail. Transparent pixels count as white (a
//! cut-out product is shown on white).

use image::{DynamicImage, GenericImageView, Rgb, RgbImage};
use serde::{Deserialize, Serialize};

/// The longest side analysed.
const ANALYSIS_SIDE: u32 = 400;
/// A border pixel this close (largest channel difference) to the median counts as background.
const BORDER_TOLERANCE: u8 = 24;
/// Share of border pixels that must be background for a uniform (studio, flat-lay) background.
const UNIFORM_SHARE: f64 = 0.85;
/// A pixel differing from the background by more than this (largest channel difference) is subject.
const SUBJECT_DIFFERENCE: u8 = 40;

/// A box in normalised image coordinates: 0..1 from the left/top edge.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SubjectBox {
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
}

impl SubjectBox {
    /// The whole image.
    pub const WHOLE: SubjectBox = SubjectBox { x0: 0.0, y0: 0.0, x1: 1.0, y1: 1.0 };

    pub fn width(&self) -> f64 {
        self.x1 - self.x0
    }
    pub fn height(&self) -> f64 {
        self.y1 - self.y0
    }
}

/// How a photo should be framed in a shot.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Framing {
    /// Median colour of the border: what the canvas around the photo is filled with.
    pub background: [u8; 3],
    /// Where the product is; the whole image when the background is not uniform.
    pub subject: SubjectBox,
    /// The border is (nearly) one colour: a studio or flat-lay photo.
    pub uniform_background: bool,
}

impl Default for Framing {
    fn default() -> Self {
        Self { background: [255, 255, 255], subject: SubjectBox::WHOLE, uniform_background: false }
    }
}

/// Finds the background colour and the product's bounding box.
///
/// The background is the per-channel median of a thin border ring; it is uniform when at least
/// 85% of the ring is within a small tolerance of that median. The subject box is then the span
/// of rows and columns holding enough pixels (≥ 1% of the line, at least 2) that differ clearly
/// from the background, so specks and JPEG noise do not widen it.
pub fn analyse(img: &DynamicImage) -> Framing {
    let rgb = small_rgb(img);
    let (w, h) = rgb.dimensions();
    if w == 0 || h == 0 {
        return Framing::default();
    }
    let ring = (w.min(h) / 100).max(1);
    let border: Vec<[u8; 3]> = rgb
        .enumerate_pixels()
        .filter(|(x, y, _)| *x < ring || *y < ring || *x >= w - ring || *y >= h - ring)
        .map(|(_, _, p)| p.0)
        .collect();
    let background = median(&border);
    let close = border.iter().filter(|p| diff(**p, background) <= BORDER_TOLERANCE).count();
    let uniform_background = close as f64 >= UNIFORM_SHARE * border.len() as f64;
    if !uniform_background {
        return Framing { background, subject: SubjectBox::WHOLE, uniform_background };
    }
    let mut rows = vec![0u32; h as usize];
    let mut cols = vec![0u32; w as usize];
    for (x, y, p) in rgb.enumerate_pixels() {
        if diff(p.0, background) > SUBJECT_DIFFERENCE {
            rows[y as usize] += 1;
            cols[x as usize] += 1;
        }
    }
    let span = |counts: &[u32], line: u32| {
        let min = (line / 100).max(2);
        let first = counts.iter().position(|&c| c >= min)?;
        let last = counts.iter().rposition(|&c| c >= min)?;
        Some((first as f64 / counts.len() as f64, (last + 1) as f64 / counts.len() as f64))
    };
    let subject = match (span(&cols, h), span(&rows, w)) {
        (Some((x0, x1)), Some((y0, y1))) => SubjectBox { x0, y0, x1, y1 },
        _ => SubjectBox::WHOLE, // a blank photo: nothing stands out
    };
    Framing { background, subject, uniform_background }
}

/// The photo as RGB at most [`ANALYSIS_SIDE`] a side, transparency flattened onto white.
fn small_rgb(img: &DynamicImage) -> RgbImage {
    let img = if img.width().max(img.height()) > ANALYSIS_SIDE {
        img.thumbnail(ANALYSIS_SIDE, ANALYSIS_SIDE)
    } else {
        img.clone()
    };
    if !img.color().has_alpha() {
        return img.to_rgb8();
    }
    let mut out = RgbImage::new(img.width(), img.height());
    for (x, y, p) in img.pixels() {
        let a = p.0[3] as u32;
        let mix = |c: u8| ((c as u32 * a + 255 * (255 - a)) / 255) as u8;
        out.put_pixel(x, y, Rgb([mix(p.0[0]), mix(p.0[1]), mix(p.0[2])]));
    }
    out
}

fn diff(a: [u8; 3], b: [u8; 3]) -> u8 {
    (0..3).map(|i| a[i].abs_diff(b[i])).max().unwrap_or(0)
}

fn median(pixels: &[[u8; 3]]) -> [u8; 3] {
    let mut out = [255u8; 3];
    if pixels.is_empty() {
        return out;
    }
    for (c, o) in out.iter_mut().enumerate() {
        let mut hist = [0usize; 256];
        for p in pixels {
            hist[p[c] as usize] += 1;
        }
        let half = pixels.len().div_ceil(2);
        let mut seen = 0;
        for (v, n) in hist.iter().enumerate() {
            seen += n;
            if seen >= half {
                *o = v as u8;
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::testutil::{BLUE, RED, WHITE, picture};

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 0.02
    }

    #[test]
    fn a_studio_photo_has_a_white_background_and_a_tight_subject() {
        // 1000x1500 so the analysis runs on a downscaled copy; a few specks must not count.
        let mut img = picture(1000, 1500, WHITE, &[(250, 300, 750, 1200, RED), (40, 40, 43, 43, BLUE)]);
        img.put_pixel(980, 1400, Rgb(BLUE));
        let f = analyse(&DynamicImage::ImageRgb8(img));
        assert!(f.uniform_background);
        assert_eq!(f.background, WHITE);
        let s = f.subject;
        assert!(close(s.x0, 0.25) && close(s.x1, 0.75) && close(s.y0, 0.2) && close(s.y1, 0.8), "{s:?}");
    }

    #[test]
    fn a_grey_flat_lay_touching_the_edge_is_still_uniform() {
        let grey = [200, 200, 205];
        let img = picture(600, 400, grey, &[(100, 0, 300, 200, BLUE)]);
        let f = analyse(&DynamicImage::ImageRgb8(img));
        assert!(f.uniform_background, "{f:?}");
        assert_eq!(f.background, grey);
        assert!(close(f.subject.x0, 1.0 / 6.0) && close(f.subject.y0, 0.0) && close(f.subject.y1, 0.5), "{f:?}");
    }

    #[test]
    fn a_busy_background_frames_the_whole_photo() {
        let img =
            RgbImage::from_fn(300, 400, |x, y| Rgb([(x * 7 % 256) as u8, (y * 13 % 256) as u8, ((x + y) % 256) as u8]));
        let f = analyse(&DynamicImage::ImageRgb8(img));
        assert!(!f.uniform_background);
        assert_eq!(f.subject, SubjectBox::WHOLE);
    }

    #[test]
    fn a_blank_photo_and_a_transparent_cutout() {
        let f = analyse(&DynamicImage::ImageRgb8(picture(50, 50, WHITE, &[])));
        assert!(f.uniform_background && f.subject == SubjectBox::WHOLE, "{f:?}");
        let cutout = image::RgbaImage::from_fn(100, 100, |x, y| {
            if (30..70).contains(&x) && (20..90).contains(&y) {
                image::Rgba([0, 0, 200, 255])
            } else {
                image::Rgba([0, 0, 0, 0])
            }
        });
        let f = analyse(&DynamicImage::ImageRgba8(cutout));
        assert_eq!(f.background, WHITE);
        assert!(close(f.subject.x0, 0.3) && close(f.subject.y1, 0.9), "{f:?}");
    }
}
