//! Masking: every kind of personal data [`super::detect`] finds, replaced by its label
//! (`[email]`, `[card]`, `[iban]`, `[phone]`, `[address]`, `[order]`, `[tracking]`).

use super::detect::{Kind, mask};
use std::borrow::Cow;

/// Masks every kind of personal data (what exports and training data use).
pub fn mask_pii(text: &str) -> Cow<'_, str> {
    let masked = mask(text, &Kind::ALL);
    if masked == text { Cow::Borrowed(text) } else { Cow::Owned(masked) }
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
