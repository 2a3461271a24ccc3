//! [`StateStore`] on one DynamoDB table: JSON record bodies plus the key and condition attributes.
//!
//! Every record is stored whole as a JSON string (`body`) next to the attributes it is looked up,
//! ordered or conditionally written by. Status changes, job claims, insert-if-absent records and
//! budget charges are conditional writes (single items, or `TransactWriteItems` when a record and
//! its history or counters must change together), so concurrent workers see exactly one winner.
//!
//! # Key design
//!
//! `ord(t)` is an `i64` written as 20 digits offset by 2^63, so strings sort like the numbers.
//!
//! | item | `pk` | `sk` | other attributes | `gsi1pk` / `gsi1sk` | `gsi2pk` / `gsi2sk` |
//! |---|---|---|---|---|---|
//! | product | `PRODUCT#<handle>` | `PRODUCT` | `body` | `TYPE#PRODUCT` / `<handle>` | |
//! | reference | `PRODUCT#<handle>` | `REF#<sha256>` | `body` | | |
//! | reel | `REEL#<id>` | `REEL` | `body`, `status`, `version` (1 at creation, +1 per transition) | `TYPE#REEL` / `ord(created_ms)#<id>` | |
//! | history | `REEL#<id>` | `HISTORY#<version:010>` | `status`, `at_ms` | | |
//! | clip | `REEL#<id>` | `CLIP#<shot:010>#<attempt:010>` | `body` | | |
//! | verdict | `REEL#<id>` | `VERDICT#<round:010>#<judge>` | `body` | | |
//! | reel spend | `REEL#<id>` | `SPEND` | `spent` (micro-USD, the sum of the reel's ledger) | | |
//! | run spend | `RUN#ord(since_ms)` | `SPEND` | `spent` (the sum of the charges made with that run start), `ttl` | | |
//! | job | `JOB#<idempotency key>` | `JOB` | `provider`, `at_ms`, `job_id` (once recorded), `ttl` | | |
//! | ledger entry | `LEDGER#<idempotency key>` | `LEDGER` | `body`, `usd`, `at_ms` | `TYPE#LEDGER` / `ord(at_ms)#<key>` | `REEL#<reel>` / `ord(at_ms)#<key>` |
//! | issue | `ISSUE#<nonce>` | `ISSUE` | `body`, `at_ms` | `TYPE#ISSUE` / `ord(at_ms)#<nonce>` | |
//! | counted clip | `BRAND#<store>` | `OUTCOME#<reel/shot-N/attempt-M>` | `passed` (0/1), `at_ms` | | |
//! | tally | `BRAND#<store>` | `TALLY#<facet>#<value>` | `facet`, `value`, `passed`, `failed` | | |
//!
//! Both indexes project all attributes. `ttl` (epoch seconds, 30 days after the last write) lets
//! DynamoDB expire job claims and run counters; expiry is lazy, and an expired claim still read
//! is treated as present (the safe side: never a second paid submission).
//!
//! # Reads
//!
//! Gets and partition queries (a product's references; a reel's history, clips and verdicts; the
//! spend counters) read strongly consistently. The listings go through the indexes, which are
//! eventually consistent on DynamoDB: `list_products`, `list_reels`, `ledger`, `spent(None, _)`
//! and `issues_since` are report paths. Each listing is one `TYPE#…` index partition: fine for a
//! store's catalogue, and no Scan anywhere. Every query follows `LastEvaluatedKey` to the end.
//!
//! # Transitions
//!
//! `transition` reads the reel's `status` and `version`, then writes in one transaction the reel
//! (condition `status = :from AND version = :v`, `version` + 1) and its `HISTORY#<v+1>` item, so
//! the history is ordered even within one millisecond. A failed condition is re-read: a different
//! status is a `Conflict` naming it (or `missing`); the same status means the reel went round the
//! machine and back meanwhile, and the transition is tried again.
//!
//! # Budgets
//!
//! `charge` is one transaction of: the ledger item (`attribute_not_exists(pk)`), the reel's spend
//! counter (`ADD spent :usd` if `spent` stays within the reel budget) and the run's spend counter
//! keyed by `since_ms` (likewise within the run budget, unconditional when there is none). The
//! cancellation reasons say which part refused: the ledger item → `AlreadyCharged`, a counter →
//! `OverBudget` naming the reel's or the run's budget. The run budget therefore counts the charges
//! made with the same run start: the SQLite store's "every ledger entry since `since_ms`" when one
//! run runs at a time and all its charges go through `charge`. `append_ledger` writes the entry and
//! bumps the reel counter together, so `spent(Some(reel))` (the counter) always equals the sum of
//! the reel's ledger. Transactions cancelled only by `TransactionConflict` (another transaction on
//! the same item, which DynamoDB does not queue) are retried with backoff.
//!
//! # Pass rates
//!
//! `record_outcome` is one transaction of the clip's `OUTCOME#` mark (`attribute_not_exists(pk)`)
//! and an `ADD` to each of its facets' tallies: a clip is counted once, however many workers or
//! redeliveries count it. A brand's tallies are one partition query (`TALLY#`).

mod items;
mod table;
#[cfg(test)]
mod tests;

pub use table::create_table;

use crate::ports::{Charge, JobSlot, Listing, ProductIssue, ProviderHold, StateError, StateStore};
use crate::{
    Budget, Clip, ClipOutcome, Facet, Handle, IdempotencyKey, JobId, LedgerEntry, Product, Reel, ReelId, ReelStatus,
    Reference, Tally, Usd, Verdict, now_ms,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};
use items::{
    AT_MS, BODY, GSI1, GSI1PK, GSI1SK, GSI2, GSI2PK, GSI2SK, Item, JOB_ID, Key, PROVIDER, SPENT, STATUS, TTL,
    TYPE_ISSUE, TYPE_LEDGER, TYPE_PRODUCT, TYPE_REEL, USD, VERSION, bodies, body, counter_attr, expiry, n, number_attr,
    optional_string_attr, ord, s, string_attr, to_json,
};
use std::collections::HashMap;
use std::time::Duration;

/// A DynamoDB call that failed, with what was being done and the SDK's whole error chain.
#[derive(Debug, thiserror::Error)]
#[error("{context}: {detail}")]
pub struct DynamoError {
    pub context: String,
    pub detail: String,
}

/// Wraps an SDK error with what was being done.
pub(crate) fn backend<E: std::error::Error>(context: impl Into<String>) -> impl FnOnce(E) -> StateError {
    let context = context.into();
    move |e| StateError::Backend(Box::new(DynamoError { context, detail: DisplayErrorContext(&e).to_string() }))
}

/// Unwraps an SDK builder's result (only a missing required field fails: a bug here).
pub(crate) fn built<T>(result: Result<T, aws_sdk_dynamodb::error::BuildError>, context: &str) -> Result<T, StateError> {
    result.map_err(backend(context))
}

/// The cancellation reason DynamoDB gives an item whose condition failed.
/// Attributes of slot and hold items.
const HOLDER: &str = "holder";
const UNTIL_MS: &str = "until_ms";
const WHY: &str = "why";
const PASSED: &str = "passed";
const FAILED: &str = "failed";
const FACET: &str = "facet";
const VALUE: &str = "value";

const CONDITION_FAILED: &str = "ConditionalCheckFailed";
/// Reasons that only mean "try again": another transaction held an item, or throttling.
const RETRYABLE: [&str; 3] = ["TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"];
/// Tries of a transaction cancelled only for retryable reasons, and of a transition whose reel
/// went round the status machine while it was being written.
const TRIES: u32 = 8;

/// How a transaction ended.
enum Tx {
    Committed,
    /// One reason code per item, in order (`None` for items that were fine).
    Cancelled(Vec<String>),
}

/// Whether item `index` of a cancelled transaction failed its condition.
fn refused(reasons: &[String], index: usize) -> bool {
    reasons.get(index).is_some_and(|r| r == CONDITION_FAILED)
}

fn unexpected(context: &str, reasons: &[String]) -> StateError {
    StateError::Backend(
        DynamoError { context: context.to_string(), detail: format!("transaction cancelled: {reasons:?}") }.into(),
    )
}

/// Sleeps a little longer each try, with jitter, so racing writers spread out.
async fn backoff(attempt: u32) {
    let jitter = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let base = 10u64 << attempt.min(6);
    tokio::time::sleep(Duration::from_millis(base + u64::from(jitter) % base)).await;
}

/// The names and values an expression uses (`#name` → attribute, `:value` → value).
#[derive(Default)]
struct Params {
    names: HashMap<String, String>,
    values: Item,
}

impl Params {
    fn name(mut self, alias: &str, attribute: &str) -> Self {
        self.names.insert(alias.to_string(), attribute.to_string());
        self
    }
    fn value(mut self, alias: &str, value: AttributeValue) -> Self {
        self.values.insert(alias.to_string(), value);
        self
    }
    /// DynamoDB refuses empty maps, so an empty one is left out.
    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }
    fn values(&self) -> Option<Item> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// State on DynamoDB: one table, shared by clones of the store and by every worker.
#[derive(Clone)]
pub struct DynamoStateStore {
    client: Client,
    table: String,
    /// Items per query page (`Limit`); `None` lets DynamoDB fill 1 MB pages.
    page_size: Option<i32>,
}

impl DynamoStateStore {
    /// A store on `table` (made by [`create_table`] or the deployment template).
    pub fn new(sdk: &aws_config::SdkConfig, table: String) -> Self {
        Self { client: Client::new(sdk), table, page_size: None }
    }

    /// Caps every query page at `items` (DynamoDB's `Limit`); queries still read to the end.
    pub fn with_page_size(mut self, items: i32) -> Self {
        self.page_size = Some(items.max(1));
        self
    }

    // ----- single items -----

    async fn get(&self, key: &Key, what: &str) -> Result<Option<Item>, StateError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key.attributes()))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend(format!("reading {what} {} {}", key.pk, key.sk)))?;
        Ok(out.item)
    }

    /// Puts `item`, only if no item has its key when `if_absent`; `false` if one had.
    async fn put(&self, what: &str, id: &str, item: Item, if_absent: bool) -> Result<bool, StateError> {
        let mut request = self.client.put_item().table_name(&self.table).set_item(Some(item));
        if if_absent {
            request = request.condition_expression("attribute_not_exists(pk)");
        }
        match request.send().await {
            Ok(_) => Ok(true),
            Err(e) if if_absent && e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Ok(false)
            }
            Err(e) => Err(backend(format!("writing {what} {id}"))(e)),
        }
    }

    // ----- queries -----

    /// Runs `query` page by page to the end.
    async fn query_all(&self, context: String, query: QueryFluentBuilder) -> Result<Vec<Item>, StateError> {
        let mut paginator = query.into_paginator();
        if let Some(items) = self.page_size {
            paginator = paginator.page_size(items);
        }
        paginator.items().send().try_collect().await.map_err(backend(context))
    }

    /// The items of partition `pk` whose sort key starts with `prefix`, in sort-key order.
    async fn partition(&self, what: &str, pk: String, prefix: &str) -> Result<Vec<Item>, StateError> {
        let context = format!("reading the {what} records of {pk}");
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":prefix", s(prefix));
        self.query_all(context, query).await
    }

    /// The items listed under `pk` in index `index` (`gsi1` or `gsi2`), in index sort-key order,
    /// from `from` on when given.
    async fn listing(&self, index: &str, pk: &str, from: Option<String>) -> Result<Vec<Item>, StateError> {
        let (pk_attr, sk_attr) = if index == GSI1 { (GSI1PK, GSI1SK) } else { (GSI2PK, GSI2SK) };
        let context = format!("listing {pk} in index {index}");
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .expression_attribute_names("#pk", pk_attr)
            .expression_attribute_values(":pk", s(pk));
        query = match from {
            Some(from) => query
                .key_condition_expression("#pk = :pk AND #sk >= :from")
                .expression_attribute_names("#sk", sk_attr)
                .expression_attribute_values(":from", s(from)),
            None => query.key_condition_expression("#pk = :pk"),
        };
        self.query_all(context, query).await
    }

    // ----- transactions -----

    fn put_op(&self, item: Item, condition: Option<&str>, context: &str) -> Result<TransactWriteItem, StateError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_string));
        Ok(TransactWriteItem::builder().put(built(put.build(), context)?).build())
    }

    fn update_op(
        &self,
        key: &Key,
        update: &str,
        condition: Option<&str>,
        params: &Params,
        context: &str,
    ) -> Result<TransactWriteItem, StateError> {
        let op = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key.attributes()))
            .update_expression(update)
            .set_condition_expression(condition.map(str::to_string))
            .set_expression_attribute_names(params.names())
            .set_expression_attribute_values(params.values());
        Ok(TransactWriteItem::builder().update(built(op.build(), context)?).build())
    }

    /// Runs one transaction, retrying while it is cancelled only for retryable reasons.
    async fn transact(&self, context: &str, ops: Vec<TransactWriteItem>) -> Result<Tx, StateError> {
        let mut attempt = 0;
        loop {
            let sent = self.client.transact_write_items().set_transact_items(Some(ops.clone())).send().await;
            let error = match sent {
                Ok(_) => return Ok(Tx::Committed),
                Err(e) => e,
            };
            let reasons: Vec<String> = match error.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                    c.cancellation_reasons().iter().map(|r| r.code().unwrap_or("None").to_string()).collect()
                }
                _ => return Err(backend(context)(error)),
            };
            let retryable = reasons.iter().any(|r| RETRYABLE.contains(&r.as_str()))
                && !reasons.iter().any(|r| r == CONDITION_FAILED);
            attempt += 1;
            if !retryable || attempt >= TRIES {
                return Ok(Tx::Cancelled(reasons));
            }
            tracing::debug!(context, ?reasons, attempt, "dynamodb transaction raced; retrying");
            backoff(attempt).await;
        }
    }

    // ----- reels -----

    /// The stored status and version of a reel, if it exists.
    async fn reel_head(&self, id: &ReelId) -> Result<Option<(String, i64)>, StateError> {
        let Some(item) = self.get(&Key::reel(id), "reel").await? else { return Ok(None) };
        Ok(Some((string_attr(&item, STATUS, "reel")?.to_string(), number_attr(&item, VERSION, "reel")?)))
    }

    fn history_op(
        &self,
        id: &ReelId,
        version: i64,
        status: ReelStatus,
        context: &str,
    ) -> Result<TransactWriteItem, StateError> {
        let item = Key::history(id, version).item().s(STATUS, status.as_str()).n(AT_MS, now_ms()).build();
        self.put_op(item, Some("attribute_not_exists(pk)"), context)
    }

    /// One try of a transition from `from` at `version`: `false` if the reel's condition failed.
    async fn try_transition(&self, stored: &Reel, from: ReelStatus, version: i64) -> Result<bool, StateError> {
        let id = &stored.id;
        let context = format!("moving reel {id} from {from} to {}", stored.status);
        let params = Params::default()
            .name("#status", STATUS)
            .name("#version", VERSION)
            .name("#body", BODY)
            .value(":from", s(from.as_str()))
            .value(":to", s(stored.status.as_str()))
            .value(":v", n(version))
            .value(":next", n(version + 1))
            .value(":body", s(to_json("reel", id.as_str(), stored)?));
        let reel = self.update_op(
            &Key::reel(id),
            "SET #status = :to, #version = :next, #body = :body",
            Some("#status = :from AND #version = :v"),
            &params,
            &context,
        )?;
        let history = self.history_op(id, version + 1, stored.status, &context)?;
        match self.transact(&context, vec![reel, history]).await? {
            Tx::Committed => Ok(true),
            Tx::Cancelled(reasons) if refused(&reasons, 0) => Ok(false),
            Tx::Cancelled(reasons) => Err(unexpected(&context, &reasons)),
        }
    }

    // ----- budgets -----

    /// The ledger item of `entry`, written only if its key is new.
    fn ledger_op(&self, entry: &LedgerEntry, context: &str) -> Result<TransactWriteItem, StateError> {
        let key = entry.key.as_str();
        let order = format!("{}#{key}", ord(entry.at_ms));
        let item = Key::ledger(&entry.key)
            .item()
            .gsi1(TYPE_LEDGER, order.clone())
            .gsi2(Key::reel_partition(&entry.reel), order)
            .n(USD, entry.usd.0)
            .n(AT_MS, entry.at_ms)
            .body("ledger entry", key, entry)?
            .build();
        self.put_op(item, Some("attribute_not_exists(pk)"), context)
    }

    /// Adds `usd` to a spend counter; with a `limit`, only if the counter stays within it.
    fn counter_op(
        &self,
        key: &Key,
        usd: Usd,
        limit: Option<Usd>,
        expires: bool,
        context: &str,
    ) -> Result<TransactWriteItem, StateError> {
        let mut params = Params::default().name("#spent", SPENT).value(":usd", n(usd.0));
        let mut update = "ADD #spent :usd".to_string();
        if expires {
            params = params.name("#ttl", TTL).value(":ttl", n(expiry()));
            update.push_str(" SET #ttl = :ttl");
        }
        let condition = limit.map(|limit| {
            let room = limit.0.saturating_sub(usd.0);
            params = std::mem::take(&mut params).value(":room", n(room));
            // A missing counter is 0 spent: within budget exactly when this call alone fits.
            if room >= 0 { "attribute_not_exists(#spent) OR #spent <= :room" } else { "#spent <= :room" }
        });
        self.update_op(key, &update, condition, &params, context)
    }

    /// The words of a refusal by the `whose` ("reel's" or "run's") budget of `limit`.
    async fn refusal(&self, whose: &str, counter: &Key, limit: Usd, usd: Usd) -> Result<String, StateError> {
        let item = self.get(counter, "spend counter").await?;
        let spent = Usd(counter_attr(item.as_ref(), SPENT, "spend counter")?);
        Ok(format!("the {whose} budget of {limit} would be exceeded ({spent} spent, this call {usd})"))
    }
}

/// A job item's slot: `Submitted` once it has a job id, else `Unknown`.
fn job_slot(item: &Item) -> Result<JobSlot, StateError> {
    Ok(match optional_string_attr(item, JOB_ID, "job")? {
        Some(job) => JobSlot::Submitted {
            job: JobId::new(job),
            provider: optional_string_attr(item, PROVIDER, "job")?.unwrap_or_default().to_string(),
        },
        None => JobSlot::Unknown {
            provider: optional_string_attr(item, PROVIDER, "job")?.unwrap_or_default().to_string(),
            at_ms: number_attr(item, AT_MS, "job")?,
        },
    })
}

#[async_trait]
impl StateStore for DynamoStateStore {
    async fn put_product(&self, product: &Product) -> Result<(), StateError> {
        let handle = product.handle.as_str();
        let item =
            Key::product(&product.handle).item().gsi1(TYPE_PRODUCT, handle).body("product", handle, product)?.build();
        self.put("product", handle, item, false).await.map(drop)
    }

    async fn get_product(&self, handle: &Handle) -> Result<Option<Product>, StateError> {
        self.get(&Key::product(handle), "product").await?.map(|item| body(&item, "product")).transpose()
    }

    async fn scan_products(&self) -> Result<Listing<Product>, StateError> {
        Ok(items::listing(&self.listing(GSI1, TYPE_PRODUCT, None).await?, "product"))
    }

    async fn put_reference(&self, reference: &Reference) -> Result<(), StateError> {
        let id = format!("{}/{}", reference.product, reference.sha256);
        let item = Key::reference(&reference.product, &reference.sha256).item().body("reference", &id, reference)?;
        self.put("reference", &id, item.build(), false).await.map(drop)
    }

    async fn references(&self, product: &Handle) -> Result<Vec<Reference>, StateError> {
        let items = self.partition("reference", Key::product_partition(product), items::REF_PREFIX).await?;
        let mut refs: Vec<Reference> = bodies(&items, "reference")?;
        refs.sort_by(|a, b| (a.position, &a.sha256).cmp(&(b.position, &b.sha256)));
        Ok(refs)
    }

    async fn create_reel(&self, reel: &Reel) -> Result<bool, StateError> {
        let id = reel.id.as_str();
        let context = format!("creating reel {id}");
        let item = Key::reel(&reel.id)
            .item()
            .gsi1(TYPE_REEL, format!("{}#{id}", ord(reel.created_ms)))
            .s(STATUS, reel.status.as_str())
            .n(VERSION, 1)
            .body("reel", id, reel)?
            .build();
        let ops = vec![
            self.put_op(item, Some("attribute_not_exists(pk)"), &context)?,
            self.history_op(&reel.id, 1, reel.status, &context)?,
        ];
        match self.transact(&context, ops).await? {
            Tx::Committed => {
                tracing::debug!(reel = %id, "reel created");
                Ok(true)
            }
            Tx::Cancelled(reasons) if refused(&reasons, 0) => Ok(false),
            Tx::Cancelled(reasons) => Err(unexpected(&context, &reasons)),
        }
    }

    async fn get_reel(&self, id: &ReelId) -> Result<Option<Reel>, StateError> {
        self.get(&Key::reel(id), "reel").await?.map(|item| body(&item, "reel")).transpose()
    }

    async fn scan_reels(&self) -> Result<Listing<Reel>, StateError> {
        Ok(items::listing(&self.listing(GSI1, TYPE_REEL, None).await?, "reel"))
    }

    async fn transition(&self, reel: &Reel, from: ReelStatus) -> Result<(), StateError> {
        from.check(reel.status)?;
        let mut stored = reel.clone();
        stored.updated_ms = now_ms().max(reel.updated_ms);
        let conflict = |found: String| {
            tracing::debug!(reel = %reel.id, expected = %from, %found, "reel transition lost");
            StateError::Conflict { what: "reel", id: reel.id.to_string(), expected: from.to_string(), found }
        };
        for _ in 0..TRIES {
            let Some((status, version)) = self.reel_head(&reel.id).await? else {
                return Err(conflict("missing".into()));
            };
            if status != from.as_str() {
                return Err(conflict(status));
            }
            if self.try_transition(&stored, from, version).await? {
                tracing::debug!(reel = %reel.id, %from, to = %reel.status, "reel transitioned");
                return Ok(());
            }
        }
        Err(StateError::Backend(
            format!("moving reel {} from {from}: it kept changing, gave up after {TRIES} tries", reel.id).into(),
        ))
    }

    async fn history(&self, id: &ReelId) -> Result<Vec<(ReelStatus, i64)>, StateError> {
        let items = self.partition("history", Key::reel_partition(id), items::HISTORY_PREFIX).await?;
        items
            .iter()
            .map(|item| {
                let status = string_attr(item, STATUS, "reel history")?;
                let status = ReelStatus::parse(status).ok_or_else(|| StateError::Corrupt {
                    what: "reel history",
                    id: items::record_id(item),
                    reason: format!("unknown status {status:?}"),
                })?;
                Ok((status, number_attr(item, AT_MS, "reel history")?))
            })
            .collect()
    }

    async fn begin_job(&self, key: &IdempotencyKey, provider: &str) -> Result<JobSlot, StateError> {
        let item = Key::job(key).item().s(PROVIDER, provider).n(AT_MS, now_ms()).n(TTL, expiry()).build();
        let sent = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        // The claim exists: read it from the refusal when DynamoDB returns it, else read it.
        let returned = match sent {
            Ok(_) => return Ok(JobSlot::New),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(refusal)) => refusal.item.clone(),
                _ => return Err(backend(format!("claiming job {key}"))(e)),
            },
        };
        let existing = match returned {
            Some(item) => Some(item),
            None => self.get(&Key::job(key), "job").await?,
        };
        // Gone between the two calls only if it expired: a fresh claim is then the caller's.
        match existing {
            Some(item) => job_slot(&item),
            None => self.begin_job(key, provider).await,
        }
    }

    async fn forget_job(&self, key: &IdempotencyKey) -> Result<bool, StateError> {
        let sent = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Key::job(key).attributes()))
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(#job)")
            .expression_attribute_names("#job", JOB_ID)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(backend(format!("forgetting job {key}"))(e)),
        }
    }

    async fn acquire_slot(&self, provider: &str, limit: u32, holder: &str, until_ms: i64) -> Result<bool, StateError> {
        // One item per slot; a conditional put takes a free, lapsed or own slot, so two Lambdas racing
        // for the last one cannot both win. Starting at a slot picked by the holder spreads the tries.
        let start = holder.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32)) % limit.max(1);
        for i in 0..limit {
            let slot = (start + i) % limit;
            let item = Key::slot(provider, slot).item().s(HOLDER, holder).n(UNTIL_MS, until_ms).build();
            let sent = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk) OR #until < :now OR #holder = :holder")
                .expression_attribute_names("#until", UNTIL_MS)
                .expression_attribute_names("#holder", HOLDER)
                .expression_attribute_values(":now", n(now_ms()))
                .expression_attribute_values(":holder", s(holder))
                .send()
                .await;
            match sent {
                Ok(_) => return Ok(true),
                Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {}
                Err(e) => return Err(backend(format!("taking {provider} slot {slot}"))(e)),
            }
        }
        Ok(false)
    }

    async fn release_slot(&self, provider: &str, limit: u32, holder: &str) -> Result<(), StateError> {
        for slot in 0..limit {
            let sent = self
                .client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(Key::slot(provider, slot).attributes()))
                .condition_expression("#holder = :holder")
                .expression_attribute_names("#holder", HOLDER)
                .expression_attribute_values(":holder", s(holder))
                .send()
                .await;
            match sent {
                Ok(_) => return Ok(()),
                Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {}
                Err(e) => return Err(backend(format!("giving back {provider} slot {slot}"))(e)),
            }
        }
        Ok(())
    }

    async fn hold_provider(&self, hold: &ProviderHold) -> Result<(), StateError> {
        let item = Key::hold(&hold.provider, hold.run)
            .item()
            .s(WHY, hold.why.clone())
            .n(AT_MS, now_ms())
            .n(TTL, expiry())
            .build();
        self.put("provider hold", &hold.provider, item, true).await.map(drop)
    }

    async fn provider_hold(&self, provider: &str, run: i64) -> Result<Option<ProviderHold>, StateError> {
        let Some(item) = self.get(&Key::hold(provider, run), "provider hold").await? else { return Ok(None) };
        let why = optional_string_attr(&item, WHY, "provider hold")?.unwrap_or_default().to_string();
        Ok(Some(ProviderHold { provider: provider.to_string(), run, why }))
    }

    async fn record_job(&self, key: &IdempotencyKey, job: &JobId) -> Result<(), StateError> {
        let context = format!("recording job {job} for {key}");
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Key::job(key).attributes()))
            .update_expression("SET #job = :job, #at = :now, #ttl = :ttl")
            .condition_expression("attribute_exists(pk) AND (attribute_not_exists(#job) OR #job = :job)")
            .expression_attribute_names("#job", JOB_ID)
            .expression_attribute_names("#at", AT_MS)
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_values(":job", s(job.as_str()))
            .expression_attribute_values(":now", n(now_ms()))
            .expression_attribute_values(":ttl", n(expiry()))
            .send()
            .await;
        match sent {
            Ok(_) => return Ok(()),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {}
            Err(e) => return Err(backend(context)(e)),
        }
        match self.get(&Key::job(key), "job").await? {
            None => Err(StateError::NotFound { what: "job", id: key.to_string() }),
            Some(item) => {
                let found = optional_string_attr(&item, JOB_ID, "job")?.unwrap_or("none").to_string();
                Err(StateError::Conflict { what: "job", id: key.to_string(), expected: job.to_string(), found })
            }
        }
    }

    async fn put_clip(&self, clip: &Clip) -> Result<bool, StateError> {
        let id = format!("{}/shot-{}/attempt-{}", clip.reel, clip.shot, clip.attempt);
        let item = Key::clip(&clip.reel, clip.shot, clip.attempt).item().body("clip", &id, clip)?.build();
        self.put("clip", &id, item, true).await
    }

    async fn clips(&self, reel: &ReelId) -> Result<Vec<Clip>, StateError> {
        bodies(&self.partition("clip", Key::reel_partition(reel), items::CLIP_PREFIX).await?, "clip")
    }

    async fn put_verdict(&self, verdict: &Verdict) -> Result<(), StateError> {
        let id = format!("{}/round-{}/{}", verdict.reel, verdict.round, verdict.judge);
        let key = Key::verdict(&verdict.reel, verdict.round, &verdict.judge);
        let item = key.item().n(AT_MS, verdict.at_ms).body("verdict", &id, verdict)?.build();
        self.put("verdict", &id, item, false).await.map(drop)
    }

    async fn verdicts(&self, reel: &ReelId) -> Result<Vec<Verdict>, StateError> {
        bodies(&self.partition("verdict", Key::reel_partition(reel), items::VERDICT_PREFIX).await?, "verdict")
    }

    async fn charge(&self, entry: &LedgerEntry, budget: &Budget, since_ms: i64) -> Result<Charge, StateError> {
        let context = format!("charging {}", entry.key);
        let (reel_counter, run_counter) = (Key::reel_spend(&entry.reel), Key::run_spend(since_ms));
        let provider_counter = Key::provider_spend(&entry.provider, since_ms);
        let mut ops = vec![
            self.ledger_op(entry, &context)?,
            self.counter_op(&reel_counter, entry.usd, Some(budget.per_reel), false, &context)?,
            self.counter_op(&run_counter, entry.usd, budget.per_run, true, &context)?,
        ];
        if budget.provider_run.is_some() {
            ops.push(self.counter_op(&provider_counter, entry.usd, budget.provider_run, true, &context)?);
        }
        let Tx::Cancelled(reasons) = self.transact(&context, ops).await? else {
            tracing::debug!(key = %entry.key, usd = %entry.usd, "charged");
            return Ok(Charge::Charged);
        };
        let outcome = if refused(&reasons, 0) {
            Charge::AlreadyCharged
        } else if refused(&reasons, 1) {
            Charge::OverBudget(self.refusal("reel's", &reel_counter, budget.per_reel, entry.usd).await?)
        } else if let (true, Some(limit)) = (refused(&reasons, 2), budget.per_run) {
            Charge::OverBudget(self.refusal("run's", &run_counter, limit, entry.usd).await?)
        } else if let (true, Some(limit)) = (refused(&reasons, 3), budget.provider_run) {
            let whose = format!("{}'s run", entry.provider);
            Charge::ProviderOverBudget(self.refusal(&whose, &provider_counter, limit, entry.usd).await?)
        } else {
            return Err(unexpected(&context, &reasons));
        };
        tracing::debug!(key = %entry.key, usd = %entry.usd, ?outcome, "not charged");
        Ok(outcome)
    }

    async fn append_ledger(&self, entry: &LedgerEntry) -> Result<bool, StateError> {
        let context = format!("appending ledger entry {}", entry.key);
        let ops = vec![
            self.ledger_op(entry, &context)?,
            self.counter_op(&Key::reel_spend(&entry.reel), entry.usd, None, false, &context)?,
        ];
        match self.transact(&context, ops).await? {
            Tx::Committed => Ok(true),
            Tx::Cancelled(reasons) if refused(&reasons, 0) => Ok(false),
            Tx::Cancelled(reasons) => Err(unexpected(&context, &reasons)),
        }
    }

    async fn ledger(&self, reel: Option<&ReelId>) -> Result<Vec<LedgerEntry>, StateError> {
        let items = match reel {
            Some(reel) => self.listing(GSI2, &Key::reel_partition(reel), None).await?,
            None => self.listing(GSI1, TYPE_LEDGER, None).await?,
        };
        bodies(&items, "ledger entry")
    }

    async fn spent(&self, reel: Option<&ReelId>, since_ms: i64) -> Result<Usd, StateError> {
        if let Some(reel) = reel {
            let counter = self.get(&Key::reel_spend(reel), "spend counter").await?;
            return counter_attr(counter.as_ref(), SPENT, "spend counter").map(Usd);
        }
        let items = self.listing(GSI1, TYPE_LEDGER, Some(ord(since_ms))).await?;
        items.iter().try_fold(Usd::ZERO, |sum, item| Ok(sum + Usd(number_attr(item, USD, "ledger entry")?)))
    }

    async fn record_issue(&self, issue: &ProductIssue) -> Result<(), StateError> {
        let nonce = items::nonce();
        let id = format!("{}/{}/{nonce}", issue.product, issue.stage);
        let item = Key::issue(&nonce)
            .item()
            .gsi1(TYPE_ISSUE, format!("{}#{nonce}", ord(issue.at_ms)))
            .n(AT_MS, issue.at_ms)
            .body("issue", &id, issue)?
            .build();
        self.put("issue", &id, item, true).await.map(drop)
    }

    async fn record_outcome(&self, brand: &str, outcome: &ClipOutcome) -> Result<bool, StateError> {
        let context = format!("counting {} for {brand}", outcome.key);
        let mark =
            Key::outcome(brand, &outcome.key).item().n(PASSED, i64::from(outcome.passed)).n(AT_MS, now_ms()).build();
        let mut ops = vec![self.put_op(mark, Some("attribute_not_exists(pk)"), &context)?];
        let (p, f) = if outcome.passed { (1, 0) } else { (0, 1) };
        for (facet, value) in &outcome.facets {
            let params = Params::default()
                .name("#passed", PASSED)
                .name("#failed", FAILED)
                .name("#facet", FACET)
                .name("#value", VALUE)
                .value(":p", n(p))
                .value(":f", n(f))
                .value(":facet", s(facet.as_str()))
                .value(":value", s(value.as_str()));
            let key = Key::tally(brand, facet.as_str(), value);
            let update = "ADD #passed :p, #failed :f SET #facet = :facet, #value = :value";
            ops.push(self.update_op(&key, update, None, &params, &context)?);
        }
        match self.transact(&context, ops).await? {
            Tx::Committed => Ok(true),
            Tx::Cancelled(reasons) if refused(&reasons, 0) => Ok(false),
            Tx::Cancelled(reasons) => Err(unexpected(&context, &reasons)),
        }
    }

    async fn pass_rates(&self, brand: &str) -> Result<Vec<Tally>, StateError> {
        let items = self.partition("tally", Key::brand_partition(brand), items::TALLY_PREFIX).await?;
        let mut out = Vec::with_capacity(items.len());
        for item in &items {
            // A facet this build does not know (a newer one's) is left out.
            let Some(facet) = Facet::parse(string_attr(item, FACET, "tally")?) else { continue };
            out.push(Tally {
                facet,
                value: string_attr(item, VALUE, "tally")?.to_string(),
                passed: counter_attr(Some(item), PASSED, "tally")?.max(0) as u64,
                failed: counter_attr(Some(item), FAILED, "tally")?.max(0) as u64,
            });
        }
        Ok(out)
    }

    async fn scan_issues(&self, since_ms: i64) -> Result<Listing<ProductIssue>, StateError> {
        Ok(items::listing(&self.listing(GSI1, TYPE_ISSUE, Some(ord(since_ms))).await?, "issue"))
    }
}
