-- One row that /healthz updates (through the writer, rolled into its next commit) when no
-- click has been committed lately: proof that the store still takes a write.
CREATE TABLE health (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at INTEGER NOT NULL
);
INSERT INTO health (id, checked_at) VALUES (1, 0);
