//! Fitting the local judge's thresholds to clips a person labelled good or bad (`truereel
//! calibrate`): how the judge's verdicts came out before, the limits fitted, and how they come
//! out after.
//!
//! A *positive* is a bad clip refused: precision is the share of refused clips that were bad,
//! recall the share of bad clips refused; the share of good clips accepted is reported beside them.
//!
//! The rule: only checks with a [`Measure`](super::Measure) and a [`TUNABLE`] name are fitted, one
//! at a time, over and over until none moves (coordinate descent); the rest keep their verdicts. A
//! check's candidate limits are the middles of the gaps between the values it measured over every
//! clip (the gaps below the lowest and above the highest end at the check's [`Tunable`] limits).
//! Of them, the one kept leaves (1) the fewest clips misjudged (bad ones accepted and good ones
//! refused), then (2) the fewest bad clips accepted, the other checks' limits as they stand; among
//! equals, (3) the gap nearest the check's
//! current limit (the one it is in, when that is as good), then the widest. The limit is the
//! gap's middle, except that a limit beyond every value measured (where no clip bounds it on one
//! side) stays where it is until the clips ask it to move. So a limit moves only as far as the
//! clips ask and settles in the middle of its gap: a check whose bad clips other checks refuse too
//! is not loosened to nothing, nor one that no clip came near moved by guesswork. Each limit is
//! written with as few decimals as keep it within its gap, so the figures after are those the
//! written thresholds give.
//!
//! Why misjudged clips first, not bad clips accepted first: a bad clip that only a check of several
//! measurements could catch (a freeze the `frames` check missed) would then be refused by raising
//! an unrelated limit until it refuses nearly everything. On the sample store's corpus at 216x384,
//! 2 s, that rule took `structure` to 0.986 and refused 28 of 30 faithful clips to catch 7 bad ones.

use super::Check;
use super::thresholds::{TUNABLE, Thresholds, Tunable};
use serde::Serialize;
use std::collections::BTreeMap;

/// One clip as the judge saw it, and whether a person says it is good (faithful: to be accepted)
/// or bad (to be refused).
#[derive(Debug, Clone)]
pub struct Labelled {
    pub good: bool,
    pub checks: Vec<Check>,
}

/// How the verdicts on labelled clips came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Confusion {
    pub bad_refused: usize,
    pub bad_accepted: usize,
    pub good_refused: usize,
    pub good_accepted: usize,
}

impl Confusion {
    /// Of the clips refused, the share that were bad (`None`: none refused).
    pub fn precision(&self) -> Option<f64> {
        share(self.bad_refused, self.bad_refused + self.good_refused)
    }

    /// Of the bad clips, the share refused (`None`: no bad clip).
    pub fn recall(&self) -> Option<f64> {
        share(self.bad_refused, self.bad_refused + self.bad_accepted)
    }

    /// Of the good clips, the share accepted (`None`: no good clip).
    pub fn good_accepted_rate(&self) -> Option<f64> {
        share(self.good_accepted, self.good_accepted + self.good_refused)
    }

    /// Clips misjudged: bad ones accepted and good ones refused.
    pub fn misjudged(&self) -> usize {
        self.bad_accepted + self.good_refused
    }

    /// What the fit minimises, in order.
    fn cost(&self) -> (usize, usize) {
        (self.misjudged(), self.bad_accepted)
    }

    /// The figures as one JSON object (counts, precision, recall, good clips accepted).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "bad_refused": self.bad_refused,
            "bad_accepted": self.bad_accepted,
            "good_refused": self.good_refused,
            "good_accepted": self.good_accepted,
            "misjudged": self.misjudged(),
            "precision": self.precision(),
            "recall": self.recall(),
            "good_accepted_rate": self.good_accepted_rate(),
        })
    }
}

fn share(n: usize, of: usize) -> Option<f64> {
    (of > 0).then(|| n as f64 / of as f64)
}

/// Limits by check name.
type Limits = BTreeMap<&'static str, f64>;

/// Whether `clip` is refused with `limits` in place of its measured checks' own.
fn refused(clip: &Labelled, limits: &Limits) -> bool {
    clip.checks.iter().any(|c| match (c.measure, limits.get(c.name.as_str())) {
        (Some(m), Some(limit)) => !m.passes_at(*limit),
        _ => !c.passed,
    })
}

/// The verdicts on `clips` with `limits`.
fn confusion(clips: &[Labelled], limits: &Limits) -> Confusion {
    let mut c = Confusion::default();
    for clip in clips {
        match (clip.good, refused(clip, limits)) {
            (true, true) => c.good_refused += 1,
            (true, false) => c.good_accepted += 1,
            (false, true) => c.bad_refused += 1,
            (false, false) => c.bad_accepted += 1,
        }
    }
    c
}

/// One check's limit before and after the fit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FittedLimit {
    pub check: &'static str,
    pub at_least: bool,
    pub before: f64,
    pub after: f64,
    /// How many clips measured it.
    pub clips: usize,
}

/// What a fit found.
#[derive(Debug, Clone)]
pub struct Fit {
    pub before: Confusion,
    pub after: Confusion,
    /// Every measured tunable check, in [`TUNABLE`] order.
    pub limits: Vec<FittedLimit>,
    /// The limits after, as a brand kit keeps them.
    pub thresholds: Thresholds,
}

/// At most this many rounds over the checks (each round leaves the verdicts as good or better; a
/// round that moves nothing ends it).
const MAX_ROUNDS: usize = 20;

/// Fits the limits of the checks `clips` measured (the rule is the module's).
pub fn fit(clips: &[Labelled]) -> Fit {
    // Every tunable check measured, its limit as judged, its values.
    let mut measured: Vec<(&'static Tunable, f64, Vec<f64>)> = Vec::new();
    for t in &TUNABLE {
        let measures: Vec<_> =
            clips.iter().flat_map(|c| &c.checks).filter(|c| c.name == t.check).filter_map(|c| c.measure).collect();
        if let Some(first) = measures.first() {
            let mut values: Vec<f64> = measures.iter().map(|m| m.value).collect();
            values.sort_by(f64::total_cmp);
            values.dedup();
            measured.push((t, first.limit, values));
        }
    }
    let before_limits: Limits = measured.iter().map(|(t, limit, _)| (t.check, *limit)).collect();
    let mut limits = before_limits.clone();
    for _ in 0..MAX_ROUNDS {
        let mut moved = false;
        for (t, _, values) in &measured {
            let current = limits[t.check];
            let cost = confusion(clips, &limits).cost();
            let best = gaps(t, values)
                .map(|mut g| {
                    if g.outer && g.lo < current && current < g.hi {
                        g.limit = current;
                    }
                    let mut trial = limits.clone();
                    trial.insert(t.check, g.limit);
                    let distance = if (g.lo..=g.hi).contains(&current) {
                        0.0
                    } else {
                        (current - g.lo).abs().min((current - g.hi).abs())
                    };
                    (confusion(clips, &trial).cost(), distance, g)
                })
                .min_by(|a, b| {
                    (a.0.cmp(&b.0))
                        .then(a.1.total_cmp(&b.1))
                        .then((b.2.hi - b.2.lo).total_cmp(&(a.2.hi - a.2.lo)))
                        .then(a.2.limit.total_cmp(&b.2.limit))
                });
            if let Some((c, _, g)) = best
                && c <= cost
                && g.limit != current
            {
                limits.insert(t.check, g.limit);
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    let mut thresholds = Thresholds::default();
    let fitted = (measured.iter())
        .map(|(t, before, _)| {
            let after = limits[t.check];
            thresholds.set(t.check, after).expect("a fitted limit lies within its check's limits");
            let clips = clips.iter().filter(|c| c.checks.iter().any(|k| k.name == t.check && k.measure.is_some()));
            FittedLimit { check: t.check, at_least: t.at_least, before: *before, after, clips: clips.count() }
        })
        .collect();
    Fit { before: confusion(clips, &before_limits), after: confusion(clips, &limits), limits: fitted, thresholds }
}

/// A gap between two measured values (or, `outer`, a value and the end of the check's range), and
/// the limit in it.
#[derive(Debug, Clone, Copy)]
struct Gap {
    lo: f64,
    hi: f64,
    limit: f64,
    outer: bool,
}

/// The gaps of `values` (sorted, distinct) within `t`'s limits, each with its middle.
fn gaps<'a>(t: &'a Tunable, values: &'a [f64]) -> impl Iterator<Item = Gap> + 'a {
    (0..=values.len()).filter_map(move |i| {
        let lo = if i == 0 { t.min } else { values[i - 1].max(t.min) };
        let hi = if i == values.len() { t.max } else { values[i].min(t.max) };
        let outer = i == 0 || i == values.len();
        (lo < hi).then(|| Gap { lo, hi, limit: round_within((lo + hi) / 2.0, lo, hi), outer })
    })
}

/// `x` with as few decimals as keep it strictly between `lo` and `hi`, and within a fiftieth of
/// the gap of it.
fn round_within(x: f64, lo: f64, hi: f64) -> f64 {
    let start = (-((hi - lo) / 50.0).log10()).ceil().clamp(1.0, 12.0) as i32;
    (start..=15)
        .map(|d| {
            let p = 10f64.powi(d);
            (x * p).round() / p
        })
        .find(|r| *r > lo && *r < hi)
        .unwrap_or(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Measure;

    /// A clip with one measured check `name` (the judge's default limit `limit`), and a check of
    /// several measurements that refuses it when `refused_elsewhere`.
    fn clip(good: bool, name: &str, value: f64, limit: f64, refused_elsewhere: bool) -> Labelled {
        let t = crate::domain::thresholds::tunable(name).unwrap();
        let measure = if t.at_least { Measure::at_least(value, limit) } else { Measure::at_most(value, limit) };
        let check = |name: &str, passed: bool, measure: Option<Measure>| Check {
            name: name.into(),
            passed,
            score: 1.0,
            detail: String::new(),
            shot: Some(0),
            measure,
        };
        let measured = check(name, measure.unwrap().passes(), measure);
        Labelled { good, checks: vec![measured, check("colour", !refused_elsewhere, None)] }
    }

    /// The verdicts on `clips` as they were judged.
    fn judged(clips: &[Labelled]) -> Confusion {
        confusion(clips, &Limits::new())
    }

    fn limit(fit: &Fit, check: &str) -> f64 {
        fit.limits.iter().find(|l| l.check == check).unwrap().after
    }

    #[test]
    fn the_fit_separates_good_from_bad_in_the_middle_of_their_gap() {
        // The default 0.95 refuses two good clips; the gap between the classes is 0.7–0.9.
        let mut clips: Vec<Labelled> =
            [0.9, 0.92, 0.96].iter().map(|v| clip(true, "structure", *v, 0.95, false)).collect();
        clips.extend([0.6, 0.7].iter().map(|v| clip(false, "structure", *v, 0.95, false)));
        let fitted = fit(&clips);
        assert_eq!(fitted.before, Confusion { bad_refused: 2, bad_accepted: 0, good_refused: 2, good_accepted: 1 });
        assert_eq!(fitted.after, Confusion { bad_refused: 2, bad_accepted: 0, good_refused: 0, good_accepted: 3 });
        assert_eq!(limit(&fitted, "structure"), 0.8);
        let structure = FittedLimit { check: "structure", at_least: true, before: 0.95, after: 0.8, clips: 5 };
        assert_eq!(fitted.limits, [structure]);
        assert_eq!(fitted.thresholds.to_toml(), "[thresholds]\nstructure = 0.8\n");
        assert_eq!((fitted.before.precision(), fitted.after.precision()), (Some(0.5), Some(1.0)));
        assert_eq!((fitted.before.recall(), fitted.after.good_accepted_rate()), (Some(1.0), Some(1.0)));
        assert_eq!(judged(&clips), fitted.before, "before is as judged");

        // An at-most check the same way: the middle of 0.1–0.3, written with the decimals it needs.
        let mut clips: Vec<Labelled> = [0.0, 0.1].iter().map(|v| clip(true, "mirrored", *v, 0.05, false)).collect();
        clips.extend([0.3, 0.5].iter().map(|v| clip(false, "mirrored", *v, 0.05, false)));
        assert_eq!(limit(&fit(&clips), "mirrored"), 0.2);
        clips.push(clip(true, "mirrored", 0.2001, 0.05, false));
        assert_eq!(limit(&fit(&clips), "mirrored"), 0.25);
    }

    /// A good and a bad clip measuring the same: as many misjudged either way, refusing the bad
    /// one comes first.
    #[test]
    fn a_tie_between_a_good_and_a_bad_clip_refuses_both() {
        let clips = vec![
            clip(true, "detail", 0.9, 0.5, false),
            clip(true, "detail", 0.8, 0.5, false),
            clip(false, "detail", 0.8, 0.5, false),
            clip(false, "detail", 0.3, 0.5, false),
        ];
        let fitted = fit(&clips);
        assert_eq!(fitted.before.bad_accepted, 1);
        assert_eq!(fitted.after, Confusion { bad_refused: 2, bad_accepted: 0, good_refused: 1, good_accepted: 1 });
        assert_eq!(limit(&fitted, "detail"), 0.85);
    }

    /// A bad clip other checks refuse leaves a check free below it, but it stays in its own gap
    /// (the middle of it), not loosened to nothing.
    #[test]
    fn a_limit_other_checks_make_free_stays_in_the_middle_of_its_gap() {
        let clips = vec![
            clip(true, "motion", 2.0, 0.5, false),
            clip(true, "motion", 3.0, 0.5, false),
            clip(false, "motion", 0.2, 0.5, true),
            clip(false, "motion", 0.1, 0.5, true),
        ];
        let fitted = fit(&clips);
        assert_eq!(limit(&fitted, "motion"), 1.1);
        assert_eq!(fitted.before, fitted.after);
    }

    /// A limit no clip came near stays where it is: nothing measured says where else it should be.
    #[test]
    fn a_limit_beyond_every_value_measured_stays() {
        let clips = vec![
            clip(true, "motion", 2.0, 0.5, false),
            clip(true, "motion", 3.0, 0.5, false),
            clip(false, "motion", 4.0, 0.5, true),
        ];
        assert_eq!(limit(&fit(&clips), "motion"), 0.5);
    }

    /// A check that refuses good clips only moves out of their way (the gap below the lowest good
    /// clip's value, down to the check's own limit).
    #[test]
    fn a_check_only_good_clips_fail_moves_below_them() {
        let clips = vec![
            clip(true, "sharpness", 0.15, 0.2, false),
            clip(true, "sharpness", 0.5, 0.2, false),
            clip(false, "sharpness", 0.4, 0.2, true),
            clip(false, "sharpness", 0.7, 0.2, true),
        ];
        let fitted = fit(&clips);
        assert_eq!(fitted.before.good_refused, 1);
        assert_eq!(fitted.after, Confusion { bad_refused: 2, bad_accepted: 0, good_refused: 0, good_accepted: 2 });
        assert_eq!(limit(&fitted, "sharpness"), 0.075);
        assert_eq!(fitted.thresholds.get("sharpness"), Some(0.075));
        assert_eq!(fitted.after.precision(), Some(1.0));
    }

    /// A bad clip no measured check can single out is not caught by refusing good clips with it.
    #[test]
    fn a_bad_clip_is_not_caught_at_the_cost_of_more_good_ones() {
        let clips = vec![
            clip(true, "structure", 0.9, 0.85, false),
            clip(true, "structure", 0.92, 0.85, false),
            clip(false, "structure", 0.95, 0.85, false),
            clip(false, "structure", 0.6, 0.85, false),
        ];
        let fitted = fit(&clips);
        assert_eq!(fitted.after, fitted.before, "{:?}", fitted.limits);
        assert_eq!(fitted.after.misjudged(), 1);
        assert_eq!(limit(&fitted, "structure"), 0.75, "the middle of 0.6–0.9");
    }

    #[test]
    fn figures_without_a_class_are_none() {
        let c = Confusion { bad_refused: 0, bad_accepted: 0, good_refused: 0, good_accepted: 3 };
        assert_eq!((c.precision(), c.recall(), c.good_accepted_rate()), (None, None, Some(1.0)));
        assert_eq!(c.to_json()["precision"], serde_json::Value::Null);
    }
}
