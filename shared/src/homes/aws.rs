//! The AWS home: every port on AWS's own services (S3, DynamoDB, SQS), the same stages as the
//! embedded home. Built once per process (per Lambda cold start).

use crate::adapters::aws::dynamo::{self, DynamoStateStore};
use crate::adapters::aws::meter;
use crate::adapters::aws::resources;
use crate::adapters::aws::s3::S3BlobStore;
use crate::adapters::aws::sqs::SqsQueue;
use crate::config::{Config, Source};
use crate::ports::{BlobStore, BoxError};
use crate::stages::Ports;
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum AwsHomeError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Wiring(#[from] super::WiringError),
    #[error("{0} is not set: a deployed function must name its resources")]
    Unset(&'static str),
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

/// The ports on AWS, at `config.aws`. With `create_resources`, the bucket, table and queues (with
/// dead-letter queues) are created first if missing — for emulators and dev accounts.
pub async fn open(config: &Config, create_resources: bool) -> Result<Ports, AwsHomeError> {
    open_with(&config.aws.sdk_config().await, config, create_resources).await
}

/// [`open`] with an SDK configuration already loaded (one load per cold start).
pub async fn open_with(
    sdk: &aws_config::SdkConfig,
    config: &Config,
    create_resources: bool,
) -> Result<Ports, AwsHomeError> {
    let aws = &config.aws;
    let overridden = aws.endpoint_url.is_some();
    if create_resources {
        resources::create_bucket(sdk, overridden, &aws.bucket)
            .await
            .map_err(|e| setup(format!("creating bucket {}", aws.bucket))(Box::new(e)))?;
        dynamo::create_table(sdk, &aws.table)
            .await
            .map_err(|e| setup(format!("creating table {}", aws.table))(Box::new(e)))?;
        resources::create_queues(sdk, &aws.queue_prefix, QUEUE_VISIBILITY_SECONDS, crate::ports::MAX_RECEIVES)
            .await
            .map_err(|e| setup(format!("creating the {} queues", aws.queue_prefix))(Box::new(e)))?;
    }
    let blobs: Arc<dyn BlobStore> = Arc::new(S3BlobStore::new(sdk, overridden, aws.bucket.clone()));
    let queue = SqsQueue::resolve(sdk, aws).await.map_err(|e| setup("finding the stage queues")(Box::new(e)))?;
    let state = Arc::new(DynamoStateStore::new(sdk, aws.table.clone()));
    Ok(super::wire(config, blobs, state, Arc::new(queue))?)
}

/// The ports a Lambda function uses, from the configuration the template sets (the bucket and table
/// must be named), and the provider keys when `TRUEREEL_PROVIDER_SECRET_ARN` names a secret.
pub async fn for_function(config: &Config) -> Result<(Ports, ProviderKeys), AwsHomeError> {
    for var in ["TRUEREEL_BUCKET", "TRUEREEL_TABLE"] {
        if config.source(var) == Source::Default {
            return Err(AwsHomeError::Unset(var));
        }
    }
    let sdk = config.aws.sdk_config().await;
    let keys = match &config.provider_secret_arn {
        Some(arn) => provider_keys(&sdk, arn).await?,
        None => ProviderKeys::default(),
    };
    // A video, voice, writer or judge key the environment does not set comes from the secret (`runway`,
    // `kling_access_key`, `kling_secret_key`, `veo` (the service account's JSON key), `seedance`,
    // `fal`, `replicate`, `luma`, `elevenlabs`, `openai`, `anthropic`, `gemini`); the wiring refuses
    // a chosen provider still without one.
    let mut config = config.clone();
    let (voice, writer, video, judge) = (&mut config.voice, &mut config.writer, &mut config.video, &mut config.judge);
    for (provider, key) in [
        ("runway", &mut video.runway.api_key),
        ("kling_access_key", &mut video.kling.access_key),
        ("kling_secret_key", &mut video.kling.secret_key),
        ("veo", &mut video.veo.api.api_key),
        ("seedance", &mut video.seedance.api_key),
        ("fal", &mut video.fal.api_key),
        ("replicate", &mut video.replicate.api.api_key),
        ("luma", &mut video.luma.api.api_key),
        ("elevenlabs", &mut voice.elevenlabs.api_key),
        ("openai", &mut voice.openai.api_key),
        ("openai", &mut writer.openai.key),
        ("anthropic", &mut writer.anthropic.key),
        ("gemini", &mut writer.gemini.key),
        ("openai", &mut judge.openai.endpoint.key),
        ("anthropic", &mut judge.anthropic.endpoint.key),
        ("gemini", &mut judge.gemini.endpoint.key),
    ] {
        if key.is_none() {
            *key = keys.get(provider).filter(|k| !k.trim().is_empty()).map(crate::config::Secret::new);
        }
    }
    Ok((open_with(&sdk, &config, false).await?, keys))
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

/// The measurement of a drained run: the meter's counts (taken first, so the reads below are not
/// in them), the runner's messages and handler seconds, and the bucket's bytes listed through
/// `unmetered`. The still-motion outbox is the part that expires.
pub async fn measured_run(
    what: &str,
    meter: &meter::Meter,
    unmetered: &aws_config::SdkConfig,
    config: &crate::config::AwsConfig,
    ports: &Ports,
    drained: &crate::runner::DrainReport,
) -> Result<crate::costs::MeasuredRun, crate::ports::BoxError> {
    let counts = meter.counts();
    let published: Vec<_> = ports
        .state
        .list_reels()
        .await?
        .into_iter()
        .filter(|r| r.status == crate::ReelStatus::Published)
        .filter_map(|r| r.published)
        .collect();
    let mut reel_bytes = 0;
    for key in &published {
        reel_bytes += ports.blobs.head(key).await?.map_or(0, |m| m.bytes);
    }
    let path_style = config.endpoint_url.is_some();
    let (stored_bytes, expiring_bytes, _) =
        meter::bucket_bytes(unmetered, path_style, &config.bucket, meter::EXPIRING_PREFIX).await?;
    Ok(crate::costs::MeasuredRun {
        what: what.to_string(),
        reels: published.len() as u32,
        counts,
        messages: by_stage(&drained.handled),
        handler_seconds: by_stage(&drained.handler_seconds),
        stored_bytes,
        expiring_bytes,
        reel_bytes: reel_bytes / published.len().max(1) as u64,
    })
}

/// A per-stage map keyed by stage name, as a measurement stores it.
fn by_stage<T: Copy>(map: &BTreeMap<crate::ports::Stage, T>) -> BTreeMap<String, T> {
    map.iter().map(|(stage, v)| (stage.as_str().to_string(), *v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_function_must_name_its_bucket_and_table() {
        let e = for_function(&Config::default()).await.err().expect("refused");
        assert_eq!(e.to_string(), "TRUEREEL_BUCKET is not set: a deployed function must name its resources");
        let config = Config::load(&|k| (k == "TRUEREEL_BUCKET").then(|| "reels-1".into()), &[]).unwrap();
        let e = for_function(&config).await.err().expect("refused");
        assert!(e.to_string().starts_with("TRUEREEL_TABLE is not set"), "{e}");
    }
}
