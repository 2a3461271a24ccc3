//! One integration-test binary: every module is a group of tests.

mod aws;
mod blobs;
mod crawl;
mod faults;
mod infra;
mod pipeline;
mod plan;
