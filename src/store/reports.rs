//! Report source rows: metrics per 15-minute UTC bucket and requested dimensions.
//!
//! Every IANA zone's offset is a multiple of 15 minutes, so 15-minute buckets re-bucket exactly
//! into any zone's hours, days, weeks and months. Reports grouped only by time, offer and
//! partner read the rollups (a few thousand rows for a month); grouping by sub1..sub5 reads
//! the sub-id rollups (`sub_rollups`), or the raw rows until their backfill has finished.

use crate::domain::ids::BrandId;
use rusqlite::{Connection, params, params_from_iter, types::Value};

use super::StoreResult;
use crate::domain::report::{BUCKET_SECS, Dims, Key, Metrics, Report, TimeBuckets, build};
use crate::domain::report_request::ReportRequest;

#[derive(Debug, Clone)]
pub struct Query {
    pub brand_id: BrandId,
    pub from: i64,
    pub to: i64,
    pub offer_id: Option<i64>,
    pub partner_id: Option<i64>,
    pub dims: Dims,
    /// Where the report's time buckets start inside `(from, to]`: a rollup row never straddles
    /// one of these.
    pub cuts: Vec<i64>,
}

fn dim_columns(dims: &Dims, alias: &str) -> String {
    let mut cols = vec![
        if dims.offer {
            format!("{alias}.offer_id")
        } else {
            "NULL".into()
        },
        if dims.partner {
            format!("{alias}.partner_id")
        } else {
            "NULL".into()
        },
    ];
    for (i, on) in dims.subs.iter().enumerate() {
        cols.push(if *on {
            format!("{alias}.sub{}", i + 1)
        } else {
            "NULL".into()
        });
    }
    cols.join(", ")
}

fn key(r: &rusqlite::Row) -> rusqlite::Result<Key> {
    Ok(Key {
        bucket: r.get(0)?,
        offer_id: r.get(1)?,
        partner_id: r.get(2)?,
        subs: [r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?],
        currency: r.get(8)?,
    })
}

/// The report `r` asks for, over brand `brand_id`'s data: what `/reports` and the dashboard show.
pub fn report(conn: &Connection, brand_id: BrandId, r: &ReportRequest) -> StoreResult<Report> {
    Ok(report_bounded(conn, brand_id, r, usize::MAX)?.unwrap_or_else(|_| build(None, Vec::new())))
}

/// As `report`, but a report of more than `max_rows` groups may stop early:
/// `Err(at least how many)`. The caller still checks the built rows (empty time buckets
/// add rows of their own).
pub fn report_bounded(
    conn: &Connection,
    brand_id: BrandId,
    r: &ReportRequest,
    max_rows: usize,
) -> StoreResult<Result<Report, usize>> {
    let buckets = r.buckets();
    let q = Query {
        brand_id,
        from: r.range.start,
        to: r.range.end - 1,
        offer_id: r.offer_id,
        partner_id: r.partner_id,
        dims: r.group.dims,
        cuts: buckets.as_ref().map(TimeBuckets::cuts).unwrap_or_default(),
    };
    Ok(source_rows(conn, &q, max_rows)?.map(|rows| build(buckets, rows)))
}

/// Source rows of the range: from the rollups when they can answer exactly, else raw rows.
/// `Err(n)`: more than `max_groups` groups (at least `n`), found before reading everything.
pub fn source_rows(
    conn: &Connection,
    q: &Query,
    max_groups: usize,
) -> StoreResult<Result<Vec<(Key, Metrics)>, usize>> {
    let aligned = |t: i64| t.rem_euclid(BUCKET_SECS) == 0;
    let rollups_can = aligned(q.from) && aligned(q.to + 1) && q.cuts.iter().all(|c| aligned(*c));
    if !rollups_can {
        return raw_rows(conn, q).map(Ok);
    }
    if !q.dims.subs.iter().any(|s| *s) {
        return rollup_rows(conn, q).map(Ok);
    }
    Ok(
        match super::sub_rollups::source_rows(conn, q, max_groups)? {
            Some(super::sub_rollups::Answer::Rows(rows)) => Ok(rows),
            Some(super::sub_rollups::Answer::TooLarge(n)) => Err(n),
            None => Ok(raw_rows(conn, q)?),
        },
    )
}

/// Read the rollups, covering each report bucket with the longest spans that fit in it.
pub fn rollup_rows(conn: &Connection, q: &Query) -> StoreResult<Vec<(Key, Metrics)>> {
    let mut edges: Vec<i64> = Vec::with_capacity(q.cuts.len() + 2);
    edges.push(q.from);
    edges.extend(q.cuts.iter().copied().filter(|c| *c > q.from && *c <= q.to));
    edges.push(q.to + 1);
    let mut runs = Vec::new();
    for w in edges.windows(2) {
        super::rollups::cover(w[0], w[1], &mut runs);
    }
    let sql = format!(
        "SELECT bucket / {BUCKET_SECS}, {o}, {p}, currency, SUM(clicks), SUM(unique_clicks),
           SUM(conversions), SUM(pending_conversions), SUM(rejected_conversions),
           SUM(revenue_minor), SUM(payout_minor), SUM(reversed_conversions)
         FROM rollups
         WHERE brand_id = ?1 AND span = ?2 AND bucket >= ?3 AND bucket < ?4
           AND (?5 IS NULL OR offer_id = ?5) AND (?6 IS NULL OR partner_id = ?6)
         GROUP BY 1, 2, 3, 4",
        o = if q.dims.offer { "offer_id" } else { "NULL" },
        p = if q.dims.partner { "partner_id" } else { "NULL" },
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut out = Vec::new();
    for (span, from, to) in runs {
        let mut rows = stmt.query(params![
            q.brand_id,
            span,
            from,
            to,
            q.offer_id,
            q.partner_id
        ])?;
        while let Some(r) = rows.next()? {
            let key = Key {
                bucket: r.get(0)?,
                offer_id: r.get(1)?,
                partner_id: r.get(2)?,
                subs: Default::default(),
                currency: r.get(3)?,
            };
            let m = Metrics {
                clicks: r.get(4)?,
                unique_clicks: r.get(5)?,
                conversions: r.get(6)?,
                pending_conversions: r.get(7)?,
                rejected_conversions: r.get(8)?,
                revenue: r.get(9)?,
                payout: r.get(10)?,
                reversed_conversions: r.get(11)?,
            };
            if m != Metrics::default() {
                out.push((key, m));
            }
        }
    }
    Ok(out)
}

/// Aggregate raw clicks and conversions of the range into source rows.
pub fn raw_rows(conn: &Connection, q: &Query) -> StoreResult<Vec<(Key, Metrics)>> {
    let args: Vec<Value> = vec![
        q.brand_id.get().into(),
        q.from.into(),
        q.to.into(),
        q.offer_id.map_or(Value::Null, Value::from),
        q.partner_id.map_or(Value::Null, Value::from),
    ];
    let mut out = Vec::new();

    let clicks_sql = format!(
        "SELECT c.created_at / {BUCKET_SECS} AS b, {dims}, o.currency, COUNT(*), SUM(c.is_unique)
         FROM clicks c JOIN offers o ON o.id = c.offer_id
         WHERE c.brand_id = ?1 AND c.created_at >= ?2 AND c.created_at <= ?3
           AND (?4 IS NULL OR c.offer_id = ?4) AND (?5 IS NULL OR c.partner_id = ?5)
         GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9",
        dims = dim_columns(&q.dims, "c"),
    );
    let mut stmt = conn.prepare_cached(&clicks_sql)?;
    let mut rows = stmt.query(params_from_iter(args.iter()))?;
    while let Some(r) = rows.next()? {
        let m = Metrics {
            clicks: r.get(9)?,
            unique_clicks: r.get(10)?,
            ..Default::default()
        };
        out.push((key(r)?, m));
    }

    let conv_sql = format!(
        "SELECT v.occurred_at / {BUCKET_SECS} AS b, {dims}, v.currency,
           SUM(v.status = 'approved'), SUM(v.status = 'pending'), SUM(v.status = 'rejected'),
           SUM(CASE WHEN v.status = 'approved' THEN COALESCE(v.amount_minor, 0) ELSE 0 END),
           SUM(CASE WHEN v.status = 'approved' THEN v.payout_minor ELSE 0 END),
           SUM(v.status = 'reversed')
         FROM conversions v
         WHERE v.brand_id = ?1 AND v.occurred_at >= ?2 AND v.occurred_at <= ?3
           AND (?4 IS NULL OR v.offer_id = ?4) AND (?5 IS NULL OR v.partner_id = ?5)
         GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9",
        dims = dim_columns(&q.dims, "v"),
    );
    let mut stmt = conn.prepare_cached(&conv_sql)?;
    let mut rows = stmt.query(params_from_iter(args.iter()))?;
    while let Some(r) = rows.next()? {
        let m = Metrics {
            conversions: r.get(9)?,
            pending_conversions: r.get(10)?,
            rejected_conversions: r.get(11)?,
            revenue: r.get(12)?,
            payout: r.get(13)?,
            reversed_conversions: r.get(14)?,
            ..Default::default()
        };
        out.push((key(r)?, m));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_saturate_instead_of_overflowing() {
        let mut m = Metrics {
            revenue: i64::MAX - 1,
            payout: 5,
            ..Metrics::default()
        };
        m.add(&Metrics {
            revenue: 10,
            payout: 7,
            ..Metrics::default()
        });
        assert_eq!(m.revenue, i64::MAX);
        assert_eq!(m.payout, 12);
    }
}
