//! The [`BlobStore`] contract: round trips, replacement, files in and out, metadata, missing keys.
//!
//! Content types are only checked where they match the key's extension, because the folder store infers
//! them from it; stores that keep the given type (S3) return the same value there.

use super::{must, unique};
use crate::BlobKey;
use crate::ports::{BlobError, BlobStore};
use bytes::Bytes;
use std::time::Duration;

/// Runs every check against `store` under a unique key prefix, so a shared backend is fine.
pub async fn blob_store_contract(store: &dyn BlobStore) {
    let prefix = unique("contract");
    let key = |name: &str| BlobKey::parse(&format!("{prefix}/{name}")).expect("contract keys are valid");
    let scratch = tempfile::tempdir().expect("contract: a scratch folder");

    // put / get / head, then replace.
    let clip = key("reels/shots/01/attempt-1.mp4");
    must(store.put(&clip, Bytes::from_static(b"first version"), "video/mp4").await, "put a blob");
    assert_eq!(&must(store.get(&clip).await, "get a blob")[..], b"first version", "get returns what put stored");
    let meta = must(store.head(&clip).await, "head a blob").expect("contract: head of a stored blob is Some");
    assert_eq!(meta.bytes, 13, "head reports the size");
    assert_eq!(meta.content_type.as_deref(), Some("video/mp4"), "head reports the content type");
    // copy inside the store (publishing), then a missing source.
    let published = key("public/copy.mp4");
    must(store.copy(&clip, &published, "video/mp4").await, "copy a blob");
    assert_eq!(&must(store.get(&published).await, "get a copy")[..], b"first version", "copy keeps the bytes");
    let copied = must(store.head(&published).await, "head a copy").expect("contract: a copy exists");
    assert_eq!(copied.content_type.as_deref(), Some("video/mp4"), "copy sets the content type");
    match store.copy(&key("nothing-here.mp4"), &key("public/none.mp4"), "video/mp4").await {
        Err(BlobError::NotFound(_)) => {}
        other => panic!("contract: copying a missing blob must be NotFound, got {other:?}"),
    }
    must(store.put(&clip, Bytes::from_static(b"v2"), "video/mp4").await, "replace a blob");
    assert_eq!(&must(store.get(&clip).await, "get a replaced blob")[..], b"v2", "put replaces");
    assert_eq!(must(store.head(&clip).await, "head a replaced blob").map(|m| m.bytes), Some(2), "head follows");

    // Empty and binary bodies.
    let empty = key("empty.json");
    must(store.put(&empty, Bytes::new(), "application/json").await, "put an empty blob");
    assert!(must(store.get(&empty).await, "get an empty blob").is_empty(), "an empty blob stays empty");
    let binary: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let photo = key("references/photo.png");
    must(store.put(&photo, Bytes::from(binary.clone()), "image/png").await, "put a binary blob");
    assert_eq!(must(store.get(&photo).await, "get a binary blob").to_vec(), binary, "bytes survive exactly");

    // Files in and out.
    let src = scratch.path().join("voice.wav");
    std::fs::write(&src, b"RIFF....WAVEfmt ").expect("contract: write a scratch file");
    let audio = key("reels/voice-over.wav");
    must(store.put_file(&audio, &src, "audio/wav").await, "put a file");
    assert_eq!(&must(store.get(&audio).await, "get a put file")[..], b"RIFF....WAVEfmt ", "put_file stores the file");
    let out = scratch.path().join("copy.png");
    assert_eq!(must(store.get_to_file(&photo, &out).await, "get a blob to a file"), 70_000, "get_to_file's size");
    assert_eq!(std::fs::read(&out).expect("contract: read the copy"), binary, "get_to_file writes the blob");

    // Missing keys.
    let missing = key("missing.mp4");
    assert_eq!(must(store.head(&missing).await, "head a missing blob"), None, "head of a missing blob is None");
    assert!(matches!(store.get(&missing).await, Err(BlobError::NotFound(k)) if k == missing), "get: NotFound");
    assert!(
        matches!(store.get_to_file(&missing, &scratch.path().join("none")).await, Err(BlobError::NotFound(_))),
        "get_to_file of a missing blob is NotFound"
    );
    assert!(store.local_path(&missing).is_none(), "no local path for a missing blob");

    // A key and a key below a sibling do not interfere.
    let sibling = key("reels/shots/01/attempt-2.mp4");
    must(store.put(&sibling, Bytes::from_static(b"other"), "video/mp4").await, "put a sibling");
    assert_eq!(&must(store.get(&clip).await, "get after a sibling")[..], b"v2", "siblings are independent");

    // Presigned URLs and local paths.
    let url = must(store.presign_get(&clip, Duration::from_secs(300)).await, "presign a blob");
    assert!(url.contains("://"), "presign_get returns an URL, got {url:?}");
    if let Some(path) = store.local_path(&clip) {
        assert_eq!(std::fs::read(&path).expect("contract: read the local path"), b"v2", "local_path holds the blob");
    }
}
