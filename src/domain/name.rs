//! Names people give brands, offers and partners: the one length rule for all three.

/// A name: 1–200 characters once trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

/// Why text is not a name; each edge words it for its readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    Empty,
    TooLong,
}

impl Name {
    /// Counted in characters, not bytes (the API's `max_length` counts the same way).
    pub const MAX_CHARS: usize = 200;

    pub fn parse(raw: &str) -> Result<Name, NameError> {
        let name = raw.trim();
        match name.chars().count() {
            0 => Err(NameError::Empty),
            n if n > Self::MAX_CHARS => Err(NameError::TooLong),
            _ => Ok(Name(name.to_string())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// The API's wording, shared by offers and partners.
pub fn api_message(_: NameError) -> String {
    format!("name must be 1-{} characters", Name::MAX_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trimmed_and_counted_in_characters() {
        assert_eq!(Name::parse("  Ada ").unwrap().as_str(), "Ada");
        assert_eq!(Name::parse("   "), Err(NameError::Empty));
        assert!(Name::parse(&"é".repeat(200)).is_ok());
        assert_eq!(Name::parse(&"é".repeat(201)), Err(NameError::TooLong));
    }
}
