-- One row per conversion recorded and per status change, written in the transaction of the
-- change; `data` is the conversion's API JSON after it. AUTOINCREMENT: ids only increase,
-- never reused, so `GET /events?after=ID` misses nothing.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    brand_id   INTEGER NOT NULL REFERENCES brands(id),
    type       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    data       TEXT    NOT NULL
);
CREATE INDEX events_brand ON events(brand_id, id);
