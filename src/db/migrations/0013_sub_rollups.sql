-- Sub-id rollups (src/store/sub_rollups.rs): report metrics per sub-id tuple, so reports
-- grouped by sub1..sub5 read a few thousand rows instead of every raw click.

-- Each distinct (brand, currency, sub1..sub5) once; rollup rows carry its id, so they are
-- integers only and a report groups on integers, resolving the ids of its output groups to
-- text at the end. Looked up by `hash` (the first 8 bytes of the SHA-256 of the tuple's
-- encoding) then compared, as `click_texts` is: an index of 8-byte keys, not a second copy
-- of the text. The currency is in the tuple because a conversion's currency is its own.
CREATE TABLE sub_tuples (
    id       INTEGER PRIMARY KEY,
    hash     INTEGER NOT NULL,
    brand_id INTEGER NOT NULL,
    currency TEXT    NOT NULL,
    sub1 TEXT, sub2 TEXT, sub3 TEXT, sub4 TEXT, sub5 TEXT
);
CREATE INDEX sub_tuples_hash ON sub_tuples(hash);

-- `level` 0 sums every offer and partner (offer_id = partner_id = 0): what a report that
-- neither groups nor filters by offer or partner reads. Level 1 keeps them.
-- `span`: 900 rows are written by the writer with the raw rows; longer spans (1 h, 6 h, 1 day,
-- and aligned 2, 4, 8, 16 days) are sealed from shorter rows once their block has ended, and
-- only where they compress (see `sub_seals`).
CREATE TABLE sub_rollups (
    brand_id             INTEGER NOT NULL,
    level                INTEGER NOT NULL,
    span                 INTEGER NOT NULL,
    bucket               INTEGER NOT NULL,
    offer_id             INTEGER NOT NULL,
    partner_id           INTEGER NOT NULL,
    tuple_id             INTEGER NOT NULL,
    clicks               INTEGER NOT NULL DEFAULT 0,
    unique_clicks        INTEGER NOT NULL DEFAULT 0,
    conversions          INTEGER NOT NULL DEFAULT 0,
    pending_conversions  INTEGER NOT NULL DEFAULT 0,
    rejected_conversions INTEGER NOT NULL DEFAULT 0,
    reversed_conversions INTEGER NOT NULL DEFAULT 0,
    revenue_minor        INTEGER NOT NULL DEFAULT 0,
    payout_minor         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (brand_id, level, span, bucket, offer_id, partner_id, tuple_id)
) WITHOUT ROWID;

-- The longer blocks that were written. A block not listed (not yet sealed, or skipped because
-- it would not have had fewer rows than its parts) is read from shorter rows.
CREATE TABLE sub_seals (
    brand_id INTEGER NOT NULL,
    level    INTEGER NOT NULL,
    span     INTEGER NOT NULL,
    bucket   INTEGER NOT NULL,
    PRIMARY KEY (brand_id, level, span, bucket)
) WITHOUT ROWID;

-- `live_from`: deltas at or after it are written live. `backfill_next`: the raw rows before it
-- are summed (the writer's background backfill, in small batches). Between the two the writer
-- writes no deltas: the backfill reads those rows' current state when it gets there. Sub-id
-- reports read the rollups once backfill_next reaches live_from. `first`: where sealing
-- starts; `seal_<span>`: the next block of that span to seal.
CREATE TABLE sub_state (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;

-- lo: the oldest raw row; hi: now or the newest raw row, whichever is later (per brand, on
-- the (brand, time) keys). No temporary table: plain statements in the migration's transaction.
INSERT INTO sub_state (name, value)
WITH bounds(lo, hi) AS (SELECT
    (SELECT min(t) FROM (
        SELECT (SELECT min(created_at) FROM clicks c WHERE c.brand_id = b.id) AS t FROM brands b
        UNION ALL
        SELECT (SELECT min(occurred_at) FROM conversions v WHERE v.brand_id = b.id) FROM brands b
    )),
    (SELECT max(t) FROM (
        SELECT CAST(strftime('%s', 'now') AS INTEGER) AS t
        UNION ALL
        SELECT (SELECT max(created_at) FROM clicks c WHERE c.brand_id = b.id) FROM brands b
        UNION ALL
        SELECT (SELECT max(occurred_at) FROM conversions v WHERE v.brand_id = b.id) FROM brands b
    ))),
start(lo, live) AS (SELECT
    COALESCE(lo - ((lo % 900) + 900) % 900, (hi / 900 + 1) * 900), (hi / 900 + 1) * 900
    FROM bounds)
SELECT 'live_from', live FROM start
UNION ALL SELECT 'backfill_next', lo FROM start
UNION ALL SELECT 'first', lo FROM start;
