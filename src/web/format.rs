//! Numbers, money and dates as pages show them: thousands separators, currency symbols, the
//! brand's zone. Amounts stay integer minor units up to the last step, which only inserts a
//! separator and a decimal point.

use chrono::TimeZone;
use chrono_tz::Tz;

/// `1234567` → `1,234,567`.
pub fn int(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// The symbol people read for a currency, or its code and a space.
fn symbol(currency: &str) -> Option<&'static str> {
    Some(match currency {
        "USD" => "$",
        "EUR" => "€",
        "GBP" => "£",
        "JPY" => "¥",
        "INR" => "₹",
        "CNY" => "CN¥",
        "KRW" => "₩",
        "BRL" => "R$",
        "CAD" => "CA$",
        "AUD" => "A$",
        "ILS" => "₪",
        "PLN" => "zł ",
        "TRY" => "₺",
        "UAH" => "₴",
        "NGN" => "₦",
        "PHP" => "₱",
        "VND" => "₫",
        "THB" => "฿",
        _ => return None,
    })
}

/// Minor units (hundredths) of `currency`: `123456, "USD"` → `$1,234.56`, `-5, "CHF"` →
/// `-CHF 0.05`.
pub fn money(minor: i64, currency: &str) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let amount = format!("{}.{:02}", int((abs / 100) as i64), abs % 100);
    match symbol(currency) {
        Some(s) => format!("{sign}{s}{amount}"),
        None => format!("{sign}{currency} {amount}"),
    }
}

/// A ratio as a percentage with two decimals: `0.0251` → `2.51%`.
pub fn percent(ratio: f64) -> String {
    format!("{:.2}%", ratio * 100.0)
}

/// A change against the previous period, and whether it went up: `+12.5%`, `−3.0%`, `new`
/// (nothing before), `±0%`.
pub fn change(now: f64, before: f64) -> (String, &'static str) {
    if before == 0.0 {
        return if now == 0.0 {
            ("±0%".into(), "flat")
        } else {
            ("new".into(), "up")
        };
    }
    let pct = (now - before) / before * 100.0;
    if pct.abs() < 0.05 {
        ("±0%".into(), "flat")
    } else if pct > 0.0 {
        (format!("+{pct:.1}%"), "up")
    } else {
        (format!("−{:.1}%", -pct), "down")
    }
}

/// An instant in the brand's zone, to the minute: `2026-11-30 14:05`.
pub fn datetime(ts: i64, tz: Tz) -> String {
    match tz.timestamp_opt(ts, 0).single() {
        Some(t) => t.format("%Y-%m-%d %H:%M").to_string(),
        None => String::new(),
    }
}

/// A duration in words people scan: `45 s`, `12 min`, `3 h 20 min`, `2 d 4 h`.
pub fn duration(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..=59 => format!("{s} s"),
        60..=3_599 => format!("{} min", s / 60),
        3_600..=86_399 => format!("{} h {} min", s / 3_600, s % 3_600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3_600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_symbols_and_changes() {
        assert_eq!(int(0), "0");
        assert_eq!(int(999), "999");
        assert_eq!(int(1_000), "1,000");
        assert_eq!(int(-1_234_567), "-1,234,567");
        assert_eq!(money(123_456, "USD"), "$1,234.56");
        assert_eq!(money(5, "EUR"), "€0.05");
        assert_eq!(money(-250, "CHF"), "-CHF 2.50");
        assert_eq!(percent(0.0251), "2.51%");
        assert_eq!(change(110.0, 100.0), ("+10.0%".into(), "up"));
        assert_eq!(change(90.0, 100.0), ("−10.0%".into(), "down"));
        assert_eq!(change(5.0, 0.0), ("new".into(), "up"));
        assert_eq!(change(0.0, 0.0), ("±0%".into(), "flat"));
        assert_eq!(duration(59), "59 s");
        assert_eq!(duration(3_600 * 3 + 1_200), "3 h 20 min");
        assert_eq!(datetime(0, chrono_tz::Asia::Kolkata), "1970-01-01 05:30");
    }
}
