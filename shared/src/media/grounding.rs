//! A reference photo as the judges see it ([`Grounding`]), and the photos of one judged cut,
//! each decoded once however many judges and shots ask for it ([`Groundings`]).

use super::photo;
use image::RgbImage;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use truereel_pixels::align::Pyramid;
use truereel_pixels::frames::luma;

/// Photos are judged at most this many pixels a side.
const PHOTO_SIDE: u32 = 512;

/// The photo a shot was grounded in, as people see it ([`photo`]: upright, over white), at most
/// [`PHOTO_SIDE`] pixels a side, and where its product is (normalised `[x0, y0, x1, y1]`).
pub struct Grounding {
    pub photo: RgbImage,
    pub product: [f64; 4],
    /// Its luma pyramid, made when a judge first lines a frame up with it.
    pyramid: OnceLock<Pyramid>,
}

impl Grounding {
    /// Reads and decodes the photo at `path` and finds its product; the error names the file.
    pub fn open(path: &Path) -> Result<Self, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let img = photo::decode_upright(&bytes).map_err(|e| format!("{}: {e}", path.display()))?.image;
        let small =
            if img.width().max(img.height()) > PHOTO_SIDE { img.thumbnail(PHOTO_SIDE, PHOTO_SIDE) } else { img };
        let b = super::analyse(&small).subject;
        Ok(Self { photo: photo::on_white(small), product: [b.x0, b.y0, b.x1, b.y1], pyramid: OnceLock::new() })
    }

    /// The photo's luma and its halvings ([`Pyramid`]), made once for every judge.
    pub fn pyramid(&self) -> &Pyramid {
        self.pyramid.get_or_init(|| Pyramid::new(luma(&self.photo)))
    }
}

type Opening = Arc<tokio::sync::OnceCell<Result<Arc<Grounding>, String>>>;

/// The photos of one judged cut by file, each decoded once (off the async threads) whichever
/// judge asks first; the others wait for it. Clones share the photos.
#[derive(Clone, Default)]
pub struct Groundings(Arc<Mutex<HashMap<PathBuf, Opening>>>);

impl Groundings {
    /// The photo at `path` ([`Grounding::open`]); the error names the file.
    pub async fn open(&self, path: &Path) -> Result<Arc<Grounding>, String> {
        let cell = self.0.lock().unwrap_or_else(|e| e.into_inner()).entry(path.to_path_buf()).or_default().clone();
        let opened = cell
            .get_or_init(|| {
                let path = path.to_path_buf();
                async move {
                    let shown = path.display().to_string();
                    tokio::task::spawn_blocking(move || Grounding::open(&path).map(Arc::new))
                        .await
                        .unwrap_or_else(|e| Err(format!("{shown}: decoding failed: {e}")))
                }
            })
            .await;
        opened.clone()
    }
}

impl std::fmt::Debug for Groundings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.lock().map_or(0, |m| m.len());
        write!(f, "Groundings({n} photos)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::testutil::{RED, WHITE, jpeg_turned, picture};

    /// The judge sees the photo as the renderer draws it: turned upright by its EXIF orientation.
    #[test]
    fn a_photo_is_judged_upright_and_an_unreadable_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("turned");
        std::fs::write(&path, jpeg_turned(&picture(160, 80, WHITE, &[(40, 20, 120, 60, RED)]), 6)).unwrap();
        let g = Grounding::open(&path).unwrap();
        assert_eq!(g.photo.dimensions(), (80, 160));
        let [x0, y0, x1, y1] = g.product;
        assert!((x1 - x0) * 80.0 < (y1 - y0) * 160.0, "the product stands upright too: {:?}", g.product);

        std::fs::write(&path, b"not a photo").unwrap();
        let e = Grounding::open(&path).err().unwrap();
        assert!(e.contains("turned"), "{e}");
    }

    #[tokio::test]
    async fn a_photo_is_decoded_once_for_every_judge() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("photo");
        std::fs::write(&path, jpeg_turned(&picture(160, 80, WHITE, &[(40, 20, 120, 60, RED)]), 1)).unwrap();
        let (photos, judge) = (Groundings::default(), Groundings::default());
        let other = photos.clone();
        let (a, b) = tokio::join!(photos.open(&path), other.open(&path));
        assert!(judge.0.lock().unwrap().is_empty(), "another cut's photos are its own");
        assert!(Arc::ptr_eq(&a.unwrap(), &b.unwrap()));
        let missing = photos.open(&dir.path().join("gone")).await.err().unwrap();
        assert!(missing.contains("gone"), "{missing}");
    }
}
