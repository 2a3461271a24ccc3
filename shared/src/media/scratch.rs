//! Scratch folders: where work files live while a render, an assembly, a voice line or a judgement runs.
//!
//! Locally they live in the data folder (`<data-dir>/scratch/`), which the runner clears when it
//! starts (after taking the folder's lock, so no one else is using them): a process killed mid-render
//! leaves nothing in `/tmp`. Without a root (Lambda, tests) they go to the system's temporary folder,
//! which on Lambda belongs to the instance.

use std::path::{Path, PathBuf};

/// Where scratch folders are made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scratch {
    root: Option<PathBuf>,
}

impl Scratch {
    /// Scratch folders under `root` (made when first needed).
    pub fn under(root: impl Into<PathBuf>) -> Self {
        Self { root: Some(root.into()) }
    }

    /// The root, when one was set.
    pub fn root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// A new folder named `<prefix>…`, removed when dropped.
    pub fn dir(&self, prefix: &str) -> std::io::Result<tempfile::TempDir> {
        let builder = tempfile::Builder::new().prefix(prefix).to_owned();
        match &self.root {
            Some(root) => {
                std::fs::create_dir_all(root)?;
                builder.tempdir_in(root)
            }
            None => builder.tempdir(),
        }
    }

    /// Removes everything under the root (nothing without one); returns how many entries went.
    /// Only for a process that knows no one else is working there.
    pub fn clear(&self) -> std::io::Result<u64> {
        let Some(root) = &self.root else { return Ok(0) };
        let entries = match std::fs::read_dir(root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut removed = 0;
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                std::fs::remove_dir_all(&path)?
            } else {
                std::fs::remove_file(&path)?
            }
            removed += 1;
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_made_under_the_root_and_cleared() {
        let data = tempfile::tempdir().unwrap();
        let scratch = Scratch::under(data.path().join("scratch"));
        assert_eq!(scratch.clear().unwrap(), 0, "no root folder yet");
        let kept = scratch.dir("still-motion-").unwrap().keep();
        assert!(kept.starts_with(data.path().join("scratch")), "{}", kept.display());
        assert!(kept.file_name().unwrap().to_string_lossy().starts_with("still-motion-"));
        std::fs::write(kept.join("clip.mp4"), b"half").unwrap();
        std::fs::write(data.path().join("scratch/stray"), b"x").unwrap();
        assert_eq!(scratch.clear().unwrap(), 2);
        assert_eq!(std::fs::read_dir(data.path().join("scratch")).unwrap().count(), 0);
        assert!(Scratch::default().dir("t-").unwrap().path().starts_with(std::env::temp_dir()));
    }
}
