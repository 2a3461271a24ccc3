//! Reports: the end-of-run table ([`run`]), the spend in the ledger ([`ledger`]) and what the
//! queues hold ([`queues`]).

pub mod ledger;
pub mod queues;
mod run;

pub use run::*;
