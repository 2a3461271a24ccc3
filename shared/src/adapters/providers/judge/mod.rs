//! Judges behind [`Judge`](crate::ports::Judge): the local judge (offline measurements: the
//! reel's spec, every shot against its photo), the product-match validator (every shot against
//! its listing's whole gallery and other products' photos) and the [`vision`] models, a second pair
//! of eyes.

pub mod clip;
pub mod cut;
pub mod product_match;
pub mod shots;
pub mod spec;
pub mod vision;

pub use product_match::ProductMatch;
pub use spec::SpecJudge;
pub use truereel_pixels::{align, colour, frames, motion};
pub use vision::VisionJudge;
