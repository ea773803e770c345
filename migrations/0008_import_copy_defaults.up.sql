-- Imports write new records with COPY (docs/design.md, "Import and
-- export"): the columns a COPY leaves out take their defaults, row by row, so
-- each new record still gets the time it was written, as the INSERT with
-- clock_timestamp() gave it before.
ALTER TABLE theses
  ALTER COLUMN create_time SET DEFAULT clock_timestamp(),
  ALTER COLUMN update_time SET DEFAULT clock_timestamp();
