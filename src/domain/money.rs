//! Exact money: integer hundredths of the currency unit, parsed from and printed to JSON numbers.

use std::fmt;

/// An amount in minor units (hundredths). Never a float past the JSON edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Money(pub i64);

/// Largest accepted amount: 1,000,000,000.00 (10^11 minor units). A brand's sums are i64
/// minor units, so it takes over 92 million conversions at the maximum (9.2 * 10^16 units,
/// far past any real revenue, even in currencies worth 1/25000 of a dollar) before a report
/// total could overflow; an unbounded amount poisoned every report after 9,300 of 10^13.
/// Every accepted value also prints back exactly as an f64 (at most 12 significant digits).
pub const MAX_MINOR: i64 = 100_000_000_000;

/// `MAX_MINOR` for messages and the spec.
pub const MAX_TEXT: &str = "1000000000";

impl Money {
    /// Parse a JSON number. The f64 is printed back in its shortest round-trip form, which is
    /// the decimal text the client sent whenever it had at most 15 significant digits.
    pub fn from_json(value: f64, field: &str) -> Result<Money, String> {
        if !value.is_finite() {
            return Err(format!("{field} must be a number"));
        }
        if value < 0.0 {
            return Err(format!("{field} must be >= 0"));
        }
        let text = format!("{value}");
        let (whole, frac) = match text.split_once('.') {
            Some((w, f)) => (w, f),
            None => (text.as_str(), ""),
        };
        if frac.len() > 2 || text.contains('e') {
            return Err(format!("{field} must have at most 2 decimal places"));
        }
        let whole: i64 = whole
            .parse()
            .map_err(|_| format!("{field} must be <= {MAX_TEXT}"))?;
        let mut cents: i64 = 0;
        for (i, d) in frac.bytes().enumerate() {
            let digit = i64::from(d - b'0');
            cents += digit * if i == 0 { 10 } else { 1 };
        }
        let minor = whole
            .checked_mul(100)
            .and_then(|m| m.checked_add(cents))
            .filter(|m| *m <= MAX_MINOR)
            .ok_or_else(|| format!("{field} must be <= {MAX_TEXT}"))?;
        Ok(Money(minor))
    }

    /// The JSON number for this amount; correctly rounded division gives the shortest decimal.
    pub fn to_json(self) -> f64 {
        self.0 as f64 / 100.0
    }

    /// `self × percent / 100`, where `percent` is itself in hundredths (12.5% = 1250),
    /// rounded half-even to the cent.
    pub fn percent(self, percent: Money) -> Money {
        let num = i128::from(self.0) * i128::from(percent.0);
        let den: i128 = 10_000;
        let q = num / den;
        let r = num % den;
        let rounded = match (2 * r).cmp(&den) {
            std::cmp::Ordering::Less => q,
            std::cmp::Ordering::Greater => q + 1,
            std::cmp::Ordering::Equal => q + (q % 2),
        };
        Money(rounded as i64)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `-0.05`, not `0.-5`: the sign once, then the magnitude (clawback lines are negative).
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_negative_amounts_with_one_sign() {
        assert_eq!(Money(-5).to_string(), "-0.05");
        assert_eq!(Money(-1250).to_string(), "-12.50");
        assert_eq!(Money(1250).to_string(), "12.50");
        assert_eq!(Money(i64::MIN).to_string(), "-92233720368547758.08");
    }

    #[test]
    fn parses_exact_cents() {
        assert_eq!(Money::from_json(19.99, "x"), Ok(Money(1999)));
        assert_eq!(Money::from_json(0.1, "x"), Ok(Money(10)));
        assert_eq!(Money::from_json(0.07, "x"), Ok(Money(7)));
        assert_eq!(Money::from_json(12.0, "x"), Ok(Money(1200)));
        assert_eq!(Money::from_json(1234567.89, "x"), Ok(Money(123456789)));
        assert!(Money::from_json(1.005, "x").is_err());
        assert!(Money::from_json(-1.0, "x").is_err());
        assert!(Money::from_json(1e300, "x").is_err());
        assert_eq!(
            Money::from_json(1_000_000_000.0, "x"),
            Ok(Money(100_000_000_000))
        );
        assert_eq!(
            Money::from_json(999_999_999.99, "x"),
            Ok(Money(99_999_999_999))
        );
        assert_eq!(
            Money::from_json(1_000_000_000.01, "amount"),
            Err("amount must be <= 1000000000".into())
        );
        assert!(Money::from_json(1e13, "x").is_err());
    }

    #[test]
    fn prints_shortest() {
        assert_eq!(Money(1999).to_json().to_string(), "19.99");
        assert_eq!(Money(10).to_json().to_string(), "0.1");
        assert_eq!(Money(123456789).to_json().to_string(), "1234567.89");
    }

    #[test]
    fn percent_rounds_half_even() {
        // 10.25 × 10% = 1.025 → 1.02 (2 is even)
        assert_eq!(Money(1025).percent(Money(1000)), Money(102));
        // 10.35 × 10% = 1.035 → 1.04
        assert_eq!(Money(1035).percent(Money(1000)), Money(104));
        // 0.05 × 50% = 0.025 → 0.02
        assert_eq!(Money(5).percent(Money(5000)), Money(2));
        assert_eq!(Money(15).percent(Money(5000)), Money(8));
        assert_eq!(Money(10000).percent(Money(1250)), Money(1250));
        assert_eq!(Money(333).percent(Money(3333)), Money(111));
    }
}
