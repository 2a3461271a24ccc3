//! Generate: submit one shot attempt to a video model (once, ever) and poll it by delayed messages.
//!
//! The life of a paid job: the first provider of the chain that is not held out of the run and has
//! a free concurrency slot takes the shot (slots are shared by every worker: SQLite rows here,
//! DynamoDB items across Lambdas; when every paid provider is busy the shot waits, it does not drop
//! to the offline renderer); the intent is claimed under the attempt's idempotency key (so a
//! redelivery never submits twice), the charge is written to the ledger within budget, and
//! only then is the job submitted and its id recorded. Polls are delayed queue messages that back
//! off; a job that runs past `TRUEREEL_JOB_TIMEOUT_SECS` is cancelled and submitted again only once
//! the provider confirms the cancel. A provider out of quota or credit is held for the run and the
//! next one in the chain takes the shot.

use super::support::{blob_err, issue, park, refund, send, state_err};
use super::{Outcome, StageError};
use crate::messages::{GenerateMsg, MirrorMsg};
use crate::ports::{
    Cancelled, Charge, ClipRequest, FailureClass, JobFailure, JobSlot, JobStatus, ProviderError, ProviderHold,
    StateError, VideoModel, WholeReel,
};
use crate::stages::Ports;
use crate::{IdempotencyKey, JobId, LedgerEntry, Reel, ReelStatus, Usd, now_ms};
use std::sync::Arc;
use std::time::Duration;

const STAGE: &str = "generate";
/// The offline renderer, the one model a reel kept off paid providers may use.
pub(crate) const OFFLINE: &str = "still-motion";
/// The longest wait between two polls of one job.
const MAX_POLL_WAIT: Duration = Duration::from_secs(60);
/// How long an intent without a job id is taken for a submission still under way elsewhere; past
/// it, the submitter crashed and whether it paid is unknown.
const IN_FLIGHT: Duration = Duration::from_secs(120);
/// How long a worker waits before asking again for a provider's concurrency slot.
const SLOT_WAIT: Duration = Duration::from_secs(1);

pub async fn run(ports: &Ports, msg: GenerateMsg) -> Result<Outcome, StageError> {
    let Some(mut reel) = ports.state.get_reel(&msg.reel).await.map_err(|e| state_err("reading a reel", e))? else {
        return Ok(Outcome::Skipped(format!("reel {} does not exist", msg.reel)));
    };
    let Some(shot) = reel.plan.shots.get(msg.shot as usize).cloned() else {
        return Ok(Outcome::Skipped(format!("reel {} has no shot {}", reel.id, msg.shot + 1)));
    };
    // A job already running for a reel that has since stopped is still seen through: its clip is
    // paid for and is mirrored, or it is cancelled at its timeout; nothing new is submitted.
    if reel.status.is_terminal() && msg.since_ms.is_none() {
        return Ok(Outcome::Skipped(format!("reel {} is {}", reel.id, reel.status)));
    }
    if reel.shot_attempts[shot.index as usize] != msg.attempt {
        return Ok(Outcome::Skipped(format!(
            "{} shot {} attempt {} was superseded",
            reel.id,
            shot.index + 1,
            msg.attempt
        )));
    }
    if reel.status == ReelStatus::Planned {
        reel = start_generating(ports, reel).await?;
    }
    let clips = ports.state.clips(&reel.id).await.map_err(|e| state_err("reading clips", e))?;
    // A clip recorded but gone from the blob store is lost: fetched or rendered again below.
    let lost = match clips.iter().find(|c| c.shot == msg.shot && c.attempt == msg.attempt) {
        Some(c) if ports.blobs.head(&c.blob).await.map_err(|e| blob_err("checking a clip", e))?.is_some() => {
            return Ok(Outcome::Skipped(format!("{} shot {} is already stored", reel.id, shot.index + 1)));
        }
        Some(c) => {
            tracing::warn!(reel = %reel.id, shot = shot.index, clip = %c.blob, "The stored clip is gone.");
            true
        }
        None => false,
    };

    let key = msg.key();
    let candidates = match candidates(ports, &reel).await? {
        Ok(models) => models,
        Err(why) => return park(ports, &reel, STAGE, vec![format!("shot {}: {why}", shot.index + 1)]).await,
    };
    // A fresh message waits for a slot before it claims anything: waiting is one write, not three
    // (the slot is the job key's; a redelivery of a job that has one renews it). The first provider
    // of the chain with room takes the shot, so a chain's throughput is the sum of its providers'.
    let candidate = match msg.since_ms {
        Some(_) => candidates[0].clone(),
        None => match with_room(ports, &candidates, &key).await? {
            Some(model) => model,
            None => {
                send(ports, msg.clone(), SLOT_WAIT).await?;
                let names: Vec<&str> = candidates.iter().map(|m| m.name()).collect();
                let what = format!("{} shot {}: waiting for a slot at {}", reel.id, shot.index + 1, names.join(" or "));
                return Ok(Outcome::Waiting(what));
            }
        },
    };
    let slot = ports.state.begin_job(&key, candidate.name()).await.map_err(|e| state_err("claiming a job", e))?;
    // A redelivery whose job went to another provider gives back the slot it just took here.
    if let JobSlot::Submitted { provider, .. } | JobSlot::Unknown { provider, .. } = &slot
        && provider != candidate.name()
        && msg.since_ms.is_none()
    {
        release_slot(ports, candidate.name(), &key).await?;
    }
    match slot {
        JobSlot::Submitted { job, provider } => {
            let Some(model) = ports.video.get(&provider).cloned() else {
                let why =
                    format!("shot {}: job {job} went to {provider}, which is no longer configured", shot.index + 1);
                return park(ports, &reel, STAGE, vec![why]).await;
            };
            if lost {
                return recover_lost_clip(ports, &reel, &msg, &key, model, job).await;
            }
            poll(ports, &reel, &msg, &model, &job).await
        }
        JobSlot::Unknown { provider, at_ms } => {
            let model = ports.video.get(&provider).cloned().unwrap_or(candidate);
            if !model.idempotent_submit() && now_ms() - at_ms < IN_FLIGHT.as_millis() as i64 {
                // Most likely another delivery of this message submitting right now: look again later.
                send(ports, msg.clone(), SLOT_WAIT).await?;
                let what = format!("{} shot {}: a submission to {provider} is under way", reel.id, shot.index + 1);
                return Ok(Outcome::Waiting(what));
            }
            if !model.idempotent_submit() {
                let why = format!(
                    "shot {} attempt {}: an earlier submission to {provider} may or may not have gone through, and \
                     {provider} cannot be asked twice safely; not submitting again",
                    shot.index + 1,
                    msg.attempt
                );
                return park(ports, &reel, STAGE, vec![why]).await;
            }
            submit(ports, &reel, &msg, &key, model).await
        }
        JobSlot::New => submit(ports, &reel, &msg, &key, candidate).await,
    }
}

/// The models a shot may go to, in order: the chain's (the brand kit's order when it names providers
/// this process has, as the plan ranked it by the brand's pass rates) less those held out of this run; a reel kept off paid providers (a poor
/// candidate, `--below-suitability offline`) gets the offline renderer whatever the chain says.
async fn candidates(ports: &Ports, reel: &Reel) -> Result<Result<Vec<Arc<dyn VideoModel>>, String>, StageError> {
    if reel.plan.offline_only
        && let Some(offline) = ports.video.get(OFFLINE)
    {
        return Ok(Ok(vec![offline.clone()]));
    }
    // The plan's order (the chain as the brand's pass rates rank it), else the brand kit's, else the chain's.
    let wanted = if reel.plan.providers.is_empty() { &reel.options.brand.video_provider } else { &reel.plan.providers };
    let order: Vec<&Arc<dyn VideoModel>> = if wanted.is_empty() {
        ports.video.models().collect()
    } else {
        wanted.iter().filter_map(|n| ports.video.get(n)).collect()
    };
    if order.is_empty() {
        return Ok(Err(format!(
            "the brand kit asks for {} but this run has only {:?} (TRUEREEL_VIDEO_PROVIDER)",
            wanted.join(", "),
            ports.video
        )));
    }
    let mut open = Vec::new();
    for model in order {
        let held = ports
            .state
            .provider_hold(model.name(), ports.settings.run_started_ms)
            .await
            .map_err(|e| state_err("reading provider holds", e))?;
        if held.is_none() {
            open.push(model.clone());
        }
    }
    if open.is_empty() {
        return Ok(Err("every video provider in the chain is held out of this run (out of quota or credit)".into()));
    }
    Ok(Ok(open))
}

/// The first of `candidates` with room for the job `key`: a provider with a concurrency limit whose
/// slot it takes, or one without a limit (the offline renderer) when no provider before it is just
/// full: a paid provider that is busy is waited for, not replaced by the fall-over of last resort.
/// `None`: wait.
async fn with_room(
    ports: &Ports,
    candidates: &[Arc<dyn VideoModel>],
    key: &IdempotencyKey,
) -> Result<Option<Arc<dyn VideoModel>>, StageError> {
    let mut busy = false;
    for model in candidates {
        match ports.video.limit(model.name()) {
            None if busy => return Ok(None),
            None => return Ok(Some(model.clone())),
            Some(_) if take_slot(ports, model.name(), key).await? => {
                // Held while this job waited for the slot (a hold is written before its slot is
                // given back, so it is seen here): the slot is given back and the chain goes on.
                let held = (ports.state.provider_hold(model.name(), ports.settings.run_started_ms).await)
                    .map_err(|e| state_err("reading provider holds", e))?;
                if held.is_none() {
                    return Ok(Some(model.clone()));
                }
                release_slot(ports, model.name(), key).await?;
            }
            Some(_) => busy = true,
        }
    }
    Ok(None)
}

/// Submits the attempt's job to `model`: a concurrency slot, the ledger charge, the call, the job id.
async fn submit(
    ports: &Ports,
    reel: &Reel,
    msg: &GenerateMsg,
    key: &IdempotencyKey,
    model: Arc<dyn VideoModel>,
) -> Result<Outcome, StageError> {
    let provider = model.name().to_string();
    let forget = || async {
        ports.state.forget_job(key).await.map_err(|e| state_err("dropping a job intent", e))?;
        Ok::<_, StageError>(())
    };
    if let Some(outcome) = reference_missing(ports, reel, msg.shot).await? {
        forget().await?;
        release_slot(ports, &provider, key).await?;
        return Ok(outcome);
    }
    // The slot was taken in `run` before the claim.
    let request = request(ports, reel, msg.shot, msg.attempt, model.as_ref()).await?;
    let shot = &reel.plan.shots[msg.shot as usize];
    // Charged before the call, atomically within budget: a crash after paying never under-counts,
    // and concurrent workers cannot overrun the budget together.
    let entry = LedgerEntry {
        key: ledger_key(key, &provider),
        reel: reel.id.clone(),
        provider: provider.clone(),
        operation: "image_to_video".into(),
        units: shot.duration_ms as f64 / 1000.0,
        unit: "video_seconds".into(),
        usd: model.price(&request),
        at_ms: now_ms(),
        model: Some(model.model().to_string()),
        shot: Some(msg.shot),
        attempt: Some(msg.attempt),
        note: None,
    };
    let budget = ports.settings.budget_for(&provider);
    match ports.state.charge(&entry, &budget, ports.settings.run_started_ms).await {
        Ok(Charge::Charged) => crate::telemetry_metrics::spent(&provider, entry.usd.dollars()),
        Ok(Charge::AlreadyCharged) => {}
        Ok(Charge::ProviderOverBudget(why)) => {
            // The provider's own line is spent: held for the run like a quota, the next one takes the shot.
            forget().await?;
            return hold_and_fall_over(ports, reel, msg, key, &provider, why).await;
        }
        Ok(Charge::OverBudget(why)) => {
            forget().await?;
            release_slot(ports, &provider, key).await?;
            return park(
                ports,
                reel,
                STAGE,
                vec![format!("shot {}: not submitted to {provider}: {why}", msg.shot + 1)],
            )
            .await;
        }
        Err(e) => return Err(state_err("charging the ledger", e)),
    }
    match model.submit(&request, key).await {
        Ok(job) => {
            ports.state.record_job(key, &job).await.map_err(|e| state_err("recording a job id", e))?;
            tracing::info!(reel = %reel.id, shot = msg.shot, attempt = msg.attempt, %provider, %job, "Submitted.");
            let polling = GenerateMsg { polls: 0, since_ms: Some(now_ms()), ..msg.clone() };
            poll(ports, reel, &polling, &model, &job).await
        }
        Err(e) => {
            // The provider answered with an error: no job id was issued, so nothing can run or be
            // polled; the intent and the charge are taken back and the slot given up.
            forget().await?;
            refund(ports, &entry, &format!("not submitted: {e}")).await?;
            if let ProviderError::Exhausted { message, .. } = e {
                let why = format!("out of quota or credit for this run ({message})");
                return hold_and_fall_over(ports, reel, msg, key, &provider, why).await;
            }
            release_slot(ports, &provider, key).await?;
            if e.is_retryable() {
                let context =
                    format!("{} shot {} attempt {}: submitting to {provider}", reel.id, msg.shot + 1, msg.attempt);
                return Err(StageError::from_provider(context, e));
            }
            park(ports, reel, STAGE, vec![format!("shot {} attempt {}: {e}", msg.shot + 1, msg.attempt)]).await
        }
    }
}

/// Holds `provider` out of the run for `why` (its quota, credit or budget line is spent), then gives
/// its slot back (the hold first, so no worker submits through the slot this job leaves), records
/// it, and sends the shot again at once for the next provider of the chain.
async fn hold_and_fall_over(
    ports: &Ports,
    reel: &Reel,
    msg: &GenerateMsg,
    key: &IdempotencyKey,
    provider: &str,
    why: String,
) -> Result<Outcome, StageError> {
    let hold = ProviderHold { provider: provider.to_string(), run: ports.settings.run_started_ms, why };
    ports.state.hold_provider(&hold).await.map_err(|e| state_err("holding a provider", e))?;
    release_slot(ports, provider, key).await?;
    let what = format!("{provider} is left out of this run: {}; trying the next provider", hold.why);
    issue(ports, reel.product.as_str(), STAGE, false, what.clone()).await?;
    send(ports, msg.clone(), Duration::ZERO).await?;
    Ok(Outcome::Waiting(what))
}

/// The ledger key of a charge: the job's key and the provider it went to (a fall-over charges the
/// next provider under its own key).
fn ledger_key(key: &IdempotencyKey, provider: &str) -> IdempotencyKey {
    key.with_suffix(&format!("@{provider}"))
}

/// One of the provider's shared slots for the job `key`, if it has a limit; renewing is taking.
async fn take_slot(ports: &Ports, provider: &str, key: &IdempotencyKey) -> Result<bool, StageError> {
    let Some(limit) = ports.video.limit(provider) else { return Ok(true) };
    // A lease past the job's own timeout, so a crashed worker's slot comes back on its own.
    let until = now_ms() + (ports.settings.job_timeout + Duration::from_secs(600)).as_millis() as i64;
    ports
        .state
        .acquire_slot(provider, limit, key.as_str(), until)
        .await
        .map_err(|e| state_err("taking a concurrency slot", e))
}

async fn release_slot(ports: &Ports, provider: &str, key: &IdempotencyKey) -> Result<(), StageError> {
    let Some(limit) = ports.video.limit(provider) else { return Ok(()) };
    ports.state.release_slot(provider, limit, key.as_str()).await.map_err(|e| state_err("giving back a slot", e))
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
        "{} shot {}: its reference photo {} is missing from the blob store; the next `truereel run` \
         fetches it again and goes on",
        reel.id,
        shot + 1,
        reference.blob
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
    model: Arc<dyn VideoModel>,
    job: JobId,
) -> Result<Outcome, StageError> {
    if let Ok(JobStatus::Ready(_) | JobStatus::Pending { .. }) = model.poll(&job).await {
        return poll(ports, reel, msg, &model, &job).await;
    }
    let provider = model.name().to_string();
    if !model.idempotent_submit() {
        let why = format!(
            "shot {} attempt {}: its clip is gone and {provider} no longer has it; rendering it again would be \
             paid twice",
            msg.shot + 1,
            msg.attempt
        );
        return park(ports, reel, STAGE, vec![why]).await;
    }
    if let Some(outcome) = reference_missing(ports, reel, msg.shot).await? {
        return Ok(outcome);
    }
    let request = request(ports, reel, msg.shot, msg.attempt, model.as_ref()).await?;
    match model.submit(&request, key).await {
        Ok(again) => {
            tracing::info!(reel = %reel.id, shot = msg.shot, job = %again, "A lost clip is rendered again.");
            poll(ports, reel, msg, &model, &again).await
        }
        Err(e) if e.is_retryable() => {
            Err(StageError::from_provider(format!("{} shot {}: rendering a lost clip", reel.id, msg.shot + 1), e))
        }
        Err(e) => park(ports, reel, STAGE, vec![format!("shot {} attempt {}: {e}", msg.shot + 1, msg.attempt)]).await,
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

/// What `model` is asked for shot `shot`: the photo's bytes only when it takes them inline.
async fn request(
    ports: &Ports,
    reel: &Reel,
    shot: u32,
    attempt: u32,
    model: &dyn VideoModel,
) -> Result<ClipRequest, StageError> {
    let s = &reel.plan.shots[shot as usize];
    let references = ports.state.references(&reel.product).await.map_err(|e| state_err("reading references", e))?;
    let Some(reference) = references.iter().find(|r| r.sha256 == s.reference) else {
        return Err(StageError::new(
            format!("{} shot {}", reel.id, shot + 1),
            format!("its reference {} is not stored", s.reference.short(12)),
        ));
    };
    let image_url = ports
        .blobs
        .presign_get(&reference.blob, ports.settings.presign_ttl)
        .await
        .map_err(|e| blob_err("presigning a reference", e))?;
    let image = match model.takes_inline_image() {
        true => ports.blobs.get(&reference.blob).await.map_err(|e| blob_err("reading a reference", e))?,
        false => bytes::Bytes::new(),
    };
    let mut more_images = Vec::new();
    if model.takes_inline_image() {
        let more = model.photos_per_shot().saturating_sub(1);
        for sha in s.extra_references.iter().take(more) {
            if let Some(r) = references.iter().find(|r| &r.sha256 == sha) {
                more_images.push(ports.blobs.get(&r.blob).await.map_err(|e| blob_err("reading a reference", e))?);
            }
        }
    }
    let mut style_images = Vec::new();
    if model.takes_style_images() {
        for key in &reel.plan.style_images {
            style_images.push(ports.blobs.get(key).await.map_err(|e| blob_err("reading a style image", e))?);
        }
    }
    let whole_reel = match reel.plan.whole_reel && model.takes_whole_reel() {
        true => Some(whole_reel(ports, reel, s, &references, &image).await?),
        false => None,
    };
    let (motion, camera, prompt) = as_attempted(s, attempt);
    Ok(ClipRequest {
        reference: reference.blob.clone(),
        image,
        image_url,
        image_mime: reference.mime.clone(),
        image_width: reference.width,
        image_height: reference.height,
        motion,
        camera,
        prompt,
        duration_ms: s.duration_ms,
        width: ports.settings.width,
        height: ports.settings.height,
        fps: ports.settings.fps,
        seed: u64::from(shot) * 1000 + u64::from(attempt) * 10 + 1,
        more_images,
        style_images,
        whole_reel,
    })
}

/// The move an attempt asks for: the plan's on odd attempts, the same windows travelled the other
/// way on even ones (a retry after the judge said no is not the same request again; the seed
/// changes with every attempt too).
fn as_attempted(shot: &crate::Shot, attempt: u32) -> (crate::Motion, crate::Camera, String) {
    let motion = shot.motion_of_attempt(attempt);
    if motion == shot.motion {
        return (shot.motion, shot.camera, shot.direction.clone());
    }
    let camera = shot.camera.reversed();
    (motion, camera, crate::media::camera::describe(&camera, motion))
}

/// A whole-reel request's photos (the shot's own first, then its extra references), the brand's
/// stored style images, and what the product is (its title and the reel's approved lines).
async fn whole_reel(
    ports: &Ports,
    reel: &Reel,
    shot: &crate::Shot,
    references: &[crate::Reference],
    main: &bytes::Bytes,
) -> Result<WholeReel, StageError> {
    let mut images = vec![main.clone()];
    for sha in &shot.extra_references {
        if let Some(r) = references.iter().find(|r| &r.sha256 == sha) {
            images.push(ports.blobs.get(&r.blob).await.map_err(|e| blob_err("reading a reference", e))?);
        }
    }
    let mut style_images = Vec::new();
    for key in &reel.plan.style_images {
        style_images.push(ports.blobs.get(key).await.map_err(|e| blob_err("reading a style image", e))?);
    }
    let product = ports.state.get_product(&reel.product).await.map_err(|e| state_err("reading a product", e))?;
    let title = product.map(|p| p.title).unwrap_or_else(|| reel.product.to_string());
    let lines: Vec<&str> = reel.voice_over.lines.iter().map(|l| l.text.as_str()).collect();
    Ok(WholeReel { images, style_images, product_info: format!("{title}. {}", lines.join(" ")) })
}

/// The wait before the next poll: the provider's hint, growing by half each poll, at most a minute.
fn backoff(hint: Duration, polls: u32) -> Duration {
    let grown = hint.as_secs_f64() * 1.5f64.powi(polls.min(20) as i32);
    Duration::from_secs_f64(grown.min(MAX_POLL_WAIT.as_secs_f64())).max(hint.min(MAX_POLL_WAIT))
}

async fn poll(
    ports: &Ports,
    reel: &Reel,
    msg: &GenerateMsg,
    model: &Arc<dyn VideoModel>,
    job: &JobId,
) -> Result<Outcome, StageError> {
    let provider = model.name().to_string();
    let status = match model.poll(job).await {
        Ok(s) => s,
        Err(e) if e.is_retryable() => {
            return Err(StageError::from_provider(format!("{} shot {}: polling job {job}", reel.id, msg.shot + 1), e));
        }
        Err(e) => {
            return park(ports, reel, STAGE, vec![format!("shot {}: polling job {job}: {e}", msg.shot + 1)]).await;
        }
    };
    match status {
        JobStatus::Ready(output) => {
            release_slot(ports, &provider, &msg.key()).await?;
            let next = MirrorMsg::Clip {
                reel: reel.id.clone(),
                shot: msg.shot,
                attempt: msg.attempt,
                job: job.clone(),
                output,
                provider: Some(provider),
            };
            send(ports, next, Duration::ZERO).await?;
            Ok(Outcome::Done(format!("{} shot {}: clip ready", reel.id, msg.shot + 1)))
        }
        JobStatus::Pending { retry_in, queued } => {
            let since = msg.since_ms.unwrap_or_else(now_ms);
            let ran = Duration::from_millis((now_ms() - since).max(0) as u64);
            if ran >= ports.settings.job_timeout || msg.polls + 1 >= ports.settings.max_polls {
                return timed_out(ports, reel, msg, model, job, ran).await;
            }
            let again = GenerateMsg { polls: msg.polls + 1, since_ms: Some(since), ..msg.clone() };
            send(ports, again, backoff(retry_in, msg.polls)).await?;
            let state = if queued { "queued behind the account's concurrency" } else { "running" };
            Ok(Outcome::Waiting(format!("{} shot {}: {provider} job {job} {state}", reel.id, msg.shot + 1)))
        }
        JobStatus::Failed(failure) => failed(ports, reel, msg, &provider, job, failure).await,
    }
}

/// A job that ended without a clip: recorded in the ledger as billed or not, then submitted again
/// when the provider's trouble may pass, else parked with the provider's words.
async fn failed(
    ports: &Ports,
    reel: &Reel,
    msg: &GenerateMsg,
    provider: &str,
    job: &JobId,
    failure: JobFailure,
) -> Result<Outcome, StageError> {
    let key = msg.key();
    release_slot(ports, provider, &key).await?;
    let code = failure.code.as_deref().map(|c| format!(" [{c}]")).unwrap_or_default();
    let billed = if failure.billed { "billed by the provider" } else { "not billed" };
    let what = match failure.class {
        FailureClass::ModerationInput => "refused by moderation (the input)",
        FailureClass::ModerationOutput => "refused by moderation (the output)",
        FailureClass::Retryable => "failed on the provider's side",
        FailureClass::Invalid => "rejected as invalid",
        FailureClass::Cancelled => "was cancelled",
    };
    let words = format!(
        "shot {} attempt {}: {provider} job {job} {what}{code}: {} ({billed})",
        msg.shot + 1,
        msg.attempt,
        failure.reason
    );
    if !failure.billed {
        let charged = ports.state.ledger(Some(&reel.id)).await.map_err(|e| state_err("reading the ledger", e))?;
        if let Some(entry) = charged.iter().find(|e| e.key == ledger_key(&key, provider)) {
            refund(ports, entry, &words).await?;
        }
    } else {
        note_billed(ports, reel, &key, provider, &words).await?;
    }
    if reel.status.is_terminal() {
        issue(ports, reel.product.as_str(), STAGE, false, words.clone()).await?;
        return Ok(Outcome::Done(words));
    }
    if failure.class == FailureClass::Retryable && msg.resubmits + 1 < ports.settings.max_attempts {
        issue(ports, reel.product.as_str(), STAGE, false, format!("{words}; submitting again")).await?;
        send(
            ports,
            GenerateMsg { resubmits: msg.resubmits + 1, polls: 0, since_ms: None, ..msg.clone() },
            Duration::ZERO,
        )
        .await?;
        return Ok(Outcome::Waiting(words));
    }
    park(ports, reel, STAGE, vec![words]).await
}

/// Writes a zero-cost ledger line saying a failed job was billed all the same (the charge stands).
async fn note_billed(
    ports: &Ports,
    reel: &Reel,
    key: &IdempotencyKey,
    provider: &str,
    words: &str,
) -> Result<(), StageError> {
    let entry = LedgerEntry {
        key: ledger_key(key, provider).with_suffix("/billed-failure"),
        reel: reel.id.clone(),
        provider: provider.to_string(),
        operation: "billed_failure".into(),
        units: 0.0,
        unit: "video_seconds".into(),
        usd: Usd::ZERO,
        at_ms: now_ms(),
        model: None,
        shot: None,
        attempt: None,
        note: Some(words.to_string()),
    };
    ports.state.append_ledger(&entry).await.map_err(|e| state_err("noting a billed failure", e))?;
    Ok(())
}

/// A job past its timeout: cancelled where the provider allows and submitted again once the cancel
/// is confirmed; otherwise parked (an unconfirmed job may still finish and bill).
async fn timed_out(
    ports: &Ports,
    reel: &Reel,
    msg: &GenerateMsg,
    model: &Arc<dyn VideoModel>,
    job: &JobId,
    ran: Duration,
) -> Result<Outcome, StageError> {
    let provider = model.name();
    let after = format!("shot {}: {provider} job {job} still not done after {} s", msg.shot + 1, ran.as_secs());
    match model.cancel(job).await {
        Ok(Cancelled::Confirmed) => {
            let failure = JobFailure {
                class: FailureClass::Retryable,
                code: None,
                reason: format!("{after}: cancelled (confirmed)"),
                billed: false,
            };
            failed(ports, reel, msg, provider, job, failure).await
        }
        Ok(Cancelled::AlreadyEnded) => {
            // It ended as we gave up: one more look decides.
            let last = GenerateMsg { polls: 0, since_ms: Some(now_ms()), ..msg.clone() };
            send(ports, last, Duration::ZERO).await?;
            Ok(Outcome::Waiting(format!("{after}; it has just ended, looking again")))
        }
        Ok(Cancelled::Unsupported) => {
            let why = format!(
                "{after}; {provider} cannot cancel it, so it is not resubmitted (it may still finish and bill)"
            );
            park(ports, reel, STAGE, vec![why]).await
        }
        Err(e) => {
            let why =
                format!("{after}; cancelling it failed ({e}), so it is not resubmitted (it may still finish and bill)");
            park(ports, reel, STAGE, vec![why]).await
        }
    }
}
