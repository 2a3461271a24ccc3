//! Creates the bucket and the stage queues, for emulators and dev accounts (`--create-resources`).
//!
//! Both functions are idempotent and converge: a bucket we already own is kept (its settings are
//! applied again), and a queue that exists with other attributes gets the requested ones. Deployed
//! stacks get these resources from the SAM template instead.

use super::s3;
use super::sqs::{QueueUrls, dead_letter_queue_name, queue_name};
use crate::ports::Stage;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint, BucketVersioningStatus,
    CreateBucketConfiguration, ExpirationStatus, LifecycleRule, LifecycleRuleFilter, NoncurrentVersionExpiration,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, VersioningConfiguration,
};
use aws_sdk_sqs::types::QueueAttributeName;
use std::collections::BTreeMap;

/// Dead letters are kept for SQS's maximum, 14 days, to leave time to look at them.
const DEAD_LETTER_RETENTION_S: u32 = 14 * 24 * 3600;
/// Replaced blobs (old versions) are kept this long, then expire.
const NONCURRENT_VERSION_DAYS: i32 = 30;

/// Creating a resource failed: which one, which call, and the service's reason.
#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    #[error("bucket {bucket}: {operation}: {reason}")]
    Bucket { bucket: String, operation: &'static str, reason: String },
    #[error("queue {queue}: {operation}: {reason}")]
    Queue { queue: String, operation: &'static str, reason: String },
}

fn bucket_error(bucket: &str, operation: &'static str) -> impl FnOnce(String) -> ResourceError {
    let bucket = bucket.to_string();
    move |reason| ResourceError::Bucket { bucket, operation, reason }
}

fn queue_error(queue: &str, operation: &'static str) -> impl FnOnce(String) -> ResourceError {
    let queue = queue.to_string();
    move |reason| ResourceError::Queue { queue, operation, reason }
}

fn context(e: impl std::error::Error) -> String {
    DisplayErrorContext(&e).to_string()
}

/// Creates `bucket` in the SDK's region unless we own it already, then blocks public access, turns on
/// versioning (old versions expire after 30 days; incomplete multipart uploads after 1 day) and
/// default SSE-S3 encryption.
pub async fn create_bucket(
    sdk: &aws_config::SdkConfig,
    endpoint_overridden: bool,
    bucket: &str,
) -> Result<(), ResourceError> {
    let client = s3::client(sdk, endpoint_overridden);
    let mut create = client.create_bucket().bucket(bucket);
    // us-east-1 is the default location and must not be named.
    if let Some(region) = sdk.region().map(|r| r.as_ref()).filter(|r| *r != "us-east-1") {
        let location =
            CreateBucketConfiguration::builder().location_constraint(BucketLocationConstraint::from(region)).build();
        create = create.create_bucket_configuration(location);
    }
    match create.send().await {
        Ok(_) => tracing::info!(bucket, "created the bucket"),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_bucket_already_owned_by_you()) => {
            tracing::debug!(bucket, "the bucket exists and is ours");
        }
        Err(e) => return Err(bucket_error(bucket, "CreateBucket")(context(e))),
    }

    let block = PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    client
        .put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(block)
        .send()
        .await
        .map_err(|e| bucket_error(bucket, "PutPublicAccessBlock")(context(e)))?;

    let versioning = VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build();
    client
        .put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(versioning)
        .send()
        .await
        .map_err(|e| bucket_error(bucket, "PutBucketVersioning")(context(e)))?;

    let sse = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::Aes256)
        .build()
        .map_err(|e| bucket_error(bucket, "PutBucketEncryption")(context(e)))?;
    let encryption = ServerSideEncryptionConfiguration::builder()
        .rules(ServerSideEncryptionRule::builder().apply_server_side_encryption_by_default(sse).build())
        .build()
        .map_err(|e| bucket_error(bucket, "PutBucketEncryption")(context(e)))?;
    client
        .put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(encryption)
        .send()
        .await
        .map_err(|e| bucket_error(bucket, "PutBucketEncryption")(context(e)))?;

    let rule = LifecycleRule::builder()
        .id("truereel-cleanup")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .noncurrent_version_expiration(
            NoncurrentVersionExpiration::builder().noncurrent_days(NONCURRENT_VERSION_DAYS).build(),
        )
        .abort_incomplete_multipart_upload(AbortIncompleteMultipartUpload::builder().days_after_initiation(1).build())
        .build()
        .map_err(|e| bucket_error(bucket, "PutBucketLifecycleConfiguration")(context(e)))?;
    let lifecycle = BucketLifecycleConfiguration::builder()
        .rules(rule)
        .build()
        .map_err(|e| bucket_error(bucket, "PutBucketLifecycleConfiguration")(context(e)))?;
    client
        .put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(lifecycle)
        .send()
        .await
        .map_err(|e| bucket_error(bucket, "PutBucketLifecycleConfiguration")(context(e)))?;
    Ok(())
}

/// Creates (or updates) one queue with `attributes`; returns its URL.
async fn ensure_queue(
    client: &aws_sdk_sqs::Client,
    name: &str,
    attributes: &[(QueueAttributeName, String)],
) -> Result<String, ResourceError> {
    let mut create = client.create_queue().queue_name(name);
    for (k, v) in attributes {
        create = create.attributes(k.clone(), v);
    }
    match create.send().await {
        Ok(out) => {
            let url = out.queue_url().unwrap_or_default().to_string();
            tracing::info!(queue = name, url, "the queue exists");
            Ok(url)
        }
        // It exists with other attributes: converge them.
        Err(e) if e.as_service_error().is_some_and(|s| s.is_queue_name_exists()) => {
            let url = client
                .get_queue_url()
                .queue_name(name)
                .send()
                .await
                .map_err(|e| queue_error(name, "GetQueueUrl")(context(e)))?
                .queue_url()
                .unwrap_or_default()
                .to_string();
            let mut set = client.set_queue_attributes().queue_url(&url);
            for (k, v) in attributes {
                set = set.attributes(k.clone(), v);
            }
            set.send().await.map_err(|e| queue_error(name, "SetQueueAttributes")(context(e)))?;
            tracing::info!(queue = name, url, "the queue existed; updated its attributes");
            Ok(url)
        }
        Err(e) => Err(queue_error(name, "CreateQueue")(context(e))),
    }
}

/// Creates `<prefix>-<stage>` for every stage with its dead-letter queue `<prefix>-<stage>-dlq`: messages
/// are hidden `visibility_timeout_s` after a receive and dead-lettered after `max_receives` receives.
pub async fn create_queues(
    sdk: &aws_config::SdkConfig,
    prefix: &str,
    visibility_timeout_s: u32,
    max_receives: u32,
) -> Result<BTreeMap<Stage, QueueUrls>, ResourceError> {
    let client = aws_sdk_sqs::Client::new(sdk);
    let mut urls = BTreeMap::new();
    for stage in Stage::ALL {
        let dlq_name = dead_letter_queue_name(prefix, stage);
        let retention = [(QueueAttributeName::MessageRetentionPeriod, DEAD_LETTER_RETENTION_S.to_string())];
        let dlq_url = ensure_queue(&client, &dlq_name, &retention).await?;
        let dlq_arn = client
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| queue_error(&dlq_name, "GetQueueAttributes")(context(e)))?
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
            .ok_or_else(|| queue_error(&dlq_name, "GetQueueAttributes")("no QueueArn returned".into()))?;
        let redrive = serde_json::json!({
            "deadLetterTargetArn": dlq_arn,
            "maxReceiveCount": max_receives.max(1).to_string(),
        });
        let name = queue_name(prefix, stage);
        let attributes = [
            (QueueAttributeName::VisibilityTimeout, visibility_timeout_s.to_string()),
            (QueueAttributeName::RedrivePolicy, redrive.to_string()),
        ];
        let main = ensure_queue(&client, &name, &attributes).await?;
        urls.insert(stage, QueueUrls { main, dead_letter: Some(dlq_url) });
    }
    Ok(urls)
}

/// The emulator the AWS adapter tests run against, and unique resource names for them.
#[cfg(test)]
pub(crate) mod emulator {
    use aws_config::{BehaviorVersion, Region, SdkConfig};
    use aws_sdk_s3::config::Credentials;

    /// SDK settings for the emulator at `TRUEREEL_TEST_AWS_ENDPOINT`, or `None` after printing a skip
    /// line when it is unset. Under CI (`CI` set) a missing emulator fails the test instead.
    pub async fn sdk() -> Option<SdkConfig> {
        let endpoint = crate::testing::emulator_endpoint()?;
        let config = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "truereel-tests"))
            .load()
            .await;
        Some(config)
    }

    /// A lowercase name no other test uses, valid for buckets and queues.
    pub fn name(what: &str) -> String {
        crate::contract::unique(&format!("tr-{what}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn create_bucket_is_idempotent_and_locks_the_bucket_down() {
        let Some(sdk) = emulator::sdk().await else { return };
        let bucket = emulator::name("bucket");
        create_bucket(&sdk, true, &bucket).await.unwrap();
        create_bucket(&sdk, true, &bucket).await.expect("creating an owned bucket again is fine");
        let client = s3::client(&sdk, true);
        // moto answers GetBucketVersioning with a root element the SDK rejects, so look at the effect:
        // replacing an object keeps two versions.
        for body in ["v1", "v2"] {
            client.put_object().bucket(&bucket).key("k").body(body.as_bytes().to_vec().into()).send().await.unwrap();
        }
        let versions = client.list_object_versions().bucket(&bucket).send().await.unwrap();
        assert_eq!(versions.versions().len(), 2, "versioning is on: {versions:?}");
        let block = client.get_public_access_block().bucket(&bucket).send().await.unwrap();
        let block = block.public_access_block_configuration().unwrap();
        assert_eq!(
            (block.block_public_acls(), block.block_public_policy(), block.restrict_public_buckets()),
            (Some(true), Some(true), Some(true))
        );
        let sse = client.get_bucket_encryption().bucket(&bucket).send().await.unwrap();
        let rule = &sse.server_side_encryption_configuration().unwrap().rules()[0];
        let algorithm = rule.apply_server_side_encryption_by_default().map(|d| d.sse_algorithm());
        assert_eq!(algorithm, Some(&ServerSideEncryption::Aes256));
    }

    #[tokio::test]
    async fn a_bad_bucket_name_is_an_error_naming_it_and_the_reason() {
        let Some(sdk) = emulator::sdk().await else { return };
        // Too short: moto checks the length (not the characters) of bucket names.
        let err = create_bucket(&sdk, true, "tr").await.unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("bucket tr: CreateBucket"), "{text}");
        assert!(text.contains("InvalidBucketName"), "the service's reason is kept: {text}");
    }

    #[tokio::test]
    async fn create_queues_is_idempotent_wires_dead_letter_queues_and_converges_attributes() {
        let Some(sdk) = emulator::sdk().await else { return };
        let prefix = emulator::name("res");
        let first = create_queues(&sdk, &prefix, 30, 4).await.unwrap();
        assert_eq!(first.keys().copied().collect::<Vec<_>>(), Stage::ALL.to_vec());
        let again = create_queues(&sdk, &prefix, 30, 4).await.expect("creating the queues again is fine");
        assert_eq!(first, again, "the same queues come back");
        let changed = create_queues(&sdk, &prefix, 45, 4).await.expect("other attributes converge");
        assert_eq!(first, changed);

        let client = aws_sdk_sqs::Client::new(&sdk);
        let urls = &first[&Stage::Generate];
        assert!(urls.main.ends_with(&format!("{prefix}-generate")), "{urls:?}");
        assert!(urls.dead_letter.as_deref().unwrap().ends_with(&format!("{prefix}-generate-dlq")), "{urls:?}");
        let attrs = client
            .get_queue_attributes()
            .queue_url(&urls.main)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .unwrap();
        let attrs = attrs.attributes().unwrap();
        assert_eq!(attrs[&QueueAttributeName::VisibilityTimeout], "45");
        let redrive: serde_json::Value = serde_json::from_str(&attrs[&QueueAttributeName::RedrivePolicy]).unwrap();
        assert_eq!(redrive["maxReceiveCount"].to_string().trim_matches('"'), "4");
        assert!(redrive["deadLetterTargetArn"].as_str().unwrap().ends_with(&format!("{prefix}-generate-dlq")));
    }
}
