//! Rollups: report metrics pre-aggregated per brand, span (15 min, 1 h, 6 h, 1 UTC day),
//! bucket, offer, partner and currency.
//!
//! Writers collect deltas in a [`Pending`] while they insert raw rows and flush it inside the
//! same transaction, so a batch of 2,000 clicks costs a few dozen upserts, not 6,000, and the
//! rollups can never disagree with the raw rows they summarise.

use crate::domain::ids::BrandId;
use crate::domain::status::ConversionStatus;
use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::{Connection, params};

use super::StoreResult;
use crate::domain::click::ClickRow;
use crate::domain::conversion::Conversion;
use crate::domain::report::Metrics;

/// Bucket lengths in seconds, longest first. 15 minutes divides every IANA offset; 6 hours
/// halves the rows a day in a +05:30 zone needs (2 quarters, 5 hours, 3 × 6 h, 2 quarters).
pub const SPANS: [i64; 4] = [86_400, 21_600, 3_600, 900];

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    brand_id: BrandId,
    span: i64,
    bucket: i64,
    offer_id: i64,
    partner_id: i64,
    currency: Arc<str>,
}

/// Deltas not yet written; flush them in the transaction that wrote their raw rows.
#[derive(Debug, Default)]
pub struct Pending {
    deltas: HashMap<Key, Metrics>,
    /// The same deltas per sub-id tuple (`sub_rollups`).
    subs: super::sub_rollups::Deltas,
}

/// What one conversion in its current status contributes to a bucket.
pub fn conversion_metrics(c: &Conversion) -> Metrics {
    status_metrics(c.status, c.amount.map(|a| a.0), c.payout.0)
}

/// What one conversion in `status`, of `amount` and `payout` (minor units), contributes to a
/// bucket: the one definition the rollups and the sub-id rollups share.
pub fn status_metrics(status: ConversionStatus, amount: Option<i64>, payout: i64) -> Metrics {
    match status {
        ConversionStatus::Approved => Metrics {
            conversions: 1,
            revenue: amount.unwrap_or(0),
            payout,
            ..Metrics::default()
        },
        ConversionStatus::Pending => Metrics {
            pending_conversions: 1,
            ..Metrics::default()
        },
        ConversionStatus::Rejected => Metrics {
            rejected_conversions: 1,
            ..Metrics::default()
        },
        ConversionStatus::Reversed => Metrics {
            reversed_conversions: 1,
            ..Metrics::default()
        },
    }
}

impl Pending {
    #[allow(
        clippy::too_many_arguments,
        reason = "one argument per rollup key and measure, all plain values"
    )]
    pub fn add(
        &mut self,
        brand_id: BrandId,
        offer_id: i64,
        partner_id: i64,
        currency: &Arc<str>,
        ts: i64,
        m: &Metrics,
    ) {
        if *m == Metrics::default() {
            return;
        }
        for span in SPANS {
            let key = Key {
                brand_id,
                span,
                bucket: ts.div_euclid(span) * span,
                offer_id,
                partner_id,
                currency: currency.clone(),
            };
            self.deltas.entry(key).or_default().add(m);
        }
    }

    pub fn click(&mut self, c: &ClickRow) {
        let m = Metrics {
            clicks: 1,
            unique_clicks: i64::from(c.is_unique),
            ..Metrics::default()
        };
        self.subs.add(
            super::sub_rollups::Tuple {
                brand_id: c.brand_id.get(),
                currency: c.currency.clone(),
                subs: c.subs.clone(),
            },
            c.offer_id,
            c.partner_id,
            c.created_at,
            &m,
        );
        self.add(
            c.brand_id,
            c.offer_id,
            c.partner_id,
            &c.currency,
            c.created_at,
            &m,
        );
    }

    /// Count `c` in (`sign` = 1) or out of (`sign` = -1) its bucket.
    pub fn conversion(&mut self, c: &Conversion, sign: i64) {
        let m = conversion_metrics(c).scaled(sign);
        let currency: Arc<str> = Arc::from(c.currency.as_str());
        self.subs.add(
            super::sub_rollups::Tuple {
                brand_id: c.brand_id.get(),
                currency: currency.clone(),
                subs: c.subs.clone(),
            },
            c.offer_id,
            c.partner_id,
            c.occurred_at,
            &m,
        );
        self.add(
            c.brand_id,
            c.offer_id,
            c.partner_id,
            &currency,
            c.occurred_at,
            &m,
        );
    }

    /// Take over `other`'s deltas (a group of writes that succeeded as a whole).
    pub fn merge(&mut self, other: Pending) {
        for (k, m) in other.deltas {
            self.deltas.entry(k).or_default().add(&m);
        }
        self.subs.merge(other.subs);
    }

    pub fn is_empty(&self) -> bool {
        self.deltas.is_empty() && self.subs.is_empty()
    }

    /// Write every delta (an upsert each) and forget them; the sub-id deltas through `subs`,
    /// the writer's dictionary cache and seal state.
    pub fn flush(
        &mut self,
        conn: &Connection,
        subs: &mut super::sub_rollups::Writer,
    ) -> StoreResult<()> {
        subs.flush(conn, &mut self.subs)?;
        if self.deltas.is_empty() {
            return Ok(());
        }
        let mut stmt = conn.prepare_cached(
            "INSERT INTO rollups (brand_id, span, bucket, offer_id, partner_id, currency, clicks,
               unique_clicks, conversions, pending_conversions, rejected_conversions, revenue_minor,
               payout_minor, reversed_conversions)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
             ON CONFLICT (brand_id, span, bucket, offer_id, partner_id, currency) DO UPDATE SET
               clicks = clicks + excluded.clicks,
               unique_clicks = unique_clicks + excluded.unique_clicks,
               conversions = conversions + excluded.conversions,
               pending_conversions = pending_conversions + excluded.pending_conversions,
               rejected_conversions = rejected_conversions + excluded.rejected_conversions,
               revenue_minor = revenue_minor + excluded.revenue_minor,
               payout_minor = payout_minor + excluded.payout_minor,
               reversed_conversions = reversed_conversions + excluded.reversed_conversions",
        )?;
        for (k, m) in self.deltas.drain() {
            if m == Metrics::default() {
                continue;
            }
            stmt.execute(params![
                k.brand_id,
                k.span,
                k.bucket,
                k.offer_id,
                k.partner_id,
                &*k.currency,
                m.clicks,
                m.unique_clicks,
                m.conversions,
                m.pending_conversions,
                m.rejected_conversions,
                m.revenue,
                m.payout,
                m.reversed_conversions
            ])?;
        }
        Ok(())
    }
}

/// Cover `[start, end)` (multiples of 900) with as few aligned spans as possible, appending
/// `(span, from, to)` runs to `runs` and extending the previous run of the same span when
/// they touch.
pub fn cover(start: i64, end: i64, runs: &mut Vec<(i64, i64, i64)>) {
    let mut t = start;
    while t < end {
        let span = SPANS
            .into_iter()
            .find(|s| t.rem_euclid(*s) == 0 && t + s <= end)
            .unwrap_or(900);
        match runs.iter_mut().find(|(s, _, to)| *s == span && *to == t) {
            Some(run) => run.2 = t + span,
            None => runs.push((span, t, t + span)),
        }
        t += span;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cover_uses_days_hours_and_quarters() {
        let mut runs = Vec::new();
        // 23:15 on day 0 to 01:30 on day 2.
        let (start, end) = (86_400 - 2_700, 2 * 86_400 + 5_400);
        cover(start, end, &mut runs);
        assert_eq!(
            runs,
            vec![
                (900, start, 86_400),
                (86_400, 86_400, 2 * 86_400),
                (3_600, 2 * 86_400, 2 * 86_400 + 3_600),
                (900, 2 * 86_400 + 3_600, end),
            ]
        );
    }

    #[test]
    fn adjacent_runs_merge() {
        let mut runs = Vec::new();
        cover(0, 86_400, &mut runs);
        cover(86_400, 3 * 86_400, &mut runs);
        assert_eq!(runs, vec![(86_400, 0, 3 * 86_400)]);
    }
}
