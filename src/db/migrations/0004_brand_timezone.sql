-- The brand's own zone (IANA name): the default `timezone` of its reports, the zone its pages
-- show. Written only through store::brands, which takes a parsed zone.
ALTER TABLE brands ADD COLUMN timezone TEXT NOT NULL DEFAULT 'UTC';
