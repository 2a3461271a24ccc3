//! Learning from verdicts: every judged clip counts once towards its brand's pass rates, by the
//! provider and model that made it, the camera move it made and the kind of photo it was grounded in
//! ([`outcomes`]); the planner and the provider chain prefer what passes for the brand, and still
//! try the rest now and then ([`prefer`]).
//!
//! A brand is a store: the storefront (URL or folder) its products were crawled from. The tallies
//! live in the state store (SQLite or DynamoDB), counted atomically and once per clip
//! (`reel/shot/attempt`), whichever worker or redelivery counts it.

pub mod outcomes;
pub mod prefer;

pub use outcomes::{ClipOutcome, clip_outcomes};
pub use prefer::{DEFAULT_EDGE, PassRates, choose, choose_with, order_providers};

use serde::{Deserialize, Serialize};

/// What a pass rate is kept by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Facet {
    /// The video provider that made the clip (`runway`, `still-motion`).
    Provider,
    /// Provider and model (`runway/gen4_turbo`).
    Model,
    /// The camera move the clip made (`push_in`).
    Motion,
    /// The kind of reference photo (`model_worn`, `flat`, `detail`).
    Photo,
}

impl Facet {
    pub const ALL: [Facet; 4] = [Facet::Provider, Facet::Model, Facet::Motion, Facet::Photo];

    pub fn as_str(self) -> &'static str {
        match self {
            Facet::Provider => "provider",
            Facet::Model => "model",
            Facet::Motion => "motion",
            Facet::Photo => "photo",
        }
    }

    pub fn parse(s: &str) -> Option<Facet> {
        Facet::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// How many judged clips with one facet value passed and failed, for one brand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub facet: Facet,
    pub value: String,
    pub passed: u64,
    pub failed: u64,
}

impl Tally {
    pub fn judged(&self) -> u64 {
        self.passed + self.failed
    }
    /// The share that passed, or `None` before any was judged.
    pub fn rate(&self) -> Option<f64> {
        (self.judged() > 0).then(|| self.passed as f64 / self.judged() as f64)
    }
}

/// The brand a product belongs to: the store it was crawled from, written one way (no trailing
/// slash, the scheme and host in lower case).
pub fn brand_of(store: &str) -> String {
    let s = store.trim().trim_end_matches('/');
    match s.split_once("://") {
        Some((scheme, rest)) => {
            let (host, path) = rest.split_once('/').map_or((rest, ""), |(h, p)| (h, p));
            let path = if path.is_empty() { String::new() } else { format!("/{path}") };
            format!("{}://{}{path}", scheme.to_ascii_lowercase(), host.to_ascii_lowercase())
        }
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_is_one_brand_however_it_is_written() {
        assert_eq!(brand_of("HTTPS://Shop.Example.com/"), "https://shop.example.com");
        assert_eq!(brand_of("https://shop.example.com/en/"), "https://shop.example.com/en");
        assert_eq!(brand_of("demo-store/"), "demo-store");
        let t = Tally { facet: Facet::Motion, value: "push_in".into(), passed: 1, failed: 3 };
        assert_eq!((t.judged(), t.rate()), (4, Some(0.25)));
        assert_eq!(Tally { passed: 0, failed: 0, ..t }.rate(), None);
        assert_eq!(Facet::parse("photo"), Some(Facet::Photo));
    }
}
