//! The shot-level checks: frames sampled through the whole shot against the photo the shot was
//! grounded in.
//!
//! | check | fails when | threshold |
//! |---|---|---|
//! | `colour` | where a frame lines up with the photo, the product's blocks differ in colour (CIEDE2000, median); or, frame by frame, the frame's main colours are far from the photo's for a stretch | [`MAX_ALIGNED_DE`]; [`MAX_COLOUR_DE`] over [`MIN_BAD_STRETCH_MS`] or [`MAX_BAD_SHARE`] of the frames |
//! | `structure` | a frame does not line up with the photo as a window of it (another product, a changed shape) | [`MIN_FIT`] |
//! | `mirrored` | a frame matches the photo flipped left to right better | [`MAX_MIRROR_GAIN`] |
//! | `proportions` | a frame matches the photo stretched or squeezed sideways better | [`MAX_STRETCH_GAIN`] |
//! | `frames` | black or blank frames; the picture freezes mid-move; a jump or cut inside the shot; flicker | [`BLACK_LUMA`], [`BLANK_SPREAD`], [`FROZEN_CHANGE`] for [`FROZEN_MS`], [`JUMP_FACTOR`]/[`JUMP_MIN`], [`FLICKER_STEP`] |
//! | `motion` | the shot asked for a camera move and the picture barely changed from its first to its last frame | [`MIN_MOTION`] |
//! | `sharpness` | the frames are much softer than the photo at the same size | [`MIN_SHARPNESS_RATIO`] |
//!
//! `structure`, `mirrored`, `proportions` and the aligned colour look at four frames of the shot
//! (at 15, 38, 62 and 85 % of it) lined up with the photo ([`super::align`]); the rest look at
//! every frame. The thresholds were fitted on the corpus made from the sample store's photos
//! (`tests/corpus.rs`); the figures beside each are that corpus's.
//! Frames are the reel's thumbnails (or a clip decoded at their size, 10 a second); the first and
//! last 120 ms of a shot in a reel are left out (the cut itself).

use super::align::{align, compare};
use super::colour::{DETAIL_SHARE, MAIN_SHARE, MainColour, colour_distance, main_colours};
use super::frames::{change, frame_stats, luma, sharpness};
use crate::ports::Check;
use image::{GrayImage, RgbImage, imageops};

/// Where a frame lines up with its photo, their product blocks differ by at most this CIEDE2000
/// (median of the blocks; faithful clips of the fit set: at most 3.0, recoloured ones 27 and up).
pub const MAX_ALIGNED_DE: f64 = 10.0;
/// A frame lines up with its photo at least this well (normalised cross-correlation of luma;
/// faithful clips of the fit set: 0.90 and up; another product: 0.71 and under).
pub const MIN_FIT: f64 = 0.85;
/// A frame is mirrored when the photo flipped left to right fits it better than this (SSIM;
/// faithful: at most +0.06, mirrored: +0.22 and up).
pub const MAX_MIRROR_GAIN: f64 = 0.12;
/// A frame is stretched or squeezed when the photo stretched sideways fits it better than this
/// (NCC; faithful: at most +0.01, stretched: +0.06 and up).
pub const MAX_STRETCH_GAIN: f64 = 0.03;
/// A frame's colours are off beyond this CIEDE2000 distance from its photo's (frame by frame,
/// whatever lines up).
pub const MAX_COLOUR_DE: f64 = 20.0;
/// Off-colour frames fail a shot when they run this long...
pub const MIN_BAD_STRETCH_MS: u32 = 400;
/// ...or make up this share of its frames.
pub const MAX_BAD_SHARE: f64 = 0.25;
/// A frame darker than this mean luma (0–255) and flat is black.
pub const BLACK_LUMA: f64 = 20.0;
/// A frame whose luma spreads less than this is blank (one flat colour).
pub const BLANK_SPREAD: f64 = 4.0;
/// Black or blank frames fail a shot when they run this long.
pub const MIN_BLANK_MS: u32 = 150;
/// Consecutive frames changing less than this (mean block difference, 0–255) and less than
/// [`FROZEN_SHARE`] of the shot's typical change are frozen...
pub const FROZEN_CHANGE: f64 = 0.05;
/// (see [`FROZEN_CHANGE`])
pub const FROZEN_SHARE: f64 = 0.25;
/// ...and a moving shot fails when they stay frozen this long (away from its eased ends).
pub const FROZEN_MS: u32 = 600;
/// A change this many times the shot's median change between frames is a jump or a cut...
pub const JUMP_FACTOR: f64 = 6.0;
/// ...when it is also at least this large.
pub const JUMP_MIN: f64 = 14.0;
/// Brightness steps this large (mean luma) that reverse direction three times are flicker.
pub const FLICKER_STEP: f64 = 6.0;
/// A camera move changes the picture at least this much from the first frame to the last.
pub const MIN_MOTION: f64 = 0.5;
/// Frames at least this sharp, against the photo at the frame's size.
pub const MIN_SHARPNESS_RATIO: f64 = 0.2;

/// One shot's frames: where each sits in the shot (ms from its start) and its pixels.
pub struct ShotFrames {
    pub index: u32,
    pub frames: Vec<(u32, RgbImage)>,
}

/// The photo a shot was grounded in, and where its product is (normalised `[x0, y0, x1, y1]`).
pub struct Grounding<'a> {
    pub photo: &'a RgbImage,
    pub product: [f64; 4],
}

/// The shot-level checks of one shot; `moves` when the shot asked for a camera move.
/// `captions`: the band of rows (fractions of the height) captions are drawn in, if any.
pub fn judge_shot(
    shot: &ShotFrames,
    grounding: &Grounding<'_>,
    moves: bool,
    captions: Option<(f64, f64)>,
) -> Vec<Check> {
    let index = shot.index;
    let mk = |name: &str, passed: bool, score: f64, detail: String| Check {
        name: name.into(),
        passed,
        score: score.clamp(0.0, 1.0),
        detail: format!("shot {index}: {detail}"),
        shot: Some(index),
    };
    let Some((_, first)) = shot.frames.first() else {
        return vec![mk("frames", false, 0.0, "no frames to judge".into())];
    };
    let (w, h) = first.dimensions();
    let grays: Vec<GrayImage> = shot.frames.iter().map(|(_, f)| luma(f)).collect();
    let times: Vec<u32> = shot.frames.iter().map(|(t, _)| *t).collect();
    let step_ms = times.windows(2).map(|p| p[1].saturating_sub(p[0])).min().unwrap_or(100).max(1);
    let mut checks = Vec::new();

    // Colour, frame by frame.
    let reference = main_colours(grounding.photo, [0.0, 0.0, 1.0, 1.0], DETAIL_SHARE);
    let distances: Vec<f64> = shot
        .frames
        .iter()
        .map(|(_, f)| {
            let seen: Vec<MainColour> = main_colours(f, [0.0, 0.0, 1.0, 1.0], MAIN_SHARE);
            colour_distance(&seen, &reference)
        })
        .collect();
    let off: Vec<bool> = distances.iter().map(|d| *d > MAX_COLOUR_DE).collect();
    let longest = longest_run(&off) as u32 * step_ms;
    let share = off.iter().filter(|o| **o).count() as f64 / off.len() as f64;
    let worst = distances.iter().copied().fold(0.0, f64::max);
    let median_de = median(&distances);
    let palette_off = longest >= MIN_BAD_STRETCH_MS || share > MAX_BAD_SHARE;
    let palette = if palette_off {
        format!(
            "the colours are ΔE {worst:.0} from the photo's at {} (at most {MAX_COLOUR_DE})",
            spans(&off, &times, step_ms)
        )
    } else {
        format!(
            "the colours are within ΔE {median_de:.1} of the photo's (median; worst {worst:.1}, at most {MAX_COLOUR_DE})"
        )
    };

    // Black, blank, frozen, jumps, flicker.
    let stats: Vec<_> = grays.iter().map(frame_stats).collect();
    let blank: Vec<bool> =
        stats.iter().map(|s| s.spread < BLANK_SPREAD || (s.mean < BLACK_LUMA && s.spread < 12.0)).collect();
    let changes: Vec<f64> = grays.windows(2).map(|p| change(&p[0], &p[1], captions)).collect();
    let typical = median(&changes);
    let mut problems = Vec::new();
    if longest_run(&blank) as u32 * step_ms >= MIN_BLANK_MS {
        let black = stats.iter().zip(&blank).filter(|(_, b)| **b).all(|(s, _)| s.mean < BLACK_LUMA);
        problems.push(format!("{} at {}", if black { "black" } else { "blank" }, spans(&blank, &times, step_ms)));
    }
    let jumps: Vec<usize> = changes
        .iter()
        .enumerate()
        .filter(|(_, c)| **c >= JUMP_MIN && **c > JUMP_FACTOR * typical)
        .map(|(i, _)| i + 1)
        .collect();
    if !jumps.is_empty() {
        let at: Vec<String> = jumps.iter().map(|i| format!("{:.1} s", times[*i] as f64 / 1000.0)).collect();
        problems.push(format!("the picture jumps (a cut or a glitch) at {}", at.join(", ")));
    }
    if moves {
        // Eased moves start and end slowly: only the middle 70 % must keep moving.
        let (lo, hi) = (changes.len() * 15 / 100, changes.len() - changes.len() * 15 / 100);
        let still = FROZEN_CHANGE.min(FROZEN_SHARE * typical);
        let frozen: Vec<bool> = changes.iter().enumerate().map(|(i, c)| i >= lo && i < hi && *c < still).collect();
        if longest_run(&frozen) as u32 * step_ms >= FROZEN_MS {
            problems.push(format!("the picture freezes at {}", spans(&frozen, &times[1..], step_ms)));
        }
    }
    let steps: Vec<f64> = stats.windows(2).map(|p| p[1].mean - p[0].mean).collect();
    let reversals = steps
        .windows(2)
        .filter(|p| p[0].abs() >= FLICKER_STEP && p[1].abs() >= FLICKER_STEP && p[0].signum() != p[1].signum())
        .count();
    if reversals >= 3 {
        problems.push(format!("the brightness flickers ({reversals} reversals of {FLICKER_STEP}+ levels)"));
    }
    checks.push(mk(
        "frames",
        problems.is_empty(),
        if problems.is_empty() { 1.0 } else { 0.0 },
        if problems.is_empty() {
            format!("no black, frozen or jumping frames (typical change {typical:.2} a frame)")
        } else {
            problems.join("; ")
        },
    ));

    // Motion: the first and last frames of a camera move differ.
    if moves && grays.len() >= 2 {
        let moved = change(&grays[0], &grays[grays.len() - 1], captions);
        checks.push(mk(
            "motion",
            moved >= MIN_MOTION,
            moved / (2.0 * MIN_MOTION),
            if moved >= MIN_MOTION {
                format!("the camera moves (the picture changes {moved:.1} from first to last frame)")
            } else {
                format!("asked for a camera move, the picture barely changes ({moved:.2}, at least {MIN_MOTION})")
            },
        ));
    }

    // Structure: a few frames lined up with the photo and compared where they overlap (frames
    // with no structure, black or blank, are the frames check's).
    let picks: Vec<usize> =
        [0.15, 0.38, 0.62, 0.85].iter().map(|f| ((shot.frames.len() - 1) as f64 * f).round() as usize).collect();
    let flipped = imageops::flip_horizontal(grounding.photo);
    let mirror_box =
        [1.0 - grounding.product[2], grounding.product[1], 1.0 - grounding.product[0], grounding.product[3]];
    let mut lined = Vec::new();
    for &i in picks.iter().filter(|i| !blank[**i]) {
        let (t, frame) = &shot.frames[i];
        let a = align(frame, grounding.photo, captions);
        let c = compare(frame, grounding.photo, &a.window, grounding.product, captions);
        let m = compare(frame, &flipped, &a.mirrored_window, mirror_box, captions);
        lined.push((*t, a, c, m.ssim));
    }
    let mut aligned_de = None;
    if let Some(first) = lined.first() {
        let worst_fit = lined.iter().min_by(|a, b| a.1.window.fit.total_cmp(&b.1.window.fit)).unwrap_or(first);
        let (fit, at) = (worst_fit.1.window.fit, worst_fit.0 as f64 / 1000.0);
        let ssim = lined.iter().map(|l| l.2.ssim).fold(f64::INFINITY, f64::min);
        checks.push(mk(
            "structure",
            fit >= MIN_FIT,
            fit,
            if fit >= MIN_FIT {
                format!("lines up with its photo (fit at least {fit:.2}, SSIM at least {ssim:.2})")
            } else {
                format!(
                    "does not line up with its photo at {at:.1} s (fit {fit:.2}, at least {MIN_FIT}): another product, or the \
                     product changed shape"
                )
            },
        ));
        let mirror = lined.iter().max_by(|a, b| (a.3 - a.2.ssim).total_cmp(&(b.3 - b.2.ssim))).unwrap_or(first);
        let gain = mirror.3 - mirror.2.ssim;
        checks.push(mk(
            "mirrored",
            gain <= MAX_MIRROR_GAIN,
            1.0 - gain.max(0.0),
            if gain <= MAX_MIRROR_GAIN {
                format!("not mirrored (the photo flipped fits {:.2} worse)", -gain)
            } else {
                format!(
                    "mirrored at {:.1} s: it matches the photo flipped left to right better (SSIM +{gain:.2}; a print reads backwards)",
                    mirror.0 as f64 / 1000.0
                )
            },
        ));
        let stretched = lined
            .iter()
            .max_by(|a, b| (a.1.stretched_fit - a.1.window.fit).total_cmp(&(b.1.stretched_fit - b.1.window.fit)))
            .unwrap_or(first);
        let gain = stretched.1.stretched_fit - stretched.1.window.fit;
        let factor = stretched.1.stretch;
        checks.push(mk(
            "proportions",
            gain <= MAX_STRETCH_GAIN,
            1.0 - gain.max(0.0),
            if gain <= MAX_STRETCH_GAIN {
                "the product keeps its proportions".to_string()
            } else {
                format!(
                    "the product is {} at {:.1} s: it fits the photo {factor}x as wide better (+{gain:.2})",
                    if factor > 1.0 { "stretched wide" } else { "squeezed narrow" },
                    stretched.0 as f64 / 1000.0
                )
            },
        ));
        let de = lined.iter().map(|l| l.2.colour_de).fold(0.0, f64::max);
        aligned_de = Some(de);
    }
    let aligned_off = aligned_de.is_some_and(|d| d > MAX_ALIGNED_DE);
    checks.push(mk(
        "colour",
        !palette_off && !aligned_off,
        (1.0 - share) * if aligned_off { 0.0 } else { 1.0 },
        match aligned_de {
            Some(d) if aligned_off => format!(
                "the product's colour moved ΔE {d:.0} from the photo where they line up (at most {MAX_ALIGNED_DE}); {palette}"
            ),
            Some(d) => format!("where it lines up with the photo the product's colour is within ΔE {d:.1}; {palette}"),
            None => palette,
        },
    ));

    // Sharpness against the photo at the frame's size.
    let photo_at_size = luma(&cover(grounding.photo, grounding.product, w, h));
    let photo_sharpness = sharpness(&photo_at_size).max(1e-6);
    let seen = median(&grays.iter().map(sharpness).collect::<Vec<_>>());
    let ratio = seen / photo_sharpness;
    checks.push(mk(
        "sharpness",
        ratio >= MIN_SHARPNESS_RATIO,
        ratio,
        format!(
            "{:.0}% of the photo's sharpness at the same size (at least {:.0}%)",
            ratio * 100.0,
            MIN_SHARPNESS_RATIO * 100.0
        ),
    ));
    checks
}

/// `photo`'s product region scaled to cover `w` x `h` and cropped to it.
fn cover(photo: &RgbImage, product: [f64; 4], w: u32, h: u32) -> RgbImage {
    let (pw, ph) = photo.dimensions();
    let x0 = (product[0] * pw as f64) as u32;
    let y0 = (product[1] * ph as f64) as u32;
    let cw = (((product[2] - product[0]) * pw as f64) as u32).clamp(1, pw - x0.min(pw - 1));
    let ch = (((product[3] - product[1]) * ph as f64) as u32).clamp(1, ph - y0.min(ph - 1));
    let region = imageops::crop_imm(photo, x0.min(pw - 1), y0.min(ph - 1), cw, ch).to_image();
    let s = (w as f64 / cw as f64).max(h as f64 / ch as f64);
    let (sw, sh) = (((cw as f64 * s).ceil() as u32).max(w), ((ch as f64 * s).ceil() as u32).max(h));
    let scaled = imageops::resize(&region, sw, sh, imageops::FilterType::Triangle);
    imageops::crop_imm(&scaled, (sw - w) / 2, (sh - h) / 2, w, h).to_image()
}

fn median(v: &[f64]) -> f64 {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return 0.0;
    }
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

/// The longest run of `true`.
fn longest_run(flags: &[bool]) -> usize {
    let (mut best, mut run) = (0, 0);
    for f in flags {
        run = if *f { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

/// The stretches where `flags` is true, as times in the shot ("1.6–2.8 s, 3.0 s").
fn spans(flags: &[bool], times: &[u32], step_ms: u32) -> String {
    let mut out = Vec::new();
    let mut i = 0;
    while i < flags.len() {
        if !flags[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < flags.len() && flags[i] {
            i += 1;
        }
        let (a, b) = (times[start], times[i - 1] + step_ms);
        out.push(format!("{:.1}–{:.1} s", a as f64 / 1000.0, b as f64 / 1000.0));
    }
    out.join(", ")
}
