//! Small helpers shared by several modules.

/// When the process started (set by `main`), for start-up timings.
pub static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// The local time zone's offset from UTC in seconds, read once at start-up (reading it later,
/// with threads running, is not sound on Unix and `time` refuses).
static LOCAL_OFFSET: std::sync::OnceLock<i64> = std::sync::OnceLock::new();

/// Call from `main` before any thread starts.
pub fn init_local_offset() {
    let secs = time::UtcOffset::current_local_offset().map_or(0, |o| i64::from(o.whole_seconds()));
    let _ = LOCAL_OFFSET.set(secs);
}

/// Seconds to add to UTC for local wall-clock time (0 when unknown).
pub fn local_offset_secs() -> i64 {
    LOCAL_OFFSET.get().copied().unwrap_or(0)
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Median and 99th percentile of a set of samples (sorted in place), in the samples' unit.
pub fn p50_p99(samples: &mut [f64]) -> (f64, f64) {
    if samples.is_empty() {
        return (0.0, 0.0);
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99))
}

/// Lower-case hex of a byte slice.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Makes text safe to print on a terminal: control characters (ESC and friends, which start
/// ANSI/OSC sequences) and bidi overrides are replaced by visible placeholders; newlines and
/// tabs stay.
pub fn sanitize_for_terminal(text: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| {
        (c.is_control() && c != '\n' && c != '\t') || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(bad) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c == '\u{1b}' {
            out.push_str("^[");
        } else if (c as u32) < 0x20 {
            out.push('^');
            out.push(char::from(b'@' + c as u8));
        } else if bad(c) {
            out.push_str(&format!("<U+{:04X}>", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The device models run on (the generator, the encoder, the selector and the understanding
/// heads): the CPU (`flex`), or the first CUDA GPU when built with the `cuda` feature.
pub fn device() -> burn::tensor::Device {
    #[cfg(feature = "cuda")]
    {
        burn::tensor::Device::cuda(0)
    }
    #[cfg(not(feature = "cuda"))]
    {
        burn::tensor::Device::flex()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_neutralised() {
        assert_eq!(sanitize_for_terminal("a\u{1b}[31mred\u{7}"), "a^[[31mred^G");
        assert_eq!(sanitize_for_terminal("x\u{202E}y"), "x<U+202E>y");
        assert_eq!(sanitize_for_terminal("line\nnext\t"), "line\nnext\t");
    }

    #[test]
    fn percentiles() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        let (p50, p99) = p50_p99(&mut v);
        assert!((50.0..=51.0).contains(&p50) && (98.0..=100.0).contains(&p99));
    }
}
