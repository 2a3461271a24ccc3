//! What the Lambda functions share: ports built once per cold start, each SQS batch run through the
//! stage with partial batch failures, and crawl's other triggers (a schedule or direct invocation
//! with `{"store": …, "only": […]}`, and a catalog export dropped in the bucket).
//!
//! The event sources are configured with `ReportBatchItemFailures`, so a record that does not
//! parse or whose handler fails is named in the response and comes back later (then goes to the
//! dead-letter queue); the others are deleted.

use crate::messages::{CrawlMsg, Message};
use crate::ports::{BoxError, Stage};
use crate::stages::{self, Outcome, Ports};
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use std::future::Future;
use tracing::Instrument;

/// Which receipt of which SQS message a handler is working on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub message_id: String,
    pub body: String,
    /// `ApproximateReceiveCount`, this receive included (1 when SQS did not say).
    pub receive_count: u32,
}

/// Handles one SQS batch for `stage`: each record is parsed as that stage's [`Message`] and
/// handed to `handle` with its receipt, one at a time; the ids of the records that failed are returned.
///
/// A failed record without a `messageId` cannot be reported alone, so the whole batch fails.
pub async fn sqs_batch<F, Fut>(
    event: LambdaEvent<SqsEvent>,
    stage: Stage,
    handle: F,
) -> Result<SqsBatchResponse, lambda_runtime::Error>
where
    F: Fn(Message, Received) -> Fut,
    Fut: Future<Output = Result<(), BoxError>>,
{
    let records = event.payload.records;
    let total = records.len();
    tracing::info!(%stage, records = total, request_id = %event.context.request_id, "Received an SQS batch.");
    let mut failures = Vec::new();
    for (index, record) in records.into_iter().enumerate() {
        let id = record.message_id.clone();
        let span = tracing::info_span!(
            "sqs_record",
            message_id = id.as_deref().unwrap_or("<none>"),
            %stage,
            receive_count = record.attributes.get("ApproximateReceiveCount").map(String::as_str).unwrap_or("?"),
        );
        let outcome = handle_record(record, stage, &handle).instrument(span.clone()).await;
        if let Err(reason) = outcome {
            let _entered = span.enter();
            match id {
                Some(id) => {
                    tracing::warn!(%reason, "The record failed; reporting it for redelivery.");
                    let mut failure = BatchItemFailure::default();
                    failure.item_identifier = id;
                    failures.push(failure);
                }
                None => {
                    tracing::error!(%reason, index, "A record without a messageId failed; failing the whole batch.");
                    return Err(format!("{stage}: record {index} has no messageId and failed: {reason}").into());
                }
            }
        }
    }
    tracing::info!(%stage, records = total, failed = failures.len(), "Handled the SQS batch.");
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failures;
    Ok(response)
}

/// Runs one stage's function: JSON logs, the ports from the environment once per cold start
/// (failing fast, naming what is missing), then every invocation through the stage.
pub async fn serve(stage: Stage) -> Result<(), lambda_runtime::Error> {
    crate::allocator::limit_arenas();
    let config = match crate::config::Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            crate::telemetry::init_json(None);
            tracing::error!("Cannot start the {stage} function: {e}");
            return Err(e.into());
        }
    };
    crate::telemetry::init_json(config.log.as_deref());
    let (ports, keys) = crate::homes::aws::for_function(&config).await.map_err(|e| {
        tracing::error!("Cannot start the {stage} function: {e}");
        e
    })?;
    // Names only: the values stay in memory for the provider clients.
    tracing::info!(%stage, providers = ?keys, "Started.");
    let ports = &ports;
    if stage == Stage::Crawl {
        let bucket = config.aws.bucket.as_str();
        // Direct and scheduled runs plan as this function's settings say (a queued crawl carries its own).
        let plan = config.plan_options("").map_err(|e| {
            tracing::error!("Cannot start the {stage} function: {e}");
            e
        })?;
        let plan = &plan;
        lambda_runtime::run(lambda_runtime::service_fn(move |e| crawl_event(ports, bucket, plan, e))).await
    } else {
        lambda_runtime::run(lambda_runtime::service_fn(move |e| sqs_batch(e, stage, |m, r| run_stage(ports, m, r))))
            .await
    }
}

/// Runs the stage on one message. An outcome is success (a product that cannot go on was
/// recorded and parked by the stage); an error is a failure SQS redelivers. A failure on the last
/// receive the queue allows ([`crate::ports::MAX_RECEIVES`]) is recorded as an issue on the product
/// first: SQS moves the message to the dead-letter queue by itself and says nothing.
pub async fn run_stage(ports: &Ports, message: Message, received: Received) -> Result<(), BoxError> {
    let stage = message.stage();
    let outcome = match stages::handle(ports, message).await {
        Ok(outcome) => outcome,
        Err(e) => {
            if received.receive_count >= crate::ports::MAX_RECEIVES {
                let why = format!("the last try failed: {e}");
                let (id, body, n) = (&received.message_id, &received.body, received.receive_count);
                if let Err(state) = crate::stuck::record_dead_letter(ports, stage, id, body, n, &why).await {
                    tracing::error!("Could not record the dead letter ({why}): {state}");
                }
            }
            return Err(e.into());
        }
    };
    match outcome {
        Outcome::Done(s) | Outcome::Skipped(s) | Outcome::Waiting(s) => tracing::info!(%stage, "{s}"),
        Outcome::Failed(s) => tracing::warn!(%stage, "Failed for good: {s}"),
    }
    Ok(())
}

/// What the crawl function was invoked with.
#[derive(Debug, Clone, PartialEq)]
pub enum CrawlTrigger {
    /// Messages on the crawl queue (listing fan-out and photo intake).
    Sqs(SqsEvent),
    /// List a store now: a direct invocation, or the schedule's constant input.
    Store { store: String, only: Option<Vec<String>> },
}

/// Recognises crawl's triggers. A catalog export dropped in `bucket` (an EventBridge S3
/// "Object Created" event for `<prefix>/products.json`) becomes the store `blob:<prefix>`.
pub fn crawl_trigger(event: &Value, bucket: &str) -> Result<CrawlTrigger, String> {
    if let Some(records) = event.get("Records").and_then(Value::as_array) {
        if records.iter().all(|r| r.get("eventSource").and_then(Value::as_str) == Some("aws:sqs")) {
            return serde_json::from_value(event.clone())
                .map(CrawlTrigger::Sqs)
                .map_err(|e| format!("an SQS event that does not parse: {e}"));
        }
        return Err("only SQS records are handled (S3 notifications come through EventBridge)".into());
    }
    if event.get("source").and_then(Value::as_str) == Some("aws.s3") {
        let detail = &event["detail"];
        let (Some(b), Some(key)) = (detail["bucket"]["name"].as_str(), detail["object"]["key"].as_str()) else {
            return Err("an S3 event without bucket and key".into());
        };
        if b != bucket {
            return Err(format!("a catalog export in bucket {b}, but this deployment reads {bucket}"));
        }
        let Some(prefix) = key.strip_suffix("products.json").map(|p| p.trim_end_matches('/')) else {
            return Err(format!("{key} is not a products.json: only the catalog file triggers a crawl"));
        };
        return Ok(CrawlTrigger::Store {
            store: format!("{}{prefix}", crate::adapters::storefront::BLOB_SCHEME),
            only: None,
        });
    }
    if let Some(store) = event.get("store").and_then(Value::as_str) {
        let only = match event.get("only") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .map(|h| {
                        h.as_str().map(str::to_string).ok_or_else(|| format!("\"only\" must list handles, got {h}"))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            Some(other) => return Err(format!("\"only\" must be a list of handles, got {other}")),
        };
        if let Some(bad) = only.iter().flatten().find(|h| crate::Handle::parse(h).is_err()) {
            return Err(format!("{bad:?} is not a product handle"));
        }
        return Ok(CrawlTrigger::Store { store: store.to_string(), only });
    }
    let keys: Vec<&str> = event.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
    Err(format!("not a crawl trigger (keys: {keys:?}); expected SQS records, an S3 event or {{\"store\": …}}"))
}

/// The crawl function: SQS batches like every stage, plus direct and scheduled runs and catalog drops.
pub async fn crawl_event(
    ports: &Ports,
    bucket: &str,
    plan: &crate::PlanOptions,
    event: LambdaEvent<Value>,
) -> Result<Value, lambda_runtime::Error> {
    let LambdaEvent { payload, context } = event;
    match crawl_trigger(&payload, bucket)? {
        CrawlTrigger::Sqs(sqs) => {
            let response =
                sqs_batch(LambdaEvent::new(sqs, context), Stage::Crawl, |m, r| run_stage(ports, m, r)).await?;
            Ok(serde_json::to_value(response)?)
        }
        CrawlTrigger::Store { store, only } => {
            tracing::info!(%store, ?only, "Crawling a store.");
            let outcome = stages::crawl::run(
                ports,
                CrawlMsg::Store { store: store.clone(), only, crawl_only: false, plan: plan.clone() },
            )
            .await?;
            Ok(json!({ "store": store, "outcome": format!("{outcome:?}") }))
        }
    }
}

/// Parses and handles one record; the error says why it failed.
async fn handle_record<F, Fut>(record: SqsMessage, stage: Stage, handle: &F) -> Result<(), String>
where
    F: Fn(Message, Received) -> Fut,
    Fut: Future<Output = Result<(), BoxError>>,
{
    let receive_count = record.attributes.get("ApproximateReceiveCount").and_then(|n| n.parse().ok()).unwrap_or(1);
    let message_id = record.message_id.clone().unwrap_or_default();
    let body = record.body.ok_or_else(|| "the record has no body".to_string())?;
    let message = Message::parse(stage, &body).map_err(|e| {
        let preview: String = body.chars().take(200).collect();
        format!("not a {stage} message ({e}): {preview}")
    })?;
    let received = Received { message_id, body, receive_count };
    handle(message, received).await.map_err(|e| format!("the {stage} handler failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::GenerateMsg;
    use lambda_runtime::Context;
    use std::sync::Mutex;

    /// Each stage's good event and its poison event, with the poison record's id.
    const EVENTS: [(Stage, &str, &str, &str); 5] = [
        (
            Stage::Crawl,
            include_str!("../../events/crawl.json"),
            include_str!("../../events/crawl-poison.json"),
            "c0ffee00-0000-4000-8000-00000000bad1",
        ),
        (
            Stage::Plan,
            include_str!("../../events/plan.json"),
            include_str!("../../events/plan-poison.json"),
            "c0ffee00-0000-4000-8000-00000000bad2",
        ),
        (
            Stage::Generate,
            include_str!("../../events/generate.json"),
            include_str!("../../events/generate-poison.json"),
            "c0ffee00-0000-4000-8000-00000000bad3",
        ),
        (
            Stage::Mirror,
            include_str!("../../events/mirror.json"),
            include_str!("../../events/mirror-poison.json"),
            "c0ffee00-0000-4000-8000-00000000bad4",
        ),
        (
            Stage::Evaluate,
            include_str!("../../events/evaluate.json"),
            include_str!("../../events/evaluate-poison.json"),
            "c0ffee00-0000-4000-8000-00000000bad5",
        ),
    ];

    fn event(json: &str) -> LambdaEvent<SqsEvent> {
        LambdaEvent::new(serde_json::from_str(json).expect("the fixture is an SQS event"), Context::default())
    }

    fn failed_ids(response: &SqsBatchResponse) -> Vec<&str> {
        response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect()
    }

    /// Runs a batch with a handler that records what it saw and always succeeds.
    async fn run_recording(stage: Stage, json: &str) -> (SqsBatchResponse, Vec<Message>) {
        let seen = Mutex::new(Vec::new());
        let response = sqs_batch(event(json), stage, |msg, _| {
            seen.lock().unwrap().push(msg);
            async { Ok(()) }
        })
        .await
        .unwrap();
        (response, seen.into_inner().unwrap())
    }

    #[tokio::test]
    async fn a_batch_of_good_messages_has_no_failures() {
        for (stage, good, _, _) in EVENTS {
            let records = event(good).payload.records.len();
            let (response, seen) = run_recording(stage, good).await;
            assert!(response.batch_item_failures.is_empty(), "{stage}: {:?}", failed_ids(&response));
            assert!(records >= 2, "{stage}: the fixture should carry several records");
            assert_eq!(seen.len(), records, "{stage}");
            assert!(seen.iter().all(|m| m.stage() == stage), "{stage}");
        }
    }

    #[tokio::test]
    async fn a_poison_message_is_the_only_one_reported() {
        for (stage, _, poison, bad_id) in EVENTS {
            let records = event(poison).payload.records.len();
            let (response, seen) = run_recording(stage, poison).await;
            assert_eq!(failed_ids(&response), [bad_id], "{stage}");
            assert_eq!(seen.len(), records - 1, "{stage}: the good records are still handled");
        }
    }

    #[tokio::test]
    async fn a_message_for_another_stage_is_poison() {
        let (_, plan, _, _) = EVENTS[1];
        let (response, seen) = run_recording(Stage::Generate, plan).await;
        assert_eq!(response.batch_item_failures.len(), event(plan).payload.records.len());
        assert!(seen.is_empty());
    }

    #[tokio::test]
    async fn a_handler_error_reports_that_message() {
        let (stage, good, _, _) = EVENTS[2];
        let payload = event(good).payload;
        // Fail the record of shot 2 only.
        let failing: Vec<String> = payload
            .records
            .iter()
            .filter(|r| {
                matches!(
                    Message::parse(stage, r.body.as_deref().unwrap()),
                    Ok(Message::Generate(GenerateMsg { shot: 2, .. }))
                )
            })
            .map(|r| r.message_id.clone().unwrap())
            .collect();
        assert_eq!(failing.len(), 1, "the fixture has exactly one shot-2 record");
        let response = sqs_batch(event(good), stage, |msg, _| async move {
            match msg {
                Message::Generate(GenerateMsg { shot: 2, .. }) => Err("provider said 500".into()),
                _ => Ok(()),
            }
        })
        .await
        .unwrap();
        assert_eq!(failed_ids(&response), [failing[0].as_str()]);
    }

    #[tokio::test]
    async fn a_failed_record_without_an_id_fails_the_whole_batch() {
        let mut payload = event(EVENTS[1].2).payload;
        for r in &mut payload.records {
            r.message_id = None;
        }
        let result =
            sqs_batch(LambdaEvent::new(payload, Context::default()), Stage::Plan, |_, _| async { Ok(()) }).await;
        assert!(result.unwrap_err().to_string().contains("no messageId"));
    }

    /// A reel marked evaluated whose verdict is missing: its evaluate message fails every time.
    async fn failing_evaluation(dir: &std::path::Path) -> (Ports, Message) {
        use crate::ReelStatus::*;
        let home = crate::homes::embedded::Embedded::open(dir, &crate::config::Config::default()).unwrap();
        let product = crate::contract::sample_product();
        let mut reel = crate::contract::sample_reel(&product);
        home.ports.state.put_product(&product).await.unwrap();
        home.ports.state.create_reel(&reel).await.unwrap();
        for (from, to) in [(Planned, Generating), (Generating, Assembled), (Assembled, Evaluated)] {
            reel.status = to;
            home.ports.state.transition(&reel, from).await.unwrap();
        }
        let message = crate::messages::EvaluateMsg { reel: reel.id.clone(), round: reel.round }.into();
        (home.ports.clone(), message)
    }

    #[tokio::test]
    async fn a_failure_on_the_last_allowed_receive_is_recorded_before_sqs_dead_letters_it() {
        let dir = tempfile::tempdir().unwrap();
        let (ports, message) = failing_evaluation(dir.path()).await;
        let received = |n| Received { message_id: "m-1".into(), body: message.to_json(), receive_count: n };
        let product = message.subject();
        for n in 1..crate::ports::MAX_RECEIVES {
            assert!(run_stage(&ports, message.clone(), received(n)).await.is_err());
        }
        assert!(ports.state.issues_since(0).await.unwrap().is_empty(), "earlier failures are retried, not issues");
        assert!(run_stage(&ports, message.clone(), received(crate::ports::MAX_RECEIVES)).await.is_err());
        let issues = ports.state.issues_since(0).await.unwrap();
        assert_eq!(issues.len(), 1, "{issues:?}");
        let i = &issues[0];
        assert_eq!((i.product.as_str(), i.stage.as_str(), i.fatal), (product.as_str(), "evaluate", true));
        for part in ["after 5 receives", "verdict is missing", "[dead letter evaluate/m-1]", "truereel redrive"] {
            assert!(i.message.contains(part), "{part:?} missing: {}", i.message);
        }
    }

    #[test]
    fn the_response_serializes_as_lambda_expects() {
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = "m1".into();
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = vec![failure];
        assert_eq!(
            serde_json::to_value(&response).unwrap(),
            serde_json::json!({"batchItemFailures": [{"itemIdentifier": "m1"}]})
        );
    }

    #[test]
    fn crawl_triggers_are_recognised_and_bad_ones_named() {
        let drop = serde_json::from_str(include_str!("../../events/crawl-s3-drop.json")).unwrap();
        assert_eq!(
            crawl_trigger(&drop, "truereel-reels").unwrap(),
            CrawlTrigger::Store { store: "blob:catalog-drops/demo".into(), only: None }
        );
        assert!(crawl_trigger(&drop, "other").unwrap_err().contains("truereel-reels"));
        let direct = serde_json::from_str(include_str!("../../events/crawl-direct.json")).unwrap();
        assert_eq!(
            crawl_trigger(&direct, "b").unwrap(),
            CrawlTrigger::Store { store: "blob:catalog-drops/demo".into(), only: Some(vec!["pullover-hoodie".into()]) }
        );
        let sqs = serde_json::from_str(include_str!("../../events/crawl.json")).unwrap();
        assert!(matches!(crawl_trigger(&sqs, "b").unwrap(), CrawlTrigger::Sqs(_)));
        for (bad, why) in [
            (json!({"store": "s", "only": ["../x"]}), "not a product handle"),
            (json!({"store": "s", "only": "tee"}), "list of handles"),
            (json!({"hello": 1}), "not a crawl trigger"),
            (
                json!({"source": "aws.s3", "detail": {"bucket": {"name": "b"}, "object": {"key": "x/photo.jpg"}}}),
                "not a products.json",
            ),
        ] {
            let e = crawl_trigger(&bad, "b").unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
