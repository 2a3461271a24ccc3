//! What the stages read: the reel's size and length, budgets, attempts and polling.

use crate::Budget;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub budget: Budget,
    pub max_attempts: u32,
    pub min_reel_ms: u32,
    pub max_reel_ms: u32,
    /// Spend is counted for the run budget from this moment on.
    pub run_started_ms: i64,
    /// How long a presigned reference URL stays valid for a provider.
    pub presign_ttl: Duration,
    /// How many polls of one job before it is given up (at most one per `poll_interval`).
    pub max_polls: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            width: 1080,
            height: 1920,
            fps: 30,
            budget: Budget::default(),
            max_attempts: 3,
            min_reel_ms: 10_000,
            max_reel_ms: 30_000,
            run_started_ms: crate::now_ms(),
            presign_ttl: Duration::from_secs(3600),
            max_polls: 360,
        }
    }
}
