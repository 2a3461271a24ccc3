//! Generate: submit one shot attempt to the video model (once, ever) and poll it by delayed messages.

use super::support::{blob_err, issue, park, send, state_err};
use super::{Outcome, StageError};
use crate::messages::{GenerateMsg, MirrorMsg};
use crate::ports::{Charge, ClipRequest, JobSlot, JobStatus, ProviderError, StateError};
use crate::stages::Ports;
use crate::{IdempotencyKey, JobId, LedgerEntry, Reel, ReelStatus, now_ms};
use std::time::Duration;

const STAGE: &str = "generate";

pub async fn run(ports: &Ports, msg: GenerateMsg) -> Result<Outcome, StageError> {
    let Some(mut reel) = ports.state.get_reel(&msg.reel).await.map_err(|e| state_err("reading a reel", e))? else {
        return Ok(Outcome::Skipped(format!("reel {} does not exist", msg.reel)));
    };
    let Some(shot) = reel.plan.shots.get(msg.shot as usize).cloned() else {
        return Ok(Outcome::Skipped(format!("reel {} has no shot {}", reel.id, msg.shot)));
    };
    if reel.status.is_terminal() {
        return Ok(Outcome::Skipped(format!("reel {} is {}", reel.id, reel.status)));
    }
    if reel.shot_attempts[shot.index as usize] != msg.attempt {
        return Ok(Outcome::Skipped(format!("{} shot {} attempt {} was superseded", reel.id, shot.index, msg.attempt)));
    }
    if reel.status == ReelStatus::Planned {
        reel = start_generating(ports, reel).await?;
    }
    let clips = ports.state.clips(&reel.id).await.map_err(|e| state_err("reading clips", e))?;
    // A clip recorded but gone from the blob store is lost: fetched or rendered again below.
    let lost = match clips.iter().find(|c| c.shot == msg.shot && c.attempt == msg.attempt) {
        Some(c) if ports.blobs.head(&c.blob).await.map_err(|e| blob_err("checking a clip", e))?.is_some() => {
            return Ok(Outcome::Skipped(format!("{} shot {} is already stored", reel.id, shot.index)));
        }
        Some(c) => {
            tracing::warn!(reel = %reel.id, shot = shot.index, clip = %c.blob, "The stored clip is gone.");
            true
        }
        None => false,
    };

    let key = IdempotencyKey::for_shot(&reel.id, msg.shot, msg.attempt, "video");
    let provider = ports.video.name().to_string();
    let slot = ports.state.begin_job(&key, &provider).await.map_err(|e| state_err("claiming a job slot", e))?;
    let job = match slot {
        JobSlot::Submitted(job) if lost => return recover_lost_clip(ports, &reel, &msg, &key, job).await,
        JobSlot::Submitted(job) => job,
        JobSlot::Unknown if !ports.video.idempotent_submit() => {
            let why = format!(
                "shot {} attempt {}: an earlier submission to {provider} may or may not have gone through, and \
                 {provider} cannot be asked twice safely; not submitting again",
                shot.index, msg.attempt
            );
            return park(ports, &reel, STAGE, vec![why]).await;
        }
        JobSlot::New | JobSlot::Unknown => {
            if let Some(outcome) = reference_missing(ports, &reel, msg.shot).await? {
                return Ok(outcome);
            }
            let request = request(ports, &reel, msg.shot, msg.attempt).await?;
            // Charged before the call, atomically within budget: a crash after paying never
            // under-counts, and concurrent workers cannot overrun the budget together.
            let entry = LedgerEntry {
                key: key.clone(),
                reel: reel.id.clone(),
                provider: provider.clone(),
                operation: "image_to_video".into(),
                units: shot.duration_ms as f64 / 1000.0,
                unit: "video_seconds".into(),
                usd: ports.video.price(&request),
                at_ms: now_ms(),
            };
            let budget = ports.settings.budget;
            match ports.state.charge(&entry, &budget, ports.settings.run_started_ms).await {
                Ok(Charge::Charged) => crate::telemetry_metrics::spent(&provider, entry.usd.dollars()),
                Ok(Charge::AlreadyCharged) => {}
                Ok(Charge::OverBudget(why)) => {
                    return park(ports, &reel, STAGE, vec![format!("shot {}: {why}", shot.index)]).await;
                }
                Err(e) => return Err(state_err("charging the ledger", e)),
            }
            match ports.video.submit(&request, &key).await {
                Ok(job) => {
                    ports.state.record_job(&key, &job).await.map_err(|e| state_err("recording a job id", e))?;
                    tracing::info!(reel = %reel.id, shot = shot.index, attempt = msg.attempt, %job, "Submitted.");
                    job
                }
                Err(e) => return submit_failed(ports, &reel, &msg, e).await,
            }
        }
    };
    poll(ports, &reel, &msg, &job).await
}

/// A shot's reference photo gone from the blob store: recorded on the product, nothing submitted, and
/// the reel left generating; the next run fetches the photo again and picks the reel up.
async fn reference_missing(ports: &Ports, reel: &Reel, shot: u32) -> Result<Option<Outcome>, StageError> {
    let s = &reel.plan.shots[shot as usize];
    let references = ports.state.references(&reel.product).await.map_err(|e| state_err("reading references", e))?;
    let Some(reference) = references.into_iter().find(|r| r.sha256 == s.reference) else { return Ok(None) };
    if ports.blobs.head(&reference.blob).await.map_err(|e| blob_err("checking a reference", e))?.is_some() {
        return Ok(None);
    }
    let why = format!(
        "{} shot {shot}: its reference photo {} is missing from the blob store; the next `truereel run` \
         fetches it again and goes on",
        reel.id, reference.blob
    );
    issue(ports, reel.product.as_str(), STAGE, true, why.clone()).await?;
    Ok(Some(Outcome::Failed(why)))
}

/// A clip that was stored and paid for but is gone from the blob store. The provider's output is
/// fetched again if it still has it; otherwise a provider that dedupes by key renders it again under
/// the same key (the ledger already holds that key's charge: nothing is charged again; the still-motion
/// renderer costs nothing real); any other provider would bill again, so the reel is parked instead.
async fn recover_lost_clip(
    ports: &Ports,
    reel: &Reel,
    msg: &GenerateMsg,
    key: &IdempotencyKey,
    job: JobId,
) -> Result<Outcome, StageError> {
    if let Ok(JobStatus::Ready(_) | JobStatus::Pending { .. }) = ports.video.poll(&job).await {
        return poll(ports, reel, msg, &job).await;
    }
    let provider = ports.video.name().to_string();
    if !ports.video.idempotent_submit() {
        let why = format!(
            "shot {} attempt {}: its clip is gone and {provider} no longer has it; rendering it again would be \
             paid twice",
            msg.shot, msg.attempt
        );
        return park(ports, reel, STAGE, vec![why]).await;
    }
    if let Some(outcome) = reference_missing(ports, reel, msg.shot).await? {
        return Ok(outcome);
    }
    let request = request(ports, reel, msg.shot, msg.attempt).await?;
    match ports.video.submit(&request, key).await {
        Ok(again) => {
            tracing::info!(reel = %reel.id, shot = msg.shot, job = %again, "A lost clip is rendered again.");
            poll(ports, reel, msg, &again).await
        }
        Err(e) => submit_failed(ports, reel, msg, e).await,
    }
}

/// Planned → generating; a racer that already did it is fine.
async fn start_generating(ports: &Ports, reel: Reel) -> Result<Reel, StageError> {
    let mut next = reel.clone();
    next.status = ReelStatus::Generating;
    match ports.state.transition(&next, ReelStatus::Planned).await {
        Ok(()) => Ok(next),
        Err(StateError::Conflict { .. }) => ports
            .state
            .get_reel(&reel.id)
            .await
            .map_err(|e| state_err("reading a reel", e))?
            .ok_or_else(|| StageError::new("reading a reel", format!("reel {} vanished", reel.id))),
        Err(e) => Err(state_err("starting generation", e)),
    }
}

async fn request(ports: &Ports, reel: &Reel, shot: u32, attempt: u32) -> Result<ClipRequest, StageError> {
    let s = &reel.plan.shots[shot as usize];
    let references = ports.state.references(&reel.product).await.map_err(|e| state_err("reading references", e))?;
    let Some(reference) = references.into_iter().find(|r| r.sha256 == s.reference) else {
        return Err(StageError::new(
            format!("{} shot {shot}", reel.id),
            format!("its reference {} is not stored", s.reference.short(12)),
        ));
    };
    let image_url = ports
        .blobs
        .presign_get(&reference.blob, ports.settings.presign_ttl)
        .await
        .map_err(|e| blob_err("presigning a reference", e))?;
    let image = ports.blobs.get(&reference.blob).await.map_err(|e| blob_err("reading a reference", e))?;
    Ok(ClipRequest {
        reference: reference.blob.clone(),
        image,
        image_url,
        image_mime: reference.mime.clone(),
        image_width: reference.width,
        image_height: reference.height,
        motion: s.motion,
        camera: s.camera,
        prompt: s.direction.clone(),
        duration_ms: s.duration_ms,
        width: ports.settings.width,
        height: ports.settings.height,
        fps: ports.settings.fps,
        seed: u64::from(shot) * 1000 + u64::from(attempt),
    })
}

async fn submit_failed(ports: &Ports, reel: &Reel, msg: &GenerateMsg, e: ProviderError) -> Result<Outcome, StageError> {
    if e.is_retryable() {
        let context = format!("{} shot {} attempt {}: submitting", reel.id, msg.shot, msg.attempt);
        return Err(StageError::from_provider(context, e));
    }
    park(ports, reel, STAGE, vec![format!("shot {} attempt {}: {e}", msg.shot, msg.attempt)]).await
}

async fn poll(ports: &Ports, reel: &Reel, msg: &GenerateMsg, job: &JobId) -> Result<Outcome, StageError> {
    let status = match ports.video.poll(job).await {
        Ok(s) => s,
        Err(e) if e.is_retryable() => {
            return Err(StageError::from_provider(format!("{} shot {}: polling job {job}", reel.id, msg.shot), e));
        }
        Err(e) => return park(ports, reel, STAGE, vec![format!("shot {}: polling job {job}: {e}", msg.shot)]).await,
    };
    match status {
        JobStatus::Ready(output) => {
            let next = MirrorMsg::Clip {
                reel: reel.id.clone(),
                shot: msg.shot,
                attempt: msg.attempt,
                job: job.clone(),
                output,
            };
            send(ports, next, Duration::ZERO).await?;
            Ok(Outcome::Done(format!("{} shot {}: clip ready", reel.id, msg.shot)))
        }
        JobStatus::Pending { retry_in, .. } => {
            if msg.polls + 1 >= ports.settings.max_polls {
                let why = format!(
                    "shot {}: job {job} still not done after {} polls; not resubmitted (it may still finish and bill)",
                    msg.shot,
                    msg.polls + 1
                );
                return park(ports, reel, STAGE, vec![why]).await;
            }
            let again = GenerateMsg { polls: msg.polls + 1, ..msg.clone() };
            send(ports, again, retry_in).await?;
            Ok(Outcome::Waiting(format!("{} shot {}: job {job} running", reel.id, msg.shot)))
        }
        JobStatus::Failed(failure) => {
            let kind = if failure.is_moderation() { "refused by moderation" } else { "failed" };
            let reason = &failure.reason;
            park(
                ports,
                reel,
                STAGE,
                vec![format!("shot {} attempt {}: job {job} {kind}: {reason}", msg.shot, msg.attempt)],
            )
            .await
        }
    }
}
