//! Reports: the end-of-run table ([`run`]), the spend in the ledger ([`ledger`]), what the
//! queues hold ([`queues`]) and the evaluations with the brands' pass rates ([`evals`]).

pub mod evals;
pub mod ledger;
pub mod queues;
mod run;

pub use run::*;
