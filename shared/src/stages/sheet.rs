//! A judged round's contact sheet ([`crate::media::contact_sheet`]): each shot's reference photo
//! beside frames of the shot, with the verdicts' scores and reasons, stored next to the round's
//! video as `reels/<id>/reel-<round>.sheet.png` for a person to look at (`truereel status` names it).

use super::StageError;
use super::support::{blob_err, local_copy, state_err};
use crate::media::contact_sheet::{ContactSheet, SheetShot, tile_size};
use crate::media::{THUMBNAIL_FPS, frames_by_shot};
use crate::stages::Ports;
use crate::{BlobKey, Check, Reel, Sha256, Verdict};
use std::path::{Path, PathBuf};

/// The contact sheet of `reel`'s latest judged round, when it is stored: the round and its key. That is
/// the reel's round once judged, or the one before while the next is being made (`truereel status` and
/// the origin's API name it).
pub async fn latest_contact_sheet(
    blobs: &dyn crate::ports::BlobStore,
    reel: &Reel,
) -> Result<Option<(u32, BlobKey)>, crate::ports::BlobError> {
    for round in [Some(reel.round), reel.round.checked_sub(1)].into_iter().flatten() {
        let key = BlobKey::reel_contact_sheet(&reel.id, round);
        if blobs.head(&key).await?.is_some() {
            return Ok(Some((round, key)));
        }
    }
    Ok(None)
}

/// Draws the contact sheet of `reel`'s current round from its thumbnails (or its video, for a reel
/// assembled before thumbnails were kept) and the shots' reference photos, with the round's
/// `verdicts` (those of other rounds or reels are left out; none: the sheet says it is not judged),
/// and stores it as [`BlobKey::reel_contact_sheet`]. Work files go in `dir`. Doing it again draws
/// the same sheet over the same key.
pub async fn store_contact_sheet(
    ports: &Ports,
    reel: &Reel,
    verdicts: &[Verdict],
    dir: &Path,
) -> Result<BlobKey, StageError> {
    let round = reel.round;
    let context = |what: &str| format!("reel {} round {round}: {what}", reel.id);
    let work = dir.join(format!("sheet-{round}"));
    tokio::fs::create_dir_all(&work).await.map_err(|e| StageError::new(context("making a work folder"), e))?;
    let drawn = draw(ports, reel, verdicts, &work).await;
    // The canvas and the texts are not needed once drawn, drawn or not.
    let _ = tokio::fs::remove_dir_all(&work).await;
    let png = drawn?;
    let key = BlobKey::reel_contact_sheet(&reel.id, round);
    ports
        .blobs
        .put(&key, bytes::Bytes::from(png), "image/png")
        .await
        .map_err(|e| blob_err("storing a contact sheet", e))?;
    Ok(key)
}

async fn draw(ports: &Ports, reel: &Reel, verdicts: &[Verdict], work: &Path) -> Result<Vec<u8>, StageError> {
    let round = reel.round;
    // Each judge's verdict as stored (the stage never stores them taken together).
    let verdicts: Vec<&Verdict> = verdicts.iter().filter(|v| v.reel == reel.id && v.round == round).collect();
    let context = |what: &str| format!("reel {} round {round}: {what}", reel.id);

    // The frames: the assembly's thumbnails, or the video sampled at their rate.
    let thumbnails = BlobKey::reel_thumbnails(&reel.id, round);
    let source = if ports.blobs.head(&thumbnails).await.map_err(|e| blob_err("checking thumbnails", e))?.is_some() {
        local_copy(ports, &thumbnails, work, "thumbnails.mkv").await?
    } else {
        let video = reel.video.clone().unwrap_or_else(|| BlobKey::reel_video(&reel.id, round));
        if ports.blobs.head(&video).await.map_err(|e| blob_err("checking a reel video", e))?.is_none() {
            return Err(StageError::new(
                context("drawing its contact sheet"),
                "neither its thumbnails nor its video is stored",
            ));
        }
        local_copy(ports, &video, work, "reel.mp4").await?
    };
    let tile = tile_size(ports.settings.width, ports.settings.height);
    let frames = ports
        .media
        .sampled_frames(&source, THUMBNAIL_FPS, tile)
        .await
        .map_err(|e| StageError::new(context("sampling frames for its contact sheet"), e))?;
    let by_shot = frames_by_shot(&reel.plan, frames);

    // Each shot's photo, fetched once however many shots show it.
    let references = ports.state.references(&reel.product).await.map_err(|e| state_err("reading references", e))?;
    let mut photos: Vec<(Sha256, Option<PathBuf>)> = Vec::new();
    for shot in &reel.plan.shots {
        if photos.iter().any(|(sha, _)| *sha == shot.reference) {
            continue;
        }
        let mut path = None;
        if let Some(r) = references.iter().find(|r| r.sha256 == shot.reference)
            && ports.blobs.head(&r.blob).await.map_err(|e| blob_err("checking a reference", e))?.is_some()
        {
            path = Some(local_copy(ports, &r.blob, work, &format!("ref-{}", r.sha256.short(16))).await?);
        }
        photos.push((shot.reference.clone(), path));
    }

    let checks: Vec<&Check> = verdicts.iter().flat_map(|v| &v.checks).collect();
    let starts = reel.plan.starts_ms();
    let shots = reel
        .plan
        .shots
        .iter()
        .zip(by_shot)
        .zip(starts)
        .map(|((shot, frames), start_ms)| {
            let own: Vec<&Check> = checks.iter().copied().filter(|c| c.shot == Some(shot.index)).collect();
            let photo = photos.iter().find(|(sha, _)| *sha == shot.reference).and_then(|(_, p)| p.clone());
            SheetShot::judged(shot.index, start_ms, shot.duration_ms, photo, frames, &own)
        })
        .collect();
    let judges = verdicts
        .iter()
        .map(|v| {
            let failed = v.checks.iter().filter(|c| !c.passed).count();
            match failed {
                0 => format!("{}: pass, {} checks", v.judge, v.checks.len()),
                n => format!("{}: fail, {n} of {} checks failed", v.judge, v.checks.len()),
            }
        })
        .collect();
    let sheet = ContactSheet {
        title: format!("{} · round {round}", reel.id),
        passed: (!verdicts.is_empty()).then(|| verdicts.iter().all(|v| v.passed)),
        judges,
        reasons: checks
            .iter()
            .filter(|c| !c.passed && c.shot.is_none())
            .map(|c| format!("{}: {}", c.name, c.detail))
            .collect(),
        tile,
        shots,
    };
    ports.media.contact_sheet(sheet, work).await.map_err(|e| StageError::new(context("drawing its contact sheet"), e))
}
