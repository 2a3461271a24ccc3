//! The five stages: plain async functions over the ports.

pub mod intake;
