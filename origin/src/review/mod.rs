//! The review page at `/`: the catalogue, each product's reels with everything the pipeline made and
//! judged, and the actions a person takes (approve, reject, flag, regenerate a shot) as same-origin,
//! CSRF-checked POSTs that call the same library functions as the CLI. Open on loopback; otherwise
//! behind the login token (`?token=` from the data folder's `review-token`). Never on `/reels/…`.

mod actions;
mod catalogue;
pub mod html;
mod product;
pub mod session;

use crate::server::Origin;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use session::Session;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use catalogue::PER_PAGE;
pub use session::{COOKIE, TOKEN_FILE, login_token};

/// The review page's routes (merged into the server's router).
pub(crate) fn routes() -> Router<Arc<Origin>> {
    Router::new()
        .route("/", get(catalogue::index))
        .route("/review.js", get(script))
        .route("/products/{handle}", get(product::view))
        .route("/actions/{action}", post(actions::act))
}

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("reading the state: {0}")]
    State(#[from] truereel::ports::StateError),
    #[error("reading the blobs: {0}")]
    Blob(#[from] truereel::ports::BlobError),
    #[error(transparent)]
    Session(#[from] session::SessionError),
}

impl IntoResponse for ReviewError {
    fn into_response(self) -> Response {
        tracing::error!(error = %self, "A review page failed.");
        let body = html::page("Something went wrong", None, &format!("<p>{}</p>", html::escape(&self.to_string())));
        (StatusCode::INTERNAL_SERVER_ERROR, no_store(), axum::response::Html(body)).into_response()
    }
}

fn no_store() -> [(header::HeaderName, &'static str); 2] {
    [(header::CACHE_CONTROL, "no-store"), (header::X_FRAME_OPTIONS, "DENY")]
}

async fn script() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], html::SCRIPT).into_response()
}

/// The answer sent instead of a page (the login form, a redirect, an error), boxed: a `Response`
/// is large.
pub(crate) struct Refused(Box<Response>);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        *self.0
    }
}

impl From<Response> for Refused {
    fn from(r: Response) -> Self {
        Self(Box::new(r))
    }
}

impl From<ReviewError> for Refused {
    fn from(e: ReviewError) -> Self {
        e.into_response().into()
    }
}

/// Who is asking for a page: a session, and the cookie to set when it is new.
pub(crate) struct Visitor {
    pub session: Session,
    pub new: bool,
}

/// Lets a GET in: on loopback anyone (a session is made when there is none); elsewhere only a
/// session opened with the login token. `Err` is the answer to send instead (the login form, or
/// a redirect that drops the token from the address bar).
pub(crate) fn admit(origin: &Origin, headers: &HeaderMap, uri: &Uri) -> Result<Visitor, Refused> {
    if let Some(session) = Session::from_headers(&origin.key, headers) {
        return Ok(Visitor { session, new: false });
    }
    let fresh = || Session::new().map_err(|e| Refused::from(ReviewError::from(e)));
    if origin.open() {
        return Ok(Visitor { session: fresh()?, new: true });
    }
    let token = query(uri).remove("token");
    match token {
        Some(t) if session::login_ok(origin, &t) => {
            let session = fresh()?;
            let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, uri.path().to_string())]).into_response();
            response.headers_mut().insert(header::SET_COOKIE, session.cookie(&origin.key));
            Err(response.into())
        }
        _ => {
            let form = "<form method=\"get\" action=\"/\"><label for=\"token\">Login token (the data folder's \
                        <code>review-token</code>)</label><input id=\"token\" name=\"token\" type=\"password\" \
                        autocomplete=\"off\" required> <button type=\"submit\">Log in</button></form>";
            let status = if token.is_some() { StatusCode::FORBIDDEN } else { StatusCode::UNAUTHORIZED };
            Err((status, no_store(), axum::response::Html(html::page("Log in", None, form))).into_response().into())
        }
    }
}

/// A page answered to `visitor` (with its cookie when the session is new).
pub(crate) fn answer(origin: &Origin, visitor: &Visitor, body: String) -> Response {
    let mut response = (StatusCode::OK, no_store(), axum::response::Html(body)).into_response();
    if visitor.new {
        response.headers_mut().insert(header::SET_COOKIE, visitor.session.cookie(&origin.key));
    }
    response
}

/// The query string's fields.
pub(crate) fn query(uri: &Uri) -> HashMap<String, String> {
    url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()).into_owned().collect()
}

/// The status message an action left for a session, shown once on the next page (at most this many
/// waiting).
const MAX_MESSAGES: usize = 1024;

/// The status message an action left for a session, shown once on the next page.
static SAID: Mutex<Option<HashMap<String, String>>> = Mutex::new(None);

pub(crate) fn leave_message(session: &Session, text: String) {
    let mut said = SAID.lock().unwrap_or_else(|p| p.into_inner());
    let said = said.get_or_insert_with(HashMap::new);
    // Messages nobody came back for are not kept for ever.
    if said.len() >= MAX_MESSAGES {
        said.clear();
    }
    said.insert(session.id.clone(), text);
}

pub(crate) fn take_message(session: &Session) -> Option<String> {
    SAID.lock().unwrap_or_else(|p| p.into_inner()).as_mut().and_then(|m| m.remove(&session.id))
}

/// A 303 back to `location`.
pub(crate) fn see_other(location: &str) -> Response {
    let value = HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/"));
    (StatusCode::SEE_OTHER, [(header::LOCATION, value)]).into_response()
}

/// The `State` extractor re-exported for the views.
pub(crate) type Shared = State<Arc<Origin>>;
