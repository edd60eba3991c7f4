//! Timestamps: ISO 8601 in requests and responses, git's `<seconds> <+hhmm>` in objects.
//! Pure arithmetic (civil-from-days), no time-zone database.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, now.
pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// `2014-11-07T22:01:45Z`, the form GitHub answers with.
pub fn format_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.frac][Z|±HH:MM|±HHMM]` into epoch seconds and the offset in
/// minutes (kept so the git object records the author's zone). No zone means UTC.
pub(crate) fn parse_iso8601(s: &str) -> Option<(i64, i32)> {
    let b = s.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes().all(|c| c.is_ascii_digit()).then(|| t.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let hm = rest[1..].replace(':', "");
            if hm.len() != 4 || !hm.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let (oh, om): (i32, i32) = (hm[..2].parse().ok()?, hm[2..].parse().ok()?);
            if oh > 23 || om > 59 {
                return None;
            }
            sign * (oh * 60 + om)
        }
    };
    let local = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se;
    Some((local - i64::from(offset) * 60, offset))
}

/// git's internal date form for `GIT_*_DATE`: `@1415397705 +0100`. The `@` makes git read
/// small numbers as seconds too (it takes `1 +0000` for an invalid date).
pub(crate) fn git_date(secs: i64, offset_min: i32) -> String {
    let sign = if offset_min < 0 { '-' } else { '+' };
    let a = offset_min.unsigned_abs();
    format!("@{secs} {sign}{:02}{:02}", a / 60, a % 60)
}

/// Parses git's `+0100` into minutes.
pub(crate) fn parse_git_offset(tz: &str) -> Option<i32> {
    let (sign, digits) = match tz.as_bytes().first()? {
        b'+' => (1, &tz[1..]),
        b'-' => (-1, &tz[1..]),
        _ => return None,
    };
    if digits.len() != 4 || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let h: i32 = digits[..2].parse().ok()?;
    let m: i32 = digits[2..].parse().ok()?;
    Some(sign * (h * 60 + m))
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's algorithms (proleptic Gregorian calendar).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(1_415_397_705), "2014-11-07T22:01:45Z");
        assert_eq!(parse_iso8601("2014-11-07T22:01:45Z"), Some((1_415_397_705, 0)));
        assert_eq!(parse_iso8601("2014-11-07T23:01:45+01:00"), Some((1_415_397_705, 60)));
        assert_eq!(parse_iso8601("2014-11-07T17:01:45.123-0500"), Some((1_415_397_705, -300)));
        assert_eq!(
            parse_iso8601("2024-02-29T00:00:00Z").map(|t| format_utc(t.0)).as_deref(),
            Some("2024-02-29T00:00:00Z")
        );
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "2014-11-07",
            "2014-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2014-11-07T22:01:45+1",
            "2014-11-07T22:01:45Q",
            "2014-11-07T22:01:45.",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }

    #[test]
    fn git_forms() {
        assert_eq!(git_date(10, -90), "@10 -0130");
        assert_eq!(parse_git_offset("-0130"), Some(-90));
        assert_eq!(parse_git_offset("0130"), None);
    }
}
