//! [`SafeFetcher`]: the [`Fetcher`] every outside request goes through. One request is a chain of hops
//! (redirects followed here, each hop checked by the guard and `robots.txt`), each hop a few attempts (429,
//! 5xx, timeouts and dropped connections retried with backoff), each attempt one slot at its host.

use super::guard::{GuardedResolver, Refusal, UrlGuard, host_port};
use super::limiter::HostLimiter;
use super::robots::Robots;
use super::{FetchPolicy, MAX_REQUEUE_DELAY, ROBOTS_TOKEN};
use crate::ports::{FetchError, FetchRequest, Fetched, FetchedBody, Fetcher, Validators};
use async_trait::async_trait;
use bytes::BytesMut;
use reqwest::header::{ACCEPT, CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, LOCATION};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::time::Instant;
use tracing::Instrument;
use url::Url;

/// The fetcher could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum FetcherSetupError {
    #[error("setting up the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// What one hop asks for.
struct Ask<'a> {
    accept: &'a str,
    max_bytes: u64,
    validators: Option<&'a Validators>,
    /// Keep the first `max_bytes` of a longer body instead of failing (for `robots.txt`).
    truncate: bool,
}

enum Step {
    Done(Fetched),
    Redirect(Url),
}

/// Why an attempt did not finish the hop.
enum Failure {
    Retry { reason: String, retry_after: Option<Duration> },
    Fail(FetchError),
}

/// A host's `robots.txt` verdict and until when it holds.
#[derive(Clone)]
struct RobotsEntry {
    until: Instant,
    /// `Err` while the file is unavailable (5xx, unreachable): the whole host counts as disallowed.
    rules: Result<Robots, String>,
}

type RobotsCell = Arc<tokio::sync::Mutex<Option<RobotsEntry>>>;

pub struct SafeFetcher {
    client: reqwest::Client,
    policy: FetchPolicy,
    guard: UrlGuard,
    resolver: GuardedResolver,
    limiter: HostLimiter,
    robots: Mutex<HashMap<String, RobotsCell>>,
}

impl std::fmt::Debug for SafeFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SafeFetcher").field("policy", &self.policy).finish_non_exhaustive()
    }
}

impl SafeFetcher {
    pub fn new(policy: FetchPolicy) -> Result<Self, FetcherSetupError> {
        let guard = UrlGuard::new(policy.allow_private_network, &policy.trusted_hosts);
        let resolver = GuardedResolver {
            allow_private: policy.allow_private_network,
            trusted_names: Arc::new(guard.trusted_names.clone()),
            overrides: Arc::new(
                policy
                    .host_overrides
                    .iter()
                    .map(|(h, ips)| (h.trim_end_matches('.').to_ascii_lowercase(), ips.clone()))
                    .collect(),
            ),
        };
        let client = reqwest::Client::builder()
            .user_agent(policy.user_agent.clone())
            // Redirects are followed (and re-checked) here; environment proxies would bypass the guard.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .referer(false)
            .dns_resolver(resolver.clone())
            .timeout(policy.timeout)
            .connect_timeout(policy.connect_timeout)
            .http1_max_headers(policy.max_headers)
            .build()?;
        let limiter = HostLimiter::new(policy.per_host_concurrency, policy.per_host_interval);
        Ok(Self { client, policy, guard, resolver, limiter, robots: Mutex::new(HashMap::new()) })
    }

    pub fn policy(&self) -> &FetchPolicy {
        &self.policy
    }

    /// Follows hops from `url`; boxed because a hop's `robots.txt` check fetches through here too.
    fn follow<'a>(
        &'a self,
        url: Url,
        ask: &'a Ask<'a>,
        robots: bool,
    ) -> Pin<Box<dyn Future<Output = Result<Fetched, FetchError>> + Send + 'a>> {
        Box::pin(async move {
            let first = url.to_string();
            let mut url = url;
            for hop in 0..=self.policy.max_redirects {
                self.guard.check(&url).map_err(|Refusal(reason)| refused(&url, reason))?;
                if robots && self.policy.respect_robots {
                    self.check_robots(&url).await?;
                }
                match self.attempts(&url, ask).await? {
                    Step::Done(fetched) => return Ok(fetched),
                    Step::Redirect(next) => {
                        tracing::debug!(hop, to_host = next.host_str().unwrap_or_default(), "redirect");
                        url = next;
                    }
                }
            }
            let reason = format!("more than {} redirects (the cap)", self.policy.max_redirects);
            Err(FetchError::Invalid { url: first, reason })
        })
    }

    /// One hop with its retries.
    async fn attempts(&self, url: &Url, ask: &Ask<'_>) -> Result<Step, FetchError> {
        let host = host_port(url).unwrap_or_default();
        let (mut reason, mut retry_after) = (String::new(), None);
        let attempts = self.policy.max_attempts.max(1);
        for attempt in 1..=attempts {
            let span = tracing::debug_span!("attempt", host = %host, path = url.path(), attempt);
            let outcome = async {
                let _slot = self.limiter.acquire(&host).await;
                self.attempt(url, ask).await
            }
            .instrument(span)
            .await;
            match outcome {
                Ok(step) => return Ok(step),
                Err(Failure::Fail(e)) => return Err(e),
                Err(Failure::Retry { reason: why, retry_after: after }) => (reason, retry_after) = (why, after),
            }
            if let Some(wait) = retry_after.filter(|w| *w > self.policy.max_retry_wait) {
                // Handed back to the caller to requeue, never for longer than a queue can delay a message.
                let capped = wait.min(MAX_REQUEUE_DELAY);
                let mut reason = format!("{reason}; the server asks to wait {} s (Retry-After)", wait.as_secs());
                if capped < wait {
                    reason.push_str(&format!(", cut to {} s", capped.as_secs()));
                }
                return Err(FetchError::Transient { url: url.to_string(), reason, retry_after: Some(capped) });
            }
            if attempt < attempts {
                let wait = retry_after.unwrap_or_else(|| self.backoff(attempt));
                tracing::info!(host = %host, attempt, %reason, wait_ms = wait.as_millis() as u64, "retrying");
                tokio::time::sleep(wait).await;
            }
        }
        let reason = format!("{reason} ({attempts} attempts)");
        Err(FetchError::Transient {
            url: url.to_string(),
            reason,
            retry_after: retry_after.map(|w| w.min(MAX_REQUEUE_DELAY)),
        })
    }

    /// `base · 2^(attempt-1)` plus up to half again of jitter, at most `max_retry_wait`.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.policy.backoff_base.saturating_mul(1 << (attempt - 1).min(16));
        let jitter = exp.mul_f64(fastrand::f64() * 0.5);
        (exp + jitter).min(self.policy.max_retry_wait)
    }

    async fn attempt(&self, url: &Url, ask: &Ask<'_>) -> Result<Step, Failure> {
        let mut request = self.client.get(url.clone()).header(ACCEPT, ask.accept);
        if let Some(v) = ask.validators {
            if let Some(etag) = &v.etag {
                request = request.header(IF_NONE_MATCH, etag);
            }
            if let Some(date) = &v.last_modified {
                request = request.header(IF_MODIFIED_SINCE, date);
            }
        }
        let mut response = request.send().await.map_err(|e| send_failure(url, &e))?;
        let status = response.status().as_u16();
        let header = |name| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        tracing::debug!(status, "response");
        match status {
            200..=299 => {}
            304 if ask.validators.is_some() => return Ok(Step::Done(Fetched::NotModified { url: url.to_string() })),
            301 | 302 | 303 | 307 | 308 => {
                let next = header(LOCATION).and_then(|l| url.join(&l).ok()).ok_or_else(|| {
                    let reason = format!("HTTP {status} redirect without a usable Location");
                    Failure::Fail(FetchError::Invalid { url: url.to_string(), reason })
                })?;
                return Ok(Step::Redirect(next));
            }
            408 | 429 | 500..=599 => {
                let retry_after = header(reqwest::header::RETRY_AFTER).and_then(|v| parse_retry_after(&v));
                return Err(Failure::Retry { reason: format!("HTTP {status}"), retry_after });
            }
            _ => return Err(Failure::Fail(FetchError::Status { url: url.to_string(), status })),
        }
        let too_big = |what: String| {
            let reason = format!("{what} is over the cap of {} bytes", ask.max_bytes);
            Failure::Fail(FetchError::Invalid { url: url.to_string(), reason })
        };
        if let Some(len) = response.content_length().filter(|&len| len > ask.max_bytes && !ask.truncate) {
            return Err(too_big(format!("the announced body of {len} bytes")));
        }
        let validators = Validators { etag: header(ETAG), last_modified: header(LAST_MODIFIED) };
        let content_type = header(CONTENT_TYPE);
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let cap = usize::try_from(ask.max_bytes).unwrap_or(usize::MAX);
        let mut bytes = BytesMut::with_capacity(response.content_length().unwrap_or(0).min(1 << 20) as usize);
        let mut pace = Pace::new(self.policy.min_rate, self.policy.min_rate_window);
        loop {
            let chunk = match pace.deadline() {
                None => response.chunk().await,
                Some(at) => match tokio::time::timeout_at(at, response.chunk()).await {
                    Ok(chunk) => chunk,
                    // Nothing at all arrived within the window's end: measure what did.
                    Err(_) => {
                        pace.check(0).map_err(|reason| stalled(url, reason))?;
                        continue;
                    }
                },
            };
            let Some(chunk) = chunk.map_err(|e| send_failure(url, &e))? else { break };
            pace.check(chunk.len() as u64).map_err(|reason| stalled(url, reason))?;
            if bytes.len() + chunk.len() > cap {
                if ask.truncate {
                    bytes.extend_from_slice(&chunk[..cap - bytes.len()]);
                    break;
                }
                return Err(too_big(format!("the body (more than {} bytes read)", bytes.len() + chunk.len())));
            }
            bytes.extend_from_slice(&chunk);
        }
        tracing::debug!(status, bytes = bytes.len(), "body read");
        let url = url.to_string();
        Ok(Step::Done(Fetched::Body(FetchedBody {
            url,
            status,
            content_type,
            bytes: bytes.freeze(),
            validators,
            headers,
        })))
    }

    /// Refuses `url` if its host's `robots.txt` disallows it; fetches that file once per origin (per TTL).
    async fn check_robots(&self, url: &Url) -> Result<(), FetchError> {
        let origin = url.origin().ascii_serialization();
        let cell = self.robots.lock().unwrap_or_else(|e| e.into_inner()).entry(origin.clone()).or_default().clone();
        let entry = {
            let mut entry = cell.lock().await;
            if entry.as_ref().is_none_or(|e| e.until <= Instant::now()) {
                *entry = Some(self.load_robots(&origin).await);
            }
            entry.clone().expect("just filled")
        };
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        match entry.rules {
            Ok(robots) if robots.allows(&path) => Ok(()),
            Ok(_) => Err(refused(url, "disallowed by robots.txt".into())),
            Err(why) => Err(FetchError::Transient {
                url: url.to_string(),
                reason: format!("robots.txt unavailable ({why}); the host counts as disallowed meanwhile"),
                retry_after: Some(entry.until.saturating_duration_since(Instant::now())),
            }),
        }
    }

    /// RFC 9309: a 4xx (or a redirect chain that cannot be followed) means no rules; 5xx, 429 and unreachable
    /// mean "disallow everything" for `robots_retry`, then ask again.
    async fn load_robots(&self, origin: &str) -> RobotsEntry {
        let now = Instant::now();
        let Ok(url) = Url::parse(&format!("{origin}/robots.txt")) else {
            return RobotsEntry { until: now + self.policy.robots_ttl, rules: Ok(Robots::allow_all()) };
        };
        let ask =
            Ask { accept: "text/plain", max_bytes: self.policy.robots_max_bytes, validators: None, truncate: true };
        let (rules, ttl) = match self.follow(url, &ask, false).await {
            Ok(Fetched::Body(body)) => {
                (Ok(Robots::parse(&String::from_utf8_lossy(&body.bytes), ROBOTS_TOKEN)), self.policy.robots_ttl)
            }
            Ok(Fetched::NotModified { .. }) => (Ok(Robots::allow_all()), self.policy.robots_ttl),
            Err(e @ FetchError::Transient { .. }) => (Err(e.reason()), self.policy.robots_retry),
            Err(e) => {
                tracing::debug!(origin, reason = %e.reason(), "no usable robots.txt: everything allowed");
                (Ok(Robots::allow_all()), self.policy.robots_ttl)
            }
        };
        tracing::debug!(origin, available = rules.is_ok(), "robots.txt loaded");
        RobotsEntry { until: now + ttl, rules }
    }
}

#[async_trait]
impl Fetcher for SafeFetcher {
    async fn vet(&self, url: &str) -> Result<(), FetchError> {
        let url = Url::parse(url)
            .map_err(|e| FetchError::Invalid { url: url.to_string(), reason: format!("not an absolute URL: {e}") })?;
        self.guard.check(&url).map_err(|Refusal(reason)| refused(&url, reason))?;
        // A name is vetted as the connector would see it; a DNS failure is left to `fetch` (it may pass).
        if let Some(url::Host::Domain(name)) = url.host()
            && let Err(e) = self.resolver.resolve_name(name).await
            && let Some(Refusal(reason)) = e.downcast_ref::<Refusal>()
        {
            return Err(refused(&url, reason.clone()));
        }
        Ok(())
    }

    async fn fetch(&self, request: FetchRequest<'_>) -> Result<Fetched, FetchError> {
        let url = Url::parse(request.url).map_err(|e| FetchError::Invalid {
            url: request.url.to_string(),
            reason: format!("not an absolute URL: {e}"),
        })?;
        let span = tracing::info_span!("fetch", host = url.host_str().unwrap_or_default(), path = url.path());
        let ask = Ask {
            accept: request.accept,
            max_bytes: request.max_bytes,
            validators: request.validators,
            truncate: false,
        };
        let result = self.follow(url, &ask, true).instrument(span.clone()).await;
        span.in_scope(|| match &result {
            Ok(Fetched::Body(body)) => tracing::debug!(status = body.status, bytes = body.bytes.len(), "fetched"),
            Ok(Fetched::NotModified { .. }) => tracing::debug!("not modified"),
            Err(e) => tracing::info!(reason = %e.reason(), "fetch failed"),
        });
        result
    }
}

fn refused(url: &Url, reason: String) -> FetchError {
    FetchError::Refused { url: crate::redact(url.as_str()), reason }
}

/// A guard refusal from the resolver stays a refusal; everything else on the wire is worth another try.
fn send_failure(url: &Url, e: &reqwest::Error) -> Failure {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut chain = Vec::new();
    while let Some(err) = source {
        if let Some(Refusal(reason)) = err.downcast_ref::<Refusal>() {
            return Failure::Fail(refused(url, reason.clone()));
        }
        chain.push(err.to_string());
        source = err.source();
    }
    if e.is_builder() {
        return Failure::Fail(FetchError::Invalid { url: url.to_string(), reason: chain.join(": ") });
    }
    // The same server sends the same oversized head again: asking again cannot help.
    if chain.iter().any(|c| c.contains("message head is too large")) {
        let reason = "the response head is too large (too many header lines, or too long)".to_string();
        return Failure::Fail(FetchError::Invalid { url: url.to_string(), reason });
    }
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "connection failed"
    };
    Failure::Retry { reason: format!("{what}: {}", chain.last().cloned().unwrap_or_default()), retry_after: None }
}

/// A transfer under the minimum rate: not tried again here (it has had its window, and the photo and product
/// budgets are better spent elsewhere), but transient for the caller (a later try may find the server well).
fn stalled(url: &Url, reason: String) -> Failure {
    Failure::Fail(FetchError::Transient { url: url.to_string(), reason, retry_after: None })
}

/// The minimum transfer rate: bytes counted per window; a window that ends under the floor cuts the transfer.
struct Pace {
    floor: u64,
    window: Duration,
    started: Instant,
    bytes: u64,
}

impl Pace {
    fn new(floor: u64, window: Duration) -> Self {
        Self { floor, window, started: Instant::now(), bytes: 0 }
    }

    /// When the current window ends, if a floor is kept.
    fn deadline(&self) -> Option<Instant> {
        (self.floor > 0 && !self.window.is_zero()).then(|| self.started + self.window)
    }

    /// Counts `bytes` just read; at a window's end, an error if it carried too few.
    fn check(&mut self, bytes: u64) -> Result<(), String> {
        self.bytes += bytes;
        let Some(end) = self.deadline() else { return Ok(()) };
        if Instant::now() < end {
            return Ok(());
        }
        let need = (self.floor as f64 * self.window.as_secs_f64()) as u64;
        if self.bytes < need {
            let secs = self.window.as_secs_f64();
            return Err(format!(
                "stalled: {} bytes in {secs} s, under {} bytes/s (TRUEREEL_FETCH_MIN_RATE)",
                self.bytes, self.floor
            ));
        }
        (self.started, self.bytes) = (Instant::now(), 0);
        Ok(())
    }
}

/// `Retry-After` as seconds or an HTTP-date (a date in the past means now).
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::parse_retry_after;
    use std::time::{Duration, SystemTime};

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
        let wait = parse_retry_after(&later).unwrap();
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120), "{wait:?}");
        assert_eq!(parse_retry_after("soon"), None);
    }
}
