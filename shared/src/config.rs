//! Settings shared by every stage, read from `TRUEREEL_*` environment variables.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `TRUEREEL_RESOLUTION` | reel size, `WxH` | `1080x1920` |
//! | `TRUEREEL_FPS` | frames per second | `30` |
//! | `TRUEREEL_BUDGET_USD` | the most one run may spend | unlimited |
//! | `TRUEREEL_REEL_BUDGET_USD` | the most one reel may spend | `5` |
//! | `TRUEREEL_MAX_ATTEMPTS` | attempts per shot (used once the evaluator regenerates shots) | `3` |
//! | `TRUEREEL_STILL_MOTION_USD_PER_SECOND` | price the still-motion renderer charges, to rehearse budgets | `0` |
//! | `TRUEREEL_MIN_REEL_MS` / `TRUEREEL_MAX_REEL_MS` | allowed reel length | `10000` / `30000` |

use crate::{Budget, Usd};
use std::time::Duration;

/// A setting that was present but not understood.
#[derive(Debug, thiserror::Error)]
#[error("{name}={value:?}: {reason}")]
pub struct ConfigError {
    pub name: String,
    pub value: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub budget: Budget,
    pub max_attempts: u32,
    pub min_reel_ms: u32,
    pub max_reel_ms: u32,
    /// Spend is counted for the run budget from this moment on.
    pub run_started_ms: i64,
    /// How long a presigned reference URL stays valid for a provider.
    pub presign_ttl: Duration,
    /// How many polls of one job before it is given up (at most one per `poll_interval`).
    pub max_polls: u32,
    /// How storefronts are fetched over HTTP (`TRUEREEL_ALLOW_PRIVATE_NETWORK`, … — see
    /// [`FetchPolicy`](crate::adapters::http::FetchPolicy)).
    pub fetch: crate::adapters::http::FetchPolicy,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            width: 1080,
            height: 1920,
            fps: 30,
            budget: Budget::default(),
            max_attempts: 3,
            min_reel_ms: 10_000,
            max_reel_ms: 30_000,
            run_started_ms: crate::now_ms(),
            presign_ttl: Duration::from_secs(3600),
            max_polls: 360,
            fetch: Default::default(),
        }
    }
}

impl Settings {
    /// Defaults overridden by whatever `TRUEREEL_*` variables are set.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut s = Settings { fetch: crate::adapters::http::FetchPolicy::from_lookup(&get)?, ..Settings::default() };
        if let Some(v) = get("TRUEREEL_RESOLUTION") {
            (s.width, s.height) = parse_resolution(&v).ok_or_else(|| ConfigError {
                name: "TRUEREEL_RESOLUTION".into(),
                value: v.clone(),
                reason: "expected WIDTHxHEIGHT with even sides, e.g. 1080x1920".into(),
            })?;
        }
        if let Some(v) = get("TRUEREEL_FPS") {
            s.fps = parse_num("TRUEREEL_FPS", &v, 1.0, 120.0)? as u32;
        }
        if let Some(v) = get("TRUEREEL_BUDGET_USD") {
            s.budget.per_run = Some(Usd::from_dollars(parse_num("TRUEREEL_BUDGET_USD", &v, 0.0, 1e9)?));
        }
        if let Some(v) = get("TRUEREEL_REEL_BUDGET_USD") {
            s.budget.per_reel = Usd::from_dollars(parse_num("TRUEREEL_REEL_BUDGET_USD", &v, 0.0, 1e9)?);
        }
        if let Some(v) = get("TRUEREEL_MAX_ATTEMPTS") {
            s.max_attempts = parse_num("TRUEREEL_MAX_ATTEMPTS", &v, 1.0, 20.0)? as u32;
        }
        if let Some(v) = get("TRUEREEL_MIN_REEL_MS") {
            s.min_reel_ms = parse_num("TRUEREEL_MIN_REEL_MS", &v, 1000.0, 600_000.0)? as u32;
        }
        if let Some(v) = get("TRUEREEL_MAX_REEL_MS") {
            s.max_reel_ms = parse_num("TRUEREEL_MAX_REEL_MS", &v, 1000.0, 600_000.0)? as u32;
        }
        if s.min_reel_ms > s.max_reel_ms {
            return Err(ConfigError {
                name: "TRUEREEL_MIN_REEL_MS".into(),
                value: s.min_reel_ms.to_string(),
                reason: format!("is above TRUEREEL_MAX_REEL_MS ({})", s.max_reel_ms),
            });
        }
        Ok(s)
    }
}

/// `1080x1920` → (1080, 1920); sides must be even (H.264 4:2:0) and sane.
pub fn parse_resolution(v: &str) -> Option<(u32, u32)> {
    let (w, h) = v.trim().split_once(['x', 'X'])?;
    let (w, h): (u32, u32) = (w.parse().ok()?, h.parse().ok()?);
    (w >= 16 && h >= 16 && w <= 4096 && h <= 4096 && w % 2 == 0 && h % 2 == 0).then_some((w, h))
}

fn parse_num(name: &str, v: &str, min: f64, max: f64) -> Result<f64, ConfigError> {
    match v.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n >= min && n <= max => Ok(n),
        _ => Err(ConfigError {
            name: name.into(),
            value: v.into(),
            reason: format!("expected a number from {min} to {max}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_defaults_and_bad_values_name_the_variable() {
        let s = Settings::from_lookup(|k| match k {
            "TRUEREEL_RESOLUTION" => Some("540x960".into()),
            "TRUEREEL_BUDGET_USD" => Some("2.5".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!((s.width, s.height), (540, 960));
        assert_eq!(s.budget.per_run, Some(Usd(2_500_000)));
        let e = Settings::from_lookup(|k| (k == "TRUEREEL_FPS").then(|| "fast".to_string())).unwrap_err();
        assert!(e.to_string().contains("TRUEREEL_FPS"), "{e}");
        assert!(parse_resolution("1081x1920").is_none());
    }
}
