//! The still-motion renderer: carries out a shot's [`Camera`] over one real photo, as one ffmpeg run.
//!
//! Frame `i` of `n` shows exactly the camera's window at `p = i/(n-1)` ([`Camera::window_at`],
//! eased in and out), scaled to the output size. The windows come from the plan
//! ([`super::camera::compose`] decides them); the renderer only carries them out:
//!
//! 1. The part of the photo the shot can show (the bounding box of the first and last windows,
//!    widened to the output's aspect) is cropped and scaled once onto a *canvas*: big enough that
//!    the largest window is twice the output size, in `yuv420p`. `zoompan` cuts each frame's
//!    window out of the canvas at whole canvas pixels of luma, so at 2x the window moves in steps
//!    of half an output pixel (smooth, no stepping jitter). The canvas's chroma is at the output's
//!    luma resolution, twice the output's own: `yuv444p` would show nothing more and doubles the
//!    cost of every frame (measured: 1.37 s against 0.63 s of filtering for a 3.4 s shot).
//! 2. What lies outside the photo on the canvas is filled by the camera's backdrop:
//!
//! | backdrop | outside the photo |
//! |---|---|
//! | [`Backdrop::None`] | never shown: every window is clamped inside the photo's pixels on the canvas (no padding in any frame) |
//! | [`Backdrop::Colour`] | that colour (a studio photo's own background) |
//! | [`Backdrop::Blur`] | the photo scaled to cover the canvas at 1/8 size, box-blurred, darkened to 70 %, scaled back up |
//!
//! 3. `zoompan` moves the window (`zoom = canvas width / window width`, left and top edges eased
//!    as the camera eases them) and scales it down to the output.
//!
//! In a reel the frames go straight into the assembly's encode ([`super::feed`],
//! [`Media::still_motion_raw_args`]): no intermediate clip. [`Media::render_still_motion`] writes a
//! shot to a file of its own (to look at one shot alone), encoded with [`CLIP_PRESET`] at
//! [`CLIP_CRF`], cheap to write and closer to the photo than a reel's encode.
//!
//! A window whose aspect is not the output's is widened around its centre until it is (so nothing
//! the plan meant to show is cut). A camera without a backdrop whose windows leave the photo
//! (which the plan never makes) is rendered over the blurred backdrop rather than over bands.

use super::Media;
use super::{MediaError, file_url};
use crate::{Backdrop, Camera, SubjectBox};
use std::path::Path;

/// The x264 preset of a shot rendered to a file of its own.
pub const CLIP_PRESET: &str = "ultrafast";
/// The x264 CRF of a rendered clip.
pub const CLIP_CRF: u8 = 16;
/// The largest window on the canvas, over the output size.
const OVERSAMPLE: f64 = 2.0;
/// The canvas is at most this many pixels a side (the oversampling gives way first).
const MAX_CANVAS_SIDE: u32 = 8192;
/// The blurred backdrop is made at this fraction of the canvas size.
const BLUR_SHRINK: u32 = 8;
/// Its darkening: luma above black is scaled by this.
const BLUR_DARKEN: f64 = 0.7;
/// A window without a backdrop may leave the photo by this much (rounding) before it needs one.
const INSIDE_SLACK: f64 = 1e-3;

/// The content type of a stored [`Recipe`].
pub const RECIPE_TYPE: &str = "application/vnd.truereel.still-motion+json";
/// The folders a recipe's photo may be in: the store's reference photos, and the renderer's own
/// normalised copies of them.
const RECIPE_PHOTOS: [&str; 2] = ["references/", "provider/still-motion/"];

/// A still-motion clip as stored: the photo to render from and how. Assembly renders it into the
/// reel ([`super::feed`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Recipe {
    /// The photo in the blob store.
    pub photo: crate::BlobKey,
    pub spec: MotionSpec,
}

impl Recipe {
    /// A recipe from stored bytes, checked: it parses, it can be rendered, and its photo is a
    /// reference photo or the renderer's copy of one (nothing else in the store is read for it).
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let recipe: Recipe = serde_json::from_slice(bytes).map_err(|e| format!("not a still-motion recipe: {e}"))?;
        recipe.spec.validate().map_err(|e| e.to_string())?;
        let p = recipe.photo.as_str();
        let inside = RECIPE_PHOTOS.iter().any(|f| p.strip_prefix(f).is_some_and(|name| !name.contains('/')));
        if !inside {
            return Err(format!("the recipe's photo {p} is not a reference photo"));
        }
        Ok(recipe)
    }
}

/// One shot to render: the camera, the output and the photo's size.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MotionSpec {
    /// The windows to show and what fills the frame outside the photo.
    pub camera: Camera,
    pub duration_ms: u32,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// The photo's pixel size, as decoded (after EXIF orientation).
    pub image_width: u32,
    pub image_height: u32,
}

/// The canvas the windows are cut from: its size and where the photo lies on it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Canvas {
    pub width: u32,
    pub height: u32,
    /// The photo's pixels on the canvas: `[x, y, width, height]` in photo pixels.
    pub crop: [u32; 4],
    /// Where those pixels lie on the canvas, scaled: `[x0, y0, x1, y1]` in canvas pixels.
    pub photo: [u32; 4],
    /// What fills the canvas outside the photo.
    pub backdrop: Backdrop,
    /// The first and last windows as rendered (aspect corrected), normalised photo coordinates.
    pub start: SubjectBox,
    pub end: SubjectBox,
}

impl Canvas {
    /// A normalised photo x coordinate in canvas pixels.
    fn x(&self, u: f64, image_w: u32) -> f64 {
        let [cx, _, cw, _] = self.crop;
        self.photo[0] as f64 + (u * image_w as f64 - cx as f64) * (self.photo[2] - self.photo[0]) as f64 / cw as f64
    }

    /// A normalised photo y coordinate in canvas pixels.
    fn y(&self, v: f64, image_h: u32) -> f64 {
        let [_, cy, _, ch] = self.crop;
        self.photo[1] as f64 + (v * image_h as f64 - cy as f64) * (self.photo[3] - self.photo[1]) as f64 / ch as f64
    }
}

impl MotionSpec {
    /// Frames in the clip: `round(duration_ms · fps / 1000)`, at least 1.
    pub fn frames(&self) -> u32 {
        ((self.duration_ms as u64 * self.fps as u64 + 500) / 1000).max(1) as u32
    }

    /// `w` widened (or heightened) around its centre to the output's aspect in photo pixels.
    fn to_aspect(&self, w: SubjectBox) -> SubjectBox {
        let (iw, ih) = (self.image_width as f64, self.image_height as f64);
        let want = self.width as f64 / self.height as f64;
        let (mut ww, mut wh) = (w.width() * iw, w.height() * ih);
        if ww / wh < want {
            ww = wh * want;
        } else {
            wh = ww / want;
        }
        let (cx, cy) = ((w.x0 + w.x1) / 2.0, (w.y0 + w.y1) / 2.0);
        let (hw, hh) = (ww / iw / 2.0, wh / ih / 2.0);
        SubjectBox { x0: cx - hw, y0: cy - hh, x1: cx + hw, y1: cy + hh }
    }

    /// Where the canvas lies and what it holds (see the module documentation).
    pub fn canvas(&self) -> Canvas {
        let (start, end) = (self.to_aspect(self.camera.start), self.to_aspect(self.camera.end));
        let inside = |w: &SubjectBox| SubjectBox::WHOLE.contains(w, INSIDE_SLACK);
        let backdrop = match self.camera.backdrop {
            Backdrop::None if !(inside(&start) && inside(&end)) => Backdrop::Blur,
            b => b,
        };
        let (iw, ih) = (self.image_width as f64, self.image_height as f64);
        let aspect = self.width as f64 / self.height as f64;
        // The windows' bounding box in photo pixels, widened to the output's aspect.
        let (ux0, uy0) = (start.x0.min(end.x0) * iw, start.y0.min(end.y0) * ih);
        let (ux1, uy1) = (start.x1.max(end.x1) * iw, start.y1.max(end.y1) * ih);
        let (mut cw, mut ch) = (ux1 - ux0, uy1 - uy0);
        if cw / ch < aspect {
            cw = ch * aspect;
        } else {
            ch = cw / aspect;
        }
        // Canvas pixels: a whole number of output-aspect units, the largest window at 2x, one photo
        // pixel to spare on every side so the photo's whole pixels under the windows fit on it.
        let g = gcd(self.width, self.height);
        let (unit_w, unit_h) = (self.width / g, self.height / g);
        let largest = start.width().max(end.width()) * iw;
        let need = (cw + 2.0).max((ch + 2.0) * aspect);
        let mut s = OVERSAMPLE * self.width as f64 / largest;
        let most = (MAX_CANVAS_SIDE / unit_w.max(unit_h)).max(1);
        let k = ((need * s / unit_w as f64 - 1e-6).ceil() as u32).clamp(1, most);
        let (canvas_w, canvas_h) = (k * unit_w, k * unit_h);
        s = s.min(canvas_w as f64 / need);
        // The canvas's top left corner, in photo pixels: the windows' box centred on it.
        let (ox, oy) = ((ux0 + ux1) / 2.0 - canvas_w as f64 / s / 2.0, (uy0 + uy1) / 2.0 - canvas_h as f64 / s / 2.0);
        // The photo's whole pixels under the windows' box (at least one), and where they land.
        let span = |lo: f64, hi: f64, size: u32| {
            let a = (lo.max(0.0).floor() as u32).min(size - 1);
            let b = (hi.min(size as f64).ceil() as u32).clamp(a + 1, size);
            (a, b)
        };
        let (cx0, cx1) = span((ux0 + ux1 - cw) / 2.0, (ux0 + ux1 + cw) / 2.0, self.image_width);
        let (cy0, cy1) = span((uy0 + uy1 - ch) / 2.0, (uy0 + uy1 + ch) / 2.0, self.image_height);
        let place = |a: u32, b: u32, o: f64, size: u32| {
            let p0 = (((a as f64 - o) * s).round().max(0.0) as u32).min(size - 1);
            let p1 = (p0 + (((b - a) as f64 * s).round() as u32).max(1)).min(size);
            (p0, p1)
        };
        let (px0, px1) = place(cx0, cx1, ox, canvas_w);
        let (py0, py1) = place(cy0, cy1, oy, canvas_h);
        Canvas {
            width: canvas_w,
            height: canvas_h,
            crop: [cx0, cy0, cx1 - cx0, cy1 - cy0],
            photo: [px0, py0, px1, py1],
            backdrop,
            start,
            end,
        }
    }

    /// The filtergraph: crop and scale the photo onto the canvas over its backdrop, then zoompan
    /// down to the output size.
    fn filtergraph(&self) -> String {
        let c = self.canvas();
        let (iw, ih) = (self.image_width, self.image_height);
        let n = self.frames();
        let e = format!("(0.5-0.5*cos(PI*on/{}))", (n - 1).max(1));
        // a·(1-e)+b·e is exactly b at the last frame (e = 1), unlike a+(b-a)·e.
        let lerp = |a: f64, b: f64| format!("({a:.4}*(1-{e})+{b:.4}*{e})");
        let width = |w: &SubjectBox| c.x(w.x1, iw) - c.x(w.x0, iw);
        let zoom = format!("{}/{}", c.width, lerp(width(&c.start), width(&c.end)));
        let mut x = lerp(c.x(c.start.x0, iw), c.x(c.end.x0, iw));
        let mut y = lerp(c.y(c.start.y0, ih), c.y(c.end.y0, ih));
        let [px0, py0, px1, py1] = c.photo;
        if c.backdrop == Backdrop::None {
            // zoompan truncates the window's edges and size to whole pixels: clamping the exact
            // edges within the photo's whole-pixel span keeps every window on the photo.
            x = format!("clip({x},{px0},max({px0},{px1}-iw/zoom))");
            y = format!("clip({y},{py0},max({py0},{py1}-ih/zoom))");
        }
        let [cx, cy, cw, ch] = c.crop;
        let photo = format!(
            "crop={cw}:{ch}:{cx}:{cy}:exact=1,scale={}:{}:flags=lanczos,format=yuv420p,setsar=1",
            px1 - px0,
            py1 - py0
        );
        let zoompan = format!(
            "zoompan=z='{zoom}':x='{x}':y='{y}':d={n}:s={w}x{h}:fps={fps},format=yuv420p",
            w = self.width,
            h = self.height,
            fps = self.fps,
        );
        let (canvas_w, canvas_h) = (c.width, c.height);
        match c.backdrop {
            Backdrop::None | Backdrop::Colour { .. } => {
                let [r, g, b] = match c.backdrop {
                    Backdrop::Colour { rgb } => rgb,
                    _ => [128, 128, 128],
                };
                format!("{photo},pad={canvas_w}:{canvas_h}:{px0}:{py0}:color=0x{r:02x}{g:02x}{b:02x},{zoompan}")
            }
            Backdrop::Blur => {
                let (bw, bh) = (canvas_w.div_ceil(BLUR_SHRINK).max(16), canvas_h.div_ceil(BLUR_SHRINK).max(16));
                let radius = (bw.min(bh) / 16).max(2);
                format!(
                    "split[photo][copy];\
                     [copy]scale={bw}:{bh}:force_original_aspect_ratio=increase:flags=bilinear,crop={bw}:{bh},\
                     format=yuv420p,boxblur={radius}:2,lutyuv=y=16+(val-16)*{BLUR_DARKEN},\
                     scale={canvas_w}:{canvas_h}:flags=bicubic,setsar=1[under];\
                     [photo]{photo}[over];[under][over]overlay={px0}:{py0}:format=yuv420,{zoompan}"
                )
            }
        }
    }

    /// Checks the spec can be rendered: an even output size up to 4096 a side, a sane rate and
    /// length, a photo with pixels, and windows that show some of it.
    pub fn validate(&self) -> Result<(), MediaError> {
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
        for w in [self.camera.start, self.camera.end] {
            let coords = [w.x0, w.y0, w.x1, w.y1];
            if !coords.iter().all(|v| v.is_finite() && (-10.0..=11.0).contains(v)) {
                return bad("the camera's windows must lie within ten photo sizes of it");
            }
            if w.width() < 1e-3 || w.height() < 1e-3 {
                return bad("the camera's windows must have a size");
            }
            if w.x1 <= 0.0 || w.y1 <= 0.0 || w.x0 >= 1.0 || w.y0 >= 1.0 {
                return bad("the camera's windows must show some of the photo");
            }
        }
        Ok(())
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a.max(1) } else { gcd(b, a % b) }
}

impl Media {
    /// The ffmpeg arguments that read `photo` and carry out `spec`'s camera, up to the output.
    fn still_motion_input(photo: &Path, spec: &MotionSpec) -> Vec<String> {
        let mut a: Vec<String> = ["-nostdin", "-hide_banner", "-loglevel", "error", "-y"].map(String::from).to_vec();
        // image2pipe reads one file and detects the codec from its bytes: no `%d` patterns.
        a.extend(["-f", "image2pipe", "-i"].map(String::from));
        a.push(file_url(photo));
        a.push("-vf".into());
        a.push(spec.filtergraph());
        a.extend(["-frames:v".into(), spec.frames().to_string(), "-an".into()]);
        a
    }

    /// The full ffmpeg argument list (without the binary) that renders `spec` from `photo` to
    /// `out` (written as MP4 whatever its extension).
    pub fn still_motion_args(&self, photo: &Path, spec: &MotionSpec, out: &Path) -> Vec<String> {
        let mut a = Self::still_motion_input(photo, spec);
        a.extend(["-c:v", "libx264", "-preset", CLIP_PRESET, "-crf"].map(String::from));
        a.push(CLIP_CRF.to_string());
        a.extend(["-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4"].map(String::from));
        a.push(file_url(out));
        a
    }

    /// The ffmpeg arguments that render `spec` from `photo` as raw `yuv420p` frames on standard
    /// output: exactly [`MotionSpec::frames`] frames of `width`x`height`, nothing else.
    pub fn still_motion_raw_args(&self, photo: &Path, spec: &MotionSpec) -> Vec<String> {
        let mut a = Self::still_motion_input(photo, spec);
        a.extend(["-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1"].map(String::from));
        a
    }

    /// Renders the shot and checks the result has the promised size and frame count.
    pub async fn render_still_motion(&self, photo: &Path, spec: &MotionSpec, out: &Path) -> Result<(), MediaError> {
        spec.validate()?;
        tokio::fs::metadata(photo)
            .await
            .map_err(|e| MediaError::Io { what: format!("reading the photo {}", photo.display()), source: e })?;
        if spec.camera.backdrop == Backdrop::None && spec.canvas().backdrop != Backdrop::None {
            tracing::warn!(camera = ?spec.camera, "a camera without a backdrop leaves the photo: rendered over a blur");
        }
        let args = self.still_motion_args(photo, spec, out);
        let what = format!("render a {:?} shot of {}", spec.camera.fit, photo.display());
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
    use crate::media::camera::{compose, compose_for};
    use crate::media::testutil::{GREEN, RED, WHITE, picture};
    use crate::media::{Framing, analyse};
    use crate::{Fit, Motion};
    use image::{Rgb, RgbImage};

    const W: u32 = 180;
    const H: u32 = 320;
    const MOTIONS: [Motion; 6] =
        [Motion::PushIn, Motion::PullOut, Motion::PanLeft, Motion::PanRight, Motion::TiltUp, Motion::TiltDown];

    fn spec(camera: Camera, img: &RgbImage) -> MotionSpec {
        MotionSpec {
            camera,
            duration_ms: 1000,
            width: W,
            height: H,
            fps: 15,
            image_width: img.width(),
            image_height: img.height(),
        }
    }

    fn busy(subject: SubjectBox) -> Framing {
        Framing { background: [80, 110, 170], subject, uniform_background: false }
    }

    /// A busy photo: colour gradients, long waves and 12-pixel blocks of noise (blue-green, never
    /// near red), and
    /// a red product at `product` (photo pixels, exclusive ends).
    fn busy_photo(w: u32, h: u32, product: [u32; 4]) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let [x0, y0, x1, y1] = product;
            if (x0..x1).contains(&x) && (y0..y1).contains(&y) {
                return Rgb(RED);
            }
            let (bx, by) = (x / 12, y / 12);
            let n =
                ((bx.wrapping_mul(2_654_435_761) ^ by.wrapping_mul(40_503)).wrapping_mul(2_246_822_519) >> 26) as u8;
            // Long diagonal waves: structure that survives the backdrop's blur.
            let wave = (40.0 + 40.0 * (x as f64 / 50.0 + y as f64 / 70.0).sin()) as u8;
            Rgb([20 + (100 * x / w) as u8 + n / 2, 60 + (80 * y / h) as u8 + n / 2 + wave, 140 + n])
        })
    }

    /// The product's box in normalised coordinates.
    fn normalised(product: [u32; 4], img: &RgbImage) -> SubjectBox {
        let (w, h) = (img.width() as f64, img.height() as f64);
        SubjectBox {
            x0: product[0] as f64 / w,
            y0: product[1] as f64 / h,
            x1: product[2] as f64 / w,
            y1: product[3] as f64 / h,
        }
    }

    /// Renders `spec` and decodes every frame.
    async fn render(spec: &MotionSpec, img: &RgbImage) -> Vec<RgbImage> {
        let dir = tempfile::tempdir().unwrap();
        let photo = dir.path().join("photo.png");
        img.save(&photo).unwrap();
        let out = dir.path().join("clip.mp4");
        let m = Media::default();
        m.render_still_motion(&photo, spec, &out).await.unwrap();
        let v = m.probe(&out).await.unwrap();
        let video = v.video.as_ref().unwrap();
        assert_eq!((video.codec.as_str(), video.pix_fmt.as_str()), ("h264", "yuv420p"));
        assert_eq!((video.width, video.height, video.frames), (spec.width, spec.height, Some(spec.frames() as u64)));
        assert!((video.fps - spec.fps as f64).abs() < 1e-6 && v.audio.is_none() && v.faststart, "{v:?}");
        let args: Vec<String> =
            ["-i", &file_url(&out), "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"].map(String::from).to_vec();
        let raw = m.ffmpeg(&args, "decode a test clip").await.unwrap().stdout;
        let size = (spec.width * spec.height * 3) as usize;
        assert_eq!(raw.len(), size * spec.frames() as usize);
        raw.chunks(size).map(|f| RgbImage::from_raw(spec.width, spec.height, f.to_vec()).unwrap()).collect()
    }

    fn is_red(p: &Rgb<u8>) -> bool {
        (0..3).all(|i| p.0[i].abs_diff(RED[i]) < 70)
    }

    /// Bounding box `[x0, y0, x1, y1]` (exclusive ends) and count of the red pixels.
    fn red(img: &RgbImage) -> ([u32; 4], u32) {
        red_within(img, [0.0, 0.0, W as f64, H as f64])
    }

    /// [`red`] counting only pixels within `area` (frame pixels).
    fn red_within(img: &RgbImage, area: [f64; 4]) -> ([u32; 4], u32) {
        let mut b = [u32::MAX, u32::MAX, 0, 0];
        let mut n = 0;
        for (x, y, p) in img.enumerate_pixels() {
            let (cx, cy) = (x as f64 + 0.5, y as f64 + 0.5);
            let inside = cx > area[0] && cy > area[1] && cx < area[2] && cy < area[3];
            if inside && is_red(p) {
                n += 1;
                b = [b[0].min(x), b[1].min(y), b[2].max(x + 1), b[3].max(y + 1)];
            }
        }
        (b, n)
    }

    /// Where a normalised photo box appears in a frame showing window `w`.
    fn through(w: SubjectBox, b: SubjectBox) -> [f64; 4] {
        let fx = |u: f64| (u - w.x0) / w.width() * W as f64;
        let fy = |v: f64| (v - w.y0) / w.height() * H as f64;
        [fx(b.x0), fy(b.y0), fx(b.x1), fy(b.y1)]
    }

    /// Standard deviation of luma along a row (`Some(y)`) or column.
    fn spread(img: &RgbImage, row: Option<u32>, col: Option<u32>) -> f64 {
        let px: Vec<f64> = match (row, col) {
            (Some(y), _) => (0..img.width()).map(|x| img.get_pixel(x, y)).map(luma).collect(),
            (_, Some(x)) => (0..img.height()).map(|y| img.get_pixel(x, y)).map(luma).collect(),
            _ => unreachable!(),
        };
        let mean = px.iter().sum::<f64>() / px.len() as f64;
        (px.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / px.len() as f64).sqrt()
    }

    fn luma(p: &Rgb<u8>) -> f64 {
        0.299 * p.0[0] as f64 + 0.587 * p.0[1] as f64 + 0.114 * p.0[2] as f64
    }

    /// No flat band: the outer two rows and columns on every side vary like the photo does.
    fn no_band(frame: &RgbImage, min: f64, label: &str) {
        let (w, h) = frame.dimensions();
        for y in [0, 1, h - 2, h - 1] {
            let s = spread(frame, Some(y), None);
            assert!(s >= min, "{label}: row {y} is flat (luma spread {s:.1})");
        }
        for x in [0, 1, w - 2, w - 1] {
            let s = spread(frame, None, Some(x));
            assert!(s >= min, "{label}: column {x} is flat (luma spread {s:.1})");
        }
    }

    /// The product is wholly in the frame, where the camera's window puts it (looked for on the
    /// photo only, 3 pixels in from its edges, not on a blurred copy of it), within 3 pixels: the
    /// product is found by its colour, which 4:2:0 carries one sample per two pixels.
    fn product_where_planned(frame: &RgbImage, window: SubjectBox, product: SubjectBox, label: &str) {
        let [a, b, c, d] = through(window, SubjectBox::WHOLE);
        let ([x0, y0, x1, y1], n) = red_within(frame, [a + 3.0, b + 3.0, c - 3.0, d - 3.0]);
        assert!(n > 50, "{label}: no product in the frame");
        let want = through(window, product);
        let got = [x0 as f64, y0 as f64, x1 as f64, y1 as f64];
        for i in 0..4 {
            assert!((got[i] - want[i]).abs() <= 3.0, "{label}: product at {got:?}, the camera puts it at {want:?}");
        }
        assert!(x0 > 0 && y0 > 0 && x1 < W && y1 < H, "{label}: product cut off: {got:?}");
    }

    const PRODUCT: [u32; 4] = [672, 300, 928, 700];

    #[tokio::test]
    async fn a_busy_landscape_photo_fills_every_frame_and_keeps_the_product_in_view() {
        let img = busy_photo(1600, 1000, PRODUCT);
        let product = normalised(PRODUCT, &img);
        for motion in MOTIONS {
            let camera = compose(1600, 1000, &busy(product), motion, W, H);
            assert_eq!((camera.fit, camera.backdrop), (Fit::Fill, Backdrop::None), "{motion}");
            let s = spec(camera, &img);
            let frames = render(&s, &img).await;
            let n = frames.len() - 1;
            for (i, frame) in frames.iter().enumerate() {
                let label = format!("{motion} frame {i}");
                no_band(frame, 8.0, &label);
                let (_, count) = red(frame);
                assert!(count as f64 >= 0.08 * (W * H) as f64, "{label}: product shows {count} px");
                product_where_planned(frame, camera.window_at(i as f64 / n as f64), product, &label);
            }
            let (first, last) = (red(&frames[0]).0, red(&frames[n]).0);
            match motion {
                Motion::PushIn => assert!(last[2] - last[0] > first[2] - first[0] + 5, "{motion}: {first:?} {last:?}"),
                Motion::PullOut => assert!(last[2] - last[0] + 5 < first[2] - first[0], "{motion}: {first:?} {last:?}"),
                Motion::PanRight => {
                    assert!(last[0] + 20 < first[0], "{motion}: the product moves left: {first:?} {last:?}")
                }
                Motion::PanLeft => assert!(last[0] > first[0] + 20, "{motion}: {first:?} {last:?}"),
                Motion::TiltDown => assert!(last[1] + 10 < first[1], "{motion}: {first:?} {last:?}"),
                Motion::TiltUp => assert!(last[1] > first[1] + 10, "{motion}: {first:?} {last:?}"),
            }
        }
    }

    #[tokio::test]
    async fn a_busy_photo_without_a_found_box_still_fills_the_frame() {
        let img = busy_photo(1600, 1000, PRODUCT);
        let framing = analyse(&image::DynamicImage::ImageRgb8(img.clone()));
        assert!(!framing.uniform_background && framing.subject == SubjectBox::WHOLE, "{framing:?}");
        for motion in [Motion::PushIn, Motion::PanRight, Motion::TiltUp] {
            let camera = compose(1600, 1000, &framing, motion, W, H);
            let frames = render(&spec(camera, &img), &img).await;
            for (i, frame) in frames.iter().enumerate() {
                no_band(frame, 8.0, &format!("{motion} frame {i}"));
                assert!(red(frame).1 as f64 >= 0.05 * (W * H) as f64, "{motion} frame {i}: product in view");
            }
        }
    }

    #[tokio::test]
    async fn a_wide_product_is_panned_across_from_end_to_end() {
        let wide = [400, 350, 1200, 650];
        let mut img = busy_photo(1600, 1000, wide);
        // A green label at the product's right end.
        for (x, y) in (1140..1190).flat_map(|x| (450..550).map(move |y| (x, y))) {
            img.put_pixel(x, y, Rgb(GREEN));
        }
        let product = normalised(wide, &img);
        let camera = compose(1600, 1000, &busy(product), Motion::PanRight, W, H);
        assert_eq!(camera.fit, Fit::Pan, "{camera:?}");
        let frames = render(&spec(camera, &img), &img).await;
        let n = frames.len() - 1;
        for (i, frame) in frames.iter().enumerate() {
            no_band(frame, 8.0, &format!("frame {i}"));
            assert!(red(frame).1 as f64 >= 0.15 * (W * H) as f64, "frame {i}: the product is in view");
        }
        let (first, last) = (red(&frames[0]).0, red(&frames[n]).0);
        assert!(first[0] > 0 && first[2] == W, "the pan starts on the product's left end: {first:?}");
        assert!(last[0] == 0 && last[2] < W, "and ends on its right end: {last:?}");
        let green = |f: &RgbImage| f.pixels().filter(|p| (0..3).all(|i| p.0[i].abs_diff(GREEN[i]) < 50)).count();
        assert!(green(&frames[0]) == 0 && green(&frames[n]) > 200, "the label at the right end comes into view");
    }

    #[tokio::test]
    async fn a_blurred_backdrop_has_no_flat_band_either() {
        let wider = [80, 350, 1520, 650];
        let img = busy_photo(1600, 1000, wider);
        let product = normalised(wider, &img);
        for motion in [Motion::PushIn, Motion::PanLeft] {
            let camera = compose(1600, 1000, &busy(product), motion, W, H);
            assert_eq!((camera.fit, camera.backdrop), (Fit::Blurred, Backdrop::Blur), "{camera:?}");
            let frames = render(&spec(camera, &img), &img).await;
            let n = frames.len() - 1;
            for (i, frame) in frames.iter().enumerate() {
                let label = format!("{motion} frame {i}");
                no_band(frame, 3.0, &label);
                product_where_planned(frame, camera.window_at(i as f64 / n as f64), product, &label);
                // Above the photo: the blurred copy, darker than the photo, not a copy of its pixels.
                let top = (0..W).map(|x| luma(frame.get_pixel(x, 2))).sum::<f64>() / W as f64;
                let mid = (0..W).map(|x| luma(frame.get_pixel(x, H / 2 - 30))).sum::<f64>() / W as f64;
                assert!(top < mid, "{label}: the backdrop is darkened ({top:.0} vs {mid:.0})");
            }
        }
    }

    /// Portrait studio photo: a red garment in the middle of white.
    fn portrait() -> RgbImage {
        picture(400, 600, WHITE, &[(120, 150, 280, 450, RED)])
    }

    #[tokio::test]
    async fn a_studio_photo_fills_or_shows_whole_on_its_own_colour() {
        let img = portrait();
        let framing = analyse(&image::DynamicImage::ImageRgb8(img.clone()));
        let garment = normalised([120, 150, 280, 450], &img);
        for motion in [Motion::PushIn, Motion::PullOut] {
            let camera = compose(400, 600, &framing, motion, W, H);
            assert_eq!(camera.fit, Fit::Fill, "{camera:?}");
            let frames = render(&spec(camera, &img), &img).await;
            let n = frames.len() - 1;
            for (i, frame) in [(0, &frames[0]), (n, &frames[n])] {
                product_where_planned(frame, camera.window_at(i as f64 / n as f64), garment, &format!("{motion} {i}"));
            }
        }
        // A wide garment on white: shown whole on white.
        let wide = picture(900, 600, WHITE, &[(60, 200, 840, 400, RED)]);
        let framing = analyse(&image::DynamicImage::ImageRgb8(wide.clone()));
        let camera = compose(900, 600, &framing, Motion::PushIn, W, H);
        assert_eq!((camera.fit, camera.backdrop), (Fit::Backdrop, Backdrop::Colour { rgb: WHITE }), "{camera:?}");
        let frames = render(&spec(camera, &wide), &wide).await;
        let n = frames.len() - 1;
        let box_ = normalised([60, 200, 840, 400], &wide);
        for (i, frame) in frames.iter().enumerate() {
            product_where_planned(frame, camera.window_at(i as f64 / n as f64), box_, &format!("studio {i}"));
            let corner = frame.get_pixel(2, 2).0;
            assert!(corner.iter().all(|&c| c > 240), "frame {i}: the canvas is the photo's white: {corner:?}");
        }
    }

    #[tokio::test]
    async fn renders_full_size() {
        let img = portrait();
        let camera =
            compose(400, 600, &analyse(&image::DynamicImage::ImageRgb8(img.clone())), Motion::PushIn, 1080, 1920);
        let s = MotionSpec { width: 1080, height: 1920, fps: 30, duration_ms: 1000, ..spec(camera, &img) };
        let dir = tempfile::tempdir().unwrap();
        let photo = dir.path().join("photo.png");
        img.save(&photo).unwrap();
        let out = dir.path().join("full.mp4");
        let m = Media::default();
        m.render_still_motion(&photo, &s, &out).await.unwrap();
        let v = m.probe(&out).await.unwrap().video.unwrap();
        assert_eq!((v.width, v.height, v.frames, v.codec.as_str()), (1080, 1920, Some(30), "h264"));
    }

    /// `cargo test -p truereel bench_full_size -- --ignored --nocapture`: times 5 s 1080x1920 shots
    /// over a 1200x1800 JPEG, a studio shot (textured garment on white) and a busy full-bleed one
    /// (texture everywhere, the worst case for the encoder), and a busy landscape pan and blur.
    #[tokio::test]
    #[ignore = "a timing benchmark (~1 min of CPU), run by hand"]
    async fn bench_full_size_5s() {
        let textured = |x: u32, y: u32| {
            let n = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)).wrapping_mul(2_246_822_519) >> 24;
            Rgb([120 + (n % 60) as u8, 40 + (n % 30) as u8, 50 + (y / 20) as u8])
        };
        let studio = RgbImage::from_fn(1200, 1800, |x, y| {
            if (300..900).contains(&x) && (400..1500).contains(&y) { textured(x, y) } else { Rgb(WHITE) }
        });
        let full_bleed = RgbImage::from_fn(1200, 1800, textured);
        let landscape = busy_photo(1600, 1000, [400, 350, 1200, 650]);
        let wider = busy_photo(1600, 1000, [80, 350, 1520, 650]);
        let cases = [
            ("studio push-in", &studio, Motion::PushIn),
            ("busy push-in", &full_bleed, Motion::PushIn),
            ("busy landscape pan", &landscape, Motion::PanRight),
            ("busy landscape blur", &wider, Motion::PushIn),
        ];
        for (kind, img, motion) in cases {
            let mut framing = analyse(&image::DynamicImage::ImageRgb8(img.clone()));
            if kind.contains("landscape") {
                let b = if kind.contains("pan") { [400, 350, 1200, 650] } else { [80, 350, 1520, 650] };
                framing.subject = normalised(b, img);
            }
            let camera = compose_for(img.width(), img.height(), &framing, motion, 1080, 1920, 5000);
            let dir = tempfile::tempdir().unwrap();
            let photo = dir.path().join("photo.jpg");
            img.save(&photo).unwrap();
            let s = MotionSpec { width: 1080, height: 1920, fps: 30, duration_ms: 5000, ..spec(camera, img) };
            let out = dir.path().join("bench.mp4");
            let m = crate::config::Config::from_env().unwrap().media;
            let started = std::time::Instant::now();
            m.render_still_motion(&photo, &s, &out).await.unwrap();
            let took = started.elapsed();
            let bytes = std::fs::metadata(&out).unwrap().len();
            let c = s.canvas();
            eprintln!(
                "{kind} ({:?}, canvas {}x{}): 1080x1920 5 s, {} frames, {CLIP_PRESET} crf {CLIP_CRF}: {took:.2?}, {bytes} bytes",
                camera.fit,
                c.width,
                c.height,
                s.frames(),
            );
        }
    }

    #[tokio::test]
    async fn a_photo_that_is_not_an_image_fails_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let photo = dir.path().join("photo %d.jpg");
        std::fs::write(&photo, b"not a jpeg").unwrap();
        let img = portrait();
        let s = spec(compose(400, 600, &Framing::default(), Motion::PushIn, W, H), &img);
        let e = Media::default().render_still_motion(&photo, &s, &dir.path().join("o.mp4")).await.unwrap_err();
        assert!(matches!(e, MediaError::Failed { .. }) && e.to_string().contains("photo %d.jpg"), "{e}");
        let odd = MotionSpec { width: 181, ..s.clone() };
        let e = Media::default().render_still_motion(&photo, &odd, &dir.path().join("o.mp4")).await.unwrap_err();
        assert!(matches!(e, MediaError::BadInput(_)), "{e:?}");
        for end in [
            SubjectBox { x0: f64::NAN, ..SubjectBox::WHOLE },
            SubjectBox { x0: 0.5, y0: 0.5, x1: 0.5, y1: 0.9 },
            SubjectBox { x0: 1.5, y0: 0.0, x1: 2.5, y1: 1.0 },
        ] {
            let bad = MotionSpec { camera: Camera { end, ..s.camera }, ..s.clone() };
            let e = Media::default().render_still_motion(&photo, &bad, &dir.path().join("o.mp4")).await.unwrap_err();
            assert!(matches!(e, MediaError::BadInput(_)), "{end:?}: {e:?}");
        }
    }

    #[test]
    fn the_canvas_holds_every_window_at_twice_the_output_size() {
        let photos = [(400, 600), (600, 300), (200, 800), (1080, 1920), (1600, 1000), (3000, 1000), (4000, 6000)];
        let subjects = [
            SubjectBox::WHOLE,
            SubjectBox { x0: 0.3, y0: 0.25, x1: 0.7, y1: 0.75 },
            SubjectBox { x0: 0.05, y0: 0.3, x1: 0.95, y1: 0.7 },
            SubjectBox { x0: 0.45, y0: 0.0, x1: 0.55, y1: 1.0 },
        ];
        for (iw, ih) in photos {
            for subject in subjects {
                for uniform in [false, true] {
                    for motion in MOTIONS {
                        let framing = Framing { background: WHITE, subject, uniform_background: uniform };
                        let camera = compose(iw, ih, &framing, motion, 1080, 1920);
                        let s = MotionSpec {
                            camera,
                            duration_ms: 5000,
                            width: 1080,
                            height: 1920,
                            fps: 30,
                            image_width: iw,
                            image_height: ih,
                        };
                        let c = s.canvas();
                        let label = format!("{motion} {iw}x{ih} {framing:?}: {c:?}");
                        assert_eq!(c.backdrop, camera.backdrop, "{label}");
                        assert_eq!(c.width * 1920, c.height * 1080, "{label}");
                        assert!(c.width <= MAX_CANVAS_SIDE && c.height <= MAX_CANVAS_SIDE, "{label}");
                        let [px0, py0, px1, py1] = c.photo.map(|v| v as f64);
                        let mut largest: f64 = 0.0;
                        for i in 0..=20 {
                            let w = camera.window_at(i as f64 / 20.0);
                            let (x0, x1) = (c.x(w.x0, iw), c.x(w.x1, iw));
                            let (y0, y1) = (c.y(w.y0, ih), c.y(w.y1, ih));
                            largest = largest.max(x1 - x0);
                            let slack = 0.01;
                            assert!(x0 >= -slack && y0 >= -slack, "{label} step {i}");
                            assert!(x1 <= c.width as f64 + slack && y1 <= c.height as f64 + slack, "{label} step {i}");
                            if c.backdrop == Backdrop::None {
                                assert!(x0 >= px0 - slack && x1 <= px1 + slack, "{label} step {i}");
                                assert!(y0 >= py0 - slack && y1 <= py1 + slack, "{label} step {i}");
                            }
                            let aspect = (x1 - x0) / (y1 - y0);
                            assert!((aspect - 1080.0 / 1920.0).abs() < 0.01, "{label} step {i}: {aspect}");
                        }
                        assert!(
                            (2.0 * 1080.0 - 1.0..2.0 * 1080.0 + 1080.0 / 9.0 * 2.0).contains(&largest),
                            "{label}: {largest}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn windows_off_the_photo_without_a_backdrop_get_a_blurred_one() {
        let img = portrait();
        let camera = Camera {
            start: SubjectBox { x0: -0.2, y0: 0.0, x1: 0.8, y1: 1.0 },
            end: SubjectBox { x0: 0.0, y0: 0.0, x1: 1.0, y1: 1.0 },
            fit: Fit::Fill,
            backdrop: Backdrop::None,
        };
        let s = spec(camera, &img);
        let c = s.canvas();
        assert_eq!(c.backdrop, Backdrop::Blur);
        // Not the output's aspect: heightened around its centre to it (the photo is 2:3, the frame 9:16).
        assert!((c.end.width() - 1.0).abs() < 1e-9 && c.end.height() > 1.0, "{c:?}");
        assert!((c.end.width() * 400.0 / (c.end.height() * 600.0) - 180.0 / 320.0).abs() < 1e-9, "{c:?}");
    }

    #[test]
    fn the_command_is_complete_and_quoted() {
        let img = busy_photo(1600, 1000, PRODUCT);
        let camera = compose(1600, 1000, &busy(normalised(PRODUCT, &img)), Motion::PanRight, W, H);
        let s = spec(camera, &img);
        let a = Media::default().still_motion_args(Path::new("/p/-photo.jpg"), &s, Path::new("/o/x.mp4.partial"));
        assert!(a.windows(2).any(|w| w == ["-i", "file:/p/-photo.jpg"]), "{a:?}");
        assert!(a.windows(2).any(|w| w == ["-frames:v", "15"]), "{a:?}");
        assert!(a.windows(2).any(|w| w == ["-movflags", "+faststart"]), "{a:?}");
        assert_eq!(a.last().unwrap(), "file:/o/x.mp4.partial");
        let vf = &a[a.iter().position(|x| x == "-vf").unwrap() + 1];
        assert!(vf.starts_with("crop=") && vf.contains(":exact=1,scale="), "{vf}");
        assert!(vf.contains("zoompan=z='") && vf.contains(":s=180x320:fps=15") && vf.contains("x='clip("), "{vf}");
        let blurred = Camera { backdrop: Backdrop::Blur, ..camera };
        let vf = spec(blurred, &img).filtergraph();
        assert!(
            vf.starts_with("split[photo][copy];[copy]scale=") && vf.contains("boxblur=") && vf.contains("overlay="),
            "{vf}"
        );
        assert_eq!(MotionSpec { duration_ms: 2033, fps: 30, ..s }.frames(), 61);
    }
}
