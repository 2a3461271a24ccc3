//! A brand's own thresholds for the local judge's checks: check name → limit, in place of the
//! judge's documented defaults (`adapters::providers::judge::shots`), kept in the brand kit
//! (`[thresholds]` in `brand.toml`) and fitted from labelled clips by `truereel calibrate`
//! ([`super::calibration`]).
//!
//! Only a check decided by one comparison of one measured value with one limit can take one (it
//! carries a [`Measure`]); [`TUNABLE`] names them, with the limits a brand may set.

use super::{Check, Measure};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A check a brand may set the limit of, and the limits it may take (a typo such as `structure =
/// 85` is refused rather than refusing every clip).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tunable {
    /// The check's name, as verdicts show it.
    pub check: &'static str,
    /// Whether the measured value must be at least the limit (else at most).
    pub at_least: bool,
    pub min: f64,
    pub max: f64,
    /// What the value is, for a person.
    pub measures: &'static str,
}

/// Every check with a threshold. The shot-level checks of `judge::shots` decided by one comparison;
/// `colour`, `frames` and `product_match` weigh several measurements and take none, nor do the
/// reel's spec checks (the platform's spec and the settings decide them).
pub const TUNABLE: [Tunable; 7] = [
    Tunable { check: "structure", at_least: true, min: 0.0, max: 1.0, measures: "the worst frame's fit to its photo" },
    Tunable {
        check: "mirrored",
        at_least: false,
        min: 0.0,
        max: 1.0,
        measures: "how much better the flipped photo fits",
    },
    Tunable {
        check: "proportions",
        at_least: false,
        min: 0.0,
        max: 1.0,
        measures: "how much better the photo stretched sideways fits",
    },
    Tunable { check: "detail", at_least: true, min: 0.0, max: 1.0, measures: "the share of the photo's edges kept" },
    Tunable {
        check: "motion",
        at_least: true,
        min: 0.0,
        max: 20.0,
        measures: "how much the picture changes from first to last frame",
    },
    Tunable {
        check: "warping",
        at_least: false,
        min: 0.0,
        max: 1.0,
        measures: "the share of the picture straying from the camera's move",
    },
    Tunable {
        check: "sharpness",
        at_least: true,
        min: 0.0,
        max: 1.0,
        measures: "the frames' sharpness against the photo's",
    },
];

/// The tunable check called `check`.
pub fn tunable(check: &str) -> Option<&'static Tunable> {
    TUNABLE.iter().find(|t| t.check == check)
}

/// A threshold that cannot be set: the check and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ThresholdError {
    #[error("{0} is not a check with a threshold (known: {known})", known = known())]
    Unknown(String),
    #[error("{check} must be a number from {min} to {max}, not {limit}")]
    OutOfRange { check: String, limit: f64, min: f64, max: f64 },
}

fn known() -> String {
    TUNABLE.iter().map(|t| t.check).collect::<Vec<_>>().join(", ")
}

/// A brand's limits by check name (only [`TUNABLE`] checks, each within its limits when set with
/// [`Thresholds::set`]). Empty: the judge's defaults.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Thresholds(BTreeMap<String, f64>);

impl Thresholds {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The brand's limit for `check`, if it set one.
    pub fn get(&self, check: &str) -> Option<f64> {
        self.0.get(check).copied()
    }

    /// Every limit set, by check name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.0.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// Sets `check`'s limit: a [`TUNABLE`] check, within its limits.
    pub fn set(&mut self, check: &str, limit: f64) -> Result<(), ThresholdError> {
        let t = tunable(check).ok_or_else(|| ThresholdError::Unknown(check.to_string()))?;
        if !(limit.is_finite() && (t.min..=t.max).contains(&limit)) {
            return Err(ThresholdError::OutOfRange { check: check.to_string(), limit, min: t.min, max: t.max });
        }
        self.0.insert(check.to_string(), limit);
        Ok(())
    }

    /// Judges `checks` again under these limits: a check with a [`Measure`] and a limit here passes
    /// or fails by it, and its detail says so. Other checks are left as they are.
    pub fn apply(&self, checks: &mut [Check]) {
        for c in checks.iter_mut() {
            let (Some(m), Some(limit)) = (c.measure.as_mut(), self.get(&c.name)) else { continue };
            let passed = m.passes_at(limit);
            m.limit = limit;
            if passed == c.passed {
                c.detail.push_str(&format!(" (brand threshold {limit})"));
            } else {
                c.detail.push_str(&format!(
                    "; by the brand's threshold, {} {limit}, it {}: {}",
                    if m.at_least { "at least" } else { "at most" },
                    if passed { "passes" } else { "fails" },
                    shown(m)
                ));
            }
            c.passed = passed;
        }
    }

    /// The limits as a brand kit's `[thresholds]` table (TOML), one line per check.
    pub fn to_toml(&self) -> String {
        let mut out = String::from("[thresholds]\n");
        for (check, limit) in self.iter() {
            out.push_str(&format!("{check} = {}\n", toml_number(limit)));
        }
        out
    }
}

/// A measured value as the detail shows it.
fn shown(m: &Measure) -> String {
    format!("{:.3}", m.value).trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A limit as TOML writes a float (`0.8`, `1.0`).
fn toml_number(v: f64) -> String {
    let s = v.to_string();
    if s.contains(['.', 'e', 'E']) { s } else { format!("{s}.0") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, measure: Option<Measure>) -> Check {
        Check {
            name: name.into(),
            passed: measure.is_none_or(|m| m.passes()),
            score: 0.9,
            detail: "shot 1: measured".into(),
            shot: Some(0),
            measure,
        }
    }

    #[test]
    fn a_measure_passes_by_its_side_of_the_limit() {
        let fit = Measure::at_least(0.85, 0.85).unwrap();
        assert!(fit.passes(), "the limit itself passes");
        assert!(!fit.passes_at(0.9) && fit.passes_at(0.8));
        let gain = Measure::at_most(0.12, 0.12).unwrap();
        assert!(gain.passes() && !gain.passes_at(0.1) && gain.passes_at(0.2));
        assert_eq!(Measure::at_least(f64::NAN, 0.5), None, "no value, no measure");
        assert_eq!(Measure::at_most(f64::INFINITY, 0.5), None);
    }

    #[test]
    fn a_brand_threshold_judges_a_measured_check_again_and_says_so() {
        let mut t = Thresholds::default();
        t.set("structure", 0.9).unwrap();
        t.set("mirrored", 0.2).unwrap();
        let mut checks = vec![
            check("structure", Measure::at_least(0.87, 0.85)),
            check("mirrored", Measure::at_most(0.15, 0.12)),
            check("detail", Measure::at_least(0.4, 0.5)),
            check("colour", None),
        ];
        let (detail, colour) = (checks[2].clone(), checks[3].clone());
        assert!(checks[0].passed && !checks[1].passed);
        t.apply(&mut checks);
        assert!(!checks[0].passed, "0.87 is under the brand's 0.9: {:?}", checks[0]);
        assert_eq!(checks[0].measure.unwrap().limit, 0.9);
        assert_eq!(checks[0].detail, "shot 1: measured; by the brand's threshold, at least 0.9, it fails: 0.87");
        assert!(checks[1].passed, "0.15 is within the brand's 0.2");
        assert!(checks[1].detail.ends_with("at most 0.2, it passes: 0.15"), "{}", checks[1].detail);
        assert_eq!((&checks[2], &checks[3]), (&detail, &colour), "no brand limit, or no measure: unchanged");

        // A limit that agrees with the verdict only says whose it is.
        let mut t = Thresholds::default();
        t.set("detail", 0.6).unwrap();
        t.apply(&mut checks);
        assert!(!checks[2].passed);
        assert_eq!(checks[2].detail, "shot 1: measured (brand threshold 0.6)");
    }

    #[test]
    fn only_known_checks_within_their_limits_are_set() {
        let mut t = Thresholds::default();
        let e = t.set("colour", 0.5).unwrap_err();
        assert_eq!(e, ThresholdError::Unknown("colour".into()));
        assert!(e.to_string().contains("colour is not a check with a threshold (known: structure, mirrored"), "{e}");
        let e = t.set("structure", 85.0).unwrap_err().to_string();
        assert_eq!(e, "structure must be a number from 0 to 1, not 85");
        assert!(t.set("motion", f64::NAN).is_err());
        assert!(t.is_empty());
        t.set("motion", 1.0).unwrap();
        t.set("warping", 0.055).unwrap();
        assert_eq!(t.to_toml(), "[thresholds]\nmotion = 1.0\nwarping = 0.055\n");
        assert_eq!(serde_json::to_string(&t).unwrap(), r#"{"motion":1.0,"warping":0.055}"#);
    }
}
