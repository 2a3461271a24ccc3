//! The folder storefront: a store folder with a Shopify-shaped `products.json` and its photos beside it.
//!
//! Storefront data is untrusted: every product is parsed on its own (by [`super::catalog`]), leniently,
//! so one bad entry fails alone; image paths never leave the store folder.

use super::catalog::parse_catalog;
use crate::ProductListing;
use crate::adapters::local_file::{LOCAL_READ_TIMEOUT, LocalReadError, read_regular};
use crate::ports::{ImageFetch, ListingError, Storefront, StorefrontError, Storefronts, Validators};
use async_trait::async_trait;
use bytes::Bytes;
use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// The largest `products.json` read.
pub const MAX_LISTING_BYTES: u64 = 64 * 1024 * 1024;
/// The largest image file read.
pub const MAX_IMAGE_BYTES: u64 = 50 * 1024 * 1024;

/// Opens store folders.
#[derive(Debug, Clone, Copy, Default)]
pub struct FolderStorefronts;

impl Storefronts for FolderStorefronts {
    fn open(&self, store: &str) -> Result<Arc<dyn Storefront>, StorefrontError> {
        Ok(Arc::new(FolderStorefront::open(store)?))
    }
}

/// One store folder: `products.json` and the photos it names by relative path.
#[derive(Debug, Clone)]
pub struct FolderStorefront {
    root: PathBuf,
    /// `root` with every symlink resolved: image paths must stay under it.
    canonical_root: PathBuf,
    /// The store as the caller named it, for messages.
    store: String,
}

impl FolderStorefront {
    /// Opens `store`, which must be a folder holding a `products.json`.
    pub fn open(store: &str) -> Result<Self, StorefrontError> {
        let unreadable = |reason: String| StorefrontError::Unreadable { store: store.to_string(), reason };
        if is_remote(store) {
            return Err(unreadable("web storefronts are not supported yet: give a store folder".into()));
        }
        let root = PathBuf::from(store);
        let meta = std::fs::metadata(&root).map_err(|e| match e.kind() {
            ErrorKind::NotFound => unreadable(format!("no such folder: {}", root.display())),
            _ => unreadable(format!("cannot open folder {}: {e}", root.display())),
        })?;
        if !meta.is_dir() {
            return Err(unreadable(format!("{} is a file, not a store folder", root.display())));
        }
        match std::fs::metadata(root.join("products.json")) {
            Ok(m) if m.is_file() => {}
            Ok(m) => {
                let why = LocalReadError::NotRegular(crate::adapters::local_file::kind_of(&m));
                return Err(unreadable(format!("products.json is {why} ({})", root.display())));
            }
            Err(_) => return Err(unreadable(format!("no products.json in it ({})", root.display()))),
        }
        let canonical_root =
            root.canonicalize().map_err(|e| unreadable(format!("cannot resolve {}: {e}", root.display())))?;
        Ok(Self { root, canonical_root, store: store.to_string() })
    }

    /// The store folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn unreadable(&self, reason: impl Into<String>) -> StorefrontError {
        StorefrontError::Unreadable { store: self.store.clone(), reason: reason.into() }
    }

    fn image_error(&self, src: &str, reason: impl Into<String>) -> StorefrontError {
        StorefrontError::Image { store: self.store.clone(), src: src.to_string(), reason: reason.into() }
    }

    /// The file `src` names, checked to be inside the store folder.
    async fn resolve(&self, src: &str) -> Result<PathBuf, StorefrontError> {
        if is_remote(src) {
            return Err(
                self.image_error(src, "remote images need a web storefront (not supported by the folder source)")
            );
        }
        if src.trim().is_empty() {
            return Err(self.image_error(src, "the image has an empty src"));
        }
        if src.contains('\0') || src.contains("://") {
            return Err(self.image_error(src, "not a path inside the store folder"));
        }
        let rel = Path::new(src);
        if rel.is_absolute() || src.starts_with('/') || src.starts_with('\\') || rel.has_root() {
            return Err(self.image_error(src, "absolute paths are not allowed: give a path inside the store folder"));
        }
        if rel.components().any(|c| matches!(c, Component::ParentDir | Component::Prefix(_))) {
            return Err(self.image_error(src, "'..' would leave the store folder"));
        }
        let real = tokio::fs::canonicalize(self.root.join(rel)).await.map_err(|e| match e.kind() {
            ErrorKind::NotFound => self.image_error(src, "no such file"),
            _ => self.image_error(src, format!("cannot resolve the path: {e}")),
        })?;
        if !real.starts_with(&self.canonical_root) {
            return Err(self.image_error(src, format!("resolves to {}, outside the store folder", real.display())));
        }
        Ok(real)
    }
}

#[async_trait]
impl Storefront for FolderStorefront {
    fn describe(&self) -> String {
        format!("folder {}", self.root.display())
    }

    async fn list(&self) -> Result<Vec<Result<ProductListing, ListingError>>, StorefrontError> {
        let path = self.root.join("products.json");
        let text = read_regular(&path, MAX_LISTING_BYTES, LOCAL_READ_TIMEOUT).await.map_err(|e| match e {
            LocalReadError::TooBig(n, _) => {
                self.unreadable(format!("products.json is {n} bytes, over the {MAX_LISTING_BYTES} byte limit"))
            }
            LocalReadError::NotFound => self.unreadable("no products.json in it"),
            e => self.unreadable(format!("cannot read products.json: {e}")),
        })?;
        let listings = parse_catalog(&text).map_err(|reason| self.unreadable(reason))?;
        let bad = listings.iter().filter(|l| l.is_err()).count();
        tracing::info!(store = %self.store, products = listings.len(), bad, "Listed the store folder.");
        Ok(listings)
    }

    async fn fetch_image(&self, src: &str, known: Option<&Validators>) -> Result<ImageFetch, StorefrontError> {
        let path = self.resolve(src).await?;
        // A file's version is its modification time and length: an unchanged file is not read again.
        let version = tokio::fs::metadata(&path).await.ok().and_then(|m| {
            let nanos = m.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?.as_nanos();
            Some(Validators { etag: Some(format!("W/\"{nanos}-{}\"", m.len())), last_modified: None })
        });
        if let (Some(now), Some(before)) = (&version, known)
            && now == before
        {
            return Ok(ImageFetch::NotModified);
        }
        let bytes = read_regular(&path, MAX_IMAGE_BYTES, LOCAL_READ_TIMEOUT)
            .await
            .map_err(|e| self.image_error(src, e.to_string()))?;
        Ok(ImageFetch::Fresh { bytes: Bytes::from(bytes), validators: version.unwrap_or_default() })
    }
}

/// Whether an image `src` points off the store (an URL rather than a path inside it).
pub fn is_remote(s: &str) -> bool {
    let lower = s.trim_start().to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("//")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn store(products: &Value) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("products.json"), serde_json::to_vec_pretty(products).unwrap()).unwrap();
        dir
    }

    fn open(dir: &tempfile::TempDir) -> Arc<dyn Storefront> {
        FolderStorefronts.open(dir.path().to_str().unwrap()).unwrap()
    }

    fn unreadable_reason(e: StorefrontError) -> String {
        match e {
            StorefrontError::Unreadable { reason, .. } => reason,
            other => panic!("expected Unreadable, got {other:?}"),
        }
    }

    fn image_reason(e: StorefrontError) -> String {
        match e {
            StorefrontError::Image { reason, .. } => reason,
            other => panic!("expected an Image error, got {other:?}"),
        }
    }

    fn hoodie() -> Value {
        json!({
            "id": 1001,
            "handle": "pullover-hoodie",
            "title": "Pullover Hoodie",
            "body_html": "<p>Soft &amp; warm.</p><p>Kangaroo&nbsp;pocket &#8211; ribbed cuffs&#x21;</p>",
            "vendor": "Demo Store",
            "product_type": "",
            "tags": ["hoodie", "tops"],
            "variants": [{"price": "59.00"}, {"price": "49.50"}, {"price": "nope"}, {"price": 120}],
            "images": [
                {"position": 2, "src": "photos/worn.jpg", "alt": "Person wearing it", "width": 800, "height": 1000},
                {"position": 1, "src": "photos/flat.jpg", "alt": null},
                {"position": 3, "alt": "no src: skipped"},
                {"src": "photos/detail.jpg", "alt": "  "}
            ]
        })
    }

    #[tokio::test]
    async fn lists_a_shopify_products_json() {
        let dir = store(&json!({ "products": [hoodie()] }));
        let listed = open(&dir).list().await.unwrap();
        let p = listed[0].as_ref().unwrap();
        assert_eq!(p.handle.as_str(), "pullover-hoodie");
        assert_eq!(p.title, "Pullover Hoodie");
        assert_eq!(p.description, "Soft & warm. Kangaroo pocket – ribbed cuffs!");
        assert_eq!(p.vendor.as_deref(), Some("Demo Store"));
        assert_eq!(p.product_type, None);
        assert_eq!(p.price.as_deref(), Some("49.50"));
        let srcs: Vec<_> = p.images.iter().map(|i| (i.src.as_str(), i.position)).collect();
        assert_eq!(srcs, [("photos/flat.jpg", 1), ("photos/worn.jpg", 2), ("photos/detail.jpg", 4)]);
        assert_eq!(p.images[1].alt.as_deref(), Some("Person wearing it"));
        assert_eq!((p.images[1].width, p.images[1].height), (Some(800), Some(1000)));
        assert_eq!(p.images[0].alt, None);
        assert_eq!(p.images[2].alt, None, "blank alt is no alt");
    }

    #[tokio::test]
    async fn store_text_is_tidied_when_read() {
        let mut p = hoodie();
        p["title"] = json!(format!("Hoodie\u{0}\u{1b}[2J {}", "very ".repeat(20_000)));
        p["vendor"] = json!("\u{1b}]0;owned\u{7}Demo");
        p["images"] = json!([{"src": "photos/\u{1b}[31mworn.jpg", "alt": "a\u{0}b"}]);
        let dir = store(&json!([p]));
        let listed = open(&dir).list().await.unwrap();
        let p = listed[0].as_ref().unwrap();
        assert!(p.title.starts_with("Hoodie very very") && p.title.chars().count() <= 300, "{}", p.title);
        assert_eq!(p.vendor.as_deref(), Some("Demo"));
        assert_eq!((p.images[0].src.as_str(), p.images[0].alt.as_deref()), ("photos/worn.jpg", Some("ab")));
        assert_eq!(p.notes, ["the title was cut to 300 characters (it had 100006)"]);
    }

    #[tokio::test]
    async fn accepts_a_bare_array_and_comma_tags() {
        let mut p = hoodie();
        p["tags"] = json!("hoodie, tops, unisex");
        let dir = store(&json!([p]));
        let listed = open(&dir).list().await.unwrap();
        assert_eq!(listed.len(), 1);
        assert!(listed[0].is_ok(), "{:?}", listed[0]);
    }

    #[tokio::test]
    async fn one_bad_product_fails_alone() {
        let dir = store(&json!({ "products": [
            hoodie(),
            "not a product",
            {"handle": "no-title", "images": []},
            {"handle": "Bad Handle", "title": "Shouty Tee"},
            {"title": "Café Crème Tote — Large"},
            {"title": "日本"}
        ]}));
        let listed = open(&dir).list().await.unwrap();
        assert_eq!(listed.len(), 6);
        assert!(listed[0].is_ok());
        let e = listed[1].as_ref().unwrap_err();
        assert_eq!(e.product, "#2");
        assert!(e.reason.contains("not a JSON object but a string"), "{e}");
        let e = listed[2].as_ref().unwrap_err();
        assert_eq!((e.product.as_str(), e.reason.as_str()), ("no-title", "no title"));
        let e = listed[3].as_ref().unwrap_err();
        assert_eq!(e.product, r#""Shouty Tee" (#4)"#);
        assert!(e.reason.contains("only lowercase letters"), "{e}");
        assert_eq!(listed[4].as_ref().unwrap().handle.as_str(), "cafe-creme-tote-large");
        let e = listed[5].as_ref().unwrap_err();
        assert!(e.reason.contains("no handle"), "{e}");
    }

    #[tokio::test]
    async fn invalid_json_is_unreadable_with_its_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("products.json"), "{\n  \"products\": [\n    {\"title\": \"x\",}\n  ]\n}")
            .unwrap();
        let reason = unreadable_reason(open(&dir).list().await.unwrap_err());
        assert!(reason.starts_with("products.json is not valid JSON"), "{reason}");
        assert!(reason.contains("line 3 column"), "{reason}");
    }

    #[tokio::test]
    async fn a_json_of_the_wrong_shape_is_unreadable() {
        let dir = store(&json!({ "items": [] }));
        let reason = unreadable_reason(open(&dir).list().await.unwrap_err());
        assert!(reason.contains(r#"{"products": [...]}"#), "{reason}");
    }

    #[tokio::test]
    async fn an_oversized_products_json_is_refused_without_reading_it() {
        let dir = tempfile::tempdir().unwrap();
        let f = std::fs::File::create(dir.path().join("products.json")).unwrap();
        f.set_len(MAX_LISTING_BYTES + 1).unwrap(); // sparse: nothing is written
        let reason = unreadable_reason(open(&dir).list().await.unwrap_err());
        assert!(reason.contains("over the 67108864 byte limit"), "{reason}");
    }

    #[test]
    fn open_names_what_is_wrong_with_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let reason = unreadable_reason(FolderStorefront::open(missing.to_str().unwrap()).unwrap_err());
        assert!(reason.starts_with("no such folder") && reason.contains("nope"), "{reason}");

        let reason = unreadable_reason(FolderStorefront::open(dir.path().to_str().unwrap()).unwrap_err());
        assert!(reason.starts_with("no products.json in it"), "{reason}");

        let file = dir.path().join("products.json");
        std::fs::write(&file, "[]").unwrap();
        let reason = unreadable_reason(FolderStorefront::open(file.to_str().unwrap()).unwrap_err());
        assert!(reason.contains("not a store folder"), "{reason}");

        let err = FolderStorefronts.open("https://shop.example/").err().unwrap();
        assert!(unreadable_reason(err).contains("web storefronts"));
        let sf = FolderStorefronts.open(dir.path().to_str().unwrap()).unwrap();
        assert_eq!(sf.describe(), format!("folder {}", dir.path().display()));
    }

    #[tokio::test]
    async fn fetches_images_inside_the_store() {
        let dir = store(&json!([]));
        std::fs::create_dir(dir.path().join("photos")).unwrap();
        std::fs::write(dir.path().join("photos/a.jpg"), b"\xff\xd8\xffjpeg").unwrap();
        let sf = open(&dir);
        assert_eq!(&sf.fetch_image("photos/a.jpg", None).await.unwrap().bytes().unwrap()[..], b"\xff\xd8\xffjpeg");
        assert_eq!(&sf.fetch_image("./photos/a.jpg", None).await.unwrap().bytes().unwrap()[..], b"\xff\xd8\xffjpeg");
    }

    #[tokio::test]
    async fn refuses_paths_that_leave_the_store() {
        let outer = tempfile::tempdir().unwrap();
        std::fs::write(outer.path().join("secret.txt"), b"secret").unwrap();
        let root = outer.path().join("store");
        std::fs::create_dir_all(root.join("photos")).unwrap();
        std::fs::write(root.join("products.json"), "[]").unwrap();
        let sf = FolderStorefront::open(root.to_str().unwrap()).unwrap();

        let abs = outer.path().join("secret.txt");
        let reason = image_reason(sf.fetch_image(abs.to_str().unwrap(), None).await.unwrap_err());
        assert!(reason.contains("absolute paths"), "{reason}");
        let reason = image_reason(sf.fetch_image("../secret.txt", None).await.unwrap_err());
        assert!(reason.contains("'..'"), "{reason}");
        let reason = image_reason(sf.fetch_image("photos/../../secret.txt", None).await.unwrap_err());
        assert!(reason.contains("'..'"), "{reason}");
        let reason = image_reason(sf.fetch_image("https://cdn.example/x.jpg", None).await.unwrap_err());
        assert_eq!(reason, "remote images need a web storefront (not supported by the folder source)");
        let reason = image_reason(sf.fetch_image("//cdn.example/x.jpg", None).await.unwrap_err());
        assert!(reason.contains("remote images"), "{reason}");
        let reason = image_reason(sf.fetch_image("photos/missing.jpg", None).await.unwrap_err());
        assert_eq!(reason, "no such file");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn refuses_symlinks_that_resolve_outside_the_store() {
        let outer = tempfile::tempdir().unwrap();
        std::fs::write(outer.path().join("secret.txt"), b"secret").unwrap();
        let root = outer.path().join("store");
        std::fs::create_dir_all(root.join("photos")).unwrap();
        std::fs::write(root.join("products.json"), "[]").unwrap();
        std::fs::write(root.join("photos/real.jpg"), b"inside").unwrap();
        std::os::unix::fs::symlink(outer.path().join("secret.txt"), root.join("photos/evil.jpg")).unwrap();
        std::os::unix::fs::symlink(outer.path(), root.join("up")).unwrap();
        std::os::unix::fs::symlink(root.join("photos/real.jpg"), root.join("photos/alias.jpg")).unwrap();
        let sf = FolderStorefront::open(root.to_str().unwrap()).unwrap();

        let reason = image_reason(sf.fetch_image("photos/evil.jpg", None).await.unwrap_err());
        assert!(reason.contains("outside the store folder"), "{reason}");
        let reason = image_reason(sf.fetch_image("up/secret.txt", None).await.unwrap_err());
        assert!(reason.contains("outside the store folder"), "{reason}");
        assert_eq!(&sf.fetch_image("photos/alias.jpg", None).await.unwrap().bytes().unwrap()[..], b"inside");
    }

    /// Makes a FIFO at `path`, and a thread that opens its other end after a few seconds so a reader
    /// stuck on it comes back (a test that hangs would otherwise never report).
    fn fifo(path: &Path) {
        use std::os::unix::fs::OpenOptionsExt;
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
        let path = path.to_path_buf();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_secs(4));
            let _ = std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(path);
        });
    }

    #[tokio::test]
    async fn a_fifo_as_products_json_or_as_a_photo_fails_at_once_with_its_reason() {
        let dir = store(&json!([]));
        let sf = open(&dir);
        std::fs::remove_file(dir.path().join("products.json")).unwrap();
        fifo(&dir.path().join("products.json"));
        fifo(&dir.path().join("photo.jpg"));
        let started = std::time::Instant::now();
        let reason = unreadable_reason(sf.list().await.unwrap_err());
        assert_eq!(reason, "cannot read products.json: not a regular file (it is a FIFO)");
        let reason = image_reason(sf.fetch_image("photo.jpg", None).await.unwrap_err());
        assert_eq!(reason, "not a regular file (it is a FIFO)");
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "took {:?}", started.elapsed());
        // Opening the store names it too, rather than "no products.json".
        let reason = unreadable_reason(FolderStorefront::open(dir.path().to_str().unwrap()).unwrap_err());
        assert!(reason.starts_with("products.json is not a regular file (it is a FIFO)"), "{reason}");
    }

    #[tokio::test]
    async fn refuses_an_oversized_image_without_reading_it() {
        let dir = store(&json!([]));
        let f = std::fs::File::create(dir.path().join("huge.jpg")).unwrap();
        f.set_len(MAX_IMAGE_BYTES + 1).unwrap();
        let reason = image_reason(open(&dir).fetch_image("huge.jpg", None).await.unwrap_err());
        assert!(reason.contains("over the 52428800 byte limit"), "{reason}");
    }
}
