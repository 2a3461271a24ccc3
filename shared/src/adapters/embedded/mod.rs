//! The embedded stores: blobs in a folder, state records and durable stage queues in one SQLite file.

pub mod folder_blobs;
pub mod sqlite;
pub mod sqlite_queue;
pub mod sqlite_state;
