//! A reel's frames split by shot, for every judge that looks at shots ([`super::spec`],
//! [`super::product_match`]): the assembly's thumbnails (or the reel sampled at their rate and
//! size when it has none), each shot's frames without the ones next to a cut.

use super::shots::ShotFrames;
use crate::config::Settings;
use crate::media::{Media, MediaError, THUMBNAIL_FPS, frames_by_shot, thumbnail_size};
use crate::ports::ReelCut;

/// Every shot of `cut`'s plan with its frames (ms from the shot's start), in plan order; frames
/// within [`CUT_EDGE_MS`](crate::media::CUT_EDGE_MS) of a cut are left out. The file is read once
/// per cut, whichever judge asks first ([`ReelCut::frames`]).
pub async fn shot_frames(media: &Media, settings: &Settings, cut: &ReelCut<'_>) -> Result<Vec<ShotFrames>, MediaError> {
    let size = thumbnail_size(settings.width, settings.height);
    let source = cut.thumbnails.as_ref().unwrap_or(&cut.video);
    let frames = cut.frames.get_or_try_init(|| media.sampled_frames(source, THUMBNAIL_FPS, size)).await?;
    let plan = &cut.reel.plan;
    // The split a contact sheet shows too (`media::frames_by_shot`).
    let by_shot = frames_by_shot(plan, frames.iter().cloned()).into_iter().zip(&plan.shots);
    Ok(by_shot.map(|(frames, s)| ShotFrames { index: s.index, frames }).collect())
}
