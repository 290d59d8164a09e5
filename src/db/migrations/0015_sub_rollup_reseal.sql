-- Sealing walks every span again from the oldest row (src/store/sub_rollups/sealing.rs): a
-- block whose parts are more rows than one step reads is now summed over several steps,
-- where before it was given up (at 10,000 sub values no block of a partner's rows was
-- written, and a partner's month read every quarter row). The writer skips the blocks already
-- written. Nothing else changes; a missing `seal_<span>` starts at `first`.
UPDATE sub_state SET value = min(value, COALESCE((SELECT min(m) FROM (
    SELECT (SELECT min(bucket) FROM sub_rollups r
            WHERE r.brand_id = b.id AND r.level = 0 AND r.span = 900) AS m
    FROM brands b)), value))
WHERE name = 'first';
DELETE FROM sub_state WHERE name LIKE 'seal\_%' ESCAPE '\';
