//! Evaluate: judge the assembled reel against its real reference photos, then publish it, send its
//! failing shots back to generate, or park it.
//!
//! A verdict that fails only on shots (each check names its shot) makes those shots again: the next
//! attempt of each (another seed, the move reversed on even attempts, a new charge within the
//! reel's budget), the passing shots' clips and the voice-over kept; the mirror stage assembles the
//! next round with the same encoded voice-over and this stage judges it again. A shot that has used
//! `TRUEREEL_MAX_ATTEMPTS`, or a failure no shot explains (the audio, the container), parks the reel
//! with the reasons of every round.

use super::support::{blob_err, issue, local_copy, park, refund, scratch, send, state_err};
use super::{Outcome, StageError};
use crate::messages::{EvaluateMsg, GenerateMsg};
use crate::ports::{Charge, ReelCut, StateError};
use crate::stages::Ports;
use crate::{BlobKey, Reel, ReelStatus, Verdict};
use std::collections::BTreeSet;
use std::time::Duration;

const STAGE: &str = "evaluate";

pub async fn run(ports: &Ports, msg: EvaluateMsg) -> Result<Outcome, StageError> {
    let Some(reel) = ports.state.get_reel(&msg.reel).await.map_err(|e| state_err("reading a reel", e))? else {
        return Ok(Outcome::Skipped(format!("reel {} does not exist", msg.reel)));
    };
    if reel.round != msg.round {
        return Ok(Outcome::Skipped(format!("reel {} round {} was superseded", reel.id, msg.round)));
    }
    match reel.status {
        ReelStatus::Assembled => {
            let judged = judge(ports, reel).await;
            // The judges held the reel's frames and photos for a moment: give that memory back.
            crate::allocator::give_back();
            judged
        }
        // A crash between the verdict and acting on it: act on the stored verdict.
        ReelStatus::Evaluated => {
            let verdicts = ports.state.verdicts(&reel.id).await.map_err(|e| state_err("reading verdicts", e))?;
            match round_verdict(&verdicts, reel.round) {
                Some(v) => act(ports, reel, &v).await,
                None => Err(StageError::new(format!("reel {}", reel.id), "evaluated but its verdict is missing")),
            }
        }
        ReelStatus::Published => republish(ports, &reel).await,
        // A crash between sending shots back and asking for them: ask again (generate dedupes).
        ReelStatus::Generating => {
            let verdicts = ports.state.verdicts(&reel.id).await.map_err(|e| state_err("reading verdicts", e))?;
            match round_verdict(&verdicts, reel.round).filter(|v| !v.passed) {
                Some(v) => request_shots(ports, &reel, &failing_shots(&v)).await,
                None => Ok(Outcome::Skipped(format!("reel {} is generating", reel.id))),
            }
        }
        other => Ok(Outcome::Skipped(format!("reel {} is {other}", reel.id))),
    }
}

/// A published reel whose public file is gone: copied again from the video that passed (no new
/// transition: it was published once).
async fn republish(ports: &Ports, reel: &Reel) -> Result<Outcome, StageError> {
    let public = reel.published.clone().unwrap_or_else(|| BlobKey::published_reel(&reel.id));
    if ports.blobs.head(&public).await.map_err(|e| blob_err("checking a published reel", e))?.is_some() {
        return Ok(Outcome::Skipped(format!("reel {} is published", reel.id)));
    }
    let video = match &reel.video {
        Some(v) if ports.blobs.head(v).await.map_err(|e| blob_err("checking a reel video", e))?.is_some() => v,
        _ => {
            let why = format!(
                "reel {}: its published file {public} and the video it was copied from are both gone; \
                 nothing can publish it again",
                reel.id
            );
            issue(ports, reel.product.as_str(), STAGE, true, why.clone()).await?;
            return Ok(Outcome::Failed(why));
        }
    };
    ports.blobs.copy(video, &public, "video/mp4").await.map_err(|e| blob_err("publishing a reel again", e))?;
    let what = format!("reel {}: its published file was missing; published again from round {}", reel.id, reel.round);
    issue(ports, reel.product.as_str(), STAGE, false, what.clone()).await?;
    Ok(Outcome::Done(what))
}

async fn judge(ports: &Ports, reel: Reel) -> Result<Outcome, StageError> {
    let Some(video_key) = reel.video.clone() else {
        return park(ports, &reel, STAGE, vec!["assembled without a video".into()]).await;
    };
    let missing = crate::stages::support::missing_references(ports, &reel).await?;
    if !missing.is_empty() {
        let why = format!(
            "reel {}: reference photos missing from the blob store ({}); the next run fetches them again and \
             judges it then",
            reel.id,
            missing.join(", ")
        );
        issue(ports, reel.product.as_str(), STAGE, true, why.clone()).await?;
        return Ok(Outcome::Failed(why));
    }
    let dir = scratch(ports)?;
    let video = local_copy(ports, &video_key, dir.path(), "reel.mp4").await?;
    let all = ports.state.references(&reel.product).await.map_err(|e| state_err("reading references", e))?;
    let mut references = Vec::new();
    for r in all.iter().filter(|r| reel.plan.shots.iter().any(|s| s.reference == r.sha256)) {
        let path = local_copy(ports, &r.blob, dir.path(), &format!("ref-{}", r.sha256.short(16))).await?;
        references.push((r.clone(), path));
    }
    let thumbnails_key = BlobKey::reel_thumbnails(&reel.id, reel.round);
    let thumbnails = match ports.blobs.head(&thumbnails_key).await.map_err(|e| blob_err("checking thumbnails", e))? {
        Some(_) => Some(local_copy(ports, &thumbnails_key, dir.path(), "thumbnails.mkv").await?),
        None => None,
    };
    // The shots' photos decoded for the judges while the frames are read (each once for both
    // judges; an error is theirs to say).
    let photos = crate::ports::Decoded::default();
    for (r, path) in &references {
        let (photos, sha, path) = (photos.clone(), r.sha256.clone(), path.clone());
        tokio::spawn(async move { crate::media::Grounding::shared(&photos, &sha, &path).await.map(|_| ()) });
    }
    // The frames every judge reads, read once (an error is left to the judges to say).
    let size = crate::media::thumbnail_size(ports.settings.width, ports.settings.height);
    let source = thumbnails.as_deref().unwrap_or(&video);
    let frames = match ports.media.sampled_frames(source, crate::media::THUMBNAIL_FPS, size).await {
        Ok(f) => tokio::sync::OnceCell::from(f),
        Err(e) => {
            tracing::warn!(reel = %reel.id, error = %e, "The reel's frames could not be read.");
            tokio::sync::OnceCell::new()
        }
    };
    let matched = super::gallery::match_photos(ports, &reel, &all, frames.get().map(Vec::as_slice), dir.path()).await?;
    let captions_key = BlobKey::captions(&reel.id);
    let captions = match ports.blobs.head(&captions_key).await.map_err(|e| blob_err("checking captions", e))? {
        Some(_) => Some(local_copy(ports, &captions_key, dir.path(), "captions.ass").await?),
        None => None,
    };
    let cut = ReelCut {
        reel: &reel,
        video,
        references,
        gallery: matched.gallery,
        others: matched.others,
        thumbnails,
        captions,
        frames,
        photos,
    };
    // Every judge at once; each verdict is stored on its own, and acted on together. A judge whose
    // verdict on this round is stored (a redelivery) is not asked again.
    let stored = ports.state.verdicts(&reel.id).await.map_err(|e| state_err("reading verdicts", e))?;
    let asked =
        super::support::join_all(ports.judges.iter().map(|j| ask(ports, &cut, j.as_ref(), &stored)).collect()).await;
    // Each evaluation is kept with what it judged: every shot's attempt and the reel's cost so far.
    let spent = ports.state.spent(Some(&reel.id), 0).await.map_err(|e| state_err("reading the ledger", e))?;
    let mut verdicts = Vec::new();
    let mut failures = Vec::new();
    for (judge, asked) in ports.judges.iter().zip(asked) {
        match asked? {
            Asked::Stored(v) => verdicts.push(v),
            Asked::Judged(checks) => {
                let v = Verdict::from_checks(reel.id.clone(), reel.round, judge.name(), checks);
                let v = v.judging(&reel.shot_attempts, spent);
                ports.state.put_verdict(&v).await.map_err(|e| state_err("storing a verdict", e))?;
                verdicts.push(v);
            }
            Asked::Failed(e) => failures.push((judge.name().to_string(), e)),
            Asked::OverBudget(why) => failures.push((judge.name().to_string(), why_over(judge.name(), why))),
        }
    }
    // Fail closed: a judge without a valid verdict never lets the reel through. A failure that passes
    // (429, 5xx) asks again later (the verdicts given meanwhile are kept); anything else parks it.
    if let Some(i) = failures.iter().position(|(_, e)| e.is_retryable()) {
        let (name, e) = failures.swap_remove(i);
        return Err(StageError::from_provider(format!("{}: judging by {name}", reel.id), e));
    }
    if !failures.is_empty() {
        let mut reasons: Vec<String> =
            failures.iter().map(|(name, e)| format!("the judge {name} gave no valid verdict: {e}")).collect();
        reasons.extend(verdicts.iter().flat_map(|v| v.reasons().into_iter().map(|r| format!("{}: {r}", v.judge))));
        return park(ports, &reel, STAGE, reasons).await;
    }
    learn(ports, &reel, &verdicts).await?;
    // The picture of the verdict for a person; a sheet that cannot be drawn is said, not retried.
    if let Err(e) = super::sheet::store_contact_sheet(ports, &reel, &verdicts, dir.path()).await {
        issue(ports, reel.product.as_str(), STAGE, false, format!("reel {}: no contact sheet: {e}", reel.id)).await?;
    }
    let Some(verdict) = round_verdict(&verdicts, reel.round) else {
        return park(ports, &reel, STAGE, vec!["no judge is configured".into()]).await;
    };
    let mut next = reel.clone();
    next.status = ReelStatus::Evaluated;
    match ports.state.transition(&next, ReelStatus::Assembled).await {
        Ok(()) => act(ports, next, &verdict).await,
        Err(StateError::Conflict { .. }) => {
            Ok(Outcome::Skipped(format!("reel {} was judged by another worker", reel.id)))
        }
        Err(e) => Err(state_err("marking a reel evaluated", e)),
    }
}

/// What asking one judge gave.
enum Asked {
    /// Its verdict on this round, stored before (not asked again).
    Stored(Verdict),
    Judged(Vec<crate::Check>),
    Failed(crate::ports::ProviderError),
    /// Its call would overrun a budget: not made.
    OverBudget(String),
}

/// How many paid calls one judge may be charged for one round (a crash after the charge and
/// before the verdict was stored asks again under the next key).
const MAX_CALLS: u32 = 3;

/// Asks `judge` for its verdict on `cut`, unless it gave one on this round already. A paid judge's
/// call is priced and charged to the ledger first, within the reel's and the run's budgets; a call
/// the provider turned away unbilled (a rate limit, a server error) is refunded.
async fn ask(
    ports: &Ports,
    cut: &ReelCut<'_>,
    judge: &dyn crate::ports::Judge,
    stored: &[Verdict],
) -> Result<Asked, StageError> {
    let reel = cut.reel;
    if let Some(v) = stored.iter().find(|v| v.round == reel.round && v.judge == judge.name()) {
        return Ok(Asked::Stored(v.clone()));
    }
    let mut charged = None;
    if let Some(quote) = judge.quote(cut) {
        let base = crate::IdempotencyKey::for_reel(&reel.id, &format!("judge/round-{}/{}", reel.round, judge.name()));
        let budget = ports.settings.budget_for(&quote.provider);
        for call in 1..=MAX_CALLS {
            let entry = crate::LedgerEntry {
                key: base.with_suffix(&format!("/call-{call}")),
                reel: reel.id.clone(),
                provider: quote.provider.clone(),
                operation: "judge".into(),
                units: quote.units,
                unit: quote.unit.clone(),
                usd: quote.usd,
                at_ms: crate::now_ms(),
                model: Some(quote.model.clone()),
                shot: None,
                attempt: Some(reel.round),
                note: None,
            };
            match ports.state.charge(&entry, &budget, ports.settings.run_started_ms).await {
                Ok(Charge::Charged) => {
                    crate::telemetry_metrics::spent(&quote.provider, entry.usd.dollars());
                    charged = Some(entry);
                    break;
                }
                Ok(Charge::AlreadyCharged) => continue,
                Ok(Charge::OverBudget(why) | Charge::ProviderOverBudget(why)) => return Ok(Asked::OverBudget(why)),
                Err(e) => return Err(state_err("charging the ledger", e)),
            }
        }
        if charged.is_none() {
            return Ok(Asked::Failed(crate::ports::ProviderError::Invalid {
                provider: quote.provider,
                message: format!("asked {MAX_CALLS} times for its verdict on round {} and none was kept", reel.round),
            }));
        }
    }
    match judge.judge(cut).await {
        Ok(checks) => Ok(Asked::Judged(checks)),
        Err(e) => {
            if let (Some(entry), true) = (&charged, e.is_retryable()) {
                refund(ports, entry, &format!("not billed: {e}")).await?;
            }
            Ok(Asked::Failed(e))
        }
    }
}

/// A judge's call refused by a budget, as a provider error to park on.
fn why_over(judge: &str, why: String) -> crate::ports::ProviderError {
    crate::ports::ProviderError::Rejected {
        provider: judge.to_string(),
        message: format!("not asked: {why}"),
        moderation: false,
    }
}

/// Counts every clip the round judged towards its brand's pass rates (each clip once).
async fn learn(ports: &Ports, reel: &Reel, verdicts: &[Verdict]) -> Result<(), StageError> {
    let Some(verdict) = round_verdict(verdicts, reel.round) else { return Ok(()) };
    let product = ports.state.get_product(&reel.product).await.map_err(|e| state_err("reading a product", e))?;
    let Some(product) = product else {
        tracing::warn!(reel = %reel.id, "Its product is gone: its verdict is not counted towards the pass rates.");
        return Ok(());
    };
    let brand = crate::learning::brand_of(&product.store);
    let clips = ports.state.clips(&reel.id).await.map_err(|e| state_err("reading clips", e))?;
    for outcome in crate::learning::clip_outcomes(reel, &verdict, &clips) {
        ports.state.record_outcome(&brand, &outcome).await.map_err(|e| state_err("counting a verdict", e))?;
    }
    Ok(())
}

/// One verdict for `round` out of every judge's verdict on it (`verdicts` as stored, in any
/// order): passed when all passed, their checks together, the spec judge's first, judged by
/// `spec-checks+product-match`; `None` when no judge judged that round.
pub fn round_verdict(verdicts: &[Verdict], round: u32) -> Option<Verdict> {
    let mut of_round: Vec<&Verdict> = verdicts.iter().filter(|v| v.round == round).collect();
    of_round.sort_by_key(|v| (v.judge != "spec-checks", v.judge.as_str()));
    let first = of_round.first()?;
    Some(Verdict {
        reel: first.reel.clone(),
        round,
        passed: of_round.iter().all(|v| v.passed),
        checks: of_round.iter().flat_map(|v| v.checks.iter().cloned()).collect(),
        judge: of_round.iter().map(|v| v.judge.as_str()).collect::<Vec<_>>().join("+"),
        at_ms: of_round.iter().map(|v| v.at_ms).max().unwrap_or(first.at_ms),
        attempts: first.attempts.clone(),
        spent: first.spent,
    })
}

/// Publishes a passed reel (once: the transition is the commit point), parks a failed one.
async fn act(ports: &Ports, reel: Reel, verdict: &Verdict) -> Result<Outcome, StageError> {
    if !verdict.passed {
        return retry_or_park(ports, reel, verdict).await;
    }
    let Some(video) = reel.video.clone() else {
        return park(ports, &reel, STAGE, vec!["passed but has no video".into()]).await;
    };
    publish(ports, reel, video, None).await
}

/// Publishes `reel`'s latest cut (`video`) as its next version, from the state it is in (evaluated,
/// or parked when a person publishes it over the judge: `overruled` says why). Each file goes to its
/// version's immutable path first, then over the stable one; the transition is the commit point, and
/// a redelivery (or a person asking again) copies the same version again.
pub(super) async fn publish(
    ports: &Ports,
    reel: Reel,
    video: BlobKey,
    overruled: Option<String>,
) -> Result<Outcome, StageError> {
    // Embeds keep playing the old cut until the copy lands. The other shapes first.
    let version = reel.versions.len() as u32 + 1;
    for (aspect, _, _) in &ports.settings.extra_aspects {
        let shaped = BlobKey::reel_video_aspect(&reel.id, reel.round, aspect);
        if ports.blobs.head(&shaped).await.map_err(|e| blob_err("checking a reel shape", e))?.is_some() {
            let kept = BlobKey::published_version(&reel.id, version, Some(aspect));
            ports.blobs.copy(&shaped, &kept, "video/mp4").await.map_err(|e| blob_err("publishing a shape", e))?;
            let public = BlobKey::published_aspect(&reel.id, aspect);
            ports.blobs.copy(&kept, &public, "video/mp4").await.map_err(|e| blob_err("publishing a shape", e))?;
        }
    }
    let kept = BlobKey::published_version(&reel.id, version, None);
    ports.blobs.copy(&video, &kept, "video/mp4").await.map_err(|e| blob_err("publishing a version", e))?;
    publish_poster(ports, &reel, reel.round, version).await?;
    let public = BlobKey::published_reel(&reel.id);
    ports.blobs.copy(&kept, &public, "video/mp4").await.map_err(|e| blob_err("publishing a reel", e))?;
    let mut next = reel.clone();
    let now = crate::now_ms();
    for old in next.versions.iter_mut().filter(|v| v.retired_ms.is_none()) {
        old.retired_ms = Some(now);
    }
    // A cut made after the latest flag answers it.
    let answers = reel.flags.last().filter(|f| reel.versions.last().is_none_or(|v| v.published_ms < f.at_ms));
    next.versions.push(crate::Version {
        version,
        round: reel.round,
        file: kept,
        published_ms: now,
        retired_ms: None,
        flag: answers.map(|f| f.id.clone()),
        overruled: overruled.clone(),
    });
    next.status = ReelStatus::Published;
    next.published = Some(public);
    next.reasons.clear();
    match ports.state.transition(&next, reel.status).await {
        Ok(()) => {
            tracing::info!(reel = %reel.id, version, overruled, "Published.");
            let retired = if version > 1 { format!(" (version {} retired)", version - 1) } else { String::new() };
            let by = if overruled.is_some() { " by a person over the judge" } else { "" };
            Ok(Outcome::Done(format!("{}: published version {version}{by}{retired}", reel.id)))
        }
        Err(StateError::Conflict { .. }) => Ok(Outcome::Skipped(format!("reel {} was published already", reel.id))),
        Err(e) => Err(state_err("marking a reel published", e)),
    }
}

/// The poster of assembly `round` (when it made one) as version `version`'s immutable poster, then over
/// the stable poster beside the stable file: what an embed's `poster` shows.
pub(super) async fn publish_poster(ports: &Ports, reel: &Reel, round: u32, version: u32) -> Result<(), StageError> {
    let poster = BlobKey::reel_poster(&reel.id, round);
    if ports.blobs.head(&poster).await.map_err(|e| blob_err("checking a poster", e))?.is_none() {
        tracing::warn!(reel = %reel.id, round, "No poster to publish.");
        return Ok(());
    }
    let kept = BlobKey::published_poster(&reel.id, Some(version));
    ports.blobs.copy(&poster, &kept, "image/jpeg").await.map_err(|e| blob_err("publishing a poster", e))?;
    let stable = BlobKey::published_poster(&reel.id, None);
    ports.blobs.copy(&kept, &stable, "image/jpeg").await.map_err(|e| blob_err("publishing a poster", e))
}

/// The shots a verdict failed (each named by a failing check).
fn failing_shots(verdict: &Verdict) -> BTreeSet<u32> {
    verdict.checks.iter().filter(|c| !c.passed).filter_map(|c| c.shot).collect()
}

/// A failed verdict: its failing shots go back to generate for their next attempt, or, when a
/// failure is not a shot's or a failing shot has no attempt left, the reel is parked with every
/// round's reasons.
async fn retry_or_park(ports: &Ports, reel: Reel, verdict: &Verdict) -> Result<Outcome, StageError> {
    let shots = failing_shots(verdict);
    let max = ports.settings.max_attempts;
    let unexplained = verdict.checks.iter().any(|c| !c.passed && c.shot.is_none());
    let spent: Vec<u32> = shots.iter().copied().filter(|s| reel.shot_attempts[*s as usize] >= max).collect();
    if shots.is_empty() || unexplained || !spent.is_empty() {
        let mut reasons = every_rounds_reasons(ports, &reel).await?;
        if !unexplained {
            // A person may have asked for more than the limit: each shot says its own count.
            for s in &spent {
                reasons.push(format!("shot {} failed all {} attempts", s + 1, reel.shot_attempts[*s as usize]));
            }
        }
        return park(ports, &reel, STAGE, reasons).await;
    }
    let mut next = reel.clone();
    for s in &shots {
        next.shot_attempts[*s as usize] += 1;
    }
    next.status = ReelStatus::Generating;
    next.reasons = verdict.reasons();
    match ports.state.transition(&next, ReelStatus::Evaluated).await {
        Ok(()) => {}
        Err(StateError::Conflict { .. }) => {
            return Ok(Outcome::Skipped(format!("reel {} was acted on by another worker", reel.id)));
        }
        Err(e) => return Err(state_err("sending shots back to generate", e)),
    }
    let what = shots
        .iter()
        .map(|s| format!("shot {} attempt {}", s + 1, next.shot_attempts[*s as usize]))
        .collect::<Vec<_>>()
        .join(", ");
    let text =
        format!("reel {} round {} failed the judge; making {what} ({})", reel.id, reel.round, next.reasons.join("; "));
    issue(ports, reel.product.as_str(), STAGE, false, text).await?;
    request_shots(ports, &next, &shots).await
}

/// Asks generate for the current attempt of each of `shots`.
pub(super) async fn request_shots(ports: &Ports, reel: &Reel, shots: &BTreeSet<u32>) -> Result<Outcome, StageError> {
    for s in shots {
        let attempt = reel.shot_attempts[*s as usize];
        send(ports, GenerateMsg::new(reel.id.clone(), *s, attempt), Duration::ZERO).await?;
    }
    Ok(Outcome::Done(format!("{}: shots {shots:?} sent back to generate", reel.id)))
}

/// Every judged round's failures, oldest first ("round 1: structure: shot 2: does not line up …").
async fn every_rounds_reasons(ports: &Ports, reel: &Reel) -> Result<Vec<String>, StageError> {
    let mut verdicts = ports.state.verdicts(&reel.id).await.map_err(|e| state_err("reading verdicts", e))?;
    verdicts.sort_by_key(|v| v.round);
    Ok(verdicts.iter().flat_map(|v| v.reasons().into_iter().map(move |r| format!("round {}: {r}", v.round))).collect())
}
