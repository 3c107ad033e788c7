//! How a streamed reply is laid out for the agent.

/// Layout of a reply as the agent sees it: no spaces at the start of a line, at most one blank
/// line in a row, a capital at the start of a line (a list item quoted as a line of its own:
/// "drops, cracked screens" becomes "Drops, cracked screens"), and a space between two
/// sentences quoted back to back ("2FA.An" becomes "2FA. An"). Applied to every prefix while
/// streaming: it never changes what it already returned for a shorter prefix.
pub fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let line_start = out.is_empty() || out.ends_with('\n');
        // Chinese sets no space after its full-width stops ("…通知您。 仓库…").
        let after_cjk_stop = out.ends_with(['。', '！', '？', '；', '，', '：']);
        if (c == ' ' && (line_start || after_cjk_stop)) || (c == '\n' && (out.is_empty() || out.ends_with("\n\n"))) {
            continue;
        }
        if c.is_ascii_uppercase() && sentence_just_ended(&out) {
            out.push(' ');
        }
        out.push(if line_start { c.to_ascii_uppercase() } else { c });
    }
    out
}

/// Does `out` end with a word and a full stop (or ! or ?) with no space after it?
fn sentence_just_ended(out: &str) -> bool {
    let mut tail = out.chars().rev();
    matches!(tail.next(), Some('.' | '!' | '?'))
        && tail.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && tail.next().is_some_and(|c| c.is_ascii_alphanumeric())
}

/// Whether `reply` holds every one of `sentences` whole (their final stop aside).
pub fn holds_all(reply: &str, sentences: &[String]) -> bool {
    sentences.iter().all(|c| reply.contains(c.trim().trim_end_matches(['.', '。', '!', '！', '?', '？'])))
}

/// What a Chinese reply ends with when the drafter closes it.
pub const ZH_CLOSING: &str = "还有什么可以帮您的吗？";

/// What an English reply ends with when the drafter closes it.
pub const EN_CLOSING: &str = "Is there anything else I can help you with?";

/// Keeps a Chinese reply Chinese while it streams. The network learned its closings mostly from
/// English replies, so after the quoted (Chinese) facts it sometimes writes "Is there anything
/// else I can help you with?". Text is released a sentence at a time; a sentence with Latin
/// letters and no Chinese is dropped, a quote cut at a "；" before a line break ends with "。",
/// and when the last sentence was dropped the reply closes with [`ZH_CLOSING`].
#[derive(Debug, Default)]
pub struct ChineseOnly {
    /// Network text not yet released (an unfinished sentence).
    held: String,
    /// What has been released.
    out: String,
    /// Whether the last sentence with words in it was dropped.
    dropped_last: bool,
}

/// Whether `held` is a finished sentence, seen when the next word starts: after a Chinese or
/// final stop, a line break, or a full stop followed by a space (not "$4.99").
fn ends_segment(held: &str) -> bool {
    let t = held.trim_end_matches([' ', '\t']);
    match t.chars().last() {
        Some('。' | '！' | '？' | '!' | '?' | '\n') => true,
        Some('.') => t.len() < held.len(),
        _ => false,
    }
}

impl ChineseOnly {
    /// Takes the next piece of the network's text; returns what may be shown now.
    pub fn push(&mut self, piece: &str) -> String {
        let mut released = String::new();
        for c in piece.chars() {
            if !c.is_whitespace() && !self.held.is_empty() && ends_segment(&self.held) {
                released.push_str(&self.release());
            }
            self.held.push(c);
            if matches!(c, '。' | '！' | '？' | '\n') {
                released.push_str(&self.release());
            }
        }
        released
    }

    /// The rest, at the end of the reply.
    pub fn finish(&mut self) -> String {
        let mut released = self.release();
        if self.dropped_last {
            let text = format!("{}{released}", self.out);
            let gap = if text.trim_end().is_empty() || !text.contains('\n') { "" } else { "\n\n" };
            let tail = text.len() - text.trim_end().len();
            // Trailing whitespace already shown stays; the closing follows it.
            let closing = if tail > 0 || gap.is_empty() { ZH_CLOSING.to_owned() } else { format!("{gap}{ZH_CLOSING}") };
            released.push_str(&closing);
            self.out.push_str(&closing);
            self.dropped_last = false;
        }
        released
    }

    /// Everything released so far.
    pub fn text(&self) -> &str {
        &self.out
    }

    fn release(&mut self) -> String {
        let mut seg = std::mem::take(&mut self.held);
        if seg.trim().is_empty() {
            self.out.push_str(&seg);
            return seg;
        }
        let latin = seg.chars().any(|c| c.is_ascii_alphabetic());
        if latin && !crate::text::has_cjk(&seg) {
            self.dropped_last = true;
            // Keep the line break that ended it, so the layout stays the same.
            let kept: String = seg.chars().filter(|&c| c == '\n').collect();
            self.out.push_str(&kept);
            return kept;
        }
        self.dropped_last = false;
        let body = seg.trim_end_matches('\n');
        if body.ends_with(['；', ';']) && seg.ends_with('\n') {
            let cut = body.len() - body.chars().last().map_or(0, char::len_utf8);
            seg = format!("{}。{}", &body[..cut], &seg[body.len()..]);
        }
        self.out.push_str(&seg);
        seg
    }
}

/// Whether the reply stops after a comma on its current line, inside a sentence. A comma ends a
/// clause only on its own line: after "Sure thing,\n\n" the body has begun (until this, a
/// follow-up's body could open with the closing line, "Is there anything else...").
pub(crate) fn after_comma(reply: &str) -> bool {
    reply.trim_end_matches([' ', '\t']).ends_with([',', '，'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comma_ends_a_clause_only_on_its_own_line() {
        assert!(after_comma("Sure, ") && after_comma("好的，"));
        assert!(!after_comma("Sure thing,\n\n") && !after_comma("Done."));
    }

    fn run(pieces: &[&str]) -> String {
        let mut g = ChineseOnly::default();
        let mut shown: String = pieces.iter().map(|p| g.push(p)).collect();
        shown.push_str(&g.finish());
        assert_eq!(shown, g.text(), "what streamed is what the reply holds");
        shown
    }

    #[test]
    fn a_reply_holds_its_chosen_sentences_whole() {
        let chosen =
            vec!["Report damage within 14 days of delivery.".to_owned(), "退款会在 5 个工作日内到账。".to_owned()];
        assert!(holds_all("Hi! Report damage within 14 days of delivery 退款会在 5 个工作日内到账。", &chosen));
        assert!(!holds_all("Report damage within 14 days", &chosen));
    }

    #[test]
    fn an_english_closing_leaves_a_chinese_reply() {
        let out = run(&["退货期限为 ", "30 天；", "\n\n", "Is there anything ", "else I can help you with?"]);
        assert_eq!(out, "退货期限为 30 天。\n\n还有什么可以帮您的吗？");
    }

    #[test]
    fn chinese_sentences_with_menu_paths_and_prices_stay() {
        let text = "请在 Account > Orders「账户 > 订单」中查看。标准配送运费 $4.99，满 $50 免运费。";
        assert_eq!(run(&[text]), text);
        let split: Vec<String> = text.chars().map(String::from).collect();
        let pieces: Vec<&str> = split.iter().map(String::as_str).collect();
        assert_eq!(run(&pieces), text);
    }

    #[test]
    fn an_english_sentence_in_the_middle_is_dropped_without_a_new_closing() {
        let out = run(&[
            "退款会在 5 个工作日内到账。",
            "You can find more details in our help centre. ",
            "还有问题请告诉我。",
        ]);
        assert_eq!(out, "退款会在 5 个工作日内到账。还有问题请告诉我。");
    }
}
