//! A photo as people see it: decoded by its content (not its name), turned upright by its EXIF
//! orientation, and transparency shown on white. The renderer, the Runway client and the judge all
//! look at these same pixels.

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, RgbImage};
use std::io::Cursor;

/// A decoded photo, upright.
pub struct Upright {
    pub image: DynamicImage,
    pub format: ImageFormat,
    /// Whether the EXIF orientation turned it (the file's own pixels lie another way).
    pub turned: bool,
}

/// Decodes `bytes` by their content and applies the EXIF orientation.
pub fn decode_upright(bytes: &[u8]) -> Result<Upright, String> {
    let reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| e.to_string())?;
    let format = reader.format().ok_or("not a recognised image format")?;
    let mut decoder = reader.into_decoder().map_err(|e| e.to_string())?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| e.to_string())?;
    image.apply_orientation(orientation);
    Ok(Upright { image, format, turned: orientation != Orientation::NoTransforms })
}

/// `img` in RGB with any transparency composed over white.
pub fn on_white(img: DynamicImage) -> RgbImage {
    if !img.color().has_alpha() {
        return img.into_rgb8();
    }
    let rgba = img.into_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let over = |c: u8| ((c as u32 * a as u32 + 255 * (255 - a as u32)) / 255) as u8;
        image::Rgb([over(r), over(g), over(b)])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::testutil::{RED, WHITE, jpeg_turned, picture};

    #[test]
    fn a_turned_jpeg_comes_out_upright_and_a_cutout_on_white() {
        let img = picture(160, 80, WHITE, &[(0, 0, 40, 80, RED)]);
        let up = decode_upright(&jpeg_turned(&img, 6)).unwrap();
        assert_eq!((up.image.width(), up.image.height(), up.format, up.turned), (80, 160, ImageFormat::Jpeg, true));
        // Turned 90° clockwise, the red left band is along the top.
        let rgb = up.image.to_rgb8();
        assert!(rgb.get_pixel(40, 10).0[1] < 100 && rgb.get_pixel(40, 150).0[1] > 200);

        let cutout = image::RgbaImage::from_fn(4, 4, |x, _| image::Rgba([0, 0, 0, if x < 2 { 0 } else { 255 }]));
        let shown = on_white(DynamicImage::ImageRgba8(cutout));
        assert_eq!((shown.get_pixel(0, 0).0, shown.get_pixel(3, 0).0), ([255; 3], [0; 3]));
        assert!(decode_upright(b"not a picture").is_err());
    }
}
