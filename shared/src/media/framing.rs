//! Framing analysis of a product photo: its background colour and where the product sits.
//!
//! The backdrop and the subject come from [`super::subject`], the routine the photo classifier uses
//! too, so the shot pushes in on the very subject the classifier measured.

use super::subject;
pub use crate::domain::{Framing, SubjectBox};
use image::DynamicImage;

/// Finds the background colour and the product's bounding box.
///
/// The background colour is the median of the photo's border band (what the canvas is padded with).
/// When the photo stands on a backdrop (a light border colour covering most of the band), the
/// subject box is the span of the columns and rows at least 3 % subject, so specks and JPEG noise do
/// not widen it; otherwise, or when nothing stands out, it is the whole image. See
/// [`subject::find`].
pub fn analyse(img: &DynamicImage) -> Framing {
    let found = subject::find(&subject::working_copy(img));
    if found.mask.is_empty() {
        return Framing::default();
    }
    let subject = match found.normalised_bounds() {
        Some([x0, y0, x1, y1]) if found.backdrop => SubjectBox { x0, y0, x1, y1 },
        _ => SubjectBox::WHOLE,
    };
    Framing { background: found.border_colour, subject, uniform_background: found.backdrop }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::testutil::{BLUE, RED, WHITE, picture};
    use image::{Rgb, RgbImage};

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 0.02
    }

    #[test]
    fn a_studio_photo_has_a_white_background_and_a_tight_subject() {
        // 1000x1500 so the analysis runs on a downscaled copy; a few specks must not count.
        let mut img = picture(1000, 1500, WHITE, &[(250, 300, 750, 1200, RED), (40, 40, 43, 43, BLUE)]);
        img.put_pixel(980, 1400, Rgb(BLUE));
        let f = analyse(&DynamicImage::ImageRgb8(img));
        assert!(f.uniform_background);
        assert_eq!(f.background, WHITE);
        let s = f.subject;
        assert!(close(s.x0, 0.25) && close(s.x1, 0.75) && close(s.y0, 0.2) && close(s.y1, 0.8), "{s:?}");
    }

    #[test]
    fn a_grey_flat_lay_touching_the_edge_is_still_uniform() {
        let grey = [200, 200, 205];
        let img = picture(600, 400, grey, &[(100, 0, 300, 200, BLUE)]);
        let f = analyse(&DynamicImage::ImageRgb8(img));
        assert!(f.uniform_background, "{f:?}");
        assert_eq!(f.background, grey);
        assert!(close(f.subject.x0, 1.0 / 6.0) && close(f.subject.y0, 0.0) && close(f.subject.y1, 0.5), "{f:?}");
    }

    #[test]
    fn a_busy_background_frames_the_whole_photo() {
        let img =
            RgbImage::from_fn(300, 400, |x, y| Rgb([(x * 7 % 256) as u8, (y * 13 % 256) as u8, ((x + y) % 256) as u8]));
        let f = analyse(&DynamicImage::ImageRgb8(img));
        assert!(!f.uniform_background);
        assert_eq!(f.subject, SubjectBox::WHOLE);
    }

    #[test]
    fn a_blank_photo_and_a_transparent_cutout() {
        let f = analyse(&DynamicImage::ImageRgb8(picture(50, 50, WHITE, &[])));
        assert!(f.uniform_background && f.subject == SubjectBox::WHOLE, "{f:?}");
        let cutout = image::RgbaImage::from_fn(100, 100, |x, y| {
            if (30..70).contains(&x) && (20..90).contains(&y) {
                image::Rgba([0, 0, 200, 255])
            } else {
                image::Rgba([0, 0, 0, 0])
            }
        });
        let f = analyse(&DynamicImage::ImageRgba8(cutout));
        assert_eq!(f.background, WHITE);
        assert!(close(f.subject.x0, 0.3) && close(f.subject.y1, 0.9), "{f:?}");
    }

    #[test]
    fn a_dark_garment_filling_the_frame_is_framed_whole() {
        // An even dark border is the garment itself, not a backdrop: a light logo on it is no subject box.
        let navy = [25, 30, 60];
        let img = picture(600, 800, navy, &[(200, 250, 400, 400, WHITE)]);
        let f = analyse(&DynamicImage::ImageRgb8(img));
        assert!(!f.uniform_background, "{f:?}");
        assert_eq!(f.background, navy);
        assert_eq!(f.subject, SubjectBox::WHOLE);
    }
}
