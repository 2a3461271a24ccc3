//! The generate stage as an AWS Lambda function: each SQS batch through the stage, failed records reported.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    truereel::lambda::serve(truereel::ports::Stage::Generate).await
}
