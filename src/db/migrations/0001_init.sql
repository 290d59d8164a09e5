-- Tenants and their credentials.
CREATE TABLE brands (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

-- Only the SHA-256 of a key is stored: keys carry 192 random bits, so a slow hash adds nothing.
CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    brand_id     INTEGER NOT NULL REFERENCES brands(id),
    name         TEXT    NOT NULL,
    prefix       TEXT    NOT NULL,
    hash         BLOB    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX api_keys_brand ON api_keys(brand_id, id);

-- Money columns end in _minor: integer hundredths of the currency unit.
CREATE TABLE offers (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    brand_id        INTEGER NOT NULL REFERENCES brands(id),
    name            TEXT    NOT NULL,
    destination_url TEXT    NOT NULL,
    payout_type     TEXT    NOT NULL CHECK (payout_type IN ('cpa', 'revshare')),
    payout_minor    INTEGER NOT NULL CHECK (payout_minor >= 0),
    currency        TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('active', 'paused', 'archived')),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX offers_brand ON offers(brand_id, id);

CREATE TABLE partners (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    brand_id   INTEGER NOT NULL REFERENCES brands(id),
    name       TEXT    NOT NULL,
    email      TEXT    NOT NULL,
    status     TEXT    NOT NULL CHECK (status IN ('active', 'pending', 'blocked')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (brand_id, email)
);
CREATE INDEX partners_brand ON partners(brand_id, id);

-- Click ids are ULIDs: time-ordered, so inserts append to the end of the b-tree.
CREATE TABLE clicks (
    id          TEXT    PRIMARY KEY,
    brand_id    INTEGER NOT NULL,
    offer_id    INTEGER NOT NULL,
    partner_id  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    sub1 TEXT, sub2 TEXT, sub3 TEXT, sub4 TEXT, sub5 TEXT,
    ip          TEXT    NOT NULL,
    user_agent  TEXT    NOT NULL,
    referer     TEXT,
    is_unique   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX clicks_brand_time ON clicks(brand_id, created_at);

CREATE TABLE conversions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    brand_id       INTEGER NOT NULL REFERENCES brands(id),
    click_id       TEXT,
    offer_id       INTEGER NOT NULL REFERENCES offers(id),
    partner_id     INTEGER NOT NULL REFERENCES partners(id),
    event          TEXT    NOT NULL,
    amount_minor   INTEGER,
    payout_minor   INTEGER NOT NULL,
    currency       TEXT    NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('approved', 'pending', 'rejected')),
    transaction_id TEXT,
    sub1 TEXT, sub2 TEXT, sub3 TEXT, sub4 TEXT, sub5 TEXT,
    occurred_at    INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
-- NULL transaction ids are distinct in SQLite, so only real ones are deduplicated.
CREATE UNIQUE INDEX conversions_txn ON conversions(brand_id, transaction_id);
CREATE INDEX conversions_brand ON conversions(brand_id, id);
CREATE INDEX conversions_brand_time ON conversions(brand_id, occurred_at);
CREATE INDEX conversions_click ON conversions(brand_id, click_id);

-- Settings: the admin account and browser sessions (issue #3).
CREATE TABLE admins (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    id_hash     BLOB    PRIMARY KEY,
    admin_id    INTEGER NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
    csrf_token  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL
);
