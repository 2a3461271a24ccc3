//! TODO: the SQS batch handler shared by the Lambda functions.
