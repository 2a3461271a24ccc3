//! Flag: a platform's flag reopens a published reel for a safety pass. The flagged shots (every
//! shot when none are named) go back to generate for their next attempt (another seed, the camera
//! move turned round), the approved voice-over is kept, the new cut is judged like any other and
//! published as the next version; until it passes, the current version stays served. At most
//! `TRUEREEL_MAX_FLAG_PASSES` passes per reel, each in the ledger; a flag is one pass however often
//! its event is delivered.

use super::evaluate::request_shots;
use super::support::{blob_err, issue, send, state_err};
use super::{Outcome, StageError};
use crate::messages::{FlagDetail, FlagMsg};
use crate::ports::StateError;
use crate::stages::Ports;
use crate::{BlobKey, Flag, IdempotencyKey, LedgerEntry, Reel, ReelStatus, Usd, Version, now_ms, printable};
use std::collections::BTreeSet;

const STAGE: &str = "flag";

/// The longest reason kept (a platform's message can be long).
const MAX_REASON_CHARS: usize = 500;

/// Sends a flag to the evaluate queue (`truereel flag`; on AWS the EventBridge rule does the same).
pub async fn send_flag(ports: &Ports, flag: FlagDetail) -> Result<String, StageError> {
    let event = format!("cli-{}-{}", now_ms(), std::process::id());
    send(ports, FlagMsg { flag, event: event.clone() }, std::time::Duration::ZERO).await?;
    Ok(event)
}

/// What `truereel flag` and the review page's flag (and regenerate-a-shot) form do: checks the flag
/// against the reel at once (so a person hears why it is refused) and sends it to the queue.
pub async fn request(ports: &Ports, flag: FlagDetail) -> Result<String, StageError> {
    let id = flag.reel.clone();
    let Some(reel) = ports.state.get_reel(&id).await.map_err(|e| state_err("reading a reel", e))? else {
        return Err(StageError::new("flag", format!("there is no reel {id}")));
    };
    if let Some(why) = refusal(&reel, &flag, ports.settings.max_flag_passes) {
        return Err(StageError::new(format!("reel {id}"), format!("flag not taken: {why}")));
    }
    send_flag(ports, flag).await
}

pub async fn run(ports: &Ports, msg: FlagMsg) -> Result<Outcome, StageError> {
    let FlagMsg { flag, event } = msg;
    let Some(reel) = ports.state.get_reel(&flag.reel).await.map_err(|e| state_err("reading a reel", e))? else {
        let why = format!("flag {event}: there is no reel {}", flag.reel);
        issue(ports, flag.reel.product().as_str(), STAGE, true, why.clone()).await?;
        return Ok(Outcome::Failed(why));
    };
    if let Some(taken) = reel.flags.iter().find(|f| f.id == event) {
        return resume(ports, &reel, taken).await;
    }
    if let Some(why) = refusal(&reel, &flag, ports.settings.max_flag_passes) {
        let said = printable(flag.reason.trim());
        let why = if said.is_empty() { why } else { format!("{why} (the flag said: {said})") };
        return refuse(ports, &reel, why).await;
    }
    let reason: String = printable(flag.reason.trim()).chars().take(MAX_REASON_CHARS).collect();
    let count = reel.plan.shots.len() as u32;
    // Shot numbers count from 1, as `truereel plan` and `status` show them.
    let numbers: BTreeSet<u32> =
        if flag.shots.is_empty() { (1..=count).collect() } else { flag.shots.iter().copied().collect() };
    let mut next = reel.clone();
    if next.versions.is_empty() {
        next.versions.push(first_version(ports, &reel).await?);
    }
    for n in &numbers {
        next.shot_attempts[*n as usize - 1] += 1;
    }
    next.flags.push(Flag {
        id: event.clone(),
        reason: reason.clone(),
        shots: numbers.iter().copied().collect(),
        at_ms: now_ms(),
    });
    next.status = ReelStatus::Generating;
    next.reasons = vec![format!("flagged: {reason}")];
    match ports.state.transition(&next, ReelStatus::Published).await {
        Ok(()) => {}
        // Another change won the race: the flag comes back and is taken, or refused with the reason.
        Err(StateError::Conflict { .. }) => {
            return Err(StageError::new(format!("reel {}: flag {event}", reel.id), "the reel changed meanwhile"));
        }
        Err(e) => return Err(state_err("reopening a reel", e)),
    }
    let served = next.current_version().map(|v| v.version).unwrap_or(1);
    let list = numbers.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
    let text = format!(
        "reel {} flagged ({reason}): safety pass {} makes shot {list} again; version {served} stays served until the \
         new cut passes",
        reel.id,
        next.flags.len()
    );
    issue(ports, reel.product.as_str(), STAGE, false, text).await?;
    resume(ports, &next, next.flags.last().expect("just pushed")).await
}

/// Why `flag` cannot be taken on `reel` (checked again by the stage: the CLI asks first to say so
/// at once): only a published reel, with a reason, naming shots it has, within `max_passes`.
pub fn refusal(reel: &Reel, flag: &FlagDetail, max_passes: u32) -> Option<String> {
    let count = reel.plan.shots.len() as u32;
    if reel.status != ReelStatus::Published {
        Some(format!("it is {}; only a published reel can be flagged", reel.status))
    } else if flag.reason.trim().is_empty() {
        Some("a flag needs a reason".into())
    } else if let Some(bad) = flag.shots.iter().find(|n| **n == 0 || **n > count) {
        Some(format!("it has no shot {bad} (its shots are 1–{count})"))
    } else if reel.flags.len() as u32 >= max_passes {
        Some(format!(
            "it was reopened {} already (TRUEREEL_MAX_FLAG_PASSES = {max_passes}); a person must look at it",
            times(reel.flags.len())
        ))
    } else {
        None
    }
}

/// "once", "twice", "3 times".
fn times(n: usize) -> String {
    match n {
        1 => "once".into(),
        2 => "twice".into(),
        n => format!("{n} times"),
    }
}

/// A flag that cannot be taken: said on the product, not retried.
async fn refuse(ports: &Ports, reel: &Reel, why: String) -> Result<Outcome, StageError> {
    let why = format!("reel {}: flag not taken: {why}", reel.id);
    issue(ports, reel.product.as_str(), STAGE, true, why.clone()).await?;
    Ok(Outcome::Failed(why))
}

/// A flag already taken: its ledger line and its shots' requests again (both are idempotent), as
/// long as the reel is still in the pass it opened.
async fn resume(ports: &Ports, reel: &Reel, flag: &Flag) -> Result<Outcome, StageError> {
    let pass = reel.flags.iter().position(|f| f.id == flag.id).expect("the reel's flag") as u32 + 1;
    let entry = LedgerEntry {
        key: IdempotencyKey::for_reel(&reel.id, &format!("flag-{pass}")),
        reel: reel.id.clone(),
        provider: "truereel".into(),
        operation: "safety_pass".into(),
        units: 1.0,
        unit: "passes".into(),
        usd: Usd::ZERO,
        at_ms: flag.at_ms,
        model: None,
        shot: None,
        attempt: Some(pass),
        note: Some(format!("flag {}: {}; shots {:?} made again", flag.id, flag.reason, flag.shots)),
    };
    ports.state.append_ledger(&entry).await.map_err(|e| state_err("recording a safety pass", e))?;
    let current = reel.flags.last().is_some_and(|f| f.id == flag.id);
    if !(current && reel.status == ReelStatus::Generating) {
        return Ok(Outcome::Skipped(format!("reel {}: flag {} was taken already", reel.id, flag.id)));
    }
    request_shots(ports, reel, &flag.shots.iter().map(|n| n - 1).collect()).await
}

/// A reel published before versions were kept: its published cut becomes version 1, with its own
/// immutable file.
async fn first_version(ports: &Ports, reel: &Reel) -> Result<Version, StageError> {
    let file = BlobKey::published_version(&reel.id, 1, None);
    let from = reel.published.clone().unwrap_or_else(|| BlobKey::published_reel(&reel.id));
    ports.blobs.copy(&from, &file, "video/mp4").await.map_err(|e| blob_err("keeping version 1", e))?;
    super::evaluate::publish_poster(ports, reel, reel.round, 1).await?;
    Ok(Version {
        version: 1,
        round: reel.round,
        file,
        published_ms: reel.updated_ms,
        retired_ms: None,
        flag: None,
        overruled: None,
    })
}
