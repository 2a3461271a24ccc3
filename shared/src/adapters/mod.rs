//! Adapters: implementations of the ports. `local` is the embedded default, `aws` the deployed home.

#[cfg(feature = "aws")]
pub mod aws;
pub mod http;
pub mod local;
pub mod storefronts;
pub mod web;
