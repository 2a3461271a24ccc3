//! `GET /`: the catalogue as a grid, each product with its first photo, its reels' status and cost
//! so far; `?needs=person` keeps the reels a person must act on (a plan awaiting approval, a reel
//! parked in `needs_review`).

use super::html::escape;
use super::{Refused, ReviewError, Shared, admit, answer, query, take_message};
use crate::server::Origin;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use truereel::{Product, Reel, ReelStatus};

/// Whether `reel` waits for a person.
pub(crate) fn needs_person(reel: &Reel) -> bool {
    matches!(reel.status, ReelStatus::AwaitingApproval | ReelStatus::NeedsReview)
}

/// A signed, page-relative link to a product's first reference photo, when it has one stored.
pub(crate) async fn first_photo(origin: &Origin, product: &Product) -> Result<Option<String>, ReviewError> {
    let Some(first) = product.references.first() else { return Ok(None) };
    let references = origin.home.ports.state.references(&product.handle).await?;
    Ok(references.iter().find(|r| r.sha256 == *first).map(|r| origin.key.link_path(&r.blob, crate::signing::LINK_TTL)))
}

/// A reel's status as the page shows it.
pub(crate) fn status_text(reel: &Reel) -> String {
    let shown = match reel.status {
        ReelStatus::AwaitingApproval => "plan awaiting approval",
        ReelStatus::NeedsReview => "needs review",
        other => other.as_str(),
    };
    shown.to_string()
}

pub(crate) async fn index(State(origin): Shared, headers: HeaderMap, uri: Uri) -> Result<Response, Refused> {
    let visitor = admit(&origin, &headers, &uri)?;
    let person = query(&uri).get("needs").is_some_and(|n| n == "person");
    let said = take_message(&visitor.session);
    let body = grid(&origin, person).await?;
    let title = if person { "Reels that need a person" } else { "Catalogue" };
    Ok(answer(&origin, &visitor, super::html::page(title, said.as_deref(), &body)))
}

async fn grid(origin: &Origin, person: bool) -> Result<String, ReviewError> {
    let state = &origin.home.ports.state;
    let products = state.scan_products().await?.records;
    let reels = state.scan_reels().await?.records;
    let costs = truereel::report::ledger::by_reel(&state.ledger(None).await?);
    let filter = if person {
        "<p><a href=\"/\">Show every product</a></p>"
    } else {
        "<p><a href=\"/?needs=person\">Show only what needs a person</a> (plans awaiting approval, reels \
         needing review)</p>"
    };
    let mut out = String::from(filter);
    let mut cards = String::new();
    let mut shown = 0;
    for product in &products {
        let mine: Vec<&Reel> =
            reels.iter().filter(|r| r.product == product.handle && (!person || needs_person(r))).collect();
        if person && mine.is_empty() {
            continue;
        }
        shown += 1;
        let handle = escape(product.handle.as_str());
        let photo = match first_photo(origin, product).await? {
            Some(link) => {
                format!("<img src=\"{}\" alt=\"{}\" loading=\"lazy\">", escape(&link), escape(&product.title))
            }
            None => "<p>(no photo)</p>".to_string(),
        };
        let mut lines = String::new();
        for reel in &mine {
            let cost = costs.get(&reel.id).copied().unwrap_or_default();
            let variant = reel.id.variant().map(|v| format!(" ({})", escape(&v.to_string()))).unwrap_or_default();
            lines += &format!(
                "<li>reel{variant}: <span class=\"status\" data-reel=\"{id}\">{status}</span>, cost so far \
                 {cost}</li>",
                id = escape(reel.id.as_str()),
                status = escape(&status_text(reel)),
                cost = escape(&cost.to_string()),
            );
        }
        if mine.is_empty() {
            lines = "<li>no reel yet</li>".to_string();
        }
        cards += &format!(
            "<li class=\"card\" data-product=\"{handle}\">{photo}<h2><a href=\"/products/{handle}\">{title}</a></h2>\
             <ul>{lines}</ul></li>",
            title = escape(&product.title),
        );
    }
    if shown == 0 {
        out += if person {
            "<p>Nothing needs a person.</p>"
        } else {
            "<p>No products yet: run <code>truereel run</code>.</p>"
        };
    } else {
        out += &format!("<ul class=\"grid\" aria-label=\"Products\">{cards}</ul>");
    }
    Ok(out)
}
