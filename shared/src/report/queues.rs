//! What the queues hold and what needs a hand: each stage's depths and dead letters (with the
//! command that sends each back), the reels that will not move by themselves, and the recent
//! problems. Gathered once for `truereel status` (as text) and the API's `/api/queues` (as JSON).

use crate::messages::Message;
use crate::ports::{ProductIssue, QueueDepth, Stage, Unreadable};
use crate::printable;
use crate::stages::Ports;
use crate::stuck::{StuckError, StuckReel, redrive_command, stuck_reels};
use serde::Serialize;

/// The recent problems shown.
const RECENT_ISSUES: usize = 20;

/// The queues, the stuck reels and the recent problems.
#[derive(Debug, Clone, Serialize)]
pub struct Queues {
    /// One per stage, in pipeline order.
    pub queues: Vec<StageQueue>,
    pub stuck: Vec<StuckReel>,
    /// The latest problems, newest first.
    pub issues: Vec<ProductIssue>,
    pub unreadable_issues: Vec<Unreadable>,
}

/// One stage's queue.
#[derive(Debug, Clone, Serialize)]
pub struct StageQueue {
    pub stage: &'static str,
    #[serde(flatten)]
    pub depth: QueueDepth,
    /// Its first dead letters, each with the command that sends it back.
    pub dead_letters: Vec<DeadLetterView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeadLetterView {
    pub id: String,
    pub receive_count: u32,
    pub body: String,
    pub redrive: String,
}

/// Reads the queues (up to `dead_shown` dead letters per stage) and the problems; `pending`: the body
/// of every message waiting, by stage (what the stuck-reel check compares reels with).
pub async fn gather(ports: &Ports, pending: &[(Stage, String)], dead_shown: usize) -> Result<Queues, StuckError> {
    let mut queues = Vec::new();
    for stage in Stage::ALL {
        let depth = ports.queue.depth(stage).await?;
        let dead_letters = (ports.queue.dead_letters(stage, dead_shown).await?.into_iter())
            .map(|l| {
                let message = Message::parse(stage, &l.body).ok();
                let redrive = redrive_command(stage, message.as_ref());
                DeadLetterView { id: l.id, receive_count: l.receive_count, body: l.body, redrive }
            })
            .collect();
        queues.push(StageQueue { stage: stage.as_str(), depth, dead_letters });
    }
    let stuck = stuck_reels(ports, pending).await?;
    let issues = ports.state.scan_issues(0).await?;
    Ok(Queues {
        queues,
        stuck,
        issues: issues.records.into_iter().rev().take(RECENT_ISSUES).collect(),
        unreadable_issues: issues.unreadable,
    })
}

/// As `truereel status` prints it.
pub fn text(q: &Queues) -> String {
    let mut out = String::new();
    for s in &q.queues {
        let d = &s.depth;
        out += &format!(
            "queue {:<9} visible {:>3}  delayed {:>3}  in flight {:>3}  dead letters {:>3}\n",
            s.stage, d.visible, d.delayed, d.in_flight, d.dead
        );
    }
    if !q.stuck.is_empty() {
        out += "\nstuck reels (they will not move by themselves):\n";
        for s in &q.stuck {
            let (reel, why) = (printable(s.reel.as_str()), printable(&s.why));
            out += &format!("  {reel} ({}): {why}\n    to unstick it: {}\n", s.status, printable(&s.fix));
        }
    }
    if !q.issues.is_empty() || !q.unreadable_issues.is_empty() {
        out += "\nrecent problems:\n";
        for i in &q.issues {
            let (product, message) = (printable(&i.product), printable(&i.message));
            let failed = if i.fatal { ", failed" } else { "" };
            out += &format!("  {product} [{}{failed}] {message}\n", printable(&i.stage));
        }
        for u in &q.unreadable_issues {
            out += &format!("  unreadable {}\n", printable(&u.to_string()));
        }
    }
    out
}
