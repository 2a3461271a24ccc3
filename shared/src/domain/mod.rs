//! The domain: products, reference photos, shots, voice-overs, clips, reels, verdicts (and the
//! thresholds they are judged by, fitted by [`calibration`]), ledger; and the one way a URL's
//! credentials are hidden ([`redact`]) and store text is shown on a terminal ([`printable`]).

mod brand;
pub mod calibration;
mod clip;
mod frame;
pub(crate) mod ids;
mod ledger;
mod options;
mod printable;
mod product;
mod provenance;
mod redact;
mod reel;
mod reference;
mod shot;
mod tally;
mod thresholds;
mod verdict;
mod voice;

pub use brand::{BrandKit, BrandVoice, CaptionPosition, CaptionStyle};
pub use clip::Clip;
pub use frame::{Backdrop, Camera, Fit, Framing, SubjectBox, focus_in_clip};
pub use ids::{BlobKey, Handle, IdempotencyKey, InvalidId, JobId, ReelId, Sha256, VariantSlug};
pub use ledger::{Budget, LedgerEntry, Usd};
pub use options::{BelowSuitability, PlanOptions};
pub use printable::{printable, reorders_text};
pub use product::{ListedImage, Product, ProductListing, ProductOption, Variant};
pub use provenance::{DigitalSourceType, IPTC_DIGITAL_SOURCE_TYPE, Manifest, ManifestShot, Provenance, STILL_MOTION};
pub use redact::redact;
pub use reel::{Flag, Reel, ReelStatus, TransitionError, Version};
pub use reference::{PhotoKind, PhotoPrint, Reference, Validators};
pub use shot::{DroppedClaim, Motion, Shot, ShotPlan, ShotRole, Suitability};
pub use tally::{ClipOutcome, Facet, Tally};
pub use thresholds::{TUNABLE, ThresholdError, Thresholds, Tunable, tunable};
pub use verdict::{Check, Measure, Verdict};
pub use voice::{LineTiming, Loudness, VoiceOver, WordTiming};

/// Milliseconds since the Unix epoch, the one clock format stored anywhere.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
