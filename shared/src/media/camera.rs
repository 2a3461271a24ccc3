//! The camera of a shot (placeholder until the composition-aware version lands): the whole photo.

use crate::{Backdrop, Camera, Fit, Framing, Motion, SubjectBox};

/// The window and move over a photo for `motion`.
pub fn compose(_image_w: u32, _image_h: u32, framing: &Framing, _motion: Motion, _out_w: u32, _out_h: u32) -> Camera {
    Camera {
        start: SubjectBox::WHOLE,
        end: SubjectBox::WHOLE,
        fit: Fit::Backdrop,
        backdrop: Backdrop::Colour { rgb: framing.background },
    }
}

/// Motion direction for a video model.
pub fn describe(_camera: &Camera, motion: Motion) -> String {
    motion.direction().to_string()
}
