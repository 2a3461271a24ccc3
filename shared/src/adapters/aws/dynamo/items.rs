//! The table layout in code: item keys, attribute names, and reading attributes back.
//!
//! Nothing outside this module spells a key prefix; the module doc of [`super`] is the table.

use crate::ports::{Listing, StateError, Unreadable};
use crate::{Handle, IdempotencyKey, ReelId, Sha256};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// One item, as the SDK carries it.
pub(super) type Item = HashMap<String, AttributeValue>;

pub(super) const PK: &str = "pk";
pub(super) const SK: &str = "sk";
pub(super) const GSI1: &str = "gsi1";
pub(super) const GSI1PK: &str = "gsi1pk";
pub(super) const GSI1SK: &str = "gsi1sk";
pub(super) const GSI2: &str = "gsi2";
pub(super) const GSI2PK: &str = "gsi2pk";
pub(super) const GSI2SK: &str = "gsi2sk";
pub(super) const BODY: &str = "body";
pub(super) const STATUS: &str = "status";
pub(super) const VERSION: &str = "version";
pub(super) const AT_MS: &str = "at_ms";
pub(super) const USD: &str = "usd";
pub(super) const SPENT: &str = "spent";
pub(super) const PROVIDER: &str = "provider";
pub(super) const JOB_ID: &str = "job_id";
/// The attribute DynamoDB's TTL deletes by (epoch seconds).
pub(super) const TTL: &str = "ttl";

/// Sort-key prefixes inside a product's or a reel's partition.
pub(super) const REF_PREFIX: &str = "REF#";
pub(super) const HISTORY_PREFIX: &str = "HISTORY#";
pub(super) const CLIP_PREFIX: &str = "CLIP#";
pub(super) const VERDICT_PREFIX: &str = "VERDICT#";
/// Inside a brand's partition.
pub(super) const TALLY_PREFIX: &str = "TALLY#";

/// `gsi1pk` values: one partition per listed item type.
pub(super) const TYPE_PRODUCT: &str = "TYPE#PRODUCT";
pub(super) const TYPE_REEL: &str = "TYPE#REEL";
pub(super) const TYPE_LEDGER: &str = "TYPE#LEDGER";
pub(super) const TYPE_ISSUE: &str = "TYPE#ISSUE";

/// How long a job or run-counter item lives after its last write before DynamoDB may expire it.
pub(super) const TTL_SECONDS: i64 = 30 * 24 * 3600;

/// An `i64` as 20 digits that sort like the number (offset by 2^63), negative values included.
pub(super) fn ord(value: i64) -> String {
    format!("{:020}", (value as u64) ^ (1 << 63))
}

/// The primary key of one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    fn new(pk: String, sk: impl Into<String>) -> Self {
        Self { pk, sk: sk.into() }
    }

    pub fn product_partition(handle: &Handle) -> String {
        format!("PRODUCT#{handle}")
    }
    pub fn reel_partition(id: &ReelId) -> String {
        format!("REEL#{id}")
    }

    pub fn product(handle: &Handle) -> Self {
        Self::new(Self::product_partition(handle), "PRODUCT")
    }
    pub fn reference(product: &Handle, sha: &Sha256) -> Self {
        Self::new(Self::product_partition(product), format!("{REF_PREFIX}{sha}"))
    }
    pub fn reel(id: &ReelId) -> Self {
        Self::new(Self::reel_partition(id), "REEL")
    }
    /// The `version`-th status of a reel (1 is the status it was created with).
    pub fn history(id: &ReelId, version: i64) -> Self {
        Self::new(Self::reel_partition(id), format!("{HISTORY_PREFIX}{version:010}"))
    }
    pub fn clip(id: &ReelId, shot: u32, attempt: u32) -> Self {
        Self::new(Self::reel_partition(id), format!("{CLIP_PREFIX}{shot:010}#{attempt:010}"))
    }
    pub fn verdict(id: &ReelId, round: u32, judge: &str) -> Self {
        Self::new(Self::reel_partition(id), format!("{VERDICT_PREFIX}{round:010}#{judge}"))
    }
    /// The reel's spend counter: the sum of its ledger entries.
    pub fn reel_spend(id: &ReelId) -> Self {
        Self::new(Self::reel_partition(id), "SPEND")
    }
    /// A run's spend counter: the sum of the charges made with this run start.
    pub fn run_spend(since_ms: i64) -> Self {
        Self::new(format!("RUN#{}", ord(since_ms)), "SPEND")
    }
    /// What one provider has been charged in the run that started at `since_ms`.
    pub fn provider_spend(provider: &str, since_ms: i64) -> Self {
        Self::new(format!("RUN#{}", ord(since_ms)), format!("SPEND#{provider}"))
    }
    pub fn job(key: &IdempotencyKey) -> Self {
        Self::new(format!("JOB#{key}"), "JOB")
    }
    pub fn ledger(key: &IdempotencyKey) -> Self {
        Self::new(format!("LEDGER#{key}"), "LEDGER")
    }
    /// Concurrency slot `slot` of a provider (a lease: holder and until when).
    pub fn slot(provider: &str, slot: u32) -> Self {
        Self::new(format!("SLOT#{provider}"), format!("{slot:04}"))
    }
    /// A provider held out of the run that started at `run`.
    pub fn hold(provider: &str, run: i64) -> Self {
        Self::new(format!("HOLD#{provider}"), ord(run))
    }
    /// A brand's learning partition: its counted clips and its tallies.
    pub fn brand_partition(brand: &str) -> String {
        format!("BRAND#{brand}")
    }
    /// The mark that one judged clip was counted for its brand.
    pub fn outcome(brand: &str, key: &str) -> Self {
        Self::new(Self::brand_partition(brand), format!("OUTCOME#{key}"))
    }
    /// A brand's tally of one facet value (the facet and value are attributes too).
    pub fn tally(brand: &str, facet: &str, value: &str) -> Self {
        Self::new(Self::brand_partition(brand), format!("{TALLY_PREFIX}{facet}#{value}"))
    }
    pub fn issue(nonce: &str) -> Self {
        Self::new(format!("ISSUE#{nonce}"), "ISSUE")
    }

    /// The key as the SDK wants it (for GetItem, UpdateItem).
    pub fn attributes(&self) -> Item {
        HashMap::from([(PK.to_string(), s(&self.pk)), (SK.to_string(), s(&self.sk))])
    }

    /// A new item holding just this key, to add attributes to.
    pub fn item(&self) -> ItemBuilder {
        ItemBuilder(self.attributes())
    }
}

/// Builds an item attribute by attribute.
pub(super) struct ItemBuilder(Item);

impl ItemBuilder {
    pub fn s(mut self, name: &str, value: impl Into<String>) -> Self {
        self.0.insert(name.to_string(), AttributeValue::S(value.into()));
        self
    }
    pub fn n(mut self, name: &str, value: i64) -> Self {
        self.0.insert(name.to_string(), n(value));
        self
    }
    /// Lists the item in `gsi1` under `pk` (a `TYPE_*`), ordered by `sk`.
    pub fn gsi1(self, pk: &str, sk: impl Into<String>) -> Self {
        self.s(GSI1PK, pk).s(GSI1SK, sk)
    }
    pub fn gsi2(self, pk: impl Into<String>, sk: impl Into<String>) -> Self {
        self.s(GSI2PK, pk).s(GSI2SK, sk)
    }
    /// The record itself, as JSON.
    pub fn body<T: Serialize>(self, what: &'static str, id: &str, record: &T) -> Result<Self, StateError> {
        Ok(self.s(BODY, to_json(what, id, record)?))
    }
    pub fn build(self) -> Item {
        self.0
    }
}

/// Serializes a record; a failure here is a bug in a domain type, reported as a backend error.
pub(super) fn to_json<T: Serialize>(what: &'static str, id: &str, record: &T) -> Result<String, StateError> {
    serde_json::to_string(record).map_err(|e| StateError::Backend(format!("encoding {what} {id}: {e}").into()))
}

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Names an item for errors: its partition key without the type prefix, plus its sort key when
/// the partition holds more than one record (`tee--0123456789ab`, `tee--0123456789ab/CLIP#…`).
pub(super) fn record_id(item: &Item) -> String {
    let get = |name| item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str).unwrap_or("?");
    let (pk, sk) = (get(PK), get(SK));
    let id = pk.split_once('#').map_or(pk, |(_, rest)| rest);
    if sk.contains('#') { format!("{id}/{sk}") } else { id.to_string() }
}

fn corrupt(what: &'static str, item: &Item, reason: String) -> StateError {
    StateError::Corrupt { what, id: record_id(item), reason }
}

/// A string attribute; missing or of another type is corruption.
pub(super) fn string_attr<'i>(item: &'i Item, name: &str, what: &'static str) -> Result<&'i str, StateError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        Some(_) => Err(corrupt(what, item, format!("attribute {name} is not a string"))),
        None => Err(corrupt(what, item, format!("attribute {name} is missing"))),
    }
}

/// A string attribute that may be absent.
pub(super) fn optional_string_attr<'i>(
    item: &'i Item,
    name: &str,
    what: &'static str,
) -> Result<Option<&'i str>, StateError> {
    if item.contains_key(name) { string_attr(item, name, what).map(Some) } else { Ok(None) }
}

/// An integer attribute; missing, of another type or not an `i64` is corruption.
pub(super) fn number_attr(item: &Item, name: &str, what: &'static str) -> Result<i64, StateError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => {
            v.parse().map_err(|_| corrupt(what, item, format!("attribute {name} = {v:?} is not an integer")))
        }
        Some(_) => Err(corrupt(what, item, format!("attribute {name} is not a number"))),
        None => Err(corrupt(what, item, format!("attribute {name} is missing"))),
    }
}

/// An integer attribute that counts from zero when absent (counters).
pub(super) fn counter_attr(item: Option<&Item>, name: &str, what: &'static str) -> Result<i64, StateError> {
    match item {
        Some(item) if item.contains_key(name) => number_attr(item, name, what),
        _ => Ok(0),
    }
}

/// The record in an item's `body`, naming the item when it does not parse.
pub(super) fn body<T: DeserializeOwned>(item: &Item, what: &'static str) -> Result<T, StateError> {
    let json = string_attr(item, BODY, what)?;
    serde_json::from_str(json).map_err(|e| corrupt(what, item, e.to_string()))
}

/// Parses every item's body.
pub(super) fn bodies<T: DeserializeOwned>(items: &[Item], what: &'static str) -> Result<Vec<T>, StateError> {
    items.iter().map(|item| body(item, what)).collect()
}

/// Parses every item's body; an item that does not parse is named in `unreadable`, the rest still read.
pub(super) fn listing<T: DeserializeOwned>(items: &[Item], what: &'static str) -> Listing<T> {
    let mut out = Listing::default();
    for item in items {
        match body(item, what) {
            Ok(record) => out.records.push(record),
            Err(e) => out.unreadable.push(Unreadable { what, id: record_id(item), reason: reason(e) }),
        }
    }
    out
}

/// Why a body could not be read, without the record's name (the listing names it).
fn reason(e: StateError) -> String {
    match e {
        StateError::Corrupt { reason, .. } => reason,
        other => other.to_string(),
    }
}

/// A unique, time-ordered token for records that have no natural key (issues).
pub(super) fn nonce() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{nanos:020}-{:08x}-{n:08x}", std::process::id())
}

/// Epoch seconds `TTL_SECONDS` from now: when a job or counter item may expire.
pub(super) fn expiry() -> i64 {
    crate::now_ms() / 1000 + TTL_SECONDS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ord_sorts_like_the_numbers() {
        let values = [i64::MIN, -1_000, -1, 0, 1, 999, 1_000, 1_700_000_000_000, i64::MAX];
        let keys: Vec<String> = values.iter().map(|v| ord(*v)).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
        assert!(keys.iter().all(|k| k.len() == 20));
    }

    #[test]
    fn records_are_named_without_their_type_prefix() {
        let reel = ReelId::parse("tee--0123456789ab").unwrap();
        assert_eq!(record_id(&Key::reel(&reel).attributes()), "tee--0123456789ab");
        assert_eq!(record_id(&Key::clip(&reel, 1, 2).attributes()), "tee--0123456789ab/CLIP#0000000001#0000000002");
    }

    #[test]
    fn sort_keys_order_numerically() {
        let reel = ReelId::parse("tee--0123456789ab").unwrap();
        assert!(Key::clip(&reel, 2, 1).sk < Key::clip(&reel, 10, 1).sk);
        assert!(Key::history(&reel, 9).sk < Key::history(&reel, 10).sk);
        assert!(Key::verdict(&reel, 9, "b").sk < Key::verdict(&reel, 10, "a").sk);
    }
}
