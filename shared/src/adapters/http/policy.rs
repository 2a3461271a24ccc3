//! What the safe fetcher allows and how politely it asks: [`FetchPolicy`], from defaults or `TRUEREEL_*`
//! variables (listed in the [module docs](super)).

use crate::config::ConfigError;
use std::net::IpAddr;
use std::time::Duration;

/// The user agent: our product token (`truereel`, what `robots.txt` groups name), version and contact.
pub const DEFAULT_USER_AGENT: &str =
    concat!("truereel/", env!("CARGO_PKG_VERSION"), " (+https://github.com/truereel/truereel)");

/// The token `robots.txt` groups are matched against.
pub const ROBOTS_TOKEN: &str = "truereel";

#[derive(Debug, Clone, PartialEq)]
pub struct FetchPolicy {
    /// Sent on every request, `robots.txt` included.
    pub user_agent: String,
    /// Reach loopback and private networks (intranet stores, tests). Metadata and link-local addresses stay
    /// refused.
    pub allow_private_network: bool,
    /// Operator allowlist of exact `host:port` pairs (`127.0.0.1:8080`, `[::1]:8080`, `shop.lan:443`) reachable
    /// even on a private address. A listed name may then resolve privately, so it is refused on any other port.
    pub trusted_hosts: Vec<String>,
    /// Answers for names before DNS, like a hosts file (still vetted by the guard).
    pub host_overrides: Vec<(String, Vec<IpAddr>)>,
    /// Obey `robots.txt` (on by default; off only for tests and the operator's own sites).
    pub respect_robots: bool,
    pub max_redirects: usize,
    /// One attempt, from sending to the last body byte.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Attempts per request for 429, 5xx, timeouts and dropped connections (1 = no retries).
    pub max_attempts: u32,
    /// First backoff; doubles per attempt, with up to 50% jitter added.
    pub backoff_base: Duration,
    /// The longest the fetcher sleeps before a retry; a longer `Retry-After` ends the request as
    /// `Transient { retry_after }` for the caller to requeue instead.
    pub max_retry_wait: Duration,
    /// Requests in flight per host.
    pub per_host_concurrency: usize,
    /// Least time between two request starts at one host.
    pub per_host_interval: Duration,
    /// Response header lines accepted (HTTP/1.1).
    pub max_headers: usize,
    /// `robots.txt` bytes read; the rest is ignored (RFC 9309 asks for at least 500 KiB).
    pub robots_max_bytes: u64,
    /// How long a fetched (or missing) `robots.txt` is trusted.
    pub robots_ttl: Duration,
    /// How long an unreachable or 5xx `robots.txt` keeps its host disallowed before it is asked again.
    pub robots_retry: Duration,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        Self {
            user_agent: DEFAULT_USER_AGENT.to_string(),
            allow_private_network: false,
            trusted_hosts: Vec::new(),
            host_overrides: Vec::new(),
            respect_robots: true,
            max_redirects: 5,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_attempts: 3,
            backoff_base: Duration::from_millis(500),
            max_retry_wait: Duration::from_secs(30),
            per_host_concurrency: 4,
            per_host_interval: Duration::from_millis(100),
            max_headers: 100,
            robots_max_bytes: 512 * 1024,
            robots_ttl: Duration::from_secs(24 * 3600),
            robots_retry: Duration::from_secs(60),
        }
    }
}

impl FetchPolicy {
    /// Defaults overridden by whatever `TRUEREEL_*` fetch variables are set.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut p = Self::default();
        let err = |name: &str, value: &str, reason: &str| ConfigError {
            name: name.into(),
            value: value.into(),
            reason: reason.into(),
        };
        let flag = |name: &str| -> Result<Option<bool>, ConfigError> {
            get(name)
                .map(|v| match v.trim().to_ascii_lowercase().as_str() {
                    "1" | "true" | "yes" | "on" => Ok(true),
                    "0" | "false" | "no" | "off" | "" => Ok(false),
                    _ => Err(err(name, &v, "expected 1/0, true/false, yes/no or on/off")),
                })
                .transpose()
        };
        let num = |name: &str, min: u64, max: u64| -> Result<Option<u64>, ConfigError> {
            get(name)
                .map(|v| match v.trim().parse::<u64>() {
                    Ok(n) if (min..=max).contains(&n) => Ok(n),
                    _ => Err(err(name, &v, &format!("expected a whole number from {min} to {max}"))),
                })
                .transpose()
        };
        if let Some(v) = flag("TRUEREEL_ALLOW_PRIVATE_NETWORK")? {
            p.allow_private_network = v;
        }
        if let Some(v) = flag("TRUEREEL_IGNORE_ROBOTS")? {
            p.respect_robots = !v;
        }
        if let Some(v) = get("TRUEREEL_TRUSTED_HOSTS") {
            p.trusted_hosts = v.split(',').map(str::trim).filter(|h| !h.is_empty()).map(String::from).collect();
            if let Some(bad) =
                p.trusted_hosts.iter().find(|h| h.rsplit_once(':').is_none_or(|(_, port)| port.parse::<u16>().is_err()))
            {
                return Err(err("TRUEREEL_TRUSTED_HOSTS", &v, &format!("{bad} is not host:port")));
            }
        }
        if let Some(v) = get("TRUEREEL_USER_AGENT").filter(|v| !v.trim().is_empty()) {
            p.user_agent = v.trim().to_string();
        }
        if let Some(n) = num("TRUEREEL_FETCH_TIMEOUT_SECS", 1, 3600)? {
            p.timeout = Duration::from_secs(n);
        }
        if let Some(n) = num("TRUEREEL_FETCH_CONNECT_TIMEOUT_SECS", 1, 600)? {
            p.connect_timeout = Duration::from_secs(n);
        }
        if let Some(n) = num("TRUEREEL_FETCH_MAX_REDIRECTS", 0, 20)? {
            p.max_redirects = n as usize;
        }
        if let Some(n) = num("TRUEREEL_FETCH_ATTEMPTS", 1, 10)? {
            p.max_attempts = n as u32;
        }
        if let Some(n) = num("TRUEREEL_FETCH_MAX_RETRY_WAIT_SECS", 0, 3600)? {
            p.max_retry_wait = Duration::from_secs(n);
        }
        if let Some(n) = num("TRUEREEL_HOST_CONCURRENCY", 1, 64)? {
            p.per_host_concurrency = n as usize;
        }
        if let Some(n) = num("TRUEREEL_HOST_INTERVAL_MS", 0, 60_000)? {
            p.per_host_interval = Duration::from_millis(n);
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_environment() {
        let vars = |k: &str| match k {
            "TRUEREEL_ALLOW_PRIVATE_NETWORK" => Some("1".to_string()),
            "TRUEREEL_IGNORE_ROBOTS" => Some("true".to_string()),
            "TRUEREEL_TRUSTED_HOSTS" => Some("127.0.0.1:8080, shop.lan:443".to_string()),
            "TRUEREEL_HOST_INTERVAL_MS" => Some("0".to_string()),
            _ => None,
        };
        let p = FetchPolicy::from_lookup(vars).unwrap();
        assert!(p.allow_private_network && !p.respect_robots);
        assert_eq!(p.trusted_hosts, ["127.0.0.1:8080", "shop.lan:443"]);
        assert_eq!(p.per_host_interval, Duration::ZERO);
        assert_eq!(p.user_agent, DEFAULT_USER_AGENT);
        assert!(DEFAULT_USER_AGENT.starts_with("truereel/"));

        let e = FetchPolicy::from_lookup(|k| (k == "TRUEREEL_ALLOW_PRIVATE_NETWORK").then(|| "maybe".into()));
        assert!(e.unwrap_err().to_string().contains("TRUEREEL_ALLOW_PRIVATE_NETWORK"));
        let e = FetchPolicy::from_lookup(|k| (k == "TRUEREEL_TRUSTED_HOSTS").then(|| "shop.lan".into()));
        assert!(e.unwrap_err().to_string().contains("not host:port"));
        assert_eq!(FetchPolicy::from_lookup(|_| None).unwrap(), FetchPolicy::default());
    }
}
