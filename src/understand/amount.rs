//! Amounts with their currency in what a customer wrote: `$1,049.99`, `1.299,00 €`, `399块`,
//! `RMB 120`, `$1.5k`, "two hundred dollars".

use regex::Regex;
use std::ops::Range;
use std::sync::OnceLock;

struct Patterns {
    amount: Regex,
    amount_zh: Regex,
    amount_after: Regex,
    amount_words: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        // Literal patterns, checked by the tests: a failure here is a programming error.
        #[allow(clippy::expect_used)]
        let re = |p: &str| Regex::new(p).expect("valid amount pattern");
        Patterns {
            // Chinese numerals before 元 or 块: 四百九十九元, 两千块 (not 一块, "together").
            amount_zh: re(r"([零一二两三四五六七八九十百千万]{2,}|[二两三四五六七八九十])(?:元|块)"),
            amount: re(
                r"(?i)(?:(?P<sym>[$€£¥￥])\s?(?:(?P<eu>\d{1,3}(?:\.\d{3})+(?:,\d{1,2})?)|(?P<a>\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?))(?P<k>k\b)?)|(?:(?P<b>\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?)\s?(?P<code>(?:USD|EUR|GBP|CNY|RMB|dollars?|bucks?|euros?|pounds?|quid|yuan)\b|元|块))|(?:(?P<pre>RMB|CNY|USD|EUR|GBP)\s?(?P<c>\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?))",
            ),
            // A symbol after the number, as much of Europe writes it: `1.299,00 €`, `15€`.
            amount_after: re(r"(?P<n>\d{1,3}(?:\.\d{3})+(?:,\d{2})?|\d+,\d{2}|\d+(?:\.\d{1,2})?)\s?(?P<sym>[€£])"),
            // An amount in words: "two hundred dollars", "fifty bucks".
            amount_words: re(
                r"(?i)\b(?P<w>(?:(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|a|and)[\s-]+)+)(?P<code>dollars|bucks|euros|pounds|quid|yuan)\b",
            ),
        }
    })
}

/// The value of an amount written in words ("two hundred and fifty"), if every word is a number.
fn words_value(words: &str) -> Option<f64> {
    const SMALL: [&str; 20] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ];
    const TENS: [&str; 8] = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];
    let (mut total, mut group, mut any) = (0u64, 0u64, false);
    for w in words.to_lowercase().split(|c: char| c.is_whitespace() || c == '-').filter(|w| !w.is_empty()) {
        if let Some(n) = SMALL.iter().position(|s| *s == w) {
            group += n as u64;
        } else if let Some(n) = TENS.iter().position(|s| *s == w) {
            group += 20 + 10 * n as u64;
        } else if w == "hundred" {
            group = group.max(1) * 100;
        } else if w == "thousand" {
            total += group.max(1) * 1000;
            group = 0;
        } else if w == "a" {
            group += 1;
        } else if w != "and" {
            return None;
        } else {
            continue;
        }
        any = true;
    }
    any.then_some((total + group) as f64)
}

/// A number in digits or Chinese numerals (两 for 二, up to 万: 十天, 四百九十九, 两千三百).
pub(super) fn zh_number(s: &str) -> Option<i64> {
    if let Ok(n) = s.parse() {
        return Some(n);
    }
    let digit =
        |c: char| "零一二三四五六七八九".chars().position(|d| d == c).map(|i| i as i64).or((c == '两').then_some(2));
    let (mut total, mut section, mut num, mut any) = (0i64, 0i64, 0i64, false);
    for c in s.chars() {
        if let Some(d) = digit(c) {
            num = d;
        } else {
            let unit = match c {
                '十' => 10,
                '百' => 100,
                '千' => 1000,
                '万' => {
                    total += (section + num).max(1) * 10_000;
                    (section, num) = (0, 0);
                    any = true;
                    continue;
                }
                _ => return None,
            };
            // 十 alone is ten; 百 and 千 need their digit.
            let times = if num == 0 && unit == 10 { 1 } else { num };
            if times == 0 {
                return None;
            }
            section += times * unit;
            num = 0;
        }
        any = true;
    }
    any.then_some(total + section + num)
}

/// The amounts in `text`, in the order the patterns find them (symbol or code before or after
/// the number, then words), each with its byte range and value as `CUR 0.00`. They may overlap;
/// the caller keeps the first of overlapping ones.
pub(super) fn amounts(text: &str) -> Vec<(Range<usize>, String)> {
    let p = patterns();
    let mut out = Vec::new();
    for c in p.amount.captures_iter(text) {
        let Some(m) = c.get(0) else { continue };
        let (num, cur) = if let Some(sym) = c.name("sym") {
            let cur = match sym.as_str() {
                "$" => "USD",
                "€" => "EUR",
                "£" => "GBP",
                _ => "CNY",
            };
            (c.name("a").or(c.name("eu")), cur)
        } else if let Some(code) = c.name("code") {
            let cur = match code.as_str().to_lowercase().as_str() {
                "usd" | "dollar" | "dollars" | "buck" | "bucks" => "USD",
                "eur" | "euro" | "euros" => "EUR",
                "gbp" | "pound" | "pounds" | "quid" => "GBP",
                _ => "CNY",
            };
            (c.name("b"), cur)
        } else {
            let cur = match c.name("pre").map(|p| p.as_str().to_uppercase()).as_deref() {
                Some("USD") => "USD",
                Some("EUR") => "EUR",
                Some("GBP") => "GBP",
                _ => "CNY",
            };
            (c.name("c"), cur)
        };
        let Some(num) = num else { continue };
        // "$1.5k": thousands.
        let times = if c.name("k").is_some() { 1000.0 } else { 1.0 };
        // `€1.050`, `€1.299,00`: full stops group thousands, a comma is the decimal point.
        let plain = if c.name("eu").is_some() {
            num.as_str().replace('.', "").replace(',', ".")
        } else {
            num.as_str().replace(',', "")
        };
        let value: f64 = plain.parse::<f64>().unwrap_or(0.0) * times;
        out.push((m.range(), format!("{cur} {value:.2}")));
    }
    for c in p.amount_after.captures_iter(text) {
        let (Some(m), Some(n)) = (c.get(0), c.name("n")) else { continue };
        let cur = if &c["sym"] == "€" { "EUR" } else { "GBP" };
        // A comma before the last two digits is the decimal point; full stops group thousands.
        let n = n.as_str();
        let plain =
            if n.contains(',') || n.matches('.').count() > 1 || n.split('.').nth(1).is_some_and(|f| f.len() == 3) {
                n.replace('.', "").replace(',', ".")
            } else {
                n.to_owned()
            };
        let value: f64 = plain.parse().unwrap_or(0.0);
        out.push((m.range(), format!("{cur} {value:.2}")));
    }
    for c in p.amount_words.captures_iter(text) {
        let (Some(m), Some(w)) = (c.get(0), c.name("w")) else { continue };
        let Some(value) = words_value(w.as_str()).filter(|v| *v > 0.0) else { continue };
        let cur = match c["code"].to_lowercase().as_str() {
            "euros" => "EUR",
            "pounds" | "quid" => "GBP",
            "yuan" => "CNY",
            _ => "USD",
        };
        out.push((m.range(), format!("{cur} {value:.2}")));
    }
    for c in p.amount_zh.captures_iter(text) {
        let (Some(m), Some(n)) = (c.get(0), c.get(1)) else { continue };
        if let Some(v) = zh_number(n.as_str()).filter(|v| *v > 0) {
            out.push((m.range(), format!("CNY {:.2}", v as f64)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::zh_number;

    #[test]
    fn chinese_numerals() {
        let n = |s: &str| zh_number(s);
        assert_eq!((n("十"), n("十五"), n("二十"), n("两")), (Some(10), Some(15), Some(20), Some(2)));
        assert_eq!(
            (n("四百九十九"), n("两千三百"), n("一千零五"), n("三万")),
            (Some(499), Some(2300), Some(1005), Some(30_000))
        );
        assert_eq!((n("12"), n("百"), n("天")), (Some(12), None, None));
    }
}
