//! The still-motion renderer: a real camera move over one real photo, as one ffmpeg run.
//!
//! The photo is composed *whole* ("fitted", never cropped or stretched) and centred on a canvas
//! of the output's aspect, twice the output size, filled with the photo's own background colour.
//! A virtual camera window (zoom `z ≥ 1`, a centre point) then moves over that canvas with
//! `zoompan`, eased in and out (`e = 0.5 - 0.5·cos(π·on/(N-1))`). Working at 2x keeps the motion
//! smooth (zoompan cuts its window at whole input pixels) and `yuv444p` lets it cut at any pixel.
//!
//! On each axis the window follows one rule: if the photo is no larger than the window there,
//! the window is centred on the photo; otherwise it stays within the photo. So the window never
//! leaves the canvas and no shot shows anything but the photo and its own background colour.
//!
//! | motion | zoom | centre |
//! |---|---|---|
//! | push-in | 1 → `z_max` | photo → subject |
//! | pull-out | `z_max` → 1 | subject → photo (ends on the whole photo) |
//! | pan / tilt | constant, 1.1–1.5 | one edge of the photo → the other |
//! | pan / tilt, photo not overflowing on that axis | 1 → 1.08 | drifts towards that side, as far as the rule allows |
//!
//! `z_max` is the largest zoom ≤ 1.15 at which the subject box plus a 4% margin still fits the
//! window (at least 1.04 while the bare subject fits); photos without a clear subject (busy
//! background) use 1.10 on the centre.

use super::{Framing, Media, MediaError, SubjectBox, file_url};
use crate::Motion;
use std::path::Path;

/// Canvas size over output size.
const OVERSAMPLE: u32 = 2;
/// Highest push-in zoom.
const PUSH_MAX: f64 = 1.15;
/// Push-in zoom on a photo without a clear subject.
const PUSH_NO_SUBJECT: f64 = 1.10;
/// Push-in zoom allowed even when the margin does not fit, as long as the subject does.
const PUSH_MIN: f64 = 1.04;
/// Margin kept around the subject, as a share of the canvas side.
const SUBJECT_MARGIN: f64 = 0.04;
/// Pan/tilt zoom range: how far the photo overflows the window on the moving axis.
const PAN_MIN: f64 = 1.10;
const PAN_MAX: f64 = 1.50;
/// Zoom of the fallback move when a pan/tilt has nothing to travel over.
const DRIFT_ZOOM: f64 = 1.08;
/// A photo's aspect must differ from the output's by this factor to count as wider or taller.
const ASPECT_TOLERANCE: f64 = 1.02;

/// One shot to render: the move, the output and the photo it is made from.
#[derive(Debug, Clone, PartialEq)]
pub struct MotionSpec {
    pub motion: Motion,
    pub duration_ms: u32,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// The photo's pixel size, as decoded (after EXIF orientation).
    pub image_width: u32,
    pub image_height: u32,
    pub framing: Framing,
}

/// The camera window on the canvas (canvas pixels; the canvas is [`MotionSpec::canvas`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

/// A move: zoom and desired centre at the start and the end, eased between.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Move {
    z0: f64,
    z1: f64,
    c0: [f64; 2],
    c1: [f64; 2],
}

impl MotionSpec {
    /// Frames in the clip: `round(duration_ms · fps / 1000)`, at least 1.
    pub fn frames(&self) -> u32 {
        ((self.duration_ms as u64 * self.fps as u64 + 500) / 1000).max(1) as u32
    }

    /// The canvas the camera moves over: the output size times two.
    pub fn canvas(&self) -> (u32, u32) {
        (self.width * OVERSAMPLE, self.height * OVERSAMPLE)
    }

    /// Where the fitted photo sits on the canvas: `[x0, y0, x1, y1]` in canvas pixels
    /// (as ffmpeg's `scale=…:force_original_aspect_ratio=decrease` and centred `pad` place it).
    pub fn photo_rect(&self) -> [f64; 4] {
        let (cw, ch) = self.canvas();
        let (iw, ih) = (self.image_width.max(1) as u64, self.image_height.max(1) as u64);
        let fit_w = ((ch as u64 * iw + ih / 2) / ih).min(cw as u64) as f64;
        let fit_h = ((cw as u64 * ih + iw / 2) / iw).min(ch as u64) as f64;
        let x0 = ((cw as f64 - fit_w) / 2.0).floor();
        let y0 = ((ch as f64 - fit_h) / 2.0).floor();
        [x0, y0, x0 + fit_w, y0 + fit_h]
    }

    /// The subject box on the canvas.
    fn subject_rect(&self) -> [f64; 4] {
        let [x0, y0, x1, y1] = self.photo_rect();
        let s = self.framing.subject;
        let (pw, ph) = (x1 - x0, y1 - y0);
        [x0 + s.x0 * pw, y0 + s.y0 * ph, x0 + s.x1 * pw, y0 + s.y1 * ph]
    }

    fn plan(&self) -> Move {
        let (cw, ch) = self.canvas();
        let (cw, ch) = (cw as f64, ch as f64);
        let [px0, py0, px1, py1] = self.photo_rect();
        let mid = [(px0 + px1) / 2.0, (py0 + py1) / 2.0];
        let out_aspect = self.width as f64 / self.height as f64;
        let img_aspect = self.image_width.max(1) as f64 / self.image_height.max(1) as f64;
        let wider = img_aspect > out_aspect * ASPECT_TOLERANCE;
        let taller = img_aspect < out_aspect / ASPECT_TOLERANCE;
        let (push_z, target) = self.push_target();
        let drift = |edge: [f64; 2]| Move { z0: 1.0, z1: DRIFT_ZOOM, c0: mid, c1: edge };
        let pan = |z: f64, from: [f64; 2], to: [f64; 2]| {
            let z = z.clamp(PAN_MIN, PAN_MAX);
            Move { z0: z, z1: z, c0: from, c1: to }
        };
        let (left, right) = ([px0, mid[1]], [px1, mid[1]]);
        let (top, bottom) = ([mid[0], py0], [mid[0], py1]);
        match self.motion {
            Motion::PushIn => Move { z0: 1.0, z1: push_z, c0: mid, c1: target },
            Motion::PullOut => Move { z0: push_z, z1: 1.0, c0: target, c1: mid },
            Motion::PanRight if wider => pan(ch / (py1 - py0), left, right),
            Motion::PanLeft if wider => pan(ch / (py1 - py0), right, left),
            Motion::TiltDown if taller => pan(cw / (px1 - px0), top, bottom),
            Motion::TiltUp if taller => pan(cw / (px1 - px0), bottom, top),
            Motion::PanRight => drift(right),
            Motion::PanLeft => drift(left),
            Motion::TiltDown => drift(bottom),
            Motion::TiltUp => drift(top),
        }
    }

    /// The push-in's end: the deepest zoom that keeps the subject (and a margin) in view.
    fn push_target(&self) -> (f64, [f64; 2]) {
        let (cw, ch) = self.canvas();
        let (cw, ch) = (cw as f64, ch as f64);
        let [px0, py0, px1, py1] = self.photo_rect();
        let s = self.framing.subject;
        let clear = self.framing.uniform_background && s != SubjectBox::WHOLE && s.width() > 0.0 && s.height() > 0.0;
        if !clear {
            return (PUSH_NO_SUBJECT, [(px0 + px1) / 2.0, (py0 + py1) / 2.0]);
        }
        let [sx0, sy0, sx1, sy1] = self.subject_rect();
        let (sw, sh) = (sx1 - sx0, sy1 - sy0);
        let with_margin = (cw / (sw + 2.0 * SUBJECT_MARGIN * cw)).min(ch / (sh + 2.0 * SUBJECT_MARGIN * ch));
        let bare = (cw / sw).min(ch / sh);
        let z = with_margin.max(bare.min(PUSH_MIN)).clamp(1.0, PUSH_MAX);
        (z, [(sx0 + sx1) / 2.0, (sy0 + sy1) / 2.0])
    }

    /// The window at progress `p` (0 = first frame, 1 = last), as the ffmpeg expressions place it
    /// (before zoompan rounds to whole pixels).
    pub fn window_at(&self, p: f64) -> Window {
        let m = self.plan();
        let e = ease(p.clamp(0.0, 1.0));
        let z = lerp(m.z0, m.z1, e);
        let (cw, ch) = self.canvas();
        let [px0, py0, px1, py1] = self.photo_rect();
        let (w, h) = (cw as f64 / z, ch as f64 / z);
        let axis = |win: f64, p0: f64, p1: f64, c: f64| {
            if win >= p1 - p0 { (p0 + p1) / 2.0 - win / 2.0 } else { (c - win / 2.0).clamp(p0, p1 - win) }
        };
        let x = axis(w, px0, px1, lerp(m.c0[0], m.c1[0], e));
        let y = axis(h, py0, py1, lerp(m.c0[1], m.c1[1], e));
        Window { x, y, w, h }
    }

    /// The filtergraph: fit and pad at 2x, then zoompan down to the output size.
    fn filtergraph(&self) -> String {
        let (cw, ch) = self.canvas();
        let m = self.plan();
        let [px0, py0, px1, py1] = self.photo_rect();
        let n = self.frames();
        let e = format!("(0.5-0.5*cos(PI*on/{}))", (n - 1).max(1));
        // a·(1-e)+b·e is exactly b at the last frame (e = 1), unlike a+(b-a)·e.
        let z = format!("{:.6}*(1-{e})+{:.6}*{e}", m.z0, m.z1);
        let axis = |size: &str, p0: f64, p1: f64, c0: f64, c1: f64| {
            format!(
                "if(gte({size}/zoom,{len:.4}),{mid:.4}-{size}/zoom/2,clip({c0:.4}*(1-{e})+{c1:.4}*{e}-{size}/zoom/2,{p0:.4},{p1:.4}-{size}/zoom))",
                len = p1 - p0,
                mid = (p0 + p1) / 2.0,
            )
        };
        let x = axis("iw", px0, px1, m.c0[0], m.c1[0]);
        let y = axis("ih", py0, py1, m.c0[1], m.c1[1]);
        let [r, g, b] = self.framing.background;
        format!(
            "scale={cw}:{ch}:force_original_aspect_ratio=decrease:flags=lanczos,format=yuv444p,\
             pad={cw}:{ch}:(ow-iw)/2:(oh-ih)/2:color=0x{r:02x}{g:02x}{b:02x},setsar=1,\
             zoompan=z='{z}':x='{x}':y='{y}':d={n}:s={w}x{h}:fps={fps},format=yuv420p",
            w = self.width,
            h = self.height,
            fps = self.fps,
        )
    }

    fn validate(&self) -> Result<(), MediaError> {
        let bad = |why: &str| Err(MediaError::BadInput(format!("still-motion spec {self:?}: {why}")));
        if self.width < 16 || self.height < 16 || self.width % 2 == 1 || self.height % 2 == 1 {
            return bad("the output must be at least 16x16 with even sides");
        }
        if self.width > 4096 || self.height > 4096 {
            return bad("the output may be at most 4096 a side");
        }
        if self.fps == 0 || self.fps > 120 || self.duration_ms == 0 || self.duration_ms > 120_000 {
            return bad("fps must be 1 to 120 and the duration 1 ms to 2 minutes");
        }
        if self.image_width == 0 || self.image_height == 0 {
            return bad("the photo has no pixels");
        }
        Ok(())
    }
}

fn lerp(a: f64, b: f64, e: f64) -> f64 {
    a * (1.0 - e) + b * e
}

fn ease(p: f64) -> f64 {
    0.5 - 0.5 * (std::f64::consts::PI * p).cos()
}

impl Media {
    /// The full ffmpeg argument list (without the binary) that renders `spec` from `photo` to
    /// `out` (written as MP4 whatever its extension).
    pub fn still_motion_args(&self, photo: &Path, spec: &MotionSpec, out: &Path) -> Vec<String> {
        let mut a: Vec<String> = ["-nostdin", "-hide_banner", "-loglevel", "error", "-y"].map(String::from).to_vec();
        // image2pipe reads one file and detects the codec from its bytes: no `%d` patterns.
        a.extend(["-f", "image2pipe", "-i"].map(String::from));
        a.push(file_url(photo));
        a.push("-vf".into());
        a.push(spec.filtergraph());
        a.extend(["-frames:v".into(), spec.frames().to_string(), "-an".into()]);
        a.extend(["-c:v", "libx264", "-preset"].map(String::from));
        a.push(self.x264_preset.clone());
        a.extend(["-crf".into(), self.crf.to_string()]);
        a.extend(["-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4"].map(String::from));
        a.push(file_url(out));
        a
    }

    /// Renders the shot and checks the result has the promised size and frame count.
    pub async fn render_still_motion(&self, photo: &Path, spec: &MotionSpec, out: &Path) -> Result<(), MediaError> {
        spec.validate()?;
        tokio::fs::metadata(photo)
            .await
            .map_err(|e| MediaError::Io { what: format!("reading the photo {}", photo.display()), source: e })?;
        let args = self.still_motion_args(photo, spec, out);
        let what = format!("render a {} shot of {}", spec.motion, photo.display());
        super::run_tool(&self.ffmpeg, &args, &what).await?;
        let p = self.probe(out).await?;
        let v = p.video.as_ref();
        let got = v.map(|v| (v.width, v.height, v.frames));
        let want = (spec.width, spec.height, Some(spec.frames() as u64));
        if got != Some(want) {
            return Err(MediaError::BadOutput(format!(
                "{} should be {}x{} with {} frames, ffprobe says {got:?}",
                out.display(),
                want.0,
                want.1,
                spec.frames()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::testutil::{BLUE, GREEN, RED, WHITE, picture};
    use crate::media::{Probe, analyse};
    use image::RgbImage;
    use std::path::PathBuf;

    const W: u32 = 180;
    const H: u32 = 320;

    fn spec(motion: Motion, img: &RgbImage) -> MotionSpec {
        MotionSpec {
            motion,
            duration_ms: 1000,
            width: W,
            height: H,
            fps: 15,
            image_width: img.width(),
            image_height: img.height(),
            framing: analyse(&image::DynamicImage::ImageRgb8(img.clone())),
        }
    }

    const PORTRAIT_GARMENT: [u32; 4] = [120, 150, 280, 450];
    const TALL_GARMENT: [u32; 4] = [40, 200, 160, 600];

    /// Portrait studio photo: a red garment in the middle of white.
    fn portrait() -> RgbImage {
        let [x0, y0, x1, y1] = PORTRAIT_GARMENT;
        picture(400, 600, WHITE, &[(x0, y0, x1, y1, RED)])
    }
    /// Landscape: a blue marker at the left end, the red garment, a green marker at the right end.
    fn landscape() -> RgbImage {
        picture(600, 300, WHITE, &[(10, 100, 60, 200, BLUE), (150, 75, 450, 225, RED), (540, 100, 590, 200, GREEN)])
    }
    /// Very tall: blue at the top, red garment, green at the bottom.
    fn tall() -> RgbImage {
        let [x0, y0, x1, y1] = TALL_GARMENT;
        picture(200, 800, WHITE, &[(50, 10, 150, 60, BLUE), (x0, y0, x1, y1, RED), (50, 740, 150, 790, GREEN)])
    }

    struct Rendered {
        _dir: tempfile::TempDir,
        first: RgbImage,
        last: RgbImage,
        probe: Probe,
    }

    async fn render(spec: &MotionSpec, img: &RgbImage) -> Rendered {
        let dir = tempfile::tempdir().unwrap();
        let photo = dir.path().join("photo.png");
        img.save(&photo).unwrap();
        let out = dir.path().join("clip.mp4");
        let m = Media::default();
        m.render_still_motion(&photo, spec, &out).await.unwrap();
        let probe = m.probe(&out).await.unwrap();
        let frame = |at: u32, name: &str| {
            let png: PathBuf = dir.path().join(name);
            let m = m.clone();
            let out = out.clone();
            async move {
                m.extract_frame(&out, at, &png).await.unwrap();
                image::open(&png).unwrap().to_rgb8()
            }
        };
        let last_ms = (spec.frames() - 1) * 1000 / spec.fps;
        let first = frame(0, "first.png").await;
        let last = frame(last_ms, "last.png").await;
        Rendered { _dir: dir, first, last, probe }
    }

    /// Bounding box `[x0, y0, x1, y1]` (inclusive) of pixels close to `c`, if there are enough.
    fn find(img: &RgbImage, c: [u8; 3]) -> Option<[u32; 4]> {
        let mut b = [u32::MAX, u32::MAX, 0, 0];
        let mut n = 0;
        for (x, y, p) in img.enumerate_pixels() {
            if (0..3).all(|i| p.0[i].abs_diff(c[i]) < 70) {
                n += 1;
                b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
            }
        }
        (n >= 6).then_some(b)
    }

    /// Where a canvas-pixel rectangle appears in the output frame through `w`.
    fn through(spec: &MotionSpec, w: Window, r: [f64; 4]) -> [f64; 4] {
        let sx = spec.width as f64 / w.w;
        let sy = spec.height as f64 / w.h;
        [(r[0] - w.x) * sx, (r[1] - w.y) * sy, (r[2] - w.x) * sx, (r[3] - w.y) * sy]
    }

    /// The garment (red, at `garment` in photo pixels) is wholly in the frame, where the window
    /// model says, and not cut off.
    fn garment_whole(spec: &MotionSpec, frame: &RgbImage, w: Window, garment: [u32; 4], label: &str) {
        let seen = find(frame, RED).unwrap_or_else(|| panic!("{label}: no garment in the frame"));
        let [px0, py0, px1, py1] = spec.photo_rect();
        let (sx, sy) = ((px1 - px0) / spec.image_width as f64, (py1 - py0) / spec.image_height as f64);
        let on_canvas = [
            px0 + garment[0] as f64 * sx,
            py0 + garment[1] as f64 * sy,
            px0 + garment[2] as f64 * sx,
            py0 + garment[3] as f64 * sy,
        ];
        let want = through(spec, w, on_canvas);
        let got = [seen[0] as f64, seen[1] as f64, seen[2] as f64 + 1.0, seen[3] as f64 + 1.0];
        for i in 0..4 {
            assert!((got[i] - want[i]).abs() <= 3.0, "{label}: garment at {got:?}, expected {want:?}");
        }
        assert!(seen[0] > 0 && seen[1] > 0 && seen[2] < W - 1 && seen[3] < H - 1, "{label}: garment cut off: {seen:?}");
        // Just outside the garment is the photo's white background.
        let (cx, cy) = ((seen[0] + seen[2]) / 2, (seen[1] + seen[3]) / 2);
        for (x, y) in [(seen[0].saturating_sub(3), cy), (cx, seen[3] + 3)] {
            let p = frame.get_pixel(x.min(W - 1), y.min(H - 1)).0;
            assert!(p.iter().all(|&c| c > 200), "{label}: expected white at {x},{y}, got {p:?}");
        }
    }

    fn check_clip(spec: &MotionSpec, r: &Rendered) {
        let v = r.probe.video.as_ref().unwrap();
        assert_eq!((v.codec.as_str(), v.pix_fmt.as_str()), ("h264", "yuv420p"));
        assert_eq!((v.width, v.height, v.frames), (spec.width, spec.height, Some(spec.frames() as u64)));
        assert!((v.fps - spec.fps as f64).abs() < 1e-6, "{v:?}");
        assert!(r.probe.audio.is_none() && r.probe.faststart, "{:?}", r.probe);
    }

    #[tokio::test]
    async fn push_in_keeps_the_whole_garment_in_the_first_and_last_frame() {
        let img = portrait();
        let s = spec(Motion::PushIn, &img);
        let r = render(&s, &img).await;
        check_clip(&s, &r);
        garment_whole(&s, &r.first, s.window_at(0.0), PORTRAIT_GARMENT, "first");
        garment_whole(&s, &r.last, s.window_at(1.0), PORTRAIT_GARMENT, "last");
        let (first, last) = (find(&r.first, RED).unwrap(), find(&r.last, RED).unwrap());
        assert!(last[2] - last[0] > first[2] - first[0] + 10, "the garment grows: {first:?} → {last:?}");
    }

    #[tokio::test]
    async fn pull_out_ends_on_the_whole_photo() {
        let img = portrait();
        let s = spec(Motion::PullOut, &img);
        let r = render(&s, &img).await;
        check_clip(&s, &r);
        garment_whole(&s, &r.first, s.window_at(0.0), PORTRAIT_GARMENT, "first");
        garment_whole(&s, &r.last, s.window_at(1.0), PORTRAIT_GARMENT, "last");
        let w = s.window_at(1.0);
        assert_eq!((w.x, w.y, w.w, w.h), (0.0, 0.0, (2 * W) as f64, (2 * H) as f64));
    }

    #[tokio::test]
    async fn pans_travel_from_one_end_of_a_wide_photo_to_the_other() {
        let img = landscape();
        for (motion, start, end) in [(Motion::PanRight, BLUE, GREEN), (Motion::PanLeft, GREEN, BLUE)] {
            let s = spec(motion, &img);
            let r = render(&s, &img).await;
            check_clip(&s, &r);
            assert!(find(&r.first, start).is_some() && find(&r.first, end).is_none(), "{motion}: first frame");
            assert!(find(&r.last, end).is_some() && find(&r.last, start).is_none(), "{motion}: last frame");
            assert!(find(&r.first, RED).is_some() && find(&r.last, RED).is_some(), "{motion}: garment");
        }
    }

    #[tokio::test]
    async fn tilts_travel_along_a_tall_photo() {
        let img = tall();
        for (motion, start, end) in [(Motion::TiltDown, BLUE, GREEN), (Motion::TiltUp, GREEN, BLUE)] {
            let s = spec(motion, &img);
            let r = render(&s, &img).await;
            check_clip(&s, &r);
            assert!(find(&r.first, start).is_some() && find(&r.first, end).is_none(), "{motion}: first frame");
            assert!(find(&r.last, end).is_some() && find(&r.last, start).is_none(), "{motion}: last frame");
        }
    }

    #[tokio::test]
    async fn a_pan_over_a_tall_photo_falls_back_to_a_gentle_zoom() {
        let img = tall();
        let s = spec(Motion::PanLeft, &img);
        let r = render(&s, &img).await;
        check_clip(&s, &r);
        for c in [BLUE, RED, GREEN] {
            assert!(find(&r.first, c).is_some(), "the first frame shows the whole photo");
        }
        garment_whole(&s, &r.last, s.window_at(1.0), TALL_GARMENT, "last");
    }

    #[tokio::test]
    async fn renders_full_size() {
        let img = portrait();
        let s = MotionSpec { width: 1080, height: 1920, fps: 30, duration_ms: 1000, ..spec(Motion::PushIn, &img) };
        let dir = tempfile::tempdir().unwrap();
        let photo = dir.path().join("photo.png");
        img.save(&photo).unwrap();
        let out = dir.path().join("full.mp4");
        let m = Media::default();
        m.render_still_motion(&photo, &s, &out).await.unwrap();
        let v = m.probe(&out).await.unwrap().video.unwrap();
        assert_eq!((v.width, v.height, v.frames, v.codec.as_str()), (1080, 1920, Some(30), "h264"));
    }

    /// `cargo test -p truereel bench_full_size -- --ignored --nocapture`: times a 4 s 1080x1920
    /// push-in over a 1200x1800 JPEG, a studio shot (textured garment on white) and a busy
    /// full-bleed one (texture everywhere, the worst case for the encoder).
    #[tokio::test]
    #[ignore = "a timing benchmark (~10 s of CPU), run by hand"]
    async fn bench_full_size_push_in_4s() {
        for studio in [true, false] {
            let img = RgbImage::from_fn(1200, 1800, |x, y| {
                let inside = !studio || ((300..900).contains(&x) && (400..1500).contains(&y));
                let n = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)).wrapping_mul(2_246_822_519) >> 24;
                if inside {
                    image::Rgb([120 + (n % 60) as u8, 40 + (n % 30) as u8, 50 + (y / 20) as u8])
                } else {
                    image::Rgb(WHITE)
                }
            });
            let dir = tempfile::tempdir().unwrap();
            let photo = dir.path().join("photo.jpg");
            img.save(&photo).unwrap();
            let s = MotionSpec { width: 1080, height: 1920, fps: 30, duration_ms: 4000, ..spec(Motion::PushIn, &img) };
            let out = dir.path().join("bench.mp4");
            let m = crate::config::Config::from_env().unwrap().media;
            let started = std::time::Instant::now();
            m.render_still_motion(&photo, &s, &out).await.unwrap();
            let took = started.elapsed();
            let bytes = std::fs::metadata(&out).unwrap().len();
            let kind = if studio { "studio" } else { "busy" };
            eprintln!(
                "{kind}: 1080x1920 4 s push-in, {} frames, {} crf {}: {took:.2?}, {bytes} bytes",
                s.frames(),
                m.x264_preset,
                m.crf
            );
        }
    }

    #[tokio::test]
    async fn a_photo_that_is_not_an_image_fails_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let photo = dir.path().join("photo %d.jpg");
        std::fs::write(&photo, b"not a jpeg").unwrap();
        let s = spec(Motion::PushIn, &portrait());
        let e = Media::default().render_still_motion(&photo, &s, &dir.path().join("o.mp4")).await.unwrap_err();
        assert!(matches!(e, MediaError::Failed { .. }) && e.to_string().contains("photo %d.jpg"), "{e}");
        let odd = MotionSpec { width: 181, ..s };
        let e = Media::default().render_still_motion(&photo, &odd, &dir.path().join("o.mp4")).await.unwrap_err();
        assert!(matches!(e, MediaError::BadInput(_)), "{e:?}");
    }

    #[test]
    fn windows_never_leave_the_canvas_and_push_ins_keep_the_subject() {
        let photos = [(400, 600), (600, 300), (200, 800), (1080, 1920), (1000, 1000), (3000, 1000)];
        let subjects = [
            SubjectBox::WHOLE,
            SubjectBox { x0: 0.3, y0: 0.25, x1: 0.7, y1: 0.75 },
            SubjectBox { x0: 0.0, y0: 0.6, x1: 0.2, y1: 1.0 },
            SubjectBox { x0: 0.05, y0: 0.02, x1: 0.95, y1: 0.98 },
        ];
        let motions =
            [Motion::PushIn, Motion::PullOut, Motion::PanLeft, Motion::PanRight, Motion::TiltUp, Motion::TiltDown];
        for (iw, ih) in photos {
            for subject in subjects {
                for motion in motions {
                    let s = MotionSpec {
                        motion,
                        duration_ms: 3000,
                        width: 1080,
                        height: 1920,
                        fps: 30,
                        image_width: iw,
                        image_height: ih,
                        framing: Framing { background: WHITE, subject, uniform_background: true },
                    };
                    let (cw, ch) = s.canvas();
                    let [px0, py0, px1, py1] = s.photo_rect();
                    for i in 0..=20 {
                        let w = s.window_at(i as f64 / 20.0);
                        let label = format!("{motion} {iw}x{ih} {subject:?} step {i}: {w:?}");
                        assert!(w.w <= cw as f64 + 1e-9 && w.h <= ch as f64 + 1e-9, "zoom below 1: {label}");
                        assert!(w.x >= -1e-9 && w.y >= -1e-9, "{label}");
                        assert!(w.x + w.w <= cw as f64 + 1e-6 && w.y + w.h <= ch as f64 + 1e-6, "{label}");
                        // Where the photo is smaller than the window, the window is centred on it.
                        if w.w >= px1 - px0 {
                            assert!((w.x + w.w / 2.0 - (px0 + px1) / 2.0).abs() < 1e-6, "{label}");
                        }
                        if w.h >= py1 - py0 {
                            assert!((w.y + w.h / 2.0 - (py0 + py1) / 2.0).abs() < 1e-6, "{label}");
                        }
                    }
                    if matches!(motion, Motion::PushIn | Motion::PullOut) {
                        let [sx0, sy0, sx1, sy1] = s.subject_rect();
                        for p in [0.0, 0.5, 1.0] {
                            let w = s.window_at(p);
                            let inside = sx0 >= w.x - 1e-6
                                && sy0 >= w.y - 1e-6
                                && sx1 <= w.x + w.w + 1e-6
                                && sy1 <= w.y + w.h + 1e-6;
                            assert!(
                                subject == SubjectBox::WHOLE || inside,
                                "{motion} {iw}x{ih} {subject:?} at {p}: {w:?}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn push_in_depth_follows_the_subject() {
        let base = spec(Motion::PushIn, &portrait());
        let zoom_end = |s: &MotionSpec| (2 * s.width) as f64 / s.window_at(1.0).w;
        assert!((zoom_end(&base) - PUSH_MAX).abs() < 1e-9, "a small garment allows the full push");
        let busy = MotionSpec { framing: Framing { uniform_background: false, ..base.framing }, ..base.clone() };
        assert!((zoom_end(&busy) - PUSH_NO_SUBJECT).abs() < 1e-9);
        let big = SubjectBox { x0: 0.02, y0: 0.05, x1: 0.98, y1: 0.95 };
        let filling = MotionSpec { framing: Framing { subject: big, ..base.framing }, ..base.clone() };
        let z = zoom_end(&filling);
        assert!((1.0..PUSH_MIN + 1e-9).contains(&z), "{z}");
        assert_eq!(base.frames(), 15);
        assert_eq!(MotionSpec { duration_ms: 2033, fps: 30, ..base }.frames(), 61);
    }

    #[test]
    fn the_command_is_complete_and_quoted() {
        let s = spec(Motion::PanRight, &landscape());
        let a = Media::default().still_motion_args(Path::new("/p/-photo.jpg"), &s, Path::new("/o/x.mp4.partial"));
        assert!(a.windows(2).any(|w| w == ["-i", "file:/p/-photo.jpg"]), "{a:?}");
        assert!(a.windows(2).any(|w| w == ["-frames:v", "15"]), "{a:?}");
        assert!(a.windows(2).any(|w| w == ["-movflags", "+faststart"]), "{a:?}");
        assert_eq!(a.last().unwrap(), "file:/o/x.mp4.partial");
        let vf = &a[a.iter().position(|x| x == "-vf").unwrap() + 1];
        assert!(
            vf.contains("zoompan=z='") && vf.contains(":s=180x320:fps=15") && vf.contains("color=0xffffff"),
            "{vf}"
        );
    }
}
