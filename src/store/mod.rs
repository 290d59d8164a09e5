//! Plain functions over a connection, one module per table; every tenant read takes a brand id.

pub mod admins;
pub mod brands;
pub mod caps;
pub mod clicks;
pub mod conversions;
pub mod events;
pub mod key_cache;
pub mod key_usage;
pub mod keys;
pub mod lookups;
pub mod offers;
pub mod partners;
pub mod payout_rules;
pub mod reports;
pub mod rollups;
pub mod sessions;
pub mod statements;
pub mod sub_rollups;

/// What the store can fail with; the HTTP layers map it to their own errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique rule the database enforces: `field` already holds `value` in another row.
    #[error("{field} {value:?} is already taken")]
    Duplicate { field: &'static str, value: String },
    /// A change that breaks a rule of the domain (checked against the row as it is now, under
    /// the write lock); the message is for people.
    #[error("{0}")]
    Invalid(String),
    /// A conversion named by id (in a bulk change) that the brand doesn't have.
    #[error("conversion {0} not found")]
    UnknownConversion(i64),
    /// A status change the conversion lifecycle doesn't allow.
    #[error(transparent)]
    Transition(#[from] crate::domain::conversion::InvalidTransition),
    /// A postback that can't be credited as sent.
    #[error(transparent)]
    Refused(#[from] crate::domain::attribution::Refusal),
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("database pool error: {0}")]
    Pool(#[from] r2d2::Error),
    /// The store can't take writes (file deleted or replaced, writer stopped, disk full or
    /// read-only): nothing was written, and trying again later may succeed.
    #[error("the store can't take writes: {0}")]
    Unavailable(&'static str),
}

impl StoreError {
    /// Whether this is the store being unable to write rather than a bug or a bad request.
    pub fn is_unavailable(&self) -> bool {
        use rusqlite::ErrorCode::{CannotOpen, DiskFull, ReadOnly, SystemIoFailure};
        match self {
            StoreError::Unavailable(_) => true,
            StoreError::Db(rusqlite::Error::SqliteFailure(e, _)) => {
                matches!(e.code, DiskFull | ReadOnly | CannotOpen | SystemIoFailure)
            }
            _ => false,
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A page of rows, newest first, and whether more follow.
pub struct Page<T> {
    pub rows: Vec<T>,
    pub has_more: bool,
}

/// Cut a `limit + 1` fetch into a page.
pub fn paginate<T>(mut rows: Vec<T>, limit: u32) -> Page<T> {
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    Page { rows, has_more }
}

/// `Option<&str>`-friendly lookup that maps "no rows" to `NotFound`.
pub fn one<T>(r: rusqlite::Result<T>) -> StoreResult<T> {
    match r {
        Ok(v) => Ok(v),
        Err(rusqlite::Error::QueryReturnedNoRows) => Err(StoreError::NotFound),
        Err(e) => Err(e.into()),
    }
}
