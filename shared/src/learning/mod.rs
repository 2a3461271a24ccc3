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

pub use crate::domain::{ClipOutcome, Facet, Tally};
pub use outcomes::clip_outcomes;
pub use prefer::{DEFAULT_EDGE, PassRates, choose, choose_with, order_providers};

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
