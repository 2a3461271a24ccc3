//! The DynamoDB store against moto on loopback (`scripts/aws-emulator.sh`), one table per test.
//!
//! Without `TRUEREEL_TEST_AWS_ENDPOINT` a test prints "skipped: no emulator", unless `CI` is set:
//! then it fails, so CI cannot pass by skipping.
//!
//! Each test talks to moto through [`serializing_proxy`]: moto's threaded server evaluates a
//! condition and then writes without a lock, so two concurrent conditional writes on one item can
//! both succeed there (seen: two racing transitions both `Ok`, six $1 charges under a $5 budget).
//! DynamoDB is linearizable per item; handing moto one request at a time restores that, while the
//! racing clients still interleave their reads and writes as they would against DynamoDB.

use super::items::{BODY, Key, TTL, expiry};
use super::*;
use crate::contract::{
    sample_issue, sample_ledger_entry, sample_product, sample_reel, sample_reference, state_store_contract, unique,
};
use aws_sdk_dynamodb::config::Credentials;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// A loopback HTTP proxy to `upstream` (`http://host:port`) that forwards one request at a time,
/// each on its own upstream connection; returns its endpoint. Lives as long as the test process.
fn serializing_proxy(upstream: &str) -> String {
    let upstream = upstream.trim_start_matches("http://").trim_end_matches('/').to_string();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy on loopback");
    let endpoint = format!("http://{}", listener.local_addr().expect("proxy address"));
    let turn = Arc::new(Mutex::new(()));
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let (turn, upstream) = (turn.clone(), upstream.clone());
            std::thread::spawn(move || {
                if let Err(e) = relay(client, &upstream, &turn) {
                    eprintln!("serializing proxy: {e}");
                }
            });
        }
    });
    endpoint
}

/// Relays the one request of a client connection under `turn` (the response closes the connection).
fn relay(client: TcpStream, upstream: &str, turn: &Mutex<()>) -> std::io::Result<()> {
    let Some(request) = read_request(&mut BufReader::new(client.try_clone()?))? else { return Ok(()) };
    let response = {
        let _turn = turn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut server = TcpStream::connect(upstream)?;
        server.write_all(&request)?;
        let mut response = Vec::new();
        server.read_to_end(&mut response)?;
        response
    };
    (&client).write_all(&close_connection(&response))
}

/// One HTTP/1.1 request (head and `Content-Length` body), rewritten to `Connection: close`;
/// `None` when the client closed the connection first.
fn read_request(reader: &mut impl BufRead) -> std::io::Result<Option<Vec<u8>>> {
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        if line == "\r\n" {
            break;
        }
        head.push(line);
    }
    let length = head
        .iter()
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.trim().parse().unwrap_or(0));
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let mut request = close_head(head.iter().map(String::as_str)).into_bytes();
    request.extend_from_slice(&body);
    Ok(Some(request))
}

/// A response with its `Connection` header set to `close`, so the client opens a new connection.
fn close_connection(response: &[u8]) -> Vec<u8> {
    let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") else { return response.to_vec() };
    let head = String::from_utf8_lossy(&response[..end + 2]).to_string();
    let mut out = close_head(head.split_inclusive("\r\n")).into_bytes();
    out.extend_from_slice(&response[end + 4..]);
    out
}

/// Header lines (each ending in CRLF) without `Connection`, plus `Connection: close` and the blank line.
fn close_head<'a>(lines: impl Iterator<Item = &'a str>) -> String {
    let mut head: String =
        lines.filter(|l| !l.split_once(':').is_some_and(|(name, _)| name.eq_ignore_ascii_case("connection"))).collect();
    head.push_str("Connection: close\r\n\r\n");
    head
}

/// The SDK configuration for the emulator, or `None` (after saying so) when there is none.
async fn emulator() -> Option<aws_config::SdkConfig> {
    let endpoint = crate::testing::emulator_endpoint()?;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(serializing_proxy(&endpoint))
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "truereel-tests"))
        .load()
        .await;
    Some(sdk)
}

/// A fresh table (created twice, to prove `create_table` idempotent) and the SDK config.
async fn fresh_table() -> Option<(aws_config::SdkConfig, String)> {
    let sdk = emulator().await?;
    let table = unique("truereel-test");
    create_table(&sdk, &table).await.expect("create the table");
    create_table(&sdk, &table).await.expect("create_table again is a no-op");
    Some((sdk, table))
}

async fn fresh_store() -> Option<DynamoStateStore> {
    let (sdk, table) = fresh_table().await?;
    Some(DynamoStateStore::new(&sdk, table))
}

/// How many pages a query of `gsi1` partition `pk` takes, with `limit` items per page if given.
async fn gsi1_pages(sdk: &aws_config::SdkConfig, table: &str, pk: &str, limit: Option<i32>) -> usize {
    let query = Client::new(sdk)
        .query()
        .table_name(table)
        .index_name(items::GSI1)
        .key_condition_expression("gsi1pk = :pk")
        .expression_attribute_values(":pk", s(pk))
        .set_limit(limit);
    let pages: Vec<_> = query.into_paginator().send().try_collect().await.expect("query pages");
    pages.len()
}

#[tokio::test]
async fn dynamo_state_passes_the_contract() {
    let Some(store) = fresh_store().await else { return };
    state_store_contract(&store).await;
}

#[tokio::test]
async fn dynamo_state_passes_the_contract_with_two_item_pages() {
    let Some(store) = fresh_store().await else { return };
    state_store_contract(&store.with_page_size(2)).await;
}

#[tokio::test]
async fn dynamo_create_table_sets_indexes_billing_and_ttl() {
    let Some((sdk, table)) = fresh_table().await else { return };
    let client = Client::new(&sdk);
    let described = client.describe_table().table_name(&table).send().await.unwrap();
    let t = described.table().unwrap();
    let mut names: Vec<_> = t.global_secondary_indexes().iter().filter_map(|i| i.index_name()).collect();
    names.sort_unstable();
    assert_eq!(names, ["gsi1", "gsi2"]);
    assert_eq!(
        t.billing_mode_summary().and_then(|b| b.billing_mode()),
        Some(&aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
    );
    let ttl = client.describe_time_to_live().table_name(&table).send().await.unwrap();
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!(ttl.attribute_name(), Some(TTL));
    assert_eq!(ttl.time_to_live_status(), Some(&aws_sdk_dynamodb::types::TimeToLiveStatus::Enabled));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamo_racing_transitions_on_two_stores_have_one_winner() {
    let Some((sdk, table)) = fresh_table().await else { return };
    let a = Arc::new(DynamoStateStore::new(&sdk, table.clone()));
    let b = Arc::new(DynamoStateStore::new(&sdk, table));
    crate::contract::racing_transitions_across_instances(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamo_raced_charges_admit_exactly_the_budget() {
    let Some((sdk, table)) = fresh_table().await else { return };
    let stores = [DynamoStateStore::new(&sdk, table.clone()), DynamoStateStore::new(&sdk, table)];
    // Per reel: 12 workers charge $1 on a $4 reel budget over two stores.
    let reel = sample_reel(&sample_product()).id;
    let budget = Budget { per_reel: Usd::from_dollars(4.0), ..Budget::default() };
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let (store, entry) = (stores[i % 2].clone(), sample_ledger_entry(&reel, Usd::from_dollars(1.0), now_ms()));
            tokio::spawn(async move { store.charge(&entry, &budget, 0).await })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap().unwrap() {
            Charge::Charged => won += 1,
            Charge::OverBudget(why) => assert!(why.contains("reel's budget"), "{why}"),
            other @ (Charge::AlreadyCharged | Charge::ProviderOverBudget(_)) => {
                panic!("every key is new, no line: {other:?}")
            }
        }
    }
    assert_eq!(won, 4, "a raced reel budget admits exactly what fits");
    assert_eq!(stores[0].spent(Some(&reel), 0).await.unwrap(), Usd::from_dollars(4.0));
    assert_eq!(stores[1].ledger(Some(&reel)).await.unwrap().len(), 4, "refused charges write no entry");

    // Per run: 12 workers on 12 reels charge $1 under a $5 run budget with one run start.
    let since = now_ms();
    let run = Budget { per_reel: Usd::from_dollars(100.0), per_run: Some(Usd::from_dollars(5.0)), provider_run: None };
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let reel = sample_reel(&sample_product()).id;
            let (store, entry) = (stores[i % 2].clone(), sample_ledger_entry(&reel, Usd::from_dollars(1.0), since));
            tokio::spawn(async move { store.charge(&entry, &run, since).await })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap().unwrap() {
            Charge::Charged => won += 1,
            Charge::OverBudget(why) => assert!(why.starts_with("the run's budget of $5.0000"), "{why}"),
            other @ (Charge::AlreadyCharged | Charge::ProviderOverBudget(_)) => {
                panic!("every key is new, no line: {other:?}")
            }
        }
    }
    assert_eq!(won, 5, "a raced run budget admits exactly what fits");
    assert_eq!(stores[0].spent(None, since).await.unwrap(), Usd::from_dollars(5.0));
}

#[tokio::test]
async fn dynamo_charge_edges_match_the_sqlite_store() {
    let Some(store) = fresh_store().await else { return };
    let reel = sample_reel(&sample_product()).id;
    let budget =
        Budget { per_reel: Usd::from_dollars(1.0), per_run: Some(Usd::from_dollars(10.0)), provider_run: None };
    // A call dearer than the whole reel budget, on a reel with no counter yet.
    let dear = sample_ledger_entry(&reel, Usd::from_dollars(1.5), now_ms());
    match store.charge(&dear, &budget, 0).await.unwrap() {
        Charge::OverBudget(why) => assert_eq!(
            why, "the reel's budget of $1.0000 would be exceeded ($0.0000 spent, this call $1.5000)",
            "the same words as the SQLite store"
        ),
        other => panic!("a $1.50 call on a $1 budget was {other:?}"),
    }
    // A redelivered charge is AlreadyCharged even when the budget is now exhausted.
    let exact = sample_ledger_entry(&reel, Usd::from_dollars(1.0), now_ms());
    assert_eq!(store.charge(&exact, &budget, 0).await.unwrap(), Charge::Charged, "exactly the budget fits");
    assert_eq!(store.charge(&exact, &budget, 0).await.unwrap(), Charge::AlreadyCharged);
    // append_ledger keeps the counter equal to the ledger's sum.
    assert!(store.append_ledger(&sample_ledger_entry(&reel, Usd(250), now_ms())).await.unwrap());
    let sum = store.ledger(Some(&reel)).await.unwrap().iter().fold(Usd::ZERO, |a, e| a + e.usd);
    assert_eq!(store.spent(Some(&reel), 0).await.unwrap(), sum);
    assert_eq!(sum, Usd(1_000_250));
    // And the counter refuses on what append_ledger added.
    let tiny = sample_ledger_entry(&reel, Usd(1), now_ms());
    assert!(matches!(store.charge(&tiny, &budget, 0).await.unwrap(), Charge::OverBudget(w) if w.contains("reel")));
}

#[tokio::test]
async fn dynamo_lists_read_every_page_in_order() {
    let Some((sdk, table)) = fresh_table().await else { return };
    let store = DynamoStateStore::new(&sdk, table.clone()).with_page_size(3);
    let mut handles = Vec::new();
    let mut reels = Vec::new();
    for i in 0..10 {
        let product = sample_product();
        store.put_product(&product).await.unwrap();
        let mut reel = sample_reel(&product);
        reel.created_ms = 1_000 + i;
        store.create_reel(&reel).await.unwrap();
        handles.push(product.handle);
        reels.push(reel.id);
    }
    handles.sort();
    let listed: Vec<_> = store.list_products().await.unwrap().into_iter().map(|p| p.handle).collect();
    assert_eq!(listed, handles, "every product, by handle");
    let listed: Vec<_> = store.list_reels().await.unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(listed, reels, "every reel, by creation time");
    assert!(gsi1_pages(&sdk, &table, items::TYPE_REEL, Some(3)).await >= 4, "the emulator honours Limit");

    let product = sample_product().handle;
    for position in (1..=8).rev() {
        store.put_reference(&sample_reference(&product, position)).await.unwrap();
    }
    let positions: Vec<_> = store.references(&product).await.unwrap().iter().map(|r| r.position).collect();
    assert_eq!(positions, (1..=8).collect::<Vec<_>>());

    let reel = &reels[0];
    for at in (0..8).rev() {
        store.append_ledger(&sample_ledger_entry(reel, Usd(1), 5_000 + at)).await.unwrap();
        store.record_issue(&sample_issue(&product, 5_000 + at)).await.unwrap();
    }
    let times: Vec<_> = store.ledger(Some(reel)).await.unwrap().iter().map(|e| e.at_ms).collect();
    assert_eq!(times, (5_000..5_008).collect::<Vec<_>>(), "a reel's ledger, oldest first, every page");
    assert_eq!(store.ledger(None).await.unwrap().len(), 8);
    assert_eq!(store.spent(None, 5_002).await.unwrap(), Usd(6));
    let times: Vec<_> = store.issues_since(5_003).await.unwrap().iter().map(|i| i.at_ms).collect();
    assert_eq!(times, (5_003..5_008).collect::<Vec<_>>());
}

#[tokio::test]
async fn dynamo_lists_span_emulator_sized_pages() {
    // Without a Limit, DynamoDB (and moto) stop a page at 1 MB: 40 reels of ~40 KB each need two.
    let Some((sdk, table)) = fresh_table().await else { return };
    let store = DynamoStateStore::new(&sdk, table.clone());
    let mut ids = Vec::new();
    for _ in 0..40 {
        let mut reel = sample_reel(&sample_product());
        reel.reasons = vec!["x".repeat(40_000)];
        store.create_reel(&reel).await.unwrap();
        ids.push(reel.id);
    }
    assert!(gsi1_pages(&sdk, &table, items::TYPE_REEL, None).await >= 2, "more than one 1 MB page");
    let listed = store.list_reels().await.unwrap();
    assert_eq!(listed.len(), 40, "every reel across the 1 MB pages");
    assert!(ids.iter().all(|id| listed.iter().any(|r| &r.id == id)));
}

#[tokio::test]
async fn dynamo_unreadable_records_are_skipped_and_named() {
    let Some((sdk, table)) = fresh_table().await else { return };
    let store = DynamoStateStore::new(&sdk, table.clone());
    let (sdk, table, lister) = (&sdk, &table, &store);
    crate::contract::unreadable_records_are_skipped_and_named(&store, |broken| async move {
        use crate::contract::Broken;
        let keys: Vec<Item> = match broken {
            Broken::Product(h) => vec![Key::product(&h).attributes()],
            Broken::Reel(id) => vec![Key::reel(&id).attributes()],
            Broken::IssuesOf(h) => lister
                .listing(items::GSI1, items::TYPE_ISSUE, None)
                .await
                .unwrap()
                .into_iter()
                .filter(|item| items::body::<crate::ports::ProductIssue>(item, "issue").unwrap().product == h.as_str())
                .map(|item| item.into_iter().filter(|(k, _)| k == items::PK || k == items::SK).collect())
                .collect(),
        };
        assert!(!keys.is_empty(), "found the record to break");
        for key in keys {
            Client::new(sdk)
                .update_item()
                .table_name(table)
                .set_key(Some(key))
                .update_expression("SET #body = :bad")
                .expression_attribute_names("#body", BODY)
                .expression_attribute_values(":bad", s("{not json"))
                .send()
                .await
                .unwrap();
        }
    })
    .await;
}

#[tokio::test]
async fn dynamo_job_items_carry_a_ttl() {
    let Some((sdk, table)) = fresh_table().await else { return };
    let store = DynamoStateStore::new(&sdk, table.clone());
    let key = IdempotencyKey::for_reel(&sample_reel(&sample_product()).id, &unique("submit"));
    let before = expiry();
    assert_eq!(store.begin_job(&key, "runway").await.unwrap(), JobSlot::New);
    store.record_job(&key, &JobId::new("job-1")).await.unwrap();
    let item = Client::new(&sdk)
        .get_item()
        .table_name(&table)
        .set_key(Some(Key::job(&key).attributes()))
        .send()
        .await
        .unwrap()
        .item
        .expect("the job item exists");
    let ttl = number_attr(&item, TTL, "job").unwrap();
    let now_s = now_ms() / 1000;
    assert!(ttl >= before && ttl <= expiry(), "ttl {ttl} is 30 days ahead in epoch seconds");
    assert!(ttl > now_s + 29 * 24 * 3600 && ttl < now_s + 31 * 24 * 3600);
    assert_eq!(string_attr(&item, items::JOB_ID, "job").unwrap(), "job-1");
}

#[tokio::test]
async fn dynamo_backend_errors_name_what_was_being_done() {
    let Some(sdk) = emulator().await else { return };
    let store = DynamoStateStore::new(&sdk, unique("truereel-no-such-table"));
    let err = store.get_reel(&sample_reel(&sample_product()).id).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, StateError::Backend(_)), "{err:?}");
    assert!(text.contains("reading reel"), "{text}");
    assert!(text.contains("ResourceNotFound"), "the SDK's error context is kept: {text}");
}
