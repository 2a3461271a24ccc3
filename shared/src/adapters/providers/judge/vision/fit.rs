//! Pictures for a vision judge, fitted to its provider's limits: each reference photo and frame
//! JPEG-encoded at a size a model reads, then, while the request is over a limit, frames made
//! smaller, frames dropped (never a shot's last one) and, last, the photos made smaller. A photo is
//! never dropped: without it there is nothing to judge against.

use base64::Engine as _;
use image::RgbImage;
use std::collections::HashMap;

/// What one provider accepts in one request (its documented limits, `mod.rs` says whose).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest request body, JSON and all.
    pub request_bytes: usize,
    /// The most image data (base64, as sent) in one request.
    pub images_bytes: usize,
    /// The largest image (base64, as sent).
    pub image_bytes: usize,
    /// The most images in one request.
    pub images: usize,
    /// The longest side an image may have...
    pub max_side: u32,
    /// ...and the lower one that applies when more than this many images are sent.
    pub many_images: Option<(usize, u32)>,
}

impl Limits {
    /// The longest side allowed when `count` images are sent.
    pub fn max_side(&self, count: usize) -> u32 {
        match self.many_images {
            Some((many, side)) if count > many => side.min(self.max_side),
            _ => self.max_side,
        }
    }
}

/// A size and JPEG quality to encode at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Level {
    pub side: u32,
    pub quality: u8,
}

const fn level(side: u32, quality: u8) -> Level {
    Level { side, quality }
}

/// The reference photos' sizes, the first one wanted: large enough to read a print or a logo.
pub const PHOTO_LEVELS: [Level; 5] =
    [level(1536, 90), level(1280, 85), level(1024, 80), level(768, 75), level(512, 70)];
/// The frames' sizes, the first one wanted (a long side of 768 px a model reads well).
pub const FRAME_LEVELS: [Level; 5] = [level(768, 85), level(768, 70), level(640, 70), level(512, 65), level(384, 60)];
/// Frames are made this much smaller (a level of [`FRAME_LEVELS`]) before any is dropped.
const SHRINK_BEFORE_DROPPING: usize = 2;

/// One picture as sent: JPEG in base64, and its size.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    pub base64: String,
    pub width: u32,
    pub height: u32,
}

/// `img` at most `side` pixels on its long side, JPEG at `quality`, in base64.
pub fn encode(img: &RgbImage, side: u32, quality: u8) -> Encoded {
    let (w, h) = scaled(img.width(), img.height(), side);
    let resized;
    let source = if (w, h) == img.dimensions() {
        img
    } else {
        resized = shrink(img, w, h);
        &resized
    };
    let mut jpeg = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, quality);
    // Encoding RGB pixels into memory cannot fail.
    image::ImageEncoder::write_image(encoder, source.as_raw(), w, h, image::ExtendedColorType::Rgb8)
        .expect("JPEG-encoding pixels in memory");
    Encoded { base64: base64::engine::general_purpose::STANDARD.encode(&jpeg), width: w, height: h }
}

/// `img` made `w` x `h` (smaller): averaging whole blocks when it is more than twice as large
/// (fast on a camera's 20 megapixels), else a triangle filter.
pub fn shrink(img: &RgbImage, w: u32, h: u32) -> RgbImage {
    if img.width() > 2 * w && img.height() > 2 * h {
        image::imageops::thumbnail(img, w, h)
    } else {
        image::imageops::resize(img, w, h, image::imageops::FilterType::Triangle)
    }
}

/// `width` x `height` scaled down (never up) to at most `side` on the long side.
pub fn scaled(width: u32, height: u32, side: u32) -> (u32, u32) {
    let long = width.max(height).max(1);
    if long <= side {
        return (width.max(1), height.max(1));
    }
    let f = side as f64 / long as f64;
    (((width as f64 * f).round() as u32).max(1), ((height as f64 * f).round() as u32).max(1))
}

/// What [`fit`] chose: every photo, and the frames kept of each shot (ms in the reel, picture).
#[derive(Debug, Clone)]
pub struct Fitted {
    pub photos: Vec<Encoded>,
    pub frames: Vec<Vec<(u32, Encoded)>>,
    /// The request's size as measured (its text and the pictures' data).
    pub request_bytes: usize,
    /// What was given up to fit, for a person (empty when nothing was).
    pub shrunk: Vec<String>,
}

/// One picture's encodings, each made once.
struct Cached<'a> {
    img: &'a RgbImage,
    made: HashMap<Level, Encoded>,
}

impl<'a> Cached<'a> {
    fn new(img: &'a RgbImage) -> Self {
        Self { img, made: HashMap::new() }
    }

    /// The picture at `levels[from..]`'s first level within `max_bytes`, no side over `max_side`;
    /// `None` when none is.
    fn within(&mut self, levels: &[Level], from: usize, max_side: u32, max_bytes: usize) -> Option<&Encoded> {
        let pick = levels[from..].iter().map(|l| level(l.side.min(max_side), l.quality)).find(|l| {
            let img = self.img;
            self.made.entry(*l).or_insert_with(|| encode(img, l.side, l.quality)).base64.len() <= max_bytes
        })?;
        self.made.get(&pick)
    }
}

/// The photos and frames (per shot, each with its time in the reel) fitted to `limits`.
/// `text_bytes` says how large the request is without the pictures' data, given the frames kept of
/// each shot (their times are in its text). Frames are first made smaller (to
/// [`FRAME_LEVELS`]`[2]`), then dropped one at a time from the shot that has most (spread evenly
/// over the shot, never its last one), then made smaller still, and last the photos are; when even
/// that is over a limit, the error says why.
pub fn fit(
    photos: &[RgbImage],
    frames: &[Vec<(u32, RgbImage)>],
    limits: &Limits,
    text_bytes: &dyn Fn(&[Vec<u32>]) -> usize,
) -> Result<Fitted, String> {
    let mut photo_cache: Vec<Cached> = photos.iter().map(Cached::new).collect();
    let mut frame_cache: Vec<Vec<Cached>> =
        frames.iter().map(|s| s.iter().map(|(_, f)| Cached::new(f)).collect()).collect();
    let (mut photo_level, mut frame_level) = (0, 0);
    let mut kept: Vec<Vec<usize>> = frames.iter().map(|s| (0..s.len()).collect()).collect();
    let mut shrunk = Vec::new();
    let mb = |b: usize| format!("{:.1} MB", b as f64 / 1e6);
    loop {
        let count = photos.len() + kept.iter().map(Vec::len).sum::<usize>();
        let side = limits.max_side(count);
        let mut images_bytes = 0;
        for (i, c) in photo_cache.iter_mut().enumerate() {
            let Some(e) = c.within(&PHOTO_LEVELS, photo_level, side, limits.image_bytes) else {
                return Err(format!(
                    "photo {} is over the {} a picture may be even at {} px",
                    i + 1,
                    mb(limits.image_bytes),
                    PHOTO_LEVELS[PHOTO_LEVELS.len() - 1].side
                ));
            };
            images_bytes += e.base64.len();
        }
        for (shot, ks) in kept.iter().enumerate() {
            for &k in ks {
                let Some(e) = frame_cache[shot][k].within(&FRAME_LEVELS, frame_level, side, limits.image_bytes) else {
                    return Err(format!(
                        "a frame of shot {} is over the {} a picture may be even at {} px",
                        shot + 1,
                        mb(limits.image_bytes),
                        FRAME_LEVELS[FRAME_LEVELS.len() - 1].side
                    ));
                };
                images_bytes += e.base64.len();
            }
        }
        let times: Vec<Vec<u32>> =
            kept.iter().enumerate().map(|(s, ks)| ks.iter().map(|&k| frames[s][k].0).collect()).collect();
        let request_bytes = text_bytes(&times) + images_bytes;
        let fits =
            count <= limits.images && images_bytes <= limits.images_bytes && request_bytes <= limits.request_bytes;
        if fits {
            let photos = photo_cache
                .iter_mut()
                .map(|c| c.within(&PHOTO_LEVELS, photo_level, side, limits.image_bytes).cloned())
                .collect::<Option<Vec<_>>>()
                .ok_or("a photo no longer fits")?;
            let mut chosen = Vec::with_capacity(kept.len());
            for (s, ks) in kept.iter().enumerate() {
                let mut shot = Vec::with_capacity(ks.len());
                for &k in ks {
                    let e = frame_cache[s][k]
                        .within(&FRAME_LEVELS, frame_level, side, limits.image_bytes)
                        .cloned()
                        .ok_or("a frame no longer fits")?;
                    shot.push((frames[s][k].0, e));
                }
                chosen.push(shot);
            }
            return Ok(Fitted { photos, frames: chosen, request_bytes, shrunk });
        }
        // The shot with the most frames left, when one has more than one.
        let fullest = (0..kept.len()).filter(|&s| kept[s].len() > 1).max_by_key(|&s| (kept[s].len(), usize::MAX - s));
        let mut drop_one = |s: usize, shrunk: &mut Vec<String>| {
            let n = kept[s].len() - 1;
            kept[s] = crate::media::contact_sheet::evenly((0..frames[s].len()).collect(), n);
            shrunk.push(format!("shot {} sends {n} of its {} frames", s + 1, frames[s].len()));
        };
        match fullest {
            Some(s) if count > limits.images => drop_one(s, &mut shrunk),
            _ if frame_level < SHRINK_BEFORE_DROPPING => {
                frame_level += 1;
                shrunk.push(format!(
                    "frames at {} px, quality {}",
                    FRAME_LEVELS[frame_level].side, FRAME_LEVELS[frame_level].quality
                ));
            }
            Some(s) => drop_one(s, &mut shrunk),
            None if frame_level + 1 < FRAME_LEVELS.len() => {
                frame_level += 1;
                shrunk.push(format!(
                    "frames at {} px, quality {}",
                    FRAME_LEVELS[frame_level].side, FRAME_LEVELS[frame_level].quality
                ));
            }
            None if photo_level + 1 < PHOTO_LEVELS.len() => {
                photo_level += 1;
                shrunk.push(format!(
                    "photos at {} px, quality {}",
                    PHOTO_LEVELS[photo_level].side, PHOTO_LEVELS[photo_level].quality
                ));
            }
            None => {
                let over = if count > limits.images {
                    format!("{count} pictures, over the {} allowed", limits.images)
                } else if images_bytes > limits.images_bytes {
                    format!("{} of pictures, over the {} allowed", mb(images_bytes), mb(limits.images_bytes))
                } else {
                    format!("a request of {}, over the {} allowed", mb(request_bytes), mb(limits.request_bytes))
                };
                return Err(format!(
                    "{} photos and one frame per shot at the smallest sizes still make {over}",
                    photos.len()
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(w: u32, h: u32, seed: u64) -> RgbImage {
        let mut rng = fastrand::Rng::with_seed(seed);
        RgbImage::from_fn(w, h, |_, _| image::Rgb([rng.u8(..), rng.u8(..), rng.u8(..)]))
    }

    fn limits() -> Limits {
        Limits {
            request_bytes: usize::MAX,
            images_bytes: usize::MAX,
            image_bytes: usize::MAX,
            images: 100,
            max_side: 8000,
            many_images: Some((20, 2000)),
        }
    }

    fn frames(shots: usize, per: usize) -> Vec<Vec<(u32, RgbImage)>> {
        (0..shots)
            .map(|s| (0..per).map(|k| ((s * 1000 + k * 100) as u32, noise(432, 768, (s * 10 + k) as u64))).collect())
            .collect()
    }

    /// Within every limit, everything goes at the wanted sizes; pictures are never made larger.
    #[test]
    fn what_fits_goes_as_it_is() {
        let photos = vec![noise(3000, 2000, 1), noise(300, 200, 2)];
        let fitted = fit(&photos, &frames(2, 3), &limits(), &|_| 1000).unwrap();
        assert!(fitted.shrunk.is_empty(), "{:?}", fitted.shrunk);
        assert_eq!((fitted.photos[0].width, fitted.photos[0].height), (1536, 1024));
        assert_eq!((fitted.photos[1].width, fitted.photos[1].height), (300, 200));
        assert!(fitted.frames.iter().all(|s| s.len() == 3 && s.iter().all(|(_, e)| e.height == 768)));
    }

    /// Over the request's limit, frames shrink, then go (each shot keeping one), and the photos
    /// all stay; what cannot fit at all is said.
    #[test]
    fn a_request_over_the_limit_is_shrunk_and_frames_dropped_never_photos() {
        let photos = vec![noise(1200, 1600, 1)];
        let all = fit(&photos, &frames(3, 6), &limits(), &|_| 1000).unwrap();
        let total = all.request_bytes;
        let budget = total / 4;
        let small = Limits { request_bytes: budget, ..limits() };
        let fitted = fit(&photos, &frames(3, 6), &small, &|_| 1000).unwrap();
        assert!(fitted.request_bytes <= budget, "{} > {budget}", fitted.request_bytes);
        assert_eq!(fitted.photos.len(), 1);
        assert!(fitted.frames.iter().all(|s| !s.is_empty()), "every shot keeps a frame");
        assert!(fitted.frames.iter().map(Vec::len).sum::<usize>() < 18, "{:?}", fitted.shrunk);
        assert!(!fitted.shrunk.is_empty());

        let err = fit(&photos, &frames(3, 6), &Limits { request_bytes: 5_000, ..limits() }, &|_| 1000).unwrap_err();
        assert!(err.contains("still make a request of"), "{err}");
    }

    /// One picture over its own limit is made smaller; more pictures than allowed drop frames; and
    /// many pictures keep to the lower side.
    #[test]
    fn per_picture_count_and_side_limits_are_kept() {
        let photos = vec![noise(1600, 1600, 3)];
        let per_picture = Limits { image_bytes: 200_000, ..limits() };
        let fitted = fit(&photos, &frames(1, 2), &per_picture, &|_| 0).unwrap();
        assert!(
            fitted.photos[0].base64.len() <= 200_000 && fitted.photos[0].width < 1536,
            "{}",
            fitted.photos[0].width
        );

        let few = Limits { images: 5, ..limits() };
        let fitted = fit(&photos, &frames(2, 4), &few, &|_| 0).unwrap();
        assert_eq!(1 + fitted.frames.iter().map(Vec::len).sum::<usize>(), 5);

        let narrow = Limits { many_images: Some((3, 500)), ..limits() };
        let fitted = fit(&photos, &frames(2, 2), &narrow, &|_| 0).unwrap();
        assert!(fitted.photos[0].width <= 500 && fitted.frames[0][0].1.height <= 500);
    }
}
