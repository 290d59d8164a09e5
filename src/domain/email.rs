//! Email addresses, as partners and admins give them.

/// Trimmed and lower-cased if plausible: one `@`, a dotted domain, no spaces or control
/// characters, at most 254 bytes. Delivery is the real test.
pub fn normalize(raw: &str) -> Option<String> {
    let email = raw.trim().to_lowercase();
    let ok = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    ok.then_some(email)
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn plausible_addresses_only() {
        assert_eq!(
            normalize("  Ada@Example.COM ").as_deref(),
            Some("ada@example.com")
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@x.io",
            "a@b@c.io",
            "a b@x.io",
            "a@x",
            "a@.x",
            "a@x.",
            "a\u{1}@x.io",
        ] {
            assert!(normalize(bad).is_none(), "{bad:?}");
        }
    }
}
