//! Published files kept in memory, the hot set: a range of a reel many players are reading is sliced
//! from one shared buffer instead of read from the page cache into a new one each time (the copy
//! nginx avoids with `sendfile`). Bounded by bytes (least recently used out first), files above a
//! size left to streaming; an entry is used only while the file opened for the request is the one
//! it was read from (device, inode, size, modification time), so a new version copied over the
//! stable path is read afresh on its first request.

use crate::file::Validators;
use crate::paths::{Folder, Stamp};
use bytes::Bytes;
use std::collections::{HashMap, HashSet};
use std::fs::{File, Metadata};
use std::sync::{Arc, Mutex};

struct Entry {
    stamp: Stamp,
    /// The validators of the file it was read from.
    validators: Validators,
    bytes: Bytes,
    used: u64,
}

#[derive(Default)]
struct Held {
    files: HashMap<String, Entry>,
    bytes: u64,
    tick: u64,
    /// Paths being read in the background.
    filling: HashSet<String>,
}

/// The hot set: at most `budget` bytes, files of at most `largest` bytes; cheap to clone.
#[derive(Clone)]
pub struct Hot {
    held: Arc<Mutex<Held>>,
    budget: u64,
    largest: u64,
}

impl Hot {
    /// A hot set of `budget` bytes (0: none kept) holding files of at most `largest` bytes.
    pub fn new(budget: u64, largest: u64) -> Self {
        Self { held: Arc::default(), budget, largest: largest.min(budget) }
    }

    /// The whole of `file` (opened for `relative`, described by `meta`) from memory when it is held;
    /// otherwise `None` (serve it from the file) and, when it fits, it is read into the set on a
    /// thread of its own (a large read never holds up a connection's thread).
    pub(crate) fn whole(&self, relative: &str, file: &File, meta: &Metadata, validators: &Validators) -> Option<Bytes> {
        let stamp = Stamp::of(meta);
        if stamp.len > self.largest || stamp.len == 0 {
            return None;
        }
        if let Some((_, bytes)) = self.lookup(relative, |s| s == stamp) {
            return Some(bytes);
        }
        if !self.lock().filling.insert(relative.to_string()) {
            return None;
        }
        let file = match file.try_clone() {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(file = relative, error = %e, "Could not read a file into memory.");
                self.lock().filling.remove(relative);
                return None;
            }
        };
        let (hot, relative, validators) = (self.clone(), relative.to_string(), validators.clone());
        std::thread::spawn(move || {
            match crate::file::read_whole(&file, stamp.len) {
                Ok(bytes) => hot.keep(&relative, stamp, validators, bytes),
                Err(e) => tracing::warn!(file = relative, error = %e, "Could not read a file into memory."),
            }
            hot.lock().filling.remove(&relative);
        });
        None
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The file held for `relative` with its validators, when the file there now is still the one it
    /// was read from: one `stat` beside the folder, no open (see [`Folder::stamp`]).
    pub(crate) fn unchanged(&self, folder: &Folder, relative: &str) -> Option<(Validators, Bytes)> {
        // Nothing held: no stat.
        self.lock().files.get(relative)?;
        let now = folder.stamp(relative)?;
        self.lookup(relative, |s| s == now)
    }

    fn lookup(&self, relative: &str, same: impl Fn(Stamp) -> bool) -> Option<(Validators, Bytes)> {
        let mut held = self.lock();
        held.tick += 1;
        let tick = held.tick;
        let entry = held.files.get_mut(relative).filter(|e| same(e.stamp))?;
        entry.used = tick;
        Some((entry.validators.clone(), entry.bytes.clone()))
    }

    fn keep(&self, relative: &str, stamp: Stamp, validators: Validators, bytes: Bytes) {
        let mut held = self.lock();
        if let Some(old) = held.files.remove(relative) {
            held.bytes -= old.bytes.len() as u64;
        }
        while held.bytes + stamp.len > self.budget {
            let Some(oldest) = held.files.iter().min_by_key(|(_, e)| e.used).map(|(k, _)| k.clone()) else { break };
            let gone = held.files.remove(&oldest).expect("just found");
            held.bytes -= gone.bytes.len() as u64;
        }
        held.tick += 1;
        let used = held.tick;
        held.bytes += stamp.len;
        held.files.insert(relative.to_string(), Entry { stamp, validators, bytes, used });
    }

    /// Bytes held now.
    pub fn held_bytes(&self) -> u64 {
        self.lock().bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dir: &std::path::Path, name: &str, bytes: &[u8]) -> (File, Metadata) {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let f = File::open(&path).unwrap();
        let m = f.metadata().unwrap();
        (f, m)
    }

    /// `whole` as a request sees it: `None` the first time (read in the background), then held.
    fn held(hot: &Hot, name: &str, f: &File, m: &Metadata) -> Option<Bytes> {
        let v = Validators::of(m);
        if let Some(b) = hot.whole(name, f, m, &v) {
            return Some(b);
        }
        for _ in 0..500 {
            if !hot.lock().filling.contains(name) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        hot.whole(name, f, m, &v)
    }

    #[test]
    fn files_are_kept_within_the_budget_and_a_replaced_file_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let hot = Hot::new(10, 6);
        let (a, ma) = file(dir.path(), "a", b"aaaa");
        let (b, mb) = file(dir.path(), "b", b"bbbbb");
        assert!(hot.whole("a", &a, &ma, &Validators::of(&ma)).is_none(), "not held yet: served from the file");
        assert_eq!(held(&hot, "a", &a, &ma).as_deref(), Some(&b"aaaa"[..]));
        assert_eq!(held(&hot, "b", &b, &mb).as_deref(), Some(&b"bbbbb"[..]));
        assert_eq!(hot.held_bytes(), 9);
        // Too large to keep: streamed.
        let (big, mbig) = file(dir.path(), "big", b"0123456");
        assert!(held(&hot, "big", &big, &mbig).is_none());
        // "a" used last: "b" goes when "c" needs room.
        held(&hot, "a", &a, &ma).unwrap();
        let (c, mc) = file(dir.path(), "c", b"cccc");
        held(&hot, "c", &c, &mc).unwrap();
        assert_eq!(hot.held_bytes(), 8);
        let folder = Folder::new(dir.path()).unwrap();
        assert!(hot.unchanged(&folder, "b").is_none(), "let go");
        assert_eq!(hot.unchanged(&folder, "a").map(|(_, b)| b).as_deref(), Some(&b"aaaa"[..]));
        // A new file renamed over "a" (another inode) is read afresh.
        let (_, _) = file(dir.path(), "a2", b"AAAAA");
        std::fs::rename(dir.path().join("a2"), dir.path().join("a")).unwrap();
        assert!(hot.unchanged(&folder, "a").is_none(), "replaced: not the file held");
        let (a2, ma2) = (File::open(dir.path().join("a")).unwrap(), std::fs::metadata(dir.path().join("a")).unwrap());
        assert_eq!(held(&hot, "a", &a2, &ma2).as_deref(), Some(&b"AAAAA"[..]));
        // Nothing kept with no budget.
        let none = Hot::new(0, 100);
        assert!(held(&none, "a", &a2, &ma2).is_none());
    }
}
