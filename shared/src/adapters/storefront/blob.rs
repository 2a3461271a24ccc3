//! The blob-store source: a catalog export dropped in our own blob store (`blob:<prefix>`), how the S3
//! catalog-drop trigger hands a store to crawl.

use super::catalog::parse_catalog;
use super::folder::{MAX_IMAGE_BYTES, MAX_LISTING_BYTES, is_remote};
use crate::BlobKey;
use crate::ProductListing;
use crate::adapters::local_file::LOCAL_READ_TIMEOUT;
use crate::ports::{BlobError, BlobStore, ImageFetch, ListingError, Storefront, StorefrontError, Validators};
use async_trait::async_trait;
use bytes::Bytes;
use std::sync::Arc;

/// A Shopify-shaped catalog export stored under a prefix of the blob store.
pub struct BlobStorefront {
    blobs: Arc<dyn BlobStore>,
    store: String,
    prefix: String,
}

impl BlobStorefront {
    pub fn new(blobs: Arc<dyn BlobStore>, store: &str, prefix: &str) -> Result<Self, StorefrontError> {
        // The catalog-drop rule names the file itself (`blob:<prefix>/products.json`).
        let prefix = prefix.strip_suffix("products.json").unwrap_or(prefix).trim_matches('/').to_string();
        BlobKey::parse(&format!("{prefix}/products.json")).map_err(|e| StorefrontError::Unreadable {
            store: store.into(),
            reason: format!("not a usable prefix: {e}"),
        })?;
        Ok(Self { blobs, store: store.into(), prefix })
    }

    async fn read(&self, key: &BlobKey, cap: u64) -> Result<Bytes, Result<String, StorefrontError>> {
        match self.blobs.head(key).await {
            Ok(Some(meta)) if meta.bytes > cap => {
                return Err(Ok(format!("{} bytes, over the {cap} byte limit", meta.bytes)));
            }
            Ok(Some(_)) => {}
            Ok(None) => return Err(Ok("no such file".into())),
            Err(e) => return Err(Err(self.transient(e))),
        }
        // Bounded in time like every local read (a blob folder is a local folder on one machine).
        match tokio::time::timeout(LOCAL_READ_TIMEOUT, self.blobs.get(key)).await {
            Err(_) => Err(Ok(format!("reading it took longer than {} s", LOCAL_READ_TIMEOUT.as_secs()))),
            Ok(got) => got.map_err(|e| match e {
                BlobError::NotFound(_) => Ok("no such file".into()),
                e => Err(self.transient(e)),
            }),
        }
    }

    fn transient(&self, e: BlobError) -> StorefrontError {
        StorefrontError::Transient { store: self.store.clone(), reason: e.to_string() }
    }
}

#[async_trait]
impl Storefront for BlobStorefront {
    fn describe(&self) -> String {
        format!("catalog export {}", self.store)
    }

    async fn list(&self) -> Result<Vec<Result<ProductListing, ListingError>>, StorefrontError> {
        let key = BlobKey::parse(&format!("{}/products.json", self.prefix)).expect("checked in new");
        let unreadable = |reason: String| StorefrontError::Unreadable { store: self.store.clone(), reason };
        let text = match self.read(&key, MAX_LISTING_BYTES).await {
            Ok(t) => t,
            Err(Ok(reason)) => return Err(unreadable(format!("products.json: {reason}"))),
            Err(Err(e)) => return Err(e),
        };
        parse_catalog(&text).map_err(unreadable)
    }

    async fn fetch_image(&self, src: &str, _known: Option<&Validators>) -> Result<ImageFetch, StorefrontError> {
        let image = |reason: String| StorefrontError::Image { store: self.store.clone(), src: src.into(), reason };
        if is_remote(src) {
            return Err(image("remote images need a web storefront (not supported by catalog exports)".into()));
        }
        let key = BlobKey::parse(&format!("{}/{}", self.prefix, src.trim_start_matches("./")))
            .map_err(|e| image(format!("not a path inside the export: {e}")))?;
        match self.read(&key, MAX_IMAGE_BYTES).await {
            Ok(b) => Ok(ImageFetch::fresh(b)),
            Err(Ok(reason)) => Err(image(reason)),
            Err(Err(e)) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::embedded::folder_blobs::FolderBlobStore;
    use crate::adapters::storefront::StorefrontRouter;
    use crate::ports::Storefronts;

    #[tokio::test]
    async fn a_catalog_export_in_the_blob_store_lists_and_serves_its_images() {
        let dir = tempfile::tempdir().unwrap();
        let blobs: Arc<dyn BlobStore> = Arc::new(FolderBlobStore::new(dir.path()).unwrap());
        let catalog =
            r#"{"products": [{"handle": "tee", "title": "Tee", "images": [{"src": "photos/a.jpg"}]}, {"title": 5}]}"#;
        let put = |k: &str, b: &'static [u8]| {
            let blobs = blobs.clone();
            let k = BlobKey::parse(k).unwrap();
            async move { blobs.put(&k, Bytes::from_static(b), "application/octet-stream").await.unwrap() }
        };
        put("catalog-drops/x/products.json", catalog.as_bytes()).await;
        put("catalog-drops/x/photos/a.jpg", b"jpeg bytes").await;
        let router = StorefrontRouter::new(blobs.clone());
        let store = router.open("blob:catalog-drops/x/").unwrap();
        let by_file = router.open("blob:catalog-drops/x/products.json").unwrap();
        assert_eq!(by_file.list().await.unwrap().len(), 2, "the locator may name the catalog file");
        let listed = store.list().await.unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].as_ref().unwrap().handle.as_str(), "tee");
        assert!(listed[1].is_err(), "the bad entry fails alone");
        assert_eq!(&store.fetch_image("photos/a.jpg", None).await.unwrap().bytes().unwrap()[..], b"jpeg bytes");
        for bad in ["../../references/x.jpg", "https://evil/x.jpg", "photos/missing.jpg"] {
            assert!(matches!(store.fetch_image(bad, None).await, Err(StorefrontError::Image { .. })), "{bad}");
        }
        let empty = router.open("blob:nothing-here").unwrap();
        assert!(matches!(empty.list().await, Err(StorefrontError::Unreadable { .. })));
        assert!(router.open("blob:../x").is_err());
    }

    #[tokio::test]
    async fn a_fifo_in_the_blob_folder_fails_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = FolderBlobStore::new(dir.path()).unwrap();
        let key = BlobKey::parse("catalog-drops/x/products.json").unwrap();
        blobs.put(&key, Bytes::from_static(b"[]"), "application/json").await.unwrap();
        let path = blobs.local_path(&key).unwrap();
        std::fs::remove_file(&path).unwrap();
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
        let got = tokio::time::timeout(std::time::Duration::from_secs(5), blobs.get(&key)).await;
        let err = got.expect("no hang").unwrap_err();
        assert!(err.to_string().contains("not a regular file (it is a FIFO)"), "{err}");
        let store = BlobStorefront::new(Arc::new(blobs), "blob:catalog-drops/x", "catalog-drops/x").unwrap();
        assert!(matches!(store.list().await, Err(StorefrontError::Unreadable { .. })));
    }
}
