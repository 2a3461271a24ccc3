//! Outside HTTP: the one door every request to a storefront goes through (pages, feeds and photos).
//!
//! The adapter behind it ([`SafeFetcher`](crate::adapters::http::SafeFetcher)) refuses private and metadata
//! addresses, caps bytes, time and redirects, keeps to `robots.txt` and a per-host rate, and retries politely.
//! Sources above it only say what they want and how big it may be.

pub use crate::Validators;
use async_trait::async_trait;
use bytes::Bytes;
use std::time::Duration;

/// One GET.
#[derive(Debug, Clone, Copy)]
pub struct FetchRequest<'a> {
    /// Absolute `http://` or `https://` URL.
    pub url: &'a str,
    /// The `Accept` header (`application/json`, `image/*`, …).
    pub accept: &'a str,
    /// Bodies longer than this are refused (announced or counted while streaming).
    pub max_bytes: u64,
    /// Sent as `If-None-Match` / `If-Modified-Since`; a 304 answers [`Fetched::NotModified`].
    pub validators: Option<&'a Validators>,
}

impl<'a> FetchRequest<'a> {
    pub fn new(url: &'a str, accept: &'a str, max_bytes: u64) -> Self {
        Self { url, accept, max_bytes, validators: None }
    }

    pub fn if_changed(mut self, validators: Option<&'a Validators>) -> Self {
        self.validators = validators.filter(|v| !v.is_empty());
        self
    }
}

/// A 2xx answer with its body read (and capped).
#[derive(Debug, Clone)]
pub struct FetchedBody {
    /// The URL that answered, after redirects.
    pub url: String,
    pub status: u16,
    pub content_type: Option<String>,
    pub bytes: Bytes,
    pub validators: Validators,
    /// Response headers, names lower-cased (for `X-WP-TotalPages`, `Link`, …).
    pub headers: Vec<(String, String)>,
}

impl FetchedBody {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone)]
pub enum Fetched {
    Body(FetchedBody),
    /// 304: the version named by the request's validators is still current.
    NotModified {
        url: String,
    },
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FetchError {
    /// Never sent: not http(s), a private/loopback/metadata address (also after DNS and on every redirect),
    /// or disallowed by `robots.txt`.
    #[error("{url}: refused: {reason}")]
    Refused { url: String, reason: String },
    /// The server answered with a status that will not change by asking again (404, 403, 410, …).
    #[error("{url}: HTTP {status}")]
    Status { url: String, status: u16 },
    /// Over the byte cap, too many redirects, an unreadable URL or body.
    #[error("{url}: {reason}")]
    Invalid { url: String, reason: String },
    /// 429, 5xx, a timeout or a dropped connection that persisted through the fetcher's own retries; the
    /// caller decides whether to try again later (and says so), so the message does not.
    #[error("{url}: {reason}")]
    Transient { url: String, reason: String, retry_after: Option<Duration> },
}

impl FetchError {
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Transient { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub fn url(&self) -> &str {
        match self {
            Self::Refused { url, .. } | Self::Status { url, .. } | Self::Invalid { url, .. } => url,
            Self::Transient { url, .. } => url,
        }
    }

    /// The reason without the URL, for messages that already name it.
    pub fn reason(&self) -> String {
        match self {
            Self::Refused { reason, .. } => format!("refused: {reason}"),
            Self::Status { status, .. } => format!("HTTP {status}"),
            Self::Invalid { reason, .. } | Self::Transient { reason, .. } => reason.clone(),
        }
    }
}

#[async_trait]
pub trait Fetcher: Send + Sync {
    async fn fetch(&self, request: FetchRequest<'_>) -> Result<Fetched, FetchError>;
    /// Whether `url` may be fetched at all (scheme, address after DNS), without sending anything:
    /// `Err(FetchError::Refused)` when it may not. Other trouble (DNS down) is left to `fetch`.
    async fn vet(&self, url: &str) -> Result<(), FetchError> {
        let _ = url;
        Ok(())
    }
}
