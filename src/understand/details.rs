//! Key details in what a customer wrote: order and tracking numbers, emails, phones (through
//! [`crate::privacy::detect`]), amounts with their currency, product models, and dates, relative
//! ones resolved against when the message was written ("last Tuesday", "3 days ago", "昨天").

use super::calendar::{
    civil_from_days, days_from_civil, iso, month_and_day, month_before, month_of, number, ordinal, recent,
    shopping_day, valid,
};
use crate::privacy::{Kind, find};
use regex::Regex;
use std::sync::OnceLock;

pub use crate::desk::{Detail, DetailKind};

/// The KB's product list the extractor recognises (empty until [`set_products`]).
fn products() -> &'static std::sync::RwLock<Vec<crate::knowledge::Product>> {
    static P: OnceLock<std::sync::RwLock<Vec<crate::knowledge::Product>>> = OnceLock::new();
    P.get_or_init(Default::default)
}

/// Reads the product list of the KB in `dir` and installs it.
pub fn load_products(dir: &std::path::Path) {
    let list = crate::knowledge::products(&crate::knowledge::load_kb(dir));
    tracing::debug!(products = list.len(), "product list");
    set_products(list);
}

/// Installs the KB's product list (the console does when it starts and when the KB is reloaded).
pub fn set_products(list: Vec<crate::knowledge::Product>) {
    if let Ok(mut p) = products().write() {
        *p = list;
    }
}

struct Patterns {
    model: Regex,
    iso: Regex,
    us: Regex,
    dotted: Regex,
    month_day: Regex,
    day_month: Regex,
    zh_date: Regex,
    relative: Regex,
    weekday: Regex,
    weekday_range_after: Regex,
    weekday_range_before: Regex,
    future: Regex,
    zh_month_day: Regex,
    month_slash_day: Regex,
    day_of_month: Regex,
    zh_relative: Regex,
    zh_this_week: Regex,
    since: Regex,
    of_month: Regex,
    ordinal_month: Regex,
    shopping_day: Regex,
}

const WEEKDAYS: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        // Literal patterns, checked by the tests: a failure here is a programming error.
        #[allow(clippy::expect_used)]
        let re = |p: &str| Regex::new(p).expect("valid detail pattern");
        let day = "monday|tuesday|wednesday|thursday|friday|saturday|sunday";
        let month = r"(?i:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)";
        Patterns {
            model: re(r"\b[A-Z]{1,3}-\d{2,3}[A-Z]?\b"),
            // 2026-11-28, 2026/11/28, 2026.11.28: the year first.
            iso: re(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b"),
            us: re(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b"),
            // 23.11.2026: day first, as much of Europe writes it.
            dotted: re(r"\b(\d{1,2})\.(\d{1,2})\.(\d{4})\b"),
            month_day: re(&format!(r"\b({month})\.? (\d{{1,2}})(?:st|nd|rd|th)?(?:,? (\d{{4}}))?\b")),
            // 5 December, 30-Nov, 30-Nov-2026.
            day_month: re(&format!(r"\b(\d{{1,2}})(?:st|nd|rd|th)?(?: (?:of )?|-)({month})(?:(?:,? |-)(\d{{4}}))?\b")),
            zh_date: re(r"(?:(\d{4})年)?(\d{1,2})月(\d{1,2})[日号]"),
            relative: re(&format!(
                r"(?i)\b(today|earlier today|this morning|this afternoon|yesterday|last night|the day before yesterday|(?:last|this past) ({day}|mon|tues?|wed|thu(?:rs?)?|fri)|(\d{{1,2}}|a|one|two|three|four|five|six|seven) (days?|weeks?) (?:ago|back)(?: today)?)\b"
            )),
            // A weekday on its own ("since friday", "arrived Monday") is the latest one, unless a
            // word before it points ahead or is ambiguous ("next Friday", "by Monday").
            weekday: re(&format!(
                r"(?i)\b(?:(next|this coming|coming|this|by|until|till|before|every)\s+)?({day})\b"
            )),
            // "Monday to Friday", "Mon-Fri" style ranges are opening hours, not a day.
            weekday_range_after: re(&format!(r"(?i)^\s*(?:to|through|thru|till|until|-|–|and|or|&)\s*(?:{day})\b")),
            weekday_range_before: re(&format!(r"(?i)\b(?:{day})\s*(?:to|through|thru|till|until|-|–|and|or|&)\s*$")),
            // A sentence about the future ("will it come on Friday?") names no past day.
            future: re(r"(?i)\b(will|won't|gonna|going to|tomorrow|expect(?:ed)?)\b|\b\w+'ll\b"),
            // 11/29 after a word that dates it ("on 11/29", "since 11/29"): month and day, US order.
            month_slash_day: re(r"(?i)\b(?:on|since|from|dated)\s+(\d{1,2})/(\d{1,2})\b"),
            // "on the 30th": that day of this month, or the last month's if it is still ahead.
            // It needs a word that dates it before, and no noun after ("on the 2nd floor").
            // "Monday the 23rd": the weekday only describes the day.
            day_of_month: re(&format!(
                r"(?i)\b(?:(by|until|till|before)|on|since|from|after|{day}),?\s+(?P<date>the (\d{{1,2}})(?:st|nd|rd|th))\b(?:\s+(\p{{L}}+))?"
            )),
            // 上个月15号 (last month), 这个月3号 / 本月3号 (this month).
            zh_month_day: re(r"(上个?月|这个月|本月)(\d{1,2})[号日]"),
            // N天前 and N周前 / N个星期前 / N个礼拜前, N in digits or Chinese numerals (两天前).
            zh_relative: re(
                r"今天|今早|昨天|昨晚|大前天|前天|(?:上周|上星期|上个星期|上礼拜|上个礼拜)([一二三四五六日天])|([\d一二两三四五六七八九十]{1,3})(?:(天)|个?(?:周|星期|礼拜))前",
            ),
            // 本周一, 这周二, 这个星期三: that day of this week.
            zh_this_week: re(r"(?:本周|这周|这个星期|这星期|本星期|这个礼拜|这礼拜)([一二三四五六日天])"),
            // "it's been 10 days since I ordered": the day it happened, N days before today.
            since: re(
                r"(?i)\b(?:been|it's|it is)\s+(?:about\s+|almost\s+|over\s+|nearly\s+)?(?P<n>\d{1,2}|a|one|two|three|four|five|six|seven|eight|nine|ten) (?P<unit>days?|weeks?) since\b",
            ),
            of_month: re(r"^(?i)\s+of\s+(last|this)\s+month\b"),
            // "the first of December": the day in words.
            ordinal_month: re(&format!(
                r"(?i)\b(?:the\s+)?(?P<day>(?:twenty|thirty)[\s-]?(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|thirtieth)\s+of\s+(?P<month>{month})(?:,? (?P<year>\d{{4}}))?\b"
            )),
            // Black Friday, 双十一: days customers name instead of a date, unless they look ahead.
            shopping_day: re(
                r"(?i)(?:\b(?P<ahead>by|until|till|before|next|this coming)\s+)?(?P<name>\bblack friday\b|\bcyber monday\b|双十一|双11|双十二|双12)",
            ),
        }
    })
}

/// A found detail's value as it is compared and shown: an order or tracking number without its
/// lead-in words ("order #", "快递单号：") or spaces, in capitals; an e-mail address in lower case;
/// a phone number as its digits (and a leading `+`).
fn normalised(kind: DetailKind, found: &str) -> String {
    static LEAD: OnceLock<Regex> = OnceLock::new();
    #[allow(clippy::expect_used)]
    let lead = LEAD.get_or_init(|| {
        Regex::new(r"^(?i:tracking\s*(?:number|no\.?|#|code)?\s*(?:(?:is|says|shows|reads)\s*)?|order\s*(?:no\.?|number|id)?\s*(?:is\s*)?|订单号?|运单号?|快递单号|物流单号|单号)\s*[:：#]?\s*(?:是|为)?\s*#?\s*")
            .expect("valid lead-in pattern")
    });
    match kind {
        DetailKind::Order | DetailKind::Tracking => {
            let raw = lead.find(found).map_or(found, |m| &found[m.end()..]).trim();
            // "HP 20567": the space stood for the dash.
            if kind == DetailKind::Order
                && let Some((letters, number)) = raw.split_once(char::is_whitespace)
                && letters.chars().all(|c| c.is_ascii_alphabetic())
                && number.trim().chars().all(|c| c.is_ascii_digit())
            {
                return format!("{letters}-{}", number.trim()).to_uppercase();
            }
            // An order's dash is part of its number (any dash a mail client typed: HP–20123); a
            // tracking number's dashes and spaces only group it (1Z-999-AA1-...).
            let code: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
            let code = if kind == DetailKind::Tracking {
                code.replace('-', "")
            } else {
                code.replace(['–', '—', '‐'], "-")
            };
            code.to_uppercase()
        }
        DetailKind::Email => found.to_lowercase(),
        DetailKind::Phone => {
            // 00 dialled before a country code is the + of the international format; a trunk
            // 0 in brackets after it is not dialled from abroad (+44 (0)20 ...).
            let found = found.trim_start();
            let without_trunk = found.replacen("(0)", "", 1);
            let found = if found.starts_with(['+', '0']) { without_trunk.as_str() } else { found };
            let digits: String = found.chars().filter(char::is_ascii_digit).collect();
            match digits.strip_prefix("00") {
                Some(rest) if found.starts_with("00") => format!("+{rest}"),
                _ if found.starts_with('+') => format!("+{digits}"),
                _ => digits,
            }
        }
        _ => found.to_owned(),
    }
}

/// A Chinese weekday's number (一 = 0 for Monday, 日 or 天 = 6 for Sunday).
fn zh_weekday(w: &str) -> i64 {
    "一二三四五六日".chars().position(|x| w.starts_with(x)).unwrap_or(6) as i64
}

/// The sentence of `text` that holds byte offset `at`.
fn sentence_around(text: &str, at: usize) -> &str {
    use unicode_segmentation::UnicodeSegmentation;
    text.split_sentence_bound_indices()
        .find(|(start, s)| (*start..start + s.len()).contains(&at))
        .map_or(text, |(_, s)| s)
}

/// Reads a matched date as days since 1970 (given today's), or refuses an impossible one.
type DateRule = fn(&regex::Captures<'_>, i64) -> Option<i64>;

/// The details in one message written at `at` (Unix milliseconds, for relative dates).
pub fn details(text: &str, at: i64) -> Vec<Detail> {
    let p = patterns();
    let today = at.div_euclid(86_400_000);
    let weekday = (today + 3).rem_euclid(7); // 1970-01-01 was a Thursday; 0 = Monday
    let mut out: Vec<(usize, Detail)> = Vec::new();
    let mut taken: Vec<std::ops::Range<usize>> = Vec::new();
    let mut push = |start: usize, end: usize, kind: DetailKind, value: String, out: &mut Vec<(usize, Detail)>| {
        if taken.iter().any(|r| r.start < end && start < r.end) {
            return;
        }
        taken.push(start..end);
        out.push((start, Detail { kind, text: text[start..end].to_owned(), value }));
    };
    for f in find(text, &[Kind::Email, Kind::Tracking, Kind::Order, Kind::Phone]) {
        let kind = match f.kind {
            Kind::Email => DetailKind::Email,
            Kind::Tracking => DetailKind::Tracking,
            Kind::Order => DetailKind::Order,
            _ => DetailKind::Phone,
        };
        let value = normalised(kind, &text[f.range.clone()]);
        push(f.range.start, f.range.end, kind, value, &mut out);
    }
    let dates: [(&Regex, DateRule); 6] = [
        (&p.iso, |c, _| {
            let (y, m, d) = (c[1].parse().ok()?, c[2].parse().ok()?, c[3].parse().ok()?);
            valid(m, d).then(|| days_from_civil(y, m, d))
        }),
        (&p.us, |c, _| {
            let (m, d) = month_and_day(c[1].parse().ok()?, c[2].parse().ok()?)?;
            Some(days_from_civil(c[3].parse().ok()?, m, d))
        }),
        (&p.dotted, |c, _| {
            let (d, m, y) = (c[1].parse().ok()?, c[2].parse().ok()?, c[3].parse().ok()?);
            valid(m, d).then(|| days_from_civil(y, m, d))
        }),
        (&p.month_day, |c, today| {
            let (m, d) = (month_of(&c[1]), c[2].parse().ok()?);
            let y = c.get(3).and_then(|y| y.as_str().parse().ok());
            valid(m, d).then(|| y.map_or_else(|| recent(today, m, d), |y| days_from_civil(y, m, d)))
        }),
        (&p.day_month, |c, today| {
            let (d, m) = (c[1].parse().ok()?, month_of(&c[2]));
            let y = c.get(3).and_then(|y| y.as_str().parse().ok());
            valid(m, d).then(|| y.map_or_else(|| recent(today, m, d), |y| days_from_civil(y, m, d)))
        }),
        (&p.zh_date, |c, today| {
            let (m, d) = (c[2].parse().ok()?, c[3].parse().ok()?);
            let y = c.get(1).and_then(|y| y.as_str().parse().ok());
            valid(m, d).then(|| y.map_or_else(|| recent(today, m, d), |y| days_from_civil(y, m, d)))
        }),
    ];
    for (re, resolve) in dates {
        for c in re.captures_iter(text) {
            let Some(m) = c.get(0) else { continue };
            if let Some(day) = resolve(&c, today) {
                push(m.start(), m.end(), DetailKind::Date, iso(day), &mut out);
            }
        }
    }
    for c in p.relative.captures_iter(text) {
        let Some(m) = c.get(0) else { continue };
        let phrase = m.as_str().to_lowercase();
        let day = if ["today", "earlier today", "this morning", "this afternoon"].contains(&phrase.as_str()) {
            today
        } else if phrase == "yesterday" || phrase == "last night" {
            today - 1
        } else if phrase == "the day before yesterday" {
            today - 2
        } else if let Some(w) = c.get(2) {
            // "last Thurs": an abbreviation names the weekday it begins ("sat" and "sun" are words).
            let target = WEEKDAYS.iter().position(|d| d.starts_with(&w.as_str().to_lowercase())).unwrap_or(0) as i64;
            let back = (weekday - target).rem_euclid(7);
            today - if back == 0 { 7 } else { back }
        } else {
            let n = c.get(3).map_or(0, |n| number(n.as_str()));
            let unit = if c.get(4).is_some_and(|u| u.as_str().starts_with("week")) { 7 } else { 1 };
            today - n * unit
        };
        push(m.start(), m.end(), DetailKind::Date, iso(day), &mut out);
    }
    for c in p.ordinal_month.captures_iter(text) {
        let (Some(m), Some(d)) = (c.get(0), c.name("day").and_then(|d| ordinal(d.as_str()))) else { continue };
        let mo = month_of(&c["month"]);
        let y = c.name("year").and_then(|y| y.as_str().parse().ok());
        if valid(mo, d) {
            push(
                m.start(),
                m.end(),
                DetailKind::Date,
                iso(y.map_or_else(|| recent(today, mo, d), |y| days_from_civil(y, mo, d))),
                &mut out,
            );
        }
    }
    for c in p.since.captures_iter(text) {
        let (Some(m), Some(n)) = (c.get(0), c.name("n")) else { continue };
        let unit = if c.name("unit").is_some_and(|u| u.as_str().to_lowercase().starts_with("week")) { 7 } else { 1 };
        push(m.start(), m.end(), DetailKind::Date, iso(today - number(n.as_str()) * unit), &mut out);
    }
    // The weekday in "Cyber Monday" is not a day of its own, even when the shopping day is
    // undated ("before Cyber Monday").
    let mut shopping_days = Vec::new();
    for c in p.shopping_day.captures_iter(text) {
        let Some(name) = c.name("name") else { continue };
        shopping_days.push(name.range());
        if c.name("ahead").is_some() || p.future.is_match(sentence_around(text, name.start())) {
            continue;
        }
        // Only as the day something happened ("ordered on Black Friday", "双十一买的"), not the
        // event itself ("双十一有什么活动", "any Black Friday deals left?").
        let before = text[..name.start()].trim_end().to_lowercase();
        let after: String = text[name.end()..].chars().take(8).collect();
        let on = ["on", "since", "from", "during", "over", "at"].iter().any(|w| {
            before.strip_suffix(w).is_some_and(|b| b.is_empty() || b.ends_with(|c: char| !c.is_alphanumeric()))
        });
        let zh = before.ends_with('在')
            || ["买", "下单", "下的单", "付", "收到", "到货", "订"].iter().any(|w| after.contains(w));
        if !(on || zh) {
            continue;
        }
        if let Some(day) = shopping_day(today, name.as_str()) {
            push(name.start(), name.end(), DetailKind::Date, iso(day), &mut out);
        }
    }
    for c in p.day_of_month.captures_iter(text) {
        let (Some(date), Some(n)) = (c.name("date"), c.get(3)) else { continue };
        let Ok(d) = n.as_str().parse::<i64>() else { continue };
        const JOINING: [&str; 12] = ["and", "but", "or", "so", "when", "then", "at", "in", "with", "i", "we", "it"];
        // "the 28th of last month", "the 3rd of this month": that month.
        let of_month = p.of_month.captures(&text[date.end()..]);
        let noun_after =
            of_month.is_none() && c.get(4).is_some_and(|w| !JOINING.contains(&w.as_str().to_lowercase().as_str()));
        let ahead = c.get(1).is_some() || p.future.is_match(sentence_around(text, date.start()));
        if ahead || noun_after || !(1..=31).contains(&d) {
            continue;
        }
        let (y, mo, day) = civil_from_days(today);
        let (y, mo) = match &of_month {
            Some(m) if m[1].eq_ignore_ascii_case("last") => month_before(y, mo),
            Some(_) => (y, mo),
            None if d <= day => (y, mo),
            None => month_before(y, mo),
        };
        let end = date.end() + of_month.as_ref().and_then(|m| m.get(0)).map_or(0, |m| m.end());
        push(date.start(), end, DetailKind::Date, iso(days_from_civil(y, mo, d)), &mut out);
    }
    for c in p.weekday.captures_iter(text) {
        let (Some(m), Some(w)) = (c.get(0), c.get(2)) else { continue };
        let range =
            p.weekday_range_after.is_match(&text[m.end()..]) || p.weekday_range_before.is_match(&text[..m.start()]);
        let named = shopping_days.iter().any(|r| r.start < m.end() && m.start() < r.end);
        if c.get(1).is_some() || range || named || p.future.is_match(sentence_around(text, m.start())) {
            continue;
        }
        // "Tuesday 24th November", "November 24, Tuesday": the weekday belongs to that date.
        let near =
            |a: usize, b: usize| text.get(a.min(b)..a.max(b)).is_some_and(|g| g.chars().all(|c| " ,(".contains(c)));
        let next_to_a_date = out.iter().any(|(start, d)| {
            d.kind == DetailKind::Date && (near(m.end(), *start) || near(start + d.text.len(), m.start()))
        });
        if next_to_a_date {
            continue;
        }
        let target = WEEKDAYS.iter().position(|d| *d == w.as_str().to_lowercase()).unwrap_or(0) as i64;
        push(m.start(), m.end(), DetailKind::Date, iso(today - (weekday - target).rem_euclid(7)), &mut out);
    }
    for c in p.month_slash_day.captures_iter(text) {
        let (Some(m), Ok(a), Ok(b)) = (c.get(0), c[1].parse::<i64>(), c[2].parse::<i64>()) else { continue };
        if let Some((mo, d)) = month_and_day(a, b)
            && !text[m.end()..].starts_with('/')
        {
            let date = c.get(1).map_or(m.start(), |g| g.start());
            push(date, m.end(), DetailKind::Date, iso(recent(today, mo, d)), &mut out);
        }
    }
    for c in p.zh_month_day.captures_iter(text) {
        let Some(m) = c.get(0) else { continue };
        let (y, mo, _) = civil_from_days(today);
        let (y, mo) = if c[1].starts_with('上') { month_before(y, mo) } else { (y, mo) };
        let Ok(d) = c[2].parse::<i64>() else { continue };
        if valid(mo, d) {
            push(m.start(), m.end(), DetailKind::Date, iso(days_from_civil(y, mo, d)), &mut out);
        }
    }
    for c in p.zh_this_week.captures_iter(text) {
        let (Some(m), Some(w)) = (c.get(0), c.get(1)) else { continue };
        let target = zh_weekday(w.as_str());
        // A day still ahead this week is a wish, not an event.
        if target <= weekday {
            push(m.start(), m.end(), DetailKind::Date, iso(today - weekday + target), &mut out);
        }
    }
    for c in p.zh_relative.captures_iter(text) {
        let Some(m) = c.get(0) else { continue };
        let day = match m.as_str() {
            "今天" | "今早" => today,
            "昨天" | "昨晚" => today - 1,
            "前天" => today - 2,
            "大前天" => today - 3,
            _ => match (c.get(1), c.get(2)) {
                (Some(w), _) => {
                    let target = zh_weekday(w.as_str());
                    // 上周X: that weekday of the week before this one.
                    today - weekday - 7 + target
                }
                (_, Some(n)) => {
                    let Some(n) = super::amount::zh_number(n.as_str()) else { continue };
                    today - if c.get(3).is_some() { n } else { 7 * n }
                }
                _ => continue,
            },
        };
        push(m.start(), m.end(), DetailKind::Date, iso(day), &mut out);
    }
    for (range, value) in super::amount::amounts(text) {
        push(range.start, range.end, DetailKind::Amount, value, &mut out);
    }
    for m in p.model.find_iter(text) {
        push(m.start(), m.end(), DetailKind::Model, m.as_str().to_owned(), &mut out);
    }
    // Products of the KB's product list named without their model number (byte offsets of the
    // lowercased text agree with the text's when lowercasing kept its length).
    let lower = text.to_lowercase();
    if let Ok(list) = products().read()
        && lower.len() == text.len()
    {
        for product in list.iter() {
            if out.iter().any(|(_, d)| d.kind == DetailKind::Model && d.value == product.model) {
                continue;
            }
            for name in product.names() {
                let needle = name.to_lowercase();
                let Some(at) = lower.find(&needle) else { continue };
                let end = at + needle.len();
                let before = lower[..at].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
                let after = lower[end..].chars().next().is_none_or(|c| !c.is_alphanumeric());
                if before && after && text.is_char_boundary(at) && text.is_char_boundary(end) {
                    push(at, end, DetailKind::Model, product.model.clone(), &mut out);
                    break;
                }
            }
        }
    }
    out.sort_by_key(|(start, _)| *start);
    out.into_iter().map(|(_, d)| d).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_of_the_kb_are_found_by_name() {
        set_products(vec![crate::knowledge::Product { name: "Aurora 2 space heater".into(), model: "AH-200".into() }]);
        assert_eq!(got("my aurora 2 keeps clicking"), [("model", "AH-200".to_owned())]);
        assert_eq!(got("The Aurora 2 space heater (AH-200) smells"), [("model", "AH-200".to_owned())]);
        assert!(got("aurora 20 is a different thing").is_empty());
        set_products(vec![]);
    }

    /// 2026-12-02 (a Wednesday), noon UTC.
    const AT: i64 = 1_796_212_800_000;

    fn got(text: &str) -> Vec<(&'static str, String)> {
        details(text, AT).into_iter().map(|d| (d.kind.as_str(), d.value)).collect()
    }

    #[test]
    fn the_reference_day_is_a_wednesday() {
        assert_eq!(iso(AT / 86_400_000), "2026-12-02");
        assert_eq!(got("today"), [("date", "2026-12-02".to_owned())]);
    }

    #[test]
    fn dates_absolute_and_relative() {
        assert_eq!(got("ordered on 2026-11-28"), [("date", "2026-11-28".into())]);
        assert_eq!(got("ordered 11/28/2026"), [("date", "2026-11-28".into())]);
        assert_eq!(got("it came Nov 28th"), [("date", "2026-11-28".into())]);
        assert_eq!(got("on 5 December"), [("date", "2025-12-05".into())], "a day without a year is in the past");
        assert_eq!(got("yesterday"), [("date", "2026-12-01".into())]);
        assert_eq!(got("last Tuesday"), [("date", "2026-12-01".into())]);
        assert_eq!(got("last Wednesday"), [("date", "2026-11-25".into())]);
        assert_eq!(got("3 days ago"), [("date", "2026-11-29".into())]);
        assert_eq!(got("two weeks ago"), [("date", "2026-11-18".into())]);
        assert_eq!(got("delivered 2 weeks ago today"), [("date", "2026-11-18".into())]);
        assert_eq!(got("ordered last Thurs"), [("date", "2026-11-26".into())]);
        assert!(got("the chair I last sat on").is_empty());
        assert_eq!(got("我昨天收到的"), [("date", "2026-12-01".into())]);
        assert_eq!(got("上周二下的单"), [("date", "2026-11-24".into())]);
        assert_eq!(got("11月28日买的"), [("date", "2026-11-28".into())]);
        assert_eq!(got("5天前"), [("date", "2026-11-27".into())]);
        // A weekday on its own is the latest one (today's when it is today), never a future one.
        assert_eq!(got("nothing has moved since friday"), [("date", "2026-11-27".into())]);
        assert_eq!(got("It arrived Wednesday"), [("date", "2026-12-02".into())]);
        assert!(got("can it come by Friday?").is_empty());
        assert!(got("next Monday works").is_empty());
        assert!(got("will it arrive on Friday?").is_empty());
        assert!(got("I'll be home on Friday").is_empty());
        assert!(got("is the phone line open Monday to Friday").is_empty(), "a range is opening hours");
        assert!(got("you answer saturday and sunday?").is_empty());
        assert_eq!(got("it came on Tuesday 24th November"), [("date", "2026-11-24".into())]);
        assert_eq!(got("上个月15号买的"), [("date", "2026-11-15".into())]);
        assert_eq!(got("本月1号到的"), [("date", "2026-12-01".into())]);
        assert_eq!(got("the charge on 11/29 was odd"), [("date", "2026-11-29".into())]);
        assert!(got("half price: 1/2 off").is_empty());
        assert_eq!(got("it arrived on the 30th"), [("date", "2026-11-30".into())]);
        assert_eq!(got("it arrived on the 1st"), [("date", "2026-12-01".into())]);
        assert!(got("I live on the 2nd floor").is_empty());
        assert!(got("can it come by the 10th?").is_empty());
        assert!(got("I'll be away from the 10th to the 20th").is_empty());
        assert_eq!(got("ordered 3 days back"), [("date", "2026-11-29".into())]);
        assert_eq!(got("大前天收到的货"), [("date", "2026-11-29".into())]);
        assert_eq!(got("I got it on 2026/11/28"), [("date", "2026-11-28".into())]);
        assert_eq!(got("charged on 23.11.2026"), [("date", "2026-11-23".into())]);
        assert_eq!(got("the parcel came Monday the 23rd"), [("date", "2026-11-23".into())]);
        assert_eq!(got("it came this morning"), [("date", "2026-12-02".into())]);
        assert_eq!(got("charged last night"), [("date", "2026-12-01".into())]);
        assert_eq!(got("我昨晚下的单"), [("date", "2026-12-01".into())]);
        // Day first when the first number cannot be a month; month first when both can.
        assert_eq!(got("sent back on 28/11"), [("date", "2026-11-28".into())]);
        assert_eq!(got("paid 28/11/2026"), [("date", "2026-11-28".into())]);
        assert_eq!(got("since 11/28"), [("date", "2026-11-28".into())]);
        assert_eq!(got("since 11/10"), [("date", "2026-11-10".into())]);
        // Chinese numerals, and weeks.
        assert_eq!(got("两天前就显示派送中了"), [("date", "2026-11-30".into())]);
        assert_eq!(got("十天前下的单"), [("date", "2026-11-22".into())]);
        assert_eq!(got("两个礼拜前买的"), [("date", "2026-11-18".into())]);
        assert_eq!(got("1周前退的货"), [("date", "2026-11-25".into())]);
        assert_eq!(got("it's been 10 days since I ordered"), [("date", "2026-11-22".into())]);
        assert_eq!(got("been about two weeks since I wrote"), [("date", "2026-11-18".into())]);
        // Shopping days, the latest one; not when the customer looks ahead to one.
        assert_eq!(got("ordered on Black Friday"), [("date", "2026-11-27".into())]);
        assert_eq!(got("我双十一买的"), [("date", "2026-11-11".into())]);
        assert!(got("will the Black Friday price come back?").is_empty());
        assert!(got("双十一有什么活动").is_empty(), "the event, not a day something happened");
        assert!(got("any Black Friday deals left?").is_empty());
        assert!(got("can it come before Cyber Monday").is_empty());
        assert_eq!(got("charged on the first of December"), [("date", "2026-12-01".into())]);
        assert_eq!(got("the twenty-third of November"), [("date", "2026-11-23".into())]);
        assert_eq!(got("it arrived on the 28th of last month"), [("date", "2026-11-28".into())]);
        assert_eq!(got("上礼拜三下的单"), [("date", "2026-11-25".into())]);
        assert_eq!(got("本周一收到的"), [("date", "2026-11-30".into())]);
        assert!(got("这周五能到吗").is_empty(), "still ahead");
        assert_eq!(got("placed 30-Nov"), [("date", "2026-11-30".into())]);
        assert_eq!(got("placed 30-Nov-2026"), [("date", "2026-11-30".into())]);
    }

    #[test]
    fn amounts_with_their_currency() {
        assert_eq!(got("charged $1,299.00 twice"), [("amount", "USD 1299.00".into())]);
        assert_eq!(got("paid 49.99 EUR"), [("amount", "EUR 49.99".into())]);
        assert_eq!(got("退了299元"), [("amount", "CNY 299.00".into())]);
        assert_eq!(got("退我150块就行"), [("amount", "CNY 150.00".into())]);
        assert_eq!(got("花了￥1,299"), [("amount", "CNY 1299.00".into())], "the full-width yen sign");
        assert_eq!(got("RMB 88"), [("amount", "CNY 88.00".into())]);
        assert_eq!(got("£12 shipping"), [("amount", "GBP 12.00".into())]);
        assert_eq!(got("it was 2,499 yuan"), [("amount", "CNY 2499.00".into())]);
        assert_eq!(got("my 30 bucks back"), [("amount", "USD 30.00".into())]);
        assert_eq!(got("twenty quid, 20 quid"), [("amount", "GBP 20.00".into()), ("amount", "GBP 20.00".into())]);
        assert_eq!(got("usd 1,200 and eur 5"), [("amount", "USD 1200.00".into()), ("amount", "EUR 5.00".into())]);
        assert!(got("bought 2 dollarstore mugs").is_empty(), "a currency word is a whole word");
        assert_eq!(got("it cost 1.299,00 € in the end"), [("amount", "EUR 1299.00".into())]);
        assert_eq!(got("only 15€ and 2.50£"), [("amount", "EUR 15.00".into()), ("amount", "GBP 2.50".into())]);
        assert_eq!(got("a refund of two hundred and fifty dollars"), [("amount", "USD 250.00".into())]);
        assert_eq!(got("fifty bucks"), [("amount", "USD 50.00".into())]);
        assert!(got("a few dollars").is_empty());
        assert_eq!(got("paid $1.5k for it"), [("amount", "USD 1500.00".into())], "k for thousands");
        assert_eq!(got("$2K sofa"), [("amount", "USD 2000.00".into())]);
        assert_eq!(got("Paid €1.050 for the sofa"), [("amount", "EUR 1050.00".into())], "a full stop groups thousands");
        assert_eq!(got("€1.299,00 in total"), [("amount", "EUR 1299.00".into())]);
        assert_eq!(got("花了四百九十九元"), [("amount", "CNY 499.00".into())]);
        assert!(got("我们一块去").is_empty(), "一块 is 'together'");
    }

    #[test]
    fn identifiers_come_from_the_privacy_detector_and_models_are_kept_apart() {
        assert_eq!(
            got("Order HP-20386: the AH-200 heater, call 415-555-0100"),
            [("order", "HP-20386".into()), ("model", "AH-200".into()), ("phone", "4155550100".into())]
        );
        assert!(got("Refunds take 5-7 business days.").is_empty());
        // Any dash in an order number is its dash; a tracking number's dashes only group it.
        assert_eq!(got("order HP–20123 never came"), [("order", "HP-20123".into())]);
        assert_eq!(got("my tracking is 1Z-999-AA1-01-2345-6784"), [("tracking", "1Z999AA10123456784".into())]);
        assert_eq!(got("tracking says JD0098765432101"), [("tracking", "JD0098765432101".into())]);
        // 00 dialled for the +; a Chinese mobile whose middle group starts 00 is not that.
        assert_eq!(got("my mobile is 0044 7700 900 321"), [("phone", "+447700900321".into())]);
        assert_eq!(got("call me: 138 0013 8000"), [("phone", "13800138000".into())]);
        assert_eq!(got("UK office +44 (0)20 7946 0958"), [("phone", "+442079460958".into())]);
        assert_eq!(got("order HP 20567 still shows processing"), [("order", "HP-20567".into())]);
        assert_eq!(got("order number is hp 20802"), [("order", "HP-20802".into())]);
        assert_eq!(got("EMS单号 EA123456789CN 查不到"), [("tracking", "EA123456789CN".into())]);
        assert_eq!(got("运单号是 YT 2345 6789 0123 4"), [("tracking", "YT2345678901234".into())]);
    }
}
