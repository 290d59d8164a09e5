-- The conversion lifecycle: `reversed` joins the statuses (a CHECK can't be altered in
-- SQLite, so the table is rebuilt), conversions carry the last change's `reason`, every
-- creation and status change is kept in `conversion_history`, rollups count reversals.
CREATE TABLE conversions_new (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    brand_id       INTEGER NOT NULL REFERENCES brands(id),
    click_id       TEXT,
    offer_id       INTEGER NOT NULL REFERENCES offers(id),
    partner_id     INTEGER NOT NULL REFERENCES partners(id),
    event          TEXT    NOT NULL,
    amount_minor   INTEGER,
    payout_minor   INTEGER NOT NULL,
    currency       TEXT    NOT NULL,
    status         TEXT    NOT NULL
                   CHECK (status IN ('approved', 'pending', 'rejected', 'reversed')),
    transaction_id TEXT,
    sub1 TEXT, sub2 TEXT, sub3 TEXT, sub4 TEXT, sub5 TEXT,
    occurred_at    INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    reason         TEXT
);
INSERT INTO conversions_new (id, brand_id, click_id, offer_id, partner_id, event, amount_minor,
    payout_minor, currency, status, transaction_id, sub1, sub2, sub3, sub4, sub5, occurred_at,
    created_at, updated_at)
SELECT id, brand_id, click_id, offer_id, partner_id, event, amount_minor, payout_minor, currency,
    status, transaction_id, sub1, sub2, sub3, sub4, sub5, occurred_at, created_at, updated_at
FROM conversions;
DROP TABLE conversions;
ALTER TABLE conversions_new RENAME TO conversions;
CREATE UNIQUE INDEX conversions_txn ON conversions(brand_id, transaction_id);
CREATE INDEX conversions_brand ON conversions(brand_id, id);
CREATE INDEX conversions_brand_time ON conversions(brand_id, occurred_at);
CREATE INDEX conversions_click ON conversions(brand_id, click_id);

-- Written by the store in the transaction of the change. `from_status` NULL: the creation.
-- Conversions recorded before this migration have no creation entry.
CREATE TABLE conversion_history (
    id            INTEGER PRIMARY KEY,
    conversion_id INTEGER NOT NULL REFERENCES conversions(id),
    at            INTEGER NOT NULL,
    from_status   TEXT,
    to_status     TEXT    NOT NULL,
    reason        TEXT,
    actor         TEXT    NOT NULL
);
CREATE INDEX conversion_history_conversion ON conversion_history(conversion_id, id);

ALTER TABLE rollups ADD COLUMN reversed_conversions INTEGER NOT NULL DEFAULT 0;
