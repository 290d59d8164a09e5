//! Partner statements: what the brand owes one partner in one currency up to a date, as lines
//! whose sum is the total.

use super::ids::BrandId;
use super::money::Money;
use super::status::{LineKind, StatementStatus};

#[derive(Debug, Clone)]
pub struct Statement {
    pub id: i64,
    pub brand_id: BrandId,
    pub partner_id: i64,
    pub currency: String,
    /// `YYYY-MM-DD`, as requested.
    pub through: String,
    pub status: StatementStatus,
    /// The sum of the lines, read with them.
    pub total: Money,
    pub lines: i64,
    pub created_at: i64,
    pub paid_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementLine {
    pub id: i64,
    pub conversion_id: i64,
    pub kind: LineKind,
    /// Negative for a clawback.
    pub amount: Money,
    pub occurred_at: i64,
}

/// A statement as the API shows it: what a `statement.*` event's `data` holds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StatementJson<'a> {
    pub id: i64,
    pub partner_id: i64,
    pub currency: &'a str,
    pub through: &'a str,
    pub status: &'static str,
    pub total: f64,
    pub lines: i64,
    pub created_at: String,
    pub paid_at: Option<String>,
}

impl<'a> From<&'a Statement> for StatementJson<'a> {
    fn from(s: &'a Statement) -> Self {
        use super::time::to_rfc3339;
        StatementJson {
            id: s.id,
            partner_id: s.partner_id,
            currency: &s.currency,
            through: &s.through,
            status: s.status.as_str(),
            total: s.total.to_json(),
            lines: s.lines,
            created_at: to_rfc3339(s.created_at),
            paid_at: s.paid_at.map(to_rfc3339),
        }
    }
}
