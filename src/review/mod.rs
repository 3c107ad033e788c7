//! Supervisor review: word diffs and edit distance between AI drafts and sent replies,
//! acceptance analytics, exports, and a seeded store for tests and benchmarks. The review
//! console lives in `crate::tui::review`; the CLI in `crate::cli::review`.

pub mod diff;
pub mod export;
pub mod gaps;
pub mod seed;
pub mod stats;
pub mod training;

pub use diff::{diff, edit_distance};
pub use stats::Stats;

use crate::desk::Millis;

const DAY_MS: i64 = 86_400_000;

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The UTC day of a timestamp, `YYYY-MM-DD`.
pub fn day_of(ms: Millis) -> String {
    let (y, m, d) = civil_from_days(ms.div_euclid(DAY_MS));
    format!("{y:04}-{m:02}-{d:02}")
}

/// A timestamp as `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub fn iso_time(ms: Millis) -> String {
    let secs = ms.div_euclid(1000).rem_euclid(86_400);
    format!("{}T{:02}:{:02}:{:02}Z", day_of(ms), secs / 3600, (secs / 60) % 60, secs % 60)
}

/// Parses `YYYY-MM-DD` as the start of that UTC day in Unix ms.
pub fn parse_date(s: &str) -> Result<Millis, String> {
    let bad = || format!("expected a date like 2026-01-31, got {s:?}");
    let mut parts = s.trim().splitn(3, '-');
    let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else { return Err(bad()) };
    let y: i64 = y.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    let d: u32 = d.parse().map_err(|_| bad())?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || !(1970..=9999).contains(&y) {
        return Err(bad());
    }
    let days = days_from_civil(y, m, d);
    if civil_from_days(days) != (y, m, d) {
        return Err(format!("{s:?} is not a calendar date"));
    }
    Ok(days * DAY_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(parse_date("1970-01-01"), Ok(0));
        let t = parse_date("2026-02-28").expect("date");
        assert_eq!(day_of(t), "2026-02-28");
        assert_eq!(day_of(t + DAY_MS), "2026-03-01");
        assert_eq!(iso_time(t + 3_723_000), "2026-02-28T01:02:03Z");
        assert!(parse_date("2026-02-30").expect_err("no such day").contains("not a calendar date"));
        assert!(parse_date("yesterday").expect_err("not a date").contains("2026-01-31"));
    }
}
