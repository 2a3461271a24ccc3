//! What the ledger says was spent: by product, by provider and by attempt, with what retries,
//! refunds and billed failures came to (`truereel ledger`).

use crate::{LedgerEntry, Usd};
use serde::Serialize;
use std::collections::BTreeMap;

/// Spend in one group.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Spend {
    /// Charges written (refunds not counted).
    pub calls: usize,
    /// Net of refunds, in dollars.
    pub usd: f64,
}

/// The ledger summed up.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LedgerSummary {
    pub entries: usize,
    /// Net spend, dollars.
    pub total_usd: f64,
    pub by_product: BTreeMap<String, Spend>,
    pub by_provider: BTreeMap<String, Spend>,
    /// Keyed `attempt-1`, `attempt-2`, … (`whole reel` for calls not tied to a shot).
    pub by_attempt: BTreeMap<String, Spend>,
    /// What every call beyond a shot's first cost: later attempts and resubmissions.
    pub retries_usd: f64,
    /// Charges taken back (nothing was made, or the provider does not bill the failure).
    pub refunded_usd: f64,
    /// Failures the provider billed all the same (moderation on Runway), with its words.
    pub billed_failures: Vec<String>,
}

fn add(map: &mut BTreeMap<String, Spend>, key: String, usd: Usd, charge: bool) {
    let s = map.entry(key).or_default();
    s.usd += usd.dollars();
    s.calls += usize::from(charge);
}

/// Sums `entries` (as [`crate::ports::StateStore::ledger`] gives them).
pub fn summarise(entries: &[LedgerEntry]) -> LedgerSummary {
    let mut out = LedgerSummary { entries: entries.len(), ..LedgerSummary::default() };
    for e in entries {
        let refund = e.usd < Usd::ZERO;
        let charge = !refund && e.operation != "billed_failure";
        if e.operation == "billed_failure" {
            out.billed_failures.push(e.note.clone().unwrap_or_default());
        }
        out.total_usd += e.usd.dollars();
        if refund {
            out.refunded_usd -= e.usd.dollars();
        }
        add(&mut out.by_product, e.reel.product().to_string(), e.usd, charge);
        add(&mut out.by_provider, e.provider.clone(), e.usd, charge);
        let attempt = match e.attempt {
            Some(a) => format!("attempt-{a}"),
            None => "whole reel".into(),
        };
        add(&mut out.by_attempt, attempt, e.usd, charge);
        // A later attempt, or a resubmission of the first (its key names `video-<n>`).
        let resubmitted = e.key.as_str().contains("/video-");
        if e.attempt.is_some_and(|a| a > 1) || resubmitted {
            out.retries_usd += e.usd.dollars();
        }
    }
    out
}

/// What each reel has cost so far (net of refunds), from `entries`.
pub fn by_reel(entries: &[LedgerEntry]) -> std::collections::HashMap<crate::ReelId, Usd> {
    let mut out: std::collections::HashMap<crate::ReelId, Usd> = Default::default();
    for e in entries {
        let c = out.entry(e.reel.clone()).or_default();
        *c = *c + e.usd;
    }
    out
}

/// The summary as text tables.
pub fn text(s: &LedgerSummary) -> String {
    let mut out = format!("{} ledger entries, ${:.4} spent net\n", s.entries, s.total_usd);
    for (title, map) in [("product", &s.by_product), ("provider", &s.by_provider), ("attempt", &s.by_attempt)] {
        out.push_str(&format!("\n{title:<40} {:>6} {:>12}\n", "calls", "usd"));
        for (k, v) in map {
            out.push_str(&format!("{:<40} {:>6} {:>12.4}\n", crate::printable(k), v.calls, v.usd));
        }
    }
    out.push_str(&format!("\nretries cost ${:.4}; refunded ${:.4}\n", s.retries_usd, s.refunded_usd));
    for f in &s.billed_failures {
        out.push_str(&format!("billed failure: {}\n", crate::printable(f)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{IdempotencyKey, ReelId};

    fn entry(key: &str, provider: &str, attempt: Option<u32>, usd: f64, operation: &str) -> LedgerEntry {
        let reel = ReelId::parse("hoodie--0123456789ab").unwrap();
        LedgerEntry {
            key: IdempotencyKey::parse(key).unwrap(),
            reel,
            provider: provider.into(),
            operation: operation.into(),
            units: 5.0,
            unit: "video_seconds".into(),
            usd: Usd::from_dollars(usd),
            at_ms: 0,
            model: None,
            shot: attempt.map(|_| 0),
            attempt,
            note: Some("SAFETY.INPUT.IMAGE".into()),
        }
    }

    #[test]
    fn sums_by_product_provider_and_attempt_with_retries_and_refunds() {
        let entries = [
            entry("r/shot-00/attempt-1/video@runway", "runway", Some(1), 0.25, "image_to_video"),
            entry("r/shot-00/attempt-1/video@runway/refund", "runway", Some(1), -0.25, "image_to_video"),
            entry("r/shot-00/attempt-1/video-1@runway", "runway", Some(1), 0.25, "image_to_video"),
            entry("r/shot-00/attempt-2/video@runway", "runway", Some(2), 0.25, "image_to_video"),
            entry("r/shot-00/attempt-2/video@runway/billed-failure", "runway", None, 0.0, "billed_failure"),
            entry("r/voice-over", "polly", None, 0.01, "speak"),
        ];
        let s = summarise(&entries);
        assert!((s.total_usd - 0.51).abs() < 1e-9, "{s:?}");
        assert_eq!(s.by_provider["runway"].calls, 3);
        assert!((s.by_provider["runway"].usd - 0.5).abs() < 1e-9);
        assert_eq!(s.by_product["hoodie"].calls, 4);
        assert!((s.retries_usd - 0.5).abs() < 1e-9, "a resubmission and a second attempt");
        assert!((s.refunded_usd - 0.25).abs() < 1e-9);
        assert_eq!(s.billed_failures, vec!["SAFETY.INPUT.IMAGE".to_string()]);
        assert!(text(&s).contains("retries cost $0.5000"));
    }
}
