//! `POST /actions/<approve|reject|flag|publish|regenerate>`: what a person does on the page, through
//! the same library functions as `truereel approve`, `reject`, `flag`, `publish` and `regenerate`
//! (regenerating a published reel's shot is a flag naming that shot: a safety pass). Each POST needs
//! the session's cookie, its CSRF token and a same-origin request (`Sec-Fetch-Site`, `Origin`);
//! otherwise `403` and nothing changes. Then, as the CLI does on one machine, the queues are drained
//! in the background, and the answer is a `303` back to the product with what happened.

use super::session::{Session, same_origin};
use super::{Shared, leave_message, see_other};
use crate::server::Origin;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::Arc;
use truereel::ReelId;
use truereel::homes::embedded::{Embedded, EmbeddedError};
use truereel::messages::FlagDetail;
use truereel::runner::{self, LogProgress, RunOptions};
use truereel::stages::{self, StageError};

fn forbidden(why: &str) -> Response {
    tracing::warn!(why, "Refused a review action.");
    (StatusCode::FORBIDDEN, format!("forbidden: {why}\n")).into_response()
}

pub(crate) async fn act(
    State(origin): Shared,
    Path(action): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(session) = Session::from_headers(&origin.key, &headers) else {
        return forbidden("no review session (open the page first)");
    };
    if !same_origin(&origin, &headers) {
        return forbidden("not sent from this origin's own page");
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    if !form.get("csrf").is_some_and(|t| session.csrf_ok(&origin.key, t)) {
        return forbidden("missing or wrong CSRF token");
    }
    let Some(id) = form.get("reel").and_then(|r| ReelId::parse(r).ok()) else {
        return (StatusCode::BAD_REQUEST, "no reel named\n").into_response();
    };
    let back = format!("/products/{}", id.product().as_str());
    let reason = form.get("reason").map(|r| r.trim().to_string()).unwrap_or_default();
    let shots = match parse_shots(form.get("shots").map(String::as_str).unwrap_or_default()) {
        Ok(s) => s,
        Err(bad) => {
            leave_message(&session, format!("Not done: {bad:?} is not a list of shot numbers."));
            return see_other(&back);
        }
    };
    let ports = &origin.home.ports;
    let done: Result<String, StageError> = match action.as_str() {
        "approve" => stages::plan::approve(ports, &id).await,
        "reject" => stages::plan::reject(ports, &id, &reason).await,
        "flag" => stages::flag::request(ports, FlagDetail { reel: id.clone(), reason, shots })
            .await
            .map(|event| format!("{id}: flag {event} sent; the flagged shots are made again")),
        "publish" => stages::review::publish_parked(ports, &id, &reason).await,
        "regenerate" => regenerate(ports, &id, shots, reason).await,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    match done {
        Ok(said) => {
            tracing::info!(action, reel = %id, said, "Review action taken.");
            leave_message(&session, said);
            drain(origin.clone());
        }
        Err(e) => leave_message(&session, format!("Not done: {e}")),
    }
    see_other(&back)
}

/// Makes shots again: on a published reel a safety pass (a flag naming them), on a parked one the
/// shots sent back to video; anything else is refused by the library with its reason.
async fn regenerate(
    ports: &truereel::stages::Ports,
    id: &ReelId,
    shots: Vec<u32>,
    reason: String,
) -> Result<String, StageError> {
    let published = ports
        .state
        .get_reel(id)
        .await
        .map_err(|e| StageError::new("reading a reel", e))?
        .is_some_and(|r| r.status == truereel::ReelStatus::Published);
    if !published {
        return stages::review::regenerate_parked(ports, id, &shots, &reason).await;
    }
    let list = shots.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
    let reason = if reason.is_empty() { format!("shot {list} regenerated from the review page") } else { reason };
    stages::flag::request(ports, FlagDetail { reel: id.clone(), reason, shots })
        .await
        .map(|event| format!("{id}: shot regeneration {event} sent"))
}

/// `"1, 3"` as `[1, 3]`; empty as none.
fn parse_shots(text: &str) -> Result<Vec<u32>, String> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| s.parse().map_err(|_| text.to_string())).collect()
}

/// Runs the queues until they are empty, in the background, as the runner of the data folder (what
/// `truereel approve` does on one machine before it returns); when another runner holds the folder
/// (`truereel run`, or the drain after an earlier action), that runner takes the work.
fn drain(origin: Arc<Origin>) {
    tokio::spawn(async move {
        let runner = match Embedded::open_for_runner(&origin.home.data_dir, &origin.config).await {
            Ok(e) => e,
            Err(EmbeddedError::Busy(_)) => {
                tracing::info!("Another runner holds the data folder; it takes the work.");
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, "Could not run the queues after a review action.");
                return;
            }
        };
        let options = RunOptions::from_config(&origin.config.runner);
        if let Err(e) = runner::drain(&runner.ports, &options, Arc::new(LogProgress::default())).await {
            tracing::error!(error = %e, "Draining the queues after a review action failed.");
        }
    });
}
