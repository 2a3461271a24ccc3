//! Composition: which window of a photo a shot shows and how it moves, from the photo's shape and
//! the product's box; and the words that tell a video model about that move.
//!
//! Windows are in normalised photo coordinates (0..1 from the left and top edges) and have the
//! output's aspect in pixels: `w·image_w / (h·image_h) = out_w / out_h`. The *fill window* is the
//! largest such window inside the photo (the photo's full height when it is wider than the frame,
//! its full width otherwise); zoom `z` means a window `1/z` of the fill window's size.
//!
//! The fit is chosen in order of preference:
//!
//! | fit | when | window | backdrop |
//! |---|---|---|---|
//! | [`Fit::Fill`] | a studio photo (uniform background) whose box plus a 4% margin fits the fill window; any other photo whose box fits it (with the margin when possible) | inside the photo on every frame, containing the box (and margin) on every frame | [`Backdrop::None`] |
//! | [`Fit::Backdrop`] | a studio photo whose box does not fit the fill window with its margin | the whole photo, fitted, then a gentle move that keeps the box and margin in view | [`Backdrop::Colour`] (its own background: no seam to see) |
//! | [`Fit::Pan`] | a busy photo whose box is too wide (or tall) for the fill window, by at most the travel limit (box plus margins at most 1.6 window widths in a 5 s shot in a vertical frame), or fits it too snugly to move within it | the fill window, travelling along the box from one end to the other (at least 4% of the frame) | [`Backdrop::None`] |
//! | [`Fit::Blurred`] | anything else (a box that cannot be filled nor panned across) | the whole photo, fitted, then a gentle push-in that keeps the box in view | [`Backdrop::Blur`] |
//!
//! "In view" means the whole box (and its margin, where the photo has room for one) lies inside the
//! window on every frame, except for [`Fit::Pan`]: there every frame shows part of the box and the
//! windows together cover all of it, from the margin before one end to the margin after the other.
//!
//! A photo with no known box (the framing analysis found no backdrop, or nothing on it, and gave
//! the whole image) is assumed to hold its product in the middle: the box is taken as the centred
//! half of the fill window, so such a photo always fills the frame (never bands, never blur).
//!
//! Moves within a fit, every window of them obeying the fit's rule (the move interpolates between
//! two valid windows, and the rules are convex, so every frame in between is valid too):
//!
//! | motion | Fill | Pan | Backdrop / Blurred |
//! |---|---|---|---|
//! | push-in | fill window on the box → the deepest zoom that keeps the box (and margin) in view | along the box | whole photo → zoomed on the box |
//! | pull-out | the reverse: ends on the widest fill window | along the box | the reverse: ends on the whole photo |
//! | pan / tilt | travels along the axis at a constant zoom, over the range that keeps the box in view (the fill window where that gives room, else a gentle zoom that makes some) | along the box in that direction (a pan on the other axis goes left → right or top → bottom) | a gentle zoom drifting to that side |
//!
//! If a fit's preferred move cannot move visibly, it tries the others in that table's column
//! before the next fit is considered. Every move is visible and gentle:
//!
//! * **visible**: at least 4% zoom change or 4% of the frame's shorter side of travel;
//! * **gentle**: at most 15% zoom change and at most 60% of the frame's shorter side of travel
//!   (the frame width in a vertical reel) per 5 s, measured on the screen (travel on the smaller
//!   window). [`compose`] assumes a 5 s shot ([`NOMINAL_SHOT_MS`]); [`compose_for`] scales the
//!   limits to the shot's real duration, so a 2.5 s shot moves at most half as far.

use crate::{Backdrop, Camera, Fit, Framing, Motion, SubjectBox};

/// The shot length [`compose`] assumes.
pub const NOMINAL_SHOT_MS: u32 = 5_000;
/// The margin kept around the product's box, as a share of the window's side on each side.
const MARGIN: f64 = 0.04;
/// Most zoom change per 5 s (window side ratio minus one).
const MAX_ZOOM_PER_5S: f64 = 0.15;
/// Most travel per 5 s, in shares of the frame's shorter side on screen.
const MAX_TRAVEL_PER_5S: f64 = 0.60;
/// Least zoom change or travel that reads as a move.
const MIN_MOVE: f64 = 0.04;
/// The travel a pan within a fill aims for (shares of the shorter side) before it zooms in to
/// make room for more.
const PAN_TARGET: f64 = 0.25;
/// How far the gentle drift of a pan or tilt zooms in where there is nothing to travel over.
const DRIFT_ZOOM: f64 = 1.08;
/// A photo with no known box is assumed to hold its product in this centred share of the fill
/// window (on each side).
const ASSUMED_SUBJECT: f64 = 0.5;
/// Slack for rounding in feasibility tests.
const EPS: f64 = 1e-9;

/// The camera for one shot of `motion` over a `image_w`x`image_h` photo with `framing`, rendered at
/// `out_w`x`out_h`, assuming a shot of [`NOMINAL_SHOT_MS`]. See the module documentation.
pub fn compose(image_w: u32, image_h: u32, framing: &Framing, motion: Motion, out_w: u32, out_h: u32) -> Camera {
    compose_for(image_w, image_h, framing, motion, out_w, out_h, NOMINAL_SHOT_MS)
}

/// [`compose`] for a shot of `duration_ms`: the speed limits scale with the duration.
pub fn compose_for(
    image_w: u32,
    image_h: u32,
    framing: &Framing,
    motion: Motion,
    out_w: u32,
    out_h: u32,
    duration_ms: u32,
) -> Camera {
    if image_w == 0 || image_h == 0 || out_w == 0 || out_h == 0 {
        return Camera::default();
    }
    let g = Geometry::new(image_w, image_h, out_w, out_h, duration_ms);
    let known = known_box(&framing.subject);
    let subject = known.unwrap_or_else(|| g.assumed_subject());
    if framing.uniform_background && known.is_some() {
        if let Some(c) = g.fill(&subject, motion, MARGIN) {
            return c;
        }
        return g.whole(&subject, motion, Fit::Backdrop, Backdrop::Colour { rgb: framing.background });
    }
    g.fill(&subject, motion, MARGIN)
        .or_else(|| g.fill(&subject, motion, 0.0))
        .or_else(|| g.pan(&subject, motion))
        .unwrap_or_else(|| g.whole(&subject, motion, Fit::Blurred, Backdrop::Blur))
}

/// The camera a renderer should carry out: the plan's, or, for a plan made before cameras were
/// planned ([`Camera::default`]: the whole photo held still), one composed here for `motion`.
#[allow(clippy::too_many_arguments)]
pub fn planned_or_composed(
    camera: &Camera,
    motion: Motion,
    framing: &Framing,
    image_w: u32,
    image_h: u32,
    out_w: u32,
    out_h: u32,
    duration_ms: u32,
) -> Camera {
    if *camera == Camera::default() {
        compose_for(image_w, image_h, framing, motion, out_w, out_h, duration_ms)
    } else {
        *camera
    }
}

/// Motion direction for a video model from the camera the plan chose: the move and its speed,
/// how the product is framed, and what must not change. `motion` names the move when the camera
/// holds still.
pub fn describe(camera: &Camera, motion: Motion) -> String {
    let (s, e) = (camera.start, camera.end);
    let zoom = if e.width() > 0.0 && s.width() > 0.0 { s.width() / e.width() } else { 1.0 };
    let (ws, hs) = (s.width().min(e.width()).max(EPS), s.height().min(e.height()).max(EPS));
    let dx = ((e.x0 + e.x1) - (s.x0 + s.x1)) / 2.0 / ws;
    let dy = ((e.y0 + e.y1) - (s.y0 + s.y1)) / 2.0 / hs;
    let zoom_change = (zoom.max(1.0 / zoom) - 1.0).abs();
    let travel = dx.abs().max(dy.abs());
    let zoom_words = if zoom > 1.0 { "push-in towards the product" } else { "pull-out from the product" };
    let travel_words = if dx.abs() >= dy.abs() {
        if dx > 0.0 { "pan from left to right" } else { "pan from right to left" }
    } else if dy > 0.0 {
        "tilt from top to bottom"
    } else {
        "tilt from bottom to top"
    };
    let along = if matches!(camera.fit, Fit::Pan) { " along the product" } else { " across the product" };
    let mv = match (zoom_change >= 0.02, travel >= 0.02) {
        (false, false) => motion.direction().split(',').next().unwrap_or("slow camera move").to_string(),
        (true, false) => format!("slow camera {zoom_words}"),
        (false, true) => format!("slow camera {travel_words}{along}"),
        (true, true) if zoom_change >= travel => {
            let drift = travel_words.replace("pan from", "drifting from").replace("tilt from", "drifting from");
            format!("slow camera {zoom_words}, gently {drift}")
        }
        (true, true) => {
            let push = if zoom > 1.0 { "gently pushing in" } else { "gently pulling out" };
            format!("slow camera {travel_words}{along}, {push}")
        }
    };
    let framing = match camera.fit {
        Fit::Fill => "the product fills the frame and stays whole in view",
        Fit::Pan => "the product fills the frame and is revealed end to end over the move",
        Fit::Backdrop => "whole product in view on its plain studio background",
        Fit::Blurred => "whole product in view over a soft blurred copy of the photo",
    };
    format!("{mv}; {framing}; the garment's shape, colour and print do not change; no new logos or text")
}

/// The framing's box if it says where the product is (not the whole image, not degenerate),
/// clamped to the photo.
fn known_box(b: &SubjectBox) -> Option<SubjectBox> {
    let finite = [b.x0, b.y0, b.x1, b.y1].iter().all(|v| v.is_finite());
    let c = SubjectBox {
        x0: b.x0.clamp(0.0, 1.0),
        y0: b.y0.clamp(0.0, 1.0),
        x1: b.x1.clamp(0.0, 1.0),
        y1: b.y1.clamp(0.0, 1.0),
    };
    let whole = c.contains(&SubjectBox::WHOLE, 1e-6);
    (finite && !whole && c.width() > 1e-4 && c.height() > 1e-4).then_some(c)
}

/// A window: left, top and width in normalised photo coordinates; its height follows from the
/// output's aspect ([`Geometry::k`]).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Win {
    x: f64,
    y: f64,
    w: f64,
}

/// Whether windows must stay inside the photo, or may reach over a backdrop.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Room {
    /// Inside the photo on every frame.
    Inside,
    /// Over a backdrop: inside the photo on an axis where the window is smaller than the photo,
    /// centred on it where the window is larger.
    Over,
}

/// The photo and frame shapes and the shot's limits.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    /// Window height over width in normalised units: `(image_w/image_h) / (out_w/out_h)`.
    k: f64,
    /// Frame width and height over the frame's shorter side.
    fx: f64,
    fy: f64,
    /// The shot's zoom and travel limits, and the least visible move under them.
    zoom_cap: f64,
    travel_cap: f64,
    min_zoom: f64,
    min_travel: f64,
}

impl Geometry {
    fn new(image_w: u32, image_h: u32, out_w: u32, out_h: u32, duration_ms: u32) -> Self {
        let r = image_w as f64 / image_h as f64;
        let a = out_w as f64 / out_h as f64;
        let short = out_w.min(out_h) as f64;
        let scale = duration_ms.max(1) as f64 / NOMINAL_SHOT_MS as f64;
        let (zoom_cap, travel_cap) = (MAX_ZOOM_PER_5S * scale, MAX_TRAVEL_PER_5S * scale);
        Self {
            k: r / a,
            fx: out_w as f64 / short,
            fy: out_h as f64 / short,
            zoom_cap,
            travel_cap,
            min_zoom: MIN_MOVE.min(zoom_cap),
            min_travel: MIN_MOVE.min(travel_cap),
        }
    }

    fn h(&self, w: f64) -> f64 {
        w * self.k
    }

    /// Width of the fill window (zoom 1): the largest window inside the photo.
    fn fill_w(&self) -> f64 {
        1.0_f64.min(1.0 / self.k)
    }

    /// Width of the window that shows the whole photo, fitted.
    fn whole_w(&self) -> f64 {
        1.0_f64.max(1.0 / self.k)
    }

    fn boxed(&self, v: Win) -> SubjectBox {
        SubjectBox { x0: v.x, y0: v.y, x1: v.x + v.w, y1: v.y + self.h(v.w) }
    }

    /// The box a photo without a known one is assumed to have: the centred half of the fill window.
    fn assumed_subject(&self) -> SubjectBox {
        let w = self.fill_w() * ASSUMED_SUBJECT;
        let h = self.h(w);
        SubjectBox { x0: 0.5 - w / 2.0, y0: 0.5 - h / 2.0, x1: 0.5 + w / 2.0, y1: 0.5 + h / 2.0 }
    }

    /// The box grown by `margin` of a `w`-wide window's sides, within the photo.
    fn expanded(&self, b: &SubjectBox, w: f64, margin: f64) -> SubjectBox {
        let (mx, my) = (margin * w, margin * self.h(w));
        SubjectBox {
            x0: (b.x0 - mx).max(0.0),
            y0: (b.y0 - my).max(0.0),
            x1: (b.x1 + mx).min(1.0),
            y1: (b.y1 + my).min(1.0),
        }
    }

    /// The range of left (or top) edges a window of size `size` may take on one axis: within the
    /// photo (or centred on it, over a backdrop, when larger) and containing `lo..hi` of the box.
    fn range(room: Room, size: f64, lo: f64, hi: f64) -> (f64, f64) {
        let (p0, p1) = match room {
            Room::Over if size > 1.0 => ((1.0 - size) / 2.0, (1.0 - size) / 2.0),
            _ => (0.0, 1.0 - size),
        };
        (p0.max(hi - size), p1.min(lo))
    }

    /// The ranges of left and top edges for a `w`-wide window keeping `b` (with `margin`) in view;
    /// `None` when there are none.
    #[allow(clippy::type_complexity)]
    fn ranges(&self, room: Room, b: &SubjectBox, w: f64, margin: f64) -> Option<((f64, f64), (f64, f64))> {
        if room == Room::Inside && (w > 1.0 + EPS || self.h(w) > 1.0 + EPS) {
            return None;
        }
        let e = self.expanded(b, w, margin);
        let rx = Self::range(room, w, e.x0, e.x1);
        let ry = Self::range(room, self.h(w), e.y0, e.y1);
        (rx.0 <= rx.1 + EPS && ry.0 <= ry.1 + EPS).then_some((rx, ry))
    }

    /// A `w`-wide window as close to centred on the box as its ranges allow.
    fn place(&self, room: Room, b: &SubjectBox, w: f64, margin: f64) -> Option<Win> {
        let ((x0, x1), (y0, y1)) = self.ranges(room, b, w, margin)?;
        let cx = (b.x0 + b.x1) / 2.0 - w / 2.0;
        let cy = (b.y0 + b.y1) / 2.0 - self.h(w) / 2.0;
        Some(Win { x: cx.min(x1).max(x0), y: cy.min(y1).max(y0), w })
    }

    /// The deepest zoom from a `base`-wide window, up to the shot's limit, that keeps the box (and
    /// margin) in view; `None` when even `base` does not.
    fn max_zoom(&self, room: Room, b: &SubjectBox, base: f64, margin: f64) -> Option<f64> {
        self.ranges(room, b, base, margin)?;
        let top = 1.0 + self.zoom_cap;
        if self.ranges(room, b, base / top, margin).is_some() {
            return Some(top);
        }
        let (mut lo, mut hi) = (1.0, top);
        for _ in 0..50 {
            let mid = (lo + hi) / 2.0;
            if self.ranges(room, b, base / mid, margin).is_some() { lo = mid } else { hi = mid }
        }
        Some(lo)
    }

    /// Zoom change and on-screen travel (shares of the frame's shorter side) of a move.
    fn size_of(&self, a: Win, b: Win) -> (f64, f64) {
        let (small, large) = (a.w.min(b.w), a.w.max(b.w));
        let zoom = large / small - 1.0;
        let dx = ((b.x + b.w / 2.0) - (a.x + a.w / 2.0)) / small * self.fx;
        let dy = ((b.y + self.h(b.w) / 2.0) - (a.y + self.h(a.w) / 2.0)) / self.h(small) * self.fy;
        (zoom, dx.hypot(dy))
    }

    fn visible(&self, a: Win, b: Win) -> bool {
        let (zoom, travel) = self.size_of(a, b);
        zoom >= self.min_zoom - EPS || travel >= self.min_travel - EPS
    }

    /// The move `from` → `to`, shortened (its start pulled towards its end) to the shot's limits.
    /// Every window between two valid ones is valid, so the shortened move is too.
    fn gentle(&self, from: Win, to: Win) -> (Win, Win) {
        let ok = |f: f64| {
            let a = lerp_win(to, from, f);
            let (zoom, travel) = self.size_of(a, to);
            zoom <= self.zoom_cap + EPS && travel <= self.travel_cap + EPS
        };
        if ok(1.0) {
            return (from, to);
        }
        let (mut lo, mut hi) = (0.0, 1.0);
        for _ in 0..50 {
            let mid = (lo + hi) / 2.0;
            if ok(mid) { lo = mid } else { hi = mid }
        }
        (lerp_win(to, from, lo), to)
    }

    fn camera(&self, (a, b): (Win, Win), fit: Fit, backdrop: Backdrop) -> Camera {
        Camera { start: self.boxed(a), end: self.boxed(b), fit, backdrop }
    }

    /// The photo fills the frame and the box (with `margin` where the photo has room) stays in
    /// view; `None` when the box does not fit or nothing visible can move.
    fn fill(&self, b: &SubjectBox, motion: Motion, margin: f64) -> Option<Camera> {
        let base = self.fill_w();
        let z = self.max_zoom(Room::Inside, b, base, margin)?;
        let zoom = || -> Option<(Win, Win)> {
            let wide = self.place(Room::Inside, b, base, margin)?;
            let close = self.place(Room::Inside, b, base / z, margin)?;
            Some(self.gentle(wide, close))
        };
        let push = || zoom();
        let pull = || zoom().map(|(wide, close)| (close, wide));
        let overflow_x = base < 1.0 - EPS;
        let travel = |horizontal: bool, forward: bool| self.fill_travel(b, margin, z, horizontal, forward);
        let drift = |horizontal: bool, forward: bool| self.drift(Room::Inside, b, base, margin, horizontal, forward);
        type Try<'a> = Box<dyn Fn() -> Option<(Win, Win)> + 'a>;
        let tries: Vec<Try> = match motion {
            Motion::PushIn => vec![Box::new(push), Box::new(|| travel(overflow_x, true))],
            Motion::PullOut => vec![Box::new(pull), Box::new(|| travel(overflow_x, true))],
            Motion::PanRight | Motion::PanLeft | Motion::TiltDown | Motion::TiltUp => {
                let horizontal = matches!(motion, Motion::PanRight | Motion::PanLeft);
                let forward = matches!(motion, Motion::PanRight | Motion::TiltDown);
                vec![
                    Box::new(move || travel(horizontal, forward)),
                    Box::new(move || drift(horizontal, forward)),
                    Box::new(push),
                ]
            }
        };
        tries
            .iter()
            .filter_map(|t| t())
            .find(|&(a, e)| self.visible(a, e))
            .map(|m| self.camera(m, Fit::Fill, Backdrop::None))
    }

    /// A pan or tilt within the fill: a constant zoom (the least, up to `z_max`, that gives
    /// [`PAN_TARGET`] of travel, else the one that gives most) and the travel the box allows,
    /// centred on the box.
    fn fill_travel(
        &self,
        b: &SubjectBox,
        margin: f64,
        z_max: f64,
        horizontal: bool,
        forward: bool,
    ) -> Option<(Win, Win)> {
        let base = self.fill_w();
        let mut best: Option<(f64, f64)> = None;
        for i in 0..=40 {
            let z = 1.0 + (z_max - 1.0) * i as f64 / 40.0;
            let w = base / z;
            let Some(((x0, x1), (y0, y1))) = self.ranges(Room::Inside, b, w, margin) else { continue };
            let (room, frame, f) = if horizontal { (x1 - x0, w, self.fx) } else { (y1 - y0, self.h(w), self.fy) };
            let screen = (room / frame * f).min(self.travel_cap);
            if best.is_none_or(|(_, s)| screen > s + EPS) {
                best = Some((w, screen));
            }
            if screen >= PAN_TARGET.min(self.travel_cap) - EPS {
                break;
            }
        }
        let (w, screen) = best?;
        let ((x0, x1), (y0, y1)) = self.ranges(Room::Inside, b, w, margin)?;
        let centred = self.place(Room::Inside, b, w, margin)?;
        let (lo, hi, at, frame, f) =
            if horizontal { (x0, x1, centred.x, w, self.fx) } else { (y0, y1, centred.y, self.h(w), self.fy) };
        let t = screen / f * frame;
        let mid = (at).clamp(lo + t / 2.0, (hi - t / 2.0).max(lo + t / 2.0));
        let (s, e) = if forward { (mid - t / 2.0, mid + t / 2.0) } else { (mid + t / 2.0, mid - t / 2.0) };
        let at = |v: f64| if horizontal { Win { x: v, ..centred } } else { Win { y: v, ..centred } };
        Some((at(s), at(e)))
    }

    /// A gentle zoom from the `base`-wide window on the box that ends as far to one side as the
    /// box allows.
    fn drift(
        &self,
        room: Room,
        b: &SubjectBox,
        base: f64,
        margin: f64,
        horizontal: bool,
        forward: bool,
    ) -> Option<(Win, Win)> {
        let z = self.max_zoom(room, b, base, margin)?.min(DRIFT_ZOOM);
        let start = self.place(room, b, base, margin)?;
        let w = base / z;
        let ((x0, x1), (y0, y1)) = self.ranges(room, b, w, margin)?;
        let mut end = self.place(room, b, w, margin)?;
        match (horizontal, forward) {
            (true, true) => end.x = x1,
            (true, false) => end.x = x0,
            (false, true) => end.y = y1,
            (false, false) => end.y = y0,
        }
        Some(self.gentle(start, end))
    }

    /// The fill window travelling along a box too wide (or tall) for it, from the margin before
    /// one end to the margin after the other (at least the least visible travel, past the box's
    /// ends when it is barely too wide or fits but allows no move); `None` when the box overflows
    /// both ways, the photo has no room to travel, or the travel would break the speed limit.
    fn pan(&self, b: &SubjectBox, motion: Motion) -> Option<Camera> {
        let w = self.fill_w();
        let (wider, taller) = (b.width() > w + EPS, b.height() > self.h(w) + EPS);
        // A box that fits but leaves the fill no visible move is panned along the photo's long side.
        let too_wide = match (wider, taller) {
            (true, true) => return None,
            (true, false) => true,
            (false, true) => false,
            (false, false) if w < 1.0 - EPS => true,
            (false, false) if self.h(w) < 1.0 - EPS => false,
            (false, false) => return None,
        };
        // Along the axis the box overflows: left → right (top → bottom) unless the motion says otherwise.
        let forward = if too_wide { motion != Motion::PanLeft } else { motion != Motion::TiltUp };
        let centred = self.place_clamped(b, w);
        for margin in [MARGIN, 0.0] {
            let e = self.expanded(b, w, margin);
            let (lo, hi, frame, f, limit) = if too_wide {
                (e.x0, e.x1, w, self.fx, 1.0 - w)
            } else {
                (e.y0, e.y1, self.h(w), self.fy, 1.0 - self.h(w))
            };
            // Left (top) edges from the box's start to where the window ends on the box's end.
            let (mut s, mut t) = (lo, hi - frame);
            let screen = (t - s) / frame * f;
            if screen > self.travel_cap + EPS {
                continue;
            }
            if screen < self.min_travel {
                // Barely too wide: travel a little beyond the box's ends, as far as the photo allows.
                let need = self.min_travel / f * frame;
                if limit < need - EPS {
                    return None;
                }
                let mid = ((s + t) / 2.0).clamp(need / 2.0, (limit - need / 2.0).max(need / 2.0));
                (s, t) = (mid - need / 2.0, mid + need / 2.0);
            }
            if !forward {
                (s, t) = (t, s);
            }
            let at = |v: f64| if too_wide { Win { x: v, ..centred } } else { Win { y: v, ..centred } };
            return Some(self.camera((at(s), at(t)), Fit::Pan, Backdrop::None));
        }
        None
    }

    /// A `w`-wide window inside the photo, centred on the box as far as the photo allows.
    fn place_clamped(&self, b: &SubjectBox, w: f64) -> Win {
        let h = self.h(w);
        let cx = (b.x0 + b.x1) / 2.0 - w / 2.0;
        let cy = (b.y0 + b.y1) / 2.0 - h / 2.0;
        Win { x: cx.clamp(0.0, (1.0 - w).max(0.0)), y: cy.clamp(0.0, (1.0 - h).max(0.0)), w }
    }

    /// The whole photo, fitted over `backdrop`, and a gentle move that keeps the box in view.
    fn whole(&self, b: &SubjectBox, motion: Motion, fit: Fit, backdrop: Backdrop) -> Camera {
        let base = self.whole_w();
        // The whole photo always holds the box and its margin (clipped to the photo).
        let margin = MARGIN;
        let z = self.max_zoom(Room::Over, b, base, margin).unwrap_or(1.0);
        // Too little room to push in: start a little wider than the photo instead.
        let wide = base * ((1.0 + self.min_zoom) / z).max(1.0);
        let close = base / z;
        let placed = |w: f64| {
            self.place(Room::Over, b, w, margin).unwrap_or(Win { x: (1.0 - w) / 2.0, y: (1.0 - self.h(w)) / 2.0, w })
        };
        let push = self.gentle(placed(wide), placed(close));
        let mv = match motion {
            Motion::PushIn => push,
            Motion::PullOut => (push.1, push.0),
            Motion::PanRight | Motion::PanLeft | Motion::TiltDown | Motion::TiltUp => {
                let horizontal = matches!(motion, Motion::PanRight | Motion::PanLeft);
                let forward = matches!(motion, Motion::PanRight | Motion::TiltDown);
                self.drift(Room::Over, b, wide, margin, horizontal, forward)
                    .filter(|&(a, e)| self.visible(a, e))
                    .unwrap_or(push)
            }
        };
        self.camera(mv, fit, backdrop)
    }
}

fn lerp_win(a: Win, b: Win, f: f64) -> Win {
    Win { x: a.x + (b.x - a.x) * f, y: a.y + (b.y - a.y) * f, w: a.w + (b.w - a.w) * f }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUT: (u32, u32) = (1080, 1920);
    const MOTIONS: [Motion; 6] =
        [Motion::PushIn, Motion::PullOut, Motion::PanLeft, Motion::PanRight, Motion::TiltUp, Motion::TiltDown];
    const STEPS: [f64; 5] = [0.0, 0.25, 0.5, 0.75, 1.0];
    const SLACK: f64 = 1e-6;

    fn sbox(x0: f64, y0: f64, x1: f64, y1: f64) -> SubjectBox {
        SubjectBox { x0, y0, x1, y1 }
    }

    fn busy(subject: SubjectBox) -> Framing {
        Framing { background: [90, 110, 70], subject, uniform_background: false }
    }

    fn studio(subject: SubjectBox) -> Framing {
        Framing { background: [245, 245, 245], subject, uniform_background: true }
    }

    fn overlaps(a: &SubjectBox, b: &SubjectBox) -> bool {
        a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1
    }

    /// Zoom change and travel (shares of the frame's shorter side) between the first and last window.
    fn amount(c: &Camera, (iw, ih): (u32, u32), (ow, oh): (u32, u32)) -> (f64, f64) {
        let g = Geometry::new(iw, ih, ow, oh, NOMINAL_SHOT_MS);
        let win = |b: SubjectBox| Win { x: b.x0, y: b.y0, w: b.width() };
        g.size_of(win(c.start), win(c.end))
    }

    /// What holds for every camera: windows of the output's aspect; inside the photo without a
    /// backdrop; the box in view (wholly, or for a pan partly and covered over the shot); a move
    /// that is visible and gentle.
    fn check(c: &Camera, img: (u32, u32), out: (u32, u32), framing: &Framing, label: &str) {
        let want = out.0 as f64 / out.1 as f64;
        for w in [c.start, c.end] {
            let aspect = w.width() * img.0 as f64 / (w.height() * img.1 as f64);
            assert!((aspect - want).abs() < 1e-6 * want, "{label}: aspect {aspect} in {c:?}");
        }
        let subject = known_box(&framing.subject);
        for i in 0..=20 {
            let w = c.window_at(i as f64 / 20.0);
            if c.backdrop == Backdrop::None {
                assert!(SubjectBox::WHOLE.contains(&w, SLACK), "{label}: window {w:?} leaves the photo: {c:?}");
            }
            if let Some(b) = subject {
                if c.fit == Fit::Pan {
                    assert!(overlaps(&w, &b), "{label}: the pan loses the product at step {i}: {c:?}");
                } else {
                    assert!(w.contains(&b, SLACK), "{label}: product {b:?} out of view at step {i}: {c:?}");
                }
            }
        }
        if let (Some(b), Fit::Pan) = (subject, c.fit) {
            let union = SubjectBox {
                x0: c.start.x0.min(c.end.x0),
                y0: c.start.y0.min(c.end.y0),
                x1: c.start.x1.max(c.end.x1),
                y1: c.start.y1.max(c.end.y1),
            };
            assert!(union.contains(&b, SLACK), "{label}: the pan does not cover the product: {c:?}");
        }
        let (zoom, travel) = amount(c, img, out);
        assert!(zoom >= MIN_MOVE - 1e-6 || travel >= MIN_MOVE - 1e-6, "{label}: no visible move: {c:?}");
        assert!(zoom <= MAX_ZOOM_PER_5S + 1e-6, "{label}: zoom {zoom} too fast: {c:?}");
        assert!(travel <= MAX_TRAVEL_PER_5S + 1e-6, "{label}: travel {travel} too fast: {c:?}");
    }

    fn composed(img: (u32, u32), framing: &Framing, motion: Motion) -> Camera {
        let c = compose(img.0, img.1, framing, motion, OUT.0, OUT.1);
        check(&c, img, OUT, framing, &format!("{motion} {img:?} {framing:?}"));
        c
    }

    #[test]
    fn a_busy_landscape_fills_the_frame_and_keeps_the_product_in_view() {
        let img = (1600, 1000);
        let product = sbox(0.42, 0.3, 0.58, 0.7);
        for motion in MOTIONS {
            let c = composed(img, &busy(product), motion);
            assert_eq!((c.fit, c.backdrop), (Fit::Fill, Backdrop::None), "{motion}: {c:?}");
            for p in STEPS {
                let w = c.window_at(p);
                let margin = 0.04 * w.width();
                let with_margin = sbox(product.x0 - margin, product.y0, product.x1 + margin, product.y1);
                assert!(w.contains(&with_margin, SLACK), "{motion} at {p}: {w:?}");
            }
            let (zoom, travel) = amount(&c, img, OUT);
            match motion {
                Motion::PushIn => assert!(c.end.width() < c.start.width() && zoom > 0.1, "{c:?}"),
                Motion::PullOut => {
                    assert!(zoom > 0.1 && (c.end.height() - 1.0).abs() < 1e-9, "ends on the widest fill: {c:?}")
                }
                Motion::PanRight => assert!(c.end.x0 > c.start.x0 && travel > 0.2, "{c:?}"),
                Motion::PanLeft => assert!(c.end.x0 < c.start.x0 && travel > 0.2, "{c:?}"),
                // The photo does not overflow vertically: the tilt zooms in a little to have room.
                Motion::TiltDown => assert!(c.end.y0 > c.start.y0, "{c:?}"),
                Motion::TiltUp => assert!(c.end.y0 < c.start.y0, "{c:?}"),
            }
        }
    }

    #[test]
    fn a_photo_without_a_known_box_fills_the_frame_around_its_middle() {
        for img in [(1600, 1000), (4000, 1000), (1000, 1000), (900, 1600), (600, 2400)] {
            for framing in [busy(SubjectBox::WHOLE), Framing::default(), studio(SubjectBox::WHOLE)] {
                for motion in MOTIONS {
                    let c = composed(img, &framing, motion);
                    assert_eq!((c.fit, c.backdrop), (Fit::Fill, Backdrop::None), "{motion} {img:?}: {c:?}");
                    let mid = c.window_at(0.5);
                    assert!(mid.contains(&sbox(0.5, 0.5, 0.5, 0.5), 0.0), "{motion} {img:?}: {c:?}");
                }
            }
        }
    }

    #[test]
    fn a_wide_product_is_panned_across_and_a_wider_one_is_shown_over_its_blur() {
        let img = (1600, 1000);
        // 800 px wide against a 562 px window: about 1.5 windows with the margins.
        let wide = sbox(0.25, 0.3, 0.75, 0.7);
        for motion in MOTIONS {
            let c = composed(img, &busy(wide), motion);
            assert_eq!((c.fit, c.backdrop), (Fit::Pan, Backdrop::None), "{motion}: {c:?}");
            assert!((c.start.height() - 1.0).abs() < 1e-9 && c.start.width() == c.end.width(), "{c:?}");
            assert_eq!(c.end.x0 < c.start.x0, motion == Motion::PanLeft, "{motion}: {c:?}");
        }
        // 1440 px wide: more than 1.6 windows, too fast to pan.
        let wider = sbox(0.05, 0.3, 0.95, 0.7);
        for motion in MOTIONS {
            let c = composed(img, &busy(wider), motion);
            assert_eq!((c.fit, c.backdrop), (Fit::Blurred, Backdrop::Blur), "{motion}: {c:?}");
            let whole = if motion == Motion::PullOut { c.end } else { c.start };
            assert!(whole.contains(&SubjectBox::WHOLE, SLACK), "{motion}: starts on the whole photo: {c:?}");
        }
        // A tall product in a landscape frame tilts along it instead.
        let tall = sbox(0.3, 0.2, 0.7, 0.7);
        let c = compose(1000, 1500, &busy(tall), Motion::TiltUp, 1920, 1080);
        check(&c, (1000, 1500), (1920, 1080), &busy(tall), "tall");
        assert_eq!(c.fit, Fit::Pan, "{c:?}");
        assert!(c.end.y0 < c.start.y0 && (c.start.width() - 1.0).abs() < 1e-9, "{c:?}");
    }

    #[test]
    fn a_studio_photo_fills_when_it_can_and_otherwise_shows_whole_on_its_colour() {
        let img = (1600, 1000);
        let small = sbox(0.43, 0.25, 0.57, 0.75);
        for motion in MOTIONS {
            let c = composed(img, &studio(small), motion);
            assert_eq!(c.fit, Fit::Fill, "{motion}: {c:?}");
        }
        let wide = sbox(0.25, 0.3, 0.75, 0.7);
        for motion in MOTIONS {
            let c = composed(img, &studio(wide), motion);
            assert_eq!((c.fit, c.backdrop), (Fit::Backdrop, Backdrop::Colour { rgb: [245, 245, 245] }), "{c:?}");
        }
        // A product just too big for its margin: shown whole, not cropped to the bone.
        let snug = sbox(0.33, 0.1, 0.67, 0.9);
        assert_eq!(composed(img, &studio(snug), Motion::PushIn).fit, Fit::Backdrop);
        // On a busy photo it fits the fill window too snugly to move within it: a short pan along it.
        assert_eq!(composed(img, &busy(snug), Motion::PushIn).fit, Fit::Pan);
    }

    #[test]
    fn every_camera_keeps_its_promises() {
        let photos = [(400, 600), (600, 300), (200, 800), (1080, 1920), (1000, 1000), (3000, 1000), (1600, 1000)];
        let boxes = [
            SubjectBox::WHOLE,
            sbox(0.3, 0.25, 0.7, 0.75),
            sbox(0.0, 0.6, 0.2, 1.0),
            sbox(0.05, 0.02, 0.95, 0.98),
            sbox(0.45, 0.0, 0.55, 1.0),
            sbox(0.0, 0.45, 1.0, 0.55),
            sbox(0.9, 0.9, 0.91, 0.91),
            sbox(0.1, 0.1, 0.6, 0.3),
        ];
        for out in [(1080, 1920), (1920, 1080), (1080, 1080)] {
            for img in photos {
                for subject in boxes {
                    for framing in [busy(subject), studio(subject)] {
                        for motion in MOTIONS {
                            for ms in [2500, 5000, 6000] {
                                let c = compose_for(img.0, img.1, &framing, motion, out.0, out.1, ms);
                                let label = format!("{motion} {img:?} -> {out:?} {ms} ms {framing:?}");
                                let scale = ms as f64 / 5000.0;
                                let (zoom, travel) = amount(&c, img, out);
                                assert!(zoom <= MAX_ZOOM_PER_5S * scale + 1e-6, "{label}: {c:?}");
                                assert!(travel <= MAX_TRAVEL_PER_5S * scale + 1e-6, "{label}: {c:?}");
                                if ms == 5000 {
                                    check(&c, img, out, &framing, &label);
                                }
                                if c.backdrop == Backdrop::Blur {
                                    assert!(!framing.uniform_background, "{label}: a studio photo is never blurred");
                                }
                                if !framing.uniform_background {
                                    assert!(!matches!(c.backdrop, Backdrop::Colour { .. }), "{label}: a band");
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn old_plans_get_a_composed_camera_and_new_ones_keep_theirs() {
        let framing = busy(sbox(0.42, 0.3, 0.58, 0.7));
        let c = planned_or_composed(&Camera::default(), Motion::PushIn, &framing, 1600, 1000, 1080, 1920, 4000);
        assert_eq!(c, compose_for(1600, 1000, &framing, Motion::PushIn, 1080, 1920, 4000));
        assert_eq!(c.fit, Fit::Fill);
        let planned = Camera { end: sbox(0.1, 0.1, 0.3, 0.5), ..c };
        assert_eq!(planned_or_composed(&planned, Motion::PushIn, &framing, 1600, 1000, 1080, 1920, 4000), planned);
        assert_eq!(compose(0, 10, &framing, Motion::PushIn, 1080, 1920), Camera::default());
    }

    #[test]
    fn descriptions_name_the_move_the_framing_and_what_stays_still() {
        let img = (1600, 1000);
        let framing = busy(sbox(0.42, 0.3, 0.58, 0.7));
        let say = |m: Motion, f: &Framing| describe(&compose(img.0, img.1, f, m, 1080, 1920), m);
        let push = say(Motion::PushIn, &framing);
        assert!(push.starts_with("slow camera push-in towards the product"), "{push}");
        assert!(push.contains("the product fills the frame"), "{push}");
        assert!(push.ends_with("the garment's shape, colour and print do not change; no new logos or text"), "{push}");
        assert!(say(Motion::PullOut, &framing).starts_with("slow camera pull-out"));
        assert!(say(Motion::PanRight, &framing).starts_with("slow camera pan from left to right"));
        assert!(say(Motion::PanLeft, &framing).starts_with("slow camera pan from right to left"));
        let tilt = say(Motion::TiltDown, &framing);
        assert!(tilt.contains("top to bottom") || tilt.contains("push-in"), "{tilt}");
        let wider = busy(sbox(0.05, 0.3, 0.95, 0.7));
        assert!(say(Motion::PushIn, &wider).contains("whole product in view over a soft blurred copy"));
        let studio_wide = studio(sbox(0.25, 0.3, 0.75, 0.7));
        assert!(say(Motion::PushIn, &studio_wide).contains("whole product in view on its plain studio background"));
        let held = describe(&Camera::default(), Motion::TiltUp);
        assert!(held.starts_with("slow camera tilt from bottom to top along the product;"), "{held}");
    }
}
