//! Reference photos: real photos of the exact product, content-addressed.

use super::{BlobKey, Handle, Sha256};
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
}

impl Reference {
    /// Width over height.
    pub fn aspect(&self) -> f64 {
        self.width as f64 / self.height.max(1) as f64
    }
}
