//! The statuses and kinds the data can be in, each with exactly one string form: the one the
//! database stores and the API answers. Text outside that set read from the database is an
//! error, never quietly taken for some default.

/// Text that names none of an enum's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} {value:?} is not one of {allowed}")]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
    pub allowed: &'static str,
}

/// An enum of unit variants with one string each: `as_str`, `FromStr`, `Display` and
/// rusqlite's `ToSql`/`FromSql` (an unknown stored value is `FromSqlError::Other`).
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident: $kind:literal { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::domain::status::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err($crate::domain::status::UnknownValue {
                        kind: $kind,
                        value: other.to_string(),
                        allowed: concat!($($text, " "),+),
                    }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl rusqlite::types::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(rusqlite::types::ToSqlOutput::from(self.as_str()))
            }
        }

        impl rusqlite::types::FromSql for $name {
            fn column_result(
                value: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<Self> {
                value
                    .as_str()?
                    .parse()
                    .map_err(|e| rusqlite::types::FromSqlError::Other(Box::new(e)))
            }
        }
    };
}

string_enum! {
    /// Whether an offer's tracking links take clicks.
    OfferStatus: "offer status" {
        Active => "active",
        Paused => "paused",
        Archived => "archived",
    }
}

string_enum! {
    /// Whether a partner may send traffic.
    PartnerStatus: "partner status" {
        Active => "active",
        Pending => "pending",
        Blocked => "blocked",
    }
}

string_enum! {
    /// Where a conversion stands; reports count each status in its own metrics.
    ConversionStatus: "conversion status" {
        Approved => "approved",
        Pending => "pending",
        Rejected => "rejected",
        /// A refund or chargeback after approval; final, counted in no money metric.
        Reversed => "reversed",
    }
}

string_enum! {
    /// How an offer pays: a fixed amount per conversion, or a percent of the sale amount.
    PayoutType: "payout type" {
        Cpa => "cpa",
        Revshare => "revshare",
    }
}

string_enum! {
    /// What a cap counts: conversions, or the payout they earn (in minor units).
    CapMetric: "cap metric" {
        Conversions => "conversions",
        Payout => "payout",
    }
}

string_enum! {
    /// The period a cap's limit applies to, in the brand's zone; `lifetime` never resets.
    CapWindow: "cap window" {
        Day => "day",
        Week => "week",
        Month => "month",
        Lifetime => "lifetime",
    }
}

string_enum! {
    /// Whether the brand has paid a statement yet.
    StatementStatus: "statement status" {
        Open => "open",
        Paid => "paid",
    }
}

string_enum! {
    /// A statement line pays a conversion, or takes back what a paid one earned.
    LineKind: "line kind" {
        Payout => "payout",
        Clawback => "clawback",
    }
}

impl OfferStatus {
    /// Only an active offer's links redirect.
    pub fn takes_clicks(self) -> bool {
        self == OfferStatus::Active
    }
}

impl PartnerStatus {
    /// Pending partners may send traffic; blocked ones may not.
    pub fn may_send_traffic(self) -> bool {
        self != PartnerStatus::Blocked
    }
}

impl ConversionStatus {
    /// Whether a conversion in this status may be changed to `to` (the lifecycle's table).
    /// Staying in the same status is not a change: callers treat it as a no-op.
    pub fn may_become(self, to: ConversionStatus) -> bool {
        use ConversionStatus::*;
        matches!(
            (self, to),
            (Pending, Approved)
                | (Pending, Rejected)
                | (Approved, Rejected)
                | (Approved, Reversed)
                | (Rejected, Approved)
                | (Rejected, Pending)
        )
    }

    /// Whether caps count a conversion in this status: the ones that may still be paid.
    pub fn counts_toward_caps(self) -> bool {
        matches!(self, ConversionStatus::Approved | ConversionStatus::Pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn one_string_each_and_back() {
        for s in OfferStatus::ALL {
            assert_eq!(s.as_str().parse::<OfferStatus>(), Ok(*s));
        }
        for s in PartnerStatus::ALL {
            assert_eq!(s.as_str().parse::<PartnerStatus>(), Ok(*s));
        }
        for s in ConversionStatus::ALL {
            assert_eq!(s.as_str().parse::<ConversionStatus>(), Ok(*s));
        }
        for s in PayoutType::ALL {
            assert_eq!(s.as_str().parse::<PayoutType>(), Ok(*s));
        }
        assert!("Active".parse::<OfferStatus>().is_err(), "case matters");
    }

    #[test]
    fn the_lifecycle_table() {
        use ConversionStatus::*;
        let allowed = [
            (Pending, Approved),
            (Pending, Rejected),
            (Approved, Rejected),
            (Approved, Reversed),
            (Rejected, Approved),
            (Rejected, Pending),
        ];
        for from in ConversionStatus::ALL {
            for to in ConversionStatus::ALL {
                assert_eq!(
                    from.may_become(*to),
                    allowed.contains(&(*from, *to)),
                    "{from} -> {to}"
                );
            }
        }
    }

    #[test]
    fn unknown_stored_text_is_an_error() {
        let c = Connection::open_in_memory().unwrap();
        let ok: PayoutType = c.query_row("SELECT 'revshare'", [], |r| r.get(0)).unwrap();
        assert_eq!(ok, PayoutType::Revshare);
        let bad = c.query_row("SELECT 'flat'", [], |r| r.get::<_, PayoutType>(0));
        let e = bad.unwrap_err().to_string();
        assert!(e.contains("payout type \"flat\" is not one of"), "{e}");
    }
}
