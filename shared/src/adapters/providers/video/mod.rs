//! Video models behind [`VideoModel`](crate::ports::VideoModel): the offline still-motion renderer
//! and the paid providers' APIs (Runway, Kling, Veo on Vertex AI, Seedance on ModelArk, fal,
//! Replicate, Luma), each in its own module over the shared HTTP toolkit (`api`).

pub mod api;
pub mod fal;
pub mod kling;
pub mod luma;
pub mod replicate;
pub mod runway;
pub mod seedance;
pub mod still_motion;
#[cfg(test)]
pub(crate) mod testkit;
pub mod veo;

pub use api::SetupError;
pub use fal::FalVideo;
pub use kling::KlingVideo;
pub use luma::LumaVideo;
pub use replicate::ReplicateVideo;
pub use runway::RunwayVideo;
pub use seedance::SeedanceVideo;
pub use still_motion::StillMotionVideo;
pub use veo::VeoVideo;
