//! What a person does to a parked reel (`truereel publish` / `regenerate`, and the review page):
//! publish its latest cut over the judge's verdict, with a reason kept on the version, or send shots
//! back to video (the named ones as their next attempt, the voice-over kept), after which the new
//! cut is judged like any other.

use super::evaluate::{publish, request_shots};
use super::support::{blob_err, issue, state_err};
use super::{Outcome, StageError};
use crate::ports::StateError;
use crate::stages::Ports;
use crate::{Reel, ReelId, ReelStatus, printable};
use std::collections::BTreeSet;

const STAGE: &str = "review";

/// The longest reason kept.
const MAX_REASON_CHARS: usize = 500;

/// A person publishes a parked reel's latest cut as its next version (the stable URL moves to it;
/// an earlier version is retired). Only a parked reel with a stored cut, and only with a reason.
pub async fn publish_parked(ports: &Ports, id: &ReelId, reason: &str) -> Result<String, StageError> {
    let what = format!("publishing {id}");
    let reason = said(reason).ok_or_else(|| StageError::new(&what, "publishing over the judge needs a reason"))?;
    let reel = parked(ports, id, &what, "published by a person").await?;
    let Some(video) = reel.video.clone() else {
        return Err(StageError::new(&what, "it was parked before any cut was made; send its shots to video instead"));
    };
    if ports.blobs.head(&video).await.map_err(|e| blob_err("checking a reel video", e))?.is_none() {
        return Err(StageError::new(&what, format!("its cut {video} is gone from the blob store")));
    }
    let round = reel.round;
    match publish(ports, reel, video, Some(reason.clone())).await? {
        Outcome::Done(said) => {
            let text = format!("{said} (round {round}): {reason}");
            issue(ports, id.product().as_str(), STAGE, false, text.clone()).await?;
            Ok(text)
        }
        Outcome::Skipped(why) | Outcome::Waiting(why) | Outcome::Failed(why) => Err(StageError::new(&what, why)),
    }
}

/// A person sends a parked reel's shots back to video: each shot named (numbered from 1; every shot
/// when none is named) as its next attempt (another seed, the move turned round), every other shot
/// asked for at its current attempt (a stored clip is reused, one never made is made); the
/// voice-over is kept. Returns what was sent.
pub async fn regenerate_parked(ports: &Ports, id: &ReelId, shots: &[u32], reason: &str) -> Result<String, StageError> {
    let what = format!("regenerating {id}");
    let reel = parked(ports, id, &what, "sent back to video by a person").await?;
    let count = reel.plan.shots.len() as u32;
    if let Some(bad) = shots.iter().find(|n| **n == 0 || **n > count) {
        return Err(StageError::new(&what, format!("it has no shot {bad} (its shots are 1–{count})")));
    }
    let named: BTreeSet<u32> =
        if shots.is_empty() { (0..count).collect() } else { shots.iter().map(|n| n - 1).collect() };
    let mut next = reel.clone();
    for s in &named {
        next.shot_attempts[*s as usize] += 1;
    }
    let list = named.iter().map(|s| (s + 1).to_string()).collect::<Vec<_>>().join(", ");
    let why = said(reason).map(|r| format!(": {r}")).unwrap_or_default();
    next.status = ReelStatus::Generating;
    next.reasons = vec![format!("a person sent shot {list} back to video{why}")];
    match ports.state.transition(&next, ReelStatus::NeedsReview).await {
        Ok(()) => {}
        Err(StateError::Conflict { .. }) => return Err(StageError::new(&what, "the reel changed meanwhile")),
        Err(e) => return Err(state_err("sending a parked reel's shots back", e)),
    }
    let text = format!(
        "{id}: shot {list} sent back to video by a person{why} ({})",
        named
            .iter()
            .map(|s| format!("shot {} attempt {}", s + 1, next.shot_attempts[*s as usize]))
            .collect::<Vec<_>>()
            .join(", ")
    );
    issue(ports, id.product().as_str(), STAGE, false, text.clone()).await?;
    request_shots(ports, &next, &(0..count).collect()).await?;
    Ok(text)
}

/// The reel, when it is parked for a person (`done`: what a person does to it, for the refusal).
async fn parked(ports: &Ports, id: &ReelId, what: &str, done: &str) -> Result<Reel, StageError> {
    let Some(reel) = ports.state.get_reel(id).await.map_err(|e| state_err("reading a reel", e))? else {
        return Err(StageError::new(what, "no such reel"));
    };
    if reel.status != ReelStatus::NeedsReview {
        let hint = match reel.status {
            ReelStatus::Published => "; flag a published reel to make shots again",
            ReelStatus::AwaitingApproval => "; approve or reject its plan",
            _ => "; it is still being made",
        };
        return Err(StageError::new(
            what,
            format!("it is {}: only a reel parked for a person is {done}{hint}", reel.status),
        ));
    }
    Ok(reel)
}

/// A person's reason, made printable and capped; `None` when blank.
fn said(reason: &str) -> Option<String> {
    let r: String = printable(reason.trim()).chars().take(MAX_REASON_CHARS).collect();
    (!r.is_empty()).then_some(r)
}
