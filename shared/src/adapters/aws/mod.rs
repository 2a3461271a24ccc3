//! AWS adapters: S3 blobs, DynamoDB state, SQS queues — the same ports as the embedded home.
//!
//! Where the resources are is [`AwsConfig`], from the configuration (`TRUEREEL_BUCKET`, `TRUEREEL_TABLE`,
//! `TRUEREEL_QUEUE_PREFIX`, `TRUEREEL_QUEUE_URL_<STAGE>`, `AWS_ENDPOINT_URL`, `AWS_REGION`); with an
//! endpoint set, S3 uses path-style addressing.

pub mod dynamo;
pub mod meter;
pub mod resources;
pub mod s3;
pub mod sqs;

pub use crate::config::AwsConfig;

impl AwsConfig {
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
