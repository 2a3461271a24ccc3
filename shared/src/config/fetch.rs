//! What the safe fetcher allows and how politely it asks ([`FetchPolicy`]), as configured.

use std::net::IpAddr;
use std::time::Duration;

/// The user agent: our product token (`truereel`, what `robots.txt` groups name), version and contact.
pub const DEFAULT_USER_AGENT: &str =
    concat!("truereel/", env!("CARGO_PKG_VERSION"), " (+https://github.com/truereel/truereel)");

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
    /// A transfer slower than this many bytes per second over [`Self::min_rate_window`] is cut (0: never).
    pub min_rate: u64,
    /// The window the minimum rate is measured over.
    pub min_rate_window: Duration,
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
            min_rate: 1024,
            min_rate_window: Duration::from_secs(10),
            max_headers: 100,
            robots_max_bytes: 512 * 1024,
            robots_ttl: Duration::from_secs(24 * 3600),
            robots_retry: Duration::from_secs(60),
        }
    }
}
