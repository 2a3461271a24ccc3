//! What the stages read: the reel's size and length, budgets, attempts and polling, and the crawl's bounds.

use crate::Budget;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub budget: Budget,
    pub max_attempts: u32,
    /// How many times a published reel may be reopened by platform flags.
    pub max_flag_passes: u32,
    pub min_reel_ms: u32,
    pub max_reel_ms: u32,
    /// Spend is counted for the run budget from this moment on.
    pub run_started_ms: i64,
    /// How long a presigned reference URL stays valid for a provider.
    pub presign_ttl: Duration,
    /// How many polls of one job before it is given up (at most one per `poll_interval`).
    pub max_polls: u32,
    /// Shapes made besides the 9:16 reel: `(name, width, height)`, e.g. `("4x5", 1080, 1350)`.
    pub extra_aspects: Vec<(String, u32, u32)>,
    /// How long a paid job may run before it is cancelled.
    pub job_timeout: Duration,
    /// The largest clip a provider's link may give (bytes); more is refused while streaming.
    pub max_clip_bytes: u64,
    /// Photos taken in per product: the first ones in the store's order.
    pub max_photos_per_product: usize,
    /// The most one photo's fetch may take, its attempts and waits included.
    pub photo_budget: Duration,
    /// The most one product's photos may take together.
    pub product_budget: Duration,
    /// Each paid video provider's budget line for a run (`TRUEREEL_<NAME>_BUDGET_USD`), by name.
    pub provider_budgets: Vec<(String, crate::Usd)>,
}

impl Settings {
    /// The budget a charge to `provider` is held to: the reel's and the run's, and the provider's line.
    pub fn budget_for(&self, provider: &str) -> Budget {
        let line = self.provider_budgets.iter().find(|(name, _)| name == provider).map(|(_, usd)| *usd);
        Budget { provider_run: line, ..self.budget }
    }
}

/// The shapes besides 9:16 a reel may also be made in, for a frame `width` wide: `(name, w, h)`.
pub fn aspect(name: &str, width: u32) -> Option<(String, u32, u32)> {
    let even = |x: u32| x + x % 2;
    match name {
        "4:5" => Some(("4x5".into(), width, even(width * 5 / 4))),
        "1:1" => Some(("1x1".into(), width, width)),
        _ => None,
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            width: 1080,
            height: 1920,
            fps: 30,
            budget: Budget::default(),
            max_attempts: 3,
            max_flag_passes: 2,
            min_reel_ms: 10_000,
            max_reel_ms: 30_000,
            run_started_ms: crate::now_ms(),
            presign_ttl: Duration::from_secs(3600),
            max_polls: 360,
            extra_aspects: Vec::new(),
            job_timeout: Duration::from_secs(1800),
            max_clip_bytes: 512 * 1024 * 1024,
            max_photos_per_product: 30,
            photo_budget: Duration::from_secs(60),
            product_budget: Duration::from_secs(300),
            provider_budgets: Vec::new(),
        }
    }
}
