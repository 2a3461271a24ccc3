//! The generate stage as an AWS Lambda function: an SQS batch in, the records that failed out.
//!
//! For now it only parses and logs each message; the stage itself is wired in later.

use lambda_runtime::{Error, service_fn};
use truereel::ports::Stage;

#[tokio::main]
async fn main() -> Result<(), Error> {
    truereel::telemetry::init_json();
    lambda_runtime::run(service_fn(|event| {
        truereel::lambda::sqs_batch(event, Stage::Generate, |msg| async move {
            tracing::info!(?msg, "Received.");
            Ok(())
        })
    }))
    .await
}
