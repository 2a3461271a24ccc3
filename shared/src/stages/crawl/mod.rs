//! Crawl: list a store, fan out one message per product, and take in each product's photos ([`intake`]).

pub mod intake;

use super::support::{blob_err, issue, send, state_err};
use super::{Outcome, StageError};
use crate::messages::{CrawlMsg, PlanMsg, PlanOptions};
use crate::ports::{ImageFetch, PhotoHints, StorefrontError, Validators};
use crate::stages::Ports;
use crate::{BlobKey, Handle, Product, ProductListing, ReelId, ReelStatus, Reference, Sha256, now_ms};
use intake::PhotoLimits;
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

const STAGE: &str = "crawl";

pub async fn run(ports: &Ports, msg: CrawlMsg) -> Result<Outcome, StageError> {
    match msg {
        CrawlMsg::Store { store, only, crawl_only, plan } => {
            list_store(ports, &store, only.as_deref(), crawl_only, plan).await
        }
        CrawlMsg::Product { store, listing, crawl_only, plan } => {
            take_in(ports, &store, *listing, crawl_only, plan).await
        }
    }
}

/// Lists the store and enqueues one intake message per product.
async fn list_store(
    ports: &Ports,
    store: &str,
    only: Option<&[String]>,
    crawl_only: bool,
    plan: PlanOptions,
) -> Result<Outcome, StageError> {
    let source = match ports.storefronts.open(store) {
        Ok(s) => s,
        Err(e) if !e.is_transient() => {
            issue(ports, store, STAGE, true, e.to_string()).await?;
            return Ok(Outcome::Failed(crate::redact(&e.to_string())));
        }
        Err(e) => return Err(StageError::new(format!("opening store {}", crate::redact(store)), e)),
    };
    let listings = match source.list().await {
        Ok(l) => l,
        Err(e) if !e.is_transient() => {
            issue(ports, store, STAGE, true, e.to_string()).await?;
            return Ok(Outcome::Failed(crate::redact(&e.to_string())));
        }
        Err(e) => return Err(StageError::new(format!("listing {}", source.describe()), e)),
    };
    let wanted: Option<BTreeSet<&str>> = only.map(|o| o.iter().map(String::as_str).collect());
    let mut seen = BTreeSet::new();
    let (mut sent, mut bad) = (0, 0);
    for entry in listings {
        match entry {
            Err(e) => {
                if wanted.as_ref().is_none_or(|w| w.contains(e.product.as_str())) {
                    bad += 1;
                    issue(ports, &e.product, STAGE, true, e.reason.clone()).await?;
                }
            }
            Ok(listing) => {
                if wanted.as_ref().is_some_and(|w| !w.contains(listing.handle.as_str())) {
                    continue;
                }
                if !seen.insert(listing.handle.clone()) {
                    issue(ports, listing.handle.as_str(), STAGE, false, "listed twice; the first entry is used")
                        .await?;
                    continue;
                }
                let msg = CrawlMsg::Product {
                    store: store.to_string(),
                    listing: Box::new(listing),
                    crawl_only,
                    plan: plan.clone(),
                };
                send(ports, msg, Duration::ZERO).await?;
                sent += 1;
            }
        }
    }
    if let Some(w) = &wanted {
        for missing in w.iter().filter(|h| !seen.iter().any(|s| s.as_str() == **h)) {
            issue(ports, missing, STAGE, true, format!("not found in {}", source.describe())).await?;
            bad += 1;
        }
    }
    tracing::info!(store = %crate::redact(store), products = sent, rejected = bad, "Listed the store.");
    Ok(Outcome::Done(format!("{sent} products listed, {bad} rejected")))
}

/// Fetches, checks, classifies and stores one product's photos, then hands it to planning.
/// A photo the source says is unchanged since the last crawl (validators) is not fetched again;
/// renditions of one photo (perceptual hashes a few bits apart) collapse to the largest.
async fn take_in(
    ports: &Ports,
    store: &str,
    listing: ProductListing,
    crawl_only: bool,
    plan: PlanOptions,
) -> Result<Outcome, StageError> {
    let product = listing.handle.clone();
    let name = product.as_str();
    let source = match ports.storefronts.open(store) {
        Ok(s) => s,
        Err(e) if e.is_transient() => {
            return Err(StageError::new(format!("opening store {}", crate::redact(store)), e));
        }
        Err(e) => {
            issue(ports, name, STAGE, true, e.to_string()).await?;
            return Ok(Outcome::Failed(crate::redact(&e.to_string())));
        }
    };
    // A listing that only names its product page (sitemap stores) is read here, one product per message.
    let listing = match source.complete(listing).await {
        Ok(Some(l)) => l,
        Ok(None) => return Ok(Outcome::Skipped(format!("{name}: the page is not a product"))),
        Err(e) if e.is_transient() => return Err(StageError::new(format!("product {name}: reading its page"), e)),
        Err(e) => {
            let why = short_reason(&e);
            issue(ports, name, STAGE, true, why.clone()).await?;
            return Ok(Outcome::Failed(why));
        }
    };
    if listing.images.is_empty() {
        let why = "the store lists no images for it".to_string();
        issue(ports, name, STAGE, true, why.clone()).await?;
        return Ok(Outcome::Failed(why));
    }
    let known = ports.state.references(&product).await.map_err(|e| state_err("reading known references", e))?;
    let known: HashMap<&str, &Reference> = known.iter().map(|r| (r.source_url.as_str(), r)).collect();

    let mut images = listing.images.clone();
    images.sort_by_key(|i| i.position);
    let listed = images.len();
    let cap = ports.settings.max_photos_per_product.max(1);
    // What the source changed in the store's text (copy cut to its limit), then what intake skipped.
    let mut notes = listing.notes.clone();
    if listed > cap {
        images.truncate(cap);
        notes.push(format!(
            "took {cap} of {listed} photos (the first {cap} in the store's order; TRUEREEL_MAX_PHOTOS_PER_PRODUCT)"
        ));
    }
    let budgets = Budgets::new(ports.settings.photo_budget, ports.settings.product_budget);
    let mut references: Vec<Reference> = Vec::new();
    let mut by_sha: HashMap<Sha256, usize> = HashMap::new();
    let mut rejected = Vec::new();
    // Failures a later try may mend (5xx, 429, dropped connections), as opposed to answers that stay wrong.
    let mut mendable = 0;
    let mut unchanged = 0;
    for (n, image) in images.iter().enumerate() {
        let Some(budget) = budgets.for_next_photo() else {
            rejected.push(format!(
                "{} photos not tried: the product's {} budget was spent",
                images.len() - n,
                secs(budgets.product)
            ));
            break;
        };
        let mut before = known.get(image.src.as_str()).copied();
        // A reference whose photo is gone from the blob store is fetched again in full.
        if let Some(r) = before
            && ports.blobs.head(&r.blob).await.map_err(|e| blob_err("checking a reference", e))?.is_none()
        {
            issue(
                ports,
                name,
                STAGE,
                false,
                format!("photo {} was missing from the blob store; fetched again", r.blob),
            )
            .await?;
            before = None;
        }
        let fetch = source.fetch_image(&image.src, before.map(|r| &r.validators));
        let fetched = match tokio::time::timeout(budget, fetch).await {
            Err(_) => {
                rejected.push(format!("{}: {}", image.src, budgets.ran_out(budget)));
                continue;
            }
            Ok(Ok(f)) => f,
            Ok(Err(e)) => {
                // One photo that still fails after the fetcher's own retries is skipped, not the product.
                mendable += usize::from(e.is_transient());
                rejected.push(format!("{}: {}", image.src, short_reason(&e)));
                continue;
            }
        };
        let reference = match (fetched, before) {
            (ImageFetch::NotModified, Some(before)) => {
                unchanged += 1;
                // The photo is the same; what the store says of it (alt text, place, variants) may not be.
                let mut r = Reference {
                    alt: image.alt.clone(),
                    position: image.position,
                    variant_ids: image.variant_ids.clone(),
                    ..before.clone()
                };
                if r.framing.is_none() || r.sharpness.is_none() {
                    (r.framing, r.sharpness) = measure_stored(ports, &r).await;
                }
                r
            }
            (ImageFetch::NotModified, None) => {
                rejected.push(format!("{}: the source answered 'not modified' to a first request", image.src));
                continue;
            }
            (ImageFetch::Fresh { bytes, validators }, _) => {
                match take_in_photo(ports, &product, image, bytes, validators).await? {
                    Ok(r) => r,
                    Err(why) => {
                        rejected.push(format!("{}: {why}", image.src));
                        continue;
                    }
                }
            }
        };
        // The same photo twice (by its bytes, through an index), or another rendition of it (by likeness,
        // at most `cap` photos to compare): one reference, the larger one.
        let twin = by_sha
            .get(&reference.sha256)
            .copied()
            .or_else(|| references.iter().position(|r| same_photo(&r.print, &reference.print)));
        if let Some(at) = twin {
            let twin = &mut references[at];
            // The renditions show the same variants: the kept one names them all.
            let mut variant_ids = std::mem::take(&mut twin.variant_ids);
            for id in &reference.variant_ids {
                if !variant_ids.contains(id) {
                    variant_ids.push(*id);
                }
            }
            if u64::from(reference.width) * u64::from(reference.height) > u64::from(twin.width) * u64::from(twin.height)
            {
                by_sha.insert(reference.sha256.clone(), at);
                *twin = Reference { position: twin.position, ..reference };
            }
            twin.variant_ids = variant_ids;
            continue;
        }
        by_sha.insert(reference.sha256.clone(), references.len());
        references.push(reference);
    }
    // No photo came in and every failure may mend on a later try (the CDN is down): the message is tried
    // again after the runner's backoff, and nothing is recorded on a try that is handed back.
    let try_again = references.is_empty() && mendable > 0 && mendable == rejected.len();
    if try_again {
        let why = format!("no usable photos yet ({})", rejected.join("; "));
        return Err(StageError::new(format!("product {name}"), why));
    }
    notes.extend(rejected.iter().map(|r| format!("photo skipped: {r}")));
    for note in notes {
        issue(ports, name, STAGE, false, note).await?;
    }
    if references.is_empty() {
        let why = format!("no usable photos ({})", rejected.join("; "));
        issue(ports, name, STAGE, true, why.clone()).await?;
        return Ok(Outcome::Failed(why));
    }
    for r in &references {
        ports.state.put_reference(r).await.map_err(|e| state_err("storing a reference record", e))?;
    }
    let shas: Vec<Sha256> = references.iter().map(|r| r.sha256.clone()).collect();
    let gallery_hash = Product::gallery_hash(&shas, &listing.title, &listing.description);
    let record = Product {
        handle: product.clone(),
        title: listing.title,
        description: listing.description,
        vendor: listing.vendor,
        product_type: listing.product_type,
        price: listing.price,
        currency: listing.currency,
        options: listing.options,
        variants: listing.variants,
        references: shas,
        gallery_hash: gallery_hash.clone(),
        store: store.to_string(),
        updated_ms: now_ms(),
    };
    ports.state.put_product(&record).await.map_err(|e| state_err("storing a product", e))?;
    let found = format!("{name}: {} photos ({unchanged} unchanged since the last crawl)", references.len());
    if crawl_only {
        return Ok(Outcome::Done(found));
    }

    let reel = ReelId::new(&product, &gallery_hash);
    if !plan.per_variant
        && let Some(existing) = ports.state.get_reel(&reel).await.map_err(|e| state_err("reading a reel", e))?
        && existing.status == ReelStatus::Published
        && let Some(file) = &existing.published
        && ports.blobs.head(file).await.map_err(|e| blob_err("checking a published reel", e))?.is_some()
    {
        return Ok(Outcome::Skipped(format!("{name}: unchanged since its published reel")));
    }
    send(ports, PlanMsg::new(product.clone(), plan), Duration::ZERO).await?;
    Ok(Outcome::Done(found))
}

/// Checks, classifies and stores one fetched photo: the reference, or why the photo is unusable.
async fn take_in_photo(
    ports: &Ports,
    product: &Handle,
    image: &crate::ListedImage,
    bytes: bytes::Bytes,
    validators: Validators,
) -> Result<Result<Reference, String>, StageError> {
    let raw = bytes.clone();
    let photo = match tokio::task::spawn_blocking(move || intake::inspect(&raw, &PhotoLimits::default())).await {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => return Ok(Err(e.to_string())),
        Err(e) => return Err(StageError::new(format!("product {product}: checking {}", image.src), e)),
    };
    let hints = PhotoHints {
        alt: image.alt.clone(),
        file_name: image.src.rsplit('/').next().map(str::to_string),
        position: Some(image.position),
    };
    let class = ports.classifier.classify(&photo.image, &hints).await;
    let blob = BlobKey::reference(&photo.sha256, photo.ext);
    // Content-addressed: a photo already stored (by this or another product) is not written again.
    if ports.blobs.head(&blob).await.map_err(|e| blob_err("checking a reference", e))?.is_none() {
        ports.blobs.put(&blob, bytes, photo.mime).await.map_err(|e| blob_err("storing a reference", e))?;
    }
    Ok(Ok(Reference {
        sha256: photo.sha256.clone(),
        product: product.clone(),
        kind: class.kind,
        kind_confidence: class.confidence,
        width: photo.width,
        height: photo.height,
        bytes: photo.bytes,
        mime: photo.mime.to_string(),
        source_url: image.src.clone(),
        alt: image.alt.clone(),
        position: image.position,
        variant_ids: image.variant_ids.clone(),
        framing: Some(photo.framing),
        sharpness: Some(photo.sharpness),
        blob,
        print: Some(photo.print),
        validators,
    }))
}

/// Framing and sharpness of a reference stored before intake measured them, from its stored photo (no
/// second download); unknown if the photo cannot be read.
async fn measure_stored(ports: &Ports, r: &Reference) -> (Option<crate::Framing>, Option<f32>) {
    let bytes = match ports.blobs.get(&r.blob).await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(blob = %r.blob, error = %e, "Could not read a stored photo to measure it.");
            return (r.framing, r.sharpness);
        }
    };
    match tokio::task::spawn_blocking(move || intake::inspect(&bytes, &PhotoLimits::default())).await {
        Ok(Ok(photo)) => (Some(photo.framing), Some(photo.sharpness)),
        Ok(Err(e)) => {
            tracing::warn!(blob = %r.blob, error = %e, "A stored photo no longer passes intake; left unmeasured.");
            (r.framing, r.sharpness)
        }
        Err(e) => {
            tracing::warn!(blob = %r.blob, error = %e, "Measuring a stored photo failed.");
            (r.framing, r.sharpness)
        }
    }
}

/// The time one product's photos may take: each photo its own budget, all of them the product's.
struct Budgets {
    photo: Duration,
    product: Duration,
    deadline: Instant,
}

impl Budgets {
    fn new(photo: Duration, product: Duration) -> Self {
        Self { photo, product, deadline: Instant::now() + product }
    }

    /// The time the next photo may take, or `None` once the product's budget is spent.
    fn for_next_photo(&self) -> Option<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        (!left.is_zero()).then(|| self.photo.min(left))
    }

    /// Why a photo given `budget` was cut.
    fn ran_out(&self, budget: Duration) -> String {
        if budget < self.photo {
            format!("cut when the product's {} budget was spent", secs(self.product))
        } else {
            format!("took longer than its {} budget (every attempt and wait included)", secs(self.photo))
        }
    }
}

fn secs(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

/// Whether two references are renditions of one photo (unknown likenesses never are).
fn same_photo(a: &Option<crate::PhotoPrint>, b: &Option<crate::PhotoPrint>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a.same_photo(b))
}

fn short_reason(e: &StorefrontError) -> String {
    match e {
        StorefrontError::Image { reason, .. } | StorefrontError::Unreadable { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

/// A product handle from a CLI `--only` list entry, checked.
pub fn parse_only(list: &str) -> Result<Vec<String>, crate::InvalidId> {
    list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| Handle::parse(s).map(|h| h.to_string())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::homes::embedded::Embedded;

    /// The sample store's hoodie, taken in: its options and variants reach the product, the store's
    /// `variant_ids` reach the references, and every reference has its framing and sharpness.
    #[tokio::test]
    async fn the_sample_hoodie_keeps_its_variants_and_is_measured() {
        let dir = tempfile::tempdir().unwrap();
        let home = Embedded::open(dir.path(), &crate::config::Config::default()).unwrap();
        let ports = &home.ports;
        let store = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/store");
        let store = store.to_string_lossy();
        let listing =
            ports.storefronts.open(&store).unwrap().list().await.unwrap().into_iter().next().unwrap().unwrap();
        assert_eq!(listing.handle.as_str(), "pullover-hoodie");
        let outcome = take_in(ports, &store, listing, true, PlanOptions::default()).await.unwrap();
        assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");

        let handle = Handle::parse("pullover-hoodie").unwrap();
        let product = ports.state.get_product(&handle).await.unwrap().unwrap();
        assert_eq!(product.colour_option().map(|(_, o)| o.values.clone()), Some(vec!["Red".into(), "Black".into()]));
        assert_eq!(product.colour_of_variant(1001002), Some("Black"));
        let mut refs = ports.state.references(&handle).await.unwrap();
        refs.sort_by_key(|r| r.position);
        let tagged: Vec<_> = refs.iter().map(|r| (r.position, r.variant_ids.clone())).collect();
        assert_eq!(tagged, [(1, vec![1001001]), (2, vec![]), (3, vec![1001002])]);
        for r in &refs {
            let framing = r.framing.unwrap_or_else(|| panic!("{}: no framing", r.source_url));
            let sharpness = r.sharpness.unwrap_or_else(|| panic!("{}: no sharpness", r.source_url));
            assert!((0.5..0.9).contains(&sharpness), "{}: {sharpness}", r.source_url);
            // All three stand on white; the flats' subject box leaves a margin on every side.
            assert!(framing.uniform_background && framing.background == [255; 3], "{}: {framing:?}", r.source_url);
            if r.source_url.ends_with("front-flat.jpg") {
                let s = framing.subject;
                assert!(s.x0 > 0.0 && s.y0 > 0.0 && s.x1 < 1.0 && s.y1 < 1.0, "{}: {s:?}", r.source_url);
            }
        }

        // A reference stored before intake measured photos is measured from its stored photo when the
        // store says the photo is unchanged, and the store's variants are read again.
        for r in &refs {
            let old = Reference { framing: None, sharpness: None, variant_ids: vec![], ..r.clone() };
            ports.state.put_reference(&old).await.unwrap();
        }
        let listing =
            ports.storefronts.open(&store).unwrap().list().await.unwrap().into_iter().next().unwrap().unwrap();
        let outcome = take_in(ports, &store, listing, true, PlanOptions::default()).await.unwrap();
        assert!(matches!(&outcome, Outcome::Done(m) if m.contains("(3 unchanged")), "{outcome:?}");
        let mut again = ports.state.references(&handle).await.unwrap();
        again.sort_by_key(|r| r.position);
        assert_eq!(again, refs);
    }

    /// One photo listed twice for two variants is one reference naming both.
    #[tokio::test]
    async fn a_photo_listed_twice_names_the_variants_of_both() {
        let dir = tempfile::tempdir().unwrap();
        let home = Embedded::open(dir.path(), &crate::config::Config::default()).unwrap();
        let store = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/store");
        let store = store.to_string_lossy();
        let source = home.ports.storefronts.open(&store).unwrap();
        let mut listing = source.list().await.unwrap().into_iter().next().unwrap().unwrap();
        let mut twice = listing.images[0].clone();
        (twice.position, twice.variant_ids) = (4, vec![1001001, 7]);
        listing.images.push(twice);
        take_in(&home.ports, &store, listing, true, PlanOptions::default()).await.unwrap();
        let refs = home.ports.state.references(&Handle::parse("pullover-hoodie").unwrap()).await.unwrap();
        assert_eq!(refs.len(), 3);
        let first = refs.iter().find(|r| r.position == 1).unwrap();
        assert_eq!(first.variant_ids, [1001001, 7]);
    }
}
