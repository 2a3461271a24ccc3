//! [`BlobStore`] on a local folder: key `a/b/c.mp4` is the file `<root>/a/b/c.mp4`.
//!
//! Writes are atomic: the bytes go to a temporary file in the destination's folder, are fsynced, then
//! renamed over the destination (and the folder is fsynced), so readers see the old or the new blob,
//! never a torn one. Content types are not stored: [`BlobMeta::content_type`] is inferred from the key's
//! extension (a sidecar file could collide with a real key). `presign_get` returns a `file://` URL of the
//! absolute path; the TTL is ignored because a local file has no expiry.

use crate::BlobKey;
use crate::adapters::local_file::{LocalReadError, read_regular_blocking};
use crate::ports::{BlobError, BlobMeta, BlobStore};
use async_trait::async_trait;
use bytes::Bytes;
use std::io::{ErrorKind, Write};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

/// Blobs as files under one root folder.
#[derive(Debug, Clone)]
pub struct FolderBlobStore {
    root: PathBuf,
}

/// A key whose path would leave the store's root (a symlink-free lexical check).
#[derive(Debug, thiserror::Error)]
#[error("path {path} is outside the blob store root {root}")]
pub struct OutsideRoot {
    pub path: PathBuf,
    pub root: PathBuf,
}

impl FolderBlobStore {
    /// Uses `root` (created if missing) as the store. The root is made absolute.
    pub fn new(root: impl Into<PathBuf>) -> Result<Self, std::io::Error> {
        let root = root.into();
        std::fs::create_dir_all(&root)?;
        Ok(Self { root: root.canonicalize()? })
    }

    /// The absolute folder the blobs live in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of `key`, checked to stay under the root.
    fn path(&self, key: &BlobKey) -> Result<PathBuf, BlobError> {
        let path = self.root.join(key.as_str());
        let relative_ok = Path::new(key.as_str()).components().all(|c| matches!(c, Component::Normal(_)));
        if !relative_ok || !path.starts_with(&self.root) {
            return Err(BlobError::Backend {
                key: key.clone(),
                source: Box::new(OutsideRoot { path, root: self.root.clone() }),
            });
        }
        Ok(path)
    }

    /// Writes a blob atomically with `fill`, which writes the temporary file at the given path.
    async fn write_atomic<F>(&self, key: &BlobKey, fill: F) -> Result<(), BlobError>
    where
        F: FnOnce(&Path) -> std::io::Result<()> + Send + 'static,
    {
        let dest = self.path(key)?;
        let io = |source| BlobError::Io { key: key.clone(), source };
        tokio::task::spawn_blocking(move || write_atomic_blocking(&dest, fill))
            .await
            .map_err(|e| io(std::io::Error::other(e)))?
            .map_err(io)
    }
}

fn write_atomic_blocking(dest: &Path, fill: impl FnOnce(&Path) -> std::io::Result<()>) -> std::io::Result<()> {
    let dir = dest.parent().ok_or_else(|| std::io::Error::other("a blob path has no folder"))?;
    std::fs::create_dir_all(dir)?;
    let tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
    fill(tmp.path())?;
    std::fs::OpenOptions::new().write(true).open(tmp.path())?.sync_all()?;
    tmp.persist(dest).map_err(|e| e.error)?;
    // Make the rename itself durable. Not every platform can open a folder; the data is synced anyway.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The content type of a key, from its extension.
pub fn content_type_of(key: &str) -> Option<&'static str> {
    let ext = Path::new(key).extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "wav" => "audio/wav",
        "mp3" => "audio/mpeg",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        "json" => "application/json",
        "ass" => "text/x-ssa",
        "srt" => "application/x-subrip",
        "txt" => "text/plain",
        "html" => "text/html",
        _ => return None,
    })
}

/// A `file://` URL of an absolute path, percent-encoding all but unreserved characters and `/`.
fn file_url(path: &Path) -> String {
    let mut url = String::from("file://");
    for b in path.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}

#[async_trait]
impl BlobStore for FolderBlobStore {
    async fn put(&self, key: &BlobKey, body: Bytes, content_type: &str) -> Result<(), BlobError> {
        if content_type_of(key.as_str()).is_some_and(|t| t != content_type) {
            tracing::debug!(%key, content_type, "content type differs from the key's extension and is not kept");
        }
        self.write_atomic(key, move |tmp| {
            let mut f = std::fs::OpenOptions::new().write(true).truncate(true).open(tmp)?;
            f.write_all(&body)
        })
        .await
    }

    async fn put_file(&self, key: &BlobKey, path: &Path, content_type: &str) -> Result<(), BlobError> {
        if content_type_of(key.as_str()).is_some_and(|t| t != content_type) {
            tracing::debug!(%key, content_type, "content type differs from the key's extension and is not kept");
        }
        let src = path.to_path_buf();
        self.write_atomic(key, move |tmp| {
            std::fs::copy(&src, tmp)
                .map(|_| ())
                .map_err(|e| std::io::Error::new(e.kind(), format!("copying {} into the store: {e}", src.display())))
        })
        .await
    }

    async fn get(&self, key: &BlobKey) -> Result<Bytes, BlobError> {
        // Never blocks on a FIFO or device someone put in the folder: checked, opened without blocking.
        let path = self.path(key)?;
        let read = tokio::task::spawn_blocking(move || read_regular_blocking(&path, u64::MAX)).await;
        match read.map_err(|e| std::io::Error::other(e.to_string())) {
            Ok(Ok(b)) => Ok(Bytes::from(b)),
            Ok(Err(LocalReadError::NotFound)) => Err(BlobError::NotFound(key.clone())),
            Ok(Err(LocalReadError::Io(source))) | Err(source) => Err(BlobError::Io { key: key.clone(), source }),
            Ok(Err(e)) => Err(BlobError::Io { key: key.clone(), source: std::io::Error::other(e.to_string()) }),
        }
    }

    async fn get_to_file(&self, key: &BlobKey, dest: &Path) -> Result<u64, BlobError> {
        let src = self.path(key)?;
        match tokio::fs::metadata(&src).await {
            Ok(m) if m.is_file() => {}
            Ok(_) => return Err(BlobError::NotFound(key.clone())),
            Err(e) if e.kind() == ErrorKind::NotFound => return Err(BlobError::NotFound(key.clone())),
            Err(source) => return Err(BlobError::Io { key: key.clone(), source }),
        }
        tokio::fs::copy(&src, dest).await.map_err(|e| BlobError::Io {
            key: key.clone(),
            source: std::io::Error::new(e.kind(), format!("copying to {}: {e}", dest.display())),
        })
    }

    async fn head(&self, key: &BlobKey) -> Result<Option<BlobMeta>, BlobError> {
        match tokio::fs::metadata(self.path(key)?).await {
            Ok(m) if m.is_file() => {
                Ok(Some(BlobMeta { bytes: m.len(), content_type: content_type_of(key.as_str()).map(str::to_string) }))
            }
            Ok(_) => Ok(None),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(source) => Err(BlobError::Io { key: key.clone(), source }),
        }
    }

    async fn presign_get(&self, key: &BlobKey, _ttl: Duration) -> Result<String, BlobError> {
        let path = self.path(key)?;
        if self.head(key).await?.is_none() {
            return Err(BlobError::NotFound(key.clone()));
        }
        Ok(file_url(&path))
    }

    fn local_path(&self, key: &BlobKey) -> Option<PathBuf> {
        self.path(key).ok().filter(|p| p.is_file())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn folder_blobs_pass_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        let store = FolderBlobStore::new(dir.path().join("blobs")).unwrap();
        crate::contract::blob_store_contract(&store).await;
    }

    #[tokio::test]
    async fn keys_map_to_files_under_the_root_and_leave_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = FolderBlobStore::new(dir.path()).unwrap();
        let key = BlobKey::parse("reels/tee--0123456789ab/reel-1.mp4").unwrap();
        store.put(&key, Bytes::from_static(b"first"), "video/mp4").await.unwrap();
        store.put(&key, Bytes::from_static(b"second"), "video/mp4").await.unwrap();
        let file = store.root().join("reels/tee--0123456789ab/reel-1.mp4");
        assert_eq!(std::fs::read(&file).unwrap(), b"second");
        assert_eq!(store.local_path(&key), Some(file.clone()));
        let names: Vec<_> = std::fs::read_dir(file.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["reel-1.mp4"], "temporary files are renamed away");
    }

    #[tokio::test]
    async fn presigned_urls_are_file_urls_of_the_absolute_path() {
        let dir = tempfile::tempdir().unwrap();
        let store = FolderBlobStore::new(dir.path().join("with space")).unwrap();
        let key = BlobKey::parse("public/tee.mp4").unwrap();
        store.put(&key, Bytes::from_static(b"x"), "video/mp4").await.unwrap();
        let url = store.presign_get(&key, Duration::from_secs(60)).await.unwrap();
        assert!(url.starts_with("file:///"), "{url}");
        assert!(url.ends_with("/with%20space/public/tee.mp4"), "{url}");
        let missing = BlobKey::parse("public/none.mp4").unwrap();
        assert!(matches!(store.presign_get(&missing, Duration::ZERO).await, Err(BlobError::NotFound(_))));
    }

    #[tokio::test]
    async fn a_missing_source_file_is_an_io_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = FolderBlobStore::new(dir.path()).unwrap();
        let key = BlobKey::parse("a/b.wav").unwrap();
        let err = store.put_file(&key, &dir.path().join("nope.wav"), "audio/wav").await.unwrap_err();
        assert!(matches!(err, BlobError::Io { .. }), "{err:?}");
        assert!(err.to_string().contains("a/b.wav"), "{err}");
        assert!(store.head(&key).await.unwrap().is_none(), "a failed put leaves nothing behind");
    }

    #[test]
    fn content_types_come_from_extensions() {
        assert_eq!(content_type_of("reels/x/reel-1.mp4"), Some("video/mp4"));
        assert_eq!(content_type_of("references/abc.JPG"), Some("image/jpeg"));
        assert_eq!(content_type_of("noext"), None);
    }
}
