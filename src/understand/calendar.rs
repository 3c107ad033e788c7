//! Calendar arithmetic for the dates customers write: civil dates to and from days since
//! 1970-01-01 (proleptic Gregorian), and the date a day without a year means.

const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
pub(super) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(super) fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

pub(super) fn iso(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

pub(super) fn valid(m: i64, d: i64) -> bool {
    (1..=12).contains(&m) && (1..=31).contains(&d)
}

/// Month and day of a slashed date `a/b`: month first, as the US writes it, unless `a` cannot
/// be a month and `b` can ("28/11" is the 28th of November).
pub(super) fn month_and_day(a: i64, b: i64) -> Option<(i64, i64)> {
    if valid(a, b) {
        Some((a, b))
    } else if valid(b, a) {
        Some((b, a))
    } else {
        None
    }
}

/// A date without a year: the latest such day not after `today` (customers write about the past).
pub(super) fn recent(today: i64, m: i64, d: i64) -> i64 {
    let (y, _, _) = civil_from_days(today);
    let this = days_from_civil(y, m, d);
    if this <= today { this } else { days_from_civil(y - 1, m, d) }
}

pub(super) fn month_of(name: &str) -> i64 {
    let n = name.to_lowercase();
    MONTHS.iter().position(|m| n.starts_with(m)).map_or(1, |i| i as i64 + 1)
}

/// The year and month before month `mo` of year `y`.
pub(super) fn month_before(y: i64, mo: i64) -> (i64, i64) {
    if mo == 1 { (y - 1, 12) } else { (y, mo - 1) }
}

/// The shopping days customers name instead of a date (Black Friday, Cyber Monday, 双十一 and
/// 双十二): the latest one not after `today`. `None` for any other phrase.
pub(super) fn shopping_day(today: i64, phrase: &str) -> Option<i64> {
    let (y, _, _) = civil_from_days(today);
    // Black Friday: the day after the fourth Thursday of November (0 = Monday, 3 = Thursday).
    let black_friday = |y: i64| {
        let first = days_from_civil(y, 11, 1);
        let to_thursday = (3 - (first + 3).rem_euclid(7)).rem_euclid(7);
        first + to_thursday + 21 + 1
    };
    let latest = |day_in: &dyn Fn(i64) -> i64| if day_in(y) <= today { day_in(y) } else { day_in(y - 1) };
    match phrase.to_lowercase().as_str() {
        "black friday" => Some(latest(&black_friday)),
        "cyber monday" => Some(latest(&|y| black_friday(y) + 3)),
        "双十一" | "双11" => Some(recent(today, 11, 11)),
        "双十二" | "双12" => Some(recent(today, 12, 12)),
        _ => None,
    }
}

/// A count in digits or English words ("a", "two" to "ten"), as in "two weeks ago"; 0 if neither.
pub(super) fn number(word: &str) -> i64 {
    match word.to_lowercase().as_str() {
        "a" | "one" => 1,
        "two" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        "ten" => 10,
        w => w.parse().unwrap_or(0),
    }
}

/// A day of the month in ordinal words: "first" is 1, "twenty-third" 23.
pub(super) fn ordinal(words: &str) -> Option<i64> {
    const ORDINALS: [&str; 20] = [
        "first",
        "second",
        "third",
        "fourth",
        "fifth",
        "sixth",
        "seventh",
        "eighth",
        "ninth",
        "tenth",
        "eleventh",
        "twelfth",
        "thirteenth",
        "fourteenth",
        "fifteenth",
        "sixteenth",
        "seventeenth",
        "eighteenth",
        "nineteenth",
        "twentieth",
    ];
    let w = words.to_lowercase().replace('-', " ");
    let w: Vec<&str> = w.split_whitespace().collect();
    let at = |o: &str| ORDINALS.iter().position(|x| *x == o).map(|i| i as i64 + 1);
    match w.as_slice() {
        ["thirtieth"] => Some(30),
        [one] => at(one),
        [tens, one] => Some(if *tens == "twenty" { 20 } else { 30 } + at(one).filter(|n| *n <= 9)?),
        _ => w
            .first()
            .and_then(|t| t.strip_prefix("twenty").or(t.strip_prefix("thirty")).map(|o| (t, o)))
            .and_then(|(t, o)| Some(if t.starts_with("twenty") { 20 } else { 30 } + at(o).filter(|n| *n <= 9)?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shopping_days_are_the_latest_past_ones() {
        let today = days_from_civil(2026, 12, 2);
        assert_eq!(shopping_day(today, "Black Friday").map(iso).as_deref(), Some("2026-11-27"));
        assert_eq!(shopping_day(today, "cyber monday").map(iso).as_deref(), Some("2026-11-30"));
        assert_eq!(shopping_day(today, "双十一").map(iso).as_deref(), Some("2026-11-11"));
        assert_eq!(shopping_day(today, "双12").map(iso).as_deref(), Some("2025-12-12"));
        // 2025: November began on a Saturday, so its fourth Thursday was the 27th.
        let early = days_from_civil(2026, 3, 1);
        assert_eq!(shopping_day(early, "black friday").map(iso).as_deref(), Some("2025-11-28"));
        assert_eq!(shopping_day(today, "boxing day"), None);
    }
}
