//! `GET /`: the catalogue as a grid, each product with its first photo, its reels' status and cost
//! so far; `?needs=person` keeps the reels a person must act on (a plan awaiting approval, a reel
//! parked in `needs_review`); [`PER_PAGE`] products a page (`?page=2`), so a catalogue of thousands
//! reads the photos of one page only.

use super::html::escape;
use super::{Refused, ReviewError, Shared, admit, answer, query, take_message};
use crate::server::Origin;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use truereel::{Product, Reel, ReelStatus};

/// Products shown on one page of the grid.
pub const PER_PAGE: usize = 48;

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
    let asked = query(&uri);
    let person = asked.get("needs").is_some_and(|n| n == "person");
    let page = asked.get("page").and_then(|p| p.parse::<usize>().ok()).filter(|p| *p >= 1).unwrap_or(1);
    let said = take_message(&visitor.session);
    let body = grid(&origin, person, page).await?;
    let title = if person { "Reels that need a person" } else { "Catalogue" };
    Ok(answer(&origin, &visitor, super::html::page(title, said.as_deref(), &body)))
}

async fn grid(origin: &Origin, person: bool, page: usize) -> Result<String, ReviewError> {
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
    let mut by_product: std::collections::HashMap<&truereel::Handle, Vec<&Reel>> = std::collections::HashMap::new();
    for r in reels.iter().filter(|r| !person || needs_person(r)) {
        by_product.entry(&r.product).or_default().push(r);
    }
    let listed: Vec<(&Product, Vec<&Reel>)> = (products.iter())
        .map(|p| (p, by_product.remove(&p.handle).unwrap_or_default()))
        .filter(|(_, mine)| !person || !mine.is_empty())
        .collect();
    let pages = listed.len().div_ceil(PER_PAGE).max(1);
    let page = page.min(pages);
    let mut cards = String::new();
    for (product, mine) in listed.iter().skip((page - 1) * PER_PAGE).take(PER_PAGE) {
        let handle = escape(product.handle.as_str());
        let photo = match first_photo(origin, product).await? {
            Some(link) => {
                format!("<img src=\"{}\" alt=\"{}\" loading=\"lazy\">", escape(&link), escape(&product.title))
            }
            None => "<p>(no photo)</p>".to_string(),
        };
        let mut lines = String::new();
        for reel in mine {
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
    if listed.is_empty() {
        out += if person {
            "<p>Nothing needs a person.</p>"
        } else {
            "<p>No products yet: run <code>truereel run</code>.</p>"
        };
    } else {
        out += &format!("<ul class=\"grid\" aria-label=\"Products\">{cards}</ul>");
        out += &pager(person, page, pages, listed.len());
    }
    Ok(out)
}

/// "Page 2 of 5 (230 products)" with links to the pages before and after, the filter kept.
fn pager(person: bool, page: usize, pages: usize, products: usize) -> String {
    if pages == 1 {
        return String::new();
    }
    let link = |n: usize, text: &str, rel: &str| {
        let needs = if person { "needs=person&amp;" } else { "" };
        format!("<a href=\"/?{needs}page={n}\" rel=\"{rel}\">{text}</a>")
    };
    let mut out = String::from("<nav class=\"pager\" aria-label=\"Pages\"><p>");
    if page > 1 {
        out += &link(page - 1, "Previous page", "prev");
        out += " · ";
    }
    out += &format!("<span aria-current=\"page\">Page {page} of {pages}</span> ({products} products)");
    if page < pages {
        out += " · ";
        out += &link(page + 1, "Next page", "next");
    }
    out + "</p></nav>"
}
