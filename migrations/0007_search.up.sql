-- Full-text search (docs/search.md). The server computes the index of a
-- record itself (Chinese bigrams, OpenCC traditional-to-simplified, Snowball
-- stems: server/domain/search_index.h), so PostgreSQL needs no Chinese
-- parser and both storage backends analyze text alike:
--   search_doc      every searched field, weighted (title A, keywords B,
--                   abstract C, tagged names D); GIN-indexed, what @@ reads;
--   search_head     the titles and keywords only, small enough to stay in
--                   the row uncompressed: relevance ranking reads it for
--                   every match instead of the whole document;
--   search_codes    classification_codes normalized (clc::NormalizeClc), for
--                   class: terms and the top-level class facet;
--   search_version  the index version the row was written with; rows of an
--                   older version (0: written before this migration) are
--                   indexed by `thesis-server migrate`.
ALTER TABLE theses
  ADD COLUMN search_doc tsvector,
  ADD COLUMN search_head tsvector,
  ADD COLUMN search_codes text[] COLLATE "C",
  ADD COLUMN search_version smallint NOT NULL DEFAULT 0;
ALTER TABLE theses ALTER COLUMN search_head SET STORAGE MAIN;
CREATE INDEX theses_search_doc_idx ON theses USING gin (search_doc);
CREATE INDEX theses_search_version_idx ON theses (search_version);
