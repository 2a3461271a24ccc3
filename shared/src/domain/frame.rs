//! Where the product sits in a photo, and the camera the plan points at it.
//!
//! All boxes are in normalised photo coordinates: 0..1 from the photo's left and top edges. A camera
//! window may reach outside 0..1 only over a [`Backdrop`] that fills what lies outside the photo.

use serde::{Deserialize, Serialize};

/// A box in normalised image coordinates: 0..1 from the left/top edge.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SubjectBox {
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
}

impl SubjectBox {
    /// The whole image.
    pub const WHOLE: SubjectBox = SubjectBox { x0: 0.0, y0: 0.0, x1: 1.0, y1: 1.0 };

    pub fn width(&self) -> f64 {
        self.x1 - self.x0
    }
    pub fn height(&self) -> f64 {
        self.y1 - self.y0
    }
    /// Whether `inner` lies inside `self` (with `slack` to spare for rounding).
    pub fn contains(&self, inner: &SubjectBox, slack: f64) -> bool {
        inner.x0 >= self.x0 - slack
            && inner.y0 >= self.y0 - slack
            && inner.x1 <= self.x1 + slack
            && inner.y1 <= self.y1 + slack
    }
}

/// What a photo looks like for framing: its background colour and where the product sits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Framing {
    /// Median colour of the border: what the canvas around the photo is filled with.
    pub background: [u8; 3],
    /// Where the product is; the whole image when there is no backdrop.
    pub subject: SubjectBox,
    /// The photo stands on a backdrop (a light colour over most of the border): a studio or
    /// flat-lay photo.
    pub uniform_background: bool,
}

impl Default for Framing {
    fn default() -> Self {
        Self { background: [255, 255, 255], subject: SubjectBox::WHOLE, uniform_background: false }
    }
}

/// What fills the frame where the camera window reaches past the photo's edges.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Backdrop {
    /// Nothing: the window stays inside the photo on every frame (the photo fills the frame).
    None,
    /// The photo's own uniform background colour (a studio photo: the seam cannot be seen).
    Colour { rgb: [u8; 3] },
    /// A blurred, darkened copy of the photo scaled to cover the frame: the last resort for a photo
    /// that can neither fill the frame nor be panned across without losing the product.
    Blur,
}

/// How a photo fills the frame: in order of preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fit {
    /// The window stays inside the photo and keeps the product in view throughout.
    Fill,
    /// The window travels across a photo too wide or tall to show the product at once.
    Pan,
    /// A studio photo shown whole on its own background colour.
    Backdrop,
    /// The photo shown whole over a blurred copy of itself.
    Blurred,
}

/// The camera of one shot: the window at its first and last frame (normalised photo coordinates,
/// the output's aspect in pixels), eased between, and what fills anything outside the photo.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Camera {
    pub start: SubjectBox,
    pub end: SubjectBox,
    pub fit: Fit,
    pub backdrop: Backdrop,
}

impl Default for Camera {
    /// The whole photo, held still.
    fn default() -> Self {
        Self { start: SubjectBox::WHOLE, end: SubjectBox::WHOLE, fit: Fit::Fill, backdrop: Backdrop::None }
    }
}

impl Camera {
    /// The same windows travelled the other way.
    pub fn reversed(self) -> Self {
        Self { start: self.end, end: self.start, ..self }
    }

    /// The window at progress `p` (0 = first frame, 1 = last), eased in and out.
    pub fn window_at(&self, p: f64) -> SubjectBox {
        let e = 0.5 - 0.5 * (std::f64::consts::PI * p.clamp(0.0, 1.0)).cos();
        let l = |a: f64, b: f64| a * (1.0 - e) + b * e;
        SubjectBox {
            x0: l(self.start.x0, self.end.x0),
            y0: l(self.start.y0, self.end.y0),
            x1: l(self.start.x1, self.end.x1),
            y1: l(self.start.y1, self.end.y1),
        }
    }
}

/// Where the product is in a clip made from a photo, as fractions of the clip's frame: what an
/// assembly in another shape keeps in view. Through the camera's window at the middle of the shot
/// for a clip that carried the camera out (the offline renderer), else through a centred crop of
/// the photo to the clip's shape (a model animating the whole photo). `None` when the photo's
/// product box is the whole photo (nothing is known) or a size is zero.
pub fn focus_in_clip(
    subject: SubjectBox,
    photo: (u32, u32),
    clip: (u32, u32),
    camera: Option<&Camera>,
) -> Option<(f32, f32)> {
    if subject == SubjectBox::WHOLE || photo.0 == 0 || photo.1 == 0 || clip.0 == 0 || clip.1 == 0 {
        return None;
    }
    let window = match camera {
        Some(c) => c.window_at(0.5),
        None => {
            let (photo_aspect, clip_aspect) = (photo.0 as f64 / photo.1 as f64, clip.0 as f64 / clip.1 as f64);
            let (w, h) = if photo_aspect > clip_aspect {
                (clip_aspect / photo_aspect, 1.0)
            } else {
                (1.0, photo_aspect / clip_aspect)
            };
            SubjectBox { x0: (1.0 - w) / 2.0, y0: (1.0 - h) / 2.0, x1: (1.0 + w) / 2.0, y1: (1.0 + h) / 2.0 }
        }
    };
    if window.width() <= 0.0 || window.height() <= 0.0 {
        return None;
    }
    let (cx, cy) = ((subject.x0 + subject.x1) / 2.0, (subject.y0 + subject.y1) / 2.0);
    let inside = |v: f64| v.clamp(0.0, 1.0) as f32;
    Some((inside((cx - window.x0) / window.width()), inside((cy - window.y0) / window.height())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_product_is_found_in_a_clip_through_its_camera_or_a_centred_crop() {
        let right = SubjectBox { x0: 0.7, y0: 0.4, x1: 0.9, y1: 0.6 };
        // A 16:9 photo animated whole into a 9:16 clip: the centre third is kept; the product at
        // 0.8 of the photo is past its right edge (clamped).
        assert_eq!(focus_in_clip(right, (1600, 900), (720, 1280), None), Some((1.0, 0.5)));
        let centre = SubjectBox { x0: 0.45, y0: 0.2, x1: 0.55, y1: 0.4 };
        let (x, y) = focus_in_clip(centre, (1000, 1000), (720, 1280), None).unwrap();
        assert!((x - 0.5).abs() < 1e-6 && (y - 0.3).abs() < 1e-6, "{x} {y}");
        // A camera holding the right half of the photo still: the product sits at 0.6 of it.
        let window = SubjectBox { x0: 0.5, y0: 0.0, x1: 1.0, y1: 1.0 };
        let camera = Camera { start: window, end: window, ..Camera::default() };
        let (x, y) = focus_in_clip(right, (1600, 900), (1080, 1920), Some(&camera)).unwrap();
        assert!((x - 0.6).abs() < 1e-6 && (y - 0.5).abs() < 1e-6, "{x} {y}");
        assert_eq!(focus_in_clip(SubjectBox::WHOLE, (1600, 900), (720, 1280), None), None);
        assert_eq!(focus_in_clip(right, (0, 900), (720, 1280), None), None);
    }
}
