//! Video models behind [`VideoModel`](crate::ports::VideoModel): the offline still-motion renderer,
//! and the paid APIs (Runway, Veo on Vertex AI, Replicate).

pub mod api;
pub mod replicate;
pub mod runway;
pub mod still_motion;
pub mod veo;

pub use api::SetupError;
pub use replicate::ReplicateVideo;
pub use runway::RunwayVideo;
pub use still_motion::StillMotionVideo;
pub use veo::VeoVideo;
