//! Issue 18: bad input of every kind gets a clear error naming the file, field or variable, and
//! nothing panics, hangs or is lost. Each test reproduces one finding with the real binary.

use crate::util::{bundled_kb, copy_dir, stderr, stdout};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Runs the binary like `util::deskpilot`, with extra environment, under a watchdog and a memory
/// cap: a child still running after two minutes is killed and the test fails (a hang must not
/// hang the suite), and reading something endless fails fast instead of filling the machine.
fn run(data: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let out_path = data.join(format!("out-{}.txt", unique()));
    let err_path = data.join(format!("err-{}.txt", unique()));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deskpilot"));
    cmd.args(args)
        .env("DESKPILOT_DATA_DIR", data)
        .env("XDG_CONFIG_HOME", data.join("config"))
        .env("XDG_STATE_HOME", data.join("state"))
        .env("NO_COLOR", "1")
        // Lexical retrieval: these tests are about bad input, not the encoder (embedding the KB
        // would only slow them).
        .env("DESKPILOT_RETRIEVAL_MODE", "lexical")
        .envs(envs.iter().copied())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"));
    cap_memory(&mut cmd);
    let mut child = cmd.spawn().expect("spawn deskpilot");
    let mut status = None;
    for _ in 0..1200 {
        if let Some(s) = child.try_wait().expect("wait") {
            status = Some(s);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("deskpilot {args:?} hung (killed by the test's watchdog)");
    };
    Output {
        status,
        stdout: std::fs::read(&out_path).expect("stdout"),
        stderr: std::fs::read(&err_path).expect("stderr"),
    }
}

fn unique() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

#[cfg(unix)]
fn cap_memory(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit { rlim_cur: 8 << 30, rlim_max: 8 << 30 };
            libc::setrlimit(libc::RLIMIT_AS, &limit);
            Ok(())
        });
    }
}

#[cfg(not(unix))]
fn cap_memory(_cmd: &mut Command) {}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Neither a panic nor raw tantivy text reached the user.
fn assert_clean(o: &Output) {
    let err = stderr(o);
    for bad in ["panicked", "RUST_BACKTRACE", "LockBusy", "FileDoesNotExist", "writer was killed", "memory allocation"]
    {
        assert!(!err.contains(bad), "{bad:?} in stderr:\n{err}");
    }
}

/// A copy of the bundled KB in `root/kb`.
fn kb_copy(root: &Path) -> PathBuf {
    let kb = root.join("kb");
    copy_dir(&bundled_kb(), &kb);
    kb
}

/// Finding 1: random bytes inside a segment's `.idx` file.
#[test]
fn a_corrupted_segment_is_found_and_rebuilt_instead_of_crashing() {
    let data = tempfile::tempdir().expect("tempdir");
    let kb = kb_copy(data.path());
    let o = run(data.path(), &["index", "--kb", s(&kb)], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let index_dir = deskpilot::retrieval::index_dir_for(&kb, data.path());
    let mut garbled = 0;
    for e in std::fs::read_dir(&index_dir).expect("index dir").flatten() {
        if e.path().extension().is_some_and(|x| x == "idx") {
            let mut bytes = std::fs::read(e.path()).expect("read");
            let mut x = 0x9E37_79B9_7F4A_7C15_u64;
            let (from, to) = (bytes.len() / 4, bytes.len() * 3 / 4);
            for b in &mut bytes[from..to] {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            std::fs::write(e.path(), bytes).expect("write");
            garbled += 1;
        }
    }
    assert!(garbled > 0, "no .idx file in {}", index_dir.display());
    let o = run(data.path(), &["search", "--kb", s(&kb), "where", "is", "my", "refund"], &[]);
    assert_clean(&o);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("refund"), "{}", stdout(&o));
    let o = run(data.path(), &["draft", "--kb", s(&kb), "--drafter", "extractive", "where", "is", "my", "refund"], &[]);
    assert_clean(&o);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Damage again: `index` itself notices and repairs it.
    for e in std::fs::read_dir(&index_dir).expect("index dir").flatten() {
        if e.path().extension().is_some_and(|x| x == "idx") {
            let mut bytes = std::fs::read(e.path()).expect("read");
            let mid = bytes.len() / 2;
            for b in &mut bytes[mid..(mid + 64).min(mid * 2)] {
                *b ^= 0xA5;
            }
            std::fs::write(e.path(), bytes).expect("write");
        }
    }
    let o = run(data.path(), &["index", "--kb", s(&kb)], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("rebuilt from scratch"), "{}", stdout(&o));
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(s(path)).expect("c path");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
}

/// Finding 2: a FIFO named `*.md` hung every command.
#[cfg(unix)]
#[test]
fn a_fifo_in_the_kb_is_skipped_with_a_reason() {
    let data = tempfile::tempdir().expect("tempdir");
    let kb = kb_copy(data.path());
    mkfifo(&kb.join("pipe.md"));
    let o = run(data.path(), &["kb", "check", "--kb", s(&kb)], &[]);
    let text = stdout(&o);
    assert!(text.contains("pipe.md") && text.contains("FIFO"), "{text}");
    assert!(text.contains("57 articles"), "{text}");
    for args in [vec!["index", "--kb", s(&kb)], vec!["search", "--kb", s(&kb), "refund"]] {
        let o = run(data.path(), &args, &[]);
        assert_clean(&o);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
    }
}

/// Finding 2: a `.md` link to `/dev/zero` was read without end; links that leave the KB are not
/// followed, links inside it are.
#[cfg(unix)]
#[test]
fn device_and_outside_links_are_not_read_inside_links_are() {
    let data = tempfile::tempdir().expect("tempdir");
    let kb = kb_copy(data.path());
    std::os::unix::fs::symlink("/dev/zero", kb.join("zero.md")).expect("symlink");
    let outside = data.path().join("secret.md");
    std::fs::write(&outside, "---\ntitle: Secret\n---\n\nThe outside password is hunter2.\n").expect("write");
    std::os::unix::fs::symlink(&outside, kb.join("outside.md")).expect("symlink");
    std::os::unix::fs::symlink(kb.join("gift-cards.md"), kb.join("gift-cards-link.md")).expect("symlink");
    let o = run(data.path(), &["kb", "check", "--kb", s(&kb)], &[]);
    assert_clean(&o);
    let text = stdout(&o);
    assert!(text.contains("zero.md") && text.contains("/dev/zero"), "{text}");
    assert!(text.contains("outside.md") && text.contains("outside the KB folder"), "{text}");
    assert!(text.contains("58 articles"), "the inside link is followed: {text}");
    let o = run(data.path(), &["search", "--kb", s(&kb), "--json", "outside", "password", "hunter2"], &[]);
    assert_clean(&o);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stdout(&o).contains("hunter2"), "{}", stdout(&o));
}

/// Finding 5: two `index` runs, a `search` and a `draft` at once on a fresh data dir.
#[test]
fn concurrent_writers_and_readers_all_succeed() {
    for trial in 0..3 {
        let data = tempfile::tempdir().expect("tempdir");
        let kb = kb_copy(data.path());
        let kb_s = s(&kb).to_owned();
        let dir = data.path().to_owned();
        let runs: Vec<Vec<String>> = vec![
            vec!["index".into(), "--kb".into(), kb_s.clone()],
            vec!["index".into(), "--kb".into(), kb_s.clone()],
            vec!["search".into(), "--kb".into(), kb_s.clone(), "refund".into()],
            vec!["draft".into(), "--kb".into(), kb_s.clone(), "--drafter".into(), "extractive".into(), "refund".into()],
        ];
        let handles: Vec<_> = runs
            .into_iter()
            .map(|args| {
                let dir = dir.clone();
                std::thread::spawn(move || {
                    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                    (args.clone(), run(&dir, &refs, &[]))
                })
            })
            .collect();
        for h in handles {
            let (args, o) = h.join().expect("thread");
            assert_clean(&o);
            assert_eq!(o.status.code(), Some(0), "trial {trial}, {args:?}: {}", stderr(&o));
        }
        let o = run(&dir, &["index", "--kb", &kb_s], &[]);
        assert!(stdout(&o).contains("57 articles"), "{}", stdout(&o));
    }
}

/// A copy of the bundled model with its config edited by `edit`.
fn model_copy(root: &Path, edit: impl Fn(&mut serde_json::Value)) -> PathBuf {
    let dir = root.join(format!("model-{}", unique()));
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/model"), &dir);
    let path = dir.join("config.json");
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    edit(&mut v);
    std::fs::write(&path, serde_json::to_string_pretty(&v).expect("json")).expect("write");
    dir
}

const QUESTION: [&str; 7] = ["how", "long", "do", "card", "refunds", "take", "?"];

fn draft_with(data: &Path, model: &Path) -> Output {
    let mut args = vec!["draft", "--model", s(model)];
    args.extend(QUESTION);
    run(data, &args, &[])
}

/// Finding 6: absurd shapes are refused before anything is allocated, naming the field.
#[test]
fn bad_model_shapes_are_refused_by_field() {
    let data = tempfile::tempdir().expect("tempdir");
    for (field, value, needle) in
        [("n_heads", 0, "n_heads"), ("n_heads", 3, "not divisible by `n_heads` 3"), ("n_layers", 100_000, "n_layers")]
    {
        let model = model_copy(data.path(), |v| v["model"][field] = value.into());
        let o = draft_with(data.path(), &model);
        assert_clean(&o);
        assert_eq!(o.status.code(), Some(1), "{field} = {value}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(needle) && err.contains("config.json"), "{field} = {value}: {err}");
        assert!(err.len() < 2000, "{field} = {value}: a {}-byte error", err.len());
    }
}

/// Finding 6: garbage inside the weights fails the checksum; a model that drafts nothing is
/// never labelled grounded.
#[test]
fn damaged_weights_are_refused_and_an_empty_draft_is_not_grounded() {
    let data = tempfile::tempdir().expect("tempdir");
    let model = model_copy(data.path(), |_| {});
    let weights = model.join("model.bpk");
    let mut bytes = std::fs::read(&weights).expect("read");
    let mid = bytes.len() / 2;
    for (i, b) in bytes[mid..mid + 100_000].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(97).wrapping_add(13);
    }
    std::fs::write(&weights, &bytes).expect("write");
    let o = draft_with(data.path(), &model);
    assert_clean(&o);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("model.bpk") && stderr(&o).contains("checksum"), "{}", stderr(&o));
    // The same garbage with a matching hash (a consistent but broken model).
    let manifest = model.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).expect("read")).expect("json");
    m["weights_sha256"] = deskpilot::model::checkpoint::sha256_file(&weights).expect("hash").into();
    std::fs::write(&manifest, serde_json::to_string_pretty(&m).expect("json")).expect("write");
    let o = draft_with(data.path(), &model);
    assert_clean(&o);
    // These weights draft nothing (checked by hand: an empty draft labelled grounded before).
    let err = stderr(&o);
    assert!(!err.contains("grounded"), "an empty draft labelled grounded:\n{err}");
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("empty draft"), "{err}");
}

fn config_error(data: &Path, toml: &str, envs: &[(&str, &str)]) -> String {
    let cfg = data.join(format!("c{}.toml", unique()));
    std::fs::write(&cfg, toml).expect("write");
    let o = run(data, &["--config", s(&cfg), "doctor"], envs);
    assert_eq!(o.status.code(), Some(1), "{toml} {envs:?} was accepted:\n{}", stdout(&o));
    let err = stderr(&o);
    if envs.is_empty() {
        assert!(err.contains(s(&cfg)), "the error does not name the file: {err}");
    }
    err
}

/// Finding 7: sizes and numbers are range-checked, and the error names the file, key or
/// variable.
#[test]
fn out_of_range_values_are_refused_by_name() {
    let data = tempfile::tempdir().expect("tempdir");
    let o = run(data.path(), &["search", "-k", "99999999999", "refund"], &[]);
    assert_clean(&o);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("-k"), "{}", stderr(&o));
    for (toml, key) in [
        ("[retrieval]\ntop_k = 100000000000\n", "top_k"),
        ("[retrieval]\nmin_confidence = 7.5\n", "min_confidence"),
        ("[model]\ntemperature = nan\n", "temperature"),
        ("[model]\ntop_p = 0.0\n", "top_p"),
        ("[ui]\ntheme = \"purple\"\n", "theme"),
        ("[log]\nlevel = \"loud\"\n", "level"),
    ] {
        let err = config_error(data.path(), toml, &[]);
        assert!(err.contains(key), "{toml}: {err}");
    }
    let err = config_error(data.path(), "", &[("DESKPILOT_MODEL_TEMPERATURE", "nan")]);
    assert!(err.contains("DESKPILOT_MODEL_TEMPERATURE"), "{err}");
    let err = config_error(data.path(), "", &[("DESKPILOT_RETRIEVAL_TOPK", "3")]);
    assert!(err.contains("DESKPILOT_RETRIEVAL_TOPK") && err.contains("DESKPILOT_RETRIEVAL_TOP_K"), "{err}");
}

/// Finding 8: a missing KB is an error and creates nothing; an empty database file is reported.
#[test]
fn a_missing_kb_is_an_error_and_an_empty_database_is_reported() {
    let data = tempfile::tempdir().expect("tempdir");
    let missing = data.path().join("no-such-kb");
    for args in [vec!["index", "--kb", s(&missing)], vec!["search", "--kb", s(&missing), "refund"]] {
        let o = run(data.path(), &args, &[]);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stdout(&o));
        assert!(stderr(&o).contains("no-such-kb") && stderr(&o).contains("not found"), "{}", stderr(&o));
    }
    assert!(
        !data.path().join("index").exists() || std::fs::read_dir(data.path().join("index")).expect("dir").count() == 0
    );
    std::fs::write(data.path().join(deskpilot::store::DB_FILE), b"").expect("write");
    let o = run(data.path(), &["doctor"], &[]);
    assert!(stdout(&o).contains("empty file (0 bytes)"), "{}", stdout(&o));
}

/// Finding 9: `doctor` checks what it lists.
#[test]
fn doctor_checks_the_store_the_weights_and_the_shape() {
    let data = tempfile::tempdir().expect("tempdir");
    let o = run(data.path(), &["doctor"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("verified against manifest.json"), "{}", stdout(&o));
    std::fs::write(data.path().join(deskpilot::store::DB_FILE), b"this is not a database at all").expect("write");
    let o = run(data.path(), &["doctor"], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("UNREADABLE"), "{}", stdout(&o));
    std::fs::remove_file(data.path().join(deskpilot::store::DB_FILE)).expect("rm");

    let model = model_copy(data.path(), |_| {});
    let weights = model.join("model.bpk");
    let mut bytes = std::fs::read(&weights).expect("read");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xFF;
    std::fs::write(&weights, &bytes).expect("write");
    let o = run(data.path(), &["doctor"], &[("DESKPILOT_MODEL_DIR", s(&model))]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("DAMAGED") && stdout(&o).contains("checksum"), "{}", stdout(&o));

    let model = model_copy(data.path(), |v| v["model"]["n_layers"] = 100_000.into());
    let o = run(data.path(), &["doctor"], &[("DESKPILOT_MODEL_DIR", s(&model))]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("n_layers"), "{}", stdout(&o));
}

/// `doctor` loads the encoders, the answer selector and the intent classifier, and checks their
/// weights: a damaged one is a problem, a missing one says what the console does without it.
#[test]
fn doctor_checks_the_encoders_and_the_selector() {
    let data = tempfile::tempdir().expect("tempdir");
    let o = run(data.path(), &["doctor"], &[]);
    let text = stdout(&o);
    assert!(text.contains("Retrieval and understanding"), "{text}");
    assert!(text.contains("weights match the manifest") && text.contains("fits this KB and encoder"), "{text}");
    assert!(text.contains("selector     selector-"), "{text}");

    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    let copy = |name: &str, file: &str| {
        let dir = data.path().join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        for entry in std::fs::read_dir(assets.join(name)).expect("read_dir") {
            let path = entry.expect("entry").path();
            std::fs::copy(&path, dir.join(path.file_name().expect("name"))).expect("copy");
        }
        let mut bytes = std::fs::read(dir.join(file)).expect("read");
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xFF;
        std::fs::write(dir.join(file), bytes).expect("write");
        dir
    };
    let (encoder, selector) = (copy("encoder", "model.safetensors"), copy("selector", "selector.bpk"));
    let cfg = data.path().join("c.toml");
    std::fs::write(&cfg, format!("[retrieval]\nencoder = {:?}\n[model]\nselector = {:?}\n", s(&encoder), s(&selector)))
        .expect("write config");
    let o = run(data.path(), &["--config", s(&cfg), "doctor"], &[]);
    assert_eq!(o.status.code(), Some(1));
    let text = stdout(&o);
    assert!(text.contains("encoder      ") && text.contains("does not match the manifest"), "{text}");
    assert!(text.contains("selector     NOT USABLE") && text.contains("weights_sha256"), "{text}");
    assert!(text.contains("zh encoder") && text.contains("not installed"), "no encoder-zh beside the copy: {text}");
    assert!(text.contains("2 problem(s)"), "{text}");
}

/// Found by the adversarial pass: a paragraph of 50,000 links took 11 s to check (each link's
/// line was counted from the start of the body). Lines are now looked up; they stay right.
#[test]
fn link_lines_are_right_in_a_long_body() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut body = String::from("---\ntitle: Links\n---\n\nfirst [a](missing-a.md)\n\nsecond\n");
    body.push_str(&"[b](missing-b.md) ".repeat(20_000));
    body.push_str("\n\nlast [c](missing-c.md)\n");
    std::fs::write(dir.path().join("links.md"), body).expect("write");
    let kb = deskpilot::knowledge::load_kb(dir.path());
    let line = |dest: &str| kb.issues.iter().find(|i| i.message.contains(dest)).and_then(|i| i.line);
    assert_eq!(line("missing-a.md"), Some(5));
    assert_eq!(line("missing-b.md"), Some(8));
    assert_eq!(line("missing-c.md"), Some(10));
    assert_eq!(kb.issues.iter().filter(|i| i.message.contains("broken link")).count(), 20_002);
}
