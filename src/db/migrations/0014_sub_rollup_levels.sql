-- Sub-id rollups per offer (level 2: partner_id = 0) and per partner (level 3: offer_id = 0)
-- beside 0 (neither) and 1 (both): a report grouped or filtered by the offer alone reads
-- level 2, which at 10,000 sub values over 5 offers and 20 partners holds 50,000 keys where
-- level 1 holds a million (src/store/sub_rollups.rs, `LEVELS`).

-- The 15-minute rows of the new levels, summed from level 1's (what the backfill has not
-- reached yet, it writes at every level).
INSERT INTO sub_rollups (brand_id, level, span, bucket, offer_id, partner_id, tuple_id,
    clicks, unique_clicks, conversions, pending_conversions, rejected_conversions,
    reversed_conversions, revenue_minor, payout_minor)
SELECT brand_id, 2, 900, bucket, offer_id, 0, tuple_id,
    sum(clicks), sum(unique_clicks), sum(conversions), sum(pending_conversions),
    sum(rejected_conversions), sum(reversed_conversions), sum(revenue_minor), sum(payout_minor)
FROM sub_rollups WHERE level = 1 AND span = 900
GROUP BY brand_id, bucket, offer_id, tuple_id;

INSERT INTO sub_rollups (brand_id, level, span, bucket, offer_id, partner_id, tuple_id,
    clicks, unique_clicks, conversions, pending_conversions, rejected_conversions,
    reversed_conversions, revenue_minor, payout_minor)
SELECT brand_id, 3, 900, bucket, 0, partner_id, tuple_id,
    sum(clicks), sum(unique_clicks), sum(conversions), sum(pending_conversions),
    sum(rejected_conversions), sum(reversed_conversions), sum(revenue_minor), sum(payout_minor)
FROM sub_rollups WHERE level = 1 AND span = 900
GROUP BY brand_id, bucket, partner_id, tuple_id;

-- Sealing walks every span again from the oldest row: the writer skips the blocks already
-- written (levels 0 and 1) and seals the new levels' (a missing `seal_<span>` starts at
-- `first`).
-- Per brand, so each lookup is a seek on the primary key, not a scan of the table.
UPDATE sub_state SET value = min(value, COALESCE((SELECT min(m) FROM (
    SELECT (SELECT min(bucket) FROM sub_rollups r
            WHERE r.brand_id = b.id AND r.level = 0 AND r.span = 900) AS m
    FROM brands b)), value))
WHERE name = 'first';
DELETE FROM sub_state WHERE name LIKE 'seal\_%' ESCAPE '\';
