//! Blob storage: a folder locally, S3 on AWS, one key layout for both.

use crate::BlobKey;
use async_trait::async_trait;
use bytes::Bytes;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob {0} does not exist")]
    NotFound(BlobKey),
    #[error("blob {key}: {source}")]
    Io {
        key: BlobKey,
        #[source]
        source: std::io::Error,
    },
    #[error("blob {key}: {source}")]
    Backend {
        key: BlobKey,
        #[source]
        source: super::BoxError,
    },
}

/// What the store knows of a blob without reading it.
#[derive(Debug, Clone, PartialEq)]
pub struct BlobMeta {
    pub bytes: u64,
    pub content_type: Option<String>,
}

#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores `body` under `key`, replacing what was there, atomically (readers see old or new).
    async fn put(&self, key: &BlobKey, body: Bytes, content_type: &str) -> Result<(), BlobError>;
    /// Stores a local file under `key` without reading it whole into memory.
    async fn put_file(&self, key: &BlobKey, path: &Path, content_type: &str) -> Result<(), BlobError>;
    /// The whole blob.
    async fn get(&self, key: &BlobKey) -> Result<Bytes, BlobError>;
    /// Copies the blob to a local file; returns its size.
    async fn get_to_file(&self, key: &BlobKey, dest: &Path) -> Result<u64, BlobError>;
    /// Size and type, or `None` if there is no such blob.
    async fn head(&self, key: &BlobKey) -> Result<Option<BlobMeta>, BlobError>;
    /// An URL a third party (a video provider) can GET the blob from for `ttl`.
    async fn presign_get(&self, key: &BlobKey, ttl: Duration) -> Result<String, BlobError>;
    /// Copies a blob to another key inside the store (publishing a reel). The default goes
    /// through a local file; stores that can copy in place (S3 CopyObject) override it.
    async fn copy(&self, from: &BlobKey, to: &BlobKey, content_type: &str) -> Result<(), BlobError> {
        if let Some(path) = self.local_path(from) {
            return self.put_file(to, &path, content_type).await;
        }
        let dir = tempfile::tempdir().map_err(|source| BlobError::Io { key: from.clone(), source })?;
        let file = dir.path().join("blob");
        self.get_to_file(from, &file).await?;
        self.put_file(to, &file, content_type).await
    }
    /// A local path the blob can be read from in place, when the store is a local folder.
    fn local_path(&self, _key: &BlobKey) -> Option<PathBuf> {
        None
    }
    /// Where a person finds the blob: a file path locally, `s3://bucket/key` on S3.
    fn location(&self, key: &BlobKey) -> String {
        self.local_path(key).map(|p| p.display().to_string()).unwrap_or_else(|| key.to_string())
    }
}
