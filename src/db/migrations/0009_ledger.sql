-- The money ledger (API 1.1): hold periods, payout rules, caps and partner statements.

-- Days a conversion that would be approved is held pending first (0: not held).
ALTER TABLE offers ADD COLUMN hold_days INTEGER NOT NULL DEFAULT 0
    CHECK (hold_days BETWEEN 0 AND 365);

-- `hold_until`: set when a conversion was held; the hold job approves pending ones once it
-- has passed, and any other status change clears it (a person decided). `payout_rule_id`:
-- the rule that set its payout when it was recorded (NULL: the offer's own). `statement_id`:
-- the statement whose payout line pays it.
ALTER TABLE conversions ADD COLUMN hold_until INTEGER;
ALTER TABLE conversions ADD COLUMN payout_rule_id INTEGER;
ALTER TABLE conversions ADD COLUMN statement_id INTEGER;
-- Only held, still pending conversions: the hold job's whole read.
CREATE INDEX conversions_held ON conversions(hold_until)
    WHERE status = 'pending' AND hold_until IS NOT NULL;

-- `offer_id` NULL: every offer of the partner. Deleting a rule removes the row; conversions
-- keep the payout (and the id) it gave them.
CREATE TABLE payout_rules (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    brand_id     INTEGER NOT NULL REFERENCES brands(id),
    offer_id     INTEGER REFERENCES offers(id),
    partner_id   INTEGER NOT NULL REFERENCES partners(id),
    payout_type  TEXT    NOT NULL CHECK (payout_type IN ('cpa', 'revshare')),
    payout_minor INTEGER NOT NULL CHECK (payout_minor >= 0),
    starts_at    INTEGER NOT NULL,
    ends_at      INTEGER,
    created_at   INTEGER NOT NULL
);
CREATE INDEX payout_rules_partner ON payout_rules(brand_id, partner_id, id);
CREATE INDEX payout_rules_brand ON payout_rules(brand_id, id);

-- `partner_id` NULL: the whole offer. `limit_value`: a count, or minor units for `payout`.
CREATE TABLE caps (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    brand_id    INTEGER NOT NULL REFERENCES brands(id),
    offer_id    INTEGER NOT NULL REFERENCES offers(id),
    partner_id  INTEGER REFERENCES partners(id),
    metric      TEXT    NOT NULL CHECK (metric IN ('conversions', 'payout')),
    window      TEXT    NOT NULL CHECK (window IN ('day', 'week', 'month', 'lifetime')),
    limit_value INTEGER NOT NULL CHECK (limit_value > 0),
    created_at  INTEGER NOT NULL
);
CREATE INDEX caps_offer ON caps(brand_id, offer_id, id);

-- What a cap has used in one window (`window_start`: its first instant in the brand's zone;
-- 0 for `lifetime`). Kept by the writer in the transaction of every change that counts, so it
-- is exact however many postbacks arrive at once.
CREATE TABLE cap_usage (
    cap_id       INTEGER NOT NULL REFERENCES caps(id) ON DELETE CASCADE,
    window_start INTEGER NOT NULL,
    used         INTEGER NOT NULL,
    PRIMARY KEY (cap_id, window_start)
) WITHOUT ROWID;

-- A statement's total and line count are always read as the sum and count of its lines.
-- `through`: the date as given; `through_at`: the first instant after that day in the brand's
-- zone (conversions that occurred before it are on the statement).
CREATE TABLE statements (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    brand_id   INTEGER NOT NULL REFERENCES brands(id),
    partner_id INTEGER NOT NULL REFERENCES partners(id),
    currency   TEXT    NOT NULL,
    through    TEXT    NOT NULL,
    through_at INTEGER NOT NULL,
    status     TEXT    NOT NULL CHECK (status IN ('open', 'paid')),
    created_at INTEGER NOT NULL,
    paid_at    INTEGER
);
CREATE INDEX statements_brand ON statements(brand_id, id);
CREATE INDEX statements_partner ON statements(brand_id, partner_id, id);

-- UNIQUE (conversion_id, kind): a conversion is paid at most once and clawed back at most
-- once, whatever the code above it does.
CREATE TABLE statement_lines (
    id            INTEGER PRIMARY KEY,
    statement_id  INTEGER NOT NULL REFERENCES statements(id),
    conversion_id INTEGER NOT NULL REFERENCES conversions(id),
    kind          TEXT    NOT NULL CHECK (kind IN ('payout', 'clawback')),
    amount_minor  INTEGER NOT NULL,
    occurred_at   INTEGER NOT NULL,
    UNIQUE (conversion_id, kind)
);
CREATE INDEX statement_lines_statement ON statement_lines(statement_id, id);
