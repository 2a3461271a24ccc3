//! [`Queue`] on SQS: one standard queue per [`Stage`], each with a dead-letter queue fed by SQS's redrive policy.
//!
//! SQS counts in whole seconds: delays and visibility timeouts are rounded up (a 300 ms delay hides a
//! message for 1 s), delays are capped at SQS's 900 s (longer waits need a re-release), visibility at
//! 12 h. Receives long-poll briefly ([`DEFAULT_WAIT`]) so an empty queue does not return spuriously
//! empty on real SQS, and ask for `ApproximateReceiveCount`. A message received more than the queue's
//! `maxReceiveCount` times is moved to the dead-letter queue by SQS itself on a later receive.
//!
//! Receipts: SQS accepts a second delete of the same receipt, and may accept an old receipt of a
//! redelivered message, so [`QueueError::StaleReceipt`] is only returned when SQS says the receipt is
//! invalid or the message is not in flight.

use super::AwsConfig;
use crate::ports::{DeadLetter, Delivery, Pick, Queue, QueueDepth, QueueError, Stage};
use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName};
use std::collections::BTreeMap;
use std::time::Duration;

/// SQS's longest message delay.
pub const MAX_DELAY: Duration = Duration::from_secs(900);
/// SQS's longest visibility timeout.
pub const MAX_VISIBILITY: Duration = Duration::from_secs(12 * 3600);
/// How long a receive waits for a message to arrive by default.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(1);
/// SQS's most messages per receive.
const MAX_BATCH: usize = 10;
/// How long a dead letter being redriven stays hidden while the redrive walks the dead-letter queue.
const REDRIVE_HOLD: Duration = Duration::from_secs(60);
/// Receives of a dead-letter queue that bring nothing new before looking at it stops.
const PEEK_STALE_ROUNDS: u32 = 3;
/// The environment variable the Lambda runtime keeps the current X-Ray trace header in.
const TRACE_HEADER_VAR: &str = "_X_AMZN_TRACE_ID";

/// A stage's queue and, when it has a redrive policy, its dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueUrls {
    pub main: String,
    pub dead_letter: Option<String>,
}

/// An SQS call failed: which queue and operation, and the service's reason.
#[derive(Debug, thiserror::Error)]
#[error("{queue}: {operation}: {reason}")]
pub struct SqsError {
    pub queue: String,
    pub operation: &'static str,
    pub reason: String,
}

/// The queue of `stage` under `prefix`: `<prefix>-<stage>`.
pub fn queue_name(prefix: &str, stage: Stage) -> String {
    format!("{prefix}-{stage}")
}

/// The dead-letter queue of `stage` under `prefix`: `<prefix>-<stage>-dlq`.
pub fn dead_letter_queue_name(prefix: &str, stage: Stage) -> String {
    format!("{prefix}-{stage}-dlq")
}

/// Whole seconds, rounded up, at most `max`.
fn whole_seconds(d: Duration, max: Duration) -> i32 {
    let d = d.min(max);
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)) as i32
}

/// The `Root` id of an X-Ray trace header (`Root=1-…;Parent=…;Sampled=1`).
fn trace_root(header: &str) -> Option<&str> {
    header.split(';').find_map(|part| part.trim().strip_prefix("Root=")).filter(|r| !r.is_empty())
}

fn string_attribute(value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder().data_type("String").string_value(value).build().expect("data_type is set")
}

/// The stage queues on SQS.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    urls: BTreeMap<Stage, QueueUrls>,
    wait: Duration,
}

impl SqsQueue {
    /// Queues at known URLs; a stage without an entry fails every call naming the stage.
    pub fn new(sdk: &aws_config::SdkConfig, urls: BTreeMap<Stage, QueueUrls>) -> Self {
        Self { client: Client::new(sdk), urls, wait: DEFAULT_WAIT }
    }

    /// Finds every stage's queue: the URL from `config.queue_urls` if given, else `<prefix>-<stage>` by
    /// name. The dead-letter queue is the one the queue's redrive policy names (`<prefix>-<stage>-dlq`
    /// for queues made by [`super::resources::create_queues`]); a queue without one has none.
    pub async fn resolve(sdk: &aws_config::SdkConfig, config: &AwsConfig) -> Result<Self, QueueError> {
        let client = Client::new(sdk);
        let mut urls = BTreeMap::new();
        for stage in Stage::ALL {
            let main = match config.queue_urls.get(&stage) {
                Some(url) => url.clone(),
                None => Self::url_of(&client, stage, &queue_name(&config.queue_prefix, stage), None).await?,
            };
            let dead_letter = Self::dead_letter_of(&client, stage, &main).await?;
            tracing::debug!(%stage, main, ?dead_letter, "resolved the stage queue");
            urls.insert(stage, QueueUrls { main, dead_letter });
        }
        Ok(Self { client, urls, wait: DEFAULT_WAIT })
    }

    /// Long-polls receives for up to `wait` (whole seconds, at most 20 s; zero polls without waiting).
    pub fn with_wait_time(mut self, wait: Duration) -> Self {
        self.wait = wait.min(Duration::from_secs(20));
        self
    }

    /// The queue URLs by stage.
    pub fn urls(&self) -> &BTreeMap<Stage, QueueUrls> {
        &self.urls
    }

    async fn url_of(client: &Client, stage: Stage, name: &str, owner: Option<&str>) -> Result<String, QueueError> {
        let out = client
            .get_queue_url()
            .queue_name(name)
            .set_queue_owner_aws_account_id(owner.map(str::to_string))
            .send()
            .await
            .map_err(|e| backend(stage, name, "GetQueueUrl", e))?;
        out.queue_url().map(str::to_string).ok_or_else(|| QueueError::Backend {
            stage,
            source: Box::new(SqsError {
                queue: name.into(),
                operation: "GetQueueUrl",
                reason: "no URL returned".into(),
            }),
        })
    }

    /// The URL of the queue `main`'s redrive policy dead-letters into, if it has one.
    async fn dead_letter_of(client: &Client, stage: Stage, main: &str) -> Result<Option<String>, QueueError> {
        let out = client
            .get_queue_attributes()
            .queue_url(main)
            .attribute_names(QueueAttributeName::RedrivePolicy)
            .send()
            .await
            .map_err(|e| backend(stage, main, "GetQueueAttributes", e))?;
        let Some(policy) = out.attributes().and_then(|a| a.get(&QueueAttributeName::RedrivePolicy)) else {
            tracing::warn!(%stage, queue = main, "the queue has no redrive policy, so no dead letters");
            return Ok(None);
        };
        let arn = serde_json::from_str::<serde_json::Value>(policy)
            .ok()
            .and_then(|v| v.get("deadLetterTargetArn")?.as_str().map(str::to_string))
            .ok_or_else(|| {
                let reason = format!("the redrive policy {policy} names no deadLetterTargetArn");
                QueueError::Backend {
                    stage,
                    source: Box::new(SqsError { queue: main.into(), operation: "GetQueueAttributes", reason }),
                }
            })?;
        // arn:aws:sqs:<region>:<account>:<name>
        let mut fields = arn.rsplit(':');
        let (name, account) = (fields.next().unwrap_or_default(), fields.next());
        Self::url_of(client, stage, name, account).await.map(Some)
    }

    fn urls_of(&self, stage: Stage) -> Result<&QueueUrls, QueueError> {
        self.urls.get(&stage).ok_or_else(|| QueueError::Backend {
            stage,
            source: Box::new(SqsError {
                queue: format!("<{stage} queue>"),
                operation: "lookup",
                reason: "no queue URL is configured for this stage".into(),
            }),
        })
    }

    /// Receives up to `max` messages from the queue at `url` (the stage's queue or its dead letters);
    /// only the first call long-polls, for `wait` seconds.
    async fn receive_from(
        &self,
        stage: Stage,
        url: &str,
        max: usize,
        visibility: Duration,
        wait: i32,
    ) -> Result<Vec<Delivery>, QueueError> {
        let mut out = Vec::new();
        while out.len() < max {
            let want = (max - out.len()).min(MAX_BATCH);
            // Only the first call waits; later ones pick up what is already there.
            let wait = if out.is_empty() { wait } else { 0 };
            let got = self
                .client
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(want as i32)
                .visibility_timeout(whole_seconds(visibility, MAX_VISIBILITY))
                .wait_time_seconds(wait)
                .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
                .send()
                .await
                .map_err(|e| backend(stage, url, "ReceiveMessage", e))?;
            let messages = got.messages();
            for m in messages {
                let receive_count = m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| {
                        tracing::warn!(%stage, "a message came without ApproximateReceiveCount; counting 1");
                        1
                    });
                out.push(Delivery {
                    id: m.message_id().unwrap_or_default().to_string(),
                    receipt: m.receipt_handle().unwrap_or_default().to_string(),
                    body: m.body().unwrap_or_default().to_string(),
                    receive_count,
                });
            }
            if messages.len() < want {
                break;
            }
        }
        if !out.is_empty() {
            tracing::debug!(%stage, messages = out.len(), "received");
        }
        Ok(out)
    }

    async fn approximate_counts(&self, stage: Stage, url: &str) -> Result<[u64; 3], QueueError> {
        use QueueAttributeName as A;
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(A::ApproximateNumberOfMessages)
            .attribute_names(A::ApproximateNumberOfMessagesDelayed)
            .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(|e| backend(stage, url, "GetQueueAttributes", e))?;
        let get = |name: &A| {
            out.attributes().and_then(|a| a.get(name)).and_then(|v| v.parse::<u64>().ok()).unwrap_or_default()
        };
        Ok([
            get(&A::ApproximateNumberOfMessages),
            get(&A::ApproximateNumberOfMessagesDelayed),
            get(&A::ApproximateNumberOfMessagesNotVisible),
        ])
    }
}

/// A [`QueueError::Backend`] for `stage` from an SDK error, with the service's reason.
fn backend(stage: Stage, queue: &str, operation: &'static str, e: impl std::error::Error) -> QueueError {
    let reason = DisplayErrorContext(&e).to_string();
    QueueError::Backend { stage, source: Box::new(SqsError { queue: queue.into(), operation, reason }) }
}

/// Whether SQS rejected a receipt as no longer naming an in-flight message.
fn is_stale(e: &impl ProvideErrorMetadata) -> bool {
    match e.code() {
        Some("ReceiptHandleIsInvalid" | "MessageNotInflight" | "InvalidIdFormat") => true,
        // ChangeMessageVisibility on a deleted message.
        Some("InvalidParameterValue") => e.message().is_some_and(|m| m.contains("does not exist")),
        _ => false,
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, stage: Stage, body: &str, delay: Duration) -> Result<(), QueueError> {
        let url = &self.urls_of(stage)?.main;
        if delay > MAX_DELAY {
            tracing::info!(%stage, ?delay, "delay capped at SQS's 900 s; the message comes back earlier");
        }
        let mut send = self
            .client
            .send_message()
            .queue_url(url)
            .message_body(body)
            .delay_seconds(whole_seconds(delay, MAX_DELAY))
            .message_attributes("stage", string_attribute(stage.as_str()));
        if let Some(root) = std::env::var(TRACE_HEADER_VAR).ok().as_deref().and_then(trace_root) {
            send = send.message_attributes("trace_id", string_attribute(root));
        }
        let out = send.send().await.map_err(|e| backend(stage, url, "SendMessage", e))?;
        tracing::debug!(%stage, message = out.message_id().unwrap_or("?"), ?delay, "sent");
        Ok(())
    }

    async fn receive(&self, stage: Stage, max: usize, visibility: Duration) -> Result<Vec<Delivery>, QueueError> {
        let url = self.urls_of(stage)?.main.clone();
        let wait = whole_seconds(self.wait, self.wait);
        self.receive_from(stage, &url, max, visibility, wait).await
    }

    async fn ack(&self, stage: Stage, receipt: &str) -> Result<(), QueueError> {
        let url = &self.urls_of(stage)?.main;
        match self.client.delete_message().queue_url(url).receipt_handle(receipt).send().await {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(is_stale) => {
                Err(QueueError::StaleReceipt { stage, receipt: receipt.into() })
            }
            Err(e) => Err(backend(stage, url, "DeleteMessage", e)),
        }
    }

    async fn release(&self, stage: Stage, receipt: &str, delay: Duration) -> Result<(), QueueError> {
        let url = &self.urls_of(stage)?.main;
        let change = self
            .client
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(receipt)
            .visibility_timeout(whole_seconds(delay, MAX_VISIBILITY));
        match change.send().await {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(is_stale) => {
                Err(QueueError::StaleReceipt { stage, receipt: receipt.into() })
            }
            Err(e) => Err(backend(stage, url, "ChangeMessageVisibility", e)),
        }
    }

    async fn depth(&self, stage: Stage) -> Result<QueueDepth, QueueError> {
        let urls = self.urls_of(stage)?;
        let [visible, delayed, in_flight] = self.approximate_counts(stage, &urls.main).await?;
        // Every message in the dead-letter queue, including any someone is inspecting.
        let dead = match &urls.dead_letter {
            Some(dlq) => self.approximate_counts(stage, dlq).await?.iter().sum(),
            None => 0,
        };
        Ok(QueueDepth { visible, delayed, in_flight, dead })
    }

    /// Received with no visibility timeout (they stay visible), so SQS may hand the same one back:
    /// messages are told apart by id, and the walk stops after a few receives that bring nothing new.
    /// Each look counts as a receive of the dead letter (the dead-letter queue has no redrive policy).
    async fn dead_letters(&self, stage: Stage, max: usize) -> Result<Vec<DeadLetter>, QueueError> {
        let Some(dlq) = self.urls_of(stage)?.dead_letter.clone() else { return Ok(Vec::new()) };
        let mut out: Vec<DeadLetter> = Vec::new();
        let mut stale = 0;
        while out.len() < max && stale < PEEK_STALE_ROUNDS {
            let got = self.receive_from(stage, &dlq, (max - out.len()).min(MAX_BATCH), Duration::ZERO, 0).await?;
            let before = out.len();
            for m in got {
                if !out.iter().any(|d| d.id == m.id) {
                    out.push(DeadLetter { id: m.id, body: m.body, receive_count: m.receive_count });
                }
            }
            stale = if out.len() == before { stale + 1 } else { 0 };
        }
        Ok(out)
    }

    /// Walks the dead-letter queue: a picked message is sent to the stage's queue as a new message
    /// (so no receive is counted) and then deleted from the dead letters; the others are held hidden
    /// until the walk ends, then made visible again. A crash between the send and the delete leaves
    /// the message in both queues: it is then handled twice, which every stage allows.
    async fn redrive(&self, stage: Stage, pick: Pick<'_>) -> Result<u64, QueueError> {
        let Some(dlq) = self.urls_of(stage)?.dead_letter.clone() else { return Ok(0) };
        let mut moved = 0;
        let mut skipped = Vec::new();
        loop {
            let got =
                self.receive_from(stage, &dlq, MAX_BATCH, REDRIVE_HOLD, whole_seconds(self.wait, self.wait)).await?;
            if got.is_empty() {
                break;
            }
            for m in got {
                if !pick(&m.body) {
                    skipped.push(m.receipt);
                    continue;
                }
                self.send(stage, &m.body, Duration::ZERO).await?;
                self.client
                    .delete_message()
                    .queue_url(&dlq)
                    .receipt_handle(&m.receipt)
                    .send()
                    .await
                    .map_err(|e| backend(stage, &dlq, "DeleteMessage", e))?;
                moved += 1;
            }
        }
        for receipt in skipped {
            self.client
                .change_message_visibility()
                .queue_url(&dlq)
                .receipt_handle(&receipt)
                .visibility_timeout(0)
                .send()
                .await
                .map_err(|e| backend(stage, &dlq, "ChangeMessageVisibility", e))?;
        }
        tracing::info!(%stage, messages = moved, "dead letters sent back to their queue");
        Ok(moved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::aws::resources::{create_queues, emulator};
    use crate::contract::{QueueCapabilities, queue_contract};
    use std::time::Instant;

    /// A fresh set of stage queues on the emulator, or `None` (skipped) without one.
    async fn queues(max_receives: u32) -> Option<(aws_config::SdkConfig, String, SqsQueue)> {
        let sdk = emulator::sdk().await?;
        let prefix = emulator::name("q");
        let urls = create_queues(&sdk, &prefix, 30, max_receives).await.expect("create the test queues");
        let queue = SqsQueue::new(&sdk, urls);
        Some((sdk, prefix, queue))
    }

    #[test]
    fn durations_become_whole_seconds_rounded_up_and_capped() {
        assert_eq!(whole_seconds(Duration::ZERO, MAX_DELAY), 0);
        assert_eq!(whole_seconds(Duration::from_millis(1), MAX_DELAY), 1);
        assert_eq!(whole_seconds(Duration::from_millis(1500), MAX_DELAY), 2);
        assert_eq!(whole_seconds(Duration::from_secs(900), MAX_DELAY), 900);
        assert_eq!(whole_seconds(Duration::from_secs(3600), MAX_DELAY), 900);
        assert_eq!(whole_seconds(Duration::from_secs(u64::MAX), MAX_VISIBILITY), 43_200);
    }

    #[test]
    fn the_trace_id_is_the_root_of_the_xray_header() {
        let header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        assert_eq!(trace_root(header), Some("1-5759e988-bd862e3fe1be46a994272793"));
        assert_eq!(trace_root("Parent=1;Sampled=0"), None);
        assert_eq!(trace_root("Root="), None);
    }

    #[tokio::test]
    async fn sqs_queues_pass_the_contract() {
        let Some((_, _, queue)) = queues(3).await else { return };
        queue_contract(&queue, 3, QueueCapabilities::SQS).await;
    }

    #[tokio::test]
    async fn a_message_received_max_times_moves_to_the_dead_letter_queue_intact() {
        let Some((sdk, _, queue)) = queues(2).await else { return };
        let queue = queue.with_wait_time(Duration::ZERO);
        queue.send(Stage::Generate, "{\"poison\":true}", Duration::ZERO).await.unwrap();
        for round in 1..=2 {
            let got = queue.receive(Stage::Generate, 1, Duration::ZERO).await.unwrap();
            assert_eq!(got.len(), 1, "receive {round}");
            assert_eq!(got[0].receive_count, round);
        }
        assert!(queue.receive(Stage::Generate, 10, Duration::from_secs(30)).await.unwrap().is_empty());
        let depth = queue.depth(Stage::Generate).await.unwrap();
        assert_eq!(depth, QueueDepth { visible: 0, delayed: 0, in_flight: 0, dead: 1 });

        let dlq = queue.urls()[&Stage::Generate].dead_letter.clone().unwrap();
        let client = Client::new(&sdk);
        let dead = client.receive_message().queue_url(&dlq).message_attribute_names("All").send().await.unwrap();
        let dead = &dead.messages()[0];
        assert_eq!(dead.body(), Some("{\"poison\":true}"));
        let stage = dead.message_attributes().and_then(|a| a.get("stage")).and_then(|v| v.string_value());
        assert_eq!(stage, Some("generate"), "the stage attribute travels with the message");
    }

    #[tokio::test]
    async fn delays_are_whole_seconds_and_long_ones_are_capped() {
        let Some((_, _, queue)) = queues(3).await else { return };
        let queue = queue.with_wait_time(Duration::ZERO);
        let start = Instant::now();
        queue.send(Stage::Plan, "soon", Duration::from_millis(300)).await.unwrap();
        queue.send(Stage::Plan, "much later", Duration::from_secs(86_400)).await.unwrap();
        let depth = queue.depth(Stage::Plan).await.unwrap();
        assert_eq!((depth.visible, depth.delayed), (0, 2), "both are delayed: {depth:?}");
        let got = loop {
            let got = queue.receive(Stage::Plan, 10, Duration::from_secs(30)).await.unwrap();
            if !got.is_empty() || start.elapsed() > Duration::from_secs(10) {
                break got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(got.iter().map(|d| d.body.as_str()).collect::<Vec<_>>(), vec!["soon"]);
        assert!(start.elapsed() >= Duration::from_millis(900), "300 ms rounds up to 1 s: {:?}", start.elapsed());
        let depth = queue.depth(Stage::Plan).await.unwrap();
        assert_eq!((depth.delayed, depth.in_flight), (1, 1), "the long delay was capped, not rejected");
    }

    #[tokio::test]
    async fn receive_gathers_more_than_ten_in_several_calls() {
        let Some((_, _, queue)) = queues(3).await else { return };
        for i in 0..13 {
            queue.send(Stage::Mirror, &format!("m{i}"), Duration::ZERO).await.unwrap();
        }
        let mut got = Vec::new();
        let start = Instant::now();
        while got.len() < 13 && start.elapsed() < Duration::from_secs(10) {
            got.extend(queue.receive(Stage::Mirror, 25, Duration::from_secs(30)).await.unwrap());
        }
        assert_eq!(got.len(), 13);
        let first = queue.receive(Stage::Mirror, 12, Duration::from_secs(30)).await.unwrap();
        assert!(first.is_empty(), "all are in flight");
    }

    #[tokio::test]
    async fn resolve_finds_queues_by_prefix_and_explicit_urls_win() {
        let Some((sdk, prefix, created)) = queues(3).await else { return };
        let other = create_queues(&sdk, &emulator::name("other"), 30, 3).await.unwrap();
        let mut config = crate::config::Config::default().aws;
        config.queue_prefix = prefix.clone();
        config.queue_urls.insert(Stage::Evaluate, other[&Stage::Evaluate].main.clone());
        let resolved = SqsQueue::resolve(&sdk, &config).await.unwrap();
        for stage in [Stage::Crawl, Stage::Plan, Stage::Generate, Stage::Mirror] {
            assert_eq!(resolved.urls()[&stage], created.urls()[&stage], "{stage} is found by name");
        }
        assert_eq!(resolved.urls()[&Stage::Evaluate], other[&Stage::Evaluate], "the explicit URL wins, with its DLQ");

        config.queue_prefix = emulator::name("absent");
        let err = SqsQueue::resolve(&sdk, &config).await.unwrap_err();
        let text = format!("{err}: {}", std::error::Error::source(&err).unwrap());
        assert!(text.contains(&format!("{}-crawl", config.queue_prefix)), "the missing queue is named: {text}");
        assert!(text.contains("GetQueueUrl"), "{text}");
    }

    #[tokio::test]
    async fn failures_name_the_stage_and_the_service_reason() {
        let Some((sdk, _, queue)) = queues(3).await else { return };
        let mut urls = queue.urls().clone();
        urls.remove(&Stage::Crawl);
        let gone = urls[&Stage::Plan].main.clone();
        Client::new(&sdk).delete_queue().queue_url(&gone).send().await.unwrap();
        let queue = SqsQueue::new(&sdk, urls);

        let err = queue.send(Stage::Crawl, "x", Duration::ZERO).await.unwrap_err();
        assert!(matches!(err, QueueError::Backend { stage: Stage::Crawl, .. }), "{err:?}");
        assert!(std::error::Error::source(&err).unwrap().to_string().contains("no queue URL"), "{err:?}");

        let err = queue.send(Stage::Plan, "x", Duration::ZERO).await.unwrap_err();
        let text = format!("{err}: {}", std::error::Error::source(&err).unwrap());
        assert!(text.starts_with("queue plan") && text.contains("SendMessage"), "{text}");
        assert!(text.contains("NonExistentQueue") || text.contains("QueueDoesNotExist"), "{text}");

        let err = queue.ack(Stage::Mirror, "not-a-receipt").await;
        assert!(matches!(err, Err(QueueError::StaleReceipt { stage: Stage::Mirror, .. })), "{err:?}");
    }
}
