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
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            // Shown in a timeout's message: "no server running", "can't find pane"...
            text.push_str(&format!("[tmux {args:?} failed: {}]", String::from_utf8_lossy(&out.stderr).trim()));
        }
        text
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

/// These tests need tmux (`.ci/run` installs it): without it they fail rather than pass silently.
fn require_tmux() {
    let found = Command::new("tmux").arg("-V").output().is_ok_and(|o| o.status.success());
    assert!(found, "tmux is required for the terminal end-to-end tests (Debian: apt-get install tmux)");
}

/// The reply editor's text on `screen`: the editor is the one pane drawn with heavy borders.
fn editor_text(screen: &str) -> String {
    let lines = screen.lines().filter_map(|l| {
        let start = l.find('┃')? + '┃'.len_utf8();
        let end = start + l[start..].find('┃')?;
        Some(l[start..end].trim())
    });
    lines.collect::<Vec<_>>().join(" ")
}

/// The process id of the console running in the pane (a child of the pane's shell).
fn console_pid(tmux: &Tmux) -> String {
    let shell = tmux.run(&["list-panes", "-t", "dp", "-F", "#{pane_pid}"]);
    let out = Command::new("pgrep").args(["-P", shell.trim(), "deskpilot"]).output().expect("pgrep");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
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
    require_tmux();
    let data = tempfile::tempdir().expect("tempdir");
    let tmux = Tmux { socket: format!("deskpilot-test-{}", std::process::id()) };
    let cmd = console_command(data.path(), "--fresh");
    tmux.run(&["new-session", "-d", "-s", "dp", "-x", "160", "-y", "48", &cmd]);

    // The first demo customer arrives and a draft streams into the editor, which grows to show
    // it whole: the greeting by name is on the screen (and checked on the stored draft below).
    let screen = tmux.wait_for("review before sending", Duration::from_secs(60));
    assert!(screen.contains("Ana Souza"), "{screen}");
    let screen = tmux.wait_for("anything else", Duration::from_secs(30));
    assert!(["Hi Ana", "Hello Ana", ", Ana"].iter().any(|g| screen.contains(g)), "{screen}");

    // Edit it, send it.
    tmux.run(&["send-keys", "-t", "dp", "-l", " Thanks for your patience."]);
    tmux.wait_for("Thanks for your patience.", Duration::from_secs(10));
    tmux.run(&["send-keys", "-t", "dp", "C-s"]);
    tmux.wait_for("Reply sent.", Duration::from_secs(10));

    // The customer's profile, read from the store off the UI thread.
    tmux.run(&["send-keys", "-t", "dp", "F10"]);
    let screen = tmux.wait_for("Earlier conversations", Duration::from_secs(10));
    assert!(screen.contains("Tier: ") && screen.contains("Open issues"), "{screen}");
    tmux.run(&["send-keys", "-t", "dp", "Escape"]);

    // Her follow-up gets a draft that answers first and closes once (a later reply does not
    // greet again, and its body never opens with the closing line).
    tmux.wait_for("shouldn't be any fee", Duration::from_secs(30));
    let started = Instant::now();
    let editor = loop {
        let text = editor_text(&tmux.screen());
        if text.contains("anything else I can help you with?") {
            break text;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "no follow-up draft:\n{}", tmux.screen());
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(editor.matches("anything else I can help").count(), 1, "{editor}");
    assert!(!editor.contains("Hi Ana"), "{editor}");

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
    let greets = ["Hi Ana", "Hello Ana", ", Ana"].iter().any(|g| sent.draft.generated.contains(g));
    assert!(greets, "the draft greets the customer by name: {}", sent.draft.generated);
    assert!(!sent.draft.sources.is_empty(), "the draft names its sources");
    let messages = store.messages(&sent.draft.conversation).expect("messages");
    assert!(messages.iter().any(|m| m.text.contains("Thanks for your patience.")));
    let events = store.events(&sent.draft.conversation).expect("events");
    assert!(events.contains(&"shown".to_owned()) && events.contains(&"sent".to_owned()), "{events:?}");
}

#[test]
fn typed_text_survives_a_crash() {
    require_tmux();
    let data = tempfile::tempdir().expect("tempdir");
    let tmux = Tmux { socket: format!("deskpilot-crash-{}", std::process::id()) };
    let start = |flags: &str| console_command(data.path(), flags);
    tmux.run(&["new-session", "-d", "-s", "dp", "-x", "160", "-y", "48", &start("--fresh")]);
    tmux.wait_for("review before sending", Duration::from_secs(60));
    // On a line of its own, so that soft wrapping cannot split it on the screen.
    tmux.run(&["send-keys", "-t", "dp", "Enter"]);
    tmux.run(&["send-keys", "-t", "dp", "-l", "XYZZY-typed-before-the-crash"]);
    tmux.wait_for("XYZZY-typed-before-the-crash", Duration::from_secs(10));
    // Autosave writes within a second of typing; then the process dies without any cleanup.
    std::thread::sleep(Duration::from_millis(1800));
    let pid = tmux.run(&["list-panes", "-t", "dp", "-F", "#{pane_pid}"]);
    let shell_pid = pid.trim();
    let killed = Command::new("pkill").args(["-9", "-P", shell_pid, "deskpilot"]).status().expect("pkill");
    assert!(killed.success(), "could not kill the console");
    tmux.wait_for("EXITED 137", Duration::from_secs(10));

    // Restart in the same pane: the session resumes and the typed text is back in the editor.
    // (Killing the only session would stop the tmux server, and a new session started at once
    // could race the server's exit and never appear.)
    tmux.run(&["respawn-pane", "-k", "-t", "dp", &start("")]);
    let screen = tmux.wait_for("XYZZY-typed-before-the-crash", Duration::from_secs(30));
    assert!(screen.contains("Ana Souza"), "{screen}");
    tmux.run(&["send-keys", "-t", "dp", "C-q"]);
    tmux.wait_for("EXITED 0", Duration::from_secs(20));
}

/// SIGTERM and SIGHUP end the console cleanly: typed text saved, and every terminal mode it
/// turned on (mouse capture, bracketed paste, the alternate screen) turned off again.
#[test]
fn signals_restore_the_terminal() {
    require_tmux();
    for signal in ["TERM", "HUP"] {
        let data = tempfile::tempdir().expect("tempdir");
        let tmux = Tmux { socket: format!("deskpilot-sig{signal}-{}", std::process::id()) };
        let raw = data.path().join("pane-output.bin");
        tmux.run(&["new-session", "-d", "-s", "dp", "-x", "160", "-y", "48", &console_command(data.path(), "--fresh")]);
        tmux.run(&["pipe-pane", "-o", "-t", "dp", &format!("cat >> {}", raw.display())]);
        tmux.wait_for("review before sending", Duration::from_secs(60));
        let flags = || tmux.run(&["display", "-p", "-t", "dp", "#{mouse_any_flag} #{alternate_on}"]);
        assert_eq!(flags().trim(), "1 1", "mouse capture and the alternate screen are on while it runs");
        tmux.run(&["send-keys", "-t", "dp", "-l", " SIGNAL-TYPED"]);
        tmux.wait_for("SIGNAL-TYPED", Duration::from_secs(10));
        let pid = console_pid(&tmux);
        let killed = Command::new("kill").args([&format!("-{signal}"), &pid]).status().expect("kill");
        assert!(killed.success());
        let screen = tmux.wait_for("EXITED", Duration::from_secs(20));
        assert!(screen.contains("EXITED 0"), "SIG{signal} is a clean exit:\n{screen}");
        assert_eq!(flags().trim(), "0 0", "SIG{signal}: mouse capture and the alternate screen are off again");
        let bytes = std::fs::read(&raw).expect("pane output");
        let text = String::from_utf8_lossy(&bytes);
        for (on, off) in [("\x1b[?2004h", "\x1b[?2004l"), ("\x1b[?1000h", "\x1b[?1000l")] {
            let last_on = text.rfind(on).expect("the console turned the mode on");
            assert!(text[last_on..].contains(off), "SIG{signal}: {off:?} follows the last {on:?}");
        }
        let store = deskpilot::store::SqliteStore::open_in(data.path()).expect("store");
        let saved = store.autosaves().expect("autosaves");
        assert!(saved.iter().any(|(_, t, _)| t.contains("SIGNAL-TYPED")), "SIG{signal}: typed text saved: {saved:?}");
    }
}

/// A model that crashes the drafter (zero attention heads) falls back to the extractive drafter
/// with a visible message, and Ctrl-Q still quits.
#[test]
fn ctrl_q_quits_after_the_drafter_crashes() {
    require_tmux();
    let data = tempfile::tempdir().expect("tempdir");
    let model = data.path().join("broken-model");
    crate::util::copy_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/model"), &model);
    let config = std::fs::read_to_string(model.join("config.json")).expect("config");
    let broken = regex::Regex::new(r#""n_heads":\s*\d+"#).expect("regex").replace(&config, "\"n_heads\": 0");
    assert_ne!(broken, config);
    std::fs::write(model.join("config.json"), broken.as_bytes()).expect("write");
    let tmux = Tmux { socket: format!("deskpilot-broken-{}", std::process::id()) };
    let flags = format!("--fresh --model {}", model.display());
    tmux.run(&["new-session", "-d", "-s", "dp", "-x", "160", "-y", "48", &console_command(data.path(), &flags)]);
    let screen = tmux.wait_for("review before sending", Duration::from_secs(60));
    assert!(screen.contains("extractive"), "the status bar names the fallback drafter:\n{screen}");
    tmux.run(&["send-keys", "-t", "dp", "C-q"]);
    let screen = tmux.wait_for("EXITED", Duration::from_secs(20));
    assert!(screen.contains("EXITED 0"), "{screen}");
}

/// A second console on the same data directory is refused with the first one's process id;
/// the first one's typed text is untouched.
#[test]
fn a_second_console_on_one_data_dir_is_refused() {
    require_tmux();
    let data = tempfile::tempdir().expect("tempdir");
    let tmux = Tmux { socket: format!("deskpilot-two-{}", std::process::id()) };
    tmux.run(&["new-session", "-d", "-s", "dp", "-x", "160", "-y", "48", &console_command(data.path(), "--fresh")]);
    tmux.wait_for("review before sending", Duration::from_secs(60));
    let pid = console_pid(&tmux);
    let second = crate::util::deskpilot(data.path(), &["--fresh"]);
    assert!(!second.status.success());
    let err = crate::util::stderr(&second);
    assert!(err.contains("already using") && err.contains(&pid), "{err}");
    tmux.run(&["send-keys", "-t", "dp", "C-q"]);
    tmux.wait_for("EXITED 0", Duration::from_secs(20));
}

/// The web chat end to end: a customer on the HTTP channel writes, the console in a real terminal
/// shows the conversation and drafts a reply, the agent edits and sends it, and the customer's
/// stream receives it. The customer's message is stored once (by the server, not again by the
/// console).
#[test]
fn a_web_customer_gets_the_agents_reply_from_the_console() {
    require_tmux();
    let data = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let tmux = Tmux { socket: format!("deskpilot-test-web-{}", std::process::id()) };
    let cmd = console_command(data.path(), &format!("--channel http --listen 127.0.0.1:{port}"));
    tmux.run(&["new-session", "-d", "-s", "dp", "-x", "160", "-y", "48", &cmd]);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let (id, token) = rt.block_on(async {
        let until = Instant::now() + Duration::from_secs(60);
        while client.get(format!("{base}/healthz")).send().await.is_err() {
            assert!(Instant::now() < until, "the console's web channel never listened:\n{}", tmux.screen());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let r = client
            .post(format!("{base}/api/v1/conversations"))
            .json(&serde_json::json!({ "name": "Li Wei", "email": "li.wei@example.cn", "message": "How long do refunds take to reach my card?" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let v: serde_json::Value = r.json().await.unwrap();
        (v["conversation"].as_str().unwrap().to_owned(), v["token"].as_str().unwrap().to_owned())
    });
    let screen = tmux.wait_for("review before sending", Duration::from_secs(60));
    assert!(screen.contains("Li Wei"), "{screen}");
    tmux.run(&["send-keys", "-t", "dp", "-l", " Thanks for waiting."]);
    tmux.wait_for("Thanks for waiting.", Duration::from_secs(10));
    tmux.run(&["send-keys", "-t", "dp", "C-s"]);
    tmux.wait_for("Reply sent.", Duration::from_secs(10));
    rt.block_on(async {
        let mut ws = crate::http::stream(&base, &id, &token, 0).await;
        let got = crate::http::messages(&mut ws, 2).await;
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0]["author"], "customer");
        assert_eq!(got[1]["author"], "agent");
        assert!(got[1]["text"].as_str().unwrap().ends_with("Thanks for waiting."), "{}", got[1]);
    });
    tmux.run(&["send-keys", "-t", "dp", "C-q"]);
    let screen = tmux.wait_for("EXITED", Duration::from_secs(20));
    assert!(screen.contains("EXITED 0"), "{screen}");
    let store = SqliteStore::open_in(data.path()).expect("store");
    let messages = store.messages(&deskpilot::desk::ConversationId(id)).expect("messages");
    let customer = messages.iter().filter(|m| m.author == deskpilot::desk::Author::Customer).count();
    assert_eq!(customer, 1, "stored once: {messages:?}");
}
