//! Hand-written text for the `COPY` rows: JSON values and timestamps. In the dev profile
//! `cargo xtask` runs in, serde_json's `Value` and chrono's formatter cost more than all
//! the rest of a row; these cost a fraction of that.

use std::fmt::{Display, Write as _};

use super::plan::Micros;

/// Appends `value` as a JSON string literal.
pub fn push_quoted(out: &mut String, value: &str) {
    out.push('"');
    if value.bytes().all(|b| b >= b' ' && b != b'"' && b != b'\\') {
        out.push_str(value);
    } else {
        for c in value.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if c < ' ' => {
                    // Writing to a `String` cannot fail.
                    let _ = write!(out, "\\u{:04x}", u32::from(c));
                }
                c => out.push(c),
            }
        }
    }
    out.push('"');
}

/// A JSON array of strings.
pub fn strings<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    let mut out = String::from("[");
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_quoted(&mut out, item.as_ref());
    }
    out.push(']');
    out
}

/// A JSON array of JSON values.
pub fn array(items: impl IntoIterator<Item = String>) -> String {
    let mut out = String::from("[");
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&item);
    }
    out.push(']');
    out
}

/// A JSON object, written field by field: `object().str("a", "b").num("n", 1).end()`.
pub fn object() -> Object {
    Object(String::from("{"))
}

#[derive(Debug)]
pub struct Object(String);

impl Object {
    fn key(&mut self, key: &str) {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        push_quoted(&mut self.0, key);
        self.0.push(':');
    }

    pub fn str(mut self, key: &str, value: &str) -> Self {
        self.key(key);
        push_quoted(&mut self.0, value);
        self
    }

    pub fn num(mut self, key: &str, value: impl Display) -> Self {
        self.key(key);
        let _ = write!(self.0, "{value}");
        self
    }

    pub fn bool(mut self, key: &str, value: bool) -> Self {
        self.key(key);
        self.0.push_str(if value { "true" } else { "false" });
        self
    }

    /// A field whose value is JSON text already.
    pub fn raw(mut self, key: &str, json: &str) -> Self {
        self.key(key);
        self.0.push_str(json);
        self
    }

    pub fn end(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

/// Appends `at` as `YYYY-MM-DD HH:MM:SS.ffffff+00`.
pub fn push_timestamp(out: &mut String, at: Micros) {
    let seconds = at.div_euclid(1_000_000);
    let micros = at.rem_euclid(1_000_000) as u64;
    push_day(out, seconds.div_euclid(86_400));
    let of_day = seconds.rem_euclid(86_400) as u64;
    out.push(' ');
    push_digits(out, of_day / 3600, 2);
    out.push(':');
    push_digits(out, of_day / 60 % 60, 2);
    out.push(':');
    push_digits(out, of_day % 60, 2);
    out.push('.');
    push_digits(out, micros, 6);
    out.push_str("+00");
}

/// Appends the UTC date of `at` as `YYYY-MM-DD`.
pub fn push_date(out: &mut String, at: Micros) {
    push_day(out, at.div_euclid(86_400_000_000));
}

/// The UTC date of `at` as `YYYY-MM-DD`.
pub fn date(at: Micros) -> String {
    let mut out = String::with_capacity(10);
    push_date(&mut out, at);
    out
}

fn push_day(out: &mut String, days: i64) {
    let (year, month, day) = civil_from_days(days);
    push_digits(out, year.max(0) as u64, 4);
    out.push('-');
    push_digits(out, u64::from(month), 2);
    out.push('-');
    push_digits(out, u64::from(day), 2);
}

/// Year, month and day of the `days`th day after 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Appends `n` with at least `width` digits, zero-padded.
fn push_digits(out: &mut String, n: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut i = digits.len();
    let mut rest = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let start = i.min(digits.len() - width);
    for &d in &digits[start..] {
        out.push(char::from(d));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_and_dates_match_chrono() {
        let instants = [
            0,
            1_704_067_200_000_000,     // 2024-01-01T00:00:00Z
            1_709_164_800_123_456,     // 2024-02-29T00:00:00.123456Z
            1_735_689_599_999_999,     // 2024-12-31T23:59:59.999999Z
            1_782_777_599_000_001,     // 2026-06-29T23:59:59.000001Z
            4_102_444_800_000_000 + 7, // 2100-01-01
        ];
        for at in instants {
            let expected = chrono::DateTime::from_timestamp_micros(at).expect("in range");
            let mut text = String::new();
            push_timestamp(&mut text, at);
            assert_eq!(
                text,
                expected.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string()
            );
            assert_eq!(date(at), expected.date_naive().to_string());
        }
    }

    #[test]
    fn json_text_parses_back() {
        let text = object()
            .str("quote", "say \"hi\"\\ \n\t")
            .num("n", 42)
            .bool("yes", true)
            .raw("list", &strings(["a", "b"]))
            .raw(
                "nested",
                &array([object().end(), strings(Vec::<String>::new())]),
            )
            .end();
        let value: serde_json::Value = serde_json::from_str(&text).expect(&text);
        assert_eq!(
            value,
            serde_json::json!({
                "quote": "say \"hi\"\\ \n\t",
                "n": 42,
                "yes": true,
                "list": ["a", "b"],
                "nested": [{}, []],
            })
        );
        assert_eq!(strings(["plain"]), "[\"plain\"]");
    }
}
