//! Video models behind [`VideoModel`](crate::ports::VideoModel): the offline still-motion renderer
//! and Runway's API.

pub mod api;
pub mod kling;
pub mod luma;
pub mod runway;
pub mod still_motion;

pub use api::SetupError;
pub use kling::KlingVideo;
pub use luma::LumaVideo;
pub use runway::RunwayVideo;
pub use still_motion::StillMotionVideo;
