//! Judges behind [`Judge`](crate::ports::Judge): the local judge (offline measurements: the
//! reel's spec, every shot against its photo).

pub mod colour;
pub mod frames;
pub mod shots;
pub mod spec;

pub use spec::SpecJudge;
