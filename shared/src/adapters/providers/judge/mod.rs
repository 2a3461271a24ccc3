//! Judges behind [`Judge`](crate::ports::Judge): the spec judge (local measurements) today.

pub mod spec;

pub use spec::SpecJudge;
