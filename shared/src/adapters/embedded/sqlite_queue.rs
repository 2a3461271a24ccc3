//! [`Queue`] on the embedded SQLite file: one logical queue per [`Stage`], with SQS semantics.
//!
//! A message is *visible* when `visible_at_ms <= now`. Receiving one (in send order) hides it for the
//! visibility timeout, counts the receive and gives it a fresh random receipt; only the latest receipt
//! can ack or release it. A message that was already received `max_receives` times is moved to
//! `dead_letters` by the next receive instead of being delivered again. `leased` marks messages a
//! receiver holds (received and neither acked nor released), which is what [`SqliteQueue::recover_in_flight`]
//! hands back after a crash; messages released with a delay keep their delay.

use super::sqlite::{self, Db, SqlError, millis};
use crate::now_ms;
use crate::ports::{DeadLetter, Delivery, Pick, Queue, QueueDepth, QueueError, Stage};
use async_trait::async_trait;
use rusqlite::{Connection, TransactionBehavior, params};
use std::hash::{BuildHasher, Hasher};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The stage that errors not tied to one stage (opening, recovery) are reported under:
/// [`QueueError::Backend`] requires one. The error's own message says it concerns every stage.
const ANY_STAGE: Stage = Stage::Crawl;

/// Durable stage queues in SQLite; clones share one connection.
#[derive(Clone)]
pub struct SqliteQueue {
    db: Db,
    max_receives: u32,
}

fn backend(stage: Stage, context: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> QueueError {
    let context = context.into();
    move |source| QueueError::Backend { stage, source: Box::new(SqlError::new(context, source)) }
}

/// A fresh receipt: 128 bits from two randomly keyed SipHash states over a counter, the clock and the pid.
fn new_receipt() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let word = |salt: u8| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u8(salt);
        h.write_u64(n);
        h.write_u128(nanos);
        h.write_u32(std::process::id());
        h.finish()
    };
    format!("{:016x}{:016x}", word(1), word(2))
}

impl SqliteQueue {
    /// Opens (creating and migrating if needed) the database at `path`. A message is dead-lettered
    /// instead of being delivered a `max_receives + 1`-th time.
    pub fn open(path: &Path, max_receives: u32) -> Result<Self, QueueError> {
        let conn = sqlite::open_connection(path)
            .map_err(|e| QueueError::Backend { stage: ANY_STAGE, source: format!("every stage: {e}").into() })?;
        Ok(Self { db: Db::new(conn), max_receives: max_receives.max(1) })
    }

    async fn run<T, F>(&self, stage: Stage, f: F) -> Result<T, QueueError>
    where
        F: FnOnce(&mut Connection) -> Result<T, QueueError> + Send + 'static,
        T: Send + 'static,
    {
        self.db.call(f).await.map_err(|e| QueueError::Backend { stage, source: Box::new(e) })?
    }

    /// Makes every message a receiver still holds visible now, for a runner that starts after a crash
    /// (the previous holder is known dead: only the runner holding `runner.lock` receives). Returns how
    /// many. The receive that a killed runner held does not count as a failed try: it is taken back, so
    /// a run killed over and over does not push its messages into the dead letters.
    pub async fn recover_in_flight(&self) -> Result<u64, QueueError> {
        let n = self
            .run(ANY_STAGE, |c| {
                let now = now_ms();
                c.execute(
                    "UPDATE messages SET visible_at_ms = MIN(visible_at_ms, ?1), leased = 0,
                     receive_count = MAX(receive_count - 1, 0) WHERE leased = 1",
                    [now],
                )
                .map_err(backend(ANY_STAGE, "recovering in-flight messages of every stage"))
            })
            .await? as u64;
        if n > 0 {
            tracing::info!(messages = n, "recovered in-flight messages after a restart");
        }
        Ok(n)
    }

    /// Every message not yet handled (visible, delayed or held), by stage, oldest first: what `status`
    /// reads to tell a reel that waits from one that nothing will move.
    pub async fn pending(&self) -> Result<Vec<(Stage, String)>, QueueError> {
        self.run(ANY_STAGE, |c| {
            let context = "reading the pending messages of every stage";
            let mut stmt = c
                .prepare_cached("SELECT stage, body FROM messages ORDER BY id")
                .map_err(backend(ANY_STAGE, context))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .map_err(backend(ANY_STAGE, context))?;
            let mut out = Vec::new();
            for row in rows {
                let (stage, body) = row.map_err(backend(ANY_STAGE, context))?;
                if let Some(stage) = Stage::parse(&stage) {
                    out.push((stage, body));
                }
            }
            Ok(out)
        })
        .await
    }

    /// When the next message of any stage is or becomes visible (possibly already past), `None` when
    /// no message is waiting. Runners sleep until then.
    pub async fn next_visible_at_ms(&self) -> Result<Option<i64>, QueueError> {
        self.run(ANY_STAGE, |c| {
            c.query_row("SELECT MIN(visible_at_ms) FROM messages", [], |r| r.get(0))
                .map_err(backend(ANY_STAGE, "finding the next visible message of every stage"))
        })
        .await
    }
}

#[async_trait]
impl Queue for SqliteQueue {
    fn exact_depth(&self) -> bool {
        true
    }

    async fn send(&self, stage: Stage, body: &str, delay: Duration) -> Result<(), QueueError> {
        let body = body.to_string();
        self.run(stage, move |c| {
            let now = now_ms();
            c.execute(
                "INSERT INTO messages (stage, body, visible_at_ms, sent_ms) VALUES (?1, ?2, ?3, ?4)",
                params![stage.as_str(), body, now.saturating_add(millis(delay)), now],
            )
            .map_err(backend(stage, "sending a message"))?;
            Ok(())
        })
        .await
    }

    async fn receive(&self, stage: Stage, max: usize, visibility: Duration) -> Result<Vec<Delivery>, QueueError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let max_receives = self.max_receives;
        self.run(stage, move |c| {
            let context = format!("receiving up to {max} messages");
            let err = || backend(stage, &context);
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err())?;
            let now = now_ms();
            let hidden_until = now.saturating_add(millis(visibility));
            let mut out = Vec::with_capacity(max.min(64));
            // Walk visible messages in send order; a cursor keeps a zero visibility from re-reading them.
            let mut after = 0i64;
            while out.len() < max {
                let batch: Vec<(i64, String, u32, i64)> = {
                    let mut stmt = tx
                        .prepare_cached(
                            "SELECT id, body, receive_count, sent_ms FROM messages
                             WHERE stage = ?1 AND visible_at_ms <= ?2 AND id > ?3 ORDER BY id LIMIT ?4",
                        )
                        .map_err(err())?;
                    let limit = i64::try_from(max - out.len()).unwrap_or(i64::MAX);
                    stmt.query_map(params![stage.as_str(), now, after, limit], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                    })
                    .map_err(err())?
                    .collect::<Result<_, _>>()
                    .map_err(err())?
                };
                let Some(last) = batch.last() else { break };
                after = last.0;
                for (id, body, count, sent) in batch {
                    if count >= max_receives {
                        tx.execute(
                            "INSERT INTO dead_letters (id, stage, body, receive_count, sent_ms, dead_ms)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                            params![id, stage.as_str(), body, count, sent, now],
                        )
                        .map_err(err())?;
                        tx.execute("DELETE FROM messages WHERE id = ?1", [id]).map_err(err())?;
                        tracing::warn!(%stage, message = id, receives = count, "message dead-lettered");
                        continue;
                    }
                    let receipt = new_receipt();
                    tx.execute(
                        "UPDATE messages SET receive_count = receive_count + 1, receipt = ?1, leased = 1,
                         visible_at_ms = ?2 WHERE id = ?3",
                        params![receipt, hidden_until, id],
                    )
                    .map_err(err())?;
                    out.push(Delivery { id: id.to_string(), receipt, body, receive_count: count + 1 });
                }
            }
            tx.commit().map_err(err())?;
            Ok(out)
        })
        .await
    }

    async fn ack(&self, stage: Stage, receipt: &str) -> Result<(), QueueError> {
        let receipt = receipt.to_string();
        self.run(stage, move |c| {
            let n = c
                .execute("DELETE FROM messages WHERE stage = ?1 AND receipt = ?2", params![stage.as_str(), receipt])
                .map_err(backend(stage, format!("acking receipt {receipt}")))?;
            if n == 0 {
                return Err(QueueError::StaleReceipt { stage, receipt });
            }
            Ok(())
        })
        .await
    }

    async fn release(&self, stage: Stage, receipt: &str, delay: Duration) -> Result<(), QueueError> {
        let receipt = receipt.to_string();
        self.run(stage, move |c| {
            let n = c
                .execute(
                    "UPDATE messages SET visible_at_ms = ?1, leased = 0 WHERE stage = ?2 AND receipt = ?3",
                    params![now_ms().saturating_add(millis(delay)), stage.as_str(), receipt],
                )
                .map_err(backend(stage, format!("releasing receipt {receipt}")))?;
            if n == 0 {
                return Err(QueueError::StaleReceipt { stage, receipt });
            }
            Ok(())
        })
        .await
    }

    async fn depth(&self, stage: Stage) -> Result<QueueDepth, QueueError> {
        self.run(stage, move |c| {
            let context = "counting messages";
            let (visible, delayed, in_flight): (i64, i64, i64) = c
                .query_row(
                    "SELECT COALESCE(SUM(visible_at_ms <= ?2), 0),
                            COALESCE(SUM(visible_at_ms > ?2 AND receive_count = 0), 0),
                            COALESCE(SUM(visible_at_ms > ?2 AND receive_count > 0), 0)
                     FROM messages WHERE stage = ?1",
                    params![stage.as_str(), now_ms()],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .map_err(backend(stage, context))?;
            let dead: i64 = c
                .query_row("SELECT COUNT(*) FROM dead_letters WHERE stage = ?1", [stage.as_str()], |r| r.get(0))
                .map_err(backend(stage, context))?;
            Ok(QueueDepth {
                visible: visible as u64,
                delayed: delayed as u64,
                in_flight: in_flight as u64,
                dead: dead as u64,
            })
        })
        .await
    }

    async fn dead_letters(&self, stage: Stage, max: usize) -> Result<Vec<DeadLetter>, QueueError> {
        self.run(stage, move |c| {
            let context = format!("reading dead letters of {stage}");
            let mut stmt = c
                .prepare_cached(
                    "SELECT id, body, receive_count FROM dead_letters WHERE stage = ?1 ORDER BY id LIMIT ?2",
                )
                .map_err(backend(stage, &context))?;
            let limit = i64::try_from(max).unwrap_or(i64::MAX);
            let rows = stmt
                .query_map(params![stage.as_str(), limit], |r| {
                    Ok(DeadLetter { id: r.get::<_, i64>(0)?.to_string(), body: r.get(1)?, receive_count: r.get(2)? })
                })
                .map_err(backend(stage, &context))?;
            rows.collect::<Result<Vec<_>, _>>().map_err(backend(stage, &context))
        })
        .await
    }

    async fn redrive(&self, stage: Stage, pick: Pick<'_>) -> Result<u64, QueueError> {
        // Read, then move the picked rows in one transaction (the filter runs outside SQLite's thread).
        let dead = self.dead_letters(stage, usize::MAX).await?;
        let ids: Vec<i64> = dead.iter().filter(|d| pick(&d.body)).filter_map(|d| d.id.parse().ok()).collect();
        if ids.is_empty() {
            return Ok(0);
        }
        let moved = self
            .run(stage, move |c| {
                let err = || backend(stage, "sending dead letters back");
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err())?;
                let now = now_ms();
                let mut moved = 0u64;
                for id in ids {
                    // A new message (a new id, at the back of the queue) with no receives counted, as SQS does.
                    let n = tx
                        .execute(
                            "INSERT INTO messages (stage, body, visible_at_ms, receive_count, sent_ms)
                             SELECT stage, body, ?1, 0, ?1 FROM dead_letters WHERE id = ?2 AND stage = ?3",
                            params![now, id, stage.as_str()],
                        )
                        .map_err(err())?;
                    tx.execute("DELETE FROM dead_letters WHERE id = ?1 AND stage = ?2", params![id, stage.as_str()])
                        .map_err(err())?;
                    moved += n as u64;
                }
                tx.commit().map_err(err())?;
                Ok(moved)
            })
            .await?;
        tracing::info!(%stage, messages = moved, "dead letters sent back to their queue");
        Ok(moved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    const MINUTE: Duration = Duration::from_secs(60);

    fn temp_db() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("truereel.db");
        (dir, path)
    }

    #[tokio::test]
    async fn sqlite_queue_passes_the_contract() {
        let (_dir, path) = temp_db();
        let queue = SqliteQueue::open(&path, 3).unwrap();
        crate::contract::queue_contract(&queue, 3, crate::contract::QueueCapabilities::STRICT).await;
        assert!(
            queue.dead_letters(Stage::Evaluate, 10).await.unwrap().is_empty(),
            "the contract redrove its dead letter"
        );
    }

    #[tokio::test]
    async fn receive_delivers_in_send_order_up_to_max() {
        let (_dir, path) = temp_db();
        let q = SqliteQueue::open(&path, 5).unwrap();
        for body in ["a", "b", "c"] {
            q.send(Stage::Plan, body, Duration::ZERO).await.unwrap();
        }
        q.send(Stage::Crawl, "other stage", Duration::ZERO).await.unwrap();
        let got: Vec<_> = q.receive(Stage::Plan, 2, MINUTE).await.unwrap().into_iter().map(|d| d.body).collect();
        assert_eq!(got, vec!["a", "b"]);
        let got: Vec<_> = q.receive(Stage::Plan, 10, MINUTE).await.unwrap().into_iter().map(|d| d.body).collect();
        assert_eq!(got, vec!["c"], "stages are separate queues");
        assert!(q.receive(Stage::Plan, 0, MINUTE).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn zero_visibility_does_not_deliver_a_message_twice_in_one_receive() {
        let (_dir, path) = temp_db();
        let q = SqliteQueue::open(&path, 5).unwrap();
        q.send(Stage::Mirror, "once", Duration::ZERO).await.unwrap();
        let got = q.receive(Stage::Mirror, 10, Duration::ZERO).await.unwrap();
        assert_eq!(got.len(), 1);
        let again = q.receive(Stage::Mirror, 10, Duration::ZERO).await.unwrap();
        assert_eq!(again.len(), 1, "visible again at once");
        assert_eq!(again[0].receive_count, 2);
    }

    #[tokio::test]
    async fn queues_survive_reopening_the_file() {
        let (_dir, path) = temp_db();
        {
            let q = SqliteQueue::open(&path, 5).unwrap();
            q.send(Stage::Generate, "job-1", Duration::ZERO).await.unwrap();
            q.send(Stage::Generate, "job-2", MINUTE).await.unwrap();
        }
        let q = SqliteQueue::open(&path, 5).unwrap();
        let depth = q.depth(Stage::Generate).await.unwrap();
        assert_eq!(depth, QueueDepth { visible: 1, delayed: 1, in_flight: 0, dead: 0 });
        let got = q.receive(Stage::Generate, 10, MINUTE).await.unwrap();
        assert_eq!(got.iter().map(|d| d.body.as_str()).collect::<Vec<_>>(), vec!["job-1"]);
    }

    #[tokio::test]
    async fn an_unacked_message_is_redelivered_after_a_crash_like_drop() {
        let (_dir, path) = temp_db();
        let first = {
            let q = SqliteQueue::open(&path, 5).unwrap();
            q.send(Stage::Evaluate, "judge me", Duration::ZERO).await.unwrap();
            let got = q.receive(Stage::Evaluate, 1, Duration::from_millis(300)).await.unwrap();
            assert_eq!(got.len(), 1);
            got.into_iter().next().unwrap()
            // The queue is dropped without acking: the process "crashed".
        };
        let q = SqliteQueue::open(&path, 5).unwrap();
        assert!(q.receive(Stage::Evaluate, 1, MINUTE).await.unwrap().is_empty(), "still hidden right after");
        tokio::time::sleep(Duration::from_millis(400)).await;
        let again = q.receive(Stage::Evaluate, 1, MINUTE).await.unwrap();
        assert_eq!(again.len(), 1, "redelivered once the visibility timeout passed");
        assert_eq!((again[0].id.as_str(), again[0].receive_count), (first.id.as_str(), 2));
        assert!(matches!(q.ack(Stage::Evaluate, &first.receipt).await, Err(QueueError::StaleReceipt { .. })));
        q.ack(Stage::Evaluate, &again[0].receipt).await.unwrap();
    }

    #[tokio::test]
    async fn recover_in_flight_returns_held_messages_but_keeps_released_delays() {
        let (_dir, path) = temp_db();
        {
            let q = SqliteQueue::open(&path, 5).unwrap();
            for body in ["held-1", "held-2", "polled", "untouched"] {
                q.send(Stage::Generate, body, Duration::ZERO).await.unwrap();
            }
            let got = q.receive(Stage::Generate, 3, MINUTE).await.unwrap();
            let polled = got.iter().find(|d| d.body == "polled").unwrap();
            q.release(Stage::Generate, &polled.receipt, MINUTE).await.unwrap();
        }
        let q = SqliteQueue::open(&path, 5).unwrap();
        assert_eq!(q.recover_in_flight().await.unwrap(), 2);
        assert_eq!(q.recover_in_flight().await.unwrap(), 0, "recovery is idempotent");
        let mut bodies: Vec<_> = q
            .receive(Stage::Generate, 10, MINUTE)
            .await
            .unwrap()
            .into_iter()
            .map(|d| (d.body, d.receive_count))
            .collect();
        bodies.sort();
        assert_eq!(
            bodies,
            vec![("held-1".into(), 1), ("held-2".into(), 1), ("untouched".into(), 1)],
            "held messages come back without counting the killed runner's receive; the released one keeps its delay"
        );
    }

    #[tokio::test]
    async fn a_runner_killed_over_and_over_does_not_dead_letter_what_it_held() {
        let (_dir, path) = temp_db();
        SqliteQueue::open(&path, 5).unwrap().send(Stage::Generate, "render", Duration::ZERO).await.unwrap();
        for _ in 0..10 {
            // A runner starts, takes back what the last one held, receives the message and is killed.
            let q = SqliteQueue::open(&path, 5).unwrap();
            q.recover_in_flight().await.unwrap();
            let got = q.receive(Stage::Generate, 1, MINUTE).await.unwrap();
            assert_eq!(got.len(), 1, "still delivered after crashes");
            assert_eq!(got[0].receive_count, 1, "a killed runner's receive is not a failed try");
        }
        let q = SqliteQueue::open(&path, 5).unwrap();
        q.recover_in_flight().await.unwrap();
        assert_eq!(
            q.depth(Stage::Generate).await.unwrap(),
            QueueDepth { visible: 1, delayed: 0, in_flight: 0, dead: 0 }
        );
    }

    #[tokio::test]
    async fn dead_letters_keep_body_and_receive_count() {
        let (_dir, path) = temp_db();
        let q = SqliteQueue::open(&path, 2).unwrap();
        q.send(Stage::Crawl, "poison", Duration::ZERO).await.unwrap();
        q.send(Stage::Crawl, "fine", Duration::ZERO).await.unwrap();
        for _ in 0..2 {
            let got = q.receive(Stage::Crawl, 1, Duration::ZERO).await.unwrap();
            assert_eq!(got[0].body, "poison");
        }
        let got = q.receive(Stage::Crawl, 1, MINUTE).await.unwrap();
        assert_eq!(got.len(), 1, "the dead letter does not use up the batch");
        assert_eq!(got[0].body, "fine");
        let dead = q.dead_letters(Stage::Crawl, 10).await.unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!((dead[0].body.as_str(), dead[0].receive_count), ("poison", 2));
        assert!(q.dead_letters(Stage::Plan, 10).await.unwrap().is_empty());
        assert_eq!(q.depth(Stage::Crawl).await.unwrap(), QueueDepth { visible: 0, delayed: 0, in_flight: 1, dead: 1 });
    }

    #[tokio::test]
    async fn next_visible_at_ms_points_at_the_earliest_message() {
        let (_dir, path) = temp_db();
        let q = SqliteQueue::open(&path, 5).unwrap();
        assert_eq!(q.next_visible_at_ms().await.unwrap(), None);
        let before = now_ms();
        q.send(Stage::Plan, "later", Duration::from_secs(120)).await.unwrap();
        q.send(Stage::Mirror, "sooner", Duration::from_secs(30)).await.unwrap();
        let next = q.next_visible_at_ms().await.unwrap().unwrap();
        assert!((before + 30_000..=now_ms() + 30_000).contains(&next), "{next}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn competing_receivers_on_one_file_never_share_a_message() {
        let (_dir, path) = temp_db();
        let a = SqliteQueue::open(&path, 5).unwrap();
        let b = SqliteQueue::open(&path, 5).unwrap();
        for i in 0..200 {
            a.send(Stage::Generate, &format!("m{i}"), Duration::ZERO).await.unwrap();
        }
        let drain = |q: SqliteQueue| {
            tokio::spawn(async move {
                let mut seen = Vec::new();
                loop {
                    let got = q.receive(Stage::Generate, 7, MINUTE).await.unwrap();
                    if got.is_empty() {
                        return seen;
                    }
                    for d in got {
                        q.ack(Stage::Generate, &d.receipt).await.unwrap();
                        seen.push(d.body);
                    }
                }
            })
        };
        let (x, y) = (drain(a.clone()), drain(b));
        let (x, y) = (x.await.unwrap(), y.await.unwrap());
        let all: HashSet<_> = x.iter().chain(&y).collect();
        assert_eq!(x.len() + y.len(), 200, "each message delivered exactly once");
        assert_eq!(all.len(), 200);
        assert_eq!(a.depth(Stage::Generate).await.unwrap().pending(), 0);
    }

    #[test]
    fn receipts_are_unique() {
        let receipts: HashSet<_> = (0..10_000).map(|_| new_receipt()).collect();
        assert_eq!(receipts.len(), 10_000);
        assert!(receipts.iter().all(|r| r.len() == 32));
    }
}
