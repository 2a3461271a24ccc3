//! Stage queues: durable SQLite tables locally, SQS on AWS. At-least-once delivery.

use async_trait::async_trait;
use std::fmt;
use std::time::Duration;

/// How many times a message is received before it goes to the dead-letter queue (in both homes).
pub const MAX_RECEIVES: u32 = 5;

/// The five stages, one queue each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    Crawl,
    Plan,
    Generate,
    Mirror,
    Evaluate,
}

impl Stage {
    pub const ALL: [Stage; 5] = [Stage::Crawl, Stage::Plan, Stage::Generate, Stage::Mirror, Stage::Evaluate];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Crawl => "crawl",
            Stage::Plan => "plan",
            Stage::Generate => "generate",
            Stage::Mirror => "mirror",
            Stage::Evaluate => "evaluate",
        }
    }

    pub fn parse(s: &str) -> Option<Stage> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One received message. It stays invisible to other receivers until acked or released.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: String,
    /// Names this receipt of the message; ack and release need it.
    pub receipt: String,
    pub body: String,
    /// How many times the message was received, this time included.
    pub receive_count: u32,
}

/// A message in a stage's dead-letter queue: it was received too often without being handled.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    pub id: String,
    pub body: String,
    /// How many times it was received before it was dead-lettered.
    pub receive_count: u32,
}

/// Which dead letters [`Queue::redrive`] sends back: `true` for a body to send.
pub type Pick<'a> = &'a (dyn Fn(&str) -> bool + Send + Sync);

/// How many messages a queue holds, by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct QueueDepth {
    pub visible: u64,
    pub delayed: u64,
    pub in_flight: u64,
    pub dead: u64,
}

impl QueueDepth {
    /// Messages that still have to be handled (dead letters do not count).
    pub fn pending(&self) -> u64 {
        self.visible + self.delayed + self.in_flight
    }
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("queue {stage}: receipt {receipt} is stale (the message was redelivered or deleted)")]
    StaleReceipt { stage: Stage, receipt: String },
    #[error("queue {stage}: {source}")]
    Backend {
        stage: Stage,
        #[source]
        source: super::BoxError,
    },
}

#[async_trait]
pub trait Queue: Send + Sync {
    /// Sends a message that becomes visible after `delay`.
    async fn send(&self, stage: Stage, body: &str, delay: Duration) -> Result<(), QueueError>;
    /// Receives up to `max` visible messages, hiding them for `visibility`. A message received
    /// more often than the queue's limit goes to the dead-letter queue instead.
    async fn receive(&self, stage: Stage, max: usize, visibility: Duration) -> Result<Vec<Delivery>, QueueError>;
    /// Deletes a handled message.
    async fn ack(&self, stage: Stage, receipt: &str) -> Result<(), QueueError>;
    /// Makes a received message visible again after `delay` (a retry, or a poll later).
    async fn release(&self, stage: Stage, receipt: &str, delay: Duration) -> Result<(), QueueError>;
    /// Counts by state.
    async fn depth(&self, stage: Stage) -> Result<QueueDepth, QueueError>;
    /// Whether [`Queue::depth`] is exact at the moment it answers (a local table), rather than
    /// approximate and late (SQS): a drain trusts one quiet look at an exact queue.
    fn exact_depth(&self) -> bool {
        false
    }
    /// Up to `max` of a stage's dead letters, to look at (they stay dead letters).
    async fn dead_letters(&self, stage: Stage, max: usize) -> Result<Vec<DeadLetter>, QueueError>;
    /// Sends the stage's dead letters whose body `pick` accepts back to the stage's queue as fresh
    /// messages (visible now, no receives counted) and removes them from the dead letters; returns how
    /// many were sent back.
    async fn redrive(&self, stage: Stage, pick: Pick<'_>) -> Result<u64, QueueError>;
}
