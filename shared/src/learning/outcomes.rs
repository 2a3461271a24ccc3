//! What one judged round says about each clip in it: passed or failed, and what made the clip.

use crate::{Clip, ClipOutcome, Facet, Reel, Verdict};

/// Every clip of `reel` that `verdict` (one round, every judge's checks together) judged: a clip
/// fails when a check naming its shot failed; a failure no shot explains (the audio, the file)
/// says nothing about any clip, so such a round counts only the clips it passed or failed by name.
/// `clips` are the reel's stored clips (the provider and model of each attempt).
pub fn clip_outcomes(reel: &Reel, verdict: &Verdict, clips: &[Clip]) -> Vec<ClipOutcome> {
    let attempts = if verdict.attempts.is_empty() { &reel.shot_attempts } else { &verdict.attempts };
    let unexplained = verdict.checks.iter().any(|c| !c.passed && c.shot.is_none());
    let mut out = Vec::new();
    for shot in &reel.plan.shots {
        let Some(&attempt) = attempts.get(shot.index as usize) else { continue };
        let checks: Vec<_> = verdict.checks.iter().filter(|c| c.shot == Some(shot.index)).collect();
        if checks.is_empty() {
            continue;
        }
        let passed = checks.iter().all(|c| c.passed);
        if passed && unexplained {
            // Passed by name, but the round failed on something else: not yet a pass to count.
            continue;
        }
        let mut facets = Vec::with_capacity(4);
        if let Some(clip) = clips.iter().find(|c| c.shot == shot.index && c.attempt == attempt) {
            facets.push((Facet::Provider, clip.provider.clone()));
            let model = clip.model.as_deref().unwrap_or(&clip.provider);
            facets.push((Facet::Model, format!("{}/{model}", clip.provider)));
        }
        facets.push((Facet::Motion, shot.motion_of_attempt(attempt).as_str().to_string()));
        facets.push((Facet::Photo, shot.kind.as_str().to_string()));
        out.push(ClipOutcome { key: format!("{}/shot-{}/attempt-{attempt}", reel.id, shot.index + 1), passed, facets });
    }
    out
}
