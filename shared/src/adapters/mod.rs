//! Adapters: implementations of the ports, by role.
//!
//! - [`embedded`]: the one-machine stores: a blob folder, SQLite state and durable SQLite queues.
//! - [`aws`]: the same three stores on S3, DynamoDB and SQS, and the meter that counts their calls.
//! - [`storefront`]: storefront sources (folder, blob export, Shopify, WooCommerce, sitemap + JSON-LD).
//! - [`http`]: the safe fetcher every outside request goes through.
//! - [`providers`]: the providers by port: video, voice, writer, judge, classifier.
//! - [`local_file`]: bounded reads of local files (no FIFO or device can hang a read).

#[cfg(feature = "aws")]
pub mod aws;
pub mod embedded;
pub mod http;
pub mod local_file;
pub mod providers;
pub mod storefront;
