//! A partner's fields as a request gives them, and the checked input the store writes.

use super::name::{self, Name};
use super::status::PartnerStatus;

/// A partner as sent (a create, or a patch merged with the current row), not yet checked.
#[derive(Debug, Clone)]
pub struct PartnerDraft {
    pub name: String,
    pub email: String,
    pub status: PartnerStatus,
}

/// A partner that keeps every rule; only `try_from` a draft makes one.
#[derive(Debug, Clone)]
pub struct PartnerInput {
    name: Name,
    /// Normalised: trimmed and lower case, so uniqueness within a brand ignores case.
    email: String,
    status: PartnerStatus,
}

impl TryFrom<PartnerDraft> for PartnerInput {
    /// A message for people that names the field at fault.
    type Error = String;

    fn try_from(d: PartnerDraft) -> Result<PartnerInput, String> {
        let name = Name::parse(&d.name).map_err(name::api_message)?;
        let email = super::email::normalize(&d.email)
            .ok_or_else(|| "email must be a valid email address".to_string())?;
        Ok(PartnerInput {
            name,
            email,
            status: d.status,
        })
    }
}

impl PartnerInput {
    pub fn name(&self) -> &str {
        self.name.as_str()
    }
    pub fn email(&self) -> &str {
        &self.email
    }
    pub fn status(&self) -> PartnerStatus {
        self.status
    }
}
