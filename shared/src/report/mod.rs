//! Reports: the end-of-run table ([`run`]) and the spend in the ledger ([`ledger`]).

pub mod ledger;
mod run;

pub use run::*;
