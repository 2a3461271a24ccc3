//! Bounded reads of local files a store (or anyone with write access to a folder) may have made hostile.
//!
//! A FIFO, socket or device where a photo or `products.json` should be would block `open` or `read`
//! forever. [`read_regular`] checks the path first, opens without blocking (`O_NONBLOCK`), checks the
//! opened handle again (the path may have been swapped meanwhile), caps the bytes and bounds the time.

use std::io::{ErrorKind, Read};
use std::path::Path;
use std::time::Duration;

/// The longest one local read may take.
pub const LOCAL_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a local file was not read.
#[derive(Debug, thiserror::Error)]
pub enum LocalReadError {
    #[error("no such file")]
    NotFound,
    #[error("not a regular file (it is {0})")]
    NotRegular(&'static str),
    #[error("the file is {0} bytes, over the {1} byte limit")]
    TooBig(u64, u64),
    #[error("reading it took longer than {} s", .0.as_secs())]
    TimedOut(Duration),
    #[error("cannot read it: {0}")]
    Io(std::io::Error),
}

/// What kind of file `meta` describes, in words.
pub fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a folder"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

/// Reads the regular file at `path` (symbolic links followed) of at most `cap` bytes within `timeout`.
pub async fn read_regular(path: &Path, cap: u64, timeout: Duration) -> Result<Vec<u8>, LocalReadError> {
    let path = path.to_path_buf();
    let task = tokio::task::spawn_blocking(move || read_regular_blocking(&path, cap));
    match tokio::time::timeout(timeout, task).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => Err(LocalReadError::Io(std::io::Error::other(join.to_string()))),
        Err(_) => Err(LocalReadError::TimedOut(timeout)),
    }
}

/// [`read_regular`] on the calling thread, without the time bound.
pub fn read_regular_blocking(path: &Path, cap: u64) -> Result<Vec<u8>, LocalReadError> {
    use std::os::unix::fs::OpenOptionsExt;
    let io = |e: std::io::Error| {
        if e.kind() == ErrorKind::NotFound { LocalReadError::NotFound } else { LocalReadError::Io(e) }
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(LocalReadError::NotRegular(kind_of(&meta)));
    }
    if meta.len() > cap {
        return Err(LocalReadError::TooBig(meta.len(), cap));
    }
    // Not blocking: a FIFO swapped in after the check opens at once instead of waiting for a writer.
    let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(LocalReadError::NotRegular(kind_of(&meta)));
    }
    if meta.len() > cap {
        return Err(LocalReadError::TooBig(meta.len(), cap));
    }
    let mut out = Vec::with_capacity(meta.len() as usize);
    file.take(cap.saturating_add(1)).read_to_end(&mut out).map_err(io)?;
    if out.len() as u64 > cap {
        return Err(LocalReadError::TooBig(out.len() as u64, cap));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fifo(path: &Path) {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
    }

    #[tokio::test]
    async fn a_fifo_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("photo.jpg");
        fifo(&path);
        let started = std::time::Instant::now();
        let err = read_regular(&path, 1024, Duration::from_secs(5)).await.unwrap_err();
        assert!(matches!(err, LocalReadError::NotRegular("a FIFO")), "{err:?}");
        assert_eq!(err.to_string(), "not a regular file (it is a FIFO)");
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    }

    #[tokio::test]
    async fn a_folder_a_missing_file_and_a_big_file_are_named() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            read_regular(dir.path(), 10, LOCAL_READ_TIMEOUT).await,
            Err(LocalReadError::NotRegular("a folder"))
        ));
        let missing = dir.path().join("nope");
        assert!(matches!(read_regular(&missing, 10, LOCAL_READ_TIMEOUT).await, Err(LocalReadError::NotFound)));
        let big = dir.path().join("big");
        std::fs::write(&big, [0u8; 11]).unwrap();
        assert!(matches!(read_regular(&big, 10, LOCAL_READ_TIMEOUT).await, Err(LocalReadError::TooBig(11, 10))));
        assert_eq!(read_regular(&big, 11, LOCAL_READ_TIMEOUT).await.unwrap().len(), 11);
    }
}
