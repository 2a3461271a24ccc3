//! The ledger of paid calls, and budgets: nothing is submitted past a budget.

use super::{IdempotencyKey, ReelId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount of US dollars in micro-dollars (no float rounding in sums).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Usd(pub i64);

impl Usd {
    pub const ZERO: Usd = Usd(0);

    pub fn from_dollars(d: f64) -> Self {
        Self((d * 1_000_000.0).round() as i64)
    }
    pub fn dollars(self) -> f64 {
        self.0 as f64 / 1_000_000.0
    }
}

impl std::ops::Add for Usd {
    type Output = Usd;
    fn add(self, o: Usd) -> Usd {
        Usd(self.0.saturating_add(o.0))
    }
}

impl fmt::Display for Usd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${:.4}", self.dollars())
    }
}

/// One paid (or priced) call: who was paid, for what units, how much, for which reel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// Unique per call: a redelivered message writes the same key and is not counted twice.
    pub key: IdempotencyKey,
    pub reel: ReelId,
    pub provider: String,
    pub operation: String,
    pub units: f64,
    /// What `units` counts (`video_seconds`, `characters`, ...).
    pub unit: String,
    pub usd: Usd,
    pub at_ms: i64,
    /// The provider's model (`gen4_turbo`), when it has several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The shot and attempt the call was for (none for a whole-reel call such as the voice-over).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shot: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    /// Why an entry that is not a plain charge was written: a refund, a billed failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Spending limits: per reel, per run, and per run for the provider being charged.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    pub per_reel: Usd,
    pub per_run: Option<Usd>,
    /// The run's budget line of the charged entry's provider (`TRUEREEL_<NAME>_BUDGET_USD`): past
    /// it that provider is held for the run and the chain falls over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_run: Option<Usd>,
}

impl Default for Budget {
    fn default() -> Self {
        Self { per_reel: Usd::from_dollars(5.0), per_run: None, provider_run: None }
    }
}
