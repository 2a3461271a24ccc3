//! `truereel-origin`: the local twin of the CloudFront origin, `truereel serve`. Published reels and
//! posters at `/reels/…` (the same URL layout CloudFront serves from `s3://<bucket>/public/`), any other
//! blob behind a signed expiring link at `/files/<key>`, a read-only JSON API under `/api/`, and the
//! embed snippet (`truereel embed`). Only the CLI links it: the Lambda functions never carry a server.
//! Unix only (files are opened beneath their folder and read with `pread`).

#[cfg(not(unix))]
compile_error!("truereel-origin serves files the Unix way (openat2/O_NOFOLLOW, pread): Unix only");

pub mod api;
pub mod embed;
mod file;
pub mod hot;
pub mod links;
pub mod paths;
pub mod range;
pub mod review;
pub mod server;
pub mod signing;

pub use embed::{Embed, EmbedError, embed};
pub use links::{IMMUTABLE_CACHE_CONTROL, PublicUrls, STABLE_CACHE_CONTROL};
pub use server::{Origin, OriginError, api_open_on, router, serve};
pub use signing::SigningKey;
