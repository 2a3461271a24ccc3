//! A product photo's backdrop and subject: the one routine behind the still-motion framing and the classifier.
//!
//! Everything runs on a working copy of the photo at most [`WORK_SIDE`] pixels a side (a 24-megapixel
//! photo costs the same as a thumbnail), with transparency flattened onto white (a cut-out product is
//! shown on white). The backdrop colour is the per-channel median of a border band. A backdrop exists
//! when that colour is light and covers at least half of the band; the background is then grown from
//! the matching border pixels through 4-neighbours still near that colour (a flood fill from the
//! border), and the subject is everything else. A flood fill, unlike a colour threshold over the whole
//! frame, only takes what is connected to the border: light parts of the product inside its outline
//! stay product.

use image::{DynamicImage, GenericImageView, Rgb, RgbImage};

/// Long side of the working copy: enough for framing, skin and texture, fast on any photo.
pub const WORK_SIDE: u32 = 256;
/// Width of the border band the backdrop colour is read from, as a share of each side.
const BORDER_BAND: f32 = 0.03;
/// RGB distance within which a pixel counts as the backdrop colour: studio backdrops vary by
/// 10-25 levels through vignetting and JPEG noise; garments differ from them by far more.
const BG_TOLERANCE: f32 = 34.0;
/// A backdrop is light: e-commerce backdrops are white to mid grey (luma >= 0.8 on every studio shot
/// seen); a dark even border is the garment itself filling the frame.
const BACKDROP_MIN_LUMA: f32 = 0.5;
/// A backdrop fills most of the border: under half means a scene or a crop, with no backdrop at all.
const BACKDROP_MIN_BORDER: f32 = 0.5;
/// When the background grows over nearly the whole frame there is nothing on it: the frame is one
/// even surface (a plain fabric close-up, a blank photo), so it is all subject.
const BACKDROP_MAX_SHARE: f32 = 0.95;
/// A column or row belongs to the subject's box when this share of it is subject: ignores specks.
const BOX_MIN_SHARE: f32 = 0.03;

/// The backdrop and subject of one photo, on its working copy.
#[derive(Debug, Clone, PartialEq)]
pub struct Subject {
    /// Size of the working copy.
    pub width: usize,
    pub height: usize,
    /// Per-channel median of the border band: the backdrop's colour when there is one.
    pub border_colour: [u8; 3],
    /// Share of the border band within tolerance of [`Subject::border_colour`].
    pub border_uniform: f32,
    /// The photo stands on a backdrop: the border colour is light and covers at least half the band.
    pub backdrop: bool,
    /// Per pixel of the working copy (row by row): true where the subject is (everything when there
    /// is no backdrop, or nothing stands on it).
    pub mask: Vec<bool>,
    /// Pixels of the mask that are subject.
    pub subject_pixels: usize,
    /// The subject's box in working-copy pixels, `[x0, y0, x1, y1]` with inclusive ends: the columns
    /// and rows at least 3 % subject. `None` when no line is (only specks stand out).
    pub bounds: Option<[usize; 4]>,
}

impl Subject {
    /// The subject's box as shares of the frame, `[x0, y0, x1, y1]` with exclusive ends.
    pub fn normalised_bounds(&self) -> Option<[f64; 4]> {
        let [x0, y0, x1, y1] = self.bounds?;
        let (w, h) = (self.width as f64, self.height as f64);
        Some([x0 as f64 / w, y0 as f64 / h, (x1 + 1) as f64 / w, (y1 + 1) as f64 / h])
    }
}

/// The photo as RGB at most [`WORK_SIDE`] a side (smaller photos are scaled up to it), transparency
/// flattened onto white.
pub fn working_copy(img: &DynamicImage) -> RgbImage {
    let small = img.thumbnail(WORK_SIDE, WORK_SIDE);
    if !small.color().has_alpha() {
        return small.to_rgb8();
    }
    let mut out = RgbImage::new(small.width(), small.height());
    for (x, y, p) in small.pixels() {
        let a = u32::from(p.0[3]);
        let mix = |c: u8| ((u32::from(c) * a + 255 * (255 - a)) / 255) as u8;
        out.put_pixel(x, y, Rgb([mix(p.0[0]), mix(p.0[1]), mix(p.0[2])]));
    }
    out
}

/// Finds the backdrop and the subject on a working copy (see [`working_copy`]).
pub fn find(rgb: &RgbImage) -> Subject {
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    if w == 0 || h == 0 {
        return Subject {
            width: w,
            height: h,
            border_colour: [255; 3],
            border_uniform: 0.0,
            backdrop: false,
            mask: Vec::new(),
            subject_pixels: 0,
            bounds: None,
        };
    }
    let px: Vec<[f32; 3]> = rgb.pixels().map(|p| p.0.map(f32::from)).collect();
    let border = border_band(w, h);
    let border_colour = [0, 1, 2].map(|c| median(border.iter().map(|&i| rgb.as_raw()[3 * i + c]).collect()));
    let bg = border_colour.map(f32::from);
    let near = |i: usize| distance(px[i], bg) < BG_TOLERANCE;
    let border_uniform = border.iter().filter(|&&i| near(i)).count() as f32 / border.len() as f32;
    let backdrop = luma(bg) / 255.0 >= BACKDROP_MIN_LUMA && border_uniform >= BACKDROP_MIN_BORDER;
    let mut background = if backdrop { grow(w, h, &border, near) } else { vec![false; w * h] };
    if background.iter().filter(|b| **b).count() as f32 > BACKDROP_MAX_SHARE * (w * h) as f32 {
        background.fill(false);
    }
    let mask: Vec<bool> = background.iter().map(|b| !b).collect();
    let subject_pixels = mask.iter().filter(|s| **s).count();
    let cols = span((0..w).map(|x| (0..h).filter(|&y| mask[y * w + x]).count()), h);
    let rows = span((0..h).map(|y| (0..w).filter(|&x| mask[y * w + x]).count()), w);
    let bounds = cols.zip(rows).map(|((x0, x1), (y0, y1))| [x0, y0, x1, y1]);
    Subject { width: w, height: h, border_colour, border_uniform, backdrop, mask, subject_pixels, bounds }
}

/// Luma (0..255) of an RGB colour.
pub fn luma([r, g, b]: [f32; 3]) -> f32 {
    0.299 * r + 0.587 * g + 0.114 * b
}

/// Indices of the pixels in the outer band.
fn border_band(w: usize, h: usize) -> Vec<usize> {
    let bx = ((w as f32 * BORDER_BAND) as usize).max(1);
    let by = ((h as f32 * BORDER_BAND) as usize).max(1);
    (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .filter(|&(x, y)| x < bx || y < by || x >= w.saturating_sub(bx) || y >= h.saturating_sub(by))
        .map(|(x, y)| y * w + x)
        .collect()
}

/// The background: border pixels near the backdrop colour, grown through 4-neighbours near it.
fn grow(w: usize, h: usize, border: &[usize], near: impl Fn(usize) -> bool) -> Vec<bool> {
    let mut mask = vec![false; w * h];
    let mut stack: Vec<usize> = border.iter().copied().filter(|&i| near(i)).collect();
    for &i in &stack {
        mask[i] = true;
    }
    while let Some(i) = stack.pop() {
        let (x, y) = (i % w, i / w);
        let neighbours =
            [(x > 0).then(|| i - 1), (x + 1 < w).then(|| i + 1), (y > 0).then(|| i - w), (y + 1 < h).then(|| i + w)];
        for j in neighbours.into_iter().flatten() {
            if !mask[j] && near(j) {
                mask[j] = true;
                stack.push(j);
            }
        }
    }
    mask
}

/// First and last index whose count is at least [`BOX_MIN_SHARE`] of `len`.
fn span(counts: impl Iterator<Item = usize>, len: usize) -> Option<(usize, usize)> {
    let min = ((len as f32 * BOX_MIN_SHARE) as usize).max(1);
    let hits: Vec<usize> = counts.enumerate().filter(|(_, c)| *c >= min).map(|(i, _)| i).collect();
    Some((*hits.first()?, *hits.last()?))
}

fn distance(a: [f32; 3], b: [f32; 3]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

/// The upper median (the middle value, or the higher of the two middle ones).
fn median(mut v: Vec<u8>) -> u8 {
    if v.is_empty() {
        return 255;
    }
    let mid = v.len() / 2;
    *v.select_nth_unstable(mid).1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::testutil::{BLUE, RED, WHITE, picture};

    fn find_in(img: RgbImage) -> Subject {
        find(&working_copy(&DynamicImage::ImageRgb8(img)))
    }

    #[test]
    fn a_ring_on_white_is_one_subject_with_its_hole() {
        // A red ring: the white inside it is not connected to the border, so it is part of the subject.
        let img = picture(256, 256, WHITE, &[(64, 64, 192, 192, RED)]);
        let mut img = img;
        for y in 96..160 {
            for x in 96..160 {
                img.put_pixel(x, y, Rgb(WHITE));
            }
        }
        let s = find_in(img);
        assert!(s.backdrop && s.border_colour == WHITE, "{s:?}");
        assert_eq!(s.bounds, Some([64, 64, 191, 191]));
        assert_eq!(s.subject_pixels, 128 * 128);
        assert!(s.mask[128 * 256 + 128], "the hole is subject");
        assert!(!s.mask[10 * 256 + 10]);
    }

    #[test]
    fn a_dark_even_border_is_not_a_backdrop() {
        let img = picture(200, 300, [20, 20, 25], &[(50, 50, 150, 250, BLUE)]);
        let s = find_in(img);
        assert!(!s.backdrop && s.border_uniform > 0.99, "{s:?}");
        assert_eq!(s.subject_pixels, s.width * s.height);
    }

    #[test]
    fn an_even_frame_with_nothing_on_it_is_all_subject() {
        let s = find_in(picture(300, 300, [240, 240, 240], &[(10, 10, 14, 14, RED)]));
        assert!(s.backdrop, "{s:?}");
        assert_eq!(s.subject_pixels, s.width * s.height);
        assert_eq!(s.normalised_bounds(), Some([0.0, 0.0, 1.0, 1.0]));
    }

    #[test]
    fn specks_stay_out_of_the_box() {
        // A speck stands out from the backdrop (it is subject) but fills no line to 3 %.
        let s = find_in(picture(256, 256, WHITE, &[(60, 60, 200, 200, RED), (10, 230, 13, 233, BLUE)]));
        assert!(s.backdrop && s.subject_pixels == 140 * 140 + 9, "{:?}", s.bounds);
        assert!(s.mask[231 * 256 + 11]);
        assert_eq!(s.bounds, Some([60, 60, 199, 199]));
    }

    #[test]
    fn transparency_is_white_and_large_photos_are_scaled_down() {
        let cutout = image::RgbaImage::from_fn(1024, 512, |x, _| {
            if x < 512 { image::Rgba([0, 0, 0, 0]) } else { image::Rgba([0, 0, 200, 255]) }
        });
        let copy = working_copy(&DynamicImage::ImageRgba8(cutout));
        assert_eq!(copy.dimensions(), (WORK_SIDE, WORK_SIDE / 2));
        assert_eq!(copy.get_pixel(10, 10).0, WHITE);
        assert_eq!(copy.get_pixel(250, 10).0, [0, 0, 200]);
    }

    #[test]
    fn empty_and_tiny_images_do_not_panic() {
        assert!(find(&RgbImage::new(0, 0)).mask.is_empty());
        for (w, h) in [(1, 1), (1, 7), (7, 1), (2, 2)] {
            let s = find(&RgbImage::from_pixel(w, h, Rgb(WHITE)));
            assert_eq!(s.mask.len(), (w * h) as usize);
        }
    }
}
