-- Identity of imported records, so that importing the same file again
-- updates or leaves alone instead of duplicating: the source identity
-- (database + record id) when known, else a normalized natural key.
-- NULL for records created one by one through the API.
ALTER TABLE theses ADD COLUMN import_key text COLLATE "C";
CREATE UNIQUE INDEX theses_import_key_idx ON theses (import_key);
