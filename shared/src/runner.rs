//! The embedded runner: drains the five stage queues in one process until nothing is left.
//!
//! One worker per stage receives messages, runs the stage, and acks; a failed message is
//! released for a later try with backoff, and after [`crate::ports::MAX_RECEIVES`] tries it
//! goes to the dead-letter queue and the product's report says why. The run ends when no
//! message is visible, delayed or in flight anywhere.

use crate::messages::Message;
use crate::now_ms;
use crate::ports::{ProductIssue, Queue, QueueError, Stage};
use crate::stages::Ports;
use crate::stages::{self, Outcome};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// How the runner works the queues.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Messages handled at once per stage.
    pub concurrency: BTreeMap<Stage, usize>,
    /// How long a received message stays hidden from other receivers.
    pub visibility: Duration,
    /// First retry delay; doubles per try, capped at a minute.
    pub retry_base: Duration,
    /// Tries before a message is dead-lettered.
    pub max_receives: u32,
}

impl Default for RunOptions {
    fn default() -> Self {
        let concurrency = BTreeMap::from([
            (Stage::Crawl, 4),
            (Stage::Plan, 2),
            // ffmpeg uses every core on its own; two renders keep both busy between encodes.
            (Stage::Generate, 2),
            (Stage::Mirror, 4),
            (Stage::Evaluate, 1),
        ]);
        Self {
            concurrency,
            visibility: Duration::from_secs(600),
            retry_base: Duration::from_secs(2),
            max_receives: crate::ports::MAX_RECEIVES,
        }
    }
}

impl RunOptions {
    /// Defaults, with the configured concurrency per stage and visibility timeout.
    pub fn from_config(runner: &crate::config::RunnerConfig) -> Self {
        Self { concurrency: runner.concurrency.clone(), visibility: runner.visibility, ..Self::default() }
    }
}

/// What the runner reports as it goes (a progress bar, or log lines).
pub trait Progress: Send + Sync {
    fn handled(&self, stage: Stage, outcome: &Outcome);
    fn retrying(&self, stage: Stage, subject: &str, error: &str);
    /// Messages left on a stage's queue (visible, delayed or in flight).
    fn pending(&self, stage: Stage, pending: u64);
}

/// Progress as log lines (when not on a terminal): each message handled, and every
/// [`LogProgress::EVERY`] per stage with work left, how much is done and left and an estimate of the
/// time left at the pace so far (a 10,000-product crawl says how long it will take).
#[derive(Default)]
pub struct LogProgress {
    pace: std::sync::Mutex<BTreeMap<Stage, Pace>>,
}

/// One stage's pace: messages handled since the first was seen pending, and when the last line was logged.
#[derive(Debug, Clone)]
struct Pace {
    since: std::time::Instant,
    done: u64,
    logged: Option<std::time::Instant>,
}

impl LogProgress {
    /// How often a stage's progress line is logged.
    pub const EVERY: Duration = Duration::from_secs(10);

    /// The progress line for `stage` with `pending` messages left at `now`, when one is due.
    fn line(&self, stage: Stage, pending: u64, now: std::time::Instant) -> Option<String> {
        let mut paces = self.pace.lock().unwrap_or_else(|e| e.into_inner());
        let pace = paces.entry(stage).or_insert(Pace { since: now, done: 0, logged: Some(now) });
        if pending == 0 || pace.logged.is_some_and(|at| now.duration_since(at) < Self::EVERY) {
            return None;
        }
        pace.logged = Some(now);
        let elapsed = now.duration_since(pace.since).as_secs_f64();
        let rate = if elapsed > 0.0 { pace.done as f64 / elapsed } else { 0.0 };
        let left =
            if rate > 0.0 { format!("about {} left", human(pending as f64 / rate)) } else { "no estimate yet".into() };
        Some(format!("{stage}: {} done, {pending} to go, {rate:.1}/s, {left}", pace.done))
    }

    fn count(&self, stage: Stage) {
        let now = std::time::Instant::now();
        let mut paces = self.pace.lock().unwrap_or_else(|e| e.into_inner());
        paces.entry(stage).or_insert(Pace { since: now, done: 0, logged: Some(now) }).done += 1;
    }
}

/// Seconds as "40 s", "12 min" or "3.5 h".
fn human(secs: f64) -> String {
    if secs < 90.0 {
        format!("{secs:.0} s")
    } else if secs < 90.0 * 60.0 {
        format!("{:.0} min", secs / 60.0)
    } else {
        format!("{:.1} h", secs / 3600.0)
    }
}

impl Progress for LogProgress {
    fn handled(&self, stage: Stage, outcome: &Outcome) {
        // A message that waits (for a turn, a slot) comes back: it is counted when it is handled.
        if !matches!(outcome, Outcome::Waiting(_)) {
            self.count(stage);
        }
        match outcome {
            Outcome::Done(s) => tracing::info!(%stage, "{s}"),
            Outcome::Skipped(s) | Outcome::Waiting(s) => tracing::debug!(%stage, "{s}"),
            Outcome::Failed(s) => tracing::warn!(%stage, "Failed: {s}"),
        }
    }
    fn retrying(&self, stage: Stage, subject: &str, error: &str) {
        tracing::warn!(%stage, subject, "Will retry: {error}");
    }
    fn pending(&self, stage: Stage, pending: u64) {
        if let Some(line) = self.line(stage, pending, std::time::Instant::now()) {
            tracing::info!(%stage, pending, "{line}");
        }
    }
}

/// Counts of what a drain did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DrainReport {
    pub handled: BTreeMap<Stage, u64>,
    /// Time spent in handlers per stage, summed over messages (what Lambda would bill as duration).
    pub handler_seconds: BTreeMap<Stage, f64>,
    pub retries: u64,
    pub dead_lettered: u64,
}

/// Sends a store's crawl message (`only` some handles, maybe; `plan: None` plans nothing) and runs
/// every stage until all queues are empty: what `truereel run` and `crawl` do, and the tests.
pub async fn run_store(
    ports: &Ports,
    store: &str,
    only: Option<Vec<String>>,
    plan: Option<crate::messages::PlanOptions>,
    options: &RunOptions,
    progress: Arc<dyn Progress>,
) -> Result<DrainReport, QueueError> {
    let first = Message::from(crate::messages::CrawlMsg::Store {
        store: store.to_string(),
        only,
        crawl_only: plan.is_none(),
        plan: plan.unwrap_or_default(),
    });
    ports.queue.send(Stage::Crawl, &first.to_json(), Duration::ZERO).await?;
    drain(ports, options, progress).await
}

/// Runs every stage until all queues are empty.
pub async fn drain(
    ports: &Ports,
    options: &RunOptions,
    progress: Arc<dyn Progress>,
) -> Result<DrainReport, QueueError> {
    let done = Arc::new(AtomicBool::new(false));
    let busy = Arc::new(AtomicUsize::new(0));
    let activity = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for stage in Stage::ALL {
        let worker = Worker {
            ports: ports.clone(),
            stage,
            options: options.clone(),
            progress: progress.clone(),
            done: done.clone(),
            busy: busy.clone(),
            activity: activity.clone(),
        };
        workers.push(tokio::spawn(worker.run()));
    }
    // Dead letters left by an earlier run whose handlers were killed say so before anything else (this
    // run's own give-ups are recorded as they happen).
    note_dead_letters(ports).await;
    let result = watch(ports.queue.as_ref(), &done, &busy, &activity, progress.as_ref()).await;
    done.store(true, Ordering::SeqCst);
    let mut report = DrainReport::default();
    for (stage, w) in Stage::ALL.into_iter().zip(workers) {
        let (handled, retries, dead, seconds) = w.await.unwrap_or_default();
        report.handled.insert(stage, handled);
        report.handler_seconds.insert(stage, seconds);
        report.retries += retries;
        report.dead_lettered += dead;
    }
    result.map(|()| report)
}

/// Notes every dead letter no issue names yet (see [`crate::stuck::note_dead_letters`]).
async fn note_dead_letters(ports: &Ports) {
    match crate::stuck::note_dead_letters(ports).await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(messages = n, "Dead letters found with no failure recorded; noted as issues."),
        Err(e) => tracing::error!("Could not look at the dead letters: {e}"),
    }
}

/// How many consecutive checks must find everything idle and empty before the run ends (SQS
/// counts are approximate; a few checks apart make a stale zero unlikely). One is enough for a queue
/// that counts exactly ([`Queue::exact_depth`]).
const QUIET_CHECKS: u32 = 3;

/// Waits until no worker is busy and no message is pending anywhere. The queues are counted one
/// after another, so a count is trusted only if no worker received anything while counting
/// (`activity` unchanged) and no worker was busy before or after: then nothing could have sent a
/// message to a queue already counted.
async fn watch(
    queue: &dyn Queue,
    done: &AtomicBool,
    busy: &AtomicUsize,
    activity: &AtomicU64,
    progress: &dyn Progress,
) -> Result<(), QueueError> {
    let mut quiet = 0;
    let needed = if queue.exact_depth() { 1 } else { QUIET_CHECKS };
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let before = activity.load(Ordering::SeqCst);
        let idle_before = busy.load(Ordering::SeqCst) == 0;
        let mut pending = 0;
        for stage in Stage::ALL {
            let p = queue.depth(stage).await?.pending();
            progress.pending(stage, p);
            pending += p;
        }
        let still = activity.load(Ordering::SeqCst) == before && busy.load(Ordering::SeqCst) == 0;
        if idle_before && pending == 0 && still {
            quiet += 1;
            if quiet >= needed {
                done.store(true, Ordering::SeqCst);
                return Ok(());
            }
        } else {
            quiet = 0;
        }
    }
}

/// Takes a handler's busy mark back when it ends, however it ends.
struct Unbusy(Arc<AtomicUsize>);

impl Drop for Unbusy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What a worker's handlers came to.
#[derive(Default)]
struct Tally {
    handled: u64,
    retries: u64,
    dead: u64,
    seconds: f64,
}

impl Tally {
    fn add(&mut self, stage: Stage, finished: Result<(Handled, f64), tokio::task::JoinError>) {
        match finished {
            Ok((handled, took)) => {
                self.seconds += took;
                match handled {
                    Handled::Ok => self.handled += 1,
                    Handled::Retry => self.retries += 1,
                    Handled::GaveUp => self.dead += 1,
                }
            }
            // The handler's own task catches panics; this is the wrapper dying (a runtime shutdown).
            Err(e) => tracing::error!(stage = %stage, "A handler task died: {e}"),
        }
    }
}

struct Worker {
    ports: Ports,
    stage: Stage,
    options: RunOptions,
    progress: Arc<dyn Progress>,
    done: Arc<AtomicBool>,
    busy: Arc<AtomicUsize>,
    /// Counts non-empty receives, so the watcher can tell whether anything happened while it counted.
    activity: Arc<AtomicU64>,
}

impl Worker {
    /// Returns (handled, retries, dead-lettered, seconds in handlers). Keeps up to the stage's
    /// concurrency of handlers running, receiving more as each one finishes: a slow message (an
    /// assembly) never holds up the quick ones received with it (clips to mirror).
    async fn run(self) -> (u64, u64, u64, f64) {
        let mut tally = Tally::default();
        let max = self.options.concurrency.get(&self.stage).copied().unwrap_or(1).max(1);
        let me = Arc::new(self);
        let mut running = tokio::task::JoinSet::new();
        while !me.done.load(Ordering::SeqCst) {
            while let Some(finished) = running.try_join_next() {
                tally.add(me.stage, finished);
            }
            let room = max - running.len();
            if room == 0 {
                if let Some(finished) = running.join_next().await {
                    tally.add(me.stage, finished);
                }
                continue;
            }
            // Not busy while waiting on the queue (SQS long-polls): a received message is in flight,
            // so it counts as pending until this worker is marked busy below.
            let batch = match me.ports.queue.receive(me.stage, room, me.options.visibility).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(stage = %me.stage, "Receiving failed: {e}");
                    Vec::new()
                }
            };
            if batch.is_empty() {
                let pause = tokio::time::sleep(Duration::from_millis(50));
                if running.is_empty() {
                    pause.await;
                } else {
                    tokio::select! {
                        Some(finished) = running.join_next() => tally.add(me.stage, finished),
                        () = pause => {}
                    }
                }
                continue;
            }
            for d in batch {
                // Busy first, then activity: a watcher that sees this receive also sees the worker busy.
                me.busy.fetch_add(1, Ordering::SeqCst);
                me.activity.fetch_add(1, Ordering::SeqCst);
                let w = me.clone();
                running.spawn(async move {
                    let _busy = Unbusy(w.busy.clone());
                    let started = std::time::Instant::now();
                    let handled = w.one(d).await;
                    (handled, started.elapsed().as_secs_f64())
                });
            }
        }
        while let Some(finished) = running.join_next().await {
            tally.add(me.stage, finished);
        }
        (tally.handled, tally.retries, tally.dead, tally.seconds)
    }

    async fn one(&self, d: crate::ports::Delivery) -> Handled {
        let q = &self.ports.queue;
        let message = match Message::parse(self.stage, &d.body) {
            Ok(m) => m,
            Err(e) => {
                let why = format!("a malformed {} message was dropped: {e}", self.stage);
                self.record(&format!("{} queue", self.stage), &why).await;
                let _ = q.ack(self.stage, &d.receipt).await;
                return Handled::GaveUp;
            }
        };
        let subject = message.subject();
        let span =
            tracing::info_span!("message", stage = %self.stage, id = %d.id, subject = %subject, try_ = d.receive_count);
        let ports = self.ports.clone();
        let result =
            tokio::spawn(tracing::Instrument::instrument(async move { stages::handle(&ports, message).await }, span))
                .await;
        let error = match result {
            Ok(Ok(outcome)) => {
                if let Err(e) = q.ack(self.stage, &d.receipt).await {
                    tracing::warn!(stage = %self.stage, "Ack failed (the message will be handled again, harmlessly): {e}");
                }
                self.progress.handled(self.stage, &outcome);
                return Handled::Ok;
            }
            Ok(Err(e)) => (crate::ports::BoxError::from(e.to_string()), e.retry_after),
            Err(panic) => (crate::ports::BoxError::from(format!("the handler crashed: {panic}")), None),
        };
        let (error, retry_after) = error;
        let error = crate::ports::BoxError::from(crate::redact(&error.to_string()));
        if d.receive_count >= self.options.max_receives {
            let why = format!("gave up after {} tries: {error}", d.receive_count);
            if let Err(e) =
                crate::stuck::record_dead_letter(&self.ports, self.stage, &d.id, &d.body, d.receive_count, &why).await
            {
                tracing::error!("Could not record an issue ({why}): {e}");
            }
            self.progress.handled(self.stage, &Outcome::Failed(why));
            // Released at once: the queue moves it to the dead-letter queue on its next receive.
            let _ = q.release(self.stage, &d.receipt, Duration::ZERO).await;
            return Handled::GaveUp;
        }
        let backoff = retry_after.unwrap_or_else(|| {
            let exp = self.options.retry_base.saturating_mul(1 << d.receive_count.clamp(1, 7).saturating_sub(1));
            exp.min(Duration::from_secs(60))
        });
        self.progress.retrying(self.stage, &subject, &error.to_string());
        let _ = q.release(self.stage, &d.receipt, backoff).await;
        Handled::Retry
    }

    async fn record(&self, subject: &str, why: &str) {
        let issue = ProductIssue {
            product: crate::redact(subject),
            stage: self.stage.to_string(),
            fatal: true,
            message: crate::redact(why),
            at_ms: now_ms(),
        };
        if let Err(e) = self.ports.state.record_issue(&issue).await {
            tracing::error!("Could not record an issue ({why}): {e}");
        }
    }
}

enum Handled {
    Ok,
    Retry,
    GaveUp,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::{GenerateMsg, Message};

    /// A message that ran out of receives while its handler was killed each time leaves no failure
    /// behind; the next run notes it as an issue on its product, once.
    #[tokio::test]
    async fn a_dead_letter_with_no_failure_recorded_is_noted_by_the_next_run() {
        let dir = tempfile::tempdir().unwrap();
        let home = crate::homes::embedded::Embedded::open(dir.path(), &crate::config::Config::default()).unwrap();
        let reel = crate::ReelId::parse("tee--0123456789ab").unwrap();
        let body = Message::from(GenerateMsg::new(reel, 0, 1)).to_json();
        let q = &home.ports.queue;
        q.send(Stage::Generate, &body, Duration::ZERO).await.unwrap();
        for _ in 0..=crate::ports::MAX_RECEIVES {
            for d in q.receive(Stage::Generate, 1, Duration::from_secs(60)).await.unwrap() {
                q.release(Stage::Generate, &d.receipt, Duration::ZERO).await.unwrap();
            }
        }
        assert_eq!(q.depth(Stage::Generate).await.unwrap().dead, 1);
        assert!(home.ports.state.issues_since(0).await.unwrap().is_empty());
        for _ in 0..2 {
            drain(&home.ports, &RunOptions::default(), Arc::new(LogProgress::default())).await.unwrap();
        }
        let issues = home.ports.state.issues_since(0).await.unwrap();
        assert_eq!(issues.len(), 1, "noted once: {issues:?}");
        assert_eq!((issues[0].product.as_str(), issues[0].stage.as_str()), ("tee", "generate"));
        for part in ["dead-lettered after 5 receives", "stopped each time", "redrive --stage generate --reel tee--"] {
            assert!(issues[0].message.contains(part), "{part:?}: {}", issues[0].message);
        }
    }

    /// Waiting is not progress: an assembly that asks again for a turn is counted once, when done.
    #[test]
    fn log_progress_counts_a_message_that_waits_only_when_it_is_handled() {
        let p = LogProgress::default();
        for _ in 0..5 {
            p.handled(Stage::Mirror, &Outcome::Waiting("waiting for a turn to assemble".into()));
        }
        p.handled(Stage::Mirror, &Outcome::Done("assembled".into()));
        let done = p.pace.lock().unwrap()[&Stage::Mirror].done;
        assert_eq!(done, 1);
    }

    #[test]
    fn log_progress_estimates_the_time_left_every_ten_seconds() {
        let p = LogProgress::default();
        let start = std::time::Instant::now();
        assert_eq!(p.line(Stage::Crawl, 10_000, start), None, "the first sight starts the clock");
        for _ in 0..40 {
            p.count(Stage::Crawl);
        }
        // Pretend 10 s went by: 40 handled, 4 a second; 9,960 left is 2,490 s, about 42 minutes.
        let pace = p.pace.lock().unwrap().get(&Stage::Crawl).cloned().unwrap();
        let at = pace.since + Duration::from_secs(10);
        let line = p.line(Stage::Crawl, 9_960, at).unwrap();
        assert_eq!(line, "crawl: 40 done, 9960 to go, 4.0/s, about 42 min left");
        assert_eq!(p.line(Stage::Crawl, 9_950, at + Duration::from_secs(3)), None, "not again within 10 s");
        assert!(p.line(Stage::Crawl, 0, at + Duration::from_secs(30)).is_none(), "nothing left, nothing said");
        assert_eq!(human(40.0), "40 s");
        assert_eq!(human(3.5 * 3600.0), "3.5 h");
    }
}
