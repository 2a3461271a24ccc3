//! [`StateStore`] on the embedded SQLite file: JSON records plus the key columns queries need.
//!
//! Records are stored whole as JSON text (`body`) next to the columns they are looked up or
//! ordered by. Every status change is a conditional `UPDATE … WHERE status = ?from` in one
//! immediate transaction with its `reel_history` row, so concurrent writers (other tasks, other
//! store instances, other processes on the same file) see exactly one winner.

use super::sqlite::{self, Db, SqlError};
use crate::ports::{Charge, JobSlot, Listing, ProductIssue, ProviderHold, StateError, StateStore, Unreadable};
use crate::{
    Budget, Clip, ClipOutcome, Facet, Handle, IdempotencyKey, JobId, LedgerEntry, Product, Reel, ReelId, ReelStatus,
    Reference, Tally, Usd, Verdict, now_ms,
};
use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;

/// Embedded state: one SQLite connection, shared by clones of the store.
#[derive(Clone)]
pub struct SqliteStateStore {
    db: Db,
}

impl SqliteStateStore {
    /// Opens (creating and migrating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StateError> {
        Ok(Self { db: Db::new(sqlite::open(path)?) })
    }

    /// Runs `f` on the connection off the async threads.
    async fn run<T, F>(&self, f: F) -> Result<T, StateError>
    where
        F: FnOnce(&mut Connection) -> Result<T, StateError> + Send + 'static,
        T: Send + 'static,
    {
        self.db.call(f).await.map_err(|e| StateError::Backend(Box::new(e)))?
    }
}

/// Wraps a SQLite error with what was being done.
fn sql(context: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> StateError {
    let context = context.into();
    move |source| StateError::Backend(Box::new(SqlError::new(context, source)))
}

/// Serializes a record; a failure here is a bug in a domain type, reported as a backend error.
fn to_json<T: Serialize>(what: &'static str, id: &str, value: &T) -> Result<String, StateError> {
    serde_json::to_string(value).map_err(|e| StateError::Backend(format!("encoding {what} {id}: {e}").into()))
}

/// Parses a stored record, naming it when it is unreadable.
fn from_json<T: DeserializeOwned>(what: &'static str, id: &str, body: &str) -> Result<T, StateError> {
    serde_json::from_str(body).map_err(|e| StateError::Corrupt { what, id: id.to_string(), reason: e.to_string() })
}

/// Reads `(id, body)` rows and parses each body.
fn read_all<T: DeserializeOwned>(
    conn: &Connection,
    what: &'static str,
    query: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<T>, StateError> {
    let context = || format!("reading {what} records");
    let mut stmt = conn.prepare_cached(query).map_err(sql(context()))?;
    let rows =
        stmt.query_map(args, |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).map_err(sql(context()))?;
    let mut out = Vec::new();
    for row in rows {
        let (id, body) = row.map_err(sql(context()))?;
        out.push(from_json(what, &id, &body)?);
    }
    Ok(out)
}

/// Reads `(id, body)` rows like [`read_all`], but a body that does not parse is named in the
/// listing's `unreadable` instead of failing the whole listing.
fn read_listing<T: DeserializeOwned>(
    conn: &Connection,
    what: &'static str,
    query: &str,
    args: impl rusqlite::Params,
) -> Result<Listing<T>, StateError> {
    let context = || format!("reading {what} records");
    let mut stmt = conn.prepare_cached(query).map_err(sql(context()))?;
    let rows = stmt
        .query_map(args, |r| Ok((r.get::<_, String>(0)?, r.get::<_, rusqlite::types::Value>(1)?)))
        .map_err(sql(context()))?;
    let mut out = Listing::default();
    for row in rows {
        let (id, body) = row.map_err(sql(context()))?;
        let parsed = match body {
            rusqlite::types::Value::Text(body) => from_json(what, &id, &body),
            other => Err(StateError::Corrupt {
                what,
                id: id.clone(),
                reason: format!("the body is {:?}, not text", other.data_type()),
            }),
        };
        match parsed {
            Ok(record) => out.records.push(record),
            Err(StateError::Corrupt { what, id, reason }) => out.unreadable.push(Unreadable { what, id, reason }),
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

fn immediate<'c>(conn: &'c mut Connection, context: &str) -> Result<rusqlite::Transaction<'c>, StateError> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql(context))
}

#[async_trait]
impl StateStore for SqliteStateStore {
    async fn put_product(&self, product: &Product) -> Result<(), StateError> {
        let handle = product.handle.to_string();
        let body = to_json("product", &handle, product)?;
        let updated = product.updated_ms;
        self.run(move |c| {
            c.execute(
                "INSERT INTO products (handle, body, updated_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (handle) DO UPDATE SET body = excluded.body, updated_ms = excluded.updated_ms",
                params![handle, body, updated],
            )
            .map_err(sql(format!("writing product {handle}")))?;
            Ok(())
        })
        .await
    }

    async fn get_product(&self, handle: &Handle) -> Result<Option<Product>, StateError> {
        let handle = handle.to_string();
        self.run(move |c| {
            let body: Option<String> = c
                .query_row("SELECT body FROM products WHERE handle = ?1", [&handle], |r| r.get(0))
                .optional()
                .map_err(sql(format!("reading product {handle}")))?;
            body.map(|b| from_json("product", &handle, &b)).transpose()
        })
        .await
    }

    async fn scan_products(&self) -> Result<Listing<Product>, StateError> {
        self.run(|c| read_listing(c, "product", "SELECT handle, body FROM products ORDER BY handle", [])).await
    }

    async fn put_reference(&self, reference: &Reference) -> Result<(), StateError> {
        let product = reference.product.to_string();
        let sha = reference.sha256.to_string();
        let id = format!("{product}/{sha}");
        let body = to_json("reference", &id, reference)?;
        let position = reference.position;
        self.run(move |c| {
            c.execute(
                "INSERT INTO reference_photos (product, sha256, position, body) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (product, sha256) DO UPDATE SET position = excluded.position, body = excluded.body",
                params![product, sha, position, body],
            )
            .map_err(sql(format!("writing reference {id}")))?;
            Ok(())
        })
        .await
    }

    async fn references(&self, product: &Handle) -> Result<Vec<Reference>, StateError> {
        let product = product.to_string();
        self.run(move |c| {
            read_all(
                c,
                "reference",
                "SELECT product || '/' || sha256, body FROM reference_photos WHERE product = ?1
                 ORDER BY position, sha256",
                [&product],
            )
        })
        .await
    }

    async fn create_reel(&self, reel: &Reel) -> Result<bool, StateError> {
        let id = reel.id.to_string();
        let product = reel.product.to_string();
        let status = reel.status.as_str();
        let body = to_json("reel", &id, reel)?;
        let (created, updated) = (reel.created_ms, reel.updated_ms);
        self.run(move |c| {
            let context = format!("creating reel {id}");
            let tx = immediate(c, &context)?;
            let inserted = tx
                .execute(
                    "INSERT INTO reels (id, product, status, body, created_ms, updated_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO NOTHING",
                    params![id, product, status, body, created, updated],
                )
                .map_err(sql(&context))?;
            if inserted == 0 {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO reel_history (reel, status, at_ms) VALUES (?1, ?2, ?3)",
                params![id, status, now_ms()],
            )
            .map_err(sql(&context))?;
            tx.commit().map_err(sql(&context))?;
            tracing::debug!(reel = %id, "reel created");
            Ok(true)
        })
        .await
    }

    async fn get_reel(&self, id: &ReelId) -> Result<Option<Reel>, StateError> {
        let id = id.to_string();
        self.run(move |c| {
            let body: Option<String> = c
                .query_row("SELECT body FROM reels WHERE id = ?1", [&id], |r| r.get(0))
                .optional()
                .map_err(sql(format!("reading reel {id}")))?;
            body.map(|b| from_json("reel", &id, &b)).transpose()
        })
        .await
    }

    async fn scan_reels(&self) -> Result<Listing<Reel>, StateError> {
        self.run(|c| read_listing(c, "reel", "SELECT id, body FROM reels ORDER BY created_ms, id", [])).await
    }

    async fn transition(&self, reel: &Reel, from: ReelStatus) -> Result<(), StateError> {
        from.check(reel.status)?;
        let now = now_ms();
        let mut stored = reel.clone();
        stored.updated_ms = now.max(reel.updated_ms);
        let id = reel.id.to_string();
        let body = to_json("reel", &id, &stored)?;
        let to = reel.status.as_str();
        self.run(move |c| {
            let context = format!("moving reel {id} from {from} to {to}");
            let tx = immediate(c, &context)?;
            let changed = tx
                .execute(
                    "UPDATE reels SET status = ?1, body = ?2, updated_ms = ?3 WHERE id = ?4 AND status = ?5",
                    params![to, body, stored.updated_ms, id, from.as_str()],
                )
                .map_err(sql(&context))?;
            if changed == 0 {
                let found: Option<String> = tx
                    .query_row("SELECT status FROM reels WHERE id = ?1", [&id], |r| r.get(0))
                    .optional()
                    .map_err(sql(&context))?;
                let found = found.unwrap_or_else(|| "missing".to_string());
                tracing::debug!(reel = %id, expected = %from, %found, "reel transition lost");
                return Err(StateError::Conflict { what: "reel", id, expected: from.to_string(), found });
            }
            tx.execute("INSERT INTO reel_history (reel, status, at_ms) VALUES (?1, ?2, ?3)", params![id, to, now])
                .map_err(sql(&context))?;
            tx.commit().map_err(sql(&context))?;
            tracing::debug!(reel = %id, %from, to, "reel transitioned");
            Ok(())
        })
        .await
    }

    async fn history(&self, id: &ReelId) -> Result<Vec<(ReelStatus, i64)>, StateError> {
        let id = id.to_string();
        self.run(move |c| {
            let context = format!("reading the history of reel {id}");
            let mut stmt = c
                .prepare_cached("SELECT status, at_ms FROM reel_history WHERE reel = ?1 ORDER BY seq")
                .map_err(sql(&context))?;
            let rows =
                stmt.query_map([&id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))).map_err(sql(&context))?;
            let mut out = Vec::new();
            for row in rows {
                let (status, at) = row.map_err(sql(&context))?;
                let status = ReelStatus::parse(&status).ok_or_else(|| StateError::Corrupt {
                    what: "reel history",
                    id: id.clone(),
                    reason: format!("unknown status {status:?}"),
                })?;
                out.push((status, at));
            }
            Ok(out)
        })
        .await
    }

    async fn begin_job(&self, key: &IdempotencyKey, provider: &str) -> Result<JobSlot, StateError> {
        let key = key.to_string();
        let provider = provider.to_string();
        self.run(move |c| {
            let context = format!("claiming job {key}");
            let tx = immediate(c, &context)?;
            let existing: Option<(Option<String>, String, i64)> = tx
                .query_row("SELECT job_id, provider, at_ms FROM jobs WHERE key = ?1", [&key], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()
                .map_err(sql(&context))?;
            let slot = match existing {
                Some((Some(job), provider, _)) => JobSlot::Submitted { job: JobId::new(job), provider },
                Some((None, provider, at_ms)) => JobSlot::Unknown { provider, at_ms },
                None => {
                    tx.execute(
                        "INSERT INTO jobs (key, provider, job_id, at_ms) VALUES (?1, ?2, NULL, ?3)",
                        params![key, provider, now_ms()],
                    )
                    .map_err(sql(&context))?;
                    JobSlot::New
                }
            };
            tx.commit().map_err(sql(&context))?;
            Ok(slot)
        })
        .await
    }

    async fn forget_job(&self, key: &IdempotencyKey) -> Result<bool, StateError> {
        let key = key.to_string();
        self.run(move |c| {
            let n = c
                .execute("DELETE FROM jobs WHERE key = ?1 AND job_id IS NULL", [&key])
                .map_err(sql(&format!("forgetting job {key}")))?;
            Ok(n > 0)
        })
        .await
    }

    async fn acquire_slot(&self, provider: &str, limit: u32, holder: &str, until_ms: i64) -> Result<bool, StateError> {
        let (provider, holder) = (provider.to_string(), holder.to_string());
        self.run(move |c| {
            let context = format!("taking a {provider} slot");
            let tx = immediate(c, &context)?;
            let now = now_ms();
            // Renew our own slot; else take a free or lapsed one among the first `limit`.
            let mut taken = tx
                .execute(
                    "UPDATE provider_slots SET until_ms = ?3 WHERE provider = ?1 AND holder = ?2 AND slot < ?4",
                    params![provider, holder, until_ms, limit],
                )
                .map_err(sql(&context))?
                > 0;
            for slot in 0..limit {
                if taken {
                    break;
                }
                taken = tx
                    .execute(
                        "INSERT INTO provider_slots (provider, slot, holder, until_ms) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (provider, slot) DO UPDATE SET holder = ?3, until_ms = ?4 WHERE until_ms < ?5",
                        params![provider, slot, holder, until_ms, now],
                    )
                    .map_err(sql(&context))?
                    > 0;
            }
            tx.commit().map_err(sql(&context))?;
            Ok(taken)
        })
        .await
    }

    async fn release_slot(&self, provider: &str, _limit: u32, holder: &str) -> Result<(), StateError> {
        let (provider, holder) = (provider.to_string(), holder.to_string());
        self.run(move |c| {
            c.execute("DELETE FROM provider_slots WHERE provider = ?1 AND holder = ?2", params![provider, holder])
                .map_err(sql(&format!("giving back a {provider} slot")))?;
            Ok(())
        })
        .await
    }

    async fn hold_provider(&self, hold: &ProviderHold) -> Result<(), StateError> {
        let hold = hold.clone();
        self.run(move |c| {
            c.execute(
                "INSERT OR IGNORE INTO provider_holds (provider, run, why, at_ms) VALUES (?1, ?2, ?3, ?4)",
                params![hold.provider, hold.run, hold.why, now_ms()],
            )
            .map_err(sql(&format!("holding {}", hold.provider)))?;
            Ok(())
        })
        .await
    }

    async fn provider_hold(&self, provider: &str, run: i64) -> Result<Option<ProviderHold>, StateError> {
        let provider = provider.to_string();
        self.run(move |c| {
            c.query_row(
                "SELECT why FROM provider_holds WHERE provider = ?1 AND run = ?2",
                params![provider, run],
                |r| r.get::<_, String>(0),
            )
            .optional()
            .map(|why| why.map(|why| ProviderHold { provider: provider.clone(), run, why }))
            .map_err(sql(&format!("reading holds on {provider}")))
        })
        .await
    }

    async fn record_job(&self, key: &IdempotencyKey, job: &JobId) -> Result<(), StateError> {
        let key = key.to_string();
        let job = job.to_string();
        self.run(move |c| {
            let context = format!("recording job {job} for {key}");
            let tx = immediate(c, &context)?;
            let changed = tx
                .execute(
                    "UPDATE jobs SET job_id = ?1, at_ms = ?2 WHERE key = ?3 AND (job_id IS NULL OR job_id = ?1)",
                    params![job, now_ms(), key],
                )
                .map_err(sql(&context))?;
            if changed == 0 {
                let found: Option<Option<String>> = tx
                    .query_row("SELECT job_id FROM jobs WHERE key = ?1", [&key], |r| r.get(0))
                    .optional()
                    .map_err(sql(&context))?;
                return Err(match found {
                    None => StateError::NotFound { what: "job", id: key },
                    Some(found) => StateError::Conflict {
                        what: "job",
                        id: key,
                        expected: job,
                        found: found.unwrap_or_else(|| "none".into()),
                    },
                });
            }
            tx.commit().map_err(sql(&context))?;
            Ok(())
        })
        .await
    }

    async fn put_clip(&self, clip: &Clip) -> Result<bool, StateError> {
        let (reel, shot, attempt) = (clip.reel.to_string(), clip.shot, clip.attempt);
        let id = format!("{reel}/shot-{shot}/attempt-{attempt}");
        let body = to_json("clip", &id, clip)?;
        self.run(move |c| {
            let inserted = c
                .execute(
                    "INSERT INTO clips (reel, shot, attempt, body) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (reel, shot, attempt) DO NOTHING",
                    params![reel, shot, attempt, body],
                )
                .map_err(sql(format!("writing clip {id}")))?;
            Ok(inserted == 1)
        })
        .await
    }

    async fn clips(&self, reel: &ReelId) -> Result<Vec<Clip>, StateError> {
        let reel = reel.to_string();
        self.run(move |c| {
            read_all(
                c,
                "clip",
                "SELECT reel || '/shot-' || shot || '/attempt-' || attempt, body FROM clips WHERE reel = ?1
                 ORDER BY shot, attempt",
                [&reel],
            )
        })
        .await
    }

    async fn put_verdict(&self, verdict: &Verdict) -> Result<(), StateError> {
        let (reel, round, judge) = (verdict.reel.to_string(), verdict.round, verdict.judge.clone());
        let id = format!("{reel}/round-{round}/{judge}");
        let body = to_json("verdict", &id, verdict)?;
        let at = verdict.at_ms;
        self.run(move |c| {
            c.execute(
                "INSERT INTO verdicts (reel, round, judge, at_ms, body) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (reel, round, judge) DO UPDATE SET at_ms = excluded.at_ms, body = excluded.body",
                params![reel, round, judge, at, body],
            )
            .map_err(sql(format!("writing verdict {id}")))?;
            Ok(())
        })
        .await
    }

    async fn verdicts(&self, reel: &ReelId) -> Result<Vec<Verdict>, StateError> {
        let reel = reel.to_string();
        self.run(move |c| {
            read_all(
                c,
                "verdict",
                "SELECT reel || '/round-' || round || '/' || judge, body FROM verdicts WHERE reel = ?1
                 ORDER BY round, judge",
                [&reel],
            )
        })
        .await
    }

    async fn charge(&self, entry: &LedgerEntry, budget: &Budget, since_ms: i64) -> Result<Charge, StateError> {
        let key = entry.key.to_string();
        let body = to_json("ledger entry", &key, entry)?;
        let (reel, usd, at) = (entry.reel.to_string(), entry.usd, entry.at_ms);
        let provider = entry.provider.clone();
        let budget = *budget;
        self.run(move |c| {
            let context = format!("charging {key}");
            let tx = immediate(c, &context)?;
            let sum = |sql_text: &str, arg: &dyn rusqlite::ToSql| -> Result<Usd, StateError> {
                tx.query_row(sql_text, [arg], |r| r.get::<_, i64>(0)).map(Usd).map_err(sql(context.clone()))
            };
            let seen: i64 = tx
                .query_row("SELECT COUNT(*) FROM ledger WHERE key = ?1", [&key], |r| r.get(0))
                .map_err(sql(context.clone()))?;
            if seen > 0 {
                return Ok(Charge::AlreadyCharged);
            }
            let reel_spent = sum("SELECT COALESCE(SUM(usd), 0) FROM ledger WHERE reel = ?1", &reel)?;
            if reel_spent + usd > budget.per_reel {
                return Ok(Charge::OverBudget(format!(
                    "the reel's budget of {} would be exceeded ({reel_spent} spent, this call {usd})",
                    budget.per_reel
                )));
            }
            if let Some(limit) = budget.per_run {
                let run_spent = sum("SELECT COALESCE(SUM(usd), 0) FROM ledger WHERE at_ms >= ?1", &since_ms)?;
                if run_spent + usd > limit {
                    return Ok(Charge::OverBudget(format!(
                        "the run's budget of {limit} would be exceeded ({run_spent} spent, this call {usd})"
                    )));
                }
            }
            if let Some(limit) = budget.provider_run {
                let spent = tx
                    .query_row(
                        "SELECT COALESCE(SUM(usd), 0) FROM ledger WHERE at_ms >= ?1
                         AND json_extract(body, '$.provider') = ?2",
                        params![since_ms, provider],
                        |r| r.get::<_, i64>(0),
                    )
                    .map(Usd)
                    .map_err(sql(context.clone()))?;
                if spent + usd > limit {
                    return Ok(Charge::ProviderOverBudget(format!(
                        "{provider}'s budget of {limit} for this run would be exceeded ({spent} spent, this call {usd})"
                    )));
                }
            }
            tx.execute(
                "INSERT INTO ledger (key, reel, usd, at_ms, body) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![key, reel, usd.0, at, body],
            )
            .map_err(sql(context.clone()))?;
            tx.commit().map_err(sql(context))?;
            Ok(Charge::Charged)
        })
        .await
    }

    async fn append_ledger(&self, entry: &LedgerEntry) -> Result<bool, StateError> {
        let key = entry.key.to_string();
        let body = to_json("ledger entry", &key, entry)?;
        let (reel, usd, at) = (entry.reel.to_string(), entry.usd.0, entry.at_ms);
        self.run(move |c| {
            let inserted = c
                .execute(
                    "INSERT INTO ledger (key, reel, usd, at_ms, body) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (key) DO NOTHING",
                    params![key, reel, usd, at, body],
                )
                .map_err(sql(format!("appending ledger entry {key}")))?;
            Ok(inserted == 1)
        })
        .await
    }

    async fn ledger(&self, reel: Option<&ReelId>) -> Result<Vec<LedgerEntry>, StateError> {
        let reel = reel.map(ToString::to_string);
        self.run(move |c| match reel {
            Some(reel) => {
                read_all(c, "ledger entry", "SELECT key, body FROM ledger WHERE reel = ?1 ORDER BY at_ms, key", [&reel])
            }
            None => read_all(c, "ledger entry", "SELECT key, body FROM ledger ORDER BY at_ms, key", []),
        })
        .await
    }

    async fn spent(&self, reel: Option<&ReelId>, since_ms: i64) -> Result<Usd, StateError> {
        let reel = reel.map(ToString::to_string);
        self.run(move |c| {
            let total: i64 = match &reel {
                Some(reel) => {
                    c.query_row("SELECT COALESCE(SUM(usd), 0) FROM ledger WHERE reel = ?1", [reel], |r| r.get(0))
                }
                None => {
                    c.query_row("SELECT COALESCE(SUM(usd), 0) FROM ledger WHERE at_ms >= ?1", [since_ms], |r| r.get(0))
                }
            }
            .map_err(sql(match &reel {
                Some(reel) => format!("summing the ledger of reel {reel}"),
                None => format!("summing the ledger since {since_ms}"),
            }))?;
            Ok(Usd(total))
        })
        .await
    }

    async fn record_issue(&self, issue: &ProductIssue) -> Result<(), StateError> {
        let id = format!("{}/{}", issue.product, issue.stage);
        let body = to_json("issue", &id, issue)?;
        let (product, stage, fatal, at) = (issue.product.clone(), issue.stage.clone(), issue.fatal, issue.at_ms);
        self.run(move |c| {
            c.execute(
                "INSERT INTO issues (product, stage, fatal, at_ms, body) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![product, stage, fatal, at, body],
            )
            .map_err(sql(format!("recording an issue of {id}")))?;
            Ok(())
        })
        .await
    }

    async fn record_outcome(&self, brand: &str, outcome: &ClipOutcome) -> Result<bool, StateError> {
        let (brand, outcome) = (brand.to_string(), outcome.clone());
        self.run(move |c| {
            let context = format!("counting {} for {brand}", outcome.key);
            let tx = immediate(c, &context)?;
            let new = tx
                .execute(
                    "INSERT INTO outcomes (brand, key, passed, at_ms) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                    params![brand, outcome.key, outcome.passed, now_ms()],
                )
                .map_err(sql(&context))?
                == 1;
            if new {
                let (p, f) = if outcome.passed { (1, 0) } else { (0, 1) };
                for (facet, value) in &outcome.facets {
                    tx.execute(
                        "INSERT INTO tallies (brand, facet, value, passed, failed) VALUES (?1, ?2, ?3, ?4, ?5)
                         ON CONFLICT (brand, facet, value)
                         DO UPDATE SET passed = passed + excluded.passed, failed = failed + excluded.failed",
                        params![brand, facet.as_str(), value, p, f],
                    )
                    .map_err(sql(&context))?;
                }
            }
            tx.commit().map_err(sql(&context))?;
            Ok(new)
        })
        .await
    }

    async fn pass_rates(&self, brand: &str) -> Result<Vec<Tally>, StateError> {
        let brand = brand.to_string();
        self.run(move |c| {
            let context = format!("reading the pass rates of {brand}");
            let mut statement = c
                .prepare("SELECT facet, value, passed, failed FROM tallies WHERE brand = ?1 ORDER BY facet, value")
                .map_err(sql(&context))?;
            let rows = statement
                .query_map([&brand], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?))
                })
                .map_err(sql(&context))?;
            let mut out = Vec::new();
            for row in rows {
                let (facet, value, passed, failed) = row.map_err(sql(&context))?;
                // A facet this build does not know (a newer one's) is left out.
                if let Some(facet) = Facet::parse(&facet) {
                    out.push(Tally { facet, value, passed: passed.max(0) as u64, failed: failed.max(0) as u64 });
                }
            }
            Ok(out)
        })
        .await
    }

    async fn scan_issues(&self, since_ms: i64) -> Result<Listing<ProductIssue>, StateError> {
        self.run(move |c| {
            read_listing(
                c,
                "issue",
                "SELECT product || '/' || stage || '#' || id, body FROM issues WHERE at_ms >= ?1 ORDER BY at_ms, id",
                [since_ms],
            )
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{sample_ledger_entry, sample_product, sample_reel};
    use std::sync::Arc;

    fn temp_db() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("truereel.db");
        (dir, path)
    }

    #[tokio::test]
    async fn sqlite_state_passes_the_contract() {
        let (_dir, path) = temp_db();
        let store = SqliteStateStore::open(&path).unwrap();
        crate::contract::state_store_contract(&store).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_contract_runs_share_one_file() {
        let (_dir, path) = temp_db();
        let a = SqliteStateStore::open(&path).unwrap();
        let b = SqliteStateStore::open(&path).unwrap();
        tokio::join!(crate::contract::state_store_contract(&a), crate::contract::state_store_contract(&b));
    }

    #[tokio::test]
    async fn state_survives_reopening_the_file() {
        let (_dir, path) = temp_db();
        let product = sample_product();
        let mut reel = sample_reel(&product);
        {
            let store = SqliteStateStore::open(&path).unwrap();
            store.put_product(&product).await.unwrap();
            store.create_reel(&reel).await.unwrap();
            reel.status = ReelStatus::Generating;
            store.transition(&reel, ReelStatus::Planned).await.unwrap();
            assert_eq!(
                store.begin_job(&IdempotencyKey::for_reel(&reel.id, "tts"), "espeak").await.unwrap(),
                JobSlot::New
            );
            store.append_ledger(&sample_ledger_entry(&reel.id, Usd(42), 1)).await.unwrap();
        }
        let store = SqliteStateStore::open(&path).unwrap();
        assert_eq!(store.get_product(&product.handle).await.unwrap(), Some(product));
        assert_eq!(store.get_reel(&reel.id).await.unwrap().unwrap().status, ReelStatus::Generating);
        let statuses: Vec<_> = store.history(&reel.id).await.unwrap().into_iter().map(|(s, _)| s).collect();
        assert_eq!(statuses, vec![ReelStatus::Planned, ReelStatus::Generating]);
        assert!(
            matches!(
                store.begin_job(&IdempotencyKey::for_reel(&reel.id, "tts"), "espeak").await.unwrap(),
                JobSlot::Unknown { provider, .. } if provider == "espeak"
            ),
            "an intent recorded before a crash is Unknown after it"
        );
        assert_eq!(store.spent(Some(&reel.id), 0).await.unwrap(), Usd(42));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn racing_transitions_on_two_stores_over_one_file_have_one_winner() {
        let (_dir, path) = temp_db();
        let a = Arc::new(SqliteStateStore::open(&path).unwrap());
        let b = Arc::new(SqliteStateStore::open(&path).unwrap());
        crate::contract::racing_transitions_across_instances(a, b).await;
    }

    #[tokio::test]
    async fn unreadable_records_are_skipped_and_named() {
        let (_dir, path) = temp_db();
        let store = SqliteStateStore::open(&path).unwrap();
        let raw = sqlite::open(&path).unwrap();
        let raw = &raw;
        crate::contract::unreadable_records_are_skipped_and_named(&store, |broken| async move {
            use crate::contract::Broken;
            let changed = match broken {
                Broken::Product(h) => {
                    raw.execute("UPDATE products SET body = '{not json' WHERE handle = ?1", [h.as_str()])
                }
                // Not even text: a body SQLite's loose typing let someone store as a number.
                Broken::Reel(id) => raw.execute("UPDATE reels SET body = 42 WHERE id = ?1", [id.as_str()]),
                Broken::IssuesOf(h) => raw.execute("UPDATE issues SET body = '[]' WHERE product = ?1", [h.as_str()]),
            };
            assert!(changed.unwrap() > 0, "broke a record");
        })
        .await;
    }

    #[tokio::test]
    async fn spent_since_sums_exactly_on_a_fresh_file() {
        let (_dir, path) = temp_db();
        let store = SqliteStateStore::open(&path).unwrap();
        let (r1, r2) = (sample_reel(&sample_product()).id, sample_reel(&sample_product()).id);
        for (reel, usd, at) in [(&r1, 1, 100), (&r1, 20, 200), (&r2, 300, 300), (&r2, 4_000, 99)] {
            store.append_ledger(&sample_ledger_entry(reel, Usd(usd), at)).await.unwrap();
        }
        assert_eq!(store.spent(None, 100).await.unwrap(), Usd(321), "at_ms >= since, over every reel");
        assert_eq!(store.spent(None, 0).await.unwrap(), Usd(4_321));
        assert_eq!(store.spent(None, 301).await.unwrap(), Usd::ZERO);
        assert_eq!(store.spent(Some(&r2), 1_000).await.unwrap(), Usd(4_300), "a reel's sum ignores since");
    }

    #[tokio::test]
    async fn history_rows_need_their_reel() {
        let (_dir, path) = temp_db();
        let _store = SqliteStateStore::open(&path).unwrap();
        let raw = sqlite::open(&path).unwrap();
        let orphan = raw
            .execute("INSERT INTO reel_history (reel, status, at_ms) VALUES ('ghost--000000000000', 'planned', 1)", []);
        assert!(orphan.is_err(), "foreign keys are enforced");
    }
}
