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
//! | `warping` | parts of the picture move apart from one camera move (translation and zoom) for a stretch: the product melts or swims | [`MAX_STRAY_PX`] over [`WARP_GAP_MS`], [`MAX_STRAY_SHARE`] of the blocks for [`WARP_MS`] |
//! | `detail` | where a frame lines up with the photo, an area of the product lost the photo's detail (a print or logo wiped away) | [`MIN_DETAIL_KEPT`] |
//! | `sharpness` | the frames are much softer than the photo at the same size | [`MIN_SHARPNESS_RATIO`] |
//!
//! `structure`, `mirrored`, `proportions`, `detail` and the aligned colour look at four frames of the shot
//! (at 15, 38, 62 and 85 % of it) lined up with the photo ([`super::align`]); the rest look at
//! every frame. The thresholds were fitted on the corpus made from the sample store's photos
//! (`tests/corpus.rs`); the figures beside each are that corpus's.
//! Frames are the reel's thumbnails (or a clip decoded at their size, 10 a second); the first and
//! last 120 ms of a shot in a reel are left out (the cut itself).
//!
//! The checks decided by one comparison of one value with one limit (`structure`, `mirrored`,
//! `proportions`, `detail`, `motion`, `warping`, `sharpness`) carry what they measured
//! ([`Measure`]): a brand kit's `[thresholds]` set their limits instead ([`crate::Thresholds`],
//! applied by the judges), and `truereel calibrate` fits them. `colour` (an aligned and a
//! frame-by-frame measurement, a stretch or a share) and `frames` (black, frozen, jumping, flickering
//! frames) weigh several and carry none.

use super::align::{Alignment, Comparison, DetailLost, align, compare};
use super::colour::{DETAIL_SHARE, MAIN_SHARE, colour_distance, main_colours};
use super::frames::{FrameStats, change, frame_stats, luma, sharpness};
use super::motion::{block_motions, fit_camera, smoothed};
use crate::Measure;
pub use crate::media::Grounding;
use crate::media::THUMBNAIL_WIDTH;
use crate::ports::Check;
use image::{GrayImage, RgbImage, imageops};

/// Where a frame lines up with its photo, their product blocks differ by at most this CIEDE2000
/// (median of the blocks; faithful clips of the fit set: at most 3.0, recoloured ones 27 and up).
pub const MAX_ALIGNED_DE: f64 = 10.0;
/// A frame lines up with its photo at least this well (normalised cross-correlation of luma;
/// faithful clips of the fit set: 0.90 and up; another product: 0.73 and under).
pub const MIN_FIT: f64 = 0.85;
/// A frame is mirrored when the photo flipped left to right fits it better than this (SSIM;
/// faithful: the flipped photo fits 0.10 worse or more, mirrored: +0.21 and up).
pub const MAX_MIRROR_GAIN: f64 = 0.12;
/// A frame is stretched or squeezed when the photo stretched sideways fits it better than this
/// (NCC; faithful: at most +0.00, stretched 1.5x: up to +0.48, and the one that gains nothing fails
/// [`MIN_FIT`]).
pub const MAX_STRETCH_GAIN: f64 = 0.03;
/// A frame's colours are off beyond this CIEDE2000 distance from its photo's (frame by frame,
/// whatever lines up).
pub const MAX_COLOUR_DE: f64 = 20.0;
/// Off-colour frames fail a shot when they run this long...
pub const MIN_BAD_STRETCH_MS: u32 = 400;
/// ...or make up this share of its frames.
pub const MAX_BAD_SHARE: f64 = 0.25;
/// A frame darker than this mean luma (0–255) whose luma spreads less than [`BLACK_SPREAD`] is black.
pub const BLACK_LUMA: f64 = 20.0;
/// (see [`BLACK_LUMA`]: a dark frame with a faint picture left, a fade's bottom, is black too)
pub const BLACK_SPREAD: f64 = 12.0;
/// A frame whose luma spreads less than this is blank (one flat colour).
pub const BLANK_SPREAD: f64 = 4.0;
/// Black or blank frames fail a shot when they run this long.
pub const MIN_BLANK_MS: u32 = 150;
/// Consecutive frames changing less than this (mean block difference, 0–255) and less than
/// [`FROZEN_SHARE`] of the shot's typical change are frozen...
pub const FROZEN_CHANGE: f64 = 0.05;
/// (see [`FROZEN_CHANGE`])
pub const FROZEN_SHARE: f64 = 0.25;
/// In a shot that changes a lot from frame to frame (a detailed print moving fast), changes under
/// this share of its typical change are frozen too: an encoder refining a still picture frame after
/// frame changes it by more than [`FROZEN_CHANGE`].
pub const FROZEN_RELATIVE: f64 = 0.1;
/// ...and a moving shot fails when they stay frozen this long (away from its eased ends).
pub const FROZEN_MS: u32 = 600;
/// A change this many times the shot's typical change between frames (its upper quartile) is a
/// jump or a cut...
pub const JUMP_FACTOR: f64 = 6.0;
/// ...when it is also at least this large.
pub const JUMP_MIN: f64 = 14.0;
/// Brightness steps this large (mean luma) that reverse direction three times are flicker.
pub const FLICKER_STEP: f64 = 6.0;
/// A camera move changes the picture at least this much from the first frame to the last.
pub const MIN_MOTION: f64 = 0.5;
/// Frames at least this sharp, against the photo at the frame's size.
pub const MIN_SHARPNESS_RATIO: f64 = 0.2;
/// The picture's motion is measured between frames this far apart (the camera's move adds up
/// steadily; a part swimming on its own strays further from it than in one frame's step).
pub const WARP_GAP_MS: u32 = 500;
/// A part of the picture (a block of [`super::motion`]'s grid, with a neighbour straying the same
/// way) strays from the camera's move when it moves this many pixels apart from it over
/// [`WARP_GAP_MS`] (pixels of the thumbnails, [`THUMBNAIL_WIDTH`] wide; scaled with the frames'
/// width)...
pub const MAX_STRAY_PX: f64 = 1.0;
/// ...the picture is warped when more than this share of its matched blocks stray (fit set: faithful
/// clips at most 3 % throughout 0.4 s, warped ones 10.5 % and more)...
pub const MAX_STRAY_SHARE: f64 = 0.06;
/// ...(of at least this many matched blocks: a picture with less texture is not judged)...
pub const MIN_MATCHED_BLOCKS: usize = 8;
/// ...and a shot fails when it stays warped this long.
pub const WARP_MS: u32 = 400;
/// Where the lined-up frames show the product, every area of it keeps at least this share of the
/// photo's edge energy there, in all but one of them ([`super::align::DetailLost`]; fit set:
/// faithful clips keep 0.76 and more, a print wiped away 0.39 and less).
pub const MIN_DETAIL_KEPT: f64 = 0.5;

/// One shot's frames: where each sits in the shot (ms from its start) and its pixels.
pub struct ShotFrames {
    pub index: u32,
    pub frames: Vec<(u32, RgbImage)>,
}

/// The shot-level checks of one shot (every shot asks for a camera move). `captions`: the band of
/// rows (fractions of the height) captions are drawn in, if any.
pub fn judge_shot(shot: &ShotFrames, grounding: &Grounding, captions: Option<(f64, f64)>) -> Vec<Check> {
    let index = shot.index;
    let check = |(name, passed, score, detail, measure): Judged| {
        debug_assert!(measure.is_none_or(|m| m.passes() == passed), "{name}: {measure:?} but passed {passed}");
        Check {
            name: name.into(),
            passed,
            score: score.clamp(0.0, 1.0),
            detail: format!("shot {}: {detail}", index + 1),
            shot: Some(index),
            measure,
        }
    };
    if shot.frames.is_empty() {
        return vec![check(("frames", false, 0.0, "no frames to judge".into(), None))];
    }
    let seen = Seen::of(shot, captions);
    let lined = lined_up(shot, grounding, &seen, captions);
    let mut judged = vec![frames_check(&seen), motion_check(&seen, captions), warping_check(&seen, captions)];
    judged.extend(structure_checks(&lined));
    judged.extend(detail_check(&lined));
    judged.push(colour_check(shot, grounding, &seen, &lined));
    judged.push(sharpness_check(shot, grounding, &seen));
    judged.into_iter().map(check).collect()
}

/// A check's name, whether it passed, its score, what it measured in words, and the value it
/// compared with its limit when one comparison decided it.
type Judged = (&'static str, bool, f64, String, Option<Measure>);

/// What every frame of a shot measures.
struct Seen {
    grays: Vec<GrayImage>,
    times: Vec<u32>,
    step_ms: u32,
    stats: Vec<FrameStats>,
    /// Black or blank frames.
    blank: Vec<bool>,
    /// How much changed from each frame to the next.
    changes: Vec<f64>,
    /// The shot's typical change between frames: the upper quartile, so that a pan moving in whole
    /// pixels (a frame that moved, a frame that did not, in turn) is typical, not a run of jumps.
    typical: f64,
}

impl Seen {
    fn of(shot: &ShotFrames, captions: Option<(f64, f64)>) -> Self {
        let grays: Vec<GrayImage> = shot.frames.iter().map(|(_, f)| luma(f)).collect();
        let times: Vec<u32> = shot.frames.iter().map(|(t, _)| *t).collect();
        let step_ms = times.windows(2).map(|p| p[1].saturating_sub(p[0])).min().unwrap_or(100).max(1);
        let stats: Vec<FrameStats> = grays.iter().map(frame_stats).collect();
        let blank =
            stats.iter().map(|s| s.spread < BLANK_SPREAD || (s.mean < BLACK_LUMA && s.spread < BLACK_SPREAD)).collect();
        let changes: Vec<f64> = grays.windows(2).map(|p| change(&p[0], &p[1], captions)).collect();
        let typical = quantile(&changes, 0.75);
        Self { grays, times, step_ms, stats, blank, changes, typical }
    }

    /// How long the longest run of `flags` lasts, ms.
    fn longest_ms(&self, flags: &[bool]) -> u32 {
        longest_run(flags) as u32 * self.step_ms
    }
}

/// Black or blank stretches, a freeze mid-move, jumps and cuts, flicker.
fn frames_check(seen: &Seen) -> Judged {
    let mut problems = Vec::new();
    if seen.longest_ms(&seen.blank) >= MIN_BLANK_MS {
        let black = seen.stats.iter().zip(&seen.blank).filter(|(_, b)| **b).all(|(s, _)| s.mean < BLACK_LUMA);
        let what = if black { "black" } else { "blank" };
        problems.push(format!("{what} at {}", spans(&seen.blank, &seen.times, seen.step_ms)));
    }
    let jumps: Vec<String> = (seen.changes.iter().enumerate())
        .filter(|(_, c)| **c >= JUMP_MIN && **c > JUMP_FACTOR * seen.typical)
        .map(|(i, _)| format!("{:.1} s", seen.times[i + 1] as f64 / 1000.0))
        .collect();
    if !jumps.is_empty() {
        problems.push(format!("the picture jumps (a cut or a glitch) at {}", jumps.join(", ")));
    }
    // Eased moves start and end slowly: only the middle 70 % must keep moving.
    let n = seen.changes.len();
    let (lo, hi) = (n * 15 / 100, n - n * 15 / 100);
    let still = (FROZEN_SHARE * seen.typical).min(FROZEN_CHANGE.max(FROZEN_RELATIVE * seen.typical));
    let frozen: Vec<bool> =
        (seen.changes.iter().enumerate()).map(|(i, c)| (lo..hi).contains(&i) && *c < still).collect();
    if seen.longest_ms(&frozen) >= FROZEN_MS {
        problems.push(format!("the picture freezes at {}", spans(&frozen, &seen.times[1..], seen.step_ms)));
    }
    let steps: Vec<f64> = seen.stats.windows(2).map(|p| p[1].mean - p[0].mean).collect();
    let reversals = (steps.windows(2))
        .filter(|p| p[0].abs() >= FLICKER_STEP && p[1].abs() >= FLICKER_STEP && p[0].signum() != p[1].signum())
        .count();
    if reversals >= 3 {
        problems.push(format!("the brightness flickers ({reversals} reversals of {FLICKER_STEP}+ levels)"));
    }
    match problems.is_empty() {
        true => (
            "frames",
            true,
            1.0,
            format!("no black, frozen or jumping frames (typical change {:.2} a frame)", seen.typical),
            None,
        ),
        false => ("frames", false, 0.0, problems.join("; "), None),
    }
}

/// The first and last frames of a camera move differ.
fn motion_check(seen: &Seen, captions: Option<(f64, f64)>) -> Judged {
    let (first, last) = (&seen.grays[0], &seen.grays[seen.grays.len() - 1]);
    let moved = change(first, last, captions);
    let detail = if moved >= MIN_MOTION {
        format!("the camera moves (the picture changes {moved:.1} from first to last frame)")
    } else {
        format!("asked for a camera move, the picture barely changes ({moved:.2}, at least {MIN_MOTION})")
    };
    ("motion", moved >= MIN_MOTION, moved / (2.0 * MIN_MOTION), detail, Measure::at_least(moved, MIN_MOTION))
}

/// Whether the picture moves as one camera move: from each frame to the next, the share of the
/// grid's blocks straying from the best translation and zoom ([`super::motion`]).
fn warping_check(seen: &Seen, captions: Option<(f64, f64)>) -> Judged {
    let scale = seen.grays[0].width() as f64 / THUMBNAIL_WIDTH as f64;
    let gap = ((WARP_GAP_MS as f64 / seen.step_ms as f64).round() as usize).max(1);
    let smooth: Vec<GrayImage> = seen.grays.iter().map(smoothed).collect();
    let shares: Vec<f64> = (0..seen.grays.len().saturating_sub(gap))
        .map(|i| {
            if seen.blank[i] || seen.blank[i + gap] {
                return 0.0;
            }
            let motions = block_motions(&smooth[i], &smooth[i + gap], captions);
            match fit_camera(&motions) {
                Some(fit) if motions.len() >= MIN_MATCHED_BLOCKS => {
                    fit.strays_together(&motions, MAX_STRAY_PX * scale) as f64 / motions.len() as f64
                }
                _ => 0.0,
            }
        })
        .collect();
    // The share straying throughout the worst WARP_MS.
    let window = ((WARP_MS / seen.step_ms) as usize).max(1);
    let sustained = shares
        .windows(window.min(shares.len()).max(1))
        .map(|w| w.iter().copied().fold(1.0, f64::min))
        .fold(0.0, f64::max);
    if sustained > MAX_STRAY_SHARE {
        let warped: Vec<bool> = shares.iter().map(|s| *s > MAX_STRAY_SHARE).collect();
        let at = spans(&warped, &seen.times[gap..], seen.step_ms);
        let detail = format!(
            "the picture warps at {at}: {:.0}% of its parts move apart from the camera's move throughout {WARP_MS} ms \
             (by over {MAX_STRAY_PX} px in {WARP_GAP_MS} ms; at most {:.0}%): the product melts or swims",
            sustained * 100.0,
            MAX_STRAY_SHARE * 100.0
        );
        ("warping", false, 1.0 - sustained, detail, Measure::at_most(sustained, MAX_STRAY_SHARE))
    } else {
        let detail = format!(
            "moves as one camera move (at most {:.0}% of its parts apart from it throughout {WARP_MS} ms)",
            sustained * 100.0
        );
        ("warping", true, 1.0 - sustained, detail, Measure::at_most(sustained, MAX_STRAY_SHARE))
    }
}

/// Whether the product kept the photo's detail (a print, a logo, a pattern) where the frames line
/// up with it: each lined-up frame's area that kept the least of it, and the second worst of those
/// judged (a wiped print stays wiped; one frame lined up a little off at its edge is not a loss).
fn detail_check(lined: &[Lined]) -> Option<Judged> {
    let mut losses: Vec<(&Lined, DetailLost)> =
        lined.iter().filter_map(|l| l.comparison.detail_lost.map(|d| (l, d))).collect();
    losses.sort_by(|(_, a), (_, b)| a.kept.total_cmp(&b.kept));
    let (l, d) = *losses.get(1).or(losses.first())?;
    let detail = if d.kept >= MIN_DETAIL_KEPT {
        format!("keeps the photo's detail (at least {:.0}% of its edges in every part of the product)", d.kept * 100.0)
    } else {
        format!(
            "the product lost its print or detail at {:.1} s, {:.0}% across and {:.0}% down the frame: {:.0}% of the \
             photo's edges are left there (at least {:.0}%)",
            l.at_s(),
            d.x * 100.0,
            d.y * 100.0,
            d.kept * 100.0,
            MIN_DETAIL_KEPT * 100.0
        )
    };
    Some(("detail", d.kept >= MIN_DETAIL_KEPT, d.kept.min(1.0), detail, Measure::at_least(d.kept, MIN_DETAIL_KEPT)))
}

/// One frame lined up with the photo: when, where, how alike, and how alike the mirrored photo is
/// where it fits best.
struct Lined {
    at_ms: u32,
    alignment: Alignment,
    comparison: Comparison,
    mirrored_ssim: f64,
}

impl Lined {
    fn at_s(&self) -> f64 {
        self.at_ms as f64 / 1000.0
    }
    fn fit(&self) -> f64 {
        self.alignment.window.fit
    }
    fn mirror_gain(&self) -> f64 {
        self.mirrored_ssim - self.comparison.ssim
    }
    fn stretch_gain(&self) -> f64 {
        self.alignment.stretched_fit - self.fit()
    }
}

/// Four frames of the shot (at 15, 38, 62 and 85 % of it) lined up with the photo and compared
/// where they overlap; black or blank ones are left to the frames check.
fn lined_up(shot: &ShotFrames, grounding: &Grounding, seen: &Seen, captions: Option<(f64, f64)>) -> Vec<Lined> {
    let last = shot.frames.len() - 1;
    let flipped = imageops::flip_horizontal(&grounding.photo);
    let (photo_luma, flipped_luma) = (grounding.pyramid(), &grounding.pyramid().flipped());
    let [x0, y0, x1, y1] = grounding.product;
    let flipped_product = [1.0 - x1, y0, 1.0 - x0, y1];
    [0.15, 0.38, 0.62, 0.85]
        .iter()
        .map(|f| (last as f64 * f).round() as usize)
        .filter(|i| !seen.blank[*i])
        .map(|i| {
            let (at_ms, frame) = (shot.frames[i].0, &shot.frames[i].1);
            let alignment = align(&seen.grays[i], photo_luma, flipped_luma, captions);
            let comparison = compare(frame, &grounding.photo, &alignment.window, grounding.product, captions);
            let mirrored = compare(frame, &flipped, &alignment.mirrored_window, flipped_product, captions);
            Lined { at_ms, alignment, comparison, mirrored_ssim: mirrored.ssim }
        })
        .collect()
}

/// `structure`, `mirrored` and `proportions`, each from its worst lined-up frame.
fn structure_checks(lined: &[Lined]) -> Vec<Judged> {
    let worst = |key: fn(&Lined) -> f64| lined.iter().max_by(|a, b| key(a).total_cmp(&key(b)));
    let mut out = Vec::new();
    if let Some(l) = worst(|l| -l.fit()) {
        let fit = l.fit();
        let ssim = lined.iter().map(|l| l.comparison.ssim).fold(f64::INFINITY, f64::min);
        let detail = if fit >= MIN_FIT {
            format!("lines up with its photo (fit at least {fit:.2}, SSIM at least {ssim:.2})")
        } else {
            format!(
                "does not line up with its photo at {:.1} s (fit {fit:.2}, at least {MIN_FIT}): another product, or \
                 the product changed shape",
                l.at_s()
            )
        };
        out.push(("structure", fit >= MIN_FIT, fit, detail, Measure::at_least(fit, MIN_FIT)));
    }
    if let Some(l) = worst(Lined::mirror_gain) {
        let gain = l.mirror_gain();
        let detail = if gain <= MAX_MIRROR_GAIN {
            format!("not mirrored (the photo flipped fits {:.2} worse)", -gain)
        } else {
            format!(
                "mirrored at {:.1} s: it matches the photo flipped left to right better (SSIM +{gain:.2}; a print \
                 reads backwards)",
                l.at_s()
            )
        };
        let measure = Measure::at_most(gain, MAX_MIRROR_GAIN);
        out.push(("mirrored", gain <= MAX_MIRROR_GAIN, 1.0 - gain.max(0.0), detail, measure));
    }
    if let Some(l) = worst(Lined::stretch_gain) {
        let (gain, factor) = (l.stretch_gain(), l.alignment.stretch);
        let detail = if gain <= MAX_STRETCH_GAIN {
            format!("the product keeps its proportions (the photo stretched fits {gain:+.2})")
        } else {
            let how = if factor > 1.0 { "stretched wide" } else { "squeezed narrow" };
            format!(
                "the product is {how} at {:.1} s: it fits the photo {factor}x as wide better (+{gain:.2})",
                l.at_s()
            )
        };
        let measure = Measure::at_most(gain, MAX_STRETCH_GAIN);
        out.push(("proportions", gain <= MAX_STRETCH_GAIN, 1.0 - gain.max(0.0), detail, measure));
    }
    out
}

/// The product's colour where the frames line up with the photo, and every frame's main colours
/// against the photo's.
fn colour_check(shot: &ShotFrames, grounding: &Grounding, seen: &Seen, lined: &[Lined]) -> Judged {
    let all = [0.0, 0.0, 1.0, 1.0];
    let reference = main_colours(&grounding.photo, all, DETAIL_SHARE);
    let distances: Vec<f64> =
        shot.frames.iter().map(|(_, f)| colour_distance(&main_colours(f, all, MAIN_SHARE), &reference)).collect();
    let off: Vec<bool> = distances.iter().map(|d| *d > MAX_COLOUR_DE).collect();
    let share = off.iter().filter(|o| **o).count() as f64 / off.len() as f64;
    let worst = distances.iter().copied().fold(0.0, f64::max);
    let palette_off = seen.longest_ms(&off) >= MIN_BAD_STRETCH_MS || share > MAX_BAD_SHARE;
    let palette = if palette_off {
        let at = spans(&off, &seen.times, seen.step_ms);
        format!("the colours are ΔE {worst:.0} from the photo's at {at} (at most {MAX_COLOUR_DE})")
    } else {
        let median = median(&distances);
        format!(
            "the colours are within ΔE {median:.1} of the photo's (median; worst {worst:.1}, at most {MAX_COLOUR_DE})"
        )
    };
    let aligned = lined.iter().map(|l| l.comparison.colour_de).reduce(f64::max);
    let aligned_off = aligned.is_some_and(|d| d > MAX_ALIGNED_DE);
    let detail = match aligned {
        Some(d) if aligned_off => {
            format!(
                "the product's colour moved ΔE {d:.0} from the photo where they line up (at most {MAX_ALIGNED_DE}); {palette}"
            )
        }
        Some(d) => format!("where it lines up with the photo the product's colour is within ΔE {d:.1}; {palette}"),
        None => palette,
    };
    ("colour", !palette_off && !aligned_off, if aligned_off { 0.0 } else { 1.0 - share }, detail, None)
}

/// The frames' sharpness against the photo's at the frames' size.
fn sharpness_check(shot: &ShotFrames, grounding: &Grounding, seen: &Seen) -> Judged {
    let (w, h) = shot.frames[0].1.dimensions();
    let photo_sharpness = sharpness(&luma(&cover(&grounding.photo, grounding.product, w, h))).max(1e-6);
    let ratio = median(&seen.grays.iter().map(sharpness).collect::<Vec<_>>()) / photo_sharpness;
    let detail = format!(
        "{:.0}% of the photo's sharpness at the same size (at least {:.0}%)",
        ratio * 100.0,
        MIN_SHARPNESS_RATIO * 100.0
    );
    ("sharpness", ratio >= MIN_SHARPNESS_RATIO, ratio, detail, Measure::at_least(ratio, MIN_SHARPNESS_RATIO))
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
    quantile(v, 0.5)
}

/// The `q` quantile (0–1) of the finite values of `v` (0 when there are none).
fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return 0.0;
    }
    s.sort_by(f64::total_cmp);
    s[((s.len() - 1) as f64 * q).round() as usize]
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Frame-to-frame changes of a 3 s shot sampled at 10 a second, the picture held steady.
    fn seen_of(changes: Vec<f64>) -> Seen {
        let n = changes.len() + 1;
        let stats = FrameStats { mean: 128.0, spread: 40.0, blocks: [128.0; 64] };
        Seen {
            grays: Vec::new(),
            times: (0..n as u32).map(|i| i * 100).collect(),
            step_ms: 100,
            stats: vec![stats; n],
            blank: vec![false; n],
            typical: quantile(&changes, 0.75),
            changes,
        }
    }

    /// A push-in over a sample store photo, judged against it: every check decided by one
    /// comparison carries its measure (its default limit, a limit a brand may set, the verdict the
    /// same), and only those.
    #[test]
    fn the_checks_of_one_comparison_carry_their_measure_and_limit() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/store/photos/tee-grey-front-flat.jpg");
        let g = Grounding::open(&path).unwrap();
        let (pw, ph) = g.photo.dimensions();
        let frames = (0..30u32)
            .map(|k| {
                let h = (ph as f64 * (0.95 - 0.005 * k as f64)).min(pw as f64 * 16.0 / 9.0);
                let w = h * 9.0 / 16.0;
                let (x, y) = ((pw as f64 - w) / 2.0, (ph as f64 - h) / 2.0);
                let window = imageops::crop_imm(&g.photo, x as u32, y as u32, w as u32, h as u32).to_image();
                (k * 100, imageops::resize(&window, 216, 384, imageops::FilterType::Triangle))
            })
            .collect();
        let checks = judge_shot(&ShotFrames { index: 0, frames }, &g, None);
        let defaults = [
            ("structure", MIN_FIT),
            ("mirrored", MAX_MIRROR_GAIN),
            ("proportions", MAX_STRETCH_GAIN),
            ("detail", MIN_DETAIL_KEPT),
            ("motion", MIN_MOTION),
            ("warping", MAX_STRAY_SHARE),
            ("sharpness", MIN_SHARPNESS_RATIO),
        ];
        for c in &checks {
            let Some(m) = c.measure else {
                assert!(["colour", "frames"].contains(&c.name.as_str()), "{c:?}");
                continue;
            };
            let t = crate::tunable(&c.name).unwrap_or_else(|| panic!("{} has a measure but no threshold", c.name));
            let default = defaults.iter().find(|(n, _)| *n == c.name).unwrap().1;
            assert_eq!((m.limit, m.at_least), (default, t.at_least), "{c:?}");
            assert!((t.min..=t.max).contains(&default), "{}: {default}", c.name);
            assert_eq!(m.passes(), c.passed, "{c:?}");
        }
        let mut measured: Vec<&str> = checks.iter().filter(|c| c.measure.is_some()).map(|c| c.name.as_str()).collect();
        let mut tunable = defaults.map(|(n, _)| n);
        measured.sort();
        tunable.sort();
        assert_eq!(measured, tunable, "every tunable check measured: {checks:#?}");
        assert!(checks.iter().all(|c| c.passed), "a faithful push-in: {checks:#?}");
    }

    /// A fast, detailed move that holds still for 0.8 s: the held frames still change a little (an
    /// encoder refining the picture), far above an absolute floor but a tenth of the typical change.
    #[test]
    fn a_freeze_in_a_fast_detailed_move_is_frozen_though_the_encoder_still_refines_it() {
        let mut changes = vec![10.0; 29];
        changes[10..18].iter_mut().for_each(|c| *c = 0.6);
        let (_, passed, _, detail, _) = frames_check(&seen_of(changes.clone()));
        assert!(!passed && detail.contains("freezes at"), "{detail}");
        // A move that slows down without stopping is not frozen.
        changes[10..18].iter_mut().for_each(|c| *c = 3.0);
        let (_, passed, _, detail, _) = frames_check(&seen_of(changes));
        assert!(passed, "{detail}");
    }
}
