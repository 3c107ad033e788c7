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
