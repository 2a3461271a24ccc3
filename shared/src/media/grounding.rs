//! A reference photo as the judges see it ([`Grounding`]), decoded once per judged cut however
//! many judges and shots ask for it ([`Grounding::shared`]).

use super::photo;
use crate::Sha256;
use crate::ports::Decoded;
use image::RgbImage;
use std::path::Path;
use std::sync::{Arc, OnceLock};
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

impl Grounding {
    /// The photo `sha` at `path` ([`Grounding::open`]), decoded once per cut for every judge
    /// ([`Decoded`]); the error names the file.
    pub async fn shared(photos: &Decoded, sha: &Sha256, path: &Path) -> Result<Arc<Grounding>, String> {
        let path = path.to_path_buf();
        photos.get_or_decode(sha, move || Grounding::open(&path)).await
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
        let (photos, sha) = (Decoded::default(), Sha256::of(b"photo"));
        let (other, copy) = (photos.clone(), dir.path().join("copy"));
        std::fs::copy(&path, &copy).unwrap();
        // Two judges, the same photo under two local names: one decode.
        let (a, b) = tokio::join!(Grounding::shared(&photos, &sha, &path), Grounding::shared(&other, &sha, &copy));
        assert!(Arc::ptr_eq(&a.unwrap(), &b.unwrap()));
        let another_cut = Grounding::shared(&Decoded::default(), &sha, &copy).await.unwrap();
        assert!(!Arc::ptr_eq(&another_cut, &Grounding::shared(&photos, &sha, &path).await.unwrap()));
        let missing = Grounding::shared(&photos, &Sha256::of(b"gone"), &dir.path().join("gone")).await.err().unwrap();
        assert!(missing.contains("gone"), "{missing}");
    }
}
