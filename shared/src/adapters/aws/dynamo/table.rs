//! Creating the table: keys, the two indexes, on-demand billing and TTL. Idempotent.

use super::items::{GSI1, GSI1PK, GSI1SK, GSI2, GSI2PK, GSI2SK, PK, SK, TTL};
use super::{backend, built};
use crate::ports::StateError;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification, TimeToLiveStatus,
};
use std::time::Duration;

/// How long to wait for a new table to become active (DynamoDB takes seconds; moto none).
const ACTIVE_WITHIN: Duration = Duration::from_secs(300);

/// Creates `table` (on-demand billing, indexes `gsi1` and `gsi2`, TTL on `ttl`) if it is missing,
/// waits until it is active, and enables TTL if it is not. Running it again changes nothing.
/// A table of that name without the indexes is an error, not silently used.
pub async fn create_table(sdk: &aws_config::SdkConfig, table: &str) -> Result<(), StateError> {
    let client = Client::new(sdk);
    create_if_missing(&client, table).await?;
    client
        .wait_until_table_exists()
        .table_name(table)
        .wait(ACTIVE_WITHIN)
        .await
        .map_err(backend(format!("waiting for table {table} to become active")))?;
    check_indexes(&client, table).await?;
    enable_ttl(&client, table).await
}

async fn create_if_missing(client: &Client, table: &str) -> Result<(), StateError> {
    let context = || format!("creating table {table}");
    let mut request = client.create_table().table_name(table).billing_mode(BillingMode::PayPerRequest);
    for name in [PK, SK, GSI1PK, GSI1SK, GSI2PK, GSI2SK] {
        request = request.attribute_definitions(built(
            AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build(),
            &context(),
        )?);
    }
    for element in key_schema(PK, SK, &context())? {
        request = request.key_schema(element);
    }
    for (index, pk, sk) in [(GSI1, GSI1PK, GSI1SK), (GSI2, GSI2PK, GSI2SK)] {
        let gsi = GlobalSecondaryIndex::builder()
            .index_name(index)
            .set_key_schema(Some(key_schema(pk, sk, &context())?))
            .projection(Projection::builder().projection_type(ProjectionType::All).build());
        request = request.global_secondary_indexes(built(gsi.build(), &context())?);
    }
    match request.send().await {
        Ok(_) => {
            tracing::info!(table, "dynamodb table created");
            Ok(())
        }
        Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()) => {
            tracing::debug!(table, "dynamodb table exists");
            Ok(())
        }
        Err(e) => Err(backend(context())(e)),
    }
}

fn key_schema(hash: &str, range: &str, context: &str) -> Result<Vec<KeySchemaElement>, StateError> {
    [(hash, KeyType::Hash), (range, KeyType::Range)]
        .into_iter()
        .map(|(name, kind)| built(KeySchemaElement::builder().attribute_name(name).key_type(kind).build(), context))
        .collect()
}

/// An existing table must have the indexes the store queries.
async fn check_indexes(client: &Client, table: &str) -> Result<(), StateError> {
    let described =
        client.describe_table().table_name(table).send().await.map_err(backend(format!("describing table {table}")))?;
    let indexes = described.table().map(|t| t.global_secondary_indexes()).unwrap_or_default();
    for wanted in [GSI1, GSI2] {
        if !indexes.iter().any(|i| i.index_name() == Some(wanted)) {
            return Err(StateError::Backend(
                format!("table {table} exists without index {wanted}: it was not made by create_table").into(),
            ));
        }
    }
    Ok(())
}

/// Turns TTL on for the `ttl` attribute unless it is on (DynamoDB refuses to enable it twice).
async fn enable_ttl(client: &Client, table: &str) -> Result<(), StateError> {
    let context = format!("enabling TTL on table {table}");
    let described = client.describe_time_to_live().table_name(table).send().await.map_err(backend(context.clone()))?;
    let current = described.time_to_live_description();
    let status = current.and_then(|d| d.time_to_live_status());
    if matches!(status, Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)) {
        let attribute = current.and_then(|d| d.attribute_name()).unwrap_or_default();
        if attribute != TTL {
            return Err(StateError::Backend(
                format!("{context}: TTL is already on attribute {attribute:?}, not {TTL:?}").into(),
            ));
        }
        return Ok(());
    }
    let spec = built(TimeToLiveSpecification::builder().attribute_name(TTL).enabled(true).build(), &context)?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(spec)
        .send()
        .await
        .map_err(backend(context))?;
    tracing::info!(table, attribute = TTL, "dynamodb TTL enabled");
    Ok(())
}
