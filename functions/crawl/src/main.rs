//! The crawl stage as an AWS Lambda function: SQS batches (listing fan-out, photo intake), direct and
//! scheduled runs (`{"store": …, "only": […]}`), and catalog exports dropped in the bucket.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    truereel::lambda::serve(truereel::ports::Stage::Crawl).await
}
