//! CSV exports (RFC 4180, CRLF records): a header row of the JSON field names in schema order,
//! money as plain decimals from integer minor units (`12.50`, never through a float),
//! timestamps as in JSON, an empty cell for null. One table per resource, shared by the API's
//! `text/csv` answers and the dashboard's "Download CSV": both show exactly this.

use std::fmt::{self, Write as _};

use super::click::Click;
use super::conversion::Conversion;
use super::money::Money;
use super::report::{Row, TimeGrain, shown_ratio};
use super::statement::StatementLine;
use super::time::to_rfc3339;

/// The columns of a report row: the `ReportRow` schema's properties, in order.
pub const REPORT_COLUMNS: [&str; 22] = [
    "hour",
    "day",
    "week",
    "month",
    "offer_id",
    "partner_id",
    "sub1",
    "sub2",
    "sub3",
    "sub4",
    "sub5",
    "currency",
    "clicks",
    "unique_clicks",
    "conversions",
    "pending_conversions",
    "rejected_conversions",
    "reversed_conversions",
    "revenue",
    "payout",
    "conversion_rate",
    "epc",
];

/// The columns of a conversion: the `Conversion` schema's properties, in order.
pub const CONVERSION_COLUMNS: [&str; 22] = [
    "id",
    "click_id",
    "offer_id",
    "partner_id",
    "event",
    "amount",
    "payout",
    "currency",
    "status",
    "transaction_id",
    "sub1",
    "sub2",
    "sub3",
    "sub4",
    "sub5",
    "occurred_at",
    "created_at",
    "reason",
    "updated_at",
    "hold_until",
    "payout_rule_id",
    "statement_id",
];

/// The columns of a click: the `Click` schema's properties, in order.
pub const CLICK_COLUMNS: [&str; 13] = [
    "id",
    "offer_id",
    "partner_id",
    "created_at",
    "sub1",
    "sub2",
    "sub3",
    "sub4",
    "sub5",
    "ip",
    "user_agent",
    "referer",
    "unique",
];

/// A CSV table being written to memory, one record at a time.
struct Table(csv::Writer<Vec<u8>>);

impl Table {
    fn new(capacity: usize) -> Table {
        Table(
            csv::WriterBuilder::new()
                .terminator(csv::Terminator::CRLF)
                .from_writer(Vec::with_capacity(capacity)),
        )
    }

    fn header(&mut self, columns: &[&str]) {
        self.record(columns.iter().map(|c| c.as_bytes()));
    }

    fn record<'a>(&mut self, cells: impl IntoIterator<Item = &'a [u8]>) {
        // Writing to a Vec has no I/O to fail, and every byte string is a valid field.
        self.0
            .write_record(cells)
            .expect("a CSV record written to memory");
    }

    fn into_bytes(self) -> Vec<u8> {
        self.0
            .into_inner()
            .map_err(|e| e.into_error())
            .expect("a CSV table flushed to memory")
    }
}

/// One record being filled, cell by cell, in a buffer reused for every row (no allocation
/// per cell: an export writes millions).
struct Cells {
    record: csv::ByteRecord,
    scratch: String,
}

impl Cells {
    fn new() -> Cells {
        Cells {
            record: csv::ByteRecord::new(),
            scratch: String::new(),
        }
    }
    fn text(&mut self, s: &str) -> &mut Self {
        self.record.push_field(s.as_bytes());
        self
    }
    /// `None` is null: an empty cell.
    fn opt_text(&mut self, s: Option<&str>) -> &mut Self {
        self.text(s.unwrap_or(""))
    }
    fn shown(&mut self, v: impl fmt::Display) -> &mut Self {
        self.scratch.clear();
        write!(self.scratch, "{v}").expect("formatting into a String");
        self.record.push_field(self.scratch.as_bytes());
        self
    }
    fn opt_shown(&mut self, v: Option<impl fmt::Display>) -> &mut Self {
        match v {
            Some(v) => self.shown(v),
            None => self.text(""),
        }
    }
    /// `true` / `false`, as in JSON.
    fn boolean(&mut self, b: bool) -> &mut Self {
        self.text(if b { "true" } else { "false" })
    }
    fn int(&mut self, n: i64) -> &mut Self {
        self.shown(n)
    }
    fn opt_int(&mut self, n: Option<i64>) -> &mut Self {
        self.opt_shown(n)
    }
    /// `12.50`: integer minor units printed by `Money`.
    fn money(&mut self, m: Money) -> &mut Self {
        self.shown(m)
    }
    fn opt_money(&mut self, m: Option<Money>) -> &mut Self {
        self.opt_shown(m)
    }
    /// A ratio (not money) as the shortest decimal that reads back as the same f64, never in
    /// exponent form: the value the JSON number carries.
    fn ratio(&mut self, x: f64) -> &mut Self {
        self.shown(x)
    }
    fn write_to(&mut self, t: &mut Table) {
        t.0.write_byte_record(&self.record)
            .expect("a CSV record written to memory");
        self.record.clear();
    }
}

/// A report's rows as CSV, header first: `time` is the report's time grain (its column holds
/// each row's bucket; the other three stay empty). The same rows and values as `/reports`'
/// `data`, in the same order; no totals.
pub fn report_csv(time: Option<TimeGrain>, rows: &[Row]) -> Vec<u8> {
    let mut t = Table::new(64 * (rows.len() + 1));
    t.header(&REPORT_COLUMNS);
    let mut c = Cells::new();
    for r in rows {
        for grain in [
            TimeGrain::Hour,
            TimeGrain::Day,
            TimeGrain::Week,
            TimeGrain::Month,
        ] {
            c.opt_text(r.time.as_deref().filter(|_| time == Some(grain)));
        }
        c.opt_int(r.offer_id).opt_int(r.partner_id);
        for s in &r.subs {
            c.opt_text(s.as_deref());
        }
        let m = &r.metrics;
        c.text(&r.currency)
            .int(m.clicks)
            .int(m.unique_clicks)
            .int(m.conversions)
            .int(m.pending_conversions)
            .int(m.rejected_conversions)
            .int(m.reversed_conversions)
            .money(Money(m.revenue))
            .money(Money(m.payout))
            .ratio(shown_ratio(m.conversion_rate()))
            .ratio(shown_ratio(m.epc()))
            .write_to(&mut t);
    }
    t.into_bytes()
}

/// The header row of a conversions export.
pub fn conversions_header() -> Vec<u8> {
    let mut t = Table::new(256);
    t.header(&CONVERSION_COLUMNS);
    t.into_bytes()
}

/// Conversions as CSV records, without the header: an export is written batch by batch.
pub fn conversions_csv(rows: &[Conversion]) -> Vec<u8> {
    let mut t = Table::new(160 * rows.len());
    let mut c = Cells::new();
    for v in rows {
        c.int(v.id)
            .opt_text(v.click_id.as_deref())
            .int(v.offer_id)
            .int(v.partner_id)
            .text(&v.event)
            .opt_money(v.amount)
            .money(v.payout)
            .text(&v.currency)
            .text(v.status.as_str())
            .opt_text(v.transaction_id.as_deref());
        for s in &v.subs {
            c.opt_text(s.as_deref());
        }
        c.text(&to_rfc3339(v.occurred_at))
            .text(&to_rfc3339(v.created_at))
            .opt_text(v.reason.as_deref())
            .text(&to_rfc3339(v.updated_at))
            .opt_text(v.hold_until.map(to_rfc3339).as_deref())
            .opt_int(v.payout_rule_id)
            .opt_int(v.statement_id)
            .write_to(&mut t);
    }
    t.into_bytes()
}

/// The columns of `GET /statements/{id}/lines`, in schema order.
pub const LINE_COLUMNS: [&str; 4] = ["conversion_id", "kind", "amount", "occurred_at"];

pub fn lines_header() -> Vec<u8> {
    let mut t = Table::new(64);
    t.header(&LINE_COLUMNS);
    t.into_bytes()
}

/// Statement lines as CSV records, without the header.
pub fn lines_csv(rows: &[StatementLine]) -> Vec<u8> {
    let mut t = Table::new(48 * rows.len());
    let mut c = Cells::new();
    for l in rows {
        c.int(l.conversion_id)
            .text(l.kind.as_str())
            .money(l.amount)
            .text(&to_rfc3339(l.occurred_at))
            .write_to(&mut t);
    }
    t.into_bytes()
}

/// The header row of a clicks export.
pub fn clicks_header() -> Vec<u8> {
    let mut t = Table::new(128);
    t.header(&CLICK_COLUMNS);
    t.into_bytes()
}

/// Clicks as CSV records, without the header: an export is written batch by batch.
pub fn clicks_csv(rows: &[Click]) -> Vec<u8> {
    let mut t = Table::new(192 * rows.len());
    let mut c = Cells::new();
    for k in rows {
        c.text(&k.id)
            .int(k.offer_id)
            .int(k.partner_id)
            .text(&to_rfc3339(k.created_at));
        for s in &k.subs {
            c.opt_text(s.as_deref());
        }
        c.text(&k.ip)
            .text(&k.user_agent)
            .opt_text(k.referer.as_deref())
            .boolean(k.is_unique)
            .write_to(&mut t);
    }
    t.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::BrandId;
    use crate::domain::report::Metrics;
    use crate::domain::status::ConversionStatus;

    fn conversion() -> Conversion {
        Conversion {
            id: 7,
            brand_id: BrandId::new(1),
            click_id: None,
            offer_id: 1,
            partner_id: 2,
            event: "purchase".into(),
            amount: Some(Money(1250)),
            payout: Money(5),
            currency: "USD".into(),
            status: ConversionStatus::Pending,
            transaction_id: Some("a,\"b\"\nc".into()),
            subs: [Some("x".into()), None, None, None, Some(String::new())],
            occurred_at: 1_795_547_364,
            created_at: 1_795_547_365,
            reason: None,
            updated_at: 1_795_547_365,
            hold_until: None,
            payout_rule_id: None,
            statement_id: None,
        }
    }

    #[test]
    fn conversions_quote_as_rfc_4180_and_print_money_exactly() {
        let mut out = conversions_header();
        out.extend(conversions_csv(&[conversion()]));
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "id,click_id,offer_id,partner_id,event,amount,payout,currency,status,transaction_id,\
             sub1,sub2,sub3,sub4,sub5,occurred_at,created_at,reason,updated_at,hold_until,\
             payout_rule_id,statement_id\r\n\
             7,,1,2,purchase,12.50,0.05,USD,pending,\"a,\"\"b\"\"\nc\",x,,,,,\
             2026-11-24T19:09:24Z,2026-11-24T19:09:25Z,,2026-11-24T19:09:25Z,,,\r\n"
        );
    }

    #[test]
    fn clicks_print_nulls_empty_and_unique_as_in_json() {
        let click = Click {
            id: "01JDQ7ZK3M8XW2V5T9R4B6N1CE".into(),
            offer_id: 1,
            partner_id: 7,
            created_at: 1_795_547_364,
            subs: [Some("a,b".into()), None, None, None, Some("e".into())],
            ip: "203.0.113.9".into(),
            user_agent: "Mozilla/5.0 \"X\"".into(),
            referer: None,
            is_unique: false,
        };
        let mut out = clicks_header();
        out.extend(clicks_csv(&[click]));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "id,offer_id,partner_id,created_at,sub1,sub2,sub3,sub4,sub5,ip,user_agent,referer,\
             unique\r\n\
             01JDQ7ZK3M8XW2V5T9R4B6N1CE,1,7,2026-11-24T19:09:24Z,\"a,b\",,,,e,203.0.113.9,\
             \"Mozilla/5.0 \"\"X\"\"\",,false\r\n"
        );
    }

    #[test]
    fn report_rows_fill_only_their_time_column() {
        let row = Row {
            time: Some("2026-11".into()),
            offer_id: Some(3),
            partner_id: None,
            subs: Default::default(),
            currency: "EUR".into(),
            metrics: Metrics {
                clicks: 3,
                unique_clicks: 2,
                conversions: 1,
                revenue: 10_000,
                payout: 1_000,
                ..Metrics::default()
            },
        };
        let text = String::from_utf8(report_csv(Some(TimeGrain::Month), &[row])).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], REPORT_COLUMNS.join(","));
        assert_eq!(
            lines[1],
            ",,,2026-11,3,,,,,,,EUR,3,2,1,0,0,0,100.00,10.00,0.333333,3.333333"
        );
        assert_eq!(lines[2], "");
    }
}
