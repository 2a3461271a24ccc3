//! truereel: turns a store's real product photos into short vertical reels that never guess.
//!
//! The crate is laid out as the architecture describes: [`domain`] types, [`ports`] (traits
//! the stages talk through), [`stages`] (plain async functions over the ports), [`adapters`]
//! (embedded, and later AWS and provider implementations of the ports), [`media`] (ffmpeg,
//! ffprobe and WAV helpers) and [`runner`] (the embedded driver that drains the stage queues).

pub mod adapters;
pub mod allocator;
pub mod config;
#[cfg(any(test, feature = "testing"))]
pub mod contract;
pub mod copy;
pub mod costs;
pub mod domain;
pub mod homes;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod learning;
pub mod media;
pub mod messages;
pub mod ports;
pub mod report;
pub mod runner;
pub mod stages;
pub mod stuck;
pub mod telemetry;
pub mod telemetry_metrics;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use domain::*;
