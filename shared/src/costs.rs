//! The AWS cost model: what one reel costs in Lambda, SQS, DynamoDB, S3, CloudFront and
//! CloudWatch Logs when the stack in `infra/template.yaml` makes it. Video-model, voice and LLM
//! fees are not here: they are in the ledger, priced per call by each provider adapter.
//!
//! Pure arithmetic: a [`Usage`] (counts per reel) times a [`PriceList`] gives a
//! [`CostBreakdown`] (USD per service and the total), which prints as a table.
//! The counts come from a [`MeasuredRun`]: `truereel run --backend aws --meter FILE` counts every
//! AWS call (the meter in `adapters::aws::meter`), the time each handler took and the bucket's bytes;
//! [`MeasuredRun::reference`] is the sample store measured that way on the emulator
//! (`shared/data/reference-run.json`). [`FixedUsage`] is what the stack costs per month whether or
//! not it makes reels.
//!
//! ## Prices
//!
//! [`PriceList::US_EAST_1`] holds AWS's published us-east-1 on-demand list prices as of
//! 2026-11-24 (the figures on the AWS pricing pages for Lambda x86, SQS standard, DynamoDB
//! on-demand, S3 Standard, CloudFront's first 10 TB tier to North America/Europe, CloudWatch).
//! They were written down from those pages, not fetched by this code (the build machines are
//! offline); check them before quoting. They **exclude free tiers** (1 M Lambda requests and
//! 400,000 GB-s, 1 M SQS requests, 25 GB of DynamoDB storage, 1 TB of CloudFront egress a month
//! and so on), so a small deployment pays less than this model says.
//!
//! ## What a measured run does not show
//!
//! Lambda durations are the local handlers' times, measured with every stage sharing the machine's
//! cores (a 2048 MB function has ~1.16 vCPU to itself); a message is taken as one invocation (an
//! event source's batch only makes it cheaper). Log bytes are assumed
//! ([`LOG_BYTES_PER_INVOCATION`]); one review view of each reel goes through CloudFront. Left out:
//! DynamoDB storage (a reel's items are ~12 KB: $0.25/GB-month is 3e-6 USD), Lambda INIT time of
//! cold starts (Rust starts in ~50 ms), Secrets Manager calls (one per cold start, $0.05 per
//! 10,000), EventBridge (AWS service events and schedules are free), X-Ray (off by default), and
//! data transfer between S3 and Lambda in one region (free).

use crate::ports::Stage;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Add;

/// On-demand prices in US dollars.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriceList {
    /// Where the prices apply.
    pub region: &'static str,
    /// When they were taken from the AWS pricing pages.
    pub as_of: &'static str,
    /// Lambda, x86_64, per GB-second of duration.
    pub lambda_gb_second: f64,
    /// Lambda, per request (invocation).
    pub lambda_request: f64,
    /// SQS standard queue, per request (each 64 KB chunk of a payload is one request).
    pub sqs_request: f64,
    /// DynamoDB on-demand, per write request unit.
    pub dynamodb_write_unit: f64,
    /// DynamoDB on-demand, per read request unit.
    pub dynamodb_read_unit: f64,
    /// S3 Standard storage, per GB-month.
    pub s3_gb_month: f64,
    /// S3 PUT, COPY, POST and LIST, per request.
    pub s3_put_request: f64,
    /// S3 GET, HEAD and all other requests, per request.
    pub s3_get_request: f64,
    /// CloudFront data transfer out to the internet (first 10 TB, North America/Europe), per GB.
    pub cloudfront_gb_out: f64,
    /// CloudFront HTTPS requests (North America/Europe), per request.
    pub cloudfront_request: f64,
    /// CloudWatch Logs ingestion (standard class), per GB.
    pub logs_gb_ingested: f64,
    /// CloudWatch standard-resolution alarm, per alarm-month.
    pub alarm_month: f64,
    /// CloudWatch custom metric (each metric name and dimension combination), per metric-month.
    pub custom_metric_month: f64,
    /// Secrets Manager, per secret-month.
    pub secret_month: f64,
}

impl PriceList {
    /// us-east-1, on-demand, without free tiers, as of 2026-11-24.
    pub const US_EAST_1: PriceList = PriceList {
        region: "us-east-1",
        as_of: "2026-11-24",
        lambda_gb_second: 0.000_016_666_7, // $0.0000166667 per GB-s (x86)
        lambda_request: 0.20 / 1e6,        // $0.20 per million requests
        sqs_request: 0.40 / 1e6,           // $0.40 per million requests, standard queue
        dynamodb_write_unit: 1.25 / 1e6,   // $1.25 per million write request units
        dynamodb_read_unit: 0.25 / 1e6,    // $0.25 per million read request units
        s3_gb_month: 0.023,                // $0.023 per GB-month, first 50 TB, S3 Standard
        s3_put_request: 0.005 / 1e3,       // $0.005 per 1,000 PUT/COPY/POST/LIST
        s3_get_request: 0.0004 / 1e3,      // $0.0004 per 1,000 GET/HEAD
        cloudfront_gb_out: 0.085,          // $0.085 per GB, first 10 TB, US/Europe
        cloudfront_request: 0.0075 / 1e4,  // $0.0075 per 10,000 HTTPS requests
        logs_gb_ingested: 0.50,            // $0.50 per GB ingested
        alarm_month: 0.10,                 // $0.10 per standard alarm metric
        custom_metric_month: 0.30,         // $0.30 per metric, first 10,000
        secret_month: 0.40,                // $0.40 per secret
    };
}

impl Default for PriceList {
    fn default() -> Self {
        Self::US_EAST_1
    }
}

/// One stage's Lambda work.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LambdaUsage {
    pub invocations: f64,
    /// Billed duration times configured memory, in GB-seconds.
    pub gb_seconds: f64,
}

impl LambdaUsage {
    /// `invocations` runs of `seconds` each with `memory_mb` configured (1 GB = 1024 MB, as
    /// Lambda bills).
    pub fn runs(invocations: f64, seconds: f64, memory_mb: u32) -> Self {
        Self { invocations, gb_seconds: invocations * seconds * f64::from(memory_mb) / 1024.0 }
    }
}

impl Add for LambdaUsage {
    type Output = LambdaUsage;
    fn add(self, o: LambdaUsage) -> LambdaUsage {
        LambdaUsage { invocations: self.invocations + o.invocations, gb_seconds: self.gb_seconds + o.gb_seconds }
    }
}

/// What a piece of work (normally one reel) uses of each billed AWS dimension.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Usage {
    /// Lambda invocations and GB-seconds per stage.
    pub lambda: BTreeMap<Stage, LambdaUsage>,
    /// Billed SQS requests (see [`sqs_requests`]).
    pub sqs_requests: f64,
    /// DynamoDB write request units (see [`write_units`]).
    pub dynamodb_write_units: f64,
    /// DynamoDB read request units (see [`read_units`]).
    pub dynamodb_read_units: f64,
    /// S3 PUT, COPY, POST and LIST requests.
    pub s3_put_requests: f64,
    /// S3 GET and HEAD requests.
    pub s3_get_requests: f64,
    /// S3 Standard storage, in GB-months.
    pub s3_gb_month: f64,
    /// CloudFront data transfer out, in GB.
    pub cloudfront_gb_out: f64,
    /// CloudFront HTTPS requests.
    pub cloudfront_requests: f64,
    /// CloudWatch Logs ingested, in GB.
    pub logs_gb: f64,
}

/// Memory configured per function in `infra/template.yaml` (a test keeps the two in step).
pub const LAMBDA_MEMORY_MB: [(Stage, u32); 5] =
    [(Stage::Crawl, 512), (Stage::Plan, 1024), (Stage::Generate, 2048), (Stage::Mirror, 2048), (Stage::Evaluate, 1024)];

/// The memory of a stage's function.
pub fn lambda_memory_mb(stage: Stage) -> u32 {
    LAMBDA_MEMORY_MB.iter().find(|(s, _)| *s == stage).map_or(1024, |(_, mb)| *mb)
}

/// AWS API work as counted by the meter on the AWS backend (`adapters::aws::meter` states the billing rules).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiCounts {
    /// Calls per `Service.Operation`, billed or not.
    pub calls: BTreeMap<String, u64>,
    /// Billed SQS requests: sends, non-empty receives, deletes, visibility changes (per 64 KB).
    pub sqs_requests: f64,
    /// Receives that found nothing (idle polling, priced per month in [`FixedUsage`]).
    pub sqs_empty_receives: u64,
    /// Queue look-ups and depth counts (set-up and the local runner's bookkeeping).
    pub sqs_other: u64,
    pub dynamodb_write_units: f64,
    pub dynamodb_read_units: f64,
    /// Table set-up calls (describe, create, TTL).
    pub dynamodb_other: u64,
    /// S3 PUT, COPY, POST and LIST requests.
    pub s3_put_class: u64,
    /// S3 GET and HEAD requests.
    pub s3_get_class: u64,
}

/// A run of the AWS backend, measured: the API calls counted by the meter, the time handlers took,
/// and what the bucket holds afterwards. `truereel run --backend aws --meter FILE` writes one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MeasuredRun {
    /// What ran, where (store, backend, build), for people.
    pub what: String,
    /// Reels published by the run; the per-reel figures divide by this.
    pub reels: u32,
    pub counts: ApiCounts,
    /// Messages handled per stage: one Lambda invocation each at most (batches only lower it).
    pub messages: BTreeMap<String, u64>,
    /// Seconds spent in handlers per stage, summed over messages.
    pub handler_seconds: BTreeMap<String, f64>,
    /// Bytes in the bucket after the run that stay (references, voice-overs, clips, reels).
    pub stored_bytes: u64,
    /// Bytes that expire within a week (the still-motion outbox, by the bucket lifecycle).
    pub expiring_bytes: u64,
    /// Mean size of a published reel.
    pub reel_bytes: u64,
}

/// The sample store measured on the emulator (see `docs/deploy.md`, "What it costs", to measure again).
const REFERENCE_RUN: &str = include_str!("../data/reference-run.json");

/// Log bytes per invocation: Lambda's START/END/REPORT lines and about eight JSON lines of ours.
/// An assumption: the local run logs to a terminal, not to CloudWatch.
pub const LOG_BYTES_PER_INVOCATION: f64 = 3.0 * 1024.0;

impl MeasuredRun {
    /// The committed measurement of the sample store.
    pub fn reference() -> MeasuredRun {
        serde_json::from_str(REFERENCE_RUN).expect("data/reference-run.json is a measured run")
    }

    /// What one reel used, averaged over the run's reels: counted requests, capacity units and
    /// handler seconds at each function's memory, the bucket's bytes for a month (the outbox for
    /// a week), one review view of the reel through CloudFront, and [`LOG_BYTES_PER_INVOCATION`].
    pub fn per_reel(&self) -> Usage {
        let n = f64::from(self.reels.max(1));
        let mut lambda = BTreeMap::new();
        for stage in Stage::ALL {
            let invocations = self.messages.get(stage.as_str()).copied().unwrap_or(0) as f64;
            let seconds = self.handler_seconds.get(stage.as_str()).copied().unwrap_or(0.0);
            let gb_seconds = seconds * f64::from(lambda_memory_mb(stage)) / 1024.0;
            lambda.insert(stage, LambdaUsage { invocations: invocations / n, gb_seconds: gb_seconds / n });
        }
        let invocations: f64 = lambda.values().map(|l| l.invocations).sum();
        let c = &self.counts;
        let stored = (self.stored_bytes as f64 + self.expiring_bytes as f64 * 7.0 / 30.0) / GB;
        Usage {
            lambda,
            sqs_requests: c.sqs_requests / n,
            dynamodb_write_units: c.dynamodb_write_units / n,
            dynamodb_read_units: c.dynamodb_read_units / n,
            s3_put_requests: c.s3_put_class as f64 / n,
            s3_get_requests: c.s3_get_class as f64 / n,
            s3_gb_month: stored / n,
            logs_gb: invocations * LOG_BYTES_PER_INVOCATION / GB,
            ..Usage::views(1.0, self.reel_bytes, 3.0)
        }
    }
}

/// Bytes in a GB, as AWS bills storage and transfer (2^30).
pub const GB: f64 = 1024.0 * 1024.0 * 1024.0;
/// Bytes in a MB (2^20).
pub const MB: f64 = 1024.0 * 1024.0;

/// Billed SQS requests for `calls` API calls each carrying `payload_bytes`: every 64 KB chunk
/// of a payload is billed as one request.
pub fn sqs_requests(calls: f64, payload_bytes: u64) -> f64 {
    calls * payload_bytes.div_ceil(64 * 1024).max(1) as f64
}

/// DynamoDB write request units for writing one item of `item_bytes`: one per started KB, twice
/// that inside a transaction.
pub fn write_units(item_bytes: u64, transactional: bool) -> f64 {
    let units = item_bytes.div_ceil(1024).max(1) as f64;
    if transactional { 2.0 * units } else { units }
}

/// DynamoDB read request units for reading `bytes` (one item, or a query's total): one per
/// started 4 KB strongly consistent, half that eventually consistent.
pub fn read_units(bytes: u64, strongly_consistent: bool) -> f64 {
    let units = bytes.div_ceil(4 * 1024).max(1) as f64;
    if strongly_consistent { units } else { units / 2.0 }
}

impl Usage {
    /// The Lambda usage summed over stages.
    pub fn lambda_total(&self) -> LambdaUsage {
        self.lambda.values().fold(LambdaUsage::default(), |a, b| a + *b)
    }

    /// Audience traffic: `views` plays of a reel of `reel_bytes`, each fetched whole in
    /// `requests_per_view` range requests. Not part of making a reel: add it for an audience.
    pub fn views(views: f64, reel_bytes: u64, requests_per_view: f64) -> Usage {
        Usage {
            cloudfront_gb_out: views * reel_bytes as f64 / GB,
            cloudfront_requests: views * requests_per_view,
            ..Usage::default()
        }
    }
}

impl Add for Usage {
    type Output = Usage;
    fn add(self, o: Usage) -> Usage {
        let mut lambda = self.lambda;
        for (stage, l) in o.lambda {
            let sum = lambda.get(&stage).copied().unwrap_or_default() + l;
            lambda.insert(stage, sum);
        }
        Usage {
            lambda,
            sqs_requests: self.sqs_requests + o.sqs_requests,
            dynamodb_write_units: self.dynamodb_write_units + o.dynamodb_write_units,
            dynamodb_read_units: self.dynamodb_read_units + o.dynamodb_read_units,
            s3_put_requests: self.s3_put_requests + o.s3_put_requests,
            s3_get_requests: self.s3_get_requests + o.s3_get_requests,
            s3_gb_month: self.s3_gb_month + o.s3_gb_month,
            cloudfront_gb_out: self.cloudfront_gb_out + o.cloudfront_gb_out,
            cloudfront_requests: self.cloudfront_requests + o.cloudfront_requests,
            logs_gb: self.logs_gb + o.logs_gb,
        }
    }
}

/// One service's share of a cost.
#[derive(Debug, Clone, PartialEq)]
pub struct CostLine {
    pub service: &'static str,
    /// What was counted, for people.
    pub detail: String,
    pub usd: f64,
}

/// Costs per service, in the order of the table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CostBreakdown {
    pub lines: Vec<CostLine>,
}

impl CostBreakdown {
    pub fn total(&self) -> f64 {
        self.lines.iter().map(|l| l.usd).sum()
    }

    /// One service's cost (0 when it is not in the breakdown).
    pub fn service(&self, service: &str) -> f64 {
        self.lines.iter().filter(|l| l.service == service).map(|l| l.usd).sum()
    }
}

impl fmt::Display for CostBreakdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.lines.iter().map(|l| l.detail.len()).max().unwrap_or(0).max("usage".len());
        writeln!(f, "{:<16}  {:<width$}  {:>12}", "service", "usage", "USD")?;
        writeln!(f, "{:-<16}  {:-<width$}  {:->12}", "", "", "")?;
        for l in &self.lines {
            writeln!(f, "{:<16}  {:<width$}  {:>12.7}", l.service, l.detail, l.usd)?;
        }
        writeln!(f, "{:-<16}  {:-<width$}  {:->12}", "", "", "")?;
        writeln!(f, "{:<16}  {:<width$}  {:>12.7}", "total", "", self.total())
    }
}

/// The cost of `usage` at `prices`, per service.
pub fn estimate(usage: &Usage, prices: &PriceList) -> CostBreakdown {
    let l = usage.lambda_total();
    let mut lines = vec![CostLine {
        service: "Lambda",
        detail: format!("{:.2} invocations, {:.1} GB-s", l.invocations, l.gb_seconds),
        usd: l.invocations * prices.lambda_request + l.gb_seconds * prices.lambda_gb_second,
    }];
    lines.push(CostLine {
        service: "SQS",
        detail: format!("{:.1} requests", usage.sqs_requests),
        usd: usage.sqs_requests * prices.sqs_request,
    });
    lines.push(CostLine {
        service: "DynamoDB",
        detail: format!("{:.1} WRU, {:.1} RRU", usage.dynamodb_write_units, usage.dynamodb_read_units),
        usd: usage.dynamodb_write_units * prices.dynamodb_write_unit
            + usage.dynamodb_read_units * prices.dynamodb_read_unit,
    });
    lines.push(CostLine {
        service: "S3",
        detail: format!(
            "{:.0} PUT, {:.0} GET, {:.2} MB-month",
            usage.s3_put_requests,
            usage.s3_get_requests,
            usage.s3_gb_month * GB / MB
        ),
        usd: usage.s3_put_requests * prices.s3_put_request
            + usage.s3_get_requests * prices.s3_get_request
            + usage.s3_gb_month * prices.s3_gb_month,
    });
    lines.push(CostLine {
        service: "CloudFront",
        detail: format!("{:.2} MB out, {:.0} requests", usage.cloudfront_gb_out * GB / MB, usage.cloudfront_requests),
        usd: usage.cloudfront_gb_out * prices.cloudfront_gb_out + usage.cloudfront_requests * prices.cloudfront_request,
    });
    lines.push(CostLine {
        service: "CloudWatch Logs",
        detail: format!("{:.1} KB ingested", usage.logs_gb * GB / 1024.0),
        usd: usage.logs_gb * prices.logs_gb_ingested,
    });
    CostBreakdown { lines }
}

/// What the stack costs per month with no reels at all.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FixedUsage {
    /// ReceiveMessage calls the five SQS event sources make on empty queues in a month.
    pub idle_sqs_requests: f64,
    pub alarms: f64,
    pub custom_metrics: f64,
    pub secrets: f64,
}

impl FixedUsage {
    /// The template's stack: 5 event sources long-polling empty queues (an assumption: about 15
    /// 20-second polls a minute each, since AWS does not publish the poller count), 6 alarms
    /// (5 dead-letter queues and the daily spend), `truereel/SpendUsd` with no dimension and
    /// with `Provider` for 3 providers (4 metrics), one secret.
    pub fn reference_stack() -> Self {
        let minutes_a_month = 30.0 * 24.0 * 60.0;
        Self { idle_sqs_requests: 5.0 * 15.0 * minutes_a_month, alarms: 6.0, custom_metrics: 4.0, secrets: 1.0 }
    }
}

/// The monthly cost of `fixed` at `prices`.
pub fn estimate_fixed(fixed: &FixedUsage, prices: &PriceList) -> CostBreakdown {
    CostBreakdown {
        lines: vec![
            CostLine {
                service: "SQS",
                detail: format!("{:.2} M idle polls", fixed.idle_sqs_requests / 1e6),
                usd: fixed.idle_sqs_requests * prices.sqs_request,
            },
            CostLine {
                service: "CloudWatch",
                detail: format!("{} alarms, {} metrics", fixed.alarms, fixed.custom_metrics),
                usd: fixed.alarms * prices.alarm_month + fixed.custom_metrics * prices.custom_metric_month,
            },
            CostLine {
                service: "Secrets Manager",
                detail: format!("{} secret", fixed.secrets),
                usd: fixed.secrets * prices.secret_month,
            },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: PriceList = PriceList::US_EAST_1;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 + 1e-9 * b.abs()
    }

    #[test]
    fn prices_are_the_published_us_east_1_figures() {
        let million = Usage {
            lambda: BTreeMap::from([(Stage::Plan, LambdaUsage { invocations: 1e6, gb_seconds: 0.0 })]),
            sqs_requests: 1e6,
            dynamodb_write_units: 1e6,
            dynamodb_read_units: 1e6,
            ..Usage::default()
        };
        let c = estimate(&million, &P);
        assert!(close(c.service("Lambda"), 0.20), "{c}");
        assert!(close(c.service("SQS"), 0.40), "{c}");
        assert!(close(c.service("DynamoDB"), 1.25 + 0.25), "{c}");

        let s3 = Usage { s3_put_requests: 1000.0, s3_get_requests: 1000.0, s3_gb_month: 1.0, ..Usage::default() };
        assert!(close(estimate(&s3, &P).service("S3"), 0.005 + 0.0004 + 0.023));
        let cf = Usage { cloudfront_gb_out: 1.0, cloudfront_requests: 10_000.0, ..Usage::default() };
        assert!(close(estimate(&cf, &P).service("CloudFront"), 0.085 + 0.0075));
        assert!(close(LambdaUsage::runs(1.0, 1.0, 1024).gb_seconds * P.lambda_gb_second, 0.0000166667));
    }

    #[test]
    fn lambda_bills_memory_times_duration() {
        let l = LambdaUsage::runs(4.0, 2.5, 2048);
        assert_eq!((l.invocations, l.gb_seconds), (4.0, 20.0));
        let usage = Usage { lambda: BTreeMap::from([(Stage::Generate, l)]), ..Usage::default() };
        assert!(close(estimate(&usage, &P).total(), 4.0 * 0.2e-6 + 20.0 * 0.000_016_666_7));
    }

    #[test]
    fn sqs_bills_each_64_kb_chunk_and_dynamodb_each_started_unit() {
        assert_eq!(sqs_requests(1.0, 10), 1.0);
        assert_eq!(sqs_requests(1.0, 64 * 1024), 1.0);
        assert_eq!(sqs_requests(3.0, 64 * 1024 + 1), 6.0);
        assert_eq!(write_units(1024, false), 1.0);
        assert_eq!(write_units(1025, false), 2.0);
        assert_eq!(write_units(2_700, true), 6.0);
        assert_eq!(read_units(4096, true), 1.0);
        assert_eq!(read_units(5000, false), 1.0);
        assert_eq!(read_units(10, false), 0.5);
    }

    #[test]
    fn the_measured_reference_run_costs_under_the_target_per_reel() {
        let run = MeasuredRun::reference();
        assert!(run.reels >= 6, "the whole sample store: {run:?}");
        let usage = run.per_reel();
        let c = estimate(&usage, &P);
        println!("{c}");
        let total = c.total();
        assert!(total > 0.0005 && total < 0.002, "reference reel: {total:.6} USD (target < 0.002)\n{c}");
        assert!(c.service("Lambda") > total / 2.0, "the renders and the assembly are most of it\n{c}");
        assert_eq!(usage.lambda.len(), 5);
        // Counted, not assumed: sends and deletes of every handled message are in the SQS figure.
        let handled: u64 = run.messages.values().sum();
        assert!(run.counts.sqs_requests >= 2.0 * handled as f64, "{run:?}");
        let l = usage.lambda_total();
        assert!(close(l.invocations, handled as f64 / f64::from(run.reels)), "{l:?}");
    }

    #[test]
    fn per_reel_usage_divides_counts_and_bills_each_stage_at_its_memory() {
        let run = MeasuredRun {
            reels: 2,
            counts: ApiCounts {
                sqs_requests: 30.0,
                dynamodb_write_units: 20.0,
                s3_put_class: 4,
                s3_get_class: 6,
                ..ApiCounts::default()
            },
            messages: BTreeMap::from([("generate".to_string(), 4), ("plan".to_string(), 2)]),
            handler_seconds: BTreeMap::from([("generate".to_string(), 10.0), ("plan".to_string(), 3.0)]),
            stored_bytes: 2 * GB as u64,
            expiring_bytes: 30 * GB as u64,
            reel_bytes: 1_000_000,
            ..MeasuredRun::default()
        };
        let u = run.per_reel();
        assert_eq!(u.lambda[&Stage::Generate], LambdaUsage { invocations: 2.0, gb_seconds: 10.0 }, "2048 MB");
        assert_eq!(u.lambda[&Stage::Plan], LambdaUsage { invocations: 1.0, gb_seconds: 1.5 }, "1024 MB");
        assert_eq!(u.lambda[&Stage::Crawl], LambdaUsage::default());
        assert_eq!(
            (u.sqs_requests, u.dynamodb_write_units, u.s3_put_requests, u.s3_get_requests),
            (15.0, 10.0, 2.0, 3.0)
        );
        assert!(close(u.s3_gb_month, (2.0 + 30.0 * 7.0 / 30.0) / 2.0), "the outbox is kept a week");
        assert!(close(u.logs_gb, 3.0 * LOG_BYTES_PER_INVOCATION / GB));
        assert_eq!(u.cloudfront_requests, 3.0);
    }

    #[test]
    fn audience_views_add_linearly_and_show_in_the_table() {
        let reel = MeasuredRun::reference().per_reel();
        let one = estimate(&Usage::views(1.0, 1_171_794, 3.0), &P).total();
        let thousand = estimate(&(reel.clone() + Usage::views(1000.0, 1_171_794, 3.0)), &P);
        let alone = estimate(&reel, &P);
        assert!(close(thousand.total(), alone.total() + 1000.0 * one), "{thousand}");
        // 1,000 views of a 1.17 MB reel: ~1.09 GB out, about 9 cents, far above making it.
        let audience = thousand.service("CloudFront") - alone.service("CloudFront");
        assert!((0.09..0.1).contains(&audience), "{thousand}");
        let table = thousand.to_string();
        for service in ["Lambda", "SQS", "DynamoDB", "S3", "CloudFront", "CloudWatch Logs", "total"] {
            assert!(table.contains(service), "{service} missing:\n{table}");
        }
    }

    #[test]
    fn adding_usage_sums_every_stage() {
        let a =
            Usage { lambda: BTreeMap::from([(Stage::Crawl, LambdaUsage::runs(1.0, 1.0, 1024))]), ..Usage::default() };
        let b = Usage {
            lambda: BTreeMap::from([
                (Stage::Crawl, LambdaUsage::runs(1.0, 1.0, 1024)),
                (Stage::Mirror, LambdaUsage::runs(2.0, 1.0, 512)),
            ]),
            s3_put_requests: 2.0,
            ..Usage::default()
        };
        let sum = a + b;
        assert_eq!(sum.lambda[&Stage::Crawl], LambdaUsage { invocations: 2.0, gb_seconds: 2.0 });
        assert_eq!(sum.lambda[&Stage::Mirror], LambdaUsage { invocations: 2.0, gb_seconds: 1.0 });
        assert_eq!(sum.s3_put_requests, 2.0);
    }

    #[test]
    fn the_idle_stack_costs_a_few_dollars_a_month() {
        let c = estimate_fixed(&FixedUsage::reference_stack(), &P);
        // 3.24 M idle polls ($1.30), 6 alarms ($0.60), 4 metrics ($1.20), 1 secret ($0.40).
        assert!(close(c.total(), 3.24 * 0.40 + 0.60 + 1.20 + 0.40), "{c}");
    }
}
