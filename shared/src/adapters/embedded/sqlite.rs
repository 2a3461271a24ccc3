//! The one embedded SQLite file that holds both state and the stage queues: opening, pragmas, migrations.
//!
//! Every connection is opened with WAL journaling, `synchronous=NORMAL`, a 5 s busy timeout and foreign
//! keys on, then brought to the latest schema. Migrations are idempotent and race-safe: they run inside a
//! `BEGIN IMMEDIATE` transaction that re-reads `schema_version` first, so two processes (or two adapters
//! in one process) opening the same fresh file apply each migration exactly once.

use crate::ports::StateError;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a connection waits for another writer before giving up with `SQLITE_BUSY`.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The schema, one entry per version: entry `i` takes the file from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: state tables and queue tables.
    r#"
    CREATE TABLE products (
        handle      TEXT PRIMARY KEY,
        body        TEXT NOT NULL,
        updated_ms  INTEGER NOT NULL
    );
    CREATE TABLE reference_photos (
        product   TEXT NOT NULL,
        sha256    TEXT NOT NULL,
        position  INTEGER NOT NULL,
        body      TEXT NOT NULL,
        PRIMARY KEY (product, sha256)
    );
    CREATE INDEX reference_photos_by_position ON reference_photos (product, position);
    CREATE TABLE reels (
        id          TEXT PRIMARY KEY,
        product     TEXT NOT NULL,
        status      TEXT NOT NULL,
        body        TEXT NOT NULL,
        created_ms  INTEGER NOT NULL,
        updated_ms  INTEGER NOT NULL
    );
    CREATE INDEX reels_by_status ON reels (status);
    CREATE TABLE reel_history (
        seq     INTEGER PRIMARY KEY AUTOINCREMENT,
        reel    TEXT NOT NULL REFERENCES reels (id),
        status  TEXT NOT NULL,
        at_ms   INTEGER NOT NULL
    );
    CREATE INDEX reel_history_by_reel ON reel_history (reel, seq);
    CREATE TABLE jobs (
        key       TEXT PRIMARY KEY,
        provider  TEXT NOT NULL,
        job_id    TEXT,
        at_ms     INTEGER NOT NULL
    );
    CREATE TABLE clips (
        reel     TEXT NOT NULL,
        shot     INTEGER NOT NULL,
        attempt  INTEGER NOT NULL,
        body     TEXT NOT NULL,
        PRIMARY KEY (reel, shot, attempt)
    );
    CREATE TABLE verdicts (
        reel   TEXT NOT NULL,
        round  INTEGER NOT NULL,
        judge  TEXT NOT NULL,
        at_ms  INTEGER NOT NULL,
        body   TEXT NOT NULL,
        PRIMARY KEY (reel, round, judge)
    );
    CREATE TABLE ledger (
        key    TEXT PRIMARY KEY,
        reel   TEXT NOT NULL,
        usd    INTEGER NOT NULL,
        at_ms  INTEGER NOT NULL,
        body   TEXT NOT NULL
    );
    CREATE INDEX ledger_by_reel ON ledger (reel, at_ms);
    CREATE INDEX ledger_by_time ON ledger (at_ms);
    CREATE TABLE issues (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        product  TEXT NOT NULL,
        stage    TEXT NOT NULL,
        fatal    INTEGER NOT NULL,
        at_ms    INTEGER NOT NULL,
        body     TEXT NOT NULL
    );
    CREATE INDEX issues_by_time ON issues (at_ms);

    CREATE TABLE messages (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        stage          TEXT NOT NULL,
        body           TEXT NOT NULL,
        visible_at_ms  INTEGER NOT NULL,
        receive_count  INTEGER NOT NULL DEFAULT 0,
        receipt        TEXT UNIQUE,
        leased         INTEGER NOT NULL DEFAULT 0,
        sent_ms        INTEGER NOT NULL
    );
    CREATE INDEX messages_ready ON messages (stage, visible_at_ms, id);
    CREATE TABLE dead_letters (
        id             INTEGER PRIMARY KEY,
        stage          TEXT NOT NULL,
        body           TEXT NOT NULL,
        receive_count  INTEGER NOT NULL,
        sent_ms        INTEGER NOT NULL,
        dead_ms        INTEGER NOT NULL
    );
    CREATE INDEX dead_letters_by_stage ON dead_letters (stage, id);
    "#,
    // 2: provider concurrency slots and providers held out of a run.
    r#"
    CREATE TABLE provider_slots (
        provider  TEXT NOT NULL,
        slot      INTEGER NOT NULL,
        holder    TEXT NOT NULL,
        until_ms  INTEGER NOT NULL,
        PRIMARY KEY (provider, slot)
    );
    CREATE TABLE provider_holds (
        provider  TEXT NOT NULL,
        run       INTEGER NOT NULL,
        why       TEXT NOT NULL,
        at_ms     INTEGER NOT NULL,
        PRIMARY KEY (provider, run)
    );
    "#,
    // 3: what the judges passed and failed, per brand (learning from verdicts).
    r#"
    CREATE TABLE outcomes (
        brand     TEXT NOT NULL,
        key       TEXT NOT NULL,
        passed    INTEGER NOT NULL,
        at_ms     INTEGER NOT NULL,
        PRIMARY KEY (brand, key)
    );
    CREATE TABLE tallies (
        brand     TEXT NOT NULL,
        facet     TEXT NOT NULL,
        value     TEXT NOT NULL,
        passed    INTEGER NOT NULL,
        failed    INTEGER NOT NULL,
        PRIMARY KEY (brand, facet, value)
    );
    "#,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// A SQLite failure with what was being done when it happened.
#[derive(Debug, thiserror::Error)]
#[error("{context}: {source}")]
pub struct SqlError {
    pub context: String,
    #[source]
    pub source: rusqlite::Error,
}

impl SqlError {
    pub fn new(context: impl Into<String>, source: rusqlite::Error) -> Self {
        Self { context: context.into(), source }
    }
}

/// Why the database file could not be opened or migrated.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("opening SQLite database {path}: {source}")]
    Sql {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("creating the folder of SQLite database {path}: {source}")]
    Folder {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("SQLite database {path} has schema version {found}, newer than this build's {supported}")]
    TooNew { path: String, found: i64, supported: i64 },
}

/// Opens (creating if needed) the database at `path`, sets the pragmas and migrates it to the latest schema.
pub fn open(path: &Path) -> Result<Connection, StateError> {
    open_connection(path).map_err(|e| StateError::Backend(Box::new(e)))
}

/// [`open`] with the precise error, for adapters that report it in their own error type.
pub(crate) fn open_connection(path: &Path) -> Result<Connection, OpenError> {
    let shown = path.display().to_string();
    let sql = |source| OpenError::Sql { path: shown.clone(), source };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| OpenError::Folder { path: shown.clone(), source })?;
    }
    let mut conn = Connection::open(path).map_err(sql)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
    // Switching a fresh file to WAL while another connection does the same can answer SQLITE_BUSY
    // without consulting the busy handler: retry it for as long as the busy timeout.
    let mode: String = until_not_busy(|| conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))).map_err(sql)?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(path = %shown, %mode, "SQLite did not switch to WAL journaling");
    }
    conn.pragma_update(None, "synchronous", "NORMAL").map_err(sql)?;
    conn.pragma_update(None, "foreign_keys", "ON").map_err(sql)?;
    migrate(&mut conn, &shown)?;
    Ok(conn)
}

/// `f` again while it fails with SQLITE_BUSY, for at most [`BUSY_TIMEOUT`].
fn until_not_busy<T>(mut f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let started = std::time::Instant::now();
    loop {
        match f() {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy && started.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            other => return other,
        }
    }
}

/// Applies the migrations the file lacks, in one immediate transaction.
fn migrate(conn: &mut Connection, path: &str) -> Result<(), OpenError> {
    let sql = |source| OpenError::Sql { path: path.to_string(), source };
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql)?;
    tx.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)").map_err(sql)?;
    let found: i64 = tx
        .query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get::<_, Option<i64>>(0))
        .optional()
        .map_err(sql)?
        .flatten()
        .unwrap_or(0);
    if found > SCHEMA_VERSION {
        return Err(OpenError::TooNew { path: path.to_string(), found, supported: SCHEMA_VERSION });
    }
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    for (i, step) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tracing::info!(path, version = i + 1, "migrating SQLite database");
        tx.execute_batch(step).map_err(sql)?;
    }
    tx.execute("DELETE FROM schema_version", []).map_err(sql)?;
    tx.execute("INSERT INTO schema_version (version) VALUES (?1)", [SCHEMA_VERSION]).map_err(sql)?;
    tx.commit().map_err(sql)
}

/// One connection shared by an adapter's clones; SQL runs on the blocking pool, never across an `.await`.
#[derive(Clone)]
pub(crate) struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl Db {
    pub(crate) fn new(conn: Connection) -> Self {
        Self { conn: Arc::new(Mutex::new(conn)) }
    }

    /// Runs `f` with the connection on tokio's blocking pool. `Err` only if `f` panicked.
    pub(crate) async fn call<T, F>(&self, f: F) -> Result<T, tokio::task::JoinError>
    where
        F: FnOnce(&mut Connection) -> T + Send + 'static,
        T: Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // A panic inside an earlier call rolled its transaction back when it unwound, so the
            // connection is still usable: take it over rather than failing forever.
            let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut guard)
        })
        .await
    }
}

/// Milliseconds of a duration, saturating.
pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_twice_migrates_once_and_sets_the_pragmas() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/truereel.db");
        let first = open(&path).unwrap();
        drop(first);
        let conn = open(&path).unwrap();
        let rows: i64 = conn.query_row("SELECT COUNT(*) FROM schema_version", [], |r| r.get(0)).unwrap();
        let version: i64 = conn.query_row("SELECT version FROM schema_version", [], |r| r.get(0)).unwrap();
        assert_eq!((rows, version), (1, SCHEMA_VERSION));
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
        assert_eq!(fk, 1);
        let sync: i64 = conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
        assert_eq!(sync, 1, "synchronous should be NORMAL");
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("truereel.db");
        let conn = open(&path).unwrap();
        conn.execute("UPDATE schema_version SET version = ?1", [SCHEMA_VERSION + 1]).unwrap();
        drop(conn);
        let err = open_connection(&path).unwrap_err();
        assert!(matches!(err, OpenError::TooNew { found, .. } if found == SCHEMA_VERSION + 1), "{err}");
    }

    #[test]
    fn concurrent_opens_of_a_fresh_file_both_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("truereel.db");
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || open(&path).map(|_| ()))
            })
            .collect();
        for h in handles {
            h.join().unwrap().unwrap();
        }
    }
}
