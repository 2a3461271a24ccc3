//! [`BlobStore`] on S3: blob key `a/b/c.mp4` is object `a/b/c.mp4` in one bucket, the folder store's layout.
//!
//! `put` is one PutObject carrying the content type. `put_file` streams the file from disk: one PutObject
//! up to the multipart threshold, above it a multipart upload read part by part from the file (CRC32
//! checksums per part), aborted if any step fails so no orphaned parts are billed. `get_to_file` streams
//! the body to a temporary file next to the destination and renames it into place. `presign_get` signs a
//! GET URL valid for the TTL (SigV4 allows at most 7 days) after checking the object exists, like the
//! folder store. A missing object is [`BlobError::NotFound`]; every other failure is
//! [`BlobError::Backend`] naming the key, the bucket, the operation and the service's reason.

use crate::BlobKey;
use crate::ports::{BlobError, BlobMeta, BlobStore};
use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use std::path::Path;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

const MIB: u64 = 1024 * 1024;
/// Files larger than this go up as multipart uploads by default.
pub const DEFAULT_MULTIPART_THRESHOLD: u64 = 16 * MIB;
/// The default size of one multipart part.
pub const DEFAULT_PART_SIZE: u64 = 8 * MIB;
/// S3's smallest part (all but the last).
pub const MIN_PART_SIZE: u64 = 5 * MIB;
/// S3's most parts in one upload.
const MAX_PARTS: u64 = 10_000;
/// SigV4 presigned URLs live at most 7 days.
pub const MAX_PRESIGN_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// An S3 call failed: which bucket and operation, and the service's reason.
#[derive(Debug, thiserror::Error)]
#[error("s3://{bucket}: {operation}: {reason}")]
pub struct S3Error {
    pub bucket: String,
    pub operation: &'static str,
    pub reason: String,
}

/// An S3 client for `sdk`, with path-style addressing when an endpoint (an emulator) is set:
/// virtual-host addressing needs DNS names like `bucket.localhost` that emulators lack.
pub fn client(sdk: &aws_config::SdkConfig, endpoint_overridden: bool) -> Client {
    let path_style = endpoint_overridden || sdk.endpoint_url().is_some();
    Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(path_style).build())
}

/// Blobs as objects in one S3 bucket.
#[derive(Debug, Clone)]
pub struct S3BlobStore {
    client: Client,
    bucket: String,
    multipart_threshold: u64,
    part_size: u64,
}

impl S3BlobStore {
    /// A store on `bucket` (which must exist; see [`super::resources::create_bucket`]). Path-style
    /// addressing is used when `endpoint_overridden` or the SDK config has an endpoint.
    pub fn new(sdk: &aws_config::SdkConfig, endpoint_overridden: bool, bucket: String) -> Self {
        Self {
            client: client(sdk, endpoint_overridden),
            bucket,
            multipart_threshold: DEFAULT_MULTIPART_THRESHOLD,
            part_size: DEFAULT_PART_SIZE,
        }
    }

    /// Uses multipart uploads for files larger than `threshold` bytes, in parts of `part_size`
    /// (raised to S3's 5 MiB minimum, and as needed to stay within 10,000 parts).
    pub fn with_multipart(mut self, threshold: u64, part_size: u64) -> Self {
        self.multipart_threshold = threshold;
        self.part_size = part_size.max(MIN_PART_SIZE);
        self
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// A [`BlobError::Backend`] for `key` from an SDK (or other) error, with its full context.
    fn backend(&self, key: &BlobKey, operation: &'static str, err: impl std::error::Error) -> BlobError {
        let reason = DisplayErrorContext(&err).to_string();
        BlobError::Backend {
            key: key.clone(),
            source: Box::new(S3Error { bucket: self.bucket.clone(), operation, reason }),
        }
    }

    /// A [`BlobError::Io`] for `key` about the local `path`.
    fn io(key: &BlobKey, path: &Path, what: &str, err: impl std::fmt::Display) -> BlobError {
        BlobError::Io { key: key.clone(), source: std::io::Error::other(format!("{what} {}: {err}", path.display())) }
    }

    async fn put_multipart(&self, key: &BlobKey, path: &Path, size: u64, content_type: &str) -> Result<(), BlobError> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type(content_type)
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .send()
            .await
            .map_err(|e| self.backend(key, "CreateMultipartUpload", e))?;
        let Some(upload_id) = created.upload_id().map(str::to_string) else {
            return Err(self.backend(key, "CreateMultipartUpload", std::io::Error::other("no upload id returned")));
        };
        let outcome = self.upload_parts_and_complete(key, path, size, &upload_id).await;
        if outcome.is_err() {
            let abort =
                self.client.abort_multipart_upload().bucket(&self.bucket).key(key.as_str()).upload_id(&upload_id);
            if let Err(e) = abort.send().await {
                tracing::warn!(%key, bucket = %self.bucket, upload_id, error = %DisplayErrorContext(&e),
                    "could not abort a failed multipart upload; a bucket lifecycle rule should clean it up");
            } else {
                tracing::debug!(%key, upload_id, "aborted the failed multipart upload");
            }
        }
        outcome
    }

    async fn upload_parts_and_complete(
        &self,
        key: &BlobKey,
        path: &Path,
        size: u64,
        upload_id: &str,
    ) -> Result<(), BlobError> {
        let part_size = self.part_size.max(size.div_ceil(MAX_PARTS));
        let count = size.div_ceil(part_size).max(1);
        tracing::info!(%key, bucket = %self.bucket, bytes = size, parts = count, "multipart upload");
        let mut parts = Vec::with_capacity(count as usize);
        for index in 0..count {
            let offset = index * part_size;
            let length = part_size.min(size - offset);
            let body = ByteStream::read_from()
                .path(path)
                .offset(offset)
                .length(Length::Exact(length))
                .build()
                .await
                .map_err(|e| Self::io(key, path, "reading a part of", e))?;
            let number = index as i32 + 1;
            let done = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(key.as_str())
                .upload_id(upload_id)
                .part_number(number)
                .content_length(length as i64)
                .checksum_algorithm(ChecksumAlgorithm::Crc32)
                .body(body)
                .send()
                .await
                .map_err(|e| self.backend(key, "UploadPart", e))?;
            let mut part = CompletedPart::builder().part_number(number).set_e_tag(done.e_tag().map(str::to_string));
            if let Some(crc) = done.checksum_crc32() {
                part = part.checksum_crc32(crc);
            }
            parts.push(part.build());
        }
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key.as_str())
            .upload_id(upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .send()
            .await
            .map_err(|e| self.backend(key, "CompleteMultipartUpload", e))?;
        Ok(())
    }

    /// GetObject, with a missing key as `NotFound`.
    async fn get_object(&self, key: &BlobKey) -> Result<aws_sdk_s3::operation::get_object::GetObjectOutput, BlobError> {
        self.client.get_object().bucket(&self.bucket).key(key.as_str()).send().await.map_err(|e| {
            if e.as_service_error().is_some_and(|s| s.is_no_such_key()) {
                BlobError::NotFound(key.clone())
            } else {
                self.backend(key, "GetObject", e)
            }
        })
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn put(&self, key: &BlobKey, body: Bytes, content_type: &str) -> Result<(), BlobError> {
        tracing::debug!(%key, bucket = %self.bucket, bytes = body.len(), "put");
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| self.backend(key, "PutObject", e))?;
        Ok(())
    }

    /// Server-side CopyObject: the bytes never leave S3. (Copies above 5 GiB would need a
    /// multipart copy; reels are megabytes.)
    async fn copy(&self, from: &BlobKey, to: &BlobKey, content_type: &str) -> Result<(), BlobError> {
        self.client
            .copy_object()
            .bucket(&self.bucket)
            .copy_source(format!("{}/{}", self.bucket, from.as_str()))
            .key(to.as_str())
            .content_type(content_type)
            .metadata_directive(aws_sdk_s3::types::MetadataDirective::Replace)
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error().is_some_and(|s| s.meta().code() == Some("NoSuchKey")) {
                    BlobError::NotFound(from.clone())
                } else {
                    self.backend(to, "CopyObject", e)
                }
            })?;
        Ok(())
    }

    async fn put_file(&self, key: &BlobKey, path: &Path, content_type: &str) -> Result<(), BlobError> {
        let size = tokio::fs::metadata(path).await.map_err(|e| Self::io(key, path, "reading", e))?.len();
        if size > self.multipart_threshold {
            return self.put_multipart(key, path, size, content_type).await;
        }
        tracing::debug!(%key, bucket = %self.bucket, bytes = size, "put a file");
        let body = ByteStream::from_path(path).await.map_err(|e| Self::io(key, path, "reading", e))?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type(content_type)
            .body(body)
            .send()
            .await
            .map_err(|e| self.backend(key, "PutObject", e))?;
        Ok(())
    }

    async fn get(&self, key: &BlobKey) -> Result<Bytes, BlobError> {
        let out = self.get_object(key).await?;
        Ok(out.body.collect().await.map_err(|e| self.backend(key, "GetObject (reading the body)", e))?.into_bytes())
    }

    async fn get_to_file(&self, key: &BlobKey, dest: &Path) -> Result<u64, BlobError> {
        let out = self.get_object(key).await?;
        // Stream into a temporary file beside `dest`, then rename: `dest` is never left half written.
        let dir = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(dir)
            .map_err(|e| Self::io(key, dir, "creating a temporary file in", e))?;
        let handle = tmp.as_file().try_clone().map_err(|e| Self::io(key, tmp.path(), "opening", e))?;
        let mut file = tokio::fs::File::from_std(handle);
        let mut body = out.body.into_async_read();
        let written = tokio::io::copy_buf(&mut body, &mut file)
            .await
            .map_err(|e| self.backend(key, "GetObject (streaming the body to a file)", e))?;
        file.flush().await.map_err(|e| Self::io(key, tmp.path(), "writing", e))?;
        file.sync_all().await.map_err(|e| Self::io(key, tmp.path(), "syncing", e))?;
        drop(file);
        tmp.persist(dest).map_err(|e| Self::io(key, dest, "renaming into", e.error))?;
        tracing::debug!(%key, bucket = %self.bucket, bytes = written, dest = %dest.display(), "got a blob to a file");
        Ok(written)
    }

    async fn head(&self, key: &BlobKey) -> Result<Option<BlobMeta>, BlobError> {
        match self.client.head_object().bucket(&self.bucket).key(key.as_str()).send().await {
            Ok(out) => Ok(Some(BlobMeta {
                bytes: out.content_length().unwrap_or(0).max(0) as u64,
                content_type: out.content_type().map(str::to_string),
            })),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(self.backend(key, "HeadObject", e)),
        }
    }

    async fn presign_get(&self, key: &BlobKey, ttl: Duration) -> Result<String, BlobError> {
        if ttl > MAX_PRESIGN_TTL {
            let reason = format!("a presigned URL lives at most 7 days, {ttl:?} was asked");
            return Err(self.backend(key, "presign GetObject", std::io::Error::other(reason)));
        }
        if self.head(key).await?.is_none() {
            return Err(BlobError::NotFound(key.clone()));
        }
        let config = PresigningConfig::expires_in(ttl).map_err(|e| self.backend(key, "presign GetObject", e))?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .presigned(config)
            .await
            .map_err(|e| self.backend(key, "presign GetObject", e))?;
        Ok(request.uri().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::aws::resources::{create_bucket, emulator};
    use std::io::{Read, Write};

    /// A store on a fresh bucket of the emulator, or `None` (skipped) without one.
    async fn store() -> Option<S3BlobStore> {
        let sdk = emulator::sdk().await?;
        let bucket = emulator::name("blobs");
        create_bucket(&sdk, true, &bucket).await.expect("create the test bucket");
        Some(S3BlobStore::new(&sdk, true, bucket))
    }

    /// A minimal HTTP/1.1 GET over a plain TCP connection: (status, body).
    fn http_get(url: &str) -> (u16, Vec<u8>) {
        let rest = url.strip_prefix("http://").expect("an http:// URL");
        let (authority, path) = rest.split_at(rest.find('/').expect("a path"));
        let mut conn = std::net::TcpStream::connect(authority).expect("connect to the emulator");
        conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(conn, "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n").unwrap();
        let mut response = Vec::new();
        conn.read_to_end(&mut response).expect("read the response");
        let split = response.windows(4).position(|w| w == b"\r\n\r\n").expect("a header block") + 4;
        let head = String::from_utf8_lossy(&response[..split]).to_string();
        let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("a status code");
        assert!(
            !head.to_ascii_lowercase().contains("transfer-encoding: chunked"),
            "chunked bodies unsupported: {head}"
        );
        (status, response[split..].to_vec())
    }

    #[tokio::test]
    async fn s3_blobs_pass_the_contract() {
        let Some(store) = store().await else { return };
        crate::contract::blob_store_contract(&store).await;
    }

    #[tokio::test]
    async fn a_file_above_the_threshold_goes_up_in_parts_and_comes_back_whole() {
        let Some(store) = store().await else { return };
        let store = store.with_multipart(1024, 1);
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("reel.mp4");
        // Three parts: 5 MiB, 5 MiB and a short last one.
        let data: Vec<u8> = (0..(2 * MIN_PART_SIZE + 12_345)).map(|i| (i * 31 % 251) as u8).collect();
        std::fs::write(&src, &data).unwrap();
        let key = BlobKey::parse("reels/multipart/reel-1.mp4").unwrap();
        store.put_file(&key, &src, "video/mp4").await.unwrap();
        let meta = store.head(&key).await.unwrap().unwrap();
        assert_eq!((meta.bytes, meta.content_type.as_deref()), (data.len() as u64, Some("video/mp4")));
        let out = dir.path().join("copy.mp4");
        assert_eq!(store.get_to_file(&key, &out).await.unwrap(), data.len() as u64);
        assert!(std::fs::read(&out).unwrap() == data, "the multipart object is the file, byte for byte");
        let uploads = store.client.list_multipart_uploads().bucket(store.bucket()).send().await.unwrap();
        assert!(uploads.uploads().is_empty(), "no upload is left open: {:?}", uploads.uploads());
    }

    #[tokio::test]
    async fn a_failed_multipart_upload_is_aborted_and_leaves_no_object() {
        let Some(store) = store().await else { return };
        let store = store.with_multipart(0, MIN_PART_SIZE);
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("short.mp4");
        std::fs::write(&src, vec![7u8; 1000]).unwrap();
        // The file shrinks between sizing and reading: the part read fails after the upload was created.
        let key = BlobKey::parse("reels/multipart/broken.mp4").unwrap();
        let size = 2 * MIN_PART_SIZE;
        let err = store.put_multipart(&key, &src, size, "video/mp4").await.unwrap_err();
        assert!(matches!(err, BlobError::Io { .. }), "the part read failed, after the upload began: {err:?}");
        assert!(err.to_string().contains("reels/multipart/broken.mp4"), "{err}");
        let uploads = store.client.list_multipart_uploads().bucket(store.bucket()).send().await.unwrap();
        assert!(uploads.uploads().is_empty(), "the failed upload was aborted: {:?}", uploads.uploads());
        assert!(store.head(&key).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_presigned_url_serves_the_blob_over_plain_http_for_its_ttl() {
        let Some(store) = store().await else { return };
        let key = BlobKey::parse("references/presigned photo.jpg").unwrap();
        store.put(&key, Bytes::from_static(b"\xff\xd8 jpeg bytes"), "image/jpeg").await.unwrap();
        let url = store.presign_get(&key, Duration::from_secs(600)).await.unwrap();
        assert!(url.contains("X-Amz-Expires=600"), "the URL carries the TTL: {url}");
        assert!(url.contains("X-Amz-Signature="), "{url}");
        let (status, body) = tokio::task::spawn_blocking(move || http_get(&url)).await.unwrap();
        assert_eq!(status, 200);
        assert_eq!(body, b"\xff\xd8 jpeg bytes");

        let missing = BlobKey::parse("references/none.jpg").unwrap();
        assert!(matches!(store.presign_get(&missing, Duration::from_secs(60)).await, Err(BlobError::NotFound(_))));
        let too_long = store.presign_get(&key, MAX_PRESIGN_TTL + Duration::from_secs(1)).await.unwrap_err();
        assert!(too_long.to_string().contains("7 days"), "{too_long}");
    }

    #[tokio::test]
    async fn missing_objects_are_not_found_and_other_failures_name_bucket_and_reason() {
        let Some(sdk) = emulator::sdk().await else { return };
        let Some(store) = store().await else { return };
        let key = BlobKey::parse("clips/none.mp4").unwrap();
        assert!(matches!(store.get(&key).await, Err(BlobError::NotFound(k)) if k == key));
        assert_eq!(store.head(&key).await.unwrap(), None);

        let nowhere = S3BlobStore::new(&sdk, true, emulator::name("absent"));
        let err = nowhere.get(&key).await.unwrap_err();
        assert!(matches!(err, BlobError::Backend { .. }), "a missing bucket is not a missing blob: {err:?}");
        let text = format!("{err}: {}", std::error::Error::source(&err).unwrap());
        assert!(text.contains("clips/none.mp4") && text.contains(nowhere.bucket()), "{text}");
        assert!(text.contains("NoSuchBucket"), "the service's reason is kept: {text}");
        let err = nowhere.put(&key, Bytes::from_static(b"x"), "video/mp4").await.unwrap_err();
        assert!(std::error::Error::source(&err).unwrap().to_string().contains("PutObject"), "{err:?}");
    }
}
