//! Evaluate: judge the assembled reel against its real reference photos, then publish or park it.

use super::support::{blob_err, issue, local_copy, park, scratch, state_err};
use super::{Outcome, StageError};
use crate::messages::EvaluateMsg;
use crate::ports::{ReelCut, StateError};
use crate::stages::Ports;
use crate::{BlobKey, Reel, ReelStatus, Verdict};

const STAGE: &str = "evaluate";

pub async fn run(ports: &Ports, msg: EvaluateMsg) -> Result<Outcome, StageError> {
    let Some(reel) = ports.state.get_reel(&msg.reel).await.map_err(|e| state_err("reading a reel", e))? else {
        return Ok(Outcome::Skipped(format!("reel {} does not exist", msg.reel)));
    };
    if reel.round != msg.round {
        return Ok(Outcome::Skipped(format!("reel {} round {} was superseded", reel.id, msg.round)));
    }
    match reel.status {
        ReelStatus::Assembled => judge(ports, reel).await,
        // A crash between the verdict and acting on it: act on the stored verdict.
        ReelStatus::Evaluated => {
            let verdicts = ports.state.verdicts(&reel.id).await.map_err(|e| state_err("reading verdicts", e))?;
            match verdicts.into_iter().rfind(|v| v.round == reel.round) {
                Some(v) => act(ports, reel, &v).await,
                None => Err(StageError::new(format!("reel {}", reel.id), "evaluated but its verdict is missing")),
            }
        }
        ReelStatus::Published => republish(ports, &reel).await,
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
    for r in all.into_iter().filter(|r| reel.plan.shots.iter().any(|s| s.reference == r.sha256)) {
        let path = local_copy(ports, &r.blob, dir.path(), &format!("ref-{}", r.sha256.short(16))).await?;
        references.push((r, path));
    }
    let thumbnails_key = BlobKey::reel_thumbnails(&reel.id, reel.round);
    let thumbnails = match ports.blobs.head(&thumbnails_key).await.map_err(|e| blob_err("checking thumbnails", e))? {
        Some(_) => Some(local_copy(ports, &thumbnails_key, dir.path(), "thumbnails.mkv").await?),
        None => None,
    };
    let cut = ReelCut { reel: &reel, video, references, thumbnails };
    let checks = match ports.judge.judge(&cut).await {
        Ok(c) => c,
        Err(e) if e.is_retryable() => return Err(StageError::from_provider(format!("{}: judging", reel.id), e)),
        Err(e) => return park(ports, &reel, STAGE, vec![format!("the judge could not judge it: {e}")]).await,
    };
    let verdict = Verdict::from_checks(reel.id.clone(), reel.round, ports.judge.name(), checks);
    ports.state.put_verdict(&verdict).await.map_err(|e| state_err("storing a verdict", e))?;
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

/// Publishes a passed reel (once: the transition is the commit point), parks a failed one.
async fn act(ports: &Ports, reel: Reel, verdict: &Verdict) -> Result<Outcome, StageError> {
    if !verdict.passed {
        return park(ports, &reel, STAGE, verdict.reasons()).await;
    }
    let Some(video) = reel.video.clone() else {
        return park(ports, &reel, STAGE, vec!["passed but has no video".into()]).await;
    };
    // The other shapes first: the transition below is the commit point, and a redelivery copies again.
    for (aspect, _, _) in &ports.settings.extra_aspects {
        let shaped = BlobKey::reel_video_aspect(&reel.id, reel.round, aspect);
        if ports.blobs.head(&shaped).await.map_err(|e| blob_err("checking a reel shape", e))?.is_some() {
            let public = BlobKey::published_aspect(&reel.id, aspect);
            ports.blobs.copy(&shaped, &public, "video/mp4").await.map_err(|e| blob_err("publishing a shape", e))?;
        }
    }
    let public = BlobKey::published_reel(&reel.id);
    ports.blobs.copy(&video, &public, "video/mp4").await.map_err(|e| blob_err("publishing a reel", e))?;
    let mut next = reel.clone();
    next.status = ReelStatus::Published;
    next.published = Some(public);
    match ports.state.transition(&next, ReelStatus::Evaluated).await {
        Ok(()) => {
            tracing::info!(reel = %reel.id, "Published.");
            Ok(Outcome::Done(format!("{}: published", reel.id)))
        }
        Err(StateError::Conflict { .. }) => Ok(Outcome::Skipped(format!("reel {} was published already", reel.id))),
        Err(e) => Err(state_err("marking a reel published", e)),
    }
}
