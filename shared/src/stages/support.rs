//! Helpers the stages share: sending messages, recording issues, parking reels, scratch files.

use super::{Outcome, StageError};
use crate::messages::Message;
use crate::ports::{BlobError, ProductIssue, StateError};
use crate::stages::Ports;
use crate::{BlobKey, Reel, ReelStatus, now_ms};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) async fn send(ports: &Ports, message: impl Into<Message>, delay: Duration) -> Result<(), StageError> {
    let message = message.into();
    let stage = message.stage();
    ports
        .queue
        .send(stage, &message.to_json(), delay)
        .await
        .map_err(|e| StageError::new(format!("sending to the {stage} queue"), e))
}

/// Records a problem with a product for the run's report.
pub(crate) async fn issue(
    ports: &Ports,
    product: &str,
    stage: &str,
    fatal: bool,
    message: impl Into<String>,
) -> Result<(), StageError> {
    // A store locator or URL may carry credentials: never recorded, never logged.
    let (product, message) = (&crate::redact(product), crate::redact(&message.into()));
    if fatal {
        tracing::error!(product, stage, "{message}");
    } else {
        tracing::warn!(product, stage, "{message}");
    }
    let issue =
        ProductIssue { product: product.to_string(), stage: stage.to_string(), fatal, message, at_ms: now_ms() };
    ports.state.record_issue(&issue).await.map_err(|e| state_err("recording an issue", e))
}

pub(crate) fn state_err(context: &str, e: StateError) -> StageError {
    StageError::new(context.to_string(), e)
}

pub(crate) fn blob_err(context: &str, e: BlobError) -> StageError {
    StageError::new(context.to_string(), e)
}

/// Parks a reel for a person with the reasons (a conditional transition: a reel that moved on meanwhile is left alone).
pub(crate) async fn park(ports: &Ports, reel: &Reel, stage: &str, reasons: Vec<String>) -> Result<Outcome, StageError> {
    let mut parked = reel.clone();
    parked.status = ReelStatus::NeedsReview;
    parked.reasons = reasons.clone();
    let text = reasons.join("; ");
    match ports.state.transition(&parked, reel.status).await {
        Ok(()) => {
            issue(ports, reel.product.as_str(), stage, true, format!("reel {} needs review: {text}", reel.id)).await?;
            Ok(Outcome::Failed(text))
        }
        Err(StateError::Conflict { .. }) => Ok(Outcome::Skipped(format!("reel {} changed meanwhile", reel.id))),
        Err(e) => Err(state_err("parking a reel", e)),
    }
}

/// The blob keys of the reel's reference photos that are gone from the blob store.
pub(crate) async fn missing_references(ports: &Ports, reel: &Reel) -> Result<Vec<String>, StageError> {
    let references = ports.state.references(&reel.product).await.map_err(|e| state_err("reading references", e))?;
    let mut missing = Vec::new();
    for r in references.iter().filter(|r| reel.plan.shots.iter().any(|s| s.reference == r.sha256)) {
        if ports.blobs.head(&r.blob).await.map_err(|e| blob_err("checking a reference", e))?.is_none() {
            missing.push(r.blob.to_string());
        }
    }
    Ok(missing)
}

/// A scratch directory (in the home's scratch space) removed when dropped.
pub(crate) fn scratch(ports: &Ports) -> Result<tempfile::TempDir, StageError> {
    ports.media.scratch.dir("truereel-").map_err(|e| StageError::new("making a scratch folder", e))
}

/// A blob as a local file: in place when the store is a folder, else copied into `dir`.
pub(crate) async fn local_copy(ports: &Ports, key: &BlobKey, dir: &Path, name: &str) -> Result<PathBuf, StageError> {
    if let Some(path) = ports.blobs.local_path(key) {
        return Ok(path);
    }
    let dest = dir.join(name);
    ports.blobs.get_to_file(key, &dest).await.map_err(|e| blob_err("reading a blob", e))?;
    Ok(dest)
}

/// Runs every future of `futures` together on this task, their outputs in order.
pub(crate) async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in pinned.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    out.into_iter().map(|o| o.expect("every future finished")).collect()
}

/// Takes a charge back with a negative entry of its own (the ledger is append-only), saying why.
pub(crate) async fn refund(ports: &Ports, charged: &crate::LedgerEntry, why: &str) -> Result<(), StageError> {
    if charged.usd == crate::Usd::ZERO {
        return Ok(());
    }
    let entry = crate::LedgerEntry {
        key: charged.key.with_suffix("/refund"),
        usd: crate::Usd(-charged.usd.0),
        units: -charged.units,
        at_ms: now_ms(),
        note: Some(why.to_string()),
        ..charged.clone()
    };
    ports.state.append_ledger(&entry).await.map_err(|e| state_err("refunding a charge", e))?;
    Ok(())
}
