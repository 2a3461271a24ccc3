//! Test helpers other crates use too (feature `testing`): a loopback HTTP server.

pub mod http_server;

pub use http_server::{RecordedRequest, Reply, TestServer};

#[cfg(test)]
mod tests;
