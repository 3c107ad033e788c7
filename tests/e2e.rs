//! The real binary in a real terminal (tmux): a demo customer writes, a draft streams in, the
//! agent edits and sends it, and the store records what happened.

use deskpilot::desk::DraftOutcome;
use deskpilot::store::SqliteStore;
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux").arg("-L").arg(&self.socket).args(args).output().expect("tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "dp"])
    }

    /// Waits until the screen shows `needle`; returns the screen.
    fn wait_for(&self, needle: &str, timeout: Duration) -> String {
        let started = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(needle) {
                return s;
            }
            assert!(started.elapsed() < timeout, "timed out waiting for {needle:?}; screen:\n{s}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").arg("-L").arg(&self.socket).arg("kill-server").output();
    }
}

/// The shell command a tmux pane runs: the console in an isolated data dir, then a marker with
/// its exit status (the pane stays open so the test can read it).
fn console_command(data: &std::path::Path, flags: &str) -> String {
    format!(
        "env DESKPILOT_RETRIEVAL_MODE=lexical DESKPILOT_DATA_DIR={d} XDG_CONFIG_HOME={d}/config XDG_STATE_HOME={d}/state NO_COLOR=1 TERM=xterm-256color {bin} --speed 8 {flags}; echo EXITED $?; sleep 60",
        d = data.display(),
        bin = env!("CARGO_BIN_EXE_deskpilot"),
    )
}

#[test]
fn demo_customer_draft_edit_send_in_tmux() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed: skipping the terminal end-to-end test");
        return;
    }
    let data = tempfile::tempdir().expect("tempdir");
    let tmux = Tmux { socket: format!("deskpilot-test-{}", std::process::id()) };
    let cmd = console_command(data.path(), "--fresh");
    tmux.run(&["new-session", "-d", "-s", "dp", "-x", "160", "-y", "48", &cmd]);

    // The first demo customer arrives and a draft streams into the editor.
    let screen = tmux.wait_for("review before sending", Duration::from_secs(60));
    assert!(screen.contains("Ana Souza"), "{screen}");
    let greets = ["Hi Ana", "Hello Ana", ", Ana"].iter().any(|g| screen.contains(g));
    assert!(greets, "the draft greets the customer by name:\n{screen}");

    // Edit it, send it.
    tmux.run(&["send-keys", "-t", "dp", "-l", " Thanks for your patience."]);
    tmux.wait_for("Thanks for your patience.", Duration::from_secs(10));
    tmux.run(&["send-keys", "-t", "dp", "C-s"]);
    tmux.wait_for("Reply sent.", Duration::from_secs(10));
    tmux.run(&["send-keys", "-t", "dp", "C-q"]);
    let screen = tmux.wait_for("EXITED", Duration::from_secs(20));
    assert!(screen.contains("EXITED 0"), "{screen}");

    let store = SqliteStore::open_in(data.path()).expect("store");
    let drafts = store.drafts(None).expect("drafts");
    let sent = drafts
        .iter()
        .find(|d| d.draft.final_text.as_deref().is_some_and(|t| t.contains("Thanks for your patience.")))
        .unwrap_or_else(|| panic!("no sent draft in {drafts:#?}"));
    assert_eq!(sent.draft.outcome, Some(DraftOutcome::Edited));
    assert!(sent.draft.generated.contains("Ana"), "{}", sent.draft.generated);
    assert!(!sent.draft.sources.is_empty(), "the draft names its sources");
    let messages = store.messages(&sent.draft.conversation).expect("messages");
    assert!(messages.iter().any(|m| m.text.contains("Thanks for your patience.")));
    let events = store.events(&sent.draft.conversation).expect("events");
    assert!(events.contains(&"shown".to_owned()) && events.contains(&"sent".to_owned()), "{events:?}");
}

#[test]
fn typed_text_survives_a_crash() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed: skipping the crash-recovery test");
        return;
    }
    let data = tempfile::tempdir().expect("tempdir");
    let tmux = Tmux { socket: format!("deskpilot-crash-{}", std::process::id()) };
    let start = |flags: &str| console_command(data.path(), flags);
    tmux.run(&["new-session", "-d", "-s", "dp", "-x", "160", "-y", "48", &start("--fresh")]);
    tmux.wait_for("review before sending", Duration::from_secs(60));
    tmux.run(&["send-keys", "-t", "dp", "-l", " XYZZY-typed-before-the-crash"]);
    tmux.wait_for("XYZZY-typed-before-the-crash", Duration::from_secs(10));
    // Autosave writes within a second of typing; then the process dies without any cleanup.
    std::thread::sleep(Duration::from_millis(1800));
    let pid = tmux.run(&["list-panes", "-t", "dp", "-F", "#{pane_pid}"]);
    let shell_pid = pid.trim();
    let killed = Command::new("pkill").args(["-9", "-P", shell_pid, "deskpilot"]).status().expect("pkill");
    assert!(killed.success(), "could not kill the console");
    tmux.wait_for("EXITED 137", Duration::from_secs(10));
    tmux.run(&["kill-session", "-t", "dp"]);

    // Restart: the session resumes and the typed text is back in the editor.
    tmux.run(&["new-session", "-d", "-s", "dp", "-x", "160", "-y", "48", &start("")]);
    let screen = tmux.wait_for("XYZZY-typed-before-the-crash", Duration::from_secs(30));
    assert!(screen.contains("Ana Souza"), "{screen}");
    tmux.run(&["send-keys", "-t", "dp", "C-q"]);
    tmux.wait_for("EXITED 0", Duration::from_secs(20));
}
