//! Mirror: copy each finished clip into our storage the moment it exists, then assemble the reel.
//!
//! Clips come first: assemblies take turns ([`Ports::assembly_turns`]), so a clip that is ready
//! is never left waiting behind them for a handler.

use super::support::{blob_err, issue, local_copy, park, scratch, send, state_err};
use super::{Outcome, StageError};
use crate::media::{AssemblySpec, ClipCut, ClipSource, RECIPE_TYPE, Recipe};
use crate::messages::{EvaluateMsg, GenerateMsg, MirrorMsg};
use crate::ports::{ClipOutput, Downloaded, JobStatus, ProviderError, StateError, VideoModel};
use crate::stages::Ports;
use crate::{
    BlobKey, Clip, DigitalSourceType, JobId, Manifest, ManifestShot, Provenance, Reel, ReelId, ReelStatus,
    STILL_MOTION, Sha256, focus_in_clip, now_ms,
};
use bytes::Bytes;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const STAGE: &str = "mirror";

pub async fn run(ports: &Ports, msg: MirrorMsg) -> Result<Outcome, StageError> {
    match msg {
        MirrorMsg::Clip { reel, shot, attempt, job, output, provider } => {
            let model = match provider.as_deref() {
                None => ports.video.first().clone(),
                Some(name) => match ports.video.get(name) {
                    Some(m) => m.clone(),
                    None => {
                        let why = format!("clip of shot {} came from {name}, which is no longer configured", shot + 1);
                        return Ok(Outcome::Skipped(why));
                    }
                },
            };
            mirror_clip(ports, &reel, shot, attempt, &job, &output, &model).await
        }
        MirrorMsg::Assemble { reel } => assemble(ports, &reel).await,
        MirrorMsg::VoiceOver { reel } => encode_voice_over(ports, &reel).await,
    }
}

/// The approved voice-over encoded once, ahead of the assembly that muxes it (which encodes it itself
/// if it comes first: the encoder gives the same bytes from the same samples).
async fn encode_voice_over(ports: &Ports, id: &ReelId) -> Result<Outcome, StageError> {
    let Some(reel) = load(ports, id).await? else {
        return Ok(Outcome::Skipped(format!("reel {id} does not exist")));
    };
    if reel.status != ReelStatus::Generating {
        return Ok(Outcome::Skipped(format!("reel {id} is {}", reel.status)));
    }
    let dir = scratch(ports)?;
    voice_over_aac(ports, &reel, dir.path()).await?;
    Ok(Outcome::Done(format!("{id}: voice-over encoded")))
}

/// How long an assembly that found no turn waits before it asks again.
const ASSEMBLY_WAIT: Duration = Duration::from_secs(1);

async fn load(ports: &Ports, id: &ReelId) -> Result<Option<Reel>, StageError> {
    ports.state.get_reel(id).await.map_err(|e| state_err("reading a reel", e))
}

async fn mirror_clip(
    ports: &Ports,
    id: &ReelId,
    shot: u32,
    attempt: u32,
    job: &JobId,
    output: &ClipOutput,
    model: &Arc<dyn VideoModel>,
) -> Result<Outcome, StageError> {
    let no = shot + 1; // people count shots from 1
    let Some(reel) = load(ports, id).await? else {
        return Ok(Outcome::Skipped(format!("reel {id} does not exist")));
    };
    let Some(planned) = reel.plan.shots.get(shot as usize).cloned() else {
        return Ok(Outcome::Skipped(format!("reel {id} has no shot {no}")));
    };
    let clips = ports.state.clips(id).await.map_err(|e| state_err("reading clips", e))?;
    if let Some(c) = clips.iter().find(|c| c.shot == shot && c.attempt == attempt)
        && ports.blobs.head(&c.blob).await.map_err(|e| blob_err("checking a clip", e))?.is_some()
    {
        // Already mirrored (a redelivery): only make sure assembly was asked for.
        return request_assembly_if_complete(ports, &reel)
            .await
            .map(|_| Outcome::Skipped(format!("{id} shot {no} already stored")));
    }
    // Recorded but gone from the blob store: stored again below (the record stays). A reel that
    // stopped meanwhile still gets the clip it paid for (assembly is only asked for while generating).

    let dir = scratch(ports)?;
    // A still-motion recipe is checked and stored where the clip would be; assembly renders it.
    let recipe = model.renders_in_assembly();
    let key = if recipe { BlobKey::clip_recipe(id, shot, attempt) } else { BlobKey::clip(id, shot, attempt) };
    // Stored before a crash but not yet recorded: kept as it is, neither downloaded nor written again.
    let kept = ports.blobs.head(&key).await.map_err(|e| blob_err("checking a clip", e))?;
    let (file, bytes, sha256) = match &kept {
        Some(meta) => {
            let file = local_copy(ports, &key, dir.path(), "clip").await?;
            let sha = Sha256::of_file(&file).await.map_err(|e| StageError::new("hashing a kept clip", e))?;
            (file, meta.bytes, sha)
        }
        None => {
            let file = dir.path().join("clip");
            match download(ports, model, job, output, &file).await {
                Ok(got) => (file, got.bytes, got.sha256),
                Err(e) if e.is_retryable() => {
                    return Err(StageError::from_provider(format!("{id} shot {no}: downloading"), e));
                }
                Err(e) => {
                    return park(ports, &reel, STAGE, vec![format!("shot {no}: downloading job {job}: {e}")]).await;
                }
            }
        }
    };
    let (duration_ms, width, height) = if recipe {
        let read = tokio::fs::read(&file).await.map_err(|e| StageError::new("reading a recipe", e))?;
        let recipe = match Recipe::parse(&read) {
            Ok(r) => r,
            Err(why) => return park(ports, &reel, STAGE, vec![format!("shot {no}: {why}")]).await,
        };
        if ports.blobs.head(&recipe.photo).await.map_err(|e| blob_err("checking a photo", e))?.is_none() {
            let why = format!("shot {no}: the photo {} to render it from is gone", recipe.photo);
            return park(ports, &reel, STAGE, vec![why]).await;
        }
        (recipe.spec.duration_ms, recipe.spec.width, recipe.spec.height)
    } else {
        let probe = match ports.media.probe(&file).await {
            Ok(p) => p,
            Err(e) => {
                let why = format!("shot {no}: the provider's clip is not a video: {e}");
                return park(ports, &reel, STAGE, vec![why]).await;
            }
        };
        let Some(video) = probe.video.as_ref() else {
            let why = format!("shot {no}: the provider's clip has no video stream");
            return park(ports, &reel, STAGE, vec![why]).await;
        };
        (probe.duration_ms, video.width, video.height)
    };
    if duration_ms < planned.duration_ms / 2 {
        let why = format!(
            "shot {no}: the clip is {:.1} s but the shot needs {:.1} s",
            duration_ms as f64 / 1000.0,
            planned.duration_ms as f64 / 1000.0
        );
        return park(ports, &reel, STAGE, vec![why]).await;
    }
    if kept.is_none() {
        let kind = if recipe { RECIPE_TYPE } else { "video/mp4" };
        ports.blobs.put_file(&key, &file, kind).await.map_err(|e| blob_err("storing a clip", e))?;
    }
    let clip = Clip {
        reel: id.clone(),
        shot,
        attempt,
        provider: model.name().to_string(),
        model: (model.model() != model.name()).then(|| model.model().to_string()),
        sha256: Some(sha256),
        job: job.clone(),
        blob: key,
        duration_ms,
        width,
        height,
        bytes,
        stored_ms: now_ms(),
        recipe,
    };
    ports.state.put_clip(&clip).await.map_err(|e| state_err("recording a clip", e))?;
    tracing::info!(reel = %id, shot, attempt, "Clip mirrored.");
    request_assembly_if_complete(ports, &reel).await?;
    Ok(Outcome::Done(format!("{id} shot {no}: clip stored")))
}

/// Streams the clip into `file`; a link that expired is refreshed by reading the job again (the
/// job is never submitted again for it), and that fresh link is tried once.
async fn download(
    ports: &Ports,
    model: &Arc<dyn VideoModel>,
    job: &JobId,
    output: &ClipOutput,
    file: &std::path::Path,
) -> Result<Downloaded, ProviderError> {
    let cap = ports.settings.max_clip_bytes;
    match model.download(output, file, cap).await {
        Ok(got) => Ok(got),
        Err(ProviderError::Expired { message, .. }) => {
            tracing::warn!(%job, "The clip's link expired ({message}); reading the job again for a fresh one.");
            match model.poll(job).await? {
                JobStatus::Ready(fresh) => model.download(&fresh, file, cap).await,
                other => Err(ProviderError::Invalid {
                    provider: model.name().to_string(),
                    message: format!("job {job} no longer has its clip ({other:?})"),
                }),
            }
        }
        Err(e) => Err(e),
    }
}

/// The current attempt's clip of every shot, if all are stored.
async fn current_clips(ports: &Ports, reel: &Reel) -> Result<Option<Vec<Clip>>, StageError> {
    let clips = ports.state.clips(&reel.id).await.map_err(|e| state_err("reading clips", e))?;
    let mut out = Vec::with_capacity(reel.plan.shots.len());
    for (i, attempt) in reel.shot_attempts.iter().enumerate() {
        match clips.iter().find(|c| c.shot == i as u32 && c.attempt == *attempt) {
            Some(c) => out.push(c.clone()),
            None => return Ok(None),
        }
    }
    Ok(Some(out))
}

async fn request_assembly_if_complete(ports: &Ports, reel: &Reel) -> Result<(), StageError> {
    if reel.status == ReelStatus::Generating && current_clips(ports, reel).await?.is_some() {
        send(ports, MirrorMsg::Assemble { reel: reel.id.clone() }, Duration::ZERO).await?;
    }
    Ok(())
}

/// Shots in order, the fixed voice-over, burned-in captions → the reel video; then evaluation.
async fn assemble(ports: &Ports, id: &ReelId) -> Result<Outcome, StageError> {
    let Some(reel) = load(ports, id).await? else {
        return Ok(Outcome::Skipped(format!("reel {id} does not exist")));
    };
    if reel.status != ReelStatus::Generating {
        return Ok(Outcome::Skipped(format!("reel {id} is {}", reel.status)));
    }
    let Some(clips) = current_clips(ports, &reel).await? else {
        return Ok(Outcome::Skipped(format!("reel {id} is still waiting for clips")));
    };
    // A busy machine puts the assembly off (the message comes back), freeing this handler for clips.
    let Ok(_turn) = ports.assembly_turns.clone().try_acquire_owned() else {
        send(ports, MirrorMsg::Assemble { reel: id.clone() }, ASSEMBLY_WAIT).await?;
        return Ok(Outcome::Waiting(format!("reel {id}: waiting for a turn to assemble")));
    };
    let mut lost = Vec::new();
    for c in &clips {
        if ports.blobs.head(&c.blob).await.map_err(|e| blob_err("checking a clip", e))?.is_none() {
            lost.push(c.shot);
            send(ports, GenerateMsg::new(id.clone(), c.shot, c.attempt), Duration::ZERO).await?;
        }
    }
    if !lost.is_empty() {
        let what = format!("{id}: the clips of shots {lost:?} are gone from the blob store; getting them again");
        issue(ports, reel.product.as_str(), STAGE, false, what.clone()).await?;
        return Ok(Outcome::Waiting(what));
    }
    // A recipe is rendered from its photo: one gone from the blob store waits for the next run's crawl.
    if clips.iter().any(|c| c.recipe) {
        let missing = super::support::missing_references(ports, &reel).await?;
        if !missing.is_empty() {
            let why = format!(
                "reel {id}: reference photos missing from the blob store ({}); the next run fetches them again \
                 and assembles it then",
                missing.join(", ")
            );
            issue(ports, reel.product.as_str(), STAGE, true, why.clone()).await?;
            return Ok(Outcome::Failed(why));
        }
    }
    let dir = scratch(ports)?;
    let references = ports.state.references(&reel.product).await.map_err(|e| state_err("reading references", e))?;
    let mut cuts = Vec::with_capacity(clips.len());
    // Photos the recipes render from, each fetched once however many shots use it.
    let mut photos: Vec<(BlobKey, PathBuf)> = Vec::new();
    for (clip, shot) in clips.iter().zip(&reel.plan.shots) {
        let name = format!("shot-{:02}", shot.index);
        let source = if clip.recipe {
            let read = ports.blobs.get(&clip.blob).await.map_err(|e| blob_err("reading a recipe", e))?;
            let recipe = Recipe::parse(&read)
                .map_err(|why| StageError::new(format!("{id}: the recipe of shot {}", shot.index + 1), why))?;
            let photo = match photos.iter().find(|(key, _)| *key == recipe.photo) {
                Some((_, path)) => path.clone(),
                None => {
                    let path = local_copy(ports, &recipe.photo, dir.path(), &format!("{name}.photo")).await?;
                    photos.push((recipe.photo.clone(), path.clone()));
                    path
                }
            };
            ClipSource::StillMotion { photo, spec: recipe.spec }
        } else {
            ClipSource::File(local_copy(ports, &clip.blob, dir.path(), &format!("{name}.mp4")).await?)
        };
        // The product kept in view when the clip is cropped to another shape.
        let focus = references.iter().find(|r| r.sha256 == shot.reference).and_then(|r| {
            let camera = (clip.provider == STILL_MOTION).then_some(&shot.camera);
            let subject = r.framing.map(|f| f.subject)?;
            focus_in_clip(subject, (r.width, r.height), (clip.width, clip.height), camera)
        });
        cuts.push(ClipCut { source, duration_ms: shot.duration_ms, focus });
    }
    let voice = voice_over_aac(ports, &reel, dir.path()).await?;
    // The brand's caption style, in a font that has the line's glyphs.
    let captions = ports
        .media
        .caption_script(
            &reel.voice_over.words,
            ports.settings.width,
            ports.settings.height,
            &reel.options.brand.caption,
        )
        .await;
    let captions_key = BlobKey::captions(id);
    ports
        .blobs
        .put(&captions_key, Bytes::from(captions.clone()), "text/x-ssa")
        .await
        .map_err(|e| blob_err("storing captions", e))?;
    let captions_file = dir.path().join("captions.ass");
    tokio::fs::write(&captions_file, captions).await.map_err(|e| StageError::new("writing captions", e))?;

    let round = reel.round + 1;
    let out = dir.path().join("reel.mp4");
    // The poster (the middle of the first shot) and the judge's thumbnails, written by the same run.
    let poster = dir.path().join("poster.jpg");
    let thumbnails = dir.path().join("thumbnails.mkv");
    let poster_at = reel.plan.shots.first().map_or(0, |s| s.duration_ms / 2);
    // Provenance: the sidecar manifest, then its hash and the source type, written into the reel by
    // its encode (the last one).
    let manifest = manifest(&references, &reel, round, &clips, &cuts).await?;
    let json = manifest.to_json();
    let manifest_key = BlobKey::reel_manifest(id, round);
    let manifest_sha = Sha256::of(&json);
    ports
        .blobs
        .put(&manifest_key, Bytes::from(json), "application/json")
        .await
        .map_err(|e| blob_err("storing the manifest", e))?;
    let tags = Provenance {
        source_type: DigitalSourceType::for_providers(clips.iter().map(|c| c.provider.as_str())),
        generator: format!("truereel {}: a product reel made from the store's own photos", env!("CARGO_PKG_VERSION")),
        manifest_sha256: manifest_sha,
    };
    let spec = AssemblySpec {
        clips: cuts,
        voice_over_aac: voice,
        captions: captions_file,
        fonts_dir: None,
        width: ports.settings.width,
        height: ports.settings.height,
        fps: ports.settings.fps,
        poster: Some((poster.clone(), poster_at)),
        thumbnails: Some(thumbnails.clone()),
        tags: Some(tags),
    };
    ports.media.assemble(&spec, &out).await.map_err(|e| StageError::new(format!("{id}: assembling"), e))?;
    let poster_key = BlobKey::reel_poster(id, round);
    ports.blobs.put_file(&poster_key, &poster, "image/jpeg").await.map_err(|e| blob_err("storing the poster", e))?;
    let thumbnails_key = BlobKey::reel_thumbnails(id, round);
    ports
        .blobs
        .put_file(&thumbnails_key, &thumbnails, "video/x-matroska")
        .await
        .map_err(|e| blob_err("storing the thumbnails", e))?;
    let key = BlobKey::reel_video(id, round);
    ports.blobs.put_file(&key, &out, "video/mp4").await.map_err(|e| blob_err("storing the reel", e))?;

    // The other shapes asked for: the same cuts and voice-over, captions laid out for the shape.
    for (aspect, width, height) in &ports.settings.extra_aspects {
        let captions =
            ports.media.caption_script(&reel.voice_over.words, *width, *height, &reel.options.brand.caption).await;
        let file = dir.path().join(format!("captions.{aspect}.ass"));
        tokio::fs::write(&file, captions).await.map_err(|e| StageError::new("writing captions", e))?;
        let shaped = AssemblySpec {
            captions: file,
            width: *width,
            height: *height,
            poster: None,
            thumbnails: None,
            ..spec.clone()
        };
        let out = dir.path().join(format!("reel.{aspect}.mp4"));
        ports
            .media
            .assemble(&shaped, &out)
            .await
            .map_err(|e| StageError::new(format!("{id}: assembling {aspect}"), e))?;
        let key = BlobKey::reel_video_aspect(id, round, aspect);
        ports.blobs.put_file(&key, &out, "video/mp4").await.map_err(|e| blob_err("storing a reel shape", e))?;
    }

    let mut next = reel.clone();
    next.status = ReelStatus::Assembled;
    next.round = round;
    next.video = Some(key);
    match ports.state.transition(&next, ReelStatus::Generating).await {
        Ok(()) => {}
        Err(StateError::Conflict { .. }) => {
            return Ok(Outcome::Skipped(format!("reel {id} was assembled by another worker")));
        }
        Err(e) => return Err(state_err("marking a reel assembled", e)),
    }
    send(ports, EvaluateMsg { reel: id.clone(), round }, Duration::ZERO).await?;
    Ok(Outcome::Done(format!("{id}: assembled (round {round})")))
}

/// The reel's voice-over as AAC, encoded once per voice-over and kept in the blob store next to it, so
/// every assembly of the reel muxes the very same audio packets.
async fn voice_over_aac(ports: &Ports, reel: &Reel, dir: &Path) -> Result<PathBuf, StageError> {
    let key = BlobKey::voice_over_aac(&reel.voice_over.audio);
    if ports.blobs.head(&key).await.map_err(|e| blob_err("checking the encoded voice-over", e))?.is_some() {
        return local_copy(ports, &key, dir, "voice-over.m4a").await;
    }
    let wav = local_copy(ports, &reel.voice_over.audio, dir, "voice-over.wav").await?;
    let m4a = dir.join("voice-over.m4a");
    let reel_ms: u32 = reel.plan.shots.iter().map(|s| s.duration_ms).sum();
    ports
        .media
        .encode_voice_over(&wav, &m4a, Some(reel_ms))
        .await
        .map_err(|e| StageError::new(format!("{}: encoding the voice-over", reel.id), e))?;
    ports.blobs.put_file(&key, &m4a, "audio/mp4").await.map_err(|e| blob_err("storing the encoded voice-over", e))?;
    Ok(m4a)
}

/// Where each shot of this assembly came from: provider, job, reference photo and the clip's hash.
async fn manifest(
    references: &[crate::Reference],
    reel: &Reel,
    round: u32,
    clips: &[Clip],
    cuts: &[ClipCut],
) -> Result<Manifest, StageError> {
    let mut shots = Vec::with_capacity(clips.len());
    for ((clip, cut), shot) in clips.iter().zip(cuts).zip(&reel.plan.shots) {
        // Hashed as it arrived; clips recorded before that was kept are hashed here.
        let clip_sha256 = match (&clip.sha256, &cut.source) {
            (Some(sha), _) => sha.clone(),
            (None, ClipSource::File(path)) => {
                Sha256::of_file(path).await.map_err(|e| StageError::new("hashing a clip for the manifest", e))?
            }
            (None, ClipSource::StillMotion { .. }) => {
                return Err(StageError::new(format!("{}: a recipe stored without its hash", reel.id), "no hash"));
            }
        };
        let model = clip.model.clone();
        shots.push(ManifestShot {
            index: shot.index,
            provider: clip.provider.clone(),
            model,
            job: clip.job.clone(),
            reference_sha256: shot.reference.clone(),
            reference_url: references.iter().find(|r| r.sha256 == shot.reference).map(|r| r.source_url.clone()),
            clip: clip.blob.clone(),
            clip_sha256,
        });
    }
    Ok(Manifest {
        reel: reel.id.clone(),
        product: reel.product.clone(),
        round,
        created_ms: now_ms(),
        digital_source_type: DigitalSourceType::for_providers(clips.iter().map(|c| c.provider.as_str())).iptc_url(),
        voice: reel.voice_over.voice.clone(),
        shots,
    })
}
