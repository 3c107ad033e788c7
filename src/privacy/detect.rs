//! Finds personal data in customer text, Latin and Chinese: e-mail addresses, payment cards
//! (Luhn-checked), IBANs (mod-97-checked), phone numbers of several countries, street addresses,
//! and order and tracking numbers.
//!
//! Candidates come from patterns; checksums and digit counts then decide. Digits count as one
//! token only when no ASCII letter or digit touches them, so a number inside a Chinese sentence
//! ("电话13812345678") is found, but not a run inside a longer code.

use regex::Regex;
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::sync::OnceLock;

/// A kind of personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Email,
    Card,
    Iban,
    Phone,
    Address,
    Order,
    Tracking,
}

impl Kind {
    pub const ALL: [Kind; 7] =
        [Kind::Email, Kind::Card, Kind::Iban, Kind::Tracking, Kind::Order, Kind::Phone, Kind::Address];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Email => "email",
            Kind::Card => "card",
            Kind::Iban => "iban",
            Kind::Phone => "phone",
            Kind::Address => "address",
            Kind::Order => "order",
            Kind::Tracking => "tracking",
        }
    }

    /// What replaces it in masked text.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Email => "[email]",
            Kind::Card => "[card]",
            Kind::Iban => "[iban]",
            Kind::Phone => "[phone]",
            Kind::Address => "[address]",
            Kind::Order => "[order]",
            Kind::Tracking => "[tracking]",
        }
    }
}

/// One finding: its kind and byte range in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: Kind,
    pub range: Range<usize>,
}

struct Patterns {
    email: Regex,
    card: Regex,
    iban: Regex,
    phone: Vec<Regex>,
    address: Vec<Regex>,
    address_lead: Regex,
    order: Regex,
    /// What may follow an order number to name another ("and 55672", "、1002"), anchored.
    order_more: Regex,
    order_code: Regex,
    month_year: Regex,
    tracking: Regex,
    /// A carrier's name, a few words, then its number ("DHL says 1234567890"): the number alone.
    tracking_carrier: Regex,
    /// A local number without its area code (555-0123), only right after a word for a phone.
    phone_local: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        // Literal patterns, checked by the tests: a failure here is a programming error.
        #[allow(clippy::expect_used)]
        let re = |p: &str| Regex::new(p).expect("valid PII pattern");
        // A tracking number after its lead-in: one token, or digits in groups ("7749 1234 5678").
        let number = r"(?:[A-Z0-9]{10,30}|\d{2,6}(?: \d{2,6}){2,7})";
        // After a Chinese lead-in, a number may be spaced with its carrier's letters in front
        // (运单号是 YT 2345 6789 0123 4).
        let spaced = r"(?:[A-Z]{1,3} ?)?\d{2,6}(?: \d{1,6}){2,7}";
        let street = r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Way|Terrace|Square|Sq|Strasse|Straße)";
        Patterns {
            email: re(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"),
            card: re(r"\d(?:[ \-]?\d){12,18}"),
            iban: re(r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?"),
            phone: vec![
                // International: +country, then groups (a bracketed area code allowed).
                re(r"\+[1-9]\d{0,2}(?:[ .\-]?\(\d{1,4}\))?(?:[ .\-]?\d{1,5}){1,5}"),
                // North America: (415) 555-0100, 415-555-0100, 415.555.0100, with the country
                // code 1 in front or not (1-800-555-0123).
                re(r"(?:\b1[ .\-]?)?(?:\(\d{3}\) ?\d{3}[ .\-]\d{4}|\d{3}[.\-]\d{3}[.\-]\d{4}|\d{3} \d{3} \d{4})"),
                // Trunk prefix 0 with an area code: 020 7946 0958, 010-6552 8888, 030 1234567.
                re(r"0[1-9]\d{0,3}[ \-]\d{3,4}[ \-]?\d{3,4}"),
                // Chinese mobiles: 138 1234 5678, 138-1234-5678, 13812345678.
                re(r"1[3-9]\d[ \-]?\d{4}[ \-]?\d{4}"),
                // International with 00 dialled for the +, as in Europe and China (0044 7700
                // 900321); after the mobiles, whose middle group may start 00 (138 0013 8000).
                re(r"\b00[1-9]\d{0,2}(?:[ .\-]?\d{1,5}){1,5}"),
                // A North American number written without separators: 4155550100.
                re(r"[2-9]\d{9}"),
            ],
            address: vec![
                re(&format!(
                    r"\d{{1,6}}[A-Za-z]?,? (?:[A-Z][A-Za-z'\-]*\.? ){{1,4}}{street}\b\.?(?:,? (?:Apt|Apartment|Suite|Unit|Flat|#) ?[A-Za-z0-9\-]+)?"
                )),
                re(&format!(r"(?:[A-Z][a-zäöü]+){street}\.? \d{{1,5}}[a-z]?")),
                re(r"(?:\p{Han}{1,8}(?:省|市|区|县|镇))*\p{Han}{1,10}(?:路|街|大道|巷|道|弄) ?\d{1,5} ?号(?: ?\d{1,5} ?(?:栋|幢|楼|单元|室|号楼))*"),
            ],
            address_lead: re(r"^(?:我家?住在|我家在|我住|住在|家住|地址是|地址为|地址|寄到|送到|发到|在)"),
            order: re(
                r"(?i)[A-Z]{2,4}[-–—‐]\d{4,}|order\s*(?:(?:no\.?|number|id|#)\s*(?:is\s*)?[:#]?|[:：])\s*#?\s*(?:[A-Z]{2,4}[ \-–—‐]?)?\d{4,}|order\s+\d{5,}|order\s+(?-i:[A-Z]{2,4})[ \-–—‐]\d{4,}|订单号?\s*[:：]?\s*\d{4,}",
            ),
            // The word before a code with its own letters ("order HP 20567", not "order ID
            // 300987"): the finding starts at the code.
            order_code: re(r"^(?i:order)\s+(?P<code>(?-i:[A-Z]{2,4})[ \-–—‐]?\d)"),
            month_year: re(r"^(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[-–—‐](?:19|20)\d{2}$"),
            order_more: re(r"^(?i:\s*(?:,|and|&|or|plus|/|、|和|及|与)\s*(?:#\s*)?)(?P<n>(?:[A-Z]{2,4}[-–—‐]?)?\d{4,})"),
            tracking: re(&format!(
                r"1Z(?:[ \-]?[0-9A-Z]){{16}}|(?:SF|JDV?|YT|JT|ZTO)\d{{10,16}}|[A-Z]{{2}}\d{{9}}[A-Z]{{2}}|9[2-5]\d{{2}}(?: ?\d{{4}}){{4}} ?\d{{2}}|(?i:tracking\s*(?:number|no\.?|#|code)?\s*(?:(?:is|says|shows|reads)\s*)?[:#]?\s*){number}|(?:运单号?|快递单号|物流单号|单号)\s*[:：]?\s*(?:是|为)?\s*(?:{spaced}|[A-Z0-9]{{8,30}})"
            )),
            phone_local: re(
                r"(?i:\b(?:phone|cell|mobile|tel|telephone|call|ring|text me|reach me)\b[^\d\n]{0,25})(?P<n>\d{3}[ .\-]\d{4})",
            ),
            // Chinese carriers have no word boundary to stand on (我的中通快递7531...).
            tracking_carrier: re(&format!(
                r"(?:(?i:\b(?:ups|usps|fedex|dhl|royal mail|dpd|gls|tnt|ems)\b(?:\s+(?:says|said|shows|tracking|number|no\.?|ref\.?|reference|code|is))*)|(?:顺丰|中通|圆通|申通|韵达|极兔|百世|京东|邮政|德邦)(?:快递|速运|速递|物流)?(?:单号|运单号|快递单号)?)\s*[:#：]?\s*(?P<id>{number})"
            )),
        }
    })
}

/// No ASCII letter or digit right before `start` or right after `end`.
fn bounded(text: &str, r: &Range<usize>) -> bool {
    let before = text[..r.start].chars().next_back();
    let after = text[r.end..].chars().next();
    !before.is_some_and(|c| c.is_ascii_alphanumeric()) && !after.is_some_and(|c| c.is_ascii_alphanumeric())
}

fn digits(s: &str) -> Vec<u32> {
    s.chars().filter_map(|c| c.to_digit(10)).collect()
}

/// The Luhn checksum of payment cards.
pub fn luhn(number: &str) -> bool {
    let d = digits(number);
    if d.len() < 2 {
        return false;
    }
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| if i % 2 == 1 { if x * 2 > 9 { x * 2 - 9 } else { x * 2 } } else { x })
        .sum();
    sum.is_multiple_of(10)
}

/// The ISO 13616 check of an IBAN (spaces ignored).
pub fn iban_valid(iban: &str) -> bool {
    let s: String = iban.chars().filter(|c| !c.is_whitespace()).collect();
    if !(15..=34).contains(&s.len()) || !s.is_char_boundary(4) {
        return false;
    }
    let (head, tail) = s.split_at(4);
    let mut rem: u64 = 0;
    for c in tail.chars().chain(head.chars()) {
        let v = match c {
            '0'..='9' => u64::from(c as u8 - b'0'),
            'A'..='Z' => u64::from(c as u8 - b'A') + 10,
            _ => return false,
        };
        rem = if v >= 10 { (rem * 100 + v) % 97 } else { (rem * 10 + v) % 97 };
    }
    rem == 1
}

/// Finds the personal data of the given kinds, in text order, without overlaps (the kinds
/// earlier in [`Kind::ALL`] win a contested span: a card is not also a phone).
pub fn find(text: &str, kinds: &[Kind]) -> Vec<Finding> {
    let p = patterns();
    let mut found: Vec<Finding> = Vec::new();
    let add = |kind: Kind, range: Range<usize>, found: &mut Vec<Finding>| {
        if !found.iter().any(|f| f.range.start < range.end && range.start < f.range.end) {
            found.push(Finding { kind, range });
        }
    };
    for kind in Kind::ALL.into_iter().filter(|k| kinds.contains(k)) {
        match kind {
            Kind::Email => {
                for m in p.email.find_iter(text) {
                    add(kind, m.range(), &mut found);
                }
            }
            Kind::Card => {
                for m in p.card.find_iter(text).filter(|m| bounded(text, &m.range())) {
                    // "+86 138 ..." is a phone number, whatever its checksum.
                    if luhn(m.as_str()) && !text[..m.start()].ends_with('+') {
                        add(kind, m.range(), &mut found);
                    }
                }
            }
            Kind::Iban => {
                for m in p.iban.find_iter(text).filter(|m| bounded(text, &m.range())) {
                    if iban_valid(m.as_str()) {
                        add(kind, m.range(), &mut found);
                    }
                }
            }
            Kind::Phone => {
                for re in &p.phone {
                    for m in re.find_iter(text).filter(|m| bounded(text, &m.range())) {
                        let n = digits(m.as_str()).len();
                        let no_date = !looks_like_date(m.as_str());
                        if (8..=15).contains(&n) && no_date {
                            add(kind, m.range(), &mut found);
                        }
                    }
                }
                for c in p.phone_local.captures_iter(text) {
                    if let Some(n) = c.name("n").filter(|n| bounded(text, &n.range())) {
                        add(kind, n.range(), &mut found);
                    }
                }
            }
            Kind::Address => {
                for re in &p.address {
                    for m in re.find_iter(text) {
                        let lead = p.address_lead.find(m.as_str()).map_or(0, |l| l.end());
                        let r = m.start() + lead..m.end();
                        if !r.is_empty() {
                            add(kind, r, &mut found);
                        }
                    }
                }
            }
            Kind::Order => {
                for m in p.order.find_iter(text).filter(|m| bounded(text, &m.range())) {
                    // "order HP-20417", "order HP 20567": the finding is the code, not the word.
                    let code = p.order_code.captures(m.as_str()).and_then(|c| c.name("code"));
                    // "order USD 1299" is an amount, "Nov-2026" a month.
                    let rest = code.map_or("", |c| &m.as_str()[c.start()..]);
                    if ["USD ", "EUR ", "GBP ", "CNY ", "RMB "].iter().any(|cur| rest.starts_with(cur))
                        || p.month_year.is_match(m.as_str())
                    {
                        continue;
                    }
                    let code_at = code.filter(|c| !["ID", "NO", "NR"].iter().any(|w| c.as_str().starts_with(w)));
                    let code_at = code_at.map_or(0, |c| c.start());
                    add(kind, m.start() + code_at..m.end(), &mut found);
                    // "orders 55671 and 55672", "订单号 1001、1002": the numbers that follow the
                    // first, when they have its shape (letters or not, about as many digits).
                    let shape = |code: &str| (code.chars().any(|c| c.is_ascii_alphabetic()), digits(code).len());
                    let code = m.as_str().rsplit(|c: char| c.is_whitespace() || "#:：".contains(c)).next();
                    let first = shape(code.unwrap_or(""));
                    let mut end = m.end();
                    while let Some(n) = p.order_more.captures(&text[end..]).and_then(|c| c.name("n")) {
                        let r = end + n.start()..end + n.end();
                        let next = shape(n.as_str());
                        if !bounded(text, &r) || next.0 != first.0 || next.1.abs_diff(first.1) > 1 {
                            break;
                        }
                        add(kind, r.clone(), &mut found);
                        end = r.end;
                    }
                }
            }
            Kind::Tracking => {
                // A tracking number has digits: at least eight of them.
                // 单号 on its own is a tracking number's lead-in, 订单号 an order's.
                // A Chinese lead-in may follow the carrier's Latin name (EMS单号 EA...).
                let numbered = |r: &Range<usize>| {
                    let cjk_lead = text[r.clone()].starts_with(['运', '快', '物', '单']);
                    let end_bounded = !text[r.end..].starts_with(|c: char| c.is_ascii_alphanumeric());
                    (bounded(text, r) || (cjk_lead && end_bounded))
                        && digits(&text[r.clone()]).len() >= 8
                        && !(text[r.clone()].starts_with("单号") && text[..r.start].ends_with('订'))
                };
                for m in p.tracking.find_iter(text).filter(|m| numbered(&m.range())) {
                    add(kind, m.range(), &mut found);
                }
                for c in p.tracking_carrier.captures_iter(text) {
                    if let Some(id) = c.name("id").filter(|id| numbered(&id.range())) {
                        add(kind, id.range(), &mut found);
                    }
                }
            }
        }
    }
    found.sort_by_key(|f| f.range.start);
    found
}

/// 2026-12-02, 02.12.2026, 12/02/2026: dates, not phone numbers.
fn looks_like_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split(['-', '.', '/', ' ']).collect();
    parts.len() == 3
        && parts.iter().all(|p| p.chars().all(|c| c.is_ascii_digit()))
        && parts.iter().any(|p| p.len() == 4)
        && parts.iter().filter(|p| p.len() <= 2).count() == 2
}

/// Replaces each finding by its kind's label.
pub fn mask(text: &str, kinds: &[Kind]) -> String {
    replace(text, &find(text, kinds))
}

/// `text` with each finding (in text order, not overlapping) replaced by its kind's label.
pub fn replace(text: &str, findings: &[Finding]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in findings {
        out.push_str(&text[at..f.range.start]);
        out.push_str(f.kind.label());
        at = f.range.end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Kind, &str)> {
        find(text, &Kind::ALL).into_iter().map(|f| (f.kind, &text[f.range])).collect()
    }

    #[test]
    fn cards_must_pass_luhn_in_any_grouping() {
        assert_eq!(kinds("card 4111 1111 1111 1111 ok"), [(Kind::Card, "4111 1111 1111 1111")]);
        assert_eq!(kinds("card 4111-1111-1111-1111."), [(Kind::Card, "4111-1111-1111-1111")]);
        assert_eq!(kinds("amex 378282246310005"), [(Kind::Card, "378282246310005")]);
        assert!(kinds("ref 4111 1111 1111 1112").is_empty(), "fails Luhn");
        assert!(luhn("79927398713") && !luhn("79927398710"));
    }

    #[test]
    fn ibans_must_pass_mod_97() {
        assert_eq!(kinds("IBAN GB82 WEST 1234 5698 7654 32 please"), [(Kind::Iban, "GB82 WEST 1234 5698 7654 32")]);
        assert_eq!(kinds("DE89370400440532013000"), [(Kind::Iban, "DE89370400440532013000")]);
        assert!(kinds("GB83 WEST 1234 5698 7654 32").iter().all(|(k, _)| *k != Kind::Iban));
    }

    #[test]
    fn phones_of_several_countries_and_not_dates_or_prices() {
        for (text, phone) in [
            ("call +1 (415) 555-0100 now", "+1 (415) 555-0100"),
            ("ring (415) 555-0100", "(415) 555-0100"),
            ("UK 020 7946 0958.", "020 7946 0958"),
            ("+44 20 7946 0958", "+44 20 7946 0958"),
            ("+49 30 1234567", "+49 30 1234567"),
            ("电话13812345678谢谢", "13812345678"),
            ("手机 138-1234-5678", "138-1234-5678"),
            ("+86 138 1234 5678", "+86 138 1234 5678"),
            ("北京 010-6552 8888", "010-6552 8888"),
            ("Call 1-800-555-0123 after 5", "1-800-555-0123"),
            ("or 1 (800) 555-0199", "1 (800) 555-0199"),
            ("my phone number changed to 555-0123", "555-0123"),
        ] {
            assert_eq!(kinds(text), [(Kind::Phone, phone)], "{text}");
        }
        for text in ["on 2026-12-02", "refunds take 5-7 days", "$1,299.00 total", "model AH-200", "12/02/2026"] {
            assert!(kinds(text).is_empty(), "{text}: {:?}", kinds(text));
        }
    }

    #[test]
    fn emails_addresses_orders_and_tracking() {
        assert_eq!(kinds("<ana.souza+shop@example.co.uk>"), [(Kind::Email, "ana.souza+shop@example.co.uk")]);
        assert_eq!(kinds("ship to 221B Baker Street, Apt 4 please"), [(Kind::Address, "221B Baker Street, Apt 4")]);
        assert_eq!(kinds("I live at 1600 Pennsylvania Ave."), [(Kind::Address, "1600 Pennsylvania Ave.")]);
        assert_eq!(kinds("我住在北京市朝阳区建国路88号3栋"), [(Kind::Address, "北京市朝阳区建国路88号3栋")]);
        assert_eq!(kinds("order HP-20417 arrived"), [(Kind::Order, "HP-20417")]);
        assert_eq!(kinds("order HP 20567 arrived"), [(Kind::Order, "HP 20567")]);
        assert!(kinds("my order USD 1299 was charged twice").is_empty(), "an amount");
        assert!(kinds("placed 30-Nov-2026").is_empty(), "a month and year");
        assert_eq!(kinds("EMS单号 EA123456789CN"), [(Kind::Tracking, "单号 EA123456789CN")]);
        assert_eq!(kinds("order id 300987 was charged"), [(Kind::Order, "order id 300987")]);
        assert_eq!(kinds("order: #100234 is late"), [(Kind::Order, "order: #100234")]);
        assert_eq!(kinds("运单 SF1234567890123 没更新"), [(Kind::Tracking, "运单 SF1234567890123")]);
        assert_eq!(kinds("中通快递 75312345678901 没动"), [(Kind::Tracking, "75312345678901")]);
        assert_eq!(kinds("我的顺丰12345678901234到了吗"), [(Kind::Tracking, "12345678901234")]);
        assert_eq!(
            kinds("Order 778812 and 778813 were both charged"),
            [(Kind::Order, "Order 778812"), (Kind::Order, "778813")]
        );
        assert_eq!(
            kinds("订单号 20261201、20261202 都没到"),
            [(Kind::Order, "订单号 20261201"), (Kind::Order, "20261202")]
        );
        // Another shape is not another order: a year, a price, a code of letters.
        assert_eq!(kinds("order 778812 and 2026 was a bad year"), [(Kind::Order, "order 778812")]);
        assert_eq!(kinds("order HP-20417 and 1234 more"), [(Kind::Order, "HP-20417")]);
        assert_eq!(kinds("my order #88231 is late"), [(Kind::Order, "order #88231")]);
        assert_eq!(kinds("order #HP20555 came"), [(Kind::Order, "order #HP20555")]);
        assert_eq!(kinds("my order number is 100234"), [(Kind::Order, "order number is 100234")]);
        assert_eq!(kinds("单号 JT5012345678901"), [(Kind::Tracking, "单号 JT5012345678901")]);
        assert_eq!(kinds("订单号 20261201"), [(Kind::Order, "订单号 20261201")]);
        assert_eq!(kinds("订单号：20417 未到"), [(Kind::Order, "订单号：20417")]);
        assert_eq!(kinds("UPS 1Z999AA10123456784"), [(Kind::Tracking, "1Z999AA10123456784")]);
        assert_eq!(kinds("tracking number: JD0123456789"), [(Kind::Tracking, "tracking number: JD0123456789")]);
        assert_eq!(kinds("USPS 9400 1000 0000 0000 0000 00"), [(Kind::Tracking, "9400 1000 0000 0000 0000 00")]);
        assert_eq!(kinds("tracking no: 7749 1234 5678 ok"), [(Kind::Tracking, "tracking no: 7749 1234 5678")]);
        assert_eq!(kinds("DHL says 1234567890 arrived"), [(Kind::Tracking, "1234567890")]);
        assert_eq!(kinds("Royal Mail ref AB123456789GB"), [(Kind::Tracking, "AB123456789GB")]);
        assert!(kinds("DHL says DELIVERED TODAY").is_empty(), "a carrier's number has digits");
        assert!(kinds("Refunds take 5-7 business days, $4.99 shipping.").is_empty());
    }

    #[test]
    fn masking_replaces_only_the_kinds_asked_for() {
        let t = "Ana (ana@example.com, +1 415 555 0100) order HP-20417";
        assert_eq!(mask(t, &Kind::ALL), "Ana ([email], [phone]) order [order]");
        assert_eq!(mask(t, &[Kind::Email]), "Ana ([email], +1 415 555 0100) order HP-20417");
    }
}
