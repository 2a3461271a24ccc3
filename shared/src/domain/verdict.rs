//! Verdicts: the evaluator's scores and reasons for one assembled reel.

use super::ReelId;
use serde::{Deserialize, Serialize};

/// One named check with its measured value and whether it passed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub passed: bool,
    /// 0..1, 1 is best.
    pub score: f64,
    /// What was measured, in words a person reads ("duration 14.2 s, allowed 10-30 s").
    pub detail: String,
    /// The shot this check is about, if it is about one.
    pub shot: Option<u32>,
}

impl Check {
    /// One line per failed check of `checks`: `name: detail`.
    pub fn reasons(checks: &[Check]) -> Vec<String> {
        checks.iter().filter(|c| !c.passed).map(|c| format!("{}: {}", c.name, c.detail)).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub reel: ReelId,
    /// The assembly round judged.
    pub round: u32,
    pub passed: bool,
    pub checks: Vec<Check>,
    /// Who judged (`spec-checks`, ...).
    pub judge: String,
    pub at_ms: i64,
    /// The attempt of each shot in the cut judged (indexed by shot).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<u32>,
    /// What the reel had cost when it was judged (the ledger's sum for it).
    #[serde(default)]
    pub spent: super::Usd,
}

impl Verdict {
    pub fn from_checks(reel: ReelId, round: u32, judge: &str, checks: Vec<Check>) -> Self {
        Self {
            reel,
            round,
            passed: checks.iter().all(|c| c.passed),
            checks,
            judge: judge.to_string(),
            at_ms: super::now_ms(),
            attempts: Vec::new(),
            spent: super::Usd::ZERO,
        }
    }

    /// The verdict with what it was given: each shot's attempt and the reel's cost so far.
    pub fn judging(mut self, attempts: &[u32], spent: super::Usd) -> Self {
        self.attempts = attempts.to_vec();
        self.spent = spent;
        self
    }

    /// The reasons a reel failed, one per failed check.
    pub fn reasons(&self) -> Vec<String> {
        Check::reasons(&self.checks)
    }
}
