//! The SQS batch handling the Lambda functions share: parse each record, run the stage, report the failures.
//!
//! The event sources are configured with `ReportBatchItemFailures`, so a record that does not
//! parse or whose handler fails is named in the response and comes back later (then goes to the
//! dead-letter queue); the others are deleted.

use crate::messages::Message;
use crate::ports::{BoxError, Stage};
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::LambdaEvent;
use std::future::Future;
use tracing::Instrument;

/// Handles one SQS batch for `stage`: each record is parsed as that stage's [`Message`] and
/// handed to `handle`, one at a time; the ids of the records that failed are returned.
///
/// A failed record without a `messageId` cannot be reported alone, so the whole batch fails.
pub async fn sqs_batch<F, Fut>(
    event: LambdaEvent<SqsEvent>,
    stage: Stage,
    handle: F,
) -> Result<SqsBatchResponse, lambda_runtime::Error>
where
    F: Fn(Message) -> Fut,
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

/// Parses and handles one record; the error says why it failed.
async fn handle_record<F, Fut>(record: SqsMessage, stage: Stage, handle: &F) -> Result<(), String>
where
    F: Fn(Message) -> Fut,
    Fut: Future<Output = Result<(), BoxError>>,
{
    let body = record.body.ok_or_else(|| "the record has no body".to_string())?;
    let message = Message::parse(stage, &body).map_err(|e| {
        let preview: String = body.chars().take(200).collect();
        format!("not a {stage} message ({e}): {preview}")
    })?;
    handle(message).await.map_err(|e| format!("the {stage} handler failed: {e}"))
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
        let response = sqs_batch(event(json), stage, |msg| {
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
        let response = sqs_batch(event(good), stage, |msg| async move {
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
        let result = sqs_batch(LambdaEvent::new(payload, Context::default()), Stage::Plan, |_| async { Ok(()) }).await;
        assert!(result.unwrap_err().to_string().contains("no messageId"));
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
}
