//! Types with their rules, no I/O.

pub mod attribution;
pub mod cap;
pub mod click;
pub mod click_ids;
pub mod conversion;
pub mod currency;
pub mod email;
pub mod export;
pub mod ids;
pub mod macros;
pub mod money;
pub mod name;
pub mod offer;
pub mod partner;
pub mod password;
pub mod payout;
pub mod payout_rule;
pub mod period;
pub mod random;
pub mod report;
pub mod report_request;
pub mod statement;
pub mod status;
pub mod time;
