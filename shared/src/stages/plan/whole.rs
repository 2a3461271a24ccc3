//! Whole-reel plans (`--whole-reel`, or the brand kit's `whole_reel`): one clip for the whole reel
//! from a provider that makes a product ad out of several photos (Runway's `product_ad` recipe).
//!
//! The reel is planned and voiced as usual (shots, lines, their times in the voice-over and the
//! captions), then its shots become one: grounded in the first shot's photo, with the other photos
//! of the colour as extra references (the shots' own first, then the rest of the gallery, at most
//! [`MAX_PHOTOS`] in all), lasting the whole reel (at most 15 s: the recipe's longest). A provider
//! that makes one clip per shot (the offline renderer, a fall-over) renders that one shot over the
//! main photo like any other. The brand kit's style images (files; at most [`MAX_STYLE_IMAGES`])
//! are stored with the reel for the provider.

use super::super::support::blob_err;
use super::framing_of;
use crate::media::camera;
use crate::stages::{Ports, StageError};
use crate::{BlobKey, BrandKit, LineTiming, ReelId, Reference, Sha256, Shot};

/// Product photos a whole-reel clip takes at most (Runway's product ads: 1–10).
pub const MAX_PHOTOS: usize = 10;
/// Style images it takes at most (0–4).
pub const MAX_STYLE_IMAGES: usize = 4;

/// Reel `id`'s `shots` made one shot spanning them; `lines` re-pointed at it.
pub async fn merge(
    ports: &Ports,
    id: &ReelId,
    shots: Vec<Shot>,
    photos: &[&Reference],
    lines: &mut [LineTiming],
) -> Result<Shot, StageError> {
    let first =
        shots.first().cloned().ok_or_else(|| StageError::new(format!("{id}: planning a whole reel"), "no shots"))?;
    let duration_ms: u32 = shots.iter().map(|s| s.duration_ms).sum();
    let mut extra: Vec<Sha256> = Vec::new();
    let others = shots.iter().map(|s| &s.reference).chain(photos.iter().map(|p| &p.sha256));
    for sha in others {
        if *sha != first.reference && !extra.contains(sha) && extra.len() + 1 < MAX_PHOTOS {
            extra.push(sha.clone());
        }
    }
    let main = photos.iter().find(|p| p.sha256 == first.reference);
    let camera = match main {
        Some(r) => {
            let framing = framing_of(ports, r).await?;
            let (w, h) = (ports.settings.width, ports.settings.height);
            camera::compose_for(r.width, r.height, &framing, first.motion, w, h, duration_ms)
        }
        None => first.camera,
    };
    for l in lines.iter_mut() {
        l.shot = 0;
    }
    let line = shots.iter().map(|s| s.line.trim()).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
    Ok(Shot {
        index: 0,
        direction: camera::describe(&camera, first.motion),
        camera,
        duration_ms,
        line,
        extra_references: extra,
        ..first
    })
}

/// The brand kit's style images stored with reel `id` (files only); what could not be used is
/// said in `notes`.
pub async fn store_style_images(
    ports: &Ports,
    id: &ReelId,
    brand: &BrandKit,
    notes: &mut Vec<String>,
) -> Result<Vec<BlobKey>, StageError> {
    let mut keys = Vec::new();
    for (n, source) in brand.reference_images.iter().enumerate() {
        if keys.len() == MAX_STYLE_IMAGES {
            notes.push(format!("style image {source} left out: models take at most {MAX_STYLE_IMAGES}"));
            continue;
        }
        if source.contains("://") {
            notes.push(format!("style image {source} left out: only files beside the brand kit are sent"));
            continue;
        }
        let bytes = match tokio::fs::read(source).await {
            Ok(b) => b,
            Err(e) => {
                notes.push(format!("style image {source} left out: {e}"));
                continue;
            }
        };
        let Ok(format) = image::guess_format(&bytes) else {
            notes.push(format!("style image {source} left out: not a picture"));
            continue;
        };
        let key = BlobKey::style_image(id, n as u32);
        let mime = format.to_mime_type();
        ports.blobs.put(&key, bytes.into(), mime).await.map_err(|e| blob_err("storing a style image", e))?;
        keys.push(key);
    }
    Ok(keys)
}
