//! Currency codes: ISO 4217, from the `iso_currency` crate's copy of the official list.

/// An ISO 4217 code of a currency people pay in, upper case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyCode(&'static str);

impl CurrencyCode {
    /// `usd` is `USD` (codes are case-insensitive to people; the API always answers upper
    /// case). Codes ISO lists but that are not money with cents are refused: metals (`XAU`),
    /// SDRs (`XDR`), `XTS` (testing) and `XXX` (no currency).
    pub fn parse(text: &str) -> Result<CurrencyCode, String> {
        let upper = text.to_ascii_uppercase();
        match iso_currency::Currency::from_code(&upper) {
            Some(c) if !c.is_special() => Ok(CurrencyCode(c.code())),
            Some(_) => Err(format!(
                "currency {upper:?} is an ISO 4217 code but not a currency with cents (metals, XDR, XTS, XXX)"
            )),
            None => Err(format!(
                "currency must be an ISO 4217 code such as USD or EUR; {text:?} is not one"
            )),
        }
    }

    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_codes_only() {
        assert_eq!(CurrencyCode::parse("USD").unwrap().as_str(), "USD");
        assert_eq!(CurrencyCode::parse("eur").unwrap().as_str(), "EUR");
        assert_eq!(CurrencyCode::parse("JpY").unwrap().as_str(), "JPY");
        for bad in [
            "XXY", "ABC", "US", "USDX", "", "XXX", "XTS", "XAU", "U$D", "ÜSD",
        ] {
            let e = CurrencyCode::parse(bad).unwrap_err();
            assert!(e.contains("currency"), "{bad}: {e}");
        }
    }
}
