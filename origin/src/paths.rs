//! From a request's raw path to a file under the blob folder, refusing every way out: the path is
//! taken as sent (still percent-encoded), so `..`, `%2e%2e`, `%252e%252e`, backslashes, NUL,
//! absolute and empty segments are all refused before any file is looked at; the file is then
//! resolved (symlinks followed) and refused unless it lies inside the folder it is served from.

use std::fs::{File, Metadata};
use std::path::Path;
use std::sync::Arc;
use truereel::BlobKey;

/// The blob key a raw path tail names (`reels/x/reel-1.mp4`), or `None` when it is anything but plain
/// `/`-separated segments of letters, digits, `.`, `_` and `-`. Blob keys never need escaping, so a
/// `%` (an escape of any kind, double escapes included) is refused rather than decoded.
pub fn key_of(raw_tail: &str) -> Option<BlobKey> {
    let plain = raw_tail.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/'));
    if !plain {
        return None;
    }
    // Refuses a leading `/`, empty, `.` and `..` segments.
    BlobKey::parse(raw_tail).ok()
}

/// A folder files are served from, resolved once (symlinks followed); cheap to clone.
#[derive(Debug, Clone)]
pub struct Folder {
    root: Arc<Path>,
    /// The folder held open: on Linux a file is opened relative to it with `openat2(RESOLVE_BENEATH)`,
    /// the kernel refusing any step (`..`, a symlink, an absolute link) out of it in the same call.
    #[cfg(target_os = "linux")]
    dir: Arc<std::os::fd::OwnedFd>,
}

impl Folder {
    /// `dir` resolved; it must exist.
    pub fn new(dir: &Path) -> std::io::Result<Self> {
        let root: Arc<Path> = dir.canonicalize()?.into();
        #[cfg(target_os = "linux")]
        let dir = {
            use std::os::unix::fs::OpenOptionsExt;
            let f = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_DIRECTORY | libc::O_PATH | libc::O_CLOEXEC)
                .open(&root)?;
            Arc::new(std::os::fd::OwnedFd::from(f))
        };
        Ok(Self {
            root,
            #[cfg(target_os = "linux")]
            dir,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Opens `relative` (a checked blob key's path below this folder) for reading: `None` when there
    /// is no such regular file, or when it resolves (through a symlink) outside the folder. It makes
    /// a few system calls on metadata, as a web server's event loop does (nginx without `aio
    /// threads`); the data itself is read by the caller.
    pub fn open(&self, relative: &str) -> std::io::Result<Option<(File, Metadata)>> {
        #[cfg(target_os = "linux")]
        if let Some(opened) = self.open_beneath(relative) {
            return opened;
        }
        self.open_resolved(relative)
    }

    /// `openat2(RESOLVE_BENEATH)` (Linux 5.6): `None` when the kernel (or a sandbox) lacks it.
    #[cfg(target_os = "linux")]
    fn open_beneath(&self, relative: &str) -> Option<std::io::Result<Option<(File, Metadata)>>> {
        use std::os::fd::{AsRawFd, FromRawFd};
        use std::sync::atomic::{AtomicBool, Ordering};
        static UNSUPPORTED: AtomicBool = AtomicBool::new(false);
        if UNSUPPORTED.load(Ordering::Relaxed) {
            return None;
        }
        /// `struct open_how` of `linux/openat2.h`.
        #[repr(C)]
        struct OpenHow {
            flags: u64,
            mode: u64,
            resolve: u64,
        }
        const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
        const RESOLVE_BENEATH: u64 = 0x08;
        let Ok(path) = std::ffi::CString::new(relative) else { return Some(Ok(None)) };
        // O_NONBLOCK: a FIFO put in the folder is opened without waiting for a writer (and refused below).
        let how = OpenHow {
            flags: (libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY) as u64,
            mode: 0,
            resolve: RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
        };
        // SAFETY: openat2(2) with a valid directory fd, a NUL-terminated path and an `open_how` of the
        // size passed; it returns a new fd this function then owns, or -1.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                self.dir.as_raw_fd(),
                path.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        if fd < 0 {
            let e = std::io::Error::last_os_error();
            return match e.raw_os_error() {
                Some(libc::ENOSYS | libc::EPERM | libc::E2BIG) => {
                    tracing::info!(error = %e, "openat2 is not available; resolving paths instead.");
                    UNSUPPORTED.store(true, Ordering::Relaxed);
                    None
                }
                // A step out of the folder, or an absolute symlink (refused even when it points inside):
                // resolved the portable way, which follows a link that stays inside and refuses the rest.
                Some(libc::EXDEV) => Some(self.open_resolved(relative)),
                _ if is_absent(&e) => Some(Ok(None)),
                _ => Some(Err(e)),
            };
        }
        // SAFETY: `fd` is a new descriptor nothing else owns.
        let file = unsafe { File::from_raw_fd(fd as i32) };
        Some(regular(file))
    }

    /// The portable way: resolve the path (symlinks followed), refuse it outside the folder, open it
    /// without following a symlink swapped in meanwhile.
    fn open_resolved(&self, relative: &str) -> std::io::Result<Option<(File, Metadata)>> {
        let resolved = match self.root.join(relative).canonicalize() {
            Ok(p) => p,
            Err(e) if is_absent(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        if !resolved.starts_with(&self.root) {
            tracing::warn!(path = relative, resolved = %resolved.display(), "Refused a file that resolves outside the served folder.");
            return Ok(None);
        }
        match open_no_follow(&resolved) {
            Ok(f) => regular(f),
            Err(e) if is_absent(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Which file a path led to, as far as serving is concerned: a file replaced (renamed over), grown or
/// touched has another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub dev: u64,
    pub ino: u64,
    pub len: u64,
    pub mtime_ns: i128,
}

impl Stamp {
    pub fn of(meta: &Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        let mtime_ns = i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec());
        Self { dev: meta.dev(), ino: meta.ino(), len: meta.len(), mtime_ns }
    }
}

impl Folder {
    /// The stamp of `relative` (a checked blob key's path) without opening it: one `fstatat` beside
    /// the folder's fd, not following a final symlink. For checking that a file read before is still
    /// the one there (a stamp equal to one taken from a file opened safely is that very file);
    /// `None` when it cannot be told this way.
    pub fn stamp(&self, relative: &str) -> Option<Stamp> {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let path = std::ffi::CString::new(relative).ok()?;
            let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
            // SAFETY: fstatat(2) with a valid directory fd, a NUL-terminated path and room for one
            // `struct stat`, which it fills when it returns 0.
            let ok = unsafe {
                libc::fstatat(self.dir.as_raw_fd(), path.as_ptr(), st.as_mut_ptr(), libc::AT_SYMLINK_NOFOLLOW)
            };
            if ok != 0 {
                return None;
            }
            // SAFETY: filled by the successful call above.
            let st = unsafe { st.assume_init() };
            let mtime_ns = i128::from(st.st_mtime) * 1_000_000_000 + i128::from(st.st_mtime_nsec);
            Some(Stamp { dev: st.st_dev, ino: st.st_ino, len: st.st_size as u64, mtime_ns })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = relative;
            None
        }
    }
}

/// The open file and its metadata when it is a regular file (not a folder, FIFO or device).
fn regular(file: File) -> std::io::Result<Option<(File, Metadata)>> {
    let meta = file.metadata()?;
    Ok(meta.is_file().then_some((file, meta)))
}

fn is_absent(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), NotFound | NotADirectory | InvalidFilename | IsADirectory)
        || e.raw_os_error() == Some(libc::ELOOP)
}

/// Opens without following a symlink put in place since the path was resolved, and without waiting
/// on a FIFO.
fn open_no_follow(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_keys_pass() {
        assert_eq!(
            key_of("reels/tee--0123456789ab/reel-1.mp4").unwrap().as_str(),
            "reels/tee--0123456789ab/reel-1.mp4"
        );
        assert!(key_of("tee.black/v1.4x5.mp4").is_some());
        for bad in [
            "../state.sqlite",
            "a/../../state.sqlite",
            "%2e%2e/state.sqlite",
            "%2E%2e/state.sqlite",
            "%252e%252e/state.sqlite",
            "..%2fstate.sqlite",
            "/etc/passwd",
            "a//b",
            "./a",
            "a/.",
            "a\\..\\b",
            "a\0b",
            "a b",
            "",
            "..",
            "tee.mp4?x",
        ] {
            assert!(key_of(bad).is_none(), "{bad:?} passed");
        }
    }

    #[test]
    fn files_resolving_outside_the_folder_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let inside = dir.path().join("blobs");
        std::fs::create_dir_all(inside.join("reels")).unwrap();
        std::fs::write(dir.path().join("secret"), b"s").unwrap();
        std::fs::write(inside.join("reels/ok.mp4"), b"ok").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), inside.join("reels/out.mp4")).unwrap();
        std::os::unix::fs::symlink(dir.path(), inside.join("up")).unwrap();
        std::os::unix::fs::symlink(inside.join("reels/ok.mp4"), inside.join("reels/alias.mp4")).unwrap();
        // A relative link that stays inside: followed by openat2 itself (an absolute one takes the
        // portable way).
        std::os::unix::fs::symlink("ok.mp4", inside.join("reels/near.mp4")).unwrap();
        let folder = Folder::new(&inside).unwrap();
        check_refusals(&folder);
        // The portable way refuses the same.
        check_refusals_resolved(&folder);
    }

    fn check_refusals_resolved(folder: &Folder) {
        assert!(folder.open_resolved("reels/ok.mp4").unwrap().is_some());
        assert!(folder.open_resolved("reels/alias.mp4").unwrap().is_some());
        assert!(folder.open_resolved("reels/near.mp4").unwrap().is_some());
        for refused in ["reels/out.mp4", "up/secret", "reels/none.mp4", "reels", "reels/ok.mp4/x"] {
            assert!(folder.open_resolved(refused).unwrap().is_none(), "{refused}");
        }
    }

    fn check_refusals(folder: &Folder) {
        assert!(folder.open("reels/ok.mp4").unwrap().is_some());
        assert!(folder.open("reels/alias.mp4").unwrap().is_some(), "a link that stays inside is followed");
        assert!(folder.open("reels/near.mp4").unwrap().is_some(), "a relative link inside is followed");
        assert!(folder.open("reels/out.mp4").unwrap().is_none());
        assert!(folder.open("up/secret").unwrap().is_none());
        assert!(folder.open("reels/none.mp4").unwrap().is_none());
        assert!(folder.open("reels").unwrap().is_none(), "a folder is no file");
        assert!(folder.open("reels/ok.mp4/x").unwrap().is_none());
    }
}
