//! The safe fetcher: the one [`Fetcher`](crate::ports::Fetcher) every request to the outside goes through.
//!
//! - **SSRF guard** (`guard`): only `http`/`https`, no credentials in URLs; loopback, private, CGNAT,
//!   unique-local, link-local, metadata, multicast, documentation and other special addresses are refused on
//!   IP literals, in every DNS answer (the connector only ever sees vetted addresses) and on every redirect hop.
//!   Proxies from the environment are ignored. A refused request never opens a connection.
//! - **Caps**: redirects (5), time per attempt (30 s) and to connect (10 s), body bytes (per request,
//!   announced or counted while streaming), response header lines (100).
//! - **Politeness**: an honest `User-Agent`, 4 requests at a time and 100 ms between request starts per host,
//!   and `robots.txt` (fetched once per origin and day through the same guard; our token is `truereel`, then
//!   `*`). A 4xx for `robots.txt` allows everything; a 5xx, 429 or an unreachable host disallows the whole
//!   host for a minute (RFC 9309, like Google) and the request fails as `Transient`.
//! - **Retries**: 408, 429, 5xx, timeouts and dropped connections, 3 attempts with exponential backoff and
//!   jitter, honouring `Retry-After` (seconds or a date) up to 30 s; a longer wait ends the request as
//!   `Transient { retry_after }` so the stage requeues instead of sleeping. Other 4xx fail at once as `Status`.
//! - **Conditional requests**: validators go out as `If-None-Match` / `If-Modified-Since`; a 304 is
//!   `NotModified`; `ETag` and `Last-Modified` come back in [`FetchedBody::validators`](crate::ports::FetchedBody).
//!
//! Configuration ([`FetchPolicy::from_env`]; anything unset keeps the default above):
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `TRUEREEL_ALLOW_PRIVATE_NETWORK` | `1` to reach loopback and private networks (intranet stores); metadata and link-local stay refused | `0` |
//! | `TRUEREEL_TRUSTED_HOSTS` | comma-separated exact `host:port` pairs reachable even on private addresses (operator allowlist) | none |
//! | `TRUEREEL_IGNORE_ROBOTS` | `1` to skip `robots.txt` (only for your own sites) | `0` |
//! | `TRUEREEL_USER_AGENT` | the `User-Agent` header | `truereel/<version> (+https://github.com/truereel/truereel)` |
//! | `TRUEREEL_FETCH_TIMEOUT_SECS` | one attempt, send to last body byte | `30` |
//! | `TRUEREEL_FETCH_CONNECT_TIMEOUT_SECS` | TCP and TLS connect | `10` |
//! | `TRUEREEL_FETCH_MAX_REDIRECTS` | redirect hops followed | `5` |
//! | `TRUEREEL_FETCH_ATTEMPTS` | attempts per hop for transient failures | `3` |
//! | `TRUEREEL_FETCH_MAX_RETRY_WAIT_SECS` | longest wait the fetcher sleeps itself | `30` |
//! | `TRUEREEL_HOST_CONCURRENCY` | requests in flight per host | `4` |
//! | `TRUEREEL_HOST_INTERVAL_MS` | least time between request starts per host | `100` |

mod fetcher;
mod guard;
mod limiter;
mod policy;
mod robots;

pub use fetcher::{FetcherSetupError, SafeFetcher};
pub use policy::{DEFAULT_USER_AGENT, FetchPolicy, ROBOTS_TOKEN};

#[cfg(test)]
mod tests;
