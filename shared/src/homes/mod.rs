//! The two homes: the same stages over the [`embedded`] stores (one machine, no account) or the
//! [`aws`](mod@aws) ones, with the provider set built once by [`providers`] for both.

#[cfg(feature = "aws")]
pub mod aws;
pub mod embedded;
