//! Embedded adapters: folder blobs, SQLite state and queues, folder storefront, offline providers.

pub mod espeak;
pub mod folder_blobs;
pub mod folder_store;
pub mod pixel_classifier;
pub mod spec_judge;
pub mod sqlite;
pub mod sqlite_queue;
pub mod sqlite_state;
pub mod still_motion;
pub mod template_writer;
