//! One integration-test binary: every module is a group of tests.

mod aws;
mod blobs;
mod crawl;
mod evals;
mod faults;
mod flag;
mod generate;
mod infra;
mod judge;
mod pipeline;
mod plan;
mod providers;
mod review;
mod serve;
mod sheet;
mod vision;
