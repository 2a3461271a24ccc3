//! How a run's reels are planned: chosen once when the run starts and carried in its messages and
//! on each reel, so every home, every worker and every replan plans alike.

use super::BrandKit;
use serde::{Deserialize, Serialize};

/// What a poor candidate for generated video gets (`--min-suitability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BelowSuitability {
    /// Its reel is made by the offline renderer only: no paid video model guesses at it.
    #[default]
    Offline,
    /// Its reel is planned, then parked for a person (`needs_review`) before anything is rendered.
    Park,
}

/// How a run's reels are planned: chosen once when the run starts (flags, environment, the brand
/// kit) and carried in the messages, so every home and every worker plans alike.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PlanOptions {
    /// Target reel length in ms (6–60 s); `None`: [`PlanOptions::DEFAULT_LENGTH_MS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length_ms: Option<u32>,
    /// One reel per colour variant that has photos, instead of one about the hero photo's colour.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub per_variant: bool,
    /// Stop each reel after planning (`awaiting_approval`) until `truereel approve`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub approve: bool,
    /// Products rated below this (0..1) are poor candidates, handled as `below` says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_suitability: Option<f32>,
    #[serde(default)]
    pub below: BelowSuitability,
    #[serde(default)]
    pub brand: BrandKit,
    /// One clip for the whole reel (`--whole-reel`, or the brand kit's `whole_reel`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub whole_reel: bool,
}

impl PlanOptions {
    pub const DEFAULT_LENGTH_MS: u32 = 15_000;
    /// The longest whole-reel clip (Runway's product ads: 4–15 s).
    pub const WHOLE_REEL_MAX_MS: u32 = 15_000;

    /// Whether reels are one clip for the whole reel (the flag, or the brand kit).
    pub fn whole_reel(&self) -> bool {
        self.whole_reel || self.brand.whole_reel
    }
}
