//! Video models behind [`VideoModel`](crate::ports::VideoModel): the offline still-motion renderer

pub mod api;
pub mod runway;
pub mod seedance;
pub mod still_motion;

pub use api::SetupError;
pub use runway::RunwayVideo;
pub use seedance::SeedanceVideo;
pub use still_motion::StillMotionVideo;
