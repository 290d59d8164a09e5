-- The compact click layout (see src/db/click_layout.rs), about a quarter of the bytes of the
-- old one. This file is only the first step, in one transaction: the old table is renamed
-- (its time index dropped: the new primary key serves every read) and the new tables made.
-- The rows are then moved in batches, each batch inserted here and deleted there in one
-- transaction (src/db/compact_clicks.rs), so a killed migration resumes where it stopped, and
-- the old table's freed pages hold the new rows: the file never needs twice the space.
DROP INDEX IF EXISTS clicks_brand_time;
ALTER TABLE clicks RENAME TO clicks_old;

-- User agents and referers, once each. Looked up by `hash` (the first 8 bytes of the text's
-- SHA-256) and then compared: an index of 8-byte keys instead of a second copy of the text.
CREATE TABLE click_texts (
    id   INTEGER PRIMARY KEY,
    hash INTEGER NOT NULL,
    text TEXT    NOT NULL
);
CREATE INDEX click_texts_hash ON click_texts(hash);

-- `id`: the ULID's 16 bytes (text for an id that is no canonical ULID, only in older stores).
-- `ip`: 4 or 16 bytes, empty when unknown (text when the bytes would not give it back).
-- `visitor`: what the unique-click window keys on (domain::click::visitor), so the window is
-- rebuilt at start from one integer per click of the last day.
CREATE TABLE clicks (
    brand_id   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    id         BLOB    NOT NULL,
    offer_id   INTEGER NOT NULL,
    partner_id INTEGER NOT NULL,
    is_unique  INTEGER NOT NULL,
    visitor    INTEGER NOT NULL,
    ip         BLOB    NOT NULL,
    ua_id      INTEGER NOT NULL,
    referer_id INTEGER,
    sub1 TEXT, sub2 TEXT, sub3 TEXT, sub4 TEXT, sub5 TEXT,
    PRIMARY KEY (brand_id, created_at, id)
) WITHOUT ROWID;

-- Clicks whose `created_at` is not the second their id was made in (or whose id is not a
-- ULID): found by id through here. New clicks take their time from their id and never are.
CREATE TABLE click_times (
    id         BLOB    PRIMARY KEY,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Per-store secrets: the key of the visitor hash.
CREATE TABLE store_secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;
INSERT INTO store_secrets (name, value) VALUES ('visitor_key', randomblob(16));
