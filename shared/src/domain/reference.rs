//! Reference photos: real photos of the exact product, content-addressed.

use super::{BlobKey, Framing, Handle, Sha256};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a reference photo shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhotoKind {
    /// The product on a person.
    ModelWorn,
    /// Studio, flat lay or ghost mannequin: the whole product on its own.
    Flat,
    /// A close crop of fabric, print or hardware.
    Detail,
}

impl PhotoKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ModelWorn => "model_worn",
            Self::Flat => "flat",
            Self::Detail => "detail",
        }
    }
}

impl fmt::Display for PhotoKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored reference photo of one product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    pub sha256: Sha256,
    pub product: Handle,
    pub kind: PhotoKind,
    /// 0..1: how sure the classifier is of `kind`.
    pub kind_confidence: f32,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    /// `image/jpeg`, `image/png` or `image/webp`, from the magic bytes.
    pub mime: String,
    pub source_url: String,
    pub alt: Option<String>,
    /// 1-based gallery position.
    pub position: u32,
    pub blob: BlobKey,
    /// What the photo looks like (`stages::crawl::intake::photo_print`), to collapse renditions of one photo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub print: Option<PhotoPrint>,
    /// The store's variants this photo shows (Shopify `variant_ids`), when the store says.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variant_ids: Vec<u64>,
    /// The photo's backdrop and where the product sits, measured at intake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framing: Option<Framing>,
    /// 0..1: how sharp the photo is (edge energy of its working copy), measured at intake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharpness: Option<f32>,
    /// How the source identified this version (ETag, Last-Modified), to ask next time only if it changed.
    #[serde(default, skip_serializing_if = "Validators::is_empty")]
    pub validators: Validators,
}

/// A small likeness of a photo: a 256-bit difference hash of its grey thumbnail and its 4x4 colour
/// thumbnail (RGB, row by row). Two prints close in both are renditions of one photo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoPrint {
    pub dhash: [u64; 4],
    pub colours: Vec<u8>,
}

impl PhotoPrint {
    /// Renditions differ in at most this many of the 256 hash bits. Measured on the sample photos
    /// (`a_rendition_has_nearly_the_same_print` in intake): a half, quarter or eighth size re-encoded
    /// at JPEG quality 50 differs in at most 16 bits; the closest two different photos (the grey tee's
    /// front and back) in 34.
    pub const MAX_HASH_BITS: u32 = 20;
    /// ...and their colour thumbnails by at most this mean difference per channel (0–255): renditions
    /// measured at most 1.2; the red and the black hoodie (8 hash bits apart) 23.5, the tee's sides 5.2.
    pub const MAX_COLOUR_DIFFERENCE: f64 = 3.0;

    /// Whether `self` and `other` are renditions of one photo.
    pub fn same_photo(&self, other: &PhotoPrint) -> bool {
        let (bits, colours) = self.differences(other);
        colours.is_some_and(|c| bits <= Self::MAX_HASH_BITS && c <= Self::MAX_COLOUR_DIFFERENCE)
    }

    /// How many hash bits differ, and the mean difference of the colour thumbnails per channel
    /// (0–255; `None` when the thumbnails do not compare: empty, or of different sizes).
    pub fn differences(&self, other: &PhotoPrint) -> (u32, Option<f64>) {
        let bits: u32 = self.dhash.iter().zip(&other.dhash).map(|(a, b)| (a ^ b).count_ones()).sum();
        let n = self.colours.len();
        if n == 0 || n != other.colours.len() {
            return (bits, None);
        }
        let diff: f64 = self.colours.iter().zip(&other.colours).map(|(a, b)| f64::from(a.abs_diff(*b))).sum();
        (bits, Some(diff / n as f64))
    }
}

impl Reference {
    /// Width over height.
    pub fn aspect(&self) -> f64 {
        self.width as f64 / self.height.max(1) as f64
    }
}

/// What a server said to identify one version of a resource, for conditional requests next time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
}

impl Validators {
    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }
}
