//! Meters every AWS API call a process makes, for the cost model: a wrapper around the SDK's HTTP
//! client that names each call (service and operation) and counts what AWS bills for it.
//!
//! Billing rules applied (us-east-1 pricing pages):
//! - **SQS**: every send, non-empty receive, delete and visibility change is a request per started
//!   64 KB of payload. Empty receives are the idle polling of the event sources (priced once a month
//!   in [`FixedUsage`](crate::costs::FixedUsage)); queue lookups and depth counts are set-up and the
//!   local runner's own bookkeeping (Lambda's event sources do neither), so both are counted apart.
//! - **DynamoDB**: a write is one unit per started KB of the item (the larger of before and after,
//!   here the last size seen for that key), twice inside a transaction, plus one standard write per
//!   global secondary index the item is in; a read is one unit per started 4 KB (half when eventually
//!   consistent), twice inside a transaction. Item sizes follow DynamoDB's rules (attribute names plus
//!   values) from the request and response bodies.
//! - **S3**: PUT, COPY, POST and LIST are the dearer class, GET and HEAD the cheaper, DELETE is free.

use crate::costs::{ApiCounts, read_units, sqs_requests, write_units};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The attributes that put an item into a global secondary index (see the table's key design).
const INDEX_KEYS: [&str; 2] = ["gsi1pk", "gsi2pk"];

/// Keys under this prefix expire after 7 days (the template's `expire-provider-outbox` rule).
pub const EXPIRING_PREFIX: &str = "provider/";

/// What has been counted so far; cheap to clone (one shared tally).
#[derive(Debug, Clone, Default)]
pub struct Meter(Arc<Mutex<Tally>>);

#[derive(Debug, Default)]
struct Tally {
    counts: ApiCounts,
    /// Last known size of each DynamoDB item (table and key), for updates and deletes.
    item_sizes: HashMap<String, u64>,
}

impl Meter {
    pub fn new() -> Self {
        Self::default()
    }

    /// What was counted.
    pub fn counts(&self) -> ApiCounts {
        self.0.lock().expect("meter lock").counts.clone()
    }

    /// Forgets the counts (after set-up, before the work to be measured); item sizes are kept.
    pub fn reset(&self) {
        self.0.lock().expect("meter lock").counts = ApiCounts::default();
    }

    /// `sdk` with every client built from it metered here.
    pub fn wrap(&self, sdk: &aws_config::SdkConfig) -> aws_config::SdkConfig {
        let inner = sdk.http_client().unwrap_or_else(default_client);
        sdk.to_builder().http_client(MeteredClient { inner, meter: self.clone() }).build()
    }

    fn record(&self, call: Call, response: Option<&[u8]>) {
        let mut t = self.0.lock().expect("meter lock");
        let Tally { counts, item_sizes } = &mut *t;
        *counts.calls.entry(format!("{}.{}", call.service, call.operation)).or_default() += 1;
        match call.service {
            "SQS" => sqs(counts, &call, response),
            "DynamoDB" => {
                let request: Value = serde_json::from_slice(&call.body).unwrap_or(Value::Null);
                let response: Value = response.and_then(|r| serde_json::from_slice(r).ok()).unwrap_or(Value::Null);
                dynamodb(counts, item_sizes, &call.operation, &request, &response);
            }
            "S3" => match call.operation.as_str() {
                "DeleteObject" => {}
                "GetObject" | "HeadObject" => counts.s3_get_class += 1,
                _ => counts.s3_put_class += 1,
            },
            _ => {}
        }
    }
}

/// What the bucket holds: (bytes kept, bytes under `expiring_prefix`, objects). Lists with `sdk` as
/// given: pass an unmetered configuration so the listing is not counted as the run's work.
pub async fn bucket_bytes(
    sdk: &aws_config::SdkConfig,
    path_style: bool,
    bucket: &str,
    expiring_prefix: &str,
) -> Result<(u64, u64, u64), crate::ports::BoxError> {
    let client = super::s3::client(sdk, path_style);
    let (mut kept, mut expiring, mut objects) = (0, 0, 0);
    let mut pages = client.list_objects_v2().bucket(bucket).into_paginator().send();
    while let Some(page) = pages.next().await {
        for o in page
            .map_err(|e| crate::ports::BoxError::from(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))?
            .contents()
        {
            let size = o.size().unwrap_or(0).max(0) as u64;
            objects += 1;
            if o.key().is_some_and(|k| k.starts_with(expiring_prefix)) {
                expiring += size;
            } else {
                kept += size;
            }
        }
    }
    Ok((kept, expiring, objects))
}

/// The default HTTPS client the SDK would have built (rustls with aws-lc).
fn default_client() -> SharedHttpClient {
    use aws_smithy_http_client::tls;
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::AwsLc))
        .build_https()
}

#[derive(Debug)]
struct MeteredClient {
    inner: SharedHttpClient,
    meter: Meter,
}

impl HttpClient for MeteredClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        let inner = self.inner.http_connector(settings, components);
        SharedHttpConnector::new(MeteredConnector { inner, meter: self.meter.clone() })
    }
}

#[derive(Debug)]
struct MeteredConnector {
    inner: SharedHttpConnector,
    meter: Meter,
}

impl HttpConnector for MeteredConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let call = Call::of(&request);
        let pending = self.inner.call(request);
        let meter = self.meter.clone();
        HttpConnectorFuture::new(async move {
            let mut response = pending.await?;
            // DynamoDB and SQS answers are small JSON documents: read them to count what was returned,
            // then hand the same bytes on. S3 bodies stream through untouched.
            if matches!(call.service, "DynamoDB" | "SQS") && response.status().is_success() {
                let body = ByteStream::new(response.take_body())
                    .collect()
                    .await
                    .map_err(|e| aws_smithy_runtime_api::client::result::ConnectorError::io(Box::new(e)))?;
                let bytes = body.into_bytes();
                meter.record(call, Some(&bytes));
                *response.body_mut() = SdkBody::from(bytes);
            } else {
                // A failed attempt is billed too (a write whose condition fails still consumes capacity).
                meter.record(call, None);
            }
            Ok(response)
        })
    }
}

/// One API call, named from the request.
#[derive(Debug)]
struct Call {
    service: &'static str,
    operation: String,
    body: Vec<u8>,
}

impl Call {
    fn of(request: &HttpRequest) -> Self {
        let body = request.body().bytes().map(<[u8]>::to_vec).unwrap_or_default();
        if let Some(target) = request.headers().get("x-amz-target") {
            let (prefix, op) = target.split_once('.').unwrap_or((target, ""));
            let service = match prefix {
                p if p.starts_with("DynamoDB") => "DynamoDB",
                "AmazonSQS" => "SQS",
                p if p.eq_ignore_ascii_case("secretsmanager") => "SecretsManager",
                _ => "other",
            };
            return Self { service, operation: op.to_string(), body };
        }
        let query = request.uri().split_once('?').map(|(_, q)| q).unwrap_or("");
        let has = |name: &str| query.split('&').any(|kv| kv == name || kv.starts_with(&format!("{name}=")));
        let operation = match request.method() {
            "PUT" if request.headers().get("x-amz-copy-source").is_some() => "CopyObject",
            "PUT" if has("partNumber") => "UploadPart",
            "PUT" => "PutObject",
            "POST" if has("uploads") => "CreateMultipartUpload",
            "POST" if has("uploadId") => "CompleteMultipartUpload",
            "POST" => "Post",
            "GET" if has("list-type") => "ListObjectsV2",
            "GET" => "GetObject",
            "HEAD" => "HeadObject",
            "DELETE" => "DeleteObject",
            _ => "Other",
        };
        Self { service: "S3", operation: operation.into(), body: Vec::new() }
    }
}

fn sqs(counts: &mut ApiCounts, call: &Call, response: Option<&[u8]>) {
    let chunks = |bytes: usize| sqs_requests(1.0, bytes as u64);
    match call.operation.as_str() {
        "ReceiveMessage" => {
            let messages = response
                .and_then(|r| serde_json::from_slice::<Value>(r).ok())
                .and_then(|v| v.get("Messages").and_then(Value::as_array).map(Vec::len))
                .unwrap_or(0);
            if messages == 0 {
                counts.sqs_empty_receives += 1;
            } else {
                counts.sqs_requests += chunks(response.map_or(0, <[u8]>::len));
            }
        }
        "SendMessage"
        | "SendMessageBatch"
        | "DeleteMessage"
        | "DeleteMessageBatch"
        | "ChangeMessageVisibility"
        | "ChangeMessageVisibilityBatch" => counts.sqs_requests += chunks(call.body.len()),
        _ => counts.sqs_other += 1,
    }
}

fn dynamodb(
    counts: &mut ApiCounts,
    sizes: &mut HashMap<String, u64>,
    operation: &str,
    request: &Value,
    response: &Value,
) {
    let table = request.get("TableName").and_then(Value::as_str).unwrap_or("");
    match operation {
        "PutItem" | "UpdateItem" | "DeleteItem" => {
            counts.dynamodb_write_units += write(sizes, operation, table, request, 1.0);
        }
        "TransactWriteItems" => {
            for entry in request.get("TransactItems").and_then(Value::as_array).into_iter().flatten() {
                let (op, body) = match entry.as_object().and_then(|o| o.iter().next()) {
                    Some((k, v)) => (k.as_str(), v),
                    None => continue,
                };
                let table = body.get("TableName").and_then(Value::as_str).unwrap_or("");
                let op = match op {
                    "Put" => "PutItem",
                    "Update" => "UpdateItem",
                    "Delete" => "DeleteItem",
                    _ => "ConditionCheck",
                };
                counts.dynamodb_write_units += write(sizes, op, table, body, 2.0);
            }
        }
        "GetItem" => {
            let item = response.get("Item");
            let bytes = item.map_or(0, item_size);
            if let (Some(item), Some(key)) = (item, request.get("Key")) {
                sizes.insert(key_id(table, key), item_size(item));
            }
            counts.dynamodb_read_units += read_units(bytes, consistent(request));
        }
        "Query" | "Scan" => {
            let items = response.get("Items").and_then(Value::as_array);
            let mut bytes = 0;
            for item in items.into_iter().flatten() {
                let size = item_size(item);
                bytes += size;
                if request.get("IndexName").is_none() {
                    sizes.insert(key_id(table, &key_of(item)), size);
                }
            }
            counts.dynamodb_read_units += read_units(bytes, consistent(request));
        }
        "TransactGetItems" => {
            for r in response.get("Responses").and_then(Value::as_array).into_iter().flatten() {
                counts.dynamodb_read_units += 2.0 * read_units(r.get("Item").map_or(0, item_size), true);
            }
        }
        _ => counts.dynamodb_other += 1,
    }
}

/// Write units for one item write (`factor` 2 inside a transaction), remembering the item's size.
fn write(sizes: &mut HashMap<String, u64>, op: &str, table: &str, body: &Value, factor: f64) -> f64 {
    let units = |bytes: u64| write_units(bytes, false);
    let (key, size, indexed) = match op {
        "PutItem" => {
            let item = body.get("Item").cloned().unwrap_or(Value::Null);
            let indexed = INDEX_KEYS.iter().filter(|k| item.get(**k).is_some()).count();
            (key_of(&item), item_size(&item), indexed)
        }
        "UpdateItem" => {
            let key = body.get("Key").cloned().unwrap_or(Value::Null);
            // The new item is at least its key and the values set; the last size seen if larger.
            let values = body.get("ExpressionAttributeValues").map_or(0, item_size);
            let set = item_size(&key) + values;
            let before = sizes.get(&key_id(table, &key)).copied().unwrap_or(0);
            let expression = body.get("UpdateExpression").and_then(Value::as_str).unwrap_or("");
            let names = body.get("ExpressionAttributeNames").map(Value::to_string).unwrap_or_default();
            let indexed = INDEX_KEYS.iter().filter(|k| expression.contains(**k) || names.contains(**k)).count();
            (key, set.max(before), indexed)
        }
        "DeleteItem" => {
            let key = body.get("Key").cloned().unwrap_or(Value::Null);
            let size = sizes.remove(&key_id(table, &key)).unwrap_or(1);
            return factor * units(size);
        }
        _ => {
            // A condition check in a transaction: billed as a transactional write of the item.
            let key = body.get("Key").cloned().unwrap_or(Value::Null);
            let size = sizes.get(&key_id(table, &key)).copied().unwrap_or(1);
            return factor * units(size);
        }
    };
    sizes.insert(key_id(table, &key), size);
    factor * units(size) + indexed as f64 * units(size)
}

fn consistent(request: &Value) -> bool {
    request.get("ConsistentRead").and_then(Value::as_bool).unwrap_or(false)
}

/// The table's primary key attributes of an item.
fn key_of(item: &Value) -> Value {
    let mut key = serde_json::Map::new();
    for k in ["pk", "sk"] {
        if let Some(v) = item.get(k) {
            key.insert(k.into(), v.clone());
        }
    }
    Value::Object(key)
}

fn key_id(table: &str, key: &Value) -> String {
    format!("{table}/{key}")
}

/// An item's size by DynamoDB's rules: each attribute's name plus its value.
fn item_size(item: &Value) -> u64 {
    item.as_object().map_or(0, |attrs| attrs.iter().map(|(name, v)| name.len() as u64 + value_size(v)).sum())
}

/// A typed attribute value's size (`{"S": "…"}`, `{"N": "…"}`, `{"M": {…}}`, …).
fn value_size(v: &Value) -> u64 {
    let Some((ty, inner)) = v.as_object().and_then(|o| o.iter().next()) else { return 0 };
    let text = |v: &Value| v.as_str().map_or(0, str::len) as u64;
    let number = |v: &Value| (text(v).div_ceil(2) + 1).min(21);
    let binary = |v: &Value| text(v) * 3 / 4;
    match ty.as_str() {
        "S" => text(inner),
        "N" => number(inner),
        "B" => binary(inner),
        "BOOL" | "NULL" => 1,
        "SS" => inner.as_array().map_or(0, |a| a.iter().map(text).sum()),
        "NS" => inner.as_array().map_or(0, |a| a.iter().map(number).sum()),
        "BS" => inner.as_array().map_or(0, |a| a.iter().map(binary).sum()),
        "L" => 3 + inner.as_array().map_or(0, |a| a.iter().map(|e| 1 + value_size(e)).sum()),
        "M" => 3 + inner.as_object().map_or(0, |m| m.iter().map(|(k, e)| 1 + k.len() as u64 + value_size(e)).sum()),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn item_sizes_follow_dynamodb_rules() {
        assert_eq!(item_size(&json!({"pk": {"S": "reel#1"}})), 2 + 6);
        assert_eq!(item_size(&json!({"n": {"N": "12345"}, "b": {"BOOL": true}})), 1 + 4 + 1 + 1);
        assert_eq!(item_size(&json!({"m": {"M": {"a": {"S": "xy"}}}})), 1 + 3 + 1 + 1 + 2);
    }

    #[test]
    fn writes_bill_per_started_kb_twice_in_transactions_and_once_more_per_index() {
        let mut counts = ApiCounts::default();
        let mut sizes = HashMap::new();
        let big = "x".repeat(1500);
        let put = json!({"TableName": "t", "Item": {"pk": {"S": "a"}, "sk": {"S": "b"}, "body": {"S": big}, "gsi1pk": {"S": "p"}}});
        dynamodb(&mut counts, &mut sizes, "PutItem", &put, &Value::Null);
        assert_eq!(counts.dynamodb_write_units, 2.0 + 2.0, "2 KB started, plus the index copy");
        // An update of that item is billed at its known size, twice inside a transaction.
        let tx = json!({"TransactItems": [
            {"Update": {"TableName": "t", "Key": {"pk": {"S": "a"}, "sk": {"S": "b"}}, "UpdateExpression": "SET #s = :s",
                        "ExpressionAttributeValues": {":s": {"S": "ok"}}}},
            {"Put": {"TableName": "t", "Item": {"pk": {"S": "h"}, "sk": {"S": "1"}}}}]});
        dynamodb(&mut counts, &mut sizes, "TransactWriteItems", &tx, &Value::Null);
        assert_eq!(counts.dynamodb_write_units, 4.0 + 4.0 + 2.0);
        let get = json!({"TableName": "t", "Key": {"pk": {"S": "a"}}, "ConsistentRead": true});
        dynamodb(&mut counts, &mut sizes, "GetItem", &get, &json!({"Item": {"pk": {"S": "a"}}}));
        let query = json!({"TableName": "t", "IndexName": "gsi1"});
        dynamodb(&mut counts, &mut sizes, "Query", &query, &json!({"Items": []}));
        assert_eq!(counts.dynamodb_read_units, 1.0 + 0.5);
    }

    #[test]
    fn empty_receives_are_idle_polling_not_work() {
        let mut counts = ApiCounts::default();
        let receive = Call { service: "SQS", operation: "ReceiveMessage".into(), body: b"{}".to_vec() };
        sqs(&mut counts, &receive, Some(br#"{}"#));
        sqs(&mut counts, &receive, Some(br#"{"Messages": [{"Body": "x"}]}"#));
        let send = Call { service: "SQS", operation: "SendMessage".into(), body: vec![b'x'; 70_000] };
        sqs(&mut counts, &send, None);
        let depth = Call { service: "SQS", operation: "GetQueueAttributes".into(), body: Vec::new() };
        sqs(&mut counts, &depth, None);
        assert_eq!((counts.sqs_requests, counts.sqs_empty_receives, counts.sqs_other), (1.0 + 2.0, 1, 1));
    }
}
