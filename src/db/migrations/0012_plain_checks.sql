-- CHECKs without IN lists. SQLite checks `x IN (a, b, c)` of more than two values by building
-- a temporary b-tree of the list for every row it writes: about 3 µs per row here, on the
-- conversions every postback inserts and the rollup rows every batch upserts. The same
-- constraint written as `x = a OR x = b OR ...` is a few comparisons.
--
-- The constraints admit exactly what they did (every row already satisfies them), so the
-- table is not rebuilt: its CREATE statement is edited in place, the procedure SQLite's
-- ALTER TABLE page gives for changing CHECK constraints ("Making Other Kinds Of Table Schema
-- Changes"); `db::migrate` moves the schema cookie so every connection reads the new text.
-- `replace` leaves a statement it doesn't match as it was (still correct, only slower).
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (status IN (''approved'', ''pending'', ''rejected'', ''reversed''))',
    'CHECK (status = ''approved'' OR status = ''pending'' OR status = ''rejected'' OR status = ''reversed'')')
WHERE type = 'table' AND name = 'conversions';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (span IN (900, 3600, 21600, 86400))',
    'CHECK (span = 900 OR span = 3600 OR span = 21600 OR span = 86400)')
WHERE type = 'table' AND name = 'rollups';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (status IN (''active'', ''paused'', ''archived''))',
    'CHECK (status = ''active'' OR status = ''paused'' OR status = ''archived'')')
WHERE type = 'table' AND name = 'offers';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (status IN (''active'', ''pending'', ''blocked''))',
    'CHECK (status = ''active'' OR status = ''pending'' OR status = ''blocked'')')
WHERE type = 'table' AND name = 'partners';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (window IN (''day'', ''week'', ''month'', ''lifetime''))',
    'CHECK (window = ''day'' OR window = ''week'' OR window = ''month'' OR window = ''lifetime'')')
WHERE type = 'table' AND name = 'caps';
PRAGMA writable_schema = OFF;
