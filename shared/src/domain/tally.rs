//! What the judges passed and failed, as data: the facets a pass rate is kept by, a brand's tally of
//! one facet value, and one judged clip to count ([`crate::learning`] derives and uses them).

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

/// One judged clip: its key (`reel/shot-N/attempt-M`, counted once), whether every judge passed it,
/// and the facet values it counts under.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipOutcome {
    pub key: String,
    pub passed: bool,
    pub facets: Vec<(Facet, String)>,
}
