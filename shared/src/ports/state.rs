//! State: SQLite locally, DynamoDB on AWS. Every status change is a conditional write.

use crate::{
    Budget, Clip, Handle, IdempotencyKey, JobId, LedgerEntry, Product, Reel, ReelId, ReelStatus, Reference,
    TransitionError, Usd, Verdict,
};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Someone else changed the record first; the caller's view is stale.
    #[error("{what} {id}: expected status {expected}, found {found}")]
    Conflict { what: &'static str, id: String, expected: String, found: String },
    #[error("{what} {id} does not exist")]
    NotFound { what: &'static str, id: String },
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("{what} {id} is stored but unreadable: {reason}")]
    Corrupt { what: &'static str, id: String, reason: String },
    #[error("state backend: {0}")]
    Backend(#[source] super::BoxError),
}

/// Where a paid submission stands, by its idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobSlot {
    /// No one tried this yet; the caller now holds the intent and must submit.
    New,
    /// An earlier try recorded its intent (to `provider`, at `at_ms`) but no job id: it may be
    /// submitting right now (a duplicate delivery), or it crashed and may or may not have paid.
    Unknown { provider: String, at_ms: i64 },
    /// The job id is known: poll it (at `provider`), never submit again.
    Submitted { job: JobId, provider: String },
}

/// A provider taken out of a run: its quota or credit ran out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderHold {
    pub provider: String,
    /// The run it holds for (the run's start, `Settings::run_started_ms`).
    pub run: i64,
    pub why: String,
}

/// What [`StateStore::charge`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Charge {
    /// Written: the call may be made.
    Charged,
    /// This key was charged before (a redelivery): nothing written, nothing more spent.
    AlreadyCharged,
    /// Refused; the words say which budget and by how much.
    OverBudget(String),
    /// Refused by the provider's own budget line for the run ([`crate::Budget::provider_run`]):
    /// the next provider of the chain may still be charged.
    ProviderOverBudget(String),
}

/// A stored record that could not be read: which, and why. Listings skip it and name it here, so
/// one bad record never hides the rest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Unreadable {
    /// The kind of record: `product`, `reel`, `issue`.
    pub what: &'static str,
    /// The record's key as stored.
    pub id: String,
    pub reason: String,
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.what, self.id, self.reason)
    }
}

/// What a listing found: the records that could be read, and the ones that could not.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing<T> {
    pub records: Vec<T>,
    pub unreadable: Vec<Unreadable>,
}

impl<T> Default for Listing<T> {
    fn default() -> Self {
        Self { records: Vec::new(), unreadable: Vec::new() }
    }
}

impl<T> Listing<T> {
    /// The records read, each unreadable one logged as a warning.
    pub fn readable(self) -> Vec<T> {
        for u in &self.unreadable {
            tracing::warn!(what = u.what, id = %u.id, reason = %u.reason, "Skipped an unreadable record.");
        }
        self.records
    }
}

/// Something wrong with one product, for the run's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductIssue {
    pub product: String,
    pub stage: String,
    /// `true` when the product got no reel because of it; `false` for a warning.
    pub fatal: bool,
    pub message: String,
    pub at_ms: i64,
}

#[async_trait]
pub trait StateStore: Send + Sync {
    async fn put_product(&self, product: &Product) -> Result<(), StateError>;
    async fn get_product(&self, handle: &Handle) -> Result<Option<Product>, StateError>;
    /// Every product: the readable ones, and the unreadable ones named.
    async fn scan_products(&self) -> Result<Listing<Product>, StateError>;
    /// Every readable product (unreadable ones are skipped with a warning).
    async fn list_products(&self) -> Result<Vec<Product>, StateError> {
        Ok(self.scan_products().await?.readable())
    }

    /// Stores or replaces one product's reference (keyed by product and SHA-256).
    async fn put_reference(&self, reference: &Reference) -> Result<(), StateError>;
    /// A product's references in gallery order.
    async fn references(&self, product: &Handle) -> Result<Vec<Reference>, StateError>;

    /// Creates the reel if no reel with its id exists; `false` if it already did.
    async fn create_reel(&self, reel: &Reel) -> Result<bool, StateError>;
    async fn get_reel(&self, id: &ReelId) -> Result<Option<Reel>, StateError>;
    /// Every reel: the readable ones, and the unreadable ones named.
    async fn scan_reels(&self) -> Result<Listing<Reel>, StateError>;
    /// Every readable reel (unreadable ones are skipped with a warning).
    async fn list_reels(&self) -> Result<Vec<Reel>, StateError> {
        Ok(self.scan_reels().await?.readable())
    }
    /// Writes `reel` (whose status is the new one) only if the stored status is still `from`,
    /// and records the transition in the reel's history. `Conflict` if it is not.
    async fn transition(&self, reel: &Reel, from: ReelStatus) -> Result<(), StateError>;
    /// The statuses a reel went through, oldest first, with when.
    async fn history(&self, id: &ReelId) -> Result<Vec<(ReelStatus, i64)>, StateError>;

    /// Claims the right to submit a paid job for `key` (see [`JobSlot`]).
    async fn begin_job(&self, key: &IdempotencyKey, provider: &str) -> Result<JobSlot, StateError>;
    /// Records the provider's job id for `key`; a second call with another id is a conflict.
    async fn record_job(&self, key: &IdempotencyKey, job: &JobId) -> Result<(), StateError>;
    /// Drops an intent that has no job id, when the provider's answer proved nothing was made (a
    /// 429 on the quota): the key may be claimed again, for another provider. A key with a job id
    /// is kept (`false`).
    async fn forget_job(&self, key: &IdempotencyKey) -> Result<bool, StateError>;

    /// Takes one of `provider`'s `limit` concurrency slots for `holder` until `until_ms` (a lease,
    /// so a crashed worker's slot comes back). Taking a slot the holder already has renews it.
    /// `false`: all taken. Shared by every worker of the backend (DynamoDB across Lambdas).
    async fn acquire_slot(&self, provider: &str, limit: u32, holder: &str, until_ms: i64) -> Result<bool, StateError>;
    /// Gives `holder`'s slot back (nothing if it holds none).
    async fn release_slot(&self, provider: &str, limit: u32, holder: &str) -> Result<(), StateError>;

    /// Takes `hold.provider` out of `hold.run` (the first hold's words are kept).
    async fn hold_provider(&self, hold: &ProviderHold) -> Result<(), StateError>;
    /// The hold on `provider` for `run`, if any.
    async fn provider_hold(&self, provider: &str, run: i64) -> Result<Option<ProviderHold>, StateError>;

    /// Stores a clip if none is stored for its (reel, shot, attempt); `false` if one was.
    async fn put_clip(&self, clip: &Clip) -> Result<bool, StateError>;
    async fn clips(&self, reel: &ReelId) -> Result<Vec<Clip>, StateError>;

    async fn put_verdict(&self, verdict: &Verdict) -> Result<(), StateError>;
    async fn verdicts(&self, reel: &ReelId) -> Result<Vec<Verdict>, StateError>;

    /// Charges a paid call: appends `entry` only if its key is new and the spend stays within
    /// `budget` (the reel's own spend, and everything since `since_ms` for the run), checked and
    /// written in one atomic step so concurrent workers cannot overrun a budget together.
    async fn charge(&self, entry: &LedgerEntry, budget: &Budget, since_ms: i64) -> Result<Charge, StateError>;
    /// Appends a ledger entry unless one with its key exists; `false` if it did.
    async fn append_ledger(&self, entry: &LedgerEntry) -> Result<bool, StateError>;
    async fn ledger(&self, reel: Option<&ReelId>) -> Result<Vec<LedgerEntry>, StateError>;
    /// Spent on one reel, or in all since `since_ms` when `reel` is `None`.
    async fn spent(&self, reel: Option<&ReelId>, since_ms: i64) -> Result<Usd, StateError>;

    /// Counts one judged clip towards `brand`'s pass rates, once per
    /// `outcome.key` whoever counts it: `false` when it was counted before.
    async fn record_outcome(&self, brand: &str, outcome: &crate::ClipOutcome) -> Result<bool, StateError>;
    /// Every tally of `brand`.
    async fn pass_rates(&self, brand: &str) -> Result<Vec<crate::Tally>, StateError>;

    async fn record_issue(&self, issue: &ProductIssue) -> Result<(), StateError>;
    /// The issues recorded at or after `since_ms`, oldest first, and the unreadable ones named.
    async fn scan_issues(&self, since_ms: i64) -> Result<Listing<ProductIssue>, StateError>;
    /// The readable issues recorded at or after `since_ms` (unreadable ones skipped with a warning).
    async fn issues_since(&self, since_ms: i64) -> Result<Vec<ProductIssue>, StateError> {
        Ok(self.scan_issues(since_ms).await?.readable())
    }
}
