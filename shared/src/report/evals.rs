//! Evaluations as data (`truereel evals`): every stored verdict with what it judged (each shot's
//! attempt, provider, model, camera move and photo kind, and the reel's cost so far), one JSON
//! object a line; and the brands' pass rates as a table (`--summary`).

use crate::learning::{Facet, PassRates, Tally, brand_of};
use crate::ports::{StateError, StateStore};
use crate::{Check, Reel};
use serde::Serialize;
use std::collections::BTreeSet;

/// One shot as judged in one evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JudgedShot {
    /// 1-based.
    pub shot: u32,
    pub attempt: u32,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub motion: String,
    pub photo: String,
    /// No check of any judge on this shot failed in this evaluation.
    pub passed: bool,
}

/// One judge's verdict on one round of one reel, with what it judged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub reel: String,
    pub product: String,
    pub brand: Option<String>,
    pub round: u32,
    pub judge: String,
    pub passed: bool,
    pub at_ms: i64,
    /// The reel's cost when it was judged, US dollars.
    pub spent_usd: f64,
    pub reasons: Vec<String>,
    pub checks: Vec<Check>,
    pub shots: Vec<JudgedShot>,
}

/// Every stored evaluation, reel by reel (in the order the reels were made), round by round.
pub async fn evaluations(state: &dyn StateStore) -> Result<Vec<Evaluation>, StateError> {
    let mut out = Vec::new();
    let products = state.list_products().await?;
    for reel in state.list_reels().await? {
        let verdicts = state.verdicts(&reel.id).await?;
        if verdicts.is_empty() {
            continue;
        }
        let clips = state.clips(&reel.id).await?;
        let brand = products.iter().find(|p| p.handle == reel.product).map(|p| brand_of(&p.store));
        for v in verdicts {
            let shots = judged_shots(&reel, &v.attempts, &v.checks, &clips);
            out.push(Evaluation {
                reel: reel.id.to_string(),
                product: reel.product.to_string(),
                brand: brand.clone(),
                round: v.round,
                judge: v.judge.clone(),
                passed: v.passed,
                at_ms: v.at_ms,
                spent_usd: v.spent.dollars(),
                reasons: v.reasons(),
                checks: v.checks,
                shots,
            });
        }
    }
    Ok(out)
}

fn judged_shots(reel: &Reel, attempts: &[u32], checks: &[Check], clips: &[crate::Clip]) -> Vec<JudgedShot> {
    let attempts = if attempts.is_empty() { &reel.shot_attempts } else { attempts };
    reel.plan
        .shots
        .iter()
        .map(|s| {
            let attempt = attempts.get(s.index as usize).copied().unwrap_or(1);
            let clip = clips.iter().find(|c| c.shot == s.index && c.attempt == attempt);
            JudgedShot {
                shot: s.index + 1,
                attempt,
                provider: clip.map(|c| c.provider.clone()),
                model: clip.and_then(|c| c.model.clone()),
                motion: s.motion_of_attempt(attempt).as_str().to_string(),
                photo: s.kind.as_str().to_string(),
                passed: !checks.iter().any(|c| c.shot == Some(s.index) && !c.passed),
            }
        })
        .collect()
}

/// The evaluations as JSON Lines.
pub fn jsonl(evaluations: &[Evaluation]) -> String {
    evaluations.iter().map(|e| serde_json::to_string(e).unwrap_or_default() + "\n").collect()
}

/// Every brand's tallies: the brands are the stores of the products in the state store.
pub async fn pass_rates(state: &dyn StateStore) -> Result<Vec<(String, Vec<Tally>)>, StateError> {
    let brands: BTreeSet<String> = state.list_products().await?.iter().map(|p| brand_of(&p.store)).collect();
    let mut out = Vec::new();
    for brand in brands {
        let mut tallies = state.pass_rates(&brand).await?;
        tallies.sort_by(|a, b| (a.facet, &a.value).cmp(&(b.facet, &b.value)));
        out.push((brand, tallies));
    }
    Ok(out)
}

/// The pass-rate table: per brand, per facet and value, clips passed of judged, the rate, and the
/// expected rate the planner ranks by.
pub fn summary_text(brands: &[(String, Vec<Tally>)]) -> String {
    let mut out = String::new();
    if brands.iter().all(|(_, t)| t.is_empty()) {
        out.push_str("No judged clips yet: pass rates appear once reels are judged.\n");
        return out;
    }
    for (brand, tallies) in brands.iter().filter(|(_, t)| !t.is_empty()) {
        let rates = PassRates::new(tallies);
        out.push_str(&format!("{brand}\n"));
        out.push_str(&format!(
            "  {:<9} {:<32} {:>7} {:>7} {:>6} {:>9}\n",
            "by", "value", "passed", "judged", "rate", "expected"
        ));
        for facet in Facet::ALL {
            for t in tallies.iter().filter(|t| t.facet == facet) {
                let rate = t.rate().map_or("-".to_string(), |r| format!("{:.0}%", r * 100.0));
                out.push_str(&format!(
                    "  {:<9} {:<32} {:>7} {:>7} {:>6} {:>8.0}%\n",
                    facet.as_str(),
                    t.value,
                    t.passed,
                    t.judged(),
                    rate,
                    rates.expected(facet, &t.value) * 100.0
                ));
            }
        }
    }
    out
}
