//! Colour as the judge sees it: CIE Lab (D65), the CIEDE2000 colour difference, and the main
//! colours of a picture's product (what differs from its backdrop).

use image::RgbImage;

/// A CIE L*a*b* colour (D65 white).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lab {
    pub l: f64,
    pub a: f64,
    pub b: f64,
}

/// Pixels at least this far (CIE76) from the backdrop's colour count as the product.
const FOREGROUND_DE: f64 = 12.0;
/// Below this share of foreground pixels, the whole picture is taken as the product.
const MIN_FOREGROUND: f64 = 0.05;
/// A frame's colour counts when it covers at least this share of the product (captions and
/// compression fringes do not).
pub const MAIN_SHARE: f64 = 0.12;
/// A reference photo's colours are kept down to this share: a frame showing only the print or the
/// cuff still finds its colour there.
pub const DETAIL_SHARE: f64 = 0.02;

/// CIE Lab's f(t) for t in 0..=1 (XYZ over the white point; sRGB stays inside it): above the
/// linear toe, t^(1/3) from a table with linear interpolation (within 5e-6; a cube root per pixel
/// was a twentieth of judging).
fn lab_f(t: f64) -> f64 {
    const STEPS: usize = 4096;
    static ROOTS: std::sync::LazyLock<Vec<f64>> =
        std::sync::LazyLock::new(|| (0..=STEPS + 1).map(|i| (i as f64 / STEPS as f64).cbrt()).collect());
    if t <= 216.0 / 24389.0 {
        return (24389.0 / 27.0 * t + 16.0) / 116.0;
    }
    let at = t.min(1.0) * STEPS as f64;
    let (i, within) = (at as usize, at.fract());
    ROOTS[i] + (ROOTS[i + 1] - ROOTS[i]) * within
}

impl Lab {
    /// An sRGB pixel in Lab.
    pub fn from_rgb([r, g, b]: [u8; 3]) -> Self {
        // sRGB decoding, one table for the 256 levels (a power per pixel was a tenth of judging).
        static LINEAR: std::sync::LazyLock<[f64; 256]> = std::sync::LazyLock::new(|| {
            std::array::from_fn(|i| {
                let c = i as f64 / 255.0;
                if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
            })
        });
        let linear = |c: u8| LINEAR[c as usize];
        let (r, g, b) = (linear(r), linear(g), linear(b));
        let x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047;
        let y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b;
        let z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883;
        let (fx, fy, fz) = (lab_f(x), lab_f(y), lab_f(z));
        Self { l: 116.0 * fy - 16.0, a: 500.0 * (fx - fy), b: 200.0 * (fy - fz) }
    }

    /// CIE76: the plain distance, for quick foreground tests.
    pub fn de76(&self, o: &Lab) -> f64 {
        ((self.l - o.l).powi(2) + (self.a - o.a).powi(2) + (self.b - o.b).powi(2)).sqrt()
    }

    /// CIEDE2000 (Sharma, Wu and Dalal's formulation): about 1 is a just-noticeable difference,
    /// 2–10 a visible change of shade, over 20 another colour.
    pub fn de2000(&self, o: &Lab) -> f64 {
        use std::f64::consts::PI;
        let deg = |r: f64| r * 180.0 / PI;
        let rad = |d: f64| d * PI / 180.0;
        let c1 = self.a.hypot(self.b);
        let c2 = o.a.hypot(o.b);
        let cbar7 = ((c1 + c2) / 2.0).powi(7);
        let g = 0.5 * (1.0 - (cbar7 / (cbar7 + 25f64.powi(7))).sqrt());
        let (a1, a2) = ((1.0 + g) * self.a, (1.0 + g) * o.a);
        let (c1p, c2p) = (a1.hypot(self.b), a2.hypot(o.b));
        let hue = |b: f64, a: f64| if b == 0.0 && a == 0.0 { 0.0 } else { deg(b.atan2(a)).rem_euclid(360.0) };
        let (h1, h2) = (hue(self.b, a1), hue(o.b, a2));
        let dl = o.l - self.l;
        let dc = c2p - c1p;
        let dh = if c1p * c2p == 0.0 {
            0.0
        } else if (h2 - h1).abs() <= 180.0 {
            h2 - h1
        } else if h2 - h1 > 180.0 {
            h2 - h1 - 360.0
        } else {
            h2 - h1 + 360.0
        };
        let dhh = 2.0 * (c1p * c2p).sqrt() * rad(dh / 2.0).sin();
        let lbar = (self.l + o.l) / 2.0;
        let cbar = (c1p + c2p) / 2.0;
        let hbar = if c1p * c2p == 0.0 {
            h1 + h2
        } else if (h1 - h2).abs() <= 180.0 {
            (h1 + h2) / 2.0
        } else if h1 + h2 < 360.0 {
            (h1 + h2 + 360.0) / 2.0
        } else {
            (h1 + h2 - 360.0) / 2.0
        };
        let t = 1.0 - 0.17 * rad(hbar - 30.0).cos() + 0.24 * rad(2.0 * hbar).cos() + 0.32 * rad(3.0 * hbar + 6.0).cos()
            - 0.20 * rad(4.0 * hbar - 63.0).cos();
        let dtheta = 30.0 * (-((hbar - 275.0) / 25.0).powi(2)).exp();
        let cbar7 = cbar.powi(7);
        let rc = 2.0 * (cbar7 / (cbar7 + 25f64.powi(7))).sqrt();
        let sl = 1.0 + 0.015 * (lbar - 50.0).powi(2) / (20.0 + (lbar - 50.0).powi(2)).sqrt();
        let sc = 1.0 + 0.045 * cbar;
        let sh = 1.0 + 0.015 * cbar * t;
        let rt = -rad(2.0 * dtheta).sin() * rc;
        let (l, c, h) = (dl / sl, dc / sc, dhh / sh);
        (l * l + c * c + h * h + rt * c * h).sqrt()
    }
}

/// A Lab bin's sums of L*, a*, b* and its count.
type Bin = (f64, f64, f64, usize);

/// One of a picture's main colours and the share of its product it covers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MainColour {
    pub lab: Lab,
    pub share: f64,
}

/// The main colours of the product in `img` (inside `region`, normalised `[x0, y0, x1, y1]`), most
/// covering first: pixels unlike the backdrop (the median of the region's border) binned coarsely in
/// Lab, each bin's mean colour; bins under `min_share` are left out (the first is always kept).
pub fn main_colours(img: &RgbImage, region: [f64; 4], min_share: f64) -> Vec<MainColour> {
    let (w, h) = img.dimensions();
    let px = |v: f64, n: u32| ((v.clamp(0.0, 1.0) * n as f64).round() as u32).min(n);
    let (x0, y0, x1, y1) = (px(region[0], w), px(region[1], h), px(region[2], w), px(region[3], h));
    if x1 <= x0 || y1 <= y0 {
        return Vec::new();
    }
    // Every other pixel of a thumbnail is plenty.
    let step = if (x1 - x0) * (y1 - y0) > 40_000 { 2 } else { 1 };
    let mut pixels = Vec::new();
    let mut border = Vec::new();
    let ring = ((x1 - x0).min(y1 - y0) / 25).max(1);
    for y in (y0..y1).step_by(step) {
        for x in (x0..x1).step_by(step) {
            let lab = Lab::from_rgb(img.get_pixel(x, y).0);
            if x < x0 + ring || x >= x1 - ring || y < y0 + ring || y >= y1 - ring {
                border.push(lab);
            }
            pixels.push(lab);
        }
    }
    let median = |f: fn(&Lab) -> f64| {
        let mut v: Vec<f64> = border.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    let backdrop = Lab { l: median(|c| c.l), a: median(|c| c.a), b: median(|c| c.b) };
    let foreground: Vec<Lab> = pixels.iter().copied().filter(|c| c.de76(&backdrop) > FOREGROUND_DE).collect();
    let product = if (foreground.len() as f64) < MIN_FOREGROUND * pixels.len() as f64 { pixels } else { foreground };
    // Bins: 10 L* by 12 a* by 12 b* units.
    let mut bins: std::collections::HashMap<(i32, i32, i32), Bin> = Default::default();
    for c in &product {
        let key = ((c.l / 10.0).floor() as i32, (c.a / 12.0).floor() as i32, (c.b / 12.0).floor() as i32);
        let e = bins.entry(key).or_default();
        (e.0, e.1, e.2, e.3) = (e.0 + c.l, e.1 + c.a, e.2 + c.b, e.3 + 1);
    }
    let n = product.len().max(1) as f64;
    let mut out: Vec<MainColour> = bins
        .into_values()
        .map(|(l, a, b, k)| MainColour {
            lab: Lab { l: l / k as f64, a: a / k as f64, b: b / k as f64 },
            share: k as f64 / n,
        })
        .collect();
    out.sort_by(|x, y| y.share.total_cmp(&x.share));
    let first = out.first().copied();
    out.retain(|c| c.share >= min_share);
    if out.is_empty() {
        out.extend(first);
    }
    out
}

/// How far what a frame shows (`seen`) is from its reference photo's colours, CIEDE2000: each seen
/// colour's distance to the nearest reference colour, weighted by how much of the frame it covers.
/// A camera move that shows part of the product keeps its colours near; a recoloured garment or
/// another product does not.
pub fn colour_distance(seen: &[MainColour], reference: &[MainColour]) -> f64 {
    let total: f64 = seen.iter().map(|c| c.share).sum();
    if total <= 0.0 || reference.is_empty() {
        return f64::INFINITY;
    }
    seen.iter()
        .map(|s| s.share * reference.iter().map(|r| s.lab.de2000(&r.lab)).fold(f64::INFINITY, f64::min))
        .sum::<f64>()
        / total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cube_root_table_is_close() {
        let worst = (1..100_000)
            .map(|i| i as f64 / 100_000.0)
            .filter(|t| *t > 216.0 / 24389.0)
            .map(|t| (lab_f(t) - t.cbrt()).abs())
            .fold(0.0, f64::max);
        assert!(worst < 5e-6, "{worst}");
    }
    use image::Rgb;

    fn lab(l: f64, a: f64, b: f64) -> Lab {
        Lab { l, a, b }
    }

    /// Sharma, Wu and Dalal's test pairs (a few of the 34).
    #[test]
    fn de2000_matches_the_published_test_data() {
        let pairs = [
            (lab(50.0, 2.6772, -79.7751), lab(50.0, 0.0, -82.7485), 2.0425),
            (lab(50.0, 3.1571, -77.2803), lab(50.0, 0.0, -82.7485), 2.8615),
            (lab(50.0, -1.3802, -84.2814), lab(50.0, 0.0, -82.7485), 1.0000),
            (lab(50.0, 2.5, 0.0), lab(73.0, 25.0, -18.0), 27.1492),
            (lab(50.0, 2.5, 0.0), lab(50.0, 3.2592, 0.3350), 1.0000),
            (lab(60.2574, -34.0099, 36.2677), lab(60.4626, -34.1751, 39.4387), 1.2644),
            (lab(22.7233, 20.0904, -46.6940), lab(23.0331, 14.9730, -42.5619), 2.0373),
            (lab(90.8027, -2.0831, 1.4410), lab(91.1528, -1.6435, 0.0447), 1.4441),
        ];
        for (a, b, want) in pairs {
            let got = a.de2000(&b);
            assert!((got - want).abs() < 1e-3, "{a:?} {b:?}: {got} != {want}");
            assert!((b.de2000(&a) - want).abs() < 1e-3, "symmetric");
        }
    }

    #[test]
    fn srgb_white_black_and_red_in_lab() {
        let w = Lab::from_rgb([255, 255, 255]);
        assert!((w.l - 100.0).abs() < 0.01 && w.a.abs() < 0.01 && w.b.abs() < 0.01, "{w:?}");
        assert!(Lab::from_rgb([0, 0, 0]).l.abs() < 1e-9);
        let r = Lab::from_rgb([255, 0, 0]);
        assert!((r.l - 53.24).abs() < 0.05 && (r.a - 80.09).abs() < 0.05 && (r.b - 67.20).abs() < 0.05, "{r:?}");
    }

    fn product(bg: [u8; 3], colour: [u8; 3], (w, h): (u32, u32)) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let inside = x > w / 4 && x < 3 * w / 4 && y > h / 4 && y < 3 * h / 4;
            Rgb(if inside { colour } else { bg })
        })
    }

    #[test]
    fn the_products_colour_is_found_on_any_backdrop_and_another_colour_is_far() {
        let all = [0.0, 0.0, 1.0, 1.0];
        let red_on_white = main_colours(&product([250, 250, 250], [200, 20, 30], (200, 300)), all, DETAIL_SHARE);
        let red_on_grey = main_colours(&product([90, 90, 90], [200, 20, 30], (100, 180)), all, MAIN_SHARE);
        let blue = main_colours(&product([250, 250, 250], [20, 60, 200], (200, 300)), all, MAIN_SHARE);
        assert_eq!(red_on_white.len(), 1, "{red_on_white:?}");
        assert!(colour_distance(&red_on_grey, &red_on_white) < 2.0);
        assert!(colour_distance(&blue, &red_on_white) > 40.0);
        // A close-up with no backdrop at all is all product.
        let close = main_colours(&RgbImage::from_pixel(50, 50, Rgb([200, 20, 30])), all, MAIN_SHARE);
        assert!(colour_distance(&close, &red_on_white) < 2.0);
    }
}
