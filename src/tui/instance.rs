//! One console per data directory. Two consoles on one store would each autosave the same
//! conversations and the last to quit would overwrite the other's typed text, so the second one
//! is refused with the first one's process id. The lock is an OS file lock: it goes away with the
//! process, even after `kill -9`, and a stale lock file never blocks a start.

use anyhow::{Context, Result, bail};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The lock file inside the data directory.
pub const LOCK_FILE: &str = "console.lock";

/// Held while the console runs; dropping it releases the lock.
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
    pub path: PathBuf,
}

/// Takes the data directory's console lock, or says which process holds it.
pub fn acquire(data_dir: &Path) -> Result<InstanceLock> {
    std::fs::create_dir_all(data_dir).with_context(|| format!("cannot create {}", data_dir.display()))?;
    let path = data_dir.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("{}: cannot open the console lock", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let who = match holder.trim() {
                "" => "another process".to_owned(),
                pid => format!("process {pid}"),
            };
            bail!(
                "another Deskpilot console ({who}) is already using {}; quit it first, or give this one its own \
                 data directory (--data-dir or DESKPILOT_DATA_DIR)",
                data_dir.display()
            );
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("{}: cannot lock", path.display()));
        }
    }
    file.set_len(0).and_then(|()| file.rewind()).and_then(|()| writeln!(file, "{}", std::process::id())).ok();
    Ok(InstanceLock { _file: file, path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_one_data_dir_is_refused_with_the_holder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = acquire(dir.path()).expect("first");
        let err = acquire(dir.path()).expect_err("second must fail");
        let text = format!("{err:#}");
        assert!(text.contains(&format!("process {}", std::process::id())), "{text}");
        assert!(text.contains(&dir.path().display().to_string()), "{text}");
        drop(first);
        acquire(dir.path()).expect("free again after the first is dropped");
    }
}
