//! The origin's HTTP server: `/reels/…` (published reels and posters, public), `/files/<key>` (any
//! blob, behind a signed expiring link), the review page and the read-only JSON API under `/api/`
//! (open on loopback, behind the review login elsewhere). It only ever reads files below the data
//! folder's `blobs/`: it fetches nothing upstream and follows no URL it is given.

use crate::file::{self, Asked, Serving};
use crate::links::{Caching, PublicUrls, REELS_PATH};
use crate::paths::{Folder, key_of};
use crate::signing::{FILES_PATH, LINK_TTL, Signature, SigningKey, unix_now};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use truereel::BlobKey;
use truereel::adapters::embedded::folder_blobs::content_type_of;
use truereel::config::Config;
use truereel::homes::embedded::Embedded;

#[derive(Debug, thiserror::Error)]
pub enum OriginError {
    #[error("blob folder {path}: {source}")]
    Folder {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Signing(#[from] crate::signing::SigningError),
}

/// Where the published files are below the blob folder (`public/reels/`).
const PUBLISHED_DIR: &str = "public/reels";

/// Everything a request is answered from: the embedded home and its configuration, its blob folder,
/// the signing key, the public URL base and the host names the pages answer to.
pub struct Origin {
    pub(crate) home: Embedded,
    pub(crate) config: Config,
    blobs: Folder,
    published: Folder,
    /// Published files kept in memory.
    hot: crate::hot::Hot,
    pub(crate) key: SigningKey,
    pub(crate) urls: PublicUrls,
    /// Bound to loopback: the API and the review page need no login.
    open: bool,
    /// The `Host`s the API and the review page answer: the bound address (and `localhost` on
    /// loopback) and the public base URL's. Any other name pointing here (DNS rebinding) is refused.
    hosts: Vec<String>,
}

impl Origin {
    /// The origin over an opened embedded home (`config`: its configuration, whose public base URL it
    /// hands out, `http://<bound>` when unset), serving on `bound`. The JSON API and the review page need
    /// no login only when `open` (the server is bound to loopback: [`api_open_on`]).
    pub fn new(home: Embedded, config: Config, bound: SocketAddr, open: bool) -> Result<Self, OriginError> {
        let key = SigningKey::load_or_create(&home.data_dir)?;
        let root = home.blobs.root().to_path_buf();
        let folder = |path: &Path| {
            std::fs::create_dir_all(path)
                .and_then(|()| Folder::new(path))
                .map_err(|source| OriginError::Folder { path: path.to_path_buf(), source })
        };
        let blobs = folder(&root)?;
        let published = folder(&root.join(PUBLISHED_DIR))?;
        let base = config.serve.public_base_url.clone().unwrap_or_else(|| format!("http://{bound}"));
        let urls = PublicUrls::new(&base);
        let mut hosts = vec![bound.to_string()];
        if bound.ip().is_loopback() {
            hosts.push(format!("localhost:{}", bound.port()));
        }
        if let Some(host) = url::Url::parse(&base).ok().and_then(|u| Some((u.host_str()?.to_string(), u.port()))) {
            hosts.push(match host {
                (name, Some(port)) => format!("{name}:{port}"),
                (name, None) => name,
            });
        }
        let cache = config.serve.cache_bytes;
        let hot = crate::hot::Hot::new(cache, cache / 4);
        Ok(Self { home, config, blobs, published, hot, key, urls, open, hosts })
    }

    /// Whether `host` (`name[:port]`, as in a `Host` header) is one of this origin's own host names.
    pub(crate) fn own_host(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }

    /// The public URLs this origin hands out.
    pub fn urls(&self) -> &PublicUrls {
        &self.urls
    }

    /// The embedded home it reads.
    pub fn home(&self) -> &Embedded {
        &self.home
    }

    /// A signed link to `key` on this origin ([`LINK_TTL`]).
    pub fn signed_link(&self, key: &BlobKey) -> String {
        format!("{}{}", self.urls.base(), self.key.link_path(key, LINK_TTL))
    }

    /// A signed path (on this origin, [`LINK_TTL`]) to `key` when it is stored.
    pub(crate) async fn stored_link(&self, key: &BlobKey) -> Result<Option<String>, truereel::ports::BlobError> {
        Ok(self.home.ports.blobs.head(key).await?.map(|_| self.key.link_path(key, LINK_TTL)))
    }

    /// Whether the server is bound to loopback: the JSON API and the review page need no login.
    pub fn open(&self) -> bool {
        self.open
    }
}

/// Whether a server bound to `addr` may answer the API without a login (loopback only).
pub fn api_open_on(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

/// The routes.
pub fn router(origin: Arc<Origin>) -> Router {
    // The review page: open on loopback, behind its login token elsewhere (`review::admit`); the API
    // likewise (a review session's cookie, or the token as a bearer).
    let api = crate::api::routes().route_layer(axum::middleware::from_fn_with_state(origin.clone(), reviewers_only));
    let pages = crate::review::routes().merge(api);
    // Pages and the API answer only to this origin's own host names (a page elsewhere whose name
    // points here must not read them or act); the public paths answer anyone.
    let pages = pages.route_layer(axum::middleware::from_fn_with_state(origin.clone(), own_host_only));
    let public = Router::new().route("/reels/{*rest}", get(published)).route("/files/{*rest}", get(signed_file));
    public.merge(pages).fallback(not_found).with_state(origin)
}

/// Lets an API request in: on loopback anyone; elsewhere a review session (the page's cookie) or
/// `Authorization: Bearer <review-token>`; otherwise `401`.
async fn reviewers_only(
    State(origin): State<Arc<Origin>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let headers = request.headers();
    // The cookie is checked in memory; the bearer against the token file, only when there is one.
    let admitted = origin.open
        || crate::review::session::Session::from_headers(&origin.key, headers).is_some()
        || headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .is_some_and(|t| crate::review::session::login_ok(&origin, t.trim()));
    if admitted {
        return next.run(request).await;
    }
    let body = axum::Json(serde_json::json!({
        "error": "log in on the review page first, or send Authorization: Bearer <the data folder's review-token>"
    }));
    (StatusCode::UNAUTHORIZED, [(axum::http::header::WWW_AUTHENTICATE, "Bearer")], body).into_response()
}

async fn own_host_only(
    State(origin): State<Arc<Origin>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let host = request.headers().get(axum::http::header::HOST).and_then(|h| h.to_str().ok());
    if host.is_some_and(|h| origin.own_host(h)) {
        next.run(request).await
    } else {
        (StatusCode::MISDIRECTED_REQUEST, "not a host name of this origin\n").into_response()
    }
}

/// Serves `router` on `listener` until the process ends (connections without Nagle's delay).
pub async fn serve(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "Could not set TCP_NODELAY.");
        }
    });
    axum::serve(listener, router).await
}

async fn not_found() -> Response {
    StatusCode::NOT_FOUND.into_response()
}

/// `GET`/`HEAD /reels/<handle>[.<variant>].{mp4,jpg}` and `/reels/<handle>[.<variant>]/v<n>[.<shape>].{mp4,jpg}`:
/// published files from `blobs/public/reels/`. The stable URL serves the current version's bytes itself
/// (no redirect: an embed costs one request, and a player's range requests stay on one URL) with a
/// one-minute `Cache-Control`, so a new version reaches every embed within a minute; each version's
/// own URL is immutable. A reel never published has no file there: `404`.
async fn published(State(origin): State<Arc<Origin>>, request: Request) -> Response {
    let (uri, headers, head) = (request.uri(), request.headers(), request.method() == Method::HEAD);
    let path = uri.path();
    let Some(tail) = path.strip_prefix(REELS_PATH) else { return not_found().await };
    if key_of(tail).is_none() {
        return not_found().await;
    }
    // Only reels and their posters are published.
    let Some(content_type) = content_type_of(tail).filter(|t| matches!(*t, "video/mp4" | "image/jpeg")) else {
        return not_found().await;
    };
    let serving = Serving { content_type, cache_control: Caching::of(path).header(), public: true };
    let asked = Asked::from(headers, head);
    match file::serve(&origin.published, tail, serving, &asked, Some(&origin.hot)) {
        Some(response) => response,
        None => not_found().await,
    }
}

/// `GET`/`HEAD /files/<blob key>?expires=<unix s>&sig=<hex>`: any blob (drafts, clips, contact sheets,
/// voice-overs) behind a signed link. Without a valid signature: `404`, whether or not the file
/// exists; a valid signature that expired: `403`.
async fn signed_file(State(origin): State<Arc<Origin>>, request: Request) -> Response {
    let (uri, headers, head) = (request.uri(), request.headers(), request.method() == Method::HEAD);
    let path = uri.path();
    let Some(key) = path.strip_prefix(FILES_PATH).and_then(key_of) else { return not_found().await };
    match origin.key.check(path, uri.query(), unix_now()) {
        Signature::Valid => {}
        Signature::Expired => return StatusCode::FORBIDDEN.into_response(),
        Signature::Invalid => return not_found().await,
    }
    // Nothing the browser would run on this origin (an HTML blob is sent as bytes to download).
    let content_type =
        content_type_of(key.as_str()).filter(|t| !t.starts_with("text/html")).unwrap_or("application/octet-stream");
    let serving = Serving { content_type, cache_control: "private, no-store", public: false };
    let asked = Asked::from(headers, head);
    match file::serve(&origin.blobs, key.as_str(), serving, &asked, None) {
        Some(response) => response,
        None => not_found().await,
    }
}
