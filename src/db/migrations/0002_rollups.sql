-- Pre-aggregated report buckets, written by the click/conversion writer in the same
-- transaction as the raw rows. Each event is counted at four spans: 15 minutes (every IANA
-- offset is a multiple of 15 minutes, so any zone's hours and days are exact sums of these),
-- 1 hour, 6 hours and 1 UTC day (so long ranges read few rows). `bucket` is the span's start, in unix
-- seconds. Clicks count at created_at, conversions at occurred_at; the currency is the offer's.
CREATE TABLE rollups (
    brand_id            INTEGER NOT NULL,
    span                INTEGER NOT NULL CHECK (span IN (900, 3600, 21600, 86400)),
    bucket              INTEGER NOT NULL,
    offer_id            INTEGER NOT NULL,
    partner_id          INTEGER NOT NULL,
    currency            TEXT    NOT NULL,
    clicks              INTEGER NOT NULL DEFAULT 0,
    unique_clicks       INTEGER NOT NULL DEFAULT 0,
    conversions         INTEGER NOT NULL DEFAULT 0,
    pending_conversions INTEGER NOT NULL DEFAULT 0,
    -- Not a report metric; it keeps a group with only rejected conversions in reports.
    rejected_conversions INTEGER NOT NULL DEFAULT 0,
    revenue_minor       INTEGER NOT NULL DEFAULT 0,
    payout_minor        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (brand_id, span, bucket, offer_id, partner_id, currency)
) WITHOUT ROWID;

-- Backfill from the raw rows already there.
CREATE TEMP TABLE spans (span INTEGER PRIMARY KEY);
INSERT INTO spans VALUES (900), (3600), (21600), (86400);

INSERT INTO rollups (brand_id, span, bucket, offer_id, partner_id, currency, clicks, unique_clicks)
SELECT c.brand_id, s.span, (c.created_at / s.span) * s.span, c.offer_id, c.partner_id, o.currency,
       COUNT(*), SUM(c.is_unique)
FROM clicks c JOIN offers o ON o.id = c.offer_id CROSS JOIN spans s
GROUP BY 1, 2, 3, 4, 5, 6;

INSERT INTO rollups (brand_id, span, bucket, offer_id, partner_id, currency,
                     conversions, pending_conversions, rejected_conversions, revenue_minor,
                     payout_minor)
SELECT v.brand_id, s.span, (v.occurred_at / s.span) * s.span, v.offer_id, v.partner_id, v.currency,
       SUM(v.status = 'approved'), SUM(v.status = 'pending'), SUM(v.status = 'rejected'),
       SUM(CASE WHEN v.status = 'approved' THEN COALESCE(v.amount_minor, 0) ELSE 0 END),
       SUM(CASE WHEN v.status = 'approved' THEN v.payout_minor ELSE 0 END)
FROM conversions v CROSS JOIN spans s
WHERE true
GROUP BY 1, 2, 3, 4, 5, 6
ON CONFLICT (brand_id, span, bucket, offer_id, partner_id, currency) DO UPDATE SET
    conversions = conversions + excluded.conversions,
    pending_conversions = pending_conversions + excluded.pending_conversions,
    rejected_conversions = rejected_conversions + excluded.rejected_conversions,
    revenue_minor = revenue_minor + excluded.revenue_minor,
    payout_minor = payout_minor + excluded.payout_minor;

DROP TABLE temp.spans;
