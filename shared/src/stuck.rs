//! Dead letters and stuck reels: each dead letter noted as an issue on its product, the reels that
//! cannot advance found, and the command that sends each on.

use crate::messages::Message;
use crate::ports::{ProductIssue, QueueError, Stage, StateError};
use crate::stages::Ports;
use crate::stages::support::missing_references;
use crate::{ReelId, ReelStatus, now_ms};

#[derive(Debug, thiserror::Error)]
pub enum StuckError {
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Stage(#[from] crate::stages::StageError),
}

/// How many dead letters per stage are looked at.
const MAX_DEAD: usize = 1000;

/// The tag an issue about a dead letter carries, so each is noted once.
pub fn tag(stage: Stage, message_id: &str) -> String {
    format!("[dead letter {stage}/{message_id}]")
}

/// The command that sends a stage's dead letter back (for one reel or product when the message names one).
pub fn redrive_command(stage: Stage, message: Option<&Message>) -> String {
    match message {
        Some(m) => {
            let who = m.reel().map(|r| r.to_string()).unwrap_or_else(|| m.subject());
            format!("truereel redrive --stage {stage} --reel {who}")
        }
        None => format!("truereel redrive --stage {stage}"),
    }
}

/// Records that a message failed on its last allowed receive and goes to the dead letters: on the
/// message's product, with the stage, the receive count, the reason and how to send it back.
pub async fn record_dead_letter(
    ports: &Ports,
    stage: Stage,
    message_id: &str,
    body: &str,
    receive_count: u32,
    reason: &str,
) -> Result<(), StateError> {
    let message = Message::parse(stage, body).ok();
    let product = message.as_ref().map(Message::subject).unwrap_or_else(|| format!("{stage} queue"));
    let text = format!(
        "{stage}: dead-lettered after {receive_count} receives: {reason} {}; `{}` sends it back",
        tag(stage, message_id),
        redrive_command(stage, message.as_ref())
    );
    tracing::error!(%stage, product, receives = receive_count, "{text}");
    let issue = ProductIssue { product, stage: stage.to_string(), fatal: true, message: text, at_ms: now_ms() };
    ports.state.record_issue(&issue).await
}

/// Records an issue for every dead letter no issue names yet (a message that ran out of receives
/// without a failure being seen: its handler was killed each time). Returns how many it recorded.
pub async fn note_dead_letters(ports: &Ports) -> Result<u64, StuckError> {
    let mut noted = 0;
    let mut known: Option<Vec<String>> = None;
    for stage in Stage::ALL {
        for d in ports.queue.dead_letters(stage, MAX_DEAD).await? {
            if known.is_none() {
                known = Some(ports.state.issues_since(0).await?.into_iter().map(|i| i.message).collect());
            }
            let mark = tag(stage, &d.id);
            if known.iter().flatten().any(|m| m.contains(&mark)) {
                continue;
            }
            let reason = "no failure was recorded (the process handling it stopped each time)";
            record_dead_letter(ports, stage, &d.id, &d.body, d.receive_count, reason).await?;
            noted += 1;
        }
    }
    Ok(noted)
}

/// A reel that is neither published nor parked and cannot advance by itself.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StuckReel {
    pub reel: ReelId,
    pub status: ReelStatus,
    pub why: String,
    /// The command that sends it on.
    pub fix: String,
}

/// The reels not published or parked that have dead letters, or nothing queued for them (given the
/// bodies of every pending message, by stage). A reel with missing reference photos says which.
pub async fn stuck_reels(ports: &Ports, pending: &[(Stage, String)]) -> Result<Vec<StuckReel>, StuckError> {
    let mut dead = Vec::new();
    for stage in Stage::ALL {
        for d in ports.queue.dead_letters(stage, MAX_DEAD).await? {
            if let Ok(m) = Message::parse(stage, &d.body) {
                dead.push((stage, m));
            }
        }
    }
    let pending: Vec<Message> = pending.iter().filter_map(|(s, b)| Message::parse(*s, b).ok()).collect();
    let mut out = Vec::new();
    for reel in ports.state.list_reels().await? {
        if reel.status.is_terminal() {
            continue;
        }
        let concerns = |m: &Message| m.concerns(reel.id.as_str()) || m.concerns(reel.product.as_str());
        let mut stages: Vec<Stage> = dead.iter().filter(|(_, m)| concerns(m)).map(|(s, _)| *s).collect();
        stages.dedup();
        let queued = pending.iter().any(concerns);
        if stages.is_empty() && queued {
            continue;
        }
        // Only a stuck reel's photos are looked for: `status` asks no blob store about reels on the move.
        let missing = missing_references(ports, &reel).await?;
        let also = if missing.is_empty() {
            String::new()
        } else {
            format!("; reference photos missing from the blob store: {}", missing.join(", "))
        };
        if !stages.is_empty() {
            let n = dead.iter().filter(|(_, m)| concerns(m)).count();
            let names: Vec<&str> = stages.iter().map(|s| s.as_str()).collect();
            out.push(StuckReel {
                reel: reel.id.clone(),
                status: reel.status,
                why: format!("{n} message(s) dead-lettered ({}){also}", names.join(", ")),
                fix: format!("truereel redrive --reel {}", reel.id),
            });
        } else {
            let store = ports.state.get_product(&reel.product).await?.map(|p| p.store);
            out.push(StuckReel {
                reel: reel.id.clone(),
                status: reel.status,
                why: format!("nothing is queued for it{also}"),
                fix: match store {
                    Some(s) => format!("truereel run --store {s} --only {}", reel.product),
                    None => format!("truereel run --store <store> --only {}", reel.product),
                },
            });
        }
    }
    Ok(out)
}
