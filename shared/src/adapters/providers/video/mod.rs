//! Video models behind [`VideoModel`](crate::ports::VideoModel): the offline still-motion renderer
//! and the paid providers' APIs (Runway, Seedance on ModelArk, fal).

pub mod api;
pub mod fal;
pub mod runway;
pub mod seedance;
pub mod still_motion;

pub use api::SetupError;
pub use fal::FalVideo;
pub use runway::RunwayVideo;
pub use seedance::SeedanceVideo;
pub use still_motion::StillMotionVideo;
