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
//!   `Transient { retry_after }` (cut to [`MAX_REQUEUE_DELAY`], and said in the reason) so the stage requeues
//!   instead of sleeping. Other 4xx fail at once as `Status`, a response head too large as `Invalid`.
//! - **Minimum rate**: a body slower than `min_rate` bytes/s over `min_rate_window` is cut as `Transient`
//!   without another attempt.
//! - **Conditional requests**: validators go out as `If-None-Match` / `If-Modified-Since`; a 304 is
//!   `NotModified`; `ETag` and `Last-Modified` come back in [`FetchedBody::validators`](crate::ports::FetchedBody).
//!
//! Configuration: [`FetchPolicy`], from the `TRUEREEL_FETCH_*`, `TRUEREEL_HOST_*` and related settings
//! (`truereel config` lists them).

mod fetcher;
pub(crate) mod guard;
mod limiter;
mod robots;

pub use crate::config::{DEFAULT_USER_AGENT, FetchPolicy};
pub use fetcher::{FetcherSetupError, SafeFetcher};

/// The longest a request may be put off for (SQS's longest message delay, 15 minutes): a longer
/// `Retry-After` is cut to this and the reason says so.
pub const MAX_REQUEUE_DELAY: std::time::Duration = std::time::Duration::from_secs(900);

/// The token `robots.txt` groups are matched against.
pub const ROBOTS_TOKEN: &str = "truereel";

#[cfg(test)]
mod tests;
