//! The embedded default: every port on one machine, under one data folder, no account needed.
//!
//! ```text
//! <data-dir>/state.sqlite     state records and the five stage queues (one SQLite file)
//! <data-dir>/blobs/           the blob store: references/, reels/, public/ (same keys as S3), and
//!                             provider/still-motion/ (the renderer's own clips and render records)
//! <data-dir>/runner.lock      held by the one runner using the folder
//! <data-dir>/scratch/         work files of renders, assemblies and judgements in progress; cleared
//!                             by the runner when it starts
//! ```

use crate::adapters::embedded::folder_blobs::FolderBlobStore;
use crate::adapters::embedded::sqlite_queue::SqliteQueue;
use crate::adapters::embedded::sqlite_state::SqliteStateStore;
use crate::config::Config;
use crate::ports::MAX_RECEIVES;
use crate::stages::Ports;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error("data folder {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("data folder {0} is in use by another truereel process (it holds runner.lock)")]
    Busy(PathBuf),
    #[error("data folder {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: crate::ports::BoxError,
    },
    #[error(transparent)]
    Wiring(#[from] super::WiringError),
}

/// The embedded ports over one data folder, plus the handles only the local runner needs.
pub struct Embedded {
    pub ports: Ports,
    pub queue: Arc<SqliteQueue>,
    pub blobs: Arc<FolderBlobStore>,
    pub data_dir: PathBuf,
    _lock: Option<File>,
}

impl Embedded {
    /// Opens (creating if needed) the data folder for a runner: takes the exclusive lock, so a
    /// second runner on the same folder is refused, and returns messages a dead runner held.
    pub async fn open_for_runner(data_dir: &Path, config: &Config) -> Result<Self, EmbeddedError> {
        let mut e = Self::open(data_dir, config)?;
        let lock_path = data_dir.join("runner.lock");
        let lock = File::create(&lock_path).map_err(|source| EmbeddedError::Io { path: lock_path.clone(), source })?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(EmbeddedError::Busy(data_dir.to_path_buf())),
            Err(std::fs::TryLockError::Error(source)) => return Err(EmbeddedError::Io { path: lock_path, source }),
        }
        e._lock = Some(lock);
        // What a killed run was working on: nobody else can be using it while the lock is held.
        let cleared = e.ports.media.scratch.clear().map_err(|source| EmbeddedError::Io {
            path: e.ports.media.scratch.root().unwrap_or(data_dir).to_path_buf(),
            source,
        })?;
        if cleared > 0 {
            tracing::info!(cleared, "Cleared the scratch folder a previous run left behind.");
        }
        let recovered = e
            .queue
            .recover_in_flight()
            .await
            .map_err(|err| EmbeddedError::Open { path: data_dir.to_path_buf(), source: Box::new(err) })?;
        if recovered > 0 {
            tracing::info!(recovered, "Resumed messages a previous run was handling when it stopped.");
        }
        Ok(e)
    }

    /// Opens the data folder without the runner lock (for `status` and other readers).
    pub fn open(data_dir: &Path, config: &Config) -> Result<Self, EmbeddedError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| EmbeddedError::Io { path, source }
        };
        std::fs::create_dir_all(data_dir).map_err(io(data_dir))?;
        let open_err = |source: crate::ports::BoxError| EmbeddedError::Open { path: data_dir.to_path_buf(), source };
        let db = data_dir.join("state.sqlite");
        let state = Arc::new(SqliteStateStore::open(&db).map_err(|e| open_err(Box::new(e)))?);
        let queue = Arc::new(SqliteQueue::open(&db, MAX_RECEIVES).map_err(|e| open_err(Box::new(e)))?);
        let blobs = Arc::new(FolderBlobStore::new(data_dir.join("blobs")).map_err(|e| open_err(Box::new(e)))?);
        let mut config = config.clone();
        config.media.scratch = crate::media::Scratch::under(data_dir.join("scratch"));
        let ports = super::wire(&config, blobs.clone(), state, queue.clone())?;
        Ok(Self { ports, queue, blobs, data_dir: data_dir.to_path_buf(), _lock: None })
    }
}
