//! Video models behind [`VideoModel`](crate::ports::VideoModel): the offline still-motion renderer
//! and Runway's API.

pub mod runway;
pub mod still_motion;

pub use runway::{RunwaySetupError, RunwayVideo};
pub use still_motion::StillMotionVideo;
