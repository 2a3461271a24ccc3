//! The end-of-run report: one row per product with its reel's fate and where to watch it.

use crate::printable;

use crate::ports::StateError;
use crate::stages::Ports;
use crate::{PhotoKind, ReelId, ReelStatus};
use std::collections::BTreeMap;

/// One product's line in the summary table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub product: String,
    pub shots: Option<usize>,
    pub duration_ms: Option<u32>,
    /// `published`, `needs review: …`, `failed: …`, or the reel's status while in progress.
    pub verdict: String,
    pub published: bool,
    /// Stopped after planning for a person (`--approve-plan`).
    pub awaiting_approval: bool,
    /// Where the published reel is: a file path locally, `s3://…` on AWS.
    pub file: Option<String>,
}

/// Rows for the products of `store` (only `only`, if given) as of now, with this run's failures
/// (issues recorded since `since_ms`).
pub async fn summary(
    ports: &Ports,
    store: &str,
    only: Option<&[String]>,
    since_ms: i64,
) -> Result<Vec<Row>, StateError> {
    let wanted = |h: &str| only.is_none_or(|o| o.iter().any(|x| x == h));
    let mut failures: BTreeMap<String, String> = BTreeMap::new();
    for issue in ports.state.issues_since(since_ms).await? {
        if issue.fatal && wanted(&issue.product) {
            failures.insert(issue.product.clone(), issue.message.clone());
        }
    }
    let mut reels: BTreeMap<String, Vec<crate::Reel>> = BTreeMap::new();
    let listing = ports.state.scan_reels().await?;
    for reel in listing.records {
        reels.entry(reel.product.to_string()).or_default().push(reel);
    }
    let mut rows = BTreeMap::new();
    for product in ports.state.list_products().await? {
        if product.store != store || !wanted(product.handle.as_str()) {
            continue;
        }
        let handle = product.handle.as_str();
        // The reels of the product's current gallery: one, or one per colour (`--per-variant`).
        let current: Vec<crate::Reel> = reels
            .remove(handle)
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.id.gallery_hash() == ReelId::new(&product.handle, &product.gallery_hash).gallery_hash())
            .collect();
        // One unreadable reel gets its row; it does not stop the report.
        if let Some(u) = listing
            .unreadable
            .iter()
            .find(|u| current.is_empty() && ReelId::parse(&u.id).is_ok_and(|id| id.product() == product.handle))
        {
            rows.insert(handle.to_string(), failed(handle, &format!("unreadable: {}", u.reason)));
            continue;
        }
        let failed_now = failures.get(handle).filter(|_| current.is_empty() || product.updated_ms < since_ms);
        if let Some(why) = failed_now {
            rows.insert(handle.to_string(), failed(handle, why));
            continue;
        }
        if current.is_empty() {
            let row = Row {
                product: handle.to_string(),
                shots: None,
                duration_ms: None,
                verdict: "not planned".into(),
                published: false,
                awaiting_approval: false,
                file: None,
            };
            rows.insert(handle.to_string(), row);
            continue;
        }
        for reel in current {
            // A published file deleted by hand is said so, not listed as if it were there.
            let missing = match (&reel.published, reel.status) {
                (Some(k), ReelStatus::Published) => matches!(ports.blobs.head(k).await, Ok(None)),
                _ => false,
            };
            let verdict = match reel.status {
                ReelStatus::NeedsReview => format!("needs review: {}", reel.reasons.join("; ")),
                ReelStatus::Published if missing => {
                    "published, but its file is missing (the next run publishes it again)".into()
                }
                s => s.to_string(),
            };
            let name = match &reel.plan.variant {
                Some(colour) if reel.id.variant().is_some() => format!("{handle} ({colour})"),
                _ => handle.to_string(),
            };
            let row = Row {
                product: name.clone(),
                shots: Some(reel.plan.shots.len()),
                duration_ms: Some(reel.plan.duration_ms()),
                verdict,
                published: reel.status == ReelStatus::Published && !missing,
                awaiting_approval: reel.status == ReelStatus::AwaitingApproval,
                file: reel.published.as_ref().map(|k| {
                    if missing { format!("missing: {}", ports.blobs.location(k)) } else { ports.blobs.location(k) }
                }),
            };
            rows.insert(name, row);
        }
    }
    // Products that failed before they were ever stored (a listing error, no usable photos).
    for (product, why) in failures {
        rows.entry(product.clone()).or_insert_with(|| failed(&product, &why));
    }
    Ok(rows.into_values().collect())
}

/// A product that got no reel, and why.
fn failed(product: &str, why: &str) -> Row {
    Row {
        product: product.to_string(),
        shots: None,
        duration_ms: None,
        verdict: format!("failed: {why}"),
        published: false,
        awaiting_approval: false,
        file: None,
    }
}

/// The rows as an aligned text table.
pub fn table(rows: &[Row]) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.product.clone(),
                r.shots.map(|s| s.to_string()).unwrap_or_else(|| "-".into()),
                r.duration_ms.map(|d| format!("{:.1} s", d as f64 / 1000.0)).unwrap_or_else(|| "-".into()),
                r.verdict.clone(),
                r.file.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    aligned(&["product", "shots", "duration", "verdict", "file"], &cells)
}

/// The video providers of the chain held out of the run that started at `run` (out of quota or
/// credit, the account refused), each once, with the provider's reason.
pub async fn held_providers(ports: &Ports, run: i64) -> Result<Vec<crate::ports::ProviderHold>, StateError> {
    let mut held = Vec::new();
    for model in ports.video.models() {
        if let Some(hold) = ports.state.provider_hold(model.name(), run).await? {
            held.push(hold);
        }
    }
    Ok(held)
}

/// What a crawl found for one product.
#[derive(Debug, Clone, PartialEq)]
pub struct CrawlRow {
    pub product: String,
    /// Usable photos by kind: model-worn, flat, detail.
    pub kinds: [usize; 3],
    /// `ok`, or why the product (or some of its photos) could not be used.
    pub note: String,
}

/// Rows for the products of `store` crawled since `since_ms`: photos by kind, and this run's problems.
pub async fn crawl_summary(
    ports: &Ports,
    store: &str,
    only: Option<&[String]>,
    since_ms: i64,
) -> Result<Vec<CrawlRow>, StateError> {
    let wanted = |h: &str| only.is_none_or(|o| o.iter().any(|x| x == h));
    let mut notes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for issue in ports.state.issues_since(since_ms).await? {
        if issue.stage == "crawl" && wanted(&issue.product) {
            notes.entry(issue.product.clone()).or_default().push(issue.message.clone());
        }
    }
    let mut rows = BTreeMap::new();
    for product in ports.state.list_products().await? {
        if product.store != store || !wanted(product.handle.as_str()) || product.updated_ms < since_ms {
            continue;
        }
        let mut kinds = [0; 3];
        for r in ports.state.references(&product.handle).await? {
            if product.references.contains(&r.sha256) {
                kinds[match r.kind {
                    PhotoKind::ModelWorn => 0,
                    PhotoKind::Flat => 1,
                    PhotoKind::Detail => 2,
                }] += 1;
            }
        }
        let note = notes.remove(product.handle.as_str()).map_or_else(|| "ok".to_string(), |n| n.join("; "));
        rows.insert(product.handle.to_string(), CrawlRow { product: product.handle.to_string(), kinds, note });
    }
    for (product, n) in notes {
        let note = format!("failed: {}", n.join("; "));
        rows.entry(product.clone()).or_insert(CrawlRow { product, kinds: [0; 3], note });
    }
    Ok(rows.into_values().collect())
}

/// Crawl rows as an aligned text table.
pub fn crawl_table(rows: &[CrawlRow]) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let [worn, flat, detail] = r.kinds;
            vec![r.product.clone(), worn.to_string(), flat.to_string(), detail.to_string(), r.note.clone()]
        })
        .collect();
    aligned(&["product", "model_worn", "flat", "detail", "note"], &cells)
}

/// Left-aligned columns two spaces apart (cells cut to 90 characters for the width; the last column free).
/// Every cell is escaped with [`printable`] first: cells hold store text.
fn aligned(header: &[&str], cells: &[Vec<String>]) -> String {
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let cells: Vec<Vec<String>> =
        cells.iter().map(|row| row.iter().map(|c| printable(c).into_owned()).collect()).collect();
    let cells = &cells;
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count().min(90));
        }
    }
    let line = |row: &[String]| {
        let mut s = String::new();
        for (i, (c, w)) in row.iter().zip(&widths).enumerate() {
            if i + 1 == row.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  "));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(&header);
    out.push_str(&line(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>()));
    for row in cells {
        out.push_str(&line(row));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_print_store_text_escaped() {
        let row = Row {
            product: "tee\x1b]0;owned\x07".into(),
            shots: Some(3),
            duration_ms: Some(12_000),
            verdict: "needs review: \x1b[2J cleared".into(),
            published: false,
            awaiting_approval: false,
            file: Some("/data/\x1b[31mred.mp4".into()),
        };
        let out = table(&[row]);
        assert!(!out.contains('\x1b') && !out.contains('\x07'), "{out:?}");
        assert!(out.contains("tee\\x1b]0;owned\\x07"), "{out}");
        assert!(out.contains("needs review: \\x1b[2J cleared"), "{out}");
        assert!(out.contains("/data/\\x1b[31mred.mp4"), "{out}");
        let crawl = CrawlRow { product: "a\nb".into(), kinds: [1, 0, 0], note: "photo \x1b[2J.jpg: too small".into() };
        let out = crawl_table(&[crawl]);
        assert_eq!(out.lines().count(), 3, "a newline in a cell does not break the table: {out}");
        assert!(out.contains("a\\nb") && out.contains("photo \\x1b[2J.jpg"), "{out}");
    }
}
