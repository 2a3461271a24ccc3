//! The photos a reel is matched against by the product-match validator
//! ([`crate::adapters::providers::judge::product_match`]): every stored photo of its own listing,
//! and the few photos of the store's other products that look most like it.
//!
//! A store may list thousands of products, so candidates are chosen without downloading a photo:
//! by the print every reference got at intake ([`crate::PhotoPrint`]: a difference hash and a 4x4
//! colour thumbnail), against the same print of the reel's frames (one a second, of the ones the
//! judges read) and of its listing's photos. Only the [`OTHER_PHOTOS`] nearest are
//! fetched from the blob store. Reading the other products' reference records (no pixels) is one
//! state query per product, [`QUERIES_AT_ONCE`] at a time.

use super::crawl::intake::photo_print;
use super::support::{local_copy, state_err};
use super::{Ports, StageError};
use crate::{PhotoPrint, Reel, Reference};
use std::path::{Path, PathBuf};

/// Photos of other products fetched per reel, the nearest by print.
pub const OTHER_PHOTOS: usize = 8;
/// The reel's frames printed per second of it.
pub const PROBE_FPS: u32 = 1;
/// Every how many of the judges' frames one is printed.
const PROBE_EVERY: usize = (crate::media::THUMBNAIL_FPS / PROBE_FPS) as usize;
/// Other products' reference records read at once.
pub const QUERIES_AT_ONCE: usize = 16;

/// The listing's photos and the other products' candidates, as local files.
#[derive(Debug, Default)]
pub struct MatchPhotos {
    pub gallery: Vec<(Reference, PathBuf)>,
    pub others: Vec<(Reference, PathBuf)>,
}

/// How far apart two prints are, 0 (the same) to 2: the share of the 256 hash bits that differ
/// plus the mean difference of the colour thumbnails per channel over 255.
pub fn print_distance(a: &PhotoPrint, b: &PhotoPrint) -> f64 {
    let (bits, colours) = a.differences(b);
    bits as f64 / 256.0 + colours.map_or(1.0, |c| c / 255.0)
}

/// The `k` photos of `candidates` nearest to any of `probes` by print (those without a print
/// last), nearest first.
pub fn nearest(probes: &[PhotoPrint], candidates: Vec<Reference>, k: usize) -> Vec<Reference> {
    let distance = |r: &Reference| {
        r.print
            .as_ref()
            .map_or(f64::INFINITY, |p| probes.iter().map(|q| print_distance(q, p)).fold(f64::INFINITY, f64::min))
    };
    let mut ranked: Vec<(f64, Reference)> = candidates.into_iter().map(|r| (distance(&r), r)).collect();
    ranked.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.sha256.cmp(&b.1.sha256)));
    ranked.into_iter().take(k).map(|(_, r)| r).collect()
}

/// `reel`'s listing photos (`own`: every stored reference of its product) and the
/// [`OTHER_PHOTOS`] photos of the store's other products nearest to the reel's frames (`frames`:
/// the ones the judges read, at [`crate::media::THUMBNAIL_FPS`]; `None` when they could not be
/// read, and the judges say why) and its listing's photos, copied into `dir` when the blob store is
/// not a folder. A photo gone from the blob store is left out (the shots' own references are
/// checked before judging).
pub async fn match_photos(
    ports: &Ports,
    reel: &Reel,
    own: &[Reference],
    frames: Option<&[image::RgbImage]>,
    dir: &Path,
) -> Result<MatchPhotos, StageError> {
    let mut out = MatchPhotos::default();
    for r in own {
        if let Some(path) = fetched(ports, r, dir, "own").await {
            out.gallery.push((r.clone(), path));
        }
    }
    let store = match ports.state.get_product(&reel.product).await.map_err(|e| state_err("reading a product", e))? {
        Some(p) => p.store,
        None => return Ok(out),
    };
    let products = ports.state.list_products().await.map_err(|e| state_err("listing products", e))?;
    let handles: Vec<_> =
        products.into_iter().filter(|p| p.store == store && p.handle != reel.product).map(|p| p.handle).collect();
    if handles.is_empty() {
        return Ok(out);
    }
    let mut candidates = Vec::new();
    for chunk in handles.chunks(QUERIES_AT_ONCE) {
        let mut reading = tokio::task::JoinSet::new();
        for h in chunk {
            let (state, h) = (ports.state.clone(), h.clone());
            reading.spawn(async move { state.references(&h).await });
        }
        while let Some(read) = reading.join_next().await {
            let refs = read.map_err(|e| StageError::new("reading references", e))?;
            candidates.extend(refs.map_err(|e| state_err("reading references", e))?);
        }
    }
    let own_shas: std::collections::BTreeSet<_> = own.iter().map(|r| &r.sha256).collect();
    candidates.retain(|r| !own_shas.contains(&r.sha256));
    let mut probes: Vec<PhotoPrint> = own.iter().filter_map(|r| r.print.clone()).collect();
    if let Some(frames) = frames {
        let seen: Vec<image::RgbImage> = frames.iter().step_by(PROBE_EVERY).cloned().collect();
        let printed = tokio::task::spawn_blocking(move || {
            seen.into_iter().map(|f| photo_print(&image::DynamicImage::ImageRgb8(f))).collect::<Vec<_>>()
        })
        .await
        .map_err(|e| StageError::new("printing frames", e))?;
        probes.extend(printed);
    }
    for r in nearest(&probes, candidates, OTHER_PHOTOS) {
        if let Some(path) = fetched(ports, &r, dir, "other").await {
            out.others.push((r, path));
        }
    }
    Ok(out)
}

/// `r`'s photo as a local file, or `None` when it is gone from the blob store.
async fn fetched(ports: &Ports, r: &Reference, dir: &Path, prefix: &str) -> Option<PathBuf> {
    let name = format!("{prefix}-{}", r.sha256.short(16));
    match local_copy(ports, &r.blob, dir, &name).await {
        Ok(p) if p.exists() => Some(p),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(photo = %r.blob, error = %e, "A photo to match against is not in the blob store.");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(n: u8, print: Option<PhotoPrint>) -> Reference {
        let mut r = crate::contract::sample_reference(&crate::Handle::parse("other").unwrap(), n as u32);
        r.sha256 = crate::Sha256::of(&[n]);
        r.print = print;
        r
    }

    fn print_of(name: &str) -> PhotoPrint {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/store/photos").join(name);
        photo_print(&image::open(path).unwrap())
    }

    /// The nearest by print come first, at most `k`, those without a print last.
    #[test]
    fn the_nearest_photos_by_print_are_chosen() {
        let (shoes, tee, hoodie) = (
            print_of("slipon-blue-side.jpg"),
            print_of("tee-grey-front-flat.jpg"),
            print_of("hoodie-red-front-flat.jpg"),
        );
        assert_eq!(print_distance(&shoes, &shoes), 0.0);
        assert!(print_distance(&shoes, &tee) > 0.1, "{}", print_distance(&shoes, &tee));
        let candidates = vec![reference(1, None), reference(2, Some(tee.clone())), reference(3, Some(shoes.clone()))];
        let chosen = nearest(std::slice::from_ref(&shoes), candidates.clone(), 2);
        assert_eq!(
            chosen.iter().map(|r| r.sha256.clone()).collect::<Vec<_>>(),
            [candidates[2].sha256.clone(), candidates[1].sha256.clone()]
        );
        // A candidate near any probe counts.
        let chosen = nearest(&[hoodie, tee.clone()], candidates.clone(), 1);
        assert_eq!(chosen[0].sha256, candidates[1].sha256);
        assert_eq!(nearest(&[tee], candidates, OTHER_PHOTOS).len(), 3, "fewer than K: all of them");
    }
}
