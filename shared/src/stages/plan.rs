//! Plan: shot list, one spoken line per shot, and the fixed voice-over for one product.

use super::support::{blob_err, issue, send, state_err};
use super::{Outcome, StageError};
use crate::media::{self as wav, Pcm};
use crate::messages::{EvaluateMsg, GenerateMsg, PlanMsg};
use crate::ports::{ProviderError, ShotBrief, Speech};
use crate::stages::Ports;
use crate::{
    BlobKey, IdempotencyKey, LedgerEntry, LineTiming, Motion, PhotoKind, Reel, ReelId, ReelStatus, Reference, Shot,
    ShotPlan, ShotRole, Usd, VoiceOver, WordTiming, now_ms,
};
use bytes::Bytes;
use std::time::Duration;

const STAGE: &str = "plan";
/// Silence before a line starts within its shot.
const LEAD_MS: u32 = 250;
/// Silence after a line ends, before the cut.
const TAIL_MS: u32 = 450;
/// No shot is shorter than this, so every camera move reads.
const MIN_SHOT_MS: u32 = 2_500;
/// Lines longer than this (≈5 s of speech) do not fit one shot.
const MAX_WORDS: usize = 14;

pub async fn run(ports: &Ports, msg: PlanMsg) -> Result<Outcome, StageError> {
    let handle = msg.product;
    let Some(product) = ports.state.get_product(&handle).await.map_err(|e| state_err("reading a product", e))? else {
        let why = "planning asked for a product that was never taken in".to_string();
        issue(ports, handle.as_str(), STAGE, true, why.clone()).await?;
        return Ok(Outcome::Failed(why));
    };
    let reel_id = ReelId::new(&handle, &product.gallery_hash);
    if let Some(reel) = ports.state.get_reel(&reel_id).await.map_err(|e| state_err("reading a reel", e))? {
        return pick_up(ports, &reel).await;
    }

    let all = ports.state.references(&handle).await.map_err(|e| state_err("reading references", e))?;
    let references: Vec<Reference> = all.into_iter().filter(|r| product.references.contains(&r.sha256)).collect();
    let picks = choose_shots(&references, ports.settings.width as f64 / ports.settings.height as f64);
    if picks.is_empty() {
        let why = "no reference photos to plan shots on".to_string();
        issue(ports, handle.as_str(), STAGE, true, why.clone()).await?;
        return Ok(Outcome::Failed(why));
    }

    let briefs: Vec<ShotBrief> = picks
        .iter()
        .map(|p| ShotBrief { role: p.role, kind: p.reference.kind, alt: p.reference.alt.clone(), max_words: MAX_WORDS })
        .collect();
    let brand = crate::BrandKit::default();
    let request = crate::ports::WriteRequest {
        product: &product,
        shots: &briefs,
        brand: &brand,
        language: "en",
        colour: None,
        rejections: &[],
    };
    let lines = match ports.writer.write(&request).await {
        Ok(lines) if lines.len() == picks.len() => lines,
        Ok(lines) => {
            let why = format!("the writer gave {} lines for {} shots", lines.len(), picks.len());
            issue(ports, handle.as_str(), STAGE, true, why.clone()).await?;
            return Ok(Outcome::Failed(why));
        }
        Err(e) => return provider_failure(ports, handle.as_str(), "writing the script", e).await,
    };

    let mut speeches = Vec::with_capacity(lines.len());
    let mut voice_cost = Usd::ZERO;
    for line in &lines {
        match ports.voice.speak(&crate::ports::SpeechRequest::english(line)).await {
            Ok(s) => speeches.push(s),
            Err(e) => return provider_failure(ports, handle.as_str(), "voicing the script", e).await,
        }
        voice_cost = voice_cost + ports.voice.price(line);
    }

    let speech_ms: Vec<u32> = speeches.iter().map(|s| s.duration_ms).collect();
    let durations = match fit_durations(&speech_ms, ports.settings.min_reel_ms, ports.settings.max_reel_ms) {
        Ok(d) => d,
        Err(why) => {
            issue(ports, handle.as_str(), STAGE, true, why.clone()).await?;
            return Ok(Outcome::Failed(why));
        }
    };
    let shots: Vec<Shot> = picks
        .iter()
        .zip(&lines)
        .zip(&durations)
        .enumerate()
        .map(|(i, ((p, line), &duration_ms))| Shot {
            index: i as u32,
            role: p.role,
            reference: p.reference.sha256.clone(),
            kind: p.reference.kind,
            motion: p.motion,
            camera: crate::Camera::default(),
            direction: p.motion.direction().to_string(),
            duration_ms,
            line: line.clone(),
        })
        .collect();
    let plan = ShotPlan::new(reel_id.clone(), handle.clone(), shots);

    let (audio, voice_over) = voice_over(&plan, &speeches, ports.voice.name())
        .map_err(|e| StageError::new(format!("{handle}: laying out the voice-over"), e))?;
    ports
        .blobs
        .put(&voice_over.audio, Bytes::from(audio), "audio/wav")
        .await
        .map_err(|e| blob_err("storing the voice-over", e))?;
    let entry = LedgerEntry {
        key: IdempotencyKey::for_reel(&reel_id, "voice-over"),
        reel: reel_id.clone(),
        provider: ports.voice.name(),
        operation: "speak".into(),
        units: lines.iter().map(|l| l.chars().count()).sum::<usize>() as f64,
        unit: "characters".into(),
        usd: voice_cost,
        at_ms: now_ms(),
    };
    ports.state.append_ledger(&entry).await.map_err(|e| state_err("writing the ledger", e))?;

    let reel = Reel::new(plan, voice_over, product.gallery_hash.clone());
    if !ports.state.create_reel(&reel).await.map_err(|e| state_err("creating a reel", e))? {
        return Ok(Outcome::Skipped(format!("{handle}: planned by another worker")));
    }
    send_shots(ports, &reel).await?;
    Ok(Outcome::Done(format!(
        "{handle}: {} shots, {:.1} s",
        reel.plan.shots.len(),
        reel.plan.duration_ms() as f64 / 1000.0
    )))
}

/// A reel planned before: sends whatever moves it on from where it stands (every stage is safe to run
/// twice), so a run picks up a reel that nothing was moving (a crash, a dead letter, a missing blob).
/// A published reel whose file is gone is published again from its video.
async fn pick_up(ports: &Ports, reel: &Reel) -> Result<Outcome, StageError> {
    let id = &reel.id;
    match reel.status {
        ReelStatus::AwaitingApproval => Ok(Outcome::Skipped(format!("{id}: awaiting approval"))),
        ReelStatus::Planned => {
            // A crash after the reel was created but before its shots were sent: send them again.
            send_shots(ports, reel).await?;
            Ok(Outcome::Done(format!("{id}: shots re-sent")))
        }
        ReelStatus::Generating => {
            // Generate skips a shot whose clip is stored, and asks for assembly once all are.
            send_shots(ports, reel).await?;
            Ok(Outcome::Done(format!("{id}: picked up again while generating")))
        }
        ReelStatus::Assembled | ReelStatus::Evaluated => {
            send(ports, EvaluateMsg { reel: id.clone(), round: reel.round }, Duration::ZERO).await?;
            Ok(Outcome::Done(format!("{id}: picked up again for evaluation")))
        }
        ReelStatus::Published => {
            let file = reel.published.as_ref();
            let present = match file {
                Some(key) => ports.blobs.head(key).await.map_err(|e| blob_err("checking a published reel", e))?,
                None => None,
            };
            if present.is_some() {
                return Ok(Outcome::Skipped(format!("{id}: already published")));
            }
            send(ports, EvaluateMsg { reel: id.clone(), round: reel.round }, Duration::ZERO).await?;
            Ok(Outcome::Done(format!("{id}: its published file is missing; publishing it again")))
        }
        ReelStatus::NeedsReview => Ok(Outcome::Skipped(format!("{id}: needs review"))),
    }
}

async fn send_shots(ports: &Ports, reel: &Reel) -> Result<(), StageError> {
    for shot in &reel.plan.shots {
        let attempt = reel.shot_attempts[shot.index as usize];
        send(ports, GenerateMsg { reel: reel.id.clone(), shot: shot.index, attempt, polls: 0 }, Duration::ZERO).await?;
    }
    Ok(())
}

async fn provider_failure(ports: &Ports, product: &str, doing: &str, e: ProviderError) -> Result<Outcome, StageError> {
    if e.is_retryable() {
        return Err(StageError::from_provider(format!("{product}: {doing}"), e));
    }
    let why = format!("{doing}: {e}");
    issue(ports, product, STAGE, true, why.clone()).await?;
    Ok(Outcome::Failed(why))
}

/// One planned shot before it has a line and a duration.
#[derive(Debug, Clone, PartialEq)]
pub struct Pick<'a> {
    pub role: ShotRole,
    pub reference: &'a Reference,
    pub motion: Motion,
}

/// Chooses 3–5 shots by the photo kinds: open wide on a worn photo, a texture moment on a
/// detail crop, a clean reveal on a studio frame, other views, and a closing call to action.
pub fn choose_shots(references: &[Reference], frame_aspect: f64) -> Vec<Pick<'_>> {
    let of = |k: PhotoKind| references.iter().filter(move |r| r.kind == k);
    let Some(hero) = of(PhotoKind::ModelWorn).next().or_else(|| of(PhotoKind::Flat).next()).or(references.first())
    else {
        return Vec::new();
    };
    let mut content: Vec<(ShotRole, &Reference)> = vec![(ShotRole::Opening, hero)];
    if let Some(detail) = of(PhotoKind::Detail).find(|r| r.sha256 != hero.sha256) {
        content.push((ShotRole::Texture, detail));
    }
    if let Some(studio) = of(PhotoKind::Flat).find(|r| r.sha256 != hero.sha256) {
        content.push((ShotRole::Reveal, studio));
    }
    for r in references {
        if content.len() >= 4 {
            break;
        }
        if !content.iter().any(|(_, c)| c.sha256 == r.sha256) {
            content.push((ShotRole::View, r));
        }
    }
    if content.len() < 2 {
        // A one-photo gallery: look at it twice, differently, rather than invent a view.
        content.push((ShotRole::View, hero));
    }
    let closing = of(PhotoKind::Flat).next().unwrap_or(hero);
    content.push((ShotRole::CallToAction, closing));

    let mut picks: Vec<Pick> = Vec::with_capacity(content.len());
    for (role, reference) in content {
        let mut motion = motion_for(role, reference.aspect(), frame_aspect);
        if picks.last().is_some_and(|p| p.motion == motion) {
            motion = alternative(motion);
        }
        picks.push(Pick { role, reference, motion });
    }
    picks
}

/// The camera move that suits a role and a photo's shape in the frame.
fn motion_for(role: ShotRole, aspect: f64, frame_aspect: f64) -> Motion {
    let wide = aspect > frame_aspect * 1.25;
    let tall = aspect < frame_aspect / 1.25;
    match role {
        ShotRole::Opening if tall => Motion::TiltDown,
        ShotRole::Opening if aspect > 1.3 => Motion::PanRight,
        ShotRole::Opening => Motion::PushIn,
        ShotRole::Texture if wide => Motion::PanRight,
        ShotRole::Texture => Motion::PushIn,
        ShotRole::Reveal => Motion::PullOut,
        ShotRole::View if wide => Motion::PanLeft,
        ShotRole::View if tall => Motion::TiltUp,
        ShotRole::View => Motion::PushIn,
        ShotRole::CallToAction => Motion::PullOut,
    }
}

fn alternative(m: Motion) -> Motion {
    match m {
        Motion::PushIn => Motion::PullOut,
        Motion::PullOut => Motion::PushIn,
        Motion::PanLeft => Motion::PanRight,
        Motion::PanRight => Motion::PanLeft,
        Motion::TiltUp => Motion::TiltDown,
        Motion::TiltDown => Motion::TiltUp,
    }
}

/// Shot durations from the spoken lines: each line with its lead and tail, no shot under
/// [`MIN_SHOT_MS`], stretched evenly to reach the reel minimum. Fails if the lines alone are too long.
pub fn fit_durations(speech_ms: &[u32], min_reel_ms: u32, max_reel_ms: u32) -> Result<Vec<u32>, String> {
    let mut d: Vec<u32> = speech_ms.iter().map(|s| (s + LEAD_MS + TAIL_MS).max(MIN_SHOT_MS)).collect();
    let total: u32 = d.iter().sum();
    if total < min_reel_ms {
        let extra = min_reel_ms - total;
        let n = d.len() as u32;
        for (i, x) in d.iter_mut().enumerate() {
            *x += extra / n + u32::from((i as u32) < extra % n);
        }
    }
    let total: u32 = d.iter().sum();
    if total > max_reel_ms {
        return Err(format!(
            "the script needs {:.1} s of reel but reels are at most {:.1} s",
            total as f64 / 1000.0,
            max_reel_ms as f64 / 1000.0
        ));
    }
    Ok(d)
}

/// Lays each line's speech at its shot's start (plus the lead) on one track as long as the reel.
fn voice_over(
    plan: &ShotPlan,
    speeches: &[Speech],
    voice: String,
) -> Result<(Vec<u8>, VoiceOver), crate::media::MediaError> {
    let pcms: Vec<Pcm> = speeches.iter().map(|s| wav::parse_wav(&s.wav)).collect::<Result<_, _>>()?;
    let rate = pcms.iter().map(|p| p.sample_rate).max().unwrap_or(22_050);
    let pcms: Vec<Pcm> = pcms.into_iter().map(|p| if p.sample_rate == rate { p } else { p.resampled(rate) }).collect();
    let starts = plan.starts_ms();
    let mut lines = Vec::new();
    let mut words: Vec<WordTiming> = Vec::new();
    let mut placed = Vec::new();
    for ((shot, speech), (pcm, start)) in plan.shots.iter().zip(speeches).zip(pcms.iter().zip(&starts)) {
        let at = start + LEAD_MS;
        placed.push((at, pcm));
        lines.push(LineTiming {
            shot: shot.index,
            text: shot.line.clone(),
            start_ms: at,
            end_ms: at + speech.duration_ms,
        });
        words.extend(speech.words.iter().map(|w| WordTiming {
            word: w.word.clone(),
            start_ms: at + w.start_ms,
            end_ms: at + w.end_ms,
        }));
    }
    let total = plan.duration_ms();
    let track = wav::lay_out(&placed, total, rate);
    let audio = wav::write_wav(&track);
    Ok((
        audio,
        VoiceOver {
            audio: BlobKey::voice_over(&plan.reel),
            duration_ms: total,
            voice,
            lines,
            words,
            sha256: None,
            loudness: None,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BlobKey, Handle, Sha256};

    fn reference(n: u8, kind: PhotoKind, w: u32, h: u32) -> Reference {
        let sha = Sha256::of(&[n]);
        Reference {
            blob: BlobKey::reference(&sha, "jpg"),
            sha256: sha,
            product: Handle::parse("p").unwrap(),
            kind,
            kind_confidence: 0.9,
            width: w,
            height: h,
            bytes: 1,
            mime: "image/jpeg".into(),
            source_url: format!("photos/{n}.jpg"),
            alt: None,
            position: n as u32,
            print: None,
            variant_ids: Vec::new(),
            framing: None,
            sharpness: None,
            validators: Default::default(),
        }
    }

    const FRAME: f64 = 9.0 / 16.0;

    #[test]
    fn a_full_gallery_opens_worn_has_texture_reveal_and_a_call_to_action() {
        let refs = vec![
            reference(1, PhotoKind::Flat, 1280, 1120),
            reference(2, PhotoKind::ModelWorn, 960, 1280),
            reference(3, PhotoKind::Detail, 820, 616),
            reference(4, PhotoKind::Flat, 1280, 1120),
        ];
        let picks = choose_shots(&refs, FRAME);
        let roles: Vec<ShotRole> = picks.iter().map(|p| p.role).collect();
        assert_eq!(
            roles,
            [ShotRole::Opening, ShotRole::Texture, ShotRole::Reveal, ShotRole::View, ShotRole::CallToAction]
        );
        assert_eq!(picks[0].reference.kind, PhotoKind::ModelWorn);
        assert_eq!(picks[1].reference.kind, PhotoKind::Detail);
        assert_eq!(picks[4].motion, Motion::PullOut, "the reel ends on the whole product");
        assert!(picks.windows(2).all(|w| w[0].motion != w[1].motion), "no two same moves in a row");
    }

    #[test]
    fn small_galleries_still_get_three_shots_and_never_more_than_five() {
        let one = vec![reference(1, PhotoKind::Flat, 1000, 1000)];
        assert_eq!(choose_shots(&one, FRAME).len(), 3);
        let many: Vec<Reference> = (1..=9).map(|n| reference(n, PhotoKind::Flat, 1000, 1000)).collect();
        assert_eq!(choose_shots(&many, FRAME).len(), 5);
        assert!(choose_shots(&[], FRAME).is_empty());
    }

    #[test]
    fn durations_follow_the_speech_and_reach_the_reel_minimum() {
        let d = fit_durations(&[1000, 3000, 1500], 10_000, 30_000).unwrap();
        assert_eq!(d.iter().sum::<u32>(), 10_000);
        assert!(d[1] > d[0], "a longer line gets a longer shot: {d:?}");
        let d = fit_durations(&[5000, 5000, 5000], 10_000, 30_000).unwrap();
        assert_eq!(d, vec![5700; 3]);
        assert!(fit_durations(&[9000; 4], 10_000, 30_000).is_err());
    }
}
