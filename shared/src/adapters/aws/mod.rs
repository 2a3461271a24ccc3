//! AWS adapters: S3 blobs, DynamoDB state, SQS queues — the same ports as the embedded home.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `TRUEREEL_BUCKET` | the S3 bucket for references, clips and reels | required |
//! | `TRUEREEL_TABLE` | the DynamoDB table | required |
//! | `TRUEREEL_QUEUE_PREFIX` | queues are `<prefix>-<stage>` with dead-letter queues `<prefix>-<stage>-dlq` | `truereel` |
//! | `TRUEREEL_QUEUE_URL_<STAGE>` | a stage's queue URL (the SAM template sets these; overrides the prefix) | — |
//! | `AWS_ENDPOINT_URL` | an emulator or other endpoint (S3 then uses path-style addressing) | AWS |
//! | `AWS_REGION` | the region | from the AWS config chain |

pub mod dynamo;
pub mod meter;
pub mod resources;
pub mod s3;
pub mod sqs;

use crate::ports::Stage;
use std::collections::BTreeMap;

/// A required setting was missing or wrong, named.
#[derive(Debug, thiserror::Error)]
#[error("{name}: {reason}")]
pub struct AwsConfigError {
    pub name: String,
    pub reason: String,
}

/// Where truereel's AWS resources are.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsConfig {
    /// An emulator or other endpoint; `None` for AWS itself.
    pub endpoint_url: Option<String>,
    pub region: Option<String>,
    pub bucket: String,
    pub table: String,
    pub queue_prefix: String,
    /// Explicit queue URLs by stage; stages not here are found by name from `queue_prefix`.
    pub queue_urls: BTreeMap<Stage, String>,
}

impl AwsConfig {
    /// From the `TRUEREEL_*` and `AWS_*` variables; fails fast naming what is missing.
    pub fn from_env() -> Result<Self, AwsConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, AwsConfigError> {
        let required =
            |name: &str| get(name).ok_or_else(|| AwsConfigError { name: name.into(), reason: "is not set".into() });
        let mut queue_urls = BTreeMap::new();
        for stage in Stage::ALL {
            if let Some(url) = get(&format!("TRUEREEL_QUEUE_URL_{}", stage.as_str().to_uppercase())) {
                queue_urls.insert(stage, url);
            }
        }
        Ok(Self {
            endpoint_url: get("AWS_ENDPOINT_URL"),
            region: get("AWS_REGION").or_else(|| get("AWS_DEFAULT_REGION")),
            bucket: required("TRUEREEL_BUCKET")?,
            table: required("TRUEREEL_TABLE")?,
            queue_prefix: get("TRUEREEL_QUEUE_PREFIX").unwrap_or_else(|| "truereel".into()),
            queue_urls,
        })
    }

    /// Named resources; the endpoint, region and any queue URLs still come from the environment.
    pub fn named(bucket: &str, table: &str, queue_prefix: &str) -> Self {
        Self::from_lookup(|k| match k {
            "TRUEREEL_BUCKET" => Some(bucket.to_string()),
            "TRUEREEL_TABLE" => Some(table.to_string()),
            "TRUEREEL_QUEUE_PREFIX" => Some(queue_prefix.to_string()),
            k => std::env::var(k).ok().filter(|v| !v.trim().is_empty()),
        })
        .expect("bucket and table are given")
    }

    /// The SDK configuration: the default credential and region chain, with the endpoint and
    /// region overridden when set.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(url) = &self.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(region) = &self.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        loader.load().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_settings_are_named_and_queue_urls_are_picked_up() {
        let e = AwsConfig::from_lookup(|k| (k == "TRUEREEL_TABLE").then(|| "t".to_string())).unwrap_err();
        assert_eq!(e.name, "TRUEREEL_BUCKET");
        let c = AwsConfig::from_lookup(|k| match k {
            "TRUEREEL_BUCKET" => Some("b".into()),
            "TRUEREEL_TABLE" => Some("t".into()),
            "TRUEREEL_QUEUE_URL_GENERATE" => Some("http://q/gen".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.queue_urls.get(&Stage::Generate).map(String::as_str), Some("http://q/gen"));
        assert_eq!(c.queue_prefix, "truereel");
    }
}
