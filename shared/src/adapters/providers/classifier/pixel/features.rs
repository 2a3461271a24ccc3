//! The pixel features: framing on the shared backdrop/subject routine, skin and texture.

use crate::media::subject::{self, Subject, luma};
use image::DynamicImage;

/// What the classifier measures on one photo; every field is in 0..1 unless said otherwise.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Features {
    /// Width / height of the photo (not 0..1).
    pub aspect: f32,
    /// Share of the border band within tolerance of the border's median colour.
    pub border_uniform: f32,
    /// Luma of the border's median colour.
    pub border_luma: f32,
    /// Share of the frame that is background (grown from the border).
    pub background: f32,
    /// Share of the top, bottom, left and right edges covered by the subject.
    pub touch: [f32; 4],
    /// The subject's box width and height as shares of the frame.
    pub box_w: f32,
    pub box_h: f32,
    /// Share of the subject that is skin-toned.
    pub skin: f32,
    /// Share of the subject in the top fifth of its box that is skin-toned (a face).
    pub head_skin: f32,
    /// Mean gradient magnitude over the subject at the working scale and at half of it.
    pub grad_fine: f32,
    pub grad_coarse: f32,
    /// Share of subject pixels on a strong edge.
    pub edges: f32,
}

/// Skin tone by the RGB rule of Kovač et al. (daylight), narrowed so reds and pinks are not skin:
/// skin has red > green > blue with green a fair share of red.
pub(super) fn is_skin([r, g, b]: [f32; 3]) -> bool {
    r > 95.0 && g > 40.0 && b > 20.0 && r > g && g > b && r - b > 30.0 && (r - g) > 12.0 && {
        let gr = g / r;
        (0.5..0.9).contains(&gr)
    }
}

/// Measures one photo.
pub fn features(image: &DynamicImage) -> Features {
    let aspect = image.width() as f32 / image.height().max(1) as f32;
    let work = subject::working_copy(image);
    let (w, h) = (work.width() as usize, work.height() as usize);
    if w < 4 || h < 4 {
        return Features { aspect, ..Features::default() };
    }
    let Subject { border_colour, border_uniform, mask: subject, subject_pixels, bounds, .. } = subject::find(&work);
    let px: Vec<[f32; 3]> = work.pixels().map(|p| p.0.map(f32::from)).collect();
    let n_subject = subject_pixels.max(1) as f32;
    let [x0, y0, x1, y1] = bounds.unwrap_or([0; 4]);

    let touch = edge_touch(&subject, w, h);
    let skin_mask: Vec<bool> = px.iter().zip(&subject).map(|(p, s)| *s && is_skin(*p)).collect();
    let skin = skin_mask.iter().filter(|s| **s).count() as f32 / n_subject;
    let head_end = y0 + (y1.saturating_sub(y0)) / 5;
    let (mut head_n, mut head_skin) = (0usize, 0usize);
    for y in y0..=head_end.min(h - 1) {
        for x in 0..w {
            let i = y * w + x;
            head_n += usize::from(subject[i]);
            head_skin += usize::from(skin_mask[i]);
        }
    }

    let lum: Vec<f32> = px.iter().map(|p| luma(*p)).collect();
    let (grad_fine, edges) = gradient(&lum, w, h, &subject);
    let (half, hw, hh) = halve(&lum, w, h);
    let half_subject = halve_mask(&subject, w, h);
    let (grad_coarse, _) = gradient(&half, hw, hh, &half_subject);

    Features {
        aspect,
        border_uniform,
        border_luma: luma(border_colour.map(f32::from)) / 255.0,
        background: 1.0 - n_subject / (w * h) as f32,
        touch,
        box_w: (x1 + 1).saturating_sub(x0) as f32 / w as f32,
        box_h: (y1 + 1).saturating_sub(y0) as f32 / h as f32,
        skin,
        head_skin: head_skin as f32 / head_n.max(1) as f32,
        grad_fine,
        grad_coarse,
        edges,
    }
}

/// Share of each edge (top, bottom, left, right; two pixels deep) that is subject.
fn edge_touch(subject: &[bool], w: usize, h: usize) -> [f32; 4] {
    let share = |cells: &mut dyn Iterator<Item = usize>| {
        let (mut n, mut s) = (0usize, 0usize);
        for i in cells {
            n += 1;
            s += usize::from(subject[i]);
        }
        s as f32 / n.max(1) as f32
    };
    [
        share(&mut (0..2).flat_map(|y| (0..w).map(move |x| y * w + x))),
        share(&mut (h - 2..h).flat_map(|y| (0..w).map(move |x| y * w + x))),
        share(&mut (0..h).flat_map(|y| (0..2).map(move |x| y * w + x))),
        share(&mut (0..h).flat_map(|y| (w - 2..w).map(move |x| y * w + x))),
    ]
}

/// Mean gradient magnitude (luma levels / 255) over the mask, and the share of masked pixels on a strong edge.
fn gradient(lum: &[f32], w: usize, h: usize, mask: &[bool]) -> (f32, f32) {
    /// A step of this many luma levels between neighbours is an edge, well above JPEG noise.
    const EDGE_STEP: f32 = 24.0;
    let (mut sum, mut n, mut strong) = (0.0f32, 0usize, 0usize);
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let i = y * w + x;
            if !mask[i] {
                continue;
            }
            let gx = (lum[i + 1] - lum[i - 1]) / 2.0;
            let gy = (lum[i + w] - lum[i - w]) / 2.0;
            let g = (gx * gx + gy * gy).sqrt();
            sum += g;
            n += 1;
            strong += usize::from(g > EDGE_STEP);
        }
    }
    (sum / n.max(1) as f32 / 255.0, strong as f32 / n.max(1) as f32)
}

fn halve(lum: &[f32], w: usize, h: usize) -> (Vec<f32>, usize, usize) {
    let (hw, hh) = (w / 2, h / 2);
    let out = (0..hh)
        .flat_map(|y| (0..hw).map(move |x| (x, y)))
        .map(|(x, y)| {
            let i = 2 * y * w + 2 * x;
            (lum[i] + lum[i + 1] + lum[i + w] + lum[i + w + 1]) / 4.0
        })
        .collect();
    (out, hw, hh)
}

fn halve_mask(mask: &[bool], w: usize, h: usize) -> Vec<bool> {
    let (hw, hh) = (w / 2, h / 2);
    (0..hh).flat_map(|y| (0..hw).map(move |x| (x, y))).map(|(x, y)| mask[2 * y * w + 2 * x]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::analyse;

    #[test]
    fn skin_tones_are_skin_and_reds_pinks_and_greys_are_not() {
        for skin in [[224.0, 172.0, 150.0], [141.0, 85.0, 56.0], [198.0, 134.0, 100.0]] {
            assert!(is_skin(skin), "{skin:?}");
        }
        for other in [[200.0, 30.0, 40.0], [235.0, 150.0, 175.0], [128.0, 128.0, 128.0], [60.0, 90.0, 170.0]] {
            assert!(!is_skin(other), "{other:?}");
        }
    }

    #[test]
    fn the_classifier_sees_the_subject_the_framing_frames() {
        // One routine: the box the still-motion framing pushes in on is the box the features measure.
        for img in [super::super::testutil::studio_flat(), super::super::testutil::person_in_room()] {
            let f = features(&img);
            let s = analyse(&img).subject;
            assert!((f64::from(f.box_w) - s.width()).abs() < 1e-6, "{f:?} {s:?}");
            assert!((f64::from(f.box_h) - s.height()).abs() < 1e-6, "{f:?} {s:?}");
        }
    }
}
