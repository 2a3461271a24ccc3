//! Lining a frame up with its photo, and comparing them where they overlap.
//!
//! A faithful frame is a window of its photo: a crop at some scale and place (a camera move), with
//! the photo's backdrop where the window leaves the photo. [`align`] finds that window: every
//! window height from a third of the photo to one and a half times it, at every place, by
//! normalised cross-correlation of luma on a coarse grid (the frame 1/16 of its size), then refined
//! on a finer one (1/4). The same search over the mirrored photo, and over the photo stretched or
//! squashed sideways, says whether the frame fits those better. [`compare`] then measures the
//! aligned pair: structural similarity (SSIM, 8x8 blocks at half size) over the whole frame and per
//! block inside the product, the colour difference (CIEDE2000) of the product's blocks, and the
//! product's area that kept the least of the photo's detail ([`DetailLost`]: a print wiped away).

use crate::colour::Lab;
use image::{GrayImage, RgbImage, imageops};

/// A picture's luma as floats.
#[derive(Clone)]
struct Plane {
    w: usize,
    h: usize,
    px: Vec<f32>,
    /// What lies outside it (its border's median).
    backdrop: f32,
    /// The rows compared (a frame's caption band is not).
    used: Vec<bool>,
}

impl Plane {
    fn of(gray: &GrayImage) -> Self {
        let (w, h) = (gray.width() as usize, gray.height() as usize);
        let px: Vec<f32> = gray.as_raw().iter().map(|v| *v as f32).collect();
        let mut border: Vec<f32> = (0..w).flat_map(|x| [px[x], px[(h - 1) * w + x]]).collect();
        border.extend((0..h).flat_map(|y| [px[y * w], px[y * w + w - 1]]));
        border.sort_by(f32::total_cmp);
        Self { w, h, px, backdrop: border[border.len() / 2], used: vec![true; h] }
    }

    /// Leaves out the rows inside `skip` (fractions of the height).
    fn skipping(mut self, skip: Option<(f64, f64)>) -> Self {
        if let Some((top, bottom)) = skip {
            for (y, used) in self.used.iter_mut().enumerate() {
                let f = (y as f64 + 0.5) / self.h as f64;
                *used = !(top..bottom).contains(&f);
            }
        }
        self
    }
}

/// A frame made ready to be correlated: its used rows, each pixel less the mean of all used
/// pixels (so a window's covariance with it is one dot product), and those rows as runs.
struct Centred {
    w: usize,
    /// The used rows' centred values, row after row.
    px: Vec<f32>,
    /// Each used row's index in the frame.
    rows: Vec<usize>,
    /// Runs of used rows, `[from, to)`.
    runs: Vec<(usize, usize)>,
    /// How many pixels are compared, and the sum of their squared deviations.
    n: f64,
    var: f64,
}

impl Centred {
    fn of(frame: &Plane) -> Self {
        let rows: Vec<usize> = (0..frame.h).filter(|y| frame.used[*y]).collect();
        let n = (rows.len() * frame.w) as f64;
        let mean = rows.iter().flat_map(|y| &frame.px[y * frame.w..(y + 1) * frame.w]).map(|v| *v as f64).sum::<f64>()
            / n.max(1.0);
        let px: Vec<f32> = rows
            .iter()
            .flat_map(|y| &frame.px[y * frame.w..(y + 1) * frame.w])
            .map(|v| (*v as f64 - mean) as f32)
            .collect();
        let var = px.iter().map(|v| (*v as f64) * (*v as f64)).sum();
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for &y in &rows {
            match runs.last_mut() {
                Some((_, to)) if *to == y => *to = y + 1,
                _ => runs.push((y, y + 1)),
            }
        }
        Self { w: frame.w, px, rows, runs, n, var }
    }
}

/// A photo plane padded with its backdrop so that every window searched lies inside it, with
/// summed-area tables of its values and of their squares (a window's sums in four lookups).
struct Padded {
    w: usize,
    px: Vec<f32>,
    /// Where the photo's (0, 0) lies in the padded plane.
    ox: i32,
    oy: i32,
    sum: Vec<f64>,
    squares: Vec<f64>,
}

impl Padded {
    /// `photo` padded for windows `fw` x `fh` at the top-left corners `xs` x `ys` (photo pixels).
    fn new(photo: &Plane, xs: (i32, i32), ys: (i32, i32), (fw, fh): (usize, usize)) -> Self {
        let (ox, oy) = ((-xs.0).max(0), (-ys.0).max(0));
        let right = (xs.1 + fw as i32 - photo.w as i32).max(0);
        let bottom = (ys.1 + fh as i32 - photo.h as i32).max(0);
        let (w, h) = (photo.w + (ox + right) as usize, photo.h + (oy + bottom) as usize);
        let mut px = vec![photo.backdrop; w * h];
        for y in 0..photo.h {
            let at = (y + oy as usize) * w + ox as usize;
            px[at..at + photo.w].copy_from_slice(&photo.px[y * photo.w..(y + 1) * photo.w]);
        }
        let table = |f: fn(f64) -> f64| {
            let mut t = vec![0.0f64; (w + 1) * (h + 1)];
            for y in 0..h {
                let mut row = 0.0;
                for x in 0..w {
                    row += f(px[y * w + x] as f64);
                    t[(y + 1) * (w + 1) + x + 1] = t[y * (w + 1) + x + 1] + row;
                }
            }
            t
        };
        let (sum, squares) = (table(|v| v), table(|v| v * v));
        Self { w, px, ox, oy, sum, squares }
    }

    /// The sum of `table` over `w` x `h` at (`x`, `y`) of the padded plane.
    fn rect(&self, table: &[f64], x: usize, y: usize, w: usize, h: usize) -> f64 {
        let s = self.w + 1;
        table[(y + h) * s + x + w] - table[y * s + x + w] - table[(y + h) * s + x] + table[y * s + x]
    }
}

/// The normalised cross-correlations of `frame` with the windows of `photo` whose top-left
/// corners are `xs` (inclusive) along row `y` (photo pixels; outside the photo, its backdrop),
/// each -1..1 (0 when either is flat). The covariances are accumulated for all the row's windows
/// at once (one long multiply-add per frame pixel, in f32 per frame row: the frame is centred, so
/// nothing large cancels); the windows' sums come from the tables in f64.
fn ncc_row(frame: &Centred, photo: &Padded, xs: (i32, i32), y: i32) -> Vec<f32> {
    let (x0, py) = ((xs.0 + photo.ox) as usize, (y + photo.oy) as usize);
    let (w, n) = (frame.w, (xs.1 - xs.0 + 1).max(0) as usize);
    let mut cov = vec![0.0f64; n];
    let mut row_cov = vec![0.0f32; n];
    for (row, fy) in frame.px.chunks_exact(w).zip(&frame.rows) {
        row_cov.fill(0.0);
        let at = (py + fy) * photo.w + x0;
        for (fx, f) in row.iter().enumerate() {
            for (c, p) in row_cov.iter_mut().zip(&photo.px[at + fx..at + fx + n]) {
                *c += f * p;
            }
        }
        for (c, r) in cov.iter_mut().zip(&row_cov) {
            *c += *r as f64;
        }
    }
    let (nf, vf) = (frame.n, frame.var);
    (cov.iter().enumerate())
        .map(|(i, cov)| {
            let (mut sp, mut spp) = (0.0, 0.0);
            for &(from, to) in &frame.runs {
                sp += photo.rect(&photo.sum, x0 + i, py + from, w, to - from);
                spp += photo.rect(&photo.squares, x0 + i, py + from, w, to - from);
            }
            let vp = spp - sp * sp / nf;
            if vf <= nf * 0.5 || vp <= nf * 0.5 { 0.0 } else { (cov / (vf * vp).sqrt()) as f32 }
        })
        .collect()
}

/// Where a frame lies on its photo: the window, in photo pixels (it may reach past the photo).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    /// How well the frame fits there (NCC of luma at 1/4 size), -1..1.
    pub fit: f64,
}

/// `img` scaled to `w` x `h`: by area averaging when shrinking (fast, and what a coarse grid
/// wants), by a triangle filter when enlarging.
fn scaled(img: &GrayImage, w: u32, h: u32) -> GrayImage {
    let (w, h) = (w.max(1), h.max(1));
    if w <= img.width() && h <= img.height() {
        imageops::thumbnail(img, w, h)
    } else {
        imageops::resize(img, w, h, imageops::FilterType::Triangle)
    }
}

/// A photo's luma and its halvings, made once for every frame lined up with it: each window size
/// is scaled from the smallest halving still twice its size, not from the whole photo again. The
/// small sizes the searches everywhere ask for (the same for every frame of a reel) are kept.
pub struct Pyramid {
    levels: Vec<GrayImage>,
    kept: std::sync::Mutex<std::collections::HashMap<(u32, u32), std::sync::Arc<Plane>>>,
}

/// Scaled photos up to this many pixels are kept by their pyramid (a coarse search's).
const KEPT_PIXELS: u32 = 16_384;

impl Pyramid {
    pub fn new(luma: GrayImage) -> Self {
        let mut levels = vec![luma];
        while let Some(last) = levels.last().filter(|l| l.width().min(l.height()) >= 64) {
            let half = scaled(last, last.width() / 2, last.height() / 2);
            levels.push(half);
        }
        Self { levels, kept: Default::default() }
    }

    /// The same photo mirrored left to right (each level flipped: no scaling again).
    pub fn flipped(&self) -> Self {
        Self { levels: self.levels.iter().map(imageops::flip_horizontal).collect(), kept: Default::default() }
    }

    /// The photo's size.
    fn size(&self) -> (u32, u32) {
        self.levels[0].dimensions()
    }

    /// The photo at `w` x `h`, as a plane; kept when `keep` (a size every frame asks for) and small.
    fn at(&self, w: u32, h: u32, keep: bool) -> std::sync::Arc<Plane> {
        let make = || {
            let source = (self.levels.iter().rev())
                .find(|l| l.width() >= 2 * w && l.height() >= 2 * h)
                .unwrap_or(&self.levels[0]);
            std::sync::Arc::new(Plane::of(&scaled(source, w, h)))
        };
        if !keep || w * h > KEPT_PIXELS {
            return make();
        }
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.entry((w, h)).or_insert_with(make).clone()
    }
}

/// Where a search looks: everywhere on a coarse grid, or near a window found before.
#[derive(Clone, Copy)]
enum Near {
    Anywhere,
    /// Anywhere, on a grid 1/32 of the frame and at fewer heights: to rank photos, not to judge.
    Rough,
    /// Around a [`Near::Rough`] window on the coarse grid (1/16): this many window heights 3.5 %
    /// apart each way, this many pixels each way.
    Around {
        window: Window,
        heights: i32,
        pixels: i32,
    },
    /// Around `window`: this many window heights 3.5 % apart each way, this many pixels of the
    /// finer grid each way.
    Window {
        window: Window,
        heights: i32,
        pixels: i32,
    },
}

/// The best window of `photo` for `frame` (luma both), its photo stretched sideways by `stretch`
/// (1 = as it is).
fn search(frame: &GrayImage, photo: &Pyramid, stretch: f64, near: Near, skip: Option<(f64, f64)>) -> Window {
    let (fw, fh) = frame.dimensions();
    let (pw, ph) = (photo.size().0 as f64 * stretch, photo.size().1 as f64);
    let aspect = fw as f64 / fh as f64;
    // Window heights to try (photo pixels): geometric steps.
    let (lo, hi) = (ph / 5.0, 1.5 * ph.max(pw / aspect));
    let heights: Vec<f64> = match near {
        Near::Window { window, heights, .. } | Near::Around { window, heights, .. } => {
            (-heights..=heights).map(|i| window.h * 1.035f64.powi(i)).collect()
        }
        Near::Anywhere | Near::Rough => {
            let steps = if matches!(near, Near::Rough) { 10 } else { 20 };
            (0..steps).map(|i| lo * (hi / lo).powf(i as f64 / (steps - 1) as f64)).collect()
        }
    };
    let div = match near {
        Near::Anywhere | Near::Around { .. } => 16,
        Near::Rough => 32,
        Near::Window { .. } => 4,
    };
    let small = Plane::of(&scaled(frame, fw / div, fh / div)).skipping(skip);
    let centred = Centred::of(&small);
    // Searches everywhere ask every frame for the same sizes of the photo.
    let everywhere = matches!(near, Near::Anywhere | Near::Rough);
    let mut best = Window { x: 0.0, y: 0.0, w: 0.0, h: 0.0, fit: -2.0 };
    for wh in heights {
        let k = small.h as f64 / wh;
        let candidate = photo.at((pw * k).round() as u32, (ph * k).round() as u32, everywhere);
        let (mx, my) = ((small.w as f64 * 0.35) as i32, (small.h as f64 * 0.35) as i32);
        let (xs, ys) = match near {
            Near::Window { window: w, pixels: r, .. } | Near::Around { window: w, pixels: r, .. } => {
                let (cx, cy) = (
                    ((w.x + w.w / 2.0) * k) as i32 - small.w as i32 / 2,
                    ((w.y + w.h / 2.0) * k) as i32 - small.h as i32 / 2,
                );
                ((cx - r, cx + r), (cy - r, cy + r))
            }
            Near::Anywhere | Near::Rough => {
                ((-mx, candidate.w as i32 - small.w as i32 + mx), (-my, candidate.h as i32 - small.h as i32 + my))
            }
        };
        let padded = Padded::new(&candidate, xs, ys, (small.w, small.h));
        for y in ys.0..=ys.1 {
            for (x, fit) in (xs.0..).zip(ncc_row(&centred, &padded, xs, y)) {
                let fit = fit as f64;
                if fit > best.fit {
                    best = Window { x: x as f64 / k, y: y as f64 / k, w: small.w as f64 / k, h: wh, fit };
                }
            }
        }
    }
    best
}

/// How a frame lines up with its photo.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Alignment {
    /// The best window of the photo as it is.
    pub window: Window,
    /// The best window of the photo mirrored left to right (on the mirrored photo).
    pub mirrored_window: Window,
    /// The best fit of the photo stretched sideways by some factor, and that factor.
    pub stretched_fit: f64,
    pub stretch: f64,
}

/// Sideways stretches tried.
const STRETCHES: [f64; 4] = [0.67, 0.8, 1.25, 1.5];

/// Lines `frame` up with `photo` and with `flipped` (the photo mirrored left to right), all luma,
/// the photo's pyramids made once by the caller for all its frames; see the module documentation. Rows of
/// the frame inside `skip` (fractions of its height: where captions are drawn) are left out.
pub fn align(frame: &GrayImage, photo: &Pyramid, flipped: &Pyramid, skip: Option<(f64, f64)>) -> Alignment {
    let refine = |window| Near::Window { window, heights: 2, pixels: 4 };
    let window = refined(frame, photo, coarse(frame, photo, skip), skip);
    let mirrored = search(frame, flipped, 1.0, Near::Anywhere, skip);
    let mirrored_window = search(frame, flipped, 1.0, refine(mirrored), skip);
    let (mut stretched_fit, mut stretch) = (-2.0, 1.0);
    for s in STRETCHES {
        // The stretched photo's window is where the found one lies, stretched: a narrower look.
        let window = Window { x: window.x * s, w: window.w * s, ..window };
        let fit = search(frame, photo, s, Near::Window { window, heights: 1, pixels: 3 }, skip).fit;
        if fit > stretched_fit {
            (stretched_fit, stretch) = (fit, s);
        }
    }
    Alignment { window, mirrored_window, stretched_fit, stretch }
}

/// The best window of `photo` for `frame` (luma both) on the coarse grid alone (1/16 of the
/// frame), everywhere: the first step of [`align`]'s search, which [`refined`] finishes.
pub fn coarse(frame: &GrayImage, photo: &Pyramid, skip: Option<(f64, f64)>) -> Window {
    search(frame, photo, 1.0, Near::Anywhere, skip)
}

/// Where `frame` fits `photo` (luma both) best, roughly: anywhere, on a grid 1/32 of the frame at
/// ten window heights (a twentieth of [`coarse`]'s work), to rank many photos; [`settled`] then
/// lines the frame up with the few that matter.
pub fn rough(frame: &GrayImage, photo: &Pyramid, skip: Option<(f64, f64)>) -> Window {
    search(frame, photo, 1.0, Near::Rough, skip)
}

/// A [`rough`] window settled: searched around on the coarse grid (window heights within ±27 %,
/// ±3 pixels), then [`refined`]; its `fit` is comparable with [`align`]'s.
pub fn settled(frame: &GrayImage, photo: &Pyramid, window: Window, skip: Option<(f64, f64)>) -> Window {
    let around = search(frame, photo, 1.0, Near::Around { window, heights: 7, pixels: 3 }, skip);
    refined(frame, photo, around, skip)
}

/// `window` (from [`coarse`]) refined on the finer grid (1/4 of the frame): its `fit` is the one
/// [`align`] reports.
pub fn refined(frame: &GrayImage, photo: &Pyramid, window: Window, skip: Option<(f64, f64)>) -> Window {
    search(frame, photo, 1.0, Near::Window { window, heights: 2, pixels: 4 }, skip)
}

/// The aligned pair compared.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Mean SSIM over the frame's blocks, -1..1.
    pub ssim: f64,
    /// Median CIEDE2000 between the frame's product blocks and the photo's.
    pub colour_de: f64,
    /// The product's block that lost the most of its detail (`None` when the photo shows no
    /// detailed block in the frame).
    pub detail_lost: Option<DetailLost>,
}

/// Where a frame lost the photo's detail: the product's area whose edge energy (mean squared
/// gradient of luma over blocks of 16 pixels at half size, every 8) kept the smallest share of the
/// photo's same area, among the blocks where the photo has at least [`MIN_DETAIL_ENERGY`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetailLost {
    /// The frame's edge energy over the photo's there (about 1 where they agree; a print blurred
    /// or painted over keeps a few per cent).
    pub kept: f64,
    /// The block's centre, fractions of the frame's width and height.
    pub x: f64,
    pub y: f64,
}

/// Blocks of the photo with less edge energy than this (luma levels squared per pixel) are plain
/// cloth or backdrop: losing nothing, they are not compared.
pub const MIN_DETAIL_ENERGY: f64 = 10.0;
/// Detail blocks are this many pixels a side at half the frame's size, every half block.
const DETAIL: u32 = 16;
/// Added to both edge energies before their ratio: flat cloth against flat cloth keeps all.
const DETAIL_FLOOR: f64 = 10.0;

/// SSIM blocks are this many pixels a side, at half the frame's size.
const BLOCK: u32 = 8;

/// Compares `frame` with the `window` of `photo`; `product` is where the product is on the photo
/// (normalised), to pick the blocks that show it; blocks inside `skip` (rows, as fractions of the
/// height) are left out.
pub fn compare(
    frame: &RgbImage,
    photo: &RgbImage,
    window: &Window,
    product: [f64; 4],
    skip: Option<(f64, f64)>,
) -> Comparison {
    let (w, h) = (frame.width() / 2, frame.height() / 2);
    let seen = imageops::thumbnail(frame, w, h);
    // The photo's window at the same size, the backdrop (its border's median colour) outside.
    let k = h as f64 / window.h;
    let (pw, ph) =
        ((photo.width() as f64 * k).round().max(1.0) as u32, (photo.height() as f64 * k).round().max(1.0) as u32);
    let photo_at = if pw <= photo.width() && ph <= photo.height() {
        imageops::thumbnail(photo, pw, ph)
    } else {
        imageops::resize(photo, pw, ph, imageops::FilterType::Triangle)
    };
    let backdrop = border_median(&photo_at);
    let (ox, oy) = ((window.x * k).round() as i64, (window.y * k).round() as i64);
    let shown = RgbImage::from_fn(w, h, |x, y| {
        let (px, py) = (ox + x as i64, oy + y as i64);
        if px < 0 || py < 0 || px >= pw as i64 || py >= ph as i64 {
            backdrop
        } else {
            *photo_at.get_pixel(px as u32, py as u32)
        }
    });
    // The product's box in frame pixels.
    let to_frame = |v: f64, o: i64, n: u32, size: u32| (v * n as f64 - o as f64) / size as f64;
    let product_box = [
        to_frame(product[0], ox, pw, w),
        to_frame(product[1], oy, ph, h),
        to_frame(product[2], ox, pw, w),
        to_frame(product[3], oy, ph, h),
    ];
    let (ga, gb) = (imageops::grayscale(&seen), imageops::grayscale(&shown));
    let (mut sum, mut n) = (0.0, 0.0);
    let mut des = Vec::new();
    for by in 0..h / BLOCK {
        for bxi in 0..w / BLOCK {
            let (x0, y0) = (bxi * BLOCK, by * BLOCK);
            let centre = (y0 + BLOCK / 2) as f64 / h as f64;
            if skip.is_some_and(|(top, bottom)| (top..bottom).contains(&centre)) {
                continue;
            }
            let s = block_ssim(&ga, &gb, x0, y0);
            sum += s;
            n += 1.0;
            let (cx, cy) = ((x0 + BLOCK / 2) as f64 / w as f64, (y0 + BLOCK / 2) as f64 / h as f64);
            let [left, top, right, bottom] = product_box;
            if cx > left && cx < right && cy > top && cy < bottom {
                des.push(Lab::from_rgb(block_mean(&seen, x0, y0)).de2000(&Lab::from_rgb(block_mean(&shown, x0, y0))));
            }
        }
    }
    des.sort_by(f64::total_cmp);
    // Where the photo itself lies in the frame (outside it, its backdrop).
    let inside = [
        -(ox as f64) / w as f64,
        -(oy as f64) / h as f64,
        (pw as f64 - ox as f64) / w as f64,
        (ph as f64 - oy as f64) / h as f64,
    ];
    let detail_lost = detail_lost(&ga, &gb, product_box, inside, skip);
    Comparison {
        ssim: if n > 0.0 { sum / n } else { 0.0 },
        colour_de: des.get(des.len() / 2).copied().unwrap_or(0.0),
        detail_lost,
    }
}

/// The product area of `seen` that kept the least of `shown`'s edge energy (see [`DetailLost`]):
/// blocks on a grid every half block, each compared where the photo has detail, and an area (two
/// by two neighbouring blocks) keeping as much as its best block, so that one block misplaced by
/// the alignment or cut by the photo's edge is not a loss. `product` is the product's box in
/// fractions of the frame, `inside` where the photo itself is (the rest is its backdrop); blocks
/// centred in `skip` rows are left out.
fn detail_lost(
    seen: &GrayImage,
    shown: &GrayImage,
    product: [f64; 4],
    inside: [f64; 4],
    skip: Option<(f64, f64)>,
) -> Option<DetailLost> {
    let (w, h) = seen.dimensions();
    let step = DETAIL / 2;
    let (cols, rows) = ((w.saturating_sub(DETAIL) / step + 1) as usize, (h.saturating_sub(DETAIL) / step + 1) as usize);
    let mut kept: Vec<Option<f64>> = vec![None; cols * rows];
    let within = |b: [f64; 4], x: f64, y: f64| x > b[0] && x < b[2] && y > b[1] && y < b[3];
    for r in 0..rows {
        for c in 0..cols {
            let (x0, y0) = (c as u32 * step, r as u32 * step);
            let (fx0, fy0) = (x0 as f64 / w as f64, y0 as f64 / h as f64);
            let (fx1, fy1) = ((x0 + DETAIL) as f64 / w as f64, (y0 + DETAIL) as f64 / h as f64);
            let (cx, cy) = ((fx0 + fx1) / 2.0, (fy0 + fy1) / 2.0);
            let on_photo = within(inside, fx0, fy0) && within(inside, fx1, fy1);
            if !on_photo || !within(product, cx, cy) || skip.is_some_and(|(t, b)| (t..b).contains(&cy)) {
                continue;
            }
            let photo = edge_energy(shown, x0, y0);
            if photo >= MIN_DETAIL_ENERGY {
                kept[r * cols + c] = Some((edge_energy(seen, x0, y0) + DETAIL_FLOOR) / (photo + DETAIL_FLOOR));
            }
        }
    }
    let mut worst: Option<DetailLost> = None;
    for r in 0..rows.saturating_sub(1) {
        for c in 0..cols.saturating_sub(1) {
            let group =
                [kept[r * cols + c], kept[r * cols + c + 1], kept[(r + 1) * cols + c], kept[(r + 1) * cols + c + 1]];
            if group.iter().flatten().count() < 3 {
                continue;
            }
            let area = group.iter().flatten().copied().fold(0.0, f64::max);
            if worst.is_none_or(|d| area < d.kept) {
                let (x, y) = (((c as u32 + 1) * step) as f64 / w as f64, ((r as u32 + 1) * step) as f64 / h as f64);
                worst = Some(DetailLost { kept: area, x, y });
            }
        }
    }
    worst
}

/// Mean squared central-difference gradient of luma over the [`DETAIL`] block at (`x0`, `y0`).
fn edge_energy(img: &GrayImage, x0: u32, y0: u32) -> f64 {
    let (w, h) = img.dimensions();
    let at = |x: u32, y: u32| img.get_pixel(x, y).0[0] as f64;
    let (mut sum, mut n) = (0.0, 0.0);
    for y in y0.max(1)..(y0 + DETAIL).min(h - 1) {
        for x in x0.max(1)..(x0 + DETAIL).min(w - 1) {
            let (gx, gy) = ((at(x + 1, y) - at(x - 1, y)) / 2.0, (at(x, y + 1) - at(x, y - 1)) / 2.0);
            sum += gx * gx + gy * gy;
            n += 1.0;
        }
    }
    if n > 0.0 { sum / n } else { 0.0 }
}

fn border_median(img: &RgbImage) -> image::Rgb<u8> {
    let (w, h) = img.dimensions();
    let mut px: Vec<[u8; 3]> = (0..w).flat_map(|x| [img.get_pixel(x, 0).0, img.get_pixel(x, h - 1).0]).collect();
    px.extend((0..h).flat_map(|y| [img.get_pixel(0, y).0, img.get_pixel(w - 1, y).0]));
    let mid = |c: usize| {
        let mut v: Vec<u8> = px.iter().map(|p| p[c]).collect();
        v.sort_unstable();
        v[v.len() / 2]
    };
    image::Rgb([mid(0), mid(1), mid(2)])
}

fn block_mean(img: &RgbImage, x0: u32, y0: u32) -> [u8; 3] {
    let mut s = [0u32; 3];
    for y in y0..y0 + BLOCK {
        for x in x0..x0 + BLOCK {
            let p = img.get_pixel(x, y).0;
            (0..3).for_each(|c| s[c] += p[c] as u32);
        }
    }
    s.map(|v| (v / (BLOCK * BLOCK)) as u8)
}

/// SSIM of one block (the standard constants for 8-bit pictures).
fn block_ssim(a: &GrayImage, b: &GrayImage, x0: u32, y0: u32) -> f64 {
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let n = (BLOCK * BLOCK) as f64;
    let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for y in y0..y0 + BLOCK {
        for x in x0..x0 + BLOCK {
            let (p, q) = (a.get_pixel(x, y).0[0] as f64, b.get_pixel(x, y).0[0] as f64);
            sa += p;
            sb += q;
            saa += p * p;
            sbb += q * q;
            sab += p * q;
        }
    }
    let (ma, mb) = (sa / n, sb / n);
    let (va, vb, cov) = (saa / n - ma * ma, sbb / n - mb * mb, sab / n - ma * mb);
    ((2.0 * ma * mb + c1) * (2.0 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    /// A photo with an asymmetric print: a red garment with a white block high on its left.
    fn photo() -> RgbImage {
        RgbImage::from_fn(300, 400, |x, y| {
            let garment = (60..240).contains(&x) && (60..360).contains(&y);
            let print = (80..130).contains(&x) && (100..170).contains(&y);
            let stripe = (60..240).contains(&x) && (250..262).contains(&y);
            Rgb(if print || stripe {
                [250, 250, 250]
            } else if garment {
                [200, 30, 40]
            } else {
                [235, 235, 230]
            })
        })
    }

    fn window_of(photo: &RgbImage, x: u32, y: u32, w: u32, h: u32, size: (u32, u32)) -> RgbImage {
        imageops::resize(
            &imageops::crop_imm(photo, x, y, w, h).to_image(),
            size.0,
            size.1,
            imageops::FilterType::Triangle,
        )
    }

    #[test]
    fn a_crop_is_found_where_it_was_cut_and_a_mirror_fits_worse() {
        let p = photo();
        let frame = window_of(&p, 40, 50, 180, 320, (108, 192));
        let gp = Pyramid::new(imageops::grayscale(&p));
        let gf = Pyramid::new(imageops::grayscale(&imageops::flip_horizontal(&p)));
        let a = align(&imageops::grayscale(&frame), &gp, &gf, None);
        let w = a.window;
        assert!((w.x - 40.0).abs() < 12.0 && (w.y - 50.0).abs() < 12.0 && (w.h - 320.0).abs() < 25.0, "{a:?}");
        assert!(w.fit > 0.9 && a.mirrored_window.fit < w.fit - 0.05, "{a:?}");
        let c = compare(&frame, &p, &w, [0.2, 0.15, 0.8, 0.9], None);
        assert!(c.ssim > 0.7 && c.colour_de < 5.0, "{c:?}");
        let kept = c.detail_lost.unwrap().kept;
        assert!(kept > 0.6, "a faithful crop keeps the photo's detail: {c:?}");

        // The print blurred away: its area keeps almost nothing of the photo's edges.
        let mut wiped = frame.clone();
        let blurred = imageops::blur(&imageops::crop_imm(&frame, 14, 20, 50, 60).to_image(), 8.0);
        imageops::replace(&mut wiped, &blurred, 14, 20);
        let lost = compare(&wiped, &p, &w, [0.2, 0.15, 0.8, 0.9], None).detail_lost.unwrap();
        assert!(lost.kept < 0.3 && lost.x < 0.45 && lost.y < 0.45, "{lost:?}");

        let mirrored = imageops::flip_horizontal(&frame);
        let m = align(&imageops::grayscale(&mirrored), &gp, &gf, Some((0.6, 0.75)));
        assert!(m.mirrored_window.fit > m.window.fit + 0.05, "{m:?}");
    }
}
