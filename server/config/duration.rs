//! Lengths of time as operators write them: `1`, `0.1` (seconds, like keepalived's
//! `advert_int`), or a number with a unit: `100ms`, `1.5s`, `2m`, `1h`.
//!
//! Parsing is exact decimal arithmetic rather than `f64`, so `0.1` is exactly 100 ms and a
//! VRRPv3 interval is either a whole number of centiseconds or visibly not.

use std::time::Duration;

const NANOS_PER_MILLI: u128 = 1_000_000;
const NANOS_PER_SECOND: u128 = 1_000_000_000;

/// The forms accepted, for error messages.
pub(super) const FORMS: &str =
    "seconds like 1 or 0.1, or a number with a unit: 100ms, 1.5s, 2m, 1h";

/// Parses `text` as a length of time; the error says what is wrong with it.
pub(super) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let number_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(number_end);
    if number.is_empty() {
        return Err(format!("\"{text}\" is not a length of time; write {FORMS}"));
    }
    let nanos_per_unit = match unit.trim_start() {
        "" | "s" => NANOS_PER_SECOND,
        "ms" => NANOS_PER_MILLI,
        "m" | "min" => 60 * NANOS_PER_SECOND,
        "h" => 3600 * NANOS_PER_SECOND,
        other => {
            return Err(format!(
                "`{other}` is not a unit of time in \"{text}\"; write {FORMS}"
            ));
        }
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits_ok = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if number == "." || !digits_ok(whole) || !digits_ok(fraction) {
        return Err(format!("\"{text}\" is not a length of time; write {FORMS}"));
    }
    // Beyond 18 fractional digits 10^digits overflows u64 arithmetic below; no one needs
    // attoseconds, so such a value is rejected rather than rounded.
    if fraction.len() > 18 || whole.len() > 20 {
        return Err(format!("\"{text}\" has too many digits"));
    }
    let too_long = || format!("\"{text}\" is too long a time");
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| too_long())?
    };
    let fraction_scale = 10u128.pow(fraction.len() as u32);
    let fraction: u128 = if fraction.is_empty() {
        0
    } else {
        fraction.parse().map_err(|_| too_long())?
    };
    let fraction_nanos = fraction * nanos_per_unit;
    if !fraction_nanos.is_multiple_of(fraction_scale) {
        return Err(format!("\"{text}\" is finer than a nanosecond"));
    }
    let nanos = whole
        .checked_mul(nanos_per_unit)
        .and_then(|n| n.checked_add(fraction_nanos / fraction_scale))
        .ok_or_else(too_long)?;
    let nanos = u64::try_from(nanos).map_err(|_| too_long())?;
    Ok(Duration::from_nanos(nanos))
}

/// A length of time in seconds, as short as exact: `1 s`, `0.5 s`, `0.015 s`.
pub(super) fn seconds_text(duration: Duration) -> String {
    let fraction = format!("{:09}", duration.subsec_nanos());
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        format!("{} s", duration.as_secs())
    } else {
        format!("{}.{fraction} s", duration.as_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_numbers_are_seconds() {
        assert_eq!(parse_duration("1"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("0.1"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration(".5"), Ok(Duration::from_millis(500)));
    }

    #[test]
    fn units() {
        assert_eq!(parse_duration("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("1.5 s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("0.5ms"), Ok(Duration::from_micros(500)));
    }

    #[test]
    fn nonsense_is_refused() {
        for text in ["", ".", "-1", "1..2", "1 sec", "ms", "1e3", "1.0000000001"] {
            assert!(parse_duration(text).is_err(), "{text:?} parsed");
        }
        assert!(parse_duration("99999999999999999999999h").is_err());
    }

    #[test]
    fn seconds_are_printed_exactly() {
        assert_eq!(seconds_text(Duration::from_secs(3)), "3 s");
        assert_eq!(seconds_text(Duration::from_millis(500)), "0.5 s");
        assert_eq!(seconds_text(Duration::from_millis(15)), "0.015 s");
    }
}
