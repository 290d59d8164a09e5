//! What the dashboard's forms share: a domain rule's message placed next to its field, and the
//! CSRF check before anything changes.

use std::collections::BTreeMap;

/// Errors by form field. The domain's messages start with the field they name
/// (`name must be 1-200 characters`), so each lands next to its input.
#[derive(Default)]
pub struct Errors(BTreeMap<&'static str, String>);

impl Errors {
    /// Place `message` on the field it starts with, among `fields`; else on the first field.
    pub fn place(&mut self, message: &str, fields: &[&'static str]) {
        let field = fields
            .iter()
            .find(|f| message.starts_with(**f))
            .or(fields.first())
            .copied()
            .unwrap_or("form");
        self.0.insert(field, sentence(message));
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    pub fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `payout must be >= 0` → `Payout must be >= 0.`
fn sentence(m: &str) -> String {
    let m = m
        .replacen("destination_url", "the destination URL", 1)
        .replacen("hold_days", "hold days", 1);
    let mut c = m.chars();
    let mut out: String = match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    };
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_land_on_their_field() {
        let mut e = Errors::default();
        e.place("payout must be >= 0", &["name", "payout"]);
        e.place(
            "destination_url must be an http(s) URL",
            &["name", "destination_url"],
        );
        assert_eq!(e.get("payout"), Some("Payout must be >= 0."));
        assert_eq!(
            e.get("destination_url"),
            Some("The destination URL must be an http(s) URL.")
        );
        assert!(!e.has("name"));
    }
}
