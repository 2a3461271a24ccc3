//! Local motion between two frames, and how far it strays from one camera move.
//!
//! A faithful shot is a camera moving over a still product: between two frames, every part of the
//! picture moves as one translation plus one zoom about a point. A garment that melts or swims
//! moves on its own. [`block_motions`] measures the motion of a grid of blocks (block matching of
//! [`smoothed`] luma, coarse at half size, refined at full size to a tenth of a pixel); [`fit_camera`] fits one
//! translation and zoom to them by least squares (trimmed: refitted on the better-fitting
//! [`TRIM_SHARE`] so that a swimming part does not drag the camera with it) and says how far each
//! block strays from it.

use image::{GrayImage, imageops};

/// Blocks are this many pixels a side at the frame's size.
const BLOCK: usize = 16;
/// Columns and rows of blocks (spread evenly inside a margin of the search range: on a 216 x 384
/// thumbnail, about one block every 16 pixels).
const COLS: usize = 12;
const ROWS: usize = 22;
/// The coarse search reaches this many half-size pixels each way (twice that at full size)...
const COARSE: i32 = 4;
/// ...and the fine one this many full-size pixels around it.
const FINE: i32 = 2;
/// A block is matched only when its structure tensor's smaller eigenvalue (mean squared gradient,
/// luma levels squared) is at least this: an edge alone or flat cloth cannot say where it went.
const MIN_CORNERNESS: f64 = 4.0;
/// A block is matched only when every shift two half-size pixels or more from its best match
/// costs more than this many times the best (plus one level a pixel): a repeated pattern would
/// match elsewhere as well.
const AMBIGUOUS: f64 = 1.5;
/// The camera is refitted on this share of the blocks that fit it best.
pub const TRIM_SHARE: f64 = 0.6;

/// Frames are smoothed before blocks are matched, by the binomial kernel 1 4 6 4 1 (over 16) each
/// way: a Gaussian of one pixel's sigma. A fine weave or compression noise in dark cloth aliases
/// into patterns that move on their own as the camera zooms, and would read as warping.
pub fn smoothed(gray: &GrayImage) -> GrayImage {
    let (w, h) = (gray.width() as usize, gray.height() as usize);
    if w < 5 || h < 5 {
        return gray.clone();
    }
    let p = gray.as_raw();
    let tap = |v: [u16; 5]| v[0] + 4 * v[1] + 6 * v[2] + 4 * v[3] + v[4];
    // Across (edges repeated), kept at 16x; then down, back to 0-255.
    let mut across = vec![0u16; w * h];
    for y in 0..h {
        let row = &p[y * w..(y + 1) * w];
        for x in 0..w {
            let at = |d: isize| row[(x as isize + d).clamp(0, w as isize - 1) as usize] as u16;
            across[y * w + x] = tap([at(-2), at(-1), at(0), at(1), at(2)]);
        }
    }
    let mut out = vec![0u8; w * h];
    for y in 0..h {
        let at = |d: isize| (y as isize + d).clamp(0, h as isize - 1) as usize * w;
        let rows = [at(-2), at(-1), at(0), at(1), at(2)];
        for x in 0..w {
            let v = across[rows[0] + x] as u32
                + 4 * across[rows[1] + x] as u32
                + 6 * across[rows[2] + x] as u32
                + 4 * across[rows[3] + x] as u32
                + across[rows[4] + x] as u32;
            out[y * w + x] = ((v + 128) / 256) as u8;
        }
    }
    GrayImage::from_raw(w as u32, h as u32, out).expect("the size it was made with")
}

/// One block's motion from the first frame to the second, in pixels of the frames.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockMotion {
    /// The block's centre in the first frame.
    pub x: f64,
    pub y: f64,
    pub dx: f64,
    pub dy: f64,
    /// Its place in the grid.
    pub col: usize,
    pub row: usize,
}

/// The motion of every block of the grid with enough texture to tell, from `a` to `b` (luma of one
/// size, [`smoothed`]). Blocks whose centre lies in `skip` (rows, fractions of the height: the caption band) are
/// left out, and so are blocks whose best match is at the edge of the search.
pub fn block_motions(a: &GrayImage, b: &GrayImage, skip: Option<(f64, f64)>) -> Vec<BlockMotion> {
    let (w, h) = (a.width() as usize, a.height() as usize);
    if b.dimensions() != a.dimensions() || w < 4 * BLOCK || h < 4 * BLOCK {
        return Vec::new();
    }
    let (ha, hb) = (half(a), half(b));
    let reach = (2 * COARSE + FINE + 1) as usize;
    let span = |n: usize, k: usize, count: usize| reach + (n - 2 * reach - BLOCK) * k / (count - 1).max(1);
    let mut out = Vec::with_capacity(COLS * ROWS);
    for row in 0..ROWS {
        let y0 = span(h, row, ROWS);
        let centre_y = y0 as f64 + BLOCK as f64 / 2.0;
        if skip.is_some_and(|(top, bottom)| (top..bottom).contains(&(centre_y / h as f64))) {
            continue;
        }
        for col in 0..COLS {
            let x0 = span(w, col, COLS);
            if cornerness(a, x0, y0) < MIN_CORNERNESS {
                continue;
            }
            // Coarse: the half-size block, every shift within reach.
            let (cx, cy) = (x0 / 2, y0 / 2);
            let mut coarse = [[u32::MAX; (2 * COARSE + 1) as usize]; (2 * COARSE + 1) as usize];
            let mut best = (u32::MAX, 0, 0);
            for dy in -COARSE..=COARSE {
                for dx in -COARSE..=COARSE {
                    let s = sad(&ha, &hb, cx, cy, BLOCK / 2, dx, dy);
                    coarse[(dy + COARSE) as usize][(dx + COARSE) as usize] = s;
                    if s < best.0 {
                        best = (s, dx, dy);
                    }
                }
            }
            // A repeated pattern (lace, stripes, a weave) matches as well elsewhere: not told.
            let rival = (-COARSE..=COARSE)
                .flat_map(|dy| (-COARSE..=COARSE).map(move |dx| (dx, dy)))
                .filter(|(dx, dy)| (dx - best.1).abs().max((dy - best.2).abs()) >= 2)
                .map(|(dx, dy)| coarse[(dy + COARSE) as usize][(dx + COARSE) as usize])
                .min()
                .unwrap_or(u32::MAX);
            if rival as f64 <= AMBIGUOUS * best.0 as f64 + 64.0 {
                continue;
            }
            // Fine: full size around twice the coarse shift, then a parabola through the best
            // and its neighbours for the tenths.
            let (gx, gy) = (2 * best.1, 2 * best.2);
            let mut sads = [[u32::MAX; (2 * FINE + 1) as usize]; (2 * FINE + 1) as usize];
            let mut fine = (u32::MAX, 0, 0);
            for j in -FINE..=FINE {
                for i in -FINE..=FINE {
                    let s = sad(a, b, x0, y0, BLOCK, gx + i, gy + j);
                    sads[(j + FINE) as usize][(i + FINE) as usize] = s;
                    if s < fine.0 {
                        fine = (s, i, j);
                    }
                }
            }
            let (i, j) = (fine.1, fine.2);
            if i.abs() == FINE || j.abs() == FINE {
                continue;
            }
            let at = |i: i32, j: i32| sads[(j + FINE) as usize][(i + FINE) as usize] as f64;
            let sub = |l: f64, c: f64, r: f64| {
                let d = l - 2.0 * c + r;
                if d > 0.0 { (0.5 * (l - r) / d).clamp(-0.5, 0.5) } else { 0.0 }
            };
            let fx = sub(at(i - 1, j), at(i, j), at(i + 1, j));
            let fy = sub(at(i, j - 1), at(i, j), at(i, j + 1));
            out.push(BlockMotion {
                x: x0 as f64 + BLOCK as f64 / 2.0,
                y: centre_y,
                dx: (gx + i) as f64 + fx,
                dy: (gy + j) as f64 + fy,
                col,
                row,
            });
        }
    }
    out
}

/// One camera move between two frames: a translation and a zoom about the blocks' centroid.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraFit {
    pub tx: f64,
    pub ty: f64,
    /// Relative scale change (0 = none, 0.01 = 1 % closer).
    pub zoom: f64,
    /// How far each block's motion strays from the move, pixels (in the order given)...
    pub strays: Vec<f64>,
    /// ...and which way.
    pub residuals: Vec<(f64, f64)>,
}

impl CameraFit {
    /// How many of `motions` (those fitted) stray from the move by more than `px` together with a
    /// neighbour of theirs in the grid straying the same way: a part of the picture moving on its
    /// own, not one block matched wrongly (an edge slides along itself, a repeated pattern).
    pub fn strays_together(&self, motions: &[BlockMotion], px: f64) -> usize {
        let out: Vec<usize> = (0..motions.len()).filter(|i| self.strays[*i] > px).collect();
        let together = |a: usize, b: usize| {
            let (ma, mb) = (&motions[a], &motions[b]);
            let (ra, rb) = (self.residuals[a], self.residuals[b]);
            a != b && ma.col.abs_diff(mb.col) <= 1 && ma.row.abs_diff(mb.row) <= 1 && ra.0 * rb.0 + ra.1 * rb.1 > 0.0
        };
        out.iter().filter(|a| out.iter().any(|b| together(**a, *b))).count()
    }
}

/// Fits one translation and zoom to `motions` (least squares, then again on the [`TRIM_SHARE`] that
/// fit best). `None` for fewer than four blocks.
pub fn fit_camera(motions: &[BlockMotion]) -> Option<CameraFit> {
    if motions.len() < 4 {
        return None;
    }
    let all: Vec<usize> = (0..motions.len()).collect();
    let first = fit_on(motions, &all);
    let mut order = all.clone();
    order.sort_by(|p, q| first.strays[*p].total_cmp(&first.strays[*q]));
    let keep = ((motions.len() as f64 * TRIM_SHARE).ceil() as usize).max(4);
    Some(fit_on(motions, &order[..keep]))
}

/// Least squares over the blocks `on`; strays measured for all.
fn fit_on(m: &[BlockMotion], on: &[usize]) -> CameraFit {
    let n = on.len() as f64;
    let (mx, my) = (on.iter().map(|i| m[*i].x).sum::<f64>() / n, on.iter().map(|i| m[*i].y).sum::<f64>() / n);
    let (mdx, mdy) = (on.iter().map(|i| m[*i].dx).sum::<f64>() / n, on.iter().map(|i| m[*i].dy).sum::<f64>() / n);
    let (mut num, mut den) = (0.0, 0.0);
    for b in on.iter().map(|i| &m[*i]) {
        let (u, v) = (b.x - mx, b.y - my);
        num += u * (b.dx - mdx) + v * (b.dy - mdy);
        den += u * u + v * v;
    }
    let zoom = if den > 0.0 { num / den } else { 0.0 };
    let residuals: Vec<(f64, f64)> =
        m.iter().map(|b| (b.dx - mdx - zoom * (b.x - mx), b.dy - mdy - zoom * (b.y - my))).collect();
    let strays = residuals.iter().map(|(x, y)| x.hypot(*y)).collect();
    CameraFit { tx: mdx - zoom * mx, ty: mdy - zoom * my, zoom, strays, residuals }
}

fn half(img: &GrayImage) -> GrayImage {
    imageops::thumbnail(img, img.width() / 2, img.height() / 2)
}

/// Sum of absolute differences between the `size` block of `a` at (`x0`, `y0`) and the block of
/// `b` shifted by (`dx`, `dy`); shifts reaching past `b` cost the most.
fn sad(a: &GrayImage, b: &GrayImage, x0: usize, y0: usize, size: usize, dx: i32, dy: i32) -> u32 {
    let (w, h) = (a.width() as usize, a.height() as usize);
    let (bx, by) = (x0 as i64 + dx as i64, y0 as i64 + dy as i64);
    if bx < 0 || by < 0 || bx as usize + size > w || by as usize + size > h || x0 + size > w || y0 + size > h {
        return u32::MAX;
    }
    let (pa, pb) = (a.as_raw(), b.as_raw());
    let mut s = 0u32;
    for r in 0..size {
        let ra = &pa[(y0 + r) * w + x0..][..size];
        let rb = &pb[(by as usize + r) * w + bx as usize..][..size];
        s += ra.iter().zip(rb).map(|(p, q)| p.abs_diff(*q) as u32).sum::<u32>();
    }
    s
}

/// The smaller eigenvalue of the block's structure tensor (mean of squared central differences):
/// large only where the block has edges both ways (a corner, a print, a weave).
fn cornerness(img: &GrayImage, x0: usize, y0: usize) -> f64 {
    let w = img.width() as usize;
    let p = img.as_raw();
    let at = |x: usize, y: usize| p[y * w + x] as f64;
    let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
    for y in y0.max(1)..(y0 + BLOCK).min(img.height() as usize - 1) {
        for x in x0.max(1)..(x0 + BLOCK).min(w - 1) {
            let gx = (at(x + 1, y) - at(x - 1, y)) / 2.0;
            let gy = (at(x, y + 1) - at(x, y - 1)) / 2.0;
            sxx += gx * gx;
            syy += gy * gy;
            sxy += gx * gy;
        }
    }
    let n = (BLOCK * BLOCK) as f64;
    let (sxx, syy, sxy) = (sxx / n, syy / n, sxy / n);
    (sxx + syy) / 2.0 - (((sxx - syy) / 2.0).powi(2) + sxy * sxy).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    /// A textured picture (blobs of several sizes), sampled at `(x, y)` mapped by `map`.
    fn scene(w: u32, h: u32, map: impl Fn(f64, f64) -> (f64, f64)) -> GrayImage {
        GrayImage::from_fn(w, h, |x, y| {
            let (u, v) = map(x as f64, y as f64);
            let t = (u * 0.21).sin() * (v * 0.17).cos() + 0.5 * (u * 0.07 + v * 0.05).sin() + 0.4 * (u * 0.5).sin();
            Luma([(128.0 + 70.0 * t).clamp(0.0, 255.0) as u8])
        })
    }

    #[test]
    fn a_push_in_fits_one_move_and_a_swirl_does_not() {
        let (w, h) = (216, 384);
        let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
        let a = smoothed(&scene(w, h, |x, y| (x, y)));
        // 1.5 % closer and 1 px to the right: every block moves with the camera.
        let b = smoothed(&scene(w, h, |x, y| (cx + (x - cx) / 1.015 - 1.0, cy + (y - cy) / 1.015)));
        let m = block_motions(&a, &b, None);
        assert!(m.len() > 40, "{} blocks", m.len());
        let fit = fit_camera(&m).unwrap();
        assert!((fit.zoom - 0.015).abs() < 0.004, "{fit:?}");
        let worst = fit.strays.iter().copied().fold(0.0, f64::max);
        assert!(worst < 0.6, "{worst}");

        // The middle swims sideways by up to 3 px while the camera stays.
        let c = smoothed(&scene(w, h, |x, y| {
            let r = ((x - cx).powi(2) / 3000.0 + (y - cy).powi(2) / 6000.0).min(10.0);
            (x - 3.0 * (-r).exp() * (y * 0.05).sin(), y)
        }));
        let m = block_motions(&a, &c, None);
        let fit = fit_camera(&m).unwrap();
        assert!(fit.strays_together(&m, 1.0) >= 6, "{fit:?}");
    }
}
