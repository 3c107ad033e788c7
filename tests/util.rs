//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The bundled demo KB.
pub fn bundled_kb() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("kb")
}

/// Copies a folder recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Runs the real binary with an isolated data dir and config, returning its output.
pub fn deskpilot(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deskpilot"))
        .args(args)
        .env("DESKPILOT_DATA_DIR", data_dir)
        .env("XDG_CONFIG_HOME", data_dir.join("config"))
        .env("XDG_STATE_HOME", data_dir.join("state"))
        .env("NO_COLOR", "1")
        // Lexical unless a test asks for more (`--retrieval`): embedding the KB in every fresh
        // data dir would slow the suite for tests that are not about meaning.
        .env("DESKPILOT_RETRIEVAL_MODE", "lexical")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run deskpilot")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The characters of a rendered `TestBackend` screen, one line per row.
pub fn text_of(t: &ratatui::Terminal<ratatui::backend::TestBackend>) -> String {
    let buf = t.backend().buffer();
    let mut s = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            s.push_str(buf[(x, y)].symbol());
        }
        s.push('\n');
    }
    s
}
