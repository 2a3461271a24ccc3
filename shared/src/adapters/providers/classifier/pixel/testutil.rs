//! Test photos for the classifier: a studio flat, a knit close-up and a person in a room, drawn in code.

use image::{DynamicImage, Rgb, RgbImage};

/// Slight sensor noise, deterministic.
fn noise(x: u32, y: u32) -> u8 {
    ((x * 7 + y * 13) % 5) as u8
}

/// A red tee (body and sleeves) centred on a near-white studio backdrop.
pub fn studio_flat() -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(300, 400, |x, y| {
        let body = (95..205).contains(&x) && (90..330).contains(&y);
        let sleeves = (50..250).contains(&x) && (90..170).contains(&y);
        if body || sleeves { Rgb([170, 30, 45]) } else { Rgb([245 - noise(x, y), 244 - noise(x, y), 246]) }
    }))
}

/// A knit close-up: ridges and stitches in green filling the frame.
pub fn knit_closeup(base: [f32; 3]) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(400, 400, |x, y| {
        let (fx, fy) = (x as f32, y as f32);
        let v = 0.55 + 0.45 * (fx * 0.45).sin() * (fy * 0.3 + (fx * 0.1).sin() * 3.0).cos();
        Rgb(base.map(|c| (c * v).clamp(0.0, 255.0) as u8))
    }))
}

/// A person in a room: a light wall with a soft gradient, a grey floor, dark hair over a
/// skin-toned face, a blue shirt with bare arms, dark trousers down to the bottom edge.
pub fn person_in_room() -> DynamicImage {
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
