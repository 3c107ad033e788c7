//! SQLite storage: one file in the data directory, WAL mode, versioned migrations.
//!
//! Opening never silently replaces data: a file that is not SQLite, is corrupt, belongs to
//! something else, or was written by a newer Deskpilot is refused with an error naming the file.
//! An existing but empty (0-byte) file becomes a new store with a warning: a database that was
//! there and is now empty usually means it was truncated, and the user should know.

mod migrations;
mod privacy;
mod repo;
mod review;
mod web;

pub use migrations::LATEST as LATEST_SCHEMA;
pub use privacy::{Erased, ExportRecord};
pub use repo::{Review, StoredDraft};
pub use review::{Approval, ApprovalState, CoachingNote, DraftFilter, ReviewRow};
pub use web::{Appended, NewMessage, Opened, WEB, WebMessage, WebStart};

use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

/// The database file name inside the data directory.
pub const DB_FILE: &str = "deskpilot.sqlite3";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: not a readable SQLite database ({detail}); move it aside to start a new one, nothing was changed")]
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "{path}: database schema version {found} is newer than this Deskpilot supports ({supported}); upgrade Deskpilot or point --data-dir elsewhere"
    )]
    UnknownVersion { path: PathBuf, found: i64, supported: i64 },
    #[error(
        "{path}: this SQLite file is not a Deskpilot database (it has tables but no schema_version); nothing was changed"
    )]
    Foreign { path: PathBuf },
    #[error("{path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// What [`inspect`] found at a database path (without creating or changing anything).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreStatus {
    /// No file yet: the console creates it.
    Missing,
    /// A 0-byte file: the console starts a new store in it.
    Empty,
    /// A readable Deskpilot database at this schema version.
    Ready { schema_version: i64, conversations: i64 },
}

/// Checks the database at `path` the way [`SqliteStore::open`] would, changing nothing: an
/// unreadable, corrupt, foreign or newer file is the same error `open` gives.
pub fn inspect(path: &Path) -> Result<StoreStatus> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(StoreStatus::Missing),
        Err(source) => return Err(StoreError::Io { path: path.to_owned(), source }),
    };
    if meta.len() == 0 {
        return Ok(StoreStatus::Empty);
    }
    check_header(path)?;
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| classify(path, e))?;
    let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0)).map_err(|e| classify(path, e))?;
    if check != "ok" {
        return Err(StoreError::Corrupt { path: path.to_owned(), detail: format!("integrity check: {check}") });
    }
    let version = migrations::current_version(&conn, path)?;
    if version > migrations::LATEST {
        return Err(StoreError::UnknownVersion {
            path: path.to_owned(),
            found: version,
            supported: migrations::LATEST,
        });
    }
    let conversations = if version > 0 {
        conn.query_row("SELECT COUNT(*) FROM conversations", [], |r| r.get(0)).map_err(|e| classify(path, e))?
    } else {
        0
    };
    Ok(StoreStatus::Ready { schema_version: version, conversations })
}

/// The SQLite-backed store.
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    /// The agent whose drafts, messages and events this connection records (`[agent] name`).
    agent: String,
}

const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

impl SqliteStore {
    /// Opens (creating if absent) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self> {
        check_header(path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io { path: dir.to_owned(), source })?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| classify(path, e))?;
        let mut store = Self { conn, path: path.to_owned(), agent: String::new() };
        store.configure()?;
        migrations::migrate(&mut store.conn, &store.path)?;
        Ok(store)
    }

    /// Opens the store in a data directory.
    pub fn open_in(data_dir: &Path) -> Result<Self> {
        Self::open(&data_dir.join(DB_FILE))
    }

    /// Records everything written from now on as this agent's (drafts, messages, events).
    pub fn set_agent(&mut self, agent: &str) {
        self.agent = agent.to_owned();
    }

    pub fn agent(&self) -> &str {
        &self.agent
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version the file is at.
    pub fn schema_version(&self) -> Result<i64> {
        self.conn.query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0)).map_err(|e| self.err(e))
    }

    /// Folds the write-ahead log into the database file (on clean shutdown, before backups).
    pub fn checkpoint(&self) -> Result<()> {
        self.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).map_err(|e| self.err(e))
    }

    /// Runs raw SQL: for tests and maintenance scripts only.
    #[doc(hidden)]
    pub fn execute_raw(&self, sql: &str) -> Result<()> {
        self.conn.execute_batch(sql).map_err(|e| self.err(e))
    }

    /// A second connection to this store's file, for another thread. The file was checked and
    /// migrated when this one opened, so neither is done again.
    pub fn another(&self) -> Result<Self> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags).map_err(|e| self.err(e))?;
        let store = Self { conn, path: self.path.clone(), agent: self.agent.clone() };
        store.pragmas()?;
        Ok(store)
    }

    fn pragmas(&self) -> Result<()> {
        let (path, c) = (&self.path, &self.conn);
        c.busy_timeout(std::time::Duration::from_secs(5)).map_err(|e| classify(path, e))?;
        let mode: String = c.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).map_err(|e| classify(path, e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), mode, "SQLite refused WAL mode");
        }
        c.pragma_update(None, "synchronous", "NORMAL").map_err(|e| classify(path, e))?;
        c.pragma_update(None, "foreign_keys", "ON").map_err(|e| classify(path, e))?;
        Ok(())
    }

    fn configure(&mut self) -> Result<()> {
        self.pragmas()?;
        let path = self.path.clone();
        let c = &self.conn;
        let check: String = c.query_row("PRAGMA quick_check", [], |r| r.get(0)).map_err(|e| classify(&path, e))?;
        if check != "ok" {
            return Err(StoreError::Corrupt { path, detail: format!("integrity check: {check}") });
        }
        Ok(())
    }

    pub(crate) fn err(&self, source: rusqlite::Error) -> StoreError {
        classify(&self.path, source)
    }
}

/// Refuses a non-empty file that does not start with SQLite's magic bytes before SQLite touches
/// it, so a stray file is never turned into a database.
fn check_header(path: &Path) -> Result<()> {
    use std::io::Read;
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(StoreError::Io { path: path.to_owned(), source }),
    };
    let mut head = [0u8; 16];
    let mut read = 0;
    while read < head.len() {
        match file.read(&mut head[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(source) => return Err(StoreError::Io { path: path.to_owned(), source }),
        }
    }
    if read == 0 {
        tracing::warn!(
            path = %path.display(),
            "the database file is empty (0 bytes); starting a new store in it (if it held data, restore it from a backup)"
        );
        return Ok(());
    }
    if read == 16 && &head == SQLITE_MAGIC {
        Ok(())
    } else {
        Err(StoreError::Corrupt {
            path: path.to_owned(),
            detail: "the file does not start with the SQLite header".into(),
        })
    }
}

fn classify(path: &Path, source: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    match source.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt) => {
            StoreError::Corrupt { path: path.to_owned(), detail: source.to_string() }
        }
        _ => StoreError::Sqlite { path: path.to_owned(), source },
    }
}
