//! The read-only JSON API under `/api/`: products, reels (status, cost so far, versions, stable URL),
//! one reel's shots with their clips and signed links, its verdicts, the ledger, and the queues (depths,
//! dead letters, stuck reels). The records are the domain types' own JSON; what `truereel status` and
//! `truereel ledger` print is read through the same functions (`stuck::stuck_reels`,
//! `report::ledger::summarise`).

use crate::server::Origin;
use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use serde_json::{Value, json};
use std::sync::Arc;
use truereel::{BlobKey, Reel, ReelId, Usd};

/// The API's routes (merged into the server's router when the API is open).
pub(crate) fn routes() -> Router<Arc<Origin>> {
    Router::new()
        .route("/api", get(index))
        .route("/api/products", get(products))
        .route("/api/reels", get(reels))
        .route("/api/reels/{id}", get(reel))
        .route("/api/reels/{id}/verdicts", get(verdicts))
        .route("/api/ledger", get(ledger))
        .route("/api/queues", get(queues))
}

/// A failure to read the state: `500` with the reason as JSON.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("reading the state: {0}")]
    State(#[from] truereel::ports::StateError),
    #[error("reading the queues: {0}")]
    Queue(#[from] truereel::ports::QueueError),
    #[error("reading the blobs: {0}")]
    Blob(#[from] truereel::ports::BlobError),
    #[error("finding stuck reels: {0}")]
    Stuck(#[from] truereel::stuck::StuckError),
    #[error("no reel {0}")]
    NoReel(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match self {
            ApiError::NoReel(_) => StatusCode::NOT_FOUND,
            _ => {
                tracing::error!(error = %self, "An API request failed.");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        answer(status, json!({ "error": self.to_string() }))
    }
}

/// JSON that is never cached (the state moves).
fn answer(status: StatusCode, body: Value) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

fn ok(body: Value) -> Result<Response, ApiError> {
    Ok(answer(StatusCode::OK, body))
}

async fn index() -> Result<Response, ApiError> {
    ok(json!({
        "endpoints": [
            "/api/products",
            "/api/reels",
            "/api/reels/{id}",
            "/api/reels/{id}/verdicts",
            "/api/ledger",
            "/api/queues",
        ]
    }))
}

async fn products(State(o): State<Arc<Origin>>) -> Result<Response, ApiError> {
    let listing = o.home.ports.state.scan_products().await?;
    ok(json!({ "products": listing.records, "unreadable": listing.unreadable }))
}

/// One published version with its URLs.
#[derive(Serialize)]
struct VersionView<'a> {
    #[serde(flatten)]
    version: &'a truereel::Version,
    url: String,
    poster_url: String,
    /// The version the stable URL serves.
    current: bool,
}

/// What a list of reels shows of one reel.
#[derive(Serialize)]
struct ReelSummary<'a> {
    id: &'a ReelId,
    product: &'a truereel::Handle,
    variant: Option<String>,
    status: truereel::ReelStatus,
    round: u32,
    revision: u32,
    shots: usize,
    duration_ms: u32,
    /// What the ledger holds for it, in dollars.
    cost_usd: f64,
    /// The URL embeds use, once a version is published.
    stable_url: Option<String>,
    poster_url: Option<String>,
    versions: Vec<VersionView<'a>>,
    reasons: &'a [String],
    flags: usize,
    updated_ms: i64,
}

fn versions<'a>(o: &Origin, reel: &'a Reel) -> Vec<VersionView<'a>> {
    let current = reel.current_version().map(|v| v.version);
    reel.versions
        .iter()
        .map(|v| VersionView {
            version: v,
            url: o.urls.version(&reel.id, v.version),
            poster_url: o.urls.poster(&reel.id, Some(v.version)),
            current: Some(v.version) == current,
        })
        .collect()
}

fn summary<'a>(o: &Origin, reel: &'a Reel, cost: Usd) -> ReelSummary<'a> {
    let published = reel.current_version().is_some();
    ReelSummary {
        id: &reel.id,
        product: &reel.product,
        variant: reel.id.variant().map(|v| v.to_string()),
        status: reel.status,
        round: reel.round,
        revision: reel.revision,
        shots: reel.plan.shots.len(),
        duration_ms: reel.plan.duration_ms(),
        cost_usd: cost.dollars(),
        stable_url: published.then(|| o.urls.stable(&reel.id)),
        poster_url: published.then(|| o.urls.poster(&reel.id, None)),
        versions: versions(o, reel),
        reasons: &reel.reasons,
        flags: reel.flags.len(),
        updated_ms: reel.updated_ms,
    }
}

async fn reels(State(o): State<Arc<Origin>>) -> Result<Response, ApiError> {
    let state = &o.home.ports.state;
    let listing = state.scan_reels().await?;
    // One read of the ledger for every reel's cost.
    let costs = truereel::report::ledger::by_reel(&state.ledger(None).await?);
    let reels: Vec<_> =
        listing.records.iter().map(|r| summary(&o, r, costs.get(&r.id).copied().unwrap_or_default())).collect();
    ok(json!({ "reels": reels, "unreadable": listing.unreadable }))
}

async fn find(o: &Origin, id: &str) -> Result<Reel, ApiError> {
    let Ok(id) = ReelId::parse(id) else { return Err(ApiError::NoReel(id.to_string())) };
    o.home.ports.state.get_reel(&id).await?.ok_or_else(|| ApiError::NoReel(id.to_string()))
}

/// A signed link to `key` on this origin, when the blob is there.
async fn link(o: &Origin, key: &BlobKey) -> Result<Option<String>, ApiError> {
    Ok(o.stored_link(key).await?.map(|path| format!("{}{path}", o.urls.base())))
}

/// `/api/reels/{id}`: the reel record itself, its cost, versions, status history, its shots each with
/// its reference photo and every clip made for it, and signed links (valid an hour) to its draft, poster,
/// contact sheet and voice-over.
async fn reel(State(o): State<Arc<Origin>>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let reel = find(&o, &id).await?;
    let state = &o.home.ports.state;
    let cost = state.spent(Some(&reel.id), 0).await?;
    let history: Vec<Value> = state
        .history(&reel.id)
        .await?
        .into_iter()
        .map(|(status, at_ms)| json!({ "status": status, "at_ms": at_ms }))
        .collect();
    let clips = state.clips(&reel.id).await?;
    let references = state.references(&reel.product).await?;
    let mut shots = Vec::new();
    for shot in &reel.plan.shots {
        let mut made = Vec::new();
        for clip in clips.iter().filter(|c| c.shot == shot.index) {
            made.push(json!({ "clip": clip, "link": link(&o, &clip.blob).await? }));
        }
        let reference = references.iter().find(|r| r.sha256 == shot.reference);
        let photo = match reference {
            Some(r) => link(&o, &r.blob).await?,
            None => None,
        };
        shots.push(json!({
            "shot": shot,
            "attempt": reel.shot_attempts.get(shot.index as usize),
            "reference": reference,
            "reference_link": photo,
            "clips": made,
        }));
    }
    let sheet = truereel::stages::sheet::latest_contact_sheet(o.home.ports.blobs.as_ref(), &reel).await?;
    let files = json!({
        "video": match &reel.video { Some(k) => link(&o, k).await?, None => None },
        "poster": link(&o, &BlobKey::reel_poster(&reel.id, reel.round)).await?,
        "contact_sheet": match &sheet { Some((_, k)) => link(&o, k).await?, None => None },
        "contact_sheet_round": sheet.as_ref().map(|(round, _)| round),
        "voice_over": link(&o, &reel.voice_over.audio).await?,
    });
    ok(json!({
        "summary": summary(&o, &reel, cost),
        "reel": reel,
        "history": history,
        "shots": shots,
        "files": files,
    }))
}

/// `/api/reels/{id}/verdicts`: every judge's verdict of every round, and each round's verdicts taken
/// together as the evaluate stage acts on them.
async fn verdicts(State(o): State<Arc<Origin>>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let reel = find(&o, &id).await?;
    let mut all = o.home.ports.state.verdicts(&reel.id).await?;
    all.sort_by_key(|v| (v.round, v.at_ms));
    let mut rounds: Vec<u32> = all.iter().map(|v| v.round).collect();
    rounds.dedup();
    let by_round: Vec<_> = rounds.iter().filter_map(|r| truereel::stages::evaluate::round_verdict(&all, *r)).collect();
    ok(json!({ "reel": reel.id, "verdicts": all, "rounds": by_round }))
}

/// `/api/ledger`: the summary `truereel ledger --json` prints, and every entry.
async fn ledger(State(o): State<Arc<Origin>>) -> Result<Response, ApiError> {
    let entries = o.home.ports.state.ledger(None).await?;
    let summary = truereel::report::ledger::summarise(&entries);
    ok(json!({ "summary": summary, "entries": entries }))
}

/// How many dead letters per stage the API lists.
const DEAD_LETTERS_SHOWN: usize = 50;

/// `/api/queues`: each stage's depth and dead letters (with the command that sends each back), the
/// stuck reels with why and their fix, and the latest problems: what `truereel status` shows.
async fn queues(State(o): State<Arc<Origin>>) -> Result<Response, ApiError> {
    let pending = o.home.queue.pending().await?;
    let queues = truereel::report::queues::gather(&o.home.ports, &pending, DEAD_LETTERS_SHOWN).await?;
    ok(serde_json::to_value(queues).expect("plain data"))
}
