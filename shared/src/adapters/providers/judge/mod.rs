//! Judges behind [`Judge`](crate::ports::Judge): the local judge (offline measurements: the
//! reel's spec, every shot against its photo).

pub mod clip;
pub mod shots;
pub mod spec;

pub use spec::SpecJudge;
pub use truereel_pixels::{align, colour, frames};
