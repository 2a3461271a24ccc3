//! Port contract suites: every adapter of a port must pass the same checks.
//!
//! Each suite takes the port as a trait object and panics with a message naming the broken rule.
//! The `sample_*` fixtures make records with unique ids per call, so the state and blob suites can
//! run in parallel against one shared backend. The queue suite needs a queue of its own (it counts
//! messages per stage exactly).

mod blob;
mod queue;
mod state;

pub use blob::blob_store_contract;
pub use queue::{QueueCapabilities, queue_contract};
pub use state::{
    Broken, racing_transitions_across_instances, state_store_contract, unreadable_records_are_skipped_and_named,
};

use crate::ports::ProductIssue;
use crate::{
    BlobKey, Clip, Handle, IdempotencyKey, JobId, LedgerEntry, LineTiming, Motion, PhotoKind, Product, Reel, ReelId,
    Reference, Sha256, Shot, ShotPlan, ShotRole, Usd, Verdict, VoiceOver, WordTiming, now_ms,
};
use std::fmt::Display;
use std::sync::atomic::{AtomicU64, Ordering};

/// A name no other call (in this or any concurrent process) returns: `<prefix>-<pid>-<nanos>-<n>`, all
/// lowercase hex, so it is a valid handle when `prefix` is.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    format!("{prefix}-{:x}-{nanos:x}-{n:x}", std::process::id())
}

/// A product with a unique handle and two reference photos.
pub fn sample_product() -> Product {
    let handle = Handle::parse(&unique("sample")).expect("unique() makes valid handles");
    let references: Vec<Sha256> = (1..=2).map(|i| Sha256::of(format!("{handle}/photo-{i}").as_bytes())).collect();
    let title = format!("Sample hoodie {handle}");
    let description = "Heavyweight cotton fleece with a kangaroo pocket.".to_string();
    Product {
        gallery_hash: Product::gallery_hash(&references, &title, &description),
        handle,
        title,
        description,
        vendor: Some("Sample Co".into()),
        product_type: Some("Hoodie".into()),
        price: Some("59.00".into()),
        currency: Some("USD".into()),
        options: Vec::new(),
        variants: Vec::new(),
        references,
        store: "tests/fixtures/store".into(),
        updated_ms: now_ms(),
    }
}

/// A reference photo of `product` at a 1-based gallery `position`, with a unique hash.
pub fn sample_reference(product: &Handle, position: u32) -> Reference {
    let sha256 = Sha256::of(unique(&format!("{product}/{position}")).as_bytes());
    Reference {
        blob: BlobKey::reference(&sha256, "jpg"),
        sha256,
        product: product.clone(),
        kind: if position == 1 { PhotoKind::ModelWorn } else { PhotoKind::Flat },
        kind_confidence: 0.75,
        width: 1080,
        height: 1350,
        bytes: 123_456,
        mime: "image/jpeg".into(),
        source_url: format!("https://shop.example/{product}/{position}.jpg"),
        alt: Some(format!("photo {position}")),
        position,
        print: Some(crate::PhotoPrint { dhash: [u64::from(position); 4], colours: vec![position as u8; 48] }),
        variant_ids: Vec::new(),
        framing: None,
        sharpness: None,
        validators: crate::ports::Validators { etag: Some(format!("\"v{position}\"")), last_modified: None },
    }
}

/// The references listed in `product.references`, in gallery order.
pub fn sample_references(product: &Product) -> Vec<Reference> {
    product
        .references
        .iter()
        .enumerate()
        .map(|(i, sha)| Reference {
            sha256: sha.clone(),
            blob: BlobKey::reference(sha, "jpg"),
            ..sample_reference(&product.handle, i as u32 + 1)
        })
        .collect()
}

/// A planned reel of `product`: one shot per reference (at least one) and a matching voice-over.
pub fn sample_reel(product: &Product) -> Reel {
    let id = ReelId::new(&product.handle, &product.gallery_hash);
    let fallback = [Sha256::of(product.handle.as_str().as_bytes())];
    let refs = if product.references.is_empty() { &fallback[..] } else { &product.references[..] };
    let shots: Vec<Shot> = refs
        .iter()
        .enumerate()
        .map(|(i, sha)| Shot {
            index: i as u32,
            role: if i == 0 { ShotRole::Opening } else { ShotRole::CallToAction },
            reference: sha.clone(),
            kind: PhotoKind::Flat,
            motion: if i % 2 == 0 { Motion::PushIn } else { Motion::PanLeft },
            camera: crate::Camera::default(),
            direction: String::new(),
            duration_ms: 3_000,
            line: format!("Line {} about {}.", i + 1, product.title),
            extra_references: Vec::new(),
        })
        .collect();
    let lines: Vec<LineTiming> = shots
        .iter()
        .map(|s| LineTiming {
            shot: s.index,
            text: s.line.clone(),
            start_ms: s.index * 3_000,
            end_ms: s.index * 3_000 + 2_500,
        })
        .collect();
    let words = lines
        .iter()
        .map(|l| WordTiming { word: "Line".into(), start_ms: l.start_ms, end_ms: l.start_ms + 400 })
        .collect();
    let plan = ShotPlan::new(id.clone(), product.handle.clone(), shots);
    let voice_over = VoiceOver {
        audio: BlobKey::voice_over(&id),
        duration_ms: plan.duration_ms(),
        voice: "espeak-ng:en-us".into(),
        lines,
        words,
        sha256: None,
        loudness: None,
    };
    Reel::new(plan, voice_over, product.gallery_hash.clone())
}

/// A mirrored clip of one attempt at one shot of `reel`.
pub fn sample_clip(reel: &ReelId, shot: u32, attempt: u32) -> Clip {
    Clip {
        reel: reel.clone(),
        shot,
        attempt,
        provider: "still-motion".into(),
        model: None,
        sha256: None,
        job: JobId::new(unique("job")),
        blob: BlobKey::clip(reel, shot, attempt),
        duration_ms: 3_000,
        width: 1080,
        height: 1920,
        bytes: 654_321,
        stored_ms: now_ms(),
        recipe: false,
    }
}

/// A ledger entry with a unique key for `reel`.
pub fn sample_ledger_entry(reel: &ReelId, usd: Usd, at_ms: i64) -> LedgerEntry {
    LedgerEntry {
        key: IdempotencyKey::for_reel(reel, &unique("generate")),
        reel: reel.clone(),
        provider: "still-motion".into(),
        operation: "generate".into(),
        units: 3.0,
        unit: "video_seconds".into(),
        usd,
        at_ms,
        model: None,
        shot: None,
        attempt: None,
        note: None,
    }
}

/// A verdict on one assembly round of `reel` by the `spec-checks` judge.
pub fn sample_verdict(reel: &ReelId, round: u32, passed: bool) -> Verdict {
    let check = crate::Check {
        name: "duration".into(),
        passed,
        score: if passed { 1.0 } else { 0.2 },
        detail: "duration 6.0 s, allowed 5-30 s".into(),
        shot: None,
        measure: None,
    };
    Verdict::from_checks(reel.clone(), round, "spec-checks", vec![check])
}

/// A warning (not fatal) about `product` at `at_ms`.
pub fn sample_issue(product: &Handle, at_ms: i64) -> ProductIssue {
    ProductIssue {
        product: product.to_string(),
        stage: "crawl".into(),
        fatal: false,
        message: format!("photo 3 of {product} is too small"),
        at_ms,
    }
}

/// Unwraps `r`, or panics naming the contract rule `what` and the error.
pub(crate) fn must<T, E: Display>(r: Result<T, E>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("contract: {what}: unexpected error: {e}"),
    }
}
