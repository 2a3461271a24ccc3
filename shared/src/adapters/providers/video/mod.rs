//! Video models behind [`VideoModel`](crate::ports::VideoModel): the offline still-motion renderer
//! and Runway's API.

pub mod api;
pub mod runway;
pub mod still_motion;

pub use api::SetupError;
pub use runway::RunwayVideo;
pub use still_motion::StillMotionVideo;
