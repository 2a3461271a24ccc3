//! Plan: for one product, the reels its colours call for, each a scored shot list grounded in the
//! product's own photos, an honest script and a fixed, loudness-normalised voice-over.
//!
//! A reel is about one colour ([`colours`]): by default the hero photo's (gallery position 1), or
//! with `--per-variant` one reel per colour that has photos (`<handle>.<colour>--<hash>`). Shots
//! are picked by [`shots`], rated as a candidate for generated video by [`suitability`], and
//! scripted and voiced by [`script`]. With `--approve-plan` a reel stops at `awaiting_approval`
//! until [`approve`] (or [`reject`], which plans it again); nothing is paid for before.

pub mod colours;
pub mod script;
pub mod shots;
pub mod suitability;
pub mod whole;

use super::support::{blob_err, issue, send, state_err};
use super::{Outcome, StageError};
use crate::learning::{DEFAULT_EDGE, choose_with};
use crate::media::camera;
use crate::messages::{EvaluateMsg, GenerateMsg, MirrorMsg, PlanMsg};
use crate::stages::Ports;
use crate::{
    BelowSuitability, BlobKey, Framing, IdempotencyKey, LedgerEntry, Motion, PlanOptions, Product, Reel, ReelId,
    ReelStatus, Reference, Sha256, Shot, ShotPlan, ShotRole, Usd, VoiceOver, now_ms,
};
use bytes::Bytes;
use colours::ColourGroup;
use script::{Brief, ScriptFailure};
use std::time::Duration;

const STAGE: &str = "plan";

/// One reel planned and voiced, not yet stored.
#[derive(Debug, Clone)]
pub struct Planned {
    pub plan: ShotPlan,
    pub voice_over: VoiceOver,
    /// The voice-over WAV, loudness-normalised.
    pub audio: Vec<u8>,
    /// Each shot's reference photo as the store gives it (URL or path).
    pub sources: Vec<String>,
    pub voice_cost: Usd,
    pub characters: usize,
}

/// Why a reel could not be planned.
#[derive(Debug)]
pub enum PlanFailure {
    /// Retry later (a provider said so, or a store failed).
    Retry(StageError),
    /// This product cannot be planned: the words say why.
    Product(String),
}

pub async fn run(ports: &Ports, msg: PlanMsg) -> Result<Outcome, StageError> {
    let handle = msg.product.clone();
    let Some(product) = ports.state.get_product(&handle).await.map_err(|e| state_err("reading a product", e))? else {
        let why = "planning asked for a product that was never taken in".to_string();
        issue(ports, handle.as_str(), STAGE, true, why.clone()).await?;
        return Ok(Outcome::Failed(why));
    };
    let references = references_of(ports, &product).await?;
    if let Some(id) = &msg.replan {
        return replan(ports, &product, &references, id).await;
    }
    let (slots, notes) = slots(&product, &references, &msg.plan);
    if slots.is_empty() {
        let why = if references.is_empty() {
            "no reference photos to plan shots on".to_string()
        } else {
            format!("no photos left to plan on: {}", notes.join("; "))
        };
        issue(ports, handle.as_str(), STAGE, true, why.clone()).await?;
        return Ok(Outcome::Failed(why));
    }
    let mut done = Vec::new();
    let mut failed = Vec::new();
    for slot in &slots {
        if let Some(reel) = ports.state.get_reel(&slot.id).await.map_err(|e| state_err("reading a reel", e))? {
            done.push(outcome_text(pick_up(ports, &reel).await?));
            continue;
        }
        match plan_reel(ports, &product, slot, &notes, &msg.plan, 1, &[], &[]).await {
            Ok(planned) => done.push(store(ports, planned, &msg.plan, &product).await?),
            Err(PlanFailure::Retry(e)) => return Err(e),
            Err(PlanFailure::Product(why)) => {
                let why = match &slot.group.name {
                    Some(colour) => format!("{colour}: {why}"),
                    None => why,
                };
                issue(ports, handle.as_str(), STAGE, true, why.clone()).await?;
                failed.push(why);
            }
        }
    }
    if done.is_empty() { Ok(Outcome::Failed(failed.join("; "))) } else { Ok(Outcome::Done(done.join("; "))) }
}

/// The reels `truereel plan` shows: every reel a run would make of `product`, planned and voiced
/// (the voice-over stored under `previews/` to listen to) but not stored as reels.
pub async fn preview(
    ports: &Ports,
    product: &Product,
    options: &PlanOptions,
) -> Result<Vec<Result<Planned, String>>, StageError> {
    let references = references_of(ports, product).await?;
    let (slots, notes) = slots(product, &references, options);
    if slots.is_empty() {
        let why =
            if references.is_empty() { "no reference photos to plan shots on".to_string() } else { notes.join("; ") };
        return Ok(vec![Err(why)]);
    }
    let mut out = Vec::new();
    for slot in &slots {
        match plan_reel(ports, product, slot, &notes, options, 1, &[], &[]).await {
            Ok(planned) => {
                let key = BlobKey::preview_voice_over(&planned.plan.reel);
                ports
                    .blobs
                    .put(&key, Bytes::from(planned.audio.clone()), "audio/wav")
                    .await
                    .map_err(|e| blob_err("storing a preview voice-over", e))?;
                out.push(Ok(Planned { voice_over: VoiceOver { audio: key, ..planned.voice_over.clone() }, ..planned }));
            }
            Err(PlanFailure::Retry(e)) => return Err(e),
            Err(PlanFailure::Product(why)) => out.push(Err(why)),
        }
    }
    Ok(out)
}

/// A person approved the plan: the reel moves on to video. Approving twice is harmless.
pub async fn approve(ports: &Ports, id: &ReelId) -> Result<String, StageError> {
    let Some(reel) = ports.state.get_reel(id).await.map_err(|e| state_err("reading a reel", e))? else {
        return Err(StageError::new(format!("approving {id}"), "no such reel"));
    };
    if reel.status != ReelStatus::AwaitingApproval {
        return Ok(format!("{id}: not awaiting approval ({})", reel.status));
    }
    let mut approved = reel.clone();
    approved.status = ReelStatus::Planned;
    ports
        .state
        .transition(&approved, ReelStatus::AwaitingApproval)
        .await
        .map_err(|e| state_err("approving a reel", e))?;
    send_shots(ports, &approved).await?;
    Ok(format!("{id}: approved; {} shots sent to video", approved.plan.shots.len()))
}

/// A person rejected the plan: the reason is kept on the reel and it is planned again (it waits
/// for approval again).
pub async fn reject(ports: &Ports, id: &ReelId, reason: &str) -> Result<String, StageError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(StageError::new(format!("rejecting {id}"), "a rejection needs a reason (--reason)"));
    }
    let Some(reel) = ports.state.get_reel(id).await.map_err(|e| state_err("reading a reel", e))? else {
        return Err(StageError::new(format!("rejecting {id}"), "no such reel"));
    };
    if reel.status != ReelStatus::AwaitingApproval {
        return Err(StageError::new(
            format!("rejecting {id}"),
            format!("it is {}, not awaiting approval: only a plan not yet approved can be rejected", reel.status),
        ));
    }
    let mut rejected = reel.clone();
    rejected.rejections.push(crate::printable(reason).chars().take(500).collect());
    ports
        .state
        .transition(&rejected, ReelStatus::AwaitingApproval)
        .await
        .map_err(|e| state_err("rejecting a reel", e))?;
    let msg = PlanMsg { product: reel.product.clone(), plan: reel.options.clone(), replan: Some(id.clone()) };
    send(ports, msg, Duration::ZERO).await?;
    Ok(format!("{id}: rejected ({} so far); planning it again", rejected.rejections.len()))
}

/// One reel a product calls for: its id and its colour's photos.
#[derive(Debug, Clone)]
pub struct Slot<'a> {
    pub id: ReelId,
    pub group: ColourGroup<'a>,
}

/// The reels `options` call for: one about the hero photo's colour, or one per colour.
pub fn slots<'a>(
    product: &Product,
    references: &'a [Reference],
    options: &PlanOptions,
) -> (Vec<Slot<'a>>, Vec<String>) {
    let (groups, mut notes) = colours::group(product, references);
    let many = groups.len() > 1;
    let slots: Vec<Slot> = if options.per_variant && many {
        groups
            .into_iter()
            .map(|g| Slot {
                id: ReelId::for_variant(&product.handle, g.slug.as_ref(), &product.gallery_hash),
                group: g,
            })
            .collect()
    } else {
        let hero = references.iter().min_by_key(|r| r.position).map(|r| &r.sha256);
        let at = groups.iter().position(|g| g.references.iter().any(|r| Some(&r.sha256) == hero)).unwrap_or(0);
        if many {
            let others: Vec<&str> =
                groups.iter().enumerate().filter(|(i, _)| *i != at).filter_map(|(_, g)| g.name.as_deref()).collect();
            notes.push(format!(
                "about the hero photo's colour, {}; not shown: {} (plan them with --per-variant)",
                groups[at].name.as_deref().unwrap_or("?"),
                others.join(", ")
            ));
        }
        groups
            .into_iter()
            .nth(at)
            .map(|g| Slot { id: ReelId::new(&product.handle, &product.gallery_hash), group: g })
            .into_iter()
            .collect()
    };
    (slots, notes)
}

/// Photos one shot carries at most, its own included (Seedance takes 9 references; each provider
/// takes what it can of them, see `VideoModel::photos_per_shot`).
pub const MAX_SHOT_PHOTOS: usize = 9;

/// The other photos of `main`'s product and colour a shot carries for models that take several:
/// views `main` is not (a back, a detail, worn) first, then the rest in gallery order.
fn more_photos(photos: &[&Reference], main: &Reference) -> Vec<Sha256> {
    let mut others: Vec<&Reference> = photos.iter().copied().filter(|p| p.sha256 != main.sha256).collect();
    others.sort_by_key(|p| (p.kind == main.kind, p.position));
    let mut extra: Vec<Sha256> = Vec::new();
    for p in others {
        if !extra.contains(&p.sha256) && extra.len() + 1 < MAX_SHOT_PHOTOS {
            extra.push(p.sha256.clone());
        }
    }
    extra
}

/// Plans one reel: shots, cameras, script, voice-over. Nothing is stored.
#[allow(clippy::too_many_arguments)]
async fn plan_reel(
    ports: &Ports,
    product: &Product,
    slot: &Slot<'_>,
    product_notes: &[String],
    options: &PlanOptions,
    revision: u32,
    rejections: &[String],
    rejected: &[(ShotRole, Sha256)],
) -> Result<Planned, PlanFailure> {
    let photos = &slot.group.references;
    let mut notes: Vec<String> = product_notes.to_vec();
    let mut bounds = bounds(ports, options);
    if options.whole_reel() {
        let most = PlanOptions::WHOLE_REEL_MAX_MS;
        bounds = (bounds.0.min(most), bounds.1.min(most));
    }
    let asked = options.length_ms.unwrap_or(PlanOptions::DEFAULT_LENGTH_MS);
    let length_ms = asked.clamp(bounds.0, bounds.1);
    if length_ms != asked {
        notes.push(format!(
            "{:.0} s asked, {:.0} s planned: reels here are {:.0}–{:.0} s",
            f64::from(asked) / 1000.0,
            f64::from(length_ms) / 1000.0,
            f64::from(bounds.0) / 1000.0,
            f64::from(bounds.1) / 1000.0
        ));
    }
    let language = match &options.brand.language {
        Some(l) => l.clone(),
        None => crate::copy::language_of(&format!("{}\n{}", product.title, product.description)).to_string(),
    };
    if !ports.voice.speaks(&language) {
        return Err(PlanFailure::Product(format!(
            "the copy is in {language:?} and no configured voice ({}) speaks it",
            ports.voice.name()
        )));
    }

    let (roles, role_notes) = shots::roles(photos, length_ms);
    notes.extend(role_notes);
    // What passed and failed for this brand steers the photos, the camera moves and the provider order.
    let brand = crate::learning::brand_of(&product.store);
    let rates =
        ports.state.pass_rates(&brand).await.map_err(|e| PlanFailure::Retry(state_err("reading pass rates", e)))?;
    let rates = crate::learning::PassRates::new(&rates);
    let picks = shots::pick(&roles, photos, rejected, &rates);
    // What the photos would have been without the brand's verdicts, to say what they changed.
    let unlearned = match rates.knows(crate::learning::Facet::Photo) {
        true => shots::pick(&roles, photos, rejected, &crate::learning::PassRates::default()),
        false => Vec::new(),
    };
    for (i, (p, u)) in picks.iter().zip(&unlearned).enumerate() {
        if p.reference.kind != u.reference.kind {
            let said = |k: crate::PhotoKind| {
                let (passed, failed) = rates.get(crate::learning::Facet::Photo, k.as_str());
                format!("{k} {passed}/{}", passed + failed)
            };
            notes.push(format!(
                "shot {}: photo {} instead of {}: it passes more for this brand",
                i + 1,
                said(p.reference.kind),
                said(u.reference.kind)
            ));
        }
    }
    let rating = suitability::rate(photos);
    let brief = Brief {
        product,
        picks: &picks,
        brand: &options.brand,
        language: &language,
        colour: slot.group.name.as_deref(),
        rejections,
        length_ms,
        bounds,
    };
    let script = match script::write(ports, &brief).await {
        Ok(s) => s,
        Err(ScriptFailure::Product(why)) => return Err(PlanFailure::Product(why)),
        Err(ScriptFailure::Provider { doing, error }) if error.is_retryable() => {
            return Err(PlanFailure::Retry(StageError::from_provider(format!("{}: {doing}", product.handle), error)));
        }
        Err(ScriptFailure::Provider { doing, error }) => return Err(PlanFailure::Product(format!("{doing}: {error}"))),
    };
    notes.extend(script.notes.iter().cloned());

    let (w, h) = (ports.settings.width, ports.settings.height);
    let mut shots = Vec::with_capacity(picks.len());
    let mut last: Option<Motion> = None;
    for (i, pick) in picks.iter().enumerate() {
        let r = pick.reference;
        let framing = framing_of(ports, r).await.map_err(PlanFailure::Retry)?;
        let frame_aspect = f64::from(w) / f64::from(h);
        let mut motion = motion_for(pick.role, r.aspect(), frame_aspect);
        if last == Some(motion) {
            motion = alternative(motion);
        }
        // The planner's move first; repeating the last shot's move only when the others fail more.
        let candidates = motions_suiting(motion, r.aspect(), frame_aspect);
        let names: Vec<&str> = candidates.iter().map(|m| m.as_str()).collect();
        let edges: Vec<f64> = (candidates.iter().enumerate())
            .map(|(k, m)| {
                if Some(*m) == last {
                    -REPEAT_PENALTY
                } else if k == 0 {
                    DEFAULT_EDGE
                } else {
                    0.0
                }
            })
            .collect();
        let seed = format!("{}/shot-{}", slot.id, i + 1);
        let (chosen, why) = choose_with(&rates, crate::learning::Facet::Motion, &names, &edges, &seed);
        motion = candidates.get(chosen).copied().unwrap_or(motion);
        if let Some(why) = why {
            notes.push(format!("shot {}: {why}", i + 1));
        }
        last = Some(motion);
        let cam = camera::compose_for(r.width, r.height, &framing, motion, w, h, script.durations[i]);
        shots.push(Shot {
            index: i as u32,
            role: pick.role,
            reference: r.sha256.clone(),
            kind: r.kind,
            motion,
            direction: camera::describe(&cam, motion),
            camera: cam,
            duration_ms: script.durations[i],
            line: script.lines[i].clone(),
            extra_references: more_photos(photos, r),
        });
    }
    let id = slot.id.clone();
    let mut plan = ShotPlan::new(id.clone(), product.handle.clone(), shots);
    let chain: Vec<String> = if options.brand.video_provider.is_empty() {
        ports.video.models().map(|m| m.name().to_string()).collect()
    } else {
        options.brand.video_provider.clone()
    };
    let ranked = crate::learning::order_providers(&rates, &chain, crate::stages::generate::OFFLINE, id.as_str());
    if ranked != chain {
        notes.push(format!("providers in the order they pass for this brand: {}", ranked.join(", ")));
        plan.providers = ranked;
    }
    plan.variant = slot.group.name.clone();
    plan.language = language;
    plan.dropped_claims = script.dropped.clone();
    plan.suitability = rating;
    if let Some(min) = options.min_suitability
        && plan.suitability.score < min
        && options.below == BelowSuitability::Offline
    {
        plan.offline_only = true;
        notes
            .push(format!("suitability {:.2} is under {min:.2}: kept on the offline renderer", plan.suitability.score));
    }
    plan.notes = notes;

    let script::LaidOut { wav: raw, mut lines, words } = script::lay_out(&plan, &script.speeches).map_err(|e| {
        PlanFailure::Retry(StageError::new(format!("{}: laying out the voice-over", product.handle), e))
    })?;
    // The brand's style images go to models that take style references, per shot or whole reel.
    plan.style_images =
        whole::store_style_images(ports, &id, &options.brand, &mut plan.notes).await.map_err(PlanFailure::Retry)?;
    if options.whole_reel() {
        let shots = std::mem::take(&mut plan.shots);
        let one = whole::merge(ports, &id, shots, photos, &mut lines).await.map_err(PlanFailure::Retry)?;
        plan.shots = vec![one];
        plan.whole_reel = true;
        plan.notes.push(format!(
            "one clip for the whole reel from {} photos and {} style images",
            1 + plan.shots[0].extra_references.len(),
            plan.style_images.len()
        ));
    }
    let (audio, loudness) = script::normalise(ports, raw).await.map_err(|e| {
        PlanFailure::Retry(StageError::new(format!("{}: normalising the voice-over", product.handle), e))
    })?;
    let voice_over = VoiceOver {
        audio: BlobKey::voice_over_revision(&id, revision),
        duration_ms: plan.duration_ms(),
        voice: ports.voice.name(),
        lines,
        words,
        sha256: Some(Sha256::of(&audio)),
        loudness,
    };
    let sources = picks.iter().map(|p| p.reference.source_url.clone()).collect();
    Ok(Planned { plan, voice_over, audio, sources, voice_cost: script.cost, characters: script.characters })
}

/// Stores a planned reel: its voice-over, the voice's ledger entry, the reel (awaiting approval,
/// parked, or planned and its shots sent).
async fn store(
    ports: &Ports,
    planned: Planned,
    options: &PlanOptions,
    product: &Product,
) -> Result<String, StageError> {
    let Planned { plan, voice_over, audio, voice_cost, characters, .. } = planned;
    let id = plan.reel.clone();
    save_voice_over(ports, &id, 1, &voice_over, audio, voice_cost, characters).await?;
    let mut reel = Reel::new(plan, voice_over, product.gallery_hash.clone());
    reel.options = options.clone();
    let parked = options
        .min_suitability
        .filter(|min| reel.plan.suitability.score < *min && options.below == BelowSuitability::Park);
    reel.status = if let Some(min) = parked {
        reel.reasons = vec![format!(
            "suitability {:.2} is under {min:.2}: {}",
            reel.plan.suitability.score,
            reel.plan.suitability.reasons.join("; ")
        )];
        ReelStatus::NeedsReview
    } else if options.approve {
        ReelStatus::AwaitingApproval
    } else {
        ReelStatus::Planned
    };
    let summary =
        format!("{id}: {} shots, {:.1} s", reel.plan.shots.len(), f64::from(reel.plan.duration_ms()) / 1000.0);
    if !ports.state.create_reel(&reel).await.map_err(|e| state_err("creating a reel", e))? {
        return Ok(format!("{id}: planned by another worker"));
    }
    match reel.status {
        ReelStatus::Planned => {
            send_shots(ports, &reel).await?;
            Ok(summary)
        }
        ReelStatus::AwaitingApproval => Ok(format!("{summary}, awaiting approval")),
        _ => Ok(format!("{summary}, parked: {}", reel.reasons.join("; "))),
    }
}

/// Stores a plan's voice-over and the voice's ledger entry (one per revision: a redelivery adds none).
async fn save_voice_over(
    ports: &Ports,
    id: &ReelId,
    revision: u32,
    voice_over: &VoiceOver,
    audio: Vec<u8>,
    usd: Usd,
    characters: usize,
) -> Result<(), StageError> {
    ports
        .blobs
        .put(&voice_over.audio, Bytes::from(audio), "audio/wav")
        .await
        .map_err(|e| blob_err("storing the voice-over", e))?;
    let operation = if revision <= 1 { "voice-over".to_string() } else { format!("voice-over-{revision}") };
    let entry = LedgerEntry {
        key: IdempotencyKey::for_reel(id, &operation),
        reel: id.clone(),
        provider: voice_over.voice.clone(),
        operation: "speak".into(),
        units: characters as f64,
        unit: "characters".into(),
        usd,
        at_ms: now_ms(),
        model: None,
        shot: None,
        attempt: None,
        note: None,
    };
    ports.state.append_ledger(&entry).await.map_err(|e| state_err("writing the ledger", e))?;
    Ok(())
}

/// Plans a rejected reel again, with the reasons, and stores the new revision (awaiting approval).
async fn replan(
    ports: &Ports,
    product: &Product,
    references: &[Reference],
    id: &ReelId,
) -> Result<Outcome, StageError> {
    let Some(reel) = ports.state.get_reel(id).await.map_err(|e| state_err("reading a reel", e))? else {
        return Ok(Outcome::Skipped(format!("{id}: no such reel to plan again")));
    };
    if reel.status != ReelStatus::AwaitingApproval || reel.rejections.len() < reel.revision as usize {
        return Ok(Outcome::Skipped(format!("{id}: already planned again ({})", reel.status)));
    }
    let (slots, notes) = slots(product, references, &reel.options);
    let Some(slot) = slots.into_iter().find(|s| s.id == *id) else {
        let why = format!("{id}: the product's photos changed; its colour has no reel any more");
        issue(ports, product.handle.as_str(), STAGE, true, why.clone()).await?;
        return Ok(Outcome::Failed(why));
    };
    let rejected: Vec<(ShotRole, Sha256)> = reel.plan.shots.iter().map(|s| (s.role, s.reference.clone())).collect();
    let revision = reel.revision + 1;
    let planned =
        match plan_reel(ports, product, &slot, &notes, &reel.options, revision, &reel.rejections, &rejected).await {
            Ok(p) => p,
            Err(PlanFailure::Retry(e)) => return Err(e),
            Err(PlanFailure::Product(why)) => {
                issue(ports, product.handle.as_str(), STAGE, true, why.clone()).await?;
                return Ok(Outcome::Failed(why));
            }
        };
    let Planned { mut plan, voice_over, audio, voice_cost, characters, .. } = planned;
    plan.notes
        .push(format!("revision {revision}, after: {}", reel.rejections.last().map(String::as_str).unwrap_or("")));
    save_voice_over(ports, id, revision, &voice_over, audio, voice_cost, characters).await?;
    let mut next = reel.clone();
    next.shot_attempts = vec![1; plan.shots.len()];
    next.plan = plan;
    next.voice_over = voice_over;
    next.revision = revision;
    ports
        .state
        .transition(&next, ReelStatus::AwaitingApproval)
        .await
        .map_err(|e| state_err("storing a new plan", e))?;
    Ok(Outcome::Done(format!("{id}: planned again (revision {revision}), awaiting approval")))
}

/// The product's usable references, in gallery order.
async fn references_of(ports: &Ports, product: &Product) -> Result<Vec<Reference>, StageError> {
    let all = ports.state.references(&product.handle).await.map_err(|e| state_err("reading references", e))?;
    Ok(all.into_iter().filter(|r| product.references.contains(&r.sha256)).collect())
}

/// Shortest and longest reel: the program's 6–60 s, narrowed by the settings and the brand kit.
fn bounds(ports: &Ports, options: &PlanOptions) -> (u32, u32) {
    let lo =
        ports.settings.min_reel_ms.max(options.brand.min_reel_ms.unwrap_or(0)).max(crate::config::brand::MIN_REEL_MS);
    let hi = ports
        .settings
        .max_reel_ms
        .min(options.brand.max_reel_ms.unwrap_or(u32::MAX))
        .min(crate::config::brand::MAX_REEL_MS);
    (lo.min(hi), hi)
}

/// The photo's framing as intake measured it, or measured now for a photo taken in before intake did.
async fn framing_of(ports: &Ports, r: &Reference) -> Result<Framing, StageError> {
    if let Some(f) = r.framing {
        return Ok(f);
    }
    let bytes = match ports.blobs.get(&r.blob).await {
        Ok(b) => b,
        Err(crate::ports::BlobError::NotFound(_)) => return Ok(Framing::default()),
        Err(e) => return Err(blob_err("reading a reference", e)),
    };
    let analysed =
        tokio::task::spawn_blocking(move || image::load_from_memory(&bytes).ok().map(|i| crate::media::analyse(&i)))
            .await
            .map_err(|e| StageError::new("analysing a reference's framing", e))?;
    Ok(analysed.unwrap_or_default())
}

fn outcome_text(o: Outcome) -> String {
    match o {
        Outcome::Done(s) | Outcome::Skipped(s) | Outcome::Waiting(s) | Outcome::Failed(s) => s,
    }
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
            // Generate skips a shot whose clip is stored; the mirror asks for assembly when a
            // clip it stores is the last one missing. With every clip stored already, only the
            // assembly is left (it waits if a clip is still missing).
            send_shots(ports, reel).await?;
            send(ports, MirrorMsg::Assemble { reel: id.clone() }, Duration::ZERO).await?;
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
    // The approved voice-over is encoded while the shots are made, not after them.
    send(ports, MirrorMsg::VoiceOver { reel: reel.id.clone() }, Duration::ZERO).await?;
    for shot in &reel.plan.shots {
        let attempt = reel.shot_attempts[shot.index as usize];
        send(ports, GenerateMsg::new(reel.id.clone(), shot.index, attempt), Duration::ZERO).await?;
    }
    Ok(())
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

/// What repeating the last shot's camera move costs a candidate move, in expected pass rate.
const REPEAT_PENALTY: f64 = 0.15;

/// The camera moves that suit a photo of `aspect` in the frame, `planned` first: its reverse, the
/// push and the pull always, pans across a wide photo, tilts along a tall one.
fn motions_suiting(planned: Motion, aspect: f64, frame_aspect: f64) -> Vec<Motion> {
    let mut out = vec![planned, alternative(planned), Motion::PushIn, Motion::PullOut];
    if aspect > frame_aspect * 1.25 {
        out.extend([Motion::PanLeft, Motion::PanRight]);
    }
    if aspect < frame_aspect / 1.25 {
        out.extend([Motion::TiltDown, Motion::TiltUp]);
    }
    let mut seen = Vec::new();
    out.retain(|m| {
        let new = !seen.contains(m);
        seen.push(*m);
        new
    });
    out
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

#[cfg(test)]
pub(crate) mod testutil {
    use crate::{BlobKey, Handle, PhotoKind, Product, ProductOption, Reference, Sha256, Variant};

    pub fn reference(n: u8, kind: PhotoKind, w: u32, h: u32) -> Reference {
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

    /// A product whose colour option has `colours` (variant ids 101, 102, ...).
    pub fn product_with_colours(colours: &[&str]) -> Product {
        Product {
            handle: Handle::parse("p").unwrap(),
            title: "Pullover Hoodie".into(),
            description: "Soft cotton fleece.".into(),
            vendor: None,
            product_type: None,
            price: Some("59.00".into()),
            currency: None,
            options: if colours.is_empty() {
                vec![]
            } else {
                vec![ProductOption { name: "Color".into(), values: colours.iter().map(|c| c.to_string()).collect() }]
            },
            variants: colours
                .iter()
                .enumerate()
                .map(|(i, c)| Variant {
                    id: 101 + i as u64,
                    title: c.to_string(),
                    options: vec![c.to_string()],
                    price: None,
                })
                .collect(),
            references: vec![],
            gallery_hash: Sha256::of(b"x"),
            store: "s".into(),
            updated_ms: 0,
        }
    }
}
