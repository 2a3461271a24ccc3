//! The AWS home: every port on AWS's own services (S3, DynamoDB, SQS), the same stages as the
//! embedded home. Built once per process (per Lambda cold start).

use crate::adapters::aws::dynamo::{self, DynamoStateStore};
use crate::adapters::aws::resources;
use crate::adapters::aws::s3::S3BlobStore;
use crate::adapters::aws::sqs::SqsQueue;
use crate::adapters::aws::{AwsConfig, AwsConfigError};
use crate::adapters::providers::classifier::pixel::PixelClassifier;
use crate::adapters::providers::judge::spec::SpecJudge;
use crate::adapters::providers::video::still_motion::StillMotionVideo;
use crate::adapters::providers::voice::{EspeakVoice, PiperVoice};
use crate::adapters::providers::writer::template::TemplateWriter;
use crate::adapters::storefront::StorefrontRouter;
use crate::config::Settings;
use crate::media::Media;
use crate::ports::{BlobStore, BoxError, Ports, Voice};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum AwsHomeError {
    #[error(transparent)]
    Config(#[from] AwsConfigError),
    #[error("{what}: {source}")]
    Setup {
        what: String,
        #[source]
        source: BoxError,
    },
}

fn setup(what: impl Into<String>) -> impl FnOnce(BoxError) -> AwsHomeError {
    let what = what.into();
    move |source| AwsHomeError::Setup { what, source }
}

/// How long a message stays hidden while a handler works on it, when this process creates queues.
pub const QUEUE_VISIBILITY_SECONDS: u32 = 900;

/// The ports on AWS. With `create_resources`, the bucket, table and queues (with dead-letter
/// queues) are created first if missing — for emulators and dev accounts.
pub async fn open(config: &AwsConfig, settings: Settings, create_resources: bool) -> Result<Ports, AwsHomeError> {
    open_with(&config.sdk_config().await, config, settings, create_resources).await
}

/// [`open`] with an SDK configuration already loaded (one load per cold start).
pub async fn open_with(
    sdk: &aws_config::SdkConfig,
    config: &AwsConfig,
    settings: Settings,
    create_resources: bool,
) -> Result<Ports, AwsHomeError> {
    let overridden = config.endpoint_url.is_some();
    if create_resources {
        resources::create_bucket(sdk, overridden, &config.bucket)
            .await
            .map_err(|e| setup(format!("creating bucket {}", config.bucket))(Box::new(e)))?;
        dynamo::create_table(sdk, &config.table)
            .await
            .map_err(|e| setup(format!("creating table {}", config.table))(Box::new(e)))?;
        resources::create_queues(
            sdk,
            &config.queue_prefix,
            QUEUE_VISIBILITY_SECONDS,
            crate::homes::embedded::MAX_RECEIVES,
        )
        .await
        .map_err(|e| setup(format!("creating the {} queues", config.queue_prefix))(Box::new(e)))?;
    }
    let blobs: Arc<dyn BlobStore> = Arc::new(S3BlobStore::new(sdk, overridden, config.bucket.clone()));
    let queue = SqsQueue::resolve(sdk, config).await.map_err(|e| setup("finding the stage queues")(Box::new(e)))?;
    let media = Arc::new(Media::from_env());
    let price =
        crate::homes::embedded::still_motion_price().map_err(|e| setup("reading the renderer's price")(Box::new(e)))?;
    let voice: Arc<dyn Voice> = match PiperVoice::detect() {
        Some(piper) => Arc::new(piper),
        None => Arc::new(EspeakVoice::from_env()),
    };
    Ok(Ports {
        state: Arc::new(DynamoStateStore::new(sdk, config.table.clone())),
        queue: Arc::new(queue),
        storefronts: Arc::new(StorefrontRouter::new(blobs.clone()).with_fetch_policy(settings.fetch.clone())),
        classifier: Arc::new(PixelClassifier),
        video: Arc::new(StillMotionVideo::new(media.clone(), blobs.clone(), price)),
        voice,
        writer: Arc::new(TemplateWriter),
        judge: Arc::new(SpecJudge::new(media.clone(), settings.clone())),
        blobs,
        media,
        settings,
    })
}

/// The ports a Lambda function uses, from the environment the template sets, and the provider
/// keys when `TRUEREEL_PROVIDER_SECRET_ARN` names a secret; fails fast naming what is missing.
pub async fn from_env() -> Result<(Ports, ProviderKeys), AwsHomeError> {
    let config = AwsConfig::from_env()?;
    let settings = Settings::from_env().map_err(|e| setup("reading TRUEREEL_* settings")(Box::new(e)))?;
    let sdk = config.sdk_config().await;
    let keys = match std::env::var("TRUEREEL_PROVIDER_SECRET_ARN") {
        Ok(arn) if !arn.trim().is_empty() => provider_keys(&sdk, &arn).await?,
        _ => ProviderKeys::default(),
    };
    Ok((open_with(&sdk, &config, settings, false).await?, keys))
}

/// Provider API keys (`{"runway": "…", "elevenlabs": "…"}`), read once at cold start. The values
/// never reach a log line: `Debug` shows the provider names only.
#[derive(Clone, Default, PartialEq)]
pub struct ProviderKeys(std::collections::BTreeMap<String, String>);

impl ProviderKeys {
    pub fn get(&self, provider: &str) -> Option<&str> {
        self.0.get(provider).map(String::as_str)
    }
    pub fn providers(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

impl std::fmt::Debug for ProviderKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys().map(|k| format!("{k}=<redacted>"))).finish()
    }
}

/// Reads the provider keys from a Secrets Manager secret holding a JSON object of strings.
pub async fn provider_keys(sdk: &aws_config::SdkConfig, secret: &str) -> Result<ProviderKeys, AwsHomeError> {
    let what = format!("reading provider keys from secret {secret}");
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let out =
        client.get_secret_value().secret_id(secret).send().await.map_err(|e| {
            setup(what.clone())(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string().into())
        })?;
    let text = out.secret_string().unwrap_or_default();
    // The parse error would quote the secret: say only where it failed.
    let map: std::collections::BTreeMap<String, String> = serde_json::from_str(text).map_err(|e| {
        setup(what.clone())(format!("not a JSON object of strings (line {}, column {})", e.line(), e.column()).into())
    })?;
    Ok(ProviderKeys(map))
}
