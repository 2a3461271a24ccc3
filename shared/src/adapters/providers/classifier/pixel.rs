//! An offline photo classifier: framing, backdrop, skin and texture from the pixels; alt text, file name and
//! gallery position as a prior. Figures and method: docs/classifier.md.

use crate::PhotoKind;
use crate::ports::{Classification, Classifier, PhotoHints};
use async_trait::async_trait;
use image::DynamicImage;

/// Long side of the working copy: enough for framing, skin and texture, fast on any photo.
const WORK_SIDE: u32 = 256;

/// Width of the border band the background colour is read from, as a share of each side.
const BORDER_BAND: f32 = 0.03;
/// RGB distance within which a pixel counts as the background colour: studio backdrops vary by
/// 10-25 levels through vignetting and JPEG noise; garments differ from them by far more.
const BG_TOLERANCE: f32 = 34.0;
/// A backdrop is light: e-commerce backdrops are white to mid grey (luma >= 0.8 on every studio shot
/// seen); a dark even border is the garment itself filling the frame.
const BACKDROP_MIN_LUMA: f32 = 0.5;
/// A backdrop fills most of the border: under half means a scene or a crop, with no backdrop at all.
const BACKDROP_MIN_BORDER: f32 = 0.5;
/// When the "backdrop" grows over nearly the whole frame there is nothing on it: the frame is one
/// even surface (a plain fabric close-up), so it is all subject.
const BACKDROP_MAX_SHARE: f32 = 0.95;
/// A column or row belongs to the subject's box when this share of it is subject: ignores specks.
const BOX_MIN_SHARE: f32 = 0.03;

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

/// A small RGB copy of a photo, as floats.
struct Work {
    w: usize,
    h: usize,
    px: Vec<[f32; 3]>,
}

impl Work {
    fn of(image: &DynamicImage) -> Self {
        let small = image.thumbnail(WORK_SIDE, WORK_SIDE).to_rgb8();
        let (w, h) = (small.width() as usize, small.height() as usize);
        let px = small.pixels().map(|p| [f32::from(p[0]), f32::from(p[1]), f32::from(p[2])]).collect();
        Self { w, h, px }
    }

    /// Indices of the pixels in the outer band.
    fn border(&self) -> Vec<usize> {
        let bx = ((self.w as f32 * BORDER_BAND) as usize).max(1);
        let by = ((self.h as f32 * BORDER_BAND) as usize).max(1);
        (0..self.h)
            .flat_map(|y| (0..self.w).map(move |x| (x, y)))
            .filter(|&(x, y)| x < bx || y < by || x >= self.w - bx || y >= self.h - by)
            .map(|(x, y)| y * self.w + x)
            .collect()
    }

    fn luma(&self) -> Vec<f32> {
        self.px.iter().map(|p| luma(*p)).collect()
    }
}

fn luma([r, g, b]: [f32; 3]) -> f32 {
    0.299 * r + 0.587 * g + 0.114 * b
}

fn distance(a: [f32; 3], b: [f32; 3]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

fn median(mut v: Vec<f32>) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    let mid = v.len() / 2;
    *v.select_nth_unstable_by(mid, f32::total_cmp).1
}

/// Skin tone by the RGB rule of Kovač et al. (daylight), narrowed so reds and pinks are not skin:
/// skin has red > green > blue with green a fair share of red.
fn is_skin([r, g, b]: [f32; 3]) -> bool {
    r > 95.0 && g > 40.0 && b > 20.0 && r > g && g > b && r - b > 30.0 && (r - g) > 12.0 && {
        let gr = g / r;
        (0.5..0.9).contains(&gr)
    }
}

/// Measures one photo.
pub fn features(image: &DynamicImage) -> Features {
    let work = Work::of(image);
    let (w, h) = (work.w, work.h);
    if w < 4 || h < 4 {
        return Features { aspect: image.width() as f32 / image.height().max(1) as f32, ..Features::default() };
    }
    let border = work.border();
    let bg = [0, 1, 2].map(|c| median(border.iter().map(|&i| work.px[i][c]).collect()));
    let border_uniform =
        border.iter().filter(|&&i| distance(work.px[i], bg) < BG_TOLERANCE).count() as f32 / border.len() as f32;
    let backdrop = luma(bg) / 255.0 >= BACKDROP_MIN_LUMA && border_uniform >= BACKDROP_MIN_BORDER;
    let mut background = if backdrop { grow_background(&work, &border, bg) } else { vec![false; w * h] };
    if background.iter().filter(|b| **b).count() as f32 > BACKDROP_MAX_SHARE * (w * h) as f32 {
        background.fill(false);
    }
    let subject: Vec<bool> = background.iter().map(|b| !b).collect();
    let n_subject = subject.iter().filter(|s| **s).count().max(1) as f32;

    let touch = edge_touch(&subject, w, h);
    let (x0, x1) = span((0..w).map(|x| (0..h).filter(|&y| subject[y * w + x]).count()), h);
    let (y0, y1) = span((0..h).map(|y| (0..w).filter(|&x| subject[y * w + x]).count()), w);

    let skin_mask: Vec<bool> = work.px.iter().zip(&subject).map(|(p, s)| *s && is_skin(*p)).collect();
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

    let lum = work.luma();
    let (grad_fine, edges) = gradient(&lum, w, h, &subject);
    let (half, hw, hh) = halve(&lum, w, h);
    let half_subject = halve_mask(&subject, w, h);
    let (grad_coarse, _) = gradient(&half, hw, hh, &half_subject);

    Features {
        aspect: image.width() as f32 / image.height().max(1) as f32,
        border_uniform,
        border_luma: luma(bg) / 255.0,
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

/// The background: border pixels near the border colour, grown through 4-neighbours near it.
fn grow_background(work: &Work, border: &[usize], bg: [f32; 3]) -> Vec<bool> {
    let (w, h) = (work.w, work.h);
    let mut mask = vec![false; w * h];
    let mut stack: Vec<usize> = border.iter().copied().filter(|&i| distance(work.px[i], bg) < BG_TOLERANCE).collect();
    for &i in &stack {
        mask[i] = true;
    }
    while let Some(i) = stack.pop() {
        let (x, y) = (i % w, i / w);
        let neighbours =
            [(x > 0).then(|| i - 1), (x + 1 < w).then(|| i + 1), (y > 0).then(|| i - w), (y + 1 < h).then(|| i + w)];
        for j in neighbours.into_iter().flatten() {
            if !mask[j] && distance(work.px[j], bg) < BG_TOLERANCE {
                mask[j] = true;
                stack.push(j);
            }
        }
    }
    mask
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

/// First and last index whose count is at least [`BOX_MIN_SHARE`] of `len`; (0, 0) when none.
fn span(counts: impl Iterator<Item = usize>, len: usize) -> (usize, usize) {
    let min = ((len as f32 * BOX_MIN_SHARE) as usize).max(1);
    let hits: Vec<usize> = counts.enumerate().filter(|(_, c)| *c >= min).map(|(i, _)| i).collect();
    (hits.first().copied().unwrap_or(0), hits.last().copied().unwrap_or(0))
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

/// Number of inputs to the linear score, the constant 1 included.
pub const INPUTS: usize = 10;

impl Features {
    /// The inputs of the linear score: a constant 1, then framing, skin and texture evidence.
    pub fn inputs(&self) -> [f32; INPUTS] {
        let [top, bottom, left, right] = self.touch;
        [
            1.0,
            top.max(bottom).max(left).max(right),
            (left + right) / 2.0,
            top,
            bottom,
            self.border_uniform,
            self.head_skin,
            self.skin,
            self.box_w * self.box_h,
            self.edges,
        ]
    }
}

/// Per-kind weights of the linear score, in [`KINDS`] order.
pub type Weights = [[f32; INPUTS]; 3];

/// The kinds, in the order of the scores.
pub const KINDS: [PhotoKind; 3] = [PhotoKind::ModelWorn, PhotoKind::Flat, PhotoKind::Detail];

/// Scores (logits) per kind in [`KINDS`] order.
pub fn scores(weights: &Weights, f: &Features) -> [f32; 3] {
    let x = f.inputs();
    weights.map(|w| w.iter().zip(&x).map(|(a, b)| a * b).sum())
}

/// Softmax of scores.
pub fn probabilities(scores: [f32; 3]) -> [f32; 3] {
    let max = scores.iter().copied().fold(f32::MIN, f32::max);
    let e = scores.map(|s| (s - max).exp());
    let sum: f32 = e.iter().sum();
    e.map(|v| v / sum)
}

/// The views of one labelled photo that [`fit`] learns from: the photo itself and, for model-worn
/// and detail photos, two crops that keep the label. A model photo cut below the chin or to the
/// torso is still model-worn (stores often frame models that way: no face, the garment filling the
/// frame), and a crop of a close-up is still a close-up. A flat photo gets no crops: cutting into
/// the product would make it a detail.
pub fn training_views(image: &DynamicImage, kind: PhotoKind) -> Vec<DynamicImage> {
    let (w, h) = (image.width(), image.height());
    let mut views = vec![image.clone()];
    if kind != PhotoKind::Flat && w >= 10 && h >= 10 {
        // Below the chin: the top 30 % (head and neck on a full-length shot) cut off.
        views.push(image.crop_imm(0, h * 3 / 10, w, h - h * 3 / 10));
        // The torso: the middle 70 % of the width, from 20 % to 90 % of the height.
        views.push(image.crop_imm(w * 15 / 100, h / 5, w * 7 / 10, h * 7 / 10));
    }
    views
}

/// Fits the weights by multinomial logistic regression with an L2 penalty (full-batch gradient descent).
pub fn fit(samples: &[(Features, PhotoKind)]) -> Weights {
    /// Strength of the L2 penalty: keeps a few dozen photos from pinning a weight on one outlier.
    const L2: f32 = 0.01;
    const STEP: f32 = 0.5;
    const ROUNDS: usize = 5000;
    let xs: Vec<([f32; INPUTS], usize)> =
        samples.iter().map(|(f, k)| (f.inputs(), KINDS.iter().position(|x| x == k).unwrap_or(0))).collect();
    let mut w: Weights = [[0.0; INPUTS]; 3];
    let n = xs.len().max(1) as f32;
    for _ in 0..ROUNDS {
        let mut grad = [[0.0f32; INPUTS]; 3];
        for (x, y) in &xs {
            let p = probabilities(w.map(|wk| wk.iter().zip(x).map(|(a, b)| a * b).sum()));
            for k in 0..3 {
                let err = p[k] - f32::from(u8::from(k == *y));
                for j in 0..INPUTS {
                    grad[k][j] += err * x[j] / n;
                }
            }
        }
        for k in 0..3 {
            for j in 0..INPUTS {
                let penalty = if j == 0 { 0.0 } else { L2 * w[k][j] };
                w[k][j] -= STEP * (grad[k][j] + penalty);
            }
        }
    }
    w
}

/// The shipped weights: `fit` over the [`training_views`] of the 37 labelled fixture photos, printed by
/// `cargo bench -p truereel-tests --bench classify -- --fit` (see docs/classifier.md for the
/// leave-one-out figure). Rows: model-worn, flat, detail; columns as in [`Features::inputs`].
pub const WEIGHTS: Weights = [
    [0.17, 0.19, -0.60, -0.08, 0.43, -0.10, 2.27, 0.99, -0.34, 0.04],
    [0.87, -1.69, -0.20, -1.32, -0.87, 0.63, -1.08, -0.42, -0.50, 0.17],
    [-1.05, 1.50, 0.81, 1.41, 0.44, -0.53, -1.19, -0.57, 0.85, -0.21],
];

/// Added to the score of the kind the alt text names: larger than the pixel scores' usual spread
/// (a few units), so the words win unless the pixels are all but certain.
const ALT_PRIOR: f32 = 8.0;
/// Added to the score of the kind the file name names: file names are reused and less careful than alt text.
const FILE_NAME_PRIOR: f32 = 5.0;
/// Taken from the detail score of a gallery's first photo: stores lead with the whole product.
const FIRST_POSITION_DETAIL_PENALTY: f32 = 1.0;

/// Words per kind, strongest kind first: a close-up of a worn garment is a detail, a model seen
/// from the front is model-worn.
const WORDS: &[(PhotoKind, &[&str])] = &[
    (PhotoKind::Detail, &["closeup", "close up", "detail", "details", "texture", "macro", "zoom", "zoomed"]),
    (
        PhotoKind::ModelWorn,
        &[
            "model",
            "models",
            "worn",
            "wearing",
            "wears",
            "person",
            "woman",
            "women",
            "man",
            "men",
            "on model",
            "lifestyle",
        ],
    ),
    (PhotoKind::Flat, &["flat", "flatlay", "front", "back", "side", "studio", "pair", "top", "packshot", "mannequin"]),
];

/// The kind the words name, if any: phrases are matched on whole words, case-insensitively.
fn kind_from_words(text: &str) -> Option<PhotoKind> {
    let normal: String =
        text.chars().map(|c| if c.is_alphanumeric() { c.to_ascii_lowercase() } else { ' ' }).collect::<String>();
    let padded = format!(" {} ", normal.split_whitespace().collect::<Vec<_>>().join(" "));
    WORDS.iter().find(|(_, words)| words.iter().any(|w| padded.contains(&format!(" {w} ")))).map(|(kind, _)| *kind)
}

/// The last path segment without query or extension (`photos/tee-back.jpg?v=2` → `tee-back`).
fn file_stem(name: &str) -> &str {
    let name = name.split(['?', '#']).next().unwrap_or(name);
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    last.rsplit_once('.').map(|(stem, _)| stem).filter(|s| !s.is_empty()).unwrap_or(last)
}

/// What the hints add to each kind's score, in [`KINDS`] order.
fn prior(hints: &PhotoHints) -> [f32; 3] {
    let mut add = [0.0f32; 3];
    let mut name = |kind: Option<PhotoKind>, weight: f32| {
        if let Some(i) = kind.and_then(|k| KINDS.iter().position(|x| *x == k)) {
            add[i] += weight;
        }
    };
    name(hints.alt.as_deref().and_then(kind_from_words), ALT_PRIOR);
    name(hints.file_name.as_deref().map(file_stem).and_then(kind_from_words), FILE_NAME_PRIOR);
    if hints.position == Some(1) {
        add[2] -= FIRST_POSITION_DETAIL_PENALTY;
    }
    add
}

/// The best kind and its confidence: the margin between the best and second-best probability.
fn decide(scores: [f32; 3]) -> Classification {
    let p = probabilities(scores);
    let mut order = [0usize, 1, 2];
    order.sort_by(|a, b| p[*b].total_cmp(&p[*a]));
    Classification { kind: KINDS[order[0]], confidence: (p[order[0]] - p[order[1]]).clamp(0.0, 1.0) }
}

/// Classifies from the pixels, with the hints as a prior.
#[derive(Debug, Clone, Copy, Default)]
pub struct PixelClassifier;

impl PixelClassifier {
    /// Classifies from the pixels alone.
    pub fn classify_pixels(image: &DynamicImage) -> Classification {
        decide(scores(&WEIGHTS, &features(image)))
    }
}

#[async_trait]
impl Classifier for PixelClassifier {
    fn name(&self) -> &str {
        "pixels"
    }

    async fn classify(&self, image: &DynamicImage, hints: &PhotoHints) -> Classification {
        let f = features(image);
        let pixels = scores(&WEIGHTS, &f);
        let add = prior(hints);
        let class = decide([0, 1, 2].map(|i| pixels[i] + add[i]));
        tracing::debug!(kind = %class.kind, confidence = class.confidence, ?pixels, ?add, features = ?f, "Classified a photo.");
        class
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};
    use std::path::Path;

    fn classify(image: &DynamicImage, hints: &PhotoHints) -> Classification {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(PixelClassifier.classify(image, hints))
    }

    fn hints(alt: Option<&str>, file_name: Option<&str>) -> PhotoHints {
        PhotoHints { alt: alt.map(str::to_string), file_name: file_name.map(str::to_string), position: Some(2) }
    }

    /// Slight sensor noise, deterministic.
    fn noise(x: u32, y: u32) -> u8 {
        ((x * 7 + y * 13) % 5) as u8
    }

    /// A red tee (body and sleeves) centred on a near-white studio backdrop.
    fn studio_flat() -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_fn(300, 400, |x, y| {
            let body = (95..205).contains(&x) && (90..330).contains(&y);
            let sleeves = (50..250).contains(&x) && (90..170).contains(&y);
            if body || sleeves { Rgb([170, 30, 45]) } else { Rgb([245 - noise(x, y), 244 - noise(x, y), 246]) }
        }))
    }

    /// A knit close-up: ridges and stitches in green filling the frame.
    fn knit_closeup(base: [f32; 3]) -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_fn(400, 400, |x, y| {
            let (fx, fy) = (x as f32, y as f32);
            let v = 0.55 + 0.45 * (fx * 0.45).sin() * (fy * 0.3 + (fx * 0.1).sin() * 3.0).cos();
            Rgb(base.map(|c| (c * v).clamp(0.0, 255.0) as u8))
        }))
    }

    /// A person in a room: a light wall with a soft gradient, a grey floor, dark hair over a
    /// skin-toned face, a blue shirt with bare arms, dark trousers down to the bottom edge.
    fn person_in_room() -> DynamicImage {
        const SKIN: Rgb<u8> = Rgb([222, 170, 140]);
        DynamicImage::ImageRgb8(RgbImage::from_fn(300, 400, |x, y| {
            let (fx, fy) = (x as f32, y as f32);
            let head = ((fx - 150.0) / 26.0).powi(2) + ((fy - 70.0) / 34.0).powi(2) < 1.0;
            let hair = ((fx - 150.0) / 30.0).powi(2) + ((fy - 58.0) / 30.0).powi(2) < 1.0 && fy < 60.0;
            let shirt = (105..195).contains(&x) && (108..250).contains(&y);
            let arms = ((85..105).contains(&x) || (195..215).contains(&x)) && (112..240).contains(&y);
            let neck = (140..160).contains(&x) && (100..110).contains(&y);
            let legs = ((110..147).contains(&x) || (153..190).contains(&x)) && y >= 250;
            if hair {
                Rgb([45, 30, 25])
            } else if head || arms || neck {
                SKIN
            } else if shirt {
                Rgb([60, 90, 170])
            } else if legs {
                Rgb([30, 35, 50])
            } else if y >= 340 {
                Rgb([205 - noise(x, y), 207, 212])
            } else {
                let wall = 228 - (fy / 30.0) as u8;
                Rgb([wall - noise(x, y), wall, wall - 3])
            }
        }))
    }

    #[test]
    fn a_garment_on_a_light_backdrop_is_flat() {
        let img = studio_flat();
        let f = features(&img);
        assert!(f.touch.iter().all(|t| *t < 0.01), "{f:?}");
        assert!(f.background > 0.5, "{f:?}");
        let c = classify(&img, &PhotoHints::default());
        assert_eq!(c.kind, PhotoKind::Flat, "{f:?}");
        assert!(c.confidence > 0.5, "{c:?}");
    }

    #[test]
    fn fabric_filling_the_frame_is_a_detail() {
        // Dark and light yarn: the light one must not pass for an empty backdrop.
        for base in [[40.0, 110.0, 60.0], [250.0, 245.0, 235.0]] {
            let img = knit_closeup(base);
            let f = features(&img);
            assert!(f.touch.iter().all(|t| *t > 0.9), "{base:?}: {f:?}");
            let c = classify(&img, &PhotoHints::default());
            assert_eq!(c.kind, PhotoKind::Detail, "{base:?}: {f:?}");
        }
    }

    #[test]
    fn a_person_with_face_and_arms_is_model_worn() {
        let img = person_in_room();
        let f = features(&img);
        assert!(f.head_skin > 0.3 && f.touch[1] > 0.1, "{f:?}");
        let c = classify(&img, &PhotoHints::default());
        assert_eq!(c.kind, PhotoKind::ModelWorn, "{f:?}");
    }

    #[test]
    fn the_same_garment_without_the_face_and_arms_is_not_model_worn() {
        // The person's shape with the skin painted over in the shirt colour: skin carries the call.
        let mut img = person_in_room().to_rgb8();
        for p in img.pixels_mut() {
            if is_skin([f32::from(p[0]), f32::from(p[1]), f32::from(p[2])]) {
                *p = Rgb([60, 90, 170]);
            }
        }
        let c = classify(&DynamicImage::ImageRgb8(img), &PhotoHints::default());
        assert_ne!(c.kind, PhotoKind::ModelWorn);
    }

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
    fn confidence_is_the_margin_between_the_two_best() {
        let sure = decide([5.0, 0.0, 0.0]);
        let torn = decide([1.0, 0.98, -3.0]);
        assert_eq!(sure.kind, PhotoKind::ModelWorn);
        assert!(sure.confidence > 0.95, "{sure:?}");
        assert!(torn.confidence < 0.05, "{torn:?}");
        for s in [[0.0; 3], [-50.0, 50.0, 0.0], [f32::MAX, 0.0, f32::MIN]] {
            let c = decide(s);
            assert!((0.0..=1.0).contains(&c.confidence), "{s:?} -> {c:?}");
        }
    }

    #[test]
    fn tiny_and_odd_images_do_not_panic() {
        for (w, h) in [(1, 1), (3, 200), (200, 3), (5, 5)] {
            let img = DynamicImage::ImageRgb8(RgbImage::from_pixel(w, h, Rgb([250, 250, 250])));
            let c = classify(&img, &PhotoHints::default());
            assert!((0.0..=1.0).contains(&c.confidence));
        }
    }

    #[test]
    fn training_views_crop_model_and_detail_photos_but_not_flats() {
        let img = person_in_room();
        assert_eq!(training_views(&img, PhotoKind::Flat).len(), 1);
        let views = training_views(&img, PhotoKind::ModelWorn);
        assert_eq!(views.len(), 3);
        assert_eq!((views[0].width(), views[0].height()), (300, 400));
        // Below the chin: the whole width, the face gone.
        assert_eq!((views[1].width(), views[1].height()), (300, 280));
        assert!(features(&views[1]).head_skin < features(&img).head_skin);
        // The torso: narrower and shorter than the photo.
        assert_eq!((views[2].width(), views[2].height()), (210, 280));
        assert_eq!(training_views(&DynamicImage::new_rgb8(4, 4), PhotoKind::Detail).len(), 1);
    }

    #[test]
    fn fit_learns_separable_features() {
        let f = |skin: f32, touch: f32, uniform: f32| Features {
            head_skin: skin,
            touch: [touch; 4],
            border_uniform: uniform,
            ..Features::default()
        };
        let samples = [
            (f(0.6, 0.1, 0.8), PhotoKind::ModelWorn),
            (f(0.7, 0.0, 0.9), PhotoKind::ModelWorn),
            (f(0.0, 0.0, 1.0), PhotoKind::Flat),
            (f(0.1, 0.0, 0.95), PhotoKind::Flat),
            (f(0.0, 1.0, 0.2), PhotoKind::Detail),
            (f(0.1, 0.9, 0.4), PhotoKind::Detail),
        ];
        let w = fit(&samples);
        for (x, kind) in samples {
            assert_eq!(decide(scores(&w, &x)).kind, kind, "{x:?}");
        }
    }

    #[test]
    fn alt_words_win_over_the_pixels() {
        let flat = studio_flat();
        let cases = [
            ("Close-up of the chunky knit texture", PhotoKind::Detail),
            ("Macro shot of the buckle", PhotoKind::Detail),
            ("Woman wearing a short white dress outdoors", PhotoKind::ModelWorn),
            ("Model wears size S", PhotoKind::ModelWorn),
            // Several kinds named: the stronger wins.
            ("Person wearing the hoodie with hands in the front pocket", PhotoKind::ModelWorn),
            ("Close-up detail of the model's collar", PhotoKind::Detail),
        ];
        for (alt, want) in cases {
            let c = classify(&flat, &hints(Some(alt), None));
            assert_eq!(c.kind, want, "{alt:?}");
            assert!(c.confidence > 0.5, "{alt:?}: {c:?}");
        }
        let c = classify(&knit_closeup([40.0, 110.0, 60.0]), &hints(Some("Blue slip-on sneaker, side view"), None));
        assert_eq!(c.kind, PhotoKind::Flat);
    }

    #[test]
    fn the_file_name_is_used_when_the_alt_says_nothing_and_the_alt_wins_over_it() {
        let img = studio_flat();
        let c = classify(&img, &hints(Some("Green beanie"), Some("photos/beanie-green-detail.jpg?v=3")));
        assert_eq!(c.kind, PhotoKind::Detail);
        let c = classify(&img, &hints(None, Some("bustier-top_model.jpg")));
        assert_eq!(c.kind, PhotoKind::ModelWorn);
        let c = classify(&knit_closeup([40.0, 110.0, 60.0]), &hints(Some("Person wearing it"), Some("tee-flat.jpg")));
        assert_eq!(c.kind, PhotoKind::ModelWorn);
    }

    #[test]
    fn hints_agreeing_with_the_pixels_raise_the_confidence() {
        let img = studio_flat();
        let alone = classify(&img, &PhotoHints::default());
        let agreed = classify(&img, &hints(Some("Red tee, front"), Some("tee-red-flat.jpg")));
        assert_eq!(agreed.kind, PhotoKind::Flat);
        assert!(agreed.confidence > alone.confidence, "{alone:?} {agreed:?}");
    }

    #[test]
    fn a_first_gallery_position_leans_away_from_detail() {
        let none = prior(&PhotoHints::default());
        let first = prior(&PhotoHints { position: Some(1), ..PhotoHints::default() });
        assert!(first[2] < none[2]);
        assert_eq!(prior(&PhotoHints { position: Some(3), ..PhotoHints::default() }), none);
    }

    #[test]
    fn words_match_whole_words_only() {
        // "manual", "backdrop", "topaz", "womanly" and "sidebar" contain hint words but are not them.
        assert_eq!(kind_from_words("See the manual for the topaz backdrop, sidebar"), None);
        assert_eq!(kind_from_words("PHOTO_ON-MODEL"), Some(PhotoKind::ModelWorn));
        assert_eq!(kind_from_words("closeup"), Some(PhotoKind::Detail));
    }

    #[test]
    fn the_file_stem_drops_folders_query_and_extension() {
        assert_eq!(file_stem("photos/tee-back.jpg?v=2"), "tee-back");
        assert_eq!(file_stem("https://cdn.example/files/a.b.webp"), "a.b");
        assert_eq!(file_stem("plain"), "plain");
    }

    /// The demo store's photos with their labels and alt texts.
    fn demo_store() -> Vec<(String, PhotoKind, Option<String>, DynamicImage)> {
        let store = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/store");
        let catalog: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(store.join("products.json")).unwrap()).unwrap();
        let alt_of = |file: &str| {
            catalog["products"].as_array().unwrap().iter().flat_map(|p| p["images"].as_array().unwrap()).find_map(|i| {
                (i["src"].as_str() == Some(file)).then(|| i["alt"].as_str().map(str::to_string)).flatten()
            })
        };
        let labels = std::fs::read_to_string(store.join("labels.csv")).unwrap();
        labels
            .lines()
            .skip(1)
            .map(|line| {
                let (file, kind) = line.split_once(',').unwrap();
                let kind = KINDS.into_iter().find(|k| k.as_str() == kind.trim()).unwrap();
                let image = image::open(store.join(file)).unwrap();
                (file.to_string(), kind, alt_of(file), image)
            })
            .collect()
    }

    /// Pixels alone: the eight studio shots must all be flat; the outdoor model and close-up shots
    /// (no backdrop, mostly no face) are the hard part, see docs/classifier.md.
    #[test]
    fn demo_store_photos_from_pixels_alone() {
        /// Measured 12 of 15 (all 8 flats, 2 of 4 model-worn, 2 of 3 details; see the docs), with
        /// one photo of margin; a drop below this is a regression.
        const FLOOR: usize = 11;
        let photos = demo_store();
        assert_eq!(photos.len(), 15);
        let mut right = 0;
        let mut report = String::new();
        for (file, want, _, image) in &photos {
            let c = classify(image, &PhotoHints::default());
            right += usize::from(c.kind == *want);
            report += &format!("{file}: {want} -> {} ({:.2})\n", c.kind, c.confidence);
            if *want == PhotoKind::Flat {
                assert_eq!(c.kind, PhotoKind::Flat, "{file}");
            }
        }
        println!("demo store, pixels alone: {right}/{}\n{report}", photos.len());
        assert!(right >= FLOOR, "{right}/{} below {FLOOR}\n{report}", photos.len());
    }

    #[test]
    fn demo_store_photos_with_their_alt_texts_and_file_names() {
        for (file, want, alt, image) in demo_store() {
            let c = classify(&image, &PhotoHints { alt, file_name: Some(file.clone()), position: None });
            assert_eq!(c.kind, want, "{file}");
        }
    }

    #[test]
    fn is_named_pixels() {
        assert_eq!(PixelClassifier.name(), "pixels");
    }
}
