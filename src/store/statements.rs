//! Partner statements and their lines. Created, paid and deleted by the writer thread only, in
//! the order of the conversion changes around them, so a line and its conversion never
//! disagree. A statement's total and line count are always read as the sum and count of its
//! lines: there is no second copy to drift.

use chrono::NaiveDate;
use chrono_tz::Tz;
use rusqlite::{Connection, params};

use super::{Page, StoreError, StoreResult, events, one, paginate};
use crate::domain::conversion::Conversion;
use crate::domain::ids::BrandId;
use crate::domain::money::Money;
use crate::domain::statement::{Statement, StatementLine};
use crate::domain::status::StatementStatus;
use crate::domain::time::{day_start, now};

const COLUMNS: &str = "s.id, s.brand_id, s.partner_id, s.currency, s.through, s.status,
    (SELECT coalesce(sum(amount_minor), 0) FROM statement_lines l WHERE l.statement_id = s.id),
    (SELECT count(*) FROM statement_lines l WHERE l.statement_id = s.id),
    s.created_at, s.paid_at";

fn row(r: &rusqlite::Row) -> rusqlite::Result<Statement> {
    Ok(Statement {
        id: r.get(0)?,
        brand_id: r.get(1)?,
        partner_id: r.get(2)?,
        currency: r.get(3)?,
        through: r.get(4)?,
        status: r.get(5)?,
        total: Money(r.get(6)?),
        lines: r.get(7)?,
        created_at: r.get(8)?,
        paid_at: r.get(9)?,
    })
}

/// Why no statement was made.
pub const NOTHING_TO_PAY: &str = "nothing to pay";

pub fn get(conn: &Connection, brand_id: BrandId, id: i64) -> StoreResult<Statement> {
    one(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM statements s WHERE s.brand_id = ?1 AND s.id = ?2"
        ))?
        .query_row(params![brand_id, id], row))
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Filter {
    pub partner_id: Option<i64>,
    pub status: Option<StatementStatus>,
}

pub fn list(
    conn: &Connection,
    brand_id: BrandId,
    f: Filter,
    before_id: Option<i64>,
    limit: u32,
) -> StoreResult<Page<Statement>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM statements s WHERE s.brand_id = ?1
         AND (?2 IS NULL OR s.partner_id = ?2) AND (?3 IS NULL OR s.status = ?3)
         AND s.id < ?4 ORDER BY s.id DESC LIMIT ?5"
    ))?;
    let rows = stmt
        .query_map(
            params![
                brand_id,
                f.partner_id,
                f.status,
                before_id.unwrap_or(i64::MAX),
                limit + 1
            ],
            row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(paginate(rows, limit))
}

/// Up to `size` lines of a statement after line id `after`, in order: a page, or an export's
/// batch.
pub fn lines(
    conn: &Connection,
    brand_id: BrandId,
    id: i64,
    after: Option<i64>,
    size: u32,
) -> StoreResult<Vec<StatementLine>> {
    get(conn, brand_id, id)?;
    let mut stmt = conn.prepare_cached(
        "SELECT id, conversion_id, kind, amount_minor, occurred_at FROM statement_lines
         WHERE statement_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
    )?;
    let rows = stmt
        .query_map(params![id, after.unwrap_or(0), size], |r| {
            Ok(StatementLine {
                id: r.get(0)?,
                conversion_id: r.get(1)?,
                kind: r.get(2)?,
                amount: Money(r.get(3)?),
                occurred_at: r.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Whether statement `id` has been paid (a conversion on it may then only be reversed).
pub fn is_paid(conn: &Connection, id: i64) -> StoreResult<bool> {
    let status: StatementStatus = one(conn
        .prepare_cached("SELECT status FROM statements WHERE id = ?1")?
        .query_row([id], |r| r.get(0)))?;
    Ok(status == StatementStatus::Paid)
}

/// What a partner has to be paid, by currency: every approved conversion up to `through_at`
/// on no statement, and a clawback of every reversed conversion a paid statement paid that no
/// statement has clawed back yet.
const PAYABLE: &str = "brand_id = ?1 AND partner_id = ?2
    AND status = 'approved' AND statement_id IS NULL AND occurred_at < ?3 AND currency = ?4";
const CLAWBACKS: &str = "FROM conversions c WHERE c.brand_id = ?1 AND c.partner_id = ?2
    AND c.status = 'reversed' AND c.currency = ?4 AND c.statement_id IS NOT NULL
    AND (SELECT status FROM statements s WHERE s.id = c.statement_id) = 'paid'
    AND NOT EXISTS (SELECT 1 FROM statement_lines l
                    WHERE l.conversion_id = c.id AND l.kind = 'clawback')";

/// Make the statements of `partner_id` through `through` (the end of that day in `tz`): one
/// per currency with a line to pay, each with a `statement.created` event. None to make:
/// `Invalid(NOTHING_TO_PAY)`.
pub fn create(
    conn: &Connection,
    brand_id: BrandId,
    partner_id: i64,
    through: NaiveDate,
    tz: Tz,
) -> StoreResult<Vec<Statement>> {
    super::partners::named(conn, brand_id, partner_id)?;
    let end = through
        .succ_opt()
        .map(|d| day_start(d, tz))
        .ok_or_else(|| StoreError::Invalid("through is out of range".into()))?;
    let currencies: Vec<String> = conn
        .prepare_cached(&format!(
            "SELECT currency {PAYOUTS_ANY} UNION SELECT currency {CLAWBACKS_ANY}",
            PAYOUTS_ANY =
                format!("FROM conversions WHERE {PAYABLE}").replace("AND currency = ?4", ""),
            CLAWBACKS_ANY = CLAWBACKS.replace("AND c.currency = ?4", ""),
        ))?
        .query_map(params![brand_id, partner_id, end], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if currencies.is_empty() {
        return Err(StoreError::Invalid(NOTHING_TO_PAY.into()));
    }
    let ts = now();
    let mut made = Vec::with_capacity(currencies.len());
    for currency in currencies {
        conn.prepare_cached(
            "INSERT INTO statements (brand_id, partner_id, currency, through, through_at, status,
             created_at) VALUES (?1, ?2, ?3, ?4, ?5, 'open', ?6)",
        )?
        .execute(params![
            brand_id,
            partner_id,
            currency,
            through.to_string(),
            end,
            ts
        ])?;
        let id = conn.last_insert_rowid();
        let args = params![brand_id, partner_id, end, currency, id];
        conn.prepare_cached(&format!(
            "INSERT INTO statement_lines (statement_id, conversion_id, kind, amount_minor,
             occurred_at) SELECT ?5, id, 'payout', payout_minor, occurred_at FROM conversions
             WHERE {PAYABLE} ORDER BY id"
        ))?
        .execute(args)?;
        conn.prepare_cached(&format!(
            "INSERT INTO statement_lines (statement_id, conversion_id, kind, amount_minor,
             occurred_at) SELECT ?5, c.id, 'clawback', -c.payout_minor, c.occurred_at {CLAWBACKS}
             ORDER BY c.id"
        ))?
        .execute(args)?;
        conn.prepare_cached(&format!(
            "UPDATE conversions SET statement_id = ?5 WHERE {PAYABLE}"
        ))?
        .execute(args)?;
        let s = get(conn, brand_id, id)?;
        events::statement(conn, events::STATEMENT_CREATED, &s, ts)?;
        made.push(s);
    }
    Ok(made)
}

/// Mark a statement paid (`statement.paid`); paying it again changes nothing.
pub fn pay(conn: &Connection, brand_id: BrandId, id: i64) -> StoreResult<Statement> {
    let s = get(conn, brand_id, id)?;
    if s.status == StatementStatus::Paid {
        return Ok(s);
    }
    let ts = now();
    conn.prepare_cached("UPDATE statements SET status = 'paid', paid_at = ?2 WHERE id = ?1")?
        .execute(params![id, ts])?;
    let s = get(conn, brand_id, id)?;
    events::statement(conn, events::STATEMENT_PAID, &s, ts)?;
    Ok(s)
}

/// Why a paid statement can't be deleted.
pub const PAID_IS_FINAL: &str = "a paid statement can't be deleted";

/// Delete an open statement: its conversions are free for the next one. Paid: `Invalid`.
pub fn delete(conn: &Connection, brand_id: BrandId, id: i64) -> StoreResult<()> {
    if get(conn, brand_id, id)?.status == StatementStatus::Paid {
        return Err(StoreError::Invalid(PAID_IS_FINAL.into()));
    }
    // Its conversions are the ones its payout lines name (a line and its conversion's
    // `statement_id` are set and cleared together): found through the lines' index, not by
    // walking the brand's conversions for `statement_id`, which has none.
    conn.prepare_cached(
        "UPDATE conversions SET statement_id = NULL WHERE brand_id = ?1 AND statement_id = ?2
         AND id IN (SELECT conversion_id FROM statement_lines
                    WHERE statement_id = ?2 AND kind = 'payout')",
    )?
    .execute(params![brand_id, id])?;
    conn.prepare_cached("DELETE FROM statement_lines WHERE statement_id = ?1")?
        .execute([id])?;
    conn.prepare_cached("DELETE FROM statements WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Before `c` changes status: a conversion on an open statement leaves it (its line goes, the
/// total follows). One on a paid statement stays (only a reversal is allowed, checked before).
pub fn leave_open(conn: &Connection, c: &Conversion) -> StoreResult<()> {
    let Some(sid) = c.statement_id else {
        return Ok(());
    };
    if is_paid(conn, sid)? {
        return Ok(());
    }
    conn.prepare_cached(
        "DELETE FROM statement_lines WHERE statement_id = ?1 AND conversion_id = ?2 AND kind = 'payout'",
    )?
    .execute(params![sid, c.id])?;
    conn.prepare_cached("UPDATE conversions SET statement_id = NULL WHERE id = ?1")?
        .execute([c.id])?;
    Ok(())
}

/// Per partner and currency, what the brand still owes: approved conversions on no statement,
/// open statements' lines, less the clawbacks not yet on a statement (paid statements are
/// settled). For the dashboard's balances.
pub fn outstanding(conn: &Connection, brand_id: BrandId) -> StoreResult<Vec<(i64, String, Money)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT partner_id, currency, sum(amount) FROM (
            SELECT partner_id, currency, payout_minor AS amount FROM conversions
             WHERE brand_id = ?1 AND status = 'approved' AND statement_id IS NULL
            UNION ALL
            SELECT s.partner_id, s.currency, l.amount_minor FROM statements s
             JOIN statement_lines l ON l.statement_id = s.id
             WHERE s.brand_id = ?1 AND s.status = 'open'
            UNION ALL
            SELECT c.partner_id, c.currency, -c.payout_minor FROM conversions c
             JOIN statements s ON s.id = c.statement_id
             WHERE c.brand_id = ?1 AND c.status = 'reversed' AND s.status = 'paid'
             AND NOT EXISTS (SELECT 1 FROM statement_lines l
                             WHERE l.conversion_id = c.id AND l.kind = 'clawback'))
         GROUP BY partner_id, currency ORDER BY partner_id, currency",
    )?;
    let rows = stmt
        .query_map([brand_id], |r| Ok((r.get(0)?, r.get(1)?, Money(r.get(2)?))))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
