//! One integration-test binary: every module is a group of tests.

mod faults;
mod infra;
mod pipeline;
