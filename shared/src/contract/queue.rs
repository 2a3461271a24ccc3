//! The [`Queue`] contract: SQS semantics for send, receive, ack, delay, visibility, release and dead letters.
//!
//! Each check uses its own stage and they run concurrently, so the waits overlap. Times are whole seconds
//! (SQS's granularity) and order within a batch is not checked (SQS standard queues do not keep it). The
//! queue must be empty when the suite starts: depths are checked exactly.
//!
//! Receipt strictness is a capability: SQLite rejects every receipt but the latest, SQS does not reliably
//! reject an old receipt (a second delete succeeds; an old receipt of a redelivered message may be
//! accepted), so with [`QueueCapabilities::strict_receipts`] off exactly those checks are skipped.

use super::{must, unique};
use crate::ports::{Delivery, Queue, QueueError, Stage};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const SECOND: Duration = Duration::from_secs(1);
/// How long a message that should reappear may take, for slow emulators.
const PATIENCE: Duration = Duration::from_secs(10);

/// What a queue adapter guarantees beyond the checks every adapter passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueCapabilities {
    /// Only the latest receipt of a message can ack or release it: acking twice, or using a receipt
    /// from before a redelivery, is [`QueueError::StaleReceipt`]. SQS does not guarantee this.
    pub strict_receipts: bool,
}

impl QueueCapabilities {
    /// Every check, stale receipts included (the SQLite queue).
    pub const STRICT: Self = Self { strict_receipts: true };
    /// SQS semantics: a stale receipt may be accepted, so stale-receipt checks are skipped.
    pub const SQS: Self = Self { strict_receipts: false };
}

/// Runs every check against an empty `queue` that dead-letters after `max_receives` receives.
pub async fn queue_contract(queue: &dyn Queue, max_receives: u32, caps: QueueCapabilities) {
    assert!(max_receives >= 2, "contract: the queue suite needs max_receives >= 2, got {max_receives}");
    for stage in Stage::ALL {
        let depth = must(queue.depth(stage).await, "depth of an empty queue");
        assert_eq!(depth.pending() + depth.dead, 0, "contract: queue {stage} must start empty, has {depth:?}");
    }
    tokio::join!(
        send_receive_ack(queue, Stage::Crawl, caps),
        delay_hides(queue, Stage::Plan),
        visibility_redelivers(queue, Stage::Generate, caps),
        release_with_delay(queue, Stage::Mirror),
        dead_letters(queue, Stage::Evaluate, max_receives),
    );
}

/// Receives from `stage` until something arrives or `PATIENCE` runs out.
async fn receive_eventually(queue: &dyn Queue, stage: Stage, visibility: Duration) -> (Vec<Delivery>, Duration) {
    let start = Instant::now();
    loop {
        let got = must(queue.receive(stage, 10, visibility).await, "receive");
        if !got.is_empty() || start.elapsed() > PATIENCE {
            return (got, start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn send_receive_ack(queue: &dyn Queue, stage: Stage, caps: QueueCapabilities) {
    let bodies: BTreeSet<String> = (0..3).map(|i| format!("{{\"n\":{i},\"tag\":\"{}\"}}", unique("m"))).collect();
    for b in &bodies {
        must(queue.send(stage, b, Duration::ZERO).await, "send");
    }
    let depth = must(queue.depth(stage).await, "depth after send");
    assert_eq!((depth.visible, depth.delayed, depth.in_flight), (3, 0, 0), "{stage}: three sent are visible");

    let mut got = Vec::new();
    let start = Instant::now();
    while got.len() < 3 && start.elapsed() < PATIENCE {
        let batch = must(queue.receive(stage, 2, 30 * SECOND).await, "receive up to 2");
        assert!(batch.len() <= 2, "{stage}: receive returns at most max messages, got {}", batch.len());
        got.extend(batch);
    }
    let received: BTreeSet<String> = got.iter().map(|d| d.body.clone()).collect();
    assert_eq!(received, bodies, "{stage}: every message is received once, bodies intact");
    assert!(got.iter().all(|d| d.receive_count == 1), "{stage}: first receives count 1: {got:?}");
    let ids: BTreeSet<&str> = got.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids.len(), 3, "{stage}: message ids are distinct");
    let depth = must(queue.depth(stage).await, "depth while received");
    assert_eq!((depth.visible, depth.in_flight), (0, 3), "{stage}: received messages are in flight");
    assert!(must(queue.receive(stage, 10, 30 * SECOND).await, "receive hidden").is_empty(), "{stage}: hidden");

    for d in &got {
        must(queue.ack(stage, &d.receipt).await, "ack");
    }
    match queue.ack(stage, &got[0].receipt).await {
        Err(QueueError::StaleReceipt { stage: s, .. }) => assert_eq!(s, stage, "a stale receipt names its stage"),
        Ok(()) if !caps.strict_receipts => {}
        other => panic!("contract: {stage}: acking twice must be StaleReceipt (or Ok if not strict), got {other:?}"),
    }
    assert_eq!(must(queue.depth(stage).await, "depth after ack").pending(), 0, "{stage}: acked messages are gone");
}

async fn delay_hides(queue: &dyn Queue, stage: Stage) {
    must(queue.send(stage, "delayed", 2 * SECOND).await, "send with delay");
    let depth = must(queue.depth(stage).await, "depth of a delayed message");
    assert_eq!((depth.visible, depth.delayed, depth.in_flight), (0, 1, 0), "{stage}: a delayed message is delayed");
    assert!(must(queue.receive(stage, 10, SECOND).await, "receive delayed").is_empty(), "{stage}: delay hides");
    let (got, waited) = receive_eventually(queue, stage, 30 * SECOND).await;
    assert_eq!(got.len(), 1, "{stage}: a delayed message appears after its delay");
    assert!(waited >= Duration::from_millis(900), "{stage}: it appeared too early, after {waited:?}");
    assert_eq!((got[0].body.as_str(), got[0].receive_count), ("delayed", 1), "{stage}: delayed delivery");
    must(queue.ack(stage, &got[0].receipt).await, "ack a delayed message");
}

async fn visibility_redelivers(queue: &dyn Queue, stage: Stage, caps: QueueCapabilities) {
    must(queue.send(stage, "slow", Duration::ZERO).await, "send");
    let first = must(queue.receive(stage, 10, SECOND).await, "receive");
    assert_eq!(first.len(), 1, "{stage}: one message received");
    assert!(must(queue.receive(stage, 10, SECOND).await, "receive hidden").is_empty(), "{stage}: hidden");
    let (again, _) = receive_eventually(queue, stage, 30 * SECOND).await;
    assert_eq!(again.len(), 1, "{stage}: an unacked message is redelivered after its visibility timeout");
    assert_eq!(again[0].id, first[0].id, "{stage}: the same message comes back");
    assert_eq!(again[0].receive_count, 2, "{stage}: a redelivery counts");
    assert_ne!(again[0].receipt, first[0].receipt, "{stage}: a redelivery has a new receipt");
    if caps.strict_receipts {
        assert!(
            matches!(queue.ack(stage, &first[0].receipt).await, Err(QueueError::StaleReceipt { .. })),
            "{stage}: the old receipt is stale after redelivery"
        );
        assert!(
            matches!(
                queue.release(stage, &first[0].receipt, Duration::ZERO).await,
                Err(QueueError::StaleReceipt { .. })
            ),
            "{stage}: release with an old receipt is stale too"
        );
    }
    must(queue.ack(stage, &again[0].receipt).await, "ack with the latest receipt");
    assert_eq!(must(queue.depth(stage).await, "depth").pending(), 0, "{stage}: acked");
}

async fn release_with_delay(queue: &dyn Queue, stage: Stage) {
    must(queue.send(stage, "poll later", Duration::ZERO).await, "send");
    let first = must(queue.receive(stage, 10, 30 * SECOND).await, "receive");
    assert_eq!(first.len(), 1, "{stage}: one message received");
    must(queue.release(stage, &first[0].receipt, 2 * SECOND).await, "release with delay");
    let depth = must(queue.depth(stage).await, "depth of a released message");
    assert_eq!((depth.visible, depth.in_flight), (0, 1), "{stage}: a message released with a delay is in flight");
    assert!(must(queue.receive(stage, 10, SECOND).await, "receive released").is_empty(), "{stage}: release delays");
    let (again, waited) = receive_eventually(queue, stage, 30 * SECOND).await;
    assert_eq!(again.len(), 1, "{stage}: a released message comes back after its delay");
    assert!(waited >= Duration::from_millis(900), "{stage}: it came back too early, after {waited:?}");
    assert_eq!(again[0].receive_count, 2, "{stage}: a received-again released message counts");

    must(queue.release(stage, &again[0].receipt, Duration::ZERO).await, "release now");
    let now = must(queue.receive(stage, 10, 30 * SECOND).await, "receive released now");
    assert_eq!(now.len(), 1, "{stage}: release with no delay makes the message visible at once");
    must(queue.ack(stage, &now[0].receipt).await, "ack");
}

async fn dead_letters(queue: &dyn Queue, stage: Stage, max_receives: u32) {
    must(queue.send(stage, "poison", Duration::ZERO).await, "send");
    must(queue.send(stage, "healthy", Duration::ZERO).await, "send");
    for round in 1..=max_receives {
        let got = must(queue.receive(stage, 10, 30 * SECOND).await, "receive poison");
        let poison = got.iter().find(|d| d.body == "poison").unwrap_or_else(|| {
            panic!("contract: {stage}: receive {round} of {max_receives} still delivers the message, got {got:?}")
        });
        assert_eq!(poison.receive_count, round, "{stage}: receive_count counts each receive");
        for d in &got {
            if d.body == "healthy" {
                must(queue.ack(stage, &d.receipt).await, "ack healthy");
            } else {
                must(queue.release(stage, &d.receipt, Duration::ZERO).await, "release poison");
            }
        }
    }
    // Redrive may happen on the next receive; give it a few tries.
    let start = Instant::now();
    loop {
        let got = must(queue.receive(stage, 10, 30 * SECOND).await, "receive after max receives");
        assert!(got.is_empty(), "{stage}: a message received max_receives times is not delivered again: {got:?}");
        let depth = must(queue.depth(stage).await, "depth after dead-lettering");
        if depth.dead == 1 {
            assert_eq!(depth.pending(), 0, "{stage}: a dead letter is no longer pending: {depth:?}");
            break;
        }
        assert!(start.elapsed() < PATIENCE, "contract: {stage}: the message never reached the dead letters: {depth:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    redrive(queue, stage, max_receives).await;
}

/// After [`dead_letters`]: the one dead letter can be looked at, is sent back only when picked, and
/// comes back as a fresh message (no receives counted) that is handled like any other.
async fn redrive(queue: &dyn Queue, stage: Stage, max_receives: u32) {
    let dead = must(queue.dead_letters(stage, 10).await, "dead_letters");
    assert_eq!(dead.len(), 1, "{stage}: the dead letter can be looked at: {dead:?}");
    assert_eq!(dead[0].body, "poison", "{stage}: a dead letter keeps its body");
    assert!(dead[0].receive_count >= max_receives, "{stage}: a dead letter keeps its receives: {dead:?}");
    let depth = must(queue.depth(stage).await, "depth after looking at dead letters");
    assert_eq!((depth.dead, depth.pending()), (1, 0), "{stage}: looking leaves the dead letter dead: {depth:?}");

    let none = must(queue.redrive(stage, &|body: &str| body == "another").await, "redrive picking nothing");
    assert_eq!(none, 0, "{stage}: a redrive sends back only what it picks");
    let start = Instant::now();
    loop {
        let depth = must(queue.depth(stage).await, "depth after an empty redrive");
        if depth.dead == 1 && depth.pending() == 0 {
            break;
        }
        assert!(start.elapsed() < PATIENCE, "contract: {stage}: an unpicked dead letter must stay dead: {depth:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let moved = must(queue.redrive(stage, &|body: &str| body == "poison").await, "redrive");
    assert_eq!(moved, 1, "{stage}: the picked dead letter is sent back");
    let (got, _) = receive_eventually(queue, stage, 30 * SECOND).await;
    assert_eq!(got.len(), 1, "{stage}: the redriven message is delivered: {got:?}");
    assert_eq!((got[0].body.as_str(), got[0].receive_count), ("poison", 1), "{stage}: it starts with no receives");
    must(queue.ack(stage, &got[0].receipt).await, "ack the redriven message");
    let start = Instant::now();
    loop {
        let depth = must(queue.depth(stage).await, "depth after redrive");
        if depth.dead == 0 && depth.pending() == 0 {
            break;
        }
        assert!(start.elapsed() < PATIENCE, "contract: {stage}: a redriven message leaves the dead letters: {depth:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
