//! Masking: the personal data the installed [`super::policy`] covers, replaced by its label
//! (`[email]`, `[card]`, `[iban]`, `[phone]`, `[address]`, `[order]`, `[tracking]`); and a log
//! writer that masks every line before it reaches the file.

use std::borrow::Cow;
use std::io::Write;

/// Masks the personal data the `[privacy]` policy lists (what exports, training data, eval
/// outputs and the log file use; by default every kind).
pub fn mask_pii(text: &str) -> Cow<'_, str> {
    super::policy::current().mask(text)
}

/// Masks every string inside a JSON value, in place (eval outputs, JSON exports).
pub fn mask_json(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => {
            if let Cow::Owned(m) = mask_pii(s) {
                *s = m;
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(mask_json),
        serde_json::Value::Object(o) => o.values_mut().for_each(mask_json),
        _ => {}
    }
}

/// A writer that masks personal data line by line (the log file's): text is held until its
/// line ends, so a finding split across two writes is still masked.
pub struct MaskingWriter<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> MaskingWriter<W> {
    pub fn new(inner: W) -> Self {
        Self { inner, pending: Vec::new() }
    }

    fn write_lines(&mut self, all: bool) -> std::io::Result<()> {
        let end =
            if all { self.pending.len() } else { self.pending.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1) };
        if end == 0 {
            return Ok(());
        }
        let chunk: Vec<u8> = self.pending.drain(..end).collect();
        let text = String::from_utf8_lossy(&chunk);
        self.inner.write_all(mask_pii(&text).as_bytes())
    }
}

impl<W: Write> Write for MaskingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        self.write_lines(false)?;
        // A line longer than 64 KiB is written as it is so far rather than held without end.
        if self.pending.len() > 65_536 {
            self.write_lines(true)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.write_lines(true)?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for MaskingWriter<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn masks_each_kind() {
        assert_eq!(mask_pii("write to ana.souza+shop@example.co.uk today"), "write to [email] today");
        assert_eq!(mask_pii("card 4111 1111 1111 1111 was charged"), "card [card] was charged");
        assert_eq!(mask_pii("card 4111-1111-1111-1111."), "card [card].");
        assert_eq!(mask_pii("order HP-20417 arrived"), "order [order] arrived");
        assert_eq!(mask_pii("my order #88231 is late"), "my [order] is late");
        assert_eq!(mask_pii("call +1 415 555 0100 or 020 7946 0958"), "call [phone] or [phone]");
        assert_eq!(mask_pii("ring 4155550100"), "ring [phone]");
    }

    #[test]
    fn the_log_writer_masks_lines_split_across_writes() {
        let mut out = Vec::new();
        {
            let mut w = MaskingWriter::new(&mut out);
            w.write_all(b"INFO customer ana.sou").unwrap();
            w.write_all(b"za@example.com wrote\nnext line 4111 1111 1111 1111").unwrap();
        }
        assert_eq!(String::from_utf8(out).unwrap(), "INFO customer [email] wrote\nnext line [card]");
    }

    #[test]
    fn masks_strings_inside_json() {
        let mut v =
            serde_json::json!({ "q": "I am a@b.co", "n": 4, "turns": [{ "text": "card 4111 1111 1111 1111" }] });
        mask_json(&mut v);
        assert_eq!(v, serde_json::json!({ "q": "I am [email]", "n": 4, "turns": [{ "text": "card [card]" }] }));
    }

    #[test]
    fn leaves_ordinary_text_and_small_numbers() {
        assert_eq!(
            mask_pii("Refunds take 5-7 business days, $4.99 shipping."),
            "Refunds take 5-7 business days, $4.99 shipping."
        );
        assert!(matches!(mask_pii("no pii here"), Cow::Borrowed(_)));
        assert_eq!(mask_pii("退款到账 5-7 天，订单号 HP-1042 已处理"), "退款到账 5-7 天，订单号 [order] 已处理");
    }
}
