//! Video models behind [`VideoModel`](crate::ports::VideoModel): the offline still-motion renderer today.

pub mod still_motion;

pub use still_motion::StillMotionVideo;
