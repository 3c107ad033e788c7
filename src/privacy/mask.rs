//! The minimal PII masker: e-mail addresses, card-like digit runs, phone numbers and order
//! numbers are replaced by `[email]`, `[card]`, `[phone]` and `[order]`.
//!
//! This is deliberately small and conservative (it masks too much rather than too little for
//! digits); it does not find names or street addresses. The privacy issue extends it; callers
//! should only depend on [`mask_pii`] taking text and returning masked text.

use regex::Regex;
use std::borrow::Cow;
use std::sync::OnceLock;

struct Rules {
    email: Regex,
    card: Regex,
    order: Regex,
    phone: Regex,
}

fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| {
        // The patterns are literals checked by the tests; a failure here is a programming error.
        #[allow(clippy::expect_used)]
        let re = |p: &str| Regex::new(p).expect("valid PII pattern");
        Rules {
            email: re(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"),
            // 13-19 digits, optionally grouped by spaces or dashes (payment cards).
            card: re(r"\b\d(?:[ \-]?\d){12,18}\b"),
            // Order references: letters-digits codes (HP-20417, ORD-1234) and "order #1234".
            order: re(r"(?i)\b(?:[A-Z]{2,4}-\d{4,}|order\s*(?:no\.?|number|#)?\s*#?\d{4,})\b"),
            // International or local phone numbers: 7+ digits with separators, optional +country.
            phone: re(r"(?:\+\d{1,3}[ \-.]?)?(?:\(\d{1,4}\)[ \-.]?)?\d{2,4}(?:[ \-.]\d{2,4}){1,4}\b|\+?\b\d{7,12}\b"),
        }
    })
}

/// Masks e-mails, card numbers, order numbers and phone numbers (in that order, so a card is
/// not half-masked as a phone).
pub fn mask_pii(text: &str) -> Cow<'_, str> {
    let r = rules();
    let mut out = Cow::Borrowed(text);
    for (re, label) in [(&r.email, "[email]"), (&r.card, "[card]"), (&r.order, "[order]"), (&r.phone, "[phone]")] {
        if re.is_match(&out) {
            out = Cow::Owned(re.replace_all(&out, label).into_owned());
        }
    }
    out
}

#[cfg(test)]
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
    fn leaves_ordinary_text_and_small_numbers() {
        assert_eq!(
            mask_pii("Refunds take 5-7 business days, $4.99 shipping."),
            "Refunds take 5-7 business days, $4.99 shipping."
        );
        assert!(matches!(mask_pii("no pii here"), Cow::Borrowed(_)));
        assert_eq!(mask_pii("退款到账 5-7 天，订单号 HP-1042 已处理"), "退款到账 5-7 天，订单号 [order] 已处理");
    }
}
