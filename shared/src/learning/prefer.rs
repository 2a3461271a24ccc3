//! Choosing with the brand's pass rates: the best expected pass rate wins, the planner's own first
//! choice wins ties, and a small share of choices explores another candidate.
//!
//! - **Expected pass rate**: `(passed + 1) / (judged + 2)`, the mean under a uniform prior, so a
//!   value judged twice and failed once is not ranked below one never tried (0.5 each).
//! - **The planner's choice**: it gets [`DEFAULT_EDGE`] on top; with no evidence, or evidence
//!   that does not tell the candidates apart, plans are what they were without learning.
//! - **Exploration**: once a facet has evidence for the brand, [`EXPLORE`] of the choices (picked
//!   by a hash of the reel and the shot, so a replan of the same reel chooses the same) go to
//!   another candidate, picked with odds in proportion to its expected pass rate: a value that
//!   failed early still gets judged again now and then (seldom when it failed often), and one
//!   seldom judged gets its chance. With no evidence there is nothing to explore against.

use super::{Facet, Tally};
use std::collections::HashMap;

/// The share of choices that explore.
pub const EXPLORE: f64 = 0.1;
/// What the planner's own first choice is worth in expected pass rate: another value replaces it
/// only when it passes clearly more (a move judged 4 times without a failure is not swapped for
/// one judged 14 times without one; a move failing 5 times of 5 is).
pub const DEFAULT_EDGE: f64 = 0.15;

/// A brand's tallies, by facet and value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PassRates(HashMap<(Facet, String), (u64, u64)>);

impl PassRates {
    pub fn new(tallies: &[Tally]) -> Self {
        Self(tallies.iter().map(|t| ((t.facet, t.value.clone()), (t.passed, t.failed))).collect())
    }

    /// `(passed, failed)` for one value.
    pub fn get(&self, facet: Facet, value: &str) -> (u64, u64) {
        self.0.get(&(facet, value.to_string())).copied().unwrap_or((0, 0))
    }

    /// The expected pass rate of one value.
    pub fn expected(&self, facet: Facet, value: &str) -> f64 {
        let (p, f) = self.get(facet, value);
        (p as f64 + 1.0) / ((p + f) as f64 + 2.0)
    }

    /// Whether anything of `facet` was judged for the brand.
    pub fn knows(&self, facet: Facet) -> bool {
        self.0.iter().any(|((f, _), (p, x))| *f == facet && p + x > 0)
    }
}

/// A number in 0..1 from `seed`, the same every time.
fn unit(seed: &str) -> f64 {
    let h = crate::Sha256::of(seed.as_bytes());
    let n = u64::from_str_radix(h.short(13), 16).unwrap_or(0);
    n as f64 / (1u64 << 52) as f64
}

/// Which of `candidates` (values of `facet`; the planner's choice first) to take, and why when
/// learning changed it: the best expected pass rate (the first candidate with [`DEFAULT_EDGE`]), or
/// now and then another one to explore (decided by `seed`).
pub fn choose(rates: &PassRates, facet: Facet, candidates: &[&str], seed: &str) -> (usize, Option<String>) {
    let edges: Vec<f64> = (0..candidates.len()).map(|i| if i == 0 { DEFAULT_EDGE } else { 0.0 }).collect();
    choose_with(rates, facet, candidates, &edges, seed)
}

/// [`choose`] with the planner's own preference for each candidate (`edges`, added to its expected
/// pass rate): a small edge breaks ties, a penalty (a move that repeats the last shot's) gives way
/// to any candidate that passes about as well.
pub fn choose_with(
    rates: &PassRates,
    facet: Facet,
    candidates: &[&str],
    edges: &[f64],
    seed: &str,
) -> (usize, Option<String>) {
    let planned = (0..candidates.len()).max_by(|a, b| edges[*a].total_cmp(&edges[*b]).then(b.cmp(a))).unwrap_or(0);
    if candidates.len() < 2 || !rates.knows(facet) {
        return (planned, None);
    }
    let score = |i: usize| rates.expected(facet, candidates[i]) + edges[i];
    let best = (0..candidates.len()).max_by(|a, b| score(*a).total_cmp(&score(*b)).then(b.cmp(a))).unwrap_or(0);
    let u = unit(seed);
    if u < EXPLORE {
        // Another candidate, each as likely as its expected pass rate: what failed often is
        // explored seldom, what was seldom judged (near 0.5) fairly often.
        let others: Vec<usize> = (0..candidates.len()).filter(|i| *i != best).collect();
        let weights: Vec<f64> = others.iter().map(|i| rates.expected(facet, candidates[*i])).collect();
        let mut at = (u / EXPLORE) * weights.iter().sum::<f64>();
        let mut pick = others[others.len() - 1];
        for (i, w) in others.iter().zip(&weights) {
            if at < *w {
                pick = *i;
                break;
            }
            at -= w;
        }
        let why = format!(
            "{} {} tried again to keep learning (best for this brand: {})",
            facet.as_str(),
            candidates[pick],
            candidates[best]
        );
        return (pick, Some(why));
    }
    if best == planned {
        return (planned, None);
    }
    let said = |i: usize| {
        let (p, f) = rates.get(facet, candidates[i]);
        format!("{} {}/{}", candidates[i], p, p + f)
    };
    let why = format!("{} {} instead of {}: it passes more for this brand", facet.as_str(), said(best), said(planned));
    (best, Some(why))
}

/// The chain's paid providers reordered by the brand's pass rates (the chain's order among equals);
/// the offline renderer keeps its place. Explores like [`choose`]: now and then the first two paid
/// providers swap.
pub fn order_providers(rates: &PassRates, chain: &[String], offline: &str, seed: &str) -> Vec<String> {
    let paid: Vec<&String> = chain.iter().filter(|n| n.as_str() != offline).collect();
    if paid.len() < 2 || !rates.knows(Facet::Provider) {
        return chain.to_vec();
    }
    let mut ranked: Vec<(usize, &String)> = paid.iter().copied().enumerate().collect();
    ranked.sort_by(|(ia, a), (ib, b)| {
        let edge = |i: usize| if i == 0 { DEFAULT_EDGE } else { 0.0 };
        let (sa, sb) = (rates.expected(Facet::Provider, a) + edge(*ia), rates.expected(Facet::Provider, b) + edge(*ib));
        sb.total_cmp(&sa).then(ia.cmp(ib))
    });
    if unit(seed) < EXPLORE {
        ranked.swap(0, 1);
    }
    let mut next = ranked.into_iter().map(|(_, n)| n.clone());
    chain.iter().map(|n| if n == offline { n.clone() } else { next.next().unwrap_or_else(|| n.clone()) }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rates(t: &[(Facet, &str, u64, u64)]) -> PassRates {
        PassRates::new(
            &t.iter()
                .map(|(facet, v, p, f)| Tally { facet: *facet, value: v.to_string(), passed: *p, failed: *f })
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn no_evidence_keeps_the_planners_choice_and_failures_move_it() {
        let none = PassRates::default();
        assert_eq!(choose(&none, Facet::Motion, &["push_in", "pull_out"], "r/1"), (0, None));
        // One pass and one failure each: the planner's choice still wins.
        let even = rates(&[(Facet::Motion, "push_in", 1, 1), (Facet::Motion, "pull_out", 1, 1)]);
        let seeds: Vec<String> = (0..200).map(|i| format!("reel-{i}/shot-1")).collect();
        let firsts = seeds.iter().filter(|s| choose(&even, Facet::Motion, &["push_in", "pull_out"], s).0 == 0).count();
        assert!((170..=195).contains(&firsts), "{firsts} of 200 kept the planner's choice; about 10% explore");
        // push-in failed 8 of 10: most plans now pull out, and say why.
        let bad = rates(&[(Facet::Motion, "push_in", 2, 8), (Facet::Motion, "pull_out", 3, 1)]);
        let chosen: Vec<(usize, Option<String>)> =
            seeds.iter().map(|s| choose(&bad, Facet::Motion, &["push_in", "pull_out"], s)).collect();
        let pushes = chosen.iter().filter(|(i, _)| *i == 0).count();
        assert!(pushes <= 35 && pushes > 0, "{pushes} of 200 still push in (explored)");
        let why = chosen.iter().find(|(i, _)| *i == 1).and_then(|(_, w)| w.clone()).unwrap();
        assert!(why.contains("pull_out 3/4 instead of push_in 2/10"), "{why}");
        // The same seed chooses the same.
        assert_eq!(
            choose(&bad, Facet::Motion, &["push_in", "pull_out"], "x"),
            choose(&bad, Facet::Motion, &["push_in", "pull_out"], "x")
        );
    }

    #[test]
    fn paid_providers_are_ranked_and_the_offline_renderer_keeps_its_place() {
        let chain: Vec<String> = ["runway", "kling", "still-motion"].iter().map(|s| s.to_string()).collect();
        assert_eq!(order_providers(&PassRates::default(), &chain, "still-motion", "a"), chain);
        let r = rates(&[(Facet::Provider, "runway", 1, 9), (Facet::Provider, "kling", 8, 2)]);
        let orders: Vec<Vec<String>> =
            (0..100).map(|i| order_providers(&r, &chain, "still-motion", &format!("reel-{i}"))).collect();
        assert!(orders.iter().all(|o| o[2] == "still-motion"));
        let kling_first = orders.iter().filter(|o| o[0] == "kling").count();
        assert!((80..100).contains(&kling_first), "{kling_first} of 100 put kling first");
    }
}
