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
    /// What the check measured against its one limit, when one comparison decides it (`None` for a
    /// check of several measurements, and in verdicts stored before checks carried it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measure: Option<Measure>,
}

/// The one value a check compares with its one limit: it passes iff `value >= limit` when
/// `at_least`, else iff `value <= limit`. A brand's [`Thresholds`](super::Thresholds) move the limit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Measure {
    pub value: f64,
    pub limit: f64,
    pub at_least: bool,
}

impl Measure {
    /// A value that must be at least `limit`; `None` when it is not a finite number (it cannot be
    /// compared, or stored as JSON).
    pub fn at_least(value: f64, limit: f64) -> Option<Self> {
        value.is_finite().then_some(Self { value, limit, at_least: true })
    }

    /// A value that must be at most `limit` (`None` as for [`Measure::at_least`]).
    pub fn at_most(value: f64, limit: f64) -> Option<Self> {
        value.is_finite().then_some(Self { value, limit, at_least: false })
    }

    /// Whether the value passes its limit.
    pub fn passes(&self) -> bool {
        self.passes_at(self.limit)
    }

    /// Whether the value would pass `limit` instead.
    pub fn passes_at(&self, limit: f64) -> bool {
        if self.at_least { self.value >= limit } else { self.value <= limit }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_stored_before_measures_reads_and_one_without_a_measure_writes_as_before() {
        let stored = r#"{"name":"structure","passed":true,"score":0.9,"detail":"lines up","shot":0}"#;
        let check: Check = serde_json::from_str(stored).unwrap();
        assert_eq!(check.measure, None);
        assert_eq!(serde_json::to_string(&check).unwrap(), stored);
        let measured = Check { measure: Measure::at_least(0.9, 0.85), ..check };
        let json = serde_json::to_string(&measured).unwrap();
        assert!(json.ends_with(r#""measure":{"value":0.9,"limit":0.85,"at_least":true}}"#), "{json}");
        assert_eq!(serde_json::from_str::<Check>(&json).unwrap(), measured);
    }
}
