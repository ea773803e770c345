-- Abstracts are read with every record but rarely compress below the TOAST
-- threshold; keep them out of line but uncompressed, so a read does not pay
-- for pglz decompression. Applies to rows written from now on.
ALTER TABLE theses ALTER COLUMN abstract_zh SET STORAGE EXTERNAL;
ALTER TABLE theses ALTER COLUMN abstract_en SET STORAGE EXTERNAL;
