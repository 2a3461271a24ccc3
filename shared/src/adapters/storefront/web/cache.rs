//! The page cache: listing pages kept in the blob store with their validators, so that the next crawl of an
//! unchanged store asks only "has it changed?" and reuses the body it already has.
//!
//! One record per URL under `cache/http/<sha256 of the URL>`: a line of JSON (the URL, the validators, the
//! headers a source needs again on a 304, such as `X-WP-TotalPages`), a newline, then the raw body.

use crate::BlobKey;
use crate::Sha256;
use crate::ports::{BlobError, BlobStore, FetchError, FetchRequest, Fetched, Fetcher, Validators};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Response headers worth keeping with a cached page (lower-case names).
const KEPT_HEADERS: &[&str] = &["x-wp-total", "x-wp-totalpages", "link"];

/// A listing page's body, fresh or reused from the cache.
#[derive(Debug, Clone)]
pub struct Page {
    /// The URL that answered, after redirects.
    pub url: String,
    pub body: Bytes,
    pub content_type: Option<String>,
    /// The headers in [`KEPT_HEADERS`], names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The server said 304 and the cached body was used.
    pub revalidated: bool,
}

impl Page {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Record {
    url: String,
    final_url: String,
    validators: Validators,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    headers: Vec<(String, String)>,
}

/// Conditional GETs backed by the blob store.
#[derive(Clone)]
pub struct PageCache {
    blobs: Arc<dyn BlobStore>,
}

impl PageCache {
    pub fn new(blobs: Arc<dyn BlobStore>) -> Self {
        Self { blobs }
    }

    /// Where the record for `url` lives.
    pub fn key(url: &str) -> BlobKey {
        BlobKey::parse(&format!("cache/http/{}", Sha256::of(url.as_bytes()))).expect("a hex digest is a valid key")
    }

    /// GETs `url`, sending the validators remembered from last time; a 304 answers the remembered body.
    /// Cache trouble is logged and never fails the fetch.
    pub async fn get(
        &self,
        fetcher: &dyn Fetcher,
        url: &str,
        accept: &str,
        max_bytes: u64,
    ) -> Result<Page, FetchError> {
        let cached = self.load(url).await;
        let validators = cached.as_ref().map(|(r, _)| r.validators.clone());
        let request = FetchRequest::new(url, accept, max_bytes).if_changed(validators.as_ref());
        match fetcher.fetch(request).await? {
            Fetched::Body(b) => {
                let headers: Vec<(String, String)> = b
                    .headers
                    .iter()
                    .filter(|(k, _)| KEPT_HEADERS.iter().any(|h| k.eq_ignore_ascii_case(h)))
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                    .collect();
                let page = Page {
                    url: b.url.clone(),
                    body: b.bytes.clone(),
                    content_type: b.content_type.clone(),
                    headers,
                    revalidated: false,
                };
                if !b.validators.is_empty() {
                    self.store(url, &page, &b.validators).await;
                } else if cached.is_some() {
                    // The server stopped sending validators: forget the stale record's validators.
                    self.store(url, &page, &Validators::default()).await;
                }
                Ok(page)
            }
            Fetched::NotModified { url: answered } => match cached {
                Some((record, body)) => {
                    tracing::debug!(url, "Not modified; reusing the cached page.");
                    Ok(Page {
                        url: record.final_url,
                        body,
                        content_type: record.content_type,
                        headers: record.headers,
                        revalidated: true,
                    })
                }
                None => Err(FetchError::Invalid {
                    url: answered,
                    reason: "304 Not Modified to a request that named no version".into(),
                }),
            },
        }
    }

    async fn load(&self, url: &str) -> Option<(Record, Bytes)> {
        let key = Self::key(url);
        let raw = match self.blobs.get(&key).await {
            Ok(raw) => raw,
            Err(BlobError::NotFound(_)) => return None,
            Err(e) => {
                tracing::warn!(url, error = %e, "Could not read the page cache; fetching in full.");
                return None;
            }
        };
        let split = raw.iter().position(|b| *b == b'\n')?;
        let record: Record = match serde_json::from_slice(&raw[..split]) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(url, error = %e, "Ignored an unreadable page-cache record.");
                return None;
            }
        };
        // Two URLs with one digest would be a SHA-256 collision; a record for another URL is simply not ours.
        if record.url != url || record.validators.is_empty() {
            return None;
        }
        Some((record, raw.slice(split + 1..)))
    }

    async fn store(&self, url: &str, page: &Page, validators: &Validators) {
        let record = Record {
            url: url.to_string(),
            final_url: page.url.clone(),
            validators: validators.clone(),
            content_type: page.content_type.clone(),
            headers: page.headers.clone(),
        };
        let mut out = serde_json::to_vec(&record).expect("a record serializes");
        out.push(b'\n');
        out.extend_from_slice(&page.body);
        if let Err(e) = self.blobs.put(&Self::key(url), Bytes::from(out), "application/octet-stream").await {
            tracing::warn!(url, error = %e, "Could not write the page cache; the next crawl fetches this page in full.");
        }
    }
}
