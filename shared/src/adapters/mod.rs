//! Adapters: implementations of the ports. `local` is the embedded default.

pub mod local;
