//! A test [`Fetcher`]: serves a map of URL → (status, headers, body), honours `If-None-Match` against a
//! route's ETag, and records every request.

use crate::ports::{FetchError, FetchRequest, Fetched, FetchedBody, Fetcher, Validators};
use async_trait::async_trait;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Clone)]
pub struct Route {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    pub etag: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    pub url: String,
    pub accept: String,
    pub validators: Option<Validators>,
}

#[derive(Default)]
pub struct MapFetcher {
    routes: Mutex<HashMap<String, Route>>,
    log: Mutex<Vec<Logged>>,
}

impl MapFetcher {
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves `body` with status 200 and an ETag derived from the body.
    pub fn ok(&self, url: &str, body: impl Into<Bytes>) -> &Self {
        let body = body.into();
        let etag = format!("\"{}\"", crate::Sha256::of(&body).short(16));
        self.route(url, Route { status: 200, headers: vec![], body, etag: Some(etag) })
    }

    /// Serves `body` with status 200, the given headers and no validators.
    pub fn ok_with(&self, url: &str, body: impl Into<Bytes>, headers: &[(&str, &str)]) -> &Self {
        let headers = headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.to_string())).collect();
        self.route(url, Route { status: 200, headers, body: body.into(), etag: Some("\"h\"".into()) })
    }

    pub fn status(&self, url: &str, status: u16) -> &Self {
        self.route(url, Route { status, headers: vec![], body: Bytes::new(), etag: None })
    }

    pub fn route(&self, url: &str, route: Route) -> &Self {
        self.routes.lock().unwrap().insert(url.to_string(), route);
        self
    }

    pub fn requests(&self) -> Vec<Logged> {
        self.log.lock().unwrap().clone()
    }

    pub fn urls(&self) -> Vec<String> {
        self.requests().into_iter().map(|l| l.url).collect()
    }

    pub fn clear_log(&self) {
        self.log.lock().unwrap().clear();
    }
}

#[async_trait]
impl Fetcher for MapFetcher {
    async fn fetch(&self, request: FetchRequest<'_>) -> Result<Fetched, FetchError> {
        self.log.lock().unwrap().push(Logged {
            url: request.url.to_string(),
            accept: request.accept.to_string(),
            validators: request.validators.cloned(),
        });
        let url = request.url.to_string();
        let Some(route) = self.routes.lock().unwrap().get(request.url).cloned() else {
            return Err(FetchError::Status { url, status: 404 });
        };
        match route.status {
            200..=299 => {}
            429 | 500..=599 => {
                return Err(FetchError::Transient { url, reason: format!("HTTP {}", route.status), retry_after: None });
            }
            status => return Err(FetchError::Status { url, status }),
        }
        if route.body.len() as u64 > request.max_bytes {
            return Err(FetchError::Invalid { url, reason: format!("over the {} byte limit", request.max_bytes) });
        }
        if let (Some(sent), Some(etag)) = (request.validators.and_then(|v| v.etag.as_ref()), &route.etag)
            && sent == etag
        {
            return Ok(Fetched::NotModified { url });
        }
        Ok(Fetched::Body(FetchedBody {
            url,
            status: route.status,
            content_type: None,
            bytes: route.body,
            validators: Validators { etag: route.etag, last_modified: None },
            headers: route.headers,
        }))
    }
}
